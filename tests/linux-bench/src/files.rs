//! The file cases, on a tmpfs mounted at /tmp (the page cache holds every
//! page: no device is involved), and the file helpers the disk cases
//! share. The paths have three components (`/tmp/d/f`), as in the
//! `stat` figure of the design.

use std::ffi::CString;

use crate::{c_path, check, measure, measure_on, Clock, Failure, Figures, Report};

/// A 4 KiB block, the size every read and write here moves.
pub const BLOCK: usize = 4096;

/// An open file descriptor, closed when dropped.
pub struct Fd(pub libc::c_int);

impl Fd {
    /// Opens `path` with `flags` (creating it with mode 0644 if asked).
    pub fn open(path: &CString, flags: libc::c_int) -> Result<Fd, Failure> {
        // SAFETY: a NUL-terminated path that outlives the call.
        let fd = unsafe { libc::open(path.as_ptr(), flags, 0o644) };
        Ok(Fd(check(fd, "open")?))
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the descriptor this value owns, closed once.
        unsafe { libc::close(self.0) };
    }
}

/// Writes `data` at offset 0 of `fd` and checks the whole block went.
pub fn pwrite_block(fd: &Fd, data: &[u8]) -> Result<(), Failure> {
    // SAFETY: `data` is valid for its length during the call.
    let n = unsafe { libc::pwrite(fd.0, data.as_ptr().cast(), data.len(), 0) };
    match check(n as i64, "pwrite")? as usize == data.len() {
        true => Ok(()),
        false => Err(Failure::wrong("pwrite", "short write")),
    }
}

/// `pread` of 4 KiB at offset 0 of `fd` into `buf`, timed on `clock`.
pub fn pread_case(clock: Clock, per_batch: u64, fd: &Fd, buf: *mut u8) -> Result<Figures, Failure> {
    let mut short = 0;
    let figures = measure_on(
        clock,
        per_batch,
        || {
            // SAFETY: `buf` points at BLOCK writable bytes (the caller's).
            let n = unsafe { libc::pread(fd.0, buf.cast(), BLOCK, 0) };
            if n != BLOCK as isize {
                short += 1;
            }
        },
        1,
    );
    match short {
        0 => Ok(figures),
        _ => Err(Failure::wrong("pread", "a read came back short")),
    }
}

fn mkdir(path: &str) -> Result<(), Failure> {
    let path = c_path(path);
    // SAFETY: a NUL-terminated path that outlives the call.
    check(unsafe { libc::mkdir(path.as_ptr(), 0o755) }, "mkdir")?;
    Ok(())
}

/// Runs the tmpfs cases.
pub fn run(report: &Report) {
    if let Err(why) = mkdir("/tmp/d").and_then(|()| mkdir("/tmp/dir64")) {
        report.case("read_4k_cached", Err(why));
        return;
    }
    let file = c_path("/tmp/d/f");
    let mut buf = vec![7u8; BLOCK];
    report.case("read_4k_cached", read_4k_cached(&file, &mut buf));
    report.case("open_close", open_close(&file));
    report.case("stat", stat(&file));
    report.case("pwrite_4k", pwrite_4k(&buf));
    report.case("readdir_64", readdir_64());
    report.case("create_unlink", create_unlink());
    report.case("pipe_4k", pipe_4k(&mut buf));
}

/// `pread` 4 KiB from a tmpfs file.
fn read_4k_cached(file: &CString, buf: &mut [u8]) -> Result<Figures, Failure> {
    let fd = Fd::open(file, libc::O_RDWR | libc::O_CREAT)?;
    pwrite_block(&fd, buf)?;
    pread_case(Clock::Tsc, 200, &fd, buf.as_mut_ptr())
}

/// `open` of `/tmp/d/f` for reading and its `close`.
fn open_close(file: &CString) -> Result<Figures, Failure> {
    let mut failures = 0;
    let figures = measure(
        100,
        || match Fd::open(file, libc::O_RDONLY) {
            Ok(fd) => drop(fd),
            Err(_) => failures += 1,
        },
        1,
    );
    match failures {
        0 => Ok(figures),
        _ => Err(Failure::wrong("open", "an open failed")),
    }
}

