//! Trap entry: the one place with assembly for interrupts and exceptions.
//!
//! `trap_stubs` is a table of 256 entry stubs, 16 bytes apart, one per
//! vector. Each pushes a dummy error code when the CPU does not push one
//! (so every frame has the same shape), then the vector number, and jumps to
//! `trap_common`, which saves all general-purpose registers and calls
//! `trap_dispatch` with a pointer to the complete [`TrapFrame`]; it counts
//! the vector and calls the handler the kernel set at boot
//! ([`set_handler`]: `syscall::trap`, which says what a trap means). When
//! the handler returns, the registers are restored from the frame (a
//! handler may change them) and `iretq` resumes the interrupted code. A
//! trap from user mode swaps GS on the way in and out (see `percpu.rs`).

use core::arch::global_asm;
use core::fmt;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Every register at the time of the trap, in the order the stubs push them
/// (lowest address first).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    // Pushed by the CPU.
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

impl TrapFrame {
    /// Whether the trap came from user mode (CPL 3).
    pub fn is_user_mode(&self) -> bool {
        self.cs & 3 == 3
    }
}

impl fmt::Display for TrapFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "vector {} ({}) error {:#x}",
            self.vector,
            vector_name(self.vector),
            self.error_code
        )?;
        writeln!(
            f,
            "rip {:#018x} cs {:#x} rflags {:#x} rsp {:#018x} ss {:#x}",
            self.rip, self.cs, self.rflags, self.rsp, self.ss
        )?;
        writeln!(
            f,
            "rax {:#018x} rbx {:#018x} rcx {:#018x} rdx {:#018x}",
            self.rax, self.rbx, self.rcx, self.rdx
        )?;
        writeln!(
            f,
            "rsi {:#018x} rdi {:#018x} rbp {:#018x} r8  {:#018x}",
            self.rsi, self.rdi, self.rbp, self.r8
        )?;
        writeln!(
            f,
            "r9  {:#018x} r10 {:#018x} r11 {:#018x} r12 {:#018x}",
            self.r9, self.r10, self.r11, self.r12
        )?;
        write!(
            f,
            "r13 {:#018x} r14 {:#018x} r15 {:#018x}",
            self.r13, self.r14, self.r15
        )
    }
}

/// The architectural name of an exception vector.
pub fn vector_name(vector: u64) -> &'static str {
    const NAMES: [&str; 32] = [
        "divide error",
        "debug",
        "NMI",
        "breakpoint",
        "overflow",
        "bound range exceeded",
        "invalid opcode",
        "device not available",
        "double fault",
        "coprocessor segment overrun",
        "invalid TSS",
        "segment not present",
        "stack-segment fault",
        "general protection fault",
        "page fault",
        "reserved",
        "x87 floating-point error",
        "alignment check",
        "machine check",
        "SIMD floating-point error",
        "virtualization exception",
        "control protection",
        "reserved",
        "reserved",
        "reserved",
        "reserved",
        "reserved",
        "reserved",
        "hypervisor injection",
        "VMM communication",
        "security exception",
        "reserved",
    ];
    NAMES.get(vector as usize).copied().unwrap_or("interrupt")
}

/// Bytes between two stubs in `trap_stubs`.
pub const STUB_SIZE: u64 = 16;

// Vectors 8, 10-14, 17, 21, 29 and 30 get an error code from the CPU.
global_asm!(
    ".section .text",
    ".balign 16",
    ".global trap_stubs",
    "trap_stubs:",
    ".set vector, 0",
    ".rept 256",
    ".balign 16",
    ".if (vector == 8) || ((vector >= 10) && (vector <= 14)) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)",
    "push vector",
    ".else",
    "push 0",
    "push vector",
    ".endif",
    "jmp trap_common",
    ".set vector, vector + 1",
    ".endr",
    "",
    "trap_common:",
    // From user mode (the frame's CS has RPL 3): take the kernel's GS.
    "test qword ptr [rsp + 24], 3",
    "jz 1f",
    "swapgs",
    "1:",
    push_registers!(),
    "cld",
    "mov rdi, rsp",
    "call {dispatch}",
    ".global trap_return",
    "trap_return:",
    pop_registers!(),
    "test qword ptr [rsp + 24], 3",
    "jz 2f",
    "swapgs",
    "2:",
    "add rsp, 16",
    "iretq",
    dispatch = sym trap_dispatch,
);

unsafe extern "C" {
    static trap_stubs: u8;
}

/// Address of the entry stub for `vector`.
pub fn stub_address(vector: u8) -> u64 {
    core::ptr::addr_of!(trap_stubs) as u64 + u64::from(vector) * STUB_SIZE
}

/// Counts per vector, for the self-test and later `/proc/interrupts`.
static COUNTS: [AtomicU64; 256] = [const { AtomicU64::new(0) }; 256];
/// The last frame of a breakpoint or unexpected interrupt, for the self-test.
static LAST_VECTOR: AtomicU64 = AtomicU64::new(u64::MAX);
static LAST_RBX: AtomicU64 = AtomicU64::new(0);

pub fn count(vector: u8) -> u64 {
    COUNTS[vector as usize].load(Ordering::Relaxed)
}

/// (vector, rbx) of the last trap that returned normally.
pub fn last_returned() -> (u64, u64) {
    (
        LAST_VECTOR.load(Ordering::Relaxed),
        LAST_RBX.load(Ordering::Relaxed),
    )
}

/// What the kernel does with a trap: set once at boot by the layer that
/// knows (`syscall::trap::handle`), so that this one names nothing above
/// it. Until then every trap is [`early_trap`].
static HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Sets the kernel's trap handler (called once, at boot).
pub fn set_handler(handler: fn(&mut TrapFrame)) {
    HANDLER.store(handler as usize, Ordering::Relaxed);
}

/// A trap before the kernel set its handler: nothing can be done yet.
fn early_trap(frame: &mut TrapFrame) {
    panic!(
        "{} before the kernel could take traps:\n{frame}",
        vector_name(frame.vector)
    )
}

extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    COUNTS[(frame.vector & 0xff) as usize].fetch_add(1, Ordering::Relaxed);
    let handler = HANDLER.load(Ordering::Relaxed);
    let handler: fn(&mut TrapFrame) = if handler == 0 {
        early_trap
    } else {
        // SAFETY: a non-zero HANDLER was stored by `set_handler` from a
        // `fn(&mut TrapFrame)`.
        unsafe { core::mem::transmute::<usize, fn(&mut TrapFrame)>(handler) }
    };
    handler(frame);
    LAST_VECTOR.store(frame.vector, Ordering::Relaxed);
    LAST_RBX.store(frame.rbx, Ordering::Relaxed);
}

/// Leaves the kernel for user mode with exactly the registers in `frame`,
/// through the trap exit's `iretq`. A system call whose frame the kernel
/// rewrote (a `sigreturn`, a register write while it was stopped) leaves
/// this way: `sysretq` would put the return address and flags into RCX
/// and R11 instead of the frame's values.
///
/// # Safety
/// `frame` is the current thread's user frame at the top of its kernel
/// stack (CS with RPL 3), and nothing on the stack below it is needed any
/// more: every kernel function between the entry and the caller has
/// dropped what it held, as the stack is abandoned.
pub unsafe fn leave_via_iret(frame: *mut TrapFrame) -> ! {
    // SAFETY: per the contract: the frame has `trap_return`'s layout, and
    // `trap_return` swaps to the user's GS because the frame's CS is user.
    unsafe {
        core::arch::asm!(
            "mov rsp, {frame}",
            "jmp trap_return",
            frame = in(reg) frame,
            options(noreturn),
        )
    }
}
