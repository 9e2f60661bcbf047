//! Processes and threads: `exit`, `yield`, `process_create`,
//! `thread_create`, `thread_start`, `kill`, `set_sched`, `thread_stats`,
//! `set_pager`, `thread_exit`, `process_info`, `process_times`.

use kcore::sched::{Policy, State};
use libsys::abi::args::{
    Address, Exit, HandleOut, OneHandle, ProcessCreate, ProcessTimesArgs, ProcessWatch, SetPager,
    SetSched, ThreadStart,
};
use libsys::abi::limits::Resource;
use libsys::abi::{Rights, SysError, ThreadStats};

use crate::obj::endpoint::Endpoint;

use super::{caller, caller_thread};
use crate::arch::x86_64::trap::TrapFrame;
use crate::mem::usercopy::{UserPtr, UserSlice};
use crate::obj::handle::{self as kobject, lookup, Counted, EndpointRef, KObject};
use crate::obj::notification::Notification;
use crate::obj::process::{self, ExitReason, Process};
use crate::obj::thread::{self, Thread};
use crate::sched;

/// `exit(status)`: ends the calling process. Does not return.
pub fn exit(args: Exit, _: &mut TrapFrame) -> Result<u64, SysError> {
    process::exit_current(args.status)
}

/// `thread_exit()`: ends the calling thread.
pub fn thread_exit(_: &mut TrapFrame) -> Result<u64, SysError> {
    process::exit_current_thread()
}

/// `tls_set(address)`: the calling thread's FS base from now on.
pub fn tls_set(args: Address, _: &mut TrapFrame) -> Result<u64, SysError> {
    let address = args.address;
    let me = thread::current();
    me.tls.store(address, core::sync::atomic::Ordering::Relaxed);
    crate::arch::x86_64::cpu::set_user_fs(address);
    Ok(0)
}

/// `yield()`: gives up the rest of the time slice.
pub fn yield_now(_: &mut TrapFrame) -> Result<u64, SysError> {
    sched::yield_current();
    Ok(0)
}

/// The longest process name.
const NAME_MAX: usize = 32;

/// `process_create(name, length)` → a handle (MAP, MANAGE) to a new, empty
/// process.
pub fn process_create(args: ProcessCreate, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let name = UserSlice::new(args.name, args.len, NAME_MAX)?;
    let process = caller()?;
    let mut bytes = [0u8; NAME_MAX];
    let bytes = &mut bytes[..name.len()];
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| name.read(aspace, bytes))?;
    let name = core::str::from_utf8(bytes).map_err(|_| SysError::InvalidArgument)?;
    let child = Process::create(name, &process)?;
    let entry = kobject::entry(
        KObject::Process(Counted::new(child)),
        Rights::MAP | Rights::MANAGE,
        0,
    );
    let handle = process.handles.lock().insert(entry)?;
    Ok(u64::from(handle.0))
}

/// `thread_create(process)` → a handle (MANAGE) to a new thread of it, not
/// yet started.
pub fn thread_create(args: OneHandle, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let target = lookup::<Process>(&process, args.handle, Rights::MANAGE)?.object;
    let charge = process.account.charge(Resource::Threads)?;
    let thread = Thread::new_unstarted(&target, charge).map_err(|_| SysError::NoMemory)?;
    // A thread a process makes for itself faults to the same pager as its
    // maker (the memory server, for the processes it manages).
    if alloc::sync::Arc::ptr_eq(&process, &target) {
        let me = super::sched_current();
        let pager = me.ipc.lock().pager.as_ref().map(|(endpoint, badge)| {
            (
                EndpointRef::new(endpoint.endpoint.clone(), Rights::SEND),
                *badge,
            )
        });
        thread.ipc.lock().pager = pager;
    }
    target.add_thread(&thread)?;
    let entry = kobject::entry(KObject::Thread(Counted::new(thread)), Rights::MANAGE, 0);
    let handle = process.handles.lock().insert(entry)?;
    Ok(u64::from(handle.0))
}

/// `thread_start(thread, entry, stack, argument 0, argument 1)`.
pub fn thread_start(args: ThreadStart, _: &mut TrapFrame) -> Result<u64, SysError> {
    let ThreadStart {
        entry,
        stack,
        arg0,
        arg1,
        ..
    } = args;
    let process = caller()?;
    let thread = lookup::<Thread>(&process, args.thread, Rights::MANAGE)?.object;
    if thread
        .process
        .as_ref()
        .is_none_or(|p| p.is_dead() || p.exit_reason().is_some())
    {
        return Err(SysError::PeerDied);
    }
    thread.start(entry, stack, arg0, arg1)?;
    let policy = *thread.policy.lock();
    sched::spawn(thread, policy).map_err(|_| SysError::NoMemory)?;
    Ok(0)
}

/// `kill(process)`.
pub fn kill(args: OneHandle, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let target = lookup::<Process>(&process, args.handle, Rights::MANAGE)?.object;
    target.kill(ExitReason::Killed { by: process.pid });
    Ok(0)
}

