//! The `vfs` client's methods: one per request, each lending the window
//! its data moves through and checking the reply's kind.

use super::*;
use crate::grant::Grant;
use crate::rpc::RpcError;

/// A reply of the wrong kind: the server answered nonsense.
fn unexpected<T>(_: Reply) -> Result<T, ClientError> {
    Err(ClientError::Rpc(RpcError::Decode))
}

fn done(reply: Reply) -> Result<(), ClientError> {
    match reply {
        Reply::Done => Ok(()),
        other => unexpected(other),
    }
}

fn fd(reply: Reply) -> Result<i32, ClientError> {
    match reply {
        Reply::Fd(fd) => Ok(fd),
        other => unexpected(other),
    }
}

fn value(reply: Reply) -> Result<u64, ClientError> {
    match reply {
        Reply::Value(v) => Ok(v),
        other => unexpected(other),
    }
}

/// A `Count` reply no larger than the window lent.
fn count(reply: Reply, window: usize) -> Result<usize, ClientError> {
    match reply {
        Reply::Count(n) if n as usize <= window => Ok(n as usize),
        other => unexpected(other),
    }
}

fn stat(reply: Reply) -> Result<Stat, ClientError> {
    match reply {
        Reply::Stat(s) => Ok(s),
        other => unexpected(other),
    }
}

fn p(bytes: &[u8]) -> Result<Path, ClientError> {
    path(bytes).map_err(ClientError::Vfs)
}

/// The window of at most [`IO_MAX`] bytes one call lends.
fn window(len: usize) -> u32 {
    len.min(IO_MAX as usize) as u32
}

fn grant_error(e: crate::abi::SysError) -> ClientError {
    ClientError::Rpc(RpcError::Sys(e))
}

impl Client {
    /// A call in registers ([`LABEL_REGS`], `words` from
    /// [`RegRequest::to_words`]), lending `grant` if any: nothing is encoded
    /// or decoded, and the kernel moves no payload either way.
    fn call_regs(&self, words: Words, grant: Option<Grant>) -> Result<Reply, ClientError> {
        self.call_regs_with(
            crate::ipc::Message::new(LABEL_REGS).with_words(words),
            grant,
        )
    }

    /// As `call_regs`, the path as the payload (`Open`, `Stat`); the
    /// reply in registers or, for a `Stat`, postcard-encoded.
    fn call_path(&self, request: RegRequest, path: &[u8]) -> Result<Reply, ClientError> {
        if path.len() > PATH_MAX {
            return Err(ClientError::Vfs(Errno::ENAMETOOLONG));
        }
        let length = crate::ipc::write_payload(path).map_err(grant_error)?;
        let msg = crate::ipc::Message::new(LABEL_REGS)
            .with_words(request.to_words())
            .with_payload(length);
        self.call_regs_with(msg, None)
    }

    fn call_regs_with(
        &self,
        msg: crate::ipc::Message,
        grant: Option<Grant>,
    ) -> Result<Reply, ClientError> {
        let msg = match grant {
            Some(g) => g.lend(msg),
            None => msg,
        };
        let reply = self
            .endpoint
            .call(&msg, crate::abi::ipc::FOREVER)
            .map_err(grant_error)?;
        let answer = match reply.label() {
            LABEL_REGS_REPLY => Reply::from_words(&reply.words),
            crate::rpc::LABEL_REPLY => {
                let mut bytes = [0u8; Reply::POSTCARD_MAX_SIZE];
                let n = crate::ipc::read_payload(reply.info.length.into(), &mut bytes);
                crate::rpc::decode(&bytes[..n]).ok()
            }
            crate::rpc::LABEL_BAD_REQUEST => return Err(ClientError::Rpc(RpcError::BadRequest)),
            crate::rpc::LABEL_SERVER_ERROR => return Err(ClientError::Rpc(RpcError::ServerError)),
            other => return Err(ClientError::Rpc(RpcError::UnexpectedLabel(other))),
        };
        match answer {
            Some(Reply::Error(e)) => Err(ClientError::Vfs(e)),
            Some(r) => Ok(r),
            None => Err(ClientError::Rpc(RpcError::Decode)),
        }
    }

    /// A call lending `buffer` for the server to fill; `Count` back.
    fn fill(&self, request: Request, buffer: &mut [u8]) -> Result<usize, ClientError> {
        let len = buffer.len();
        let grant = Grant::write(buffer).map_err(grant_error)?;
        count(self.call_granted(&request, grant)?, len)
    }

