//! `init`, the first process: it starts the servers the boot manifest
//! lists, runs the name service, and restarts servers that die (it is the
//! reincarnation server, as MINIX 3's RS is).
//!
//! The kernel gives it every resource (`InitInfo`): all memory, the boot
//! modules, the IRQ control, the I/O ports. It hands each process only
//! what it needs (see `docs/architecture.md`, "Who holds what"):
//!
//! - `@ns`: a send handle to the name service, badged with the process's
//!   kernel pid (so a registration and a lookup say who asks), with GRANT (a
//!   registration sends the server's endpoint along; the name service
//!   refuses names the manifest does not give the process);
//! - `@self`: a handle to the process itself (MAP, MANAGE), for its heap
//!   and threads;
//! - `@heap`: a region of zeroed pages for its heap;
//! - and, when the manifest says so, `@mem` (pages to build processes
//!   with), `@module` (its own ELF image), `kill=<h>` (a handle that can
//!   kill a named server: for the restart tests), and for drivers `@irq`
//!   (one interrupt line) and `@ports` (handles narrowed to exactly the
//!   port ranges listed).
//!
//! One loop does everything: it receives on the name-service endpoint,
//! whose thread also has the "deaths" notification bound (each process is
//! watched with its own bit), with a timeout when a restart is due.
//!
//! This file holds the state and the loop; by concern: [`start`] (building
//! and starting a process, by `init` or through `mm`), [`grant`] (what a
//! process is given), [`nameservice`] (`Register`, `Lookup`),
//! [`reincarnation`] (deaths, restarts, test tallies), [`spawnservice`]
//! (the spawn protocol: processes other processes ask for), [`memory`] (the
//! manifest module, memory for `mm`) and [`error`] (why a step failed).
//! What it would need `unsafe` for, `libsys` offers safely: handles it
//! holds lent for a call (`handle::Borrowed::of`), received ones owned
//! (`Received::take_handles`, `rpc::call_taking`, `env::take_service`),
//! the payload copied out (`rpc::decode_request`), a module mapped as a
//! `mapping::Mapping`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod credservice;
mod error;
mod grant;
mod memory;
mod nameservice;
mod reincarnation;
mod spawnservice;
mod start;

use alloc::rc::Rc;
use alloc::vec::Vec;

use init::manifest::{self, Entry, Kind};
use init::names::{Registry, State};
use init::procs::Table;
use init::restart::Restarts;
use libsys::abi::ipc::FOREVER;
use libsys::abi::{Handle, InitInfo, SysError};
use libsys::handle::{Borrowed, Endpoint, Notification, OwnedHandle, Thread};
use libsys::mem::Memory;
use libsys::proto::name::KillMode;
use libsys::spawn::Child;
use libsys::{eprintln, println};

use error::SetupError;

libsys::entry!(main);

/// How long a server may take to register before `init` goes on without
/// it (TCG is slow: generous).
const REGISTER_WITHIN_NS: u64 = 10_000_000_000;

/// Where a manifest entry stands.
enum Run {
    /// Not started yet (programs and tests wait for the servers; tests
    /// for each other).
    Waiting,
    Running(Child),
    /// A server between a death and its restart.
    RestartAt(u64),
    /// A server placed in the kernel (`placement=mono`): nothing to run.
    InKernel,
    /// Given up (servers), or ended (programs and tests).
    Done,
}

struct Slot {
    entry: Entry,
    /// The current incarnation's kernel pid (one pid space): the badge of
    /// every handle it was given, and what the registry knows its owner
    /// by (0 before its first start).
    id: u64,
    run: Run,
    restarts: Restarts,
    /// Killed at a client's request (`Kill`), its death not seen yet: how
    /// the death counts (a `Restart` is not its fault).
    killed: Option<KillMode>,
}

struct Init {
    info: &'static InitInfo,
    mem: Memory,
    ns: Endpoint,
    deaths: Notification,
    slots: Vec<Slot>,
    /// Registered endpoints, owned (closed when replaced, or when the
    /// owner dies).
    names: Registry<Rc<OwnedHandle>>,
    /// Every process init started: credentials by pid.
    procs: Table,
    /// Children made through the spawn protocol (`spawnservice`).
    spawned: Vec<spawnservice::Spawned>,
    /// Tests' checks: (passed, failed).
    passed: u64,
    failed: u64,
}

