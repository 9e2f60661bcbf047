//! The device model (LKD 17): buses, devices and drivers as kobjects, and
//! the adding and removing of devices.
//!
//! [`DeviceModel`] keeps three kinds of object in one [`KobjTable`]: the
//! buses (`pci`, `platform`, `virtio`, each a kset of its devices and its
//! drivers), the devices (a tree under `/devices`, each on at most one bus
//! and in at most one class: `tty`, `block`, `input`) and the drivers (see
//! `bind.rs` for matching, `probe`, `remove`, bind and unbind).
//!
//! Reference counts follow Linux: a device starts with one reference (the
//! registration's), holds one on its parent, and a bound driver holds one
//! on it. [`DeviceModel::device_del`] unregisters a device (unbinds it,
//! removes its children, emits `remove`) and drops the registration's
//! reference; the device is freed when its last reference goes, which may
//! be later if someone still holds one ([`DeviceModel::get_device`]).
//!
//! Everything is bounded: [`MAX_OBJECTS`] objects, names of at most
//! [`MAX_NAME`] bytes, trees at most [`MAX_DEPTH`] deep.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::ids::{DeviceIdent, DeviceMatch};
use crate::kobject::{KobjError, KobjTable, ObjectId};
use crate::uevent::{Action, SubscriberId, Uevent, UeventBus, UeventError};

/// Most objects (buses, devices, drivers) the model holds.
pub const MAX_OBJECTS: usize = 1024;
/// Longest object name, in bytes.
pub const MAX_NAME: usize = 64;
/// Deepest device tree (counted from `/devices`).
pub const MAX_DEPTH: usize = 16;
/// Most entries in one driver's ID table.
pub const MAX_ID_TABLE: usize = 64;

/// `IORESOURCE_IO`: the resource is a port range.
pub const IORESOURCE_IO: u64 = 0x100;
/// `IORESOURCE_MEM`: the resource is a memory range.
pub const IORESOURCE_MEM: u64 = 0x200;
/// `IORESOURCE_PREFETCH`.
pub const IORESOURCE_PREFETCH: u64 = 0x2000;
/// `IORESOURCE_MEM_64`.
pub const IORESOURCE_MEM_64: u64 = 0x0010_0000;

/// The buses of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusType {
    /// PCI functions found by enumeration.
    Pci,
    /// Legacy devices at fixed ports (UART, i8042, RTC).
    Platform,
    /// Virtio devices behind a transport (virtio-pci).
    Virtio,
}

impl BusType {
    /// All buses, in `/sys/bus` order.
    pub const ALL: [BusType; 3] = [BusType::Pci, BusType::Platform, BusType::Virtio];

