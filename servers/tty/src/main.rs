//! The `tty` server process: the console's line discipline ([`tty::ldisc`])
//! behind `libsys::proto::tty`, over the 16550 UART at COM1 (`ttyS0`).
//!
//! - **The console hand-off.** `init` gives it the console control
//!   (manifest option `console`), COM1's ports and ISA IRQ 4. It takes
//!   COM1 from the kernel (`console_take`), and from then on the kernel
//!   writes only `err` lines and above there; every other line it logs
//!   signals this server (`log_notify`), which reads the new records from
//!   the log ring and writes them to COM1 itself, each on a line of its
//!   own — so the log keeps appearing, between whole writes.
//! - **Input.** The UART's "received data" interrupt: the bytes go
//!   through the line discipline, whose echo is written back, whose
//!   signal characters (`^C`, `^\`, `^Z`) become a `Kill` of the
//!   foreground process group through the process server (looked up when
//!   first needed; without one the signal is logged and dropped).
//! - **Keyboard input.** `Input` (`TIOCSTI`) puts a root caller's bytes
//!   through the same line discipline as the UART's: the PS/2 keyboard
//!   driver (`servers/kbd`, started by devmgr) sends its key presses so,
//!   and `^C` typed there is a `SIGINT` as on the serial line. Signals go
//!   to the foreground process group through the process server, sent by
//!   a thread of its own (`sigsend`) so that this loop never waits on
//!   `proc` (looked up when first needed; without one the signal is
//!   logged and dropped).
//! - **The framebuffer console.** With the manifest's `framebuffer`
//!   option `init` passes the boot framebuffer's geometry
//!   (`framebuffer=<geometry>`) and lets `mm` map its pages here; every
//!   byte written to COM1 (clients' output, echo, log records) is also
//!   drawn there ([`tty::fb::FbConsole`]), batched: the loop's receive
//!   timeout shrinks to when the next flush is due. Without the option,
//!   or if the framebuffer cannot be mapped, the console is serial only
//!   (said on the log).
//! - **Reads answered later.** A `Read` with no input yet keeps its
//!   caller waiting: its reply right and window are saved (at most
//!   [`READERS_MAX`]) and answered, oldest first, when the discipline has
//!   a line (canonical) or `VMIN` bytes (raw). A signal character answers
//!   every waiting read `EINTR`, as Linux's `n_tty_read` does. In raw
//!   mode the oldest waiting read carries its `VTIME` timer (from the
//!   call with `VMIN` 0, from the last byte received otherwise); the
//!   loop's receive timeout shrinks to it, and when it runs out the read
//!   is answered with what there is (0 bytes with `VMIN` 0).
//! - **Job control.** A read, a write while `TOSTOP` is set, and the
//!   settings changes (`TCSETS*`, `TIOCSPGRP`, `TIOCSWINSZ`) of a process
//!   the request names are held while the sending thread judges them
//!   ([`tty::jobctl`], with `proc`'s facts about the caller): carried
//!   out, `EIO`, or `SIGTTIN`/`SIGTTOU` to the caller's group and
//!   `ERESTARTSYS` (libsys makes the call again once it is continued).
//! - **The window size** is the framebuffer console's grid when there is
//!   one (80×25 otherwise); a `TIOCSWINSZ` that changes it sends
//!   `SIGWINCH` to the foreground process group, as Linux's
//!   `tty_do_resize` does.
//! - **Class devices.** At start it adds its terminals to devmgr's `tty`
//!   class (`ttyS0`, and `tty0` with the framebuffer console): their
//!   uevents make the `/dev` nodes, which vfs serves as the console.
//! - **One thread, one loop**, as the timer server: the interrupt's and
//!   the log's notification bits end its `recv`, and so does a 100 ms
//!   timeout, after which it looks at the UART itself (input an
//!   interrupt did not announce). (The generic
//!   `libsys::server::serve` passes no grant to its core, and every
//!   request here but the attributes' moves data through one.)
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

extern crate alloc;

mod sigsend;

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use driver_hal::mmio::MmioRegion;
use libsys::abi::grant::Access as GrantAccessKind;
use libsys::abi::ipc::PAYLOAD_MAX;
use libsys::abi::{FramebufferInfo, SysError};
use libsys::errno::Errno;
use libsys::grant::{CallerGrant, GrantAccess};
use libsys::handle::{Borrowed, ConsoleControl, Endpoint, Irq, Notification};
use libsys::ipc::{self, Message, SavedReply};
use libsys::port::{inb, outb};
use libsys::proto::tty::{Reply, Request, Termios, Winsize, CONSOLE, IO_MAX};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR};
use libsys::time::Instant;
use libsys::{eprintln, println};
use tty::fb::FbConsole;
use tty::fbcon::Canvas;
use tty::jobctl::{self, Access, Verdict};
use tty::klog::{parse_records, Record};
use tty::uart::{self, Transmitter, UartPorts};
use tty::{LineDiscipline, ReadResult, Signal};

libsys::entry!(main);

