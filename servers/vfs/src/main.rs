//! The `vfs` server process: the core (`Vfs`, tmpfs as `/`) behind
//! `libsys::proto::vfs`, one thread, one loop.
//!
//! - **The root.** tmpfs mounted at `/`, filled from the initramfs: the
//!   boot module `init` lends as `@file=<h>:<bytes>` (manifest
//!   `file=initramfs`), mapped read-only and unpacked with lib/cpio's
//!   reader through `vfs::initramfs`. `/tmp` is made if the archive has
//!   none.
//! - **devfs on `/dev`** (`vfs::devfs`), mounted at start before
//!   `/etc/fstab` is read (its `devfs` line finds it mounted): the static
//!   character devices, a block node for each of the block server's
//!   disks, the devices devmgr knows already (coldplug: each class
//!   device's `uevent` attribute), and then devmgr's uevents as they
//!   come. A third thread, the uevent thread, waits for them
//!   (`WaitUevent`), queues them and sets [`UEVENT_BIT`] of the loop's
//!   notification; the loop applies them as root (`devfs::apply_uevent`).
//! - **Requests.** Each is decoded and handed to `vfs::service` with a
//!   `CallerGrant` on the current caller: the data of `Read`, `Write`,
//!   `Getdents`, … are copied straight into or out of the caller's window.
//! - **Blocking.** A call that must wait (an empty or full pipe) gets no
//!   answer now: its reply right is saved (`ipc::save_reply`) with the
//!   request and its message (which names the window), and the call is
//!   run again, with a `CallerGrant` on the saved reply, whenever the
//!   core lists the client among its wakeups. Everyone else is served
//!   meanwhile.
//! - **Clients** are badges (pids); an unknown one gets a client with the
//!   credentials the `cred` service gives.
//! - **Devices.** `/dev/null`, `/dev/zero`, `/dev/full`,
//!   `/dev/random`/`/dev/urandom` (ChaCha20, seeded at start from
//!   `RDRAND`, TSC jitter and the clock), `/dev/kmsg` (the kernel log),
//!   and `/dev/console` and `/dev/tty` on the terminal server's line 0 (looked up at the first
//!   use, again after a failure). Without a `tty` server, writes go to the
//!   kernel log and reads are `EIO`. A console read is answered later by
//!   a second thread, the device thread: the loop saves the reply and
//!   queues the read; the device thread makes the (blocking) `tty` call,
//!   copies the line into the caller's window through the saved reply and
//!   answers. The loop goes on serving meanwhile; reads wait in turn.
//! - **Disks.** ext2 is registered over the block server
//!   (`blockdev::BlkOpener`: `/dev/vda` is `blk`'s `vda`), and
//!   `/etc/fstab`'s lines are mounted at start (a failure is logged, the
//!   server goes on).
//! - **The flusher** (LKD 16): a periodic timer of the timer server sets
//!   a bit of the notification bound to the loop's thread every
//!   [`FLUSH_PERIOD_MS`] (or `dirty_writeback_centisecs=`); the loop then writes back what `dirty_expire`
//!   says is due (`Vfs::flush`) and the file systems' metadata
//!   (`Vfs::sync_filesystems`). `sync`, `fsync` and `umount` write back
//!   at once.
//! - **The clock**: the wall time from the timer server at start plus the
//!   TSC since, set in the core and in ext2 before each request.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod blockdev;
mod mapping;
mod recording;
mod sources;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use libsys::abi::ipc::{FOREVER, PAYLOAD_MAX};
use libsys::abi::{Protection, SysError};
use libsys::grant::{CallerGrant, GrantAccess};
use libsys::handle::Endpoint;
use libsys::ipc::{self, Message, SavedReply};
use libsys::mapping::Mapping;
use libsys::proto::vfs::{RegRequest, Reply, Request, LABEL_REGS, LABEL_REGS_REPLY};
use libsys::proto::{cred, devmgr, tty};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR};
use libsys::semaphore::Semaphore;
use libsys::sync::Mutex;
use libsys::{eprintln, println};
use vfs::devfs::DevfsType;
use vfs::ext2fs::Ext2Type;
use vfs::procfs::ProcFsType;
use vfs::service::{mount_devfs, Console, KernelLog, Outcome, Service};
use vfs::sysfs::SysFsType;
use vfs::tmpfs::TmpfsType;
use vfs::types::{Cred, Timespec};
use vfs::{Limits, Vfs};

libsys::entry!(main);

/// Where the initramfs is mapped (read-only).
const ARCHIVE_BASE: u64 = 0x5000_0000_0000;
/// The page cache's budget: tmpfs pages live in it, and cannot be
/// evicted (the initramfs is about 16 MiB, ~40 programs with their line
/// tables), with room beside it for ext2's pages (ext2test fills its 8 MiB
/// disk and must meet ENOSPC, not ENOMEM).
const CACHE_PAGES: usize = 8192;
/// The client id the server unpacks the initramfs as (no pid is this).
const UNPACKER: u64 = u64::MAX;
/// Calls waiting at once in the whole server.
const WAITING_MAX: usize = 256;