    /// As `fill`, for a request in registers.
    fn fill_regs(&self, request: RegRequest, buffer: &mut [u8]) -> Result<usize, ClientError> {
        let len = buffer.len();
        let grant = Grant::write(buffer).map_err(grant_error)?;
        count(self.call_regs(request.to_words(), Some(grant))?, len)
    }

    /// A call lending `data` for the server to read; `Count` back.
    fn drain_regs(&self, request: RegRequest, data: &[u8]) -> Result<usize, ClientError> {
        let grant = Grant::read(data).map_err(grant_error)?;
        count(self.call_regs(request.to_words(), Some(grant))?, data.len())
    }

    pub fn open(&self, dirfd: i32, path: &[u8], flags: u32, mode: u32) -> Result<i32, ClientError> {
        fd(self.call_path(RegRequest::Open { dirfd, flags, mode }, path)?)
    }

    pub fn close(&self, fd: i32) -> Result<(), ClientError> {
        done(self.call_regs(RegRequest::Close { fd }.to_words(), None)?)
    }

    /// One `read` of at most [`IO_MAX`] bytes (fewer is not an error).
    pub fn read(&self, fd: i32, buffer: &mut [u8]) -> Result<usize, ClientError> {
        if buffer.is_empty() {
            return Ok(0);
        }
        let len = window(buffer.len());
        self.fill_regs(RegRequest::Read { fd, len }, &mut buffer[..len as usize])
    }

    /// One `write` of at most [`IO_MAX`] bytes (fewer is not an error).
    pub fn write(&self, fd: i32, data: &[u8]) -> Result<usize, ClientError> {
        if data.is_empty() {
            return Ok(0);
        }
        let len = window(data.len());
        self.drain_regs(RegRequest::Write { fd, len }, &data[..len as usize])
    }

    pub fn pread(&self, fd: i32, buffer: &mut [u8], offset: u64) -> Result<usize, ClientError> {
        if buffer.is_empty() {
            return Ok(0);
        }
        let len = window(buffer.len());
        self.fill_regs(
            RegRequest::Pread { fd, len, offset },
            &mut buffer[..len as usize],
        )
    }

    pub fn pwrite(&self, fd: i32, data: &[u8], offset: u64) -> Result<usize, ClientError> {
        if data.is_empty() {
            return Ok(0);
        }
        let len = window(data.len());
        self.drain_regs(
            RegRequest::Pwrite { fd, len, offset },
            &data[..len as usize],
        )
    }

    pub fn lseek(&self, fd: i32, offset: i64, whence: u32) -> Result<u64, ClientError> {
        let lseek = RegRequest::Lseek { fd, offset, whence };
        value(self.call_regs(lseek.to_words(), None)?)
    }

    pub fn fstat(&self, fd: i32) -> Result<Stat, ClientError> {
        stat(self.call(&Request::Fstat { fd })?)
    }

    /// `fstatat`: `flags` may hold `AT_SYMLINK_NOFOLLOW`.
    pub fn stat(&self, dirfd: i32, path: &[u8], flags: u32) -> Result<Stat, ClientError> {
        stat(self.call_path(RegRequest::Stat { dirfd, flags }, path)?)
    }

    /// `getdents64`: whole `linux_dirent64` records into `buffer`; 0 at
    /// the end of the directory.
    pub fn getdents(&self, fd: i32, buffer: &mut [u8]) -> Result<usize, ClientError> {
        let len = window(buffer.len());
        self.fill(Request::Getdents { fd, len }, &mut buffer[..len as usize])
    }

    pub fn mkdir(&self, dirfd: i32, path: &[u8], mode: u32) -> Result<(), ClientError> {
        let path = p(path)?;
        done(self.call(&Request::Mkdir { dirfd, path, mode })?)
    }

    pub fn mknod(&self, dirfd: i32, path: &[u8], mode: u32, dev: u64) -> Result<(), ClientError> {
        let path = p(path)?;
        done(self.call(&Request::Mknod {
            dirfd,
            path,
            mode,
            dev,
        })?)
    }

    /// `unlinkat`: `AT_REMOVEDIR` in `flags` removes a directory.
    pub fn unlink(&self, dirfd: i32, path: &[u8], flags: u32) -> Result<(), ClientError> {
        let path = p(path)?;
        done(self.call(&Request::Unlink { dirfd, path, flags })?)
    }