const COM1: u16 = 0x3f8;
/// Interrupt enable, FIFO control, modem control and line status registers.
const IER: u16 = COM1 + uart::IER;
const FCR: u16 = COM1 + 2;
const MCR: u16 = COM1 + 4;
const LSR: u16 = COM1 + uart::LSR;
/// FCR: FIFOs on, both cleared, the receive interrupt at 1 byte (a
/// console wants each key at once; Linux's 16550A default of 8 waits for
/// the character timeout).
const FCR_ENABLE_CLEAR: u8 = 0x07;
/// MCR: DTR, RTS and OUT2 (which gates the UART's interrupt to the PIC/APIC).
const MCR_DTR_RTS_OUT2: u8 = 0x0b;
/// MCR: loopback (what is sent comes back as received; nothing reaches
/// the line). The echo probe's.
const MCR_LOOP: u8 = 0x10;
/// LSR: a byte is waiting; the transmitter and its shift register are empty.
const LSR_DR: u8 = 0x01;
const LSR_TEMT: u8 = 0x40;
/// The byte the echo probe sends itself (echoed as itself).
const PROBE_BYTE: u8 = b'e';
/// `LSR` reads the probe waits for its byte to come back.
const PROBE_SPINS: u32 = 100_000;
/// Notification bits: the UART's interrupt, a new log record.
const IRQ_BIT: u32 = 0;
const LOG_BIT: u32 = 1;
/// The sending thread has job-control verdicts for held calls (`sigsend`).
const VERDICT_BIT: u32 = 2;
/// Pids remembered as allowed to `Input`.
const INPUT_PIDS_MAX: usize = 4;
/// Reads kept waiting at once.
const READERS_MAX: usize = 32;
/// Bytes taken from the UART per interrupt (its FIFO holds 16).
const RX_BURST: usize = 256;
/// How long the loop waits before it looks at the UART itself: input
/// left past `RX_BURST` raises no new interrupt.
const RX_POLL_NS: u64 = 100_000_000;
/// `VTIME` counts tenths of a second.
const VTIME_UNIT_NS: u64 = 100_000_000;
/// `SIGWINCH`, sent to the foreground group when the window changes size.
const SIGWINCH: u32 = libsys::posix::signal::SIGWINCH;
/// Log records at these levels are the server's to write on the console:
/// `warning` and `notice` (the kernel still writes `err` and above
/// itself). `info` — servers' progress, a line per process that exits —
/// stays in the log (`dmesg`, `/dev/kmsg`) and on the debug channel, as
/// on a Linux console with `kernel.printk` at 6: written on the user's
/// screen it broke the line being typed (a pipeline's children exit while
/// the shell echoes the next command).
const LOG_LEVELS: core::ops::RangeInclusive<u8> = 4..=5;

/// Why the server could not start.
#[derive(Debug, Clone, Copy)]
enum StartError {
    NoConsoleControl,
    NoPorts,
    NoIrq,
    Sys(&'static str, SysError),
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::NoConsoleControl => write!(f, "no console control (manifest `console`)"),
            StartError::NoPorts => write!(f, "COM1's ports not given (ports=0x3f8:8)"),
            StartError::NoIrq => write!(f, "no IRQ line given (irq=isa:4)"),
            StartError::Sys(what, e) => write!(f, "{what}: {e}"),
        }
    }
}

/// A read kept waiting.
struct Reader {
    reply: SavedReply,
    /// The request's message, for its grant window.
    msg: Message,
    len: usize,
    /// When its `VTIME` timer runs out (nanoseconds on the server's
    /// clock, `Server::now`); only the oldest reader's runs.
    deadline: Option<u64>,
}

/// A call that changes or moves data through the terminal, as held for
/// its job-control check.
#[derive(Clone, Copy, Debug)]
enum Op {
    Read { len: u32, nonblock: bool },
    Write { len: u32 },
    SetAttr { action: u32, termios: Termios },
    SetPgrp { pgrp: u32 },
    SetWinsize { winsize: Winsize },
}

impl Op {
    fn access(&self) -> Access {
        match self {
            Op::Read { .. } => Access::Read,
            Op::Write { .. } => Access::Write,
            Op::SetAttr { .. } | Op::SetPgrp { .. } | Op::SetWinsize { .. } => Access::Change,
        }
    }
}

/// A call waiting for its job-control verdict (`sigsend`).
struct Held {
    ticket: u64,
    reply: SavedReply,
    /// The request's message, for its grant window.
    msg: Message,
    op: Op,
}

struct Server {
    ldisc: LineDiscipline,
    pgrp: u32,
    irq: Borrowed<Irq>,
    readers: VecDeque<Reader>,
    /// Calls waiting for their job-control verdict.
    held: Vec<Held>,
    /// The next held call's ticket.
    next_ticket: u64,
    /// Sends signals to process groups without blocking the loop.
    signals: sigsend::Sender,
    /// The credentials service, once found (for `Input`).
    cred: Option<libsys::proto::cred::Client>,
    /// Pids whose `Input` was allowed (root), the newest last.
    input_allowed: Vec<u64>,
    /// The next log record to write.
    log_since: u64,
    /// COM1's output stands at the start of a line (a log record written
    /// after an echo or a prompt without a newline starts a line of its own).
    line_start: bool,
    /// The framebuffer console, when `init` gave one.
    fb: Option<FbConsole<Framebuffer>>,
    /// The start of the clock the framebuffer console's batching runs on.
    epoch: Instant,
    /// COM1's transmit queue (sent on the "transmitter empty" interrupt).
    tx: Transmitter,
    /// The echo probe under way, if any.
    probe: Option<Probe>,
}

/// COM1's registers through this process's port rights.
struct Com1;

