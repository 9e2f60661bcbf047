//! A block driver in a process of its own (the virtio-blk driver,
//! `servers/drivers/virtio-blk`), seen from the block server: found
//! through devmgr (its PCI function), reached through its device node
//! (devmgr's `Open`), spoken to with `libsys::proto::blkdrv`, every call
//! bounded by [`CALL_TIMEOUT_NS`].
//!
//! The server's loop learns that the driver died from a call that fails
//! (`PeerDied`, a timeout, nonsense): it then takes back what the driver
//! held (`Service::driver_died`) and attaches the next instance — at
//! once when that one says `DriverUp`, or at the latest [`ATTACH_POLL_MS`]
//! later, through devmgr — which gets the held requests first.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use blk::transfer::extents;
use blk::{Op, Request, RequestId};
use driver_hal::dma::DmaBuffer;
use libsys::abi::grant::{Access, Window};
use libsys::handle::Notification;
use libsys::proto::blkdrv::{self, CallError, Driver, Geometry, Piece, Pieces};
use libsys::proto::devmgr::{self, Bus, Slot};

/// PCI IDs of the virtio block devices the driver takes: QEMU's
/// transitional one and the modern-only one (devmgr's table has both).
pub const VIRTIO_VENDOR: u16 = 0x1af4;
pub const VIRTIO_BLK: [u16; 2] = [0x1001, 0x1042];
/// How long a call to the driver may take (a Submit or Reap is a few
/// thousand instructions; a driver that hangs is taken as dead).
pub const CALL_TIMEOUT_NS: u64 = 2_000_000_000;
/// While a driver is missing, how often the server tries devmgr: the
/// fallback (a restarted driver says `DriverUp` at once; a server that
/// opened the node first would hold that call up to its timeout).
pub const ATTACH_POLL_MS: u64 = 1_000;
/// At start, how often it tries (it is not registered yet, so no driver
/// can announce itself).
pub const START_POLL_MS: u64 = 20;
/// The notification bit the driver signals when requests finish.
pub const DONE_BIT: u8 = 1;

/// A request the driver finished: `Err(status)` if it failed.
pub type Completed = (RequestId, Result<(), i32>);

/// One driver process and what the server knows of it.
pub struct Remote {
    /// Its PCI function (`0000:00:03.0`).
    pub device: String,
    driver: Option<Driver>,
    /// Requests submitted and not yet reaped.
    held: usize,
}

/// The PCI functions of the virtio disks devmgr lists, in its order
/// (slot order: the first is `vda`, the next `vdb`).
pub fn find_devices() -> Vec<String> {
    let Ok(dev) = devmgr::Client::connect() else {
        return Vec::new();
    };
    let Ok((names, _)) = dev.list_devices(Bus::Pci, 0) else {
        return Vec::new();
    };
    names
        .iter()
        .filter_map(|name| {
            let info = dev.pci_info(Slot::parse(name)?).ok()?;
            (info.vendor == VIRTIO_VENDOR && VIRTIO_BLK.contains(&info.device))
                .then(|| String::from(name.as_str()))
        })
        .collect()
}

impl Remote {
    /// The driver of `device`, not attached yet.
    pub fn new(device: String) -> Remote {
        Remote {
            device,
            driver: None,
            held: 0,
        }
    }

    /// Whether a driver instance is attached.
    pub fn attached(&self) -> bool {
        self.driver.is_some()
    }

    /// Whether it holds requests.
    pub fn busy(&self) -> bool {
        self.attached() && self.held > 0
    }

    /// Opens the device node through devmgr and says `Hello`: the
    /// device's geometry. The driver signals `notification` at
    /// [`DONE_BIT`].
    pub fn attach(&mut self, notification: &Notification) -> Result<Geometry, String> {
        let dev = devmgr::Client::connect().map_err(|e| format!("no devmgr: {e}"))?;
        let endpoint = dev
            .open(&self.device)
            .map_err(|e| format!("open {}: {e}", self.device))?;
        let driver = Driver::new(endpoint, CALL_TIMEOUT_NS);
        let geometry = driver
            .hello(notification, DONE_BIT)
            .map_err(|e| format!("Hello: {e}"))?;
        self.driver = Some(driver);
        self.held = 0;
        Ok(geometry)
    }

    /// Forgets the instance (it died).
    pub fn detach(&mut self) {
        self.driver = None;
        self.held = 0;
    }

    /// Puts `rq` on the driver: its pieces are places in `pool`, which a
    /// write lends to be read. `Err(Dead)`: the driver is gone;
    /// `Err(Refused)`: it will not take this one.
    pub fn submit(&mut self, rq: &Request, pool: &DmaBuffer) -> Result<(), CallError> {
        let driver = self
            .driver
            .as_ref()
            .ok_or(CallError::Dead(libsys::abi::SysError::PeerDied))?;
        let op = match rq.op {
            Op::Read => blkdrv::Op::Read,
            Op::Write => blkdrv::Op::Write,
            Op::Flush => blkdrv::Op::Flush,
        };
        let segments = rq.bios.iter().flat_map(|b| b.segments.iter());
        let mut pieces = Pieces::new();
        for (offset, len) in extents(segments) {
            let offset = u32::try_from(offset).map_err(|_| CallError::Protocol)?;
            pieces
                .push(Piece { offset, len })
                .map_err(|_| CallError::Protocol)?;
        }
        let window = (op == blkdrv::Op::Write)
            .then(|| Window::new(pool.addr(), pool.len(), Access::Read).ok())
            .flatten();
        driver.submit(rq.id.0, op, rq.sector, pieces, window)?;
        self.held += 1;
        Ok(())
    }

    /// Collects what the driver finished, the reads' data copied into
    /// `pool` by it. `Err`: the driver is gone.
    pub fn reap(&mut self, pool: &DmaBuffer) -> Result<Vec<Completed>, CallError> {
        let driver = self
            .driver
            .as_ref()
            .ok_or(CallError::Dead(libsys::abi::SysError::PeerDied))?;
        let window =
            Window::new(pool.addr(), pool.len(), Access::Write).map_err(CallError::Dead)?;
        let mut out = Vec::new();
        loop {
            let (done, more) = driver.reap(window)?;
            for d in &done {
                let result = if d.status == 0 { Ok(()) } else { Err(d.status) };
                out.push((RequestId(d.id), result));
            }
            self.held = self.held.saturating_sub(done.len());
            if !more {
                return Ok(out);
            }
        }
    }
}
