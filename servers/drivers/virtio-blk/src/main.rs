//! The virtio-blk driver process: devmgr starts it for the PCI function
//! 1af4:1001 (the transitional virtio block device, legacy interface)
//! through `init`'s spawn protocol, with exactly that function's
//! resources, and restarts it when it dies.
//!
//! Handles (devmgr's order for PCI drivers): `h0=` the endpoint of the
//! device node (the block server reaches it through devmgr's `Open`),
//! `h1=` the INTx line (configured level-triggered by devmgr), `h2=` BAR 0
//! as a port range; arguments `dev=<slot> bars=0`.
//!
//! At start: I/O decoding and bus mastering on in its own configuration
//! space (through devmgr), the virtio initialisation (reset,
//! ACKNOWLEDGE, DRIVER, features, queue 0 in DMA memory from `mm`,
//! DRIVER_OK), bounce buffers for [`table::DEPTH_MAX`] requests, the line
//! bound to the serving thread's notification; then it tells the block
//! server it is up (`DriverUp`) and serves `libsys::proto::blkdrv`: a
//! request's data is copied between `blk`'s pool window and the driver's
//! own bounce buffer, which the device reads or writes; a finished
//! request is held until `blk` reaps it. Everything that touches the
//! machine goes through `driver-hal`: this crate has no `unsafe`.
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use driver_hal::dma::DmaBuffer;
use driver_hal::port::IoWindow;
use libsys::abi::grant::{Access, Direction, Window};
use libsys::abi::ipc::{FOREVER, PAYLOAD_MAX};
use libsys::abi::SysError;
use libsys::grant::grant_copy;
use libsys::handle::{Endpoint, IoPorts, Irq, Notification};
use libsys::ipc::{self, Message};
use libsys::proto::blk::ClientError;
use libsys::proto::blkdrv::{
    Done, DrvError, Geometry, Op, Pieces, Reply, Request, REAP_MAX, STATUS_COPY_FAILED,
};
use libsys::proto::devmgr::{
    self, PciStart, Slot, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_IO, PCI_COMMAND_MASTER,
};
use libsys::rpc::{
    self, RpcError, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR,
};
use libsys::{eprintln, println};
use virtio_blk::table::{self, Lent, Table, DEPTH_MAX, SECTOR, SLOT_BYTES};
use virtio_blk::virtio::queue::{Buffer, Layout, QueueMemory, VirtQueue};
use virtio_blk::virtio::{self, reg, request_header, request_status, status, BlkType};

libsys::entry!(main);

/// Below 4 GiB: the legacy queue address is a 32-bit page number.
const DMA_LIMIT: u64 = 1 << 32;
/// Bytes per request of the header page: 16-byte header, status byte.
const HEADER_STRIDE: u64 = 32;
/// The notification bit of the device's interrupt.
const IRQ_BIT: u32 = 0;
/// How long `DriverUp` may wait for the block server (which may be
/// calling this driver's node at that moment, through devmgr).
const ANNOUNCE_NS: u64 = 200_000_000;
/// Descriptors per request: header, data, status.
const CHAIN: usize = 3;

/// The queue memory, reached with volatile accesses.
struct Ring(DmaBuffer);

// An access outside the region cannot happen (the queue's layout was
// checked against the region's size at start); it reads 0 and is dropped.
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

/// One virtio-blk device and the requests it holds.
struct VirtioBlk {
    io: IoWindow,
    irq: Irq,
    queue: VirtQueue,
    ring: Ring,
    headers: DmaBuffer,
    bounce: DmaBuffer,
    table: Table,
    /// The chain heads on the device, and their slots.
    heads: BTreeMap<u16, usize>,
    flush: bool,
    capacity: u64,
    /// The block server's notification and the bits it wants.
    blk: Option<(Notification, u64)>,
}

