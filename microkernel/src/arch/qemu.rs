//! Leaving QEMU with a result, through the `isa-debug-exit` device that the
//! Makefile and the test harness give the machine (I/O port 0xf4). Writing V
//! makes QEMU exit with status (V << 1) | 1: 0x10 gives 33 (success), 0x11
//! gives 35 (failure). On a machine without the device the write does
//! nothing and the kernel halts.

use x86_64::instructions::port::Port;

const DEBUG_EXIT_PORT: u16 = 0xf4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitCode {
    Success = 0x10,
    Failure = 0x11,
}

pub fn exit(code: ExitCode) -> ! {
    // SAFETY: port 0xf4 is the debug-exit device (or nothing at all).
    unsafe { Port::<u32>::new(DEBUG_EXIT_PORT).write(code as u32) };
    crate::arch::x86_64::cpu::halt()
}
