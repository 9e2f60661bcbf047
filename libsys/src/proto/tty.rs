//! `tty`, the terminal server: the terminals' line discipline behind
//! messages. Its clients are the VFS (which forwards the `read`, `write`
//! and `ioctl` calls made on `/dev/console` and `/dev/tty*`, saying for
//! which process) and whoever watches a terminal.
//!
//! A terminal is a `line`: 0 is the console (the serial port `ttyS0`,
//! with the PS/2 keyboard and the framebuffer when present). Data moves
//! by grant copy: `Read` lends a write window and is answered when the
//! line discipline has input for it (a whole line in canonical mode),
//! `Write` lends a read window. Signal characters (`^C`, `^\`, `^Z`) make
//! the server signal the terminal's foreground process group through the
//! process server.
//!
//! | request | reply | notes |
//! | --- | --- | --- |
//! | `Read { line, len, pid, nonblock }` + write grant | `Count(n)` | answered later while no input; `EAGAIN` with `nonblock`; job control (below) |
//! | `Write { line, len, pid }` + read grant | `Count(n)` | output processing (`OPOST`, `ONLCR`) applied; with `TOSTOP`, job control as for `Read` (`SIGTTOU`) |
//! | `GetAttr { line }` | `Termios(t)` | `TCGETS` |
//! | `SetAttr { line, pid, action, termios }` | `Done` | `TCSETS`/`TCSETSW`/`TCSETSF` (`action` 0/1/2); job control (`SIGTTOU`) |
//! | `GetPgrp { line }` | `Pgrp(pgrp)` | `TIOCGPGRP` |
//! | `SetPgrp { line, pid, pgrp }` | `Done` | `TIOCSPGRP`; job control (`SIGTTOU`) |
//! | `GetWinsize { line }` | `Winsize(w)` | `TIOCGWINSZ` |
//! | `SetWinsize { line, pid, winsize }` | `Done` | `TIOCSWINSZ`; job control (`SIGTTOU`) |
//! | `Poll { line }` | `Ready { readable, writable }` | |
//! | `Input { line, len, bytes }` | `Done` | `TIOCSTI`: bytes as if typed on the line (a keyboard driver's key presses); root callers only (`EPERM`), `EINVAL` for `len` past [`INPUT_MAX`] |
//! | `EchoProbe { line }` | `Probe { irq_ticks, echo_ticks }` | the UART looped back, a byte sent in: TSC ticks until the server's loop runs with its interrupt and until its echo is sent (the benchmark's `irq_to_driver` and `tty_echo`); root only (`EPERM`), `EBUSY` while one runs, `EAGAIN` if other input came or the settings do not echo, `EIO` if the byte never came back |
//!
//! **Job control.** `pid` names the process making the call (the VFS
//! passes its caller's; 0 is not checked). A read, a write while
//! `TOSTOP` is set, and the three changes, made by a process of the
//! terminal's session outside its foreground group, get Linux's
//! treatment (`tty::jobctl`): its group is sent `SIGTTIN` (read) or
//! `SIGTTOU` and the call fails `ERESTARTSYS` (libsys makes it again
//! once the process is continued, or returns `EINTR` if a handler
//! without `SA_RESTART` ran); `EIO` if the group is orphaned or (for a
//! read) ignores or blocks `SIGTTIN`; a write or change whose caller
//! ignores or blocks `SIGTTOU` goes ahead.
//!
//! Errors are [`Errno`]s: `ENXIO` for a line that does not exist,
//! `EINVAL` for a bad `action` or `termios`, `EINTR` for a read cut short
//! by a signal character, `ERESTARTSYS` and `EIO` as above.

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

pub use crate::errno::Errno;

/// The name the server registers.
pub const NAME: &str = "tty";
/// The console's line.
pub const CONSOLE: u8 = 0;
/// `NCCS` of the kernel's `struct termios` on x86_64.
pub const NCCS: usize = 19;
/// Bytes one `Input` carries (a key press is at most a few: an arrow
/// key's escape sequence is three).
pub const INPUT_MAX: usize = 8;
/// The largest window one `Read` or `Write` lends.
pub const IO_MAX: u32 = 4096;

/// `struct termios` (the kernel's, as `TCGETS` fills it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; NCCS],
}

/// `struct winsize`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Winsize {
    pub rows: u16,
    pub cols: u16,
    pub xpixel: u16,
    pub ypixel: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    Read {
        line: u8,
        len: u32,
        pid: u64,
        nonblock: bool,
    },
    Write {
        line: u8,
        len: u32,
        pid: u64,
    },
    GetAttr {
        line: u8,
    },
    SetAttr {
        line: u8,
        pid: u64,
        action: u32,
        termios: Termios,
    },
    GetPgrp {
        line: u8,
    },
    SetPgrp {
        line: u8,
        pid: u64,
        pgrp: u32,
    },
    GetWinsize {
        line: u8,
    },
    SetWinsize {
        line: u8,
        pid: u64,
        winsize: Winsize,
    },
    Poll {
        line: u8,
    },
    /// The first `len` of `bytes` go into the line's input, through its
    /// line discipline, as bytes received on it do.
    Input {
        line: u8,
        len: u8,
        bytes: [u8; INPUT_MAX],
    },
    /// Measures the line's input and echo path (`make bench`'s
    /// `irq_to_driver` and `tty_echo`).
    EchoProbe {
        line: u8,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Done,
    Count(u64),
    Termios(Termios),
    Pgrp(u32),
    Winsize(Winsize),
    Ready {
        readable: bool,
        writable: bool,
    },
    Error(Errno),
    /// `EchoProbe`'s spans, in TSC ticks from the byte's arrival: to the
    /// server's loop running with the interrupt, and to its echo sent.
    Probe {
        irq_ticks: u64,
        echo_ticks: u64,
    },
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

client_stub! {
    /// The client stub: the terminal calls as methods.
    server: "tty", error: Tty
}

client_error! {
    /// Why a `tty` call failed: the server's errno, or the call itself.
    Tty(Errno),
}

impl ClientError {
    /// The errno a POSIX caller sees (`EIO` when the call itself failed).
    pub fn errno(&self) -> Errno {
        match self {
            ClientError::Tty(e) => *e,
            ClientError::Rpc(_) => Errno::EIO,
        }
    }
}

#[cfg(target_os = "none")]
mod client;

#[cfg(test)]
mod tests;
