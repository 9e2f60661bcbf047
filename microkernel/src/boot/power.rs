//! Power at boot: what the FADT and the DSDT's `\_S5` say about turning
//! the machine off and resetting it (`kcore::acpi::power` reads them),
//! handed to `arch::power` with any memory-space register mapped. One
//! log line says what was found, e.g.
//! `acpi: FADT rev 3: power off with S5 type 0/0 to PM1a_CNT 0x604; …`.
//!
//! Nothing here is fatal: without a usable FADT the `power` call answers
//! `NotFound` for a power-off, and a reboot goes through the keyboard
//! controller or a triple fault.

use kcore::acpi::power::{self as acpi_power, PowerOff, Register, S5Error, Summary};

use crate::arch::power::{self, Controls, Off, Reg};
use crate::boot::acpi;
use crate::mem::kspace::{self, Kind};

/// Reads the tables and hands `arch::power` what they say.
pub fn init(rsdp: Option<u64>) {
    let table = match acpi::fadt(rsdp) {
        Ok(t) => t,
        Err(why) => {
            crate::printk!(
                Warning,
                "acpi: {why}: no power off; reboot through the keyboard controller"
            );
            return;
        }
    };
    let fadt = match acpi_power::parse_fadt(table) {
        Ok(f) => f,
        Err(why) => {
            crate::printk!(
                Warning,
                "acpi: {why}: no power off; reboot through the keyboard controller"
            );
            return;
        }
    };
    let s5 = match acpi::dsdt(fadt.dsdt) {
        Ok(Some(dsdt)) => acpi_power::sleep_type_s5(dsdt),
        Ok(None) if fadt.dsdt != 0 => Err(S5Error::BadTable),
        Ok(None) | Err(_) => Err(S5Error::NoDsdt),
    };
    let off = acpi_power::power_off(&fadt, s5);
    crate::printk!(
        Info,
        "acpi: {}",
        Summary {
            fadt: &fadt,
            off: &off
        }
    );
    power::set(Controls {
        acpi_enable: fadt.acpi_enable,
        off: off.ok().and_then(machine_off),
        reset: fadt
            .reset
            .and_then(|reset| Some((register(reset.register)?, reset.value))),
    });
}

/// The kernel's register for an ACPI one: a port, or memory mapped
/// uncached at its HHDM address. `None` (logged) if it cannot be mapped.
fn register(register: Register) -> Option<Reg> {
    match register {
        Register::Io(port) => Some(Reg::Io(port)),
        Register::Memory(phys) => match kspace::map_physical(phys, 2, Kind::Mmio) {
            Ok(virt) => Some(Reg::Mmio(virt)),
            Err(_) => {
                crate::printk!(Warning, "acpi: cannot map the register at {phys:#x}");
                None
            }
        },
    }
}

fn machine_off(off: PowerOff) -> Option<Off> {
    Some(match off {
        PowerOff::Pm1 { pm1a, pm1b, sleep } => Off::Pm1 {
            pm1a: register(pm1a)?,
            pm1b: match pm1b {
                Some(b) => Some(register(b)?),
                None => None,
            },
            type_a: sleep.a,
            type_b: sleep.b,
        },
        PowerOff::SleepControl {
            register: r,
            sleep_type,
        } => Off::SleepControl {
            register: register(r)?,
            sleep_type,
        },
    })
}
