//! A virtio device on PCI through the `virtio-drivers` crate, for a
//! driver process: the crate's configuration access through devmgr, its
//! PCI transport, and a virtio-blk device with a safe, non-blocking
//! request interface over the crate's `unsafe` one.
//!
//! - [`DevmgrConfig`]: the crate's `ConfigurationAccess` for the driver's
//!   own function alone, every dword read and written through devmgr's
//!   `ConfigRead`/`ConfigWrite` — except the BAR registers, which the
//!   crate sizes by writing all ones and devmgr (rightly) refuses to let
//!   a driver write: those are answered from a [`BarShadow`] built from
//!   the BARs devmgr reported.
//! - [`pci_transport`]: the crate's `PciTransport` (the modern virtio
//!   PCI interface: common, notify, ISR and device configuration found
//!   through the vendor-specific capabilities), whose BAR mappings come
//!   from the regions devmgr handed the driver ([`VirtioHal::give_bar`]).
//! - [`BlkDevice`]: the crate's `VirtIOBlk` with `depth` request slots
//!   in the driver's own DMA memory (data, request header, status):
//!   [`BlkDevice::submit`] puts a slot's request on the device without
//!   waiting (`read_blocks_nb`/`write_blocks_nb`), and after the
//!   interrupt ([`BlkDevice::ack_interrupt`]) [`BlkDevice::complete`]
//!   takes finished requests off the used ring (`complete_*_blocks`).
//!   The crate's `unsafe` contract — the buffers stay put and untouched
//!   until the completion — is kept here: a slot's memory is this
//!   type's, and a slot on the device is given to no one
//!   ([`BlkDevice::slot_addr`] is `None` for it).

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::mem::ManuallyDrop;

use libsys::proto::devmgr::{Client, PciInfo, Slot};
use virtio_drivers::device::blk::{BlkReq, BlkResp, RespStatus, VirtIOBlk};
use virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction, PciRoot};
use virtio_drivers::transport::pci::{PciTransport, VirtioPciError};
use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use virtio_drivers::PhysAddr;
use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::bars::{bar_register, BarShadow};
use crate::dma::DmaBuffer;
use crate::hal::{VirtioHal, DMA_LIMIT};

/// The crate's configuration access for one function, through devmgr.
pub struct DevmgrConfig<'a> {
    devmgr: &'a Client,
    slot: Slot,
    bars: BarShadow,
}

impl<'a> DevmgrConfig<'a> {
    /// The access to `info`'s function (the driver's own: devmgr refuses
    /// any other).
    pub fn new(devmgr: &'a Client, info: &PciInfo) -> DevmgrConfig<'a> {
        DevmgrConfig {
            devmgr,
            slot: info.slot,
            bars: BarShadow::new(&info.bars),
        }
    }

    /// BAR writes refused (they would have moved a BAR).
    pub fn refused(&self) -> u64 {
        self.bars.refused()
    }

    fn ours(&self, f: DeviceFunction) -> bool {
        (f.bus, f.device, f.function) == (self.slot.bus, self.slot.device, self.slot.function)
    }
}

impl ConfigurationAccess for DevmgrConfig<'_> {
    fn read_word(&self, f: DeviceFunction, offset: u8) -> u32 {
        if !self.ours(f) {
            // Another function: as if nothing answered there.
            return u32::MAX;
        }
        if let Some(i) = bar_register(offset) {
            return self.bars.read(i);
        }
        // A failed read (devmgr gone) reads as no device, as on the bus.
        self.devmgr
            .config_read(self.slot, u16::from(offset))
            .unwrap_or(u32::MAX)
    }

    fn write_word(&mut self, f: DeviceFunction, offset: u8, data: u32) {
        if !self.ours(f) {
            return;
        }
        if let Some(i) = bar_register(offset) {
            let _ = self.bars.write(i, data);
            return;
        }
        // The crate has no error here; a refused write (devmgr's
        // `NotAllowed`) leaves the register as it was, and the transport
        // fails on what it then reads.
        let _ = self.devmgr.config_write(self.slot, u16::from(offset), data);
    }

    unsafe fn unsafe_clone(&self) -> Self {
        DevmgrConfig {
            devmgr: self.devmgr,
            slot: self.slot,
            bars: self.bars.clone(),
        }
    }
}

