//! The system-call instruction: the only assembly in user space.
//!
//! `raw::syscallN` put the number in `rax` and the arguments in `rdi`, `rsi`,
//! `rdx`, `r10`, `r8`, `r9` (see [`crate::abi`]); the kernel answers with a
//! status in `rax` and a value in `rdx`, and `syscall` itself clobbers `rcx`
//! (the return address) and `r11` (the flags). `raw::ipc` is the IPC calls'
//! wider register set ([`crate::abi::ipc`]). The typed wrappers below are
//! what programs use; `raw` is public for tests that must pass the kernel
//! arguments no wrapper would.

use crate::abi::{decode_result, ClockInfo, LogLevel, SysError, Syscall};

pub mod raw {
    use core::arch::asm;

    /// The two result registers: (status, value).
    pub type Raw = (u64, u64);

    /// # Safety
    /// The kernel checks every argument, so no call can harm the kernel;
    /// but a call can change this process's own memory (or end it), which
    /// the caller must be ready for.
    #[inline(always)]
    pub unsafe fn syscall6(n: u64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> Raw {
        let (status, value);
        // SAFETY: per the contract above; the clobbers are the ABI's.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") n => status,
                in("rdi") a0,
                in("rsi") a1,
                inlateout("rdx") a2 => value,
                in("r10") a3,
                in("r8") a4,
                in("r9") a5,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            )
        };
        (status, value)
    }

    /// The registers of an IPC call, in and out.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct IpcRegs {
        /// `rsi`: the message info.
        pub info: u64,
        /// `rdx`: the timeout in, the badge out.
        pub rdx: u64,
        /// `r10`, `r8`, `r9`, `r12`, `r13`, `r14`.
        pub words: [u64; 6],
    }

    /// An IPC call (`n` is `Send` … `ReplyRecv`) on `handle`; returns the
    /// status and the registers the kernel left.
    ///
    /// # Safety
    /// As [`syscall6`]; a received payload lands in the thread's IPC
    /// buffer, which the caller must not be holding a reference into.
    #[inline(always)]
    pub unsafe fn ipc(n: u64, handle: u64, regs: IpcRegs) -> (u64, IpcRegs) {
        let status;
        let mut out = regs;
        // SAFETY: per the contract; every register the kernel writes is an
        // output, and rdi comes back as it went.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") n => status,
                in("rdi") handle,
                inlateout("rsi") out.info,
                inlateout("rdx") out.rdx,
                inlateout("r10") out.words[0],
                inlateout("r8") out.words[1],
                inlateout("r9") out.words[2],
                inlateout("r12") out.words[3],
                inlateout("r13") out.words[4],
                inlateout("r14") out.words[5],
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            )
        };
        (status, out)
    }

    /// # Safety
    /// As [`syscall6`].
    #[inline(always)]
    pub unsafe fn syscall3(n: u64, a0: u64, a1: u64, a2: u64) -> Raw {
        let (status, value);
        // SAFETY: as in `syscall6`.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") n => status,
                in("rdi") a0,
                in("rsi") a1,
                inlateout("rdx") a2 => value,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            )
        };
        (status, value)
    }

    /// # Safety
    /// As [`syscall6`].
    #[inline(always)]
    pub unsafe fn syscall1(n: u64, a0: u64) -> Raw {
        let (status, value);
        // SAFETY: as in `syscall6`.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") n => status,
                in("rdi") a0,
                lateout("rdx") value,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            )
        };
        (status, value)
    }

    /// # Safety
    /// As [`syscall6`].
    #[inline(always)]
    pub unsafe fn syscall0(n: u64) -> Raw {
        let (status, value);
        // SAFETY: as in `syscall6`.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") n => status,
                lateout("rdx") value,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack, preserves_flags),
            )
        };
        (status, value)
    }
}

#[inline(always)]
pub(crate) fn result((status, value): raw::Raw) -> Result<u64, SysError> {
    decode_result(status, value)
}

/// A system call with up to six arguments, as a `Result`.
#[inline(always)]
pub fn call6(n: Syscall, a: [u64; 6]) -> Result<u64, SysError> {
    // SAFETY: the kernel checks every argument; the typed wrappers in this
    // crate pass only what their call documents, and a call can change only
    // the caller's own memory (or other processes through handles it holds).
    result(unsafe { raw::syscall6(n as u64, a[0], a[1], a[2], a[3], a[4], a[5]) })
}

/// An IPC call (`n`: `Send` … `ReplyRecv`) on `handle` with registers as
/// given, unchecked here: for the tests that hand the kernel malformed
/// info words and handles on purpose (it must answer each with its typed
/// error). Returns the status and the registers the kernel left. Safe
/// because the one thing such a call could do to this process's memory,
/// lend it to the receiver (a grant), is refused here (`InvalidArgument`,
/// no call made); a received payload lands in the IPC buffer, into which
/// no safe code holds a reference.
pub fn ipc_unchecked(n: Syscall, handle: u64, regs: raw::IpcRegs) -> (u64, raw::IpcRegs) {
    let grant = u64::from(crate::abi::MsgInfo::GRANT_FLAGS) << 48;
    if regs.info & grant != 0 {
        return (SysError::InvalidArgument as u64, regs);
    }
    // SAFETY: no grant is lent (checked above); the IPC buffer is written
    // only while no reference into it lives (`ipc::buffer` is unsafe, and
    // the safe payload calls end their borrow before returning).
    unsafe { raw::ipc(n as u64, handle, regs) }
}

