//! `libsys::posix`: the POSIX-named calls a program makes (`open`,
//! `read`, `spawn`, `waitpid`, …) over the clients of the file server
//! (`vfs`), the process server (`proc`) and, through vfs's `ioctl`, the
//! terminal server. Each returns `Result<_, Errno>` with Linux's numbers.
//!
//! The clients are connected lazily, once, on the first call that needs
//! them (`ENOSYS` if the server never registered). This module holds the
//! pure parts, host-tested: Linux's constants, `linux_dirent64` parsing,
//! the wait-status word, `struct termios` as bytes, and the loop that
//! splits a write into windows, and the tools' option splitting
//! (`args.rs`). The calls themselves live in `sys.rs`
//! (bare-metal target only); `io.rs` has `Stdout`, `Stderr` and the
//! `outln!`/`errln!` macros tools print with.

use crate::errno::Errno;
pub use crate::proto::proc::reboot::{
    LINUX_REBOOT_CMD_CAD_OFF, LINUX_REBOOT_CMD_CAD_ON, LINUX_REBOOT_CMD_HALT,
    LINUX_REBOOT_CMD_KEXEC, LINUX_REBOOT_CMD_POWER_OFF, LINUX_REBOOT_CMD_RESTART,
    LINUX_REBOOT_CMD_RESTART2, LINUX_REBOOT_CMD_SW_SUSPEND, LINUX_REBOOT_MAGIC1,
    LINUX_REBOOT_MAGIC2, LINUX_REBOOT_MAGIC2A, LINUX_REBOOT_MAGIC2B, LINUX_REBOOT_MAGIC2C,
    RB_AUTOBOOT, RB_DISABLE_CAD, RB_ENABLE_CAD, RB_HALT_SYSTEM, RB_KEXEC, RB_POWER_OFF,
    RB_SW_SUSPEND,
};
pub use crate::proto::proc::{Pgroup, TaskInfo, WCONTINUED, WNOHANG, WUNTRACED};
pub use crate::proto::tty::Termios;
pub use crate::proto::vfs::{FileAction, Stat, AT_FDCWD, IO_MAX};

mod args;
pub mod mman;
pub use mman::*;
pub mod signal;
pub use signal::*;
#[cfg(all(feature = "rt", target_os = "none"))]
pub mod io;
pub use args::{interval_ms, options};
#[cfg(target_os = "none")]
mod sys;
#[cfg(target_os = "none")]
pub use sys::*;
#[cfg(target_os = "none")]
mod process;
#[cfg(target_os = "none")]
pub use process::{execve, execvp, fork, set_nproc_limit, setuid};

/// `open(2)` flags (x86_64 values).
pub const O_RDONLY: u32 = 0;
pub const O_WRONLY: u32 = 1;
pub const O_RDWR: u32 = 2;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_NOCTTY: u32 = 0o400;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_DIRECTORY: u32 = 0o200000;
pub const O_CLOEXEC: u32 = 0o2000000;

/// `lseek` whence.
pub const SEEK_SET: u32 = 0;
pub const SEEK_CUR: u32 = 1;
pub const SEEK_END: u32 = 2;

/// `fstatat`/`unlinkat` flags.
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
pub const AT_REMOVEDIR: u32 = 0x200;

/// `st_mode` file types and `d_type` values.
pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;
pub const DT_UNKNOWN: u8 = 0;
pub const DT_DIR: u8 = 4;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;

/// `fcntl` commands and the descriptor flag.
pub const F_DUPFD: u32 = 0;
pub const F_GETFD: u32 = 1;
pub const F_SETFD: u32 = 2;
pub const F_GETFL: u32 = 3;
pub const F_SETFL: u32 = 4;
pub const F_DUPFD_CLOEXEC: u32 = 1030;
pub const FD_CLOEXEC: u64 = 1;

/// Terminal `ioctl`s (`<asm-generic/ioctls.h>`).
pub const TCGETS: u32 = 0x5401;
pub const TCSETS: u32 = 0x5402;
pub const TCSETSW: u32 = 0x5403;
pub const TCSETSF: u32 = 0x5404;
pub const TIOCGPGRP: u32 = 0x540f;
pub const TIOCSPGRP: u32 = 0x5410;
pub const TIOCGWINSZ: u32 = 0x5413;
pub const TIOCSWINSZ: u32 = 0x5414;
/// `tcsetattr` actions.
pub const TCSANOW: u32 = 0;
pub const TCSADRAIN: u32 = 1;
pub const TCSAFLUSH: u32 = 2;
/// `c_lflag` bits.
pub const ISIG: u32 = 0o1;
pub const ICANON: u32 = 0o2;
pub const ECHO: u32 = 0o10;
/// `c_iflag`'s CR-to-NL translation.
pub const ICRNL: u32 = 0o400;
/// `c_cc` indices of `VMIN` and `VTIME`.
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;

