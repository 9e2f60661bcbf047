//! devfs (`/dev`): the device files, as Linux's devtmpfs keeps them.
//!
//! - **The store** is a [`Tmpfs`]: devfs is an in-memory tree whose
//!   nodes keep their mode, owner and times while mounted (`chmod`,
//!   `chown`, `mknod` by root, `mkdir`, `rm` work as in any tmpfs), and
//!   is given back at every boot. Linux's devtmpfs is a tmpfs instance
//!   too (drivers/base/devtmpfs.c).
//! - **At mount** (`fill_super`) it holds the character devices every
//!   Linux system has, with Linux's numbers (Documentation/admin-guide/
//!   devices.txt): [`STATIC_NODES`] — `null`, `zero`, `full`, `random`,
//!   `urandom`, `kmsg`, `tty`, `console`.
//! - **Devices that come and go** are made and removed by the device
//!   manager's uevents ([`apply_uevent`]): an `add` whose environment has
//!   `DEVNAME`, `MAJOR` and `MINOR` makes the node (`SUBSYSTEM=block`: a
//!   block device, else a character one; mode `DEVMODE` or 0600 as
//!   devtmpfs), a `remove` removes it if it is still that device's node.
//!   The server applies them as root through the ordinary calls, so the
//!   dcache sees every change. The block server's disks get their nodes
//!   the same way at start (`vda` 254:0, `vda1` 254:1, `ram0` 1:0).
//!
//! Reads and writes of a device node do not come here: the service routes
//! them by device number, as Linux's `chrdev` table does
//! (`service::Service`), so a node made anywhere (`mknod /tmp/z c 1 5`)
//! behaves the same.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::fs::{
    AddressSpaceOperations, FileSystem, FileSystemType, InodeOperations, PageIo, SuperOperations,
};
use crate::tmpfs::{mount_options, Tmpfs};
use crate::types::*;
use crate::vfs::Vfs;

/// `f_type` of devfs (Linux's old `DEVFS_SUPER_MAGIC`).
pub const DEVFS_MAGIC: u64 = 0x1373;

/// Linux's `dev_t` encoding (glibc's `gnu_dev_*`), from libsys.
pub use libsys::posix::{major, makedev, minor};

/// One node devfs makes at mount.
#[derive(Clone, Copy, Debug)]
pub struct StaticNode {
    pub name: &'static str,
    pub major: u32,
    pub minor: u32,
    /// Permission bits (the type is `S_IFCHR`).
    pub perm: u32,
}

/// The character devices of every system, as Linux numbers and (for
/// the memory devices) permits them. `console` is 0666 rather than
/// devtmpfs's 0600: programs started as other users write their output
/// to it until they have a terminal of their own.
pub const STATIC_NODES: [StaticNode; 8] = [
    node("null", 1, 3, 0o666),
    node("zero", 1, 5, 0o666),
    node("full", 1, 7, 0o666),
    node("random", 1, 8, 0o666),
    node("urandom", 1, 9, 0o666),
    node("kmsg", 1, 11, 0o644),
    node("tty", 5, 0, 0o666),
    node("console", 5, 1, 0o666),
];

const fn node(name: &'static str, major: u32, minor: u32, perm: u32) -> StaticNode {
    StaticNode {
        name,
        major,
        minor,
        perm,
    }
}

/// The registry entry for `"devfs"`.
pub struct DevfsType;

impl FileSystemType for DevfsType {
    fn name(&self) -> &'static str {
        "devfs"
    }
    /// Options: `mode=` of the root (0755 by default), `nr_inodes=`.
    fn mount(
        &self,
        _source: &[u8],
        _flags: u32,
        data: &[u8],
    ) -> Result<Box<dyn FileSystem>, Errno> {
        let (max_inodes, mode) = mount_options(data, 0o755, true)?;
        Ok(Box::new(Devfs::new(max_inodes, mode)?))
    }
}

/// One mounted devfs: a tmpfs with the static nodes in its root.
pub struct Devfs {
    tree: Tmpfs,
}

impl Devfs {
    pub fn new(max_inodes: u64, root_mode: u32) -> Result<Devfs, Errno> {
        let mut tree = Tmpfs::new(max_inodes, root_mode);
        let root = tree.root_ino();
        for n in STATIC_NODES {
            let new = NewInode {
                mode: S_IFCHR | n.perm,
                uid: 0,
                gid: 0,
                rdev: makedev(n.major, n.minor),
                symlink: b"",
                time: Timespec::default(),
            };
            tree.create(root, n.name.as_bytes(), &new)?;
        }
        Ok(Devfs { tree })
    }
}

