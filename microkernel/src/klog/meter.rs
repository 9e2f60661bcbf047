//! The cost meter and the path trace (cargo feature `meter`, off by
//! default; `libsys::abi::meter` has the ABI, docs/benchmarks.md "The cost
//! meter" the method).
//!
//! Probes sit at fixed points of the kernel (the `meter_*!` macros, which
//! expand to nothing without the feature, so the default kernel has not one
//! instruction of them): the system-call and trap entries and exits, the
//! physical copy of payloads and windows, the CR3 load, the context
//! switch, the scheduler, the reply calls, the call into an in-kernel
//! server core, and the idle loop. The CPU is always in one [`Phase`];
//! a probe that changes it adds the TSC ticks since the last change to the
//! phase left (under `-icount shift=0` a tick is one instruction). A scope
//! ([`Scope`]) gives the phase back when it ends, so phases nest, and a
//! thread switched out inside a scope finds its own phase again when it
//! is switched back in (the scope lives on its stack). User time is the
//! stub's when the address space is the client's (the process that
//! started the meter), else a server's work.
//!
//! With the trace on, each probe also appends a timestamped event to the
//! CPU's ring ([`RING`] events, the oldest overwritten); `Meter(DUMP)`
//! prints it to the debug channel, which `make trace` turns into Chrome
//! trace JSON (harness `trace`).
//!
//! One CPU: the state is the CPU's, touched with interrupts off (kernel
//! code runs with them off; the idle loop's probe runs before it enables
//! them). With more CPUs it becomes an array indexed by the CPU.

use core::cell::UnsafeCell;

use libsys::abi::meter::{Event, MeterReport, Phase, TraceKind, EVENTS, PHASES};

use crate::arch::time::rdtsc;

/// Trace events kept per CPU.
pub const RING: usize = 8192;

/// Bytes of a thread's name a switch event keeps.
const NAME: usize = 15;

#[derive(Clone, Copy)]
struct TraceEvent {
    tsc: u64,
    arg: u64,
    /// The address space (CR3) current at the event: the process.
    cr3: u64,
    tid: u32,
    kind: TraceKind,
    name_len: u8,
    name: [u8; NAME],
}

const EMPTY: TraceEvent = TraceEvent {
    tsc: 0,
    arg: 0,
    cr3: 0,
    tid: 0,
    kind: TraceKind::Switch,
    name_len: 0,
    name: [0; NAME],
};

struct State {
    on: bool,
    tracing: bool,
    /// The client's address space: user time there is the stub's.
    client_cr3: u64,
    phase: Phase,
    since: u64,
    ticks: [u64; PHASES],
    events: [u64; EVENTS],
    probe_cost: u64,
    /// The running thread, as the last switch (or the start) said.
    tid: u32,
    ring: [TraceEvent; RING],
    /// Events written since the start (the next goes to `written % RING`).
    written: u64,
}

struct PerCpu(UnsafeCell<State>);

// SAFETY: one CPU, and every access is with interrupts off (see the
// module documentation), so no two run at once.
unsafe impl Sync for PerCpu {}

static CPU0: PerCpu = PerCpu(UnsafeCell::new(State {
    on: false,
    tracing: false,
    client_cr3: 0,
    phase: Phase::Entry,
    since: 0,
    ticks: [0; PHASES],
    events: [0; EVENTS],
    probe_cost: 0,
    tid: 0,
    ring: [EMPTY; RING],
    written: 0,
}));

/// This CPU's state.
#[allow(clippy::mut_from_ref)]
fn state() -> &'static mut State {
    // SAFETY: see `PerCpu`: nothing else holds it while a probe runs (the
    // probes do not nest into each other: none calls another while it
    // holds the reference).
    unsafe { &mut *CPU0.0.get() }
}

fn cr3() -> u64 {
    x86_64::registers::control::Cr3::read_raw()
        .0
        .start_address()
        .as_u64()
}

/// Makes `new` the CPU's phase; returns the one left.
#[inline(never)]
pub fn to(new: Phase) -> Phase {
    let s = state();
    let old = s.phase;
    if s.on {
        let now = rdtsc();
        s.ticks[old as usize] += now.wrapping_sub(s.since);
        s.since = now;
        s.events[Event::Probes as usize] += 1;
    }
    s.phase = new;
    old
}

/// A phase until the end of the scope; the one before it after.
pub struct Scope(Phase);

impl Scope {
    #[inline(always)]
    pub fn enter(phase: Phase) -> Scope {
        Scope(to(phase))
    }
}

impl Drop for Scope {
    #[inline(always)]
    fn drop(&mut self) {
        to(self.0);
    }
}

/// A phase and a traced span (`enter` … `leave`, argument `arg`) until
/// the end of the scope.
pub struct Span {
    scope: Scope,
    leave: TraceKind,
    arg: u64,
}

