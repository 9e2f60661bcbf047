//! The `blk` server process: the block layer's logic (`blk::service`)
//! behind IPC, with its two drivers as modules of the same process — the
//! virtio-blk driver (`vda.rs`, device `vda`) and the RAM disk (`ram0`,
//! its pages on this process's heap). A driver in its own process, with
//! the block server re-submitting what a dead driver held, is the next
//! step (`blk::disk` keeps that bookkeeping already).
//!
//! One thread, one loop. A `Read` or `Write` is checked, given a transfer
//! slot of the DMA pool (a write's data is grant-copied into it at once),
//! submitted as a bio, and its reply right saved; requests go to the
//! drivers as the queues allow. The RAM disk completes at once; the disk
//! completes by interrupt, which reaches the loop as a notification
//! signal. A finished read is grant-copied from its slot into the
//! caller's window through the saved reply, and every finished transfer
//! is answered then (reply later). Arguments: `ram=<MiB>` (default 16).
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

extern crate alloc;

mod vda;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use blk::ramdisk::RamDisk;
use blk::service::{limits, Finished, Lent, Service};
use blk::transfer::{extents, SLOTS, SLOT_PAGES};
use blk::{Disk, Op, Request};
use driver_hal::dma::DmaBuffer;
use libsys::abi::grant::{Access, Direction, Window};
use libsys::abi::ipc::{FOREVER, PAYLOAD_MAX};
use libsys::grant::grant_copy;
use libsys::handle::{Endpoint, Notification};
use libsys::ipc::{self, Message, SavedReply};
use libsys::proto::blk::{BlkError, Reply, Request as Call};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR};
use libsys::{eprintln, println};
use vda::{Started, VirtioBlk};

libsys::entry!(main);

/// The RAM disk's size without `ram=`.
const RAM_MIB_DEFAULT: u64 = 16;
/// The largest `ram=` (its pages come from this process's heap).
const RAM_MIB_MAX: u64 = 256;

/// How long the disk's requests wait before `serve` rings its doorbell
/// again (a lost notify, see `VirtioBlk::kick`).
const KICK_NS: u64 = 200_000_000;

enum Driver {
    Virtio(VirtioBlk),
    Ram(RamDisk),
}

struct Blk {
    service: Service,
    drivers: Vec<Driver>,
    pool: DmaBuffer,
    saved: BTreeMap<u64, SavedReply>,
}

fn now_ms() -> u64 {
    libsys::time::uptime_ns() / 1_000_000
}

fn main(args: &str) -> u64 {
    let ram_mib = args
        .split_whitespace()
        .find_map(|a| a.strip_prefix("ram="))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(RAM_MIB_DEFAULT)
        .clamp(1, RAM_MIB_MAX);
    let notification = match Notification::create().and_then(|n| n.bind_current().map(|_| n)) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("blk: cannot bind a notification: {e}");
            return 1;
        }
    };
    let pool = match DmaBuffer::alloc(SLOTS as u64 * SLOT_PAGES, vda::DMA_LIMIT) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("blk: no DMA memory for the transfer slots: {e}");
            return 1;
        }
    };
    let mut blk = Blk {
        service: Service::new(),
        drivers: Vec::new(),
        pool,
        saved: BTreeMap::new(),
    };
    match VirtioBlk::probe(&notification) {
        Ok(v) => {
            println!("{}", v.describe);
            let disk = Disk::new("vda", 254, 0, v.capacity, limits(v.queue_depth));
            blk.service.add(disk);
            blk.drivers.push(Driver::Virtio(v));
        }
        Err(why) => println!("no vda: {why}"),
    }
    let sectors = ram_mib * 2048;
    blk.service
        .add(Disk::new("ram0", 1, 0, sectors, limits(SLOTS)));
    blk.drivers.push(Driver::Ram(RamDisk::new(sectors)));
    println!("ram0: RAM disk, {sectors} sectors ({ram_mib} MiB), pages on demand");
    let endpoint = match Endpoint::create() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("blk: cannot create an endpoint: {e}");
            return 2;
        }
    };
    if let Err(e) = libsys::names::register("blk", &endpoint) {
        eprintln!("blk: cannot register: {e}");
        return 2;
    }
    let error = blk.serve(&endpoint);
    eprintln!("blk: stopped serving: {error}");
    3
}

