//! The DMA windows a driver registered for translation: blocks of its
//! own DMA memory (physically contiguous, pinned), each known by where
//! it is mapped here and where it is for the device. A buffer that lies
//! wholly inside one is given to the device by address — no copy; any
//! other buffer goes through the bounce pool ([`crate::bounce`]).
//!
//! `mm` has no virtual-to-physical call for ordinary memory, and needs
//! none here: the driver knows the physical address of each DMA block it
//! was given, so translating inside those blocks is arithmetic.
//!
//! Pure, and host-tested.

use alloc::vec::Vec;

/// One block of DMA memory: `len` bytes mapped at `virt`, at `phys` for
/// the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub virt: u64,
    pub phys: u64,
    pub len: u64,
}

/// Why a window was not registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowError {
    /// Empty, or it wraps around the address space.
    BadRange,
    /// It overlaps a window already registered.
    Overlaps,
}

/// The registered windows.
#[derive(Clone, Debug, Default)]
pub struct Windows {
    windows: Vec<Window>,
}

impl Windows {
    pub const fn new() -> Windows {
        Windows {
            windows: Vec::new(),
        }
    }

    /// Registers `window`.
    pub fn add(&mut self, window: Window) -> Result<(), WindowError> {
        let end = window.virt.checked_add(window.len);
        let phys_end = window.phys.checked_add(window.len);
        let (Some(end), Some(_)) = (end, phys_end) else {
            return Err(WindowError::BadRange);
        };
        if window.len == 0 {
            return Err(WindowError::BadRange);
        }
        if self
            .windows
            .iter()
            .any(|w| window.virt < w.virt + w.len && w.virt < end)
        {
            return Err(WindowError::Overlaps);
        }
        self.windows.push(window);
        Ok(())
    }

    /// Forgets the window mapped at `virt`; whether there was one.
    pub fn remove(&mut self, virt: u64) -> bool {
        let before = self.windows.len();
        self.windows.retain(|w| w.virt != virt);
        self.windows.len() != before
    }

    /// The physical address of `len` bytes at `virt`, if they lie wholly
    /// inside one window.
    pub fn translate(&self, virt: u64, len: u64) -> Option<u64> {
        let end = virt.checked_add(len)?;
        self.windows
            .iter()
            .find(|w| virt >= w.virt && end <= w.virt + w.len)
            .map(|w| w.phys + (virt - w.virt))
    }

    /// Whether physical address `phys` lies inside a window (an address
    /// `translate` gave: nothing to undo at unshare).
    pub fn holds_phys(&self, phys: u64) -> bool {
        self.windows
            .iter()
            .any(|w| phys >= w.phys && phys < w.phys + w.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows() -> Windows {
        let mut w = Windows::new();
        w.add(Window {
            virt: 0x1000_0000,
            phys: 0x20_0000,
            len: 0x8000,
        })
        .unwrap();
        w.add(Window {
            virt: 0x2000_0000,
            phys: 0x9000,
            len: 0x1000,
        })
        .unwrap();
        w
    }

    #[test]
    fn a_buffer_inside_a_window_translates_by_its_offset() {
        let w = windows();
        assert_eq!(w.translate(0x1000_0000, 0x8000), Some(0x20_0000), "whole");
        assert_eq!(w.translate(0x1000_1200, 512), Some(0x20_1200));
        assert_eq!(w.translate(0x2000_0010, 1), Some(0x9010));
        assert!(w.holds_phys(0x20_7fff));
        assert!(!w.holds_phys(0x20_8000));
    }

    #[test]
    fn a_buffer_outside_or_across_a_windows_end_does_not() {
        let w = windows();
        assert_eq!(w.translate(0x1000_7f00, 0x200), None, "across the end");
        assert_eq!(w.translate(0x0fff_ff00, 0x200), None, "across the start");
        assert_eq!(w.translate(0x3000_0000, 8), None, "elsewhere");
        assert_eq!(w.translate(u64::MAX - 4, 8), None, "wraps");
    }

    #[test]
    fn overlapping_empty_and_wrapping_windows_are_refused() {
        let mut w = windows();
        let at = |virt, len| Window {
            virt,
            phys: 0x100_0000,
            len,
        };
        assert_eq!(w.add(at(0x1000_7000, 0x2000)), Err(WindowError::Overlaps));
        assert_eq!(w.add(at(0x0fff_f000, 0x2000)), Err(WindowError::Overlaps));
        assert_eq!(w.add(at(0x5000_0000, 0)), Err(WindowError::BadRange));
        assert_eq!(
            w.add(at(u64::MAX - 0xfff, 0x2000)),
            Err(WindowError::BadRange)
        );
        assert_eq!(w.add(at(0x1000_8000, 0x1000)), Ok(()), "just after");
    }

    #[test]
    fn a_removed_window_no_longer_translates() {
        let mut w = windows();
        assert!(w.remove(0x2000_0000));
        assert!(!w.remove(0x2000_0000), "twice");
        assert_eq!(w.translate(0x2000_0010, 1), None);
    }
}
