//! The PS/2 keyboard driver process (Linux's `i8042` + `atkbd`, as one
//! small process): it owns the i8042 controller's ports (data 0x60,
//! status and command 0x64) and ISA IRQ 1 — exactly those, given to it by
//! devmgr through the spawn protocol — and sends every key press, as the
//! bytes a terminal would send ([`kbd::Decoder`]), to the console's input
//! (tty line 0, `Input`), where the line discipline treats them as it
//! treats bytes from the serial line (echo, editing, `^C` → `SIGINT`).
//!
//! Arguments (from devmgr): `h0=<irq> h1=<ports 0x60> h2=<ports 0x64>`.
//!
//! At start it sets the controller up as Linux's `i8042_controller_init`
//! does, in short: drain the output buffer, read the configuration byte,
//! enable the keyboard's interrupt and the translation to set 1, enable
//! the keyboard port, and tell the keyboard to scan. Then one loop: wait
//! for the interrupt (or 100 ms, then look at the status register
//! itself), read every byte the controller has, acknowledge the line.
//! Bytes from the auxiliary (mouse) port are dropped. A key press whose
//! `Input` fails (tty restarting) is dropped, as a keyboard with no
//! reader would; the driver looks tty up again on the next one.
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

use kbd::Decoder;
use libsys::abi::SysError;
use libsys::handle::{IoPorts, Irq, Notification};
use libsys::port::{inb, outb};
use libsys::proto::tty::{Client as Tty, CONSOLE};
use libsys::{eprintln, println};

libsys::entry!(main);

const DATA: u16 = 0x60;
const STATUS: u16 = 0x64;
const COMMAND: u16 = 0x64;
/// Status: output buffer full (a byte to read); input buffer full (the
/// controller has not taken the last command yet); the byte is the
/// auxiliary port's.
const STATUS_OUT_FULL: u8 = 0x01;
const STATUS_IN_FULL: u8 = 0x02;
const STATUS_AUX: u8 = 0x20;
/// Commands: read and write the configuration byte, enable the keyboard
/// port.
const CMD_READ_CONFIG: u8 = 0x20;
const CMD_WRITE_CONFIG: u8 = 0x60;
const CMD_ENABLE_KBD: u8 = 0xae;
/// Configuration: keyboard interrupt on, keyboard clock off, translation.
const CONFIG_KBD_INT: u8 = 0x01;
const CONFIG_KBD_CLOCK_OFF: u8 = 0x10;
const CONFIG_TRANSLATE: u8 = 0x40;
/// The keyboard's "enable scanning".
const KBD_ENABLE: u8 = 0xf4;
/// Loops of status polling before a controller is taken as stuck.
const SPIN: u32 = 100_000;
/// How long the loop waits before it reads the status itself.
const POLL_NS: u64 = 100_000_000;
/// Bytes read per wake-up at most (the controller's buffer is one byte;
/// bounded so a stuck controller cannot hold the loop).
const BURST: usize = 64;

/// Why the driver cannot run.
#[derive(Debug)]
enum StartError {
    /// `h<k>` was not given.
    Missing(&'static str),
    Sys(&'static str, SysError),
    /// The controller never answered.
    NoController,
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::Missing(what) => write!(f, "no {what} given"),
            StartError::Sys(what, e) => write!(f, "{what}: {e}"),
            StartError::NoController => write!(f, "the i8042 controller does not answer"),
        }
    }
}

fn main(_args: &str) -> u64 {
    let (irq, notification) = match start() {
        Ok(found) => found,
        Err(why) => {
            eprintln!("kbd: {why}");
            return 1;
        }
    };
    println!("kbd: i8042 keyboard on IRQ 1, typing into tty line 0");
    let mut decoder = Decoder::new();
    let mut tty: Option<Tty> = None;
    loop {
        let fired = match notification.wait(POLL_NS) {
            Ok(_) => true,
            Err(SysError::TimedOut) => false,
            Err(e) => {
                eprintln!("kbd: wait: {e}");
                return 2;
            }
        };
        for _ in 0..BURST {
            let status = inb(STATUS);
            if status & STATUS_OUT_FULL == 0 {
                break;
            }
            let byte = inb(DATA);
            if status & STATUS_AUX != 0 {
                continue;
            }
            if let Some((bytes, n)) = decoder.feed(byte) {
                send(&mut tty, &bytes[..n]);
            }
        }
        if fired {
            let _ = irq.ack();
        }
    }
}

/// Sends a key press's bytes to the console's input, finding tty first
/// if need be; a failure drops them (and tty is looked up again).
fn send(tty: &mut Option<Tty>, bytes: &[u8]) {
    if tty.is_none() {
        *tty = Tty::connect_within(0).ok();
    }
    let Some(client) = tty else {
        return;
    };
    if let Err(e) = client.input(CONSOLE, bytes) {
        eprintln!("kbd: tty input: {e:?}");
        *tty = None;
    }
}

/// Opens the ports, binds IRQ 1 and sets the controller up.
fn start() -> Result<(Irq, Notification), StartError> {
    let irq = libsys::env::take_handle("h0")
        .map(Irq)
        .ok_or(StartError::Missing("IRQ line (h0)"))?;
    for (key, port) in [("h1", DATA), ("h2", STATUS)] {
        libsys::env::take_handle(key)
            .map(IoPorts)
            .ok_or(StartError::Missing("port range (h1, h2)"))?
            .grant(port, 1)
            .map_err(|e| StartError::Sys("open the i8042 ports", e))?;
    }
    let notification = Notification::create().map_err(|e| StartError::Sys("notification", e))?;
    irq.bind(&notification, 0)
        .map_err(|e| StartError::Sys("bind IRQ 1", e))?;
    controller_init()?;
    Ok((irq, notification))
}

/// Waits until the controller takes a byte; `NoController` if it never does.
fn wait_input_empty() -> Result<(), StartError> {
    for _ in 0..SPIN {
        if inb(STATUS) & STATUS_IN_FULL == 0 {
            return Ok(());
        }
    }
    Err(StartError::NoController)
}

/// Waits for a byte from the controller and reads it.
fn read_data() -> Result<u8, StartError> {
    for _ in 0..SPIN {
        if inb(STATUS) & STATUS_OUT_FULL != 0 {
            return Ok(inb(DATA));
        }
    }
    Err(StartError::NoController)
}

fn command(cmd: u8) -> Result<(), StartError> {
    wait_input_empty()?;
    outb(COMMAND, cmd);
    Ok(())
}

fn write_data(byte: u8) -> Result<(), StartError> {
    wait_input_empty()?;
    outb(DATA, byte);
    Ok(())
}

/// Drains the controller, turns the keyboard's interrupt and set-1
/// translation on, enables the port and scanning.
fn controller_init() -> Result<(), StartError> {
    for _ in 0..BURST {
        if inb(STATUS) & STATUS_OUT_FULL == 0 {
            break;
        }
        let _ = inb(DATA);
    }
    command(CMD_READ_CONFIG)?;
    let config = read_data()?;
    let config = (config | CONFIG_KBD_INT | CONFIG_TRANSLATE) & !CONFIG_KBD_CLOCK_OFF;
    command(CMD_WRITE_CONFIG)?;
    write_data(config)?;
    command(CMD_ENABLE_KBD)?;
    // The keyboard's ack (0xFA) arrives as input; the decoder skips it.
    write_data(KBD_ENABLE)
}
