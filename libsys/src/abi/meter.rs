//! The cost meter and the path trace (a kernel built with the `meter`
//! feature; docs/benchmarks.md, "The cost meter"): the [`Syscall::Meter`]
//! operations and the report the kernel fills.
//!
//! The kernel keeps a phase per CPU and, while the meter runs, adds the
//! TSC ticks since the last probe to the phase that was current (under
//! `-icount shift=0` a tick is an instruction). Probes sit at fixed
//! points: the system-call and trap entries and exits, the physical copy
//! of IPC payloads and grant windows, the address-space switch, the
//! scheduler, the reply system calls, and the call into an in-kernel
//! server core. A kernel without the feature answers
//! [`SysError::UnknownSyscall`](super::SysError::UnknownSyscall).
//!
//! [`Syscall::Meter`]: super::Syscall::Meter

use super::args::{Args, Regs};
use super::memory::USER_END;
use super::SysError;

/// `Meter(START, flags)`: zero the counters and start; the calling
/// process becomes the client (its user time is [`Phase::Stub`]).
pub const METER_START: u64 = 0;
/// `Meter(STOP, pointer to a [`MeterReport`])`: stop, and fill the report.
/// With [`FLAG_TRACE`] at the start, the kernel also writes the trace to
/// its debug channel (`TRACE …` lines) and empties it.
pub const METER_STOP: u64 = 1;
/// `Meter(DUMP)`: write the trace recorded between the last start and
/// stop to the kernel's debug channel, one `TRACE` line an event between
/// `TRACE-BEGIN` and `TRACE-END` lines (see [`TraceKind`]).
pub const METER_DUMP: u64 = 2;
/// Also record a path trace (timestamped events, a ring per CPU).
pub const FLAG_TRACE: u64 = 1;

/// `meter`'s arguments, decoded: `rdi` the operation ([`METER_START`],
/// [`METER_STOP`], [`METER_DUMP`]; another is `InvalidArgument`), `rsi`
/// its argument (the start's flags: only [`FLAG_TRACE`], else
/// `InvalidArgument`; the stop's report address, below `USER_END`, else
/// `BadAddress`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeterArgs {
    /// Zero the counters and start, with a path trace if `trace`.
    Start { trace: bool },
    /// Stop and write the [`MeterReport`] at `out`.
    Stop { out: u64 },
    /// Write the last trace to the debug channel.
    Dump,
}

impl Args for MeterArgs {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        match r.0[0] {
            METER_START if r.0[1] & !FLAG_TRACE != 0 => Err(SysError::InvalidArgument),
            METER_START => Ok(MeterArgs::Start {
                trace: r.0[1] & FLAG_TRACE != 0,
            }),
            METER_STOP if r.0[1] >= USER_END => Err(SysError::BadAddress),
            METER_STOP => Ok(MeterArgs::Stop { out: r.0[1] }),
            METER_DUMP => Ok(MeterArgs::Dump),
            _ => Err(SysError::InvalidArgument),
        }
    }

    fn encode(&self) -> Regs {
        match *self {
            MeterArgs::Start { trace } => Regs([METER_START, u64::from(trace), 0, 0, 0, 0]),
            MeterArgs::Stop { out } => Regs([METER_STOP, out, 0, 0, 0, 0]),
            MeterArgs::Dump => Regs([METER_DUMP, 0, 0, 0, 0, 0]),
        }
    }
}

/// A trace event's kind: the `TRACE` line's fourth word is its name.
/// `Enter`/`Leave` kinds are spans on the thread (Chrome trace `B`/`E`),
/// the others instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum TraceKind {
    /// A system call begins (argument: its number).
    SyscallEnter = 0,
    /// It returns (argument: its number).
    SyscallLeave = 1,
    /// A trap from user mode or the idle loop begins (argument: vector;
    /// 14 is a page fault, 32 and up interrupts).
    TrapEnter = 2,
    TrapLeave = 3,
    /// The CPU switches to another thread (argument: its tid; the line
    /// carries its name).
    Switch = 4,
    /// An IPC message is sent: `send`, `call`, a fault to a pager
    /// (argument: the label).
    IpcSend = 5,
    /// A reply is sent (argument: the label).
    IpcReply = 6,
    /// A message or reply arrives: the receiving call returns.
    IpcRecv = 7,
    /// A payload or window copy begins and ends (argument: bytes).
    CopyEnter = 8,
    CopyLeave = 9,
    /// A call into an in-kernel server core begins and ends.
    ServiceEnter = 10,
    ServiceLeave = 11,
    /// CR3 is loaded (argument: the new root).
    AsSwitch = 12,
}

