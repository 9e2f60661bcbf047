//! Where the process server reads executables from, behind one trait
//! ([`ImageSource`]) so that the source can be switched: the file server
//! (`vfs`: open, fstat, read, close by path, the normal case) or, until
//! the file server runs in a boot, the initramfs boot module itself
//! (`initramfs=<handle>:<bytes>` from the manifest's `initramfs`
//! option), searched with lib/cpio. Either way the file must be a regular
//! file with an execute bit (`EACCES` otherwise) and at most
//! [`IMAGE_MAX`] bytes (`E2BIG`... `ENOEXEC` past it: no program is that big).

use alloc::vec::Vec;

use libsys::abi::{Handle, Protection, PAGE_SIZE};
use libsys::errno::Errno;
use libsys::mem::{Memory, Pages};
use libsys::proto::vfs;

/// The largest executable read (8 MiB).
pub const IMAGE_MAX: usize = 8 << 20;

/// Which version of which file an image is (`st_dev`, `st_ino`,
/// `st_size`, `st_mtime`): the key of the image cache (`cache.rs`), so
/// that every process running one program runs the same image and a
/// rewritten file is a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileKey {
    pub dev: u64,
    pub ino: u64,
    pub size: i64,
    pub mtime: (i64, u32),
}

/// Gives the bytes of the executable at `path`.
pub trait ImageSource {
    /// As [`ImageSource::read`], with the file's [`FileKey`] (`None` if
    /// the source cannot say which file it was: then it is not cached).
    fn read_keyed(&mut self, path: &[u8]) -> Result<(Vec<u8>, Option<FileKey>), Errno> {
        self.read(path).map(|bytes| (bytes, None))
    }

    /// The file's bytes: `ENOENT` (no such file), `EACCES` (not a regular
    /// file with an execute bit), `ENOEXEC` (larger than [`IMAGE_MAX`]),
    /// or the file server's errno.
    fn read(&mut self, path: &[u8]) -> Result<Vec<u8>, Errno>;
    /// For the log.
    fn name(&self) -> &'static str;
}

/// Executables read through the file server, as any process reads them.
pub struct VfsImages {
    pub client: vfs::Client,
}

const O_RDONLY: u32 = 0;
const AT_FDCWD: i32 = -100;
const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;

impl ImageSource for VfsImages {
    fn read(&mut self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        self.read_keyed(path).map(|(bytes, _)| bytes)
    }

    fn read_keyed(&mut self, path: &[u8]) -> Result<(Vec<u8>, Option<FileKey>), Errno> {
        let c = &self.client;
        let fd = c.open(AT_FDCWD, path, O_RDONLY, 0).map_err(|e| e.errno())?;
        let read = read_all(c, fd);
        let _ = c.close(fd);
        read.map(|(bytes, key)| (bytes, Some(key)))
    }

    fn name(&self) -> &'static str {
        "the file server"
    }
}

fn read_all(c: &vfs::Client, fd: i32) -> Result<(Vec<u8>, FileKey), Errno> {
    let st = c.fstat(fd).map_err(|e| e.errno())?;
    if st.mode & S_IFMT != S_IFREG || st.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    let size = usize::try_from(st.size).map_err(|_| Errno::ENOEXEC)?;
    if size > IMAGE_MAX {
        return Err(Errno::ENOEXEC);
    }
    let key = FileKey {
        dev: st.dev,
        ino: st.ino,
        size: st.size,
        mtime: st.mtime,
    };
    let mut bytes = alloc::vec![0u8; size];
    let mut done = 0;
    while done < size {
        let n = c.read(fd, &mut bytes[done..]).map_err(|e| e.errno())?;
        if n == 0 {
            break;
        }
        done += n;
    }
    bytes.truncate(done);
    Ok((bytes, key))
}

/// Executables found in the initramfs boot module (a stand-in while no
/// file server runs): the module mapped read-only for good (a leaked
/// `Mapping`).
pub struct InitramfsModule {
    archive: &'static [u8],
}

impl InitramfsModule {
    /// Maps the module (`handle`, `size` bytes) into this process.
    pub fn map(mem: &mut Memory, handle: Handle, size: u64) -> Result<InitramfsModule, Errno> {
        let pages = Pages {
            region: handle,
            first: 0,
            count: size.div_ceil(PAGE_SIZE).max(1),
        };
        let view = mem
            .map_view(pages, Protection::READ)
            .map_err(|_| Errno::ENOMEM)?;
        let archive = view.leak().get(..size as usize).ok_or(Errno::ENOMEM)?;
        Ok(InitramfsModule { archive })
    }
}

impl ImageSource for InitramfsModule {
    /// The archive never changes: a file is known by its path (FNV-1a)
    /// and size.
    fn read_keyed(&mut self, path: &[u8]) -> Result<(Vec<u8>, Option<FileKey>), Errno> {
        let bytes = self.read(path)?;
        let ino = path.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let key = FileKey {
            dev: u64::MAX,
            ino,
            size: bytes.len() as i64,
            mtime: (0, 0),
        };
        Ok((bytes, Some(key)))
    }

    fn read(&mut self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        let wanted = core::str::from_utf8(path).map_err(|_| Errno::ENOENT)?;
        let wanted = wanted.trim_start_matches('/');
        for entry in cpio::Archive::new(self.archive).entries() {
            let Ok(entry) = entry else {
                return Err(Errno::EIO);
            };
            if entry.name != wanted {
                continue;
            }
            if entry.file_type != cpio::FileType::Regular || entry.perm & 0o111 == 0 {
                return Err(Errno::EACCES);
            }
            if entry.data.len() > IMAGE_MAX {
                return Err(Errno::ENOEXEC);
            }
            return Ok(entry.data.to_vec());
        }
        Err(Errno::ENOENT)
    }

    fn name(&self) -> &'static str {
        "the initramfs boot module"
    }
}
