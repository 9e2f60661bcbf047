//! Turning the machine off and resetting it: the register writes ACPI's
//! tables call for, the keyboard controller's reset line, and the triple
//! fault.
//!
//! What to write where is decided once, at boot: `kcore::acpi::power`
//! reads the FADT and the DSDT's `\_S5`, `boot::power` maps the registers
//! that are memory and hands the result here ([`set`]). The functions
//! below only write; the `power` system call (`syscall::power`) decides
//! the order and logs each step. Interrupts are off throughout (kernel
//! code runs with them disabled), so a wait here is a spin on the TSC.

use kcore::acpi::power::{pm1_control, sleep_control, SCI_EN};
use spin::Once;
use x86_64::instructions::port::Port;

use crate::arch::time;

/// A register the kernel writes: an I/O port, or memory at a kernel
/// virtual address (mapped uncached at boot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    Io(u16),
    Mmio(u64),
}

impl Reg {
    fn read16(self) -> u16 {
        match self {
            // SAFETY: a port the FADT names as this register.
            Reg::Io(port) => unsafe { Port::<u16>::new(port).read() },
            // SAFETY: boot mapped this address (uncached) for the
            // register; it stays mapped for good.
            Reg::Mmio(virt) => unsafe { core::ptr::read_volatile(virt as *const u16) },
        }
    }

    fn write16(self, value: u16) {
        match self {
            // SAFETY: as in `read16`.
            Reg::Io(port) => unsafe { Port::<u16>::new(port).write(value) },
            // SAFETY: as in `read16`.
            Reg::Mmio(virt) => unsafe { core::ptr::write_volatile(virt as *mut u16, value) },
        }
    }

    fn write8(self, value: u8) {
        match self {
            // SAFETY: as in `read16`.
            Reg::Io(port) => unsafe { Port::<u8>::new(port).write(value) },
            // SAFETY: as in `read16`.
            Reg::Mmio(virt) => unsafe { core::ptr::write_volatile(virt as *mut u8, value) },
        }
    }
}

/// How the machine enters `S5`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Off {
    /// The sleep types into PM1a_CNT and PM1b_CNT.
    Pm1 {
        pm1a: Reg,
        pm1b: Option<Reg>,
        type_a: u8,
        type_b: u8,
    },
    /// The sleep type into the sleep control register.
    SleepControl { register: Reg, sleep_type: u8 },
}

/// What boot found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Controls {
    /// The SMI command port and the value that switches to ACPI mode.
    pub acpi_enable: Option<(u16, u8)>,
    pub off: Option<Off>,
    /// The reset register and its value.
    pub reset: Option<(Reg, u8)>,
}

static CONTROLS: Once<Controls> = Once::new();

/// Records what boot found (once; later calls are ignored).
pub fn set(controls: Controls) {
    CONTROLS.call_once(|| controls);
}

/// What boot found; `None` if it found no usable FADT.
pub fn controls() -> Option<&'static Controls> {
    CONTROLS.get()
}

/// Spins for `ms` milliseconds of TSC time.
pub fn spin_ms(ms: u64) {
    let ticks = time::tsc_hz() / 1000 * ms;
    let start = time::rdtsc();
    while time::rdtsc().wrapping_sub(start) < ticks {
        core::hint::spin_loop();
    }
}

/// Switches the chipset to ACPI mode (`ACPI_ENABLE` to `SMI_CMD`) if
/// PM1a_CNT's `SCI_EN` is clear, and waits up to 300 ms for it to set.
/// Whether ACPI mode is on afterwards (`true` too when there is no PM1a
/// block to ask).
pub fn enable_acpi(controls: &Controls) -> bool {
    let Some(Off::Pm1 { pm1a, .. }) = controls.off else {
        return true;
    };
    if pm1a.read16() & SCI_EN != 0 {
        return true;
    }
    let Some((smi_cmd, value)) = controls.acpi_enable else {
        return false;
    };
    // SAFETY: the SMI command port the FADT names.
    unsafe { Port::<u8>::new(smi_cmd).write(value) };
    for _ in 0..300 {
        if pm1a.read16() & SCI_EN != 0 {
            return true;
        }
        spin_ms(1);
    }
    false
}

/// Enters `S5`: the sleep types first, then with `SLP_EN` (PM1a before
/// PM1b, as ACPI orders it). Returns if the machine is still running.
pub fn enter_s5(off: Off) {
    match off {
        Off::Pm1 {
            pm1a,
            pm1b,
            type_a,
            type_b,
        } => {
            let a = pm1a.read16();
            let b = pm1b.map(Reg::read16);
            pm1a.write16(pm1_control(a, type_a, false));
            if let (Some(reg), Some(b)) = (pm1b, b) {
                reg.write16(pm1_control(b, type_b, false));
            }
            pm1a.write16(pm1_control(a, type_a, true));
            if let (Some(reg), Some(b)) = (pm1b, b) {
                reg.write16(pm1_control(b, type_b, true));
            }
        }
        Off::SleepControl {
            register,
            sleep_type,
        } => register.write8(sleep_control(sleep_type)),
    }
}

/// Writes the reset value to the reset register. Returns if the machine
/// did not reset.
pub fn write_reset(register: Reg, value: u8) {
    register.write8(value);
}

/// The keyboard controller (8042) status and command port.
const KBC_COMMAND: u16 = 0x64;
/// Its "pulse the reset line" command.
const KBC_PULSE_RESET: u8 = 0xfe;
/// Status bit 1: the controller's input buffer is full.
const KBC_INPUT_FULL: u8 = 1 << 1;

/// Pulses the CPU reset line through the keyboard controller, once its
/// input buffer is empty (or after 100 ms). Returns if nothing happened
/// (no controller).
pub fn keyboard_reset() {
    let mut status = Port::<u8>::new(KBC_COMMAND);
    for _ in 0..100 {
        // SAFETY: the 8042's status port; reading it has no side effect.
        if unsafe { status.read() } & KBC_INPUT_FULL == 0 {
            break;
        }
        spin_ms(1);
    }
    // SAFETY: the 8042's command port; the command resets the machine.
    unsafe { status.write(KBC_PULSE_RESET) };
}

/// Resets the processor the hard way: with an empty IDT, a breakpoint
/// can find no handler, nor can the double fault that follows, and the
/// third fault resets the machine.
pub fn triple_fault() -> ! {
    let empty = x86_64::structures::DescriptorTablePointer {
        limit: 0,
        base: x86_64::VirtAddr::new(0),
    };
    // SAFETY: deliberately breaks exception delivery, to reset: nothing
    // runs after the next instruction.
    unsafe {
        x86_64::instructions::tables::lidt(&empty);
        core::arch::asm!("int3", options(nomem, nostack));
    }
    crate::arch::x86_64::cpu::halt()
}
