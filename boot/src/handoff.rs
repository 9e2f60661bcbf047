//! The jump into the kernel, in the machine state the Limine protocol
//! promises (PROTOCOL.md, "Entry machine state", x86_64):
//! a GDT with null, 16-, 32- and 64-bit code and data descriptors in that
//! order (kernel code selector 0x28, data 0x30), all segment registers
//! loaded, interrupts and the direction flag clear, CR0.WP and EFER.NXE on,
//! the legacy PICs masked, `rsp` on the kernel's stack with a 0 return
//! address pushed, and every other general-purpose register zero.

use core::arch::global_asm;

use x86_64::instructions::port::Port;
use x86_64::registers::control::{Cr0, Cr0Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};

/// The GDT the protocol describes, in order.
pub const GDT: [u64; 7] = [
    0,
    0x0000_9b00_0000_ffff, // 16-bit code, base 0, limit 0xffff
    0x0000_9300_0000_ffff, // 16-bit data
    0x00cf_9b00_0000_ffff, // 32-bit code, base 0, limit 4 GiB
    0x00cf_9300_0000_ffff, // 32-bit data
    0x00af_9b00_0000_ffff, // 64-bit code (L bit)
    0x00cf_9300_0000_ffff, // 64-bit data
];

/// Bytes from the GDT's start to where the GDTR image is stored.
pub const GDTR_OFFSET: usize = 64;

/// Writes the GDT and a GDTR image pointing at `gdt_virt` into `page`.
pub fn write_gdt(page: &mut [u8], gdt_virt: u64) {
    for (i, descriptor) in GDT.iter().enumerate() {
        page[i * 8..i * 8 + 8].copy_from_slice(&descriptor.to_le_bytes());
    }
    let limit = (GDT.len() * 8 - 1) as u16;
    page[GDTR_OFFSET..GDTR_OFFSET + 2].copy_from_slice(&limit.to_le_bytes());
    page[GDTR_OFFSET + 2..GDTR_OFFSET + 10].copy_from_slice(&gdt_virt.to_le_bytes());
}

// The trampoline runs at its identity address in both the firmware's and the
// new page tables. Arguments (System V): rdi = PML4 physical address,
// rsi = stack top (HHDM address), rdx = kernel entry, rcx = GDTR image (HHDM
// address). The far return reloads CS with the 64-bit code selector.
global_asm!(
    ".section .text",
    ".balign 64",
    ".global boot_trampoline",
    "boot_trampoline:",
    "cli",
    "cld",
    "mov cr3, rdi",
    "lgdt [rcx]",
    "mov rsp, rsi",
    "push 0x28",
    "lea rax, [rip + 2f]",
    "push rax",
    "retfq",
    "2:",
    "mov ax, 0x30",
    "mov ds, ax",
    "mov es, ax",
    "mov fs, ax",
    "mov gs, ax",
    "mov ss, ax",
    "push 0",
    "push rdx",
    "xor eax, eax",
    "xor ebx, ebx",
    "xor ecx, ecx",
    "xor edx, edx",
    "xor esi, esi",
    "xor edi, edi",
    "xor ebp, ebp",
    "xor r8d, r8d",
    "xor r9d, r9d",
    "xor r10d, r10d",
    "xor r11d, r11d",
    "xor r12d, r12d",
    "xor r13d, r13d",
    "xor r14d, r14d",
    "xor r15d, r15d",
    "ret",
    ".global boot_trampoline_end",
    "boot_trampoline_end:",
);

extern "sysv64" {
    fn boot_trampoline(pml4: u64, stack_top: u64, entry: u64, gdtr: u64) -> !;
    static boot_trampoline_end: u8;
}

/// Physical pages the trampoline occupies (it may straddle two).
pub fn trampoline_pages() -> [u64; 2] {
    let start = boot_trampoline as *const () as u64;
    let end = core::ptr::addr_of!(boot_trampoline_end) as u64;
    [start & !0xfff, (end - 1) & !0xfff]
}

/// Everything the final jump needs.
pub struct Handoff {
    pub pml4: u64,
    pub stack_top: u64,
    pub entry: u64,
    pub gdtr: u64,
}

/// Masks the PICs, sets the control bits the kernel may rely on, and jumps.
///
/// # Safety
/// Boot services must have exited, `pml4` must map the trampoline at its
/// identity address and the kernel, stack and GDT at the given addresses.
pub unsafe fn enter_kernel(handoff: &Handoff) -> ! {
    // SAFETY: writing 0xff to the PICs' data ports masks every legacy IRQ;
    // nothing else depends on the PICs once the firmware is gone.
    unsafe {
        Port::<u8>::new(0x21).write(0xff);
        Port::<u8>::new(0xa1).write(0xff);
    }
    // SAFETY: NXE must be on before tables with NX bits are loaded; WP makes
    // read-only kernel pages read-only in ring 0 too. The loader writes
    // nothing after this point.
    unsafe {
        Efer::update(|flags| *flags |= EferFlags::NO_EXECUTE_ENABLE);
        Cr0::update(|flags| *flags |= Cr0Flags::WRITE_PROTECT);
    }
    // SAFETY: the caller guarantees the tables map everything the trampoline
    // and the kernel touch.
    unsafe { boot_trampoline(handoff.pml4, handoff.stack_top, handoff.entry, handoff.gdtr) }
}
