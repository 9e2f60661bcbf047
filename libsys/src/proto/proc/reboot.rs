//! `reboot(2)` as Linux defines it: the magic numbers, the commands, and
//! the checks the process server makes, in Linux's order — the caller's
//! privilege first (`EPERM` for anyone but root, whatever the other
//! arguments), then the magic numbers and the command (`EINVAL`). What
//! follows is the server's: `ENOSYS` when it holds no power control (the
//! manifest gave it none), `EIO` when the kernel's `power` call fails and
//! the machine stays on.
//!
//! glibc's `reboot(howto)` passes `howto` as the command with the two
//! magic numbers; the `RB_*` names are its names for the commands.

use crate::errno::Errno;

/// The first magic number: `0xfee1dead`.
pub const LINUX_REBOOT_MAGIC1: u32 = 0xfee1_dead;
/// The second: Linus Torvalds' birthday (672274793, 28 Dec 1969), or one
/// of his daughters' (`2A`, `2B`, `2C`).
pub const LINUX_REBOOT_MAGIC2: u32 = 672_274_793;
pub const LINUX_REBOOT_MAGIC2A: u32 = 85_072_278;
pub const LINUX_REBOOT_MAGIC2B: u32 = 369_367_448;
pub const LINUX_REBOOT_MAGIC2C: u32 = 537_993_216;

/// Restart the machine.
pub const LINUX_REBOOT_CMD_RESTART: u32 = 0x0123_4567;
/// Stop the processor; the machine stays on.
pub const LINUX_REBOOT_CMD_HALT: u32 = 0xcdef_0123;
/// Ctrl-Alt-Del reboots at once (on) or signals init (off).
pub const LINUX_REBOOT_CMD_CAD_ON: u32 = 0x89ab_cdef;
pub const LINUX_REBOOT_CMD_CAD_OFF: u32 = 0x0000_0000;
/// Turn the machine off.
pub const LINUX_REBOOT_CMD_POWER_OFF: u32 = 0x4321_fedc;
/// Restart with a command string for the firmware (ignored here).
pub const LINUX_REBOOT_CMD_RESTART2: u32 = 0xa1b2_c3d4;
/// Hibernate, and boot a kernel loaded by `kexec_load`: neither exists
/// here, so both are `EINVAL`, as on a Linux built without them.
pub const LINUX_REBOOT_CMD_SW_SUSPEND: u32 = 0xd000_fce2;
pub const LINUX_REBOOT_CMD_KEXEC: u32 = 0x4558_4543;

/// glibc's names (`<sys/reboot.h>`).
pub const RB_AUTOBOOT: u32 = LINUX_REBOOT_CMD_RESTART;
pub const RB_HALT_SYSTEM: u32 = LINUX_REBOOT_CMD_HALT;
pub const RB_ENABLE_CAD: u32 = LINUX_REBOOT_CMD_CAD_ON;
pub const RB_DISABLE_CAD: u32 = LINUX_REBOOT_CMD_CAD_OFF;
pub const RB_POWER_OFF: u32 = LINUX_REBOOT_CMD_POWER_OFF;
pub const RB_SW_SUSPEND: u32 = LINUX_REBOOT_CMD_SW_SUSPEND;
pub const RB_KEXEC: u32 = LINUX_REBOOT_CMD_KEXEC;

/// A command that passed the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RebootCmd {
    PowerOff,
    Restart,
    Halt,
    /// `CAD_ON`/`CAD_OFF`: accepted, and nothing to do (no key
    /// combination reboots this system).
    CtrlAltDel,
}

impl RebootCmd {
    /// The kernel's `power` action this command needs (`None`: nothing
    /// for the kernel to do).
    pub const fn power(self) -> Option<crate::abi::power::Power> {
        use crate::abi::power::Power;
        match self {
            RebootCmd::PowerOff => Some(Power::Off),
            RebootCmd::Restart => Some(Power::Reboot),
            RebootCmd::Halt => Some(Power::Halt),
            RebootCmd::CtrlAltDel => None,
        }
    }
}

