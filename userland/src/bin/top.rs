//! `top [-b] [-d SECS] [-n N]`: the processes by their share of the CPU,
//! redrawn every `SECS` (2 by default, a fraction allowed), as procps's
//! `top`: a header (the time and uptime, the tasks by state, memory from
//! `/proc/meminfo`) and one line per process (from `/proc/<pid>/stat`,
//! its owner from the directory's uid and `/etc/passwd`).
//!
//! On a terminal it clears the screen before each frame and reads keys
//! as they are typed (the terminal in non-canonical mode, no echo, reads
//! that never wait: `VMIN` and `VTIME` 0): `q` or Ctrl-C quits, space
//! redraws at once. The terminal's settings come back on every way out,
//! a `SIGINT`, `SIGTERM` or `SIGHUP` from elsewhere included. `-b`
//! (batch: no clearing, no keys; also when standard input or output is
//! no terminal) is for scripts and tests; `-n N` stops after N frames.
//! What it computes is `textutil::top`'s, host-tested.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use libsys::errno::Errno;
use libsys::posix::{self, Termios};
use textutil::top::{self, Key, MemInfo, ProcStat, Sample};
use userland::tool;

libsys::entry!(main);

const USAGE: &str = "top [-b] [-d SECS] [-n N]";
/// The first frame's `%CPU` covers this much time after a first sample.
const FIRST_INTERVAL_MS: u64 = 250;
/// How often keys and signals are looked at while waiting.
const POLL_MS: u64 = 100;
/// The largest file `top` reads (a `stat` line, `meminfo`, `passwd`).
const FILE_MAX: usize = 64 * 1024;

/// Set by the handler of `SIGINT`, `SIGTERM` and `SIGHUP`.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: i32) {
    STOP.store(true, Ordering::Release);
}

/// The terminal as it was, put back when dropped.
struct RawTerminal {
    saved: Termios,
}

impl RawTerminal {
    /// Standard input in non-canonical mode, no echo, no signal keys,
    /// reads that return at once (with what is there, maybe nothing).
    fn enter() -> Result<RawTerminal, Errno> {
        let saved = posix::tcgetattr(0)?;
        let mut raw = posix::make_raw(&saved);
        raw.cc[posix::VMIN] = 0;
        raw.cc[posix::VTIME] = 0;
        posix::tcsetattr(0, posix::TCSANOW, &raw)?;
        Ok(RawTerminal { saved })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = posix::tcsetattr(0, posix::TCSANOW, &self.saved);
    }
}

/// A whole (small) file as text.
fn slurp(path: &str) -> Result<String, Errno> {
    let fd = posix::open(path, posix::O_RDONLY | posix::O_CLOEXEC, 0)?;
    let data = posix::read_to_end(fd, FILE_MAX);
    let _ = posix::close(fd);
    Ok(String::from_utf8_lossy(&data?).into_owned())
}

/// Process `pid`'s `stat` and owner (the file's uid, as procps reads
/// the directory's); `None` if it went meanwhile or does not parse.
fn read_process(pid: u64) -> Option<(ProcStat, u32)> {
    let fd = posix::open(
        &format!("/proc/{pid}/stat"),
        posix::O_RDONLY | posix::O_CLOEXEC,
        0,
    )
    .ok()?;
    let uid = posix::fstat(fd).map(|s| s.uid);
    let data = posix::read_to_end(fd, FILE_MAX);
    let _ = posix::close(fd);
    let text = String::from_utf8(data.ok()?).ok()?;
    Some((top::parse_stat(&text).ok()?, uid.ok()?))
}

/// Every process's `stat` and owner now, and when (hundredths of a
/// second since boot, `/proc/uptime`'s clock).
fn sample() -> Result<(Vec<(ProcStat, u32)>, u64), String> {
    let pids: Vec<u64> = posix::read_dir("/proc")
        .map_err(|e| format!("/proc: {e}"))?
        .filter_map(|e| e.ok()?.name.parse().ok())
        .collect();
    let stats = pids.into_iter().filter_map(read_process).collect();
    let uptime = slurp("/proc/uptime").map_err(|e| format!("/proc/uptime: {e}"))?;
    let at = top::parse_uptime(&uptime).ok_or("/proc/uptime: not a time")?;
    Ok((stats, at))
}

/// The time of day (UTC), if the clock says.
fn clock() -> Option<(u32, u32, u32)> {
    let now = libsys::time::clock_gettime(libsys::time::CLOCK_REALTIME).ok()?;
    let t = textutil::date::gmtime(now.as_secs() as i64);
    Some((t.hour, t.minute, t.second))
}

struct Options {
    batch: bool,
    delay_ms: u64,
    frames: Option<u64>,
}

