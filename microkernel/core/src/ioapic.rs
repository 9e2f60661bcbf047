//! I/O APIC register logic, independent of how the registers are reached
//! (the loader uses UEFI's identity map, the kernel its own mapping).
//!
//! An I/O APIC has two MMIO registers: IOREGSEL selects an internal
//! register and IOWIN reads or writes it. Internal register 1 holds the
//! version and, in bits 16–23, the index of the last redirection entry;
//! entry *n* is registers 0x10 + 2n (low half) and 0x11 + 2n (high half).
//! Bit 16 of the low half masks the input.

/// Access to one I/O APIC's internal registers.
pub trait Registers {
    fn read(&mut self, register: u32) -> u32;
    fn write(&mut self, register: u32, value: u32);
}

const MASKED: u32 = 1 << 16;

/// How many inputs (redirection entries) the I/O APIC has.
pub fn inputs(regs: &mut impl Registers) -> u32 {
    ((regs.read(1) >> 16) & 0xff) + 1
}

/// Masks every input; returns how many there are.
pub fn mask_all(regs: &mut impl Registers) -> u32 {
    let count = inputs(regs);
    for entry in 0..count {
        let low = 0x10 + 2 * entry;
        let value = regs.read(low);
        regs.write(low, value | MASKED);
    }
    count
}

/// Whether input `entry` is masked.
pub fn is_masked(regs: &mut impl Registers, entry: u32) -> bool {
    regs.read(0x10 + 2 * entry) & MASKED != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake I/O APIC with 24 inputs, all unmasked.
    struct Fake([u32; 0x40]);

    impl Registers for Fake {
        fn read(&mut self, register: u32) -> u32 {
            self.0[register as usize]
        }
        fn write(&mut self, register: u32, value: u32) {
            self.0[register as usize] = value;
        }
    }

    #[test]
    fn masks_every_input_and_keeps_the_rest_of_the_entry() {
        let mut fake = Fake([0; 0x40]);
        fake.0[1] = 0x0017_0020; // version 0x20, last entry 23
        for entry in 0..24 {
            fake.0[0x10 + 2 * entry] = 0x30 + entry as u32; // a vector
        }
        assert_eq!(mask_all(&mut fake), 24);
        for entry in 0..24u32 {
            assert!(is_masked(&mut fake, entry));
            assert_eq!(
                fake.0[(0x10 + 2 * entry) as usize] & 0xff,
                0x30 + entry,
                "vector kept"
            );
            assert_eq!(
                fake.0[(0x11 + 2 * entry) as usize],
                0,
                "high half untouched"
            );
        }
    }
}
