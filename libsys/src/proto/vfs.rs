//! `vfs`, the file server: the file half of the POSIX-like system-call
//! surface as messages, and the client stub every program's file calls
//! go through (`libsys::posix` wraps it as `open`, `read`, …).
//!
//! The caller is told apart by its badge (its pid): the server keeps each
//! client's file table (fd → open file with offset and flags), cwd, root,
//! umask and credentials. Numbers are Linux's (`O_*`, `S_IF*`, `AT_*`,
//! `F_*`, `SEEK_*`); every error is an [`Errno`].
//!
//! Data moves by grant copy, never through the message: `Read`,
//! `Getdents`, `Readlink` and `Getcwd` lend a write window (the server
//! copies into it and answers the count), `Write` lends a read window.
//! A call that must wait (an empty pipe or terminal) is answered later.
//!
//! **The register form.** The hot calls skip postcard: `Read`, `Write`,
//! `Pread`, `Pwrite`, `Close` and `Lseek` travel as [`LABEL_REGS`] with
//! their fields in message words 0–3 ([`RegRequest::to_words`]; words 4–5
//! name the grant) and no payload, `Open` and `Stat` the same with the
//! path's bytes as the payload. The answer is [`LABEL_REGS_REPLY`] with
//! the reply in the words ([`Reply::to_words`]), or for `Stat` the usual
//! postcard `Reply`. The client stub uses this form for those calls; the
//! server takes both forms of each.
//!
//! | request | reply | notes |
//! | --- | --- | --- |
//! | `Open { dirfd, path, flags, mode }` | `Fd(fd)` | `openat(2)` |
//! | `Close { fd }` | `Done` | |
//! | `Read { fd, len }` + write grant | `Count(n)` | may be answered later |
//! | `Write { fd, len }` + read grant | `Count(n)` | may be answered later |
//! | `Pread`/`Pwrite { fd, len, offset }` + grant | `Count(n)` | |
//! | `Lseek { fd, offset, whence }` | `Value(offset)` | |
//! | `Fstat { fd }`, `Stat { dirfd, path, flags }` | `Stat(Stat)` | `AT_SYMLINK_NOFOLLOW` in `flags` is `lstat` |
//! | `Getdents { fd, len }` + write grant | `Count(n)` | `linux_dirent64` records |
//! | `Mkdir`, `Mknod`, `Unlink`, `Rename`, `Link`, `Symlink` | `Done` | `*at` forms |
//! | `Readlink { dirfd, path, len }` + write grant | `Count(n)` | |
//! | `Chdir { path }`, `Fchdir { fd }` | `Done` | |
//! | `Getcwd { len }` + write grant | `Count(n)` | the path and its NUL |
//! | `Dup { fd }`, `Dup3 { old, new, flags }` | `Fd(fd)` | |
//! | `Fcntl { fd, cmd, arg }` | `Value(v)` | |
//! | `Pipe2 { flags }` | `Fds(read, write)` | |
//! | `Ioctl { fd, cmd, arg }` (+ a grant for `struct` arguments) | `Value(v)` | terminals: `TCGETS`, `TCSETS*`, `TIOCGPGRP`, `TIOCSPGRP`, `TIOCGWINSZ`, `TIOCSWINSZ` |
//! | `Chmod`, `Chown`, `Truncate`, `Ftruncate`, `Access` | `Done` | |
//! | `Umask { mask }` | `Value(old)` | |
//! | `Mount { source, target, fstype, flags }`, `Umount { target }` | `Done` | root only |
//! | `Sync`, `Fsync { fd }` | `Done` | |
//! | `Statfs { path }` | `Statfs(Statfs)` | |
//! | `Mounts { len }` + write window | `Count(n)`: `/proc/mounts` lines | |
//! | `Mmap { fd, at, pages, prot, shared, index }` | `Value(address)` | `EBADF`, `EACCES` (mode), `ENODEV` (not a regular file), `EINVAL`, `EEXIST` (`MAP_FIXED` over a mapping), `ENOMEM` |
//! | `Msync { file }` | `Done` | the file's pages written through mappings, written back |
//!
//! **Process life cycle** (root callers only — the process server):
//!
//! | request | reply | what the server does |
//! | --- | --- | --- |
//! | `NewFiles { pid, cred }` | `Done` | an empty file table for a process with these credentials, cwd and root `/` |
//! | `ForkFiles { parent, child }` | `Done` | the child gets a copy of the parent's table (the open files shared, as `fork`), cwd, root, umask, credentials |
//! | `ChildAction { child, action }` | `Fd(fd)` or `Done` | one `posix_spawn` file action run as the child (before it starts) |
//! | `ExecFiles { pid }` | `Done` | closes its `O_CLOEXEC` descriptors |
//! | `SetCred { pid, cred }` | `Done` | after `setuid` and friends |
//! | `ExitFiles { pid }` | `Done` | closes every descriptor; forgets the client |

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

