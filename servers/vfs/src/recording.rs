//! The binary's side of recording (`record`/`record=<lines>` among its
//! arguments; docs/labs/README.md): the core is given `vfs::record`'s
//! logging adapters, and the loop logs each request, the window it
//! lends, and what came of it. Without `record`, each call here is one
//! branch and the core gets the plain objects.

use alloc::boxed::Box;
use alloc::vec;

use libsys::grant::GrantAccess;
use libsys::proto::vfs::{Reply, Words};
use libsys::record;
use vfs::ext2fs::DeviceOpener;
use vfs::procfs::ProcSource;
use vfs::record::{
    RecordingConsole, RecordingGrant, RecordingKernelLog, RecordingOpener, StopProc, StopSys,
};
use vfs::service::{Console, KernelLog};
use vfs::sysfs::SysSource;

use crate::blockdev;

/// The opener ext2 is given: the block server's, logging when recording.
pub fn opener() -> Box<dyn DeviceOpener> {
    let plain: Box<dyn DeviceOpener> = Box::new(blockdev::BlkOpener);
    if record::enabled() {
        Box::new(RecordingOpener::new(plain))
    } else {
        plain
    }
}

pub fn proc(source: Box<dyn ProcSource>) -> Box<dyn ProcSource> {
    if record::enabled() {
        Box::new(StopProc(source))
    } else {
        source
    }
}

pub fn sys(source: Box<dyn SysSource>) -> Box<dyn SysSource> {
    if record::enabled() {
        Box::new(StopSys(source))
    } else {
        source
    }
}

pub fn kernel_log(log: Box<dyn KernelLog>) -> Box<dyn KernelLog> {
    if record::enabled() {
        Box::new(RecordingKernelLog { inner: log })
    } else {
        log
    }
}

pub fn console(console: Box<dyn Console>) -> Box<dyn Console> {
    if record::enabled() {
        Box::new(RecordingConsole { inner: console })
    } else {
        console
    }
}

/// A request in: `label` and its payload, for a register request its
/// words (little-endian) then the path.
pub fn request(badge: u64, label: u32, words: Option<&Words>, payload: &[u8]) {
    if !record::enabled() {
        return;
    }
    let mut bytes = vec::Vec::with_capacity(64 + payload.len());
    if let Some(words) = words {
        for w in words {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
    }
    bytes.extend_from_slice(payload);
    record::request(badge, label, &bytes);
}

/// The reply to the request just logged (postcard form, whatever form
/// it goes out in).
#[inline]
pub fn reply(r: &Reply) {
    if record::enabled() {
        log_reply(r, |bytes| record::now(libsys::rpc::LABEL_REPLY, bytes));
    }
}

/// A waiting request `token` answered at last.
pub fn delivered(token: u64, r: &Reply, ok: bool) {
    if record::enabled() {
        log_reply(r, |bytes| {
            record::deliver(token, libsys::rpc::LABEL_REPLY, ok, bytes)
        });
    }
}

#[cold]
fn log_reply(r: &Reply, log: impl FnOnce(&[u8])) {
    let mut buf = [0u8; 1024];
    match libsys::rpc::encode(r, &mut buf) {
        Ok(n) => log(&buf[..n]),
        Err(_) => record::stop(format_args!("a reply too big to record")),
    }
}

/// Runs `f` on `grant`, through a logging window when recording (the
/// window itself logged first).
#[inline]
pub fn with_grant<T>(grant: &mut dyn GrantAccess, f: impl FnOnce(&mut dyn GrantAccess) -> T) -> T {
    if record::enabled() {
        vfs::record::log_window(grant.window());
        f(&mut RecordingGrant { inner: grant })
    } else {
        f(grant)
    }
}
