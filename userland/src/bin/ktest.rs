//! The kernel's user-mode tests, run by the kernel's test runner as boot
//! modules. The argument names the suite:
//! - `syscalls`: every system call with good and with bad arguments
//!   (unknown numbers, bad levels, null, kernel, non-canonical, unmapped,
//!   read-only and straddling pointers, huge and wrapping lengths, invalid
//!   UTF-8), checking each typed error and that a refused call changed
//!   nothing; and that a call preserves every register the ABI says it does;
//! - `tick`: spins for one second by the TSC and checks that `jiffies`
//!   advanced by HZ, within 10%.
//!
//! Each check logs `ok - …` or `FAIL - …`; the exit status carries the
//! tally (see `userland::Tally`).
#![no_std]
#![no_main]
// A test (or benchmark) of raw memory and the raw ABI, fenced: `unsafe` is
// denied here and allowed only on the items that say why (each block has
// its SAFETY comment). Listed in docs/architecture.md, "`unsafe` stays in
// `libsys`".
#![deny(unsafe_code)]

use libsys::abi::{ClockInfo, LogLevel, SysError, Syscall, LOG_MAX, USER_STACK_TOP};
use libsys::syscall::{self, raw};
use userland::Tally;

libsys::entry!(main);

fn main(args: &str) -> u64 {
    let mut tally = Tally::new();
    match args {
        "syscalls" => syscalls(&mut tally),
        "tick" => tick(&mut tally),
        _ => tally.check("known suite", Err(format_args!("no suite {args:?}"))),
    }
    tally.status()
}

// `unsafe` here: the raw three-register call is what it checks.
#[allow(unsafe_code)]
fn call3(n: u64, a: u64, b: u64, c: u64) -> Result<u64, SysError> {
    // SAFETY: the kernel checks every argument; these calls either fail
    // or write only into memory this test owns.
    let (status, value) = unsafe { raw::syscall3(n, a, b, c) };
    libsys::abi::decode_result(status, value)
}

fn log_raw(level: u64, ptr: u64, len: u64) -> Result<u64, SysError> {
    call3(Syscall::Log as u64, level, ptr, len)
}

fn clock_raw(ptr: u64) -> Result<u64, SysError> {
    call3(Syscall::Clock as u64, ptr, 0, 0)
}

/// A read-only static and a function: memory the kernel must not write.
static READ_ONLY: ClockInfo = ClockInfo {
    jiffies: 7,
    hz: 7,
    tsc_hz: 7,
    uptime_ns: 7,
    since_entry_ns: 7,
};