pub use crate::errno::Errno;

/// The name the server registers.
pub const NAME: &str = "vfs";
/// The longest path a message carries (Linux's `PATH_MAX` is 4096; a
/// longer one is `ENAMETOOLONG` at the client).
pub const PATH_MAX: usize = 1024;
/// The largest window one `Read` or `Write` lends (the client splits
/// larger transfers).
pub const IO_MAX: u32 = 64 * 1024;
/// `AT_FDCWD`: a `dirfd` meaning the caller's cwd.
pub const AT_FDCWD: i32 = -100;

pub type Path = heapless::Vec<u8, PATH_MAX>;
/// A file-system type's or device's name in `Mount`.
pub type ShortName = heapless::String<32>;

/// `struct stat`'s fields (the client lays them out as Linux does).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: i64,
    pub blocks: i64,
    /// Seconds and nanoseconds of the last access, modification and
    /// status change.
    pub atime: (i64, u32),
    pub mtime: (i64, u32),
    pub ctime: (i64, u32),
}

/// `struct statfs`'s fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Statfs {
    pub fs_type: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: u64,
}

/// Credentials the server checks permissions with (`struct cred`'s ids).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Cred {
    pub uid: u32,
    pub gid: u32,
    pub groups: heapless::Vec<u32, 16>,
}

