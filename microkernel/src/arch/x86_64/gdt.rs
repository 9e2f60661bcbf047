//! The global descriptor table and the task-state segment.
//!
//! Layout (the order SYSCALL/SYSRET require: user data right below user code):
//! 0x08 kernel code, 0x10 kernel data, 0x18 user data, 0x20 user code, 0x28
//! the TSS. The TSS gives the double fault, NMI and machine check their own
//! stacks (IST 1–3), so that they run even when the kernel stack is broken,
//! and gives ring 3 → ring 0 transitions their kernel stack (RSP0).
//!
//! The TSS is followed by an I/O permission bitmap (one bit per port, set =
//! denied, and a final all-ones byte), so that a process can be given
//! exactly the ports its handles allow. A process that was granted none
//! runs with the bitmap's base past the TSS's limit: every port denied.
//! Switching between processes copies the next one's bitmap in (only when
//! it differs from the one loaded).

use core::sync::atomic::{AtomicU32, Ordering};

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

/// The TSS and the I/O permission bitmap that follows it.
#[repr(C, packed(4))]
struct TssWithBitmap {
    tss: TaskStateSegment,
    bitmap: [u8; 8192],
    /// The CPU reads one byte past the bitmap: it must be all ones.
    end: u8,
}

const TSS_SIZE: usize = core::mem::size_of::<TssWithBitmap>();
/// The bitmap's offset from the TSS's base.
const BITMAP_OFFSET: u16 = core::mem::size_of::<TaskStateSegment>() as u16;

/// The TSS: written by `init`, then only RSP0 (`set_kernel_stack`) and the
/// bitmap (`load_io_bitmap`).
static mut TSS: TssWithBitmap = TssWithBitmap {
    tss: TaskStateSegment::new(),
    bitmap: [0xff; 8192],
    end: 0xff,
};
/// The pid whose bitmap is loaded (0: none, every port denied).
static LOADED_BITMAP: AtomicU32 = AtomicU32::new(0);
static GDT: Once<(GlobalDescriptorTable, Selectors)> = Once::new();

/// Loads the GDT and TSS and reloads every segment register.
pub fn init() -> &'static Selectors {
    // SAFETY: only the address is taken; boot time, one CPU.
    let tss = unsafe { core::ptr::addr_of_mut!(TSS.tss) };
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
        let tss = gdt.append(tss_descriptor());
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

/// The 16-byte system descriptor of the TSS, its limit covering the
/// bitmap (Intel SDM vol. 3, 8.2.3). The x86_64 crate's own helper sizes
/// the limit for the TSS alone.
fn tss_descriptor() -> Descriptor {
    let base = core::ptr::addr_of!(TSS) as u64;
    let limit = TSS_SIZE as u64 - 1;
    let mut low = limit & 0xffff;
    low |= (base & 0xff_ffff) << 16;
    low |= 0x89 << 40; // present, type 9: available 64-bit TSS
    low |= ((limit >> 16) & 0xf) << 48;
    low |= ((base >> 24) & 0xff) << 56;
    Descriptor::SystemSegment(low, base >> 32)
}

/// The I/O permission bitmap of a process that has been granted ports: a
/// set bit denies the port (the TSS's convention).
pub type IoBitmap = [u8; 8192];

/// Makes the TSS's I/O map the one of `key` (a process's pid once it has
/// been granted ports, 0 for a process with none: every port denied),
/// unless it is already: called on every switch to a process. A switch
/// between processes with no ports changes nothing, and looks at no
/// bitmap.
#[inline(always)]
pub fn load_io_bitmap(key: u32, bitmap: &spin::Mutex<Option<alloc::boxed::Box<IoBitmap>>>) {
    if LOADED_BITMAP.load(Ordering::Relaxed) == key {
        return;
    }
    if key == 0 {
        deny_all();
    } else {
        reload_io_bitmap(key, bitmap);
    }
}

/// Process `owner` is gone: if its bitmap is the one loaded, every port
/// is denied from now on.
pub fn forget_io_bitmap(owner: u32) {
    if LOADED_BITMAP.load(Ordering::Relaxed) == owner {
        deny_all();
    }
}

fn deny_all() {
    let tss = core::ptr::addr_of_mut!(TSS);
    // SAFETY: one CPU, interrupts disabled: the CPU reads the I/O map base
    // only for an I/O instruction in user mode, which cannot run meanwhile.
    unsafe { (*tss).tss.iomap_base = TSS_SIZE as u16 };
    LOADED_BITMAP.store(0, Ordering::Relaxed);
}

/// Copies process `owner`'s bitmap into the TSS (after a grant changed
/// it), or denies every port if it has none.
pub fn reload_io_bitmap(owner: u32, bitmap: &spin::Mutex<Option<alloc::boxed::Box<IoBitmap>>>) {
    let bitmap = bitmap.lock();
    let tss = core::ptr::addr_of_mut!(TSS);
    // SAFETY: one CPU, interrupts disabled: the CPU reads the bitmap only
    // for an I/O instruction in user mode, which cannot run meanwhile.
    unsafe {
        match bitmap.as_deref() {
            Some(bits) => {
                (*tss).bitmap = *bits;
                (*tss).tss.iomap_base = BITMAP_OFFSET;
            }
            None => (*tss).tss.iomap_base = TSS_SIZE as u16,
        }
    }
    LOADED_BITMAP.store(owner, Ordering::Relaxed);
}

/// Sets RSP0: the stack the CPU switches to on an interrupt or exception
/// from user mode (the top of the current thread's kernel stack).
pub fn set_kernel_stack(top: u64) {
    // SAFETY: one CPU, interrupts disabled: nothing else writes the TSS,
    // and the CPU reads RSP0 only on a ring change, which cannot happen
    // during this store.
    unsafe { (*core::ptr::addr_of_mut!(TSS.tss)).privilege_stack_table[0] = VirtAddr::new(top) };
}