impl UartPorts for Com1 {
    fn read(&mut self, offset: u16) -> u8 {
        inb(COM1 + offset)
    }

    fn write(&mut self, offset: u16, value: u8) {
        outb(COM1 + offset, value);
    }
}

/// `EchoProbe`: a byte sent in loopback is on its way through the
/// interrupt and the line discipline.
struct Probe {
    reply: SavedReply,
    /// TSC when the byte went into the UART (and so arrived).
    sent: u64,
    /// TSC when the loop woke with the UART's interrupt bit.
    woke: Option<u64>,
    /// When it started, on the server's clock (`Server::now`).
    since: u64,
}

/// The boot framebuffer's memory, mapped through `mm`, as the renderer's
/// canvas. Accesses outside it are refused by the region (and cannot
/// happen: the renderer stays inside the geometry it was given).
struct Framebuffer(MmioRegion);

impl Canvas for Framebuffer {
    fn write(&mut self, offset: usize, bytes: &[u8]) {
        let _ = self.0.write_bytes(offset as u64, bytes);
    }

    fn copy_within(&mut self, src: usize, dst: usize, len: usize) {
        let _ = self.0.copy_within(src as u64, dst as u64, len as u64);
    }
}

/// The framebuffer console `args` name (`framebuffer=<geometry>`), mapped
/// and cleared; `None` (and why, on the log) without one.
fn framebuffer_console(args: &str) -> Option<FbConsole<Framebuffer>> {
    let text = args
        .split_whitespace()
        .find_map(|w| w.strip_prefix("framebuffer="))?;
    let fb = match FramebufferInfo::parse(text) {
        Ok(fb) => fb,
        Err(e) => {
            eprintln!("tty: framebuffer={text}: {e}; serial only");
            return None;
        }
    };
    let memory = match MmioRegion::map(fb.phys, fb.len()) {
        Ok(memory) => memory,
        Err(e) => {
            eprintln!("tty: cannot map the framebuffer {fb}: {e:?}; serial only");
            return None;
        }
    };
    let started = Instant::now();
    match FbConsole::new(&fb, Framebuffer(memory)) {
        Ok(console) => {
            let screen = console.screen();
            println!(
                "tty: framebuffer console {}x{} cells on {}x{} at {} bpp (cleared in {} us)",
                screen.cols(),
                screen.rows(),
                fb.width,
                fb.height,
                fb.bpp,
                started.elapsed().as_micros()
            );
            Some(console)
        }
        Err(e) => {
            eprintln!("tty: {e}; serial only");
            None
        }
    }
}

/// Adds the terminals this server serves to devmgr's `tty` class, as
/// Linux names them: `ttyS0` (4:64) below the platform's `serial8250`,
/// and with the framebuffer console `tty0` (4:0, the current virtual
/// terminal) under `/devices/virtual/tty`. Their `add` uevents make
/// `/dev/ttyS0` and `/dev/tty0`. Already there (this server restarted):
/// left as they are. Without devmgr (a manifest without it): none.
fn register_class_devices(framebuffer: bool) {
    use libsys::proto::devmgr::{Client, ClientError, DevClass, DevError};
    let Ok(devmgr) = Client::connect() else {
        println!("tty: no devmgr: no class devices");
        return;
    };
    let serial = ("ttyS0", (4, 64), Some("serial8250"));
    let vt = ("tty0", (4, 0), None);
    for (name, devt, parent) in core::iter::once(serial).chain(framebuffer.then_some(vt)) {
        // udev's modes: the serial line 0660 (group dialout), a VT 0620.
        let mode = if name == "ttyS0" { 0o660 } else { 0o620 };
        match devmgr.add_class_device(DevClass::Tty, name, devt, None, parent, Some(mode)) {
            Ok(()) | Err(ClientError::Dev(DevError::NameExists)) => {}
            Err(e) => eprintln!("tty: devmgr: cannot add {name}: {e}"),
        }
    }
}

fn main(args: &str) -> u64 {
    let (irq, endpoint) = match start() {
        Ok(found) => found,
        Err(why) => {
            eprintln!("tty: {why}");
            return 1;
        }
    };
    let mut server = Server {
        ldisc: LineDiscipline::new(),
        pgrp: 0,
        irq,
        readers: VecDeque::new(),
        held: Vec::new(),
        next_ticket: 0,
        signals: sigsend::Sender::default(),
        cred: None,
        input_allowed: Vec::new(),
        log_since: last_log_seq().map_or(0, |s| s + 1),
        line_start: true,
        fb: framebuffer_console(args),
        epoch: Instant::now(),
        tx: Transmitter::new(),
        probe: None,
    };
    if let Some(fb) = server.fb.as_ref() {
        // The console's window is the grid it is drawn on (Linux's VT
        // reports its columns and rows; pixels stay 0, as fbcon's do).
        let screen = fb.screen();
        server.ldisc.set_winsize(tty::Winsize {
            ws_row: u16::try_from(screen.rows()).unwrap_or(u16::MAX),
            ws_col: u16::try_from(screen.cols()).unwrap_or(u16::MAX),
            ws_xpixel: 0,
            ws_ypixel: 0,
        });
    }
    register_class_devices(server.fb.is_some());
    if let Err(e) = libsys::names::register(libsys::proto::tty::NAME, &endpoint) {
        eprintln!("tty: cannot register: {e}");
        return 2;
    }
    println!("tty: serving ttyS0 (COM1, IRQ 4) as line 0");
    let error = server.serve(&endpoint);
    eprintln!("tty: stopped serving: {error}");
    3
}

