//! `proc`, the process server (LKD ch. 3): `procsrv`'s process table
//! behind `libsys::proto::proc`, and the processes it creates.
//!
//! - **Who is who.** A caller is its badge, its kernel pid (one pid
//!   space). `init` is pid 1; a process `init` started (a server, a test)
//!   is adopted as init's child on its first request, with its
//!   credentials from `cred`. Processes `Spawn` creates are the caller's
//!   children in the table.
//! - **Creating.** `Spawn` reads the executable (`image`: the file server,
//!   or the initramfs boot module while none runs), builds the child
//!   (`build`) from the server's own `memory=` pages, asks the file server
//!   for `ForkFiles`, and keeps it unstarted; `Start` asks for
//!   `ExecFiles` and starts its thread. Each child is watched
//!   (`process_watch`) on the notification bound to the server's thread.
//! - **Deaths.** A watch signal makes the server look at its children's
//!   kernel status: a death the table did not know (a fault, a kill by
//!   someone else, a plain `exit` without `Exit`) becomes an exit with
//!   the matching wait status; the pages go back; `ExitFiles` goes to the
//!   file server. The table keeps the zombie until `Wait` reaps it.
//! - **Waiting.** A `Wait` that must block keeps its reply right
//!   (`ipc::save_reply`) and is tried again when the table says one of the
//!   caller's children changed.
//! - **Power.** `Reboot` (`reboot(2)`) is checked as Linux checks it
//!   (`libsys::proto::proc::reboot`) and carried out with the power
//!   control the manifest's `power` gave (`power=<handle>`), through the
//!   kernel's `power` call; without one it is `ENOSYS`.
//! - **Signals.** `Kill` goes through the table (permissions, groups);
//!   pending signals are delivered by the table's default actions: a fatal
//!   one ends the process (the kernel kills it through its handle), a stop
//!   suspends its thread and a continue resumes it, and a caught one runs
//!   the program's handler through the kernel's upcall (`signals`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod build;
mod cache;
mod fork_exec;
mod image;
mod resolve;
mod serve;
mod signals;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use libsys::abi::Handle;
use libsys::handle::{Endpoint, Notification, PowerControl};
use libsys::ipc::SavedReply;
use libsys::mem::Memory;
use libsys::proto::vfs;
use libsys::spawn::Prepared;
use libsys::{eprintln, println};

use procsrv::cred::Credentials;
use procsrv::signal::{SigAction, SigHandler, Signal};
use procsrv::{Pid, ProcessTable, INIT_PID};

use image::{ImageSource, InitramfsModule, VfsImages};

libsys::entry!(main);

/// The most processes in the table.
const MAX_TASKS: usize = 256;

/// A process the server created.
struct Kid {
    prepared: Prepared,
    started: bool,
    /// It said `Exit` (its end is already in the table).
    said_exit: bool,
    /// Made by `Fork` (started by `ForkStart`, never by `Start`).
    forked: bool,
}

/// A `Wait` answered later.
struct Waiter {
    caller: Pid,
    pid: i32,
    options: u32,
    reply: SavedReply,
}

struct Proc {
    table: ProcessTable,
    mem: Memory,
    images: Box<dyn ImageSource>,
    mint: Option<Endpoint>,
    /// The power control (manifest `power`), for `Reboot`.
    power: Option<PowerControl>,
    vfs: Option<vfs::Client>,
    deaths: Notification,
    kids: BTreeMap<u64, Kid>,
    waiters: Vec<Waiter>,
    /// Kept `Sigsuspend`/`Nanosleep` calls and running handlers.
    signals: signals::Signals,
    /// The executables `mm` runs programs from (`cache.rs`).
    cache: cache::ImageCache,
}

fn main(args: &str) -> u64 {
    let mut proc = match Proc::new(args) {
        Ok(p) => p,
        Err(why) => {
            eprintln!("proc: {why}");
            return 1;
        }
    };
    let endpoint = match Endpoint::create() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("proc: cannot create an endpoint: {e}");
            return 1;
        }
    };
    if let Err(e) = libsys::names::register(libsys::proto::proc::NAME, &endpoint) {
        eprintln!("proc: cannot register: {e}");
        return 2;
    }
    println!("proc: serving; executables from {}", proc.images.name());
    let error = proc.serve(&endpoint);
    eprintln!("proc: stopped serving: {error}");
    3
}

/// `<key>=<number>:<number>` among the words of `args`.
fn pair(args: &str, key: &str) -> Option<(u32, u64)> {
    args.split_whitespace().find_map(|w| {
        let (h, n) = w.strip_prefix(key)?.strip_prefix('=')?.split_once(':')?;
        Some((h.parse().ok()?, n.parse().ok()?))
    })
}

impl Proc {
    fn new(args: &str) -> Result<Proc, &'static str> {
        let me = libsys::env::self_process().ok_or("no @self")?;
        let (region, pages) = libsys::env::memory_region()
            .ok_or("no memory to build processes with (manifest memory=<pages>)")?;
        let mut mem = Memory::new(me, region, pages);
        let mint = libsys::env::take_handle("mint").map(Endpoint);
        let power = libsys::env::take_handle("power").map(PowerControl);
        if mint.is_none() {
            eprintln!("proc: no mint handle (manifest `mint`): children get no @ns");
        }
        // The file server, if this boot runs one (it registers before us).
        let vfs = vfs::Client::connect_within(0).ok();
        let images: Box<dyn ImageSource> = match (&vfs, pair(args, "initramfs")) {
            (Some(_), _) => Box::new(VfsImages {
                client: vfs::Client::connect().map_err(|_| "vfs went away")?,
            }),
            (None, Some((h, size))) => {
                eprintln!("proc: no file server: reading executables from the initramfs module");
                Box::new(
                    InitramfsModule::map(&mut mem, Handle(h), size)
                        .map_err(|_| "cannot map the initramfs")?,
                )
            }
            (None, None) => return Err("no file server and no initramfs module"),
        };
        let deaths = Notification::create().map_err(|_| "cannot create a notification")?;
        deaths
            .bind_current()
            .map_err(|_| "cannot bind the notification")?;
        let mut table = ProcessTable::new(MAX_TASKS);
        table
            .adopt(INIT_PID, 0, Credentials::new(0, 0), b"init", now())
            .map_err(|_| "cannot adopt init")?;
        // Init never waits through this server (it hears of its own
        // children's deaths from the kernel): the zombies it is given —
        // orphans reparented to it — are released at once, as for a
        // parent ignoring SIGCHLD. (Linux's init reaps them with `wait`;
        // here they would stay in the table for good, counted against
        // their owner's RLIMIT_NPROC and the table's size.)
        let ignore = SigAction {
            handler: SigHandler::Ignore,
            ..SigAction::default()
        };
        table
            .sigaction(INIT_PID, Signal::SIGCHLD.number() as u32, Some(ignore))
            .map_err(|_| "cannot set init's SIGCHLD")?;
        Ok(Proc {
            table,
            mem,
            images,
            mint,
            power,
            vfs,
            deaths,
            kids: BTreeMap::new(),
            waiters: Vec::new(),
            signals: signals::Signals::default(),
            cache: cache::ImageCache::default(),
        })
    }
}

/// Nanoseconds since boot.
fn now() -> u64 {
    libsys::time::uptime_ns()
}
