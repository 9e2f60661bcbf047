//! `mmap`, `munmap`, `msync` (`<sys/mman.h>`): anonymous memory from the
//! memory server, files through the file server, which checks the open
//! file and has the memory server map the page cache's own frames
//! (`docs/architecture.md`, "File mappings").
//!
//! Differences from Linux: `PROT_NONE` is not supported (READ is always
//! implied); an address without `MAP_FIXED` is no hint; `MAP_FIXED` over
//! an existing mapping is `EEXIST` (as `MAP_FIXED_NOREPLACE`), not a
//! replacement; a shared anonymous mapping is private until `fork`
//! (it is not shared with a child); `munmap` of a range with a hole is
//! `EINVAL`; `MS_ASYNC` writes back at once, as `MS_SYNC` does.

use crate::errno::Errno;

pub const PROT_NONE: u32 = 0;
pub const PROT_READ: u32 = 1;
pub const PROT_WRITE: u32 = 2;
pub const PROT_EXEC: u32 = 4;
pub const MAP_SHARED: u32 = 0x01;
pub const MAP_PRIVATE: u32 = 0x02;
pub const MAP_FIXED: u32 = 0x10;
pub const MAP_ANONYMOUS: u32 = 0x20;
pub const MS_ASYNC: u32 = 1;
pub const MS_INVALIDATE: u32 = 2;
pub const MS_SYNC: u32 = 4;

const PAGE: u64 = crate::abi::PAGE_SIZE;

/// The checks `mmap` makes before any call: (pages, file page index,
/// shared). `EINVAL` for a zero length, unknown flag or protection bits,
/// neither or both of `MAP_SHARED`/`MAP_PRIVATE`, an unaligned offset
/// or `MAP_FIXED` address; `ENOMEM` for a length that overflows.
pub fn mmap_args(
    addr: u64,
    len: u64,
    prot: u32,
    flags: u32,
    offset: u64,
) -> Result<(u64, u64, bool), Errno> {
    let known = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS;
    let sharing = flags & (MAP_SHARED | MAP_PRIVATE);
    if len == 0
        || flags & !known != 0
        || prot & !(PROT_READ | PROT_WRITE | PROT_EXEC) != 0
        || (sharing != MAP_SHARED && sharing != MAP_PRIVATE)
        || !offset.is_multiple_of(PAGE)
        || (flags & MAP_FIXED != 0 && !addr.is_multiple_of(PAGE))
    {
        return Err(Errno::EINVAL);
    }
    let pages = len.checked_add(PAGE - 1).ok_or(Errno::ENOMEM)? / PAGE;
    Ok((pages, offset / PAGE, sharing == MAP_SHARED))
}

#[cfg(target_os = "none")]
pub use calls::*;

#[cfg(target_os = "none")]
mod calls {
    use super::*;
    use crate::mm::Error as MmCallError;
    use crate::proto::mm::MmError;

    fn me(e: MmCallError) -> Errno {
        match e {
            MmCallError::Mm(MmError::NoMemory | MmError::NoSpace) => Errno::ENOMEM,
            MmCallError::Mm(MmError::Overlap) => Errno::EEXIST,
            MmCallError::Mm(MmError::NotAllowed) => Errno::EACCES,
            MmCallError::Mm(_) => Errno::EINVAL,
            MmCallError::NoServer => Errno::ENOSYS,
            _ => Errno::EIO,
        }
    }

    /// `mmap(addr, len, prot, flags, fd, offset)`: the address mapped.
    /// Errors: see [`mmap_args`]; `EBADF` (no such fd), `EACCES` (the
    /// file's open mode does not allow it), `ENODEV` (not a regular file),
    /// `EEXIST` (`MAP_FIXED` over a mapping), `ENOMEM`.
    pub fn mmap(
        addr: u64,
        len: u64,
        prot: u32,
        flags: u32,
        fd: i32,
        offset: u64,
    ) -> Result<u64, Errno> {
        let (pages, index, shared) = mmap_args(addr, len, prot, flags, offset)?;
        let at = (flags & MAP_FIXED != 0).then_some(addr);
        if flags & MAP_ANONYMOUS != 0 {
            let protection = crate::abi::Protection::from_bits_truncate(u64::from(prot));
            return crate::mm::mmap(at, pages, protection, false).map_err(me);
        }
        super::super::sys::vfs()?
            .mmap(fd, at, pages, prot as u8, shared, index)
            .map_err(|e| e.errno())
    }

    /// A mapping [`Mapping::new`] made, reached by bounds-checked
    /// volatile byte loads and stores (the memory may be another
    /// process's too, so it is never lent out as a Rust slice). Unmapped
    /// when dropped.
    #[derive(Debug)]
    pub struct Mapping {
        at: u64,
        len: u64,
    }