fn options() -> Options {
    let p = tool::getopt("top", "bd:n:", USAGE);
    let usage = |why: String| -> ! {
        libsys::errln!("top: {why}");
        libsys::errln!("usage: {USAGE}");
        tool::exit(2)
    };
    if let Some(extra) = p.operands.first() {
        usage(format!("unexpected argument '{extra}'"));
    }
    let delay_ms = match p.value('d') {
        Some(d) => top::parse_delay(d).unwrap_or_else(|| usage(format!("bad delay '{d}'"))),
        None => 2000,
    };
    let frames = p.value('n').map(|n| match n.parse::<u64>() {
        Ok(n) if n > 0 => n,
        _ => usage(format!("bad number of frames '{n}'")),
    });
    Options {
        batch: p.has('b') || !posix::isatty(0) || !posix::isatty(1),
        delay_ms,
        frames,
    }
}

fn main(_: &str) -> u64 {
    let opts = options();
    let passwd = slurp("/etc/passwd").unwrap_or_default();
    let name =
        |uid: u32| top::user_name(&passwd, uid).map_or_else(|| format!("{uid}"), String::from);
    // The terminal's size bounds a frame (interactive only).
    let screen = if opts.batch {
        None
    } else {
        posix::tcgetwinsize(1)
            .ok()
            .filter(|&(rows, cols)| rows > 0 && cols > 0)
    };
    let raw = if opts.batch {
        None
    } else {
        for sig in [posix::SIGINT, posix::SIGTERM, posix::SIGHUP] {
            let _ = posix::sigaction(sig, posix::Disposition::Handler(on_stop), 0, 0);
        }
        match RawTerminal::enter() {
            Ok(r) => Some(r),
            Err(e) => tool::exit(tool::fail("top", "terminal", e)),
        }
    };
    let status = run(&opts, screen, raw.is_some(), &name);
    drop(raw);
    tool::exit(status)
}

/// Draws frames until `-n`, `q`, Ctrl-C or a signal; the exit status.
fn run(
    opts: &Options,
    screen: Option<(u16, u16)>,
    keys: bool,
    name: &dyn Fn(u32) -> String,
) -> i32 {
    let mut before = match sample() {
        Ok((stats, at)) => Sample::of(&stats, at),
        Err(why) => return tool::complain("top", &why),
    };
    let mut wait_ms = FIRST_INTERVAL_MS;
    let mut drawn = 0;
    loop {
        if wait(wait_ms, keys) {
            return 0;
        }
        let (stats, at) = match sample() {
            Ok(s) => s,
            Err(why) => return tool::complain("top", &why),
        };
        let mem = top::parse_meminfo(&slurp("/proc/meminfo").unwrap_or_default());
        let rows = top::rows(&stats, at, &before, mem.total_kb, name);
        let frame = draw(&rows, at / 100, &mem, screen, !opts.batch);
        if let Err(e) = tool::write_all(1, frame.as_bytes()) {
            return tool::fail("top", "standard output", e);
        }
        before = Sample::of(&stats, at);
        drawn += 1;
        if opts.frames.is_some_and(|n| drawn >= n) {
            return 0;
        }
        wait_ms = opts.delay_ms;
    }
}

/// One frame: the header, a blank line, the columns and as many
/// processes as fit on the screen (all of them without one); cleared
/// first on a terminal.
fn draw(
    rows: &[top::Row],
    uptime_secs: u64,
    mem: &MemInfo,
    screen: Option<(u16, u16)>,
    clear: bool,
) -> String {
    let mut out = String::new();
    if clear {
        out.push_str("\x1b[H\x1b[2J");
    }
    for line in top::header(clock(), uptime_secs, rows, mem) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(top::COLUMNS);
    out.push('\n');
    // Five lines above the processes; the last row stays free.
    let fit = screen.map_or(rows.len(), |(r, _)| usize::from(r).saturating_sub(6));
    let width = screen.map(|(_, c)| usize::from(c));
    for row in rows.iter().take(fit) {
        out.push_str(&top::row_line(row, width));
        out.push('\n');
    }
    if !clear {
        // Batch frames are told apart by a blank line.
        out.push('\n');
    }
    out
}

/// Waits `ms`, reading keys meanwhile (`keys`); true if it is time to
/// quit (`q`, Ctrl-C, or a signal), false when the time is up or a key
/// asked for a frame now.
fn wait(ms: u64, keys: bool) -> bool {
    let deadline = libsys::time::uptime_ns() + ms * 1_000_000;
    loop {
        if STOP.load(Ordering::Acquire) {
            return true;
        }
        if keys {
            let mut buf = [0u8; 16];
            let n = posix::read(0, &mut buf).unwrap_or(0);
            for &b in &buf[..n] {
                match top::key(b) {
                    Key::Quit => return true,
                    Key::Refresh => return false,
                    Key::Ignore => {}
                }
            }
        }
        let now = libsys::time::uptime_ns();
        if now >= deadline {
            return false;
        }
        // In the process server, so that a signal's handler ends it.
        let step = (deadline - now).min(POLL_MS * 1_000_000);
        let _ = posix::nanosleep(step);
    }
}
