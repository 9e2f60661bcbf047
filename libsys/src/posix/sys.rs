//! The calls: each one request to `vfs` or `proc` (a few, several), with
//! the client's error turned into the caller's [`Errno`].

use alloc::string::String;
use alloc::vec::Vec;

use core::mem::ManuallyDrop;
use core::sync::atomic::{AtomicU32, Ordering};

use super::*;
use crate::proto::{proc, vfs};

/// The servers' handles, looked up on first use (0 before). Numbers
/// rather than `Once`d clients so that a `fork` child, whose table does
/// not hold the parent's numbers, can look them up again
/// ([`after_fork`]).
static VFS: AtomicU32 = AtomicU32::new(0);
static PROC: AtomicU32 = AtomicU32::new(0);

/// The client on the handle in `cell`, looking it up first if needed.
fn connected(
    cell: &AtomicU32,
    connect: impl FnOnce() -> Option<crate::handle::Endpoint>,
) -> Result<ManuallyDrop<crate::handle::Endpoint>, Errno> {
    let mut raw = cell.load(Ordering::Acquire);
    if raw == 0 {
        let made = connect().ok_or(Errno::ENOSYS)?.0.into_raw().0;
        raw = match cell.compare_exchange(0, made, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => made,
            Err(theirs) => {
                // SAFETY: `made` is ours alone; another thread won.
                drop(unsafe { crate::handle::OwnedHandle::from_raw(crate::abi::Handle(made)) });
                theirs
            }
        };
    }
    // SAFETY: kept open for the process's life (ManuallyDrop).
    Ok(ManuallyDrop::new(unsafe {
        crate::handle::Endpoint::from_raw(crate::abi::Handle(raw))
    }))
}

/// The file server, connected on first use (`ENOSYS` if it never came).
pub(super) fn vfs() -> Result<ManuallyDrop<vfs::Client>, Errno> {
    let endpoint = connected(&VFS, || {
        vfs::Client::connect().ok().map(vfs::Client::into_endpoint)
    })?;
    Ok(ManuallyDrop::new(vfs::Client::from_endpoint(
        ManuallyDrop::into_inner(endpoint),
    )))
}

/// The process server, connected on first use.
pub(super) fn procs() -> Result<ManuallyDrop<proc::Client>, Errno> {
    let endpoint = connected(&PROC, || {
        proc::Client::connect()
            .ok()
            .map(proc::Client::into_endpoint)
    })?;
    Ok(ManuallyDrop::new(proc::Client::from_endpoint(
        ManuallyDrop::into_inner(endpoint),
    )))
}

/// In a `fork` child: the servers are looked up again on first use.
pub fn after_fork() {
    VFS.store(0, Ordering::Release);
    PROC.store(0, Ordering::Release);
}

fn ve(e: vfs::ClientError) -> Errno {
    e.errno()
}

fn pe(e: proc::ClientError) -> Errno {
    e.errno()
}

/// `openat(dirfd, path, flags, mode)`.
pub fn openat(dirfd: i32, path: &str, flags: u32, mode: u32) -> Result<i32, Errno> {
    vfs()?.open(dirfd, path.as_bytes(), flags, mode).map_err(ve)
}

/// `open(path, flags, mode)`.
pub fn open(path: &str, flags: u32, mode: u32) -> Result<i32, Errno> {
    openat(AT_FDCWD, path, flags, mode)
}

pub fn close(fd: i32) -> Result<(), Errno> {
    vfs()?.close(fd).map_err(ve)
}

/// One `read` (at most [`IO_MAX`] bytes; fewer is not an error, 0 is
/// the end of the file).
pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    let client = vfs()?;
    restartable(|| client.read(fd, buf).map_err(ve))
}

/// Makes `call` again while its server answers `ERESTARTSYS` (a terminal
/// stopped this process's group for job control, and it was continued),
/// unless a handler without `SA_RESTART` ran meanwhile: then `EINTR`
/// (Linux's `-ERESTARTSYS` handling on the way back to user mode).
pub fn restartable<T>(mut call: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        let handlers = super::signal::interrupting_handlers();
        match call() {
            Err(Errno::ERESTARTSYS) => {
                if super::signal::interrupting_handlers() != handlers {
                    return Err(Errno::EINTR);
                }
            }
            other => return other,
        }
    }
}