/// `stat` of `/tmp/d/f` (musl: `newfstatat`).
fn stat(file: &CString) -> Result<Figures, Failure> {
    let mut failures = 0;
    let figures = measure(
        100,
        || {
            // SAFETY: a NUL-terminated path and a zeroed buffer of the
            // right type, both outliving the call.
            let ret = unsafe {
                let mut st: libc::stat = std::mem::zeroed();
                libc::stat(file.as_ptr(), &mut st)
            };
            if ret != 0 {
                failures += 1;
            }
        },
        1,
    );
    match failures {
        0 => Ok(figures),
        _ => Err(Failure::wrong("stat", "a stat failed")),
    }
}

/// `pwrite` 4 KiB at offset 0 of a tmpfs file (overwriting its page).
fn pwrite_4k(data: &[u8]) -> Result<Figures, Failure> {
    let fd = Fd::open(&c_path("/tmp/d/w"), libc::O_WRONLY | libc::O_CREAT)?;
    pwrite_block(&fd, data)?;
    let mut failures = 0;
    let figures = measure(
        200,
        || {
            if pwrite_block(&fd, data).is_err() {
                failures += 1;
            }
        },
        1,
    );
    match failures {
        0 => Ok(figures),
        _ => Err(Failure::wrong("pwrite", "a write failed")),
    }
}

/// `open` of a directory of 64 files, `getdents64` until it returns 0,
/// `close`.
fn readdir_64() -> Result<Figures, Failure> {
    for i in 0..64 {
        drop(Fd::open(
            &c_path(&format!("/tmp/dir64/entry{i:02}")),
            libc::O_WRONLY | libc::O_CREAT,
        )?);
    }
    let dir = c_path("/tmp/dir64");
    let mut buf = vec![0u8; 8192];
    let mut entries_seen = 0usize;
    let figures = measure(
        20,
        || {
            let Ok(fd) = Fd::open(&dir, libc::O_RDONLY | libc::O_DIRECTORY) else {
                return;
            };
            loop {
                // SAFETY: `buf` is writable for its length during the call.
                let n = unsafe {
                    libc::syscall(libc::SYS_getdents64, fd.0, buf.as_mut_ptr(), buf.len())
                };
                if n <= 0 {
                    break;
                }
                entries_seen += 1;
            }
        },
        1,
    );
    // One non-empty getdents64 per listing: 64 entries, `.` and `..` fit
    // in 8 KiB.
    match entries_seen == (crate::BATCHES + 1) * 20 {
        true => Ok(figures),
        false => Err(Failure::wrong("getdents64", "a listing went wrong")),
    }
}

/// `open` with `O_CREAT | O_EXCL`, `close`, `unlink`.
fn create_unlink() -> Result<Figures, Failure> {
    let path = c_path("/tmp/d/new");
    let mut failures = 0;
    let figures = measure(
        50,
        || {
            match Fd::open(&path, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL) {
                Ok(fd) => drop(fd),
                Err(_) => failures += 1,
            }
            // SAFETY: a NUL-terminated path that outlives the call.
            if unsafe { libc::unlink(path.as_ptr()) } != 0 {
                failures += 1;
            }
        },
        1,
    );
    match failures {
        0 => Ok(figures),
        _ => Err(Failure::wrong("create/unlink", "a create or unlink failed")),
    }
}

/// 4 KiB through a pipe: a `write` of 4 KiB and its `read`, in one
/// process.
fn pipe_4k(buf: &mut [u8]) -> Result<Figures, Failure> {
    let (read_end, write_end) = crate::procs::pipe()?;
    let mut failures = 0;
    let figures = measure(
        100,
        || {
            // SAFETY: `buf` is valid for BLOCK bytes during both calls.
            let (w, r) = unsafe {
                (
                    libc::write(write_end.0, buf.as_ptr().cast(), BLOCK),
                    libc::read(read_end.0, buf.as_mut_ptr().cast(), BLOCK),
                )
            };
            if w != BLOCK as isize || r != BLOCK as isize {
                failures += 1;
            }
        },
        1,
    );
    match failures {
        0 => Ok(figures),
        _ => Err(Failure::wrong("pipe", "a transfer came up short")),
    }
}
