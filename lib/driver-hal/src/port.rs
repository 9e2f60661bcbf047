//! Port I/O: the `in` and `out` instructions, behind an [`IoWindow`] — a
//! range of ports the kernel opened to this process (`IoPorts::grant`,
//! the TSS I/O bitmap) — read and written through typed registers
//! ([`crate::reg::Reg`]). A port outside the window is never touched: a
//! refused read answers all ones (as an absent device does), a refused
//! write is dropped, and the `try_` forms say why.
//!
//! The instructions touch no memory, and a port the kernel did not open
//! faults (the process is killed), so none of this can corrupt memory;
//! the window keeps a driver on its own device's ports.

use core::arch::asm;

use crate::reg::{Readable, Reg, Width, Writable};
use crate::window::{check, AccessError};

/// A width the `in`/`out` instructions move.
pub trait PortWidth: Width {
    fn port_read(port: u16) -> Self;
    fn port_write(port: u16, value: Self);
}

impl PortWidth for u8 {
    fn port_read(port: u16) -> u8 {
        let value;
        // SAFETY: `in` touches no memory; an unopened port faults, and the
        // kernel kills the process.
        unsafe {
            asm!("in al, dx", in("dx") port, out("al") value, options(nomem, nostack, preserves_flags))
        };
        value
    }
    fn port_write(port: u16, value: u8) {
        // SAFETY: as in `port_read`.
        unsafe {
            asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
        };
    }
}

impl PortWidth for u16 {
    fn port_read(port: u16) -> u16 {
        let value;
        // SAFETY: as for `u8`.
        unsafe {
            asm!("in ax, dx", in("dx") port, out("ax") value, options(nomem, nostack, preserves_flags))
        };
        value
    }
    fn port_write(port: u16, value: u16) {
        // SAFETY: as for `u8`.
        unsafe {
            asm!("out dx, ax", in("dx") port, in("ax") value, options(nomem, nostack, preserves_flags))
        };
    }
}

impl PortWidth for u32 {
    fn port_read(port: u16) -> u32 {
        let value;
        // SAFETY: as for `u8`.
        unsafe {
            asm!("in eax, dx", in("dx") port, out("eax") value, options(nomem, nostack, preserves_flags))
        };
        value
    }
    fn port_write(port: u16, value: u32) {
        // SAFETY: as for `u8`.
        unsafe {
            asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
        };
    }
}

/// Why a window could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimError {
    /// `init` gave no port handle covering the range (the manifest's
    /// `ports=`).
    NotGiven,
    /// The kernel refused to open them.
    Refused(libsys::abi::SysError),
}

impl core::fmt::Display for ClaimError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ClaimError::NotGiven => f.write_str("ports not given (manifest ports=)"),
            ClaimError::Refused(e) => write!(f, "cannot open the ports: {e}"),
        }
    }
}

/// `len` ports from `base`, opened to this process.
#[derive(Debug)]
pub struct IoWindow {
    base: u16,
    len: u16,
}

impl IoWindow {
    /// Opens `len` ports from `base` with the port handle `init` gave.
    pub fn claim(base: u16, len: u16) -> Result<IoWindow, ClaimError> {
        libsys::env::io_ports(base, u32::from(len))
            .ok_or(ClaimError::NotGiven)?
            .grant(base, u32::from(len))
            .map_err(ClaimError::Refused)?;
        Ok(IoWindow { base, len })
    }

    /// Opens `len` ports from `base` with `ports`, a handle to a range
    /// that holds them (a PCI driver's I/O BAR, which devmgr passed).
    pub fn open(
        ports: &libsys::handle::IoPorts,
        base: u16,
        len: u16,
    ) -> Result<IoWindow, ClaimError> {
        ports
            .grant(base, u32::from(len))
            .map_err(ClaimError::Refused)?;
        Ok(IoWindow { base, len })
    }

    /// Its first port.
    pub fn base(&self) -> u16 {
        self.base
    }

    fn port<T: Width>(&self, offset: u64) -> Result<u16, AccessError> {
        // Ports are not memory: no alignment rule, only the bounds.
        check(u64::from(self.len), offset, T::BYTES, 1)?;
        Ok(self.base + offset as u16)
    }

    /// Reads `reg`.
    pub fn try_read<T: PortWidth, A: Readable>(&self, reg: Reg<T, A>) -> Result<T, AccessError> {
        Ok(T::port_read(self.port::<T>(reg.offset())?))
    }

    /// Writes `reg`.
    pub fn try_write<T: PortWidth, A: Writable>(
        &self,
        reg: Reg<T, A>,
        value: T,
    ) -> Result<(), AccessError> {
        T::port_write(self.port::<T>(reg.offset())?, value);
        Ok(())
    }

    /// Reads `reg`; all ones if it is outside the window.
    pub fn read<T: PortWidth, A: Readable>(&self, reg: Reg<T, A>) -> T {
        self.try_read(reg).unwrap_or(T::ALL_ONES)
    }

    /// Writes `reg`; nothing if it is outside the window.
    pub fn write<T: PortWidth, A: Writable>(&self, reg: Reg<T, A>, value: T) {
        let _ = self.try_write(reg, value);
    }

    /// Writes `reg` after every memory access before it: a device
    /// doorbell (virtio's queue notify), which must not be seen before the
    /// descriptors it announces. The fence keeps the compiler from moving
    /// a store past it; x86 keeps stores in order for the device.
    pub fn write_doorbell<A: Writable>(&self, reg: Reg<u16, A>, value: u16) {
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
        if let Ok(port) = self.port::<u16>(reg.offset()) {
            // SAFETY: as for `u8`'s `port_read`; without `nomem` the
            // compiler treats the instruction as touching memory, so no
            // store moves past it.
            unsafe {
                asm!("out dx, ax", in("dx") port, in("ax") value, options(nostack, preserves_flags))
            };
        }
    }
}
