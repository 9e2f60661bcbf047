//! Class devices servers add (`device_create`/`device_destroy`, LKD 17):
//! the block server's disks and partitions, the terminal server's
//! terminals, an input device — the devices with a `/dev` node, which
//! vfs makes from their `add` uevent (`DEVNAME`, `MAJOR`, `MINOR`) and
//! removes at their `remove`.
//!
//! A server adds a device it serves to a class (`tty`, `block`, `input`)
//! with its number, `DEVTYPE` and parent. The parent is a device on a bus
//! (the PCI function of a virtio disk, `0000:00:04.0`; the platform's
//! `serial8250`), one of the caller's own class devices of the same class
//! (a partition's disk: `/sys/block/vda/vda1`), or none: the device then
//! hangs under `/devices/virtual/<class>` as Linux's virtual devices do.
//!
//! **Ownership and bounds** (DESIGN.md, "Reliability": what a client
//! makes the server keep is bounded and charged to it). Each device is its
//! adder's (by badge); only the owner removes it, and removing it removes
//! its children too (a disk's partitions, `remove` uevents children
//! first). A client owns at most [`CLASS_DEVICES_PER_CLIENT`]; the model's
//! own bound ([`crate::model::MAX_OBJECTS`]) holds for all of them. When
//! devmgr learns that a client died — the driver processes it runs itself
//! — every class device of that client goes ([`ClassDevices::client_gone`]).
//! devmgr is not told of other processes' deaths: a server that `init`
//! restarts finds its devices still there (their nodes stay right: same
//! names, same numbers) and gets `NameExists` for each, which it takes as
//! done.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use libsys::proto::devmgr::{
    ClassDevice, DevClass, DevError, CLASS_DEVICES_PER_CLIENT, MAJOR_MAX, MINOR_MAX,
};

use crate::bind::DriverHost;
use crate::kobject::ObjectId;
use crate::model::{valid_name, BusType, Class, DeviceModel, DeviceSpec, ModelError};

/// The model's class for the protocol's.
pub fn class_of(class: DevClass) -> Class {
    match class {
        DevClass::Tty => Class::Tty,
        DevClass::Block => Class::Block,
        DevClass::Input => Class::Input,
    }
}

/// Who owns each class device added through the protocol.
#[derive(Default)]
pub struct ClassDevices {
    owners: BTreeMap<ObjectId, u64>,
    /// `/devices/virtual` and its class directories, once made.
    virtual_root: Option<ObjectId>,
    virtual_dirs: BTreeMap<&'static str, ObjectId>,
}

fn model_error(e: ModelError) -> DevError {
    match e {
        ModelError::InvalidName => DevError::InvalidName,
        ModelError::NameExists => DevError::NameExists,
        ModelError::NoSuchDevice => DevError::NoSuchDevice,
        _ => DevError::NoSpace,
    }
}

