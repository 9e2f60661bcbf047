//! Drivers and their binding to devices (LKD 17): `driver_register`,
//! `device_add`'s probing, `probe`/`remove`, and sysfs's bind and unbind.
//!
//! Matching runs both ways, as in Linux: a device added to a bus is offered
//! to the bus's drivers in registration order (`bus_probe_device`), and a
//! driver registered later is offered every unbound device of its bus in
//! registration order (`driver_attach`). The first driver whose ID table
//! matches and whose `probe` succeeds binds; a failed probe leaves the
//! device unbound for the next driver.
//!
//! `probe` is asked of a [`DriverHost`] (the server starts or asks a driver
//! process; tests use a fake). A probe may register child devices — the
//! virtio-pci driver a `virtio0`, the virtio-blk driver a `block/vda` —
//! returned in its [`ProbeOutcome`]; unbinding removes them first. So the
//! uevents of unbinding and binding a disk's controller come in Linux's
//! order: `remove` (the disk), `unbind` (the controller), then `add` (the
//! disk), `bind` (the controller).

use alloc::string::String;
use alloc::vec::Vec;

use crate::ids::{DeviceIdent, DeviceMatch};
use crate::kobject::ObjectId;
use crate::model::{
    valid_name, BusType, DeviceModel, DeviceSpec, DriverNode, ModelError, Node, ProbeError,
    Resource, MAX_ID_TABLE,
};
use crate::uevent::Action;

/// Most child devices one probe may register.
pub const MAX_PROBE_CHILDREN: usize = 16;

/// What a driver's `probe` is told: the device and its resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeContext {
    /// The driver asked.
    pub driver: String,
    /// The device's name.
    pub device: String,
    /// The device's `DEVPATH`.
    pub devpath: String,
    /// Its identity.
    pub ident: DeviceIdent,
    /// Its interrupt line.
    pub irq: Option<u32>,
    /// Its port and memory ranges (what the driver process is granted).
    pub resources: Vec<Resource>,
}

/// What a successful probe registers below its device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbeOutcome {
    /// Child devices (their `parent` is set to the probed device).
    pub children: Vec<DeviceSpec>,
}

/// Who runs drivers: the server (driver processes) or a test.
pub trait DriverHost {
    /// `probe`: take the device, or say why not.
    fn probe(&mut self, ctx: &ProbeContext) -> Result<ProbeOutcome, ProbeError>;
    /// `remove`: let go of the device (its children are already removed).
    fn remove(&mut self, ctx: &ProbeContext);
}

impl DeviceModel {
    /// `device_register`: adds a device, emits `add`, and offers it to the
    /// drivers of its bus. Returns its id even when no driver took it.
    /// `InvalidName`, `NameExists`, `NoSuchDevice` (parent), `TooDeep`,
    /// `NoSpace`; nothing changes then.
    pub fn device_add(
        &mut self,
        spec: DeviceSpec,
        host: &mut dyn DriverHost,
    ) -> Result<ObjectId, ModelError> {
        self.device_add_from(spec, false, host)
    }

    fn device_add_from(
        &mut self,
        spec: DeviceSpec,
        from_driver: bool,
        host: &mut dyn DriverHost,
    ) -> Result<ObjectId, ModelError> {
        let bus = spec.bus;
        let id = self.device_link(spec, from_driver)?;
        if let Some(b) = bus {
            for drv in self.bus_drivers(b).to_vec() {
                if self.matches(drv, id) && self.really_probe(drv, id, host).is_ok() {
                    break;
                }
            }
        }
        Ok(id)
    }

    /// `device_unregister`: unbinds the device, removes its children
    /// (deepest first), emits `remove` and drops the registration's
    /// reference. `NoSuchDevice`.
    pub fn device_del(
        &mut self,
        id: ObjectId,
        host: &mut dyn DriverHost,
    ) -> Result<(), ModelError> {
        self.device(id)?;
        if self.device(id)?.driver.is_some() {
            self.unbind(id, host)?;
        }
        for child in self.children(id).into_iter().rev() {
            self.device_del(child, host)?;
        }
        self.device_unlink(id)
    }

    /// `driver_register`: adds a driver with its ID table to `bus`, emits
    /// its `add`, and probes every unbound matching device of the bus in
    /// registration order. `InvalidName`, `NameExists`, `TableTooLarge`,
    /// `NoSpace`.
    pub fn driver_register(
        &mut self,
        name: &str,
        bus: BusType,
        table: Vec<DeviceMatch>,
        host: &mut dyn DriverHost,
    ) -> Result<ObjectId, ModelError> {
        if !valid_name(name) {
            return Err(ModelError::InvalidName);
        }
        if table.len() > MAX_ID_TABLE {
            return Err(ModelError::TableTooLarge);
        }
        if self.find_driver(bus, name).is_some() {
            return Err(ModelError::NameExists);
        }
        let node = Node::Driver(DriverNode {
            bus,
            table,
            bound: Vec::new(),
        });
        let drv = self
            .objects
            .add(name.into(), Some(self.buses[bus as usize]), node)?;
        self.bus_node_mut(bus).drivers.push(drv);
        let path = alloc::format!("/bus/{}/drivers/{}", bus.name(), name);
        self.uevents.emit(Action::Add, path, "drivers", Vec::new());
        for dev in self.bus_devices(bus).to_vec() {
            let unbound = self.device(dev).is_ok_and(|d| d.driver.is_none());
            if unbound && self.matches(drv, dev) {
                // A failed probe leaves the device for another driver.
                let _ = self.really_probe(drv, dev, host);
            }
        }
        Ok(drv)
    }

