//! The file copy that runs while servers die: `chaos`'s own executable
//! (`/bin/chaos`, in the root tmpfs from the initramfs) copied onto the
//! ext2 disk (`/mnt`, through vfs, the page cache and blk) in small
//! chunks, again and again until the killing is over, each copy
//! `fsync`ed and compared byte for byte with the source (as `cmp` does).
//! The last copy stays as [`DEST`]: the harness reads it back from the
//! image with `debugfs`, compares it with the built binary, and runs
//! `e2fsck -fn` on the image.
//!
//! vfs and blk are not killed (they are not restart-transparent, see
//! docs/reliability.md); what dies under the copy is the timer server
//! (vfs's writeback flusher re-arms on its next instance), devmgr and the
//! keyboard driver, kv and wait1.

use alloc::vec::Vec;
use core::sync::atomic::Ordering::Relaxed;

use libsys::errno::Errno;
use libsys::posix;

use crate::load::{now_ms, STOP};

/// Uptime (ms) of the copier's last finished file call, and what it was
/// doing (for the hang check).
pub static PROGRESS_MS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
pub static DONE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
pub static STEP: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
/// Copies finished so far.
pub static COPIED: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
/// What [`STEP`] numbers.
pub const STEPS: [&str; 5] = ["open", "write", "fsync", "close", "read back"];

fn step(n: u64) {
    PROGRESS_MS.store(now_ms(), Relaxed);
    STEP.store(n, Relaxed);
}

pub const SOURCE: &str = "/bin/chaos";
pub const DEST: &str = "/mnt/chaos-copy";
/// Bytes per `write`: small, so that a copy spans many kills.
const CHUNK: usize = 3000;

const O_WRONLY: u32 = 1;
const O_CREAT: u32 = 0o100;
const O_TRUNC: u32 = 0o1000;

/// What the copies came to.
#[derive(Default)]
pub struct Copies {
    pub done: u64,
    pub bytes: u64,
    /// Copies that differed from the source after `fsync`.
    pub differed: u64,
    /// The first failed call, if any (an error no document allows here).
    pub failed: Option<(&'static str, Errno)>,
}

fn read_all(path: &str) -> Result<Vec<u8>, Errno> {
    let fd = posix::open(path, posix::O_RDONLY, 0)?;
    let data = posix::read_to_end(fd, 4 << 20);
    posix::close(fd)?;
    data
}

/// One copy of `source` to [`DEST`], synced, read back: whether equal.
fn copy_once(source: &[u8]) -> Result<bool, (&'static str, Errno)> {
    step(0);
    let fd = posix::open(DEST, O_WRONLY | O_CREAT | O_TRUNC, 0o644).map_err(|e| ("open", e))?;
    step(1);
    for chunk in source.chunks(CHUNK) {
        let mut done = 0;
        while done < chunk.len() {
            done += posix::write(fd, &chunk[done..]).map_err(|e| ("write", e))?;
            step(1);
        }
    }
    step(2);
    posix::fsync(fd).map_err(|e| ("fsync", e))?;
    step(3);
    posix::close(fd).map_err(|e| ("close", e))?;
    step(4);
    let back = read_all(DEST).map_err(|e| ("read back", e))?;
    step(4);
    Ok(back == source)
}

/// Copies until the killer says stop (at least once).
pub fn run() -> Copies {
    let copies = copies();
    DONE.store(true, Relaxed);
    copies
}

fn copies() -> Copies {
    PROGRESS_MS.store(now_ms(), Relaxed);
    let mut copies = Copies::default();
    let source = match read_all(SOURCE) {
        Ok(data) if !data.is_empty() => data,
        Ok(_) => {
            copies.failed = Some(("read the source: empty", Errno::EIO));
            return copies;
        }
        Err(e) => {
            copies.failed = Some(("read the source", e));
            return copies;
        }
    };
    loop {
        match copy_once(&source) {
            Ok(same) => {
                copies.done += 1;
                COPIED.store(copies.done, Relaxed);
                copies.bytes += source.len() as u64;
                if !same {
                    copies.differed += 1;
                    libsys::eprintln!("chaos: WRONG: copy {} differs from {SOURCE}", copies.done);
                }
            }
            Err(why) => {
                copies.failed = Some(why);
                return copies;
            }
        }
        if STOP.load(Relaxed) {
            return copies;
        }
    }
}
