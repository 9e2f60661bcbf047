//! `handle_dup`, `handle_close`, `handle_give`, `handle_info`.

use libsys::abi::{Handle, Rights, SysError};

use super::caller;
use crate::arch::x86_64::trap::TrapFrame;
use crate::obj::handle::lookup;
use crate::obj::process::Process;

struct DupArgs {
    handle: Handle,
    rights: Rights,
    badge: Option<u64>,
}

/// `handle_dup(handle, rights, badge, set_badge)`: a copy with the same or
/// fewer rights (and a new badge with MINT).
pub fn dup(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let args = DupArgs {
        handle: Handle::from_raw(frame.rdi)?,
        rights: Rights::from_raw(frame.rsi)?,
        badge: match frame.r10 {
            0 => None,
            1 => Some(frame.rdx),
            _ => return Err(SysError::InvalidArgument),
        },
    };
    let process = caller()?;
    let mut handles = process.handles.lock();
    handles
        .dup(args.handle, args.rights, args.badge)
        .map(|h| u64::from(h.0))
}

/// `handle_close(handle)`.
pub fn close(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let handle = Handle::from_raw(frame.rdi)?;
    let process = caller()?;
    // Dropped after the lock: closing can wake threads (an endpoint's last
    // receiver gone).
    let entry = process.handles.lock().remove(handle)?;
    drop(entry);
    Ok(0)
}

/// `handle_give(process, handle, rights)`: puts a copy of one of the
/// caller's handles, with `rights`, into another process's table; returns
/// its number there.
pub fn give(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let target = lookup::<Process>(&process, Handle::from_raw(frame.rdi)?, Rights::MANAGE)?.object;
    let handle = Handle::from_raw(frame.rsi)?;
    let rights = Rights::from_raw(frame.rdx)?;
    let entry = process.handles.lock().derive(handle, rights, None)?;
    if target.is_dead() {
        return Err(SysError::PeerDied);
    }
    let given = target.handles.lock().insert(entry)?;
    Ok(u64::from(given.0))
}

/// `handle_info(handle)`: its object type (bits 32–39) and rights.
pub fn info(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let handle = Handle::from_raw(frame.rdi)?;
    let process = caller()?;
    let handles = process.handles.lock();
    let entry = handles.get(handle)?;
    let kind = kcore::handle::Object::object_type(&entry.object) as u64;
    Ok(kind << 32 | u64::from(entry.rights.bits()))
}
