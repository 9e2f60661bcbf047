//! The sysfs view of the model (LKD 17, "sysfs"): every bus, driver and
//! device as a directory, every attribute as a file, read and listed by
//! path. The VFS mounts this at `/sys` later; until then `lsdev` and the
//! server's protocol use it directly.
//!
//! ```text
//! /sys/bus/{pci,platform,virtio}/devices/<dev>/<attr>
//! /sys/bus/<bus>/drivers/<drv>/{bind,unbind,uevent,<bound dev>}
//! /sys/devices/pci0000:00/0000:00:03.0/virtio0/vda/dev
//! /sys/class/{tty,block,input}/<dev>/<attr>
//! /sys/block/<disk>/<attr>
//! ```
//!
//! Device attributes, in Linux's formats: `vendor`, `device`,
//! `subsystem_vendor`, `subsystem_device` (`0x1af4`), `class` (`0x010000`),
//! `revision`, `irq` (decimal), `resource` (one `start end flags` line of
//! three `0x%016x` numbers per range), `driver` and `subsystem` (the names
//! their symlinks would point at), `modalias`, `dev` (`253:0`), `uevent`
//! (`KEY=value` lines). Writing a device name to a driver's `bind` or
//! `unbind` binds or unbinds it; writing `add` or `change` to a device's
//! `uevent` re-sends that event (`udevadm trigger`). A driver directory
//! lists the devices bound to it, like the symlinks Linux keeps there.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::bind::DriverHost;
use crate::ids::DeviceIdent;
use crate::kobject::ObjectId;
use crate::model::{BusType, Class, DeviceModel, ModelError};
use crate::uevent::Action;

/// Longest path accepted, in bytes.
pub const MAX_PATH: usize = 512;
/// Longest value accepted by a write, in bytes.
pub const MAX_WRITE: usize = 128;

/// What a sysfs access gets instead of data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SysfsError {
    /// No such file or directory.
    NotFound,
    /// Read of a directory.
    IsDirectory,
    /// List of a file.
    NotDirectory,
    /// Read of a write-only file (`bind`, `unbind`).
    WriteOnly,
    /// Write to a read-only file.
    ReadOnly,
    /// A written value that is not UTF-8, too long, or not understood.
    InvalidValue,
    /// A path over [`MAX_PATH`] bytes.
    PathTooLong,
    /// The model refused the bind or unbind.
    Model(ModelError),
}

impl From<ModelError> for SysfsError {
    fn from(e: ModelError) -> Self {
        SysfsError::Model(e)
    }
}