/// One `posix_spawn` file action, run in order as the child.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum FileAction {
    /// `dup2(from, to)`.
    Dup2 { from: i32, to: i32 },
    /// `close(fd)` (`EBADF` if not open is ignored, as `posix_spawn`).
    Close { fd: i32 },
    /// `open(path, flags, mode)` made descriptor `fd`.
    Open {
        fd: i32,
        path: Path,
        flags: u32,
        mode: u32,
    },
    /// `chdir(path)`.
    Chdir { path: Path },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    Open {
        dirfd: i32,
        path: Path,
        flags: u32,
        mode: u32,
    },
    Close {
        fd: i32,
    },
    Read {
        fd: i32,
        len: u32,
    },
    Write {
        fd: i32,
        len: u32,
    },
    Pread {
        fd: i32,
        len: u32,
        offset: u64,
    },
    Pwrite {
        fd: i32,
        len: u32,
        offset: u64,
    },
    Lseek {
        fd: i32,
        offset: i64,
        whence: u32,
    },
    Fstat {
        fd: i32,
    },
    Stat {
        dirfd: i32,
        path: Path,
        flags: u32,
    },
    Getdents {
        fd: i32,
        len: u32,
    },
    Mkdir {
        dirfd: i32,
        path: Path,
        mode: u32,
    },
    Mknod {
        dirfd: i32,
        path: Path,
        mode: u32,
        dev: u64,
    },
    /// `flags`: `AT_REMOVEDIR` makes it `rmdir`.
    Unlink {
        dirfd: i32,
        path: Path,
        flags: u32,
    },
    Rename {
        olddirfd: i32,
        old: Path,
        newdirfd: i32,
        new: Path,
    },
    Link {
        olddirfd: i32,
        old: Path,
        newdirfd: i32,
        new: Path,
    },
    Symlink {
        target: Path,
        dirfd: i32,
        path: Path,
    },
    Readlink {
        dirfd: i32,
        path: Path,
        len: u32,
    },
    Chdir {
        path: Path,
    },
    Fchdir {
        fd: i32,
    },
    Getcwd {
        len: u32,
    },
    Dup {
        fd: i32,
    },
    Dup3 {
        old: i32,
        new: i32,
        flags: u32,
    },
    Fcntl {
        fd: i32,
        cmd: u32,
        arg: u64,
    },
    Pipe2 {
        flags: u32,
    },
    Ioctl {
        fd: i32,
        cmd: u32,
        arg: u64,
    },
    Chmod {
        dirfd: i32,
        path: Path,
        mode: u32,
    },
    Chown {
        dirfd: i32,
        path: Path,
        uid: u32,
        gid: u32,
    },
    Truncate {
        path: Path,
        length: i64,
    },
    Ftruncate {
        fd: i32,
        length: i64,
    },
    Access {
        dirfd: i32,
        path: Path,
        mode: u32,
    },
    Umask {
        mask: u32,
    },
    Mount {
        source: Path,
        target: Path,
        fstype: ShortName,
        flags: u64,
    },
    Umount {
        target: Path,
    },
    Sync,
    Fsync {
        fd: i32,
    },
    Statfs {
        path: Path,
    },
    NewFiles {
        pid: u64,
        cred: Cred,
    },
    ForkFiles {
        parent: u64,
        child: u64,
    },
    ChildAction {
        child: u64,
        action: FileAction,
    },
    ExecFiles {
        pid: u64,
    },
    SetCred {
        pid: u64,
        cred: Cred,
    },
    ExitFiles {
        pid: u64,
    },
    /// The mount table as `/proc/mounts` lines (`source target type
    /// rw|ro 0 0`), into the caller's window (cut at `len`).
    Mounts {
        len: u32,
    },
    /// `mmap` of `fd`: `pages` pages of the file from page `index` on, at
    /// `at` (`MAP_FIXED`) or anywhere, with `prot` (`PROT_*` bits),
    /// `MAP_SHARED` or private. The server checks the open file (regular,
    /// readable; `PROT_WRITE` on a shared mapping needs it writable, else
    /// `EACCES`) and has the memory server map it: `Value(address)`.
    Mmap {
        fd: i32,
        at: Option<u64>,
        pages: u64,
        prot: u8,
        shared: bool,
        index: u64,
    },
    /// `msync`'s second half: writes back what the shared mappings of
    /// mapped file `file` (the memory server's `Msync` names it) wrote.
    Msync {
        file: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Done,
    Fd(i32),
    Fds(i32, i32),
    Count(u64),
    Value(u64),
    Stat(Stat),
    Statfs(Statfs),
    Error(Errno),
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

/// A request in the message registers: `Read`, `Write`, `Pread`,
/// `Pwrite`, `Close` and `Lseek` with no payload, `Open` and `Stat` with
/// the path's bytes as the payload ([`RegRequest`]).
pub const LABEL_REGS: u32 = 0x7666_0001;
/// The answer to a [`LABEL_REGS`] request: `Done`, `Fd`, `Fds`, `Count`,
/// `Value` or `Error` in the registers ([`Reply::to_words`]); a reply
/// that does not fit (`Stat`, `Statfs`) goes as a postcard payload.
pub const LABEL_REGS_REPLY: u32 = 0x7666_0002;

/// The words of a message (words 4 and 5 are left for a grant window).
pub type Words = [u64; crate::abi::ipc::MSG_WORDS];

fn fd_len(fd: i32, len: u32) -> u64 {
    u64::from(fd as u32) | u64::from(len) << 32
}

fn split_fd_len(word: u64) -> (i32, u32) {
    (word as u32 as i32, (word >> 32) as u32)
}

/// The requests that travel in registers ([`LABEL_REGS`]): the data
/// calls, `Close` and `Lseek`, as their [`Request`]s (a small value: a
/// `Request` is as big as its largest variant, two paths).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegRequest {
    Read {
        fd: i32,
        len: u32,
    },
    Write {
        fd: i32,
        len: u32,
    },
    Pread {
        fd: i32,
        len: u32,
        offset: u64,
    },
    Pwrite {
        fd: i32,
        len: u32,
        offset: u64,
    },
    Close {
        fd: i32,
    },
    Lseek {
        fd: i32,
        offset: i64,
        whence: u32,
    },
    /// `Open`: the path is the message's payload (its bytes, no
    /// encoding).
    Open {
        dirfd: i32,
        flags: u32,
        mode: u32,
    },
    /// `Stat`: the path is the payload (empty with `AT_EMPTY_PATH`).
    Stat {
        dirfd: i32,
        flags: u32,
    },
}

