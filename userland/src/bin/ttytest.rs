//! `ttytest`: the terminal server (`tty`) through its client, in the
//! machine (`init` runs it from `manifest.posix`, after `tty`).
//!
//! - a write to the console is counted whole;
//! - `GetAttr`/`SetAttr` round trip (echo off and back), a bad `action`
//!   is `EINVAL`; `SetPgrp`/`GetPgrp`; the 80×25 window and its change;
//! - `Poll` with no input: writable, not readable; a nonblocking read
//!   with no input is `EAGAIN`; line 1 does not exist (`ENXIO`);
//! - typing: it logs [`PROMPT`] (at `notice`, so the terminal server
//!   writes it on the console), on which the harness types `hello` and a
//!   newline into COM1; the blocking read returns `hello\n` (a canonical
//!   line). The harness checks that the echo reached the serial log;
//! - `^C` with a foreground process group set: the waiting read is
//!   answered `EINTR` (and the server sends `SIGINT` to the group through
//!   `proc`, or logs that there is none);
//! - raw mode with `VMIN` 0 and `VTIME` 2: a read with no input returns 0
//!   bytes after about 0.2 s; with `VTIME` 0 at once;
//! - a window size change sends `SIGWINCH` to the foreground group (a
//!   fork child's own group, the signal blocked: seen with `sigpending`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::errno::Errno;
use libsys::format_text;
use libsys::posix::{self, SIGWINCH, SIG_BLOCK, VMIN, VTIME};
use libsys::proto::tty::{Client, ClientError, Winsize, CONSOLE};
use libsys::time::Instant;
use userland::{want, Tally, Why};

libsys::entry!(main);

/// The lines the harness types after (tests/src/main.rs): `hello` and a
/// newline, then `^C`.
const PROMPT: &str = "ttytest: type a line";
const PROMPT_INTR: &str = "ttytest: type ^C";
/// How long the `^C` prompt waits for the read to be queued.
const PROMPT_DELAY_MS: u64 = 200;
/// `c_lflag`'s `ICANON` and `ECHO`.
const ICANON: u32 = 0x2;
const ECHO: u32 = 0x8;

fn main(_: &str) -> u64 {
    let mut t = Tally::new();
    let tty = match Client::connect() {
        Ok(c) => c,
        Err(e) => {
            libsys::eprintln!("ttytest: no tty server: {e}");
            return t.status() | 1;
        }
    };
    t.record("write a line", write_line(&tty));
    t.record("termios round trip", attributes(&tty));
    t.record("foreground process group", pgrp(&tty));
    t.record("window size", winsize(&tty));
    t.record("poll and nonblocking read", no_input(&tty));
    t.record("the echo probe", echo_probe(&tty));
    t.record("a line that does not exist", no_line(&tty));
    t.record("read a typed line", typed(&tty));
    t.record("^C interrupts a read", interrupted(&tty));
    t.record("VTIME ends a raw read", vtime(&tty));
    t.record("SIGWINCH on a resize", sigwinch(&tty));
    t.status()
}

fn errno<T>(r: Result<T, ClientError>) -> Result<T, Errno> {
    r.map_err(|e| e.errno())
}

fn write_line(tty: &Client) -> Result<(), Why> {
    let line = b"ttytest: written through the terminal server\n";
    want("count", errno(tty.write(CONSOLE, 0, line)), Ok(line.len()))
}

fn attributes(tty: &Client) -> Result<(), Why> {
    let sane = errno(tty.get_attr(CONSOLE)).map_err(|e| format_text!("get: {e}"))?;
    want(
        "canonical with echo",
        sane.lflag & (ICANON | ECHO),
        ICANON | ECHO,
    )?;
    let mut quiet = sane;
    quiet.lflag &= !ECHO;
    want("set", errno(tty.set_attr(CONSOLE, 0, 0, quiet)), Ok(()))?;
    want("get what was set", errno(tty.get_attr(CONSOLE)), Ok(quiet))?;
    want(
        "bad action",
        errno(tty.set_attr(CONSOLE, 0, 9, sane)),
        Err(Errno::EINVAL),
    )?;
    want("restore", errno(tty.set_attr(CONSOLE, 0, 1, sane)), Ok(()))?;
    want("restored", errno(tty.get_attr(CONSOLE)), Ok(sane))
}

fn pgrp(tty: &Client) -> Result<(), Why> {
    want("set", errno(tty.set_pgrp(CONSOLE, 0, 4242)), Ok(()))?;
    want("get", errno(tty.get_pgrp(CONSOLE)), Ok(4242))?;
    want("none again", errno(tty.set_pgrp(CONSOLE, 0, 0)), Ok(()))
}

