//! Turning the machine off or resetting it: the `power` call's
//! arguments.
//!
//! The right is a capability, [`super::ObjectType::PowerControl`], which
//! the kernel gives the first process alone (`InitInfo::power_control`);
//! `init` passes it to the server whose manifest line says `power` (the
//! process server, which answers `reboot(2)`). The kernel does what
//! ACPI's tables say (the FADT and the DSDT's `\_S5`): see
//! `kcore::acpi::power` and docs/architecture.md, "Power".

use super::args::{Args, Regs};
use super::{Handle, SysError};

/// What `power` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum Power {
    /// Soft off (ACPI `S5`): `SLP_TYPa | SLP_EN` into PM1a_CNT (and
    /// PM1b_CNT), after switching the chipset to ACPI mode if it is not.
    Off = 0,
    /// A reset: the FADT's reset register, else the keyboard
    /// controller's reset line (0xfe to port 0x64), else a triple fault.
    /// Never fails.
    Reboot = 1,
    /// The processor stops, interrupts off, and the machine stays on
    /// (Linux's `LINUX_REBOOT_CMD_HALT`). Never fails.
    Halt = 2,
}

impl Power {
    pub const ALL: [Power; 3] = [Power::Off, Power::Reboot, Power::Halt];

    pub const fn name(self) -> &'static str {
        match self {
            Power::Off => "power off",
            Power::Reboot => "reboot",
            Power::Halt => "halt",
        }
    }
}

impl TryFrom<u64> for Power {
    type Error = SysError;

    /// `InvalidArgument` for a number no action has.
    fn try_from(n: u64) -> Result<Power, SysError> {
        Power::ALL
            .into_iter()
            .find(|p| *p as u64 == n)
            .ok_or(SysError::InvalidArgument)
    }
}

/// `power`: `rdi` the power control (MANAGE), `rsi` the [`Power`] action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PowerArgs {
    pub control: Handle,
    pub action: Power,
}

impl Args for PowerArgs {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(PowerArgs {
            control: Handle::from_raw(r.0[0])?,
            action: Power::try_from(r.0[1])?,
        })
    }

    fn encode(&self) -> Regs {
        Regs([u64::from(self.control.0), self.action as u64, 0, 0, 0, 0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_args_round_trip_and_refuse_unknown_actions() {
        const H: u64 = 0x0001_0003;
        for action in Power::ALL {
            let regs = Regs([H, action as u64, 0, 0, 0, 0]);
            let args = PowerArgs::decode(&regs).unwrap();
            assert_eq!(args.action, action);
            assert_eq!(args.encode(), regs);
        }
        for bad in [3, 99, u64::MAX] {
            assert_eq!(
                PowerArgs::decode(&Regs([H, bad, 0, 0, 0, 0])),
                Err(SysError::InvalidArgument)
            );
        }
        assert_eq!(
            PowerArgs::decode(&Regs([1 << 40, 0, 0, 0, 0, 0])),
            Err(SysError::BadHandle)
        );
    }
}
