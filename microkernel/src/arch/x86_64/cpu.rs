//! Control bits the kernel relies on, set by the kernel itself rather than
//! trusted from the loader: no-execute pages (EFER.NXE), write protection in
//! ring 0 (CR0.WP), and, when the CPU has them, SMEP (the kernel never
//! executes user pages) and SMAP (the kernel touches user pages only inside
//! an explicit `stac`/`clac` bracket).

use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};

/// Which protections `init` turned on.
#[derive(Clone, Copy, Debug)]
pub struct Protections {
    pub smep: bool,
    pub smap: bool,
}

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
    // kernel writes no read-only page, and no user pages exist yet.
    unsafe {
        Efer::update(|f| *f |= EferFlags::NO_EXECUTE_ENABLE);
        Cr0::update(|f| *f |= Cr0Flags::WRITE_PROTECT);
        Cr4::update(|f| {
            if smep {
                *f |= Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION;
            }
            if smap {
                *f |= Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION;
            }
        });
    }
    Protections { smep, smap }
}
