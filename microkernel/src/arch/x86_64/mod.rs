//! x86_64: descriptor tables, trap entry, control-register setup.

pub mod cpu;
pub mod gdt;
pub mod idt;
pub mod trap;
