//! `sysfuzz`: the system-call fuzzer. `n=<calls>` system calls (default
//! 20,000), chosen by a xorshift generator seeded with `seed=<n>`
//! (default 1), with half-valid arguments: handles it holds (endpoints,
//! notifications, processes and threads it made, copies with fewer
//! rights) mixed with closed, random and out-of-range numbers; pointers
//! into its own scratch pages, across their end into a read-only page and
//! an unmapped one, misaligned, null, into the kernel half and
//! non-canonical; lengths around each call's limit; rights subsets and
//! undefined rights bits; every call number and unknown ones.
//!
//! It runs as an ordinary manifest entry, with ordinary rights. It avoids
//! only what would legitimately end or break itself: `exit`,
//! `thread_exit`, killing, mapping or unmapping in itself, closing the
//! runtime's handles, setting its own FS base or pager, IPC to the
//! servers whose handles the runtime holds (`msgfuzz` does that), and the
//! defects already known (a `call` with the poll timeout, see
//! `docs/reliability.md`). Every IPC and wait has a timeout of at most
//! 2 ms, so no call may block for longer.
//!
//! `known=1` also takes the paths of the kernel defects already known
//! (closing the last handle of a process it never started without killing
//! it first, which leaks the process: `docs/reliability.md`).
//!
//! Reproducible: the same seed gives the same calls as long as the kernel
//! answers the same. It logs every 1,000th call; `trace=<i>` logs every
//! call from the `i`-th on. The last [`RING`] calls (number and
//! arguments) are kept in a ring, printed at the end and by a watchdog
//! thread if a call has not returned within 5 s. At the end: calls and
//! errors per call, and one check line (`ok - sysfuzz: …`).
#![no_std]
#![no_main]
// A fuzzer of the raw ABI, fenced: `unsafe` is denied here and allowed
// only on the two functions that make the raw calls (they send whatever
// registers it drew, grants included). Listed in docs/architecture.md,
// "`unsafe` stays in `libsys`".
#![deny(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use libsys::abi::ipc::MAX_HANDLES;
use libsys::abi::{Handle, MsgInfo, ObjectType, Protection, SysError, Syscall, IPC_BUFFER_ADDR};
use libsys::println;
use libsys::syscall::raw::IpcRegs;
use report::{print_ring, watchdog};
use userland::fuzz::{number_arg, Rng};
use userland::Tally;

mod args;
mod report;

libsys::entry!(main);

/// Where the scratch pages are: [`SCRATCH_RW`] pages readable and
/// writable, then one read-only page, then an unmapped one. Far from the
/// program's image, stack, IPC buffer and heap.
const SCRATCH: u64 = 0x5a5a_0000_0000;
const SCRATCH_RW: u64 = 4;
const PAGE: u64 = 4096;
/// Calls kept for replay.
const RING: usize = 16;
/// Handles the fuzzer holds at most; beyond, it closes one.
const POOL_MAX: usize = 48;
/// Processes it holds at most (each is killed before it is closed).
const PROCESSES_MAX: usize = 6;
/// Calls between progress lines.
const PROGRESS: u64 = 1_000;
/// The longest timeout any blocking call gets: 2 ms.
const TIMEOUT_MAX: u64 = 2_000_000;
/// Numbers past the last call, up to which unknown calls are tried often.
const UNKNOWN_NEAR: u64 = 64;

/// The calls of the ring: (call index, number, six arguments).
static RING_CALLS: [[AtomicU64; 8]; RING] = [const { [const { AtomicU64::new(0) }; 8] }; RING];
/// Calls started and calls finished (the watchdog compares them).
static STARTED: AtomicU64 = AtomicU64::new(0);
static FINISHED: AtomicU64 = AtomicU64::new(0);

/// A handle the fuzzer made, and what it names.
#[derive(Clone, Copy)]
struct Held {
    handle: u32,
    kind: ObjectType,
}

struct Fuzzer {
    rng: Rng,
    /// Whether the first `OutOfResources` of `endpoint_create` was reported.
    table_full_seen: bool,
    /// `known=1`: also take the paths of the known defects (closing the
    /// last handle of a process never started, without killing it).
    known: bool,
    pool: Vec<Held>,
    /// The runtime's handles (found at start): never closed or used for
    /// IPC, only read.
    protected: Vec<u32>,
    /// Numbers of handles closed since: stale, for the calls to reject.
    stale: Vec<u32>,
    calls: [u64; Syscall::ALL.len() + 1],
    errors: [u64; Syscall::ALL.len() + 1],
    by_error: [u64; SysError::ALL.len() + 1],
}

