//! The numbers and records of the file interface, with Linux's names and
//! x86_64 values: file types and permission bits (`S_IF*`), open flags
//! (`O_*`), `fcntl` commands, `lseek` whences, `d_type`s, the limits
//! (`NAME_MAX`, `PATH_MAX`, `MAXSYMLINKS`), and the records the calls
//! return: [`InodeAttr`] (an inode's attributes), [`Stat`] (`struct stat`,
//! byte-exact), [`StatFs`] (`struct statfs`) and the caller's [`Cred`].

use alloc::vec::Vec;

/// An inode number, unique within one superblock.
pub type Ino = u64;
/// Who a request comes from: the IPC badge (later the pid).
pub type ClientId = u64;

/// The page size of the page cache: the ABI's one definition, as a `usize`.
pub const PAGE_SIZE: usize = libsys::abi::PAGE_SIZE as usize;
/// Longest name of one path component, in bytes.
pub const NAME_MAX: usize = 255;
/// Longest path, in bytes, counting the terminating NUL as Linux does.
pub const PATH_MAX: usize = 4096;
/// Symbolic links followed in one walk before `ELOOP` (Linux's MAXSYMLINKS).
pub const MAXSYMLINKS: u32 = 40;

pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;
pub const S_ISVTX: u32 = 0o1000;
/// The bits `chmod` may set.
pub const S_IALLUGO: u32 = 0o7777;

pub const O_RDONLY: u32 = 0;
pub const O_WRONLY: u32 = 1;
pub const O_RDWR: u32 = 2;
pub const O_ACCMODE: u32 = 3;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_NOCTTY: u32 = 0o400;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_DSYNC: u32 = 0o10000;
pub const O_DIRECT: u32 = 0o40000;
pub const O_LARGEFILE: u32 = 0o100000;
pub const O_DIRECTORY: u32 = 0o200000;
pub const O_NOFOLLOW: u32 = 0o400000;
pub const O_NOATIME: u32 = 0o1000000;
pub const O_CLOEXEC: u32 = 0o2000000;
/// The flags `F_SETFL` may change (Linux's SETFL_MASK without O_ASYNC).
pub const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME;
/// Every flag `open` knows; others are ignored as Linux does.
pub const VALID_OPEN_FLAGS: u32 = O_ACCMODE
    | O_CREAT
    | O_EXCL
    | O_NOCTTY
    | O_TRUNC
    | O_APPEND
    | O_NONBLOCK
    | O_DSYNC
    | O_DIRECT
    | O_LARGEFILE
    | O_DIRECTORY
    | O_NOFOLLOW
    | O_NOATIME
    | O_CLOEXEC;

/// `openat`'s and the `*at` calls' "relative to the working directory".
pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
pub const AT_REMOVEDIR: u32 = 0x200;
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
pub const AT_EMPTY_PATH: u32 = 0x1000;

pub const F_DUPFD: u32 = 0;
pub const F_GETFD: u32 = 1;
pub const F_SETFD: u32 = 2;
pub const F_GETFL: u32 = 3;
pub const F_SETFL: u32 = 4;
pub const F_DUPFD_CLOEXEC: u32 = 1030;
pub const FD_CLOEXEC: u32 = 1;

pub const SEEK_SET: u32 = 0;
pub const SEEK_CUR: u32 = 1;
pub const SEEK_END: u32 = 2;
pub const SEEK_DATA: u32 = 3;
pub const SEEK_HOLE: u32 = 4;

pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_SOCK: u8 = 12;

pub const POLLIN: u16 = 0x1;
pub const POLLOUT: u16 = 0x4;
pub const POLLERR: u16 = 0x8;
pub const POLLHUP: u16 = 0x10;
pub const POLLRDNORM: u16 = 0x40;
pub const POLLWRNORM: u16 = 0x100;

pub const TMPFS_MAGIC: u64 = 0x0102_1994;
pub const PIPEFS_MAGIC: u64 = 0x5049_5045;

/// Mount flags (`MS_*`) the core understands.
pub const MS_RDONLY: u32 = 1;

/// Access the permission check asks for (Linux's `MAY_*`).
pub const MAY_EXEC: u32 = 1;
pub const MAY_WRITE: u32 = 2;
pub const MAY_READ: u32 = 4;