    /// The bus's name in `/sys/bus`.
    pub fn name(self) -> &'static str {
        match self {
            BusType::Pci => "pci",
            BusType::Platform => "platform",
            BusType::Virtio => "virtio",
        }
    }

    /// The bus called `name`.
    pub fn from_name(name: &str) -> Option<BusType> {
        BusType::ALL.into_iter().find(|b| b.name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The device classes of the model (`/sys/class`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Terminals.
    Tty,
    /// Disks and partitions.
    Block,
    /// Keyboards and mice.
    Input,
}

impl Class {
    /// All classes, in `/sys/class` order.
    pub const ALL: [Class; 3] = [Class::Tty, Class::Block, Class::Input];

    /// The class's name in `/sys/class`.
    pub fn name(self) -> &'static str {
        match self {
            Class::Tty => "tty",
            Class::Block => "block",
            Class::Input => "input",
        }
    }

    /// The class called `name`.
    pub fn from_name(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A range of ports or memory a device decodes (`struct resource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource {
    /// First address.
    pub start: u64,
    /// Last address (inclusive, as Linux).
    pub end: u64,
    /// `IORESOURCE_*` bits.
    pub flags: u64,
}

/// What a bus driver (or a probing driver) says about a new device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSpec {
    /// The device's name (`0000:00:03.0`, `serial8250`, `vda`).
    pub name: String,
    /// Its parent device; `None` puts it directly under `/devices`.
    pub parent: Option<ObjectId>,
    /// The bus it sits on, if any.
    pub bus: Option<BusType>,
    /// The class it belongs to, if any.
    pub class: Option<Class>,
    /// What drivers are matched against.
    pub ident: DeviceIdent,
    /// Its interrupt line.
    pub irq: Option<u32>,
    /// The port and memory ranges it decodes.
    pub resources: Vec<Resource>,
    /// Its device number (major, minor), for class devices.
    pub devt: Option<(u32, u32)>,
    /// `DEVTYPE` (`disk`, `partition`).
    pub devtype: Option<String>,
    /// `DEVMODE`: its node's permission bits (what Linux's driver
    /// `devnode` callback or a udev rule sets; devfs uses 0600 without).
    pub devmode: Option<u16>,
}

impl DeviceSpec {
    /// A device called `name` with nothing else set.
    pub fn new(name: &str) -> Self {
        DeviceSpec {
            name: name.into(),
            parent: None,
            bus: None,
            class: None,
            ident: DeviceIdent::None,
            irq: None,
            resources: Vec::new(),
            devt: None,
            devtype: None,
            devmode: None,
        }
    }
}

/// Why a driver's `probe` failed (what the driver process answered).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeError {
    /// `-ENODEV`: not a device this driver handles after all.
    NoDevice,
    /// The driver could not be started or answered an error code.
    Failed(i32),
}

/// What the model refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// Empty, too long, or with `/`, NUL, whitespace, `.` or `..`.
    InvalidName,
    /// A sibling, bus device, class device or driver has that name.
    NameExists,
    /// The id names no live, registered device.
    NoSuchDevice,
    /// The id or name names no registered driver.
    NoSuchDriver,
    /// The driver's bus is not the device's.
    BusMismatch,
    /// The driver's ID table does not match the device.
    NoMatch,
    /// The device already has a driver.
    AlreadyBound,
    /// The device has no driver (or not that one).
    NotBound,
    /// The driver's probe failed; the device stays unbound.
    ProbeFailed(ProbeError),
    /// The device tree would pass [`MAX_DEPTH`].
    TooDeep,
    /// An ID table over [`MAX_ID_TABLE`] entries.
    TableTooLarge,
    /// [`MAX_OBJECTS`] reached, or a reference count would overflow.
    NoSpace,
    /// A uevent subscription error.
    Uevent(UeventError),
}

impl From<KobjError> for ModelError {
    fn from(e: KobjError) -> Self {
        match e {
            KobjError::Stale => ModelError::NoSuchDevice,
            KobjError::TableFull | KobjError::RefcountOverflow => ModelError::NoSpace,
        }
    }
}

impl From<UeventError> for ModelError {
    fn from(e: UeventError) -> Self {
        ModelError::Uevent(e)
    }
}

pub(crate) struct BusNode {
    pub(crate) devices: Vec<ObjectId>,
    pub(crate) drivers: Vec<ObjectId>,
}

pub(crate) struct DeviceNode {
    pub(crate) spec: DeviceSpec,
    pub(crate) driver: Option<ObjectId>,
    pub(crate) registered: bool,
    /// Created by its parent's driver in `probe`; removed on unbind.
    pub(crate) from_driver: bool,
}

pub(crate) struct DriverNode {
    pub(crate) bus: BusType,
    pub(crate) table: Vec<DeviceMatch>,
    pub(crate) bound: Vec<ObjectId>,
}

pub(crate) enum Node {
    Root,
    Bus(BusNode),
    Device(DeviceNode),
    Driver(DriverNode),
}

/// The device model: the kobject table, the buses, the classes and the
/// uevent queues.
pub struct DeviceModel {
    pub(crate) objects: KobjTable<Node>,
    pub(crate) devices_root: ObjectId,
    pub(crate) buses: Vec<ObjectId>,
    pub(crate) classes: [Vec<ObjectId>; 3],
    pub(crate) uevents: UeventBus,
}

pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name != "."
        && name != ".."
        && name.bytes().all(|b| b.is_ascii_graphic() && b != b'/')
}

impl Default for DeviceModel {
    fn default() -> Self {
        Self::new()
    }
}

impl DeviceModel {
    /// The empty model: `/devices`, the three buses, no devices or drivers.
    pub fn new() -> Self {
        let mut objects = KobjTable::new(MAX_OBJECTS);
        // The table is empty and far below capacity: these cannot fail.
        let devices_root = objects
            .add("devices".into(), None, Node::Root)
            .unwrap_or_else(|_| unreachable!());
        let bus_root = objects
            .add("bus".into(), None, Node::Root)
            .unwrap_or_else(|_| unreachable!());
        let buses = BusType::ALL
            .iter()
            .map(|&bus| {
                let node = Node::Bus(BusNode {
                    devices: Vec::new(),
                    drivers: Vec::new(),
                });
                objects
                    .add(bus.name().into(), Some(bus_root), node)
                    .unwrap_or_else(|_| unreachable!())
            })
            .collect();
        DeviceModel {
            objects,
            devices_root,
            buses,
            classes: [Vec::new(), Vec::new(), Vec::new()],
            uevents: UeventBus::new(),
        }
    }

    pub(crate) fn bus_node(&self, bus: BusType) -> &BusNode {
        match self.objects.value(self.buses[bus.index()]) {
            Some(Node::Bus(b)) => b,
            _ => unreachable!("buses live as long as the model"),
        }
    }

    pub(crate) fn bus_node_mut(&mut self, bus: BusType) -> &mut BusNode {
        match self.objects.value_mut(self.buses[bus.index()]) {
            Some(Node::Bus(b)) => b,
            _ => unreachable!("buses live as long as the model"),
        }
    }

    pub(crate) fn device(&self, id: ObjectId) -> Result<&DeviceNode, ModelError> {
        match self.objects.value(id) {
            Some(Node::Device(d)) if d.registered => Ok(d),
            _ => Err(ModelError::NoSuchDevice),
        }
    }

    pub(crate) fn device_mut(&mut self, id: ObjectId) -> Result<&mut DeviceNode, ModelError> {
        match self.objects.value_mut(id) {
            Some(Node::Device(d)) if d.registered => Ok(d),
            _ => Err(ModelError::NoSuchDevice),
        }
    }

    pub(crate) fn driver(&self, id: ObjectId) -> Result<&DriverNode, ModelError> {
        match self.objects.value(id) {
            Some(Node::Driver(d)) => Ok(d),
            _ => Err(ModelError::NoSuchDriver),
        }
    }

    /// The class list of `class`, in registration order.
    pub fn class_devices(&self, class: Class) -> &[ObjectId] {
        &self.classes[class.index()]
    }

    /// The devices on `bus`, in registration order.
    pub fn bus_devices(&self, bus: BusType) -> &[ObjectId] {
        &self.bus_node(bus).devices
    }

    /// The drivers on `bus`, in registration order.
    pub fn bus_drivers(&self, bus: BusType) -> &[ObjectId] {
        &self.bus_node(bus).drivers
    }

    /// The registered device called `name` on `bus`.
    pub fn find_bus_device(&self, bus: BusType, name: &str) -> Option<ObjectId> {
        self.bus_node(bus)
            .devices
            .iter()
            .copied()
            .find(|&d| self.objects.name(d) == Some(name))
    }

    /// The registered device called `name` in `class`.
    pub fn find_class_device(&self, class: Class, name: &str) -> Option<ObjectId> {
        self.classes[class.index()]
            .iter()
            .copied()
            .find(|&d| self.objects.name(d) == Some(name))
    }

    /// The driver called `name` on `bus`.
    pub fn find_driver(&self, bus: BusType, name: &str) -> Option<ObjectId> {
        self.bus_node(bus)
            .drivers
            .iter()
            .copied()
            .find(|&d| self.objects.name(d) == Some(name))
    }

    /// An object's name (devices and drivers; also stale-but-referenced
    /// devices).
    pub fn name(&self, id: ObjectId) -> Option<&str> {
        self.objects.name(id)
    }

    /// What a registered device was added with.
    pub fn spec(&self, id: ObjectId) -> Option<&DeviceSpec> {
        self.device(id).ok().map(|d| &d.spec)
    }

    /// The name of a registered device's driver.
    pub fn driver_name(&self, dev: ObjectId) -> Option<&str> {
        let drv = self.device(dev).ok()?.driver?;
        self.objects.name(drv)
    }

    /// The devices a driver is bound to, in bind order.
    pub fn bound_devices(&self, drv: ObjectId) -> Result<&[ObjectId], ModelError> {
        Ok(&self.driver(drv)?.bound)
    }

    /// The reference count of an object, while it lives.
    pub fn refcount(&self, id: ObjectId) -> Option<u32> {
        self.objects.refcount(id)
    }

    /// Whether the object still exists (registered or still referenced).
    pub fn is_live(&self, id: ObjectId) -> bool {
        self.objects.contains(id)
    }

    /// How many objects exist (including the roots and the buses).
    pub fn live_objects(&self) -> usize {
        self.objects.live()
    }

    /// A device's `DEVPATH`: its path below `/sys`.
    pub fn devpath(&self, id: ObjectId) -> String {
        self.objects.path(id)
    }

    /// The registered children of a device (or of `/devices`).
    pub fn children(&self, id: ObjectId) -> Vec<ObjectId> {
        self.objects
            .children(id)
            .into_iter()
            .filter(|&c| self.device(c).is_ok())
            .collect()
    }

    /// The `/devices` root.
    pub fn devices_root(&self) -> ObjectId {
        self.devices_root
    }

    /// `get_device`: one more reference on a live device. `NoSuchDevice`.
    pub fn get_device(&mut self, id: ObjectId) -> Result<(), ModelError> {
        match self.objects.value(id) {
            Some(Node::Device(_)) => Ok(self.objects.get(id)?),
            _ => Err(ModelError::NoSuchDevice),
        }
    }

    /// `put_device`: drops a reference; the device is freed (and its
    /// reference on its parent dropped) when it was the last. Returns the
    /// names of the objects freed. `NoSuchDevice`.
    pub fn put_device(&mut self, id: ObjectId) -> Result<Vec<String>, ModelError> {
        match self.objects.value(id) {
            Some(Node::Device(_)) => {}
            _ => return Err(ModelError::NoSuchDevice),
        }
        let released = self.objects.put(id)?;
        Ok(released.into_iter().map(|r| r.name).collect())
    }

    /// Subscribes to uevents with a queue of `capacity` events.
    pub fn subscribe(&mut self, capacity: usize) -> Result<SubscriberId, ModelError> {
        Ok(self.uevents.subscribe(capacity)?)
    }

    /// Ends a subscription and drops its queue.
    pub fn unsubscribe(&mut self, id: SubscriberId) -> Result<(), ModelError> {
        Ok(self.uevents.unsubscribe(id)?)
    }

    /// The next uevent for a subscriber.
    pub fn recv_uevent(&mut self, id: SubscriberId) -> Result<Option<Uevent>, ModelError> {
        Ok(self.uevents.recv(id)?)
    }

    /// How many uevents a subscriber lost to a full queue.
    pub fn dropped_uevents(&mut self, id: SubscriberId) -> Result<u64, ModelError> {
        Ok(self.uevents.dropped(id)?)
    }

    /// The subsystem and the variables of a device's uevent (and its
    /// `uevent` attribute), or `None` for a device with neither bus nor
    /// class (Linux sends no uevent for those).
    pub fn uevent_vars(&self, id: ObjectId) -> Option<(&'static str, Vec<(String, String)>)> {
        let d = self.device(id).ok()?;
        let subsystem = match (d.spec.bus, d.spec.class) {
            (Some(b), _) => b.name(),
            (None, Some(c)) => c.name(),
            (None, None) => return None,
        };
        let name = self.objects.name(id).unwrap_or("");
        let mut vars: Vec<(String, String)> = Vec::new();
        if let Some((major, minor)) = d.spec.devt {
            vars.push(("MAJOR".into(), format!("{major}")));
            vars.push(("MINOR".into(), format!("{minor}")));
            vars.push(("DEVNAME".into(), name.into()));
        }
        if let Some(t) = &d.spec.devtype {
            vars.push(("DEVTYPE".into(), t.clone()));
        }
        if let (Some(_), Some(mode)) = (d.spec.devt, d.spec.devmode) {
            vars.push(("DEVMODE".into(), format!("{:04o}", mode & 0o777)));
        }
        if let Some(drv) = self.driver_name(id) {
            vars.push(("DRIVER".into(), drv.into()));
        }
        if let DeviceIdent::Pci(p) = &d.spec.ident {
            vars.push(("PCI_CLASS".into(), format!("{:04X}", p.class)));
            vars.push((
                "PCI_ID".into(),
                format!("{:04X}:{:04X}", p.vendor, p.device),
            ));
            vars.push((
                "PCI_SUBSYS_ID".into(),
                format!("{:04X}:{:04X}", p.subvendor, p.subdevice),
            ));
            vars.push(("PCI_SLOT_NAME".into(), name.into()));
        }
        if let Some(m) = d.spec.ident.modalias(name) {
            vars.push(("MODALIAS".into(), m));
        }
        Some((subsystem, vars))
    }

    /// Emits `action` for a device (nothing for a device without
    /// subsystem). Returns the sequence number, if one was sent.
    pub(crate) fn device_uevent(&mut self, id: ObjectId, action: Action) -> Option<u64> {
        let (subsystem, vars) = self.uevent_vars(id)?;
        let path = self.devpath(id);
        Some(self.uevents.emit(action, path, subsystem, vars).seqnum)
    }

    fn check_new_device(&self, spec: &DeviceSpec, parent: ObjectId) -> Result<(), ModelError> {
        if !valid_name(&spec.name) {
            return Err(ModelError::InvalidName);
        }
        if parent != self.devices_root {
            self.device(parent)?;
        }
        let depth = self.devpath(parent).matches('/').count();
        if depth >= MAX_DEPTH {
            return Err(ModelError::TooDeep);
        }
        let taken = |ids: &[ObjectId]| {
            ids.iter()
                .any(|&i| self.objects.name(i) == Some(&spec.name))
        };
        let sibling = self
            .children(parent)
            .iter()
            .any(|&c| self.objects.name(c) == Some(&spec.name));
        let on_bus = spec.bus.is_some_and(|b| taken(&self.bus_node(b).devices));
        let in_class = spec.class.is_some_and(|c| taken(&self.classes[c.index()]));
        if sibling || on_bus || in_class {
            return Err(ModelError::NameExists);
        }
        Ok(())
    }

    /// `device_add` without the probing: checks, links, emits `add`.
    pub(crate) fn device_link(
        &mut self,
        spec: DeviceSpec,
        from_driver: bool,
    ) -> Result<ObjectId, ModelError> {
        let parent = spec.parent.unwrap_or(self.devices_root);
        self.check_new_device(&spec, parent)?;
        let (bus, class, name) = (spec.bus, spec.class, spec.name.clone());
        let node = Node::Device(DeviceNode {
            spec,
            driver: None,
            registered: true,
            from_driver,
        });
        let id = self.objects.add(name, Some(parent), node)?;
        if let Some(b) = bus {
            self.bus_node_mut(b).devices.push(id);
        }
        if let Some(c) = class {
            self.classes[c.index()].push(id);
        }
        self.device_uevent(id, Action::Add);
        Ok(id)
    }

    /// `device_del` without the unbinding: emits `remove`, unlinks and
    /// drops the registration's reference.
    pub(crate) fn device_unlink(&mut self, id: ObjectId) -> Result<(), ModelError> {
        self.device_uevent(id, Action::Remove);
        let d = self.device_mut(id)?;
        d.registered = false;
        let (bus, class) = (d.spec.bus, d.spec.class);
        if let Some(b) = bus {
            self.bus_node_mut(b).devices.retain(|&x| x != id);
        }
        if let Some(c) = class {
            self.classes[c.index()].retain(|&x| x != id);
        }
        self.objects.put(id)?;
        Ok(())
    }
}
