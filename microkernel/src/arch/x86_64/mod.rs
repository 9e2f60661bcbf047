//! x86_64: descriptor tables, trap entry, control-register setup.

/// Assembly that pushes the fifteen general registers in [`trap::TrapFrame`]
/// order (rax first, so r15 ends lowest), shared by the trap stubs and the
/// `syscall` entry.
macro_rules! push_registers {
    () => {
        "push rax\npush rbx\npush rcx\npush rdx\npush rsi\npush rdi\npush rbp\npush r8\n\
         push r9\npush r10\npush r11\npush r12\npush r13\npush r14\npush r15"
    };
}

/// Assembly that pops what [`push_registers`] pushed.
macro_rules! pop_registers {
    () => {
        "pop r15\npop r14\npop r13\npop r12\npop r11\npop r10\npop r9\npop r8\n\
         pop rbp\npop rdi\npop rsi\npop rdx\npop rcx\npop rbx\npop rax"
    };
}

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
