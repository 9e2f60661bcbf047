//! The benchmark program that `make bench` boots: it times operations with
//! the TSC and prints one line per case,
//!
//! `BENCH <case> placement=<micro|mono> accel=<tcg|icount> median=<ticks> min=<ticks> n=<iterations>`
//!
//! where median and min are TSC ticks per iteration over [`BATCHES`]
//! batches and n counts every iteration timed. Its argument says what the
//! host booted it under (`accel=icount` when QEMU ran with
//! `-icount shift=0`, where one TSC tick is one executed instruction).
//!
//! `init` starts it from the bench manifest, after `kv`, with pages of its
//! own (`@mem`) and its own module (`@module`); the cases that need a
//! second process start one from this same program (`bench partner …`),
//! as `init` would. (Started by the kernel as the first process instead,
//! it uses the first process's handles and skips `kv_get`.) Its exit
//! status is a tally: the lines printed, and the cases that failed.
//!
//! The placement in each line is where `kv` runs: `micro` when the name
//! service hands out an endpoint (a `kv` process), `mono` when it hands out
//! a kernel service (`placement=mono` on the kernel command line). Only
//! `kv_get` depends on it; the other cases measure the kernel, the same in
//! both boots.
//!
//! Cases:
//! - `loop2`: a loop of exactly two instructions per iteration (`dec`,
//!   `jnz`): under icount it must show 2, which checks that a tick is one
//!   instruction;
//! - `empty_loop`: the loop the other cases run in, with nothing in it;
//! - `null_syscall`: the null system call, user space to the kernel and
//!   back;
//! - `ipc_rtt_reg`, `ipc_rtt_256`, `ipc_rtt_4k`: a `call` to a server in
//!   another process and its reply, with a register message, a 256-byte
//!   and a 4096-byte payload each way (the server answers with
//!   `reply_recv`);
//! - `reply_later`: the `ipc_rtt_reg` call answered later: the server
//!   saves the reply right (`reply_save`), answers through it
//!   (`reply_to`) and receives the next (what `libsys::server::serve`
//!   does for a deferred request);
//! - `grant_copy_4k`: a `call` lending a 4 KiB write window
//!   (`libsys::grant`) that the server (the same echo process) fills with
//!   one `grant_copy`, and the reply;
//! - `echo_fill_4k`: the same 4 KiB fill made by a server *core* (`echo`)
//!   through its transport's grant: the kernel's service with
//!   placement=mono, a partner process running `serve` otherwise — the
//!   one row here whose code path the placement changes besides `kv_get`;
//! - `notify_wake`: a `signal` that wakes a thread of another process
//!   waiting on the notification — half of a ping-pong of two such wakes;
//! - `yield_pingpong`: two threads of one process yielding to each other:
//!   one iteration is a yield by each;
//! - `fault_pager_rtt`: a page fault in another process, sent to this one
//!   as its pager, which maps a page and replies; timed by the faulting
//!   process, which prints the line;
//! - `kv_get`: a `Get` of a 16-byte value from `kv` through its client
//!   stub (`libsys::proto::kv::Client`): encode, `call`, decode — to the
//!   `kv` process, or into the kernel's copy of its core;
//! - `mm_fault`: the first touch of an anonymous page: the fault goes to
//!   the memory server, which takes a frame, zeroes it, maps it and
//!   resumes the thread;
//! - `mmap_touch_munmap`: `mmap` of one page, a touch, `munmap`;
//! - `dma_alloc_4k`: `dma_alloc_coherent` of one page below 4 GiB and its
//!   `dma_free_coherent` (the block zeroed, mapped, unmapped, freed);
//! - `kmalloc64`: a 64-byte allocation and its free, through the heap
//!   (`kmem`'s `kmalloc` caches) — no system call on the fast path;
//! - `fork_as`: a copy-on-write duplicate (`mm`'s `ForkAs`) of this
//!   process's address space with 1 MiB of it resident, and the child's
//!   end;
//! - `complete_wake`, `waitqueue_wake`, `queue_work`: `libsys`'s
//!   completion, wait queue and workqueue between threads of this
//!   process, each timed from the TSC just before `complete`, `wake_up` or
//!   `queue_work` to the TSC the woken thread (or the work function on its
//!   worker) reads first.
//! - `timer_late_us` (under TCG only: a time, meaningless as an
//!   instruction count): how late a 10 ms timer of the timer server fires,
//!   in microseconds, from the start of its expiry jiffy to the moment its
//!   notification woke this thread (median and minimum; the p99 and the
//!   maximum on a line of their own);
//! - `sleep_1tick`: `nanosleep` of one timer tick (4 ms at HZ=250) through
//!   the timer server, in TSC ticks: the tick, the rounding to the next
//!   jiffy, and the IPC and wake-up around it;
//! - the file and process cases ([`posix_cases`]), the block server's
//!   ([`blk_cases`]).
//!
//! Two more modes, for a kernel built with the `meter` feature
//! (docs/benchmarks.md, "The cost meter"): with the argument `meter`,
//! each case runs its warm-up batch, then one batch with the kernel's
//! cost meter on, and prints a `BREAKDOWN` line after its `BENCH` line
//! (per iteration: the instructions in each phase, the events); with
//! `trace=<case>`, that case runs one iteration with the path trace on
//! and the kernel prints the trace (`make trace`).
#![no_std]
#![no_main]
// A test (or benchmark) of raw memory and the raw ABI, fenced: `unsafe` is
// denied here and allowed only on the items that say why (each block has
// its SAFETY comment). Listed in docs/architecture.md, "`unsafe` stays in
// `libsys`".
#![deny(unsafe_code)]

extern crate alloc;

use core::mem::ManuallyDrop;
use core::sync::atomic::{AtomicU64, Ordering};

use libsys::abi::ipc::{FOREVER, LABEL_PAGE_FAULT, PAGER_RESUME};
use libsys::abi::{Handle, ObjectType, Protection, Rights};
use libsys::format_text;
use libsys::handle::{Endpoint, Notification, Process};
use libsys::ipc::{self, Message};
use libsys::mem::Memory;
use libsys::proto::kv::Client;
use libsys::rpc;
use libsys::spawn::{Builder, Child};
use libsys::syscall::{self, rdtsc};

libsys::entry!(main);

/// Batches per case: the median and minimum are over these.
const BATCHES: usize = 51;

/// How [`measure`] runs: [`NORMAL`], [`METER`] or [`TRACE`].
static MODE: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(NORMAL);
const NORMAL: u8 = 0;
/// One metered batch after the warm-up (argument `meter`).
const METER: u8 = 1;
/// One traced iteration after the warm-up (argument `trace=<case>`).
const TRACE: u8 = 2;

/// The last metered batch's report and its iterations, for
/// [`Report::line`] (0 iterations: none).
struct Stash {
    report: [AtomicU64; PHASES + EVENTS + 1],
    iterations: AtomicU64,
}

use libsys::abi::meter::{MeterReport, EVENTS, EVENT_NAMES, PHASES, PHASE_NAMES};

static STASH: Stash = Stash {
    report: [const { AtomicU64::new(0) }; PHASES + EVENTS + 1],
    iterations: AtomicU64::new(0),
};

impl Stash {
    fn put(&self, report: &MeterReport, iterations: u64) {
        let values = report
            .ticks
            .iter()
            .chain(report.events.iter())
            .chain(core::iter::once(&report.probe_cost));
        for (slot, value) in self.report.iter().zip(values) {
            slot.store(*value, Ordering::Relaxed);
        }
        self.iterations.store(iterations, Ordering::Release);
    }

    /// The report and its iterations, emptying the stash.
    fn take(&self) -> Option<(MeterReport, u64)> {
        let iterations = self.iterations.swap(0, Ordering::Acquire);
        if iterations == 0 {
            return None;
        }
        let mut report = MeterReport::default();
        let value = |i: usize| self.report[i].load(Ordering::Relaxed);
        for (i, t) in report.ticks.iter_mut().enumerate() {
            *t = value(i);
        }
        for (i, e) in report.events.iter_mut().enumerate() {
            *e = value(PHASES + i);
        }
        report.probe_cost = value(PHASES + EVENTS);
        Some((report, iterations))
    }
}

