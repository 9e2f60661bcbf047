//! Exceptions and signals from user space: typed wrappers for the calls
//! of [`crate::abi::exception`], the [`Exception`] a handler receives and
//! the [`Verdict`] it answers with, and the `sigreturn` restorer a signal
//! handler returns into.
//!
//! A handler (a test today, the process server later) owns an endpoint
//! set with [`set_endpoint`] on the processes it manages; each received
//! message with label `LABEL_EXCEPTION` is an [`Exception`]. To resume
//! with changed registers it writes them ([`set_regs`], on a thread handle
//! with MANAGE) before it replies [`Verdict::Resume`]; to run a signal
//! handler instead it calls [`deliver_signal`] and then resumes; to kill
//! it replies [`Verdict::Kill`].

use crate::abi::exception::{
    ExceptionMessage, UserRegs, EXCEPTION_KILL, EXCEPTION_RESUME, LABEL_EXCEPTION, SIGINFO_WORDS,
    SIGNAL_FRAME_REGS, USER_REGS_WORDS,
};
use crate::abi::{SysError, Syscall};
use crate::handle::{Endpoint, Process, Thread};
use crate::ipc::{Message, Received};
use crate::syscall::call6;

/// A signal handler: `(signo, info, interrupted registers)`. It may
/// change the registers; `sigreturn` validates them.
pub type Handler = extern "C" fn(u64, &[u64; SIGINFO_WORDS], &mut UserRegs);

/// Sends `process`'s user exceptions to `endpoint` (with its badge), or
/// nowhere (`None`: they kill it). Needs MANAGE on the process.
pub fn set_endpoint(process: &Process, endpoint: Option<&Endpoint>) -> Result<(), SysError> {
    let ep = endpoint.map_or(0, |e| u64::from(e.raw().0));
    call6(
        Syscall::ExceptionSet,
        [u64::from(process.raw().0), ep, 0, 0, 0, 0],
    )
    .map(|_| ())
}

/// Stops `thread` the next time it would return to user mode.
pub fn suspend(thread: &Thread) -> Result<(), SysError> {
    call6(
        Syscall::ThreadSuspend,
        [u64::from(thread.raw().0), 0, 0, 0, 0, 0],
    )
    .map(|_| ())
}

/// Lets a suspended `thread` go on.
pub fn resume(thread: &Thread) -> Result<(), SysError> {
    call6(
        Syscall::ThreadResume,
        [u64::from(thread.raw().0), 0, 0, 0, 0, 0],
    )
    .map(|_| ())
}

/// A stopped thread's registers (`WouldBlock` if it has not stopped yet).
pub fn regs(thread: &Thread) -> Result<UserRegs, SysError> {
    let mut words = [0u64; USER_REGS_WORDS];
    call6(
        Syscall::ThreadRegsRead,
        [
            u64::from(thread.raw().0),
            words.as_mut_ptr() as u64,
            0,
            0,
            0,
            0,
        ],
    )?;
    Ok(UserRegs::from_words(&words))
}

/// Sets a stopped thread's registers (`InvalidArgument` if they fail
/// `UserRegs::validate`, `WouldBlock` if it has not stopped).
pub fn set_regs(thread: &Thread, regs: &UserRegs) -> Result<(), SysError> {
    let words = regs.to_words();
    call6(
        Syscall::ThreadRegsWrite,
        [u64::from(thread.raw().0), words.as_ptr() as u64, 0, 0, 0, 0],
    )
    .map(|_| ())
}

/// Makes `thread` run `handler(signo, info, regs)` the next time it
/// returns to user mode; the handler's return goes through [`restorer`]
/// (`sigreturn`). `Exists` if one is pending already.
pub fn deliver_signal(
    thread: &Thread,
    handler: Handler,
    signo: u64,
    info: &[u64; SIGINFO_WORDS],
) -> Result<(), SysError> {
    deliver_signal_at(thread, handler as usize as u64, restorer(), signo, info)
}

/// [`deliver_signal`] for a handler in another process's address space
/// (the process server delivering a program's handler): `handler` and
/// `restorer` are that program's addresses, which the kernel checks when
/// it enters them (a bad one faults in the program, not here).
pub fn deliver_signal_at(
    thread: &Thread,
    handler: u64,
    restorer: u64,
    signo: u64,
    info: &[u64; SIGINFO_WORDS],
) -> Result<(), SysError> {
    call6(
        Syscall::SignalDeliver,
        [
            u64::from(thread.raw().0),
            handler,
            restorer,
            signo,
            info.as_ptr() as u64,
            0,
        ],
    )
    .map(|_| ())
}

core::arch::global_asm!(
    ".section .text",
    ".global libsys_sigreturn_restorer",
    "libsys_sigreturn_restorer:",
    // The handler's `ret` popped the frame's first word: the saved
    // registers are `SIGNAL_FRAME_REGS - 8` above.
    "lea rdi, [rsp + {regs}]",
    "mov eax, {sigreturn}",
    "syscall",
    // Only a refused frame comes back here.
    "ud2",
    regs = const SIGNAL_FRAME_REGS - 8,
    sigreturn = const Syscall::Sigreturn as u32,
);

unsafe extern "C" {
    fn libsys_sigreturn_restorer();
}

/// The address of the `sigreturn` trampoline a handler returns into.
pub fn restorer() -> u64 {
    libsys_sigreturn_restorer as *const () as u64
}

/// A user exception, as its handler received it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exception {
    /// The badge of the endpoint handle given to `exception_set`.
    pub badge: u64,
    pub message: ExceptionMessage,
}