/// How often the flusher runs by default (Linux's
/// `dirty_writeback_centisecs`, 500); `dirty_writeback_centisecs=N` on the
/// manifest line sets it, as `dirty_expire_centisecs=N` sets the age at
/// which dirty data is written back (3000 by default).
const FLUSH_PERIOD_MS: u64 = 5_000;
/// The notification bit the flusher's timer sets.
const FLUSH_BIT: u8 = 0;
/// The notification bit the uevent thread sets when it queued events.
const UEVENT_BIT: u8 = 2;
/// Uevents queued for the loop at most (beyond, the newest are dropped).
const UEVENT_QUEUE_MAX: usize = 64;

/// Uevents (netlink form) the uevent thread received, for the loop.
static UEVENTS: Mutex<VecDeque<Vec<u8>>> = Mutex::new(VecDeque::new());

/// Console reads queued for the device thread at most.
const CONSOLE_QUEUE_MAX: usize = 64;

/// A console read for the device thread.
struct ConsoleRead {
    pid: u64,
    len: usize,
    msg: Message,
    reply: SavedReply,
}

/// The device thread's queue, and the count of reads in it.
static CONSOLE_READS: Mutex<VecDeque<ConsoleRead>> = Mutex::new(VecDeque::new());
static CONSOLE_QUEUED: Semaphore = Semaphore::new(0);

/// A request as it came: in registers (a small value) or decoded from
/// postcard (boxed: a `Request` is as big as two paths, two kilobytes
/// the loop would otherwise copy each time it moves one).
enum Held {
    Regs(RegRequest),
    Decoded(Box<Request>),
}

impl Held {
    /// Serves it from `badge` through `grant` (`path`: the payload of a
    /// register request that has one).
    fn handle(
        &self,
        service: &mut Service,
        badge: u64,
        path: &[u8],
        grant: &mut dyn GrantAccess,
        creds: &mut Option<cred::Client>,
    ) -> Outcome {
        let lookup = &mut |pid| lookup(creds, pid);
        match self {
            Held::Regs(r) => service.handle_regs(badge, *r, path, grant, lookup),
            Held::Decoded(r) => service.handle(badge, r, grant, lookup),
        }
    }
}

/// A call that must wait: retried when its client is woken.
struct Waiting {
    badge: u64,
    /// Its number in a recording (`later`, `retry`, `deliver`).
    token: u64,
    request: Held,
    msg: Message,
    reply: SavedReply,
}

/// The value of `name=N` among the arguments.
fn arg(args: &str, name: &str) -> Option<u64> {
    args.split_whitespace()
        .find_map(|a| a.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
}

fn main(args: &str) -> u64 {
    if libsys::record::start_if_asked("vfs") {
        libsys::record::data(format_args!("args {}", args.len()), args.as_bytes());
    }
    let (provider, note) = mapping::page_provider(CACHE_PAGES);
    let mut vfs = Vfs::new(provider, Limits::default());
    if let Some(cs) = arg(args, "dirty_expire_centisecs") {
        vfs.pcache.config.dirty_expire = cs;
    }
    let flush_ms =
        arg(args, "dirty_writeback_centisecs").map_or(FLUSH_PERIOD_MS, |cs| (cs * 10).max(100));
    if let Err(e) = vfs
        .register_filesystem(Box::new(TmpfsType))
        .and_then(|()| vfs.mount_root("tmpfs", b"mode=755"))
    {
        eprintln!("vfs: cannot mount tmpfs at /: {e}");
        return 1;
    }
    let mut clock = Clock::start();
    clock.set(&mut vfs);
    if let Err(e) = vfs.register_filesystem(Box::new(Ext2Type::new(recording::opener()))) {
        eprintln!("vfs: cannot register ext2: {e}");
    }
    register_pseudo(&mut vfs);
    fill_root(&mut vfs);
    let devmgr = populate_dev(&mut vfs);
    mount_fstab(&mut vfs);
    let endpoint = match Endpoint::create() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("vfs: cannot create an endpoint: {e}");
            return 2;
        }
    };
    if let Err(e) = libsys::names::register(libsys::proto::vfs::NAME, &endpoint) {
        eprintln!("vfs: cannot register: {e}");
        return 2;
    }
    let mut service = Service::new(vfs);
    seed(&mut service.crng);
    service.set_kernel_log(recording::kernel_log(Box::new(Klog)));
    let threaded = libsys::thread::spawn(device_thread).is_ok();
    if !threaded {
        eprintln!("vfs: no device thread: console reads are EIO");
    }
    service.set_console(recording::console(Box::new(TtyConsole {
        tty: None,
        threaded,
    })));
    let flusher = start_flusher(flush_ms, note);
    start_uevents(devmgr, flusher.as_ref());
    let error = serve(&endpoint, &mut service, &mut clock, flusher);
    eprintln!("vfs: stopped serving: {error}");
    3
}