/// `set_sched(thread, policy, param)`.
pub fn set_sched(args: SetSched, _: &mut TrapFrame) -> Result<u64, SysError> {
    let policy =
        Policy::from_raw(args.policy, args.param).map_err(|_| SysError::InvalidArgument)?;
    // Real time needs the scheduling control (`set_sched_rt`): an
    // unprivileged FIFO thread that spins would otherwise own the CPU but
    // for RT throttling's 5 %.
    if policy.rt_priority().is_some() {
        return Err(SysError::NotAllowed);
    }
    apply_sched(args.thread, policy)
}

/// Puts the thread `handle` names (MANAGE) in `policy`.
pub(super) fn apply_sched(handle: libsys::abi::Handle, policy: Policy) -> Result<u64, SysError> {
    let process = caller()?;
    let thread = lookup::<Thread>(&process, handle, Rights::MANAGE)?.object;
    *thread.policy.lock() = policy;
    if thread.is_started() {
        sched::set_policy(&thread, policy);
    }
    Ok(0)
}

/// `thread_stats(thread, out)`: its scheduling accounting.
pub fn thread_stats(args: HandleOut, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let out = UserPtr::<ThreadStats>::new(args.out)?;
    let process = caller()?;
    let thread = lookup::<Thread>(&process, args.handle, Rights::empty())?.object;
    let stats = sched::stats(&thread).ok_or(SysError::InvalidArgument)?;
    let (policy, param) = match stats.policy {
        Policy::Normal { nice } => (0, i64::from(nice)),
        Policy::Fifo { priority } => (1, i64::from(priority)),
        Policy::RoundRobin { priority } => (2, i64::from(priority)),
    };
    let info = ThreadStats {
        policy,
        param,
        state: match stats.state {
            State::Running => 0,
            State::Runnable => 1,
            State::Blocked => 2,
        },
        sum_exec_runtime: stats.sum_exec_runtime,
        vruntime: stats.vruntime,
        nr_voluntary_switches: stats.nr_voluntary_switches,
        nr_involuntary_switches: stats.nr_involuntary_switches,
        nr_wakeups: stats.nr_wakeups,
    };
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| out.write(aspace, &info))?;
    Ok(0)
}

/// `process_times(after, out)`: the CPU time of the processes with pids
/// above `after` (no handle needed: see `libsys::abi::Syscall`).
pub fn process_times(args: ProcessTimesArgs, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let out = UserPtr::<libsys::abi::ProcessTimes>::new(args.out)?;
    let process = caller()?;
    let times = process::times_after(args.after);
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| out.write(aspace, &times))?;
    Ok(times.count)
}

/// `process_info(process, out)`: its pid, threads, mapped pages and name.
pub fn process_info(args: HandleOut, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let out = UserPtr::<libsys::abi::ProcessInfo>::new(args.out)?;
    let process = caller()?;
    let target = lookup::<Process>(&process, args.handle, Rights::empty())?.object;
    let (mapped_pages, kernel_frames) = target
        .with_aspace(|aspace| (aspace.mapped_pages(), aspace.frames()))
        .unwrap_or((0, 0));
    let mut info = libsys::abi::ProcessInfo {
        pid: u64::from(target.pid),
        threads: target.thread_count() as u64,
        mapped_pages,
        kernel_frames,
        name: [0; 32],
    };
    let n = target.name.len().min(32);
    info.name[..n].copy_from_slice(&target.name.as_bytes()[..n]);
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| out.write(aspace, &info))?;
    Ok(0)
}

/// `set_pager(thread, endpoint or 0)`: where the thread's page faults go.
pub fn set_pager(args: SetPager, _: &mut TrapFrame) -> Result<u64, SysError> {
    let (_, process) = caller_thread()?;
    let thread = lookup::<Thread>(&process, args.thread, Rights::MANAGE)?.object;
    let pager = match args.pager {
        None => None,
        Some(pager) => {
            let found = lookup::<Endpoint>(&process, pager, Rights::SEND)?;
            Some((EndpointRef::new(found.object, Rights::SEND), found.badge))
        }
    };
    let old = core::mem::replace(&mut thread.ipc.lock().pager, pager);
    drop(old);
    Ok(0)
}

/// `process_watch(process, notification, bits)`.
pub fn process_watch(args: ProcessWatch, _: &mut TrapFrame) -> Result<u64, SysError> {
    let bits = args.bits;
    let process = caller()?;
    let target = lookup::<Process>(&process, args.process, Rights::MANAGE)?.object;
    let notification = lookup::<Notification>(&process, args.notification, Rights::SEND)?.object;
    target.watch(notification, bits, &process.account)?;
    Ok(0)
}

/// `process_status(process)` → a `ProcessStatus` word.
pub fn process_status(args: OneHandle, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let target = lookup::<Process>(&process, args.handle, Rights::empty())?.object;
    Ok(target.status().encode())
}
