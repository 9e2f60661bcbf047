//! Running a program as Unix shells do: `fork`, and in the child its
//! process group (`setpgid`), its redirections and pipe ends (`dup2`,
//! `close`, `open` on its own copy of the descriptor table), then
//! `execve`. The parent sets the child's group as well, so that whichever
//! runs first the group exists before the shell gives it the terminal.
//!
//! A child whose `execve` fails says why on its standard error and exits
//! 127 (not found) or 126 (found but not runnable), as the shell would
//! have for a failed spawn. The descriptors the shell keeps for itself are
//! close-on-exec, so the program does not inherit them.
//!
//! (`posix::spawn`, proc's `Spawn` with file actions, is the cheaper way
//! — one request instead of a fork's three and the copy-on-write faults —
//! and stays for programs that want `posix_spawn`; the shell forks so
//! that what runs in the child is ordinary code, as on Linux.)

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use libsys::errno::Errno;
use libsys::posix;
use shell::system::{FdAction, ProcessGroup, SpawnRequest};

use crate::system::{open_flags, sys_error};

/// Forks a child running `req`; its pid.
pub fn fork_exec(req: &SpawnRequest) -> Result<u64, Errno> {
    let pid = posix::fork()?;
    if pid == 0 {
        child(req)
    }
    let group = match req.pgroup {
        ProcessGroup::Inherit => None,
        ProcessGroup::New => Some(pid),
        ProcessGroup::Join(g) => Some(u64::from(g)),
    };
    if let Some(g) = group {
        // The child may have done it (or exec'd) already: then this fails
        // and that is fine.
        let _ = posix::setpgid(pid, g);
    }
    Ok(pid)
}

/// The child's side: never returns.
fn child(req: &SpawnRequest) -> ! {
    match req.pgroup {
        ProcessGroup::Inherit => {}
        ProcessGroup::New => {
            let _ = posix::setpgid(0, 0);
        }
        ProcessGroup::Join(g) => {
            let _ = posix::setpgid(0, u64::from(g));
        }
    }
    for action in &req.actions {
        if let Err((what, e)) = apply(action) {
            let line = format!("sh: {what}: {}\n", sys_error(e));
            let _ = posix::write(2, line.as_bytes());
            posix::exit(1);
        }
    }
    let argv: Vec<&str> = req.argv.iter().map(String::as_str).collect();
    let envp: Vec<&str> = req.envp.iter().map(String::as_str).collect();
    let e = posix::execve(&req.path, &argv, &envp);
    let name = req.argv.first().map_or(req.path.as_str(), String::as_str);
    let line = format!("sh: {name}: {}\n", sys_error(e));
    let _ = posix::write(2, line.as_bytes());
    posix::exit(if e == Errno::ENOENT { 127 } else { 126 })
}

/// One descriptor action on the child's own table.
fn apply(action: &FdAction) -> Result<(), (String, Errno)> {
    match action {
        FdAction::Dup2 { from, to } => posix::dup2(*from as i32, *to as i32)
            .map(|_| ())
            .map_err(|e| (format!("{from}"), e)),
        FdAction::Close(fd) => match posix::close(*fd as i32) {
            Ok(()) | Err(Errno::EBADF) => Ok(()),
            Err(e) => Err((format!("{fd}"), e)),
        },
        FdAction::Open { fd, path, mode } => {
            let opened =
                posix::open(path, open_flags(*mode), 0o666).map_err(|e| (path.clone(), e))?;
            if opened != *fd as i32 {
                posix::dup2(opened, *fd as i32).map_err(|e| (path.clone(), e))?;
                let _ = posix::close(opened);
            }
            Ok(())
        }
    }
}