/// procfs over `proc` and `mm`, sysfs over `devmgr` (`sources`).
fn register_pseudo(vfs: &mut Vfs) {
    let proc = ProcFsType::new(Box::new(|| recording::proc(sources::ProcIpc::boxed())));
    let sys = SysFsType::new(Box::new(|| {
        recording::sys(Box::new(vfs::blockattrs::BlockAttrs::new(
            sources::DevmgrIpc::boxed(),
            sources::BlkIpc::boxed(),
        )))
    }));
    for result in [
        vfs.register_filesystem(Box::new(proc)),
        vfs.register_filesystem(Box::new(sys)),
        vfs.register_filesystem(Box::new(DevfsType)),
    ] {
        if let Err(e) = result {
            eprintln!("vfs: cannot register procfs/sysfs/devfs: {e}");
        }
    }
}

/// Unpacks the initramfs (if given) and makes `/tmp`.
fn fill_root(vfs: &mut Vfs) {
    if vfs.new_client(UNPACKER, Cred::root()).is_err() {
        return;
    }
    match archive() {
        Some(bytes) if libsys::record::enabled() && !vfs::record::log_archive(bytes) => {
            eprintln!("vfs: record: the initramfs cannot be listed")
        }
        Some(bytes) => match vfs::initramfs::unpack(vfs, UNPACKER, bytes) {
            Ok(made) => println!(
                "vfs: initramfs unpacked: {} directories, {} files, {} symlinks",
                made.dirs, made.files, made.symlinks
            ),
            Err(e) => eprintln!("vfs: initramfs: {e} (kept what came before)"),
        },
        None => eprintln!("vfs: no initramfs given (manifest file=initramfs)"),
    }
    if vfs.mkdir(UNPACKER, b"/tmp", 0o777).is_ok() {
        let _ = vfs.chmod(UNPACKER, b"/tmp", 0o1777);
    }
    let _ = vfs.exit(UNPACKER);
}

/// Mounts devfs on `/dev` and fills it with devmgr's devices (coldplug),
/// once the block server is up (its disks and partitions are devmgr's
/// class devices then). Returns devmgr's client, subscribed to
/// uevents before the coldplug so that none falls between (a device seen
/// twice is made once), or `None` without devmgr.
fn populate_dev(vfs: &mut Vfs) -> Option<devmgr::Client> {
    if vfs.new_client(UNPACKER, Cred::root()).is_err() {
        return None;
    }
    if let Err(e) = mount_devfs(vfs, UNPACKER) {
        eprintln!("vfs: cannot mount devfs on /dev: {e}");
        let _ = vfs.exit(UNPACKER);
        return None;
    }
    let block = wait_for_blk();
    let client = devmgr::Client::connect_within(DEVMGR_WAIT_MS)
        .ok()
        .filter(|c| c.subscribe().is_ok());
    match &client {
        Some(c) => coldplug(vfs, c),
        None => eprintln!("vfs: no devmgr: /dev has no hot-plugged nodes"),
    }
    check_block_nodes(vfs, &block);
    let _ = vfs.exit(UNPACKER);
    client
}

/// How long start waits for devmgr's name.
const DEVMGR_WAIT_MS: u64 = 1_000;

/// Waits (up to `blockdev`'s lookup time) for the block server, which
/// adds its disks and their partitions to devmgr's `block` class before
/// it registers its name — so the coldplug after this finds them, and
/// `/etc/fstab`'s `/dev/vda` is there to mount. Returns the names it
/// serves, for [`check_block_nodes`].
fn wait_for_blk() -> Vec<alloc::string::String> {
    blockdev::device_names()
}

/// Says which of the block server's devices got no node from devmgr (a
/// block server that could not add its class devices).
fn check_block_nodes(vfs: &mut Vfs, names: &[alloc::string::String]) {
    for name in names {
        let path = alloc::format!("/dev/{name}");
        if vfs.stat(UNPACKER, path.as_bytes()).is_err() {
            eprintln!("vfs: blk serves {name} but devmgr has no class device for it: no {path}");
        }
    }
}

/// The devices devmgr had before vfs listened: each device of each class
/// (`/sys/class/<class>/<device>/uevent`) replayed as an `add`.
fn coldplug(vfs: &mut Vfs, client: &devmgr::Client) {
    for class in ["tty", "block", "input"] {
        let dir = alloc::format!("/sys/class/{class}");
        // Page by page: a class may have more devices than one reply names.
        let mut names = Vec::new();
        while let Ok((page, total)) = client.list(&dir, names.len() as u32) {
            names.extend(page.iter().cloned());
            if page.is_empty() || names.len() >= total as usize {
                break;
            }
        }
        for name in names.iter() {
            let Ok(text) = client.read(&alloc::format!("{dir}/{name}/uevent")) else {
                continue;
            };
            libsys::record::data(format_args!("coldplug {class} {name}"), text.as_bytes());
            let devpath = alloc::format!("/class/{class}/{name}");
            match vfs::devfs::Uevent::from_attribute(class, &devpath, text.as_bytes()) {
                Ok(event) => apply(vfs, &event),
                Err(e) => eprintln!("vfs: devfs: {devpath}/uevent: {e}"),
            }
        }
    }
}