fn main(args: &str) -> u64 {
    let seed = number_arg(args, "seed").unwrap_or(1);
    let n = number_arg(args, "n").unwrap_or(20_000);
    let trace = number_arg(args, "trace").unwrap_or(u64::MAX);
    let known = number_arg(args, "known") == Some(1);
    let mut t = Tally::new();
    if let Err(why) = map_scratch() {
        t.check("sysfuzz: scratch pages", Err(format_args!("{why}")));
        return t.status();
    }
    println!(
        "sysfuzz: seed={seed} n={n}: {} calls known, unknown ones too",
        Syscall::ALL.len()
    );
    let _watchdog = libsys::thread::spawn(watchdog);
    // The watchdog's first sleep looks the timer up: its handles must be
    // among those found next, which the fuzzer leaves alone.
    libsys::time::sleep_ms(20);
    let mut fuzzer = Fuzzer {
        rng: Rng::new(seed),
        known,
        table_full_seen: false,
        pool: Vec::new(),
        protected: runtime_handles(),
        stale: Vec::new(),
        calls: [0; Syscall::ALL.len() + 1],
        errors: [0; Syscall::ALL.len() + 1],
        by_error: [0; SysError::ALL.len() + 1],
    };
    let start = libsys::time::Instant::now();
    for i in 0..n {
        if i % PROGRESS == 0 {
            println!(
                "sysfuzz: call {i} of {n} (seed={seed}), {} handles held",
                fuzzer.pool.len()
            );
        }
        fuzzer.one(i, i >= trace);
    }
    let took = start.elapsed();
    fuzzer.cleanup();
    fuzzer.summary();
    print_ring();
    let errors: u64 = fuzzer.errors.iter().sum();
    println!(
        "sysfuzz: {n} calls with seed {seed} in {} ms: {errors} failed with an error, the kernel survived",
        took.as_millis()
    );
    t.check(
        "sysfuzz: random system calls with half-valid arguments; the kernel and this process survive",
        Ok(()),
    );
    FINISHED.store(u64::MAX, Ordering::Relaxed);
    t.status()
}

/// Maps the scratch pages through `mm`: read-write, then read-only.
fn map_scratch() -> Result<(), libsys::mm::Error> {
    let rw = Protection::READ | Protection::WRITE;
    libsys::mm::mmap(Some(SCRATCH), SCRATCH_RW, rw, true)?;
    libsys::mm::mmap(Some(SCRATCH + SCRATCH_RW * PAGE), 1, Protection::READ, true)?;
    Ok(())
}

/// The handles the runtime gave this process, found by asking the kernel
/// about the first slots and generations.
fn runtime_handles() -> Vec<u32> {
    let mut found = Vec::new();
    for index in 1..64u16 {
        for generation in 0..4u16 {
            let h = Handle::new(index, generation).0;
            if libsys::syscall::call6(Syscall::HandleInfo, [u64::from(h), 0, 0, 0, 0, 0]).is_ok() {
                found.push(h);
            }
        }
    }
    found
}