/// The crate's PCI transport for the driver's function `info`: the
/// virtio structures found through its capabilities (read through
/// devmgr), mapped from the BARs handed to [`VirtioHal::give_bar`].
pub fn pci_transport(devmgr: &Client, info: &PciInfo) -> Result<PciTransport, VirtioPciError> {
    let mut root = PciRoot::new(DevmgrConfig::new(devmgr, info));
    let function = DeviceFunction {
        bus: info.slot.bus,
        device: info.slot.device,
        function: info.slot.function,
    };
    PciTransport::new::<VirtioHal, _>(&mut root, function)
}

/// A transport that hides `VIRTIO_BLK_F_FLUSH` from the crate.
///
/// The crate's `VirtIOBlk` negotiates every feature it supports that the
/// device offers, and its only flush is blocking: it busy-waits on the
/// used ring (and fails with `WrongToken` if another request finishes
/// first) — polling, in a driver whose completions are interrupts.
/// Without the feature a virtio-blk device has no volatile write cache
/// to flush (virtio 1.1, 5.2.5: the cache is in writeback mode after
/// reset if and only if `VIRTIO_BLK_F_FLUSH` is negotiated; QEMU turns
/// its write cache off then), so a completed write is already durable
/// and the driver finishes a flush at once.
pub struct NoFlush(pub PciTransport);

impl Transport for NoFlush {
    fn device_type(&self) -> DeviceType {
        self.0.device_type()
    }
    fn read_device_features(&mut self) -> u64 {
        self.0.read_device_features() & !F_FLUSH
    }
    fn write_driver_features(&mut self, driver_features: u64) {
        self.0.write_driver_features(driver_features & !F_FLUSH)
    }
    fn max_queue_size(&mut self, queue: u16) -> u32 {
        self.0.max_queue_size(queue)
    }
    fn notify(&mut self, queue: u16) {
        self.0.notify(queue)
    }
    fn get_status(&self) -> DeviceStatus {
        self.0.get_status()
    }
    fn set_status(&mut self, status: DeviceStatus) {
        self.0.set_status(status)
    }
    fn set_guest_page_size(&mut self, guest_page_size: u32) {
        self.0.set_guest_page_size(guest_page_size)
    }
    fn requires_legacy_layout(&self) -> bool {
        self.0.requires_legacy_layout()
    }
    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        self.0
            .queue_set(queue, size, descriptors, driver_area, device_area)
    }
    fn queue_unset(&mut self, queue: u16) {
        self.0.queue_unset(queue)
    }
    fn queue_used(&mut self, queue: u16) -> bool {
        self.0.queue_used(queue)
    }
    fn ack_interrupt(&mut self) -> InterruptStatus {
        self.0.ack_interrupt()
    }
    fn read_config_generation(&self) -> u32 {
        self.0.read_config_generation()
    }
    fn read_config_space<T: FromBytes + IntoBytes>(
        &self,
        offset: usize,
    ) -> virtio_drivers::Result<T> {
        self.0.read_config_space(offset)
    }
    fn write_config_space<T: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: T,
    ) -> virtio_drivers::Result<()> {
        self.0.write_config_space(offset, value)
    }
}

/// `VIRTIO_F_INDIRECT_DESC`: a request takes one ring descriptor.
const F_INDIRECT_DESC: u64 = 1 << 28;
/// `VIRTIO_BLK_F_FLUSH`.
const F_FLUSH: u64 = 1 << 9;
/// Descriptors of a request without indirect descriptors: header, data,
/// status.
const CHAIN: usize = 3;
/// Bytes per slot in the header block: the 16-byte request, the status.
const HEADER_STRIDE: u64 = 32;

/// What a request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlkOp {
    Read,
    Write,
}

/// Why a request was not put on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// No such slot, the slot is on the device, or a length that is not a
    /// whole number of sectors up to the slot's size.
    BadRequest,
    /// The ring has no room now.
    Full,
    /// The device said no (`IOERR`, `UNSUPP`) or the crate failed.
    Device(virtio_drivers::Error),
}

/// A request on the device.
#[derive(Clone, Copy, Debug)]
struct OnDevice {
    slot: usize,
    op: BlkOp,
    len: usize,
}

