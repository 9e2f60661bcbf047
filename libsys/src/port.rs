//! Port I/O for drivers. A port works only after `IoPorts::grant` opened
//! it to this process; touching any other port kills the process (a
//! general protection fault), which is why these are safe functions: they
//! cannot corrupt memory.

use core::arch::asm;

/// Reads a byte from `port`.
#[inline]
pub fn inb(port: u16) -> u8 {
    let value;
    // SAFETY: `in` touches no memory; an ungranted port faults, and the
    // kernel kills the process.
    unsafe {
        asm!("in al, dx", in("dx") port, out("al") value, options(nomem, nostack, preserves_flags))
    };
    value
}

/// Writes a byte to `port`.
#[inline]
pub fn outb(port: u16, value: u8) {
    // SAFETY: as in `inb`.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    };
}

/// Reads 32 bits from `port`.
#[inline]
pub fn inl(port: u16) -> u32 {
    let value;
    // SAFETY: as in `inb`.
    unsafe {
        asm!("in eax, dx", in("dx") port, out("eax") value, options(nomem, nostack, preserves_flags))
    };
    value
}

/// Writes 32 bits to `port`.
#[inline]
pub fn outl(port: u16, value: u32) {
    // SAFETY: as in `inb`.
    unsafe {
        asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
    };
}

/// Reads 16 bits from `port`.
#[inline]
pub fn inw(port: u16) -> u16 {
    let value;
    // SAFETY: as in `inb`.
    unsafe {
        asm!("in ax, dx", in("dx") port, out("ax") value, options(nomem, nostack, preserves_flags))
    };
    value
}

/// Writes 16 bits to `port`.
#[inline]
pub fn outw(port: u16, value: u16) {
    // SAFETY: as in `inb`.
    unsafe {
        asm!("out dx, ax", in("dx") port, in("ax") value, options(nomem, nostack, preserves_flags))
    };
}

/// Writes 16 bits to `port` after every memory access before it: a
/// device doorbell (virtio's queue notify), which must not be seen before
/// the descriptors it announces. Without `nomem` the compiler treats the
/// instruction as reading and writing memory, so no store is moved past
/// it; x86 keeps stores in order for the device.
#[inline]
pub fn outw_doorbell(port: u16, value: u16) {
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    // SAFETY: as in `inb`.
    unsafe { asm!("out dx, ax", in("dx") port, in("ax") value, options(nostack, preserves_flags)) };
}
