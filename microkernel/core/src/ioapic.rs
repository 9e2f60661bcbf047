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

/// How an input is delivered: to which vector and CPU, and how the line
/// signals (ISA lines are edge-triggered and active-high unless the MADT
/// overrides them; PCI lines are level-triggered and active-low).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Redirection {
    pub vector: u8,
    /// Local APIC id of the CPU that receives it (physical destination).
    pub destination: u8,
    pub level_triggered: bool,
    pub active_low: bool,
    pub masked: bool,
}

impl Redirection {
    /// The entry's low and high 32-bit halves (fixed delivery, physical
    /// destination mode).
    pub fn encode(&self) -> (u32, u32) {
        let mut low = u32::from(self.vector);
        if self.active_low {
            low |= 1 << 13;
        }
        if self.level_triggered {
            low |= 1 << 15;
        }
        if self.masked {
            low |= MASKED;
        }
        (low, u32::from(self.destination) << 24)
    }

    pub fn decode(low: u32, high: u32) -> Redirection {
        Redirection {
            vector: low as u8,
            destination: (high >> 24) as u8,
            level_triggered: low & (1 << 15) != 0,
            active_low: low & (1 << 13) != 0,
            masked: low & MASKED != 0,
        }
    }
}

/// Programs input `entry`. The entry is masked while the halves are
/// written, so the line never fires half-programmed.
pub fn set_redirection(regs: &mut impl Registers, entry: u32, redirection: Redirection) {
    let (low, high) = redirection.encode();
    regs.write(0x10 + 2 * entry, MASKED);
    regs.write(0x11 + 2 * entry, high);
    regs.write(0x10 + 2 * entry, low);
}

/// Input `entry` as programmed.
pub fn redirection(regs: &mut impl Registers, entry: u32) -> Redirection {
    let low = regs.read(0x10 + 2 * entry);
    let high = regs.read(0x11 + 2 * entry);
    Redirection::decode(low, high)
}

/// Masks or unmasks input `entry`, keeping the rest of it.
pub fn set_masked(regs: &mut impl Registers, entry: u32, masked: bool) {
    let low = regs.read(0x10 + 2 * entry);
    let low = if masked { low | MASKED } else { low & !MASKED };
    regs.write(0x10 + 2 * entry, low);
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
    fn programs_and_reads_back_a_redirection() {
        let mut fake = Fake([0; 0x40]);
        let edge = Redirection {
            vector: 0x41,
            destination: 3,
            level_triggered: false,
            active_low: false,
            masked: true,
        };
        set_redirection(&mut fake, 2, edge);
        assert_eq!(redirection(&mut fake, 2), edge);
        assert_eq!(fake.0[0x14], 0x41 | 1 << 16);
        assert_eq!(fake.0[0x15], 3 << 24);
        set_masked(&mut fake, 2, false);
        assert!(!is_masked(&mut fake, 2));
        assert_eq!(
            redirection(&mut fake, 2).vector,
            0x41,
            "unmasking keeps the vector"
        );
        let pci = Redirection {
            level_triggered: true,
            active_low: true,
            ..edge
        };
        assert_eq!(pci.encode().0 & (1 << 15 | 1 << 13), 1 << 15 | 1 << 13);
        assert_eq!(Redirection::decode(pci.encode().0, pci.encode().1), pci);
    }

    #[test]
    fn trigger_and_polarity_are_bits_15_and_13_and_nothing_else() {
        let base = Redirection {
            vector: 0x4b,
            destination: 0,
            level_triggered: false,
            active_low: false,
            masked: false,
        };
        for (level, low, bits) in [
            (false, false, 0),
            (false, true, 1 << 13),
            (true, false, 1 << 15),
            (true, true, 1 << 15 | 1 << 13),
        ] {
            let entry = Redirection {
                level_triggered: level,
                active_low: low,
                ..base
            };
            let (encoded, high) = entry.encode();
            assert_eq!(encoded, 0x4b | bits, "level {level} low {low}");
            assert_eq!(high, 0);
            assert_eq!(Redirection::decode(encoded, high), entry);
        }
    }

    #[test]
    fn reprogramming_a_line_as_level_low_keeps_its_vector_and_mask() {
        let mut fake = Fake([0; 0x40]);
        let isa = Redirection {
            vector: 0x4b,
            destination: 1,
            level_triggered: false,
            active_low: false,
            masked: true,
        };
        set_redirection(&mut fake, 11, isa);
        let pci = Redirection {
            level_triggered: true,
            active_low: true,
            ..redirection(&mut fake, 11)
        };
        set_redirection(&mut fake, 11, pci);
        assert_eq!(fake.0[0x10 + 22], 0x4b | 1 << 13 | 1 << 15 | 1 << 16);
        assert_eq!(fake.0[0x11 + 22], 1 << 24);
        assert!(is_masked(&mut fake, 11));
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
