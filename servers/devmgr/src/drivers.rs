//! Driver processes: which binary drives which device (the driver
//! table), and when a driver that died is started again (the back-off).
//!
//! devmgr registers every driver of [`DRIVER_TABLE`] with the model at
//! boot, as Linux registers its built-in drivers; a device the table's
//! IDs match is probed, and the probe of a process driver is a request
//! to start that driver's binary (a boot module) through `init`'s spawn
//! protocol with exactly the device's resources: its interrupt line,
//! each of its I/O port ranges and, for a PCI device, each BAR (memory
//! BARs as device-memory regions). When the process dies, devmgr
//! unbinds the device (`unbind` uevent), waits as [`Backoff`] says, and
//! binds it again (`bind`), which starts a new process.

use crate::model::BusType;

/// A driver devmgr runs as a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriverBinary {
    /// The driver's name in the model (`/sys/bus/<bus>/drivers/<name>`).
    pub name: &'static str,
    /// The boot module it runs.
    pub module: &'static str,
    pub bus: BusType,
    /// The platform device names it matches (its ID table).
    pub platform_ids: &'static [&'static str],
    /// The PCI `vendor:device` pairs it matches (`PCI_DEVICE`).
    pub pci_ids: &'static [(u16, u16)],
    /// Whether its process is handed the device's I/O-port BARs too (a
    /// driver gets at most two BARs: a message carries four handles, and
    /// the endpoint and the line take two). virtio-blk's modern interface
    /// lies in memory BARs; the transitional device's port BAR 0 (the
    /// legacy interface) would crowd them out.
    pub port_bars: bool,
}

/// The drivers devmgr starts: the PS/2 keyboard behind the i8042
/// controller (Linux's `i8042` and `atkbd` together), QEMU's `edu`
/// teaching device (PCI 1234:11e8; the driver lab, docs/labs/06-pci-edu.md),
/// and the virtio block device (PCI 1af4:1001, QEMU's transitional
/// device, and 1af4:1042, the modern-only one: the driver speaks the
/// modern interface both have, through the `virtio-drivers` crate; it
/// serves the block server).
pub const DRIVER_TABLE: &[DriverBinary] = &[
    DriverBinary {
        name: "i8042",
        module: "kbd",
        bus: BusType::Platform,
        platform_ids: &["i8042"],
        pci_ids: &[],
        port_bars: true,
    },
    DriverBinary {
        name: "edu",
        module: "edu",
        bus: BusType::Pci,
        platform_ids: &[],
        pci_ids: &[(0x1234, 0x11e8)],
        port_bars: true,
    },
    DriverBinary {
        name: "virtio_blk",
        module: "virtio-blk",
        bus: BusType::Pci,
        platform_ids: &[],
        pci_ids: &[(0x1af4, 0x1001), (0x1af4, 0x1042)],
        port_bars: false,
    },
];

/// The driver of `name` in the table.
pub fn find(name: &str) -> Option<&'static DriverBinary> {
    DRIVER_TABLE.iter().find(|d| d.name == name)
}

/// The first delay before a restart.
pub const BACKOFF_FIRST_MS: u64 = 100;
/// The longest delay.
pub const BACKOFF_MAX_MS: u64 = 6_400;
/// A driver that ran this long before dying starts over at the first
/// delay (it was not crashing at start).
pub const BACKOFF_RESET_MS: u64 = 10_000;

/// The restart back-off of one driver: the delay doubles with each death
/// that comes soon after a start, up to [`BACKOFF_MAX_MS`]; a driver that
/// ran [`BACKOFF_RESET_MS`] starts over. Never gives up (a keyboard that
/// keeps failing costs one start every 6.4 s).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backoff {
    /// Deaths in a row that came soon after a start.
    quick_deaths: u32,
    /// When the current process started (ms).
    started_ms: u64,
}

impl Backoff {
    /// A process was started at `now_ms`.
    pub fn started(&mut self, now_ms: u64) {
        self.started_ms = now_ms;
    }

    /// The process died at `now_ms`: how long to wait before the next
    /// start.
    pub fn died(&mut self, now_ms: u64) -> u64 {
        if now_ms.saturating_sub(self.started_ms) >= BACKOFF_RESET_MS {
            self.quick_deaths = 0;
        }
        let delay = BACKOFF_FIRST_MS
            .checked_shl(self.quick_deaths)
            .unwrap_or(BACKOFF_MAX_MS)
            .min(BACKOFF_MAX_MS);
        self.quick_deaths = self.quick_deaths.saturating_add(1);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_the_keyboard() {
        let kbd = find("i8042").unwrap();
        assert_eq!(kbd.module, "kbd");
        assert_eq!(kbd.bus, BusType::Platform);
        let edu = find("edu").unwrap();
        assert_eq!((edu.module, edu.bus), ("edu", BusType::Pci));
        assert_eq!(edu.pci_ids, &[(0x1234, 0x11e8)]);
        let vblk = find("virtio_blk").unwrap();
        assert_eq!((vblk.module, vblk.bus), ("virtio-blk", BusType::Pci));
        assert_eq!(vblk.pci_ids, &[(0x1af4, 0x1001), (0x1af4, 0x1042)]);
        assert!(!vblk.port_bars, "the modern interface's memory BARs only");
        assert!(edu.port_bars);
        assert!(find("nope").is_none());
    }

    #[test]
    fn quick_deaths_double_the_delay_up_to_the_cap_and_a_long_run_resets() {
        let mut b = Backoff::default();
        let mut now = 0;
        let mut delays = Vec::new();
        for _ in 0..10 {
            b.started(now);
            now += 50;
            let d = b.died(now);
            delays.push(d);
            now += d;
        }
        assert_eq!(
            delays,
            [100, 200, 400, 800, 1600, 3200, 6400, 6400, 6400, 6400]
        );
        b.started(now);
        assert_eq!(b.died(now + BACKOFF_RESET_MS), BACKOFF_FIRST_MS);
        // Many more deaths never overflow.
        for _ in 0..100 {
            b.died(now);
        }
        assert_eq!(b.died(now), BACKOFF_MAX_MS);
    }
}