/// Signal numbers (x86_64).
pub const SIGHUP: u32 = 1;
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGKILL: u32 = 9;
pub const SIGTERM: u32 = 15;
pub const SIGCONT: u32 = 18;
pub const SIGSTOP: u32 = 19;
pub const SIGTSTP: u32 = 20;

/// The signal named `name` (`"TERM"`, `"SIGKILL"`, or a number).
pub fn signal_number(name: &str) -> Option<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let name = name.strip_prefix("SIG").unwrap_or(name);
    let sig = match name {
        "HUP" => SIGHUP,
        "INT" => SIGINT,
        "QUIT" => SIGQUIT,
        "KILL" => SIGKILL,
        "TERM" => SIGTERM,
        "CONT" => SIGCONT,
        "STOP" => SIGSTOP,
        "TSTP" => SIGTSTP,
        _ => return None,
    };
    Some(sig)
}

/// A `waitpid` status word, decoded as `WIFEXITED` and friends do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitStatus {
    /// `WIFEXITED`, with `WEXITSTATUS`.
    Exited(i32),
    /// `WIFSIGNALED`, with `WTERMSIG`.
    Signaled(u32),
    /// `WIFSTOPPED`, with `WSTOPSIG`.
    Stopped(u32),
    /// `WIFCONTINUED`.
    Continued,
}

impl WaitStatus {
    /// Decodes Linux's encoding: `code << 8`, `sig`, `sig << 8 | 0x7f`,
    /// `0xffff`.
    pub fn decode(status: i32) -> WaitStatus {
        let low = status & 0x7f;
        if status == 0xffff {
            WaitStatus::Continued
        } else if low == 0 {
            WaitStatus::Exited((status >> 8) & 0xff)
        } else if low == 0x7f {
            WaitStatus::Stopped(((status >> 8) & 0xff) as u32)
        } else {
            WaitStatus::Signaled(low as u32)
        }
    }

    /// Encodes it back (the inverse of [`WaitStatus::decode`]).
    pub fn encode(self) -> i32 {
        match self {
            WaitStatus::Exited(code) => (code & 0xff) << 8,
            WaitStatus::Signaled(sig) => (sig & 0x7f) as i32,
            WaitStatus::Stopped(sig) => ((sig & 0xff) << 8) as i32 | 0x7f,
            WaitStatus::Continued => 0xffff,
        }
    }
}

/// One `linux_dirent64` record, borrowed from a `getdents` buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dirent<'a> {
    pub ino: u64,
    pub off: i64,
    /// `DT_*`.
    pub kind: u8,
    /// The name, without its NUL.
    pub name: &'a [u8],
}

/// The fixed part of `linux_dirent64`: ino, off, reclen, type.
const DIRENT_HEADER: usize = 8 + 8 + 2 + 1;

/// The records of a `getdents` buffer, in order; a malformed record
/// (length too short, past the end, name without its NUL) ends the walk
/// with `EIO`.
pub struct Dirents<'a> {
    buf: &'a [u8],
}

impl<'a> Dirents<'a> {
    pub fn new(buf: &'a [u8]) -> Dirents<'a> {
        Dirents { buf }
    }

    /// The bytes not walked yet.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }
}

impl<'a> Iterator for Dirents<'a> {
    type Item = Result<Dirent<'a>, Errno>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() {
            return None;
        }
        let parsed = parse_dirent(self.buf);
        match parsed {
            Ok((entry, len)) => {
                self.buf = &self.buf[len..];
                Some(Ok(entry))
            }
            Err(e) => {
                self.buf = &[];
                Some(Err(e))
            }
        }
    }
}

/// The first record of `buf` and its length.
fn parse_dirent(buf: &[u8]) -> Result<(Dirent<'_>, usize), Errno> {
    if buf.len() < DIRENT_HEADER {
        return Err(Errno::EIO);
    }
    let word = |at: usize| u64::from_le_bytes(buf[at..at + 8].try_into().unwrap_or([0; 8]));
    let reclen = u16::from_le_bytes([buf[16], buf[17]]) as usize;
    if reclen <= DIRENT_HEADER || reclen > buf.len() {
        return Err(Errno::EIO);
    }
    let name_area = &buf[DIRENT_HEADER..reclen];
    let nul = name_area.iter().position(|&b| b == 0).ok_or(Errno::EIO)?;
    let entry = Dirent {
        ino: word(0),
        off: word(8) as i64,
        kind: buf[18],
        name: &name_area[..nul],
    };
    Ok((entry, reclen))
}

