//! Per-process limits and the kernel's own figures (`abi::limits`), and
//! the scheduling-control capability: the calls `process_limits_set`,
//! `process_limits`, `kernel_stats` and `set_sched_rt`.

use crate::abi::args::{Address, HandleOut};
use crate::abi::limits::{KernelStats, Limits, ResourceUsage, SetSchedRt};
use crate::abi::{Handle, SysError, Syscall};
use crate::handle::{SchedControl, Thread};
use crate::syscall::call_with;

/// Sets `process`'s limits (needs MANAGE on it): each at most the
/// caller's own, else `NotAllowed`.
pub fn set(process: Handle, limits: &Limits) -> Result<(), SysError> {
    let args = HandleOut {
        handle: process,
        out: limits as *const Limits as u64,
    };
    call_with(Syscall::ProcessLimitsSet, &args).map(|_| ())
}

/// `process`'s limits and what is charged against them.
pub fn usage(process: Handle) -> Result<ResourceUsage, SysError> {
    let mut usage = ResourceUsage::default();
    let args = HandleOut {
        handle: process,
        out: &mut usage as *mut ResourceUsage as u64,
    };
    call_with(Syscall::ProcessLimits, &args)?;
    Ok(usage)
}

/// The kernel's free frames, heap use and object counts.
pub fn kernel_stats() -> Result<KernelStats, SysError> {
    let mut stats = KernelStats::default();
    let args = Address {
        address: &mut stats as *mut KernelStats as u64,
    };
    call_with(Syscall::KernelStats, &args)?;
    Ok(stats)
}

impl SchedControl {
    /// Puts `thread` in `policy` (0 normal, 1 FIFO, 2 round-robin) with
    /// `param` (nice or priority): the one way to a real-time class.
    pub fn set_sched(&self, thread: &Thread, policy: u64, param: i64) -> Result<(), SysError> {
        self.set_sched_raw(thread.raw(), policy, param)
    }

    /// As [`SchedControl::set_sched`], for a thread handle number.
    pub fn set_sched_raw(&self, thread: Handle, policy: u64, param: i64) -> Result<(), SysError> {
        let args = SetSchedRt {
            control: self.raw(),
            thread,
            policy,
            param,
        };
        call_with(Syscall::SetSchedRt, &args).map(|_| ())
    }
}