// `unsafe` here: a clock() whose output straddles the stack top, through raw addresses.
#[allow(unsafe_code)]
fn syscalls(t: &mut Tally) {
    use SysError::*;
    let info = LogLevel::Info as u64;
    let text = "ktest: a log line through a raw system call";
    let ptr = text.as_ptr() as u64;
    let unmapped = 0x1000_0000u64;
    let kernel = 0xffff_ffff_8000_0000u64;
    let non_canonical = 0x8000_0000_0000_0000u64;

    t.expect_eq("null returns 0", syscall::null(), Ok(0));
    // One past the highest number, a number between the assigned blocks
    // (numbers come in one block per mechanism), and far ones.
    let highest = Syscall::ALL[Syscall::ALL.len() - 1] as u64;
    let gap = (0..highest)
        .find(|&n| Syscall::try_from(n).is_err())
        .unwrap_or(highest + 2);
    for n in [highest + 1, gap, 1 << 32, u64::MAX] {
        t.expect_eq(
            "unknown number is UnknownSyscall",
            call3(n, 1, 2, 3),
            Err(UnknownSyscall),
        );
    }

    t.expect_eq(
        "log returns its length",
        log_raw(info, ptr, text.len() as u64),
        Ok(text.len() as u64),
    );
    t.expect_eq("log of nothing", log_raw(info, unmapped, 0), Ok(0));
    t.expect_eq("log at level 8", log_raw(8, ptr, 4), Err(InvalidArgument));
    t.expect_eq(
        "log at level 2^64-1",
        log_raw(u64::MAX, ptr, 4),
        Err(InvalidArgument),
    );
    t.expect_eq(
        "log from a null pointer",
        log_raw(info, 0, 16),
        Err(BadAddress),
    );
    t.expect_eq(
        "log from a kernel address",
        log_raw(info, kernel, 16),
        Err(BadAddress),
    );
    t.expect_eq(
        "log from a non-canonical address",
        log_raw(info, non_canonical, 16),
        Err(BadAddress),
    );
    t.expect_eq(
        "log from an unmapped page",
        log_raw(info, unmapped, 16),
        Err(BadAddress),
    );
    t.expect_eq(
        "log past the stack's top",
        log_raw(info, USER_STACK_TOP - 8, 16),
        Err(BadAddress),
    );
    t.expect_eq(
        "log of LOG_MAX+1 bytes",
        log_raw(info, ptr, LOG_MAX as u64 + 1),
        Err(BadLength),
    );
    t.expect_eq(
        "log of 2^64-1 bytes",
        log_raw(info, ptr, u64::MAX),
        Err(BadLength),
    );
    t.expect_eq(
        "log of a wrapping range",
        log_raw(info, u64::MAX - 4, 16),
        Err(BadAddress),
    );
    let bad_utf8 = [b'o', b'k', 0xff, 0xfe];
    t.expect_eq(
        "log of invalid UTF-8",
        log_raw(info, bad_utf8.as_ptr() as u64, 4),
        Err(InvalidArgument),
    );
    t.expect_eq(
        "log of LOG_MAX bytes",
        log_raw(
            LogLevel::Debug as u64,
            [b'x'; LOG_MAX].as_ptr() as u64,
            LOG_MAX as u64,
        ),
        Ok(LOG_MAX as u64),
    );

    let mut clock = ClockInfo::default();
    let good = clock_raw(&mut clock as *mut ClockInfo as u64);
    t.expect_eq("clock fills its struct", good, Ok(0));
    t.check(
        "clock reports HZ, the TSC rate and the uptime",
        if clock.hz >= 10
            && clock.tsc_hz > 1_000_000
            && clock.uptime_ns > 0
            && clock.since_entry_ns > clock.uptime_ns
        {
            Ok(())
        } else {
            Err(format_args!("implausible clock"))
        },
    );
    t.expect_eq(
        "clock into read-only data",
        clock_raw(&READ_ONLY as *const ClockInfo as u64),
        Err(BadAddress),
    );
    t.expect_eq("read-only data unchanged", READ_ONLY.hz, 7);
    t.expect_eq(
        "clock into code",
        clock_raw(syscalls as *const () as u64),
        Err(BadAddress),
    );
    t.expect_eq("clock into the kernel", clock_raw(kernel), Err(BadAddress));
    t.expect_eq(
        "clock into an unmapped page",
        clock_raw(unmapped),
        Err(BadAddress),
    );
    t.expect_eq("clock to a null pointer", clock_raw(0), Err(BadAddress));
    // The first 8 bytes are the stack's last mapped ones: a refused call
    // must not write them either.
    let edge = (USER_STACK_TOP - 8) as *mut u64;
    // SAFETY: the top 8 bytes of this process's stack hold the start of
    // the argument string copied there at start; the string was already
    // read, and the value is restored below.
    let saved = unsafe { edge.read_volatile() };
    // SAFETY: as above.
    unsafe { edge.write_volatile(0x5afe_5afe) };
    t.expect_eq(
        "clock straddling the stack's top",
        clock_raw(edge as u64),
        Err(BadAddress),
    );
    // SAFETY: as above.
    t.expect_eq(
        "a refused clock wrote nothing",
        unsafe { edge.read_volatile() },
        0x5afe_5afe,
    );
    // SAFETY: as above.
    unsafe { edge.write_volatile(saved) };

    log_read(t);
    syscall::yield_now();
    t.check("yield returns", Ok(()));
    registers_survive(t);
}

