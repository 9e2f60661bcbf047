//! Handles: every handle-taking system call, made with forged, closed,
//! wrong-type and under-righted handles, must fail with its error and
//! change nothing.

use libsys::abi::ipc::POLL;
use libsys::abi::{Handle, ObjectType, Rights, SysError, Syscall};
use libsys::format_text;
use libsys::handle::{Borrowed, Endpoint, MemoryRegion, Notification, OwnedHandle};
use libsys::syscall::{call6, raw};
use userland::Tally;

use crate::*;

/// A handle-taking call, the argument it takes the handle in, the object
/// type it wants, and the right it needs (None: any handle will do).
pub(crate) struct HandleCall {
    call: Syscall,
    kind: ObjectType,
    needs: Option<Rights>,
    ipc: bool,
}

pub(crate) const fn hc(call: Syscall, kind: ObjectType, needs: Option<Rights>) -> HandleCall {
    HandleCall {
        call,
        kind,
        needs,
        ipc: false,
    }
}

pub(crate) const fn ipc_call(call: Syscall, needs: Rights) -> HandleCall {
    HandleCall {
        call,
        kind: ObjectType::Endpoint,
        needs: Some(needs),
        ipc: true,
    }
}

/// Every system call that takes a handle in its first argument.
pub(crate) const HANDLE_CALLS: &[HandleCall] = &[
    ipc_call(Syscall::Send, Rights::SEND),
    ipc_call(Syscall::Call, Rights::SEND),
    ipc_call(Syscall::Recv, Rights::RECV),
    ipc_call(Syscall::ReplyRecv, Rights::RECV),
    hc(
        Syscall::Signal,
        ObjectType::Notification,
        Some(Rights::SEND),
    ),
    hc(Syscall::Wait, ObjectType::Notification, Some(Rights::RECV)),
    hc(Syscall::Poll, ObjectType::Notification, Some(Rights::RECV)),
    hc(
        Syscall::NotificationBind,
        ObjectType::Notification,
        Some(Rights::RECV),
    ),
    hc(Syscall::Map, ObjectType::Process, Some(Rights::MAP)),
    hc(Syscall::Unmap, ObjectType::Process, Some(Rights::MAP)),
    hc(Syscall::Protect, ObjectType::Process, Some(Rights::MAP)),
    hc(
        Syscall::ThreadCreate,
        ObjectType::Process,
        Some(Rights::MANAGE),
    ),
    hc(Syscall::Kill, ObjectType::Process, Some(Rights::MANAGE)),
    hc(
        Syscall::HandleGive,
        ObjectType::Process,
        Some(Rights::MANAGE),
    ),
    hc(
        Syscall::ProcessWatch,
        ObjectType::Process,
        Some(Rights::MANAGE),
    ),
    hc(Syscall::ProcessStatus, ObjectType::Process, None),
    hc(
        Syscall::ThreadStart,
        ObjectType::Thread,
        Some(Rights::MANAGE),
    ),
    hc(Syscall::SetSched, ObjectType::Thread, Some(Rights::MANAGE)),
    hc(Syscall::SetPager, ObjectType::Thread, Some(Rights::MANAGE)),
    hc(Syscall::ThreadStats, ObjectType::Thread, None),
    hc(
        Syscall::IrqGet,
        ObjectType::IrqControl,
        Some(Rights::MANAGE),
    ),
    hc(Syscall::IrqBind, ObjectType::Irq, Some(Rights::MANAGE)),
    hc(Syscall::IrqAck, ObjectType::Irq, Some(Rights::MANAGE)),
    hc(Syscall::IrqInfo, ObjectType::Irq, None),
    hc(
        Syscall::IoportGrant,
        ObjectType::IoPorts,
        Some(Rights::MANAGE),
    ),
    hc(
        Syscall::IoportDerive,
        ObjectType::IoPorts,
        Some(Rights::MANAGE),
    ),
    hc(
        Syscall::RegionDerive,
        ObjectType::MemoryRegion,
        Some(Rights::MANAGE),
    ),
    hc(Syscall::RegionInfo, ObjectType::MemoryRegion, None),
    hc(
        Syscall::DeviceRegion,
        ObjectType::DeviceControl,
        Some(Rights::MANAGE),
    ),
    // Action 0 is a power-off: a handle check that let one through
    // would end the suite.
    hc(
        Syscall::Power,
        ObjectType::PowerControl,
        Some(Rights::MANAGE),
    ),
    hc(Syscall::HandleInfo, ObjectType::Endpoint, None),
    hc(Syscall::HandleDup, ObjectType::Endpoint, None),
    hc(Syscall::HandleClose, ObjectType::Endpoint, None),
];

