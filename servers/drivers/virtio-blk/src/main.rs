//! The virtio-blk driver process: devmgr starts it for the PCI function
//! 1af4:1001 (QEMU's transitional virtio block device) or 1af4:1042 (the
//! modern-only one) through `init`'s spawn protocol, with exactly that
//! function's resources, and restarts it when it dies.
//!
//! Handles (devmgr's order for PCI drivers): `h0=` the endpoint of the
//! device node (the block server reaches it through devmgr's `Open`),
//! `h1=` the INTx line (configured level-triggered by devmgr), `h2=`..
//! the function's memory BARs (the table asks devmgr for no port BARs:
//! the modern interface needs none); arguments `dev=<slot> bars=<i>,..`.
//!
//! At start: memory decoding and bus mastering on in its own
//! configuration space (through devmgr), the BARs handed to the
//! `virtio-drivers` crate's HAL, the crate's PCI transport found through
//! the function's virtio capabilities (read through devmgr), the device
//! brought up by the crate's `VirtIOBlk` with request slots in DMA memory
//! from `mm`, the line bound to the serving thread's notification; then it
//! tells the block server it is up (`DriverUp`) and serves
//! `libsys::proto::blkdrv`: a request's data is copied between `blk`'s
//! pool window and the slot, which the device reads or writes; it goes
//! on the device without waiting (`read_blocks_nb`/`write_blocks_nb`),
//! and the interrupt — acknowledged at the device (`ack_interrupt`) and
//! at the line — takes finished requests off the used ring, held until
//! `blk` reaps them. Everything that touches the machine goes through
//! `driver-hal`: this crate has no `unsafe`.
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use driver_hal::hal::VirtioHal;
use driver_hal::virtio::{self, BlkDevice, BlkOp, SubmitError};
use libsys::abi::grant::{Access, Direction, Window};
use libsys::abi::ipc::{FOREVER, PAYLOAD_MAX};
use libsys::abi::SysError;
use libsys::grant::grant_copy;
use libsys::handle::{Endpoint, Irq, MemoryRegion, Notification};
use libsys::ipc::{self, Message};
use libsys::proto::blk::ClientError;
use libsys::proto::blkdrv::{
    Done, DrvError, Geometry, Op, Pieces, Reply, Request, REAP_MAX, STATUS_COPY_FAILED,
};
use libsys::proto::devmgr::{
    self, PciResources, Slot, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY,
};
use libsys::rpc::{
    self, RpcError, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR,
};
use libsys::syscall::rdtsc;
use libsys::{eprintln, println};
use virtio_blk::cost::{Cost, Handler};
use virtio_blk::table::{self, Lent, Table, DEPTH_MAX, SECTOR, SLOT_BYTES};

libsys::entry!(main);

/// The notification bit of the device's interrupt.
const IRQ_BIT: u32 = 0;
/// How long `DriverUp` may wait for the block server (which may be
/// calling this driver's node at that moment, through devmgr).
const ANNOUNCE_NS: u64 = 200_000_000;
/// Pages of the HAL's bounce pool: the crate's indirect descriptor
/// tables (heap memory, one page each while a request is on the device).
const BOUNCE_PAGES: u64 = DEPTH_MAX as u64;

/// One virtio-blk device and the requests it holds.
struct VirtioBlk {
    device: BlkDevice,
    irq: Irq,
    table: Table,
    /// The block server's notification and the bits it wants.
    blk: Option<(Notification, u64)>,
    /// The driver's own time per request (`virtio_blk::cost`).
    cost: Cost,
}

impl VirtioBlk {
    /// Everything before serving: the handles, the device enabled and
    /// brought up, the line bound to `notification`.
    fn probe(args: &str, notification: &Notification) -> Result<(Endpoint, Slot, Self), String> {
        let PciResources {
            slot,
            endpoint,
            irq,
            bars,
        } = PciResources::take(args)?;
        let dev = devmgr::Client::connect().map_err(|e| format!("no devmgr: {e}"))?;
        let info = dev.pci_info(slot).map_err(|e| format!("{slot}: {e}"))?;
        for (index, handle) in bars {
            let memory = info.bars.iter().any(|b| b.index == index && !b.io);
            if memory {
                VirtioHal::give_bar(MemoryRegion(handle))
                    .map_err(|e| format!("BAR {index}: {e}"))?;
            }
        }
        // Memory decoding and bus mastering on, INTx not disabled.
        dev.enable_function(
            slot,
            PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
            PCI_COMMAND_INTX_DISABLE,
        )
        .map_err(|e| format!("cannot enable {slot}: {e}"))?;
        irq.bind(notification, IRQ_BIT)
            .map_err(|e| format!("irq_bind: {e}"))?;
        let gsi = irq.info().map(|i| i.gsi).unwrap_or(u64::MAX);
        VirtioHal::init(BOUNCE_PAGES).map_err(|e| format!("bounce pool: {e}"))?;
        let transport = virtio::pci_transport(&dev, &info)
            .map_err(|e| format!("{slot}: no virtio PCI transport: {e}"))?;
        let kicker = virtio::pci_transport(&dev, &info)
            .map_err(|e| format!("{slot}: no virtio PCI transport: {e}"))?;
        let device = BlkDevice::new(transport, kicker, DEPTH_MAX, SLOT_BYTES)
            .map_err(|e| format!("{slot}: {e}"))?;
        let capacity = device.capacity();
        let driver = VirtioBlk {
            table: Table::new(device.depth(), capacity),
            device,
            irq,
            blk: None,
            cost: Cost::default(),
        };
        println!(
            "virtio-blk: {slot}: {:04x}:{:04x} through virtio-drivers (modern PCI interface), gsi {gsi}, {} sectors ({} MiB), {} requests at once",
            info.vendor,
            info.device,
            capacity,
            capacity / 2048,
            driver.table.depth()
        );
        Ok((endpoint, slot, driver))
    }

