//! Which file an `execve` (or `Spawn`) runs: lib/exec's `resolve` (the
//! `#!` chain, host-tested there) over the image source, its errors as
//! errnos (`ENOENT`/`EACCES` from the source, `ENOEXEC`, `ELOOP`).

use alloc::vec::Vec;

use libsys::errno::Errno;

use crate::image::{FileKey, ImageSource};

/// The program to run: its bytes and key, the path it was read from and
/// the arguments it gets.
pub type Resolved = exec::Resolved<FileKey>;

/// Follows `#!` lines from `path` with `argv`.
pub fn resolve(
    images: &mut dyn ImageSource,
    path: &[u8],
    argv: &[&[u8]],
) -> Result<Resolved, Errno> {
    let read = |p: &[u8]| -> Result<(Vec<u8>, FileKey), Errno> {
        let (bytes, key) = images.read_keyed(p)?;
        Ok((bytes, key.ok_or(Errno::ENOEXEC)?))
    };
    exec::resolve(read, path, argv).map_err(|e| match e {
        exec::ResolveError::Read(e) => e,
        exec::ResolveError::Exec(e) => Errno::from_i32(e.errno()).unwrap_or(Errno::ENOEXEC),
    })
}
