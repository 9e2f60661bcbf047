//! (Part of the `devmgr` binary, not of the library.) The driver
//! processes devmgr runs: starting one through `init`'s spawn protocol
//! with exactly its device's resources, watching it, stopping it, and
//! restarting it after the back-off when it dies.
//!
//! Resources: devmgr holds, from its manifest entry, the interrupt line
//! and I/O ports of the devices it drives (`irq=isa:1
//! ports=0x60:1,0x64:1` for the i8042). For a probe it passes a copy of
//! the line (the device's `irq` must be the one it holds: a driver never
//! gets another) and, for each port range of the device, a handle derived
//! to exactly that range; the driver finds them as `h0=` (the line) and
//! `h1=`.. (the ranges, in the device's order). A device whose resources
//! devmgr does not hold is not started (logged; it stays bound with no
//! process until an `unbind`).
//!
//! PCI drivers (`edu`): devmgr, the PCI bus's owner, holds the interrupt
//! and device-memory controls (manifest `pci`) and takes from them, for
//! the device alone, its INTx line (the GSI its slot and pin reach,
//! configured level-triggered) and a device-memory region per memory BAR
//! (I/O BARs: a port range derived from ports devmgr holds). It makes an
//! endpoint for the driver's clients and keeps a send copy, from which an
//! `Open` of the device gets a badged handle: the device node. The
//! driver finds `h0=` (the endpoint, to receive on), `h1=` (the line),
//! `h2=`.. (the BARs, in BAR order) and `dev=<slot> bars=<i>,..`. When it
//! dies, devmgr turns off the device's bus mastering and decoding before
//! anything else (there is no IOMMU: the device must not write into DMA
//! pages `mm` frees), and drops the send copy, so its clients get
//! `PeerDied` and open the node again once the new process runs.
//!
//! Deaths: each process is watched with its own bit of a notification
//! bound to devmgr's thread, so a death ends the server's `recv`. An
//! expected death (a sysfs `unbind` stopped it) is forgotten; any other
//! unbinds the device (`unbind` uevent) and schedules a `bind` (and a new
//! process) after [`Backoff`]'s delay.

use alloc::string::String;
use alloc::vec::Vec;

use devmgr::drivers::{self, Backoff, DriverBinary};
use devmgr::model::{BusType, IORESOURCE_IO};
use devmgr::pci::ConfigAccess;
use devmgr::service::Service;
use devmgr::ProbeContext;
use libsys::abi::args::{Polarity, Trigger};
use libsys::abi::{Handle, ProcessStatus, Rights};
use libsys::handle::{
    Endpoint, IoPorts, Irq, IrqControl, MemoryRegion, Notification, OwnedHandle, Process,
};
use libsys::proto::devmgr::{DevError, PciInfo, Slot};
use libsys::proto::spawn::{spawn, ClientError, Spawn, SpawnError};
use libsys::{eprintln, println};

/// Driver processes at once (one notification bit each).
pub const PROCESSES_MAX: usize = 16;

/// One device's driver process.
struct DriverProcess {
    driver: &'static DriverBinary,
    device: String,
    /// The running process (`None` between a death and the restart).
    process: Option<Process>,
    pid: u64,
    backoff: Backoff,
    /// When to bind again (uptime ns), after a death.
    restart_at: Option<u64>,
    /// Being stopped on purpose (sysfs `unbind`): its death is no crash.
    stopping: bool,
    /// A PCI driver's clients' endpoint (SEND, MINT): `Open` badges
    /// copies of it.
    clients: Option<Endpoint>,
}

/// The controls devmgr takes a PCI driver's line and BARs from (manifest
/// `pci`: `irqctl=`, `devmem=`).
pub struct PciControls {
    pub irq: IrqControl,
    pub devmem: OwnedHandle,
}

impl PciControls {
    /// The controls `init` gave, if it did.
    pub fn from_args() -> Option<PciControls> {
        Some(PciControls {
            irq: IrqControl(libsys::env::take_handle("irqctl")?),
            devmem: libsys::env::take_handle("devmem")?,
        })
    }
}

/// Every driver process, and the notification their deaths signal.
pub struct Processes {
    deaths: Notification,
    slots: Vec<DriverProcess>,
    pci: Option<PciControls>,
    /// devmgr's copy of each MSI it turned on, by device: the vector
    /// stays taken until the function is turned off (see `deaths`).
    msi: Vec<(String, Irq)>,
}

