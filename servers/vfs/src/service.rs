//! The file server's requests (`libsys::proto::vfs`) mapped onto the
//! core's calls: one [`Service::handle`] per request, the data moved
//! through the caller's grant window ([`GrantAccess`]), so the same code
//! is tested on the host with a window of plain memory.
//!
//! Clients are badges (pids). An unknown badge becomes a client on its
//! first request, with the credentials the caller's `lookup` gives (the
//! `cred` service in the server), cwd and root `/`. The life-cycle
//! requests are accepted from root callers only; `ChildAction` also from
//! the process the child was forked from, until the child's `ExecFiles`.
//!
//! **Device files** are character nodes (`mknod`, or devfs's) whose
//! `read`/`write` the service routes by device number, as Linux's chrdev
//! table does: `/dev/null` (1:3), `/dev/zero` (1:5), `/dev/full` (1:7:
//! zeros, and `ENOSPC` for every write), `/dev/random` and `/dev/urandom`
//! (1:8, 1:9: the [`Crng`]; writes are mixed into it), `/dev/kmsg` (1:11:
//! the [`KernelLog`], one record per read from the file's position, a
//! write logs a line), and `/dev/tty` (5:0) and `/dev/console` (5:1) to
//! the [`Console`] the server gives (the terminal server's line 0); any
//! other device is `ENXIO`.
//!
//! A call that must wait (an empty pipe, a full one, a FIFO's open
//! before the other side's) comes back as
//! [`Outcome::Blocked`]: the server keeps the request and its reply and
//! calls `handle` again when the core lists the client among its
//! wakeups.

use alloc::collections::BTreeMap;
use alloc::vec;

use libsys::grant::GrantAccess;
use libsys::proto::vfs::{
    Cred as WireCred, FileAction, RegRequest, Reply, Request, Stat, Statfs, IO_MAX,
};

use crate::fifo::OpenIo;
use crate::random::Crng;
use crate::rw::Read;
use crate::types::{self, ClientId, Cred, AT_FDCWD};
use crate::{Errno, Io, ReadSink, Vfs};

/// What one request came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answer now.
    Reply(Reply),
    /// Answer later: retry when the client is woken.
    Blocked,
    /// A read of at most `len` bytes of the console, for the server to
    /// make without stalling (the console said [`Console::reads_later`]).
    ConsoleRead { len: usize },
}

pub use crate::devfs::makedev;

pub const DEV_NULL: u64 = makedev(1, 3);
pub const DEV_ZERO: u64 = makedev(1, 5);
pub const DEV_FULL: u64 = makedev(1, 7);
pub const DEV_RANDOM: u64 = makedev(1, 8);
pub const DEV_URANDOM: u64 = makedev(1, 9);
pub const DEV_KMSG: u64 = makedev(1, 11);
pub const DEV_TTY: u64 = makedev(5, 0);
pub const DEV_CONSOLE: u64 = makedev(5, 1);
/// The terminals the tty server adds to devmgr's `tty` class (their
/// nodes come from uevents): its one line, as `/dev/console` is.
pub const DEV_TTY0: u64 = makedev(4, 0);
pub const DEV_TTYS0: u64 = makedev(4, 64);
/// What [`Service::device`] says of a block-device node: no character
/// device has this number, so its reads and writes are `ENXIO` (a block
/// device is used by mounting it, `vfs::ext2fs`).
const BLOCK_NODE: u64 = u64::MAX;

/// The terminal behind `/dev/console` and `/dev/tty`, on behalf of `pid`.
pub trait Console {
    fn write(&mut self, pid: u64, data: &[u8]) -> Result<usize, Errno>;
    fn read(&mut self, pid: u64, buf: &mut [u8]) -> Result<usize, Errno>;
    /// Whether reads are made by the server apart, answered later
    /// ([`Outcome::ConsoleRead`]) instead of through [`Console::read`].
    fn reads_later(&mut self) -> bool {
        false
    }
    /// A terminal `ioctl` for `pid` (`TCGETS`, `TCSETS*`, `TIOCGPGRP`,
    /// `TIOCSPGRP`, `TIOCGWINSZ`, `TIOCSWINSZ`): `arg` is a number
    /// argument, `grant` the caller's window for a structure. `ENOTTY`
    /// unless the console knows terminals.
    fn ioctl(
        &mut self,
        _pid: u64,
        _cmd: u32,
        _arg: u64,
        _grant: &mut dyn GrantAccess,
    ) -> Result<u64, Errno> {
        Err(Errno::ENOTTY)
    }
}

