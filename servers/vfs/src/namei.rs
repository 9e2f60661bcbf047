//! Path walk (LKD 13; Linux's `fs/namei.c`): from a starting directory,
//! component by component, through the dentry cache (asking the file
//! system on a miss and caching negative answers), across mount points
//! both ways, following symbolic links.
//!
//! The rules, as Linux's: every directory passed needs search (`x`)
//! permission (`EACCES`); a component that is not a directory where one is
//! needed is `ENOTDIR`; a missing one `ENOENT`; a component longer than
//! `NAME_MAX` or a path of `PATH_MAX` bytes or more is `ENAMETOOLONG`; more
//! than `MAXSYMLINKS` (40) links in one walk is `ELOOP`; `..` of the
//! client's root is the root itself, and `..` of a mount's root goes to
//! the parent of its mount point; a trailing `/` demands a directory and
//! follows a final symlink. The walk takes no references: nothing it
//! returns can be freed before the operation that asked ends.

use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::dcache::DentryId;
use crate::file::FileKind;
use crate::mount::Path;
use crate::perm::permission;
use crate::types::*;
use crate::vfs::Vfs;

/// Dentries one request may add above the cache's limit.
pub const DENTRY_SLACK: u64 = 16 * 1024;

/// Names up to this long are kept inline in a [`Name`].
const NAME_INLINE: usize = 30;

/// A path component of at most `NAME_MAX` bytes: a short one (the usual
/// case) kept inline, so a walk allocates nothing for its last
/// component, and the value stays small to move; a longer one on the heap.
#[derive(Clone, PartialEq, Eq)]
pub enum Name {
    Short { len: u8, bytes: [u8; NAME_INLINE] },
    Long(Vec<u8>),
}

impl Name {
    /// `ENAMETOOLONG` past `NAME_MAX` bytes.
    pub fn new(name: &[u8]) -> Result<Name, Errno> {
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if name.len() > NAME_INLINE {
            return Ok(Name::Long(name.to_vec()));
        }
        let mut bytes = [0; NAME_INLINE];
        bytes[..name.len()].copy_from_slice(name);
        Ok(Name::Short {
            len: name.len() as u8,
            bytes,
        })
    }
}

impl core::ops::Deref for Name {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Name::Short { len, bytes } => &bytes[..usize::from(*len)],
            Name::Long(v) => v,
        }
    }
}

impl core::fmt::Debug for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}", alloc::string::String::from_utf8_lossy(self))
    }
}

/// The last component of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Last {
    Name(Name),
    Dot,
    DotDot,
    /// The path was `/` (or only slashes).
    Root,
}

/// What the walk of all but the last component found.
#[derive(Clone, Debug)]
pub struct Parent {
    pub dir: Path,
    pub last: Last,
    /// The path ended in `/`.
    pub trailing_slash: bool,
}

/// Who walks: the credentials and the root they cannot climb above.
#[derive(Clone, Debug)]
pub struct Walker {
    pub cred: alloc::rc::Rc<Cred>,
    pub root: Path,
    /// Who walks (procfs's `self` link is the walker's pid).
    pub client: ClientId,
}

/// `ENOENT` for an empty path, `ENAMETOOLONG` for one of `PATH_MAX`
/// bytes or more (the NUL would not fit).
pub fn check_path(path: &[u8]) -> Result<(), Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

