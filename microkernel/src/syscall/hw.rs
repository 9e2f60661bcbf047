//! Hardware: interrupt lines (`irq_get`, `irq_bind`, `irq_ack`,
//! `irq_info`) and I/O ports (`ioport_grant`).

use libsys::abi::{Handle, IrqInfo, Rights, SysError};

use super::caller;
use crate::arch::x86_64::trap::TrapFrame;
use crate::mem::usercopy::UserPtr;
use crate::obj::handle::{self as kobject, lookup, IoPorts, IrqControl, KObject};
use crate::obj::irq::{self, IrqLine};
use crate::obj::notification::Notification;

/// `irq_get(control, number, isa)` → a handle (MANAGE) to the line: GSI
/// `number`, or ISA IRQ `number` (routed through the MADT) with `isa` = 1.
pub fn irq_get(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let gsi = match frame.rdx {
        0 => u32::try_from(frame.rsi).map_err(|_| SysError::InvalidArgument)?,
        1 => {
            let isa = u8::try_from(frame.rsi)
                .ok()
                .filter(|irq| *irq < 16)
                .ok_or(SysError::InvalidArgument)?;
            irq::isa_gsi(isa)
        }
        _ => return Err(SysError::InvalidArgument),
    };
    let process = caller()?;
    lookup::<IrqControl>(&process, Handle::from_raw(frame.rdi)?, Rights::MANAGE)?;
    let line = irq::line(gsi)?;
    let entry = kobject::entry(KObject::Irq(line), Rights::MANAGE, 0);
    let handle = process.handles.lock().insert(entry)?;
    Ok(u64::from(handle.0))
}

/// `irq_bind(irq, notification, bit)`: the line's interrupts set `bit`.
pub fn irq_bind(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let bit = frame.rdx;
    if bit >= 64 {
        return Err(SysError::InvalidArgument);
    }
    let process = caller()?;
    let line = lookup::<IrqLine>(&process, Handle::from_raw(frame.rdi)?, Rights::MANAGE)?.object;
    let notification =
        lookup::<Notification>(&process, Handle::from_raw(frame.rsi)?, Rights::SEND)?.object;
    line.bind(notification, 1 << bit);
    Ok(0)
}

/// `irq_ack(irq)`.
pub fn irq_ack(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let line = lookup::<IrqLine>(&process, Handle::from_raw(frame.rdi)?, Rights::MANAGE)?.object;
    line.ack();
    Ok(0)
}

/// `irq_info(irq, out)`: the line's counters.
pub fn irq_info(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let out = UserPtr::<IrqInfo>::new(frame.rsi)?;
    let process = caller()?;
    let line = lookup::<IrqLine>(&process, Handle::from_raw(frame.rdi)?, Rights::empty())?.object;
    let info = line.info();
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| out.write(aspace, &info))?;
    Ok(0)
}

/// The range `first .. first + count` of the I/O-port handle `handle` of
/// `process`, checked to lie inside the handle's own range.
fn port_range(
    process: &crate::obj::process::Process,
    handle: u64,
    first: u64,
    count: u64,
) -> Result<(u16, u32), SysError> {
    let ports = lookup::<IoPorts>(process, Handle::from_raw(handle)?, Rights::MANAGE)?.object;
    let (base, size) = (u64::from(ports.first), u64::from(ports.count));
    let end = first.checked_add(count).ok_or(SysError::InvalidArgument)?;
    if count == 0 || first < base || end > base + size || end > 65536 {
        return Err(SysError::InvalidArgument);
    }
    Ok((first as u16, count as u32))
}

/// `ioport_grant(ports, first, count)`: opens ports `first .. first +
/// count` (inside the handle's range) to the calling process.
pub fn ioport_grant(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let (first, count) = port_range(&process, frame.rdi, frame.rsi, frame.rdx)?;
    process.grant_ports(first, count);
    Ok(0)
}

/// `ioport_derive(ports, first, count)` → a handle (MANAGE) to ports
/// `first .. first + count`, inside the handle's range.
pub fn ioport_derive(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let (first, count) = port_range(&process, frame.rdi, frame.rsi, frame.rdx)?;
    let entry = kobject::entry(KObject::IoPorts { first, count }, Rights::MANAGE, 0);
    let handle = process.handles.lock().insert(entry)?;
    Ok(u64::from(handle.0))
}
