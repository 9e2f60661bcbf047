//! What `/bin/poweroff` and `/bin/reboot` share: the clean shutdown, then
//! `reboot(2)`.
//!
//! The clean path: root only (`must be root` otherwise, before anything
//! is touched); the processes asked to end, as sysvinit's `killall5 -15`
//! then `killall5 -9` at shutdown: `SIGTERM` to every process but init,
//! the tool itself and the shells it runs under (`textutil::sweep`; the
//! system's servers and init's programs, which the process server does
//! not let anyone signal, are passed by), up to [`TERM_GRACE_MS`] for
//! them to exit, then `SIGKILL` to what is left — so a program can save
//! its work on a disk before it is unmounted, and none keeps one busy;
//! `sync`; then every file system on a disk unmounted, last mounted first (`textutil::mounts`, from the table `mount` prints).
//! One that is busy — a process has a file open there, or works in it —
//! stops the shutdown with a message saying so, and the machine stays on
//! (the ones unmounted before it stay unmounted). Then `reboot(cmd)`,
//! which returns only if the machine stays on. `-f` skips the signals,
//! the sync and the unmounts, as `poweroff -f` does on Linux.

use alloc::format;
use alloc::vec::Vec;

use libsys::errno::Errno;
use libsys::posix;
use textutil::sweep;

use crate::tool;

/// Runs `tool` (`poweroff` or `reboot`), which ends with `reboot(cmd)`.
pub fn run(tool: &str, cmd: u32) -> ! {
    let usage = format!(
        "{tool} [-f]   (-f: no SIGTERM to the processes, no sync, no unmount: stop the machine at once)"
    );
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

/// How long the processes have after `SIGTERM`, in milliseconds.
pub const TERM_GRACE_MS: u64 = 2_000;
/// How long those sent `SIGKILL` have to be gone.
const KILL_GRACE_MS: u64 = 1_000;
/// How often the process list is read meanwhile.
const POLL_MS: u64 = 50;

/// The process list as the sweep reads it.
fn processes(tool: &str) -> Result<Vec<sweep::Proc>, i32> {
    let list = posix::processes().map_err(|e| tool::fail(tool, "process list", e))?;
    Ok(list
        .iter()
        .map(|t| sweep::Proc {
            pid: t.pid,
            ppid: t.ppid,
            zombie: t.state == b'Z',
        })
        .collect())
}

/// "1 process", "2 processes".
fn processes_count(n: usize) -> alloc::string::String {
    format!("{n} process{}", if n == 1 { "" } else { "es" })
}

/// Sends `sig` to the sweep's targets; those it reached. `EPERM` (a
/// server or a program init started) and `ESRCH` (gone meanwhile) pass
/// them by.
fn signal_all(tool: &str, me: u64, sig: u32) -> Result<Vec<u64>, i32> {
    let mut reached = Vec::new();
    for pid in sweep::targets(&processes(tool)?, me) {
        match posix::kill(pid as i64, sig) {
            Ok(()) => reached.push(pid),
            Err(Errno::EPERM | Errno::ESRCH) => {}
            Err(e) => {
                libsys::errln!("{tool}: kill {pid}: {e}");
            }
        }
    }
    if sig != posix::SIGKILL {
        // A stopped job acts on it only once continued (as `killall5`
        // continues everyone after its signal).
        for &pid in &reached {
            let _ = posix::kill(pid as i64, posix::SIGCONT);
        }
    }
    Ok(reached)
}

/// Waits up to `ms` for `pids` to end; those still running.
fn wait_gone(tool: &str, pids: &[u64], ms: u64) -> Result<Vec<u64>, i32> {
    let mut waited = 0;
    loop {
        let left = sweep::remaining(&processes(tool)?, pids);
        if left.is_empty() || waited >= ms {
            return Ok(left);
        }
        libsys::time::sleep_ms(POLL_MS);
        waited += POLL_MS;
    }
}

/// `killall5 -15`, a grace period, `killall5 -9` (see the module's
/// documentation).
fn stop_processes(tool: &str) -> Result<(), i32> {
    let me = posix::getpid().map_err(|e| tool::fail(tool, "getpid", e))?;
    let termed = signal_all(tool, me, posix::SIGTERM)?;
    if termed.is_empty() {
        return Ok(());
    }
    libsys::outln!("{tool}: sent SIGTERM to {}", processes_count(termed.len()));
    let left = wait_gone(tool, &termed, TERM_GRACE_MS)?;
    // Again from a fresh list: what started meanwhile goes too.
    let killed = signal_all(tool, me, posix::SIGKILL)?;
    if killed.is_empty() {
        return Ok(());
    }
    libsys::outln!(
        "{tool}: {} still running after {} ms; sent SIGKILL to {}",
        processes_count(left.len()),
        TERM_GRACE_MS,
        processes_count(killed.len())
    );
    let stuck = wait_gone(tool, &killed, KILL_GRACE_MS)?;
    if !stuck.is_empty() {
        libsys::errln!("{tool}: still running after SIGKILL: {stuck:?}");
    }
    Ok(())
}

/// The processes stopped, `sync`, then the disks unmounted last mounted
/// first; the exit status on failure.
fn clean(tool: &str) -> Result<(), i32> {
    stop_processes(tool)?;
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
