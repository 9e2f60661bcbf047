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

static TSS: Once<TaskStateSegment> = Once::new();
static GDT: Once<(GlobalDescriptorTable, Selectors)> = Once::new();

/// Loads the GDT and TSS and reloads every segment register.
pub fn init() -> &'static Selectors {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        for (slot, stack) in [DOUBLE_FAULT_IST, NMI_IST, MACHINE_CHECK_IST]
            .into_iter()
            .enumerate()
        {
            // SAFETY: each IST stack is used by exactly one IST slot, and
            // only the CPU touches it (on the matching exception).
            let base = unsafe { core::ptr::addr_of_mut!(IST_STACKS[slot]) } as u64;
            tss.interrupt_stack_table[stack as usize] = VirtAddr::new(base + IST_STACK_SIZE as u64);
        }
        tss
    });
    let (gdt, selectors) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let kernel_code = gdt.append(Descriptor::kernel_code_segment());
        let kernel_data = gdt.append(Descriptor::kernel_data_segment());
        // SYSRET derives the user selectors from one base: user data must
        // sit right below user code (0x18, 0x20).
        gdt.append(Descriptor::user_data_segment());
        gdt.append(Descriptor::user_code_segment());
        let tss = gdt.append(Descriptor::tss_segment(tss));
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