impl VirtioBlk {
    /// Everything before serving: the handles, the device enabled and
    /// brought up, the line bound to `notification`.
    fn probe(args: &str, notification: &Notification) -> Result<(Endpoint, Slot, Self), String> {
        let PciStart {
            slot,
            endpoint,
            irq,
            bar0,
        } = PciStart::take(args)?;
        let ports = IoPorts(bar0);
        let dev = devmgr::Client::connect().map_err(|e| format!("no devmgr: {e}"))?;
        let info = dev.pci_info(slot).map_err(|e| format!("{slot}: {e}"))?;
        let bar = info
            .bars
            .iter()
            .find(|b| b.index == 0 && b.io)
            .ok_or("BAR 0 is not an I/O window (not the legacy interface)")?;
        let base = u16::try_from(bar.start).map_err(|_| "BAR 0 past the port space")?;
        let io = IoWindow::open(&ports, base, reg::WINDOW)
            .map_err(|e| format!("ports {base:#x}+{:#x}: {e}", reg::WINDOW))?;
        // I/O decoding and bus mastering on, INTx not disabled.
        dev.enable_function(
            slot,
            PCI_COMMAND_IO | PCI_COMMAND_MASTER,
            PCI_COMMAND_INTX_DISABLE,
        )
        .map_err(|e| format!("cannot enable {slot}: {e}"))?;
        irq.bind(notification, IRQ_BIT)
            .map_err(|e| format!("irq_bind: {e}"))?;
        let gsi = irq.info().map(|i| i.gsi).unwrap_or(u64::MAX);
        let driver = Self::bring_up(io, irq)?;
        println!(
            "virtio-blk: {slot}: legacy virtio-blk, io {base:#x} gsi {gsi}, {} sectors ({} MiB), queue {} entries, {} requests at once",
            driver.capacity,
            driver.capacity / 2048,
            driver.queue.layout().size,
            driver.table.depth()
        );
        Ok((endpoint, slot, driver))
    }