impl SuperOperations for Devfs {
    fn magic(&self) -> u64 {
        DEVFS_MAGIC
    }
    fn root_ino(&self) -> Ino {
        self.tree.root_ino()
    }
    fn read_inode(&mut self, ino: Ino) -> Result<InodeAttr, Errno> {
        self.tree.read_inode(ino)
    }
    fn write_inode(&mut self, ino: Ino, attr: &InodeAttr) -> Result<(), Errno> {
        self.tree.write_inode(ino, attr)
    }
    fn evict_inode(&mut self, ino: Ino) {
        self.tree.evict_inode(ino)
    }
    fn statfs(&self) -> StatFs {
        StatFs {
            f_type: DEVFS_MAGIC,
            ..self.tree.statfs()
        }
    }
    fn in_memory(&self) -> bool {
        true
    }
    fn max_file_size(&self) -> u64 {
        self.tree.max_file_size()
    }
}

crate::forward_tree_operations!(Devfs, tree);

impl AddressSpaceOperations for Devfs {
    fn readpage(&mut self, ino: Ino, index: u64, page: &mut [u8]) -> Result<PageIo, Errno> {
        self.tree.readpage(ino, index, page)
    }
    fn writepage(&mut self, ino: Ino, index: u64, page: &[u8]) -> Result<(), Errno> {
        self.tree.writepage(ino, index, page)
    }
}

/// A uevent's action, as far as devfs cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UeventAction {
    Add,
    Remove,
    /// `change`, `bind`, `unbind`, …: nothing for devfs.
    Other,
}

/// A uevent in the netlink form devmgr sends (`action@devpath\0` then
/// `KEY=value\0` each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uevent {
    pub action: UeventAction,
    pub devpath: String,
    pub env: Vec<(String, String)>,
}

impl Uevent {
    /// Parses the netlink form (`EINVAL` for text that is not one: no
    /// `@` in the header, a variable without `=`, bytes that are not
    /// UTF-8).
    pub fn parse(bytes: &[u8]) -> Result<Uevent, Errno> {
        let text = core::str::from_utf8(bytes).map_err(|_| Errno::EINVAL)?;
        let mut parts = text.split('\0').filter(|p| !p.is_empty());
        let (action, devpath) = parts
            .next()
            .and_then(|h| h.split_once('@'))
            .ok_or(Errno::EINVAL)?;
        let action = match action {
            "add" => UeventAction::Add,
            "remove" => UeventAction::Remove,
            _ => UeventAction::Other,
        };
        let env = parts
            .map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (String::from(k), String::from(v)))
                    .ok_or(Errno::EINVAL)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Uevent {
            action,
            devpath: String::from(devpath),
            env,
        })
    }

    /// The `add` event a device's `uevent` attribute describes
    /// (`KEY=value` lines, as devmgr's sysfs shows them) — coldplug, as
    /// `udevadm trigger` replays the devices that came before the
    /// listener. `subsystem` is the class the device was found in.
    pub fn from_attribute(subsystem: &str, devpath: &str, text: &[u8]) -> Result<Uevent, Errno> {
        let text = core::str::from_utf8(text).map_err(|_| Errno::EINVAL)?;
        let mut env = alloc::vec![
            (String::from("ACTION"), String::from("add")),
            (String::from("DEVPATH"), String::from(devpath)),
            (String::from("SUBSYSTEM"), String::from(subsystem)),
        ];
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (k, v) = line.split_once('=').ok_or(Errno::EINVAL)?;
            env.push((String::from(k), String::from(v)));
        }
        Ok(Uevent {
            action: UeventAction::Add,
            devpath: String::from(devpath),
            env,
        })
    }

    /// The value of `key`.
    pub fn var(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The node the event names: its name below `/dev`, type and number.
    /// `None` for an event without `DEVNAME` (no node: a bus, a driver);
    /// `EINVAL` for a bad name or number.
    pub fn node(&self) -> Result<Option<(String, u32, u64)>, Errno> {
        let Some(name) = self.var("DEVNAME") else {
            return Ok(None);
        };
        let name = name.strip_prefix("/dev/").unwrap_or(name);
        let bad = |c: &str| c.is_empty() || c == "." || c == ".." || c.len() > NAME_MAX;
        if name.len() >= PATH_MAX || name.split('/').any(bad) {
            return Err(Errno::EINVAL);
        }
        let number = |key| -> Result<u32, Errno> {
            self.var(key)
                .ok_or(Errno::EINVAL)?
                .parse()
                .map_err(|_| Errno::EINVAL)
        };
        let (major, minor) = (number("MAJOR")?, number("MINOR")?);
        if major > 0xfff || minor > 0xf_ffff {
            return Err(Errno::EINVAL);
        }
        let kind = if self.var("SUBSYSTEM") == Some("block") {
            S_IFBLK
        } else {
            S_IFCHR
        };
        Ok(Some((String::from(name), kind, makedev(major, minor))))
    }
}

