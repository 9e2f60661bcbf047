//! `/init` of the initramfs that `make bench-linux` boots with Debian's
//! Linux kernel (scripts/bench-linux.sh): it times the operations of
//! `make bench` (userland/src/bin/bench.rs) with the TSC and prints one line
//! per case in the same format,
//!
//! `BENCH <case> placement=<linux|linux-noerms> accel=<tcg|icount> median=<ticks> min=<ticks> n=<iterations>`
//!
//! where median and min are TSC ticks per iteration over [`BATCHES`]
//! batches (one warm-up batch not counted) and n counts every iteration
//! timed. Under `-icount shift=0` one tick is one executed instruction. The
//! kernel command line says which run this is (`bench_accel=icount`, and
//! `bench_placement=linux-noerms` for the run on a CPU without ERMS; the
//! kernel hands both to init as environment variables). The last line is
//! `bench-linux: done, <lines> lines, <failed> failed`; then it powers the
//! machine off (QEMU runs with `-no-reboot`, so a panic ends it too).
//!
//! It runs as PID 1 with nothing else in user space: no shell, no daemons.

mod cases;
mod disk;
mod files;
mod procs;

use std::cell::Cell;
use std::ffi::CString;
use std::fmt;
use std::io;

/// Batches per case: the median and minimum are over these.
pub const BATCHES: usize = 51;

/// Why a case could not run: the step that failed and the system's error.
#[derive(Debug)]
pub struct Failure {
    step: &'static str,
    error: io::Error,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.step, self.error)
    }
}

impl Failure {
    /// A failure of `step` that is not a system call's (a wrong result).
    pub fn wrong(step: &'static str, what: &str) -> Failure {
        Failure {
            step,
            error: io::Error::other(what.to_string()),
        }
    }
}

/// `ret` if the call succeeded, else a [`Failure`] of `step` with `errno`.
pub fn check<T: Into<i64> + Copy>(ret: T, step: &'static str) -> Result<T, Failure> {
    if ret.into() < 0 {
        Err(Failure {
            step,
            error: io::Error::last_os_error(),
        })
    } else {
        Ok(ret)
    }
}

/// A path as a C string (the paths here are literals without NUL bytes).
pub fn c_path(path: &str) -> CString {
    CString::new(path).unwrap_or_default()
}

/// Median, minimum and iteration count of one case.
pub type Figures = (u64, u64, u64);

/// What the lines say about where they were measured, and the tally.
pub struct Report {
    accel: String,
    placement: String,
    lines: Cell<u32>,
    failed: Cell<u32>,
}

impl Report {
    /// Prints the case's `BENCH` line, or why it failed.
    pub fn case(&self, case: &str, result: Result<Figures, Failure>) {
        match result {
            Ok((median, min, n)) => {
                println!(
                    "BENCH {case} placement={} accel={} median={median} min={min} n={n}",
                    self.placement, self.accel
                );
                self.lines.set(self.lines.get() + 1);
            }
            Err(why) => {
                println!("bench-linux: {case}: {why}");
                self.failed.set(self.failed.get() + 1);
            }
        }
    }
}

/// The TSC: under icount, the instructions executed so far.
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc reads a counter; it has no memory effects.
    #[allow(unused_unsafe)]
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
}

/// What a case counts in: the TSC (under icount, instructions), or the
/// calling thread's CPU time in ns, which leaves out the time the CPU
/// idles waiting for a device (under icount QEMU skips that virtual time
/// to the next timer, which the TSC would count).
#[derive(Clone, Copy)]
pub enum Clock {
    Tsc,
    ThreadCpu,
}

impl Clock {
    fn now(self) -> u64 {
        match self {
            Clock::Tsc => rdtsc(),
            Clock::ThreadCpu => {
                let mut now = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: `now` is writable during the call.
                unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
                now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
            }
        }
    }
}

/// Runs `f` `per_batch` times per batch over [`BATCHES`] batches after one
/// warm-up batch; TSC ticks per iteration (`unit` iterations per call of
/// `f`).
pub fn measure(per_batch: u64, f: impl FnMut(), unit: u64) -> Figures {
    measure_on(Clock::Tsc, per_batch, f, unit)
}

/// [`measure`] counting on `clock`.
pub fn measure_on(clock: Clock, per_batch: u64, mut f: impl FnMut(), unit: u64) -> Figures {
    let mut ticks = [0u64; BATCHES];
    for _ in 0..per_batch {
        f();
    }
    for slot in ticks.iter_mut() {
        let start = clock.now();
        for _ in 0..per_batch {
            f();
        }
        *slot = (clock.now() - start) / (per_batch * unit);
    }
    ticks.sort_unstable();
    (
        ticks[BATCHES / 2],
        ticks[0],
        BATCHES as u64 * per_batch * unit,
    )
}

/// Mounts what the cases need: devtmpfs on /dev (then the console as
/// standard input, output and error), proc on /proc, tmpfs on /tmp.
fn mount_filesystems() -> Result<(), Failure> {
    for (source, target, kind) in [
        ("devtmpfs", "/dev", "devtmpfs"),
        ("proc", "/proc", "proc"),
        ("tmpfs", "/tmp", "tmpfs"),
    ] {
        let (source, target, kind) = (c_path(source), c_path(target), c_path(kind));
        // SAFETY: NUL-terminated strings that outlive the call; no data.
        let ret = unsafe {
            libc::mkdir(target.as_ptr(), 0o755);
            libc::mount(
                source.as_ptr(),
                target.as_ptr(),
                kind.as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        check(ret, "mount")?;
    }
    let console = c_path("/dev/console");
    // SAFETY: a NUL-terminated path; dup2 onto the standard descriptors.
    unsafe {
        let fd = check(
            libc::open(console.as_ptr(), libc::O_RDWR),
            "open /dev/console",
        )?;
        for std_fd in 0..3 {
            libc::dup2(fd, std_fd);
        }
        if fd > 2 {
            libc::close(fd);
        }
    }
    Ok(())
}

fn main() {
    let setup = mount_filesystems();
    let accel = std::env::var("bench_accel").unwrap_or_else(|_| "tcg".to_string());
    let placement = std::env::var("bench_placement").unwrap_or_else(|_| "linux".to_string());
    let report = Report {
        accel,
        placement,
        lines: Cell::new(0),
        failed: Cell::new(0),
    };
    match setup {
        Ok(()) => {
            cases::run(&report);
            disk::run(&report);
        }
        Err(why) => {
            println!("bench-linux: setting up: {why}");
            report.failed.set(1);
        }
    }
    println!(
        "bench-linux: done, {} lines, {} failed",
        report.lines.get(),
        report.failed.get()
    );
    // SAFETY: flushing the file systems and powering off as PID 1 is what
    // this program is for; nothing runs after it.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
}
