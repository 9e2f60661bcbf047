//! The `syscall` instruction's entry and exit: the one place with assembly
//! for system calls in the kernel (the user side is in `libsys`).
//!
//! `syscall` loads RIP from LSTAR and CS/SS from STAR, saves the user RIP in
//! RCX and RFLAGS in R11, clears the RFLAGS bits in FMASK (IF among them:
//! the kernel runs with interrupts off) and does nothing else: the stack is
//! still the user's. The entry swaps to the kernel's GS, parks the user RSP
//! in the per-CPU area, moves to the current thread's kernel stack and
//! builds the same [`TrapFrame`] an interrupt from user mode would (vector
//! [`SYSCALL_VECTOR`]), so a thread's user registers always sit at the top
//! of its kernel stack whichever way it entered. The dispatcher the kernel
//! gave [`init`] (`syscall::dispatch`, a layer above) decodes the
//! arguments from the frame and writes the results into it; the entry
//! calls it through [`SYSCALL_HANDLER`] (one `call` through memory, as
//! cheap as a direct one).
//!
//! The exit restores the registers from the frame and leaves with `sysretq`
//! — unless the frame's RIP is not a canonical user address (the kernel
//! changed it), since `sysretq` to a non-canonical RIP faults in ring 0 on
//! Intel CPUs; then it leaves through `iretq`, which faults in ring 3.

use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::structures::gdt::SegmentSelector;
use x86_64::VirtAddr;

use super::gdt::Selectors;
use super::percpu::{KERNEL_RSP, USER_RSP};
use super::trap::TrapFrame;

/// The `vector` a system call's frame carries (above every real vector).
pub const SYSCALL_VECTOR: u64 = 0x100;

global_asm!(
    ".section .text",
    ".global syscall_entry",
    ".balign 16",
    "syscall_entry:",
    "swapgs",
    "mov gs:[{user_rsp}], rsp",
    "mov rsp, gs:[{kernel_rsp}]",
    "push {user_ss}",
    "push qword ptr gs:[{user_rsp}]",
    "push r11",
    "push {user_cs}",
    "push rcx",
    "push 0",
    "push {vector}",
    push_registers!(),
    "mov rdi, rsp",
    "call qword ptr [rip + {handler}]",
    pop_registers!(),
    "add rsp, 16",
    // rsp -> rip, cs, rflags, rsp, ss. sysretq only to a canonical user RIP.
    "mov rcx, [rsp]",
    "mov r11, rcx",
    "shr r11, 47",
    "jnz 1f",
    "mov r11, [rsp + 16]",
    "mov rsp, [rsp + 24]",
    "swapgs",
    "sysretq",
    "1:",
    "swapgs",
    "iretq",
    user_rsp = const USER_RSP,
    kernel_rsp = const KERNEL_RSP,
    user_ss = const 0x1b,
    user_cs = const 0x23,
    vector = const SYSCALL_VECTOR,
    handler = sym SYSCALL_HANDLER,
);

/// The system-call dispatcher `init` was given, called by the entry with
/// the frame. Written once at boot, before `syscall` is enabled.
static SYSCALL_HANDLER: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" {
    fn syscall_entry();
}

/// Programs the MSRs: SYSCALL enters at `syscall_entry` with the kernel's
/// selectors, SYSRET returns with the user's, and FMASK clears IF (no
/// interrupts in the kernel), DF (the ABI's direction), TF (no single-step
/// into the kernel), AC (SMAP stays armed) and NT. Every `syscall` from
/// then on calls `dispatch` with the caller's registers.
pub fn init(selectors: &Selectors, dispatch: extern "C" fn(&mut TrapFrame)) {
    SYSCALL_HANDLER.store(dispatch as usize as u64, Ordering::Relaxed);
    // STAR's SYSRET base is the selector 16 below user code: user data is
    // at base + 8, user code at base + 16 (see gdt.rs).
    let user_code = SegmentSelector(0x23);
    let user_data = SegmentSelector(0x1b);
    Star::write(
        user_code,
        user_data,
        selectors.kernel_code,
        selectors.kernel_data,
    )
    .expect("the GDT's selectors are in the order SYSCALL/SYSRET require");
    LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
    SFMask::write(
        RFlags::INTERRUPT_FLAG
            | RFlags::DIRECTION_FLAG
            | RFlags::TRAP_FLAG
            | RFlags::ALIGNMENT_CHECK
            | RFlags::NESTED_TASK,
    );
    // SAFETY: the MSRs above are set, so `syscall` lands in the entry.
    unsafe { Efer::update(|f| *f |= EferFlags::SYSTEM_CALL_EXTENSIONS) };
}