impl RegRequest {
    /// `request` in its register form, if it has one, and the path that
    /// goes as its payload (empty for the requests without one).
    pub fn of(request: &Request) -> Option<(RegRequest, &[u8])> {
        let regs = match *request {
            Request::Read { fd, len } => RegRequest::Read { fd, len },
            Request::Write { fd, len } => RegRequest::Write { fd, len },
            Request::Pread { fd, len, offset } => RegRequest::Pread { fd, len, offset },
            Request::Pwrite { fd, len, offset } => RegRequest::Pwrite { fd, len, offset },
            Request::Close { fd } => RegRequest::Close { fd },
            Request::Lseek { fd, offset, whence } => RegRequest::Lseek { fd, offset, whence },
            Request::Open {
                dirfd,
                ref path,
                flags,
                mode,
            } => return Some((RegRequest::Open { dirfd, flags, mode }, path)),
            Request::Stat {
                dirfd,
                ref path,
                flags,
            } => return Some((RegRequest::Stat { dirfd, flags }, path)),
            _ => return None,
        };
        Some((regs, &[]))
    }

    /// Whether the payload is its path.
    pub fn has_path(self) -> bool {
        matches!(self, RegRequest::Open { .. } | RegRequest::Stat { .. })
    }

    /// The same request as a [`Request`], with `path` for `Open` and
    /// `Stat` (`ENAMETOOLONG` past [`PATH_MAX`]).
    pub fn request(self, path_bytes: &[u8]) -> Result<Request, Errno> {
        Ok(match self {
            RegRequest::Read { fd, len } => Request::Read { fd, len },
            RegRequest::Write { fd, len } => Request::Write { fd, len },
            RegRequest::Pread { fd, len, offset } => Request::Pread { fd, len, offset },
            RegRequest::Pwrite { fd, len, offset } => Request::Pwrite { fd, len, offset },
            RegRequest::Close { fd } => Request::Close { fd },
            RegRequest::Lseek { fd, offset, whence } => Request::Lseek { fd, offset, whence },
            RegRequest::Open { dirfd, flags, mode } => Request::Open {
                dirfd,
                path: path(path_bytes)?,
                flags,
                mode,
            },
            RegRequest::Stat { dirfd, flags } => Request::Stat {
                dirfd,
                path: path(path_bytes)?,
                flags,
            },
        })
    }

    /// The message words: `words[0]` the operation, then the fields in
    /// words 1–3; words 4 and 5 are left for a grant window.
    pub fn to_words(self) -> Words {
        let (op, a, b) = match self {
            RegRequest::Read { fd, len } => (1, fd_len(fd, len), 0),
            RegRequest::Write { fd, len } => (2, fd_len(fd, len), 0),
            RegRequest::Pread { fd, len, offset } => (3, fd_len(fd, len), offset),
            RegRequest::Pwrite { fd, len, offset } => (4, fd_len(fd, len), offset),
            RegRequest::Close { fd } => (5, fd_len(fd, 0), 0),
            RegRequest::Lseek { fd, offset, whence } => (6, fd_len(fd, whence), offset as u64),
            RegRequest::Open { dirfd, flags, mode } => (7, fd_len(dirfd, flags), u64::from(mode)),
            RegRequest::Stat { dirfd, flags } => (8, fd_len(dirfd, flags), 0),
        };
        [op, a, b, 0, 0, 0]
    }

