//! The server's logic: the device model, PCI and sysfs behind the
//! `devmgr` protocol (`libsys::proto::devmgr`), with no system call in it
//! — the binary (`main.rs`) gives it configuration space through the
//! ports, the tests through recorded dumps.
//!
//! [`Service::start`] is devmgr's boot: it enumerates every PCI bus and
//! function, registers each function on the `pci` bus under
//! `/devices/pci0000:00`, and the legacy devices on the `platform` bus
//! under `/devices/platform`; it returns one log line per device.
//!
//! **Process drivers.** The drivers of the driver table
//! (`crate::drivers`) are registered at boot
//! ([`Service::register_process_driver`]); their probe queues the device
//! for the binary to start a driver process ([`Service::take_probes`]),
//! and the binary reports the process's pid ([`Service::driver_started`])
//! and its death ([`Service::driver_gone`]: `unbind`), and binds again
//! after the back-off ([`Service::rebind`]: `bind`).
//!
//! **Other drivers are clients.** A
//! client registers a driver with its ID table; the model probes it, and
//! [`ClientDrivers`] (the [`DriverHost`]) accepts every device of a driver
//! it knows the owner of. The owner's badge is what opens a bound
//! device's configuration space: `ConfigRead`/`ConfigWrite` of a function
//! whose driver is not the caller's get `NotAllowed`, as do writes of the
//! BARs and the expansion ROM (the resources devmgr recorded and would
//! grant must stay true). Each client holds at most
//! [`DRIVERS_PER_CLIENT`] drivers and one uevent queue of
//! [`UEVENT_QUEUE`] events.
//!
//! **Waiting for uevents.** `WaitUevent` with an empty queue is not
//! answered at once: [`Service::request`] says [`Outcome::Wait`], the
//! binary saves the reply right, and [`Service::woken`] hands it the
//! answers once events have come (after each request that may have made
//! some). One waiter per client, so the saved replies are bounded by the
//! subscribers. Through the plain [`Server`] trait (which cannot defer)
//! `WaitUevent` is `NextUevent`.
//!
//! **Class devices** (`crate::classdev`): a server adds the devices it
//! serves (disks, partitions, terminals) to a class, with their numbers;
//! each is its adder's, bounded per client, and a driver process's go
//! when it dies.
//!
//! Writing a driver's `bind`/`unbind` is open to every client: there are
//! no users yet, so every client is what `root` would be in Linux.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use libsys::later::Later;
use libsys::proto::devmgr::{
    BarInfo, Bus, DevError, IdMatch, Name, PciInfo, Reply, Request, Slot, Text, CAPS_MAX,
    DRIVERS_PER_CLIENT, LIST_MAX, TEXT_MAX, UEVENT_QUEUE,
};
use libsys::server::{Answer, Caller, Server};

use crate::bind::{DriverHost, ProbeContext, ProbeOutcome};
use crate::classdev::ClassDevices;
use crate::drivers::DriverBinary;
use crate::ids::{DeviceMatch, PCI_ANY_ID};
use crate::kobject::ObjectId;
use crate::model::{BusType, DeviceModel, DeviceSpec, ModelError, ProbeError};
use crate::pci::bar::Bar;
use crate::pci::enumerate::{enumerate, PciFunction};
use crate::pci::names::lspci_line;
use crate::pci::route::{intx_gsi, Chipset};
use crate::pci::{read_u16, reg, write_u16, ConfigAccess, PciAddress};
use crate::platform::LEGACY_DEVICES;
use crate::sysfs::SysfsError;
use crate::uevent::SubscriberId;

mod irqs;
mod msi;

pub use irqs::IrqUsers;

/// The driver host while drivers are clients: who owns each driver.
#[derive(Default)]
pub struct ClientDrivers {
    /// Driver name → the badge of the client that registered it (for a
    /// process driver: its process's pid, once started).
    owners: BTreeMap<String, u64>,
    /// The drivers devmgr runs as processes (`crate::drivers`).
    processes: BTreeSet<String>,
    /// Device name → the pid of the process driver instance serving it
    /// (one process per device: two virtio disks, two processes).
    instances: BTreeMap<String, u64>,
    /// Probes of process drivers not started yet (the binary starts
    /// them: [`Service::take_probes`]).
    probes: Vec<ProbeContext>,
    /// Process drivers removed from their device (sysfs `unbind`) whose
    /// process the binary must stop ([`Service::take_stops`]).
    stops: Vec<ProbeContext>,
}