/// Opens COM1, takes the console, binds the interrupt and the log to this
/// thread's notification and makes the endpoint.
fn start() -> Result<(Borrowed<Irq>, Endpoint), StartError> {
    let control = libsys::env::take_handle("console")
        .map(ConsoleControl)
        .ok_or(StartError::NoConsoleControl)?;
    libsys::env::io_ports(COM1, 8)
        .ok_or(StartError::NoPorts)?
        .grant(COM1, 8)
        .map_err(|e| StartError::Sys("open COM1's ports", e))?;
    let irq = libsys::env::irq_line().ok_or(StartError::NoIrq)?;
    let notification = Notification::create().map_err(|e| StartError::Sys("notification", e))?;
    notification
        .bind_current()
        .map_err(|e| StartError::Sys("bind the notification", e))?;
    irq.bind(&notification, IRQ_BIT)
        .map_err(|e| StartError::Sys("bind IRQ 4", e))?;
    libsys::syscall::log_notify(Some(notification.raw()), LOG_BIT)
        .map_err(|e| StartError::Sys("log_notify", e))?;
    // The thread keeps it bound; the handle stays open for the process,
    // kept by the signal sender to wake this loop.
    sigsend::keep_wakeup(notification, VERDICT_BIT);
    control
        .take()
        .map_err(|e| StartError::Sys("console_take", e))?;
    core::mem::forget(control);
    // FIFOs on; drain what is waiting, then interrupt on received data
    // (and, while output waits, on an empty transmitter: `Transmitter`).
    outb(FCR, FCR_ENABLE_CLEAR);
    while inb(LSR) & LSR_DR != 0 {
        let _ = inb(COM1);
    }
    outb(MCR, MCR_DTR_RTS_OUT2);
    outb(IER, uart::IER_RDI);
    let endpoint = Endpoint::create().map_err(|e| StartError::Sys("endpoint", e))?;
    Ok((irq, endpoint))
}

/// The sequence number of the newest record in the log ring.
fn last_log_seq() -> Option<u64> {
    let mut buffer = vec![0u8; libsys::abi::LOG_READ_MAX];
    let (mut since, mut last) = (0, None);
    for _ in 0..64 {
        let n = libsys::syscall::log_read(since, &mut buffer).ok()?;
        let records = parse_records(&buffer[..n]);
        let Some(seq) = records.last().map(|r| r.seq) else {
            return last;
        };
        last = Some(seq);
        since = seq + 1;
    }
    last
}

/// The window `msg` lends, on its caller's saved reply or (none saved)
/// on the thread's current caller.
fn caller_grant<'a>(msg: &Message, saved: &'a Option<SavedReply>) -> CallerGrant<'a> {
    match saved.as_ref() {
        Some(reply) => CallerGrant::saved(msg, reply),
        None => CallerGrant::current(msg),
    }
}

fn encode(reply: &Reply) -> Message {
    match rpc::encode_payload(reply) {
        Ok(length) => Message::new(LABEL_REPLY).with_payload(length),
        Err(_) => Message::new(LABEL_SERVER_ERROR),
    }
}

fn to_core(t: Termios) -> tty::Termios {
    tty::Termios {
        c_iflag: t.iflag,
        c_oflag: t.oflag,
        c_cflag: t.cflag,
        c_lflag: t.lflag,
        c_line: t.line,
        c_cc: t.cc,
    }
}

fn from_core(t: tty::Termios) -> Termios {
    Termios {
        iflag: t.c_iflag,
        oflag: t.c_oflag,
        cflag: t.c_cflag,
        lflag: t.c_lflag,
        line: t.c_line,
        cc: t.c_cc,
    }
}

/// What a request comes to.
enum Outcome {
    Now(Reply),
    /// A read kept waiting, or a call held for its job-control check
    /// (its reply right saved).
    Waiting,
}

impl Server {
    /// Receives requests, interrupts and log records for good; returns
    /// why receiving failed.
    fn serve(&mut self, endpoint: &Endpoint) -> SysError {
        let mut input = [0u8; PAYLOAD_MAX];
        let mut reply: Option<Message> = None;
        loop {
            let timeout = self
                .draw_if_due()
                .map_or(RX_POLL_NS, |ns| ns.clamp(1, RX_POLL_NS))
                .min(self.vtime_due_in());
            let received = match reply.take() {
                Some(msg) => endpoint.reply_recv(&msg, timeout),
                None => endpoint.recv(timeout),
            };
            let mut received = match received {
                Ok(r) => r,
                // Input the interrupt did not announce (see `receive`).
                Err(SysError::TimedOut) => {
                    if inb(LSR) & LSR_DR != 0 {
                        self.receive(false);
                    }
                    // A probe whose byte never came back (a UART without
                    // loopback) ends with the receive timeout.
                    let now = self.now();
                    if let Some(probe) = self.probe.take() {
                        if now.saturating_sub(probe.since) >= RX_POLL_NS {
                            self.end_probe(probe, Reply::Error(Errno::EIO));
                        } else {
                            self.probe = Some(probe);
                        }
                    }
                    self.tx.kick(&mut Com1);
                    self.answer_readers(false);
                    continue;
                }
                Err(e) => return e,
            };
            if let Some(bits) = received.signals() {
                if bits & (1 << IRQ_BIT) != 0 {
                    if let Some(probe) = self.probe.as_mut() {
                        probe.woke.get_or_insert_with(libsys::syscall::rdtsc);
                    }
                }
                // The log first: a prompt logged before the input came.
                // (Not in the middle of a probe: the UART is looped back.)
                if bits & (1 << LOG_BIT) != 0 && self.probe.is_none() {
                    self.write_log();
                }
                if bits & (1 << IRQ_BIT) != 0 {
                    self.receive(true);
                    self.tx.kick(&mut Com1);
                }
                if bits & (1 << VERDICT_BIT) != 0 {
                    self.answer_held();
                }
                self.answer_readers(false);
                continue;
            }
            let msg = received.msg;
            let badge = received.badge;
            let n = ipc::read_payload(msg.info.length.into(), &mut input);
            let request = (msg.label() == LABEL_REQUEST)
                .then(|| rpc::decode::<Request>(&input[..n]).ok())
                .flatten();
            let carries_handles = received.take_handles().next().is_some();
            reply = match request {
                Some(request) if !carries_handles => match self.handle(request, &msg, badge) {
                    Outcome::Now(r) => {
                        // Waiting reads first: answering them uses the IPC buffer.
                        self.answer_readers(false);
                        Some(encode(&r))
                    }
                    Outcome::Waiting => None,
                },
                _ => Some(Message::new(LABEL_BAD_REQUEST)),
            };
        }
    }

