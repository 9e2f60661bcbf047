//! `contest`: the console hand-off, the kernel-log notification and a
//! shared level-triggered interrupt line, in the machine (`init` runs it
//! from `manifest.test` with `console irq=isa:4 ports=0x3f8:8`: what a
//! COM1 console driver gets).
//!
//! - it takes COM1 (`console_take`); a line it logs at `info` while it
//!   holds the console signals its log watcher's bit and is in the log
//!   ring (`log_read`) — the harness checks that this line is in the debug
//!   channel's log and **not** in the serial log, and that the line this
//!   program writes to COM1 through its own ports is;
//! - an `err` line logged while it holds the console still reaches COM1
//!   (the harness checks); after `console_give_back` `info` lines do
//!   again; giving back what it does not hold is `NotAllowed`;
//! - IRQ 4 (COM1's line) configured level-triggered, active-high, with two
//!   handlers bound (the line handle and a copy of it, each to its own
//!   notification): the UART's "transmitter empty" interrupt, which stays
//!   asserted until the cause is cleared, is the source the program can
//!   raise itself. Both handlers are signalled; after the first `irq_ack`
//!   the line is still masked; the cause cleared, the second `irq_ack`
//!   unmasks it. With the cause left asserted, both acks re-fire the line
//!   at once (a level line). Changing the mode of a line that has
//!   handlers is `NotAllowed`;
//! - last, it takes COM1 again and exits without giving it back: the
//!   kernel takes it back when the process dies (the harness checks the
//!   kernel's line saying so, and that later `info` lines reach COM1).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec;

use libsys::abi::args::{Polarity, Trigger};
use libsys::abi::{Rights, SysError, LOG_READ_MAX};
use libsys::format_text;
use libsys::handle::{ConsoleControl, Irq, Notification};
use libsys::port::{inb, outb};
use userland::{want, Tally};

libsys::entry!(main);

type Why = libsys::rt::TextBuf<256>;

const COM1: u16 = 0x3f8;
/// Interrupt enable register, line status register.
const IER: u16 = COM1 + 1;
const LSR: u16 = COM1 + 5;
/// IER: "transmitter holding register empty" interrupt.
const IER_THRI: u8 = 0x02;
const SECOND: u64 = 1_000_000_000;

/// Markers the harness looks for (tests/src/main.rs).
const HIDDEN: &str = "contest: info while the console is taken";
const DRIVER: &str = "contest: written by the console driver";

fn main(_: &str) -> u64 {
    let mut t = Tally::new();
    let Some(control) = libsys::env::take_handle("console").map(ConsoleControl) else {
        libsys::eprintln!("contest: no console control given (manifest `console`)");
        return t.status() | 1;
    };
    t.record("console hand-off", hand_off(&control));
    t.record("shared level-triggered line", shared_line());
    t.record(
        "take the console again",
        control.take().map_err(|e| format_text!("{e}")),
    );
    // Exits holding COM1: the kernel takes it back.
    t.status()
}

/// Takes COM1, logs, writes through the ports, gives it back.
fn hand_off(control: &ConsoleControl) -> Result<(), Why> {
    let ports = libsys::env::io_ports(COM1, 8).ok_or_else(|| format_text!("no COM1 ports"))?;
    ports
        .grant(COM1, 8)
        .map_err(|e| format_text!("open COM1's ports: {e}"))?;
    let watch = Notification::create().map_err(|e| format_text!("notification: {e}"))?;
    libsys::syscall::log_notify(Some(watch.raw()), 3)
        .map_err(|e| format_text!("log_notify: {e}"))?;
    want(
        "log_notify with bit 64",
        libsys::syscall::log_notify(Some(watch.raw()), 64),
        Err(SysError::InvalidArgument),
    )?;
    control
        .take()
        .map_err(|e| format_text!("console_take: {e}"))?;
    let _ = watch.poll();
    libsys::println!("{HIDDEN}");
    let bits = watch.wait(SECOND).map_err(|e| format_text!("wait: {e}"))?;
    want("log watcher's bit", bits & 1 << 3, 1 << 3)?;
    if !in_log_ring(HIDDEN) {
        return Err(format_text!("the line is not in the log ring"));
    }
    write_com1(DRIVER);
    libsys::eprintln!("contest: err while the console is taken");
    control
        .give_back()
        .map_err(|e| format_text!("give back: {e}"))?;
    libsys::println!("contest: info after the give-back");
    want(
        "give back twice",
        control.give_back(),
        Err(SysError::NotAllowed),
    )?;
    libsys::syscall::log_notify(None, 0).map_err(|e| format_text!("unbind: {e}"))
}

