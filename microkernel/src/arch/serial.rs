//! The early console: COM1, a 16550 UART at I/O port 0x3f8, 115200 baud 8N1.
//!
//! Everything the kernel prints goes here through `print!`/`println!`. The
//! port is behind a spin lock so that lines from different contexts do not
//! interleave; interrupts are never enabled at this stage, so the lock cannot
//! be re-entered from an interrupt handler.

use core::fmt::{self, Write};

use spin::Mutex;
use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;

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

static COM1_PORT: Mutex<Serial> = Mutex::new(Serial::new(COM1));

pub fn init() {
    Serial::init(COM1);
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    let _ = COM1_PORT.lock().write_fmt(args);
}

/// Prints to COM1 without taking the lock: only for the panic handler,
/// which may run while the lock is held.
pub fn emergency_print(args: fmt::Arguments) {
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
