//! Finding servers: the client side of `init`'s name service
//! ([`crate::proto::name`]).

use core::fmt;

use crate::abi::{Handle, Rights, SysError};
use crate::handle::{Borrowed, Endpoint, OwnedHandle};
use crate::proto::name::{KillMode, Name, Reply, Request, ServerInfo};
use crate::rpc::{self, RpcError};

/// Why a lookup or registration failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// This process was not given the name service.
    NoNameService,
    NameTooLong,
    NotFound,
    NotAllowed,
    /// The server is being restarted; ask again.
    Unavailable,
    /// The server kept dying and was given up.
    Failed,
    /// The memory server (never restarted), or a server in the kernel.
    NotRestartable,
    Rpc(RpcError),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::NoNameService => write!(f, "no name service"),
            NameError::NameTooLong => write!(f, "name too long"),
            NameError::NotFound => write!(f, "no such server"),
            NameError::NotAllowed => write!(f, "not allowed"),
            NameError::Unavailable => write!(f, "server restarting"),
            NameError::Failed => write!(f, "server failed"),
            NameError::NotRestartable => write!(f, "not restartable"),
            NameError::Rpc(e) => write!(f, "{e}"),
        }
    }
}

/// The name service's endpoint (`@ns`), lent by the runtime: for a
/// program that talks to it directly.
pub fn service() -> Result<Borrowed<Endpoint>, NameError> {
    let handle = crate::env::name_service().ok_or(NameError::NoNameService)?;
    // SAFETY: the handle the process was started with; the runtime keeps
    // it open for good and never hands it out to own.
    Ok(unsafe { Borrowed::new(Endpoint::from_raw(handle)) })
}

fn name(text: &str) -> Result<Name, NameError> {
    Name::try_from(text).map_err(|_| NameError::NameTooLong)
}

fn error(reply: Reply) -> NameError {
    match reply {
        Reply::NotFound => NameError::NotFound,
        Reply::NotAllowed => NameError::NotAllowed,
        Reply::Unavailable => NameError::Unavailable,
        Reply::Failed => NameError::Failed,
        Reply::NotRestartable => NameError::NotRestartable,
        Reply::Registered
        | Reply::Found
        | Reply::Killed { .. }
        | Reply::Pid { .. }
        | Reply::Servers { .. } => NameError::Rpc(RpcError::UnexpectedLabel(0)),
    }
}

/// A send handle to the server registered as `name`, badged for this
/// process.
pub fn lookup(name_: &str) -> Result<Endpoint, NameError> {
    let ns = service()?;
    let request = Request::Lookup { name: name(name_)? };
    let (reply, msg) =
        rpc::call_with::<Request, Reply>(&ns, &request, &[]).map_err(NameError::Rpc)?;
    match (reply, msg.handles().first()) {
        (Reply::Found, Some(&raw)) => {
            // SAFETY: the kernel just put this handle into our table.
            Ok(Endpoint(unsafe {
                OwnedHandle::from_raw(Handle(raw as u32))
            }))
        }
        (reply, _) => Err(error(reply)),
    }
}

/// [`lookup`], asking again while the server is restarting (or not
/// registered yet), for up to `ms` milliseconds.
pub fn lookup_wait(name_: &str, ms: u64) -> Result<Endpoint, NameError> {
    let mut waited = 0;
    loop {
        match lookup(name_) {
            Err(NameError::Unavailable | NameError::NotFound) if waited < ms => {
                crate::time::sleep_ms(10);
                waited += 10;
            }
            other => return other,
        }
    }
}

/// Asks `init` to kill the server registered as `name` (or, as
/// `spawned:<name>`, a process another one had `init` spawn), which is
/// then restarted at once, at no cost to its budget: for the restart
/// checker (`chaos`), whose manifest entry has the `chaos` right; anyone
/// else gets `NotAllowed`. The pid it had.
pub fn kill(name_: &str) -> Result<u64, NameError> {
    kill_as(name_, KillMode::Restart)
}

/// [`kill`], the death counted as `mode` says (the process server's, for
/// `service restart` and `service kill`: its entry has the `service`
/// right).
pub fn kill_as(name_: &str, mode: KillMode) -> Result<u64, NameError> {
    let ns = service()?;
    let request = Request::Kill {
        name: name(name_)?,
        mode,
    };
    match rpc::call_with::<Request, Reply>(&ns, &request, &[]) {
        Ok((Reply::Killed { pid }, _)) => Ok(pid),
        Ok((reply, _)) => Err(error(reply)),
        Err(e) => Err(NameError::Rpc(e)),
    }
}

/// The pid of the process serving `name` now (as [`kill`] names it, and
/// with the same right): a restart shows as a new pid.
pub fn pid(name_: &str) -> Result<u64, NameError> {
    let ns = service()?;
    let request = Request::Pid { name: name(name_)? };
    match rpc::call_with::<Request, Reply>(&ns, &request, &[]) {
        Ok((Reply::Pid { pid }, _)) => Ok(pid),
        Ok((reply, _)) => Err(error(reply)),
        Err(e) => Err(NameError::Rpc(e)),
    }
}

/// Every server `init` runs and every process it spawned for another
/// (`service list`), page by page; anyone may ask.
pub fn list() -> Result<alloc::vec::Vec<ServerInfo>, NameError> {
    let ns = service()?;
    let mut all = alloc::vec::Vec::new();
    loop {
        let request = Request::List {
            from: u32::try_from(all.len()).unwrap_or(u32::MAX),
        };
        match rpc::call_with::<Request, Reply>(&ns, &request, &[]) {
            Ok((Reply::Servers { servers, more }, _)) => {
                let got = servers.len();
                all.extend(servers);
                // An empty page ends it even if `more` said otherwise.
                if !more || got == 0 {
                    return Ok(all);
                }
            }
            Ok((reply, _)) => return Err(error(reply)),
            Err(e) => return Err(NameError::Rpc(e)),
        }
    }
}

/// Registers `endpoint` as the server `name` (the boot manifest must name
/// this process for it). The name service gets a copy with SEND, MINT and
/// GRANT, to hand clients badged send handles.
pub fn register(name_: &str, endpoint: &Endpoint) -> Result<(), NameError> {
    let ns = service()?;
    let copy = endpoint
        .dup(Rights::SEND | Rights::MINT | Rights::GRANT, None)
        .map_err(|e| NameError::Rpc(RpcError::Sys(e)))?;
    let request = Request::Register { name: name(name_)? };
    let msg = copy.raw();
    let result = rpc::call_with::<Request, Reply>(&ns, &request, &[msg]);
    drop(copy);
    match result {
        Ok((Reply::Registered, _)) => Ok(()),
        Ok((reply, _)) => Err(error(reply)),
        Err(RpcError::Sys(SysError::PeerDied)) => Err(NameError::NoNameService),
        Err(e) => Err(NameError::Rpc(e)),
    }
}