fn now_ms() -> u64 {
    libsys::time::uptime_ns() / 1_000_000
}

impl Processes {
    /// Binds a deaths notification to the calling thread (the server's).
    pub fn new(pci: Option<PciControls>) -> Result<Processes, libsys::abi::SysError> {
        let deaths = Notification::create()?;
        deaths.bind_current()?;
        Ok(Processes {
            deaths,
            slots: Vec::new(),
            pci,
            msi: Vec::new(),
        })
    }

    /// `Open` of `device` by client `badge`: a send handle to its running
    /// driver process, badged with `badge`, that may carry handles (the
    /// block server passes its notification so); the caller takes it
    /// over. Or
    /// `None` when no process of a PCI driver serves it now.
    pub fn open(&self, device: &str, badge: u64) -> Option<Result<OwnedHandle, DevError>> {
        let slot = self
            .slots
            .iter()
            .find(|s| s.device == device && s.process.is_some())?;
        let clients = slot.clients.as_ref()?;
        Some(
            clients
                .0
                .dup(Rights::SEND | Rights::GRANT, Some(badge))
                .map_err(|_| DevError::NoSpace),
        )
    }

    /// `EnableMsi` of `slot` by client `badge`: a vector from the kernel,
    /// programmed into the function's MSI capability; the caller takes
    /// over the returned copy of its handle, devmgr keeps one until the
    /// driver is gone. The service's errors; `NoVectors` when the kernel
    /// has none for devmgr (or devmgr holds no IRQ control).
    pub fn enable_msi<C: ConfigAccess>(
        &mut self,
        service: &mut Service<C>,
        slot: Slot,
        badge: u64,
    ) -> Result<(OwnedHandle, u8), DevError> {
        let (addr, cap) = service.msi_target(slot, badge)?;
        let controls = self.pci.as_ref().ok_or(DevError::NoVectors)?;
        let (irq, message) = controls.irq.msi().map_err(|e| {
            eprintln!("devmgr: {slot}: irq_msi_alloc: {e}");
            DevError::NoVectors
        })?;
        let copy = irq
            .0
            .dup(Rights::MANAGE, None)
            .map_err(|_| DevError::NoSpace)?;
        service.msi_enable(addr, &cap, &message)?;
        let vector = message.vector as u8;
        println!(
            "devmgr: {slot}: MSI on, vector {vector:#x} (message {:#x} <- {:#x})",
            message.address, message.data
        );
        self.msi.push((alloc::format!("{slot}"), irq));
        Ok((copy, vector))
    }

    /// `/proc/interrupts`: the service's users of each interrupt, with
    /// the kernel's counts (`irq_info` on a handle from the IRQ control,
    /// closed again; an MSI's through devmgr's copy).
    pub fn interrupts<C: ConfigAccess>(&self, service: &Service<C>) -> String {
        use devmgr::interrupts::{table, Chip, IrqRow};
        let users = service.irq_users();
        let mut rows = Vec::new();
        let line_row = |irq: Result<Irq, libsys::abi::SysError>, name: &String| {
            let info = irq.and_then(|irq| irq.info()).ok()?;
            Some(IrqRow {
                chip: Chip::IoApic {
                    gsi: info.gsi as u32,
                    level: info.level == 1,
                },
                count: info.count,
                names: alloc::vec![name.clone()],
            })
        };
        if let Some(controls) = &self.pci {
            for (isa, name) in &users.isa {
                rows.extend(line_row(controls.irq.isa(*isa), name));
            }
            for (gsi, name) in &users.gsi {
                rows.extend(line_row(controls.irq.gsi(*gsi), name));
            }
        }
        for (_, irq) in &self.msi {
            let Ok(info) = irq.info() else {
                continue;
            };
            let vector = info.vector as u8;
            let names = users
                .msi
                .iter()
                .filter(|(v, _)| *v == vector)
                .map(|(_, n)| n.clone())
                .collect();
            rows.push(IrqRow {
                chip: Chip::Msi { vector },
                count: info.count,
                names,
            });
        }
        table(&rows)
    }

    /// The earliest restart due (uptime ns).
    pub fn next_restart(&self) -> Option<u64> {
        self.slots.iter().filter_map(|s| s.restart_at).min()
    }