    impl Mapping {
        /// `mmap(0, len, prot, flags, fd, offset)` (without `MAP_FIXED`:
        /// `EINVAL`), so the range is fresh and this mapping's alone.
        pub fn new(
            len: u64,
            prot: u32,
            flags: u32,
            fd: i32,
            offset: u64,
        ) -> Result<Mapping, Errno> {
            if flags & MAP_FIXED != 0 {
                return Err(Errno::EINVAL);
            }
            let at = mmap(0, len, prot, flags, fd, offset)?;
            Ok(Mapping { at, len })
        }

        pub fn addr(&self) -> u64 {
            self.at
        }

        pub fn len(&self) -> u64 {
            self.len
        }

        pub fn is_empty(&self) -> bool {
            self.len == 0
        }

        /// The byte at `offset` (`None` past the end). A page the memory
        /// server cannot serve (past the end of a truncated file) ends
        /// the process with `SIGBUS`, as on Linux.
        pub fn load(&self, offset: u64) -> Option<u8> {
            (offset < self.len).then(|| {
                // SAFETY: `[at, at + len)` was mapped readable for this
                // mapping alone by `mmap` (not `MAP_FIXED`, so over no
                // other Rust object), and stays mapped until it drops; a
                // volatile byte access makes no claim that no other
                // process writes it meanwhile.
                unsafe { core::ptr::read_volatile((self.at + offset) as *const u8) }
            })
        }

        /// Stores `byte` at `offset` (`None` past the end). Writing a
        /// read-only mapping ends the process (`SIGSEGV`).
        pub fn store(&self, offset: u64, byte: u8) -> Option<()> {
            (offset < self.len).then(|| {
                // SAFETY: as in `load`.
                unsafe { core::ptr::write_volatile((self.at + offset) as *mut u8, byte) }
            })
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // A part unmapped already (munmap of its address) makes
            // this fail: nothing more to do then.
            let _ = munmap(self.at, self.len);
        }
    }

    /// `munmap(addr, len)`: `EINVAL` for an unaligned address, a zero
    /// length, or a range with a hole.
    pub fn munmap(addr: u64, len: u64) -> Result<(), Errno> {
        if len == 0 || !addr.is_multiple_of(PAGE) {
            return Err(Errno::EINVAL);
        }
        let pages = len.checked_add(PAGE - 1).ok_or(Errno::EINVAL)? / PAGE;
        crate::mm::munmap(addr, pages).map_err(me)
    }

    /// `msync(addr, len, flags)`: what shared file mappings in the range
    /// wrote reaches the file and its disk. `EINVAL` for bad flags or an
    /// unaligned address, `ENOMEM` for a range not all mapped.
    pub fn msync(addr: u64, len: u64, flags: u32) -> Result<(), Errno> {
        let both = MS_ASYNC | MS_SYNC;
        if flags & !(both | MS_INVALIDATE) != 0 || flags & both == both {
            return Err(Errno::EINVAL);
        }
        if !addr.is_multiple_of(PAGE) {
            return Err(Errno::EINVAL);
        }
        let pages = len.checked_add(PAGE - 1).ok_or(Errno::ENOMEM)? / PAGE;
        if pages == 0 {
            return Ok(());
        }
        let files = crate::mm::msync(addr, pages).map_err(|e| match e {
            MmCallError::Mm(MmError::NotMapped) => Errno::ENOMEM,
            e => me(e),
        })?;
        let vfs = super::super::sys::vfs()?;
        for file in files {
            vfs.msync_file(file).map_err(|e| e.errno())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_arguments_are_einval_before_any_call() {
        let ok = mmap_args(0, 5000, PROT_READ, MAP_SHARED, 8192);
        assert_eq!(ok, Ok((2, 2, true)));
        assert_eq!(
            mmap_args(0, 1, PROT_READ, MAP_PRIVATE, 0),
            Ok((1, 0, false))
        );
        let einval = Err(Errno::EINVAL);
        assert_eq!(mmap_args(0, 0, PROT_READ, MAP_SHARED, 0), einval);
        assert_eq!(
            mmap_args(0, 1, PROT_READ, MAP_SHARED | MAP_PRIVATE, 0),
            einval
        );
        assert_eq!(mmap_args(0, 1, PROT_READ, 0, 0), einval);
        assert_eq!(mmap_args(0, 1, PROT_READ, MAP_SHARED | 0x8000, 0), einval);
        assert_eq!(mmap_args(0, 1, 8, MAP_SHARED, 0), einval);
        assert_eq!(mmap_args(0, 1, PROT_READ, MAP_SHARED, 100), einval);
        assert_eq!(
            mmap_args(0x1001, 1, PROT_READ, MAP_SHARED | MAP_FIXED, 0),
            einval
        );
        assert_eq!(
            mmap_args(0, u64::MAX, PROT_READ, MAP_SHARED, 0),
            Err(Errno::ENOMEM)
        );
    }
}
