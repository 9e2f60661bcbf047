//! Unpacking the initramfs (a newc cpio archive, lib/cpio's reader) into
//! the root file system, as Linux's `init/initramfs.c` does: directories,
//! regular files with their data, symlinks and hard links, each with the
//! archive's mode and owner, made by a root client through the ordinary
//! calls. Device nodes, FIFOs and sockets are skipped (the file server
//! makes its own device files). The first fault of the archive ends the
//! walk with `EINVAL`; what was unpacked before it stays.

use alloc::format;
use alloc::string::String;

use cpio::header::FileType;
use cpio::reader::Archive;

use crate::types::{ClientId, AT_FDCWD, O_CREAT, O_TRUNC, O_WRONLY};
use crate::{Errno, Io, Vfs};

/// What [`unpack`] made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unpacked {
    pub dirs: usize,
    pub files: usize,
    pub symlinks: usize,
    pub links: usize,
    pub skipped: usize,
}

/// Unpacks `archive` through `client` (which should be root, so owners
/// and modes can be set as listed).
pub fn unpack(vfs: &mut Vfs, client: ClientId, archive: &[u8]) -> Result<Unpacked, Errno> {
    unpack_entries(vfs, client, Archive::new(archive).entries().map(|e| e.ok()))
}

/// [`unpack`] of entries given one by one (`None`: a malformed one,
/// `EINVAL`): the archive's, or those a replay rebuilt from a recorded
/// listing (`vfs::record`).
pub fn unpack_entries<'a>(
    vfs: &mut Vfs,
    client: ClientId,
    entries: impl IntoIterator<Item = Option<cpio::reader::Entry<'a>>>,
) -> Result<Unpacked, Errno> {
    let mut made = Unpacked::default();
    for entry in entries {
        let entry = entry.ok_or(Errno::EINVAL)?;
        let path: String = if entry.name.starts_with('/') {
            String::from(entry.name.as_ref())
        } else {
            format!("/{}", entry.name)
        };
        if path == "/" || path == "/." {
            continue;
        }
        let path = path.as_bytes();
        if let Some(first) = &entry.link {
            let first = format!("/{}", first.trim_start_matches('/'));
            vfs.link(client, first.as_bytes(), path)?;
            write_all(vfs, client, path, entry.data)?;
            made.links += 1;
            continue;
        }
        match entry.file_type {
            FileType::Directory => {
                match vfs.mkdir(client, path, entry.perm) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(e),
                }
                made.dirs += 1;
            }
            FileType::Regular => {
                let fd = vfs.openat(client, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, 0)?;
                let wrote = write_fd(vfs, client, fd, entry.data);
                vfs.close(client, fd)?;
                wrote?;
                made.files += 1;
            }
            FileType::Symlink => {
                vfs.symlink(client, entry.data, path)?;
                made.symlinks += 1;
                continue;
            }
            _ => {
                made.skipped += 1;
                continue;
            }
        }
        vfs.chmod(client, path, entry.perm)?;
        vfs.chown(client, path, Some(entry.uid), Some(entry.gid))?;
    }
    Ok(made)
}

/// Writes `data` to `path` (opened without truncating), if any.
fn write_all(vfs: &mut Vfs, client: ClientId, path: &[u8], data: &[u8]) -> Result<(), Errno> {
    if data.is_empty() {
        return Ok(());
    }
    let fd = vfs.openat(client, AT_FDCWD, path, O_WRONLY, 0)?;
    let wrote = write_fd(vfs, client, fd, data);
    vfs.close(client, fd)?;
    wrote
}

fn write_fd(vfs: &mut Vfs, client: ClientId, fd: i32, mut data: &[u8]) -> Result<(), Errno> {
    while !data.is_empty() {
        match vfs.write(client, fd, data)? {
            Io::Done(0) | Io::Blocked(_) => return Err(Errno::EIO),
            Io::Done(n) => data = &data[n.min(data.len())..],
        }
    }
    Ok(())
}
