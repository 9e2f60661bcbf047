//! Layer 1, the bottom: the machine.
//!
//! Provides what depends on the CPU and the platform, and nothing that
//! depends on the kernel's own ideas: the x86_64 tables, the trap and
//! `syscall` entries (`x86_64/`), the context switch, the interrupt
//! controllers and timers, the serial console and QEMU's exit device, the
//! power-off and reset registers (`power.rs`), the clock (`time.rs`:
//! TSC, the tick, `jiffies`), and what the loader said
//! about the machine (`bootinfo.rs`, the Limine protocol).
//!
//! May use: nothing of the kernel's (only crates). Where the machine must
//! call up into the kernel — a trap, a system call, a new thread's first
//! run, a switch to a process's I/O bitmap — the layer above hands it a
//! function or the data at boot (`trap::set_handler`,
//! `syscall::init`, `switch::prepare`, `gdt::load_io_bitmap`): the call
//! goes up, the import never does.

pub mod bootinfo;
pub mod power;
pub mod qemu;
pub mod serial;
pub mod time;
pub mod x86_64;