    /// One request (the thread's current caller sent `msg`).
    fn handle(&mut self, request: Request, msg: &Message, msg_badge: u64) -> Outcome {
        let line = match request {
            Request::Read { line, .. }
            | Request::Write { line, .. }
            | Request::GetAttr { line }
            | Request::SetAttr { line, .. }
            | Request::GetPgrp { line }
            | Request::SetPgrp { line, .. }
            | Request::GetWinsize { line }
            | Request::SetWinsize { line, .. }
            | Request::Poll { line }
            | Request::Input { line, .. }
            | Request::EchoProbe { line } => line,
        };
        if line != CONSOLE {
            return Outcome::Now(Reply::Error(Errno::ENXIO));
        }
        let now = |r: Result<Reply, Errno>| Outcome::Now(r.unwrap_or_else(Reply::Error));
        let (pid, op) = match request {
            Request::Read {
                len, nonblock, pid, ..
            } => (pid, Op::Read { len, nonblock }),
            Request::Write { len, pid, .. } => (pid, Op::Write { len }),
            Request::SetAttr {
                action,
                termios,
                pid,
                ..
            } => (pid, Op::SetAttr { action, termios }),
            Request::SetPgrp { pgrp, pid, .. } => (pid, Op::SetPgrp { pgrp }),
            Request::SetWinsize { winsize, pid, .. } => (pid, Op::SetWinsize { winsize }),
            Request::GetAttr { .. } => {
                return now(Ok(Reply::Termios(from_core(self.ldisc.termios()))))
            }
            Request::GetPgrp { .. } => return now(Ok(Reply::Pgrp(self.pgrp))),
            Request::GetWinsize { .. } => {
                let w = self.ldisc.winsize();
                return now(Ok(Reply::Winsize(Winsize {
                    rows: w.ws_row,
                    cols: w.ws_col,
                    xpixel: w.ws_xpixel,
                    ypixel: w.ws_ypixel,
                })));
            }
            Request::Poll { .. } => {
                return now(Ok(Reply::Ready {
                    readable: self.ldisc.readable(),
                    writable: !self.ldisc.output_stopped(),
                }))
            }
            Request::Input { len, bytes, .. } => return now(self.input(msg_badge, len, &bytes)),
            Request::EchoProbe { .. } => {
                return match self.start_probe(msg_badge) {
                    Ok(()) => Outcome::Waiting,
                    Err(e) => Outcome::Now(Reply::Error(e)),
                }
            }
        };
        let tostop = self.ldisc.termios().c_lflag & tty::termios::TOSTOP != 0;
        if jobctl::needs_check(op.access(), tostop, self.pgrp, pid) {
            if let Some(outcome) = self.hold(msg, pid, op) {
                return outcome;
            }
        }
        let mut saved = None;
        match self.carry_out(msg, &mut saved, op) {
            Some(reply) => Outcome::Now(reply),
            None => Outcome::Waiting,
        }
    }

    /// Holds a call for its job-control check (`sigsend`); `None` if it
    /// cannot be held (then it is carried out unchecked).
    fn hold(&mut self, msg: &Message, pid: u64, op: Op) -> Option<Outcome> {
        if self.held.len() >= sigsend::CHECKS_MAX {
            return None;
        }
        let ticket = self.next_ticket;
        let check = sigsend::Check {
            ticket,
            pid,
            access: op.access(),
            foreground: self.pgrp,
        };
        // Saved first: a verdict must find its call.
        let Ok(reply) = ipc::save_reply() else {
            return Some(Outcome::Now(Reply::Error(Errno::EIO)));
        };
        if !self.signals.check(check) {
            let mut saved = Some(reply);
            if let (Some(answer), Some(saved)) = (self.carry_out(msg, &mut saved, op), saved) {
                // A caller that is gone cannot be answered.
                let _ = saved.reply(&encode(&answer));
            }
            return Some(Outcome::Waiting);
        }
        self.next_ticket += 1;
        self.held.push(Held {
            ticket,
            reply,
            msg: *msg,
            op,
        });
        Some(Outcome::Waiting)
    }

