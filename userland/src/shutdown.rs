//! What `/bin/poweroff` and `/bin/reboot` share: the clean shutdown, then
//! `reboot(2)`.
//!
//! The clean path: root only (`must be root` otherwise, before anything
//! is touched); `sync`; then every file system on a disk unmounted, last
//! mounted first (`textutil::mounts`, from the table `mount` prints).
//! One that is busy — a process has a file open there, or works in it —
//! stops the shutdown with a message saying so, and the machine stays on
//! (the ones unmounted before it stay unmounted). Then `reboot(cmd)`,
//! which returns only if the machine stays on. `-f` skips the sync and
//! the unmounts, as `poweroff -f` does on Linux.

use alloc::format;

use libsys::errno::Errno;
use libsys::posix;

use crate::tool;

/// Runs `tool` (`poweroff` or `reboot`), which ends with `reboot(cmd)`.
pub fn run(tool: &str, cmd: u32) -> ! {
    let usage = format!("{tool} [-f]   (-f: no sync, no unmount: stop the machine at once)");
    let opts = tool::getopt(tool, "f", &usage);
    if !opts.operands.is_empty() {
        libsys::errln!("{tool}: unexpected operand '{}'", opts.operands[0]);
        libsys::errln!("usage: {usage}");
        tool::exit(2);
    }
    match posix::geteuid() {
        Ok(0) => {}
        Ok(_) => tool::exit(tool::complain(tool, "must be root")),
        Err(e) => tool::exit(tool::fail(tool, "geteuid", e)),
    }
    if !opts.has('f') {
        if let Err(status) = clean(tool) {
            tool::exit(status);
        }
    }
    match posix::reboot(cmd) {
        Ok(()) => tool::exit(0),
        Err(e) => tool::exit(tool::fail(tool, "reboot", e)),
    }
}

/// `sync`, then the disks unmounted last mounted first; the exit status
/// on failure.
fn clean(tool: &str) -> Result<(), i32> {
    posix::sync().map_err(|e| tool::fail(tool, "sync", e))?;
    let table = posix::mounts().map_err(|e| tool::fail(tool, "mount table", e))?;
    for dir in textutil::mounts::disk_unmount_order(&table) {
        match posix::umount(&dir) {
            Ok(()) => {
                libsys::outln!("{tool}: unmounted {dir}");
            }
            Err(Errno::EBUSY) => {
                return Err(tool::complain(
                    tool,
                    &format!(
                        "{dir} is busy (a process has a file open there or works in it); \
                         the machine stays on (-f skips the unmount)"
                    ),
                ))
            }
            Err(e) => return Err(tool::fail(tool, &format!("umount {dir}"), e)),
        }
    }
    Ok(())
}