/// Applies one uevent to `/dev` as the unpacker (a root client), logging
/// what it made or removed.
fn apply(vfs: &mut Vfs, event: &vfs::devfs::Uevent) {
    use vfs::devfs::Applied;
    match vfs::devfs::apply_uevent(vfs, UNPACKER, b"/dev", event) {
        Ok(Applied::Made(name)) => println!("vfs: devfs: made /dev/{name}"),
        Ok(Applied::Removed(name)) => println!("vfs: devfs: removed /dev/{name}"),
        Ok(Applied::Nothing) => {}
        Err(e) => eprintln!("vfs: devfs: {}: {e}", event.devpath),
    }
}

/// Applies the uevents the uevent thread queued.
fn apply_queued(vfs: &mut Vfs) {
    let events: Vec<Vec<u8>> = UEVENTS.lock().drain(..).collect();
    if events.is_empty() || vfs.new_client(UNPACKER, Cred::root()).is_err() {
        return;
    }
    for bytes in events {
        libsys::record::data(format_args!("uevent {}", bytes.len()), &bytes);
        match vfs::devfs::Uevent::parse(&bytes) {
            Ok(event) => apply(vfs, &event),
            Err(e) => eprintln!("vfs: devfs: a malformed uevent: {e}"),
        }
    }
    let _ = vfs.exit(UNPACKER);
}

/// Starts the uevent thread: it waits for devmgr's uevents, queues them
/// and signals [`UEVENT_BIT`] on `loop_note` (the loop's notification).
fn start_uevents(client: Option<devmgr::Client>, loop_note: Option<&libsys::handle::Notification>) {
    let (Some(client), Some(note)) = (client, loop_note) else {
        return;
    };
    let Ok(note) = note.dup(libsys::abi::ipc::Rights::SEND, None) else {
        eprintln!("vfs: devfs: no notification for uevents: no hot-plug");
        return;
    };
    let spawned = libsys::thread::spawn(move || uevent_thread(client, note));
    if spawned.is_err() {
        eprintln!("vfs: devfs: no uevent thread: no hot-plug");
    }
}

/// The longest the uevent thread sleeps between tries to find devmgr
/// again after it died.
const RESUBSCRIBE_MAX_MS: u64 = 5_000;

/// The uevent thread: each uevent devmgr sends is queued for the loop
/// and [`UEVENT_BIT`] set on `note`. When devmgr dies it looks devmgr up
/// again and subscribes anew, trying every 100 ms, backing off to 5 s
/// (events meanwhile are lost, as a netlink listener loses them when its
/// socket overflows).
fn uevent_thread(mut client: devmgr::Client, note: libsys::handle::Notification) {
    loop {
        match client.wait_uevent() {
            Ok((event, dropped)) => {
                if dropped > 0 {
                    eprintln!("vfs: devfs: devmgr dropped {dropped} uevents");
                }
                let mut queue = UEVENTS.lock();
                if queue.len() < UEVENT_QUEUE_MAX {
                    queue.push_back(event.as_bytes().to_vec());
                }
                drop(queue);
                let _ = note.signal(1 << UEVENT_BIT);
            }
            Err(e) if e.peer_died() => {
                let mut wait_ms = 100;
                while client.reconnect().is_err() || client.subscribe().is_err() {
                    libsys::time::sleep_ms(wait_ms);
                    wait_ms = (wait_ms * 2).min(RESUBSCRIBE_MAX_MS);
                }
            }
            Err(e) => {
                eprintln!("vfs: devfs: uevents stopped: {e}");
                return;
            }
        }
    }
}

/// Seeds `/dev/urandom`'s generator: 32 words of `RDRAND` when the CPU
/// has it, then the TSC read around 64 calls whose length varies (the
/// kernel's clock; the jitter Linux's `try_to_generate_entropy` also
/// draws on), and the wall time.
fn seed(crng: &mut vfs::random::Crng) {
    let mut pool = Vec::with_capacity(2048);
    let rdrand: Vec<u64> = (0..32).filter_map(|_| libsys::syscall::rdrand()).collect();
    for w in &rdrand {
        pool.extend_from_slice(&w.to_le_bytes());
    }
    for _ in 0..64 {
        let before = libsys::syscall::rdtsc();
        let uptime = libsys::syscall::clock().map_or(0, |c| c.uptime_ns);
        let after = libsys::syscall::rdtsc();
        pool.extend_from_slice(&before.to_le_bytes());
        pool.extend_from_slice(&after.wrapping_sub(before).to_le_bytes());
        pool.extend_from_slice(&uptime.to_le_bytes());
    }
    let wall = libsys::time::clock_gettime(libsys::time::CLOCK_REALTIME).unwrap_or_default();
    pool.extend_from_slice(&wall.as_nanos().to_le_bytes());
    libsys::record::data(format_args!("seed {}", pool.len()), &pool);
    crng.mix(&pool);
    if rdrand.is_empty() {
        eprintln!("vfs: no RDRAND: /dev/urandom is seeded from TSC jitter and the clock only");
    }
}

/// `/dev/kmsg`: the kernel's log ring (`log_read`, `log`).
struct Klog;