    /// Answers the held calls the sending thread has verdicts for:
    /// carried out, or failed `EIO` or `ERESTARTSYS` (its group was sent
    /// the signal).
    fn answer_held(&mut self) {
        for (ticket, verdict) in sigsend::take_verdicts() {
            let Some(at) = self.held.iter().position(|h| h.ticket == ticket) else {
                continue;
            };
            let held = self.held.swap_remove(at);
            let reply = match verdict {
                Verdict::Eio => Some(Reply::Error(Errno::EIO)),
                Verdict::Restart { .. } => Some(Reply::Error(Errno::ERESTARTSYS)),
                Verdict::Proceed => {
                    let mut saved = Some(held.reply);
                    // `None`: a read kept waiting took the reply along.
                    if let (Some(reply), Some(saved)) =
                        (self.carry_out(&held.msg, &mut saved, held.op), saved)
                    {
                        // A caller that is gone cannot be answered.
                        let _ = saved.reply(&encode(&reply));
                    }
                    continue;
                }
            };
            if let Some(reply) = reply {
                let _ = held.reply.reply(&encode(&reply));
            }
        }
        self.answer_readers(false);
    }

    /// Carries a call out: its reply, or `None` for a read kept waiting
    /// (which takes the caller's saved reply from `saved`, or saves the
    /// current caller's when `saved` is empty).
    fn carry_out(
        &mut self,
        msg: &Message,
        saved: &mut Option<SavedReply>,
        op: Op,
    ) -> Option<Reply> {
        let result = match op {
            Op::Read { len, nonblock } => return self.read(msg, saved, len, nonblock),
            Op::Write { len } => self.write(&mut caller_grant(msg, saved), len),
            Op::SetAttr { action, termios } => self.set_attr(action, termios),
            Op::SetPgrp { pgrp } => {
                self.pgrp = pgrp;
                Ok(Reply::Done)
            }
            Op::SetWinsize { winsize: w } => {
                let changed = self.ldisc.set_winsize(tty::Winsize {
                    ws_row: w.rows,
                    ws_col: w.cols,
                    ws_xpixel: w.xpixel,
                    ws_ypixel: w.ypixel,
                });
                if changed && self.pgrp != 0 {
                    self.signals.kill_group(self.pgrp, SIGWINCH);
                }
                Ok(Reply::Done)
            }
        };
        Some(result.unwrap_or_else(Reply::Error))
    }

    /// `TIOCSTI`: the keyboard driver's key presses (or any root
    /// process's bytes) into the console's input. Linux lets a process
    /// do this on its controlling terminal or with `CAP_SYS_ADMIN`; here
    /// the caller's credentials must be root (asked of the credentials
    /// service once per pid: the last few allowed are remembered).
    fn input(&mut self, pid: u64, len: u8, bytes: &[u8]) -> Result<Reply, Errno> {
        let bytes = bytes.get(..usize::from(len)).ok_or(Errno::EINVAL)?;
        self.check_root(pid)?;
        self.feed(bytes);
        Ok(Reply::Done)
    }

    /// `EPERM` unless `pid`'s credentials are root (asked of the
    /// credentials service once per pid: the last few allowed are
    /// remembered).
    fn check_root(&mut self, pid: u64) -> Result<(), Errno> {
        if !self.input_allowed.contains(&pid) {
            if self.cred.is_none() {
                self.cred = libsys::proto::cred::Client::connect_within(0).ok();
            }
            let root = self
                .cred
                .as_ref()
                .and_then(|c| c.get(pid).ok())
                .is_some_and(|c| c.is_root());
            if !root {
                return Err(Errno::EPERM);
            }
            if self.input_allowed.len() >= INPUT_PIDS_MAX {
                self.input_allowed.remove(0);
            }
            self.input_allowed.push(pid);
        }
        Ok(())
    }

    /// `EchoProbe`: measures a byte's way in and its echo's way out
    /// (`make bench`'s `irq_to_driver` and `tty_echo`). The output queue
    /// drained, the UART is put in loopback and sent [`PROBE_BYTE`]: it
    /// arrives at once and raises the interrupt, which reaches this loop
    /// as any input's does (`woke`); `receive` hands the byte to
    /// [`Self::finish_probe`], which echoes it as the line discipline
    /// would and answers. Root only (the line is out of service for those
    /// few microseconds: typed bytes are lost, output waits).
    fn start_probe(&mut self, pid: u64) -> Result<(), Errno> {
        self.check_root(pid)?;
        if self.probe.is_some() {
            return Err(Errno::EBUSY);
        }
        if !self.tx.drain(&mut Com1) {
            return Err(Errno::EIO);
        }
        // The last byte out of the shift register too, or it comes back.
        for _ in 0..PROBE_SPINS {
            if inb(LSR) & LSR_TEMT != 0 {
                break;
            }
        }
        let reply = ipc::save_reply().map_err(|_| Errno::EIO)?;
        // Output that comes meanwhile waits in the queue.
        self.tx.hold(&mut Com1, true);
        outb(MCR, MCR_DTR_RTS_OUT2 | MCR_LOOP);
        let sent = libsys::syscall::rdtsc();
        outb(COM1, PROBE_BYTE);
        self.probe = Some(Probe {
            reply,
            sent,
            woke: None,
            since: self.now(),
        });
        Ok(())
    }