/// The kernel log behind `/dev/kmsg`.
pub trait KernelLog {
    /// Records from sequence number `since` on, in `/dev/kmsg`'s format
    /// (`level,seq,usec,-;text\n` each), as many as fit in `buf`.
    fn read(&mut self, since: u64, buf: &mut [u8]) -> Result<usize, Errno>;
    /// Logs `text` as one record.
    fn write(&mut self, text: &[u8]) -> Result<usize, Errno>;
}

/// The longest `/dev/kmsg` record a read returns (Linux's
/// `CONSOLE_EXT_LOG_MAX`).
const KMSG_RECORD_MAX: usize = 8192;

/// Mounts devfs on `/dev` (made if missing), as `client` (root).
pub fn mount_devfs(vfs: &mut Vfs, client: ClientId) -> Result<(), Errno> {
    match vfs.mkdir(client, b"/dev", 0o755) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(e),
    }
    vfs.mount(client, b"devfs", b"/dev", "devfs", 0, b"")
}

/// The core and the server's own bookkeeping.
pub struct Service {
    pub vfs: Vfs,
    console: Option<alloc::boxed::Box<dyn Console>>,
    kmsg: Option<alloc::boxed::Box<dyn KernelLog>>,
    /// `/dev/random`'s and `/dev/urandom`'s generator.
    pub crng: Crng,
    /// Children whose file table was forked and not yet exec'd: child →
    /// the parent, who may run `ChildAction`s on it.
    forked: BTreeMap<u64, u64>,
    /// The badge last found to be a client (see `adopt`).
    known: Option<u64>,
}

fn cred(wire: &WireCred) -> Cred {
    Cred {
        uid: wire.uid,
        gid: wire.gid,
        groups: wire.groups.iter().copied().collect(),
    }
}

fn stat(s: types::Stat) -> Stat {
    Stat {
        dev: s.st_dev,
        ino: s.st_ino,
        nlink: s.st_nlink,
        mode: s.st_mode,
        uid: s.st_uid,
        gid: s.st_gid,
        rdev: s.st_rdev,
        size: s.st_size,
        blksize: s.st_blksize,
        blocks: s.st_blocks,
        atime: (s.st_atime.sec, s.st_atime.nsec as u32),
        mtime: (s.st_mtime.sec, s.st_mtime.nsec as u32),
        ctime: (s.st_ctime.sec, s.st_ctime.nsec as u32),
    }
}

fn statfs(s: types::StatFs) -> Statfs {
    Statfs {
        fs_type: s.f_type,
        bsize: s.f_bsize,
        blocks: s.f_blocks,
        bfree: s.f_bfree,
        bavail: s.f_bavail,
        files: s.f_files,
        ffree: s.f_ffree,
        namelen: s.f_namelen,
    }
}

/// `len` bounded by [`IO_MAX`] and the window lent.
fn io_len(len: u32, grant: &dyn GrantAccess) -> Result<usize, Errno> {
    let window = grant.window().ok_or(Errno::EFAULT)?;
    Ok((len.min(IO_MAX) as u64).min(window.length) as usize)
}

/// Copies `data` into the window: `EFAULT` if it cannot.
fn put(grant: &mut dyn GrantAccess, data: &[u8]) -> Result<Reply, Errno> {
    if !data.is_empty() {
        grant.write(0, data).map_err(|_| Errno::EFAULT)?;
    }
    Ok(Reply::Count(data.len() as u64))
}