impl KernelLog for Klog {
    /// At most `LOG_READ_MAX` bytes a call, as the kernel takes.
    fn read(&mut self, since: u64, buf: &mut [u8]) -> Result<usize, vfs::Errno> {
        let n = buf.len().min(libsys::abi::LOG_READ_MAX);
        libsys::syscall::log_read(since, &mut buf[..n]).map_err(|_| vfs::Errno::EIO)
    }
    /// A record per write, at level `info` (Linux parses a `<N>` prefix
    /// as the level; here it stays in the text), cut at the kernel's
    /// `LOG_MAX` bytes as Linux cuts at its `LOG_LINE_MAX`.
    fn write(&mut self, text: &[u8]) -> Result<usize, vfs::Errno> {
        let line = alloc::string::String::from_utf8_lossy(text);
        let mut line = line.trim_end_matches('\n');
        let mut end = line.len().min(libsys::abi::LOG_MAX);
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line = &line[..end];
        libsys::syscall::log(libsys::abi::LogLevel::Info, line).map_err(|_| vfs::Errno::EIO)?;
        Ok(text.len())
    }
}

/// Mounts the lines of `/etc/fstab` served here (`vfs::fstab`), logging
/// each.
fn mount_fstab(vfs: &mut Vfs) {
    use vfs::fstab::Mounted;
    if vfs.new_client(UNPACKER, Cred::root()).is_err() {
        return;
    }
    vfs::fstab::mount_fstab(vfs, UNPACKER, &mut |m| match m {
        Mounted::Done {
            source,
            target,
            fstype,
        } => println!("vfs: mounted {source} on {target} ({fstype})"),
        Mounted::Failed {
            source,
            target,
            error,
        } => eprintln!("vfs: fstab: cannot mount {source} on {target}: {error}"),
    });
    let _ = vfs.exit(UNPACKER);
}

/// The wall clock: the timer server's `CLOCK_REALTIME` at start, then the
/// TSC since (no call per request; two 64-bit divisions, not the 128-bit
/// one `Instant::elapsed` makes, since it runs before every request).
struct Clock {
    base: core::time::Duration,
    /// The TSC at `base`, and its rate.
    at: u64,
    hz: u64,
}

impl Clock {
    fn start() -> Clock {
        let base = libsys::time::clock_gettime(libsys::time::CLOCK_REALTIME).unwrap_or_default();
        let hz = libsys::syscall::clock().map_or(1, |c| c.tsc_hz.max(1));
        Clock {
            base,
            at: libsys::syscall::rdtsc(),
            hz,
        }
    }

    /// The time since start: whole seconds, then the remainder's
    /// nanoseconds (below `hz`, so `rem * 10^9` fits 64 bits for any TSC
    /// under 18 GHz).
    fn elapsed(&self) -> core::time::Duration {
        let ticks = libsys::syscall::rdtsc().saturating_sub(self.at);
        let (secs, rem) = (ticks / self.hz, ticks % self.hz);
        let nanos = rem.saturating_mul(1_000_000_000) / self.hz;
        core::time::Duration::new(secs, nanos as u32)
    }

    /// Sets the core's and ext2's clocks to now.
    fn set(&mut self, vfs: &mut Vfs) {
        let now = self.base + self.elapsed();
        if libsys::record::enabled() {
            libsys::record::line(format_args!(
                "clock {} {}",
                now.as_secs(),
                now.subsec_nanos()
            ));
        }
        vfs.set_time(Timespec {
            sec: now.as_secs() as i64,
            nsec: i64::from(now.subsec_nanos()),
        });
        vfs::ext2fs::set_clock(now.as_secs().min(u64::from(u32::MAX)) as u32);
    }
}

/// Asks the timer server to set [`FLUSH_BIT`] every `period_ms` in the
/// notification bound to this thread (`bound`, else a new one); `None`
/// (no flusher: data reaches the disk on `sync`, `fsync` and `umount`
/// only) without a timer server.
fn start_flusher(
    period_ms: u64,
    bound: Option<libsys::handle::Notification>,
) -> Option<libsys::handle::Notification> {
    use libsys::time::{Expiry, Timer};
    let n = match bound {
        Some(n) => n,
        None => {
            let n = libsys::handle::Notification::create().ok()?;
            n.bind_current().ok()?;
            n
        }
    };
    let period = core::time::Duration::from_millis(period_ms);
    let armed = libsys::time::bind(&n)
        .and_then(|()| Timer::add(Expiry::After(period_ms * 1_000_000), period, FLUSH_BIT));
    match armed {
        Ok(_) => Some(n),
        Err(e) => {
            eprintln!("vfs: no flusher (timer: {e}): dirty pages wait for sync");
            None
        }
    }
}

/// One run of the flusher: expired dirty pages, then metadata.
fn flush(service: &mut Service, clock: &mut Clock, errors: &mut u32) {
    clock.set(&mut service.vfs);
    libsys::record::line(format_args!("flush"));
    service.vfs.flush();
    if let Err(e) = service.vfs.sync_filesystems() {
        eprintln!("vfs: flusher: writing metadata: {e}");
    }
    let now = vfs::ext2fs::silent_errors();
    if now != *errors {
        eprintln!(
            "vfs: ext2: {} failures freeing inodes or unmounting",
            now - *errors
        );
        *errors = now;
    }
}

