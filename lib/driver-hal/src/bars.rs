//! The BAR registers of a driver's own PCI function as the driver sees
//! them through devmgr: a shadow, not the hardware.
//!
//! devmgr owns the configuration space and refuses a driver's write to a
//! BAR (a driver must not move its device). But the `virtio-drivers`
//! crate learns where a BAR lies and how large it is the way firmware
//! does — save the register, write all ones, read the size mask back,
//! restore — so the configuration access a driver hands the crate
//! answers the BAR registers (0x10–0x24) from this shadow, built from
//! the BARs devmgr reported (`PciInfo`): a read gives the BAR's address
//! and flag bits, or its size mask right after all ones were written; a
//! write of all ones or of the register's own value (the restore) is
//! what sizing does and is accepted; any other write would move the BAR
//! and is refused (counted, never sent). Everything else in the
//! configuration space goes to devmgr as it is.
//!
//! Pure, and host-tested.

use libsys::proto::devmgr::BarInfo;

/// The offset of BAR 0 in the configuration space.
pub const BAR0: u8 = 0x10;
/// Registers of BARs in a type-0 header.
pub const BARS: usize = 6;

/// A write to a BAR that sizing does not do (it would move the BAR).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused;

/// The six BAR registers of one function.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BarShadow {
    /// The register as read normally: address and flag bits.
    value: [u32; BARS],
    /// The register as read after all ones were written: the size mask
    /// and the flag bits (0 for an unused register).
    mask: [u32; BARS],
    /// All ones were written and not yet restored.
    sizing: [bool; BARS],
    refused: u64,
}

/// The register index of configuration offset `offset`, if it is a BAR.
pub fn bar_register(offset: u8) -> Option<usize> {
    let index = offset.checked_sub(BAR0)? / 4;
    (offset.is_multiple_of(4) && (index as usize) < BARS).then_some(index as usize)
}

impl BarShadow {
    /// The registers of a function with `bars` (devmgr's `PciInfo::bars`;
    /// a 64-bit BAR fills its register and the next). A BAR whose index
    /// is out of range, or a 64-bit one in the last register, is left
    /// out (the register reads 0: unused).
    pub fn new(bars: &[BarInfo]) -> BarShadow {
        let mut shadow = BarShadow::default();
        for bar in bars {
            let i = usize::from(bar.index);
            if i >= BARS || (bar.is_64bit && i + 1 >= BARS) || bar.size == 0 {
                continue;
            }
            // A BAR's size is a power of two; round up one that is not.
            let size = bar.size.next_power_of_two();
            let address_mask = !(size - 1);
            if bar.io {
                let flags = 0b01;
                shadow.value[i] = (bar.start as u32 & !0b11) | flags;
                shadow.mask[i] = (address_mask as u32 & !0b11) | flags;
                continue;
            }
            let flags = (if bar.is_64bit { 0b100 } else { 0 })
                | (if bar.prefetchable { 0b1000 } else { 0 });
            shadow.value[i] = (bar.start as u32 & !0xf) | flags;
            shadow.mask[i] = (address_mask as u32 & !0xf) | flags;
            if bar.is_64bit {
                shadow.value[i + 1] = (bar.start >> 32) as u32;
                shadow.mask[i + 1] = (address_mask >> 32) as u32;
            }
        }
        shadow
    }

    /// Register `index` as the device would show it now.
    pub fn read(&self, index: usize) -> u32 {
        match index {
            i if i < BARS && self.sizing[i] => self.mask[i],
            i if i < BARS => self.value[i],
            _ => 0,
        }
    }

    /// A write of `data` to register `index`: all ones starts sizing, the
    /// register's own value ends it; anything else is [`Refused`].
    pub fn write(&mut self, index: usize, data: u32) -> Result<(), Refused> {
        if index >= BARS {
            self.refused += 1;
            return Err(Refused);
        }
        if data == u32::MAX {
            self.sizing[index] = true;
            Ok(())
        } else if data == self.value[index] {
            self.sizing[index] = false;
            Ok(())
        } else {
            self.refused += 1;
            Err(Refused)
        }
    }

