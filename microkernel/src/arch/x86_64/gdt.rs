//! The global descriptor table and the task-state segment.
//!
//! Layout (the order SYSCALL/SYSRET require: user data right below user code):
//! 0x08 kernel code, 0x10 kernel data, 0x18 user data, 0x20 user code, 0x28
//! the TSS. The TSS gives the double fault, NMI and machine check their own
//! stacks (IST 1–3), so that they run even when the kernel stack is broken,
//! and will give ring 3 → ring 0 transitions their kernel stack (RSP0).

use spin::Once;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

/// IST slots (the IDT entry's "stack index" is this value).
pub const DOUBLE_FAULT_IST: u16 = 0;
pub const NMI_IST: u16 = 1;
pub const MACHINE_CHECK_IST: u16 = 2;

const IST_STACK_SIZE: usize = 16 * 1024;

/// A stack only the CPU uses (on an IST exception); the kernel never reads it.
#[repr(align(16))]
struct Stack(#[allow(dead_code)] [u8; IST_STACK_SIZE]);

static mut IST_STACKS: [Stack; 3] = [const { Stack([0; IST_STACK_SIZE]) }; 3];

pub struct Selectors {
    pub kernel_code: SegmentSelector,
    pub kernel_data: SegmentSelector,
    pub tss: SegmentSelector,
}

/// The TSS: written by `init`, then only its RSP0 (by `set_kernel_stack`).
static mut TSS: TaskStateSegment = TaskStateSegment::new();
static GDT: Once<(GlobalDescriptorTable, Selectors)> = Once::new();

/// Loads the GDT and TSS and reloads every segment register.
pub fn init() -> &'static Selectors {
    let tss = core::ptr::addr_of_mut!(TSS);
    for (slot, stack) in [DOUBLE_FAULT_IST, NMI_IST, MACHINE_CHECK_IST]
        .into_iter()
        .enumerate()
    {
        // SAFETY: each IST stack is used by exactly one IST slot, and only
        // the CPU touches it (on the matching exception). The TSS is not
        // loaded yet, so nothing reads it meanwhile.
        unsafe {
            let base = core::ptr::addr_of_mut!(IST_STACKS[slot]) as u64;
            (*tss).interrupt_stack_table[stack as usize] =
                VirtAddr::new(base + IST_STACK_SIZE as u64);
        }
    }
    let (gdt, selectors) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let kernel_code = gdt.append(Descriptor::kernel_code_segment());
        let kernel_data = gdt.append(Descriptor::kernel_data_segment());
        // SYSRET derives the user selectors from one base: user data must
        // sit right below user code (0x18, 0x20).
        gdt.append(Descriptor::user_data_segment());
        gdt.append(Descriptor::user_code_segment());
        // SAFETY: the TSS is a static that lives for good; the kernel
        // writes only RSP0 after this, which the CPU reads on a ring change.
        let tss = gdt.append(unsafe { Descriptor::tss_segment_unchecked(tss) });
        let selectors = Selectors {
            kernel_code,
            kernel_data,
            tss,
        };
        (gdt, selectors)
    });
    gdt.load();
    // SAFETY: the selectors index the GDT just loaded, with the types the
    // registers need; the TSS descriptor is loaded exactly once.
    unsafe {
        CS::set_reg(selectors.kernel_code);
        SS::set_reg(selectors.kernel_data);
        DS::set_reg(SegmentSelector(0));
        ES::set_reg(SegmentSelector(0));
        load_tss(selectors.tss);
    }
    selectors
}

/// Sets RSP0: the stack the CPU switches to on an interrupt or exception
/// from user mode (the top of the current thread's kernel stack).
pub fn set_kernel_stack(top: u64) {
    // SAFETY: one CPU, interrupts disabled: nothing else writes the TSS,
    // and the CPU reads RSP0 only on a ring change, which cannot happen
    // during this store.
    unsafe { (*core::ptr::addr_of_mut!(TSS)).privilege_stack_table[0] = VirtAddr::new(top) };
}
