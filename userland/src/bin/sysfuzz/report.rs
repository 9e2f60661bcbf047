//! `sysfuzz`'s reports: the replay ring (printed at the end and by the
//! watchdog when a call does not return), the counts per call and per
//! error, and what fills the handle table when it is full.

use core::sync::atomic::Ordering;

use libsys::abi::{Handle, ObjectType, SysError, Syscall};
use libsys::{eprintln, println};

use crate::{Fuzzer, FINISHED, RING, RING_CALLS, STARTED};

/// Prints the ring if a call has not returned within 5 s, then waits for
/// the next stuck call.
pub(crate) fn watchdog() {
    let mut reported = u64::MAX;
    loop {
        let before = FINISHED.load(Ordering::Relaxed);
        libsys::time::sleep_ms(5_000);
        let finished = FINISHED.load(Ordering::Relaxed);
        if finished == u64::MAX {
            return;
        }
        let started = STARTED.load(Ordering::Relaxed);
        if finished == before && started > finished && reported != started {
            eprintln!(
                "sysfuzz: call {} has not returned in 5 s; the last calls:",
                started - 1
            );
            print_ring();
            reported = started;
        }
    }
}

pub(crate) fn print_ring() {
    let last = STARTED.load(Ordering::Relaxed);
    for i in last.saturating_sub(RING as u64)..last {
        let slot = &RING_CALLS[i as usize % RING];
        let w: [u64; 8] = core::array::from_fn(|k| slot[k].load(Ordering::Relaxed));
        println!(
            "sysfuzz: ring: call {} nr {} ({:?}) args {:#x} {:#x} {:#x} {:#x} {:#x} {:#x}",
            w[0],
            w[1],
            Syscall::try_from(w[1]).ok(),
            w[2],
            w[3],
            w[4],
            w[5],
            w[6],
            w[7]
        );
    }
}

impl Fuzzer {
    /// Says what fills this process's handle table (the first time
    /// `endpoint_create` fails for want of room): the live handles of the
    /// first slots and generations, by type, against the pool.
    pub(crate) fn report_table(&self, i: u64) {
        let mut by_type = [0u32; ObjectType::ALL.len() + 1];
        let mut live = 0;
        for index in 1..1100u16 {
            for generation in 0..64u16 {
                let h = u64::from(Handle::new(index, generation).0);
                if let Ok(raw) = libsys::syscall::call6(Syscall::HandleInfo, [h, 0, 0, 0, 0, 0]) {
                    live += 1;
                    let at = ObjectType::ALL.iter().position(|t| *t as u64 == raw >> 32);
                    by_type[at.unwrap_or(ObjectType::ALL.len())] += 1;
                }
            }
        }
        println!(
            "sysfuzz: call {i}: endpoint_create is out of room: {live} live handles found \
             (types {:?} by ObjectType order), {} in the pool, {} the runtime's",
            by_type,
            self.pool.len(),
            self.protected.len()
        );
    }

    pub(crate) fn summary(&self) {
        for (row, &calls) in self.calls.iter().enumerate() {
            if calls == 0 {
                continue;
            }
            let name = Syscall::ALL.get(row).map_or("unknown", |c| call_name(*c));
            println!(
                "sysfuzz: {name:>18} {calls:>7} calls {:>7} errors",
                self.errors[row]
            );
        }
        for (at, &count) in self.by_error.iter().enumerate() {
            if count > 0 {
                let name = SysError::ALL.get(at).map_or("other", |e| e.description());
                println!("sysfuzz: error {name:>24}: {count}");
            }
        }
    }
}

fn call_name(call: Syscall) -> &'static str {
    // The Debug form is the name; kept as text without formatting.
    use Syscall::*;
    match call {
        Null => "null",
        Log => "log",
        Exit => "exit",
        Yield => "yield",
        Clock => "clock",
        LogRead => "log_read",
        HandleDup => "handle_dup",
        HandleClose => "handle_close",
        EndpointCreate => "endpoint_create",
        NotificationCreate => "notification_create",
        Send => "send",
        Recv => "recv",
        Call => "call",
        Reply => "reply",
        ReplyRecv => "reply_recv",
        Signal => "signal",
        Wait => "wait",
        Poll => "poll",
        NotificationBind => "notification_bind",
        ProcessCreate => "process_create",
        Map => "map",
        Unmap => "unmap",
        Protect => "protect",
        ThreadCreate => "thread_create",
        ThreadStart => "thread_start",
        Kill => "kill",
        SetSched => "set_sched",
        ThreadStats => "thread_stats",
        IrqGet => "irq_get",
        IrqBind => "irq_bind",
        IrqAck => "irq_ack",
        IrqInfo => "irq_info",
        IoportGrant => "ioport_grant",
        SetPager => "set_pager",
        IpcBufferSet => "ipc_buffer_set",
        RegionDerive => "region_derive",
        RegionInfo => "region_info",
        HandleGive => "handle_give",
        HandleInfo => "handle_info",
        ThreadExit => "thread_exit",
        ProcessWatch => "process_watch",
        ProcessStatus => "process_status",
        TlsSet => "tls_set",
        ProcessInfo => "process_info",
        DeviceRegion => "device_region",
        ReplySave => "reply_save",
        ReplyTo => "reply_to",
        IoportDerive => "ioport_derive",
        ThreadUnblock => "thread_unblock",
        ReplyInterrupted => "reply_interrupted",
        ReplyToRecv => "reply_to_recv",
        GrantCopy => "grant_copy",
        ExceptionSet => "exception_set",
        ThreadSuspend => "thread_suspend",
        ThreadResume => "thread_resume",
        ThreadRegsRead => "thread_regs_read",
        ThreadRegsWrite => "thread_regs_write",
        SignalDeliver => "signal_deliver",
        Sigreturn => "sigreturn",
        IrqConfigure => "irq_configure",
        ConsoleTake => "console_take",
        ConsoleGiveBack => "console_give_back",
        LogNotify => "log_notify",
        ProcessLimitsSet => "process_limits_set",
        ProcessLimits => "process_limits",
        KernelStats => "kernel_stats",
        SetSchedRt => "set_sched_rt",
        Meter => "meter",
        Power => "power",
        ProcessTimes => "process_times",
        IrqMsiAlloc => "irq_msi_alloc",
    }
}
