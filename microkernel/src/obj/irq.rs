//! Interrupt lines as objects: IRQ forwarding to user-space drivers.
//!
//! A driver binds a line to a bit of a notification (`irq_bind`). When the
//! line fires, the kernel masks it at the I/O APIC, acknowledges the local
//! APIC (EOI) and signals every bound notification's bit; the driver
//! handles its device and calls `irq_ack`, and once every handler bound at
//! the time of the interrupt has acknowledged, the line is unmasked. So a
//! level-triggered line cannot storm while its driver works, and a line
//! shared by several devices (several bound handlers) stays masked until
//! all have looked. (An edge that arrives while the line is masked is not
//! latched by the I/O APIC: a driver re-checks its device after `irq_ack`.)
//!
//! How a line signals (edge or level, active-high or low) is set at boot
//! from the MADT for ISA lines and by its driver with `irq_configure`
//! (PCI INTx: level, active-low). A shared line has one mode: a driver
//! may change it only while no other handler is bound, or to the mode the
//! line already has (`NotAllowed` otherwise).
//!
//! The kernel counts each line's interrupts and the CPU that took the last
//! one, which `irq_info` reports (for `/proc/interrupts`).
//!
//! **Message-signalled interrupts.** Besides the I/O APIC's inputs, an
//! IRQ object may be one vector of the MSI pool (`irq_msi_alloc`, from
//! the IRQ control): a PCI function programmed with its message raises
//! the vector itself. It is bound and acknowledged like a line, but it
//! has no I/O APIC input: it is edge-triggered, never masked (a device
//! sends one message per event, and the notification bit coalesces those
//! that come before the driver looks), and `irq_ack` only ends the
//! interrupt's accounting. The pool's table keeps a weak reference to
//! each, so the vector is free again when the last handle to it closes
//! ([`Drop`]), which a process's death does for its handles; a process
//! holds at most [`MSI_PER_PROCESS`] of the pool's [`MSI_VECTORS`].

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use kcore::msi::{self, VectorPool};
use libsys::abi::{IrqInfo, MsiMessage, SysError, MSI_PER_PROCESS, MSI_VECTORS};
use spin::{Mutex, Once};

use crate::arch::x86_64::ioapic;
use crate::obj::notification::Notification;

#[derive(Debug, Default)]
struct Binding {
    notification: Option<Arc<Notification>>,
    bit: u64,
}

#[derive(Debug, Default)]
struct LineState {
    bindings: Vec<Binding>,
    count: u64,
    /// The local APIC id of the CPU that took the last interrupt.
    last_cpu: u64,
    /// Acknowledgements still owed for the last interrupt.
    pending_acks: usize,
    masked: bool,
    /// A handler inside the kernel (an in-kernel server core's interrupt,
    /// `placement=mono`): run from the interrupt itself, after the line is
    /// unmasked again — it needs no acknowledgement.
    kernel: Option<fn()>,
}

#[derive(Debug)]
pub struct IrqLine {
    /// The I/O APIC input (0 for an MSI).
    pub gsi: u32,
    /// The MSI pool's vector, for a message-signalled interrupt.
    pub msi: Option<u8>,
    state: Mutex<LineState>,
}

/// The first vector of the MSI pool: `0xc0..0xe0`, above the I/O APIC
/// inputs' `0x40..0xc0` and below the spurious vector.
pub const MSI_VECTOR_BASE: u8 = 0xc0;

/// The MSI pool and its live objects (weak: the handles own them).
struct MsiTable {
    pool: VectorPool<MSI_VECTORS>,
    lines: [Option<Weak<IrqLine>>; MSI_VECTORS],
}

static MSI: Mutex<MsiTable> = Mutex::new(MsiTable {
    pool: VectorPool::new(MSI_VECTOR_BASE, MSI_PER_PROCESS),
    lines: [const { None }; MSI_VECTORS],
});

static LINES: Once<Vec<Arc<IrqLine>>> = Once::new();
/// The GSI each ISA IRQ arrives on (from the MADT, at boot).
static ISA_ROUTES: Once<[u32; 16]> = Once::new();

/// The GSI ISA IRQ `irq` (below 16) arrives on; the same number before
/// `init` or for a larger one.
pub fn isa_gsi(irq: u8) -> u32 {
    ISA_ROUTES
        .get()
        .and_then(|routes| routes.get(usize::from(irq)).copied())
        .unwrap_or(u32::from(irq))
}