enum Target {
    Dir(Vec<String>),
    Device(ObjectId),
    DeviceAttr(ObjectId, &'static str),
    Driver(ObjectId),
    DriverAttr(ObjectId, &'static str),
}

const DRIVER_ATTRS: [&str; 3] = ["bind", "unbind", "uevent"];

fn hex16(v: u16) -> String {
    format!("0x{v:04x}\n")
}

impl DeviceModel {
    /// The attribute names a device has.
    pub fn attributes(&self, id: ObjectId) -> Vec<&'static str> {
        let Some(spec) = self.spec(id) else {
            return Vec::new();
        };
        let mut attrs = Vec::new();
        if matches!(spec.ident, DeviceIdent::Pci(_)) {
            attrs.extend([
                "vendor",
                "device",
                "subsystem_vendor",
                "subsystem_device",
                "class",
                "revision",
            ]);
        }
        let present = [
            ("irq", spec.irq.is_some()),
            ("resource", !spec.resources.is_empty()),
            ("dev", spec.devt.is_some()),
            ("driver", self.driver_name(id).is_some()),
            ("subsystem", spec.bus.is_some() || spec.class.is_some()),
            ("modalias", spec.ident.modalias("").is_some()),
            ("uevent", true),
        ];
        attrs.extend(present.iter().filter(|(_, p)| *p).map(|(n, _)| *n));
        attrs
    }

    fn attribute(&self, id: ObjectId, attr: &str) -> Option<String> {
        let spec = self.spec(id)?;
        let name = self.name(id).unwrap_or("");
        let pci = match &spec.ident {
            DeviceIdent::Pci(p) => Some(*p),
            _ => None,
        };
        Some(match attr {
            "vendor" => hex16(pci?.vendor),
            "device" => hex16(pci?.device),
            "subsystem_vendor" => hex16(pci?.subvendor),
            "subsystem_device" => hex16(pci?.subdevice),
            "class" => format!("0x{:06x}\n", pci?.class),
            "revision" => format!("0x{:02x}\n", pci?.revision),
            "irq" => format!("{}\n", spec.irq?),
            "dev" => {
                let (major, minor) = spec.devt?;
                format!("{major}:{minor}\n")
            }
            "resource" => spec
                .resources
                .iter()
                .map(|r| format!("0x{:016x} 0x{:016x} 0x{:016x}\n", r.start, r.end, r.flags))
                .collect(),
            "driver" => format!("{}\n", self.driver_name(id)?),
            "subsystem" => {
                let s = spec.bus.map(BusType::name);
                format!("{}\n", s.or(spec.class.map(Class::name))?)
            }
            "modalias" => format!("{}\n", spec.ident.modalias(name)?),
            "uevent" => {
                let vars = self.uevent_vars(id).map(|(_, v)| v).unwrap_or_default();
                vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
            }
            _ => return None,
        })
    }

    fn names(&self, ids: &[ObjectId]) -> Vec<String> {
        ids.iter()
            .filter_map(|&i| self.name(i))
            .map(String::from)
            .collect()
    }

    /// From a device directory down the remaining components.
    fn walk(&self, mut dev: ObjectId, rest: &[&str]) -> Result<Target, SysfsError> {
        for (i, comp) in rest.iter().enumerate() {
            let last = i + 1 == rest.len();
            if last && dev != self.devices_root() {
                if let Some(a) = self.attributes(dev).into_iter().find(|a| a == comp) {
                    return Ok(Target::DeviceAttr(dev, a));
                }
            }
            dev = self
                .children(dev)
                .into_iter()
                .find(|&c| self.name(c) == Some(comp))
                .ok_or(SysfsError::NotFound)?;
        }
        Ok(Target::Device(dev))
    }

    fn resolve(&self, path: &str) -> Result<Target, SysfsError> {
        if path.len() > MAX_PATH {
            return Err(SysfsError::PathTooLong);
        }
        let rel = path.strip_prefix("/sys").ok_or(SysfsError::NotFound)?;
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        let dir = |v: &[&str]| Ok(Target::Dir(v.iter().map(|s| s.to_string()).collect()));
        match parts.as_slice() {
            [] => dir(&["block", "bus", "class", "devices"]),
            ["bus"] => dir(&BusType::ALL.map(BusType::name)),
            ["bus", b, rest @ ..] => {
                let bus = BusType::from_name(b).ok_or(SysfsError::NotFound)?;
                self.resolve_bus(bus, rest)
            }
            ["class"] => dir(&Class::ALL.map(Class::name)),
            ["class", c, rest @ ..] => {
                let class = Class::from_name(c).ok_or(SysfsError::NotFound)?;
                match rest {
                    [] => Ok(Target::Dir(self.names(self.class_devices(class)))),
                    [n, more @ ..] => {
                        let dev = self
                            .find_class_device(class, n)
                            .ok_or(SysfsError::NotFound)?;
                        self.walk(dev, more)
                    }
                }
            }
            ["block", rest @ ..] => {
                let disks: Vec<ObjectId> = self
                    .class_devices(Class::Block)
                    .iter()
                    .copied()
                    .filter(|&d| {
                        self.spec(d)
                            .is_some_and(|s| s.devtype.as_deref() != Some("partition"))
                    })
                    .collect();
                match rest {
                    [] => Ok(Target::Dir(self.names(&disks))),
                    [n, more @ ..] => {
                        let dev = disks
                            .into_iter()
                            .find(|&d| self.name(d) == Some(n))
                            .ok_or(SysfsError::NotFound)?;
                        self.walk(dev, more)
                    }
                }
            }
            ["devices", rest @ ..] => self.walk(self.devices_root(), rest),
            _ => Err(SysfsError::NotFound),
        }
    }

    fn resolve_bus(&self, bus: BusType, rest: &[&str]) -> Result<Target, SysfsError> {
        match rest {
            [] => Ok(Target::Dir(alloc::vec!["devices".into(), "drivers".into()])),
            ["devices"] => Ok(Target::Dir(self.names(self.bus_devices(bus)))),
            ["devices", n, more @ ..] => {
                let dev = self.find_bus_device(bus, n).ok_or(SysfsError::NotFound)?;
                self.walk(dev, more)
            }
            ["drivers"] => Ok(Target::Dir(self.names(self.bus_drivers(bus)))),
            ["drivers", d, more @ ..] => {
                let drv = self.find_driver(bus, d).ok_or(SysfsError::NotFound)?;
                match more {
                    [] => Ok(Target::Driver(drv)),
                    [a] if DRIVER_ATTRS.contains(a) => {
                        let a = DRIVER_ATTRS
                            .into_iter()
                            .find(|x| x == a)
                            .unwrap_or("uevent");
                        Ok(Target::DriverAttr(drv, a))
                    }
                    [n, deeper @ ..] => {
                        let bound = self.bound_devices(drv)?;
                        let dev = bound
                            .iter()
                            .copied()
                            .find(|&x| self.name(x) == Some(n))
                            .ok_or(SysfsError::NotFound)?;
                        self.walk(dev, deeper)
                    }
                }
            }
            _ => Err(SysfsError::NotFound),
        }
    }

    /// Lists a sysfs directory: its entries' names. `NotFound`,
    /// `NotDirectory`, `PathTooLong`.
    pub fn sysfs_list(&self, path: &str) -> Result<Vec<String>, SysfsError> {
        match self.resolve(path)? {
            Target::Dir(v) => Ok(v),
            Target::Device(id) => {
                let mut v = if id == self.devices_root() {
                    Vec::new()
                } else {
                    self.attributes(id).into_iter().map(String::from).collect()
                };
                v.extend(self.names(&self.children(id)));
                Ok(v)
            }
            Target::Driver(drv) => {
                let mut v: Vec<String> = DRIVER_ATTRS.iter().map(|s| s.to_string()).collect();
                v.extend(self.names(self.bound_devices(drv)?));
                Ok(v)
            }
            Target::DeviceAttr(..) | Target::DriverAttr(..) => Err(SysfsError::NotDirectory),
        }
    }

    /// Reads a sysfs attribute. `NotFound`, `IsDirectory`, `WriteOnly`,
    /// `PathTooLong`.
    pub fn sysfs_read(&self, path: &str) -> Result<String, SysfsError> {
        match self.resolve(path)? {
            Target::DeviceAttr(id, a) => self.attribute(id, a).ok_or(SysfsError::NotFound),
            Target::DriverAttr(..) => Err(SysfsError::WriteOnly),
            _ => Err(SysfsError::IsDirectory),
        }
    }

    /// Writes a sysfs attribute: a device name to a driver's `bind` or
    /// `unbind`, `add` or `change` to a device's `uevent`. A trailing
    /// newline is ignored. `ReadOnly`, `InvalidValue`, `IsDirectory`,
    /// `NotFound`, or the model's error in `Model`.
    pub fn sysfs_write(
        &mut self,
        path: &str,
        data: &[u8],
        host: &mut dyn DriverHost,
    ) -> Result<(), SysfsError> {
        if data.len() > MAX_WRITE {
            return Err(SysfsError::InvalidValue);
        }
        let text = core::str::from_utf8(data).map_err(|_| SysfsError::InvalidValue)?;
        let value = text.strip_suffix('\n').unwrap_or(text);
        match self.resolve(path)? {
            Target::DriverAttr(drv, "bind") => {
                let bus = self.driver(drv)?.bus;
                let dev = self
                    .find_bus_device(bus, value)
                    .ok_or(ModelError::NoSuchDevice)?;
                Ok(self.bind(drv, dev, host)?)
            }
            Target::DriverAttr(drv, "unbind") => {
                let dev = self
                    .bound_devices(drv)?
                    .iter()
                    .copied()
                    .find(|&d| self.name(d) == Some(value))
                    .ok_or(ModelError::NotBound)?;
                Ok(self.unbind(dev, host)?)
            }
            Target::DeviceAttr(dev, "uevent") => match Action::parse(value) {
                Some(a @ (Action::Add | Action::Change)) => {
                    self.device_uevent(dev, a);
                    Ok(())
                }
                _ => Err(SysfsError::InvalidValue),
            },
            Target::DriverAttr(..) | Target::DeviceAttr(..) => Err(SysfsError::ReadOnly),
            _ => Err(SysfsError::IsDirectory),
        }
    }
}