impl ClientDrivers {
    /// The badge of the client owning `driver`.
    pub fn owner(&self, driver: &str) -> Option<u64> {
        self.owners.get(driver).copied()
    }

    fn count(&self, badge: u64) -> usize {
        self.owners.values().filter(|&&b| b == badge).count()
    }
}

impl DriverHost for ClientDrivers {
    /// A client's driver takes every device its table matched: the
    /// client asked for them by registering.
    ///
    /// A process driver's probe is queued for the binary to start its
    /// process: the device is bound meanwhile.
    fn probe(&mut self, ctx: &ProbeContext) -> Result<ProbeOutcome, ProbeError> {
        if self.processes.contains(&ctx.driver) {
            self.probes.push(ctx.clone());
            return Ok(ProbeOutcome::default());
        }
        if self.owners.contains_key(&ctx.driver) {
            Ok(ProbeOutcome::default())
        } else {
            Err(ProbeError::NoDevice)
        }
    }

    /// Nothing to stop: the client keeps running, without the device. A
    /// process driver's unstarted probe is dropped; a started one is
    /// queued for the binary to stop its process.
    fn remove(&mut self, ctx: &ProbeContext) {
        let queued = self.probes.len();
        self.probes
            .retain(|p| !(p.driver == ctx.driver && p.device == ctx.device));
        if self.processes.contains(&ctx.driver) && self.probes.len() == queued {
            self.stops.push(ctx.clone());
        }
    }
}

/// The device manager: the model, what enumeration found, the clients'
/// drivers and uevent subscriptions.
pub struct Service<C: ConfigAccess> {
    config: C,
    model: DeviceModel,
    host: ClientDrivers,
    /// Every PCI function found, with its device in the model.
    functions: BTreeMap<PciAddress, (PciFunction, ObjectId)>,
    /// Each subscribed client's queue.
    subscribers: BTreeMap<u64, SubscriberId>,
    /// The clients whose `WaitUevent` waits for an event.
    waiting: BTreeSet<u64>,
    /// The class devices clients added, and whose they are.
    classes: ClassDevices,
    /// The functions whose MSI devmgr turned on, and their vectors.
    msi: BTreeMap<PciAddress, u8>,
}

/// What a request gets: its reply now, or later (see [`Service::woken`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Reply(Reply),
    /// Keep the caller's reply right: the answer comes from `woken`.
    Wait,
}

fn bus_type(bus: Bus) -> BusType {
    match bus {
        Bus::Pci => BusType::Pci,
        Bus::Platform => BusType::Platform,
        Bus::Virtio => BusType::Virtio,
    }
}

fn model_error(e: ModelError) -> DevError {
    match e {
        ModelError::InvalidName => DevError::InvalidName,
        ModelError::NameExists => DevError::NameExists,
        ModelError::NoSuchDevice => DevError::NoSuchDevice,
        ModelError::NoSuchDriver => DevError::NoSuchDriver,
        ModelError::BusMismatch => DevError::BusMismatch,
        ModelError::NoMatch => DevError::NoMatch,
        ModelError::AlreadyBound => DevError::AlreadyBound,
        ModelError::NotBound => DevError::NotBound,
        ModelError::ProbeFailed(_) => DevError::ProbeFailed,
        ModelError::TooDeep | ModelError::TableTooLarge | ModelError::NoSpace => DevError::NoSpace,
        ModelError::Uevent(_) => DevError::TooManySubscribers,
    }
}

fn sysfs_error(e: SysfsError) -> DevError {
    match e {
        SysfsError::NotFound | SysfsError::PathTooLong => DevError::NotFound,
        SysfsError::IsDirectory => DevError::IsDirectory,
        SysfsError::NotDirectory => DevError::NotDirectory,
        SysfsError::WriteOnly => DevError::WriteOnly,
        SysfsError::ReadOnly => DevError::ReadOnly,
        SysfsError::InvalidValue => DevError::InvalidValue,
        SysfsError::Model(m) => model_error(m),
    }
}