/// `n / d` with two decimals, as text.
fn per(n: u64, d: u64) -> impl core::fmt::Display {
    let hundredths = (n * 100 + d / 2) / d.max(1);
    format_text!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// What the lines say about where they were measured.
struct Report<'a> {
    accel: &'a str,
    placement: &'a str,
    /// The case whose trace to print (`trace=<case>`).
    trace: Option<&'a str>,
    /// Lines printed.
    lines: core::cell::Cell<u64>,
}

impl Report<'_> {
    fn line(&self, case: &str, (median, min, n): (u64, u64, u64)) {
        libsys::println!(
            "BENCH {case} placement={} accel={} median={median} min={min} n={n}",
            self.placement,
            self.accel
        );
        self.lines.set(self.lines.get() + 1);
        if let Some((report, iterations)) = STASH.take() {
            self.breakdown(case, &report, iterations);
            if self.trace == Some(case) {
                if let Err(e) = libsys::meter::dump() {
                    libsys::eprintln!("bench: trace dump: {e}");
                }
            }
        }
    }

    /// `BREAKDOWN <case> placement=… <phase>=… total=… meter=… events:
    /// <event>=…`: per iteration, instructions (TSC ticks) per phase and
    /// events, from the metered batch; `meter=` is the probes' own
    /// estimated share of the total.
    fn breakdown(&self, case: &str, report: &MeterReport, iterations: u64) {
        use core::fmt::Write;
        let mut line = alloc::string::String::new();
        let _ = write!(line, "BREAKDOWN {case} placement={}", self.placement);
        for (name, ticks) in PHASE_NAMES.iter().zip(report.ticks) {
            let _ = write!(line, " {name}={}", ticks / iterations);
        }
        let total: u64 = report.ticks.iter().sum();
        let probes = report.events[libsys::abi::meter::Event::Probes as usize];
        let _ = write!(
            line,
            " total={} meter={} events:",
            total / iterations,
            probes * report.probe_cost / iterations
        );
        for (name, n) in EVENT_NAMES.iter().zip(report.events) {
            let _ = write!(line, " {name}={}", per(n, iterations));
        }
        libsys::println!("{line} n={iterations}");
    }

    /// The exit status: lines printed, and `failed`.
    fn status(&self, failed: u64) -> u64 {
        self.lines.get() << 16 | failed
    }
}

/// Where `kv` runs, by what the name service hands out for it.
fn placement() -> &'static str {
    match libsys::names::lookup("kv").map(|ep| ep.0.info()) {
        Ok(Ok((ObjectType::Service, _))) => "mono",
        _ => "micro",
    }
}

fn main(args: &str) -> u64 {
    let mut words = args.split_whitespace();
    let word = |key: &str| args.split_whitespace().find_map(|w| w.strip_prefix(key));
    let accel = word("accel=").unwrap_or("tcg");
    if words.next() == Some("partner") {
        let report = Report {
            accel,
            placement: word("placement=").unwrap_or("micro"),
            trace: None,
            lines: core::cell::Cell::new(0),
        };
        return partner(&mut words, &report);
    }
    let trace = word("trace=");
    let mode = match (trace, args.split_whitespace().any(|w| w == "meter")) {
        (Some(_), _) => TRACE,
        (None, true) => METER,
        _ => NORMAL,
    };
    if mode != NORMAL && !libsys::meter::available() {
        libsys::eprintln!("bench: this kernel has no cost meter (build it with --features meter)");
        return 1;
    }
    MODE.store(mode, Ordering::Relaxed);
    let report = Report {
        accel,
        placement: placement(),
        trace,
        lines: core::cell::Cell::new(0),
    };
    report.line("loop2", measure(1, || loop2(100_000), 100_000));
    report.line(
        "empty_loop",
        measure(2_000, || core::hint::black_box(()), 1),
    );
    report.line(
        "null_syscall",
        measure(
            2_000,
            || {
                let _ = syscall::null();
            },
            1,
        ),
    );
    let mut failed = 0;
    if libsys::env::name_service().is_some() {
        if let Err(why) = kv_get(&report) {
            libsys::eprintln!("bench: kv_get: {why}");
            failed += 1;
        }
    }
    if libsys::mm::available() {
        if let Err(why) = mm_cases(&report) {
            libsys::eprintln!("bench: {why}");
            failed += 1;
        }
    }
    if libsys::env::name_service().is_some() {
        if let Err(why) = timer_cases(&report) {
            libsys::eprintln!("bench: timer: {why}");
            failed += 1;
        }
    }
    match resources() {
        Some((mut mem, me, image)) => {
            if let Err(why) = ipc_cases(&mut mem, &me, image, &report) {
                libsys::eprintln!("bench: {why}");
                failed += 1;
            }
        }
        None => {
            libsys::eprintln!("bench: no memory or module of its own: the IPC cases need them");
            failed += 1;
        }
    }
    if let Err(why) = sync_cases(&report) {
        libsys::eprintln!("bench: {why}");
        failed += 1;
    }
    if let Err(why) = exception_case(&report) {
        libsys::eprintln!("bench: exception_rtt: {why}");
        failed += 1;
    }
    if libsys::env::name_service().is_some() {
        if let Err(why) = posix_cases(&report) {
            libsys::eprintln!("bench: {why}");
            failed += 1;
        }
        if let Err(why) = blk_cases(&report) {
            libsys::eprintln!("bench: {why}");
            failed += 1;
        }
    }
    if let Err(why) = tty_cases(&report) {
        libsys::eprintln!("bench: {why}");
        failed += 1;
    }
    report.status(failed)
}

/// `mmap_file_fault` (see [`posix_cases`]): `fd` is a tmpfs file of one
/// page, open read-write.
fn mmap_file_fault(report: &Report, fd: i32, failures: &mut u64) {
    use libsys::posix::{Mapping, MAP_SHARED, PROT_READ};
    report.line(
        "mmap_file_fault",
        measure_ticks(50, || {
            match Mapping::new(4096, PROT_READ, MAP_SHARED, fd, 0) {
                Ok(m) => {
                    let start = rdtsc();
                    let byte = m.load(0);
                    let ticks = rdtsc() - start;
                    if byte != Some(7) {
                        *failures += 1;
                    }
                    ticks
                }
                Err(_) => {
                    *failures += 1;
                    0
                }
            }
        }),
    );
}

/// The timer server's cases (skipped if there is none).
fn timer_cases(report: &Report) -> Result<(), Why> {
    use libsys::proto::timer::{Client, Expiry, CLOCK_MONOTONIC, HZ, TICK_NS};
    let Ok(timer) = Client::connect() else {
        libsys::println!("bench: no timer server: no timer cases");
        return Ok(());
    };
    // A request the timer core answers now: the call into the core and
    // back (IPC to the `timer` process, or the service in the kernel).
    report.line(
        "timer_jiffies",
        measure(
            500,
            || {
                let _ = timer.jiffies();
            },
            1,
        ),
    );
    const SAMPLES: usize = 101;
    if report.accel == "tcg" {
        let notification = Notification::create().step("notification")?;
        timer
            .bind(&notification)
            .map_err(|e| format_text!("bind: {e}"))?;
        let hz = timer::jiffies::Hz::new(HZ).ok_or_else(|| format_text!("HZ"))?;
        let initial = timer::jiffies::initial_jiffies(hz);
        let mut late_us = [0u64; SAMPLES];
        for slot in late_us.iter_mut() {
            let (id, expires) = timer
                .add_timer(Expiry::After(10_000_000), 0, 0)
                .map_err(|e| format_text!("add_timer: {e}"))?;
            notification.wait(FOREVER).step("wait")?;
            let (sec, nsec) = timer
                .clock_gettime(CLOCK_MONOTONIC)
                .map_err(|e| format_text!("clock_gettime: {e}"))?;
            let _ = timer.del_timer(id);
            let woke = sec as u64 * 1_000_000_000 + u64::from(nsec);
            let due = expires.wrapping_sub(initial) * TICK_NS;
            *slot = woke.saturating_sub(due) / 1000;
        }
        late_us.sort_unstable();
        report.line(
            "timer_late_us",
            (late_us[SAMPLES / 2], late_us[0], SAMPLES as u64),
        );
        libsys::println!(
            "bench: timer_late_us p99={} max={} (microseconds, {SAMPLES} timers of 10 ms)",
            late_us[SAMPLES * 99 / 100],
            late_us[SAMPLES - 1]
        );
    }
    let mut ticks = [0u64; 31];
    for slot in ticks.iter_mut() {
        let start = rdtsc();
        timer
            .sleep(TICK_NS)
            .map_err(|e| format_text!("sleep: {e}"))?;
        *slot = rdtsc() - start;
    }
    ticks.sort_unstable();
    report.line(
        "sleep_1tick",
        (ticks[ticks.len() / 2], ticks[0], ticks.len() as u64),
    );
    Ok(())
}

