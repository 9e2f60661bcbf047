//! Trap entry: the one place with assembly for interrupts and exceptions.
//!
//! `trap_stubs` is a table of 256 entry stubs, 16 bytes apart, one per
//! vector. Each pushes a dummy error code when the CPU does not push one
//! (so every frame has the same shape), then the vector number, and jumps to
//! `trap_common`, which saves all general-purpose registers and calls
//! `trap_dispatch` with a pointer to the complete [`TrapFrame`]. When the
//! handler returns, the registers are restored from the frame (a handler may
//! change them) and `iretq` resumes the interrupted code. A trap from user
//! mode swaps GS on the way in and out (see `percpu.rs`).
//!
//! What a trap means depends on where it came from:
//! - an exception in user mode is the process's fault: the process is
//!   killed with one log line and the CPU moves on to another thread;
//! - an exception in the kernel is a kernel bug: an oops (registers and a
//!   backtrace), then a panic;
//! - an interrupt is handled the same from either side; if it leaves a
//!   better thread to run (the tick, a wake-up), the scheduler switches
//!   before returning. Kernel code runs with interrupts off, so an
//!   interrupt in kernel mode can only have hit the idle loop.

use core::arch::global_asm;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use super::apic;
use crate::interrupts::{IRQ_VECTOR_BASE, MAX_GSI};

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
    pub fn from_user(&self) -> bool {
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

extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    COUNTS[(frame.vector & 0xff) as usize].fetch_add(1, Ordering::Relaxed);
    let vector = frame.vector as u8;
    match vector {
        // An NMI is no one's fault; a machine check is the hardware's.
        2 => crate::printk!(Warning, "NMI (rip {:#x})", frame.rip),
        18 => oops(frame),
        // A user page fault goes to the thread's pager, if it has one.
        14 if frame.from_user() => {
            let address = x86_64::registers::control::Cr2::read_raw();
            crate::process::page_fault(frame, address);
        }
        0..=31 if frame.from_user() => crate::process::kill_current_for_fault(frame, frame.rip),
        // A breakpoint in the kernel (the self-test's) resumes after the
        // int3 instruction; the frame's rip already points there.
        3 => {}
        // Exceptions from the kernel are kernel bugs: an oops.
        0..=31 => oops(frame),
        apic::TIMER_VECTOR => {
            crate::time::tick();
            apic::eoi();
            crate::sched::tick();
            crate::timeout::expire();
        }
        // The local APIC did not mark a spurious interrupt in service: no
        // EOI. A stray from the (masked) PICs needs none from the APIC.
        apic::SPURIOUS_VECTOR | 0x20..=0x2f => {}
        v if (v as u32) >= IRQ_VECTOR_BASE as u32
            && (v as u32) < IRQ_VECTOR_BASE as u32 + MAX_GSI =>
        {
            // Masked and forwarded to the bound drivers (irq.rs), then EOI.
            crate::irq::interrupt(u32::from(v - IRQ_VECTOR_BASE));
            apic::eoi();
        }
        // Raised by software (`int n`), which the self-test does.
        _ => {}
    }
    LAST_VECTOR.store(frame.vector, Ordering::Relaxed);
    LAST_RBX.store(frame.rbx, Ordering::Relaxed);
    // Preempt: a user thread, or the idle loop (interrupts on in the kernel).
    if frame.from_user() || frame.rflags & (1 << 9) != 0 {
        crate::sched::preempt_point();
    }
    // A thread killed while it was away exits instead of returning.
    if frame.from_user() {
        crate::process::exit_if_killed();
    }
}

fn oops(frame: &TrapFrame) -> ! {
    let cr2 = x86_64::registers::control::Cr2::read_raw();
    crate::serial::emergency_print(format_args!(
        "KERNEL OOPS: {}\n{frame}\ncr2 {cr2:#018x}\n",
        vector_name(frame.vector)
    ));
    if let Some((name, tid)) = crate::sched::current_name_and_tid() {
        crate::serial::emergency_print(format_args!("in thread {name} (tid {tid})\n"));
    }
    crate::panic::backtrace_from(frame.rbp, frame.rip);
    panic!(
        "{} in the kernel at {:#x}",
        vector_name(frame.vector),
        frame.rip
    )
}
