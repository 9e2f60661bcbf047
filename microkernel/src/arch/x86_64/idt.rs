//! The interrupt descriptor table: 256 interrupt gates, each pointing at its
//! entry stub in `trap.rs`.
//!
//! A gate (Intel SDM vol. 3, 6.14.1) holds the handler's address split in
//! three, the code selector, an IST index and a type byte: present, the
//! privilege level allowed to raise it with `int n`, and type 0xE (64-bit
//! interrupt gate: IF is cleared on entry). The double fault, NMI and machine
//! check run on their own stacks (IST, see `gdt.rs`). Only `int3` may be
//! raised from ring 3; `int n` for any other vector from user space is a
//! general protection fault.

use spin::Once;
use x86_64::instructions::tables::lidt;
use x86_64::structures::DescriptorTablePointer;
use x86_64::VirtAddr;

use super::gdt;
use super::trap::stub_address;

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

const _: () = assert!(core::mem::size_of::<Gate>() == 16);

impl Gate {
    fn new(handler: u64, selector: u16, ist: Option<u16>, user: bool) -> Gate {
        const PRESENT: u8 = 0x80;
        const INTERRUPT_GATE: u8 = 0x0e;
        let dpl = if user { 3 << 5 } else { 0 };
        Gate {
            offset_low: handler as u16,
            selector,
            // The hardware's IST field counts from 1; 0 means "no IST".
            ist: ist.map_or(0, |slot| slot as u8 + 1),
            type_attr: PRESENT | dpl | INTERRUPT_GATE,
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

static IDT: Once<Idt> = Once::new();

/// Builds and loads the IDT. `code_selector` is the kernel code segment.
pub fn init(code_selector: u16) {
    let idt = IDT.call_once(|| {
        let mut gates = [Gate::default(); 256];
        for (vector, gate) in gates.iter_mut().enumerate() {
            let ist = match vector {
                2 => Some(gdt::NMI_IST),
                8 => Some(gdt::DOUBLE_FAULT_IST),
                18 => Some(gdt::MACHINE_CHECK_IST),
                _ => None,
            };
            *gate = Gate::new(stub_address(vector as u8), code_selector, ist, vector == 3);
        }
        Idt(gates)
    });
    let pointer = DescriptorTablePointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: VirtAddr::new(idt as *const Idt as u64),
    };
    // SAFETY: the table is 'static, and every gate points at a stub that
    // saves the full frame and returns with iretq.
    unsafe { lidt(&pointer) };
}
