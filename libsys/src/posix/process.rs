//! `fork`, `execve` and `execvp` (LKD chapter 3): see `crate::fork` for
//! how `fork` returns twice and `proto::proc` (`Fork`, `ForkStart`,
//! `Execve`) for the server's half.

use alloc::string::String;
use alloc::vec::Vec;

use super::sys::procs;
use super::*;
use crate::abi::Rights;
use crate::fork::{self, ForkContext};
use crate::handle::Process;

/// `fork()`: the child's pid in the parent, 0 in the child. `EAGAIN` past
/// the caller's process limit (`RLIMIT_NPROC`, or the kernel's limits on
/// what it may create), `ENOMEM` if `mm` cannot copy the space; the
/// parent is unchanged on failure.
pub fn fork() -> Result<u64, Errno> {
    match fork::fork_with(fork_parent) {
        n if n < 0 => Err(Errno::from_i32(-n as i32).unwrap_or(Errno::EAGAIN)),
        pid => Ok(pid as u64),
    }
}

extern "C" fn fork_parent(ctx: *mut ForkContext) -> i64 {
    match fork_steps(ctx) {
        Ok(pid) => pid as i64,
        Err(e) => -(e as i64),
    }
}

/// The parent's half of `fork` (see `crate::fork`).
fn fork_steps(ctx: *mut ForkContext) -> Result<u64, Errno> {
    let procs = procs()?;
    let name = crate::env::argv()
        .first()
        .and_then(|a| a.rsplit('/').next())
        .unwrap_or("fork")
        .get(..)
        .unwrap_or("fork");
    let name = &name[..name.len().min(32)];
    let child =
        Process::create(if name.is_empty() { "fork" } else { name }).map_err(|_| Errno::EAGAIN)?;
    let (pid, ns, me) = procs.fork(&child).map_err(|e| e.errno())?;
    // SAFETY: `ctx` is the trampoline's context on our stack, alive for
    // this call; written before `ForkAs` copies the stack.
    unsafe {
        core::ptr::write_volatile(&mut (*ctx).ns, u64::from(ns));
        core::ptr::write_volatile(&mut (*ctx).me, u64::from(me));
    }
    let give_up = |e: Errno| {
        let _ = procs.kill(pid as i64, SIGKILL);
        let _ = procs.wait(pid as i64, WNOHANG);
        e
    };
    let (_, client, pager) = crate::mm::fork_as(&child).map_err(|_| give_up(Errno::ENOMEM))?;
    let theirs = child
        .give(client.raw(), Rights::SEND | Rights::GRANT)
        .map_err(|_| give_up(Errno::EAGAIN))?;
    // SAFETY: as above; `rsp` was written by the trampoline.
    let rsp = unsafe { core::ptr::read_volatile(&(*ctx).rsp) };
    let regs = [fork::child_entry(), rsp, ctx as u64, u64::from(theirs.0)];
    procs
        .fork_start(pid, regs, pager.raw())
        .map_err(|e| give_up(e.errno()))?;
    Ok(pid)
}

/// `execve(path, argv, envp)`: returns only on failure, with why
/// (`ENOENT`, `EACCES`, `ENOEXEC`, `E2BIG`, `ELOOP`, `ENOSYS` for a
/// process the process server did not make); the caller is unchanged.
pub fn execve(path: &str, argv: &[&str], envp: &[&str]) -> Errno {
    let procs = match procs() {
        Ok(p) => p,
        Err(e) => return e,
    };
    let argv: Vec<&[u8]> = argv.iter().map(|s| s.as_bytes()).collect();
    let envp: Vec<&[u8]> = envp.iter().map(|s| s.as_bytes()).collect();
    match procs.execve(path.as_bytes(), &argv, &envp) {
        Err(e) => e.errno(),
        Ok(()) => Errno::EIO,
    }
}

/// `execvp(file, argv)`: `file` as is if it holds a `/`, else each
/// directory of `PATH` (`/bin` when unset) in turn, with the current
/// environment. Returns why the last try failed (`EACCES` if one was
/// found but not executable, as POSIX asks).
pub fn execvp(file: &str, argv: &[&str]) -> Errno {
    let env = crate::env::environ();
    if file.contains('/') {
        return execve(file, argv, &env);
    }
    if file.is_empty() {
        return Errno::ENOENT;
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/bin");
    let mut seen_eacces = false;
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let mut full = String::from(dir);
        full.push('/');
        full.push_str(file);
        match execve(&full, argv, &env) {
            Errno::ENOENT | Errno::ENOTDIR => {}
            Errno::EACCES => seen_eacces = true,
            other => return other,
        }
    }
    if seen_eacces {
        Errno::EACCES
    } else {
        Errno::ENOENT
    }
}

/// `setrlimit(RLIMIT_NPROC, {cur, max})`: how many processes the real
/// uid may have (`EPERM` to raise `max` without root).
pub fn set_nproc_limit(cur: u64, max: u64) -> Result<(), Errno> {
    procs()?.set_nproc_limit(cur, max).map_err(|e| e.errno())
}

/// `setuid(uid)`.
pub fn setuid(uid: u32) -> Result<(), Errno> {
    procs()?.setuid(uid).map_err(|e| e.errno())
}
