//! Names for the PCI devices QEMU shows on its `pc` (i440FX + PIIX3) and
//! `q35` (MCH + ICH9) machines, and an `lspci -nn` line.
//!
//! The table is ours, written after the PCI ID database's names for these
//! devices; anything it does not know is printed the way `lspci` prints an
//! unknown device (`Device [1af4:1099]`). Virtio devices (vendor 0x1af4,
//! device 0x1000–0x107f) are named from their ID: 0x1000–0x103f are the
//! transitional (legacy) IDs, 0x1040 + type the modern (virtio 1.0) ones.

use alloc::format;
use alloc::string::String;

use super::header::PciHeader;

/// Vendor IDs of QEMU's devices.
const VENDORS: &[(u16, &str)] = &[
    (0x8086, "Intel Corporation"),
    (0x1af4, "Red Hat, Inc."),
    (0x1b36, "Red Hat, Inc."),
    (0x1234, "QEMU"),
    (0x1013, "Cirrus Logic"),
    (0x10ec, "Realtek Semiconductor Co., Ltd."),
];

/// (vendor, device, name).
const DEVICES: &[(u16, u16, &str)] = &[
    (0x8086, 0x29c0, "82G33/G31/P35/P31 Express DRAM Controller"),
    (0x8086, 0x2918, "82801IB (ICH9) LPC Interface Controller"),
    (
        0x8086,
        0x2922,
        "82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode]",
    ),
    (0x8086, 0x2930, "82801I (ICH9 Family) SMBus Controller"),
    (0x8086, 0x1237, "440FX - 82441FX PMC [Natoma]"),
    (0x8086, 0x7000, "82371SB PIIX3 ISA [Natoma/Triton II]"),
    (0x8086, 0x7010, "82371SB PIIX3 IDE [Natoma/Triton II]"),
    (0x8086, 0x7020, "82371SB PIIX3 USB [Natoma/Triton II]"),
    (0x8086, 0x7113, "82371AB/EB/MB PIIX4 ACPI"),
    (0x8086, 0x100e, "82540EM Gigabit Ethernet Controller"),
    (0x8086, 0x10d3, "82574L Gigabit Network Connection"),
    (0x1234, 0x1111, "Standard VGA"),
    (0x1234, 0x11e8, "Educational device (edu)"),
    (0x1b36, 0x0001, "QEMU PCI-PCI bridge"),
    (0x1b36, 0x0008, "QEMU PCIe Host bridge"),
    (0x1b36, 0x000c, "QEMU PCIe Root port"),
    (0x1b36, 0x000d, "QEMU XHCI Host Controller"),
    (0x1b36, 0x0100, "QXL paravirtual graphic card"),
    (0x1013, 0x00b8, "GD 5446"),
    (
        0x10ec,
        0x8139,
        "RTL-8100/8101L/8139 PCI Fast Ethernet Adapter",
    ),
];

/// Virtio device types by their number (virtio spec, "Device Types").
const VIRTIO_TYPES: &[(u16, &str)] = &[
    (1, "network"),
    (2, "block"),
    (3, "console"),
    (4, "RNG"),
    (5, "memory balloon"),
    (8, "SCSI"),
    (9, "filesystem"),
    (16, "GPU"),
    (18, "input"),
    (19, "socket"),
];

/// The virtio device type of a virtio-pci ID (0x1000–0x107f), if it is one.
pub fn virtio_type(vendor: u16, device: u16, subsystem_id: u16) -> Option<u16> {
    match (vendor, device) {
        // Transitional devices put the type in the subsystem ID.
        (0x1af4, 0x1000..=0x103f) => Some(subsystem_id),
        (0x1af4, 0x1040..=0x107f) => Some(device - 0x1040),
        _ => None,
    }
}

/// The vendor's name.
pub fn vendor_name(vendor: u16) -> Option<&'static str> {
    VENDORS.iter().find(|v| v.0 == vendor).map(|v| v.1)
}