/// The caller's window as where a read's bytes go.
struct WindowSink<'a> {
    grant: &'a mut dyn GrantAccess,
    len: usize,
}

impl ReadSink for WindowSink<'_> {
    fn capacity(&self) -> usize {
        self.len
    }
    fn put(&mut self, at: usize, data: &[u8]) -> Result<(), Errno> {
        if data.is_empty() {
            return Ok(());
        }
        self.grant.write(at as u64, data).map_err(|_| Errno::EFAULT)
    }
}

/// `len` bytes out of the window: `EFAULT` if it cannot.
fn take(grant: &mut dyn GrantAccess, len: u32) -> Result<alloc::vec::Vec<u8>, Errno> {
    let mut data = vec![0u8; io_len(len, grant)?];
    grant.read(0, &mut data).map_err(|_| Errno::EFAULT)?;
    Ok(data)
}

fn done<T>(r: Result<T, Errno>) -> Result<Reply, Errno> {
    r.map(|_| Reply::Done)
}

fn count(io: Io) -> Outcome {
    match io {
        Io::Blocked(0) => Outcome::Blocked,
        Io::Done(n) | Io::Blocked(n) => Outcome::Reply(Reply::Count(n as u64)),
    }
}

impl Service {
    pub fn new(vfs: Vfs) -> Service {
        Service {
            vfs,
            console: None,
            kmsg: None,
            crng: Crng::new(),
            forked: BTreeMap::new(),
            known: None,
        }
    }

    /// Routes `/dev/console` and `/dev/tty` to `console`.
    pub fn set_console(&mut self, console: alloc::boxed::Box<dyn Console>) {
        self.console = Some(console);
    }

    /// Routes `/dev/kmsg` to `log`.
    pub fn set_kernel_log(&mut self, log: alloc::boxed::Box<dyn KernelLog>) {
        self.kmsg = Some(log);
    }

    /// One `/dev/kmsg` read: the record at the file's position (a
    /// sequence number) or the first after it, the position moved past
    /// it. `EINVAL` if the buffer cannot hold the record (as Linux);
    /// at the end of the log `EAGAIN` under `O_NONBLOCK`, else end of
    /// file (Linux would wait for the next record).
    fn kmsg_read(
        &mut self,
        c: ClientId,
        fd: i32,
        len: usize,
    ) -> Result<alloc::vec::Vec<u8>, Errno> {
        let since = self.vfs.lseek(c, fd, 0, types::SEEK_CUR)?;
        let log = self.kmsg.as_mut().ok_or(Errno::ENXIO)?;
        let mut buf = vec![0u8; KMSG_RECORD_MAX];
        let n = log.read(since, &mut buf)?;
        if n == 0 {
            let flags = self.vfs.fcntl(c, fd, types::F_GETFL, 0)? as u32;
            return if flags & types::O_NONBLOCK != 0 {
                Err(Errno::EAGAIN)
            } else {
                Ok(alloc::vec::Vec::new())
            };
        }
        let end = buf[..n]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(n, |i| i + 1);
        let record = &buf[..end];
        if record.len() > len {
            return Err(Errno::EINVAL);
        }
        let seq = core::str::from_utf8(record)
            .ok()
            .and_then(|r| r.split(',').nth(1)?.parse::<u64>().ok())
            .ok_or(Errno::EIO)?;
        self.vfs.lseek(c, fd, seq as i64 + 1, types::SEEK_SET)?;
        Ok(record.to_vec())
    }

    /// The device number if `fd` is a character device file.
    /// `ioctl(fd, cmd, arg)`: terminals' go to the console; any other
    /// open file's is `ENOTTY`.
    fn ioctl(
        &mut self,
        c: ClientId,
        fd: i32,
        cmd: u32,
        arg: u64,
        grant: &mut dyn GrantAccess,
    ) -> Result<u64, Errno> {
        match (self.device(c, fd), &mut self.console) {
            (Some(DEV_TTY | DEV_CONSOLE | DEV_TTY0 | DEV_TTYS0), Some(console)) => {
                console.ioctl(c, cmd, arg, grant)
            }
            _ => self.vfs.fstat(c, fd).and(Err(Errno::ENOTTY)),
        }
    }