/// The `d_type` of a mode's file type.
pub const fn dtype_of(mode: u32) -> u8 {
    match mode & S_IFMT {
        S_IFIFO => DT_FIFO,
        S_IFCHR => DT_CHR,
        S_IFDIR => DT_DIR,
        S_IFBLK => DT_BLK,
        S_IFREG => DT_REG,
        S_IFLNK => DT_LNK,
        S_IFSOCK => DT_SOCK,
        _ => DT_UNKNOWN,
    }
}

pub const fn is_dir(mode: u32) -> bool {
    mode & S_IFMT == S_IFDIR
}
pub const fn is_reg(mode: u32) -> bool {
    mode & S_IFMT == S_IFREG
}
pub const fn is_lnk(mode: u32) -> bool {
    mode & S_IFMT == S_IFLNK
}

/// Seconds and nanoseconds since the epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

/// Who asks: the file-system user and group ids and the supplementary
/// groups (Linux's fsuid/fsgid). Uid 0 is root and bypasses permission
/// checks as Linux's `CAP_DAC_OVERRIDE`/`CAP_FOWNER`/`CAP_CHOWN` do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cred {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl Cred {
    pub fn root() -> Cred {
        Cred::default()
    }
    pub fn user(uid: u32, gid: u32) -> Cred {
        Cred {
            uid,
            gid,
            groups: Vec::new(),
        }
    }
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
    /// Whether `gid` is the caller's group or one of its supplementary ones.
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// An inode's attributes as the core caches them (Linux's `struct inode`
/// fields that `stat` shows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InodeAttr {
    pub ino: Ino,
    /// File type and permission bits.
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// The device a character or block special file names.
    pub rdev: u64,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

/// `struct stat` of x86_64 Linux, field for field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_nlink: u64,
    pub st_mode: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub st_rdev: u64,
    pub st_size: i64,
    pub st_blksize: i64,
    pub st_blocks: i64,
    pub st_atime: Timespec,
    pub st_mtime: Timespec,
    pub st_ctime: Timespec,
}

/// `sizeof(struct stat)` on x86_64.
pub const STAT_SIZE: usize = 144;

impl Stat {
    /// The 144 bytes of `struct stat` as x86_64 Linux lays them out
    /// (little-endian, `__pad0` after `st_gid`, three unused words last).
    pub fn to_bytes(&self) -> [u8; STAT_SIZE] {
        let mut b = [0u8; STAT_SIZE];
        let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
        put(0, &self.st_dev.to_le_bytes());
        put(8, &self.st_ino.to_le_bytes());
        put(16, &self.st_nlink.to_le_bytes());
        put(24, &self.st_mode.to_le_bytes());
        put(28, &self.st_uid.to_le_bytes());
        put(32, &self.st_gid.to_le_bytes());
        put(40, &self.st_rdev.to_le_bytes());
        put(48, &self.st_size.to_le_bytes());
        put(56, &self.st_blksize.to_le_bytes());
        put(64, &self.st_blocks.to_le_bytes());
        let times = [self.st_atime, self.st_mtime, self.st_ctime];
        for (i, t) in times.iter().enumerate() {
            put(72 + 16 * i, &t.sec.to_le_bytes());
            put(80 + 16 * i, &t.nsec.to_le_bytes());
        }
        b
    }
}

/// `struct statfs` of x86_64 Linux (the fields that carry meaning).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatFs {
    pub f_type: u64,
    pub f_bsize: u64,
    pub f_blocks: u64,
    pub f_bfree: u64,
    pub f_bavail: u64,
    pub f_files: u64,
    pub f_ffree: u64,
    pub f_fsid: u64,
    pub f_namelen: u64,
    pub f_frsize: u64,
    pub f_flags: u64,
}

/// What a new inode is to be (the arguments of `create`, `mkdir`,
/// `symlink` and `mknod` in one record).
#[derive(Clone, Debug)]
pub struct NewInode<'a> {
    /// Type and permission bits, the umask already applied.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    /// The target of a symbolic link.
    pub symlink: &'a [u8],
    pub time: Timespec,
}

/// Names a superblock in the core's table.
pub type SbId = u32;
/// An in-core inode: its superblock and number.
pub type InodeKey = (SbId, Ino);
