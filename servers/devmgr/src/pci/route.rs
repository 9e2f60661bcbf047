//! Where a PCI function's INTx pin reaches the I/O APIC (its GSI), on the
//! two machines QEMU emulates: what ACPI's `_PRT` says there, written out.
//!
//! - `q35` (ICH9): a root-bus function in slots 0–24 has its pins rotated
//!   onto PIRQ E–H, which are GSI 20–23 in APIC mode: INTA of slot `d` is
//!   GSI `20 + d % 4`, INTB the next, and so on.
//! - `pc` (i440FX, PIIX3): PIRQ A–D are steered to ISA IRQs that firmware
//!   picks and writes into each function's interrupt-line register; with
//!   the I/O APIC the GSI is that IRQ.
//!
//! Both are level-triggered and shared; QEMU's MADT and `_PRT` describe
//! them active-high.

/// The machine, told by its host bridge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chipset {
    /// `q35`: host bridge 8086:29c0.
    Q35,
    /// `pc`: host bridge 8086:1237.
    I440fx,
    Unknown,
}

impl Chipset {
    /// The chipset of host bridge `vendor:device` (function 00:00.0).
    pub fn of_host_bridge(vendor: u16, device: u16) -> Chipset {
        match (vendor, device) {
            (0x8086, 0x29c0) => Chipset::Q35,
            (0x8086, 0x1237) => Chipset::I440fx,
            _ => Chipset::Unknown,
        }
    }
}

/// The GSI of pin `pin` (1–4: INTA–INTD) of the function at `bus`/`device`,
/// whose interrupt-line register holds `line`; `None` when it has no pin
/// or the routing is not known (a function behind a bridge, another
/// machine).
pub fn intx_gsi(chipset: Chipset, bus: u8, device: u8, pin: u8, line: u8) -> Option<u32> {
    if !(1..=4).contains(&pin) {
        return None;
    }
    match chipset {
        Chipset::Q35 => {
            (bus == 0 && device < 25).then(|| 20 + (u32::from(device) + u32::from(pin) - 1) % 4)
        }
        Chipset::I440fx => (line != 0 && line < 16).then_some(u32::from(line)),
        Chipset::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q35_rotates_pins_onto_pirq_e_to_h() {
        let q35 = Chipset::of_host_bridge(0x8086, 0x29c0);
        assert_eq!(q35, Chipset::Q35);
        // The virtio disk in slot 3 (INTA): GSI 23, as blk checks.
        assert_eq!(intx_gsi(q35, 0, 3, 1, 11), Some(23));
        // edu in slot 4: GSI 20; INTB of slot 4: 21.
        assert_eq!(intx_gsi(q35, 0, 4, 1, 10), Some(20));
        assert_eq!(intx_gsi(q35, 0, 4, 2, 10), Some(21));
        assert_eq!(intx_gsi(q35, 0, 25, 1, 10), None);
        assert_eq!(intx_gsi(q35, 1, 4, 1, 10), None);
        assert_eq!(intx_gsi(q35, 0, 4, 0, 10), None);
        assert_eq!(intx_gsi(q35, 0, 4, 5, 10), None);
    }

    #[test]
    fn pc_uses_the_line_firmware_routed() {
        let pc = Chipset::of_host_bridge(0x8086, 0x1237);
        assert_eq!(intx_gsi(pc, 0, 4, 1, 11), Some(11));
        assert_eq!(intx_gsi(pc, 0, 4, 1, 0xff), None);
        assert_eq!(intx_gsi(Chipset::Unknown, 0, 4, 1, 11), None);
    }
}