    fn device(&mut self, c: ClientId, fd: i32) -> Option<u64> {
        match self.vfs.fd_type(c, fd)? {
            (types::S_IFCHR, rdev) => Some(rdev),
            // Block devices are mounted, not read through vfs: `ENXIO`.
            (types::S_IFBLK, _) => Some(BLOCK_NODE),
            _ => None,
        }
    }

    /// A `read` of device `rdev`.
    fn device_read(
        &mut self,
        c: ClientId,
        rdev: u64,
        len: u32,
        grant: &mut dyn GrantAccess,
    ) -> Result<Reply, Errno> {
        let mut buf = vec![0u8; io_len(len, grant)?];
        let n = match rdev {
            DEV_NULL => 0,
            DEV_ZERO | DEV_FULL => buf.len(),
            DEV_RANDOM | DEV_URANDOM => {
                self.crng.fill(&mut buf);
                buf.len()
            }
            DEV_TTY | DEV_CONSOLE | DEV_TTY0 | DEV_TTYS0 => match &mut self.console {
                Some(console) => console.read(c, &mut buf)?,
                None => return Err(Errno::EIO),
            },
            _ => return Err(Errno::ENXIO),
        };
        put(grant, &buf[..n.min(buf.len())])
    }

    /// A `write` to device `rdev`.
    fn device_write(
        &mut self,
        c: ClientId,
        rdev: u64,
        len: u32,
        grant: &mut dyn GrantAccess,
    ) -> Result<Reply, Errno> {
        let n = match rdev {
            DEV_NULL | DEV_ZERO => io_len(len, grant)?,
            DEV_FULL => return Err(Errno::ENOSPC),
            DEV_RANDOM | DEV_URANDOM => {
                let data = take(grant, len)?;
                self.crng.mix(&data);
                data.len()
            }
            DEV_KMSG => {
                let data = take(grant, len)?;
                match &mut self.kmsg {
                    Some(log) => log.write(&data)?,
                    None => return Err(Errno::ENXIO),
                }
            }
            DEV_TTY | DEV_CONSOLE | DEV_TTY0 | DEV_TTYS0 => {
                let data = take(grant, len)?;
                match &mut self.console {
                    Some(console) => console.write(c, &data)?,
                    None => return Err(Errno::EIO),
                }
            }
            _ => return Err(Errno::ENXIO),
        };
        Ok(Reply::Count(n as u64))
    }

    /// Makes an unknown `badge` a client with the credentials `lookup`
    /// gives (`EACCES` without).
    fn adopt(
        &mut self,
        badge: u64,
        lookup: &mut dyn FnMut(u64) -> Option<Cred>,
    ) -> Result<(), Outcome> {
        // The last caller found is still a client unless a life-cycle
        // request came since (they alone remove clients).
        if self.known == Some(badge) {
            return Ok(());
        }
        if self.vfs.client(badge).is_err() {
            let Some(cred) = lookup(badge) else {
                return Err(Outcome::Reply(Reply::Error(Errno::EACCES)));
            };
            if let Err(e) = self.vfs.new_client(badge, cred) {
                return Err(Outcome::Reply(Reply::Error(e)));
            }
        }
        self.known = Some(badge);
        Ok(())
    }

    /// Serves a request that came in registers (with `path`, the
    /// payload, for `Open` and `Stat`): the same as [`Service::handle`] of
    /// its [`Request`], without the path's copy into one.
    pub fn handle_regs(
        &mut self,
        badge: u64,
        request: RegRequest,
        path: &[u8],
        grant: &mut dyn GrantAccess,
        lookup: &mut dyn FnMut(u64) -> Option<Cred>,
    ) -> Outcome {
        if let Err(refused) = self.adopt(badge, lookup) {
            return refused;
        }
        self.regs(badge, request, path, grant)
    }

