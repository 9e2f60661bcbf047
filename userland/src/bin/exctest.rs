//! `exctest`: user exceptions as messages, thread suspension and register
//! access, and signal upcalls with `sigreturn` (`init` runs it from both
//! test manifests, with pages and its own module to start victims).
//!
//! - a divide error, an invalid opcode, a breakpoint, a general-protection
//!   fault and a page fault the pager refused, raised by a thread of this
//!   process, arrive at its exception endpoint as typed messages; the
//!   thread resumes with its RIP moved past the instruction and RAX set to
//!   a marker it then returns;
//! - a victim process whose exception is answered "kill" dies of it; one
//!   without an exception endpoint dies as before;
//! - a spinning thread is suspended, its registers read and written (RAX
//!   stops its spin), and resumed; bad register writes are refused;
//! - a signal upcall runs a handler on a spinning thread, which
//!   `sigreturn`s to the loop with every register intact;
//! - forged `sigreturn` frames are refused;
//! - an upcall on a thread whose stack is unmapped comes back as a
//!   page-fault exception flagged `EXCEPTION_UPCALL_FAULT`; the handler
//!   repairs the registers and the thread goes on.
//!
//! A victim is this program started as `exctest victim`: it raises `ud2`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use libsys::abi::exception::{UserRegs, EXCEPTION_UPCALL_FAULT, SIGINFO_WORDS, USER_REGS_WORDS};
use libsys::abi::{ProcessStatus, SysError, Syscall};
use libsys::exception::{self as exc, probe, Exception, Verdict};
use libsys::format_text;
use libsys::handle::{Endpoint, Thread};
use libsys::mem::Memory;
use libsys::spawn::Builder;
use libsys::thread::JoinHandle;
use libsys::time::Instant;
use userland::{wait_exit, want, Tally};

libsys::entry!(main);

type Why = libsys::rt::TextBuf<256>;

/// The RAX a handler sets for the resumed thread to return.
const MARKER: u64 = 0x5eed_1234;
/// A user address nothing is mapped at (the pager refuses it).
const UNMAPPED: u64 = 0x6100_0000_0000;

fn main(args: &str) -> u64 {
    if args.split_whitespace().next() == Some("victim") {
        return probe::invalid_opcode(0);
    }
    let mut t = Tally::new();
    let ep = match setup() {
        Ok(ep) => ep,
        Err(e) => {
            t.check("exceptions: set up", Err(format_args!("{e}")));
            return t.status();
        }
    };
    type Probe = fn(u64) -> u64;
    let cases: [(&str, Probe, u8, u64); 4] = [
        ("divide error", probe::divide_error, 0, probe::DIVIDE_LEN),
        ("invalid opcode", probe::invalid_opcode, 6, probe::UD2_LEN),
        ("breakpoint", probe::breakpoint, 3, 0),
        (
            "general protection",
            probe::general_protection,
            13,
            probe::HLT_LEN,
        ),
    ];
    for (name, raise, vector, len) in cases {
        t.record(
            format_text!(
                "exceptions: a {name} reaches the endpoint; resumed with RIP and RAX changed"
            )
            .as_str(),
            resumed(&ep, move || raise(1), vector, len, 0),
        );
    }
    t.record(
        "exceptions: a page fault the pager refused reaches the endpoint; resumed",
        resumed(&ep, || probe::load(UNMAPPED), 14, probe::LOAD_LEN, UNMAPPED),
    );
    t.record(
        "exceptions: a victim answered 'kill' dies of its fault; without an endpoint too",
        victims(&ep),
    );
    t.record(
        "exceptions: suspend, read and write registers of another thread, resume",
        suspend_and_regs(),
    );
    t.record(
        "exceptions: a signal upcall runs its handler and sigreturns with every register intact",
        upcall(),
    );
    t.record(
        "exceptions: forged sigreturn frames are refused",
        forged_sigreturn(),
    );
    t.record(
        "exceptions: an upcall on an unmapped stack comes back as a page-fault exception",
        upcall_unmapped_stack(&ep),
    );
    let _ = exc::set_endpoint(&self_process(), None);
    t.status()
}

fn self_process() -> libsys::handle::Borrowed<libsys::handle::Process> {
    libsys::env::process().expect("init gives every test @self")
}

