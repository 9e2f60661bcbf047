//! `handle_dup`, `handle_close`, `handle_give`, `handle_info`.

use libsys::abi::args::{HandleDup, HandleGive, OneHandle};
use libsys::abi::{Rights, SysError};

use super::caller;
use crate::arch::x86_64::trap::TrapFrame;
use crate::obj::handle::lookup;
use crate::obj::process::Process;

/// `handle_dup(handle, rights, badge, set_badge)`: a copy with the same or
/// fewer rights (and a new badge with MINT).
pub fn dup(args: HandleDup, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let mut handles = process.handles.lock();
    handles
        .dup(args.handle, args.rights, args.badge)
        .map(|h| u64::from(h.0))
}

/// `handle_close(handle)`.
pub fn close(args: OneHandle, _: &mut TrapFrame) -> Result<u64, SysError> {
    let handle = args.handle;
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
pub fn give(args: HandleGive, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let target = lookup::<Process>(&process, args.process, Rights::MANAGE)?.object;
    let entry = process
        .handles
        .lock()
        .derive(args.handle, args.rights, None)?;
    if target.is_dead() {
        return Err(SysError::PeerDied);
    }
    let given = target.handles.lock().insert(entry)?;
    Ok(u64::from(given.0))
}

/// `handle_info(handle)`: its object type (bits 32–39) and rights.
pub fn info(args: OneHandle, _: &mut TrapFrame) -> Result<u64, SysError> {
    let handle = args.handle;
    let process = caller()?;
    let handles = process.handles.lock();
    let entry = handles.get(handle)?;
    let kind = kcore::handle::Object::object_type(&entry.object) as u64;
    Ok(kind << 32 | u64::from(entry.rights.bits()))
}