    fn regs(
        &mut self,
        c: ClientId,
        request: RegRequest,
        path: &[u8],
        grant: &mut dyn GrantAccess,
    ) -> Outcome {
        let result = match request {
            RegRequest::Read { fd, len } => return self.read(c, fd, len, None, grant),
            RegRequest::Pread { fd, len, offset } => {
                return self.read(c, fd, len, Some(offset), grant)
            }
            RegRequest::Write { fd, len } => return self.write(c, fd, len, None, grant),
            RegRequest::Pwrite { fd, len, offset } => {
                return self.write(c, fd, len, Some(offset), grant)
            }
            RegRequest::Close { fd } => done(self.vfs.close(c, fd)),
            RegRequest::Lseek { fd, offset, whence } => {
                self.vfs.lseek(c, fd, offset, whence).map(Reply::Value)
            }
            RegRequest::Open { dirfd, flags, mode } => {
                return match self.vfs.openat_io(c, dirfd, path, flags, mode) {
                    Ok(OpenIo::Opened(fd)) => Outcome::Reply(Reply::Fd(fd)),
                    Ok(OpenIo::Blocked) => Outcome::Blocked,
                    Err(e) => Outcome::Reply(Reply::Error(e)),
                }
            }
            RegRequest::Stat { dirfd, flags } => self
                .vfs
                .fstatat(c, dirfd, path, flags)
                .map(|s| Reply::Stat(stat(s))),
        };
        Outcome::Reply(result.unwrap_or_else(Reply::Error))
    }

    /// Serves `request` from `badge`; `lookup` gives an unknown badge's
    /// credentials (`None`: the caller is refused with `EACCES`).
    pub fn handle(
        &mut self,
        badge: u64,
        request: &Request,
        grant: &mut dyn GrantAccess,
        lookup: &mut dyn FnMut(u64) -> Option<Cred>,
    ) -> Outcome {
        if let Err(refused) = self.adopt(badge, lookup) {
            return refused;
        }
        // A parent `init` started may fork before it ever called: it
        // becomes a client as on its own first request.
        if let Request::ForkFiles { parent, .. } = request {
            if let Err(refused) = self.adopt(*parent, lookup) {
                return match refused {
                    Outcome::Reply(Reply::Error(Errno::EACCES)) => {
                        Outcome::Reply(Reply::Error(Errno::ESRCH))
                    }
                    other => other,
                };
            }
        }
        if let Some((r, path)) = RegRequest::of(request) {
            return self.regs(badge, r, path, grant);
        }
        let result = match request {
            Request::Ioctl { fd, cmd, arg } => {
                let result = self.ioctl(badge, *fd, *cmd, *arg, grant);
                return Outcome::Reply(result.map(Reply::Value).unwrap_or_else(Reply::Error));
            }
            Request::NewFiles { .. }
            | Request::ForkFiles { .. }
            | Request::ChildAction { .. }
            | Request::ExecFiles { .. }
            | Request::SetCred { .. }
            | Request::ExitFiles { .. } => {
                self.known = None;
                self.life_cycle(badge, request)
            }
            other => self.call(badge, other, grant),
        };
        Outcome::Reply(result.unwrap_or_else(Reply::Error))
    }

    /// Forgets a client whose waiting request was given up.
    pub fn cancel(&mut self, badge: u64) {
        self.vfs.cancel_wait(badge);
    }