    /// Starts the probes the service queued and stops the processes it
    /// unbound.
    pub fn sync<C: ConfigAccess>(&mut self, service: &mut Service<C>) {
        for ctx in service.take_stops() {
            if let Some(slot) = self.find(&ctx) {
                let slot = &mut self.slots[slot];
                slot.stopping = true;
                slot.restart_at = None;
                if let Some(p) = &slot.process {
                    let _ = p.kill();
                }
            }
        }
        for ctx in service.take_probes() {
            self.start(service, &ctx);
        }
    }

    fn find(&self, ctx: &ProbeContext) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.driver.name == ctx.driver && s.device == ctx.device)
    }

    /// Starts `ctx`'s driver process; on failure the device is unbound
    /// again and a restart scheduled.
    fn start<C: ConfigAccess>(&mut self, service: &mut Service<C>, ctx: &ProbeContext) {
        let Some(driver) = drivers::find(&ctx.driver) else {
            return;
        };
        let i = match self.find(ctx) {
            Some(i) => i,
            None if self.slots.len() < PROCESSES_MAX => {
                self.slots.push(DriverProcess {
                    driver,
                    device: ctx.device.clone(),
                    process: None,
                    pid: 0,
                    backoff: Backoff::default(),
                    restart_at: None,
                    stopping: false,
                    clients: None,
                });
                self.slots.len() - 1
            }
            None => {
                eprintln!(
                    "devmgr: {} driver processes already; {} not started",
                    PROCESSES_MAX, ctx.device
                );
                return;
            }
        };
        let started = match driver.bus {
            BusType::Pci => match (&self.pci, service.pci_info_named(&ctx.device)) {
                (Some(controls), Some(info)) => {
                    let gsi = service.intx_gsi(&ctx.device);
                    spawn_pci_driver(driver, &info, gsi, controls)
                }
                (None, _) => Err((
                    "devmgr holds no PCI controls (manifest `pci`)".into(),
                    false,
                )),
                (_, None) => Err(("not a PCI function".into(), false)),
            },
            _ => spawn_driver(driver, ctx).map(|(pid, p)| (pid, p, None)),
        };
        match started {
            Ok((pid, process, clients)) => {
                if let Err(e) = process.watch(&self.deaths, 1 << i) {
                    eprintln!("devmgr: cannot watch {} (pid {pid}): {e}", driver.module);
                }
                println!(
                    "devmgr: bound {} to {} (pid {pid})",
                    ctx.device, driver.name
                );
                let slot = &mut self.slots[i];
                slot.process = Some(process);
                slot.clients = clients;
                slot.pid = pid;
                slot.stopping = false;
                slot.restart_at = None;
                slot.backoff.started(now_ms());
                service.driver_started(driver.name, &ctx.device, pid);
            }
            Err((why, again)) => {
                let _ = service.driver_gone(driver.name, driver.bus, &ctx.device);
                let slot = &mut self.slots[i];
                if !again {
                    eprintln!(
                        "devmgr: cannot start {} for {}: {why}; not retried",
                        driver.module, ctx.device
                    );
                    return;
                }
                slot.backoff.started(now_ms());
                let delay = slot.backoff.died(now_ms());
                eprintln!(
                    "devmgr: cannot start {} for {}: {why}; again in {delay} ms",
                    driver.module, ctx.device
                );
                slot.restart_at = Some(libsys::time::uptime_ns() + delay * 1_000_000);
            }
        }
    }

    /// The deaths notification's `bits`: each process that ended is
    /// unbound and, unless it was stopped on purpose, restarted later.
    pub fn deaths<C: ConfigAccess>(&mut self, service: &mut Service<C>, bits: u64) {
        for i in 0..self.slots.len() {
            if bits & (1 << i) == 0 {
                continue;
            }
            let slot = &mut self.slots[i];
            let status = match &slot.process {
                Some(p) => p.status(),
                None => continue,
            };
            let why = match status {
                Ok(ProcessStatus::Alive) => continue,
                Ok(ProcessStatus::Exited(v)) => alloc::format!("exited with status {v}"),
                Ok(ProcessStatus::Killed(by)) => alloc::format!("was killed by process {by}"),
                Ok(ProcessStatus::Fault(v)) => alloc::format!("was killed by exception {v}"),
                Ok(ProcessStatus::BusError(a)) => {
                    alloc::format!("was killed by a bus error at {a:#x}")
                }
                Err(e) => alloc::format!("is gone ({e})"),
            };
            slot.process = None;
            // Its clients get `PeerDied`; the device stops mastering the
            // bus before mm frees the driver's DMA pages.
            slot.clients = None;
            if slot.driver.bus == BusType::Pci && service.stop_device(&slot.device) {
                println!("devmgr: {}: bus mastering off", slot.device);
            }
            // MSI off before the vector is given back (devmgr's copy of
            // its handle was the last: the driver's died with it).
            if let Some(vector) = service.msi_disable(&slot.device) {
                self.msi.retain(|(device, _)| *device != slot.device);
                println!(
                    "devmgr: {}: MSI off (vector {vector:#x} freed)",
                    slot.device
                );
            }
            if slot.stopping {
                println!("devmgr: {} (pid {}) stopped", slot.driver.module, slot.pid);
                slot.stopping = false;
                continue;
            }
            let delay = slot.backoff.died(now_ms());
            eprintln!(
                "devmgr: driver {} for {} (pid {}) {why}; restart in {delay} ms",
                slot.driver.module, slot.device, slot.pid
            );
            slot.restart_at = Some(libsys::time::uptime_ns() + delay * 1_000_000);
            let (name, bus, device) = (slot.driver.name, slot.driver.bus, slot.device.clone());
            if let Err(e) = service.driver_gone(name, bus, &device) {
                eprintln!("devmgr: unbind {device}: {e:?}");
            }
        }
    }

    /// Binds again the devices whose restart is due (a new probe each,
    /// started by [`Processes::sync`]).
    pub fn restart_due<C: ConfigAccess>(&mut self, service: &mut Service<C>) {
        let now = libsys::time::uptime_ns();
        for slot in &mut self.slots {
            if slot.restart_at.is_some_and(|at| at <= now) {
                slot.restart_at = None;
                if let Err(e) = service.rebind(slot.driver.name, slot.driver.bus, &slot.device) {
                    eprintln!("devmgr: bind {} again: {e:?}", slot.device);
                }
            }
        }
        self.sync(service);
    }
}

