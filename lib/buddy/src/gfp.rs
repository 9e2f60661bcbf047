//! GFP flags ("get free pages", Linux's `gfp_t`): where an allocation may
//! take its memory from and how hard the allocator may try.
//!
//! As in the book (LKD ch. 12, tables 12.3–12.6) there are three kinds:
//! *zone modifiers* (`DMA`, `DMA32`) say which zones are acceptable,
//! *action modifiers* (`WAIT`, `NORETRY`, `ZERO`, ...) say how the
//! allocation may proceed, and *type flags* (`GFP_KERNEL`, `GFP_ATOMIC`, ...)
//! are the usual combinations. Invariant kept here: at most one zone
//! modifier makes sense; [`gfp_zone`] rejects a mask naming both.
//!
//! What the buddy allocator does with each flag:
//! - `DMA` / `DMA32`: the highest zone the request may use (see
//!   [`ZoneType::fallback`](crate::zone::ZoneType::fallback)).
//! - `ZERO`: the allocator cannot write physical memory (it is a user-space
//!   server with no mapping of it), so it reports the request back in
//!   [`PageBlock::must_zero`](crate::PageBlock::must_zero): whoever maps the
//!   block must clear it before anyone reads it.
//! - `WAIT` without `NORETRY`: on failure
//!   [`alloc_pages_reclaim`](crate::BuddyAllocator::alloc_pages_reclaim)
//!   may call the caller's reclaim hook and try again, a bounded number of
//!   times. Without `WAIT` (`GFP_ATOMIC`, `GFP_NOWAIT`) or with `NORETRY`
//!   a failure is returned at once.
//! - `HIGH`, `IO`, `FS`, `NOWARN`: carried for the reclaim hook and the
//!   callers; the allocator itself keeps no emergency reserve yet.

use bitflags::bitflags;

use crate::zone::ZoneType;

bitflags! {
    /// A GFP mask. The constants are Linux's `__GFP_*` modifiers without the
    /// prefix; the usual combinations are the `GFP_*` constants below.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct GfpFlags: u32 {
        /// `__GFP_DMA`: only ZONE_DMA (below 16 MiB, for ISA DMA).
        const DMA = 1 << 0;
        /// `__GFP_DMA32`: ZONE_DMA32 or ZONE_DMA (below 4 GiB).
        const DMA32 = 1 << 1;
        /// `__GFP_WAIT`: the caller may sleep, so the allocator may wait
        /// for memory to be reclaimed.
        const WAIT = 1 << 4;
        /// `__GFP_HIGH`: high priority; may use emergency pools.
        const HIGH = 1 << 5;
        /// `__GFP_IO`: reclaim may start disk I/O.
        const IO = 1 << 6;
        /// `__GFP_FS`: reclaim may call into filesystems.
        const FS = 1 << 7;
        /// `__GFP_NOWARN`: do not log a failure.
        const NOWARN = 1 << 8;
        /// `__GFP_NORETRY`: fail at once rather than reclaim and retry.
        const NORETRY = 1 << 9;
        /// `__GFP_ZERO`: the memory must read as zeros.
        const ZERO = 1 << 10;
    }
}

/// Interrupt handlers, softirqs, code holding a spin lock: must not sleep.
pub const GFP_ATOMIC: GfpFlags = GfpFlags::HIGH;
/// Like `GFP_ATOMIC` but without the emergency pools.
pub const GFP_NOWAIT: GfpFlags = GfpFlags::empty();
/// May block, must not start disk I/O (block layer code).
pub const GFP_NOIO: GfpFlags = GfpFlags::WAIT;
/// May block and start disk I/O, but no filesystem operation.
pub const GFP_NOFS: GfpFlags = GfpFlags::WAIT.union(GfpFlags::IO);
/// The default: a normal allocation in process context that may block.
pub const GFP_KERNEL: GfpFlags = GfpFlags::WAIT.union(GfpFlags::IO).union(GfpFlags::FS);
/// Memory for user space: may block.
pub const GFP_USER: GfpFlags = GFP_KERNEL;
/// DMA-able memory (combine with `GFP_KERNEL` or `GFP_ATOMIC`).
pub const GFP_DMA: GfpFlags = GfpFlags::DMA;
/// Memory a 32-bit device can reach (combine like `GFP_DMA`).
pub const GFP_DMA32: GfpFlags = GfpFlags::DMA32;

impl GfpFlags {
    /// True if a failed allocation may reclaim and try again: the caller
    /// can wait and did not ask for `NORETRY`.
    pub const fn may_retry(self) -> bool {
        self.contains(GfpFlags::WAIT) && !self.contains(GfpFlags::NORETRY)
    }
}

/// The highest zone a request with `flags` may be served from (Linux's
/// `gfp_zone()`): `DMA` for `GFP_DMA`, `DMA32` for `GFP_DMA32`, `Normal`
/// otherwise.
///
/// Returns `None` for a mask that names both zone modifiers: no zone is
/// both, and guessing would hand a device memory it cannot reach.
pub const fn gfp_zone(flags: GfpFlags) -> Option<ZoneType> {
    match (
        flags.contains(GfpFlags::DMA),
        flags.contains(GfpFlags::DMA32),
    ) {
        (true, true) => None,
        (true, false) => Some(ZoneType::Dma),
        (false, true) => Some(ZoneType::Dma32),
        (false, false) => Some(ZoneType::Normal),
    }
}