    /// `driver_unregister`: unbinds the driver's devices (last bound
    /// first), emits `remove` and drops the driver. `NoSuchDriver`.
    pub fn driver_unregister(
        &mut self,
        drv: ObjectId,
        host: &mut dyn DriverHost,
    ) -> Result<(), ModelError> {
        let bus = self.driver(drv)?.bus;
        while let Some(&dev) = self.driver(drv)?.bound.last() {
            self.unbind(dev, host)?;
        }
        let name: String = self.objects.name(drv).unwrap_or("").into();
        self.bus_node_mut(bus).drivers.retain(|&d| d != drv);
        let path = alloc::format!("/bus/{}/drivers/{}", bus.name(), name);
        self.uevents
            .emit(Action::Remove, path, "drivers", Vec::new());
        self.objects.put(drv)?;
        Ok(())
    }

    /// Whether `drv`'s ID table matches `dev` (and they share a bus).
    pub fn matches(&self, drv: ObjectId, dev: ObjectId) -> bool {
        let (Ok(driver), Ok(device)) = (self.driver(drv), self.device(dev)) else {
            return false;
        };
        let name = self.objects.name(dev).unwrap_or("");
        device.spec.bus == Some(driver.bus)
            && driver
                .table
                .iter()
                .any(|m| m.matches(&device.spec.ident, name))
    }

    /// The sysfs `bind` file: binds `dev` to `drv` by probing it.
    /// `NoSuchDevice`, `NoSuchDriver`, `BusMismatch`, `AlreadyBound`,
    /// `NoMatch`, `ProbeFailed` (the device stays unbound).
    pub fn bind(
        &mut self,
        drv: ObjectId,
        dev: ObjectId,
        host: &mut dyn DriverHost,
    ) -> Result<(), ModelError> {
        let bus = self.driver(drv)?.bus;
        let device = self.device(dev)?;
        if device.spec.bus != Some(bus) {
            return Err(ModelError::BusMismatch);
        }
        if device.driver.is_some() {
            return Err(ModelError::AlreadyBound);
        }
        if !self.matches(drv, dev) {
            return Err(ModelError::NoMatch);
        }
        self.really_probe(drv, dev, host)
    }

    /// The sysfs `unbind` file (`device_release_driver`): removes the
    /// children the driver registered, calls its `remove`, emits `unbind`
    /// and drops the driver's reference on the device. `NoSuchDevice`,
    /// `NotBound`.
    pub fn unbind(&mut self, dev: ObjectId, host: &mut dyn DriverHost) -> Result<(), ModelError> {
        self.release_driver(dev, host, true)
    }

    /// `device_release_driver`; `announce` is false when undoing a probe
    /// that never announced its `bind`.
    fn release_driver(
        &mut self,
        dev: ObjectId,
        host: &mut dyn DriverHost,
        announce: bool,
    ) -> Result<(), ModelError> {
        let drv = self.device(dev)?.driver.ok_or(ModelError::NotBound)?;
        for child in self.children(dev).into_iter().rev() {
            if self.device(child).is_ok_and(|c| c.from_driver) {
                self.device_del(child, host)?;
            }
        }
        let ctx = self.probe_context(drv, dev)?;
        host.remove(&ctx);
        self.device_mut(dev)?.driver = None;
        if let Some(Node::Driver(d)) = self.objects.value_mut(drv) {
            d.bound.retain(|&x| x != dev);
        }
        if announce {
            self.device_uevent(dev, Action::Unbind);
        }
        self.objects.put(dev)?;
        Ok(())
    }

    fn probe_context(&self, drv: ObjectId, dev: ObjectId) -> Result<ProbeContext, ModelError> {
        let d = self.device(dev)?;
        Ok(ProbeContext {
            driver: self
                .objects
                .name(drv)
                .ok_or(ModelError::NoSuchDriver)?
                .into(),
            device: self.objects.name(dev).unwrap_or("").into(),
            devpath: self.devpath(dev),
            ident: d.spec.ident.clone(),
            irq: d.spec.irq,
            resources: d.spec.resources.clone(),
        })
    }

    /// `really_probe`: asks the host, binds, registers the children, emits
    /// `bind`. A failed probe or child registration leaves it unbound.
    fn really_probe(
        &mut self,
        drv: ObjectId,
        dev: ObjectId,
        host: &mut dyn DriverHost,
    ) -> Result<(), ModelError> {
        let ctx = self.probe_context(drv, dev)?;
        let outcome = host.probe(&ctx).map_err(ModelError::ProbeFailed)?;
        if outcome.children.len() > MAX_PROBE_CHILDREN {
            host.remove(&ctx);
            return Err(ModelError::NoSpace);
        }
        // The driver's reference on its device (the klist node's).
        if let Err(e) = self.objects.get(dev) {
            host.remove(&ctx);
            return Err(e.into());
        }
        self.device_mut(dev)?.driver = Some(drv);
        if let Some(Node::Driver(d)) = self.objects.value_mut(drv) {
            d.bound.push(dev);
        }
        for mut child in outcome.children {
            child.parent = Some(dev);
            if let Err(e) = self.device_add_from(child, true, host) {
                // Undo, quietly: no `bind` was announced. The children
                // added so far are removed (with their `remove` events).
                self.release_driver(dev, host, false)?;
                return Err(e);
            }
        }
        self.device_uevent(dev, Action::Bind);
        Ok(())
    }
}