/// A virtio-blk device through the crate, with `depth` request slots.
pub struct BlkDevice {
    // Declared first, dropped first: the transport resets the device
    // before the memory it used is freed.
    blk: VirtIOBlk<VirtioHal, NoFlush>,
    /// A second transport on the same function, never dropped (its drop
    /// would reset the device), used for one thing: to notify queue 0
    /// again ([`BlkDevice::kick`]).
    kicker: ManuallyDrop<PciTransport>,
    data: DmaBuffer,
    headers: DmaBuffer,
    slot_bytes: u64,
    depth: usize,
    on_device: BTreeMap<u16, OnDevice>,
    busy: Vec<bool>,
}

/// The status a finished request reports (virtio's status byte: 0 OK, 1
/// `IOERR`, 2 `UNSUPP`; 3 if the device never wrote it).
pub fn status_code(status: RespStatus) -> i32 {
    match status {
        RespStatus::OK => 0,
        RespStatus::UNSUPPORTED => 2,
        RespStatus::NOT_READY => 3,
        _ => 1,
    }
}

impl BlkDevice {
    /// Initialises the device on `transport` (reset, features, queue 0,
    /// `DRIVER_OK`) with up to `depth_max` requests at once, each of at
    /// most `slot_bytes` (a multiple of 4096), in DMA memory of its own.
    ///
    /// `kicker` is a second transport on the same function
    /// ([`pci_transport`] again), kept only to notify the queue again.
    pub fn new(
        mut transport: PciTransport,
        kicker: PciTransport,
        depth_max: usize,
        slot_bytes: u64,
    ) -> Result<BlkDevice, &'static str> {
        let offered = transport.read_device_features();
        let blk =
            VirtIOBlk::<VirtioHal, _>::new(NoFlush(transport)).map_err(|_| "device init failed")?;
        let ring = usize::from(blk.virt_queue_size());
        // With indirect descriptors (negotiated whenever offered) a
        // request is one descriptor; without, three.
        let per_request = if offered & F_INDIRECT_DESC != 0 {
            1
        } else {
            CHAIN
        };
        let depth = (ring / per_request).clamp(1, depth_max.max(1));
        if !slot_bytes.is_multiple_of(libsys::abi::PAGE_SIZE) || slot_bytes == 0 {
            return Err("slot size not a whole number of pages");
        }
        let pages = depth as u64 * slot_bytes / libsys::abi::PAGE_SIZE;
        let data = DmaBuffer::alloc(pages, DMA_LIMIT).map_err(|_| "no DMA memory for data")?;
        let header_pages = (depth as u64 * HEADER_STRIDE).div_ceil(libsys::abi::PAGE_SIZE);
        let headers =
            DmaBuffer::alloc(header_pages, DMA_LIMIT).map_err(|_| "no DMA memory for headers")?;
        VirtioHal::add_window(&data).map_err(|_| "data window")?;
        VirtioHal::add_window(&headers).map_err(|_| "header window")?;
        Ok(BlkDevice {
            blk,
            kicker: ManuallyDrop::new(kicker),
            data,
            headers,
            slot_bytes,
            depth,
            on_device: BTreeMap::new(),
            busy: vec![false; depth],
        })
    }

    /// Sectors on the disk.
    pub fn capacity(&self) -> u64 {
        self.blk.capacity()
    }

    /// Requests at once (slots).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Whether the disk is read-only.
    pub fn readonly(&self) -> bool {
        self.blk.readonly()
    }

    /// Requests on the device.
    pub fn on_device(&self) -> usize {
        self.on_device.len()
    }

    /// Where slot `slot`'s data is mapped here, for copies in before a
    /// write and out after a read; `None` while the slot is on the
    /// device (or past the slots).
    pub fn slot_addr(&self, slot: usize) -> Option<u64> {
        (slot < self.depth && !self.busy[slot])
            .then(|| self.data.addr() + slot as u64 * self.slot_bytes)
    }

    /// Where the request, the data and the status of `slot` (`len`
    /// bytes of data) lie: inside this device's own DMA blocks, disjoint
    /// from every other slot's, the request 8-aligned.
    fn parts(&self, slot: usize, len: usize) -> (*mut BlkReq, *mut [u8], *mut BlkResp) {
        let header = self.headers.addr() + slot as u64 * HEADER_STRIDE;
        let data = self.data.addr() + slot as u64 * self.slot_bytes;
        (
            header as *mut BlkReq,
            core::ptr::slice_from_raw_parts_mut(data as *mut u8, len),
            (header + 16) as *mut BlkResp,
        )
    }

    /// Puts slot `slot`'s `len` bytes (whole sectors) on the device to be
    /// read from, or written to, `sector`, without waiting.
    pub fn submit(
        &mut self,
        slot: usize,
        op: BlkOp,
        sector: u64,
        len: usize,
    ) -> Result<(), SubmitError> {
        let sector_bytes = virtio_drivers::device::blk::SECTOR_SIZE;
        if slot >= self.depth
            || self.busy[slot]
            || len == 0
            || !len.is_multiple_of(sector_bytes)
            || len as u64 > self.slot_bytes
        {
            return Err(SubmitError::BadRequest);
        }
        let (req, buf, resp) = self.parts(slot, len);
        let block = sector as usize;
        // SAFETY: `slot < depth` and `len <= slot_bytes` (checked above):
        // the three pointers lie in this device's DMA blocks, mapped and
        // pinned while `self` lives, and are valid for any bit pattern
        // (the crate writes the request; the status is written here);
        // nothing else touches them until `complete` hands them back to
        // the crate: the slot is marked busy below, so `slot_addr` and
        // `submit` refuse it until then.
        let token = unsafe {
            resp.write(BlkResp::default());
            match op {
                BlkOp::Read => self
                    .blk
                    .read_blocks_nb(block, &mut *req, &mut *buf, &mut *resp),
                BlkOp::Write => self
                    .blk
                    .write_blocks_nb(block, &mut *req, &*buf, &mut *resp),
            }
        }
        .map_err(|e| match e {
            virtio_drivers::Error::QueueFull => SubmitError::Full,
            e => SubmitError::Device(e),
        })?;
        self.busy[slot] = true;
        self.on_device.insert(token, OnDevice { slot, op, len });
        Ok(())
    }

    /// Notifies queue 0 again: a notify written while the device's
    /// memory decoding was off (a restarted devmgr sizing the BARs) was
    /// lost, and the device would never look at the requests. A spurious
    /// notify is harmless (virtio 1.x, 2.7.13).
    pub fn kick(&mut self) {
        // The same writes (queue select, notify) the crate's transport
        // makes, from the same single thread: never at once with it.
        self.kicker.notify(0);
    }

    /// Acknowledges the device's interrupt (reading the ISR lowers the
    /// INTx level): whether it was the queue's.
    pub fn ack_interrupt(&mut self) -> bool {
        self.blk
            .ack_interrupt()
            .contains(InterruptStatus::QUEUE_INTERRUPT)
    }

    /// The next finished request off the used ring, in the order the
    /// device finished them: its slot and status ([`status_code`]).
    /// `None` when nothing more finished.
    pub fn complete(&mut self) -> Option<(usize, i32)> {
        let token = self.blk.peek_used()?;
        let Some(request) = self.on_device.remove(&token) else {
            // Not ours: a device that names a chain it was not given. The
            // ring cannot go on past it.
            panic!("virtio-blk: the device finished unknown chain {token}");
        };
        let (req, buf, resp) = self.parts(request.slot, request.len);
        // SAFETY: the same buffers `submit` gave the crate with this
        // token, the device done with them (the token is on the used
        // ring); the crate unshares them (nothing to copy: they are in a
        // translated window) and then reads the status.
        let (done, status) = unsafe {
            let done = match request.op {
                BlkOp::Read => self
                    .blk
                    .complete_read_blocks(token, &*req, &mut *buf, &mut *resp),
                BlkOp::Write => self
                    .blk
                    .complete_write_blocks(token, &*req, &*buf, &mut *resp),
            };
            (done, (*resp).status())
        };
        self.busy[request.slot] = false;
        let status = match done {
            Ok(()) => 0,
            Err(_) => status_code(status),
        };
        Some((request.slot, status))
    }
}

impl Drop for BlkDevice {
    fn drop(&mut self) {
        VirtioHal::remove_window(&self.data);
        VirtioHal::remove_window(&self.headers);
    }
}
