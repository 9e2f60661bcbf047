//! Layer 8, with `main.rs`: the boot sequence's parts.
//!
//! Provides what only the boot needs: the ACPI tables (`acpi.rs`), the
//! bring-up of the interrupt controllers and the tick (`interrupts.rs`),
//! the power-off and reset registers for `arch::power` (`power.rs`),
//! the first process's handles and `InitInfo` page (`initproc.rs`), and the
//! in-kernel self-tests (`selftest/`). May use every layer below.

pub mod acpi;
pub mod initproc;
pub mod interrupts;
pub mod power;
pub mod selftest;