    pub fn rename(
        &self,
        olddirfd: i32,
        old: &[u8],
        newdirfd: i32,
        new: &[u8],
    ) -> Result<(), ClientError> {
        let (old, new) = (p(old)?, p(new)?);
        done(self.call(&Request::Rename {
            olddirfd,
            old,
            newdirfd,
            new,
        })?)
    }

    pub fn link(
        &self,
        olddirfd: i32,
        old: &[u8],
        newdirfd: i32,
        new: &[u8],
    ) -> Result<(), ClientError> {
        let (old, new) = (p(old)?, p(new)?);
        done(self.call(&Request::Link {
            olddirfd,
            old,
            newdirfd,
            new,
        })?)
    }

    pub fn symlink(&self, target: &[u8], dirfd: i32, path: &[u8]) -> Result<(), ClientError> {
        let (target, path) = (p(target)?, p(path)?);
        done(self.call(&Request::Symlink {
            target,
            dirfd,
            path,
        })?)
    }

    pub fn readlink(
        &self,
        dirfd: i32,
        path: &[u8],
        buffer: &mut [u8],
    ) -> Result<usize, ClientError> {
        let path = p(path)?;
        let len = window(buffer.len());
        self.fill(
            Request::Readlink { dirfd, path, len },
            &mut buffer[..len as usize],
        )
    }

    pub fn chdir(&self, path: &[u8]) -> Result<(), ClientError> {
        let path = p(path)?;
        done(self.call(&Request::Chdir { path })?)
    }

    pub fn fchdir(&self, fd: i32) -> Result<(), ClientError> {
        done(self.call(&Request::Fchdir { fd })?)
    }

    /// The cwd and its NUL into `buffer`; the bytes written.
    pub fn getcwd(&self, buffer: &mut [u8]) -> Result<usize, ClientError> {
        let len = window(buffer.len());
        self.fill(Request::Getcwd { len }, &mut buffer[..len as usize])
    }

    pub fn dup(&self, fd: i32) -> Result<i32, ClientError> {
        fd_reply(self.call(&Request::Dup { fd })?)
    }

    pub fn dup3(&self, old: i32, new: i32, flags: u32) -> Result<i32, ClientError> {
        fd_reply(self.call(&Request::Dup3 { old, new, flags })?)
    }

    pub fn fcntl(&self, fd: i32, cmd: u32, arg: u64) -> Result<u64, ClientError> {
        value(self.call(&Request::Fcntl { fd, cmd, arg })?)
    }

    /// `pipe2`: (read end, write end).
    pub fn pipe2(&self, flags: u32) -> Result<(i32, i32), ClientError> {
        match self.call(&Request::Pipe2 { flags })? {
            Reply::Fds(r, w) => Ok((r, w)),
            other => unexpected(other),
        }
    }

    /// An `ioctl` whose argument is a number (`TIOCSPGRP`'s pgrp,
    /// `TIOCGPGRP`'s answer).
    pub fn ioctl(&self, fd: i32, cmd: u32, arg: u64) -> Result<u64, ClientError> {
        value(self.call(&Request::Ioctl { fd, cmd, arg })?)
    }

    /// An `ioctl` that fills `out` (`TCGETS`, `TIOCGWINSZ`).
    pub fn ioctl_get(&self, fd: i32, cmd: u32, out: &mut [u8]) -> Result<u64, ClientError> {
        let grant = Grant::write(out).map_err(grant_error)?;
        value(self.call_granted(&Request::Ioctl { fd, cmd, arg: 0 }, grant)?)
    }

    /// An `ioctl` that reads `data` (`TCSETS*`, `TIOCSWINSZ`).
    pub fn ioctl_set(&self, fd: i32, cmd: u32, data: &[u8]) -> Result<u64, ClientError> {
        let grant = Grant::read(data).map_err(grant_error)?;
        value(self.call_granted(&Request::Ioctl { fd, cmd, arg: 0 }, grant)?)
    }

    pub fn chmod(&self, dirfd: i32, path: &[u8], mode: u32) -> Result<(), ClientError> {
        let path = p(path)?;
        done(self.call(&Request::Chmod { dirfd, path, mode })?)
    }

    pub fn chown(&self, dirfd: i32, path: &[u8], uid: u32, gid: u32) -> Result<(), ClientError> {
        let path = p(path)?;
        done(self.call(&Request::Chown {
            dirfd,
            path,
            uid,
            gid,
        })?)
    }