fn main(_args: &str) -> u64 {
    let Some(info) = libsys::env::init_info() else {
        eprintln!("no InitInfo: init must be the first process");
        return 1;
    };
    let Some(mem) = Memory::from_init(info) else {
        eprintln!("no memory");
        return 1;
    };
    let mut init = match Init::new(info, mem) {
        Ok(init) => init,
        Err(why) => {
            eprintln!("{why}");
            return 1;
        }
    };
    init.run()
}

impl Init {
    fn new(info: &'static InitInfo, mut mem: Memory) -> Result<Init, SetupError> {
        let text = memory::read_manifest(info, &mut mem)?;
        let entries = manifest::parse(&text).map_err(SetupError::Manifest)?;
        // Bits 0..=62 of the deaths notification are the entries'; bit 63
        // is every spawned child's (`spawnservice::SPAWNED_BIT`).
        if entries.len() > 63 {
            return Err(SetupError::TooManyEntries);
        }
        let ns = Endpoint::create().map_err(SetupError::Endpoint)?;
        let deaths = Notification::create().map_err(SetupError::Notification)?;
        let me = Borrowed::of(Handle(info.self_thread), Thread);
        deaths.bind(&me).map_err(SetupError::BindDeaths)?;
        let slots = entries
            .into_iter()
            .map(|entry| Slot {
                restarts: Restarts::new(entry.restarts),
                killed: None,
                entry,
                id: 0,
                run: Run::Waiting,
            })
            .collect();
        Ok(Init {
            info,
            mem,
            ns,
            deaths,
            slots,
            names: Registry::new(),
            procs: Table::new(),
            spawned: Vec::new(),
            passed: 0,
            failed: 0,
        })
    }

    fn run(&mut self) -> u64 {
        println!(
            "{} manifest entries, {} pages of memory{}",
            self.slots.len(),
            self.mem.available(),
            if self.info.services().is_empty() {
                ""
            } else {
                ", servers in the kernel (placement=mono)"
            }
        );
        // Servers in order, each registered before the next starts.
        for i in 0..self.slots.len() {
            if self.slots[i].entry.kind == Kind::Server {
                self.start_server(i);
                self.await_registration(i);
            }
        }
        self.register_unnamed_services();
        for i in 0..self.slots.len() {
            if self.slots[i].entry.kind == Kind::Program {
                self.start(i);
            }
        }
        let tests = self
            .slots
            .iter()
            .filter(|s| s.entry.kind == Kind::Test)
            .count();
        if tests == 0 {
            loop {
                let due = self.next_restart();
                self.step(due);
            }
        }
        // Tests one at a time, in order.
        for i in 0..self.slots.len() {
            if self.slots[i].entry.kind != Kind::Test {
                continue;
            }
            self.start(i);
            while matches!(self.slots[i].run, Run::Running(_)) {
                let due = self.next_restart();
                self.step(due);
            }
        }
        println!("tests done: {} passed, {} failed", self.passed, self.failed);
        self.stop_all();
        (self.passed.min(0xffff) << 16) | self.failed.min(0xffff)
    }

    /// Waits (up to [`REGISTER_WITHIN_NS`]) until server `i` has
    /// registered its name, serving meanwhile; the memory server then gets
    /// its memory.
    fn await_registration(&mut self, i: usize) {
        let Some(name) = self.slots[i].entry.register.clone() else {
            return;
        };
        let deadline = libsys::time::uptime_ns() + REGISTER_WITHIN_NS;
        while matches!(self.names.state(&name), Some(State::Unavailable))
            && libsys::time::uptime_ns() < deadline
        {
            let due = self.next_restart().map_or(deadline, |at| at.min(deadline));
            self.step(Some(due));
        }
        match self.names.state(&name) {
            Some(State::Registered(h)) if self.slots[i].entry.pager => {
                let control = h.raw();
                println!("{name} registered: the memory server");
                self.give_memory(control);
            }
            Some(State::Registered(_)) => println!("{name} registered"),
            Some(State::Failed) => eprintln!("{name} failed to start"),
            _ => eprintln!("{name} did not register in time; going on"),
        }
    }

    /// Waits for one message, death or due restart (until `deadline`, in
    /// uptime nanoseconds), and deals with it.
    fn step(&mut self, deadline: Option<u64>) {
        let timeout = match deadline {
            Some(at) => at.saturating_sub(libsys::time::uptime_ns()).max(1),
            None => FOREVER,
        };
        match self.ns.recv(timeout) {
            Ok(received) => self.received(received),
            Err(SysError::TimedOut) => {}
            Err(e) => {
                eprintln!("receiving on the name service failed: {e}");
                libsys::time::sleep_ms(100);
            }
        }
        self.restart_due();
    }
}
