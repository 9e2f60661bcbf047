//! The received message as owned values: the handles it moved into
//! `mm`'s table, its payload copied out of the IPC buffer, and the reply
//! encoded into it. These are the `unsafe` operations `libsys` does not
//! yet offer safely (a `Received` that hands over its handles as
//! `OwnedHandle`s and its payload as a borrowed slice, and a reply
//! written through a borrow of the buffer would remove them).

use alloc::vec::Vec;

use libsys::abi::ipc::PAYLOAD_MAX;
use libsys::abi::Handle;
use libsys::handle::OwnedHandle;
use libsys::ipc;
use libsys::proto::mm::Reply;
use libsys::rpc;

/// Takes ownership of the handles a message just moved into our table.
pub fn received_handles(raw: &[u64]) -> Vec<OwnedHandle> {
    raw.iter()
        // SAFETY: the kernel just put these into our table.
        .map(|&h| unsafe { OwnedHandle::from_raw(Handle(h as u32)) })
        .collect()
}

/// Copies the first `length` bytes of the payload just received into
/// `input` (at most a payload); how many.
pub fn copy_payload(length: usize, input: &mut [u8; PAYLOAD_MAX]) -> usize {
    let n = length.min(PAYLOAD_MAX);
    // SAFETY: this thread's buffer; copied out before the reply is
    // written into it.
    input[..n].copy_from_slice(&unsafe { ipc::buffer() }[..n]);
    n
}

/// Encodes `reply` into this thread's IPC buffer; its length (0 if it
/// does not encode).
pub fn encode_reply(reply: &Reply) -> usize {
    // SAFETY: this thread's buffer; the request was copied out of it.
    rpc::encode(reply, unsafe { ipc::buffer() }).unwrap_or(0)
}
