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
#![deny(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use libsys::abi::ipc::{MAX_HANDLES, PAYLOAD_MAX};
use libsys::abi::{
    Handle, MsgInfo, ObjectType, Protection, Rights, SysError, Syscall, IPC_BUFFER_ADDR, LOG_MAX,
};
use libsys::syscall::raw::IpcRegs;
use libsys::{eprintln, println};
use userland::fuzz::{number_arg, Rng};
use userland::Tally;

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
    /// Whether the first `NoMemory` of `endpoint_create` was reported.
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

/// Prints the ring if a call has not returned within 5 s, then waits for
/// the next stuck call.
fn watchdog() {
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

fn print_ring() {
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
    /// One random call: chosen, recorded in the ring, made, counted.
    fn one(&mut self, i: u64, trace: bool) {
        let number = if self.rng.chance(5) {
            let past = Syscall::ALL.len() as u64;
            if self.rng.chance(70) {
                past + self.rng.below(UNKNOWN_NEAR)
            } else {
                self.rng.next_u64() | past
            }
        } else {
            self.rng.below(Syscall::ALL.len() as u64)
        };
        // Ending itself is not what it tests: those become `null`.
        let number = match Syscall::try_from(number) {
            Ok(Syscall::Exit | Syscall::ThreadExit) => Syscall::Null as u64,
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
        let row = call.map_or(Syscall::ALL.len(), |c| c as usize);
        self.calls[row] += 1;
        match result {
            Ok(value) => self.keep(call, args, value),
            Err(e) => {
                if e == SysError::NoMemory
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

    /// Says what fills this process's handle table (the first time
    /// `endpoint_create` fails for want of room): the live handles of the
    /// first slots and generations, by type, against the pool.
    fn report_table(&self, i: u64) {
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

    /// True if `handle` is a process handle it holds.
    fn is_process(&self, handle: u64) -> bool {
        self.pool
            .iter()
            .any(|h| u64::from(h.handle) == handle && h.kind == ObjectType::Process)
    }

    /// Arguments for a known call (see the module documentation).
    fn args(&mut self, call: Syscall) -> [u64; 6] {
        use Syscall::*;
        let bits = self.rng.next_u64();
        let mut a = [0u64; 6];
        match call {
            Null | Yield | EndpointCreate | NotificationCreate | ReplySave => {
                a = core::array::from_fn(|_| {
                    if self.rng.chance(20) {
                        self.rng.next_u64()
                    } else {
                        0
                    }
                });
            }
            // Never made (see `one`).
            Exit | ThreadExit => return [0; 6],
            Log => {
                // Mostly debug level, which the fuzz entry's loglevel=info
                // keeps off the console (the text is whatever the scratch
                // pages hold).
                a[0] = if self.rng.chance(95) {
                    7
                } else {
                    self.rng.around(8)
                };
                a[1] = self.pointer();
                a[2] = self.rng.around(LOG_MAX as u64).min(if self.rng.chance(90) {
                    48
                } else {
                    u64::MAX
                });
            }
            Clock => a[0] = self.pointer(),
            LogRead => {
                a[0] = self.rng.around(1 << 20);
                a[1] = self.pointer();
                a[2] = self.rng.around(libsys::abi::LOG_READ_MAX as u64);
            }
            HandleDup => {
                a[0] = self.handle(None, true);
                a[1] = self.rights();
                a[2] = self.rng.next_u64();
                a[3] = self.rng.around(1);
            }
            HandleClose => a[0] = self.handle(None, false),
            Send | Call | Recv | ReplyRecv | Reply => {
                a[0] = self.handle(Some(ObjectType::Endpoint), false);
                a[1] = self.msg_info();
                a[2] = self.timeout(call == Call);
                a[3] = self.word();
                a[4] = self.word();
                a[5] = self.word();
            }
            ReplyTo => {
                a[0] = self.handle(Some(ObjectType::Reply), false);
                a[1] = self.msg_info();
            }
            Signal => {
                a[0] = self.handle(Some(ObjectType::Notification), false);
                a[1] = bits;
            }
            Wait => {
                a[0] = self.handle(Some(ObjectType::Notification), false);
                a[1] = self.timeout(false);
            }
            Poll => a[0] = self.handle(Some(ObjectType::Notification), false),
            NotificationBind => {
                a[0] = self.handle(Some(ObjectType::Notification), false);
                a[1] = self.handle(Some(ObjectType::Thread), false);
            }
            ProcessCreate => {
                a[0] = self.pointer();
                a[1] = self.rng.around(32);
            }
            Map | Unmap | Protect => {
                a[0] = self.handle(Some(ObjectType::Process), false);
                a[1] = self.address();
                a[2] = if call == Map {
                    self.handle(None, false)
                } else {
                    self.rng.around(512)
                };
                a[3] = if call == Map {
                    self.rng.around(16)
                } else {
                    self.rng.around(8)
                };
                a[4] = self.rng.around(16);
                a[5] = self.rng.around(8);
            }
            ThreadCreate | Kill | ProcessStatus => {
                a[0] = self.handle(Some(ObjectType::Process), call == ProcessStatus)
            }
            ThreadStart => {
                a[0] = self.handle(Some(ObjectType::Thread), false);
                a[1] = self.address();
                a[2] = self.address();
                a[3] = self.rng.next_u64();
                a[4] = self.rng.next_u64();
            }
            SetSched => {
                a[0] = self.handle(Some(ObjectType::Thread), false);
                a[1] = self.rng.around(3);
                a[2] = self.rng.around(100);
            }
            ThreadStats => {
                a[0] = self.handle(Some(ObjectType::Thread), true);
                a[1] = self.pointer();
            }
            IrqGet | IrqBind | IrqAck | IrqInfo | IoportGrant | IoportDerive | DeviceRegion
            | RegionDerive | RegionInfo => {
                a[0] = self.handle(None, matches!(call, IrqInfo | RegionInfo));
                a[1] = if matches!(call, IrqInfo | RegionInfo) {
                    self.pointer()
                } else {
                    self.rng.around(256)
                };
                a[2] = self.rng.around(0x1_0000);
                a[3] = self.rights();
            }
            SetPager => {
                a[0] = self.handle(Some(ObjectType::Thread), false);
                a[1] = self.handle(Some(ObjectType::Endpoint), false);
            }
            IpcBufferSet => a[0] = self.address(),
            HandleGive => {
                a[0] = self.handle(Some(ObjectType::Process), false);
                a[1] = self.handle(None, true);
                a[2] = self.rights();
            }
            HandleInfo => a[0] = self.handle(None, true),
            ProcessWatch => {
                a[0] = self.handle(Some(ObjectType::Process), false);
                a[1] = self.handle(Some(ObjectType::Notification), false);
                a[2] = bits;
            }
            // Only addresses it cannot have: its FS base holds its IPC
            // buffer's address.
            TlsSet => a[0] = self.bad_address(),
            ProcessInfo => {
                a[0] = self.handle(Some(ObjectType::Process), true);
                a[1] = self.pointer();
            }
        }
        a
    }

    /// A handle argument: mostly one it holds (of `kind`, if given), else
    /// a closed one, a random number, 0 or a value above 32 bits. The
    /// runtime's handles only where `read_only`.
    fn handle(&mut self, kind: Option<ObjectType>, read_only: bool) -> u64 {
        let choice = self.rng.below(100);
        let candidate = if choice < 60 {
            let matching: Vec<u32> = self
                .pool
                .iter()
                .filter(|h| kind.is_none_or(|k| k == h.kind) || self.rng.chance(10))
                .map(|h| h.handle)
                .collect();
            self.rng.pick(&matching).copied().map(u64::from)
        } else if choice < 70 && read_only {
            self.rng.pick(&self.protected).copied().map(u64::from)
        } else if choice < 78 {
            self.rng.pick(&self.stale).copied().map(u64::from)
        } else if choice < 90 {
            Some(u64::from(
                Handle::new(self.rng.below(70) as u16, self.rng.below(4) as u16).0,
            ))
        } else if choice < 95 {
            Some(0)
        } else {
            Some(self.rng.next_u64())
        };
        let value = candidate.unwrap_or(0);
        if !read_only && self.protected.contains(&(value as u32)) {
            // A call that could change or use it: not on the runtime's.
            return 0;
        }
        value
    }

    /// A pointer for the kernel to read or write: mostly into the scratch
    /// pages, else across their end, misaligned, read-only, unmapped, null,
    /// kernel or non-canonical.
    fn pointer(&mut self) -> u64 {
        let rw_end = SCRATCH + SCRATCH_RW * PAGE;
        match self.rng.below(12) {
            0..=4 => SCRATCH + self.rng.below(SCRATCH_RW * PAGE),
            5 => rw_end - self.rng.below(64),
            6 => rw_end + self.rng.below(PAGE),
            7 => rw_end + PAGE + self.rng.below(PAGE),
            8 => SCRATCH + 8 * self.rng.below(512) + 1 + self.rng.below(7),
            _ => self.bad_address(),
        }
    }

    /// An address in a process: the scratch window, elsewhere in user
    /// space, or one that is not a user address.
    fn address(&mut self) -> u64 {
        match self.rng.below(4) {
            0 => SCRATCH + PAGE * self.rng.below(8),
            1 => (self.rng.next_u64() & 0x0000_7fff_ffff_f000).max(PAGE),
            2 => self.rng.next_u64(),
            _ => self.bad_address(),
        }
    }

    /// An address no user call may accept.
    fn bad_address(&mut self) -> u64 {
        match self.rng.below(5) {
            0 => self.rng.below(PAGE),
            1 => 0xffff_8000_0000_0000 | self.rng.next_u64(),
            2 => 0x0000_8000_0000_0000 + self.rng.below(1 << 40),
            3 => u64::MAX - self.rng.below(PAGE),
            _ => 0xffff_ffff_8000_0000 + self.rng.below(1 << 20),
        }
    }

    /// Rights: a subset of the defined ones, or undefined bits.
    fn rights(&mut self) -> u64 {
        if self.rng.chance(85) {
            self.rng.next_u64() & u64::from(Rights::all().bits())
        } else {
            self.rng.next_u64()
        }
    }

    /// A message-info word: a well-formed one with random fields (never
    /// the kernel-only `NOTIFICATION` flag, a known defect when the
    /// receiver trusts it), or random bits.
    fn msg_info(&mut self) -> u64 {
        if self.rng.chance(20) {
            return self.rng.next_u64() & !(u64::from(MsgInfo::NOTIFICATION) << 48);
        }
        let length = self.rng.around(PAYLOAD_MAX as u64).min(0x1fff) as u16;
        let info = MsgInfo::new(self.rng.next_u64() as u32)
            .with_payload(length)
            .with_handles(self.rng.below(MAX_HANDLES as u64 + 2) as u8);
        let flags = if self.rng.chance(30) {
            MsgInfo::MOVE_HANDLES
        } else {
            0
        };
        info.encode() | u64::from(flags) << 48
    }

    /// A message word: a handle it holds (for a transfer) or random bits.
    fn word(&mut self) -> u64 {
        if self.rng.chance(50) {
            self.handle(None, false)
        } else {
            self.rng.next_u64()
        }
    }

    /// An IPC or wait timeout of at most [`TIMEOUT_MAX`]; never the poll
    /// timeout for `call` (a known defect: its receive phase may block).
    fn timeout(&mut self, call: bool) -> u64 {
        match self.rng.below(3) {
            0 if !call => 0,
            0 | 1 => 1 + self.rng.below(1_000),
            _ => 1 + self.rng.below(TIMEOUT_MAX),
        }
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

    fn summary(&self) {
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