/// Makes one object per GSI the I/O APICs serve (all masked), and keeps
/// the ISA lines' routes.
pub fn init(gsis: u32, isa_routes: [u32; 16]) {
    ISA_ROUTES.call_once(|| isa_routes);
    LINES.call_once(|| {
        (0..gsis)
            .map(|gsi| {
                Arc::new(IrqLine {
                    gsi,
                    msi: None,
                    state: Mutex::new(LineState {
                        masked: true,
                        ..LineState::default()
                    }),
                })
            })
            .collect()
    });
}

/// The line object for `gsi`.
pub fn line(gsi: u32) -> Result<Arc<IrqLine>, SysError> {
    LINES
        .get()
        .and_then(|lines| lines.get(gsi as usize).cloned())
        .ok_or(SysError::InvalidArgument)
}

/// Drops, on every line, the bindings whose drivers are gone (a process
/// died).
pub fn prune_all() {
    if let Some(lines) = LINES.get() {
        for line in lines {
            line.prune();
        }
    }
    for line in msi_lines() {
        line.prune();
    }
}

/// The live MSI objects.
fn msi_lines() -> Vec<Arc<IrqLine>> {
    let table = MSI.lock();
    table
        .lines
        .iter()
        .flatten()
        .filter_map(Weak::upgrade)
        .collect()
}

/// A new message-signalled interrupt held by process `holder`: the object
/// and the message a device must write to raise it (to the CPU with local
/// APIC id `apic_id`). `OutOfResources` if the pool is empty or `holder`
/// holds [`MSI_PER_PROCESS`] already.
pub fn msi_alloc(holder: u32, apic_id: u8) -> Result<(Arc<IrqLine>, MsiMessage), SysError> {
    let mut table = MSI.lock();
    let vector = table.pool.alloc(holder)?;
    let line = Arc::new(IrqLine {
        gsi: 0,
        msi: Some(vector),
        state: Mutex::new(LineState::default()),
    });
    if let Some(slot) = table.pool.slot(vector) {
        table.lines[slot] = Some(Arc::downgrade(&line));
    }
    let message = MsiMessage {
        vector: u64::from(vector),
        address: msi::message_address(apic_id),
        data: u64::from(msi::message_data(vector)),
    };
    Ok((line, message))
}

/// Vectors of the MSI pool free, and those `holder` holds.
pub fn msi_usage(holder: u32) -> (usize, usize) {
    let table = MSI.lock();
    (table.pool.free_count(), table.pool.held_by(holder))
}

/// Whether `vector` is the MSI pool's.
pub fn is_msi_vector(vector: u8) -> bool {
    (MSI_VECTOR_BASE..MSI_VECTOR_BASE + MSI_VECTORS as u8).contains(&vector)
}

/// The message-signalled interrupt on `vector` (from the trap handler,
/// before EOI): counted and forwarded to its bound notifications; one on
/// a vector no one holds (a device left programmed) is dropped.
pub fn msi_interrupt(vector: u8) {
    let line = {
        let table = MSI.lock();
        table
            .pool
            .slot(vector)
            .and_then(|slot| table.lines[slot].as_ref())
            .and_then(Weak::upgrade)
    };
    let Some(line) = line else {
        return;
    };
    let targets: Vec<Target> = {
        let mut state = line.state.lock();
        state.count += 1;
        state.last_cpu = u64::from(crate::arch::x86_64::apic::id());
        state
            .bindings
            .iter()
            .filter_map(|b| b.notification.clone().map(|n| (n, b.bit)))
            .collect()
    };
    for (notification, bit) in targets {
        notification.signal(bit);
    }
}

impl Drop for IrqLine {
    /// An MSI's vector goes back to the pool with its last handle.
    fn drop(&mut self) {
        if let Some(vector) = self.msi {
            let mut table = MSI.lock();
            if let Some(slot) = table.pool.slot(vector) {
                table.lines[slot] = None;
            }
            table.pool.free(vector);
        }
    }
}

/// A bound notification and the bits it gets.
type Target = (Arc<Notification>, u64);