/// A page of `names` from `start`. `TooLong` for a name over `NAME_MAX`.
fn page<'a>(names: impl Iterator<Item = &'a str>, start: u32) -> Reply {
    let all: Vec<&str> = names.collect();
    let mut out = heapless::Vec::new();
    for name in all.iter().skip(start as usize).take(LIST_MAX) {
        let Ok(name) = Name::try_from(*name) else {
            return Reply::Error(DevError::TooLong);
        };
        // `take(LIST_MAX)` keeps it within capacity.
        let _ = out.push(name);
    }
    Reply::Names {
        names: out,
        total: all.len() as u32,
    }
}

/// The longest prefix of `text` that fits a `Text`, cut at a character.
fn clipped(text: &str) -> Text {
    let mut end = text.len().min(TEXT_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Text::try_from(&text[..end]).unwrap_or_default()
}

impl<C: ConfigAccess> Service<C> {
    /// Enumerates PCI through `config`, registers what it found and the
    /// legacy devices; returns the service and one log line per device
    /// (`lspci -nn` style for PCI). A device the model refuses is logged
    /// as such and left out.
    pub fn start(mut config: C) -> (Self, Vec<String>) {
        let mut model = DeviceModel::new();
        let mut host = ClientDrivers::default();
        let mut log = Vec::new();
        let mut functions = BTreeMap::new();
        let root = |model: &mut DeviceModel, host: &mut ClientDrivers, name: &str| {
            model.device_add(DeviceSpec::new(name), host).ok()
        };
        let pci_root = root(&mut model, &mut host, "pci0000:00");
        for f in enumerate(&mut config, 0) {
            match model.device_add(f.device_spec(pci_root), &mut host) {
                Ok(id) => {
                    log.push(lspci_line(&f.header));
                    functions.insert(f.header.address, (f, id));
                }
                Err(e) => log.push(alloc::format!(
                    "{}: not registered: {e:?}",
                    f.header.address
                )),
            }
        }
        let platform_root = root(&mut model, &mut host, "platform");
        for d in LEGACY_DEVICES {
            match model.device_add(d.device_spec(platform_root), &mut host) {
                Ok(_) => log.push(d.log_line()),
                Err(e) => log.push(alloc::format!("{}: not registered: {e:?}", d.name)),
            }
        }
        let service = Service {
            config,
            model,
            host,
            functions,
            subscribers: BTreeMap::new(),
            waiting: BTreeSet::new(),
            classes: ClassDevices::default(),
            msi: BTreeMap::new(),
        };
        (service, log)
    }

    /// Registers `driver` (of the driver table) as a driver devmgr runs as
    /// a process; the devices it matches are probed (see
    /// [`Service::take_probes`]). `NameExists` if a client took the name.
    pub fn register_process_driver(&mut self, driver: &DriverBinary) -> Result<(), ModelError> {
        if self.host.owners.contains_key(driver.name) || self.host.processes.contains(driver.name) {
            return Err(ModelError::NameExists);
        }
        self.host.processes.insert(driver.name.into());
        let platform = driver
            .platform_ids
            .iter()
            .map(|&n| DeviceMatch::Platform(n.into()));
        let pci = driver
            .pci_ids
            .iter()
            .map(|&(vendor, device)| DeviceMatch::pci_device(vendor, device));
        let table = platform.chain(pci).collect();
        let result = self
            .model
            .driver_register(driver.name, driver.bus, table, &mut self.host);
        if result.is_err() {
            self.host.processes.remove(driver.name);
        }
        result.map(|_| ())
    }

    /// The probes of process drivers to start, oldest first.
    pub fn take_probes(&mut self) -> Vec<ProbeContext> {
        core::mem::take(&mut self.host.probes)
    }

    /// The process drivers to stop (unbound through sysfs), oldest first.
    pub fn take_stops(&mut self) -> Vec<ProbeContext> {
        core::mem::take(&mut self.host.stops)
    }

    /// `driver`'s process for `device` runs as `pid`: its badge opens the
    /// device's configuration space (that device's only: each device has
    /// a process of its own), as a client driver's does.
    pub fn driver_started(&mut self, driver: &str, device: &str, pid: u64) {
        if self.host.processes.contains(driver) {
            self.host.instances.insert(device.into(), pid);
        }
    }

    /// `driver`'s process for `device` is gone (died, or never started):
    /// the device is unbound (`unbind` uevent). `NoSuchDevice`,
    /// `NotBound`.
    pub fn driver_gone(
        &mut self,
        driver: &str,
        bus: BusType,
        device: &str,
    ) -> Result<(), ModelError> {
        if let Some(pid) = self.host.instances.remove(device) {
            self.client_gone(pid);
        }
        let dev = self
            .model
            .find_bus_device(bus, device)
            .ok_or(ModelError::NoSuchDevice)?;
        self.model.unbind(dev, &mut self.host)?;
        // Its process is gone already: nothing to stop.
        self.host
            .stops
            .retain(|p| !(p.driver == driver && p.device == device));
        Ok(())
    }

    /// Client `badge` died: its class devices go (`remove` uevents).
    /// Returns their names.
    pub fn client_gone(&mut self, badge: u64) -> Vec<String> {
        self.classes
            .client_gone(&mut self.model, &mut self.host, badge)
    }

    /// Binds `device` to process driver `driver` again (`bind` uevent): a
    /// new probe to start. The model's errors (`AlreadyBound` if someone
    /// bound it through sysfs meanwhile).
    pub fn rebind(&mut self, driver: &str, bus: BusType, device: &str) -> Result<(), ModelError> {
        let dev = self
            .model
            .find_bus_device(bus, device)
            .ok_or(ModelError::NoSuchDevice)?;
        let drv = self
            .model
            .find_driver(bus, driver)
            .ok_or(ModelError::NoSuchDriver)?;
        self.model.bind(drv, dev, &mut self.host)
    }

    /// The PCI function named `device` (`0000:00:04.0`), if there is one.
    fn function_named(&self, device: &str) -> Option<&(PciFunction, ObjectId)> {
        let slot = Slot::parse(device)?;
        self.function(slot).ok()
    }

    /// The GSI PCI function `device`'s INTx pin reaches on this machine
    /// (told by the host bridge at 00:00.0; `crate::pci::route`), or `None`
    /// (no pin, or routing not known).
    pub fn intx_gsi(&self, device: &str) -> Option<u32> {
        let (f, _) = self.function_named(device)?;
        let host = PciAddress::new(0, 0, 0, 0).ok()?;
        let chipset = self
            .functions
            .get(&host)
            .map_or(Chipset::Unknown, |(b, _)| {
                Chipset::of_host_bridge(b.header.vendor_id, b.header.device_id)
            });
        let (a, h) = (f.header.address, &f.header);
        intx_gsi(
            chipset,
            a.bus(),
            a.device(),
            h.interrupt_pin,
            h.interrupt_line,
        )
    }

    /// Turns off bus mastering (and memory and I/O decoding) of PCI
    /// function `device`: its driver died, and the device must not reach
    /// memory `mm` is about to free (there is no IOMMU). Whether it was a
    /// PCI function.
    pub fn stop_device(&mut self, device: &str) -> bool {
        let Some((f, _)) = self.function_named(device) else {
            return false;
        };
        let addr = f.header.address;
        let command = read_u16(&mut self.config, addr, reg::COMMAND);
        let off = reg::COMMAND_MASTER | reg::COMMAND_MEMORY | reg::COMMAND_IO;
        write_u16(&mut self.config, addr, reg::COMMAND, command & !off);
        true
    }

    /// The PCI information of function `device` (`0000:00:04.0`).
    pub fn pci_info_named(&self, device: &str) -> Option<PciInfo> {
        self.pci_info(Slot::parse(device)?).ok()
    }

    /// The model, for inspection.
    pub fn model(&self) -> &DeviceModel {
        &self.model
    }

    fn function(&self, slot: Slot) -> Result<&(PciFunction, ObjectId), DevError> {
        let addr = PciAddress::new(0, slot.bus, slot.device, slot.function)
            .map_err(|_| DevError::NoSuchDevice)?;
        self.functions.get(&addr).ok_or(DevError::NoSuchDevice)
    }

    fn pci_info(&self, slot: Slot) -> Result<PciInfo, DevError> {
        let (f, id) = self.function(slot)?;
        let h = &f.header;
        let ident = h.ident();
        let mut bars = heapless::Vec::new();
        for (index, bar) in f.bars.iter().enumerate() {
            let info = match *bar {
                Some(Bar::Io { port, size }) => BarInfo {
                    index: index as u8,
                    io: true,
                    start: port.into(),
                    size: size.into(),
                    prefetchable: false,
                    is_64bit: false,
                },
                Some(Bar::Memory {
                    address,
                    size,
                    prefetchable,
                    is_64bit,
                }) => BarInfo {
                    index: index as u8,
                    io: false,
                    start: address,
                    size,
                    prefetchable,
                    is_64bit,
                },
                None => continue,
            };
            // At most six slots: within capacity.
            let _ = bars.push(info);
        }
        let capabilities = f
            .capabilities
            .iter()
            .take(CAPS_MAX)
            .map(|c| (c.id, c.offset))
            .collect();
        Ok(PciInfo {
            slot,
            vendor: ident.vendor,
            device: ident.device,
            subvendor: ident.subvendor,
            subdevice: ident.subdevice,
            class: ident.class,
            revision: ident.revision,
            header_type: h.header_type,
            interrupt_pin: h.interrupt_pin,
            interrupt_line: h.interrupt_line,
            bars,
            capabilities,
            msi_vectors: f.msi.map(|m| m.max_vectors),
            msix_entries: f.msix.map(|m| m.table_size),
            driver: self
                .model
                .driver_name(*id)
                .and_then(|d| Name::try_from(d).ok()),
        })
    }

    /// The function at `slot`, if a driver of `badge` is bound to it.
    /// `NoSuchDevice`, `NotAllowed`, `BadOffset`.
    fn own_function(&self, slot: Slot, offset: u16, badge: u64) -> Result<PciAddress, DevError> {
        let (f, id) = self.function(slot)?;
        let owner = match self.model.driver_name(*id) {
            Some(d) if self.host.processes.contains(d) => {
                let device = self.model.name(*id).unwrap_or("");
                self.host.instances.get(device).copied()
            }
            Some(d) => self.host.owner(d),
            None => None,
        };
        if owner != Some(badge) {
            return Err(DevError::NotAllowed);
        }
        if offset >= 256 || !offset.is_multiple_of(4) {
            return Err(DevError::BadOffset);
        }
        Ok(f.header.address)
    }

    fn config_write(&mut self, slot: Slot, offset: u16, value: u32, badge: u64) -> Reply {
        let addr = match self.own_function(slot, offset, badge) {
            Ok(a) => a,
            Err(e) => return Reply::Error(e),
        };
        // The BARs and the expansion ROM (0x30 in type 0, 0x38 in type 1)
        // stay where enumeration found them.
        if (0x10..0x28).contains(&offset) || offset == 0x30 || offset == 0x38 {
            return Reply::Error(DevError::NotAllowed);
        }
        // The MSI capability is devmgr's to program (`EnableMsi`): a
        // driver could otherwise aim its function at any vector.
        if self.msi_registers(addr, offset) {
            return Reply::Error(DevError::NotAllowed);
        }
        self.config.write_dword(addr, offset, value);
        Reply::Done
    }

    fn register_driver(
        &mut self,
        name: &str,
        bus: Bus,
        ids: &[IdMatch],
        badge: u64,
    ) -> Result<Reply, DevError> {
        if self.host.count(badge) >= DRIVERS_PER_CLIENT {
            return Err(DevError::TooManyDrivers);
        }
        // Names are unique across buses: the host knows drivers by name.
        if self.host.owners.contains_key(name) {
            return Err(DevError::NameExists);
        }
        let table: Vec<DeviceMatch> = ids
            .iter()
            .map(|id| match id {
                IdMatch::Pci {
                    vendor,
                    device,
                    class,
                    class_mask,
                } => DeviceMatch::Pci {
                    vendor: *vendor,
                    device: *device,
                    subvendor: PCI_ANY_ID,
                    subdevice: PCI_ANY_ID,
                    class: *class,
                    class_mask: *class_mask,
                },
                IdMatch::Platform(n) => DeviceMatch::Platform(n.as_str().into()),
            })
            .collect();
        self.host.owners.insert(name.into(), badge);
        match self
            .model
            .driver_register(name, bus_type(bus), table, &mut self.host)
        {
            Ok(drv) => {
                let bound = self.model.bound_devices(drv).map_or(0, <[_]>::len);
                Ok(Reply::Bound(bound as u32))
            }
            Err(e) => {
                self.host.owners.remove(name);
                Err(model_error(e))
            }
        }
    }

    fn unregister_driver(&mut self, name: &str, bus: Bus, badge: u64) -> Result<Reply, DevError> {
        let drv = self
            .model
            .find_driver(bus_type(bus), name)
            .ok_or(DevError::NoSuchDriver)?;
        if self.host.owner(name) != Some(badge) {
            return Err(DevError::NotAllowed);
        }
        self.model
            .driver_unregister(drv, &mut self.host)
            .map_err(model_error)?;
        self.host.owners.remove(name);
        Ok(Reply::Done)
    }

    fn subscribe(&mut self, badge: u64) -> Result<Reply, DevError> {
        if !self.subscribers.contains_key(&badge) {
            let id = self
                .model
                .subscribe(UEVENT_QUEUE)
                .map_err(|_| DevError::TooManySubscribers)?;
            self.subscribers.insert(badge, id);
        }
        Ok(Reply::Done)
    }

    fn next_uevent(&mut self, badge: u64) -> Result<Reply, DevError> {
        let id = *self
            .subscribers
            .get(&badge)
            .ok_or(DevError::NotSubscribed)?;
        let event = self.model.recv_uevent(id).map_err(model_error)?;
        let dropped = self.model.dropped_uevents(id).map_err(model_error)?;
        Ok(Reply::Uevent {
            event: event.map(|e| clipped(&e.to_netlink())),
            dropped,
        })
    }

    /// Handles `request` from the client `badge`, deferring a
    /// `WaitUevent` that finds no event queued.
    pub fn request(&mut self, request: Request, badge: u64) -> Outcome {
        if request != Request::WaitUevent {
            return Outcome::Reply(self.answer(request, badge));
        }
        match self.next_uevent(badge) {
            Ok(Reply::Uevent { event: None, .. }) if self.waiting.contains(&badge) => {
                Outcome::Reply(Reply::Error(DevError::AlreadyWaiting))
            }
            Ok(Reply::Uevent { event: None, .. }) => {
                self.waiting.insert(badge);
                Outcome::Wait
            }
            Ok(reply) => Outcome::Reply(reply),
            Err(e) => Outcome::Reply(Reply::Error(e)),
        }
    }

    /// The answers now due to waiting clients: an event for those whose
    /// queue has one, `NotSubscribed` for those who unsubscribed.
    pub fn woken(&mut self) -> Vec<(u64, Reply)> {
        let mut due = Vec::new();
        for badge in self.waiting.clone() {
            let reply = match self.next_uevent(badge) {
                Ok(Reply::Uevent { event: None, .. }) => continue,
                Ok(reply) => reply,
                Err(e) => Reply::Error(e),
            };
            self.waiting.remove(&badge);
            due.push((badge, reply));
        }
        due
    }

    /// Forgets a waiter whose reply right could not be kept.
    pub fn cancel_wait(&mut self, badge: u64) {
        self.waiting.remove(&badge);
    }

    fn unsubscribe(&mut self, badge: u64) -> Result<Reply, DevError> {
        let id = self
            .subscribers
            .remove(&badge)
            .ok_or(DevError::NotSubscribed)?;
        self.model.unsubscribe(id).map_err(model_error)?;
        Ok(Reply::Done)
    }

    fn list_devices(&self, bus: Bus, start: u32) -> Reply {
        let ids = self.model.bus_devices(bus_type(bus));
        page(ids.iter().filter_map(|&d| self.model.name(d)), start)
    }

    fn read(&self, path: &str) -> Result<Reply, DevError> {
        if let Some(text) = self.msi_sysfs_read(path) {
            return text;
        }
        let text = self.model.sysfs_read(path).map_err(sysfs_error)?;
        Text::try_from(text.as_str())
            .map(Reply::Text)
            .map_err(|_| DevError::TooLong)
    }

    fn list(&self, path: &str, start: u32) -> Result<Reply, DevError> {
        if let Some(names) = self.msi_sysfs_list(path) {
            return Ok(page(names.iter().map(String::as_str), start));
        }
        let mut names = self.model.sysfs_list(path).map_err(sysfs_error)?;
        names.extend(self.msi_sysfs_entry(path));
        Ok(page(names.iter().map(String::as_str), start))
    }

    fn write(&mut self, path: &str, value: &[u8]) -> Result<Reply, DevError> {
        self.model
            .sysfs_write(path, value, &mut self.host)
            .map_err(sysfs_error)?;
        Ok(Reply::Done)
    }
}

impl<C: ConfigAccess> Server for Service<C> {
    type Request = Request;
    type Reply = Reply;

    /// Always answers now: `WaitUevent` through this trait does not wait
    /// (the binary's own loop, through [`Service::request`], does).
    fn handle(
        &mut self,
        request: Request,
        from: Caller,
        _later: &mut Later<Reply>,
    ) -> Answer<Reply> {
        Answer::Now(self.answer(request, from.badge))
    }
}

impl<C: ConfigAccess> Service<C> {
    /// One request answered at once.
    fn answer(&mut self, request: Request, badge: u64) -> Reply {
        let result = match request {
            Request::ListDevices { bus, start } => Ok(self.list_devices(bus, start)),
            Request::PciInfo { slot } => self.pci_info(slot).map(Reply::Pci),
            Request::Read { path } => self.read(&path),
            Request::List { path, start } => self.list(&path, start),
            Request::Write { path, value } => self.write(&path, &value),
            Request::RegisterDriver { name, bus, ids } => {
                self.register_driver(&name, bus, &ids, badge)
            }
            Request::UnregisterDriver { name, bus } => self.unregister_driver(&name, bus, badge),
            Request::Subscribe => self.subscribe(badge),
            Request::NextUevent | Request::WaitUevent => self.next_uevent(badge),
            Request::Unsubscribe => self.unsubscribe(badge),
            Request::ConfigRead { slot, offset } => self
                .own_function(slot, offset, badge)
                .map(|addr| Reply::Config(self.config.read_dword(addr, offset))),
            Request::ConfigWrite {
                slot,
                offset,
                value,
            } => Ok(self.config_write(slot, offset, value, badge)),
            // The binary answers an `Open` of a device whose driver
            // process runs (it holds the handles); this is every other.
            Request::Open { device } => {
                let known = [BusType::Pci, BusType::Platform, BusType::Virtio]
                    .into_iter()
                    .any(|bus| self.model.find_bus_device(bus, &device).is_some());
                Err(if known {
                    DevError::NotRunning
                } else {
                    DevError::NoSuchDevice
                })
            }
            Request::AddClassDevice(device) => self
                .classes
                .add(&mut self.model, &mut self.host, &device, badge)
                .map(|_| Reply::Done),
            Request::RemoveClassDevice { class, name } => self
                .classes
                .remove(&mut self.model, &mut self.host, class, &name, badge)
                .map(|_| Reply::Done),
            // The binary answers it (it holds the IRQ control); through
            // here, a function that could have MSI gets `NotRunning`.
            Request::EnableMsi { slot } => {
                self.msi_target(slot, badge).and(Err(DevError::NotRunning))
            }
            // The counts are the kernel's: the binary answers.
            Request::Interrupts => Err(DevError::NotRunning),
        };
        result.unwrap_or_else(Reply::Error)
    }
}
