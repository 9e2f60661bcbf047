//! The `blk` server process: the block layer's logic (`blk::service`)
//! behind IPC, between its clients (the VFS) and its drivers: the
//! virtio-blk driver, a process of its own that devmgr starts for each
//! virtio disk (`servers/drivers/virtio-blk`, reached through
//! `remote.rs`; disks `vda`, `vdb`, … in slot order), and the RAM disk
//! (`ram0`, its pages on this process's heap).
//!
//! When a disk appears its partition table is read through the server's
//! own request path ([`Blk::read_sector`]: a bio through the queue, as a
//! client's), its partitions (`vda1`…) become devices, and the disk and
//! its partitions are added to devmgr's `block` class, whose uevents make
//! their `/dev` nodes — before the server registers its name, so that
//! vfs's coldplug finds them. `Reread` reads a table again (`BLKRRPART`).
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

use blk::part::{read_partitions, PartError, SectorSource};
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
use libsys::proto::devmgr::{
    Client as DevmgrClient, ClientError as DevClientError, DevClass, DevError,
};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR};
use libsys::{eprintln, println};
use remote::Remote;

/// The partition table reader's view of a disk: sectors read through the
/// server's own request path ([`Blk::read_sector`]).
struct Scan<'a> {
    blk: &'a mut Blk,
    dev: &'a str,
    sectors: u64,
}

impl SectorSource for Scan<'_> {
    fn sectors(&self) -> u64 {
        self.sectors
    }

    fn read_sector(&mut self, lba: u64, buf: &mut [u8; 512]) -> Result<(), PartError> {
        self.blk.read_sector(self.dev, lba, buf)
    }
}

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
    /// The virtio disks whose driver has not come up yet (not in
    /// [`START_WAIT_MS`]).
    waiting: Vec<Pending>,
    /// By disk index: the device devmgr hangs its class device below (the
    /// PCI function; none for the RAM disk).
    parents: Vec<Option<alloc::string::String>>,
    /// The server's own reads (partition tables), by tag: `None` until
    /// done, then the data or the error.
    internal: BTreeMap<u64, Option<Result<Vec<u8>, BlkError>>>,
}

/// A virtio disk before its driver first answered: its name and minor.
struct Pending {
    name: alloc::string::String,
    minor: u32,
    remote: Remote,
}

