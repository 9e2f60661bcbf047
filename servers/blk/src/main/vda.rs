//! The virtio-blk driver, a module of the block server (legacy virtio
//! PCI interface: I/O ports only). It finds its device through devmgr
//! (registering as the `virtio_blk` driver, which also opens the
//! function's configuration space to it), checks that the ports and the
//! interrupt line `init` gave match the device, turns on I/O decoding and
//! bus mastering, brings the device up (reset, ACKNOWLEDGE, DRIVER,
//! features, queue 0 in DMA memory from `mm`, DRIVER_OK), and then
//! carries out requests: a chain of header, data and status buffers per
//! request, completed by interrupt.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use blk::transfer::{extents, SlotPool};
use blk::virtio::queue::{Buffer, Layout, QueueMemory, VirtQueue};
use blk::virtio::{self, reg, request_header, request_status, status, BlkType};
use blk::{Op, Request, RequestId};
use driver_hal::dma::DmaBuffer;
use driver_hal::port::IoWindow;
use libsys::abi::args::{Polarity, Trigger};
use libsys::handle::{Borrowed, Irq, Notification};
use libsys::proto::devmgr::{self, Bus, IdMatch, Slot};

/// Below 4 GiB: the legacy queue address is a 32-bit page number.
pub const DMA_LIMIT: u64 = 1 << 32;
/// Bytes per request of the header page: 16-byte header, status byte.
const HEADER_STRIDE: u64 = 32;
/// The notification bit of the device's interrupt.
pub const IRQ_BIT: u32 = 0;

/// The queue memory, reached with volatile accesses.
struct Ring(DmaBuffer);

// An access outside the region cannot happen (the queue's layout was
// checked against the region's size at probe); it reads 0 and is dropped.
impl QueueMemory for Ring {
    fn read_u16(&self, offset: u64) -> u16 {
        self.0.read_u16(offset).unwrap_or(0)
    }
    fn read_u32(&self, offset: u64) -> u32 {
        self.0.read_u32(offset).unwrap_or(0)
    }
    fn write_u16(&mut self, offset: u64, value: u16) {
        let _ = self.0.write_u16(offset, value);
    }
    fn write_u32(&mut self, offset: u64, value: u32) {
        let _ = self.0.write_u32(offset, value);
    }
    fn write_u64(&mut self, offset: u64, value: u64) {
        let _ = self.0.write_u64(offset, value);
    }
}

/// What starting a request came to.
pub enum Started {
    /// On the device; its interrupt completes it.
    Queued,
    /// Done already (a flush the device does not need).
    Done(Result<(), i32>),
}

/// The driver of one virtio-blk device.
pub struct VirtioBlk {
    io: IoWindow,
    irq: Borrowed<Irq>,
    queue: VirtQueue,
    ring: Ring,
    headers: DmaBuffer,
    header_slots: SlotPool,
    in_flight: BTreeMap<u16, (RequestId, usize)>,
    flush: bool,
    /// Its size in sectors.
    pub capacity: u64,
    /// Requests it takes at once (each needs up to 34 descriptors).
    pub queue_depth: usize,
    /// A one-line description for the log.
    pub describe: String,
}

/// The GSI a q35 root-bus function's INTx pin reaches in APIC mode:
/// slots 0–24 rotate INTA–INTD onto PIRQ E–H (GSI 20–23), as QEMU's
/// ICH9 and its ACPI `_PRT` route them.
fn q35_gsi(slot: Slot, pin: u8) -> Option<u32> {
    (slot.bus == 0 && slot.device < 25 && (1..=4).contains(&pin))
        .then(|| 20 + (u32::from(slot.device) + u32::from(pin) - 1) % 4)
}