/// The initramfs `init` lent (`@file=`), mapped read-only.
fn archive() -> Option<&'static [u8]> {
    let (region, bytes) = libsys::env::file()?;
    let pages = bytes.div_ceil(libsys::abi::PAGE_SIZE).max(1);
    match Mapping::map(ARCHIVE_BASE, region, 0, pages, Protection::READ) {
        // Read to the end of the server's life: never unmapped.
        Ok(view) => view.leak().get(..bytes as usize),
        Err(e) => {
            eprintln!("vfs: cannot map the initramfs: {e}");
            None
        }
    }
}

/// `/dev/console` and `/dev/tty`: line 0 of the `tty` server.
struct TtyConsole {
    tty: Option<tty::Client>,
    /// Whether the device thread runs (and makes the reads).
    threaded: bool,
}

impl TtyConsole {
    fn tty(&mut self) -> Option<&tty::Client> {
        if self.tty.is_none() {
            self.tty = tty::Client::connect_within(0).ok();
        }
        self.tty.as_ref()
    }
}

impl Console for TtyConsole {
    fn write(&mut self, pid: u64, data: &[u8]) -> Result<usize, vfs::Errno> {
        match self.tty().map(|t| t.write(0, pid, data)) {
            Some(Ok(n)) => Ok(n),
            Some(Err(e)) => {
                self.tty = None;
                Err(e.errno())
            }
            None => {
                let text = core::str::from_utf8(data).unwrap_or("<bytes>");
                libsys::println!("{}", text.strip_suffix('\n').unwrap_or(text));
                Ok(data.len())
            }
        }
    }

    /// Only a read that cannot wait comes here: without a `tty` server
    /// or a device thread.
    fn read(&mut self, _pid: u64, _buf: &mut [u8]) -> Result<usize, vfs::Errno> {
        Err(vfs::Errno::EIO)
    }

    fn reads_later(&mut self) -> bool {
        self.threaded && self.tty().is_some()
    }

    fn ioctl(
        &mut self,
        pid: u64,
        cmd: u32,
        arg: u64,
        grant: &mut dyn GrantAccess,
    ) -> Result<u64, vfs::Errno> {
        let Some(tty) = self.tty() else {
            return Err(vfs::Errno::ENOTTY);
        };
        let result = terminal_ioctl(tty, pid, cmd, arg, grant);
        if matches!(result, Err(TermError::Call(_))) {
            self.tty = None;
        }
        result.map_err(|e| match e {
            TermError::Call(e) => e.errno(),
            TermError::Errno(e) => e,
        })
    }
}

/// Why a terminal `ioctl` failed: the `tty` call, or the request itself.
enum TermError {
    Call(tty::ClientError),
    Errno(vfs::Errno),
}

impl From<tty::ClientError> for TermError {
    fn from(e: tty::ClientError) -> Self {
        TermError::Call(e)
    }
}

/// `TIOCGWINSZ` and `TIOCSWINSZ` (Linux x86_64).
const TIOCGWINSZ: u32 = 0x5413;
const TIOCSWINSZ: u32 = 0x5414;

/// One terminal `ioctl` on line 0 by process `pid` (the terminal's job
/// control judges the changes by it), the structures moved through the
/// caller's window in the kernel's layout (`struct termios`: 36 bytes,
/// `struct winsize`: 8).
fn terminal_ioctl(
    tty: &tty::Client,
    pid: u64,
    cmd: u32,
    arg: u64,
    grant: &mut dyn GrantAccess,
) -> Result<u64, TermError> {
    use libsys::posix::{termios_from_bytes, termios_to_bytes, TERMIOS_SIZE};
    use libsys::posix::{TCGETS, TCSETS, TCSETSF, TCSETSW, TIOCGPGRP, TIOCSPGRP};
    let bad = |_| TermError::Errno(vfs::Errno::EFAULT);
    match cmd {
        TCGETS => {
            let bytes = termios_to_bytes(&tty.get_attr(0)?);
            grant.write(0, &bytes).map_err(bad)?;
        }
        TCSETS | TCSETSW | TCSETSF => {
            let mut bytes = [0u8; TERMIOS_SIZE];
            grant.read(0, &mut bytes).map_err(bad)?;
            tty.set_attr(0, pid, cmd - TCSETS, termios_from_bytes(&bytes))?;
        }
        TIOCGPGRP => return Ok(u64::from(tty.get_pgrp(0)?)),
        TIOCSPGRP => {
            let pgrp = u32::try_from(arg).map_err(|_| TermError::Errno(vfs::Errno::EINVAL))?;
            tty.set_pgrp(0, pid, pgrp)?;
        }
        TIOCGWINSZ => {
            let w = tty.get_winsize(0)?;
            let mut bytes = [0u8; 8];
            for (i, v) in [w.rows, w.cols, w.xpixel, w.ypixel].into_iter().enumerate() {
                bytes[2 * i..2 * i + 2].copy_from_slice(&v.to_le_bytes());
            }
            grant.write(0, &bytes).map_err(bad)?;
        }
        TIOCSWINSZ => {
            let mut b = [0u8; 8];
            grant.read(0, &mut b).map_err(bad)?;
            let v = |i: usize| u16::from_le_bytes([b[2 * i], b[2 * i + 1]]);
            let winsize = tty::Winsize {
                rows: v(0),
                cols: v(1),
                xpixel: v(2),
                ypixel: v(3),
            };
            tty.set_winsize(0, pid, winsize)?;
        }
        _ => return Err(TermError::Errno(vfs::Errno::ENOTTY)),
    }
    Ok(0)
}