/// Whether a record of the ring contains `needle`.
fn in_log_ring(needle: &str) -> bool {
    let mut buffer = vec![0u8; LOG_READ_MAX];
    let mut since = 0;
    for _ in 0..64 {
        let Ok(n) = libsys::syscall::log_read(since, &mut buffer) else {
            return false;
        };
        if n == 0 {
            return false;
        }
        let text = core::str::from_utf8(&buffer[..n]).unwrap_or("");
        if text.contains(needle) {
            return true;
        }
        // "level,seq,usec,-;text": go on after the last record read.
        let last = text
            .lines()
            .filter_map(|l| l.split(',').nth(1)?.parse::<u64>().ok())
            .max();
        match last {
            Some(seq) if seq >= since => since = seq + 1,
            _ => return false,
        }
    }
    false
}

/// Writes `line` to COM1 with this process's own port access.
fn write_com1(line: &str) {
    for byte in line.bytes().chain(*b"\r\n") {
        for _ in 0..100_000 {
            if inb(LSR) & 0x20 != 0 {
                break;
            }
        }
        outb(COM1, byte);
    }
}

/// Two handlers on IRQ 4, level-triggered (see the module comment).
fn shared_line() -> Result<(), Why> {
    let irq = libsys::env::irq_line().ok_or_else(|| format_text!("no IRQ line given"))?;
    let copy: Irq = irq
        .dup(Rights::MANAGE, None)
        .map_err(|e| format_text!("dup: {e}"))?;
    irq.configure(Trigger::Level, Polarity::High)
        .map_err(|e| format_text!("configure: {e}"))?;
    let (first, second) = (notification()?, notification()?);
    irq.bind(&first, 0).map_err(|e| format_text!("bind: {e}"))?;
    copy.bind(&second, 1)
        .map_err(|e| format_text!("bind the copy: {e}"))?;
    want(
        "configure a line that has handlers",
        copy.configure(Trigger::Edge, Polarity::High),
        Err(SysError::NotAllowed),
    )?;
    let before = count(&irq)?;
    outb(IER, IER_THRI);
    want("first handler", first.wait(SECOND), Ok(1))?;
    want("second handler", second.wait(SECOND), Ok(2))?;
    want(
        "handlers on the line",
        irq.info().map(|i| i.handlers),
        Ok(2),
    )?;
    irq.ack().map_err(|e| format_text!("ack: {e}"))?;
    want("masked after one ack", irq.info().map(|i| i.masked), Ok(1))?;
    want("no interrupt while masked", count(&irq)?, before + 1)?;
    // The cause stays: both acks let the level line fire again.
    copy.ack().map_err(|e| format_text!("ack: {e}"))?;
    want("fires again (level)", first.wait(SECOND), Ok(1))?;
    want("second again", second.wait(SECOND), Ok(2))?;
    // The cause cleared, then both acks: unmasked and quiet.
    outb(IER, 0);
    irq.ack().map_err(|e| format_text!("ack: {e}"))?;
    want("masked until both ack", irq.info().map(|i| i.masked), Ok(1))?;
    copy.ack().map_err(|e| format_text!("ack: {e}"))?;
    want(
        "unmasked after both ack",
        irq.info().map(|i| i.masked),
        Ok(0),
    )?;
    want(
        "quiet once cleared",
        first.wait(SECOND / 10),
        Err(SysError::TimedOut),
    )?;
    Ok(())
}

fn notification() -> Result<Notification, Why> {
    Notification::create().map_err(|e| format_text!("notification: {e}"))
}

fn count(irq: &Irq) -> Result<u64, Why> {
    irq.info()
        .map(|i| i.count)
        .map_err(|e| format_text!("irq_info: {e}"))
}
