//! Device identities and driver ID tables: how a bus decides that a driver
//! can drive a device (LKD 17, the bus's `match` method).
//!
//! A device carries a [`DeviceIdent`] — what its bus read from the hardware
//! (PCI vendor, device, subsystem and class; a virtio device type) or the
//! name a platform device was registered with. A driver carries a table of
//! [`DeviceMatch`] entries, Linux's `pci_device_id` (with `PCI_ANY_ID`
//! wildcards and a class mask), `platform_device_id` (a name) and
//! `virtio_device_id`. [`DeviceMatch::matches`] is the bus's `match`;
//! [`DeviceIdent::modalias`] is the `MODALIAS` string of the uevent that
//! user space (udev's `modprobe`) would look drivers up with.

use alloc::format;
use alloc::string::String;

/// The wildcard of a PCI ID table field (Linux's `PCI_ANY_ID`).
pub const PCI_ANY_ID: u32 = 0xFFFF_FFFF;
/// The wildcard of a virtio ID table field (`VIRTIO_DEV_ANY_ID`).
pub const VIRTIO_DEV_ANY_ID: u32 = 0xFFFF_FFFF;

/// What a PCI function says about itself in its configuration header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciIdent {
    /// Vendor ID (offset 0x00).
    pub vendor: u16,
    /// Device ID (0x02).
    pub device: u16,
    /// Subsystem vendor ID (0x2C; 0 for bridges).
    pub subvendor: u16,
    /// Subsystem ID (0x2E).
    pub subdevice: u16,
    /// Class code, subclass and programming interface as one 24-bit value
    /// (`0x010000` = SCSI storage), as Linux's `pci_dev->class`.
    pub class: u32,
    /// Revision ID (0x08).
    pub revision: u8,
}

/// What the bus knows of a device, to match drivers against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceIdent {
    /// A PCI function.
    Pci(PciIdent),
    /// A platform (ISA, legacy) device: matched by the device's name.
    Platform,
    /// A virtio device on the virtio bus.
    Virtio {
        /// The virtio device type (2 = block, 1 = network).
        device: u32,
        /// The vendor (the PCI subsystem vendor for virtio-pci).
        vendor: u32,
    },
    /// A class device (a `tty`, `block` or `input` node): no bus, no match.
    None,
}

/// One entry of a driver's ID table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceMatch {
    /// Linux's `struct pci_device_id`: each ID field is a value or
    /// [`PCI_ANY_ID`]; the class matches where `class_mask` has bits set.
    Pci {
        /// Vendor or `PCI_ANY_ID`.
        vendor: u32,
        /// Device or `PCI_ANY_ID`.
        device: u32,
        /// Subsystem vendor or `PCI_ANY_ID`.
        subvendor: u32,
        /// Subsystem device or `PCI_ANY_ID`.
        subdevice: u32,
        /// The class bits to compare (under `class_mask`).
        class: u32,
        /// Which class bits must be equal (0: any class).
        class_mask: u32,
    },
    /// A platform device's name (`platform_device_id`).
    Platform(String),
    /// `struct virtio_device_id`.
    Virtio {
        /// Device type or `VIRTIO_DEV_ANY_ID`.
        device: u32,
        /// Vendor or `VIRTIO_DEV_ANY_ID`.
        vendor: u32,
    },
}

impl DeviceMatch {
    /// `PCI_DEVICE(vendor, device)`: any subsystem, any class.
    pub fn pci_device(vendor: u16, device: u16) -> Self {
        DeviceMatch::Pci {
            vendor: vendor.into(),
            device: device.into(),
            subvendor: PCI_ANY_ID,
            subdevice: PCI_ANY_ID,
            class: 0,
            class_mask: 0,
        }
    }

    /// `PCI_DEVICE_CLASS(class, mask)`: any IDs of that class.
    pub fn pci_class(class: u32, class_mask: u32) -> Self {
        DeviceMatch::Pci {
            vendor: PCI_ANY_ID,
            device: PCI_ANY_ID,
            subvendor: PCI_ANY_ID,
            subdevice: PCI_ANY_ID,
            class,
            class_mask,
        }
    }

    /// Whether this entry matches the device `ident` named `name` (the
    /// name only matters on the platform bus).
    pub fn matches(&self, ident: &DeviceIdent, name: &str) -> bool {
        fn field(want: u32, have: u32) -> bool {
            want == PCI_ANY_ID || want == have
        }
        match (self, ident) {
            (
                DeviceMatch::Pci {
                    vendor,
                    device,
                    subvendor,
                    subdevice,
                    class,
                    class_mask,
                },
                DeviceIdent::Pci(id),
            ) => {
                field(*vendor, id.vendor.into())
                    && field(*device, id.device.into())
                    && field(*subvendor, id.subvendor.into())
                    && field(*subdevice, id.subdevice.into())
                    && (class ^ id.class) & class_mask == 0
            }
            (DeviceMatch::Platform(want), DeviceIdent::Platform) => want == name,
            (
                DeviceMatch::Virtio { device, vendor },
                DeviceIdent::Virtio {
                    device: d,
                    vendor: v,
                },
            ) => (*device == VIRTIO_DEV_ANY_ID || device == d) && field(*vendor, *v),
            _ => false,
        }
    }
}

impl DeviceIdent {
    /// The `MODALIAS` of a device named `name`, as Linux formats it
    /// (`pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00`,
    /// `platform:serial8250`, `virtio:d00000002v00001AF4`); `None` for
    /// class devices.
    pub fn modalias(&self, name: &str) -> Option<String> {
        match self {
            DeviceIdent::Pci(p) => Some(format!(
                "pci:v{:08X}d{:08X}sv{:08X}sd{:08X}bc{:02X}sc{:02X}i{:02X}",
                p.vendor,
                p.device,
                p.subvendor,
                p.subdevice,
                (p.class >> 16) & 0xFF,
                (p.class >> 8) & 0xFF,
                p.class & 0xFF
            )),
            DeviceIdent::Platform => Some(format!("platform:{name}")),
            DeviceIdent::Virtio { device, vendor } => {
                Some(format!("virtio:d{device:08X}v{vendor:08X}"))
            }
            DeviceIdent::None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn virtio_blk() -> DeviceIdent {
        DeviceIdent::Pci(PciIdent {
            vendor: 0x1af4,
            device: 0x1001,
            subvendor: 0x1af4,
            subdevice: 2,
            class: 0x010000,
            revision: 0,
        })
    }

    #[test]
    fn pci_ids_and_class_mask() {
        let d = virtio_blk();
        assert!(DeviceMatch::pci_device(0x1af4, 0x1001).matches(&d, ""));
        assert!(!DeviceMatch::pci_device(0x1af4, 0x1000).matches(&d, ""));
        assert!(DeviceMatch::pci_class(0x010000, 0xFF0000).matches(&d, ""));
        assert!(!DeviceMatch::pci_class(0x020000, 0xFF0000).matches(&d, ""));
        assert!(!DeviceMatch::Platform("x".into()).matches(&d, "x"));
        assert_eq!(
            d.modalias("").unwrap(),
            "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00"
        );
    }
}