    /// The probe's byte came back (`bytes`, what the interrupt found):
    /// echoed through a line discipline with the console's settings (not
    /// the console's own: its input stays as it was), the echo sent, the
    /// loopback undone and the caller answered with the two spans.
    fn finish_probe(&mut self, probe: Probe, bytes: &[u8]) {
        let mut ldisc = LineDiscipline::new();
        ldisc.set_termios(self.ldisc.termios());
        let effects = ldisc.receive(bytes);
        // Straight into the FIFO (empty: drained before the probe), as
        // the queue would send it on an idle line.
        for &byte in effects.echo.iter().take(uart::TX_FIFO) {
            outb(COM1, byte);
        }
        let echoed = libsys::syscall::rdtsc();
        let reply = match probe.woke {
            Some(woke) if bytes == [PROBE_BYTE] && effects.echo == [PROBE_BYTE] => Reply::Probe {
                irq_ticks: woke.saturating_sub(probe.sent),
                echo_ticks: echoed.saturating_sub(probe.sent),
            },
            // Something else came in (a byte typed as the probe ran,
            // settings without echo) or no interrupt did: no figure.
            _ => Reply::Error(Errno::EAGAIN),
        };
        self.end_probe(probe, reply);
    }

    /// Takes what loops back, gives the line back (loopback off, the
    /// queue sending again) and answers the probe's caller.
    fn end_probe(&mut self, probe: Probe, reply: Reply) {
        for _ in 0..PROBE_SPINS {
            if inb(LSR) & LSR_TEMT != 0 {
                break;
            }
        }
        while inb(LSR) & LSR_DR != 0 {
            let _ = inb(COM1);
        }
        outb(MCR, MCR_DTR_RTS_OUT2);
        self.tx.hold(&mut Com1, false);
        let _ = probe.reply.reply(&encode(&reply));
    }

    /// `TCSETS` (0), `TCSETSW` (1: the output queue drained first) or
    /// `TCSETSF` (2: drained, and input flushed).
    fn set_attr(&mut self, action: u32, termios: Termios) -> Result<Reply, Errno> {
        if action > 2 {
            return Err(Errno::EINVAL);
        }
        if action >= 1 {
            let _ = self.tx.drain(&mut Com1);
        }
        if action == 2 {
            self.ldisc.flush_input();
        }
        self.ldisc.set_termios(to_core(termios));
        Ok(Reply::Done)
    }

    /// A `Write`: the window's bytes, output-processed, to COM1.
    fn write(&mut self, grant: &mut CallerGrant, len: u32) -> Result<Reply, Errno> {
        let window = grant.window().ok_or(Errno::EFAULT)?;
        if window.access != GrantAccessKind::Read {
            return Err(Errno::EFAULT);
        }
        let len = (len.min(IO_MAX) as u64).min(window.length) as usize;
        let mut data = vec![0u8; len];
        grant.read(0, &mut data).map_err(|_| Errno::EFAULT)?;
        let out = self.ldisc.write(&data);
        self.output(&out);
        Ok(Reply::Count(len as u64))
    }

    /// A `Read`: answered now if the discipline has input for it, else
    /// kept waiting (or `EAGAIN` with `nonblock`): see `carry_out`.
    fn read(
        &mut self,
        msg: &Message,
        saved: &mut Option<SavedReply>,
        len: u32,
        nonblock: bool,
    ) -> Option<Reply> {
        let Some(window) = caller_grant(msg, saved).window() else {
            return Some(Reply::Error(Errno::EFAULT));
        };
        if window.access != GrantAccessKind::Write {
            return Some(Reply::Error(Errno::EFAULT));
        }
        let len = (len.min(IO_MAX) as u64).min(window.length) as usize;
        let mut deadline = None;
        if self.readers.is_empty() {
            match self.ldisc.read(len, false) {
                ReadResult::Data(data) => {
                    let result = caller_grant(msg, saved).write(0, &data);
                    return Some(match result {
                        Ok(()) => Reply::Count(data.len() as u64),
                        Err(_) => Reply::Error(Errno::EFAULT),
                    });
                }
                ReadResult::Eof => return Some(Reply::Count(0)),
                ReadResult::Block { timeout } => deadline = timeout.map(|t| self.vtime_deadline(t)),
            }
        }
        if nonblock {
            return Some(Reply::Error(Errno::EAGAIN));
        }
        if self.readers.len() >= READERS_MAX {
            return Some(Reply::Error(Errno::EAGAIN));
        }
        let reply = match saved.take() {
            Some(reply) => reply,
            None => match ipc::save_reply() {
                Ok(reply) => reply,
                Err(_) => return Some(Reply::Error(Errno::EIO)),
            },
        };
        self.readers.push_back(Reader {
            reply,
            msg: *msg,
            len,
            deadline,
        });
        None
    }

