//! `power`: turning the machine off, resetting it, or halting it, for the
//! holder of the power control (the kernel gives it to the first process;
//! `init` passes it to the process server, which answers `reboot(2)`).
//!
//! Checks first: the handle (MANAGE on a power control), then, for a
//! power-off, that boot found a way (`NotFound` if not: nothing was
//! written). Then the steps, each logged at `emerg` as Linux logs
//! `reboot: Power down` (so the line reaches the console even when a
//! driver holds it):
//! - **off**: ACPI mode on if it is not (`SMI_CMD`), then the `\_S5`
//!   sleep types and `SLP_EN` (`arch::power::enter_s5`); a machine still
//!   running a second later is `TimedOut`, and it goes on running.
//! - **reboot**: the FADT's reset register, then the keyboard
//!   controller's reset line, then a triple fault, half a second apart.
//!   It does not return.
//! - **halt**: the processor stops with interrupts off.

use libsys::abi::power::{Power, PowerArgs};
use libsys::abi::{Rights, SysError};

use super::caller;
use crate::arch::power::{self, Controls};
use crate::arch::x86_64::trap::TrapFrame;
use crate::obj::handle::{lookup, PowerControl};
use crate::obj::process::Process;

/// How long a write that should have stopped the machine gets.
const POWER_OFF_WAIT_MS: u64 = 1000;
const RESET_WAIT_MS: u64 = 500;

pub fn power(args: PowerArgs, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    lookup::<PowerControl>(&process, args.control, Rights::MANAGE)?;
    match args.action {
        Power::Off => {
            let controls = power::controls().ok_or(SysError::NotFound)?;
            power_off(&process, controls)
        }
        Power::Reboot => reboot(&process),
        Power::Halt => {
            crate::printk!(
                Emerg,
                "power: system halted ({}[{}])",
                process.name,
                process.pid
            );
            crate::arch::x86_64::cpu::halt()
        }
    }
}

fn power_off(process: &Process, controls: &Controls) -> Result<u64, SysError> {
    let off = controls.off.ok_or(SysError::NotFound)?;
    crate::printk!(
        Emerg,
        "power: power down ({}[{}])",
        process.name,
        process.pid
    );
    if !power::enable_acpi(controls) {
        crate::printk!(
            Warning,
            "power: the chipset did not enter ACPI mode; trying S5 anyway"
        );
    }
    power::enter_s5(off);
    power::spin_ms(POWER_OFF_WAIT_MS);
    crate::printk!(
        Err,
        "power: the machine is still on {POWER_OFF_WAIT_MS} ms after SLP_EN"
    );
    Err(SysError::TimedOut)
}

fn reboot(process: &Process) -> ! {
    crate::printk!(Emerg, "power: restart ({}[{}])", process.name, process.pid);
    if let Some((register, value)) = power::controls().and_then(|c| c.reset) {
        power::write_reset(register, value);
        power::spin_ms(RESET_WAIT_MS);
        crate::printk!(
            Err,
            "power: the ACPI reset register did nothing; trying the keyboard controller"
        );
    }
    power::keyboard_reset();
    power::spin_ms(RESET_WAIT_MS);
    crate::printk!(
        Err,
        "power: the keyboard controller did nothing; triple fault"
    );
    power::triple_fault()
}
