//! The kernel's two output channels: the console, COM1 (a 16550 UART at
//! I/O port 0x3f8, 115200 baud 8N1), and the debug channel, QEMU's debug
//! console at port 0xe9 (`-debugcon`; on hardware without one the writes
//! go nowhere).
//!
//! Everything the kernel prints through `print!`/`println!` goes to both.
//! The debug channel is never handed over: the test harness reads its
//! verdicts there. COM1 may be taken by a user console driver
//! ([`set_console_taken`]); from then on only [`print_urgent`] (error-level
//! lines) still reaches it, and [`emergency_print`] (the panic handler)
//! takes it back by force. The ports are behind a spin lock so that lines
//! from different contexts do not interleave.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

use spin::Mutex;
use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;
/// QEMU's debug console (`-debugcon`): each byte written is output as is.
const DEBUGCON: u16 = 0xe9;

/// Set while a user console driver owns COM1.
static CONSOLE_TAKEN: AtomicBool = AtomicBool::new(false);

pub struct Serial {
    data: Port<u8>,
    line_status: Port<u8>,
}

impl Serial {
    const fn new(base: u16) -> Self {
        Serial {
            data: Port::new(base),
            line_status: Port::new(base + 5),
        }
    }

    /// Programs the UART: no interrupts, 115200 baud, 8N1, FIFOs on.
    fn init(base: u16) {
        for (offset, value) in [
            (1, 0x00),
            (3, 0x80),
            (0, 0x01),
            (1, 0x00),
            (3, 0x03),
            (2, 0xc7),
            (4, 0x0b),
        ] {
            // SAFETY: COM1's registers are I/O ports owned by this driver.
            unsafe { Port::<u8>::new(base + offset).write(value) };
        }
    }

    fn write_byte(&mut self, byte: u8) {
        // SAFETY: reading the line status and writing the data register only
        // affect the UART. The bounded wait keeps a missing UART from hanging
        // the kernel.
        unsafe {
            for _ in 0..100_000 {
                if self.line_status.read() & 0x20 != 0 {
                    break;
                }
            }
            self.data.write(byte);
        }
    }
}

impl Write for Serial {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for byte in text.bytes() {
            if byte == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(byte);
        }
        Ok(())
    }
}

/// The debug channel: no status to poll, one `out` per byte.
struct DebugCon;

impl Write for DebugCon {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for byte in text.bytes() {
            // SAFETY: port 0xe9 is QEMU's debug console, which only
            // records the byte; nothing else uses the port.
            unsafe { Port::<u8>::new(DEBUGCON).write(byte) };
        }
        Ok(())
    }
}

static COM1_PORT: Mutex<Serial> = Mutex::new(Serial::new(COM1));

pub fn init() {
    Serial::init(COM1);
}

/// Hands COM1 to a user console driver (`true`) or takes it back.
/// Taking it back re-initialises the UART (the driver may have
/// reprogrammed it).
pub fn set_console_taken(taken: bool) {
    let port = COM1_PORT.lock();
    if !taken {
        Serial::init(COM1);
    }
    CONSOLE_TAKEN.store(taken, Ordering::Release);
    drop(port);
}

/// Prints to the debug channel, and to COM1 unless a driver took it.
#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    print_to(args, false);
}

/// Prints to the debug channel and COM1 even if a driver took it: for
/// error-level lines and above.
pub fn print_urgent(args: fmt::Arguments) {
    print_to(args, true);
}

fn print_to(args: fmt::Arguments, urgent: bool) {
    let mut port = COM1_PORT.lock();
    let _ = DebugCon.write_fmt(args);
    if urgent || !CONSOLE_TAKEN.load(Ordering::Acquire) {
        let _ = port.write_fmt(args);
    }
}

/// Prints to the debug channel only (the cost meter's trace dump, which
/// the console has no use for).
#[cfg(feature = "meter")]
pub fn debug_print(args: fmt::Arguments) {
    let _port = COM1_PORT.lock();
    let _ = DebugCon.write_fmt(args);
}

/// Takes COM1 back by force (re-initialises the UART, ends any hand-off)
/// without taking the lock: only for the panic handler and fatal traps,
/// which may run while the lock is held.
pub fn reclaim_console() {
    Serial::init(COM1);
    CONSOLE_TAKEN.store(false, Ordering::Release);
}

/// Prints to the debug channel and COM1 without taking the lock: only for
/// the panic handler, which may run while the lock is held (call
/// [`reclaim_console`] first).
pub fn emergency_print(args: fmt::Arguments) {
    let _ = DebugCon.write_fmt(args);
    let _ = Serial::new(COM1).write_fmt(args);
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::arch::serial::_print(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::arch::serial::_print(format_args!("{}\n", format_args!($($arg)*))));
}