    pub fn truncate(&self, path: &[u8], length: i64) -> Result<(), ClientError> {
        let path = p(path)?;
        done(self.call(&Request::Truncate { path, length })?)
    }

    pub fn ftruncate(&self, fd: i32, length: i64) -> Result<(), ClientError> {
        done(self.call(&Request::Ftruncate { fd, length })?)
    }

    pub fn access(&self, dirfd: i32, path: &[u8], mode: u32) -> Result<(), ClientError> {
        let path = p(path)?;
        done(self.call(&Request::Access { dirfd, path, mode })?)
    }

    /// Sets the umask; the old one.
    pub fn umask(&self, mask: u32) -> Result<u32, ClientError> {
        value(self.call(&Request::Umask { mask })?).map(|v| v as u32)
    }

    pub fn mount(
        &self,
        source: &[u8],
        target: &[u8],
        fstype: &str,
        flags: u64,
    ) -> Result<(), ClientError> {
        let (source, target) = (p(source)?, p(target)?);
        let fstype = fstype
            .try_into()
            .map_err(|_| ClientError::Vfs(Errno::ENODEV))?;
        done(self.call(&Request::Mount {
            source,
            target,
            fstype,
            flags,
        })?)
    }

    pub fn umount(&self, target: &[u8]) -> Result<(), ClientError> {
        let target = p(target)?;
        done(self.call(&Request::Umount { target })?)
    }

    pub fn sync(&self) -> Result<(), ClientError> {
        done(self.call(&Request::Sync)?)
    }

    pub fn fsync(&self, fd: i32) -> Result<(), ClientError> {
        done(self.call(&Request::Fsync { fd })?)
    }

    /// `mmap` of `fd` (see [`Request::Mmap`]): the address mapped.
    pub fn mmap(
        &self,
        fd: i32,
        at: Option<u64>,
        pages: u64,
        prot: u8,
        shared: bool,
        index: u64,
    ) -> Result<u64, ClientError> {
        value(self.call(&Request::Mmap {
            fd,
            at,
            pages,
            prot,
            shared,
            index,
        })?)
    }

    /// Writes back what shared mappings wrote to mapped file `file`.
    pub fn msync_file(&self, file: u64) -> Result<(), ClientError> {
        done(self.call(&Request::Msync { file })?)
    }

    /// The mount table as `/proc/mounts` lines; returns the bytes put in
    /// `buffer` (cut at its length).
    pub fn mounts(&self, buffer: &mut [u8]) -> Result<usize, ClientError> {
        let len = window(buffer.len());
        self.fill(Request::Mounts { len }, &mut buffer[..len as usize])
    }

    pub fn statfs(&self, path: &[u8]) -> Result<Statfs, ClientError> {
        let path = p(path)?;
        match self.call(&Request::Statfs { path })? {
            Reply::Statfs(s) => Ok(s),
            other => unexpected(other),
        }
    }

    /// Process life cycle (root only): an empty table for `pid`.
    pub fn new_files(&self, pid: u64, cred: Cred) -> Result<(), ClientError> {
        done(self.call(&Request::NewFiles { pid, cred })?)
    }

    /// Process life cycle: `child` gets a copy of `parent`'s table.
    pub fn fork_files(&self, parent: u64, child: u64) -> Result<(), ClientError> {
        done(self.call(&Request::ForkFiles { parent, child })?)
    }

    /// Process life cycle: one spawn file action run as `child`; the
    /// descriptor it made, if any.
    pub fn child_action(&self, child: u64, action: FileAction) -> Result<Option<i32>, ClientError> {
        match self.call(&Request::ChildAction { child, action })? {
            Reply::Done => Ok(None),
            Reply::Fd(fd) => Ok(Some(fd)),
            other => unexpected(other),
        }
    }

    /// Process life cycle: `pid` executes a new image.
    pub fn exec_files(&self, pid: u64) -> Result<(), ClientError> {
        done(self.call(&Request::ExecFiles { pid })?)
    }

    pub fn set_cred(&self, pid: u64, cred: Cred) -> Result<(), ClientError> {
        done(self.call(&Request::SetCred { pid, cred })?)
    }

    /// Process life cycle: `pid` is gone.
    pub fn exit_files(&self, pid: u64) -> Result<(), ClientError> {
        done(self.call(&Request::ExitFiles { pid })?)
    }
}

fn fd_reply(reply: Reply) -> Result<i32, ClientError> {
    fd(reply)
}