/// The mode of the disks' and partitions' nodes (udev's rule for block
/// devices: 0660, group `disk`).
const DISK_MODE: u16 = 0o660;
/// Most virtio disks (`vda`–`vdp`, 16 minors each below 256).
const VIRTIO_DISKS_MAX: usize = 16;
/// How long the server's own read of a sector may take.
const SCAN_TIMEOUT_MS: u64 = 5_000;

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
        waiting: Vec::new(),
        parents: Vec::new(),
        internal: BTreeMap::new(),
    };
    let devices = remote::find_devices();
    if devices.is_empty() {
        println!("no vda: no virtio-blk device (1af4:1001 or 1af4:1042) listed by devmgr");
    }
    // Named in slot order: the first is vda (254:0), the next vdb (254:16).
    for (i, device) in devices.into_iter().enumerate().take(VIRTIO_DISKS_MAX) {
        let name = alloc::format!("vd{}", char::from(b'a' + i as u8));
        let mut pending = Pending {
            name,
            minor: i as u32 * blk::disk::DISK_MINORS,
            remote: Remote::new(device),
        };
        let deadline = now_ms() + START_WAIT_MS;
        loop {
            match blk.attach_new(pending) {
                Ok(()) => break,
                Err((back, why)) if now_ms() >= deadline => {
                    println!(
                        "{}: no driver for {} yet ({why}); attached when it comes",
                        back.name, back.remote.device
                    );
                    blk.waiting.push(back);
                    break;
                }
                Err((back, _)) => {
                    pending = back;
                    libsys::time::sleep_ms(remote::START_POLL_MS);
                }
            }
        }
    }
    let sectors = ram_mib * 2048;
    let ram = blk
        .service
        .add(Disk::new("ram0", 1, 0, sectors, limits(SLOTS)).with_minors(1));
    blk.drivers.push(Driver::Ram(RamDisk::new(sectors)));
    blk.parents.push(None);
    println!("ram0: RAM disk, {sectors} sectors ({ram_mib} MiB), pages on demand");
    blk.scan(ram);
    blk.register(ram);
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
            Call::Reread { dev } => return Some(self.reread(&dev)),
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
        !self.waiting.is_empty()
            || self
                .drivers
                .iter()
                .any(|d| matches!(d, Driver::Remote(r) if !r.attached()))
    }

    /// Attaches a virtio disk's driver for the first time: its disk is
    /// added, its partition table read, and both made devmgr's class
    /// devices (their `/dev` nodes).
    fn attach_new(&mut self, mut p: Pending) -> Result<(), (Pending, alloc::string::String)> {
        let g = match p.remote.attach(&self.notification) {
            Ok(g) => g,
            Err(why) => return Err((p, why)),
        };
        let disk = Disk::new(
            &p.name,
            254,
            p.minor,
            g.sectors,
            limits(g.queue_depth as usize),
        );
        println!(
            "{}: virtio-blk driver of {}: {} sectors ({} MiB), {} requests at once",
            p.name,
            p.remote.device,
            g.sectors,
            g.sectors / 2048,
            g.queue_depth
        );
        let dev = self.service.add(disk);
        self.parents.push(Some(p.remote.device.clone()));
        self.drivers.push(Driver::Remote(p.remote));
        self.scan(dev);
        self.register(dev);
        Ok(())
    }

    /// Reads disk `dev`'s partition table through the server's own
    /// request path and sets its partitions: none without a table; a bad
    /// table is logged and ignored (the disk keeps none). Whether it set
    /// them (false: transfers on the old partitions are pending).
    fn scan(&mut self, dev: usize) -> bool {
        let Some(disk) = self.service.disk(dev) else {
            return false;
        };
        let (name, sectors) = (alloc::string::String::from(disk.name()), disk.capacity());
        let mut source = Scan {
            blk: self,
            dev: &name,
            sectors,
        };
        let parts = match read_partitions(&mut source) {
            Ok((kind, parts)) => {
                let names: Vec<_> = parts
                    .iter()
                    .map(|p| blk::part::partition_name(&name, p.number))
                    .collect();
                println!("{name}: {kind:?} partition table: {}", names.join(" "));
                parts
            }
            Err(PartError::NoTable) => Vec::new(),
            Err(e) => {
                eprintln!("{name}: partition table ignored: {e:?}");
                Vec::new()
            }
        };
        match self.service.set_partitions(dev, &parts) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("{name}: partitions not set: {e:?}");
                false
            }
        }
    }

    /// Adds disk `dev` and its partitions to devmgr's `block` class:
    /// their `add` uevents make the `/dev` nodes. A device devmgr has
    /// already (this server restarted) is left as it is.
    fn register(&self, dev: usize) {
        let parent = self.parents.get(dev).cloned().flatten();
        let nodes = self.service.nodes(dev, parent.as_deref());
        let Ok(devmgr) = DevmgrClient::connect() else {
            eprintln!("blk: no devmgr: no class devices (no /dev nodes from uevents)");
            return;
        };
        for n in &nodes {
            match devmgr.add_class_device(
                DevClass::Block,
                &n.name,
                n.devt,
                Some(n.devtype),
                n.parent.as_deref(),
                Some(DISK_MODE),
            ) {
                Ok(()) | Err(DevClientError::Dev(DevError::NameExists)) => {}
                Err(e) => eprintln!("blk: devmgr: cannot add {}: {e}", n.name),
            }
        }
    }

    /// `Reread { dev }` (Linux's `BLKRRPART`): the disk's partitions are
    /// removed from devmgr (`remove` uevents), its table read again, and
    /// the new ones added. `NoSuchDevice` for a name that is not a disk;
    /// `QueueFull` while transfers on its partitions are pending.
    fn reread(&mut self, name: &str) -> Reply {
        let Some(dev) = self.service.find(name) else {
            return Reply::Error(BlkError::NoSuchDevice);
        };
        if self.service.partitions_busy(dev) {
            return Reply::Error(BlkError::QueueFull);
        }
        let old = self.service.nodes(dev, None);
        if let Ok(devmgr) = DevmgrClient::connect() {
            for n in old.iter().skip(1) {
                if let Err(e) = devmgr.remove_class_device(DevClass::Block, &n.name) {
                    eprintln!("blk: devmgr: cannot remove {}: {e}", n.name);
                }
            }
        }
        if !self.scan(dev) {
            return Reply::Error(BlkError::QueueFull);
        }
        self.register(dev);
        let parts = self.service.disk(dev).map_or(0, |d| d.partitions().len());
        Reply::Done(parts as u64)
    }

    /// Reads sector `lba` of disk `name` as a client's read goes (begin,
    /// submit, dispatch to its driver, complete), waiting for it: the
    /// server's own reads of partition tables, when a disk appears.
    fn read_sector(&mut self, name: &str, lba: u64, buf: &mut [u8; 512]) -> Result<(), PartError> {
        let lent = Lent {
            writable: true,
            len: 512,
        };
        let begun = self
            .service
            .begin(name, Op::Read, lba, 1, Some(lent))
            .map_err(|_| PartError::Io)?;
        self.service
            .submit(begun.tag, lba, now_ms())
            .map_err(|_| PartError::Io)?;
        self.internal.insert(begun.tag, None);
        let deadline = now_ms() + SCAN_TIMEOUT_MS;
        loop {
            self.run();
            if let Some(Some(_)) = self.internal.get(&begun.tag) {
                break;
            }
            self.interrupt();
            if let Some(Some(_)) = self.internal.get(&begun.tag) {
                break;
            }
            if now_ms() >= deadline {
                // Finished later, it is answered to no one.
                self.internal.remove(&begun.tag);
                return Err(PartError::Io);
            }
            libsys::time::sleep_ms(1);
        }
        match self.internal.remove(&begun.tag).flatten() {
            Some(Ok(data)) if data.len() == 512 => {
                buf.copy_from_slice(&data);
                Ok(())
            }
            _ => Err(PartError::Io),
        }
    }

    /// `DriverUp { device }`: answered at once (the driver waits), then
    /// its node opened. The instance attached now is asked first (a
    /// `Reap`): only if that fails is it dead and this its next instance
    /// — a `DriverUp` from anyone else changes nothing.
    fn driver_up(&mut self, device: &str) -> Option<Reply> {
        let known = self.waiting.iter().any(|p| p.remote.device == device)
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
        for p in core::mem::take(&mut self.waiting) {
            if let Err((p, _)) = self.attach_new(p) {
                self.waiting.push(p);
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
            // A devmgr that restarted meanwhile lost the class devices:
            // added again (what it still has is left as it is).
            self.register(dev);
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
            if let Some(entry) = self.internal.get_mut(&f.begun.tag) {
                // The server's own read: its data kept for `read_sector`.
                let mut data = alloc::vec![0u8; f.begun.bytes as usize];
                let copied = match (f.result, f.begun.slot) {
                    (Ok(()), Some(slot)) => self
                        .pool
                        .copy_out(blk::transfer::slot_offset(slot), &mut data)
                        .map(|_| data)
                        .map_err(|_| BlkError::CopyFailed),
                    (Ok(()), None) => Err(BlkError::CopyFailed),
                    (Err(e), _) => Err(e),
                };
                *entry = Some(copied);
                self.service.release(&f);
                continue;
            }
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