/// The device's name (virtio ones built from their type).
pub fn device_name(vendor: u16, device: u16) -> Option<String> {
    if let Some(d) = DEVICES.iter().find(|d| d.0 == vendor && d.1 == device) {
        return Some(d.2.into());
    }
    let (modern, ty) = match (vendor, device) {
        (0x1af4, 0x1000) => (false, 1),
        (0x1af4, 0x1001) => (false, 2),
        (0x1af4, 0x1002) => (false, 5),
        (0x1af4, 0x1003) => (false, 3),
        (0x1af4, 0x1004) => (false, 8),
        (0x1af4, 0x1005) => (false, 4),
        (0x1af4, 0x1009) => (false, 9),
        (0x1af4, 0x1040..=0x107f) => (true, device - 0x1040),
        _ => return None,
    };
    let what = VIRTIO_TYPES.iter().find(|t| t.0 == ty).map(|t| t.1)?;
    Some(if modern {
        format!("Virtio 1.0 {what} device")
    } else {
        format!("Virtio {what} device")
    })
}

/// The device's name given its class too: QEMU's `bochs-display` has the
/// standard VGA's IDs but is a display controller (class 0x0380), not a
/// VGA one.
pub fn device_name_in_class(vendor: u16, device: u16, class: u8, subclass: u8) -> Option<String> {
    if (vendor, device, class, subclass) == (0x1234, 0x1111, 0x03, 0x80) {
        return Some("bochs-display".into());
    }
    device_name(vendor, device)
}

/// The class's name, from class and subclass (falling back to the base
/// class alone).
pub fn class_name(class: u8, subclass: u8) -> String {
    let exact = match (class, subclass) {
        (0x00, 0xff) => "Unclassified device",
        (0x01, 0x00) => "SCSI storage controller",
        (0x01, 0x01) => "IDE interface",
        (0x01, 0x06) => "SATA controller",
        (0x01, 0x08) => "Non-Volatile memory controller",
        (0x02, 0x00) => "Ethernet controller",
        (0x03, 0x00) => "VGA compatible controller",
        (0x06, 0x00) => "Host bridge",
        (0x06, 0x01) => "ISA bridge",
        (0x06, 0x04) => "PCI bridge",
        (0x0c, 0x03) => "USB controller",
        (0x0c, 0x05) => "SMBus",
        _ => "",
    };
    if !exact.is_empty() {
        return exact.into();
    }
    let base = match class {
        0x00 => "Unclassified device",
        0x01 => "Mass storage controller",
        0x02 => "Network controller",
        0x03 => "Display controller",
        0x04 => "Multimedia controller",
        0x05 => "Memory controller",
        0x06 => "Bridge",
        0x07 => "Communication controller",
        0x08 => "Generic system peripheral",
        0x09 => "Input device controller",
        0x0c => "Serial bus controller",
        _ => return format!("Class {class:02x}{subclass:02x}"),
    };
    base.into()
}

/// One `lspci -nn` line:
/// `00:03.0 SCSI storage controller [0100]: Red Hat, Inc. Virtio block
/// device [1af4:1001]`, with ` (rev 02)` when the revision is not 0 and the
/// domain in front when it is not 0.
pub fn lspci_line(h: &PciHeader) -> String {
    let a = h.address;
    let slot = if a.segment() == 0 {
        format!("{:02x}:{:02x}.{}", a.bus(), a.device(), a.function())
    } else {
        format!("{a}")
    };
    format!(
        "{slot} {}",
        describe(h.vendor_id, h.device_id, h.class, h.subclass, h.revision)
    )
}

/// The part of an `lspci -nn` line after the slot:
/// `SMBus [0c05]: Intel Corporation 82801I (ICH9 Family) SMBus Controller
/// [8086:2930] (rev 02)`.
pub fn describe(vendor: u16, device: u16, class: u8, subclass: u8, revision: u8) -> String {
    let what = match (vendor_name(vendor), device_name(vendor, device)) {
        (Some(v), Some(d)) => format!("{v} {d}"),
        (Some(v), None) => format!("{v} Device"),
        (None, _) => String::from("Device"),
    };
    let mut line = format!(
        "{} [{class:02x}{subclass:02x}]: {what} [{vendor:04x}:{device:04x}]",
        class_name(class, subclass),
    );
    if revision != 0 {
        line.push_str(&format!(" (rev {revision:02x})"));
    }
    line
}