impl Blk {
    fn serve(&mut self, endpoint: &Endpoint) -> libsys::abi::SysError {
        let mut input = [0u8; PAYLOAD_MAX];
        let mut reply: Option<Reply> = None;
        let mut bad = false;
        loop {
            // While the disk has requests, wake now and then to ring
            // its doorbell again and collect what finished (`kick`).
            let wait = if self.busy() { KICK_NS } else { FOREVER };
            let next = match (reply.take(), bad) {
                (_, true) => endpoint.reply_recv(&Message::new(LABEL_BAD_REQUEST), wait),
                (Some(r), _) => endpoint.reply_recv(&encode(&r), wait),
                (None, _) => endpoint.recv(wait),
            };
            bad = false;
            let mut received = match next {
                Ok(r) => r,
                Err(libsys::abi::SysError::TimedOut) => {
                    self.kick();
                    self.run();
                    continue;
                }
                Err(e) => return e,
            };
            if received.signals().is_some() {
                self.interrupt();
            } else {
                let n = ipc::read_payload(received.msg.info.length.into(), &mut input);
                let call = (received.msg.label() == LABEL_REQUEST)
                    .then(|| rpc::decode::<Call>(&input[..n]).ok())
                    .flatten();
                let carried_handles = received.take_handles().next().is_some();
                match call.filter(|_| !carried_handles) {
                    None => bad = true,
                    Some(call) => reply = self.request(call, &received.msg),
                }
            }
            // Completions use the IPC buffer: the reply is encoded after.
            self.run();
        }
    }

    /// One request: its reply now, or `None` when it was deferred.
    fn request(&mut self, call: Call, msg: &Message) -> Option<Reply> {
        let now = now_ms();
        let window = Window::from_message(&msg.info, &msg.words).ok().flatten();
        let lent = window.map(|w| Lent {
            writable: w.access == Access::Write,
            len: w.length,
        });
        let (dev, op, sector, count) = match call {
            Call::List { start } => return Some(self.service.list(start)),
            Call::Info { dev } => return Some(self.service.info(&dev)),
            Call::Stat { dev } => return Some(self.service.stat(&dev)),
            Call::Scheduler { dev, set } => {
                return Some(self.service.scheduler(&dev, set.as_deref(), now))
            }
            Call::Read { dev, sector, count } => (dev, Op::Read, sector, count),
            Call::Write { dev, sector, count } => (dev, Op::Write, sector, count),
            Call::Flush { dev } => (dev, Op::Flush, 0, 0),
            // Its drivers are modules of this process still.
            Call::DriverUp { .. } => return Some(Reply::Error(BlkError::NoSuchDevice)),
        };
        let begun = match self.service.begin(&dev, op, sector, count, lent) {
            Ok(b) => b,
            Err(e) => return Some(Reply::Error(e)),
        };
        if let (Op::Write, Some(slot)) = (op, begun.slot) {
            let at = self.pool.addr() + blk::transfer::slot_offset(slot);
            if grant_copy(None, Direction::FromWindow, 0, at, begun.bytes).is_err() {
                self.service.abort(begun.tag);
                return Some(Reply::Error(BlkError::CopyFailed));
            }
        }
        if let Err(e) = self.service.submit(begun.tag, sector, now) {
            return Some(Reply::Error(e));
        }
        match ipc::save_reply() {
            Ok(right) => {
                self.saved.insert(begun.tag, right);
                None
            }
            // Already submitted: it completes with no one to answer.
            Err(_) => Some(Reply::Error(BlkError::Io(-12))),
        }
    }

    fn busy(&self) -> bool {
        self.drivers
            .iter()
            .any(|d| matches!(d, Driver::Virtio(v) if v.busy()))
    }

    /// Requests waited [`KICK_NS`]: the doorbells again, then what
    /// finished meanwhile (as at an interrupt).
    fn kick(&mut self) {
        for driver in &mut self.drivers {
            if let Driver::Virtio(v) = driver {
                if v.busy() {
                    v.kick();
                }
            }
        }
        self.interrupt();
    }