fn winsize(tty: &Client) -> Result<(), Why> {
    let default = errno(tty.get_winsize(CONSOLE)).map_err(|e| format_text!("get: {e}"))?;
    want("80x25", (default.cols, default.rows), (80, 25))?;
    let wide = Winsize {
        rows: 50,
        cols: 132,
        xpixel: 0,
        ypixel: 0,
    };
    want("set", errno(tty.set_winsize(CONSOLE, 0, wide)), Ok(()))?;
    want("get", errno(tty.get_winsize(CONSOLE)), Ok(wide))?;
    want(
        "restore",
        errno(tty.set_winsize(CONSOLE, 0, default)),
        Ok(()),
    )
}

fn no_input(tty: &Client) -> Result<(), Why> {
    want("poll", errno(tty.poll(CONSOLE)), Ok((false, true)))?;
    let mut buffer = [0u8; 16];
    want(
        "nonblocking read",
        errno(tty.read(CONSOLE, 0, &mut buffer, true)),
        Err(Errno::EAGAIN),
    )
}

/// `EchoProbe` (the UART looped back): both spans measured, the echo
/// after the interrupt; nothing left in the console's input; no figure
/// (`EAGAIN`) when the settings do not echo; output written after it
/// still goes out (the queue sends again).
fn echo_probe(tty: &Client) -> Result<(), Why> {
    let (irq, echo) = errno(tty.echo_probe(CONSOLE)).map_err(|e| format_text!("probe: {e}"))?;
    if irq == 0 || echo <= irq {
        return Err(format_text!(
            "spans irq={irq} echo={echo}: the echo must follow the interrupt"
        ));
    }
    libsys::println!("ttytest: echo probe: irq_to_driver={irq} tty_echo={echo} ticks");
    want(
        "input left alone",
        errno(tty.poll(CONSOLE)),
        Ok((false, true)),
    )?;
    let sane = errno(tty.get_attr(CONSOLE)).map_err(|e| format_text!("get: {e}"))?;
    let mut quiet = sane;
    quiet.lflag &= !ECHO;
    want("no echo", errno(tty.set_attr(CONSOLE, 0, 0, quiet)), Ok(()))?;
    let without = errno(tty.echo_probe(CONSOLE));
    want("restore", errno(tty.set_attr(CONSOLE, 0, 0, sane)), Ok(()))?;
    want(
        "a probe without echo",
        without.map(|_| ()),
        Err(Errno::EAGAIN),
    )?;
    let line = b"ttytest: output after the probe\n";
    want(
        "write after",
        errno(tty.write(CONSOLE, 0, line)),
        Ok(line.len()),
    )
}

fn no_line(tty: &Client) -> Result<(), Why> {
    want("get_attr", errno(tty.get_attr(1)), Err(Errno::ENXIO))?;
    let mut buffer = [0u8; 4];
    want(
        "read",
        errno(tty.read(7, 0, &mut buffer, true)),
        Err(Errno::ENXIO),
    )?;
    want("write", errno(tty.write(1, 0, b"x")), Err(Errno::ENXIO))
}

/// Logs `text` at `notice`: the terminal server writes records at
/// warning and notice on the console (info stays in the log), so the
/// harness finds the prompt in the serial log, written by the server.
fn prompt(text: &str) {
    let _ = libsys::syscall::log(libsys::abi::LogLevel::Notice, text);
}

/// Waits for the line the harness types.
fn typed(tty: &Client) -> Result<(), Why> {
    prompt(PROMPT);
    let mut buffer = [0u8; 64];
    let n =
        errno(tty.read(CONSOLE, 0, &mut buffer, false)).map_err(|e| format_text!("read: {e}"))?;
    want("the line", &buffer[..n], &b"hello\n"[..])?;
    want("nothing left", errno(tty.poll(CONSOLE)), Ok((false, true)))
}

/// Waits for the `^C` the harness types: the read ends with `EINTR`.
fn interrupted(tty: &Client) -> Result<(), Why> {
    want("set pgrp", errno(tty.set_pgrp(CONSOLE, 0, 4242)), Ok(()))?;
    // The prompt comes from a thread of its own once the read waits: the
    // harness types `^C` as soon as it sees the prompt (on the debug
    // channel at once), and a `^C` that came before the read was queued
    // would find no reader to interrupt (the read would wait for good).
    let prompter = libsys::thread::spawn(|| {
        libsys::time::sleep_ms(PROMPT_DELAY_MS);
        prompt(PROMPT_INTR);
    })
    .map_err(|e| format_text!("spawn the prompter: {e}"))?;
    let mut buffer = [0u8; 64];
    let read = errno(tty.read(CONSOLE, 0, &mut buffer, false));
    let _ = prompter.join();
    want("unset pgrp", errno(tty.set_pgrp(CONSOLE, 0, 0)), Ok(()))?;
    want("the read", read, Err(Errno::EINTR))?;
    want("input flushed", errno(tty.poll(CONSOLE)), Ok((false, true)))
}