impl Vfs {
    /// The walker and the start directory of a `*at` call: `/` for an
    /// absolute path, the working directory for `AT_FDCWD`, else the
    /// directory `dirfd` names (`EBADF`, `ENOTDIR`).
    pub(crate) fn start(
        &self,
        client: ClientId,
        dirfd: i32,
        path: &[u8],
    ) -> Result<(Walker, Path), Errno> {
        let c = self.client(client)?;
        let walker = Walker {
            cred: c.cred.clone(),
            root: c.root,
            client,
        };
        if path.first() == Some(&b'/') {
            return Ok((walker, c.root));
        }
        if dirfd == AT_FDCWD {
            return Ok((walker, c.cwd));
        }
        let entry = c.fds.get(dirfd)?;
        match self.file(entry.file)?.kind {
            FileKind::Inode { key, path } if is_dir(self.attr(key)?.mode) => Ok((walker, path)),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn is_dir_path(&self, p: Path) -> bool {
        self.dcache
            .get(p.dentry)
            .key()
            .and_then(|k| self.attr(k).ok())
            .is_some_and(|a| is_dir(a.mode))
    }

    /// Goes down through whatever is mounted on `p`.
    fn follow_mounts(&self, mut p: Path) -> Path {
        while self.dcache.get(p.dentry).mounted > 0 {
            match self.mounts.mounted_on(p) {
                Some(m) => {
                    let root = self.mounts.get(m).map_or(p.dentry, |mt| mt.root);
                    p = Path {
                        mnt: m,
                        dentry: root,
                    };
                }
                None => break,
            }
        }
        p
    }

    /// `..` of `p`, not above `root` (`follow_dotdot`).
    pub(crate) fn dotdot(&self, root: Path, mut p: Path) -> Path {
        loop {
            if p == root {
                return p;
            }
            let Some(m) = self.mounts.get(p.mnt) else {
                return p;
            };
            if p.dentry != m.root {
                break;
            }
            match m.mountpoint {
                Some(up) => p = up,
                None => return p,
            }
        }
        let parent = self.dcache.get(p.dentry).parent;
        self.follow_mounts(Path {
            mnt: p.mnt,
            dentry: parent,
        })
    }

    /// The child `name` of directory `dir`: from the dcache or the file
    /// system (caching a negative answer), mounts followed. The result may
    /// be negative.
    pub(crate) fn child(&mut self, dir: Path, name: &[u8]) -> Result<Path, Errno> {
        let hit = self.dcache.lookup(dir.dentry, name);
        let hit = match hit {
            Some(d) if self.sb(self.dcache.get(d).sb)?.revalidates => {
                self.d_revalidate(dir, d, name)?
            }
            other => other,
        };
        let d = match hit {
            Some(d) => d,
            None => {
                let (sb, ino) = self.path_key(dir)?;
                let found = self.fs(sb)?.lookup(ino, name)?;
                self.d_alloc(dir.dentry, name, found.map(|i| (sb, i)))?
            }
        };
        Ok(self.follow_mounts(Path {
            mnt: dir.mnt,
            dentry: d,
        }))
    }

    /// `d_revalidate` of the cached child `d` named `name` in `dir`: kept
    /// (`Some`) if the file system says it still holds, else dropped from
    /// the cache (`None`: look it up again).
    fn d_revalidate(
        &mut self,
        dir: Path,
        d: DentryId,
        name: &[u8],
    ) -> Result<Option<DentryId>, Errno> {
        let (sb, dir_ino) = self.path_key(dir)?;
        let ino = self.dcache.get(d).inode;
        if self.fs(sb)?.d_revalidate(dir_ino, name, ino) {
            return Ok(Some(d));
        }
        let released = self.dcache.drop_name(d);
        self.iput_all(released);
        Ok(None)
    }

    /// A new cached child. The cache is never shrunk here — the walk
    /// holds no references, so shrinking could free the dentries it
    /// stands on; [`Vfs::trim_caches`] does it between requests. A single
    /// request may go past the limit by [`DENTRY_SLACK`] dentries (one
    /// path's components and its links'), beyond which it gets `ENOMEM`.
    pub(crate) fn d_alloc(
        &mut self,
        parent: DentryId,
        name: &[u8],
        key: Option<InodeKey>,
    ) -> Result<DentryId, Errno> {
        if self.dcache.state().nr_dentry >= self.limits.dentries.saturating_add(DENTRY_SLACK) {
            return Err(Errno::ENOMEM);
        }
        if let Some(k) = key {
            self.iget(k)?;
        }
        Ok(self.dcache.alloc(parent, name, key.map(|k| k.1)))
    }

    /// One step: `.`, `..` or a name, after checking search permission on
    /// `dir`.
    fn step(&mut self, w: &Walker, dir: Path, name: &[u8]) -> Result<Path, Errno> {
        let attr = self.attr(self.path_key(dir)?)?;
        if !is_dir(attr.mode) {
            return Err(Errno::ENOTDIR);
        }
        permission(&attr, &w.cred, MAY_EXEC)?;
        match name {
            b"." => Ok(dir),
            b".." => Ok(self.dotdot(w.root, dir)),
            _ => {
                if name.len() > NAME_MAX {
                    return Err(Errno::ENAMETOOLONG);
                }
                self.child(dir, name)
            }
        }
    }

    /// If `p` is a symbolic link, where it leads (walked from `dir`, the
    /// directory holding it); else `p`.
    fn follow_link(
        &mut self,
        w: &Walker,
        dir: Path,
        p: Path,
        links: &mut u32,
    ) -> Result<Path, Errno> {
        let Some(key) = self.dcache.get(p.dentry).key() else {
            return Ok(p);
        };
        if !is_lnk(self.attr(key)?.mode) {
            return Ok(p);
        }
        *links += 1;
        if *links > MAXSYMLINKS {
            return Err(Errno::ELOOP);
        }
        let target = self.fs(key.0)?.readlink_as(key.1, w.client)?;
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        self.walk_from(w, dir, &target, true, links)
    }

    /// Walks all but the last component of `path` from `start`.
    pub(crate) fn walk_parent(
        &mut self,
        w: &Walker,
        start: Path,
        path: &[u8],
        links: &mut u32,
    ) -> Result<Parent, Errno> {
        let mut dir = if path.first() == Some(&b'/') {
            w.root
        } else {
            start
        };
        // Component by component, the last kept back (no list is built).
        let mut comps = path.split(|&b| b == b'/').filter(|c| !c.is_empty());
        let Some(mut last) = comps.next() else {
            return Ok(Parent {
                dir,
                last: Last::Root,
                trailing_slash: false,
            });
        };
        for following in comps {
            let comp = core::mem::replace(&mut last, following);
            let next = self.step(w, dir, comp)?;
            let next = self.follow_link(w, dir, next, links)?;
            if self.dcache.get(next.dentry).inode.is_none() {
                return Err(Errno::ENOENT);
            }
            if !self.is_dir_path(next) {
                return Err(Errno::ENOTDIR);
            }
            dir = next;
        }
        if last.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let last = match last {
            b"." => Last::Dot,
            b".." => Last::DotDot,
            name => Last::Name(Name::new(name)?),
        };
        Ok(Parent {
            dir,
            last,
            trailing_slash: path.last() == Some(&b'/'),
        })
    }

    /// Resolves the last component found by [`Self::walk_parent`]: the
    /// result may be negative (a name that does not exist) for
    /// `Last::Name`; symlinks are followed if `follow` or a trailing slash.
    pub(crate) fn walk_last(
        &mut self,
        w: &Walker,
        p: &Parent,
        follow: bool,
        links: &mut u32,
    ) -> Result<Path, Errno> {
        let found = match &p.last {
            Last::Root => return Ok(self.follow_mounts(p.dir)),
            Last::Dot => self.step(w, p.dir, b".")?,
            Last::DotDot => self.step(w, p.dir, b"..")?,
            Last::Name(name) => self.step(w, p.dir, name)?,
        };
        let found = if follow || p.trailing_slash {
            self.follow_link(w, p.dir, found, links)?
        } else {
            found
        };
        if p.trailing_slash
            && self.dcache.get(found.dentry).inode.is_some()
            && !self.is_dir_path(found)
        {
            return Err(Errno::ENOTDIR);
        }
        Ok(found)
    }

    /// Walks all of `path` from `start` to an existing object (`ENOENT`
    /// otherwise).
    pub(crate) fn walk_from(
        &mut self,
        w: &Walker,
        start: Path,
        path: &[u8],
        follow: bool,
        links: &mut u32,
    ) -> Result<Path, Errno> {
        check_path(path)?;
        let parent = self.walk_parent(w, start, path, links)?;
        let found = self.walk_last(w, &parent, follow, links)?;
        if self.dcache.get(found.dentry).inode.is_none() {
            return Err(Errno::ENOENT);
        }
        Ok(found)
    }

    /// Resolves `path` for `client` relative to `dirfd` (`user_path_at`).
    pub(crate) fn lookup_at(
        &mut self,
        client: ClientId,
        dirfd: i32,
        path: &[u8],
        follow: bool,
    ) -> Result<Path, Errno> {
        check_path(path)?;
        let (w, start) = self.start(client, dirfd, path)?;
        let mut links = 0;
        self.walk_from(&w, start, path, follow, &mut links)
    }

    /// Walks to the parent of `path` for a call that creates or removes
    /// its last component.
    pub(crate) fn parent_at(
        &mut self,
        client: ClientId,
        dirfd: i32,
        path: &[u8],
    ) -> Result<(Walker, Parent), Errno> {
        check_path(path)?;
        let (w, start) = self.start(client, dirfd, path)?;
        let mut links = 0;
        let parent = self.walk_parent(&w, start, path, &mut links)?;
        Ok((w, parent))
    }

    /// The absolute path of `p` as seen from `root` (`d_path`), or
    /// `ENOENT` if `p` was removed.
    pub(crate) fn d_path(&self, root: Path, mut p: Path) -> Result<Vec<u8>, Errno> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        loop {
            if p == root {
                break;
            }
            let Some(m) = self.mounts.get(p.mnt) else {
                return Err(Errno::ENOENT);
            };
            if p.dentry == m.root {
                match m.mountpoint {
                    Some(up) => {
                        p = up;
                        continue;
                    }
                    None => break,
                }
            }
            let d = self.dcache.get(p.dentry);
            if !d.is_hashed() || d.parent == p.dentry {
                return Err(Errno::ENOENT);
            }
            parts.push(d.name.clone());
            p = Path {
                mnt: p.mnt,
                dentry: d.parent,
            };
        }
        let mut out = Vec::new();
        for part in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(part);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        Ok(out)
    }
}