/// Reads the kernel log back (`dmesg`): a line just logged is there, in
/// `/dev/kmsg` format, and bad buffers are refused.
fn log_read(t: &mut Tally) {
    use SysError::*;
    let marker = "ktest: log_read marker 7f3a";
    let _ = syscall::log(LogLevel::Notice, marker);
    let mut buffer = [0u8; libsys::abi::PAGE_SIZE as usize];
    let mut since = 0;
    let mut found = None;
    for _ in 0..64 {
        let Ok(n) = syscall::log_read(since, &mut buffer) else {
            break;
        };
        if n == 0 {
            break;
        }
        let text = core::str::from_utf8(&buffer[..n]).unwrap_or("");
        for line in text.lines() {
            let seq = line.split(',').nth(1).and_then(|s| s.parse::<u64>().ok());
            since = seq.map_or(since, |s| s + 1);
            if line.ends_with(marker) {
                found = Some(line.starts_with("5,"));
            }
        }
    }
    t.expect_eq(
        "log_read finds a line just logged, at level 5",
        found,
        Some(true),
    );
    let mut tiny = [0u8; 8];
    t.expect_eq(
        "log_read into 8 bytes writes no partial line",
        syscall::log_read(0, &mut tiny),
        Ok(0),
    );
    let n = |r: Result<u64, SysError>| r;
    t.expect_eq(
        "log_read into read-only data",
        n(call3(
            Syscall::LogRead as u64,
            0,
            &READ_ONLY as *const ClockInfo as u64,
            32,
        )),
        Err(BadAddress),
    );
    t.expect_eq(
        "log_read of more than LOG_READ_MAX",
        n(call3(
            Syscall::LogRead as u64,
            0,
            buffer.as_mut_ptr() as u64,
            4097,
        )),
        Err(BadLength),
    );
    t.expect_eq(
        "log_read into the kernel",
        n(call3(Syscall::LogRead as u64, 0, 0xffff_8000_0000_0000, 64)),
        Err(BadAddress),
    );
}

/// Every register but rax, rdx (the results), rcx and r11 (the `syscall`
/// instruction's) comes back from the kernel as it went in.
// `unsafe` here: inline asm that checks registers survive a call.
#[allow(unsafe_code)]
fn registers_survive(t: &mut Tally) {
    let mut regs = [0u64; 9];
    let marks: [u64; 9] = core::array::from_fn(|i| 0x1111_1111_1111_1111 * (i as u64 + 1));
    // SAFETY: the null system call changes nothing; every register the
    // block touches is declared, and rbx/rbp (which Rust reserves) are
    // saved and restored by hand around the call.
    unsafe {
        core::arch::asm!(
            "push rbx",
            "push rbp",
            // The operands may sit in rbx or rbp: save them before those
            // are overwritten.
            "push {m}",
            "push {o}",
            "mov rbx, [{m} + 0]",
            "mov rbp, [{m} + 8]",
            "mov r12, [{m} + 16]",
            "mov r13, [{m} + 24]",
            "mov r14, [{m} + 32]",
            "mov r15, [{m} + 40]",
            "mov r8,  [{m} + 48]",
            "mov r9,  [{m} + 56]",
            "mov r10, [{m} + 64]",
            "xor eax, eax",
            "syscall",
            "pop rax",
            "mov [rax + 0], rbx",
            "mov [rax + 8], rbp",
            "mov [rax + 16], r12",
            "mov [rax + 24], r13",
            "mov [rax + 32], r14",
            "mov [rax + 40], r15",
            "mov [rax + 48], r8",
            "mov [rax + 56], r9",
            "mov [rax + 64], r10",
            "pop {m}",
            "pop rbp",
            "pop rbx",
            m = inout(reg) marks.as_ptr() => _,
            o = in(reg) regs.as_mut_ptr(),
            out("rax") _, out("rcx") _, out("rdx") _, out("r8") _, out("r9") _,
            out("r10") _, out("r11") _, out("r12") _, out("r13") _, out("r14") _,
            out("r15") _,
        );
    }
    t.expect_eq(
        "a system call preserves rbx, rbp, r8-r10, r12-r15",
        regs,
        marks,
    );
}

fn tick(t: &mut Tally) {
    let Ok(before) = syscall::clock() else {
        return t.check("clock", Err(format_args!("clock failed")));
    };
    let start = syscall::rdtsc();
    while syscall::rdtsc() - start < before.tsc_hz {
        core::hint::spin_loop();
    }
    let Ok(after) = syscall::clock() else {
        return t.check("clock", Err(format_args!("clock failed")));
    };
    let advanced = after.jiffies - before.jiffies;
    let hz = before.hz;
    if advanced * 10 >= hz * 9 && advanced * 10 <= hz * 11 {
        t.check("jiffies advance by HZ in one second of TSC", Ok(()));
    } else {
        t.check(
            "jiffies advance by HZ in one second of TSC",
            Err(format_args!("advanced {advanced}, HZ is {hz}")),
        );
    }
}