/// Asks `init` for `driver`'s process with `ctx`'s resources: a copy of
/// devmgr's interrupt line (if it is the device's) and a handle to each
/// of the device's port ranges, exactly. The error says why and whether
/// trying again later may help (not when devmgr lacks the resources or
/// the boot has no such module).
fn spawn_driver(
    driver: &DriverBinary,
    ctx: &ProbeContext,
) -> Result<(u64, Process), (String, bool)> {
    let never = |why: String| (why, false);
    let mut handles = Vec::new();
    let mut ports: Vec<IoPorts> = Vec::new();
    if let Some(line) = ctx.irq {
        let irq = libsys::env::irq_line()
            .ok_or_else(|| never("devmgr holds no interrupt line".into()))?;
        let gsi = irq
            .info()
            .map_err(|e| never(alloc::format!("irq_info: {e}")))?
            .gsi;
        // ISA lines below 16 are identity-routed on QEMU's machines
        // unless the MADT overrides them (it does for IRQ 0 alone).
        if gsi != u64::from(line) {
            return Err(never(alloc::format!(
                "devmgr holds GSI {gsi}, not the device's IRQ {line}"
            )));
        }
        handles.push(irq.raw());
    }
    for r in ctx
        .resources
        .iter()
        .filter(|r| r.flags & IORESOURCE_IO != 0)
    {
        let (first, count) = (r.start as u16, (r.end - r.start + 1) as u32);
        let all = libsys::env::io_ports(first, count)
            .ok_or_else(|| never(alloc::format!("devmgr holds no ports {first:#x}+{count}")))?;
        let part = all
            .derive(first, count)
            .map_err(|e| (alloc::format!("ports {first:#x}+{count}: {e}"), true))?;
        handles.push(part.raw());
        ports.push(part);
    }
    let mut request =
        Spawn::module(driver.module).ok_or_else(|| never("module name too long".into()))?;
    request.handles = handles.len() as u8;
    request.name = driver
        .module
        .try_into()
        .map_err(|_| never("name too long".into()))?;
    // The copies went to the child; ours (`ports`) close here.
    spawn(&request, &handles).map_err(|e| {
        let again = !matches!(
            e,
            ClientError::Refused(SpawnError::UnknownImage | SpawnError::NotPermitted)
        );
        (alloc::format!("{e}"), again)
    })
}