/// Raw mode, `VMIN` 0: `VTIME` 2 answers an empty read after 0.2 s (the
/// server's timer), `VTIME` 0 at once.
fn vtime(tty: &Client) -> Result<(), Why> {
    let sane = errno(tty.get_attr(CONSOLE)).map_err(|e| format_text!("get: {e}"))?;
    let mut raw = sane;
    raw.lflag &= !(ICANON | ECHO);
    raw.cc[VMIN] = 0;
    raw.cc[VTIME] = 2;
    want("set raw", errno(tty.set_attr(CONSOLE, 0, 0, raw)), Ok(()))?;
    let mut buffer = [0u8; 8];
    let start = Instant::now();
    let timed = errno(tty.read(CONSOLE, 0, &mut buffer, false));
    let waited = start.elapsed().as_millis();
    raw.cc[VTIME] = 0;
    let set = errno(tty.set_attr(CONSOLE, 0, 0, raw));
    let start = Instant::now();
    let at_once = errno(tty.read(CONSOLE, 0, &mut buffer, false));
    let polled = start.elapsed().as_millis();
    want("restore", errno(tty.set_attr(CONSOLE, 0, 0, sane)), Ok(()))?;
    want("VTIME 2: nothing read", timed, Ok(0))?;
    if !(150..5_000).contains(&waited) {
        return Err(format_text!(
            "VTIME 2 answered after {waited} ms, not about 200"
        ));
    }
    want("set VTIME 0", set, Ok(()))?;
    want("VTIME 0: nothing read", at_once, Ok(0))?;
    if polled >= 150 {
        return Err(format_text!(
            "VTIME 0 answered after {polled} ms, not at once"
        ));
    }
    Ok(())
}

/// A `TIOCSWINSZ` that changes the size signals the foreground group;
/// one that keeps it does not. Checked in a fork child: this program,
/// started by init, takes no signal from others (proc's rule for the
/// processes it took in), a child proc made does.
fn sigwinch(_tty: &Client) -> Result<(), Why> {
    let status = match posix::fork() {
        Ok(0) => posix::exit(match sigwinch_child() {
            Ok(()) => 0,
            Err(why) => {
                libsys::eprintln!("ttytest: SIGWINCH child: {why}");
                1
            }
        }),
        Ok(pid) => posix::waitpid(pid as i64, 0).map_err(|e| format_text!("waitpid: {e}"))?,
        Err(e) => return Err(format_text!("fork: {e}")),
    };
    want("the child's status", status.map(|(_, s)| s), Some(0))
}

/// The child's half: its own process group in the foreground, the
/// signal blocked, a resize of the same size (no signal) and a real one.
fn sigwinch_child() -> Result<(), Why> {
    let tty = Client::connect().map_err(|e| format_text!("connect: {e}"))?;
    let bit = 1u64 << (SIGWINCH - 1);
    posix::setpgid(0, 0).map_err(|e| format_text!("setpgid: {e}"))?;
    let pgrp = posix::getpgrp().map_err(|e| format_text!("getpgrp: {e}"))?;
    posix::sigprocmask(SIG_BLOCK, bit).map_err(|e| format_text!("block: {e}"))?;
    let size = errno(tty.get_winsize(CONSOLE)).map_err(|e| format_text!("get: {e}"))?;
    want(
        "set pgrp",
        errno(tty.set_pgrp(CONSOLE, 0, pgrp as u32)),
        Ok(()),
    )?;
    let same = errno(tty.set_winsize(CONSOLE, 0, size));
    let quiet = pending_within(bit, 300);
    let wide = Winsize {
        cols: size.cols + 1,
        ..size
    };
    let resized = errno(tty.set_winsize(CONSOLE, 0, wide));
    let signalled = pending_within(bit, 3_000);
    let restored = errno(tty.set_winsize(CONSOLE, 0, size));
    want("unset pgrp", errno(tty.set_pgrp(CONSOLE, 0, 0)), Ok(()))?;
    want("the same size", same, Ok(()))?;
    want("no signal for the same size", quiet, false)?;
    want("resize", resized, Ok(()))?;
    want("SIGWINCH pending", signalled, true)?;
    want("restore", restored, Ok(()))
}

/// Whether `bit` shows in `sigpending` within `ms` milliseconds (the
/// server sends its signals from a thread of its own).
fn pending_within(bit: u64, ms: u64) -> bool {
    for _ in 0..ms / 10 {
        if posix::sigpending().is_ok_and(|p| p & bit != 0) {
            return true;
        }
        libsys::time::sleep_ms(10);
    }
    false
}