/// The interrupt on `gsi` (from the trap handler, before EOI): count it;
/// if drivers are bound, mask the line and signal them, else just mask it.
pub fn interrupt(gsi: u32) {
    let _ = ioapic::set_masked(gsi, true);
    let Ok(line) = line(gsi) else {
        return;
    };
    let (targets, kernel): (Vec<Target>, Option<fn()>) = {
        let mut state = line.state.lock();
        state.count += 1;
        state.last_cpu = u64::from(crate::arch::x86_64::apic::id());
        state.masked = true;
        state.pending_acks = state.bindings.len();
        if state.kernel.is_some() && state.bindings.is_empty() {
            // Only the kernel's handler: unmasked before it runs, so an
            // edge it causes (a deadline it programs that comes at once)
            // is latched, not lost.
            state.masked = false;
        }
        let targets = state
            .bindings
            .iter()
            .filter_map(|b| b.notification.clone().map(|n| (n, b.bit)))
            .collect();
        (targets, state.kernel)
    };
    for (notification, bit) in targets {
        notification.signal(bit);
    }
    if let Some(handler) = kernel {
        if !line.state.lock().masked {
            let _ = ioapic::set_masked(gsi, false);
        }
        handler();
    }
}

/// Gives line `gsi` to a handler inside the kernel (the timer core's
/// IRQ 0 with `placement=mono`) and unmasks it; `InvalidArgument` for a
/// line no I/O APIC serves, `NotAllowed` if it has a kernel handler.
pub fn bind_kernel(gsi: u32, handler: fn()) -> Result<(), SysError> {
    let line = line(gsi)?;
    let mut state = line.state.lock();
    if state.kernel.is_some() {
        return Err(SysError::NotAllowed);
    }
    state.kernel = Some(handler);
    if state.pending_acks == 0 && state.masked {
        state.masked = false;
        let _ = ioapic::set_masked(gsi, false);
    }
    Ok(())
}

impl IrqLine {
    /// Masks or unmasks its I/O APIC input (an MSI has none).
    fn set_masked(&self, masked: bool) {
        if self.msi.is_none() {
            let _ = ioapic::set_masked(self.gsi, masked);
        }
    }

    /// Binds the line to `bit` of `notification` and unmasks it if no
    /// interrupt is waiting for acknowledgements.
    pub fn bind(&self, notification: Arc<Notification>, bit: u64) {
        let mut state = self.state.lock();
        state.bindings.push(Binding {
            notification: Some(notification),
            bit,
        });
        if state.pending_acks == 0 && state.masked {
            state.masked = false;
            self.set_masked(false);
        }
    }

    /// Programs how the line signals; `NotAllowed` if handlers are bound
    /// and the line has another mode, `InvalidArgument` if no I/O APIC
    /// serves it.
    /// An MSI is edge-triggered, always: `InvalidArgument`.
    pub fn configure(&self, level_triggered: bool, active_low: bool) -> Result<(), SysError> {
        if self.msi.is_some() {
            return Err(SysError::InvalidArgument);
        }
        let state = self.state.lock();
        let current = ioapic::redirection(self.gsi).map_err(|_| SysError::InvalidArgument)?;
        if current.level_triggered == level_triggered && current.active_low == active_low {
            return Ok(());
        }
        if !state.bindings.is_empty() {
            return Err(SysError::NotAllowed);
        }
        ioapic::configure(self.gsi, level_triggered, active_low)
            .map_err(|_| SysError::InvalidArgument)
    }

    /// One handler is done; the last one to acknowledge unmasks the line.
    pub fn ack(&self) {
        let mut state = self.state.lock();
        state.pending_acks = state.pending_acks.saturating_sub(1);
        if state.pending_acks == 0 && !state.bindings.is_empty() && state.masked {
            state.masked = false;
            self.set_masked(false);
        }
    }

    pub fn info(&self) -> IrqInfo {
        let state = self.state.lock();
        let (vector, level) = match self.msi {
            Some(vector) => (u64::from(vector), false),
            None => (
                u64::from(ioapic::IRQ_VECTOR_BASE) + u64::from(self.gsi),
                ioapic::redirection(self.gsi).is_ok_and(|r| r.level_triggered),
            ),
        };
        IrqInfo {
            gsi: u64::from(self.gsi),
            count: state.count,
            last_cpu: state.last_cpu,
            handlers: state.bindings.len() as u64,
            masked: u64::from(state.masked),
            vector,
            msi: u64::from(self.msi.is_some()),
            level: u64::from(level),
        }
    }

    /// Drops the bindings to notifications no one else holds (their
    /// drivers died), masking the line if none is left.
    pub fn prune(&self) {
        let mut state = self.state.lock();
        state.bindings.retain(|b| {
            b.notification
                .as_ref()
                .is_some_and(|n| Arc::strong_count(n) > 1)
        });
        if state.bindings.is_empty() && state.kernel.is_none() {
            state.masked = true;
            state.pending_acks = 0;
            self.set_masked(true);
        }
    }
}
