//! The cases that need no disk, in the order `make bench` prints its own:
//! the loops that check the counter, the null call, memory, then the file
//! cases on tmpfs ([`crate::files`]) and the process cases
//! ([`crate::procs`]).
//!
//! Every case times its operation with [`measure`]; a case whose set-up or
//! operation fails prints why instead of a line and counts as failed.

use std::arch::asm;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{check, files, measure, procs, Failure, Figures, Report};

/// Runs every case that needs no disk.
pub fn run(report: &Report) {
    report.case("loop2", Ok(measure(1, || loop2(100_000), 100_000)));
    report.case(
        "empty_loop",
        Ok(measure(2_000, || std::hint::black_box(()), 1)),
    );
    report.case(
        "null_syscall",
        Ok(measure(
            2_000,
            || {
                // SAFETY: getppid takes no arguments and cannot fail.
                unsafe { libc::syscall(libc::SYS_getppid) };
            },
            1,
        )),
    );
    report.case(
        "getppid",
        Ok(measure(
            2_000,
            || {
                // SAFETY: as above, through musl's wrapper.
                std::hint::black_box(unsafe { libc::getppid() });
            },
            1,
        )),
    );
    report.case("mm_fault", mm_fault());
    report.case("mmap_touch_munmap", mmap_touch_munmap());
    report.case("signal_rtt", signal_rtt());
    files::run(report);
    procs::run(report);
}

/// `dec; jnz`, `n` times: under icount it must read 2 per iteration.
fn loop2(n: u64) {
    // SAFETY: changes only its own register and the flags.
    unsafe {
        asm!("2:", "dec {0}", "jnz 2b", inout(reg) n => _, options(nomem, nostack));
    }
}

/// One fresh anonymous page mapped and zeroed by its first touch.
const PAGE: usize = 4096;

/// The first touch of an anonymous page, in an area mapped beforehand
/// (with transparent huge pages off for it, so each touch is one 4 KiB
/// fault, as in `make bench`).
fn mm_fault() -> Result<Figures, Failure> {
    const PER_BATCH: u64 = 20;
    let len = (crate::BATCHES + 1) * PER_BATCH as usize * PAGE;
    let area = map_anonymous(len)?;
    // SAFETY: advice about the area just mapped.
    let ret = unsafe { libc::madvise(area.cast(), len, libc::MADV_NOHUGEPAGE) };
    check(ret, "madvise")?;
    let mut next = 0;
    let figures = measure(
        PER_BATCH,
        || {
            // SAFETY: a page of the area mapped above, each touched once.
            unsafe { area.add(next * PAGE).cast::<u64>().write_volatile(1) };
            next += 1;
        },
        1,
    );
    // SAFETY: the area mapped above, no longer used.
    unsafe { libc::munmap(area.cast(), len) };
    Ok(figures)
}

/// A private anonymous read-write mapping of `len` bytes.
fn map_anonymous(len: usize) -> Result<*mut u8, Failure> {
    // SAFETY: a new mapping the kernel places; no existing memory changes.
    let at = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if at == libc::MAP_FAILED {
        return Err(Failure::wrong("mmap", "MAP_FAILED"));
    }
    Ok(at.cast())
}

/// `mmap` of one page, its first touch, `munmap`.
fn mmap_touch_munmap() -> Result<Figures, Failure> {
    let mut failures = 0;
    let figures = measure(
        50,
        || match map_anonymous(PAGE) {
            Ok(at) => {
                // SAFETY: the page just mapped, unmapped at once after.
                unsafe {
                    at.cast::<u64>().write_volatile(1);
                    libc::munmap(at.cast(), PAGE);
                }
            }
            Err(_) => failures += 1,
        },
        1,
    );
    match failures {
        0 => Ok(figures),
        _ => Err(Failure::wrong("mmap", "a mapping failed")),
    }
}

/// Signals the handler counted.
static SIGNALS: AtomicU64 = AtomicU64::new(0);

extern "C" fn count_signal(_signal: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

/// `kill` of this process with SIGUSR1, the handler running, and the
/// return through `rt_sigreturn`.
fn signal_rtt() -> Result<Figures, Failure> {
    // SAFETY: installs a handler that only touches an atomic; the struct is
    // zeroed (no flags, empty mask) before its fields are set.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = count_signal as extern "C" fn(libc::c_int) as usize;
        check(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            "sigaction",
        )?;
    }
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    let figures = measure(
        200,
        || {
            // SAFETY: a signal to this process, whose handler is set above.
            unsafe { libc::kill(me, libc::SIGUSR1) };
        },
        1,
    );
    let expected = (crate::BATCHES as u64 + 1) * 200;
    match SIGNALS.load(Ordering::Relaxed) {
        n if n == expected => Ok(figures),
        _ => Err(Failure::wrong(
            "kill",
            "not every signal reached the handler",
        )),
    }
}