    fn read(
        &mut self,
        c: ClientId,
        fd: i32,
        len: u32,
        offset: Option<u64>,
        grant: &mut dyn GrantAccess,
    ) -> Outcome {
        // Straight into the window: a cached page is copied once, from
        // its frame to the caller. The core says if it is a device file
        // instead (one look-up of descriptor, file and inode for both).
        let n = match io_len(len, grant) {
            Ok(n) => n,
            Err(e) => return Outcome::Reply(Reply::Error(e)),
        };
        let mut sink = WindowSink { grant, len: n };
        let rdev = match self
            .vfs
            .read_or_device(c, fd, offset.map(|o| o as i64), &mut sink)
        {
            Ok(Read::Io(io)) => return count(io),
            Ok(Read::Device { fmt, .. }) if fmt == types::S_IFBLK => BLOCK_NODE,
            Ok(Read::Device { rdev, .. }) => rdev,
            Err(e) => return Outcome::Reply(Reply::Error(e)),
        };
        let console = matches!(rdev, DEV_TTY | DEV_CONSOLE | DEV_TTY0 | DEV_TTYS0);
        if let (true, Some(con)) = (console, &mut self.console) {
            if con.reads_later() {
                return Outcome::ConsoleRead { len: n };
            }
        }
        if rdev == DEV_KMSG {
            let result = self
                .kmsg_read(c, fd, n)
                .and_then(|record| put(grant, &record));
            return Outcome::Reply(result.unwrap_or_else(Reply::Error));
        }
        Outcome::Reply(
            self.device_read(c, rdev, len, grant)
                .unwrap_or_else(Reply::Error),
        )
    }

    fn write(
        &mut self,
        c: ClientId,
        fd: i32,
        len: u32,
        offset: Option<u64>,
        grant: &mut dyn GrantAccess,
    ) -> Outcome {
        if let Some(rdev) = self.device(c, fd) {
            return Outcome::Reply(
                self.device_write(c, rdev, len, grant)
                    .unwrap_or_else(Reply::Error),
            );
        }
        let result = take(grant, len).and_then(|data| match offset {
            None => self.vfs.write(c, fd, &data),
            Some(o) => self.vfs.pwrite(c, fd, &data, o as i64),
        });
        match result {
            Ok(io) => count(io),
            Err(e) => Outcome::Reply(Reply::Error(e)),
        }
    }

    fn call(
        &mut self,
        c: ClientId,
        request: &Request,
        grant: &mut dyn GrantAccess,
    ) -> Result<Reply, Errno> {
        let v = &mut self.vfs;
        match request {
            Request::Fstat { fd } => v.fstat(c, *fd).map(|s| Reply::Stat(stat(s))),
            Request::Getdents { fd, len } => {
                let n = io_len(*len, grant)?;
                let records = v.getdents64(c, *fd, n)?;
                put(grant, &records)
            }
            Request::Mkdir { dirfd, path, mode } => done(v.mkdirat(c, *dirfd, path, *mode)),
            Request::Mknod {
                dirfd,
                path,
                mode,
                dev,
            } => done(v.mknodat(c, *dirfd, path, *mode, *dev)),
            Request::Unlink { dirfd, path, flags } => done(v.unlinkat(c, *dirfd, path, *flags)),
            Request::Rename {
                olddirfd,
                old,
                newdirfd,
                new,
            } => done(v.renameat(c, *olddirfd, old, *newdirfd, new)),
            Request::Link {
                olddirfd,
                old,
                newdirfd,
                new,
            } => done(v.linkat(c, *olddirfd, old, *newdirfd, new, 0)),
            Request::Symlink {
                target,
                dirfd,
                path,
            } => done(v.symlinkat(c, target, *dirfd, path)),
            Request::Readlink { dirfd, path, len } => {
                let n = io_len(*len, grant)?;
                let target = v.readlinkat(c, *dirfd, path, n)?;
                put(grant, &target)
            }
            Request::Chdir { path } => done(v.chdir(c, path)),
            Request::Fchdir { fd } => done(v.fchdir(c, *fd)),
            Request::Getcwd { len } => {
                let n = io_len(*len, grant)?;
                let cwd = v.getcwd(c, n)?;
                put(grant, &cwd)
            }
            Request::Dup { fd } => v.dup(c, *fd).map(Reply::Fd),
            Request::Dup3 { old, new, flags } => v.dup3(c, *old, *new, *flags).map(Reply::Fd),
            Request::Fcntl { fd, cmd, arg } => v.fcntl(c, *fd, *cmd, *arg).map(Reply::Value),
            Request::Pipe2 { flags } => v.pipe2(c, *flags).map(|(r, w)| Reply::Fds(r, w)),
            Request::Ioctl { .. } => Err(Errno::ENOTTY),
            Request::Chmod { dirfd, path, mode } => done(v.fchmodat(c, *dirfd, path, *mode)),
            Request::Chown {
                dirfd,
                path,
                uid,
                gid,
            } => {
                let id = |n: u32| (n != u32::MAX).then_some(n);
                done(v.fchownat(c, *dirfd, path, id(*uid), id(*gid), 0))
            }
            Request::Truncate { path, length } => done(v.truncate(c, path, *length)),
            Request::Ftruncate { fd, length } => done(v.ftruncate(c, *fd, *length)),
            Request::Access { dirfd, path, mode } => done(v.faccessat(c, *dirfd, path, *mode, 0)),
            Request::Umask { mask } => v.umask(c, *mask).map(|m| Reply::Value(u64::from(m))),
            Request::Mount {
                source,
                target,
                fstype,
                flags,
            } => done(v.mount(c, source, target, fstype, *flags as u32, b"")),
            Request::Umount { target } => done(v.umount(c, target, 0)),
            Request::Sync => done(v.sync()),
            Request::Fsync { fd } => done(v.fsync(c, *fd)),
            Request::Statfs { path } => v.statfs(c, path).map(|s| Reply::Statfs(statfs(s))),
            Request::Mounts { len } => {
                let n = io_len(*len, grant)?;
                let text = v.mounts_text();
                put(grant, &text[..text.len().min(n)])
            }
            _ => Err(Errno::ENOSYS),
        }
    }