    /// The virtio initialisation sequence (virtio 0.9.5, §2.2.1); a reset
    /// first, which also drops whatever a dead instance left on it.
    fn bring_up(io: IoWindow, irq: Irq) -> Result<Self, String> {
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
        let depth = (usize::from(size) / CHAIN).clamp(1, DEPTH_MAX);
        let pages = layout.total / libsys::abi::PAGE_SIZE;
        let ring = DmaBuffer::alloc(pages, DMA_LIMIT).map_err(|e| fail(format!("queue: {e}")))?;
        let headers = DmaBuffer::alloc(1, DMA_LIMIT).map_err(|e| fail(format!("headers: {e}")))?;
        let bounce_pages = depth as u64 * SLOT_BYTES / libsys::abi::PAGE_SIZE;
        let bounce = DmaBuffer::alloc(bounce_pages, DMA_LIMIT)
            .map_err(|e| fail(format!("bounce buffers: {e}")))?;
        if ring.len() < layout.total {
            return Err(fail("queue memory too small".into()));
        }
        let pfn = u32::try_from(ring.phys() / virtio::QUEUE_ALIGN)
            .map_err(|_| fail("queue above 16 TiB".into()))?;
        io.write(reg::QUEUE_PFN, pfn);
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
            bounce,
            table: Table::new(depth, capacity),
            heads: BTreeMap::new(),
            flush,
            capacity,
            blk: None,
        })
    }

    fn geometry(&self) -> Geometry {
        Geometry {
            sectors: self.capacity,
            queue_depth: self.table.depth() as u32,
            max_sectors: (SLOT_BYTES / u64::from(SECTOR)) as u32,
            flush: self.flush,
        }
    }

    /// Tells the block server something finished.
    fn signal_blk(&self) {
        if let Some((n, bits)) = &self.blk {
            let _ = n.signal(*bits);
        }
    }

    /// One request from `blk`; `handles` are those its message carried.
    fn request(
        &mut self,
        call: Request,
        msg: &Message,
        mut handles: Vec<libsys::handle::OwnedHandle>,
    ) -> Reply {
        let window = Window::from_message(&msg.info, &msg.words).ok().flatten();
        match call {
            Request::Hello { bit } => {
                if handles.len() != 1 || bit > 63 {
                    return Reply::Error(DrvError::BadRequest);
                }
                let n = Notification(handles.remove(0));
                if self.blk.is_some() {
                    // A new block server: the old one's requests are
                    // nobody's now.
                    self.table.abandon();
                }
                self.blk = Some((n, 1 << bit));
                Reply::Geometry(self.geometry())
            }
            _ if !handles.is_empty() => Reply::Error(DrvError::BadRequest),
            _ if self.blk.is_none() => Reply::Error(DrvError::NotReady),
            Request::Submit {
                id,
                op,
                sector,
                pieces,
            } => match self.submit(id, op, sector, pieces, window) {
                Ok(()) => Reply::Queued,
                Err(e) => Reply::Error(e),
            },
            Request::Reap => match window.filter(|w| w.access == Access::Write) {
                Some(w) => self.reap(w),
                None => Reply::Error(DrvError::NoWindow),
            },
        }
    }

    /// Checks, copies a write's data in, and puts the request on the
    /// device: header, the slot's data, status.
    fn submit(
        &mut self,
        id: u64,
        op: Op,
        sector: u64,
        pieces: Pieces,
        window: Option<Window>,
    ) -> Result<(), DrvError> {
        let lent = window.map(|w| Lent {
            readable: w.access == Access::Read,
            len: w.length,
        });
        let bytes = self.table.check(id, op, sector, &pieces, lent)?;
        let places = table::placement(&pieces);
        let slot = self.table.admit(id, op, pieces)?;
        let base = table::slot_offset(slot);
        if op == Op::Write {
            for (from, at, len) in places {
                let to = self.bounce.addr() + base + at;
                if grant_copy(None, Direction::FromWindow, from, to, u64::from(len)).is_err() {
                    self.table.drop_slot(slot);
                    return Err(DrvError::CopyFailed);
                }
            }
        }
        let kind = match op {
            Op::Read => BlkType::In,
            Op::Write => BlkType::Out,
            Op::Flush if !self.flush => {
                // Nothing to make durable: done at once.
                self.table.finish(slot, 0);
                self.signal_blk();
                return Ok(());
            }
            Op::Flush => BlkType::Flush,
        };
        let at = slot as u64 * HEADER_STRIDE;
        let _ = self.headers.copy_in(at, &request_header(kind, sector));
        let _ = self.headers.write_u8(at + 16, 0xff);
        let header = self.headers.phys() + at;
        let mut chain = heapless::Vec::<Buffer, CHAIN>::new();
        let _ = chain.push(Buffer {
            phys: header,
            len: 16,
            device_writes: false,
        });
        if bytes > 0 {
            let _ = chain.push(Buffer {
                phys: self.bounce.phys() + base,
                len: bytes as u32,
                device_writes: op == Op::Read,
            });
        }
        let _ = chain.push(Buffer {
            phys: header + 16,
            len: 1,
            device_writes: true,
        });
        match self.queue.add(&mut self.ring, &chain) {
            Ok(head) => {
                self.heads.insert(head, slot);
                self.io.write_doorbell(reg::QUEUE_NOTIFY, 0);
                Ok(())
            }
            Err(_) => {
                self.table.drop_slot(slot);
                Err(DrvError::Busy)
            }
        }
    }

    /// The finished chains off the used ring: their requests' statuses.
    fn collect(&mut self) -> usize {
        let mut n = 0;
        while let Some(used) = self.queue.pop_used(&self.ring) {
            let Some(slot) = self.heads.remove(&used.head) else {
                continue;
            };
            let byte = self
                .headers
                .read_u8(slot as u64 * HEADER_STRIDE + 16)
                .unwrap_or(0xff);
            let status = match request_status(byte) {
                Ok(()) => 0,
                Err(code) => code,
            };
            if self.table.finish(slot, status) {
                n += 1;
            }
        }
        n
    }

    /// The interrupt (top half): acknowledged at the device (reading the
    /// ISR lowers the level), the finished requests collected, the line
    /// acknowledged, `blk` told.
    fn interrupt(&mut self) {
        let _isr = self.io.read(reg::ISR);
        let finished = self.collect();
        let _ = self.irq.ack();
        if finished > 0 {
            self.signal_blk();
        }
    }

    /// `Reap`: the doorbell again if the device holds requests (a notify
    /// can be lost while a restarted devmgr sizes the BARs), what
    /// finished collected, and up to [`REAP_MAX`] finished requests
    /// answered, each read's data copied into its pieces of `window`.
    fn reap(&mut self, window: Window) -> Reply {
        if self.table.on_device() > 0 {
            self.io.write_doorbell(reg::QUEUE_NOTIFY, 0);
        }
        self.collect();
        let (held, more) = self.table.reap(REAP_MAX);
        let mut done = heapless::Vec::<Done, REAP_MAX>::new();
        for h in held {
            let mut status = h.status.unwrap_or(STATUS_COPY_FAILED);
            if h.op == Op::Read && status == 0 {
                let base = self.bounce.addr() + table::slot_offset(h.slot);
                for (to, at, len) in table::placement(&h.pieces) {
                    let fits = to + u64::from(len) <= window.length;
                    if !fits
                        || grant_copy(None, Direction::ToWindow, to, base + at, u64::from(len))
                            .is_err()
                    {
                        status = STATUS_COPY_FAILED;
                        break;
                    }
                }
            }
            let _ = done.push(Done { id: h.id, status });
        }
        Reply::Completed { done, more }
    }

    fn serve(&mut self, endpoint: &Endpoint) -> libsys::abi::SysError {
        let mut input = [0u8; PAYLOAD_MAX];
        let mut reply: Option<Option<Reply>> = None;
        loop {
            let next = match reply.take() {
                Some(Some(r)) => endpoint.reply_recv(&encode(&r), FOREVER),
                Some(None) => endpoint.reply_recv(&Message::new(LABEL_BAD_REQUEST), FOREVER),
                None => endpoint.recv(FOREVER),
            };
            let mut received = match next {
                Ok(r) => r,
                Err(e) => return e,
            };
            if received.signals().is_some() {
                self.interrupt();
                continue;
            }
            let n = ipc::read_payload(received.msg.info.length.into(), &mut input);
            let call = (received.msg.label() == LABEL_REQUEST)
                .then(|| rpc::decode::<Request>(&input[..n]).ok())
                .flatten();
            let handles: Vec<_> = received.take_handles().collect();
            reply = Some(call.map(|c| self.request(c, &received.msg, handles)));
        }
    }
}