    /// Writes refused so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(index: u8, io: bool, start: u64, size: u64, is_64bit: bool) -> BarInfo {
        BarInfo {
            index,
            io,
            start,
            size,
            prefetchable: is_64bit,
            is_64bit,
        }
    }

    /// QEMU's transitional virtio-blk-pci: I/O BAR 0, MSI-X BAR 1, the
    /// modern interface's 64-bit prefetchable BAR 4.
    fn virtio() -> BarShadow {
        BarShadow::new(&[
            bar(0, true, 0xc040, 0x80, false),
            bar(1, false, 0xfebd_1000, 0x1000, false),
            bar(4, false, 0x8_0000_4000, 0x4000, true),
        ])
    }

    /// How the crate (and firmware) sizes register `i`.
    fn size(s: &mut BarShadow, i: usize) -> u32 {
        let orig = s.read(i);
        s.write(i, u32::MAX).unwrap();
        let mask = s.read(i);
        s.write(i, orig).unwrap();
        assert_eq!(s.read(i), orig, "restored");
        mask
    }

    #[test]
    fn registers_read_as_the_hardware_would() {
        let s = virtio();
        assert_eq!(s.read(0), 0xc041, "I/O: bit 0");
        assert_eq!(s.read(1), 0xfebd_1000, "32-bit memory");
        assert_eq!(s.read(2), 0, "unused");
        assert_eq!(s.read(4), 0x4000 | 0b1100, "64-bit, prefetchable");
        assert_eq!(s.read(5), 8, "the upper half");
        assert_eq!(s.read(6), 0, "past the BARs");
    }

    #[test]
    fn sizing_gives_the_size_masks_and_restoring_ends_it() {
        let mut s = virtio();
        assert_eq!(size(&mut s, 0), 0xffff_ff81);
        assert_eq!(size(&mut s, 1), 0xffff_f000);
        assert_eq!(size(&mut s, 2), 0, "unused reads 0 after all ones");
        assert_eq!(size(&mut s, 4), 0xffff_c00c);
        assert_eq!(size(&mut s, 5), 0xffff_ffff);
        assert_eq!(s.refused(), 0);
    }

    #[test]
    fn the_crates_64_bit_sequence_decodes_to_the_bar() {
        // virtio-drivers' `bar_info`: low saved, low all ones and read,
        // high saved, high all ones and read, high restored, low restored.
        let mut s = virtio();
        let low = s.read(4);
        s.write(4, u32::MAX).unwrap();
        let low_mask = s.read(4);
        let high = s.read(5);
        s.write(5, u32::MAX).unwrap();
        let high_mask = s.read(5);
        s.write(5, high).unwrap();
        s.write(4, low).unwrap();
        let size = !((u64::from(high_mask) << 32 | u64::from(low_mask)) & !0xf) + 1;
        let address = (u64::from(high) << 32) | u64::from(low & !0xf);
        assert_eq!((address, size), (0x8_0000_4000, 0x4000));
        assert_eq!((s.read(4), s.read(5)), (low, high));
    }

    #[test]
    fn a_write_that_would_move_a_bar_is_refused_and_counted() {
        let mut s = virtio();
        assert_eq!(s.write(1, 0x1234_0000), Err(Refused));
        assert_eq!(s.read(1), 0xfebd_1000, "unchanged");
        assert_eq!(s.write(7, u32::MAX), Err(Refused));
        assert_eq!(s.refused(), 2);
    }

    #[test]
    fn only_dword_offsets_of_the_six_registers_are_bars() {
        assert_eq!(bar_register(0x10), Some(0));
        assert_eq!(bar_register(0x24), Some(5));
        assert_eq!(bar_register(0x28), None, "cardbus CIS");
        assert_eq!(bar_register(0x0c), None);
        assert_eq!(bar_register(0x12), None);
    }

    #[test]
    fn bad_bars_are_left_out() {
        let s = BarShadow::new(&[
            bar(5, false, 0x1000, 0x1000, true),
            bar(9, false, 0x1000, 0x1000, false),
            bar(2, false, 0x2000, 0, false),
        ]);
        assert_eq!(s, BarShadow::default());
    }
}
