//! Cache statistics and `/proc/slabinfo` (format version 2.1, as Linux's
//! `mm/slab_common.c` prints it: `%-17s %6lu %6lu %6u %4u %4d` then
//! ` : tunables %4u %4u %4u` then ` : slabdata %6lu %6lu %6lu`).
//!
//! The columns mean what they meant with Linux's SLAB: `active_objs`
//! counts objects allocated from the slabs, including those waiting in the
//! magazine; `active_slabs` counts full and partial slabs; the tunables
//! `limit` and `batchcount` are the magazine's size and flush batch (see
//! `magazine.rs`), `sharedfactor` and `sharedavail` are 0 (there is no
//! shared array).

use core::fmt;

/// The first two lines of `/proc/slabinfo`.
pub const SLABINFO_HEADER: &str = "slabinfo - version: 2.1\n\
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";

/// One cache's statistics. Its `Display` is the cache's line of
/// `/proc/slabinfo`, without the newline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlabInfo {
    pub name: &'static str,
    /// Objects handed out and not freed.
    pub active_objs: usize,
    /// Objects in all the cache's slabs.
    pub num_objs: usize,
    /// Bytes per object, alignment padding included.
    pub objsize: usize,
    pub objperslab: u32,
    pub pagesperslab: u32,
    pub limit: u32,
    pub batchcount: u32,
    pub sharedfactor: u32,
    /// Slabs with at least one object in use (full + partial).
    pub active_slabs: usize,
    pub num_slabs: usize,
    pub sharedavail: usize,
    pub slabs_full: usize,
    pub slabs_partial: usize,
    pub slabs_empty: usize,
    /// Objects in the magazine: free for callers, but counted in
    /// `active_objs` (the slab layer's view, as Linux's SLAB counts its
    /// per-CPU arrays). Objects held by callers: `active_objs - in_magazine`.
    pub in_magazine: usize,
}

impl fmt::Display for SlabInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_line(self.name, f)
    }
}

impl SlabInfo {
    /// The `/proc/slabinfo` line with `name` in the first column (for
    /// figures that crossed a process boundary and lost their `'static`
    /// name).
    pub fn write_line(&self, name: &str, f: &mut impl fmt::Write) -> fmt::Result {
        write!(
            f,
            "{:<17} {:>6} {:>6} {:>6} {:>4} {:>4} : tunables {:>4} {:>4} {:>4} : slabdata {:>6} {:>6} {:>6}",
            name,
            self.active_objs,
            self.num_objs,
            self.objsize,
            self.objperslab,
            self.pagesperslab,
            self.limit,
            self.batchcount,
            self.sharedfactor,
            self.active_slabs,
            self.num_slabs,
            self.sharedavail,
        )
    }
}

/// Writes the whole of `/proc/slabinfo`: the header, then one line per
/// cache.
pub fn write_slabinfo<W, I>(out: &mut W, caches: I) -> fmt::Result
where
    W: fmt::Write,
    I: IntoIterator<Item = SlabInfo>,
{
    out.write_str(SLABINFO_HEADER)?;
    for cache in caches {
        writeln!(out, "{cache}")?;
    }
    Ok(())
}