/// Appends one `linux_dirent64` record (8-byte aligned, as the kernel
/// lays them out) to `out`: what a server fills a `getdents` window with.
pub fn push_dirent(out: &mut alloc::vec::Vec<u8>, ino: u64, off: i64, kind: u8, name: &[u8]) {
    let reclen = (DIRENT_HEADER + name.len() + 1).next_multiple_of(8);
    let start = out.len();
    out.extend_from_slice(&ino.to_le_bytes());
    out.extend_from_slice(&off.to_le_bytes());
    out.extend_from_slice(&(reclen as u16).to_le_bytes());
    out.push(kind);
    out.extend_from_slice(name);
    out.resize(start + reclen, 0);
}

/// `struct termios`'s size on x86_64 (what `TCGETS` copies).
pub const TERMIOS_SIZE: usize = 4 * 4 + 1 + crate::proto::tty::NCCS;

/// `termios` laid out as the kernel's `struct termios`.
pub fn termios_to_bytes(t: &Termios) -> [u8; TERMIOS_SIZE] {
    let mut out = [0u8; TERMIOS_SIZE];
    for (i, flag) in [t.iflag, t.oflag, t.cflag, t.lflag].iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&flag.to_le_bytes());
    }
    out[16] = t.line;
    out[17..].copy_from_slice(&t.cc);
    out
}

/// A `struct termios` read back.
pub fn termios_from_bytes(b: &[u8; TERMIOS_SIZE]) -> Termios {
    let flag = |i: usize| u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
    let mut cc = [0u8; crate::proto::tty::NCCS];
    cc.copy_from_slice(&b[17..]);
    Termios {
        iflag: flag(0),
        oflag: flag(1),
        cflag: flag(2),
        lflag: flag(3),
        line: b[16],
        cc,
    }
}

/// Raw mode for a line editor: no canonical input, echo or signal keys,
/// CR not turned into NL, reads return after one byte.
pub fn make_raw(t: &Termios) -> Termios {
    let mut raw = *t;
    raw.lflag &= !(ICANON | ECHO | ISIG);
    raw.iflag &= !ICRNL;
    raw.cc[VMIN] = 1;
    raw.cc[VTIME] = 0;
    raw
}

/// `write`'s loop: hands `data` to `write_once` window by window (at
/// most `window` bytes each) until all is written; a short write ends it
/// early with the count so far, an error after progress too (the count
/// is what POSIX reports; the error comes again on the next call).
pub fn write_all_with(
    data: &[u8],
    window: usize,
    mut write_once: impl FnMut(&[u8]) -> Result<usize, Errno>,
) -> Result<usize, Errno> {
    let window = window.max(1);
    let mut done = 0;
    while done < data.len() {
        let end = (done + window).min(data.len());
        match write_once(&data[done..end]) {
            Ok(0) => break,
            Ok(n) => {
                let chunk = end - done;
                done += n.min(chunk);
                if n < chunk {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

/// `makedev(major, minor)` in Linux's `dev_t` encoding (glibc's
/// `gnu_dev_makedev`): 12 bits of major and 20 of minor, the low parts
/// where the old 8:8 numbers were.
pub const fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (major as u64, minor as u64);
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
}

/// The major number of a device number (`gnu_dev_major`).
pub const fn major(dev: u64) -> u32 {
    (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32
}

/// The minor number of a device number (`gnu_dev_minor`).
pub const fn minor(dev: u64) -> u32 {
    ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32
}

/// The mode string `ls -l` prints (`drwxr-xr-x`).
pub fn mode_string(mode: u32) -> [u8; 10] {
    let kind = match mode & S_IFMT {
        S_IFDIR => b'd',
        S_IFLNK => b'l',
        S_IFCHR => b'c',
        S_IFBLK => b'b',
        S_IFIFO => b'p',
        S_IFSOCK => b's',
        _ => b'-',
    };
    let mut out = [b'-'; 10];
    out[0] = kind;
    for (i, c) in b"rwxrwxrwx".iter().enumerate() {
        if mode & (0o400 >> i) != 0 {
            out[1 + i] = *c;
        }
    }
    out
}

#[cfg(test)]
mod tests;
