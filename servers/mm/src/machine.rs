//! The machine interface: everything the core needs from the hardware and
//! the kernel, behind one trait, so the core makes no system call (the
//! "placement-independent server" rule). The real server implements it
//! with system calls on the process handles it holds; the tests implement
//! it with a simulated machine (fake frames, fake page tables).
//!
//! The core keeps its own record of every mapping (the page map in
//! `space.rs`) and calls [`Machine::map`] / [`Machine::unmap`] /
//! [`Machine::protect`] so that the real page tables follow that record.
//! An error from the machine means the process is gone or broken: the
//! core stops what it was doing for that process and says so (a kill, or
//! `NoMemory`), but its own records stay consistent.

/// A process address space, by mm's id for it (the badge its handles
/// carry). Never [`CONTROL_BADGE`](libsys::proto::mm::CONTROL_BADGE), never
/// with [`PAGER_BADGE`](libsys::proto::mm::PAGER_BADGE) set.
pub type SpaceId = u64;

/// An ELF image (a boot module) mm can read, by mm's id for it.
pub type ImageId = u32;

const PAGE: u64 = buddy::PAGE_SIZE;

/// Why the machine could not do something. The core does not look
/// further: any error means "that address space is gone or broken".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineError {
    Failed,
}

/// What the core asks of the machine. Frames are named by page frame
/// number (`pfn`: physical address >> 12); addresses are page-aligned
/// user addresses; `prot` is a set of `PROT_*` bits, never WRITE with
/// EXEC, always with READ.
pub trait Machine {
    /// Maps frame `pfn` at `vaddr` in `space` with `prot`. With `replace`,
    /// over whatever is mapped there; without, an existing mapping is an
    /// error. A failed `map` maps nothing, but with `replace` the page that
    /// was there may be gone (the kernel unmaps it before mapping the new
    /// one, and does not put it back).
    fn map(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pfn: u64,
        prot: u8,
        replace: bool,
    ) -> Result<(), MachineError>;

    /// Maps the `pages` frames from `pfn` at the `pages` pages from
    /// `vaddr` in `space` with `prot`, where nothing is mapped yet (a run
    /// of [`map`](Self::map)s in one call where the machine can: `fork`
    /// maps a whole page map). On failure, pages of the run may stay
    /// mapped; the caller unmaps the run.
    fn map_run(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pfn: u64,
        pages: u64,
        prot: u8,
    ) -> Result<(), MachineError> {
        for i in 0..pages {
            self.map(space, vaddr + i * PAGE, pfn + i, prot, false)?;
        }
        Ok(())
    }

    /// Unmaps `pages` pages from `vaddr`; pages not mapped are skipped.
    fn unmap(&mut self, space: SpaceId, vaddr: u64, pages: u64) -> Result<(), MachineError>;

    /// Changes the protection of `pages` mapped pages from `vaddr`.
    fn protect(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pages: u64,
        prot: u8,
    ) -> Result<(), MachineError>;

    /// Fills frame `pfn` with zeros.
    fn zero(&mut self, pfn: u64);

    /// Copies frame `from` to frame `to`.
    fn copy(&mut self, from: u64, to: u64);

    /// Writes `bytes` into frame `pfn` at byte offset `at`
    /// (`at + bytes.len() <= 4096`).
    fn write(&mut self, pfn: u64, at: usize, bytes: &[u8]);

    /// The bytes of image `image` (the whole ELF file; empty for an image
    /// the machine does not know). The core reads it
    /// when a process is adopted and on every fault in one of its
    /// segments, so it must stay the same while a process uses it (see
    /// [`Mm::take_released_image`](crate::Mm::take_released_image)).
    fn image(&self, image: ImageId) -> &[u8];
}
