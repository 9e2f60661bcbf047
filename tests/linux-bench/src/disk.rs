//! The block cases: the kernel modules they need are loaded from
//! `/lib/modules` of the initramfs with `finit_module` (the script copies
//! them from the same Debian package as the kernel, and lists them in
//! `/lib/modules/load`), then
//!
//! - `read_4k_cached_ext2`: `pread` 4 KiB of a cached file on an ext2 file
//!   system (the host's `mke2fs` image on a virtio-blk disk, mounted by
//!   the ext4 driver);
//! - `pwrite_fsync_4k_ext2`: `pwrite` 4 KiB to that file and `fsync`;
//! - `blk_read_4k`: `pread` 4 KiB with `O_DIRECT` from the virtio-blk
//!   disk (`/dev/vda`): the block layer, the driver and the device;
//! - `blk_read_4k_ramdisk`: the same from a RAM disk (`brd`, `/dev/ram0`):
//!   the block layer with no device, as the RAM disk of `make bench`.
//!
//! The two cases that wait for the device count the reading thread's CPU
//! time ([`Clock::ThreadCpu`]; under icount 1 ns is one instruction): the
//! TSC would also count the virtual time QEMU skips, under icount with
//! `sleep=off`, to the next timer deadline while the CPU idles (a 4 ms
//! tick or more), which is what their `_wall` lines show. The thread's time
//! leaves out the completion interrupt and the wake-up that run while the
//! idle task is current (docs/benchmarks.md).
//! Without `/lib/modules/load` in the initramfs it says so and skips
//! them.

use std::ffi::CString;

use crate::files::{pread_case, pwrite_block, Fd, BLOCK};
use crate::{c_path, check, measure_on, Clock, Failure, Figures, Report};

/// Runs the block cases, or says why it cannot.
pub fn run(report: &Report) {
    let Ok(list) = std::fs::read_to_string("/lib/modules/load") else {
        println!("bench-linux: no /lib/modules/load in the initramfs: no disk cases");
        return;
    };
    if let Err(why) = load_modules(&list) {
        report.case("read_4k_cached_ext2", Err(why));
        return;
    }
    match mount_ext2() {
        Ok(file) => {
            let mut buf = vec![3u8; BLOCK];
            report.case(
                "read_4k_cached_ext2",
                pread_case(Clock::Tsc, 200, &file, buf.as_mut_ptr()),
            );
            report.case(
                "pwrite_fsync_4k_ext2",
                pwrite_fsync(Clock::ThreadCpu, &file, &buf),
            );
            report.case(
                "pwrite_fsync_4k_ext2_wall",
                pwrite_fsync(Clock::Tsc, &file, &buf),
            );
        }
        Err(why) => report.case("read_4k_cached_ext2", Err(why)),
    }
    report.case(
        "blk_read_4k",
        direct_read(Clock::ThreadCpu, "/dev/vda", false),
    );
    report.case(
        "blk_read_4k_wall",
        direct_read(Clock::Tsc, "/dev/vda", false),
    );
    report.case(
        "blk_read_4k_ramdisk",
        direct_read(Clock::Tsc, "/dev/ram0", true),
    );
}

/// Loads the modules `list` names, one a line in load order with its
/// parameters after the name (the script writes it); one already in the
/// kernel is no error.
fn load_modules(list: &str) -> Result<(), Failure> {
    for line in list.lines().filter(|line| !line.trim().is_empty()) {
        let (name, params) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        let file = Fd::open(
            &c_path(&format!("/lib/modules/{name}.ko")),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )?;
        let params = c_path(params);
        // SAFETY: an open module file and NUL-terminated parameters.
        let ret = unsafe { libc::syscall(libc::SYS_finit_module, file.0, params.as_ptr(), 0) };
        if ret != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EEXIST) {
            check(ret, "finit_module")?;
        }
    }
    Ok(())
}

/// Waits (up to 5 s) for devtmpfs to show `path`.
fn wait_for(path: &str) -> Result<(), Failure> {
    for _ in 0..500 {
        if std::fs::metadata(path).is_ok() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(Failure::wrong("wait for the disk", "no /dev/vda after 5 s"))
}

/// Mounts `/dev/vda` as ext2 on /mnt and returns a 4 KiB file on it,
/// written and flushed to the disk.
fn mount_ext2() -> Result<Fd, Failure> {
    wait_for("/dev/vda")?;
    let (source, target, kind) = (c_path("/dev/vda"), c_path("/mnt"), c_path("ext2"));
    // SAFETY: NUL-terminated strings that outlive the calls; no data.
    unsafe {
        libc::mkdir(target.as_ptr(), 0o755);
        let ret = libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            kind.as_ptr(),
            0,
            std::ptr::null(),
        );
        check(ret, "mount ext2")?;
    }
    let file = Fd::open(&c_path("/mnt/f"), libc::O_RDWR | libc::O_CREAT)?;
    pwrite_block(&file, &[5u8; BLOCK])?;
    // SAFETY: an open descriptor.
    check(unsafe { libc::fsync(file.0) }, "fsync")?;
    Ok(file)
}

/// `pwrite` 4 KiB at offset 0 and `fsync`: the block goes to the disk.
fn pwrite_fsync(clock: Clock, file: &Fd, data: &[u8]) -> Result<Figures, Failure> {
    let mut failures = 0;
    let figures = measure_on(
        clock,
        5,
        || {
            // SAFETY: an open descriptor.
            if pwrite_block(file, data).is_err() || unsafe { libc::fsync(file.0) } != 0 {
                failures += 1;
            }
        },
        1,
    );
    match failures {
        0 => Ok(figures),
        _ => Err(Failure::wrong("pwrite+fsync", "a write failed")),
    }
}

/// `pread` 4 KiB with `O_DIRECT` at offset 0 of the block device `path`
/// (the ext2 disk's boot block, which its superblock follows), after
/// writing that block if `prime` (so that a RAM disk has a page there
/// rather than answering with zeroes).
fn direct_read(clock: Clock, path: &str, prime: bool) -> Result<Figures, Failure> {
    wait_for(path)?;
    let device: CString = c_path(path);
    let page = Page::new()?;
    let fd = match prime {
        true => Fd::open(&device, libc::O_RDWR | libc::O_DIRECT)?,
        false => Fd::open(&device, libc::O_RDONLY | libc::O_DIRECT)?,
    };
    if prime {
        pwrite_block(&fd, page.bytes())?;
    }
    pread_case(clock, 20, &fd, page.at)
}

/// One page-aligned page, as `O_DIRECT` wants its buffers.
struct Page {
    at: *mut u8,
}

impl Page {
    fn new() -> Result<Page, Failure> {
        // SAFETY: a new private mapping; no existing memory changes.
        let at = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                BLOCK,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        match at == libc::MAP_FAILED {
            true => Err(Failure::wrong("mmap", "MAP_FAILED")),
            false => Ok(Page { at: at.cast() }),
        }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is BLOCK bytes, readable, alive while `self`.
        unsafe { std::slice::from_raw_parts(self.at, BLOCK) }
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        // SAFETY: the mapping this value owns, unmapped once.
        unsafe { libc::munmap(self.at.cast(), BLOCK) };
    }
}
