//! x86_64: descriptor tables, trap entry, control-register setup.

pub mod apic;
pub mod cpu;
pub mod gdt;
pub mod idt;
pub mod ioapic;
pub mod percpu;
pub mod pic;
pub mod pit;
pub mod switch;
pub mod syscall;
pub mod trap;
