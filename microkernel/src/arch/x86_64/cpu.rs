//! Control bits the kernel relies on, set by the kernel itself rather than
//! trusted from the loader: no-execute pages (EFER.NXE), write protection in
//! ring 0 (CR0.WP), global pages (CR4.PGE, so kernel TLB entries survive a
//! CR3 reload), and, when the CPU has them, SMEP (the kernel never executes
//! user pages) and SMAP (the kernel touches user pages only inside an
//! explicit `stac`/`clac` bracket, see `usercopy.rs`).
//!
//! No x87/SSE state is ever used: kernel and user programs are built for
//! the soft-float `x86_64-unknown-none` target. So that no program can use
//! (or read another's) FPU or vector registers by hand-written assembly,
//! CR0.EM is set and CR4.OSFXSR/OSXMMEXCPT are cleared: every x87 or SSE
//! instruction then raises #NM or #UD, which kills the process.

use core::sync::atomic::{AtomicBool, Ordering};

use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};

/// Which protections `init` turned on.
#[derive(Clone, Copy, Debug)]
pub struct Protections {
    pub smep: bool,
    pub smap: bool,
}

static SMEP: AtomicBool = AtomicBool::new(false);
static SMAP: AtomicBool = AtomicBool::new(false);

/// CPUID leaf 7's feature bits (0 when the CPU has no leaf 7).
fn cpuid_leaf7_ebx() -> u32 {
    if core::arch::x86_64::__cpuid(0).eax < 7 {
        return 0;
    }
    core::arch::x86_64::__cpuid_count(7, 0).ebx
}

pub fn init() -> Protections {
    let ebx = cpuid_leaf7_ebx();
    let smep = ebx & (1 << 7) != 0;
    let smap = ebx & (1 << 20) != 0;
    // SAFETY: these bits only restrict what the kernel may do: the page
    // tables already carry NX bits (the loader needed NXE for them), the
    // kernel writes no read-only page, no user pages exist yet, and the
    // kernel itself has no x87/SSE code (soft-float target).
    unsafe {
        Efer::update(|f| *f |= EferFlags::NO_EXECUTE_ENABLE);
        Cr0::update(|f| {
            *f |= Cr0Flags::WRITE_PROTECT
                | Cr0Flags::EMULATE_COPROCESSOR
                | Cr0Flags::MONITOR_COPROCESSOR;
        });
        Cr4::update(|f| {
            *f |= Cr4Flags::PAGE_GLOBAL;
            f.remove(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE);
            if smep {
                *f |= Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION;
            }
            if smap {
                *f |= Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION;
            }
        });
    }
    SMEP.store(smep, Ordering::Relaxed);
    SMAP.store(smap, Ordering::Relaxed);
    Protections { smep, smap }
}

/// What `init` turned on.
pub fn protections() -> Protections {
    Protections {
        smep: SMEP.load(Ordering::Relaxed),
        smap: SMAP.load(Ordering::Relaxed),
    }
}

/// Moves onto the stack whose top is `top` and calls `f(arg)` there.
///
/// # Safety
/// `top` must be the 16-byte-aligned top of a mapped stack nothing else
/// uses; `f` never returns, so the old stack is abandoned.
pub unsafe fn switch_stack(top: u64, f: extern "C" fn(u64) -> !, arg: u64) -> ! {
    // SAFETY: per the contract; the zero pushed as a return address ends
    // backtraces there.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "xor ebp, ebp",
            "push 0",
            "jmp {f}",
            top = in(reg) top,
            f = in(reg) f,
            in("rdi") arg,
            options(noreturn)
        )
    }
}

/// The FS base last loaded (user threads' thread-local pointer; the kernel
/// itself does not use FS).
static USER_FS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Loads `base` (a canonical user address or 0) as the FS base, unless it
/// is loaded already: a `wrmsr` only when switching between threads with
/// different thread-local blocks.
#[inline]
pub fn set_user_fs(base: u64) {
    if USER_FS.swap(base, Ordering::Relaxed) != base {
        // `base` is canonical (callers check `tls_set`'s argument);
        // the kernel does not address through FS.
        x86_64::registers::model_specific::FsBase::write(x86_64::VirtAddr::new_truncate(base));
    }
}

/// Stops this CPU for good.
pub fn halt() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
