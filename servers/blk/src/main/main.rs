//! The `blk` server process: the block layer's logic (`blk::service`)
//! behind IPC, between its clients (the VFS) and its drivers: the
//! virtio-blk driver, a process of its own that devmgr starts
//! (`servers/drivers/virtio-blk`, reached through `remote.rs`, device
//! `vda`), and the RAM disk (`ram0`, its pages on this process's heap).
//!
//! One thread, one loop. A `Read` or `Write` is checked, given a transfer
//! slot of the pool (a write's data is grant-copied into it at once),
//! submitted as a bio, and its reply right saved; requests go to the
//! drivers as the queues allow. The RAM disk completes at once; the
//! virtio driver takes a request (`Submit`, its data copied from the
//! pool) and signals the loop's notification when requests finished,
//! and the loop collects them (`Reap`, a read's data copied into the
//! pool). A finished read is grant-copied from its slot into the
//! caller's window through the saved reply, and every finished transfer
//! is answered then (reply later). The server keeps every request until
//! its driver completed it: a driver that dies (a failed call) leaves its
//! requests here, and its restarted instance gets them first — MINIX 3's
//! transparent block-driver recovery. Arguments: `ram=<MiB>` (default 16).
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

extern crate alloc;

mod remote;

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
use libsys::proto::blkdrv::CallError;
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR};
use libsys::{eprintln, println};
use remote::Remote;

libsys::entry!(main);

/// The RAM disk's size without `ram=`.
const RAM_MIB_DEFAULT: u64 = 16;
/// The largest `ram=` (its pages come from this process's heap).
const RAM_MIB_MAX: u64 = 256;

/// How long a driver's requests wait before `serve` reaps without a
/// signal (which also rings the device's doorbell again and finds a dead
/// driver).
const KICK_NS: u64 = 200_000_000;
/// How long the server waits at start for the virtio disk's driver,
/// which devmgr starts about when this server does.
const START_WAIT_MS: u64 = 10_000;
/// The pool's physical limit (any: no device reads it now, the drivers
/// copy through windows; kept in DMA memory for its volatile accesses).
const POOL_LIMIT: u64 = 1 << 32;

enum Driver {
    Remote(Remote),
    Ram(RamDisk),
}