    fn geometry(&self) -> Geometry {
        Geometry {
            sectors: self.device.capacity(),
            queue_depth: self.table.depth() as u32,
            max_sectors: (SLOT_BYTES / u64::from(SECTOR)) as u32,
            // The device runs write-through (`driver_hal::virtio::NoFlush`):
            // a completed write is durable, there is nothing to flush.
            flush: false,
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

    /// Checks, copies a write's data into the request's slot, and puts
    /// it on the device without waiting.
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
        let kind = match op {
            Op::Read => BlkOp::Read,
            Op::Write => BlkOp::Write,
            Op::Flush => {
                // Write-through: every write completed is durable.
                self.table.finish(slot, 0);
                self.signal_blk();
                return Ok(());
            }
        };
        let Some(base) = self.device.slot_addr(slot) else {
            // The table and the device disagree on a free slot: a bug.
            self.table.drop_slot(slot);
            return Err(DrvError::Busy);
        };
        if op == Op::Write {
            for (from, at, len) in places {
                if grant_copy(None, Direction::FromWindow, from, base + at, u64::from(len)).is_err()
                {
                    self.table.drop_slot(slot);
                    return Err(DrvError::CopyFailed);
                }
            }
        }
        match self.device.submit(slot, kind, sector, bytes as usize) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.table.drop_slot(slot);
                Err(match e {
                    SubmitError::BadRequest => DrvError::BadRequest,
                    _ => DrvError::Busy,
                })
            }
        }
    }

    /// The finished requests off the used ring: their statuses.
    fn collect(&mut self) -> usize {
        let mut n = 0;
        let mut done = 0;
        while let Some((slot, status)) = self.device.complete() {
            done += 1;
            if self.table.finish(slot, status) {
                n += 1;
            }
        }
        if let Some(r) = self.cost.finished(done) {
            println!(
                "virtio-blk: driver time per request over {}: {} (submit {}, interrupt {}, reap {}) TSC ticks: instructions under -icount",
                r.requests,
                r.total(),
                r.submit,
                r.interrupt,
                r.reap
            );
        }
        n
    }

    /// The interrupt (top half): acknowledged at the device (reading the
    /// ISR lowers the level), the finished requests collected, the line
    /// acknowledged, `blk` told.
    fn interrupt(&mut self) {
        let _queue = self.device.ack_interrupt();
        let finished = self.collect();
        let _ = self.irq.ack();
        if finished > 0 {
            self.signal_blk();
        }
    }

    /// `Reap`: the queue notified again if the device holds requests (a
    /// notify can be lost while a restarted devmgr sizes the BARs), what
    /// finished collected, and up to [`REAP_MAX`] finished requests
    /// answered, each read's data copied into its pieces of `window`.
    fn reap(&mut self, window: Window) -> Reply {
        if self.device.on_device() > 0 {
            self.device.kick();
        }
        self.collect();
        let (held, more) = self.table.reap(REAP_MAX);
        let mut done = heapless::Vec::<Done, REAP_MAX>::new();
        for h in held {
            let mut status = h.status.unwrap_or(STATUS_COPY_FAILED);
            if h.op == Op::Read && status == 0 {
                let Some(base) = self.device.slot_addr(h.slot) else {
                    let _ = done.push(Done {
                        id: h.id,
                        status: STATUS_COPY_FAILED,
                    });
                    continue;
                };
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
                let start = rdtsc();
                self.interrupt();
                self.cost
                    .add(Handler::Interrupt, rdtsc().saturating_sub(start));
                continue;
            }
            let n = ipc::read_payload(received.msg.info.length.into(), &mut input);
            let call = (received.msg.label() == LABEL_REQUEST)
                .then(|| rpc::decode::<Request>(&input[..n]).ok())
                .flatten();
            let handles: Vec<_> = received.take_handles().collect();
            let start = rdtsc();
            let handler = match call {
                Some(Request::Submit { .. }) => Some(Handler::Submit),
                Some(Request::Reap) => Some(Handler::Reap),
                _ => None,
            };
            reply = Some(call.map(|c| self.request(c, &received.msg, handles)));
            if let Some(h) = handler {
                self.cost.add(h, rdtsc().saturating_sub(start));
            }
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