/// The checks of `reboot(magic1, magic2, cmd)` by a caller with effective
/// uid `euid`: `EPERM` unless root (checked first, as Linux's
/// `CAP_SYS_BOOT`), then `EINVAL` for a wrong magic number or a command
/// that does not exist here.
pub fn check(euid: u32, magic1: u32, magic2: u32, cmd: u32) -> Result<RebootCmd, Errno> {
    if euid != 0 {
        return Err(Errno::EPERM);
    }
    let magic2_ok = matches!(
        magic2,
        LINUX_REBOOT_MAGIC2 | LINUX_REBOOT_MAGIC2A | LINUX_REBOOT_MAGIC2B | LINUX_REBOOT_MAGIC2C
    );
    if magic1 != LINUX_REBOOT_MAGIC1 || !magic2_ok {
        return Err(Errno::EINVAL);
    }
    match cmd {
        LINUX_REBOOT_CMD_POWER_OFF => Ok(RebootCmd::PowerOff),
        LINUX_REBOOT_CMD_RESTART | LINUX_REBOOT_CMD_RESTART2 => Ok(RebootCmd::Restart),
        LINUX_REBOOT_CMD_HALT => Ok(RebootCmd::Halt),
        LINUX_REBOOT_CMD_CAD_ON | LINUX_REBOOT_CMD_CAD_OFF => Ok(RebootCmd::CtrlAltDel),
        _ => Err(Errno::EINVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M1: u32 = LINUX_REBOOT_MAGIC1;
    const M2: u32 = LINUX_REBOOT_MAGIC2;

    #[test]
    fn root_with_the_magic_gets_the_command() {
        assert_eq!(check(0, M1, M2, RB_POWER_OFF), Ok(RebootCmd::PowerOff));
        assert_eq!(check(0, M1, M2, RB_AUTOBOOT), Ok(RebootCmd::Restart));
        assert_eq!(
            check(0, M1, LINUX_REBOOT_MAGIC2C, LINUX_REBOOT_CMD_RESTART2),
            Ok(RebootCmd::Restart)
        );
        assert_eq!(
            check(0, M1, LINUX_REBOOT_MAGIC2A, RB_HALT_SYSTEM),
            Ok(RebootCmd::Halt)
        );
        assert_eq!(
            check(0, M1, LINUX_REBOOT_MAGIC2B, RB_ENABLE_CAD),
            Ok(RebootCmd::CtrlAltDel)
        );
        assert_eq!(check(0, M1, M2, RB_DISABLE_CAD), Ok(RebootCmd::CtrlAltDel));
        assert_eq!(RebootCmd::CtrlAltDel.power(), None);
        assert_eq!(
            RebootCmd::PowerOff.power(),
            Some(crate::abi::power::Power::Off)
        );
    }

    #[test]
    fn privilege_is_checked_before_anything_else() {
        assert_eq!(check(1000, M1, M2, RB_POWER_OFF), Err(Errno::EPERM));
        assert_eq!(check(1, 0, 0, 0xdead), Err(Errno::EPERM), "bad magic too");
    }

    #[test]
    fn bad_magic_and_unknown_commands_are_einval() {
        assert_eq!(check(0, 0xfee1_deae, M2, RB_POWER_OFF), Err(Errno::EINVAL));
        assert_eq!(check(0, M1, 0, RB_POWER_OFF), Err(Errno::EINVAL));
        assert_eq!(
            check(0, M2, M1, RB_POWER_OFF),
            Err(Errno::EINVAL),
            "swapped"
        );
        for cmd in [RB_SW_SUSPEND, RB_KEXEC, 1, 0xffff_ffff] {
            assert_eq!(check(0, M1, M2, cmd), Err(Errno::EINVAL), "{cmd:#x}");
        }
    }
}