struct Blk {
    service: Service,
    /// By disk index.
    drivers: Vec<Driver>,
    pool: DmaBuffer,
    saved: BTreeMap<u64, SavedReply>,
    notification: Notification,
    /// The virtio disk's driver while it has no disk yet (it did not come
    /// up in [`START_WAIT_MS`]).
    waiting: Option<Remote>,
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
    let pool = match DmaBuffer::alloc(SLOTS as u64 * SLOT_PAGES, POOL_LIMIT) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("blk: no memory for the transfer slots: {e}");
            return 1;
        }
    };
    let mut blk = Blk {
        service: Service::new(),
        drivers: Vec::new(),
        pool,
        saved: BTreeMap::new(),
        notification,
        waiting: None,
    };
    match remote::find_device() {
        Some(device) => {
            let mut r = Remote::new(device);
            let deadline = now_ms() + START_WAIT_MS;
            loop {
                match blk.attach_new(r) {
                    Ok(()) => break,
                    Err((back, why)) if now_ms() >= deadline => {
                        println!(
                            "vda: no driver for {} yet ({why}); attached when it comes",
                            back.device
                        );
                        blk.waiting = Some(back);
                        break;
                    }
                    Err((back, _)) => {
                        r = back;
                        libsys::time::sleep_ms(remote::START_POLL_MS);
                    }
                }
            }
        }
        None => println!("no vda: no virtio-blk device (1af4:1001 or 1af4:1042) listed by devmgr"),
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
            // While a driver holds requests, wake now and then to reap
            // without a signal (`kick`); while one is missing, to look
            // for its next instance.
            let wait = if self.busy() {
                KICK_NS
            } else if self.missing() {
                remote::ATTACH_POLL_MS * 1_000_000
            } else {
                FOREVER
            };
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
                    self.reattach();
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
            Call::DriverUp { device } => return self.driver_up(&device),
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
            .any(|d| matches!(d, Driver::Remote(r) if r.busy()))
    }

    /// Whether a driver is missing (died, or never came).
    fn missing(&self) -> bool {
        self.waiting.is_some()
            || self
                .drivers
                .iter()
                .any(|d| matches!(d, Driver::Remote(r) if !r.attached()))
    }

    /// Attaches `r`'s driver for the first time: its disk `vda` is added.
    fn attach_new(&mut self, mut r: Remote) -> Result<(), (Remote, alloc::string::String)> {
        let g = match r.attach(&self.notification) {
            Ok(g) => g,
            Err(why) => return Err((r, why)),
        };
        let disk = Disk::new("vda", 254, 0, g.sectors, limits(g.queue_depth as usize));
        println!(
            "vda: virtio-blk driver of {}: {} sectors ({} MiB), {} requests at once",
            r.device,
            g.sectors,
            g.sectors / 2048,
            g.queue_depth
        );
        self.service.add(disk);
        self.drivers.push(Driver::Remote(r));
        Ok(())
    }

    /// `DriverUp { device }`: answered at once (the driver waits), then
    /// its node opened. The instance attached now is asked first (a
    /// `Reap`): only if that fails is it dead and this its next instance
    /// — a `DriverUp` from anyone else changes nothing.
    fn driver_up(&mut self, device: &str) -> Option<Reply> {
        let known = self.waiting.as_ref().is_some_and(|r| r.device == device)
            || self
                .drivers
                .iter()
                .any(|d| matches!(d, Driver::Remote(r) if r.device == device));
        if !known {
            return Some(Reply::Error(BlkError::NoSuchDevice));
        }
        let _ = ipc::reply(&encode(&Reply::Done(0)));
        self.interrupt();
        self.reattach();
        self.run();
        None
    }

    /// Driver `dev` is gone: what it held goes back to be re-submitted to
    /// its next instance (those out of retries fail now).
    fn lost(&mut self, dev: usize, why: &str) {
        let Some(Driver::Remote(r)) = self.drivers.get_mut(dev) else {
            return;
        };
        r.detach();
        let held = self.service.disk(dev).map_or(0, |d| d.in_flight());
        let failed = self.service.driver_died(dev, now_ms());
        eprintln!(
            "blk: the driver of {} is gone ({why}); {held} requests it held go to its next instance ({} transfers out of retries failed)",
            r.device,
            failed.len()
        );
        self.finish(failed);
    }

    /// Attaches the missing drivers whose next instance is up (devmgr
    /// has a process for their device).
    fn reattach(&mut self) {
        if let Some(r) = self.waiting.take() {
            if let Err((r, _)) = self.attach_new(r) {
                self.waiting = Some(r);
            }
        }
        for dev in 0..self.drivers.len() {
            let Driver::Remote(r) = &mut self.drivers[dev] else {
                continue;
            };
            if r.attached() || r.attach(&self.notification).is_err() {
                continue;
            }
            let waiting = self.service.disk(dev).map_or(0, |d| d.queued());
            println!(
                "blk: the driver of {} is back; {waiting} requests waiting",
                r.device
            );
            self.service.driver_restarted(dev);
        }
    }

    /// Requests waited [`KICK_NS`]: reaped as at a signal (the reap rings
    /// the doorbell again; a dead driver shows here).
    fn kick(&mut self) {
        self.interrupt();
    }

    /// A driver signalled: its finished requests complete.
    fn interrupt(&mut self) {
        let now = now_ms();
        let mut finished = Vec::new();
        let mut dead = Vec::new();
        for dev in 0..self.drivers.len() {
            let Driver::Remote(r) = &mut self.drivers[dev] else {
                continue;
            };
            if !r.attached() {
                continue;
            }
            match r.reap(&self.pool) {
                Ok(done) => {
                    for (id, result) in done {
                        finished.extend(self.service.complete(dev, id, result, now));
                    }
                }
                Err(e) => dead.push((dev, e)),
            }
        }
        self.finish(finished);
        for (dev, e) in dead {
            self.lost(dev, &alloc::format!("{e}"));
        }
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
            let mut dead: Vec<(usize, CallError)> = Vec::new();
            for (dev, rq) in requests {
                if dead.iter().any(|(d, _)| *d == dev) {
                    // Taken back with the rest when it is declared dead.
                    continue;
                }
                match self.start(dev, &rq) {
                    Ok(None) => {}
                    Ok(Some(result)) => {
                        finished.extend(self.service.complete(dev, rq.id, result, now))
                    }
                    Err(e) => dead.push((dev, e)),
                }
            }
            self.finish(finished);
            for (dev, e) in dead {
                self.lost(dev, &alloc::format!("{e}"));
            }
        }
    }

    /// Starts `rq` on its driver: `Ok(Some(result))` if it is done
    /// already (the RAM disk, or a request the driver refused),
    /// `Err` if the driver is gone.
    fn start(&mut self, dev: usize, rq: &Request) -> Result<Option<Result<(), i32>>, CallError> {
        match self.drivers.get_mut(dev) {
            Some(Driver::Remote(r)) => match r.submit(rq, &self.pool) {
                Ok(()) => Ok(None),
                Err(CallError::Refused(e)) => {
                    eprintln!("blk: {} refused request {}: {e}", r.device, rq.id.0);
                    Ok(Some(Err(-5)))
                }
                Err(e) => Err(e),
            },
            Some(Driver::Ram(ram)) => Ok(Some(ram_transfer(ram, &mut self.pool, rq))),
            None => Ok(Some(Err(-19))),
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