impl Span {
    #[inline(always)]
    pub fn enter(phase: Phase, enter: TraceKind, leave: TraceKind, arg: u64) -> Span {
        trace(enter, arg);
        Span {
            scope: Scope::enter(phase),
            leave,
            arg,
        }
    }
}

impl Drop for Span {
    #[inline(always)]
    fn drop(&mut self) {
        trace(self.leave, self.arg);
        // The scope ends after the event (field drop order).
        let _ = &self.scope;
    }
}

/// A `call` that reached an in-kernel server core: counted as a service
/// call, not as the IPC message `call`'s probe took it for.
pub fn service_call() {
    let s = state();
    if s.on {
        s.events[Event::IpcMessages as usize] =
            s.events[Event::IpcMessages as usize].saturating_sub(1);
        s.events[Event::ServiceCalls as usize] += 1;
    }
}

/// Counts `n` of `event` while the meter runs.
#[inline(never)]
pub fn count(event: Event, n: u64) {
    let s = state();
    if s.on {
        s.events[event as usize] += n;
    }
}

/// Appends a trace event while the trace runs (`name`: a switch's).
#[inline(never)]
pub fn trace(kind: TraceKind, arg: u64) {
    trace_named(kind, arg, "");
}

fn trace_named(kind: TraceKind, arg: u64, name: &str) {
    let s = state();
    if !s.tracing {
        return;
    }
    let mut event = TraceEvent {
        tsc: rdtsc(),
        arg,
        cr3: cr3(),
        tid: s.tid,
        kind,
        ..EMPTY
    };
    let n = name.len().min(NAME);
    event.name[..n].copy_from_slice(&name.as_bytes()[..n]);
    event.name_len = n as u8;
    s.ring[(s.written % RING as u64) as usize] = event;
    s.written += 1;
}

/// A system call or a trap from user mode begins.
#[inline(never)]
pub fn enter(kind: TraceKind, arg: u64) {
    count(Event::Entries, 1);
    trace(kind, arg);
    to(Phase::Entry);
}

/// It returns to user mode: the client's stub or a server's work.
#[inline(never)]
pub fn leave(kind: TraceKind, arg: u64) {
    trace(kind, arg);
    to_user();
}

/// The phase of the user mode the CPU returns to.
pub fn to_user() {
    let client = state().client_cr3;
    to(if cr3() == client {
        Phase::Stub
    } else {
        Phase::Work
    });
}

/// The CPU switches to thread `tid` named `name`.
#[inline(never)]
pub fn switched(tid: u64, name: &str) {
    count(Event::ContextSwitches, 1);
    let s = state();
    if s.tracing {
        trace_named(TraceKind::Switch, tid, name);
    }
    s.tid = tid as u32;
}

/// `Meter(START)`: zero everything, measure a probe's cost, start.
/// `tid` is the caller's.
pub fn start(trace: bool, tid: u64) {
    const LOOPS: u64 = 64;
    let s = state();
    s.on = true;
    s.tracing = false;
    let phase = s.phase;
    let t0 = rdtsc();
    for _ in 0..LOOPS {
        to(phase);
    }
    let cost = rdtsc().wrapping_sub(t0) / LOOPS;
    let s = state();
    s.ticks = [0; PHASES];
    s.events = [0; EVENTS];
    s.probe_cost = cost;
    s.client_cr3 = cr3();
    s.tid = tid as u32;
    s.tracing = trace;
    s.written = 0;
    s.since = rdtsc();
}

/// `Meter(STOP)`: stop, and what was counted (the trace stays for a
/// dump until the next start).
pub fn stop() -> MeterReport {
    let s = state();
    let now = rdtsc();
    s.ticks[s.phase as usize] += now.wrapping_sub(s.since);
    s.on = false;
    // The `Meter(STOP)` call's own entry is not the operation's.
    s.events[Event::Entries as usize] = s.events[Event::Entries as usize].saturating_sub(1);
    s.tracing = false;
    MeterReport {
        ticks: s.ticks,
        events: s.events,
        probe_cost: s.probe_cost,
        traced: s.written,
        lost: s.written.saturating_sub(RING as u64),
    }
}

/// `Meter(DUMP)`: the trace to the debug channel, oldest event first:
/// `TRACE <tsc> <cpu> <cr3> <tid> <kind> <arg> [<name>]`.
pub fn dump() {
    let s = state();
    let kept = s.written.min(RING as u64);
    crate::arch::serial::debug_print(format_args!(
        "TRACE-BEGIN events={kept} lost={}\n",
        s.written - kept
    ));
    for i in s.written - kept..s.written {
        let e = &s.ring[(i % RING as u64) as usize];
        let name = core::str::from_utf8(&e.name[..e.name_len as usize]).unwrap_or("?");
        crate::arch::serial::debug_print(format_args!(
            "TRACE {} 0 {:#x} {} {} {} {}\n",
            e.tsc,
            e.cr3,
            e.tid,
            e.kind.name(),
            e.arg,
            name
        ));
    }
    crate::arch::serial::debug_print(format_args!("TRACE-END\n"));
}
