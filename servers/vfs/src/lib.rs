//! The VFS server's core (LKD chapters 13 and 16): everything the file
//! server does that needs no hardware and no IPC, tested on the host with
//! `cargo test -p vfs`.
//!
//! The four objects of LKD 13 under their own names: [`SuperBlock`] (a
//! mounted file system), [`Inode`] (a file, cached in core), [`Dentry`]
//! (a path component, in the [`dcache`]) and [`File`] (an open file), with
//! the operation tables as traits in [`fs`] ([`SuperOperations`],
//! [`InodeOperations`], [`FileOperations`], [`AddressSpaceOperations`]) and
//! a registry of [`FileSystemType`]s mounted by name.
//!
//! - [`types`]: Linux's numbers (`S_IF*`, `O_*`, `F_*`, `SEEK_*`, `DT_*`)
//!   and records (`struct stat`, `struct statfs`), credentials.
//! - [`vfs`]: the state ([`Vfs`]) and its lifetimes — superblocks, in-core
//!   inodes, paths, clients (file table, cwd, root, umask, credentials,
//!   `RLIMIT_NOFILE`), `fork`/`exec`/`exit`.
//! - [`client`]: clients and `fork`/`exec`/`exit`.
//! - [`namei`]: the path walk; [`perm`]: permission checks.
//! - The calls, as methods of [`Vfs`] returning `Result<_, Errno>` with
//!   Linux's errnos: [`open`] (`openat`, `close`), [`rw`] (`read`, `write`,
//!   `pread`, `pwrite`, `readv`, `writev`, `lseek`, `getdents64`),
//!   [`filemap`] (reads and writes through the page cache),
//!   [`namespace`] (`mkdir`, `rmdir`, `unlink`, `rename`, `link`,
//!   `symlink`, `readlink`), [`attr`] (`stat` family, `chmod`, `chown`,
//!   `access`, `truncate`, `statfs`, `umask`),
//!   [`fdops`] (`dup*`, `fcntl`, `chdir`, `fchdir`, `getcwd`), [`pipeops`]
//!   (`pipe2`, `poll` readiness), [`mountops`] (`mount`, `umount`, `sync`,
//!   `fsync`, the flusher).
//! - File systems: [`tmpfs`]; [`devfs`] (`/dev`: the static character
//!   devices, and nodes made and removed by devmgr's uevents), with
//!   [`random`] (the ChaCha20 generator of `/dev/urandom`); pipes ([`pipe`]: the ring) and FIFOs
//!   ([`fifo`]: named pipes, POSIX's blocking opens); the generated ones,
//!   [`procfs`] (`/proc`) and [`sysfs`] (`/sys`), whose files are
//!   snapshots made at open ([`seqfile`]).
//! - The page cache ([`pagecache`], LKD 16) and read-ahead ([`readahead`]).
//! - [`dcache`], [`mount`], [`file`] (open files and descriptor tables),
//!   [`dirent`] (`linux_dirent64` records), [`slab`].
//!
//! The core never blocks and never makes a system call: an operation that
//! must wait returns [`Io::Blocked`] with the client recorded as a waiter,
//! and [`Vfs::take_wakeups`] tells the server whom to retry. See
//! `docs/vfs.md`.
//!
//! # IPC protocol
//!
//! `libsys::proto::vfs`, mapped one to one onto the calls by [`service`]
//! (data through the caller's grant window); [`initramfs`] unpacks the
//! boot archive into the root. The binary (`src/main.rs`, feature
//! `main`) serves it: see "The file server" in docs/architecture.md.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod attr;
pub mod blockattrs;
pub mod client;
pub mod dcache;
pub mod devfs;
pub mod dirent;
pub mod ext2fs;
pub mod fdops;
pub mod fifo;
pub mod file;
pub mod filemap;
pub mod fs;
pub mod fstab;
pub mod initramfs;
pub mod mount;
pub mod mountops;
pub mod namei;
pub mod namespace;
pub mod open;
pub mod pagecache;
pub mod perm;
pub mod pipe;
pub mod pipeops;
pub mod procfs;
pub mod random;
pub mod readahead;
pub mod record;
pub mod rw;
pub mod seqfile;
pub mod service;
pub mod slab;
pub mod sysfs;
pub mod tmpfs;
pub mod types;
pub mod vfs;

pub use dcache::{Dcache, Dentry, DentryId, DentryState};
pub use file::{FdTable, File, FileId};
pub use fs::{
    AddressSpaceOperations, DirEntry, FileOperations, FileSystem, FileSystemType, InodeOperations,
    PageIo, SuperOperations,
};
pub use libsys::errno::Errno;
pub use mount::{Mount, MountId, Path};
pub use pagecache::{PageCache, PageProvider, VecPageProvider};
pub use vfs::{Client, Inode, Io, Limits, ReadSink, SuperBlock, Vfs};