/// The number a block device of the block server gets, as Linux
/// numbers the same disks: `ram<N>` 1:N (brd), `vd<x>[<N>]` 254 with 16
/// minors a disk (virtio-blk: `vda` 254:0, `vda1` 254:1, `vdb` 254:16),
/// `sd<x>[<N>]` 8 likewise (sd); `None` for another name.
pub fn block_number(name: &str) -> Option<(u32, u32)> {
    let number = |s: &str| -> Option<u32> {
        if s.is_empty() {
            Some(0)
        } else if s.bytes().all(|b| b.is_ascii_digit()) && s.len() <= 2 {
            s.parse().ok()
        } else {
            None
        }
    };
    if let Some(n) = name.strip_prefix("ram") {
        return (!n.is_empty()).then(|| number(n)).flatten().map(|n| (1, n));
    }
    let (major, rest) = match name.get(..2)? {
        "vd" => (254, &name[2..]),
        "sd" => (8, &name[2..]),
        _ => return None,
    };
    let letter = *rest.as_bytes().first()?;
    if !letter.is_ascii_lowercase() {
        return None;
    }
    let part = number(&rest[1..]).filter(|&p| p < 16)?;
    Some((major, u32::from(letter - b'a') * 16 + part))
}

/// What [`apply_uevent`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Made `/dev/<name>`.
    Made(String),
    /// Removed `/dev/<name>`.
    Removed(String),
    /// Nothing to do (no node in the event, an action devfs ignores, a
    /// node already there, or one that is now another device's).
    Nothing,
}

/// Makes or removes the node a uevent names under `dev` (the mount
/// point, `/dev`), as `client` (root).
pub fn apply_uevent(
    vfs: &mut Vfs,
    client: ClientId,
    dev: &[u8],
    event: &Uevent,
) -> Result<Applied, Errno> {
    let Some((name, kind, rdev)) = event.node()? else {
        return Ok(Applied::Nothing);
    };
    let mut path = dev.to_vec();
    path.push(b'/');
    path.extend_from_slice(name.as_bytes());
    match event.action {
        UeventAction::Add => {
            let perm = match event.var("DEVMODE") {
                Some(m) => u32::from_str_radix(m, 8).map_err(|_| Errno::EINVAL)? & 0o777,
                None => 0o600,
            };
            make_node(vfs, client, &path, kind | perm, rdev).map(|made| {
                if made {
                    Applied::Made(name)
                } else {
                    Applied::Nothing
                }
            })
        }
        UeventAction::Remove => match vfs.lstat(client, &path) {
            Ok(st) if st.st_mode & S_IFMT == kind && st.st_rdev == rdev => {
                vfs.unlink(client, &path)?;
                Ok(Applied::Removed(name))
            }
            Ok(_) | Err(Errno::ENOENT) => Ok(Applied::Nothing),
            Err(e) => Err(e),
        },
        UeventAction::Other => Ok(Applied::Nothing),
    }
}

/// Makes the node `path` (and the directories above it, 0755), with
/// exactly `mode` whatever the umask. A node already there for the same
/// device stays (`false`); one for another device, or another kind of
/// file, is replaced.
pub fn make_node(
    vfs: &mut Vfs,
    client: ClientId,
    path: &[u8],
    mode: u32,
    rdev: u64,
) -> Result<bool, Errno> {
    for (i, _) in path.iter().enumerate().skip(1).filter(|(_, &b)| b == b'/') {
        match vfs.mkdir(client, &path[..i], 0o755) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
    }
    match vfs.lstat(client, path) {
        Ok(st) if st.st_mode & S_IFMT == mode & S_IFMT && st.st_rdev == rdev => return Ok(false),
        Ok(st) if is_dir(st.st_mode) => return Err(Errno::EISDIR),
        Ok(_) => vfs.unlink(client, path)?,
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(e),
    }
    vfs.mknodat(client, AT_FDCWD, path, mode, rdev)?;
    vfs.chmod(client, path, mode & S_IALLUGO)?;
    Ok(true)
}
