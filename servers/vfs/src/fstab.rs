//! `/etc/fstab` at start: the lines whose type is served here mounted,
//! as the server does after unpacking the initramfs (and as a replay of
//! its record does, `vfs::record`).

use alloc::string::String;
use alloc::vec::Vec;

use crate::types::{ClientId, MS_RDONLY, O_RDONLY};
use crate::{Errno, Io, Vfs};

/// The file-system table read at start.
pub const FSTAB: &[u8] = b"/etc/fstab";

/// What one line of the table came to.
pub enum Mounted {
    /// `source` mounted on `target`.
    Done {
        source: String,
        target: String,
        fstype: &'static str,
    },
    /// The mount failed.
    Failed {
        source: String,
        target: String,
        error: Errno,
    },
}

/// Mounts the lines of `/etc/fstab` (`<device> <dir> <type> <options>`;
/// options `defaults`, `rw`, `ro`, `noauto`; others are ignored) whose
/// type is served here: `ext2`, `proc`, `sysfs`, `devfs`, as `client`
/// (root). A `devfs` line for a directory devfs is mounted on already
/// (`/dev`, at start) is satisfied. Each mount tried is told to
/// `report`.
pub fn mount_fstab(vfs: &mut Vfs, client: ClientId, report: &mut dyn FnMut(Mounted)) {
    let text = read_whole(vfs, client, FSTAB).unwrap_or_default();
    for line in text.split(|&b| b == b'\n') {
        let mut fields = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let (Some(source), Some(target), Some(fstype)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Some(fstype) = ["ext2", "proc", "sysfs", "devfs"]
            .into_iter()
            .find(|t| t.as_bytes() == fstype)
        else {
            continue;
        };
        if source.starts_with(b"#") {
            continue;
        }
        let options = fields.next().unwrap_or(b"defaults");
        let opts: Vec<&[u8]> = options.split(|&b| b == b',').collect();
        if opts.contains(&&b"noauto"[..]) {
            continue;
        }
        let flags = if opts.contains(&&b"ro"[..]) {
            MS_RDONLY
        } else {
            0
        };
        let show = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let is_devfs = |vfs: &mut Vfs| {
            vfs.statfs(client, target)
                .is_ok_and(|s| s.f_type == crate::devfs::DEVFS_MAGIC)
        };
        if fstype == "devfs" && is_devfs(vfs) {
            continue;
        }
        let (source_text, target_text) = (show(source), show(target));
        report(
            match vfs.mount(client, source, target, fstype, flags, options) {
                Ok(()) => Mounted::Done {
                    source: source_text,
                    target: target_text,
                    fstype,
                },
                Err(error) => Mounted::Failed {
                    source: source_text,
                    target: target_text,
                    error,
                },
            },
        );
    }
}

/// A whole (small, at most 64 KiB) file read as `client`.
pub fn read_whole(vfs: &mut Vfs, client: ClientId, path: &[u8]) -> Option<Vec<u8>> {
    let fd = vfs.open(client, path, O_RDONLY, 0).ok()?;
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    while let Ok(Io::Done(n)) = vfs.read(client, fd, &mut buf) {
        if n == 0 || out.len() > 64 * 1024 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    let _ = vfs.close(client, fd);
    Some(out)
}