/// The device thread: makes the queued console reads, one at a time,
/// and answers each through its saved reply.
fn device_thread() {
    let mut tty: Option<tty::Client> = None;
    loop {
        CONSOLE_QUEUED.down();
        let Some(job) = CONSOLE_READS.lock().pop_front() else {
            continue;
        };
        if tty.is_none() {
            tty = tty::Client::connect_within(0).ok();
        }
        let mut buf = vec![0u8; job.len];
        let result = match &tty {
            Some(t) => t.read(0, job.pid, &mut buf, false).map_err(|e| e.errno()),
            None => Err(vfs::Errno::EIO),
        };
        if result.is_err() {
            tty = None;
        }
        let result = result.and_then(|n| {
            let mut grant = CallerGrant::saved(&job.msg, &job.reply);
            if n > 0 {
                grant
                    .write(0, &buf[..n.min(buf.len())])
                    .map_err(|_| vfs::Errno::EFAULT)?;
            }
            Ok(Reply::Count(n as u64))
        });
        // A caller gone meanwhile: its line is dropped.
        let _ = job
            .reply
            .reply(&answer(&job.msg, &result.unwrap_or_else(Reply::Error)));
    }
}

/// Queues a console read of `len` bytes for `pid` (whose reply is saved
/// here) for the device thread.
fn queue_console_read(pid: u64, len: usize, msg: Message) {
    let reply = match ipc::save_reply() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vfs: cannot keep a console reader's reply: {e}");
            return;
        }
    };
    let mut queue = CONSOLE_READS.lock();
    if queue.len() >= CONSOLE_QUEUE_MAX {
        drop(queue);
        let _ = reply.reply(&answer(&msg, &Reply::Error(vfs::Errno::EAGAIN)));
        return;
    }
    queue.push_back(ConsoleRead {
        pid,
        len,
        msg,
        reply,
    });
    drop(queue);
    CONSOLE_QUEUED.up();
}

/// The credentials of `pid` from the `cred` service (looked up once).
fn lookup(cred: &mut Option<cred::Client>, pid: u64) -> Option<Cred> {
    if cred.is_none() {
        *cred = cred::Client::connect().ok();
    }
    let found = cred.as_ref().and_then(|c| c.get(pid).ok()).map(|c| Cred {
        uid: c.euid,
        gid: c.egid,
        groups: c.groups.iter().copied().collect(),
    });
    if libsys::record::enabled() {
        vfs::record::log_cred(pid, found.as_ref());
    }
    found
}

/// The answer `reply` to the request `request` came in: in registers
/// for a register request when it fits, else postcard-encoded into this
/// thread's IPC buffer.
fn answer(request: &Message, reply: &Reply) -> Message {
    if request.label() == LABEL_REGS {
        if let Some(words) = reply.to_words() {
            return Message::new(LABEL_REGS_REPLY).with_words(words);
        }
    }
    match rpc::encode_payload(reply) {
        Ok(length) => Message::new(LABEL_REPLY).with_payload(length),
        Err(_) => Message::new(LABEL_SERVER_ERROR),
    }
}

