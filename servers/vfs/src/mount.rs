//! The mount table (LKD 13, `struct vfsmount`): which superblock is
//! mounted on which dentry of which other mount. A [`Path`] is a place in
//! the whole tree: a mount and a dentry within it, as Linux's `struct path`.
//!
//! Invariants: a mount's `refs` counts the paths held inside it (open
//! files, working directories) and `children` the mounts on it; umount of
//! a mount with either is `EBUSY`. The mountpoint dentry's `mounted` count
//! (in the dcache) says whether a walk must look here.

use crate::dcache::DentryId;
use crate::slab::Slab;
use crate::types::SbId;

pub type MountId = u32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Path {
    pub mnt: MountId,
    pub dentry: DentryId,
}

#[derive(Clone, Debug)]
pub struct Mount {
    pub sb: SbId,
    /// The root dentry of what is mounted.
    pub root: DentryId,
    /// Where it is mounted: `None` for the root mount.
    pub mountpoint: Option<Path>,
    /// `MS_*` flags of this mount.
    pub flags: u32,
    pub refs: u32,
    pub children: u32,
    /// The `source` argument of `mount`, for `/proc/mounts`.
    pub source: alloc::vec::Vec<u8>,
}

#[derive(Default)]
pub struct MountTable {
    pub(crate) mounts: Slab<Mount>,
}

impl MountTable {
    pub fn get(&self, m: MountId) -> Option<&Mount> {
        self.mounts.get(m)
    }
    pub fn get_mut(&mut self, m: MountId) -> Option<&mut Mount> {
        self.mounts.get_mut(m)
    }
    /// The mount on top of `at`, if any (the last one mounted there).
    pub fn mounted_on(&self, at: Path) -> Option<MountId> {
        self.mounts
            .iter()
            .filter(|(_, m)| m.mountpoint == Some(at))
            .map(|(id, _)| id)
            .last()
    }
    pub fn iter(&self) -> impl Iterator<Item = (MountId, &Mount)> {
        self.mounts.iter()
    }
    pub fn len(&self) -> usize {
        self.mounts.len()
    }
    pub fn is_empty(&self) -> bool {
        self.mounts.is_empty()
    }
}