/// A `DEVTYPE`: lowercase letters, digits and `_`.
fn valid_devtype(t: &str) -> bool {
    !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl ClassDevices {
    /// How many class devices `badge` owns.
    pub fn owned_by(&self, badge: u64) -> usize {
        self.owners.values().filter(|&&b| b == badge).count()
    }

    /// The owner of class device `id`, if it was added through the
    /// protocol.
    pub fn owner(&self, id: ObjectId) -> Option<u64> {
        self.owners.get(&id).copied()
    }

    /// `AddClassDevice` from `badge`. See the module's documentation.
    pub fn add(
        &mut self,
        model: &mut DeviceModel,
        host: &mut dyn DriverHost,
        device: &ClassDevice,
        badge: u64,
    ) -> Result<ObjectId, DevError> {
        let class = class_of(device.class);
        if !valid_name(&device.name) {
            return Err(DevError::InvalidName);
        }
        let (major, minor) = device.devt;
        if major == 0 || major > MAJOR_MAX || minor > MINOR_MAX {
            return Err(DevError::InvalidValue);
        }
        if device.mode.is_some_and(|m| m > 0o777) {
            return Err(DevError::InvalidValue);
        }
        if device.devtype.as_deref().is_some_and(|t| !valid_devtype(t)) {
            return Err(DevError::InvalidValue);
        }
        if model.find_class_device(class, &device.name).is_some() {
            return Err(DevError::NameExists);
        }
        if self.owned_by(badge) >= CLASS_DEVICES_PER_CLIENT {
            return Err(DevError::TooManyClassDevices);
        }
        let parent = match device.parent.as_deref() {
            Some(name) => self.parent(model, class, name, badge)?,
            None => self.virtual_dir(model, host, class)?,
        };
        let mut spec = DeviceSpec::new(&device.name);
        spec.parent = Some(parent);
        spec.class = Some(class);
        spec.devt = Some(device.devt);
        spec.devtype = device.devtype.as_deref().map(String::from);
        spec.devmode = device.mode;
        let id = model.device_add(spec, host).map_err(model_error)?;
        self.owners.insert(id, badge);
        Ok(id)
    }

    /// The parent called `name`: one of `badge`'s class devices of
    /// `class`, or a device on a bus.
    fn parent(
        &self,
        model: &DeviceModel,
        class: Class,
        name: &str,
        badge: u64,
    ) -> Result<ObjectId, DevError> {
        if let Some(id) = model.find_class_device(class, name) {
            return match self.owner(id) {
                Some(b) if b == badge => Ok(id),
                _ => Err(DevError::NotAllowed),
            };
        }
        BusType::ALL
            .into_iter()
            .find_map(|bus| model.find_bus_device(bus, name))
            .ok_or(DevError::NoSuchDevice)
    }

    /// `/devices/virtual/<class>`, made the first time it is needed.
    fn virtual_dir(
        &mut self,
        model: &mut DeviceModel,
        host: &mut dyn DriverHost,
        class: Class,
    ) -> Result<ObjectId, DevError> {
        if let Some(&id) = self.virtual_dirs.get(class.name()) {
            return Ok(id);
        }
        let root = match self.virtual_root {
            Some(id) => id,
            None => {
                let id = model
                    .device_add(DeviceSpec::new("virtual"), host)
                    .map_err(model_error)?;
                self.virtual_root = Some(id);
                id
            }
        };
        let mut spec = DeviceSpec::new(class.name());
        spec.parent = Some(root);
        let id = model.device_add(spec, host).map_err(model_error)?;
        self.virtual_dirs.insert(class.name(), id);
        Ok(id)
    }

    /// `RemoveClassDevice` from `badge`: the device and its children.
    /// `NoSuchDevice`, `NotAllowed` (not the caller's).
    pub fn remove(
        &mut self,
        model: &mut DeviceModel,
        host: &mut dyn DriverHost,
        class: DevClass,
        name: &str,
        badge: u64,
    ) -> Result<(), DevError> {
        let id = model
            .find_class_device(class_of(class), name)
            .ok_or(DevError::NoSuchDevice)?;
        if self.owner(id) != Some(badge) {
            return Err(DevError::NotAllowed);
        }
        model.device_del(id, host).map_err(model_error)?;
        self.forget_removed(model);
        Ok(())
    }

    /// Client `badge` is gone: its class devices are removed (each with
    /// its children). Returns their names.
    pub fn client_gone(
        &mut self,
        model: &mut DeviceModel,
        host: &mut dyn DriverHost,
        badge: u64,
    ) -> Vec<String> {
        let mut gone = Vec::new();
        loop {
            // One at a time: removing a disk removes its partitions.
            let next = self.owners.iter().find(|(_, &b)| b == badge);
            let Some((&id, _)) = next else {
                break;
            };
            if let Some(name) = model.name(id) {
                gone.push(String::from(name));
            }
            if model.device_del(id, host).is_err() {
                self.owners.remove(&id);
            }
            self.forget_removed(model);
        }
        gone
    }

    /// Drops the owners of devices no longer registered (removed with a
    /// parent).
    fn forget_removed(&mut self, model: &DeviceModel) {
        self.owners.retain(|&id, _| model.spec(id).is_some());
    }
}