/// Receives and answers requests for good; returns why receiving failed.
fn serve(
    endpoint: &Endpoint,
    service: &mut Service,
    clock: &mut Clock,
    // Kept open: the timer server signals it.
    _flusher: Option<libsys::handle::Notification>,
) -> SysError {
    let mut input = [0u8; PAYLOAD_MAX];
    let mut waiting: Vec<Waiting> = Vec::new();
    let mut woken = Vec::new();
    let mut creds: Option<cred::Client> = None;
    let mut reply: Option<Message> = None;
    let mut errors = 0;
    let mut tokens = 0u64;
    loop {
        let received = match reply.take() {
            Some(msg) => endpoint.reply_recv(&msg, FOREVER),
            None => endpoint.recv(FOREVER),
        };
        let mut received = match received {
            Ok(r) => r,
            Err(e) => return e,
        };
        if let Some(bits) = received.signals() {
            libsys::record::signal(bits);
            if bits & (1 << mapping::MM_BIT) != 0 {
                libsys::record::stop(format_args!("mm faults"));
                mapping::answer_faults(&mut service.vfs);
            }
            if bits & (1 << UEVENT_BIT) != 0 {
                apply_queued(&mut service.vfs);
            }
            if bits & (1 << FLUSH_BIT) != 0 {
                mapping::collect_dirty(&mut service.vfs, None);
                flush(service, clock, &mut errors);
                retry(service, &mut waiting, &mut woken, &mut creds);
            }
            continue;
        }
        clock.set(&mut service.vfs);
        let (msg, badge) = (received.msg, received.badge);
        let mut path_len = 0;
        let request = match msg.label() {
            LABEL_REGS => match RegRequest::from_words(&msg.words) {
                Some(r) if r.has_path() => {
                    path_len = ipc::read_payload(msg.info.length.into(), &mut input);
                    Some(Held::Regs(r))
                }
                Some(r) if msg.info.length == 0 => Some(Held::Regs(r)),
                _ => None,
            },
            LABEL_REQUEST => {
                let n = ipc::read_payload(msg.info.length.into(), &mut input);
                path_len = n;
                rpc::decode::<Request>(&input[..n])
                    .ok()
                    .map(|r| Held::Decoded(Box::new(r)))
            }
            _ => None,
        };
        // Read once a request: the rest of the step tests this register.
        let recording = libsys::record::enabled();
        if recording {
            let words = (msg.label() == LABEL_REGS).then_some(&msg.words);
            recording::request(badge, msg.label(), words, &input[..path_len]);
        }
        if msg.label() == LABEL_REQUEST {
            path_len = 0;
        }
        let mut handles = received.take_handles();
        let held = match (request, handles.next()) {
            (Some(r), None) => r,
            _ => {
                libsys::record::now(LABEL_BAD_REQUEST, &[]);
                reply = Some(Message::new(LABEL_BAD_REQUEST));
                continue;
            }
        };
        drop(handles);
        if let Held::Decoded(request) = &held {
            if let Some(r) = mapping::request(&mut service.vfs, badge, request) {
                libsys::record::stop(format_args!("mmap"));
                reply = Some(answer(&msg, &r));
                continue;
            }
        }
        if mapping::pending() {
            mapping::answer_faults(&mut service.vfs);
        }
        let mut grant = CallerGrant::current(&msg);
        let path = &input[..path_len];
        let outcome = if recording {
            recording::with_grant(&mut grant, |grant| {
                held.handle(service, badge, path, grant, &mut creds)
            })
        } else {
            held.handle(service, badge, path, &mut grant, &mut creds)
        };
        match outcome {
            Outcome::Reply(r) => {
                if recording {
                    recording::reply(&r);
                }
                // Retries first: answering them uses the IPC buffer.
                retry(service, &mut waiting, &mut woken, &mut creds);
                reply = Some(answer(&msg, &r));
            }
            Outcome::ConsoleRead { len } => {
                libsys::record::line(format_args!("conread {len}"));
                queue_console_read(badge, len, msg)
            }
            Outcome::Blocked => {
                // A path the retry needs is kept with the request.
                let held = match held {
                    Held::Regs(r) if r.has_path() => match r.request(path) {
                        Ok(full) => Held::Decoded(Box::new(full)),
                        Err(e) => {
                            libsys::record::stop(format_args!("a blocked request refused"));
                            service.cancel(badge);
                            reply = Some(answer(&msg, &Reply::Error(e)));
                            continue;
                        }
                    },
                    other => other,
                };
                match ipc::save_reply() {
                    Ok(saved) if waiting.len() < WAITING_MAX => {
                        tokens += 1;
                        libsys::record::later(tokens);
                        waiting.push(Waiting {
                            badge,
                            token: tokens,
                            request: held,
                            msg,
                            reply: saved,
                        })
                    }
                    Ok(saved) => {
                        libsys::record::stop(format_args!("too many waiting"));
                        service.cancel(badge);
                        let _ = saved.reply(&answer(&msg, &Reply::Error(vfs::Errno::EAGAIN)));
                    }
                    Err(e) => {
                        libsys::record::stop(format_args!("a waiting reply lost"));
                        eprintln!("vfs: cannot keep a waiting reply: {e}");
                        service.cancel(badge);
                    }
                }
                retry(service, &mut waiting, &mut woken, &mut creds);
            }
        }
    }
}

/// Runs again the waiting calls of the clients the core woke, answering
/// those that no longer wait.
/// `woken` is scratch room kept between calls.
fn retry(
    service: &mut Service,
    waiting: &mut Vec<Waiting>,
    woken: &mut Vec<u64>,
    creds: &mut Option<cred::Client>,
) {
    loop {
        service.vfs.take_wakeups_into(woken);
        if woken.is_empty() {
            return;
        }
        let mut i = 0;
        while i < waiting.len() {
            if !woken.contains(&waiting[i].badge) {
                i += 1;
                continue;
            }
            let w = &waiting[i];
            libsys::record::line(format_args!("retry {}", w.token));
            let mut grant = CallerGrant::saved(&w.msg, &w.reply);
            let outcome = recording::with_grant(&mut grant, |grant| {
                w.request.handle(service, w.badge, &[], grant, creds)
            });
            match outcome {
                Outcome::Blocked | Outcome::ConsoleRead { .. } => {
                    libsys::record::line(format_args!("still {}", w.token));
                    i += 1
                }
                Outcome::Reply(r) => {
                    let w = waiting.swap_remove(i);
                    // A caller gone meanwhile: its answer is dropped.
                    let ok = w.reply.reply(&answer(&w.msg, &r)).is_ok();
                    recording::delivered(w.token, &r, ok);
                }
            }
        }
    }
}
