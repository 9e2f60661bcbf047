//! Where things go in an address space mm builds, and the checks every
//! address range and protection from a request goes through before
//! anything changes (an argument that fails them gets `InvalidArgument`).
//!
//! ```text
//! 0x0000_0000_1000   image segments, then the heap (brk) up to BRK_LIMIT
//! 0x1000_0000_0000   libsys's heap (HEAP_BASE; a fixed Mmap by the process)
//! 0x2000_0000_0000   MMAP_BASE: Mmap / Accept / MapPhysical without `at`,
//!   ...              first fit, upward
//! 0x7000_0000_0000   MMAP_END
//! 0x7fff_ffe0_0000   the IPC buffer page (IPC_BUFFER_ADDR), then a guard page
//! 0x7fff_ffe0_2000   the stack (demand-zero), up to
//! 0x7fff_fff0_0000   USER_STACK_TOP; its top page holds the arguments
//! 0x0000_8000_0000_0000  USER_END: the kernel half starts above
//! ```

use buddy::PAGE_SIZE;
use libsys::abi::{IPC_BUFFER_ADDR, USER_STACK_TOP};
use libsys::proto::mm::{MmError, PROT_EXEC, PROT_READ, PROT_WRITE, STACK_PAGES};

/// The lowest address a request may name: page 0 is never mapped.
pub const USER_START: u64 = PAGE_SIZE;
/// One past the highest user address.
pub const USER_END: u64 = libsys::elf::USER_END;
/// Where ranges mm picks start (above libsys's heap at 0x1000_0000_0000
/// and its 64 MiB).
pub const MMAP_BASE: u64 = 0x2000_0000_0000;
/// Where ranges mm picks end.
pub const MMAP_END: u64 = 0x7000_0000_0000;
/// The break never passes this.
pub const BRK_LIMIT: u64 = MMAP_BASE;
/// The bottom of the stack area: `STACK_PAGES` below `USER_STACK_TOP`,
/// but never lower than a guard page above the IPC buffer. (With
/// `STACK_PAGES` = 256 the stack's lowest page would be the IPC buffer
/// page itself, so the stack area is 254 pages.)
pub const STACK_BOTTOM: u64 = {
    let wanted = USER_STACK_TOP - STACK_PAGES * PAGE_SIZE;
    let lowest = IPC_BUFFER_ADDR + 2 * PAGE_SIZE;
    if wanted > lowest {
        wanted
    } else {
        lowest
    }
};
/// Every protection bit.
pub const PROT_ALL: u8 = PROT_READ | PROT_WRITE | PROT_EXEC;
/// Read and write.
pub const PROT_RW: u8 = PROT_READ | PROT_WRITE;

/// The byte range `[at, at + pages pages)` if it is a valid user range:
/// `at` page-aligned and at least [`USER_START`], `pages` at least 1, the
/// end at most [`USER_END`] (no overflow on the way).
pub fn user_range(at: u64, pages: u64) -> Result<(u64, u64), MmError> {
    let end = length(pages).and_then(|len| at.checked_add(len).ok_or(MmError::InvalidArgument))?;
    if !at.is_multiple_of(PAGE_SIZE) || at < USER_START || end > USER_END {
        return Err(MmError::InvalidArgument);
    }
    Ok((at, end))
}

/// `pages` in bytes, if it is at least 1 and fits user space.
pub fn length(pages: u64) -> Result<u64, MmError> {
    match pages.checked_mul(PAGE_SIZE) {
        Some(len) if pages > 0 && len <= USER_END => Ok(len),
        _ => Err(MmError::InvalidArgument),
    }
}

/// A protection from a request, with READ added (x86_64 cannot map a
/// page it cannot read). Unknown bits, no bit at all (mm has no
/// `PROT_NONE` areas: a guard is an unmapped hole) and WRITE with EXEC
/// (W^X) are `InvalidArgument`.
pub fn user_prot(prot: u8) -> Result<u8, MmError> {
    let wx = PROT_WRITE | PROT_EXEC;
    if prot == 0 || prot & !PROT_ALL != 0 || prot & wx == wx {
        return Err(MmError::InvalidArgument);
    }
    Ok(prot | PROT_READ)
}

/// The address of the page holding `addr`.
pub fn page_of(addr: u64) -> u64 {
    addr & !(PAGE_SIZE - 1)
}

/// `addr` rounded up to a page boundary (saturating at the top).
pub fn page_up(addr: u64) -> u64 {
    addr.checked_next_multiple_of(PAGE_SIZE)
        .unwrap_or(!(PAGE_SIZE - 1))
}

/// The page addresses of `[start, end)`.
pub fn pages_of(start: u64, end: u64) -> impl Iterator<Item = u64> {
    (start..end).step_by(PAGE_SIZE as usize)
}
