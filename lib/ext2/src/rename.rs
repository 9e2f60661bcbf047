//! `rename`, the hardest name operation: within or across directories,
//! replacing an existing name (a file by a file, a directory by an empty
//! directory), refusing to move a directory under itself, and fixing a
//! moved directory's `..` and both parents' link counts. All checks come
//! before the first change; the only step that can run out of space (a
//! new entry in the target directory) comes before anything is removed.

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::fs::Ext2;
use crate::inode::{FileType, Inode};
use crate::namei::{check_name, LINK_MAX};

impl<D: BlockDevice> Ext2<D> {
    /// `rename`: moves `old_dir/old_name` to `new_dir/new_name`, replacing
    /// what is there. Renaming a name onto another link of the same inode
    /// does nothing. Errors: `NotFound`, `NotDir` (a directory over a
    /// non-directory, or a parent that is no directory), `IsDir` (a file
    /// over a directory), `NotEmpty`, `Invalid` (`.`/`..`, or a directory
    /// into itself), `TooManyLinks`, `NoSpace`, `ReadOnly`, `Corrupted`.
    pub fn rename(
        &mut self,
        old_dir: u32,
        old_name: &[u8],
        new_dir: u32,
        new_name: &[u8],
    ) -> Result<()> {
        self.check_writable()?;
        if old_name == b"." || old_name == b".." {
            return Err(Error::Invalid);
        }
        check_name(new_name).map_err(|e| {
            if e == Error::Exists {
                Error::Invalid
            } else {
                e
            }
        })?;
        let src_ino = self.lookup(old_dir, old_name)?;
        let src = self.live_child(src_ino)?;
        let target_dir = self.dir_inode(new_dir)?;
        let moves_dir = src.is_dir() && old_dir != new_dir;
        if src.is_dir() && self.is_ancestor(src_ino, new_dir)? {
            return Err(Error::Invalid);
        }
        let existing = self.find_entry(&target_dir, new_name)?;
        match existing {
            Some(found) if found.ino == src_ino => return Ok(()),
            Some(found) => self.replace_entry(new_dir, new_name, &src, found.ino)?,
            None => {
                if moves_dir && target_dir.links_count >= LINK_MAX {
                    return Err(Error::TooManyLinks);
                }
                self.add_entry(new_dir, new_name, src_ino, src.file_type())?;
            }
        }
        self.remove_entry(old_dir, old_name)?;
        if moves_dir {
            self.retarget_entry(src_ino, b"..", new_dir, FileType::Directory)?;
            self.update_inode(old_dir, |d| {
                d.links_count = d.links_count.saturating_sub(1);
                Ok(())
            })?;
            self.update_inode(new_dir, |d| {
                d.links_count += 1;
                Ok(())
            })?;
        }
        self.update_inode(src_ino, |_| Ok(()))
    }

    /// Points `dir/name`, which names `victim`, at `src` instead, after
    /// checking the pair, and drops the victim's link (a directory victim
    /// is released and its `..` link to `dir` goes with it).
    fn replace_entry(&mut self, dir: u32, name: &[u8], src: &Inode, victim: u32) -> Result<()> {
        let target = self.live_child(victim)?;
        if src.is_dir() && !target.is_dir() {
            return Err(Error::NotDir);
        }
        if !src.is_dir() && target.is_dir() {
            return Err(Error::IsDir);
        }
        if target.is_dir() && !self.dir_is_empty(&target)? {
            return Err(Error::NotEmpty);
        }
        self.retarget_entry(dir, name, src.ino, src.file_type())?;
        if !target.is_dir() {
            return self.drop_link(victim);
        }
        self.release_or_defer(victim)?;
        self.update_inode(dir, |d| {
            d.links_count = d.links_count.saturating_sub(1);
            Ok(())
        })
    }
}