    /// Answers waiting reads, oldest first, while the discipline has
    /// input, or the oldest's `VTIME` timer ran out. `input_arrived`:
    /// bytes were just received (the inter-byte timer starts again).
    fn answer_readers(&mut self, input_arrived: bool) {
        let now = self.now();
        while let Some(reader) = self.readers.front_mut() {
            let expired = reader.deadline.is_some_and(|d| d <= now);
            let reply = match self.ldisc.read(reader.len, expired) {
                ReadResult::Block { timeout } => {
                    reader.deadline = match timeout {
                        None => None,
                        Some(_) if reader.deadline.is_some() && !input_arrived && !expired => {
                            reader.deadline
                        }
                        Some(t) => Some(now + u64::from(t) * VTIME_UNIT_NS),
                    };
                    return;
                }
                ReadResult::Eof => Reply::Count(0),
                ReadResult::Data(data) => {
                    let mut grant = CallerGrant::saved(&reader.msg, &reader.reply);
                    match grant.write(0, &data) {
                        Ok(()) => Reply::Count(data.len() as u64),
                        // The reader is gone or its window is: the bytes
                        // are lost with it, as with a dead reader's.
                        Err(_) => Reply::Error(Errno::EFAULT),
                    }
                }
            };
            if let Some(reader) = self.readers.pop_front() {
                // A caller that is gone cannot be answered: nothing to do.
                let _ = reader.reply.reply(&encode(&reply));
            }
        }
    }

    /// Writes a client's output or an echo to COM1 and the framebuffer.
    fn output(&mut self, bytes: &[u8]) {
        let Some(&last) = bytes.last() else {
            return;
        };
        self.tx.queue(&mut Com1, bytes);
        self.line_start = last == b'\n';
        self.draw(bytes);
    }

    /// Puts `bytes` on the framebuffer console (drawn when a flush is due).
    fn draw(&mut self, bytes: &[u8]) {
        if let Some(fb) = self.fb.as_mut() {
            let now = self.epoch.elapsed().as_nanos() as u64;
            fb.write(bytes, now);
        }
    }

    /// Nanoseconds on the server's clock (since it started).
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// When a `VTIME` of `tenths` set now runs out.
    fn vtime_deadline(&self, tenths: u8) -> u64 {
        self.now() + u64::from(tenths) * VTIME_UNIT_NS
    }

    /// Nanoseconds until the oldest reader's `VTIME` timer runs out (at
    /// least 1); `u64::MAX` without one.
    fn vtime_due_in(&self) -> u64 {
        match self.readers.front().and_then(|r| r.deadline) {
            Some(deadline) => deadline.saturating_sub(self.now()).max(1),
            None => u64::MAX,
        }
    }

    /// Draws the framebuffer console if a flush is due; nanoseconds until
    /// the next one, `None` with nothing waiting to be drawn.
    fn draw_if_due(&mut self) -> Option<u64> {
        let fb = self.fb.as_mut().filter(|fb| fb.pending())?;
        let now = self.epoch.elapsed().as_nanos() as u64;
        fb.poll(now);
        fb.due_in(now)
    }

    /// The UART's interrupt (`acknowledge`) or the receive timeout: its
    /// bytes through the line discipline.
    fn receive(&mut self, acknowledge: bool) {
        let mut bytes = Vec::new();
        let drain = |bytes: &mut Vec<u8>| {
            while bytes.len() < RX_BURST && inb(LSR) & LSR_DR != 0 {
                bytes.push(inb(COM1));
            }
        };
        drain(&mut bytes);
        if acknowledge {
            let _ = self.irq.ack();
        }
        // A byte that came between the draining and the ack raised no edge
        // on the masked line (the UART's output stayed high): take it now,
        // so that the output drops and the next byte interrupts again.
        // (Past RX_BURST the rest waits for the receive timeout.)
        drain(&mut bytes);
        match self.probe.take() {
            Some(probe) if !bytes.is_empty() => self.finish_probe(probe, &bytes),
            probe => {
                self.probe = probe;
                self.feed(&bytes);
            }
        }
    }

    /// Input bytes (from the UART or a keyboard) through the line
    /// discipline: echo, signals, waiting readers answered.
    fn feed(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let effects = self.ldisc.receive(bytes);
        self.output(&effects.echo);
        if !effects.signals.is_empty() {
            for reader in self.readers.drain(..) {
                let _ = reader.reply.reply(&encode(&Reply::Error(Errno::EINTR)));
            }
        }
        for signal in effects.signals {
            self.kill_foreground(signal);
        }
        self.answer_readers(true);
    }

    /// Sends `signal` to the foreground process group (queued for the
    /// sending thread: never waits on `proc`).
    fn kill_foreground(&mut self, signal: Signal) {
        if self.pgrp == 0 {
            // Info, not err: err lines the kernel writes to COM1 itself,
            // in the middle of whatever this server is writing.
            println!(
                "tty: signal {} with no foreground process group",
                signal.number()
            );
            return;
        }
        self.signals.kill_group(self.pgrp, signal.number());
    }

    /// New log records: those the kernel no longer writes to COM1, each
    /// on a line of its own.
    fn write_log(&mut self) {
        let mut buffer = vec![0u8; libsys::abi::LOG_READ_MAX];
        // Bounded: a burst larger than this waits for the next signal.
        for _ in 0..16 {
            let Ok(n) = libsys::syscall::log_read(self.log_since, &mut buffer) else {
                return;
            };
            let records = parse_records(&buffer[..n]);
            if records.is_empty() {
                return;
            }
            for Record { seq, level, text } in records {
                if seq < self.log_since {
                    continue;
                }
                self.log_since = seq + 1;
                if LOG_LEVELS.contains(&level) {
                    if !self.line_start {
                        self.output(b"\r\n");
                    }
                    self.output(&buffer[text]);
                    self.output(b"\r\n");
                }
            }
        }
    }
}
