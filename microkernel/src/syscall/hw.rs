//! Hardware: interrupt lines (`irq_get`, `irq_bind`, `irq_ack`,
//! `irq_info`, `irq_configure`), message-signalled interrupts
//! (`irq_msi_alloc`) and I/O ports (`ioport_grant`, `ioport_derive`).

use libsys::abi::args::{
    HandleOut, IrqBind, IrqConfigure, IrqGet, IrqNumber, OneHandle, Polarity, Ports, Trigger,
};
use libsys::abi::{Handle, IrqInfo, MsiMessage, Rights, SysError};

use super::caller;
use crate::arch::x86_64::trap::TrapFrame;
use crate::mem::usercopy::UserPtr;
use crate::obj::handle::{self as kobject, lookup, IoPorts, IrqControl, KObject};
use crate::obj::irq::{self, IrqLine};
use crate::obj::notification::Notification;
use crate::obj::process::Process;

/// `irq_get(control, number, isa)` → a handle (MANAGE) to the line: GSI
/// `number`, or ISA IRQ `number` (routed through the MADT) with `isa` = 1.
pub fn irq_get(args: IrqGet, _: &mut TrapFrame) -> Result<u64, SysError> {
    let gsi = match args.number {
        IrqNumber::Gsi(gsi) => gsi,
        IrqNumber::Isa(isa) => irq::isa_gsi(isa),
    };
    let process = caller()?;
    lookup::<IrqControl>(&process, args.control, Rights::MANAGE)?;
    let line = irq::line(gsi)?;
    let entry = kobject::entry(KObject::Irq(line), Rights::MANAGE, 0);
    let handle = process.handles.lock().insert(entry)?;
    Ok(u64::from(handle.0))
}

/// `irq_msi_alloc(control, out)` → a handle (MANAGE) to a new MSI: a
/// vector of the pool held by the caller, its message written to `out`
/// (for the CPU taking interrupts: this one). The pointer is checked
/// before the vector is taken, and the vector given back if the handle
/// table is full.
pub fn irq_msi_alloc(args: HandleOut, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let out = UserPtr::<MsiMessage>::new(args.out)?;
    let process = caller()?;
    lookup::<IrqControl>(&process, args.handle, Rights::MANAGE)?;
    let (line, message) = irq::msi_alloc(process.pid, crate::arch::x86_64::apic::id())?;
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| out.write(aspace, &message))?;
    let entry = kobject::entry(KObject::Irq(line), Rights::MANAGE, 0);
    // On failure the entry (the only reference) drops: the vector is free.
    let handle = process.handles.lock().insert(entry)?;
    Ok(u64::from(handle.0))
}

/// `irq_bind(irq, notification, bit)`: the line's interrupts set `bit`.
pub fn irq_bind(args: IrqBind, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let line = lookup::<IrqLine>(&process, args.irq, Rights::MANAGE)?.object;
    let notification = lookup::<Notification>(&process, args.notification, Rights::SEND)?.object;
    line.bind(notification, 1 << args.bit);
    Ok(0)
}

/// `irq_ack(irq)`.
pub fn irq_ack(args: OneHandle, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let line = lookup::<IrqLine>(&process, args.handle, Rights::MANAGE)?.object;
    line.ack();
    Ok(0)
}

/// `irq_configure(irq, trigger, polarity)`: how the line signals.
pub fn irq_configure(args: IrqConfigure, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let line = lookup::<IrqLine>(&process, args.irq, Rights::MANAGE)?.object;
    line.configure(
        args.trigger == Trigger::Level,
        args.polarity == Polarity::Low,
    )?;
    Ok(0)
}

/// `irq_info(irq, out)`: the line's counters.
pub fn irq_info(args: HandleOut, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let out = UserPtr::<IrqInfo>::new(args.out)?;
    let process = caller()?;
    let line = lookup::<IrqLine>(&process, args.handle, Rights::empty())?.object;
    let info = line.info();
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| out.write(aspace, &info))?;
    Ok(0)
}

/// The range `first .. first + count` of the I/O-port handle `handle` of
/// `process`, checked to lie inside the handle's own range
/// (`InvalidArgument` if not).
fn port_range(
    process: &Process,
    handle: Handle,
    first: u16,
    count: u32,
) -> Result<(u16, u32), SysError> {
    let ports = lookup::<IoPorts>(process, handle, Rights::MANAGE)?.object;
    let (base, size) = (u64::from(ports.first), u64::from(ports.count));
    let (start, end) = (u64::from(first), u64::from(first) + u64::from(count));
    if start < base || end > base + size {
        return Err(SysError::InvalidArgument);
    }
    Ok((first, count))
}

/// `ioport_grant(ports, first, count)`: opens ports `first .. first +
/// count` (inside the handle's range) to the calling process.
pub fn ioport_grant(args: Ports, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let (first, count) = port_range(&process, args.ports, args.first, args.count)?;
    process.grant_ports(first, count);
    Ok(0)
}

/// `ioport_derive(ports, first, count)` → a handle (MANAGE) to ports
/// `first .. first + count`, inside the handle's range.
pub fn ioport_derive(args: Ports, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let (first, count) = port_range(&process, args.ports, args.first, args.count)?;
    let entry = kobject::entry(KObject::IoPorts { first, count }, Rights::MANAGE, 0);
    let handle = process.handles.lock().insert(entry)?;
    Ok(u64::from(handle.0))
}