impl Fuzzer {
    /// One random call: chosen, recorded in the ring, made, counted.
    fn one(&mut self, i: u64, trace: bool) {
        let number = if self.rng.chance(5) {
            // Past the highest number (numbers come in blocks with gaps,
            // which the known calls below do not reach either).
            let past = Syscall::ALL[Syscall::ALL.len() - 1] as u64 + 1;
            if self.rng.chance(70) {
                past + self.rng.below(UNKNOWN_NEAR)
            } else {
                self.rng.next_u64() | past
            }
        } else {
            Syscall::ALL[self.rng.below(Syscall::ALL.len() as u64) as usize] as u64
        };
        // Ending or stopping itself is not what it tests: those become
        // `null` (a suspended fuzzer, or one sent to a random handler or
        // a forged `sigreturn` frame, stops fuzzing; exctest tests them).
        let number = match Syscall::try_from(number) {
            Ok(
                Syscall::Exit
                | Syscall::ThreadExit
                | Syscall::ThreadSuspend
                | Syscall::SignalDeliver
                | Syscall::Sigreturn,
            ) => Syscall::Null as u64,
            _ => number,
        };
        let call = Syscall::try_from(number).ok();
        let args = match call {
            Some(call) => self.args(call),
            None => core::array::from_fn(|_| self.rng.next_u64()),
        };
        let slot = &RING_CALLS[i as usize % RING];
        slot[0].store(i, Ordering::Relaxed);
        slot[1].store(number, Ordering::Relaxed);
        for (k, a) in args.iter().enumerate() {
            slot[k + 2].store(*a, Ordering::Relaxed);
        }
        STARTED.store(i + 1, Ordering::Relaxed);
        if trace {
            println!("sysfuzz: trace: call {i} nr {number} ({call:?}) args {args:x?}");
        }
        let result = self.invoke(number, call, args);
        FINISHED.store(i + 1, Ordering::Relaxed);
        // Rows by position in `Syscall::ALL` (numbers have gaps).
        let row = call
            .and_then(|c| Syscall::ALL.iter().position(|&k| k == c))
            .unwrap_or(Syscall::ALL.len());
        self.calls[row] += 1;
        match result {
            Ok(value) => self.keep(call, args, value),
            Err(e) => {
                if e == SysError::OutOfResources
                    && !self.table_full_seen
                    && call == Some(Syscall::EndpointCreate)
                {
                    self.table_full_seen = true;
                    self.report_table(i);
                }
                self.errors[row] += 1;
                let at = SysError::ALL.iter().position(|x| *x == e);
                self.by_error[at.unwrap_or(SysError::ALL.len())] += 1;
            }
        }
    }

    /// Makes the call: the IPC calls with their wider register set.
    fn invoke(&mut self, number: u64, call: Option<Syscall>, a: [u64; 6]) -> Result<u64, SysError> {
        use Syscall::*;
        match call {
            Some(Send | Recv | Call | Reply | ReplyRecv | ReplyTo) => {
                let regs = IpcRegs {
                    info: a[1],
                    rdx: a[2],
                    words: [a[3], a[4], a[5], self.word(), self.word(), self.word()],
                };
                let (status, out) = raw_ipc(number, a[0], regs);
                let result = libsys::abi::decode_result(status, 0);
                if result.is_ok() {
                    self.adopt_received(out);
                }
                let gone = || libsys::syscall::call6(HandleInfo, [a[0], 0, 0, 0, 0, 0]).is_err();
                if matches!(call, Some(ReplyTo)) && gone() {
                    // The kernel closes a reply handle whatever the
                    // outcome (a handle of another type stays).
                    self.forget(a[0] as u32);
                }
                result
            }
            Some(HandleClose) if !self.known && self.is_process(a[0]) => {
                // A process never started is not freed when its last
                // handle closes (a known defect): killed first.
                let _ = raw_call(Kill as u64, [a[0], 0, 0, 0, 0, 0]);
                raw_call(number, a)
            }
            _ => {
                let result = raw_call(number, a);
                if call == Some(IpcBufferSet) {
                    // Ours again: the runtime's payloads go through it.
                    let _ = libsys::ipc::set_buffer(IPC_BUFFER_ADDR);
                }
                result
            }
        }
    }

    /// True if `handle` is a process handle it holds.
    fn is_process(&self, handle: u64) -> bool {
        self.pool
            .iter()
            .any(|h| u64::from(h.handle) == handle && h.kind == ObjectType::Process)
    }

    /// Keeps what a call made: the handles in the pool.
    fn keep(&mut self, call: Option<Syscall>, args: [u64; 6], value: u64) {
        use Syscall::*;
        let kind = match call {
            Some(EndpointCreate) => ObjectType::Endpoint,
            Some(NotificationCreate) => ObjectType::Notification,
            Some(ProcessCreate) => ObjectType::Process,
            Some(ThreadCreate) => ObjectType::Thread,
            Some(ReplySave) => ObjectType::Reply,
            Some(HandleDup | IrqGet | IoportDerive | DeviceRegion | RegionDerive) => {
                if self.protected.contains(&(args[0] as u32)) {
                    // A copy of the runtime's: not for IPC.
                    close(value as u32);
                    return;
                }
                let Ok(raw) = libsys::syscall::call6(HandleInfo, [value, 0, 0, 0, 0, 0]) else {
                    return;
                };
                match ObjectType::try_from(raw >> 32) {
                    Ok(kind) => kind,
                    Err(_) => return close(value as u32),
                }
            }
            Some(HandleClose) => return self.forget(args[0] as u32),
            _ => return,
        };
        self.hold(Held {
            handle: value as u32,
            kind,
        });
    }