/// This process's exceptions go to a new endpoint.
fn setup() -> Result<Endpoint, Why> {
    let ep = Endpoint::create().map_err(|e| format_text!("endpoint: {e}"))?;
    libsys::env::process().ok_or_else(|| format_text!("no @self"))?;
    exc::set_endpoint(&self_process(), Some(&ep)).map_err(|e| format_text!("set: {e}"))?;
    Ok(ep)
}

fn spawn(body: impl FnOnce() + Send + 'static) -> Result<JoinHandle, Why> {
    libsys::thread::spawn(body).map_err(|e| format_text!("spawn: {e}"))
}

/// Receives one exception on `ep` (within 5 s).
fn receive(ep: &Endpoint) -> Result<Exception, Why> {
    let got = ep
        .recv(5_000_000_000)
        .map_err(|e| format_text!("recv: {e}"))?;
    Exception::from_received(&got).ok_or_else(|| format_text!("not an exception: {:?}", got.msg))
}

/// A thread runs `raise` (which returns its RAX); the handler checks the
/// message (vector, CR2, RIP as the thread's registers say), moves RIP by
/// `len`, sets RAX to [`MARKER`] and resumes; the thread returns MARKER.
fn resumed(
    ep: &Endpoint,
    raise: impl FnOnce() -> u64 + Send + 'static,
    vector: u8,
    len: u64,
    cr2: u64,
) -> Result<(), Why> {
    let out = Arc::new(AtomicU64::new(0));
    let theirs = out.clone();
    let worker = spawn(move || theirs.store(raise(), Ordering::SeqCst))?;
    let got = receive(ep)?;
    let regs = exc::regs(&worker.thread).map_err(|e| format_text!("regs: {e}"))?;
    let m = got.message;
    want(
        "message",
        (m.vector, m.cr2, m.rip, m.rsp, m.flags),
        (vector, cr2, regs.rip, regs.rsp, 0),
    )?;
    let changed = UserRegs {
        rip: regs.rip + len,
        rax: MARKER,
        ..regs
    };
    exc::set_regs(&worker.thread, &changed).map_err(|e| format_text!("set_regs: {e}"))?;
    Verdict::Resume
        .reply()
        .map_err(|e| format_text!("reply: {e}"))?;
    worker.join().map_err(|e| format_text!("join: {e}"))?;
    want("returned", out.load(Ordering::SeqCst), MARKER)
}

/// Starts this program as a victim (which raises `ud2`), its exceptions
/// sent to `ep` or nowhere; returns how it ended.
fn victim(ep: Option<&Endpoint>, verdict: Verdict) -> Result<ProcessStatus, Why> {
    let me = libsys::env::self_process().ok_or_else(|| format_text!("no self handle"))?;
    let (region, pages) =
        libsys::env::memory_region().ok_or_else(|| format_text!("no memory= pages"))?;
    let mut mem = Memory::new(me, region, pages);
    let image = libsys::env::own_module().ok_or_else(|| format_text!("no own module"))?;
    let builder = Builder::new(&mut mem, "exc-victim", image.0, image.1)
        .map_err(|e| format_text!("build the victim: {e}"))?;
    exc::set_endpoint(builder.process(), ep).map_err(|e| format_text!("set: {e}"))?;
    let child = builder
        .start("victim")
        .map_err(|e| format_text!("start the victim: {e}"))?;
    if let Some(ep) = ep {
        let got = receive(ep)?;
        want("victim's vector", got.message.vector, 6)?;
        verdict.reply().map_err(|e| format_text!("reply: {e}"))?;
    }
    let status = wait_exit(&child.process, Duration::from_secs(10))?;
    for run in child.pages {
        mem.free(run);
    }
    Ok(status)
}

fn victims(ep: &Endpoint) -> Result<(), Why> {
    want(
        "killed on the verdict",
        victim(Some(ep), Verdict::Kill)?,
        ProcessStatus::Fault(6),
    )?;
    want(
        "killed without an endpoint",
        victim(None, Verdict::Kill)?,
        ProcessStatus::Fault(6),
    )
}