/// Makes the calls of [`HANDLE_CALLS`] with a forged, a closed, a
/// wrong-type and an under-righted handle; each must fail with its error
/// and change nothing.
pub(crate) fn bad_handles(env: &mut Env, t: &mut Tally) {
    let result = (|| -> Result<(), Why> {
        let scratch = [0u64; 8];
        let out = scratch.as_ptr() as u64;
        let ep = Endpoint::create().step("endpoint_create")?;
        let n = Notification::create().step("notification_create")?;
        let irqc = irq_control(env.info);
        let irq = irqc.isa(4).step("irq_get")?;
        let ports = io_ports(env.info);
        let region = MemoryRegion(env.mem_region_dup()?);
        let closed = Endpoint::create().step("endpoint_create")?.0.into_raw();
        call6(Syscall::HandleClose, [u64::from(closed.0), 0, 0, 0, 0, 0]).step("close")?;
        // A handle of each type without the right the call needs.
        let weak = |kind: ObjectType, needs: Rights| -> Result<OwnedHandle, Why> {
            let full = match kind {
                ObjectType::Endpoint => ep.raw(),
                ObjectType::Notification => n.raw(),
                ObjectType::Process => env.me.raw(),
                ObjectType::Thread => env.my_thread.raw(),
                ObjectType::Irq => irq.raw(),
                ObjectType::IrqControl => irqc.raw(),
                ObjectType::DeviceControl => Handle(env.info.device_control),
                ObjectType::ConsoleControl => Handle(env.info.console_control),
                ObjectType::SchedControl => Handle(env.info.sched_control),
                ObjectType::PowerControl => Handle(env.info.power_control),
                ObjectType::IoPorts => ports.raw(),
                ObjectType::MemoryRegion => region.raw(),
                // No call of HANDLE_CALLS takes a kernel service or a
                // saved reply.
                ObjectType::Service | ObjectType::Reply => ep.raw(),
            };
            let rights = Rights::all() - needs;
            // Lent for the calls below: a dup fails or gives us a new
            // handle of our own.
            let borrowed = Borrowed::of(full, |h| h);
            let (_, held) = borrowed.info().step("handle_info")?;
            borrowed
                .dup(held & rights, None)
                .step("dup without the right")
        };
        let others = Others {
            region: region.raw(),
            notification: n.raw(),
            thread: env.my_thread.raw(),
            out,
        };
        for hcall in HANDLE_CALLS {
            let wrong = if hcall.kind == ObjectType::Notification {
                ep.raw()
            } else {
                n.raw()
            };
            let mut cases: [(Handle, SysError); 5] = [
                (Handle(0), SysError::BadHandle),
                (Handle::new(777, 9), SysError::BadHandle),
                (closed, SysError::BadHandle),
                (wrong, SysError::WrongType),
                (Handle(0), SysError::BadHandle),
            ];
            let weak_handle = match hcall.needs {
                Some(needs) => {
                    let w = weak(hcall.kind, needs)?;
                    cases[4] = (w.raw(), SysError::NoRights);
                    Some(w)
                }
                None => None,
            };
            // HandleInfo, HandleDup and HandleClose take any type.
            let any_type = matches!(
                hcall.call,
                Syscall::HandleInfo | Syscall::HandleDup | Syscall::HandleClose
            );
            for (h, want) in cases {
                if any_type && want == SysError::WrongType {
                    continue;
                }
                let got = call_with(hcall, h, &others);
                ensure!(
                    got == Err(want),
                    "{:?} with handle {:#x}: {got:?}, expected {want:?}",
                    hcall.call,
                    h.0
                );
            }
            drop(weak_handle);
        }
        Ok(())
    })();
    t.record("handles: every handle-taking call refuses forged, closed, wrong-type and under-righted handles", result);
}

/// The valid arguments a call of [`HANDLE_CALLS`] gets besides the
/// handle under test.
struct Others {
    region: Handle,
    notification: Handle,
    thread: Handle,
    /// A user pointer to scratch memory.
    out: u64,
}

/// Makes `hcall` with handle `h` and, for its other arguments,
/// valid-looking ones: a notification, one page at a free address, a
/// user pointer to scratch.
fn call_with(hcall: &HandleCall, h: Handle, others: &Others) -> Result<u64, SysError> {
    if hcall.ipc {
        let regs = raw::IpcRegs {
            info: 0,
            rdx: POLL,
            ..Default::default()
        };
        // Every case is refused before the kernel does anything.
        let (status, _) = libsys::syscall::ipc_unchecked(hcall.call, u64::from(h.0), regs);
        return libsys::abi::decode_result(status, 0);
    }
    let (h, region, n) = (
        u64::from(h.0),
        u64::from(others.region.0),
        u64::from(others.notification.0),
    );
    let args = match hcall.call {
        Syscall::Map => [h, 0x7000_0000_0000, region, 0, 1, 1],
        Syscall::IrqBind | Syscall::ProcessWatch => [h, n, 1, 0, 0, 0],
        Syscall::HandleGive => [h, n, 0, 0, 0, 0],
        Syscall::ThreadStats | Syscall::IrqInfo | Syscall::RegionInfo => {
            [h, others.out, 0, 0, 0, 0]
        }
        Syscall::Unmap | Syscall::Protect => [h, 0x7000_0000_0000, 1, 1, 0, 0],
        Syscall::IoportGrant | Syscall::IoportDerive => [h, 0x80, 1, 0, 0, 0],
        Syscall::RegionDerive => [h, 0, 1, 1, 0, 0],
        Syscall::IrqGet => [h, 4, 1, 0, 0, 0],
        Syscall::NotificationBind => [h, u64::from(others.thread.0), 0, 0, 0, 0],
        Syscall::ThreadStart => [h, 0x40_0000, USER_STACK, 0, 0, 0],
        _ => [h, 0, 0, 0, 0, 0],
    };
    call6(hcall.call, args)
}
