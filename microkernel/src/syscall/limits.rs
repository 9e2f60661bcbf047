//! Limits, the kernel's figures and real time: `process_limits_set`,
//! `process_limits`, `kernel_stats`, `set_sched_rt` (`obj::limits`).

use kcore::sched::Policy;
use libsys::abi::args::{Address, HandleOut};
use libsys::abi::limits::{KernelStats, Limits, ResourceUsage, SetSchedRt};
use libsys::abi::{Rights, SysError};

use super::caller;
use crate::arch::x86_64::trap::TrapFrame;
use crate::mem::usercopy::{UserPtr, UserSlice};
use crate::obj::handle::{lookup, SchedControl};
use crate::obj::process::Process;

/// `process_limits_set(process, limits)`: each at most the caller's own
/// (`NotAllowed`); needs MANAGE on the process.
pub fn process_limits_set(args: HandleOut, frame: &mut TrapFrame) -> Result<u64, SysError> {
    const SIZE: usize = core::mem::size_of::<Limits>();
    let from = UserSlice::new(args.out, SIZE as u64, SIZE)?;
    let process = caller()?;
    let target = lookup::<Process>(&process, args.handle, Rights::MANAGE)?.object;
    let mut bytes = [0u8; SIZE];
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| from.read(aspace, &mut bytes))?;
    let mut limits = Limits::default();
    for (max, word) in limits.max.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(word);
        *max = u64::from_le_bytes(raw);
    }
    target.set_limits(&limits, &process.account.limits())?;
    Ok(0)
}

/// `process_limits(process, out)`: its limits and what is charged.
pub fn process_limits(args: HandleOut, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let out = UserPtr::<ResourceUsage>::new(args.out)?;
    let process = caller()?;
    let target = lookup::<Process>(&process, args.handle, Rights::empty())?.object;
    let usage = target.usage();
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| out.write(aspace, &usage))?;
    Ok(0)
}

/// `kernel_stats(out)`: free frames, heap, live processes and threads.
pub fn kernel_stats(args: Address, frame: &mut TrapFrame) -> Result<u64, SysError> {
    // LAB 8 BEGIN: check the user pointer, gather the figures, copy them out
    let out = UserPtr::<KernelStats>::new(args.address)?;
    let process = caller()?;
    let stats = crate::obj::limits::kernel_stats();
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| out.write(aspace, &stats))?;
    Ok(0)
    // LAB 8 STUB
    // let _ = (args, frame, caller, UserPtr::<KernelStats>::new);
    // Err(SysError::UnknownSyscall)
    // LAB 8 END
}

/// `set_sched_rt(control, thread, policy, param)`: any policy, real time
/// included, for the holder of the scheduling control (MANAGE).
pub fn set_sched_rt(args: SetSchedRt, _: &mut TrapFrame) -> Result<u64, SysError> {
    let policy =
        Policy::from_raw(args.policy, args.param).map_err(|_| SysError::InvalidArgument)?;
    let process = caller()?;
    lookup::<SchedControl>(&process, args.control, Rights::MANAGE)?;
    drop(process);
    super::task::apply_sched(args.thread, policy)
}