/// Asks `init` for PCI driver `driver`'s process for function `info`:
/// `h0` its clients' endpoint (receive), `h1` its INTx line (`gsi`,
/// configured level-triggered, active-high as QEMU's `_PRT` says), `h2`..
/// each BAR (a device-memory region, or a port range devmgr holds), at
/// most [`libsys::abi::ipc::MAX_HANDLES`] in all. Returns the pid, the
/// process and the send copy of the endpoint devmgr keeps.
fn spawn_pci_driver(
    driver: &DriverBinary,
    info: &PciInfo,
    gsi: Option<u32>,
    controls: &PciControls,
) -> Result<(u64, Process, Option<Endpoint>), (String, bool)> {
    let never = |why: String| (why, false);
    let again = |why: String| (why, true);
    let gsi = gsi.ok_or_else(|| never(alloc::format!("{}: no routed INTx line", info.slot)))?;
    let irq = controls
        .irq
        .gsi(gsi)
        .map_err(|e| never(alloc::format!("GSI {gsi}: {e}")))?;
    irq.configure(Trigger::Level, Polarity::High)
        .map_err(|e| never(alloc::format!("GSI {gsi}: irq_configure: {e}")))?;
    let endpoint = Endpoint::create().map_err(|e| again(alloc::format!("endpoint: {e}")))?;
    let clients = endpoint
        .dup(Rights::SEND | Rights::MINT | Rights::GRANT, None)
        .map_err(|e| again(alloc::format!("endpoint copy: {e}")))?;
    let mut handles: Vec<Handle> = alloc::vec![endpoint.raw(), irq.raw()];
    // Held until the spawn copied them to the child.
    let mut regions: Vec<MemoryRegion> = Vec::new();
    let mut ranges: Vec<IoPorts> = Vec::new();
    let mut bars = String::new();
    for bar in &info.bars {
        if bar.io && !driver.port_bars {
            continue;
        }
        if handles.len() == libsys::abi::ipc::MAX_HANDLES {
            break;
        }
        if bar.io {
            let (first, count) = (bar.start as u16, bar.size as u32);
            let all = libsys::env::io_ports(first, count)
                .ok_or_else(|| never(alloc::format!("devmgr holds no ports {first:#x}+{count}")))?;
            let part = all
                .derive(first, count)
                .map_err(|e| again(alloc::format!("ports {first:#x}+{count}: {e}")))?;
            handles.push(part.raw());
            ranges.push(part);
        } else {
            let base = bar.start & !0xfff;
            let pages = (bar.start + bar.size - base).div_ceil(4096);
            let region = MemoryRegion::device(controls.devmem.raw(), base, pages)
                .map_err(|e| never(alloc::format!("BAR {} at {base:#x}: {e}", bar.index)))?;
            handles.push(region.raw());
            regions.push(region);
        }
        if !bars.is_empty() {
            bars.push(',');
        }
        bars += &alloc::format!("{}", bar.index);
    }
    let mut request =
        Spawn::module(driver.module).ok_or_else(|| never("module name too long".into()))?;
    for arg in [
        alloc::format!("dev={}", info.slot),
        alloc::format!("bars={bars}"),
    ] {
        let arg = arg
            .as_str()
            .try_into()
            .map_err(|_| never("argument too long".into()))?;
        request
            .args
            .push(arg)
            .map_err(|_| never("too many arguments".into()))?;
    }
    request.handles = handles.len() as u8;
    request.name = driver
        .module
        .try_into()
        .map_err(|_| never("name too long".into()))?;
    let (pid, process) = spawn(&request, &handles).map_err(|e| {
        let again = !matches!(
            e,
            ClientError::Refused(SpawnError::UnknownImage | SpawnError::NotPermitted)
        );
        (alloc::format!("{e}"), again)
    })?;
    // Ours of the endpoint (with RECV), the line and the BARs close here:
    // only the driver can receive from the endpoint, so its death fails
    // its clients' calls.
    Ok((pid, process, Some(clients)))
}