/// A thread spinning in [`probe::spin_with_pattern`], and where its
/// result goes: (RAX it returned, whether its registers held).
fn spinner() -> Result<(JoinHandle, Arc<AtomicU64>), Why> {
    // 1 once it is about to spin (no system call after that).
    let out = Arc::new(AtomicU64::new(0));
    let theirs = out.clone();
    let worker = spawn(move || {
        theirs.store(1, Ordering::SeqCst);
        let (value, intact) = probe::spin_with_pattern();
        theirs.store(value << 1 | u64::from(intact), Ordering::SeqCst);
    })?;
    let start = Instant::now();
    while out.load(Ordering::SeqCst) == 0 {
        if start.elapsed() > Duration::from_secs(5) {
            return Err(format_text!("the spinner never started"));
        }
        libsys::time::sleep_ms(1);
    }
    // Well inside its loop by the time it is suspended.
    libsys::time::sleep_ms(5);
    Ok((worker, out))
}

/// Suspends `thread` and waits (5 s at most) until it has stopped;
/// returns its registers.
fn stop(thread: &Thread) -> Result<UserRegs, Why> {
    exc::suspend(thread).map_err(|e| format_text!("suspend: {e}"))?;
    let start = Instant::now();
    loop {
        match exc::regs(thread) {
            Ok(regs) => return Ok(regs),
            Err(SysError::WouldBlock) if start.elapsed() < Duration::from_secs(5) => {
                libsys::time::sleep_ms(1)
            }
            Err(e) => return Err(format_text!("regs: {e}")),
        }
    }
}

/// Writes RAX = [`MARKER`] into a stopped spinner, resumes it and checks
/// it returned the marker with its registers intact.
fn finish(worker: JoinHandle, out: &AtomicU64, regs: UserRegs) -> Result<(), Why> {
    let stopping = UserRegs {
        rax: MARKER,
        ..regs
    };
    exc::set_regs(&worker.thread, &stopping).map_err(|e| format_text!("set_regs: {e}"))?;
    exc::resume(&worker.thread).map_err(|e| format_text!("resume: {e}"))?;
    worker.join().map_err(|e| format_text!("join: {e}"))?;
    want(
        "(returned, registers intact)",
        (
            out.load(Ordering::SeqCst) >> 1,
            out.load(Ordering::SeqCst) & 1,
        ),
        (MARKER, 1),
    )
}

fn suspend_and_regs() -> Result<(), Why> {
    let (worker, out) = spinner()?;
    let regs = stop(&worker.thread)?;
    want(
        "the pattern and the spin",
        (regs.rcx, regs.r11, regs.rax),
        (0x7101_0101, 0x7808_0808, 0),
    )?;
    // Writes that are refused leave the thread as it was.
    for bad in [
        UserRegs {
            rip: 0xffff_8000_0000_1000,
            ..regs
        },
        UserRegs {
            rflags: regs.rflags | 0x3000,
            ..regs
        },
        UserRegs {
            rsp: 1 << 48,
            ..regs
        },
    ] {
        want(
            "a bad write",
            exc::set_regs(&worker.thread, &bad),
            Err(SysError::InvalidArgument),
        )?;
    }
    want("unchanged", stop(&worker.thread)?, regs)?;
    finish(worker, &out, regs)
}

/// What the handler saw: signo, info word 0, and the context's words.
static SEEN_SIGNO: AtomicU64 = AtomicU64::new(0);
static SEEN_INFO: AtomicU64 = AtomicU64::new(0);
static SEEN_REGS: [AtomicU64; USER_REGS_WORDS] = [const { AtomicU64::new(0) }; USER_REGS_WORDS];

extern "C" fn handler(signo: u64, info: &[u64; SIGINFO_WORDS], regs: &mut UserRegs) {
    for (seen, word) in SEEN_REGS.iter().zip(regs.to_words()) {
        seen.store(word, Ordering::SeqCst);
    }
    SEEN_INFO.store(info[0], Ordering::SeqCst);
    // Last: the controller waits for it.
    SEEN_SIGNO.store(signo, Ordering::SeqCst);
}

