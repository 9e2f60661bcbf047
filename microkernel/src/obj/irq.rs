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

use alloc::sync::Arc;
use alloc::vec::Vec;

use libsys::abi::{IrqInfo, SysError};
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
    pub gsi: u32,
    state: Mutex<LineState>,
}

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
            let _ = ioapic::set_masked(self.gsi, false);
        }
    }

    /// Programs how the line signals; `NotAllowed` if handlers are bound
    /// and the line has another mode, `InvalidArgument` if no I/O APIC
    /// serves it.
    pub fn configure(&self, level_triggered: bool, active_low: bool) -> Result<(), SysError> {
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
            let _ = ioapic::set_masked(self.gsi, false);
        }
    }

    pub fn info(&self) -> IrqInfo {
        let state = self.state.lock();
        IrqInfo {
            gsi: u64::from(self.gsi),
            count: state.count,
            last_cpu: state.last_cpu,
            handlers: state.bindings.len() as u64,
            masked: u64::from(state.masked),
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
            let _ = ioapic::set_masked(self.gsi, true);
        }
    }
}