impl Exception {
    /// The exception in `received`, if it is one.
    pub fn from_received(received: &Received) -> Option<Exception> {
        (received.msg.label() == LABEL_EXCEPTION).then(|| Exception {
            badge: received.badge,
            message: ExceptionMessage::from_words(&received.msg.words),
        })
    }
}

/// The answer to an exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Run the thread on from its registers (as written meanwhile).
    Resume,
    /// Kill its process.
    Kill,
}

impl Verdict {
    /// The reply message carrying this verdict.
    pub fn message(self) -> Message {
        Message::new(match self {
            Verdict::Resume => EXCEPTION_RESUME,
            Verdict::Kill => EXCEPTION_KILL,
        })
    }

    /// Replies to the exception just received (`PeerDied` if the thread
    /// is gone).
    pub fn reply(self) -> Result<(), SysError> {
        crate::ipc::reply(&self.message())
    }
}

/// Instructions that raise one exception each, for tests and benchmarks
/// of a handler (user programs have no `unsafe` to write them). Each puts
/// `value` in RAX, raises its exception, and returns RAX as the thread
/// resumes with it: a handler that resumes must move RIP past the
/// faulting instruction (by the `*_LEN` given; a breakpoint's RIP is past
/// it already) and may change RAX, and nothing else.
pub mod probe {
    use core::arch::asm;

    /// Bytes of `div rcx` (the divide error's instruction).
    pub const DIVIDE_LEN: u64 = 3;
    /// Bytes of `ud2`.
    pub const UD2_LEN: u64 = 2;
    /// Bytes of `hlt` (a general-protection fault in user mode).
    pub const HLT_LEN: u64 = 1;
    /// Bytes of `mov rax, [rdi]` (a load that may page-fault).
    pub const LOAD_LEN: u64 = 3;

    /// `div` by zero (vector 0).
    pub fn divide_error(value: u64) -> u64 {
        let out;
        // SAFETY: per the module contract, the thread comes back only with
        // RIP after the `div` and at most RAX changed; RDX and RCX are
        // declared clobbered.
        unsafe {
            asm!(
                "xor edx, edx",
                "xor ecx, ecx",
                ".byte 0x48, 0xf7, 0xf1", // div rcx
                inlateout("rax") value => out,
                out("rcx") _,
                out("rdx") _,
                options(nostack),
            )
        };
        out
    }

    /// `int3` (vector 3).
    pub fn breakpoint(value: u64) -> u64 {
        let out;
        // SAFETY: as in `divide_error`.
        unsafe { asm!("int3", inlateout("rax") value => out, options(nostack)) };
        out
    }

    /// `ud2` (vector 6).
    pub fn invalid_opcode(value: u64) -> u64 {
        let out;
        // SAFETY: as in `divide_error`.
        unsafe { asm!("ud2", inlateout("rax") value => out, options(nostack)) };
        out
    }

    /// `hlt` in ring 3: a general-protection fault (vector 13).
    pub fn general_protection(value: u64) -> u64 {
        let out;
        // SAFETY: as in `divide_error`.
        unsafe { asm!("hlt", inlateout("rax") value => out, options(nostack)) };
        out
    }

    /// A load from `address` (a page fault there if it is not mapped and
    /// the pager refuses it).
    pub fn load(address: u64) -> u64 {
        let out;
        // SAFETY: as in `divide_error`; the load only reads.
        unsafe {
            asm!(
                ".byte 0x48, 0x8b, 0x07", // mov rax, [rdi]
                in("rdi") address,
                out("rax") out,
                options(nostack, readonly),
            )
        };
        out
    }

    /// Loads a pattern into RCX, RDX, RSI, RDI and R8–R11, spins while RAX
    /// is 0 (a controller stops it by writing RAX), and checks the pattern
    /// is intact: returns (RAX, whether every register held). For tests of
    /// suspension, register writes and signal upcalls.
    pub fn spin_with_pattern() -> (u64, bool) {
        let (value, bad): (u64, u64);
        // SAFETY: registers only; every one it writes is declared.
        unsafe {
            asm!(
                "mov rcx, 0x71010101",
                "mov rdx, 0x72020202",
                "mov rsi, 0x73030303",
                "mov rdi, 0x74040404",
                "mov r8, 0x75050505",
                "mov r9, 0x76060606",
                "mov r10, 0x77070707",
                "mov r11, 0x78080808",
                "xor eax, eax",
                "2:",
                "pause",
                "test rax, rax",
                "jz 2b",
                "xor r12d, r12d",
                "cmp rcx, 0x71010101",
                "setne r12b",
                "cmp rdx, 0x72020202",
                "setne cl",
                "or r12b, cl",
                "cmp rsi, 0x73030303",
                "setne cl",
                "or r12b, cl",
                "cmp rdi, 0x74040404",
                "setne cl",
                "or r12b, cl",
                "cmp r8, 0x75050505",
                "setne cl",
                "or r12b, cl",
                "cmp r9, 0x76060606",
                "setne cl",
                "or r12b, cl",
                "cmp r10, 0x77070707",
                "setne cl",
                "or r12b, cl",
                "cmp r11, 0x78080808",
                "setne cl",
                "or r12b, cl",
                "movzx ecx, r12b",
                out("rax") value,
                out("rcx") bad,
                out("r12") _,
                out("rdx") _,
                out("rsi") _,
                out("rdi") _,
                out("r8") _,
                out("r9") _,
                out("r10") _,
                out("r11") _,
                options(nostack),
            )
        };
        (value, bad == 0)
    }
}
