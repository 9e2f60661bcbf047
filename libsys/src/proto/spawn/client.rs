//! The spawn client: one call, [`spawn`], to whoever serves the protocol
//! (`init`, found by the name [`super::NAME`]).

use super::{Reply, Request, Spawn, SpawnError};
use crate::abi::Handle;
use crate::handle::{OwnedHandle, Process};
use crate::names::{self, NameError};
use crate::rpc::{self, RpcError};

/// Why a spawn failed: the server refused (its typed error), the name
/// lookup failed (the caller may not spawn, or nobody serves it), or the
/// call itself.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientError {
    Refused(SpawnError),
    Name(NameError),
    Rpc(RpcError),
}

impl core::fmt::Display for ClientError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ClientError::Refused(e) => write!(f, "{e}"),
            ClientError::Name(e) => write!(f, "spawn service: {e:?}"),
            ClientError::Rpc(e) => write!(f, "spawn call: {e:?}"),
        }
    }
}

/// Asks for a new process as `request` says, with copies of `handles` (as
/// many as `request.handles`; the caller keeps its own) given to it: its
/// pid and a handle to it (`WATCH` and `STATUS`: wait for it, read how it
/// ended).
pub fn spawn(request: &Spawn, handles: &[Handle]) -> Result<(u64, Process), ClientError> {
    let server = names::lookup(super::NAME).map_err(ClientError::Name)?;
    let (reply, msg) =
        rpc::call_with::<Request, Reply>(&server, &Request::Spawn(request.clone()), handles)
            .map_err(ClientError::Rpc)?;
    match (reply, msg.handles().first()) {
        (Reply::Spawned { pid }, Some(&raw)) => {
            // SAFETY: the kernel just moved this handle into our table.
            let process = Process(unsafe { OwnedHandle::from_raw(Handle(raw as u32)) });
            Ok((pid, process))
        }
        (Reply::Spawned { .. }, None) => Err(ClientError::Rpc(RpcError::Decode)),
        (Reply::Error(e), _) => Err(ClientError::Refused(e)),
    }
}
