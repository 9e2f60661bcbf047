//! Where the loader's messages go.
//!
//! Before `ExitBootServices` a message goes to the UEFI console. An error
//! must also reach COM1: when the firmware's console already includes a
//! serial port (the `ConOut` variable names a UART, as OVMF's does) that is
//! the same thing; otherwise the error is also written to COM1 directly, so
//! each error line appears exactly once on the serial port. After
//! `ExitBootServices` only the direct COM1 path exists, and it neither
//! allocates nor formats.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

use uefi::cstr16;
use uefi::runtime::{self, VariableVendor};

use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;

/// Whether the firmware's console does not reach a serial port, so errors
/// must be written to COM1 by hand.
static DIRECT_SERIAL: AtomicBool = AtomicBool::new(true);

/// Looks at the `ConOut` variable to decide whether errors need the direct
/// COM1 path. Needs runtime services (always there before the hand-off).
pub fn detect_console() {
    let mut buffer = [0u8; 1024];
    if let Ok((path, _)) = runtime::get_variable(
        cstr16!("ConOut"),
        &VariableVendor::GLOBAL_VARIABLE,
        &mut buffer,
    ) {
        DIRECT_SERIAL.store(!boot_core::devpath::has_uart(path), Ordering::Relaxed);
    }
}

/// Programs COM1 for 115200 baud, 8N1, FIFOs on: the settings the kernel and
/// OVMF also use, so doing it again changes nothing for them.
pub fn init_serial() {
    let setup: [(u16, u8); 7] = [
        (1, 0x00), // no interrupts
        (3, 0x80), // DLAB on to set the divisor
        (0, 0x01), // divisor 1 = 115200 baud
        (1, 0x00),
        (3, 0x03), // 8 bits, no parity, one stop bit, DLAB off
        (2, 0xc7), // FIFOs on and cleared
        (4, 0x0b), // DTR, RTS, OUT2
    ];
    for (offset, value) in setup {
        // SAFETY: COM1's registers are I/O ports the firmware leaves to the
        // boot loader; writing them has no effect on memory.
        unsafe { Port::new(COM1 + offset).write(value) };
    }
}

/// Writes `text` to COM1 directly, turning `\n` into `\r\n`.
pub fn serial_write(text: &str) {
    for byte in text.bytes() {
        if byte == b'\n' {
            serial_byte(b'\r');
        }
        serial_byte(byte);
    }
}

fn serial_byte(byte: u8) {
    let mut status: Port<u8> = Port::new(COM1 + 5);
    let mut data: Port<u8> = Port::new(COM1);
    // SAFETY: reading the line-status register and writing the data register
    // of COM1 only affect the UART. The bounded wait keeps a missing UART
    // (status reads 0xff or never ready) from hanging the loader.
    unsafe {
        for _ in 0..100_000 {
            if status.read() & 0x20 != 0 {
                break;
            }
        }
        data.write(byte);
    }
}

struct Serial;

impl Write for Serial {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        serial_write(text);
        Ok(())
    }
}

/// Prints one line on the UEFI console (boot services must still be active).
macro_rules! say {
    ($($arg:tt)*) => {
        uefi::println!("boot: {}", format_args!($($arg)*))
    };
}
pub(crate) use say;

/// Prints `boot: error: <what>` on the UEFI console and COM1, then halts for
/// good: a failed boot stops where its reason can be read.
pub fn fatal(what: fmt::Arguments) -> ! {
    uefi::println!("boot: error: {}", what);
    if DIRECT_SERIAL.load(Ordering::Relaxed) {
        let _ = writeln!(Serial, "boot: error: {}", what);
    }
    halt()
}

/// Like [`fatal`], for after `ExitBootServices`: COM1 only, no formatting.
pub fn fatal_late(what: &str) -> ! {
    serial_write("boot: error: ");
    serial_write(what);
    serial_write("\n");
    halt()
}

fn halt() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