    /// The process server's requests: root callers only (`ChildAction`
    /// also the forking parent until `ExecFiles`).
    fn life_cycle(&mut self, caller: u64, request: &Request) -> Result<Reply, Errno> {
        let root = self.vfs.client(caller)?.cred.is_root();
        let parent_of = |child: &u64| self.forked.get(child) == Some(&caller);
        let allowed =
            root || matches!(request, Request::ChildAction { child, .. } if parent_of(child));
        if !allowed {
            return Err(Errno::EPERM);
        }
        let v = &mut self.vfs;
        match request {
            Request::NewFiles { pid, cred: c } => {
                if v.client(*pid).is_ok() {
                    v.exit(*pid)?;
                }
                done(v.new_client(*pid, cred(c)))
            }
            Request::ForkFiles { parent, child } => {
                if v.client(*child).is_ok() {
                    v.exit(*child)?;
                }
                v.fork(*parent, *child)?;
                self.forked.insert(*child, *parent);
                Ok(Reply::Done)
            }
            Request::ChildAction { child, action } => child_action(v, *child, action),
            Request::ExecFiles { pid } => {
                self.forked.remove(pid);
                done(v.exec(*pid))
            }
            Request::SetCred { pid, cred: c } => done(v.set_cred(*pid, cred(c))),
            Request::ExitFiles { pid } => {
                self.forked.remove(pid);
                done(v.exit(*pid))
            }
            _ => Err(Errno::ENOSYS),
        }
    }
}

/// One `posix_spawn` file action, as the child.
fn child_action(v: &mut Vfs, child: u64, action: &FileAction) -> Result<Reply, Errno> {
    match action {
        FileAction::Dup2 { from, to } => v.dup2(child, *from, *to).map(Reply::Fd),
        FileAction::Close { fd } => match v.close(child, *fd) {
            Ok(()) | Err(Errno::EBADF) => Ok(Reply::Done),
            Err(e) => Err(e),
        },
        FileAction::Open {
            fd,
            path,
            flags,
            mode,
        } => {
            let got = v.openat(child, AT_FDCWD, path, *flags, *mode)?;
            if got == *fd {
                return Ok(Reply::Fd(got));
            }
            let moved = v.dup2(child, got, *fd);
            v.close(child, got)?;
            moved.map(Reply::Fd)
        }
        FileAction::Chdir { path } => done(v.chdir(child, path)),
    }
}
