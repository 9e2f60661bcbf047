//! The legacy (ISA) devices every PC has at fixed places, registered on
//! the `platform` bus with their resources, as Linux's `serial8250`,
//! `i8042`, `rtc_cmos` and the PIT. Nothing probes for them: QEMU's `pc`
//! and `q35` machines always have them (the ACPI tables would say so too;
//! devmgr does not read them yet).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::ids::DeviceIdent;
use crate::kobject::ObjectId;
use crate::model::{BusType, DeviceSpec, Resource, IORESOURCE_IO};

/// One legacy device: its name, its ISA IRQ and its port ranges
/// (first, count).
pub struct LegacyDevice {
    pub name: &'static str,
    pub irq: u32,
    pub ports: &'static [(u64, u64)],
}

/// The legacy devices of QEMU's PC machines.
pub const LEGACY_DEVICES: &[LegacyDevice] = &[
    // The PIT (8253/8254): channels 0-2 and the command port.
    LegacyDevice {
        name: "i8253",
        irq: 0,
        ports: &[(0x40, 4)],
    },
    // The PS/2 controller: data at 0x60, status and command at 0x64.
    LegacyDevice {
        name: "i8042",
        irq: 1,
        ports: &[(0x60, 1), (0x64, 1)],
    },
    // COM1, a 16550A.
    LegacyDevice {
        name: "serial8250",
        irq: 4,
        ports: &[(0x3f8, 8)],
    },
    // The CMOS real-time clock.
    LegacyDevice {
        name: "rtc_cmos",
        irq: 8,
        ports: &[(0x70, 2)],
    },
];

impl LegacyDevice {
    /// Its registration under `parent` (the `platform` device).
    pub fn device_spec(&self, parent: Option<ObjectId>) -> DeviceSpec {
        let mut spec = DeviceSpec::new(self.name);
        spec.parent = parent;
        spec.bus = Some(BusType::Platform);
        spec.ident = DeviceIdent::Platform;
        spec.irq = Some(self.irq);
        spec.resources = self
            .ports
            .iter()
            .map(|&(first, count)| Resource {
                start: first,
                end: first + count - 1,
                flags: IORESOURCE_IO,
            })
            .collect();
        spec
    }

    /// Its boot log line: `platform serial8250: io 0x3f8-0x3ff, irq 4`.
    pub fn log_line(&self) -> String {
        let io: Vec<String> = self
            .ports
            .iter()
            .map(|&(first, count)| format!("0x{first:x}-0x{:x}", first + count - 1))
            .collect();
        format!(
            "platform {}: io {}, irq {}",
            self.name,
            io.join(" "),
            self.irq
        )
    }
}