/// The memory server's cases.
// `unsafe` here: times raw page touches of mm's mappings.
#[allow(unsafe_code)]
fn mm_cases(report: &Report) -> Result<(), Why> {
    use libsys::abi::Protection;
    let rw = Protection::READ | Protection::WRITE;
    // First touches: one fresh page per iteration.
    const PER_BATCH: u64 = 20;
    let pages = (BATCHES as u64 + 1) * PER_BATCH;
    let area = libsys::mm::mmap(None, pages, rw, false).step("mmap")?;
    let mut next = 0;
    report.line(
        "mm_fault",
        measure(
            PER_BATCH,
            || {
                // SAFETY: a page of the area just mapped, touched once.
                unsafe { ((area + next * 4096) as *mut u64).write_volatile(next) };
                next += 1;
            },
            1,
        ),
    );
    libsys::mm::munmap(area, pages).step("munmap")?;
    report.line(
        "mmap_touch_munmap",
        measure(
            50,
            || {
                if let Ok(at) = libsys::mm::mmap(None, 1, rw, false) {
                    // SAFETY: the page just mapped.
                    unsafe { (at as *mut u64).write_volatile(1) };
                    let _ = libsys::mm::munmap(at, 1);
                }
            },
            1,
        ),
    );
    let mut dma_failures = 0;
    let dma = measure(
        50,
        || match libsys::mm::dma_alloc_coherent(1, 1 << 32) {
            Ok((at, _)) => {
                if libsys::mm::dma_free_coherent(at).is_err() {
                    dma_failures += 1;
                }
            }
            Err(_) => dma_failures += 1,
        },
        1,
    );
    if dma_failures > 0 {
        return Err(format_text!("{dma_failures} DMA allocations failed"));
    }
    report.line("dma_alloc_4k", dma);
    let layout = core::alloc::Layout::from_size_align(64, 8).step("layout")?;
    report.line(
        "kmalloc64",
        measure(
            2_000,
            || {
                // SAFETY: a valid layout; freed at once with the same one.
                unsafe {
                    let p = alloc::alloc::alloc(layout);
                    core::hint::black_box(p);
                    if !p.is_null() {
                        alloc::alloc::dealloc(p, layout);
                    }
                }
            },
            1,
        ),
    );
    // A 1 MiB resident address space: top this process up to 256 pages.
    let resident = libsys::mm::stats().step("stats")?.resident_pages;
    let extra = 256u64.saturating_sub(resident).max(1);
    let ballast = libsys::mm::mmap(None, extra, rw, true).step("mmap the ballast")?;
    let mut failures = 0;
    let result = measure(
        2,
        || {
            let Ok(child) = Process::create("fork-bench") else {
                failures += 1;
                return;
            };
            if libsys::mm::fork_as(&child).is_err() {
                failures += 1;
            }
            let _ = child.kill();
        },
        1,
    );
    if failures > 0 {
        return Err(format_text!("{failures} forks failed"));
    }
    report.line("fork_as", result);
    libsys::mm::munmap(ballast, extra).step("munmap the ballast")?;
    Ok(())
}

/// A 16-byte value fetched from `kv` through its client stub.
fn kv_get(report: &Report) -> Result<(), Why> {
    let kv = Client::connect().step("find kv")?;
    let value = [0x5au8; 16];
    kv.put("bench", &value).step("put")?;
    let got = kv.get("bench").step("get")?;
    if got[..] != value {
        return Err(format_text!("got {:?}, not the value put", &got[..]));
    }
    report.line(
        "kv_get",
        measure(
            500,
            || {
                let _ = kv.get("bench");
            },
            1,
        ),
    );
    kv.delete("bench").step("delete")
}

/// Pages to build partners with, a handle to this process, and this
/// program's own image: given by `init` (`@mem`, `@self`, `@module`), or
/// the first process's.
// `unsafe` here: InitInfo's process handle, kept in a ManuallyDrop.
#[allow(unsafe_code)]
fn resources() -> Option<(Memory, ManuallyDrop<Process>, (Handle, u64))> {
    let me = libsys::env::self_process()?;
    // SAFETY: our own process handle, kept open (ManuallyDrop).
    let process = ManuallyDrop::new(unsafe { Process::from_raw(me) });
    if let (Some((region, pages)), Some(image)) =
        (libsys::env::memory_region(), libsys::env::own_module())
    {
        return Some((Memory::new(me, region, pages), process, image));
    }
    let info = libsys::env::init_info()?;
    let module = info.module("bench")?;
    Some((
        Memory::from_init(info)?,
        process,
        (Handle(module.handle), module.size),
    ))
}

/// Runs `f` `per_batch` times in each of [`BATCHES`] batches; `f` does
/// `unit` iterations per call. Returns (median, minimum) ticks per
/// iteration and the iterations timed.
fn measure(per_batch: u64, mut f: impl FnMut(), unit: u64) -> (u64, u64, u64) {
    let mut ticks = [0u64; BATCHES];
    // One batch to warm up (page faults, caches), not counted.
    for _ in 0..per_batch {
        f();
    }
    if MODE.load(Ordering::Relaxed) != NORMAL {
        let per_batch = metered_iterations(per_batch);
        let start = rdtsc();
        metered(|| (0..per_batch).for_each(|_| f()), per_batch * unit);
        let each = (rdtsc() - start) / (per_batch * unit);
        return (each, each, per_batch * unit);
    }
    for slot in ticks.iter_mut() {
        let start = rdtsc();
        for _ in 0..per_batch {
            f();
        }
        *slot = (rdtsc() - start) / (per_batch * unit);
    }
    ticks.sort_unstable();
    (
        ticks[BATCHES / 2],
        ticks[0],
        BATCHES as u64 * per_batch * unit,
    )
}

/// How many times [`measure`] calls its closure: a warm-up batch, then
/// the timed batches (or the one metered batch). A partner that answers
/// each call (the exception handler, a check of a count) expects this.
fn calls(per_batch: u64) -> u64 {
    per_batch
        + match MODE.load(Ordering::Relaxed) {
            NORMAL => BATCHES as u64 * per_batch,
            _ => metered_iterations(per_batch),
        }
}

/// Iterations of the metered batch: a batch's, or one call for a trace.
fn metered_iterations(per_batch: u64) -> u64 {
    if MODE.load(Ordering::Relaxed) == TRACE {
        1
    } else {
        per_batch
    }
}

/// Runs `batch` (`iterations` of a case) with the cost meter on (and the
/// trace, in [`TRACE`] mode) and stashes the report for the case's line.
fn metered(batch: impl FnOnce(), iterations: u64) {
    let trace = MODE.load(Ordering::Relaxed) == TRACE;
    if libsys::meter::start(trace).is_err() {
        batch();
        return;
    }
    batch();
    if let Ok(report) = libsys::meter::stop() {
        STASH.put(&report, iterations);
    }
}