/// Finds the virtio-blk function through devmgr and opens its
/// configuration space: its slot and what devmgr knows of it.
fn find(dev: &devmgr::Client) -> Result<devmgr::PciInfo, String> {
    let ids = [IdMatch::Pci {
        vendor: u32::from(virtio::VENDOR),
        device: u32::from(virtio::DEVICE_BLK_TRANSITIONAL),
        class: 0,
        class_mask: 0,
    }];
    let bound = dev
        .register_driver("virtio_blk", Bus::Pci, &ids)
        .map_err(|e| format!("devmgr refused the driver: {e}"))?;
    if bound == 0 {
        return Err("no virtio-blk device (1af4:1001)".into());
    }
    let (names, _) = dev
        .list_devices(Bus::Pci, 0)
        .map_err(|e| format!("devmgr: {e}"))?;
    for name in names {
        let Some(slot) = Slot::parse(&name) else {
            continue;
        };
        if let Ok(info) = dev.pci_info(slot) {
            let ours = info.vendor == virtio::VENDOR
                && info.device == virtio::DEVICE_BLK_TRANSITIONAL
                && info.driver.as_deref() == Some("virtio_blk");
            if ours {
                return Ok(info);
            }
        }
    }
    Err("the bound device is not listed".into())
}

impl VirtioBlk {
    /// Finds, checks and brings up the device; `notification` (bound to
    /// the serving thread) gets its interrupts at [`IRQ_BIT`].
    pub fn probe(notification: &Notification) -> Result<VirtioBlk, String> {
        let dev = devmgr::Client::connect().map_err(|e| format!("no devmgr: {e}"))?;
        let info = find(&dev)?;
        let bar = info
            .bars
            .iter()
            .find(|b| b.index == 0 && b.io)
            .ok_or("BAR 0 is not an I/O window (not the legacy interface)")?;
        let io = u16::try_from(bar.start).map_err(|_| "BAR 0 past the port space")?;
        let window = IoWindow::claim(io, reg::WINDOW)
            .map_err(|e| format!("ports {io:#x}+{:#x}: {e}", reg::WINDOW))?;
        // I/O decoding and bus mastering on, INTx not disabled.
        let command = dev.config_read(info.slot, 4).map_err(|e| format!("{e}"))?;
        let command = (command & 0xffff & !(1 << 10)) | 0x5;
        dev.config_write(info.slot, 4, command)
            .map_err(|e| format!("cannot enable the device: {e}"))?;
        let irq = libsys::env::irq_line().ok_or("no interrupt line given (manifest irq=)")?;
        let gsi = irq.info().map(|i| i.gsi).unwrap_or(u64::MAX);
        if let Some(want) = q35_gsi(info.slot, info.interrupt_pin) {
            if u64::from(want) != gsi {
                return Err(format!(
                    "given GSI {gsi}, but the device interrupts on {want}"
                ));
            }
        }
        irq.configure(Trigger::Level, Polarity::High)
            .map_err(|e| format!("irq_configure: {e}"))?;
        irq.bind(notification, IRQ_BIT)
            .map_err(|e| format!("irq_bind: {e}"))?;
        let mut driver = Self::bring_up(window, irq)?;
        driver.describe = format!(
            "vda: virtio-blk (legacy) {} io {io:#x} gsi {gsi}, {} sectors ({} MiB), queue {} entries",
            info.slot,
            driver.capacity,
            driver.capacity / 2048,
            driver.queue.layout().size
        );
        Ok(driver)
    }