impl TraceKind {
    /// The name on a `TRACE` line.
    pub const fn name(self) -> &'static str {
        match self {
            TraceKind::SyscallEnter => "syscall_enter",
            TraceKind::SyscallLeave => "syscall_leave",
            TraceKind::TrapEnter => "trap_enter",
            TraceKind::TrapLeave => "trap_leave",
            TraceKind::Switch => "switch",
            TraceKind::IpcSend => "ipc_send",
            TraceKind::IpcReply => "ipc_reply",
            TraceKind::IpcRecv => "ipc_recv",
            TraceKind::CopyEnter => "copy_enter",
            TraceKind::CopyLeave => "copy_leave",
            TraceKind::ServiceEnter => "service_enter",
            TraceKind::ServiceLeave => "service_leave",
            TraceKind::AsSwitch => "as_switch",
        }
    }
}

/// Where the instructions of a request go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Phase {
    /// User mode in the client process: the stub (encode, decode) and the
    /// benchmark's loop; also the `syscall` entry's and exit's assembly
    /// (the probes are in the Rust dispatcher).
    Stub = 0,
    /// The kernel outside every other phase: dispatch, argument checks,
    /// handle lookups, the IPC call path and the return.
    Entry = 1,
    /// Payloads and grant windows copied between address spaces.
    Copy = 2,
    /// The address-space switch (CR3, I/O bitmap) and the context switch.
    Switch = 3,
    /// The scheduler: picking the next thread.
    Sched = 4,
    /// A server's work: user mode of every process but the client's, and
    /// an in-kernel server core (the monolithic placement).
    Work = 5,
    /// The reply system calls (`reply`, `reply_recv`, `reply_to`,
    /// `reply_to_recv`) outside copy, switch and scheduler.
    Reply = 6,
    /// The idle loop: waiting for an interrupt (a device, the timer).
    /// Under icount with `sleep=off` QEMU jumps the clock to the next
    /// timer deadline while the CPU halts, so this is not instructions.
    Idle = 7,
}

/// Phases in a report.
pub const PHASES: usize = 8;
/// Their names, in [`Phase`] order (the `BREAKDOWN` line's keys).
pub const PHASE_NAMES: [&str; PHASES] = [
    "stub", "entry", "copy", "switch", "sched", "work", "reply", "idle",
];

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; PHASES] = [
        Phase::Stub,
        Phase::Entry,
        Phase::Copy,
        Phase::Switch,
        Phase::Sched,
        Phase::Work,
        Phase::Reply,
        Phase::Idle,
    ];
}

/// What the meter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Event {
    /// Entries into the kernel: system calls, faults, interrupts.
    Entries = 0,
    /// CR3 loads: address-space switches.
    AsSwitches = 1,
    /// IPC messages: sends, calls, replies (a `reply_recv` is one).
    IpcMessages = 2,
    /// Bytes copied between address spaces by the kernel.
    BytesCopied = 3,
    /// Context switches (kernel stacks).
    ContextSwitches = 4,
    /// Calls into an in-kernel server core.
    ServiceCalls = 5,
    /// Page faults from user mode.
    PageFaults = 6,
    /// Probe points passed (the meter's own cost is about this many
    /// times [`MeterReport::probe_cost`]).
    Probes = 7,
}

/// Events in a report.
pub const EVENTS: usize = 8;
/// Their names, in [`Event`] order.
pub const EVENT_NAMES: [&str; EVENTS] = [
    "entries",
    "as_switches",
    "ipc",
    "bytes",
    "ctx_switches",
    "service_calls",
    "faults",
    "probes",
];

/// What `Meter(STOP)` writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct MeterReport {
    /// TSC ticks per [`Phase`].
    pub ticks: [u64; PHASES],
    /// Counts per [`Event`].
    pub events: [u64; EVENTS],
    /// Ticks one probe costs, measured by the kernel at the start (a
    /// loop of probes that change nothing).
    pub probe_cost: u64,
    /// Trace events recorded (0 without [`FLAG_TRACE`]); `lost` of them
    /// were overwritten by the ring.
    pub traced: u64,
    pub lost: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_args_round_trip_and_refuse_bad_registers() {
        for args in [
            MeterArgs::Start { trace: false },
            MeterArgs::Start { trace: true },
            MeterArgs::Stop { out: 0x1000 },
            MeterArgs::Dump,
        ] {
            assert_eq!(MeterArgs::decode(&args.encode()), Ok(args));
        }
        let bad = [
            ([3, 0], SysError::InvalidArgument),
            ([u64::MAX, 0], SysError::InvalidArgument),
            ([METER_START, 2], SysError::InvalidArgument),
            ([METER_STOP, USER_END], SysError::BadAddress),
            ([METER_STOP, u64::MAX], SysError::BadAddress),
        ];
        for ([op, arg], error) in bad {
            assert_eq!(MeterArgs::decode(&Regs([op, arg, 0, 0, 0, 0])), Err(error));
        }
    }
}