/// A system call with typed arguments: `args` encoded into the registers
/// its [`crate::abi::args`] struct maps them to (the one definition the
/// kernel decodes with).
#[inline(always)]
pub fn call_with<A: crate::abi::args::Args>(n: Syscall, args: &A) -> Result<u64, SysError> {
    let crate::abi::args::Regs(registers) = args.encode();
    call6(n, registers)
}

/// The null system call: enters the kernel and returns.
#[inline(always)]
pub fn null() -> Result<u64, SysError> {
    // SAFETY: `null` changes nothing.
    result(unsafe { raw::syscall0(Syscall::Null as u64) })
}

/// Writes `text` to the kernel log at `level`; returns the bytes logged.
pub fn log(level: LogLevel, text: &str) -> Result<usize, SysError> {
    // SAFETY: the kernel only reads the string, which is valid.
    let raw = unsafe {
        raw::syscall3(
            Syscall::Log as u64,
            level as u64,
            text.as_ptr() as u64,
            text.len() as u64,
        )
    };
    result(raw).map(|n| n as usize)
}

/// Each new kernel-log record signals bit `bit` of `notification`
/// (coalesced); `None` unbinds. How `dmesg -w` waits for new lines.
pub fn log_notify(notification: Option<crate::abi::Handle>, bit: u32) -> Result<(), SysError> {
    let notification = notification.map_or(0, |h| u64::from(h.0));
    // SAFETY: the kernel reads no memory of the caller's for this call.
    let raw = unsafe { raw::syscall3(Syscall::LogNotify as u64, notification, u64::from(bit), 0) };
    result(raw).map(|_| ())
}

/// Ends the process with `status`.
pub fn exit(status: u64) -> ! {
    // SAFETY: ending the process is what the caller asks for.
    unsafe { raw::syscall1(Syscall::Exit as u64, status) };
    unreachable!("exit returned")
}

/// Gives up the rest of the time slice.
pub fn yield_now() {
    // SAFETY: `yield` changes nothing of the caller's.
    let _ = unsafe { raw::syscall0(Syscall::Yield as u64) };
}

/// The kernel's clock: jiffies, HZ, the TSC rate and the uptime.
pub fn clock() -> Result<ClockInfo, SysError> {
    let mut info = ClockInfo::default();
    // SAFETY: the kernel writes exactly one ClockInfo into `info`.
    let raw = unsafe { raw::syscall1(Syscall::Clock as u64, &mut info as *mut ClockInfo as u64) };
    result(raw).map(|_| info)
}

/// The CPU time, threads and start time of up to
/// [`crate::abi::PROCESS_TIMES_MAX`] processes with pids above `after`,
/// in pid order (`ProcessTimes::entries`); ask again after the last pid
/// for more.
pub fn process_times(after: u64) -> Result<crate::abi::ProcessTimes, SysError> {
    let mut times = crate::abi::ProcessTimes::default();
    let args = crate::abi::args::ProcessTimesArgs {
        after,
        out: &mut times as *mut crate::abi::ProcessTimes as u64,
    };
    // The kernel writes exactly one ProcessTimes into `times`.
    call_with(Syscall::ProcessTimes, &args).map(|_| times)
}

/// Reads kernel log records from sequence number `since` into `buffer`, as
/// `/dev/kmsg`-format lines; returns the bytes written.
pub fn log_read(since: u64, buffer: &mut [u8]) -> Result<usize, SysError> {
    // SAFETY: the kernel writes at most `buffer.len()` bytes into it.
    let raw = unsafe {
        raw::syscall3(
            Syscall::LogRead as u64,
            since,
            buffer.as_mut_ptr() as u64,
            buffer.len() as u64,
        )
    };
    result(raw).map(|n| n as usize)
}

/// The time-stamp counter (user mode may read it: CR4.TSD is clear).
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` only reads the counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// A 64-bit random number from the CPU's `RDRAND` (its DRBG, reseeded
/// from its entropy source), or `None` if the CPU has none (CPUID.1:ECX
/// bit 30) or it failed ten times in a row (Intel's advice for its
/// transient underflow). User mode may execute it.
pub fn rdrand() -> Option<u64> {
    let ecx = core::arch::x86_64::__cpuid(1).ecx;
    if ecx & (1 << 30) == 0 {
        return None;
    }
    // SAFETY: the CPU has RDRAND (checked above).
    (0..10).find_map(|_| unsafe { rdrand_step() })
}

/// One `RDRAND`; callable only where the CPU has the instruction.
#[target_feature(enable = "rdrand")]
fn rdrand_step() -> Option<u64> {
    let mut value = 0;
    (core::arch::x86_64::_rdrand64_step(&mut value) == 1).then_some(value)
}