    /// The request [`RegRequest::to_words`] made (words 4–5 ignored: they
    /// name the grant); `None` for an unknown operation or stray bits.
    pub fn from_words(words: &Words) -> Option<RegRequest> {
        let (fd, len) = split_fd_len(words[1]);
        let [op, _, offset, rest, ..] = *words;
        // Only the positioned calls, `Lseek` and `Open` use word 2.
        if rest != 0 || (offset != 0 && !matches!(op, 3 | 4 | 6 | 7)) {
            return None;
        }
        Some(match op {
            1 => RegRequest::Read { fd, len },
            2 => RegRequest::Write { fd, len },
            3 => RegRequest::Pread { fd, len, offset },
            4 => RegRequest::Pwrite { fd, len, offset },
            5 if len == 0 => RegRequest::Close { fd },
            6 => RegRequest::Lseek {
                fd,
                offset: offset as i64,
                whence: len,
            },
            7 => RegRequest::Open {
                dirfd: fd,
                flags: len,
                mode: u32::try_from(offset).ok()?,
            },
            8 => RegRequest::Stat {
                dirfd: fd,
                flags: len,
            },
            _ => return None,
        })
    }
}

impl Reply {
    /// The reply in registers (`words[0]` the kind, then its values), or
    /// `None` for `Stat` and `Statfs`, which do not fit.
    pub fn to_words(&self) -> Option<Words> {
        let (kind, a, b) = match *self {
            Reply::Done => (0, 0, 0),
            Reply::Fd(fd) => (1, fd as u32 as u64, 0),
            Reply::Fds(r, w) => (2, r as u32 as u64, w as u32 as u64),
            Reply::Count(n) => (3, n, 0),
            Reply::Value(v) => (4, v, 0),
            Reply::Error(e) => (5, e.as_i32() as u32 as u64, 0),
            Reply::Stat(_) | Reply::Statfs(_) => return None,
        };
        Some([kind, a, b, 0, 0, 0])
    }

    /// The reply [`Reply::to_words`] made; `None` for nonsense.
    pub fn from_words(words: &Words) -> Option<Reply> {
        let (a, b) = (words[1], words[2]);
        let small = |v: u64| i32::try_from(v as u32).ok().filter(|_| v >> 32 == 0);
        Some(match words[0] {
            0 => Reply::Done,
            1 => Reply::Fd(small(a)?),
            2 => Reply::Fds(small(a)?, small(b)?),
            3 => Reply::Count(a),
            4 => Reply::Value(a),
            5 => Reply::Error(Errno::from_i32(small(a)?).ok()?),
            _ => return None,
        })
    }
}

/// `path` as a message's path: `ENAMETOOLONG` if it does not fit.
pub fn path(path: &[u8]) -> Result<Path, Errno> {
    Path::from_slice(path).map_err(|_| Errno::ENAMETOOLONG)
}

client_stub! {
    /// The client stub: the file calls as methods (one `vfs` call each).
    server: "vfs", error: Vfs
}

client_error! {
    /// Why a `vfs` call failed: the server's errno, or the call itself.
    Vfs(Errno),
}

impl ClientError {
    /// The errno a POSIX caller sees: the server's, or `EIO` when the
    /// call itself failed (the server died or answered nonsense).
    pub fn errno(&self) -> Errno {
        match self {
            ClientError::Vfs(e) => *e,
            ClientError::Rpc(_) => Errno::EIO,
        }
    }
}

#[cfg(target_os = "none")]
mod client;

#[cfg(test)]
mod tests;