    /// The virtio initialisation sequence (virtio 0.9.5, §2.2.1).
    fn bring_up(io: IoWindow, irq: Borrowed<Irq>) -> Result<VirtioBlk, String> {
        io.write(reg::STATUS, 0);
        io.write(reg::STATUS, status::ACKNOWLEDGE);
        io.write(reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
        let offered = io.read(reg::HOST_FEATURES);
        let flush = offered & virtio::F_FLUSH != 0;
        io.write(reg::GUEST_FEATURES, offered & virtio::F_FLUSH);
        io.write(reg::QUEUE_SEL, 0);
        let size = io.read(reg::QUEUE_NUM);
        let fail = |why: String| {
            io.write(reg::STATUS, status::FAILED);
            why
        };
        let layout = Layout::legacy(size).ok_or_else(|| fail(format!("queue size {size}")))?;
        let pages = layout.total / libsys::abi::PAGE_SIZE;
        let ring = DmaBuffer::alloc(pages, DMA_LIMIT).map_err(|e| fail(format!("queue: {e}")))?;
        let headers = DmaBuffer::alloc(1, DMA_LIMIT).map_err(|e| fail(format!("headers: {e}")))?;
        if ring.len() < layout.total {
            return Err(fail("queue memory too small".into()));
        }
        let pfn = u32::try_from(ring.phys() / virtio::QUEUE_ALIGN)
            .map_err(|_| fail("queue above 16 TiB".into()))?;
        io.write(reg::QUEUE_PFN, pfn);
        let per_request = blk::service::MAX_SEGMENTS + 2;
        let queue_depth = (usize::from(size) / per_request).clamp(1, blk::transfer::SLOTS);
        let capacity =
            u64::from(io.read(reg::CAPACITY_LOW)) | (u64::from(io.read(reg::CAPACITY_HIGH)) << 32);
        io.write(
            reg::STATUS,
            status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK,
        );
        Ok(VirtioBlk {
            io,
            irq,
            queue: VirtQueue::new(layout),
            ring: Ring(ring),
            headers,
            header_slots: SlotPool::new(),
            in_flight: BTreeMap::new(),
            flush,
            capacity,
            queue_depth,
            describe: String::new(),
        })
    }

    /// Puts `rq` on the device: header, the data's pieces in the pool
    /// (`pool_phys` is its physical address), status. `Err(-11)` (EAGAIN)
    /// if no header slot or descriptors are free, which the queue depth
    /// prevents.
    pub fn start(&mut self, rq: &Request, pool_phys: u64) -> Result<Started, i32> {
        let kind = match rq.op {
            Op::Read => BlkType::In,
            Op::Write => BlkType::Out,
            Op::Flush if !self.flush => return Ok(Started::Done(Ok(()))),
            Op::Flush => BlkType::Flush,
        };
        let slot = self.header_slots.alloc().ok_or(-11)?;
        let at = slot as u64 * HEADER_STRIDE;
        let header = request_header(kind, rq.sector);
        let _ = self.headers.copy_in(at, &header);
        let _ = self.headers.write_u8(at + 16, 0xff);
        let base = self.headers.phys() + at;
        let mut chain = Vec::with_capacity(blk::service::MAX_SEGMENTS + 2);
        chain.push(Buffer {
            phys: base,
            len: 16,
            device_writes: false,
        });
        let segments = rq.bios.iter().flat_map(|b| b.segments.iter());
        for (offset, len) in extents(segments) {
            chain.push(Buffer {
                phys: pool_phys + offset,
                len,
                device_writes: rq.op == Op::Read,
            });
        }
        chain.push(Buffer {
            phys: base + 16,
            len: 1,
            device_writes: true,
        });
        match self.queue.add(&mut self.ring, &chain) {
            Ok(head) => {
                self.in_flight.insert(head, (rq.id, slot));
                self.io.write_doorbell(reg::QUEUE_NOTIFY, 0);
                Ok(Started::Queued)
            }
            Err(_) => {
                self.header_slots.free(slot);
                Err(-11)
            }
        }
    }

    /// Whether requests are on the device.
    pub fn busy(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Rings the doorbell again (idempotent: the device takes only the
    /// descriptors it has not taken). For requests that have waited long:
    /// a notify can be lost while the device's I/O decoding is off — a
    /// restarted devmgr sizes the BARs of every function, a live one too
    /// (found by `chaos`: a copy onto ext2 hung in `fsync`).
    pub fn kick(&mut self) {
        self.io.write_doorbell(reg::QUEUE_NOTIFY, 0);
    }

    /// The interrupt: acknowledged at the device (reading the ISR lowers
    /// the level), the finished requests collected, the line acknowledged.
    pub fn interrupt(&mut self) -> Vec<(RequestId, Result<(), i32>)> {
        let _isr = self.io.read(reg::ISR);
        let mut done = Vec::new();
        while let Some(used) = self.queue.pop_used(&self.ring) {
            let Some((id, slot)) = self.in_flight.remove(&used.head) else {
                continue;
            };
            let byte = self
                .headers
                .read_u8(slot as u64 * HEADER_STRIDE + 16)
                .unwrap_or(0xff);
            self.header_slots.free(slot);
            done.push((id, request_status(byte)));
        }
        let _ = self.irq.ack();
        done
    }
}
