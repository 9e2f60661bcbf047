//! Layer 7: entries from user mode — system calls, and (`trap.rs`) what
//! a fault or an interrupt means.
//!
//! Provides the system-call dispatcher and its handlers, one file per
//! group (`exception`, `handles`, `hw`, `ipc`, `limits`, `memory`, `misc`,
//! `power`, `task`), and the trap
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
//! Each call follows seL4's decode-then-invoke discipline: the table's
//! entry decodes the frame's registers into the call's argument struct
//! (`libsys::abi::args`, the one definition of each call's register
//! mapping and checks; see [`typed!`]), the handler checks what needs the
//! kernel's state (handles through `obj::handle::lookup`, user pointers
//! through `usercopy`), and only then acts; a failed check returns its
//! error and changes nothing. The IPC calls decode their message
//! registers themselves (`libsys::abi::ipc`). The result goes
//! back in `rax` (0 or the error code) and `rdx` (the value).
//!
//! On the way out, a thread that was killed meanwhile exits instead of
//! returning, and a pending reschedule (a wake-up, the tick) is honoured.

mod exception;
mod handles;
mod hw;
mod ipc;
mod limits;
mod memory;
mod misc;
mod power;
mod task;
pub mod trap;

use alloc::sync::Arc;

use libsys::abi::args::{self, Args, Regs};
use libsys::abi::exception as exc;
use libsys::abi::{encode_result, SysError, Syscall};

use crate::arch::x86_64::trap::TrapFrame;
use crate::obj::process::Process;
use crate::obj::thread::{self, Thread};
use crate::sched;

/// A handler: the saved user registers in, the call's result out.
type Handler = fn(&mut TrapFrame) -> Result<u64, SysError>;

/// The argument registers of a frame, in ABI order: the one place the
/// kernel reads a system call's arguments.
#[inline(always)]
fn regs(frame: &TrapFrame) -> Regs {
    Regs([
        frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
    ])
}

/// The [`Handler`] for a handler that takes its decoded arguments: decode
/// (every check `libsys::abi::args` makes, nothing changed on failure),
/// then invoke. The frame still goes along, for the calls that answer in
/// it or fault on the caller's behalf (its `rip`).
macro_rules! typed {
    ($args:ty, $handler:path) => {{
        fn decode_then_invoke(frame: &mut TrapFrame) -> Result<u64, SysError> {
            let args = <$args as Args>::decode(&regs(frame))?;
            $handler(args, frame)
        }
        decode_then_invoke as Handler
    }};
}

