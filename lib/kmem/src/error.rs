//! The slab layer's errors. Each says why; none leaves a cache half
//! changed.

use core::fmt;

/// Why an allocation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocError {
    /// kmalloc of 0 bytes.
    ZeroSize,
    /// More than `KMALLOC_MAX_SIZE` (4 MiB) bytes, or an alignment above
    /// what a block of that size has.
    TooLarge,
    /// The cache needed a new slab (or more metadata) and the page source
    /// had no memory.
    NoMemory,
    /// A zone modifier (`GFP_DMA`, `GFP_DMA32`) in the flags: a cache's
    /// zone is fixed when it is created (`SLAB_CACHE_DMA`), and kmalloc has
    /// no DMA caches; or `__GFP_ZERO` for a cache with a constructor, whose
    /// objects must keep their constructed state.
    BadFlags,
    /// The page source returned a block not aligned to its size, breaking
    /// its contract; the block was given back.
    MisalignedPages,
}

/// Why a free was refused. Nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeError {
    /// The pointer is not in a slab of this cache (or any kmalloc block).
    NotOwned,
    /// The pointer is inside a slab but not at the start of an object
    /// (or, for a large kmalloc block, not at its start).
    NotObjectStart,
    /// The object is already free.
    DoubleFree,
}

/// Why `kmem_cache_create` refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateError {
    /// Size 0.
    ZeroSize,
    /// Larger than `KMEM_CACHE_MAX_SIZE` (32 KiB) once aligned.
    TooLarge,
    /// The alignment is not a power of two, or above the page size.
    BadAlign,
}

/// Why `tune` refused a magazine setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TuneError {
    /// The limit is above `MAGAZINE_CAPACITY`.
    LimitTooLarge,
    /// The batch is 0 or above the limit (or not 0 with a limit of 0).
    BadBatch,
}

impl fmt::Display for TuneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TuneError::LimitTooLarge => "magazine limit above its capacity",
            TuneError::BadBatch => "batch must be between 1 and the limit",
        })
    }
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AllocError::ZeroSize => "zero-sized allocation",
            AllocError::TooLarge => "allocation too large",
            AllocError::NoMemory => "out of memory",
            AllocError::BadFlags => "GFP flags not valid here",
            AllocError::MisalignedPages => "page source returned a misaligned block",
        })
    }
}

impl fmt::Display for FreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FreeError::NotOwned => "pointer not allocated here",
            FreeError::NotObjectStart => "pointer not at the start of an object",
            FreeError::DoubleFree => "object already free",
        })
    }
}

impl fmt::Display for CreateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CreateError::ZeroSize => "object size 0",
            CreateError::TooLarge => "object larger than a slab",
            CreateError::BadAlign => "alignment not a power of two up to the page size",
        })
    }
}