fn upcall() -> Result<(), Why> {
    let (worker, out) = spinner()?;
    let regs = stop(&worker.thread)?;
    SEEN_SIGNO.store(0, Ordering::SeqCst);
    exc::deliver_signal(&worker.thread, handler, 10, &[0xabc, 2, 3, 4])
        .map_err(|e| format_text!("deliver: {e}"))?;
    want(
        "a second pending upcall",
        exc::deliver_signal(&worker.thread, handler, 10, &[0; 4]),
        Err(SysError::Exists),
    )?;
    exc::resume(&worker.thread).map_err(|e| format_text!("resume: {e}"))?;
    let start = Instant::now();
    while SEEN_SIGNO.load(Ordering::SeqCst) == 0 {
        if start.elapsed() > Duration::from_secs(5) {
            return Err(format_text!("the handler never ran"));
        }
        libsys::time::sleep_ms(1);
    }
    let mut seen = [0; USER_REGS_WORDS];
    for (word, s) in seen.iter_mut().zip(&SEEN_REGS) {
        *word = s.load(Ordering::SeqCst);
    }
    want(
        "signo, info",
        (
            SEEN_SIGNO.load(Ordering::SeqCst),
            SEEN_INFO.load(Ordering::SeqCst),
        ),
        (10, 0xabc),
    )?;
    want("the saved context", UserRegs::from_words(&seen), regs)?;
    // Back in the loop after `sigreturn`: stop it and check it held.
    let again = stop(&worker.thread)?;
    want(
        "after sigreturn",
        (again.rsp, again.rcx, again.rdx, again.r8, again.r11),
        (regs.rsp, regs.rcx, regs.rdx, regs.r8, regs.r11),
    )?;
    finish(worker, &out, again)
}

fn forged_sigreturn() -> Result<(), Why> {
    let good = UserRegs {
        rip: 0x40_1000,
        rsp: 0x7fff_0000,
        rflags: 0x202,
        ..UserRegs::default()
    };
    for (what, bad, expected) in [
        (
            "IOPL 3",
            UserRegs {
                rflags: 0x3202,
                ..good
            },
            SysError::InvalidArgument,
        ),
        (
            "a kernel RIP",
            UserRegs {
                rip: 0xffff_ffff_8000_0000,
                ..good
            },
            SysError::InvalidArgument,
        ),
        (
            "a non-canonical RSP",
            UserRegs {
                rsp: 0x0008_0000_0000_0000,
                ..good
            },
            SysError::InvalidArgument,
        ),
    ] {
        let words = bad.to_words();
        want(
            what,
            libsys::syscall::call6(Syscall::Sigreturn, [words.as_ptr() as u64, 0, 0, 0, 0, 0]),
            Err(expected),
        )?;
    }
    want(
        "a frame in the kernel half",
        libsys::syscall::call6(Syscall::Sigreturn, [0xffff_8000_0000_0000, 0, 0, 0, 0, 0]),
        Err(SysError::BadAddress),
    )?;
    want(
        "an unmapped frame",
        libsys::syscall::call6(Syscall::Sigreturn, [UNMAPPED, 0, 0, 0, 0, 0]),
        Err(SysError::BadAddress),
    )
}

fn upcall_unmapped_stack(ep: &Endpoint) -> Result<(), Why> {
    let (worker, out) = spinner()?;
    let regs = stop(&worker.thread)?;
    let away = UserRegs {
        rsp: UNMAPPED + 0x1000,
        ..regs
    };
    exc::set_regs(&worker.thread, &away).map_err(|e| format_text!("set_regs: {e}"))?;
    exc::deliver_signal(&worker.thread, handler, 11, &[0; 4])
        .map_err(|e| format_text!("deliver: {e}"))?;
    exc::resume(&worker.thread).map_err(|e| format_text!("resume: {e}"))?;
    let got = receive(ep)?;
    let m = got.message;
    let frame = libsys::abi::exception::SignalFrame::place(away.rsp).unwrap_or(0);
    want(
        "(vector, flags, cr2, rsp)",
        (m.vector, m.flags, m.cr2, m.rsp),
        (14, EXCEPTION_UPCALL_FAULT, frame, away.rsp),
    )?;
    // Repair the stack and stop the spin; the thread goes on.
    let repaired = UserRegs {
        rax: MARKER,
        ..regs
    };
    exc::set_regs(&worker.thread, &repaired).map_err(|e| format_text!("set_regs: {e}"))?;
    exc::resume(&worker.thread).map_err(|e| format_text!("resume: {e}"))?;
    Verdict::Resume
        .reply()
        .map_err(|e| format_text!("reply: {e}"))?;
    worker.join().map_err(|e| format_text!("join: {e}"))?;
    want(
        "(returned, registers intact)",
        (
            out.load(Ordering::SeqCst) >> 1,
            out.load(Ordering::SeqCst) & 1,
        ),
        (MARKER, 1),
    )
}