const fn handler(call: Syscall) -> Handler {
    match call {
        Syscall::Null => misc::null,
        Syscall::Log => typed!(args::Log, misc::log),
        Syscall::Exit => typed!(args::Exit, task::exit),
        Syscall::Yield => task::yield_now,
        Syscall::Clock => typed!(args::Address, misc::clock),
        Syscall::LogRead => typed!(args::LogRead, misc::log_read),
        Syscall::HandleDup => typed!(args::HandleDup, handles::dup),
        Syscall::HandleClose => typed!(args::OneHandle, handles::close),
        Syscall::EndpointCreate => ipc::endpoint_create,
        Syscall::NotificationCreate => ipc::notification_create,
        // The IPC calls read their message registers themselves (the fast
        // path must not copy them first): `libsys::abi::ipc`.
        Syscall::Send => ipc::send,
        Syscall::Recv => ipc::recv,
        Syscall::Call => ipc::call,
        Syscall::Reply => ipc::reply,
        Syscall::ReplyRecv => ipc::reply_recv,
        Syscall::Signal => typed!(args::Signal, ipc::signal),
        Syscall::Wait => typed!(args::Wait, ipc::wait),
        Syscall::Poll => typed!(args::OneHandle, ipc::poll),
        Syscall::NotificationBind => typed!(args::NotificationBind, ipc::bind),
        Syscall::ProcessCreate => typed!(args::ProcessCreate, task::process_create),
        Syscall::Map => typed!(args::Map, memory::map),
        Syscall::Unmap => typed!(args::Unmap, memory::unmap),
        Syscall::Protect => typed!(args::Protect, memory::protect),
        Syscall::ThreadCreate => typed!(args::OneHandle, task::thread_create),
        Syscall::ThreadStart => typed!(args::ThreadStart, task::thread_start),
        Syscall::Kill => typed!(args::OneHandle, task::kill),
        Syscall::SetSched => typed!(args::SetSched, task::set_sched),
        Syscall::ThreadStats => typed!(args::HandleOut, task::thread_stats),
        Syscall::IrqGet => typed!(args::IrqGet, hw::irq_get),
        Syscall::IrqBind => typed!(args::IrqBind, hw::irq_bind),
        Syscall::IrqAck => typed!(args::OneHandle, hw::irq_ack),
        Syscall::IrqInfo => typed!(args::HandleOut, hw::irq_info),
        Syscall::IrqMsiAlloc => typed!(args::HandleOut, hw::irq_msi_alloc),
        Syscall::IoportGrant => typed!(args::Ports, hw::ioport_grant),
        Syscall::SetPager => typed!(args::SetPager, task::set_pager),
        Syscall::IpcBufferSet => typed!(args::IpcBufferSet, ipc::ipc_buffer_set),
        Syscall::TlsSet => typed!(args::Address, task::tls_set),
        Syscall::ProcessInfo => typed!(args::HandleOut, task::process_info),
        Syscall::ReplySave => ipc::reply_save,
        Syscall::ReplyTo => ipc::reply_to,
        Syscall::IoportDerive => typed!(args::Ports, hw::ioport_derive),
        Syscall::ThreadUnblock => typed!(args::OneHandle, ipc::thread_unblock),
        Syscall::ReplyInterrupted => typed!(args::OneHandle, ipc::reply_interrupted),
        Syscall::ReplyToRecv => ipc::reply_to_recv,
        Syscall::RegionDerive => typed!(args::RegionDerive, memory::region_derive),
        Syscall::RegionInfo => typed!(args::HandleOut, memory::region_info),
        Syscall::HandleGive => typed!(args::HandleGive, handles::give),
        Syscall::HandleInfo => typed!(args::OneHandle, handles::info),
        Syscall::ThreadExit => task::thread_exit,
        Syscall::ProcessWatch => typed!(args::ProcessWatch, task::process_watch),
        Syscall::ProcessStatus => typed!(args::OneHandle, task::process_status),
        Syscall::DeviceRegion => typed!(args::DeviceRegion, memory::device_region),
        Syscall::GrantCopy => typed!(args::GrantCopy, ipc::grant_copy),
        Syscall::ExceptionSet => typed!(exc::ExceptionSet, exception::exception_set),
        Syscall::ThreadSuspend => typed!(args::OneHandle, exception::thread_suspend),
        Syscall::ThreadResume => typed!(args::OneHandle, exception::thread_resume),
        Syscall::ThreadRegsRead => typed!(exc::ThreadRegs, exception::regs_read),
        Syscall::ThreadRegsWrite => typed!(exc::ThreadRegs, exception::regs_write),
        Syscall::SignalDeliver => typed!(exc::SignalDeliver, exception::signal_deliver),
        Syscall::Sigreturn => typed!(exc::Sigreturn, exception::sigreturn),
        Syscall::IrqConfigure => typed!(args::IrqConfigure, hw::irq_configure),
        Syscall::ConsoleTake => typed!(args::OneHandle, misc::console_take),
        Syscall::ConsoleGiveBack => typed!(args::OneHandle, misc::console_give_back),
        Syscall::LogNotify => typed!(args::LogNotify, misc::log_notify),
        Syscall::ProcessLimitsSet => typed!(args::HandleOut, limits::process_limits_set),
        Syscall::ProcessLimits => typed!(args::HandleOut, limits::process_limits),
        Syscall::KernelStats => typed!(args::Address, limits::kernel_stats),
        Syscall::SetSchedRt => typed!(libsys::abi::limits::SetSchedRt, limits::set_sched_rt),
        Syscall::Meter => typed!(libsys::abi::meter::MeterArgs, misc::meter),
        Syscall::Power => typed!(libsys::abi::power::PowerArgs, power::power),
        Syscall::ProcessTimes => typed!(args::ProcessTimesArgs, task::process_times),
    }
}

/// One past the highest call number (numbers may skip: each mechanism
/// has its own range).
const CALLS: usize = Syscall::ALL[Syscall::ALL.len() - 1] as usize + 1;

/// A number between ranges that no call has.
fn unknown(_: &mut TrapFrame) -> Result<u64, SysError> {
    Err(SysError::UnknownSyscall)
}

/// The dispatch table, indexed by number.
static TABLE: [Handler; CALLS] = {
    let mut table = [unknown as Handler; CALLS];
    let mut i = 0;
    while i < Syscall::ALL.len() {
        assert!(
            i == 0 || Syscall::ALL[i] as usize > Syscall::ALL[i - 1] as usize,
            "Syscall::ALL must ascend"
        );
        table[Syscall::ALL[i] as usize] = handler(Syscall::ALL[i]);
        i += 1;
    }
    table
};

/// Entered from the `syscall` entry with the caller's registers.
pub extern "C" fn dispatch(frame: &mut TrapFrame) {
    #[cfg(feature = "meter")]
    let number = frame.rax;
    #[cfg(feature = "meter")]
    crate::klog::meter::enter(libsys::abi::meter::TraceKind::SyscallEnter, number);
    let result = match TABLE.get(frame.rax as usize) {
        Some(handler) => handler(frame),
        None => Err(SysError::UnknownSyscall),
    };
    let (status, value) = encode_result(result);
    frame.rax = status;
    frame.rdx = value;
    sched::preempt_point();
    // A kill, a suspension, a signal upcall or a `sigreturn`: one flag
    // read on the way out (`exception::return_to_user`).
    if sched::current_has_work() {
        crate::ipc::exception::return_to_user(frame);
    }
    #[cfg(feature = "meter")]
    meter_leave(number, frame);
}

/// The cost meter's exit probe: a receiving IPC call that succeeded is
/// a message received; then the way back to user mode.
#[cfg(feature = "meter")]
fn meter_leave(number: u64, frame: &TrapFrame) {
    use libsys::abi::meter::TraceKind;
    let receives = [
        Syscall::Call,
        Syscall::Recv,
        Syscall::ReplyRecv,
        Syscall::ReplyToRecv,
    ];
    if frame.rax == 0 && receives.iter().any(|c| *c as u64 == number) {
        crate::klog::meter::trace(TraceKind::IpcRecv, frame.rsi);
    }
    crate::klog::meter::leave(TraceKind::SyscallLeave, number);
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