/// `reply` encoded into this thread's IPC buffer, as a reply message.
fn encode(reply: &Reply) -> Message {
    match rpc::encode_payload(reply) {
        Ok(length) => Message::new(LABEL_REPLY).with_payload(length),
        Err(_) => Message::new(LABEL_SERVER_ERROR),
    }
}

/// Tells the block server this driver is up, if it runs (at boot it may
/// not yet: it finds the driver through devmgr when it starts).
fn announce(slot: Slot) {
    let Ok(blk) = libsys::proto::blk::Client::connect_within(0) else {
        return;
    };
    let name = format!("{slot}");
    match blk.driver_up(&name, ANNOUNCE_NS) {
        // The server was calling this node already (it polls devmgr).
        Ok(()) | Err(ClientError::Rpc(RpcError::Sys(SysError::TimedOut))) => {}
        Err(e) => eprintln!("virtio-blk: DriverUp: {e}"),
    }
}

fn main(args: &str) -> u64 {
    let notification = match Notification::create().and_then(|n| n.bind_current().map(|()| n)) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("virtio-blk: notification: {e}");
            return 1;
        }
    };
    let (endpoint, slot, mut driver) = match VirtioBlk::probe(args, &notification) {
        Ok(started) => started,
        Err(why) => {
            eprintln!("virtio-blk: {why}");
            return 2;
        }
    };
    announce(slot);
    let error = driver.serve(&endpoint);
    eprintln!("virtio-blk: stopped serving: {error}");
    3
}