    /// The disk's interrupt: its finished requests complete.
    fn interrupt(&mut self) {
        let now = now_ms();
        let mut finished = Vec::new();
        for (dev, driver) in self.drivers.iter_mut().enumerate() {
            if let Driver::Virtio(v) = driver {
                for (id, result) in v.interrupt() {
                    finished.extend(self.service.complete(dev, id, result, now));
                }
            }
        }
        self.finish(finished);
    }

    /// Starts what the queues let go, completes what finishes at once,
    /// until nothing more moves.
    fn run(&mut self) {
        loop {
            let now = now_ms();
            let requests = self.service.dispatch(now);
            if requests.is_empty() {
                return;
            }
            let mut finished = Vec::new();
            for (dev, rq) in requests {
                let result = self.start(dev, &rq);
                if let Some(result) = result {
                    finished.extend(self.service.complete(dev, rq.id, result, now));
                }
            }
            self.finish(finished);
        }
    }

    /// Starts `rq` on its driver: `Some(result)` if it is done already.
    fn start(&mut self, dev: usize, rq: &Request) -> Option<Result<(), i32>> {
        match self.drivers.get_mut(dev)? {
            Driver::Virtio(v) => match v.start(rq, self.pool.phys()) {
                Ok(Started::Queued) => None,
                Ok(Started::Done(result)) => Some(result),
                Err(code) => Some(Err(code)),
            },
            Driver::Ram(ram) => Some(ram_transfer(ram, &mut self.pool, rq)),
        }
    }

    /// Answers finished transfers: a read's data into the caller's window
    /// first, through its saved reply.
    fn finish(&mut self, finished: Vec<Finished>) {
        for f in finished {
            let right = self.saved.remove(&f.begun.tag);
            let mut result = f.result;
            if let (Ok(()), Op::Read, Some(slot), Some(right)) =
                (result, f.begun.op, f.begun.slot, right.as_ref())
            {
                let at = self.pool.addr() + blk::transfer::slot_offset(slot);
                let copied = grant_copy(
                    Some(right.handle()),
                    Direction::ToWindow,
                    0,
                    at,
                    f.begun.bytes,
                );
                if copied.is_err() {
                    result = Err(BlkError::CopyFailed);
                }
            }
            self.service.release(&f);
            let reply = match result {
                Ok(()) => Reply::Done(f.begun.bytes),
                Err(e) => Reply::Error(e),
            };
            if let Some(right) = right {
                // A caller that died or gave up gets nothing.
                let _ = right.reply(&encode(&reply));
            }
        }
    }
}

/// A request on the RAM disk, done at once: its pieces in the pool
/// copied to or from the disk's pages, sector by sector in order.
fn ram_transfer(ram: &mut RamDisk, pool: &mut DmaBuffer, rq: &Request) -> Result<(), i32> {
    let mut sector = rq.sector;
    let segments = rq.bios.iter().flat_map(|b| b.segments.iter());
    let mut buffer = Vec::new();
    for (offset, len) in extents(segments) {
        buffer.resize(len as usize, 0);
        let io = match rq.op {
            Op::Write => pool
                .copy_out(offset, &mut buffer)
                .map_err(|_| -14)
                .and_then(|_| ram.write(sector, &buffer).map_err(|_| -5)),
            Op::Read => ram
                .read(sector, &mut buffer)
                .map_err(|_| -5)
                .and_then(|_| pool.copy_in(offset, &buffer).map_err(|_| -14)),
            Op::Flush => Ok(()),
        };
        io?;
        sector += u64::from(len) / u64::from(blk::SECTOR_SIZE);
    }
    Ok(())
}

/// `reply` encoded into this thread's IPC buffer, as a reply message.
fn encode(reply: &Reply) -> Message {
    match rpc::encode_payload(reply) {
        Ok(length) => Message::new(LABEL_REPLY).with_payload(length),
        Err(_) => Message::new(LABEL_SERVER_ERROR),
    }
}
