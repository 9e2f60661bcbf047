//! The kernel's driver for the I/O APICs: the interrupt controllers that
//! turn device lines (global system interrupts, GSIs) into vectors.
//!
//! Every input starts masked (the loader masked them; `init` programs them
//! masked). The register logic is `kcore::ioapic`; this file reaches the
//! registers through the kernel's uncached mapping of each I/O APIC, which
//! the caller of [`init`] makes (memory is a layer above this one).

use alloc::vec::Vec;

use kcore::acpi;
use kcore::ioapic::{self, Redirection, Registers};
use spin::Mutex;

/// One I/O APIC: its registers' kernel address and the GSIs it serves.
struct IoApic {
    base: u64,
    gsi_base: u32,
    inputs: u32,
}

impl Registers for IoApic {
    fn read(&mut self, register: u32) -> u32 {
        // SAFETY: `base` maps this I/O APIC's IOREGSEL (base) and IOWIN
        // (base + 0x10), uncached; select-then-access, under the lock.
        unsafe {
            (self.base as *mut u32).write_volatile(register);
            ((self.base + 0x10) as *const u32).read_volatile()
        }
    }
    fn write(&mut self, register: u32, value: u32) {
        // SAFETY: as in `read`.
        unsafe {
            (self.base as *mut u32).write_volatile(register);
            ((self.base + 0x10) as *mut u32).write_volatile(value);
        }
    }
}

static IOAPICS: Mutex<Vec<IoApic>> = Mutex::new(Vec::new());

/// The vector of I/O APIC input 0; input `gsi` raises `IRQ_VECTOR_BASE + gsi`.
pub const IRQ_VECTOR_BASE: u8 = 0x40;
/// GSIs that get a vector: `0x40..0xc0` (`0xc0..0xe0` is the MSI pool's,
/// `obj::irq`).
pub const MAX_GSI: u32 = 0x80;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqError {
    /// No I/O APIC serves this GSI.
    NoSuchGsi(u32),
}

/// Programs every I/O APIC the MADT lists, each input masked,
/// edge-triggered, active-high, to vector `vector_base + gsi`, delivered to
/// the CPU with local APIC id `cpu`; `map(phys, len)` maps an I/O APIC's
/// registers uncached and returns their kernel address. Returns the number
/// of inputs, or the first mapping error.
pub fn init<E>(
    madt: &[u8],
    vector_base: u8,
    cpu: u8,
    mut map: impl FnMut(u64, u64) -> Result<u64, E>,
) -> Result<u32, E> {
    let mut list = IOAPICS.lock();
    let mut total = 0;
    for found in acpi::madt_ioapics(madt) {
        let base = map(found.address, 0x20)?;
        let mut io = IoApic {
            base,
            gsi_base: found.gsi_base,
            inputs: 0,
        };
        io.inputs = ioapic::inputs(&mut io);
        for entry in 0..io.inputs {
            let gsi = io.gsi_base + entry;
            let vector = u32::from(vector_base) + gsi;
            let redirection = Redirection {
                vector: if gsi < MAX_GSI { vector as u8 } else { 0 },
                destination: cpu,
                level_triggered: false,
                active_low: false,
                masked: true,
            };
            ioapic::set_redirection(&mut io, entry, redirection);
        }
        total += io.inputs;
        list.push(io);
    }
    Ok(total)
}

fn with_input<T>(gsi: u32, f: impl FnOnce(&mut IoApic, u32) -> T) -> Result<T, IrqError> {
    let mut list = IOAPICS.lock();
    let io = list
        .iter_mut()
        .find(|io| (io.gsi_base..io.gsi_base + io.inputs).contains(&gsi))
        .ok_or(IrqError::NoSuchGsi(gsi))?;
    let entry = gsi - io.gsi_base;
    Ok(f(io, entry))
}

/// Sets how GSI `gsi` signals (from the MADT's override for ISA lines).
pub fn configure(gsi: u32, level_triggered: bool, active_low: bool) -> Result<(), IrqError> {
    with_input(gsi, |io, entry| {
        let current = ioapic::redirection(io, entry);
        let redirection = Redirection {
            level_triggered,
            active_low,
            ..current
        };
        ioapic::set_redirection(io, entry, redirection);
    })
}

/// Masks (`true`) or unmasks GSI `gsi`.
pub fn set_masked(gsi: u32, masked: bool) -> Result<(), IrqError> {
    with_input(gsi, |io, entry| ioapic::set_masked(io, entry, masked))
}

/// How GSI `gsi` is programmed.
pub fn redirection(gsi: u32) -> Result<Redirection, IrqError> {
    with_input(gsi, ioapic::redirection)
}

/// The number of GSIs the I/O APICs serve (the highest plus one).
pub fn gsi_count() -> u32 {
    IOAPICS
        .lock()
        .iter()
        .map(|io| io.gsi_base + io.inputs)
        .max()
        .unwrap_or(0)
}