/// As [`measure`], where each call of `f` returns the ticks one
/// iteration took (measured inside it, e.g. across two threads).
fn measure_ticks(per_batch: u64, mut f: impl FnMut() -> u64) -> (u64, u64, u64) {
    let mut ticks = [0u64; BATCHES];
    for _ in 0..per_batch {
        f();
    }
    if MODE.load(Ordering::Relaxed) != NORMAL {
        let per_batch = metered_iterations(per_batch);
        let mut total = 0;
        metered(|| (0..per_batch).for_each(|_| total += f()), per_batch);
        let each = total / per_batch;
        return (each, each, per_batch);
    }
    for slot in ticks.iter_mut() {
        let total: u64 = (0..per_batch).map(|_| f()).sum();
        *slot = total / per_batch;
    }
    ticks.sort_unstable();
    (ticks[BATCHES / 2], ticks[0], BATCHES as u64 * per_batch)
}

/// The libsys wake-ups between threads of this process, each timed from
/// the signalling side (the TSC just before `complete`, `wake_up`,
/// `queue_work`) to the woken thread running (the TSC it reads first).
fn sync_cases(report: &Report) -> Result<(), Why> {
    use alloc::sync::Arc;
    use core::sync::atomic::AtomicBool;
    use libsys::completion::Completion;
    use libsys::wait::WaitQueue;
    use libsys::workqueue::{Work, Workqueue};

    /// The ping and pong of two threads, the woken side's TSC, and stop.
    struct Pair<T> {
        ping: T,
        pong: T,
        woke_at: AtomicU64,
        stop: AtomicBool,
    }

    // complete → the waiter runs; it completes back.
    let pair = Arc::new(Pair {
        ping: Completion::new(),
        pong: Completion::new(),
        woke_at: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let p = pair.clone();
    let waiter = libsys::thread::spawn(move || loop {
        p.ping.wait_for_completion();
        p.woke_at.store(rdtsc(), Ordering::Release);
        if p.stop.load(Ordering::Acquire) {
            break;
        }
        p.pong.complete();
    })
    .step("spawn the completion waiter")?;
    report.line(
        "complete_wake",
        measure_ticks(200, || {
            let start = rdtsc();
            pair.ping.complete();
            pair.pong.wait_for_completion();
            pair.woke_at.load(Ordering::Acquire).saturating_sub(start)
        }),
    );
    pair.stop.store(true, Ordering::Release);
    pair.ping.complete();
    waiter.join().step("join the completion waiter")?;

    // wake_up → the waiter runs; it wakes back.
    let pair = Arc::new(Pair {
        ping: (WaitQueue::new(), AtomicBool::new(false)),
        pong: (WaitQueue::new(), AtomicBool::new(false)),
        woke_at: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let p = pair.clone();
    let waiter = libsys::thread::spawn(move || loop {
        p.ping
            .0
            .wait_event(|| p.ping.1.swap(false, Ordering::AcqRel));
        p.woke_at.store(rdtsc(), Ordering::Release);
        if p.stop.load(Ordering::Acquire) {
            break;
        }
        p.pong.1.store(true, Ordering::Release);
        p.pong.0.wake_up();
    })
    .step("spawn the wait-queue waiter")?;
    report.line(
        "waitqueue_wake",
        measure_ticks(200, || {
            let start = rdtsc();
            pair.ping.1.store(true, Ordering::Release);
            pair.ping.0.wake_up();
            pair.pong
                .0
                .wait_event(|| pair.pong.1.swap(false, Ordering::AcqRel));
            pair.woke_at.load(Ordering::Acquire).saturating_sub(start)
        }),
    );
    pair.stop.store(true, Ordering::Release);
    pair.ping.1.store(true, Ordering::Release);
    pair.ping.0.wake_up();
    waiter.join().step("join the wait-queue waiter")?;

    // queue_work → the work function runs on the worker.
    let wq = Workqueue::new("bench", 1).step("workqueue")?;
    let shared = Arc::new((Completion::new(), AtomicU64::new(0)));
    let s = shared.clone();
    let work = Work::new(move || {
        s.1.store(rdtsc(), Ordering::Release);
        s.0.complete();
    });
    report.line(
        "queue_work",
        measure_ticks(200, || {
            let start = rdtsc();
            wq.queue_work(&work);
            shared.0.wait_for_completion();
            shared.1.load(Ordering::Acquire).saturating_sub(start)
        }),
    );
    Ok(())
}

/// Exactly two instructions per iteration.
#[inline(never)]
// `unsafe` here: a calibrated asm loop.
#[allow(unsafe_code)]
fn loop2(iterations: u64) {
    // SAFETY: a register-only countdown loop.
    unsafe {
        core::arch::asm!(
            "2:",
            "dec {n}",
            "jnz 2b",
            n = inout(reg) iterations => _,
            options(nomem, nostack),
        )
    };
}

type Why = libsys::rt::TextBuf<256>;

trait Step<T> {
    fn step(self, what: &str) -> Result<T, Why>;
}

impl<T, E: core::fmt::Display> Step<T> for Result<T, E> {
    fn step(self, what: &str) -> Result<T, Why> {
        self.map_err(|e| format_text!("{what}: {e}"))
    }
}

/// Starts `bench partner <args>` with copies of `gifts` (their numbers in
/// the child follow the arguments).
fn partner_process(
    mem: &mut Memory,
    image: (Handle, u64),
    gifts: &[(Handle, Rights)],
    args: &str,
    pager: Option<Handle>,
) -> Result<Child, Why> {
    let mut builder =
        Builder::new(mem, "bench-partner", image.0, image.1).step("build the partner")?;
    if let Some(pager) = pager {
        builder = builder.pager(pager);
    }
    let mut line = format_text!("partner {args}");
    for (h, rights) in gifts {
        let theirs = builder.give(*h, *rights).step("give")?;
        let _ = core::fmt::Write::write_fmt(&mut line, format_args!(" {}", theirs.0));
    }
    builder.start(line.as_str()).step("start the partner")
}

// `unsafe` here: a grant window over raw memory.
#[allow(unsafe_code)]
fn ipc_cases(
    mem: &mut Memory,
    me: &Process,
    image: (Handle, u64),
    report: &Report,
) -> Result<(), Why> {
    // IPC round trips against an echo server.
    let ep = Endpoint::create().step("endpoint")?;
    let server = partner_process(
        mem,
        image,
        &[(ep.raw(), Rights::RECV)],
        format_text!("echo accel={} placement={}", report.accel, report.placement).as_str(),
        None,
    )?;
    let msg = Message::new(1).with_words([1, 2, 3, 4, 5, 6]);
    report.line(
        "ipc_rtt_reg",
        measure(
            500,
            || {
                let _ = ep.call(&msg, FOREVER);
            },
            1,
        ),
    );
    for (case, length) in [("ipc_rtt_256", 256u16), ("ipc_rtt_4k", 4096)] {
        let msg = Message::new(2).with_payload(length);
        report.line(
            case,
            measure(
                200,
                || {
                    let _ = ep.call(&msg, FOREVER);
                },
                1,
            ),
        );
    }
    let (_, window) = mem.alloc_mapped(1).step("a page for the window")?;
    // SAFETY: a page just mapped writable for this process, used by
    // nothing else; the slice lives for the case only.
    let window = unsafe { core::slice::from_raw_parts_mut(window as *mut u8, 4096) };
    let grant = libsys::grant::Grant::write(window).step("grant")?;
    let msg = Message::new(3);
    report.line(
        "grant_copy_4k",
        measure(
            200,
            || {
                let _ = ep.call_with_grant(&msg, grant, FOREVER);
            },
            1,
        ),
    );
    let _ = ep.call(&Message::new(0), FOREVER);
    drop(server);
    echo_fill(mem, image, report, grant)?;

    // The same call answered later: the server saves the reply right
    // (`reply_save`) and answers through it (`reply_to`), as `serve` does
    // for a deferred request.
    let ep = Endpoint::create().step("endpoint")?;
    let server = partner_process(
        mem,
        image,
        &[(ep.raw(), Rights::RECV)],
        format_text!(
            "later accel={} placement={}",
            report.accel,
            report.placement
        )
        .as_str(),
        None,
    )?;
    report.line(
        "reply_later",
        measure(
            500,
            || {
                let _ = ep.call(&msg, FOREVER);
            },
            1,
        ),
    );
    let _ = ep.call(&Message::new(0), FOREVER);
    drop(server);

    // Notification wake-ups between two processes: ping and pong.
    let (ping, pong) = (
        Notification::create().step("notification")?,
        Notification::create().step("notification")?,
    );
    let waker = partner_process(
        mem,
        image,
        &[(ping.raw(), Rights::RECV), (pong.raw(), Rights::SEND)],
        format_text!(
            "notify accel={} placement={}",
            report.accel,
            report.placement
        )
        .as_str(),
        None,
    )?;
    let (median, min, n) = measure(
        500,
        || {
            let _ = ping.signal(1);
            let _ = pong.wait(FOREVER);
        },
        1,
    );
    report.line("notify_wake", (median / 2, min / 2, n * 2));
    let _ = ping.signal(2);
    drop(waker);

    // Two threads of this process yielding to each other.
    static STOP: AtomicU64 = AtomicU64::new(0);
    extern "C" fn yielder(_: u64, _: u64) -> ! {
        while STOP.load(Ordering::Relaxed) == 0 {
            syscall::yield_now();
        }
        libsys::thread::exit()
    }
    let other = libsys::thread::spawn_raw(mem, me, yielder, 0).step("spawn the yielder")?;
    report.line("yield_pingpong", measure(500, syscall::yield_now, 1));
    STOP.store(1, Ordering::Relaxed);
    drop(other);

    // This process as another's pager: the partner faults, we map.
    let pager = Endpoint::create().step("endpoint")?;
    let done = Notification::create().step("notification")?;
    let pages = (BATCHES as u64 + 1) * FAULTS_PER_BATCH;
    let faulter = partner_process(
        mem,
        image,
        &[(done.raw(), Rights::SEND)],
        format_text!(
            "fault accel={} placement={} {pages}",
            report.accel,
            report.placement
        )
        .as_str(),
        Some(pager.raw()),
    )?;
    // Pages are taken in one run and handed out one at a time.
    let pool = mem.alloc(pages).step("pages for the pager")?;
    let mut next = 0;
    let mut got = pager.recv(FOREVER).step("pager recv")?;
    loop {
        if got.msg.label() != LABEL_PAGE_FAULT || next == pages {
            break;
        }
        let page = libsys::mem::Pages {
            first: pool.first + next,
            count: 1,
            ..pool
        };
        next += 1;
        mem.map_into(
            &faulter.process,
            got.msg.words[0] & !0xfff,
            page,
            Protection::READ | Protection::WRITE,
        )
        .step("map")?;
        got = match pager.reply_recv(&Message::new(PAGER_RESUME), 2_000_000_000) {
            Ok(g) => g,
            Err(_) => break,
        };
    }
    let _ = done.wait(2_000_000_000);
    Ok(())
}

/// A page-aligned page (the `grant_copy_4k` server's source).
#[repr(C, align(4096))]
struct Page([u8; 4096]);

/// `exception_rtt`: a breakpoint (`int3`) in a thread of this process,
/// sent to this process's exception endpoint, where the main thread
/// answers "resume" (`reply_recv`); timed by the faulting thread.
fn exception_case(report: &Report) -> Result<(), Why> {
    use libsys::exception::{self as exc, probe, Verdict};
    const PER_BATCH: u64 = 200;
    let me = libsys::env::process().ok_or_else(|| format_text!("no @self"))?;
    let ep = Endpoint::create().step("endpoint")?;
    exc::set_endpoint(&me, Some(&ep)).step("exception_set")?;
    let result = alloc::sync::Arc::new([const { AtomicU64::new(0) }; 3]);
    let theirs = result.clone();
    let worker = libsys::thread::spawn(move || {
        let (median, min, n) = measure(
            PER_BATCH,
            || {
                probe::breakpoint(0);
            },
            1,
        );
        for (slot, value) in theirs.iter().zip([median, min, n]) {
            slot.store(value, Ordering::SeqCst);
        }
    })
    .step("spawn")?;
    let resume = Verdict::Resume.message();
    let mut got = ep.recv(FOREVER).step("recv")?;
    // Not a fixed count: the metered run makes fewer (make bench-breakdown
    // waited here for good after queue_work).
    for _ in 1..calls(PER_BATCH) {
        if got.msg.label() != libsys::abi::exception::LABEL_EXCEPTION {
            return Err(format_text!("not an exception: {:?}", got.msg));
        }
        got = ep.reply_recv(&resume, FOREVER).step("reply_recv")?;
    }
    ipc::reply(&resume).step("reply")?;
    worker.join().step("join")?;
    exc::set_endpoint(&me, None).step("exception_set")?;
    let [median, min, n] = [0, 1, 2].map(|i| result[i].load(Ordering::SeqCst));
    report.line("exception_rtt", (median, min, n));
    Ok(())
}

/// `echo_fill_4k`: a server *core* (`echo`) filling a 4 KiB window
/// through its transport's grant (`Later::grant`), the request and reply
/// encoded as every core's are: the kernel's service with placement=mono,
/// else the same core served by a partner process (`serve`).
fn echo_fill(
    mem: &mut Memory,
    image: (Handle, u64),
    report: &Report,
    grant: libsys::grant::Grant,
) -> Result<(), Why> {
    use libsys::proto::echo::{Reply, Request};
    let (ep, server) = match libsys::names::lookup(libsys::proto::echo::NAME) {
        Ok(ep) => (ep, None),
        Err(_) => {
            let ep = Endpoint::create().step("endpoint")?;
            let server = partner_process(
                mem,
                image,
                &[(ep.raw(), Rights::RECV | Rights::SEND)],
                format_text!("core accel={} placement={}", report.accel, report.placement).as_str(),
                None,
            )?;
            (ep, Some(server))
        }
    };
    let request = Request::Fill { seed: 1, len: 4096 };
    let length = rpc::encode_payload(&request).map_err(|_| format_text!("encode"))?;
    let msg = Message::new(rpc::LABEL_REQUEST).with_payload(length);
    let first = ep.call_with_grant(&msg, grant, FOREVER).step("fill")?;
    let mut buf = [0u8; 16];
    let n = ipc::read_payload(first.info.length.into(), &mut buf);
    if rpc::decode::<Reply>(&buf[..n]) != Ok(Reply::Count(4096)) {
        return Err(format_text!("echo: fill answered {:?}", &buf[..n]));
    }
    report.line(
        "echo_fill_4k",
        measure(
            200,
            || {
                // The payload is encoded again each time, as a client stub does.
                let _ = rpc::encode_payload(&request);
                let _ = ep.call_with_grant(&msg, grant, FOREVER);
            },
            1,
        ),
    );
    drop(server);
    Ok(())
}

/// Pages each `fault_pager_rtt` batch touches.
const FAULTS_PER_BATCH: u64 = 20;
/// Where the faulting partner touches pages (nothing is mapped there).
const DEMAND_BASE: u64 = 0x6000_0000_0000;

/// The partner side: `echo`, `notify` or `fault`.
// `unsafe` here: the partner owns handles named by position in its arguments.
#[allow(unsafe_code)]
fn partner<'a>(words: &mut impl Iterator<Item = &'a str>, report: &Report) -> u64 {
    let verb = words.next();
    let mut words = words.skip_while(|w| w.contains('='));
    let mut number = || {
        words
            .next()
            .and_then(|w| w.parse::<u64>().ok())
            .unwrap_or(0)
    };
    match verb {
        Some("echo") => {
            // SAFETY: the driver gave us this handle; ours alone.
            let ep = unsafe { Endpoint::from_raw(Handle(number() as u32)) };
            let Ok(mut got) = ep.recv(FOREVER) else {
                return 1;
            };
            static SOURCE: Page = Page([0x5a; 4096]);
            loop {
                if got.msg.label() == 0 {
                    let _ = ipc::reply(&Message::new(0));
                    return 0;
                }
                if got.msg.info.flags & libsys::abi::MsgInfo::GRANT_WRITE != 0 {
                    // grant_copy_4k: fill the window, one copy.
                    use libsys::grant::GrantAccess;
                    let mut grant = libsys::grant::CallerGrant::current(&got.msg);
                    let _ = grant.write(0, &SOURCE.0);
                }
                let answer = Message::new(got.msg.label())
                    .with_words(got.msg.words)
                    .with_payload(got.msg.info.length);
                match ep.reply_recv(&answer, FOREVER) {
                    Ok(next) => got = next,
                    Err(_) => return 2,
                }
            }
        }
        Some("core") => {
            // SAFETY: the driver gave us this handle; ours alone.
            let ep = unsafe { Endpoint::from_raw(Handle(number() as u32)) };
            let mut hosted = libsys::server::Hosted::new(echo::Echo::new());
            let _ = libsys::server::serve(&ep, &mut hosted);
            0
        }
        Some("later") => {
            // SAFETY: the driver gave us this handle; ours alone.
            let ep = unsafe { Endpoint::from_raw(Handle(number() as u32)) };
            let Ok(mut got) = ep.recv(FOREVER) else {
                return 1;
            };
            // The breakdown of each request as this side sees it (TSC
            // ticks: instructions under icount): reply_save, and from the
            // reply to the next request (the caller's way back and its
            // next call included).
            let (mut saves, mut replies, mut n) = (0u64, 0u64, 0u64);
            loop {
                if got.msg.label() == 0 {
                    let _ = ipc::reply(&Message::new(0));
                    if let (Some(save), Some(reply)) =
                        (saves.checked_div(n), replies.checked_div(n))
                    {
                        libsys::println!(
                            "bench: reply_later breakdown per request: reply_save {save} reply_to_recv (to the next request received) {reply}"
                        );
                    }
                    return 0;
                }
                let t0 = rdtsc();
                let Ok(saved) = ipc::save_reply() else {
                    return 2;
                };
                let t1 = rdtsc();
                let answer = Message::new(got.msg.label()).with_words(got.msg.words);
                // As `serve` answers a completion when nothing else is
                // pending: reply and receive in one call.
                match saved.reply_recv(&answer, &ep, FOREVER) {
                    Ok(next) => got = next,
                    Err(_) => return 2,
                }
                let t2 = rdtsc();
                saves += t1 - t0;
                replies += t2 - t1;
                n += 1;
            }
        }
        Some("notify") => {
            // SAFETY: as above.
            let ping = unsafe { Notification::from_raw(Handle(number() as u32)) };
            // SAFETY: as above.
            let pong = unsafe { Notification::from_raw(Handle(number() as u32)) };
            loop {
                match ping.wait(FOREVER) {
                    Ok(bits) if bits & 2 == 0 => {
                        let _ = pong.signal(1);
                    }
                    _ => return 0,
                }
            }
        }
        Some("fault") => {
            let pages = number();
            // SAFETY: as above.
            let done = unsafe { Notification::from_raw(Handle(number() as u32)) };
            let mut page = 0;
            let result = measure(
                1,
                || {
                    for _ in 0..FAULTS_PER_BATCH {
                        if page < pages {
                            // SAFETY: each page faults once; the pager maps it
                            // and the write runs again.
                            unsafe {
                                ((DEMAND_BASE + page * 4096) as *mut u64).write_volatile(page)
                            };
                            page += 1;
                        }
                    }
                },
                FAULTS_PER_BATCH,
            );
            report.line("fault_pager_rtt", result);
            let _ = done.signal(1);
            0
        }
        _ => 3,
    }
}

/// The file and process cases, the rows Linux's figures are beside
/// (`docs/linux-figures.md`; the same operations as `tests/linux-bench`):
/// through `libsys::posix` and the file server `vfs` (tmpfs), and the
/// process server `proc`. Skipped when there is no `vfs` (an entry
/// without it).
///
/// - `getppid`: the parent's pid from the process server (on Linux a
///   system call; here a call to `proc`);
/// - `read_4k_cached`: `pread` of 4 KiB from a tmpfs file (its page in
///   the page cache), copied into this process through a grant;
/// - `mmap_file_fault`: the first touch of a page of a `MAP_SHARED`
///   mapping of that file whose page is cached (and known to `mm`): the
///   fault, `mm` mapping the page cache's frame, the resume — timed
///   around the touch only (the `mmap` and `munmap` are not counted);
/// - `open_close`: `open` of `/tmp/bench/f` for reading and its `close`;
/// - `stat`: `stat` of that file;
/// - `pwrite_4k`: `pwrite` of 4 KiB at offset 0 of a tmpfs file;
/// - `readdir_64`: `open` of a directory of 64 files, `getdents` until it
///   returns 0, `close`;
/// - `create_unlink`: `open` with `O_CREAT|O_EXCL`, `close`, `unlink`;
/// - `pipe_4k`: a 4 KiB `write` to a pipe and its `read`, in one process;
/// - `pipe_rtt`: one byte to a child process (`/bin/cat`, its standard
///   input and output on two pipes) and the byte back;
/// - `spawn_true`: `posix_spawn` of `/bin/true` and its `waitpid`;
/// - `signal_rtt`: `kill` of this process with `SIGUSR1`, its handler,
///   the return.
fn posix_cases(report: &Report) -> Result<(), Why> {
    use libsys::posix::{self, O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, O_WRONLY};
    use libsys::proto::vfs;
    if libsys::names::lookup("vfs").is_err() {
        libsys::println!("bench: no file server: no file cases");
        return Ok(());
    }
    let files = vfs::Client::connect().step("connect to vfs")?;
    // Descriptors 0-2 on /dev/null first: init gives this program none,
    // and the pipes of `pipe_rtt` must not become a child's 0 and 1.
    while posix::open("/dev/null", O_RDWR, 0).step("open /dev/null")? < 2 {}
    let dir = "/tmp/bench";
    posix::mkdir(dir, 0o755).step("mkdir /tmp/bench")?;
    let path = "/tmp/bench/f";
    let fd = posix::open(path, O_RDWR | O_CREAT, 0o644).step("create the file")?;
    let mut block = alloc::vec![7u8; 4096];
    if files.pwrite(fd, &block, 0).step("fill the file")? != 4096 {
        return Err(format_text!("a 4 KiB pwrite came up short"));
    }
    let mut failures = 0u64;
    if posix::getppid().is_ok() {
        report.line(
            "getppid",
            measure(
                200,
                || {
                    if posix::getppid().is_err() {
                        failures += 1;
                    }
                },
                1,
            ),
        );
    }
    report.line(
        "read_4k_cached",
        measure(
            200,
            || {
                if files.pread(fd, &mut block, 0) != Ok(4096) {
                    failures += 1;
                }
            },
            1,
        ),
    );
    mmap_file_fault(report, fd, &mut failures);
    report.line(
        "open_close",
        measure(
            100,
            || match posix::open(path, O_RDONLY, 0) {
                Ok(fd) => {
                    if posix::close(fd).is_err() {
                        failures += 1;
                    }
                }
                Err(_) => failures += 1,
            },
            1,
        ),
    );
    report.line(
        "stat",
        measure(
            100,
            || {
                if posix::stat(path).is_err() {
                    failures += 1;
                }
            },
            1,
        ),
    );
    let w = posix::open("/tmp/bench/w", O_WRONLY | O_CREAT, 0o644).step("create w")?;
    report.line(
        "pwrite_4k",
        measure(
            200,
            || {
                if files.pwrite(w, &block, 0) != Ok(4096) {
                    failures += 1;
                }
            },
            1,
        ),
    );
    posix::close(w).step("close w")?;
    posix::close(fd).step("close f")?;
    posix::mkdir("/tmp/bench/dir64", 0o755).step("mkdir dir64")?;
    for i in 0..64 {
        let name = format_text!("/tmp/bench/dir64/entry{i:02}");
        let f = posix::open(name.as_str(), O_WRONLY | O_CREAT, 0o644).step("create an entry")?;
        posix::close(f).step("close an entry")?;
    }
    let mut listing = alloc::vec![0u8; 8192];
    let mut listings = 0u64;
    report.line(
        "readdir_64",
        measure(
            20,
            || {
                let Ok(d) = posix::open("/tmp/bench/dir64", O_RDONLY | O_DIRECTORY, 0) else {
                    failures += 1;
                    return;
                };
                let mut entries = 0;
                while let Ok(n @ 1..) = posix::getdents(d, &mut listing) {
                    entries += posix::Dirents::new(&listing[..n]).count();
                }
                // 64 entries, `.` and `..`.
                if entries == 66 {
                    listings += 1;
                }
                let _ = posix::close(d);
            },
            1,
        ),
    );
    if listings != calls(20) {
        return Err(format_text!("readdir_64: {listings} complete listings"));
    }
    report.line(
        "create_unlink",
        measure(
            50,
            || {
                match posix::open("/tmp/bench/new", O_WRONLY | O_CREAT | O_EXCL, 0o644) {
                    Ok(f) => {
                        let _ = posix::close(f);
                    }
                    Err(_) => failures += 1,
                }
                if posix::unlink("/tmp/bench/new").is_err() {
                    failures += 1;
                }
            },
            1,
        ),
    );
    let (r, w) = posix::pipe().step("pipe")?;
    report.line(
        "pipe_4k",
        measure(
            100,
            || {
                if posix::write(w, &block) != Ok(4096) || posix::read(r, &mut block) != Ok(4096) {
                    failures += 1;
                }
            },
            1,
        ),
    );
    posix::close(r).step("close the pipe")?;
    posix::close(w).step("close the pipe")?;
    if failures > 0 {
        return Err(format_text!("{failures} file operations failed"));
    }
    ext2_case(report)?;
    if libsys::names::lookup("proc").is_ok() {
        process_cases(report)?;
    }
    Ok(())
}

/// `pipe_rtt` and `spawn_true`: the cases that start processes through
/// the process server.
fn process_cases(report: &Report) -> Result<(), Why> {
    use libsys::posix::{self, FileAction};
    use libsys::proto::proc::Pgroup;
    let (to_child, to_child_w) = posix::pipe().step("pipe")?;
    let (to_parent, to_parent_w) = posix::pipe().step("pipe")?;
    // `cat` with its input and output on the pipes: an echo, one byte a
    // read as the bytes come.
    let actions = [
        FileAction::Dup2 {
            from: to_child,
            to: 0,
        },
        FileAction::Dup2 {
            from: to_parent_w,
            to: 1,
        },
        FileAction::Close { fd: to_child_w },
        FileAction::Close { fd: to_parent },
    ];
    let cat = posix::spawn("/bin/cat", &["cat"], &[], &actions, Pgroup::Inherit)
        .step("spawn /bin/cat")?;
    posix::close(to_child).step("close")?;
    posix::close(to_parent_w).step("close")?;
    let mut lost = 0u64;
    let rtt = measure(
        100,
        || {
            let mut byte = [1u8];
            if posix::write(to_child_w, &byte) != Ok(1)
                || posix::read(to_parent, &mut byte) != Ok(1)
            {
                lost += 1;
            }
        },
        1,
    );
    posix::close(to_child_w).step("close")?;
    let waited = posix::waitpid(cat as i64, 0).step("wait for cat")?;
    posix::close(to_parent).step("close")?;
    if lost > 0 || waited.map(|(_, status)| status) != Some(0) {
        return Err(format_text!(
            "pipe_rtt: {lost} bytes lost, cat ended {waited:?}"
        ));
    }
    report.line("pipe_rtt", rtt);
    let mut failures = 0u64;
    let spawn = measure(
        2,
        || match posix::spawn("/bin/true", &["true"], &[], &[], Pgroup::Inherit) {
            Ok(pid) => {
                if !matches!(posix::waitpid(pid as i64, 0), Ok(Some((_, 0)))) {
                    failures += 1;
                }
            }
            Err(_) => failures += 1,
        },
        1,
    );
    if failures > 0 {
        return Err(format_text!("spawn_true: {failures} spawns failed"));
    }
    report.line("spawn_true", spawn);
    signal_case(report)?;
    fork_cases(report)
}

/// Handlers `signal_rtt`'s `SIGUSR1` ran.
static SIGNALS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

extern "C" fn count_signal(_: i32) {
    SIGNALS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
}

/// `signal_rtt`: `kill(getpid(), SIGUSR1)`, the handler running and its
/// return, as `tests/linux-bench` does it: `Kill` to `proc`, which makes
/// the signal pending and sets the kernel's upcall before it answers, the
/// handler entered on the way back to user mode, libsys's entry telling
/// `proc` the handler is done (`Sigreturn`) and the kernel's `sigreturn`.
/// Checked: every signal reached the handler. `proc` runs handlers only
/// in processes it made, and `init` started this one: the case runs in a
/// forked child, which prints the line and exits 0 (1 if a check failed).
fn signal_case(report: &Report) -> Result<(), Why> {
    use libsys::posix;
    match posix::fork() {
        Ok(0) => posix::exit(match signal_rtt(report) {
            Ok(()) => 0,
            Err(why) => {
                libsys::println!("bench: {why}");
                1
            }
        }),
        Ok(pid) => match posix::waitpid(pid as i64, 0) {
            Ok(Some((_, 0))) => {
                // The child's line, counted here.
                report.lines.set(report.lines.get() + 1);
                Ok(())
            }
            other => Err(format_text!("signal_rtt: the child ended {other:?}")),
        },
        Err(e) => Err(format_text!("signal_rtt: fork: {e}")),
    }
}

/// `signal_rtt` itself (in the forked child).
fn signal_rtt(report: &Report) -> Result<(), Why> {
    use core::sync::atomic::Ordering;
    use libsys::posix::{self, Disposition, SIGUSR1};
    posix::sigaction(SIGUSR1, Disposition::Handler(count_signal), 0, 0)
        .step("sigaction SIGUSR1")?;
    let me = posix::getpid().step("getpid")? as i64;
    let mut failures = 0u64;
    let per_batch = 50;
    let rtt = measure(
        per_batch,
        || {
            if posix::kill(me, SIGUSR1).is_err() {
                failures += 1;
            }
        },
        1,
    );
    posix::sigaction(SIGUSR1, Disposition::Default, 0, 0).step("sigaction SIGUSR1")?;
    let handled = SIGNALS.load(Ordering::Relaxed);
    // The warm-up batch, then the timed iterations.
    let expected = per_batch + rtt.2;
    if failures > 0 || handled != expected {
        return Err(format_text!(
            "signal_rtt: {failures} kills failed, {handled} of {expected} signals handled"
        ));
    }
    report.line("signal_rtt", rtt);
    Ok(())
}

/// `fork_exit_wait`: `fork`, the child's `exit(0)`, `waitpid`;
/// `fork_exec_wait`: the child `execve`s `/bin/true` instead. The child
/// is a copy of this process (about 1 MiB resident after the `mm`
/// cases), so the figures grow with it (Linux's `/init` is smaller).
fn fork_cases(report: &Report) -> Result<(), Why> {
    use libsys::posix;
    // The child's status: 0 from `exit(0)` or `/bin/true`, 100 + errno
    // if `execve` failed.
    let run = |exec: bool, failures: &mut u64| match posix::fork() {
        Ok(0) => {
            if exec {
                let e = posix::execve("/bin/true", &["true"], &[]);
                posix::exit(100 + e as i32)
            }
            posix::exit(0)
        }
        Ok(pid) => {
            if !matches!(posix::waitpid(pid as i64, 0), Ok(Some((p, 0))) if p == pid) {
                *failures += 1;
            }
        }
        Err(_) => *failures += 1,
    };
    for (case, exec) in [("fork_exit_wait", false), ("fork_exec_wait", true)] {
        let mut failures = 0u64;
        let result = measure(2, || run(exec, &mut failures), 1);
        if failures > 0 {
            return Err(format_text!("{case}: {failures} children failed"));
        }
        report.line(case, result);
    }
    Ok(())
}

/// `read_4k_cached_ext2`: `pread` of 4 KiB at offset 0 of a file on the
/// ext2 disk mounted on `/mnt` (its block in the page cache after the
/// first read). Skipped when nothing is mounted there (no disk).
fn ext2_case(report: &Report) -> Result<(), Why> {
    use libsys::posix::{self, O_CREAT, O_RDWR};
    use libsys::proto::vfs;
    let path = "/mnt/bench-read";
    let Ok(fd) = posix::open(path, O_RDWR | O_CREAT, 0o644) else {
        libsys::println!("bench: no ext2 on /mnt: no read_4k_cached_ext2");
        return Ok(());
    };
    let files = vfs::Client::connect().step("connect to vfs")?;
    let mut block = alloc::vec![3u8; 4096];
    if files.pwrite(fd, &block, 0).step("fill the ext2 file")? != 4096 {
        return Err(format_text!("a 4 KiB pwrite to ext2 came up short"));
    }
    let mut failures = 0u64;
    let result = measure(
        200,
        || {
            if files.pread(fd, &mut block, 0) != Ok(4096) {
                failures += 1;
            }
        },
        1,
    );
    posix::close(fd).step("close the ext2 file")?;
    let _ = posix::unlink(path);
    if failures > 0 || block[0] != 3 {
        return Err(format_text!("read_4k_cached_ext2: {failures} reads failed"));
    }
    report.line("read_4k_cached_ext2", result);
    Ok(())
}

/// The block server's cases (skipped without one): `blk_read_4k`, a
/// 4 KiB read of the RAM disk `ram0` through `blk` (the request, the
/// RAM disk's copy into a transfer slot, the grant copy into the
/// caller's window, the reply later); `blk_read_4k_vda`, the same from
/// the virtio disk, whose time includes waiting for the device (under
/// icount the clock jumps to the next timer while the CPU idles).
fn blk_cases(report: &Report) -> Result<(), Why> {
    use libsys::proto::blk::Client;
    let Ok(blk) = Client::connect() else {
        libsys::println!("bench: no block server: no block cases");
        return Ok(());
    };
    let mut buffer = alloc::vec![0u8; 4096];
    for (case, dev, per_batch) in [("blk_read_4k", "ram0", 100), ("blk_read_4k_vda", "vda", 5)] {
        if blk.info(dev).is_err() {
            libsys::println!("bench: no {dev}: no {case}");
            continue;
        }
        let mut failures = 0u64;
        let result = measure(
            per_batch,
            || {
                if blk.read(dev, 8, &mut buffer).is_err() {
                    failures += 1;
                }
            },
            1,
        );
        if failures > 0 {
            return Err(format_text!("{case}: {failures} reads failed"));
        }
        report.line(case, result);
    }
    blk_seq_read(report, &blk)
}

/// Bytes `blk_seq_read_mib_s` reads per run: 8 MiB of `vda` from its
/// first sector, in the largest request the block server takes.
const SEQ_READ_BYTES: usize = 8 << 20;
/// Runs of it the median is taken of.
const SEQ_READ_RUNS: usize = 5;

/// `blk_seq_read_mib_s`: [`SEQ_READ_BYTES`] of `vda` read in order,
/// [`libsys::proto::blk::TRANSFER_MAX_SECTORS`] at a time (64 KiB
/// requests: a 1 MiB read is 16 of them, as Linux splits one by the
/// queue's `max_sectors_kb`), uncached (the block server keeps no cache):
/// MiB per second of the guest's clock (the TSC's rate the kernel
/// measured), median and best of [`SEQ_READ_RUNS`] runs. Under TCG that
/// is the rate a user sees; under icount the clock counts instructions
/// (and jumps over idle waits), so the figure is per instruction budget.
fn blk_seq_read(report: &Report, blk: &libsys::proto::blk::Client) -> Result<(), Why> {
    use libsys::proto::blk::TRANSFER_MAX_SECTORS;
    let Ok(info) = blk.info("vda") else {
        libsys::println!("bench: no vda: no blk_seq_read_mib_s");
        return Ok(());
    };
    let chunk = TRANSFER_MAX_SECTORS as usize * 512;
    let sectors = (SEQ_READ_BYTES / 512) as u64;
    if info.sectors < sectors {
        libsys::println!("bench: vda is under 8 MiB: no blk_seq_read_mib_s");
        return Ok(());
    }
    let hz = libsys::syscall::clock()
        .map(|c| c.tsc_hz)
        .ok()
        .filter(|&hz| hz > 0)
        .ok_or_else(|| format_text!("blk_seq_read_mib_s: no TSC rate"))?;
    let mut buffer = alloc::vec![0u8; chunk];
    let mut rates = [0u64; SEQ_READ_RUNS];
    for rate in rates.iter_mut() {
        let start = rdtsc();
        for at in (0..SEQ_READ_BYTES).step_by(chunk) {
            blk.read("vda", (at / 512) as u64, &mut buffer)
                .map_err(|e| format_text!("blk_seq_read_mib_s: read at {at}: {e:?}"))?;
        }
        let ticks = (rdtsc() - start).max(1);
        // MiB/s = bytes / 2^20 / (ticks / hz).
        *rate = (SEQ_READ_BYTES as u128 * u128::from(hz) / (u128::from(ticks) << 20)) as u64;
    }
    rates.sort_unstable();
    // The best run is the highest rate: `min` is the best, as for times.
    report.line(
        "blk_seq_read_mib_s",
        (
            rates[SEQ_READ_RUNS / 2],
            rates[SEQ_READ_RUNS - 1],
            (SEQ_READ_RUNS * SEQ_READ_BYTES / chunk) as u64,
        ),
    );
    Ok(())
}

/// Probes of the terminal's input path the medians are taken of.
const TTY_PROBES: usize = 21;

/// The terminal server's cases (skipped without one): `irq_to_driver`,
/// from a byte's arrival on the UART to the driver (the `tty` server,
/// COM1's driver) running with its interrupt — the IOAPIC, the kernel's
/// handler and its notification, the switch to the server — and
/// `tty_echo`, from the arrival to the byte's echo sent back out through
/// the line discipline. Measured by the server (`EchoProbe`: the UART in
/// loopback, so the arrival time is known), in TSC ticks.
fn tty_cases(report: &Report) -> Result<(), Why> {
    use libsys::proto::tty::{Client, CONSOLE};
    let Ok(tty) = Client::connect() else {
        libsys::println!("bench: no terminal server: no irq_to_driver, tty_echo");
        return Ok(());
    };
    let mut irq = [0u64; TTY_PROBES];
    let mut echo = [0u64; TTY_PROBES];
    // One probe to warm up, not counted.
    let probe = || {
        tty.echo_probe(CONSOLE)
            .map_err(|e| format_text!("tty echo probe: {e:?}"))
    };
    probe()?;
    for (i, e) in irq.iter_mut().zip(echo.iter_mut()) {
        (*i, *e) = probe()?;
    }
    for (case, figures) in [("irq_to_driver", &mut irq), ("tty_echo", &mut echo)] {
        figures.sort_unstable();
        report.line(
            case,
            (figures[TTY_PROBES / 2], figures[0], TTY_PROBES as u64),
        );
    }
    Ok(())
}
