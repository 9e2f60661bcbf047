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