    /// Adds a handle to the pool, closing one (a random one) when full.
    fn hold(&mut self, held: Held) {
        let processes = self
            .pool
            .iter()
            .filter(|h| h.kind == ObjectType::Process)
            .count();
        if self.pool.len() >= POOL_MAX
            || (held.kind == ObjectType::Process && processes >= PROCESSES_MAX)
        {
            let victim = match held.kind {
                ObjectType::Process => self.pool.iter().position(|h| h.kind == ObjectType::Process),
                _ => Some(self.rng.below(self.pool.len() as u64) as usize),
            };
            if let Some(at) = victim {
                let old = self.pool.swap_remove(at);
                release(old);
                self.stale_push(old.handle);
            }
        }
        self.pool.push(held);
    }

    /// Handles a received message brought: into the pool as endpoints
    /// (their type is checked when they are used).
    fn adopt_received(&mut self, out: IpcRegs) {
        let Ok(info) = MsgInfo::decode(out.info) else {
            return;
        };
        let n = (info.handles as usize).min(MAX_HANDLES);
        for raw in &out.words[6 - n..] {
            let known = self.pool.iter().any(|h| u64::from(h.handle) == *raw)
                || self.protected.contains(&(*raw as u32));
            if known {
                continue;
            }
            if let Ok(r) = libsys::syscall::call6(Syscall::HandleInfo, [*raw, 0, 0, 0, 0, 0]) {
                if let Ok(kind) = ObjectType::try_from(r >> 32) {
                    self.hold(Held {
                        handle: *raw as u32,
                        kind,
                    });
                }
            }
        }
    }

    /// Drops a handle closed by a call from the pool.
    fn forget(&mut self, handle: u32) {
        if let Some(at) = self.pool.iter().position(|h| h.handle == handle) {
            self.pool.swap_remove(at);
            self.stale_push(handle);
        }
    }

    fn stale_push(&mut self, handle: u32) {
        if self.stale.len() >= 32 {
            self.stale.remove(0);
        }
        self.stale.push(handle);
    }

    /// Kills the processes it made and closes every handle it holds.
    fn cleanup(&mut self) {
        for held in core::mem::take(&mut self.pool) {
            release(held);
        }
    }
}

/// Kills a process it made, then closes the handle.
fn release(held: Held) {
    if held.kind == ObjectType::Process {
        let _ = libsys::syscall::call6(Syscall::Kill, [u64::from(held.handle), 0, 0, 0, 0, 0]);
    }
    close(held.handle);
}

fn close(handle: u32) {
    let _ = libsys::syscall::call6(Syscall::HandleClose, [u64::from(handle), 0, 0, 0, 0, 0]);
}

/// A system call by number, which may be one no call has.
#[allow(unsafe_code)]
fn raw_call(number: u64, a: [u64; 6]) -> Result<u64, SysError> {
    // SAFETY: the kernel checks every argument. What a call may change of
    // this process is confined by the argument choice above: pointers the
    // kernel may write are into the scratch pages, processes and threads
    // are ones it made, the runtime's handles are never passed to a call
    // that changes them, and the IPC buffer is set back at once.
    let raw = unsafe { libsys::syscall::raw::syscall6(number, a[0], a[1], a[2], a[3], a[4], a[5]) };
    libsys::abi::decode_result(raw.0, raw.1)
}

/// An IPC call by number.
#[allow(unsafe_code)]
fn raw_ipc(number: u64, handle: u64, regs: IpcRegs) -> (u64, IpcRegs) {
    // SAFETY: as in `raw_call`; a received payload lands in the IPC
    // buffer, which no reference is held into.
    unsafe { libsys::syscall::raw::ipc(number, handle, regs) }
}
