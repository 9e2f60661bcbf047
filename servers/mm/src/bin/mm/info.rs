//! What `mm` reads about the objects it is handed and about itself: a
//! region's base and size, a process's pid and name (the kernel's
//! `region_info`, `process_info`), and its own heap's slab caches for
//! `SlabInfo` (`/proc/slabinfo`).
#![forbid(unsafe_code)]

use libsys::abi::{Handle, ProcessInfo, RegionInfo};
use libsys::handle::{Borrowed, MemoryRegion, Process};
use libsys::proto::mm::{CacheInfo, CACHES_MAX};

/// What the kernel says about memory region `region` (`None` if it is
/// not one).
pub(crate) fn region_info(region: Handle) -> Option<RegionInfo> {
    Borrowed::of(region, MemoryRegion).info().ok()
}

/// What the kernel says about process `process` (`None` if it is not
/// one).
pub(crate) fn process_info(process: Handle) -> Option<ProcessInfo> {
    Borrowed::of(process, Process).info().ok()
}

/// This server's own slab caches (its heap), for `SlabInfo`.
pub(crate) fn slabinfo() -> heapless::Vec<CacheInfo, CACHES_MAX> {
    let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    libsys::heap::slabinfo()
        .take(CACHES_MAX)
        .map(|c| CacheInfo {
            name: c.name.chars().take(20).collect(),
            active_objs: narrow(c.active_objs),
            num_objs: narrow(c.num_objs),
            objsize: narrow(c.objsize),
            objperslab: c.objperslab,
            pagesperslab: c.pagesperslab,
            limit: c.limit,
            batchcount: c.batchcount,
            active_slabs: narrow(c.active_slabs),
            num_slabs: narrow(c.num_slabs),
        })
        .collect()
}
