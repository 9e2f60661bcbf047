//! Layer 7: entries from user mode — system calls, and (`trap.rs`) what
//! a fault or an interrupt means.
//!
//! Provides the system-call dispatcher and its handlers, one file per
//! group (`handles`, `hw`, `ipc`, `memory`, `misc`, `task`), and the trap
//! handler. Both are handed to `arch` at boot. May use every layer below:
//! `arch`, `klog`, `mem`, `sched`, `obj`, `ipc`.
//!
//! System-call dispatch: from the saved registers to a handler and back.
//!
//! The numbers and error codes are `libsys::abi`'s, the one definition
//! both sides share. [`TABLE`] holds one handler per [`Syscall`], built at
//! compile time from an exhaustive `match` (a call without a handler does
//! not compile) and indexed by the number in `rax`: an unknown number is a
//! bounds check and `UnknownSyscall`, never a fault.
//!
//! Each handler follows seL4's decode-then-invoke discipline: it reads its
//! arguments from the frame into a typed struct, checks every one of them
//! (levels, lengths, user pointers through `usercopy`), and only then acts;
//! a failed check returns its error and changes nothing. The result goes
//! back in `rax` (0 or the error code) and `rdx` (the value).
//!
//! On the way out, a thread that was killed meanwhile exits instead of
//! returning, and a pending reschedule (a wake-up, the tick) is honoured.

mod handles;
mod hw;
mod ipc;
mod memory;
mod misc;
mod task;
pub mod trap;

use alloc::sync::Arc;

use libsys::abi::{encode_result, SysError, Syscall};

use crate::arch::x86_64::trap::TrapFrame;
use crate::obj::process::{self, Process};
use crate::obj::thread::{self, Thread};
use crate::sched;

/// A handler: the saved user registers in, the call's result out.
type Handler = fn(&mut TrapFrame) -> Result<u64, SysError>;

const fn handler(call: Syscall) -> Handler {
    match call {
        Syscall::Null => misc::null,
        Syscall::Log => misc::log,
        Syscall::Exit => task::exit,
        Syscall::Yield => task::yield_now,
        Syscall::Clock => misc::clock,
        Syscall::LogRead => misc::log_read,
        Syscall::HandleDup => handles::dup,
        Syscall::HandleClose => handles::close,
        Syscall::EndpointCreate => ipc::endpoint_create,
        Syscall::NotificationCreate => ipc::notification_create,
        Syscall::Send => ipc::send,
        Syscall::Recv => ipc::recv,
        Syscall::Call => ipc::call,
        Syscall::Reply => ipc::reply,
        Syscall::ReplyRecv => ipc::reply_recv,
        Syscall::Signal => ipc::signal,
        Syscall::Wait => ipc::wait,
        Syscall::Poll => ipc::poll,
        Syscall::NotificationBind => ipc::bind,
        Syscall::ProcessCreate => task::process_create,
        Syscall::Map => memory::map,
        Syscall::Unmap => memory::unmap,
        Syscall::Protect => memory::protect,
        Syscall::ThreadCreate => task::thread_create,
        Syscall::ThreadStart => task::thread_start,
        Syscall::Kill => task::kill,
        Syscall::SetSched => task::set_sched,
        Syscall::ThreadStats => task::thread_stats,
        Syscall::IrqGet => hw::irq_get,
        Syscall::IrqBind => hw::irq_bind,
        Syscall::IrqAck => hw::irq_ack,
        Syscall::IrqInfo => hw::irq_info,
        Syscall::IoportGrant => hw::ioport_grant,
        Syscall::SetPager => task::set_pager,
        Syscall::IpcBufferSet => ipc::ipc_buffer_set,
        Syscall::TlsSet => task::tls_set,
        Syscall::ProcessInfo => task::process_info,
        Syscall::ReplySave => ipc::reply_save,
        Syscall::ReplyTo => ipc::reply_to,
        Syscall::IoportDerive => hw::ioport_derive,
        Syscall::RegionDerive => memory::region_derive,
        Syscall::RegionInfo => memory::region_info,
        Syscall::HandleGive => handles::give,
        Syscall::HandleInfo => handles::info,
        Syscall::ThreadExit => task::thread_exit,
        Syscall::ProcessWatch => task::process_watch,
        Syscall::ProcessStatus => task::process_status,
        Syscall::DeviceRegion => memory::device_region,
    }
}

const CALLS: usize = Syscall::ALL.len();

/// The dispatch table, in number order.
static TABLE: [Handler; CALLS] = {
    let mut table = [misc::null as Handler; CALLS];
    let mut i = 0;
    while i < CALLS {
        // Numbers are dense from 0, so the number is the index.
        assert!(
            Syscall::ALL[i] as usize == i,
            "system-call numbers must be 0..N in order"
        );
        table[i] = handler(Syscall::ALL[i]);
        i += 1;
    }
    table
};

/// Entered from the `syscall` entry with the caller's registers.
pub extern "C" fn dispatch(frame: &mut TrapFrame) {
    let result = match TABLE.get(frame.rax as usize) {
        Some(handler) => handler(frame),
        None => Err(SysError::UnknownSyscall),
    };
    let (status, value) = encode_result(result);
    frame.rax = status;
    frame.rdx = value;
    process::exit_if_killed();
    sched::preempt_point();
}

/// The calling thread's process, for handlers that need its memory or
/// handles. Only user threads make system calls.
fn caller() -> Result<Arc<Process>, SysError> {
    thread::current()
        .process
        .clone()
        .ok_or(SysError::InvalidArgument)
}

/// The calling thread.
fn sched_current() -> Arc<Thread> {
    thread::current()
}

/// The calling thread and its process.
fn caller_thread() -> Result<(Arc<Thread>, Arc<Process>), SysError> {
    let thread = thread::current();
    let process = thread.process.clone().ok_or(SysError::InvalidArgument)?;
    Ok((thread, process))
}