/// `write`: all of `data`, window by window, unless a write comes up
/// short or fails after some progress (then the count so far).
pub fn write(fd: i32, data: &[u8]) -> Result<usize, Errno> {
    let client = vfs()?;
    write_all_with(data, IO_MAX as usize, |chunk| {
        restartable(|| client.write(fd, chunk).map_err(ve))
    })
}

/// Reads the whole of `fd` to its end, refusing more than `limit` bytes
/// (`EFBIG`).
pub fn read_to_end(fd: i32, limit: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut buf = alloc::vec![0u8; 4096];
    loop {
        let n = read(fd, &mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        if out.len() + n > limit {
            return Err(Errno::EFBIG);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

pub fn lseek(fd: i32, offset: i64, whence: u32) -> Result<u64, Errno> {
    vfs()?.lseek(fd, offset, whence).map_err(ve)
}

pub fn stat(path: &str) -> Result<Stat, Errno> {
    vfs()?.stat(AT_FDCWD, path.as_bytes(), 0).map_err(ve)
}

pub fn lstat(path: &str) -> Result<Stat, Errno> {
    vfs()?
        .stat(AT_FDCWD, path.as_bytes(), AT_SYMLINK_NOFOLLOW)
        .map_err(ve)
}

pub fn fstat(fd: i32) -> Result<Stat, Errno> {
    vfs()?.fstat(fd).map_err(ve)
}

/// `getdents64`: whole `linux_dirent64` records into `buf` (parse them
/// with [`Dirents`]); 0 at the end.
pub fn getdents(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    vfs()?.getdents(fd, buf).map_err(ve)
}

/// One directory entry, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub ino: u64,
    /// `DT_*`.
    pub kind: u8,
    pub name: String,
}

/// `opendir`/`readdir`: the entries of a directory (`.` and `..`
/// included, as the server gives them), a buffer of records at a time.
pub struct ReadDir {
    fd: i32,
    buf: Vec<u8>,
    len: usize,
    at: usize,
    done: bool,
}

/// Opens `path` as a directory to read its entries.
pub fn read_dir(path: &str) -> Result<ReadDir, Errno> {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)?;
    Ok(ReadDir {
        fd,
        buf: alloc::vec![0u8; 4096],
        len: 0,
        at: 0,
        done: false,
    })
}

impl Iterator for ReadDir {
    type Item = Result<DirEntry, Errno>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            if self.at < self.len {
                let mut it = Dirents::new(&self.buf[self.at..self.len]);
                let rest_before = self.len - self.at;
                let item = it.next()?;
                return Some(
                    item.map(|d| {
                        let consumed = rest_before - it.remaining();
                        self.at += consumed;
                        DirEntry {
                            ino: d.ino,
                            kind: d.kind,
                            name: String::from_utf8_lossy(d.name).into_owned(),
                        }
                    })
                    .inspect_err(|_| self.done = true),
                );
            }
            match getdents(self.fd, &mut self.buf) {
                Ok(0) => self.done = true,
                Ok(n) => (self.len, self.at) = (n, 0),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

impl Drop for ReadDir {
    fn drop(&mut self) {
        let _ = close(self.fd);
    }
}

/// `mkfifo(path, mode)`: a FIFO (named pipe) at `path` (`mknod` with
/// `S_IFIFO`); the umask applies.
pub fn mkfifo(path: &str, mode: u32) -> Result<(), Errno> {
    const S_IFIFO: u32 = 0o010000;
    vfs()?
        .mknod(AT_FDCWD, path.as_bytes(), S_IFIFO | (mode & 0o7777), 0)
        .map_err(ve)
}

pub fn mkdir(path: &str, mode: u32) -> Result<(), Errno> {
    vfs()?.mkdir(AT_FDCWD, path.as_bytes(), mode).map_err(ve)
}

pub fn rmdir(path: &str) -> Result<(), Errno> {
    vfs()?
        .unlink(AT_FDCWD, path.as_bytes(), AT_REMOVEDIR)
        .map_err(ve)
}

pub fn unlink(path: &str) -> Result<(), Errno> {
    vfs()?.unlink(AT_FDCWD, path.as_bytes(), 0).map_err(ve)
}

/// `link(old, new)`: a second name for `old`'s inode.
pub fn link(old: &str, new: &str) -> Result<(), Errno> {
    vfs()?
        .link(AT_FDCWD, old.as_bytes(), AT_FDCWD, new.as_bytes())
        .map_err(ve)
}

/// `symlink(target, path)`.
pub fn symlink(target: &str, path: &str) -> Result<(), Errno> {
    vfs()?
        .symlink(target.as_bytes(), AT_FDCWD, path.as_bytes())
        .map_err(ve)
}

/// `readlink(path)`: the link's target, whole (up to `PATH_MAX`).
pub fn readlink(path: &str) -> Result<String, Errno> {
    let mut buf = alloc::vec![0u8; 4096];
    let n = vfs()?
        .readlink(AT_FDCWD, path.as_bytes(), &mut buf)
        .map_err(ve)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// `chmod(path, mode)`.
pub fn chmod(path: &str, mode: u32) -> Result<(), Errno> {
    vfs()?.chmod(AT_FDCWD, path.as_bytes(), mode).map_err(ve)
}

/// `truncate(path, length)`.
pub fn truncate(path: &str, length: i64) -> Result<(), Errno> {
    vfs()?.truncate(path.as_bytes(), length).map_err(ve)
}

pub fn rename(old: &str, new: &str) -> Result<(), Errno> {
    vfs()?
        .rename(AT_FDCWD, old.as_bytes(), AT_FDCWD, new.as_bytes())
        .map_err(ve)
}

/// `mount(source, target, fstype, flags, NULL)` (`MS_RDONLY` = 1).
pub fn mount(source: &str, target: &str, fstype: &str, flags: u64) -> Result<(), Errno> {
    vfs()?
        .mount(source.as_bytes(), target.as_bytes(), fstype, flags)
        .map_err(ve)
}

/// `umount(target)`.
pub fn umount(target: &str) -> Result<(), Errno> {
    vfs()?.umount(target.as_bytes()).map_err(ve)
}

/// `sync()`: every file system's dirty data and metadata written.
pub fn sync() -> Result<(), Errno> {
    vfs()?.sync().map_err(ve)
}

/// `fsync(fd)`.
pub fn fsync(fd: i32) -> Result<(), Errno> {
    vfs()?.fsync(fd).map_err(ve)
}

/// `statfs(path)`.
pub fn statfs(path: &str) -> Result<crate::proto::vfs::Statfs, Errno> {
    vfs()?.statfs(path.as_bytes()).map_err(ve)
}

/// The mount table, as `/proc/mounts` reads.
pub fn mounts() -> Result<String, Errno> {
    let mut buf = alloc::vec![0u8; IO_MAX as usize];
    let n = vfs()?.mounts(&mut buf).map_err(ve)?;
    buf.truncate(n);
    String::from_utf8(buf).map_err(|_| Errno::EIO)
}

pub fn chdir(path: &str) -> Result<(), Errno> {
    vfs()?.chdir(path.as_bytes()).map_err(ve)
}

/// `getcwd`: the working directory.
pub fn getcwd() -> Result<String, Errno> {
    let mut buf = alloc::vec![0u8; vfs::PATH_MAX + 1];
    let n = vfs()?.getcwd(&mut buf).map_err(ve)?;
    let path = &buf[..n];
    let path = path.strip_suffix(&[0]).unwrap_or(path);
    String::from_utf8(path.to_vec()).map_err(|_| Errno::EILSEQ)
}

/// `pipe`: (read end, write end).
pub fn pipe() -> Result<(i32, i32), Errno> {
    pipe2(0)
}

pub fn pipe2(flags: u32) -> Result<(i32, i32), Errno> {
    vfs()?.pipe2(flags).map_err(ve)
}

pub fn dup(fd: i32) -> Result<i32, Errno> {
    vfs()?.dup(fd).map_err(ve)
}

/// `dup2(old, new)`: `new` itself if `old == new` and `old` is open.
pub fn dup2(old: i32, new: i32) -> Result<i32, Errno> {
    if old == new {
        return fcntl(old, F_GETFD, 0).map(|_| new);
    }
    vfs()?.dup3(old, new, 0).map_err(ve)
}

pub fn fcntl(fd: i32, cmd: u32, arg: u64) -> Result<u64, Errno> {
    vfs()?.fcntl(fd, cmd, arg).map_err(ve)
}

/// `tcgetattr`: the terminal's settings (`ENOTTY` if `fd` is not one).
pub fn tcgetattr(fd: i32) -> Result<Termios, Errno> {
    let mut bytes = [0u8; TERMIOS_SIZE];
    vfs()?.ioctl_get(fd, TCGETS, &mut bytes).map_err(ve)?;
    Ok(termios_from_bytes(&bytes))
}

/// `tcsetattr` with `TCSANOW`, `TCSADRAIN` or `TCSAFLUSH`.
pub fn tcsetattr(fd: i32, action: u32, t: &Termios) -> Result<(), Errno> {
    let cmd = match action {
        TCSANOW => TCSETS,
        TCSADRAIN => TCSETSW,
        TCSAFLUSH => TCSETSF,
        _ => return Err(Errno::EINVAL),
    };
    let client = vfs()?;
    let bytes = termios_to_bytes(t);
    restartable(|| client.ioctl_set(fd, cmd, &bytes).map_err(ve)).map(|_| ())
}

pub fn isatty(fd: i32) -> bool {
    tcgetattr(fd).is_ok()
}

/// `ioctl(fd, TIOCGWINSZ)`: the terminal's (rows, columns) (`ENOTTY` if
/// `fd` is not one).
pub fn tcgetwinsize(fd: i32) -> Result<(u16, u16), Errno> {
    let mut b = [0u8; 8];
    vfs()?.ioctl_get(fd, TIOCGWINSZ, &mut b).map_err(ve)?;
    Ok((
        u16::from_le_bytes([b[0], b[1]]),
        u16::from_le_bytes([b[2], b[3]]),
    ))
}

/// `ioctl(fd, TIOCSWINSZ)`: sets the terminal's window size (rows,
/// columns; pixels 0); the terminal signals its foreground group
/// `SIGWINCH` if the size changed.
pub fn tcsetwinsize(fd: i32, rows: u16, cols: u16) -> Result<(), Errno> {
    let mut b = [0u8; 8];
    b[0..2].copy_from_slice(&rows.to_le_bytes());
    b[2..4].copy_from_slice(&cols.to_le_bytes());
    let client = vfs()?;
    restartable(|| client.ioctl_set(fd, TIOCSWINSZ, &b).map_err(ve)).map(|_| ())
}

pub fn tcgetpgrp(fd: i32) -> Result<u64, Errno> {
    vfs()?.ioctl(fd, TIOCGPGRP, 0).map_err(ve)
}

pub fn tcsetpgrp(fd: i32, pgrp: u64) -> Result<(), Errno> {
    let client = vfs()?;
    restartable(|| client.ioctl(fd, TIOCSPGRP, pgrp).map_err(ve)).map(|_| ())
}

/// `posix_spawn`: builds a process running `path` with `argv` and
/// `envp` in `pgroup`, runs `actions` on its file table in order, then
/// starts it; its pid. If an action fails the child is killed and
/// reaped before the error comes back.
pub fn spawn(
    path: &str,
    argv: &[&str],
    envp: &[&str],
    actions: &[FileAction],
    pgroup: Pgroup,
) -> Result<u64, Errno> {
    let argv: Vec<&[u8]> = argv.iter().map(|s| s.as_bytes()).collect();
    let envp: Vec<&[u8]> = envp.iter().map(|s| s.as_bytes()).collect();
    let procs = procs()?;
    let pid = procs
        .spawn(path.as_bytes(), &argv, &envp, pgroup)
        .map_err(pe)?;
    let files = vfs()?;
    for action in actions {
        if let Err(e) = files.child_action(pid, action.clone()) {
            let _ = procs.kill(pid as i64, SIGKILL);
            let _ = procs.wait(pid as i64, WNOHANG);
            return Err(ve(e));
        }
    }
    procs.start(pid).map_err(pe)?;
    Ok(pid)
}

/// `waitpid(pid, options)`: the pid and raw status word (decode it with
/// [`WaitStatus::decode`]), or `None` under `WNOHANG` if nothing changed.
pub fn waitpid(pid: i64, options: u32) -> Result<Option<(u64, i32)>, Errno> {
    procs()?.wait(pid, options).map_err(pe)
}

/// `kill(pid, sig)`: a negative `pid` is a process group.
pub fn kill(pid: i64, sig: u32) -> Result<(), Errno> {
    procs()?.kill(pid, sig).map_err(pe)
}

fn ids() -> Result<proc::Ids, Errno> {
    procs()?.ids().map_err(pe)
}

pub fn getpid() -> Result<u64, Errno> {
    ids().map(|i| i.pid)
}

pub fn getppid() -> Result<u64, Errno> {
    ids().map(|i| i.ppid)
}

pub fn getpgrp() -> Result<u64, Errno> {
    ids().map(|i| i.pgid)
}

pub fn getuid() -> Result<u32, Errno> {
    ids().map(|i| i.uid)
}

/// `geteuid`: the effective uid (0 is root).
pub fn geteuid() -> Result<u32, Errno> {
    ids().map(|i| i.euid)
}

/// `reboot(cmd)` as glibc's (`RB_POWER_OFF`, `RB_AUTOBOOT`,
/// `RB_HALT_SYSTEM`, `RB_ENABLE_CAD`, `RB_DISABLE_CAD`; the magic numbers
/// are added): returns only if the machine stays on — `Ok` for the
/// Ctrl-Alt-Del commands, else `EPERM` (not root), `EINVAL` (an unknown
/// command), `ENOSYS` (the process server holds no power control) or
/// `EIO` (the kernel could not do it). It does not sync: the caller
/// syncs and unmounts first (`/bin/poweroff` does).
pub fn reboot(cmd: u32) -> Result<(), Errno> {
    use crate::proto::proc::reboot::{LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2};
    reboot_raw(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, cmd)
}

/// The `reboot` system call with the caller's own magic numbers
/// (`EINVAL` when they are wrong), as Linux's `syscall(SYS_reboot, …)`.
pub fn reboot_raw(magic1: u32, magic2: u32, cmd: u32) -> Result<(), Errno> {
    procs()?.reboot(magic1, magic2, cmd).map_err(pe)
}

/// `service kill` and `service restart`: the process server has `init`
/// kill the server registered as `name` (`spawned:<name>`: a spawned
/// driver), which `init` restarts, the death counted as `mode` says; the
/// pid it had. `EPERM` for anyone but root, `ESRCH`, `EINVAL` (not
/// restartable), `EAGAIN` (restarting), `EBUSY` (`proc` itself),
/// `ENAMETOOLONG` (see `proto::proc::service`).
pub fn kill_server(name: &str, mode: crate::proto::name::KillMode) -> Result<u64, Errno> {
    let name = crate::proto::name::Name::try_from(name).map_err(|_| Errno::ENAMETOOLONG)?;
    procs()?.kill_server(name, mode).map_err(pe)
}

pub fn setpgid(pid: u64, pgid: u64) -> Result<(), Errno> {
    procs()?.setpgid(pid, pgid).map_err(pe)
}

/// Every process, in pid order (`List` page by page), for `ps`.
pub fn processes() -> Result<Vec<TaskInfo>, Errno> {
    let mut out: Vec<TaskInfo> = Vec::new();
    let mut after = 0;
    loop {
        let page = procs()?.list(after).map_err(pe)?;
        let Some(last) = page.last().map(|t| t.pid) else {
            return Ok(out);
        };
        if last <= after || out.len() > 65_536 {
            return Ok(out);
        }
        after = last;
        out.extend(page);
    }
}

/// `exit(status)`: tells the process server, then ends the process.
pub fn exit(status: i32) -> ! {
    if PROC.load(Ordering::Acquire) != 0 {
        if let Ok(client) = procs() {
            let _ = client.exit(status);
        }
    } else if let Ok(client) = proc::Client::connect_within(0) {
        let _ = client.exit(status);
    }
    crate::syscall::exit(status as u64)
}

/// The process server's client, for the signal calls (`signal.rs`).
pub(super) fn proc_client() -> Result<ManuallyDrop<proc::Client>, Errno> {
    procs()
}
