//! The few operations `init` needs that `libsys` offers only as `unsafe`:
//! naming a handle by its raw number, reading the IPC buffer, and reading
//! memory it has just mapped. They are fenced here, each with its
//! invariant, so every other module of the binary is
//! `#![forbid(unsafe_code)]`.
//!
//! What would make this module unnecessary (safe `libsys` API, not here
//! yet): handles received in a message handed over as `OwnedHandle`s by
//! `Received` itself; a borrowed view of a raw handle the caller owns
//! (`OwnedHandle::borrow_raw(h) -> BorrowedHandle<'_>`); the received
//! payload as a slice borrowed from `Received`; and `Memory::map_self`
//! returning a mapping guard that derefs to `&[u8]`.

use core::mem::ManuallyDrop;

use libsys::abi::{Handle, Protection, SysError};
use libsys::handle::OwnedHandle;
use libsys::ipc;
use libsys::mem::{Memory, Pages};

/// A raw handle of ours, borrowed for a call (kept open).
pub fn borrowed<T>(make: impl FnOnce(OwnedHandle) -> T, raw: Handle) -> ManuallyDrop<T> {
    // SAFETY: a handle init holds; ManuallyDrop keeps it from being closed.
    ManuallyDrop::new(make(unsafe { OwnedHandle::from_raw(raw) }))
}

/// Closes a raw handle of ours.
pub fn close(raw: Handle) {
    // SAFETY: a handle init holds and no one else refers to.
    drop(unsafe { OwnedHandle::from_raw(raw) });
}

/// Takes ownership of the handles a message just moved into our table.
pub fn received_handles(raw: &[u64]) -> alloc::vec::Vec<OwnedHandle> {
    raw.iter()
        // SAFETY: handles the kernel just put into our table.
        .map(|&h| unsafe { OwnedHandle::from_raw(Handle(h as u32)) })
        .collect()
}

/// Runs `read` on the first `len` bytes of this thread's IPC buffer (the
/// payload of the message just received).
pub fn with_payload<R>(len: usize, read: impl FnOnce(&[u8]) -> R) -> R {
    // SAFETY: the main thread's buffer, not held across a call.
    let buffer = unsafe { ipc::buffer() };
    read(&buffer[..len.min(buffer.len())])
}

/// Maps the `size` bytes of boot module `region` into `init` read-only,
/// runs `read` on them and unmaps them. Fails if the mapping does.
pub fn with_module<R>(
    mem: &mut Memory,
    region: Handle,
    size: u64,
    read: impl FnOnce(&[u8]) -> R,
) -> Result<R, SysError> {
    let pages = size.div_ceil(4096).max(1);
    let view = Pages {
        region,
        first: 0,
        count: pages,
    };
    let at = mem.map_self(view, Protection::READ)?;
    // SAFETY: `size` bytes were just mapped readable at `at`, and stay so
    // until the unmap below.
    let bytes = unsafe { core::slice::from_raw_parts(at as *const u8, size as usize) };
    let result = read(bytes);
    let _ = mem.unmap_self(at, pages);
    Ok(result)
}
