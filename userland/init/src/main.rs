//! `init`, the first process: it starts the servers the boot manifest
//! lists, runs the name service, and restarts servers that die (it is the
//! reincarnation server, as MINIX 3's RS is).
//!
//! The kernel gives it every resource (`InitInfo`): all memory, the boot
//! modules, the IRQ control, the I/O ports. It hands each process only
//! what it needs (see `docs/architecture.md`, "Who holds what"):
//!
//! - `@ns`: a send handle to the name service, badged with the process's
//!   id (so a registration and a lookup say who asks), with GRANT (a
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
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::mem::ManuallyDrop;

use init::manifest::{self, Entry, IrqLine, Kind};
use init::names::{Registry, State};
use init::restart::{Decision, Restarts};
use libsys::abi::ipc::FOREVER;
use libsys::abi::{Handle, InitInfo, ObjectType, ProcessStatus, Rights, SysError};
use libsys::handle::{
    Endpoint, IoPorts, IrqControl, MemoryRegion, Notification, OwnedHandle, Process, Thread,
};
use libsys::ipc::{self, Message, Received};
use libsys::mem::{Memory, Pages};
use libsys::proto::name::{Reply, Request};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REQUEST};
use libsys::spawn::{Builder, Child};
use libsys::{eprintln, println};

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
    /// The current incarnation's id: its name-service badge, and what the
    /// registry knows its owner by.
    id: u64,
    run: Run,
    restarts: Restarts,
}

struct Init {
    info: &'static InitInfo,
    mem: Memory,
    ns: Endpoint,
    deaths: Notification,
    slots: Vec<Slot>,
    /// Registered endpoints are raw handles of init's (closed when
    /// replaced or dropped).
    names: Registry<Handle>,
    next_id: u64,
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

/// A raw handle of ours, borrowed for a call (kept open).
fn borrowed<T>(make: impl FnOnce(OwnedHandle) -> T, raw: Handle) -> ManuallyDrop<T> {
    // SAFETY: a handle init holds; ManuallyDrop keeps it from being closed.
    ManuallyDrop::new(make(unsafe { OwnedHandle::from_raw(raw) }))
}

fn close(raw: Handle) {
    // SAFETY: a handle init holds and no one else refers to.
    drop(unsafe { OwnedHandle::from_raw(raw) });
}

impl Init {
    fn new(info: &'static InitInfo, mut mem: Memory) -> Result<Init, String> {
        let text = read_manifest(info, &mut mem)?;
        let entries = manifest::parse(&text).map_err(|e| alloc::format!("{e}"))?;
        if entries.len() > 63 {
            return Err("more than 63 manifest entries".into());
        }
        let ns = Endpoint::create().map_err(|e| alloc::format!("endpoint: {e}"))?;
        let deaths = Notification::create().map_err(|e| alloc::format!("notification: {e}"))?;
        let me = borrowed(Thread, Handle(info.self_thread));
        deaths
            .bind(&me)
            .map_err(|e| alloc::format!("bind deaths: {e}"))?;
        let slots = entries
            .into_iter()
            .map(|entry| Slot {
                restarts: Restarts::new(entry.restarts),
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
            next_id: 1,
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
            if self.slots[i].entry.kind != Kind::Server {
                continue;
            }
            self.start_server(i);
            if let Some(name) = self.slots[i].entry.register.clone() {
                let deadline = libsys::time::uptime_ns() + REGISTER_WITHIN_NS;
                while matches!(self.names.state(&name), Some(State::Unavailable))
                    && libsys::time::uptime_ns() < deadline
                {
                    let due = self.next_restart().map_or(deadline, |at| at.min(deadline));
                    self.step(Some(due));
                }
                match self.names.state(&name) {
                    Some(State::Registered(h)) if self.slots[i].entry.pager => {
                        let control = *h;
                        println!("{name} registered: the memory server");
                        self.give_memory(control);
                    }
                    Some(State::Registered(_)) => println!("{name} registered"),
                    Some(State::Failed) => eprintln!("{name} failed to start"),
                    _ => eprintln!("{name} did not register in time; going on"),
                }
            }
        }
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

    /// The earliest restart due.
    fn next_restart(&self) -> Option<u64> {
        self.slots
            .iter()
            .filter_map(|s| match s.run {
                Run::RestartAt(at) => Some(at),
                _ => None,
            })
            .min()
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

    fn received(&mut self, received: Received) {
        if let Some(bits) = received.signals() {
            self.deaths(bits);
            return;
        }
        // The caller may be gone already; nothing to do about that.
        match self.name_request(received) {
            Some((reply, Some(give))) => {
                // Moved to the caller; if the reply failed it is still ours.
                let raw = give.into_raw();
                if rpc::reply(&reply, &[raw]).is_err() {
                    close(raw);
                }
            }
            Some((reply, None)) => {
                let _ = rpc::reply(&reply, &[]);
            }
            None => {
                let _ = ipc::reply(&Message::new(LABEL_BAD_REQUEST));
            }
        }
    }

    /// Answers one name-service request: the reply and a handle to move to
    /// the caller, or `None` for a message that is no request.
    fn name_request(&mut self, received: Received) -> Option<(Reply, Option<OwnedHandle>)> {
        let msg = received.msg;
        let handles = msg.handles().to_vec();
        let n = (msg.info.length as usize).min(4096);
        // SAFETY: the main thread's buffer, not held across a call.
        let request = (msg.label() == LABEL_REQUEST)
            .then(|| rpc::decode::<Request>(&unsafe { ipc::buffer() }[..n]).ok())
            .flatten();
        let Some(request) = request else {
            handles.iter().for_each(|&h| close(Handle(h as u32)));
            return None;
        };
        let who = received.badge;
        Some(match request {
            Request::Register { name } => (self.register(&name, who, &handles), None),
            Request::Lookup { name } => {
                handles.iter().for_each(|&h| close(Handle(h as u32)));
                match self.lookup(&name, who) {
                    Ok(h) => (Reply::Found, Some(h)),
                    Err(reply) => (reply, None),
                }
            }
        })
    }

    fn register(&mut self, name: &str, who: u64, handles: &[u64]) -> Reply {
        let [raw] = handles else {
            handles.iter().for_each(|&h| close(Handle(h as u32)));
            return Reply::NotAllowed;
        };
        let handle = Handle(*raw as u32);
        let endpoint = borrowed(|h| h, handle);
        let usable = matches!(endpoint.info(), Ok((ObjectType::Endpoint, rights))
            if rights.contains(Rights::SEND | Rights::MINT));
        if !usable {
            close(handle);
            return Reply::NotAllowed;
        }
        match self.names.register(name, who, handle) {
            Ok(old) => {
                if let Some(old) = old {
                    close(old);
                }
                Reply::Registered
            }
            Err(reply) => {
                let asker = self
                    .slots
                    .iter()
                    .find(|s| s.id == who)
                    .map_or("a process init did not start", |s| s.entry.name.as_str());
                eprintln!("{asker} may not register `{name}`");
                close(handle);
                reply
            }
        }
    }

    /// A send handle to `name`'s server badged for `who`: SEND, and GRANT
    /// (a request may carry handles: `mm`'s `ForkAs` does; a server that
    /// takes none answers `LABEL_BAD_REQUEST` and closes them). Never
    /// RECV or MINT: a client can neither take another's requests nor
    /// pose as another client.
    fn lookup(&mut self, name: &str, who: u64) -> Result<OwnedHandle, Reply> {
        let registered = self.names.lookup(name)?;
        borrowed(|h| h, registered)
            .dup(Rights::SEND | Rights::GRANT, Some(who))
            .map_err(|_| Reply::Unavailable)
    }

    /// Starts server `i` (or, if the kernel runs its core, registers the
    /// kernel's service under its name).
    fn start_server(&mut self, i: usize) {
        let name = self.slots[i].entry.register.clone();
        if let Some(name) = &name {
            if let Some(service) = self.info.service(name) {
                let handle = Handle(service.handle);
                self.names.expect(name, 0);
                let _ = self.names.register(name, 0, handle);
                self.slots[i].run = Run::InKernel;
                println!("{name} runs in the kernel (placement=mono)");
                return;
            }
        }
        self.start(i);
    }

    /// Builds and starts the process of slot `i`.
    fn start(&mut self, i: usize) {
        let id = self.next_id;
        self.next_id += 1;
        self.slots[i].id = id;
        if let Some(name) = self.slots[i].entry.register.clone() {
            self.names.expect(&name, id);
        }
        match self.build(i, id) {
            Ok(child) => {
                let bit = 1u64 << i;
                if let Err(e) = child.process.watch(&self.deaths, bit) {
                    eprintln!("cannot watch {}: {e}", self.slots[i].entry.name);
                }
                self.slots[i].run = Run::Running(child);
            }
            Err(why) => {
                eprintln!("cannot start {}: {why}", self.slots[i].entry.name);
                self.slots[i].run = Run::Done;
                self.ended(i, None);
            }
        }
    }

    fn build(&mut self, i: usize, id: u64) -> Result<Child, String> {
        let entry = self.slots[i].entry.clone();
        let module = self
            .info
            .module(&entry.module)
            .ok_or_else(|| alloc::format!("no boot module `{}`", entry.module))?;
        let image = Image {
            handle: Handle(module.handle),
            size: module.size,
            cmdline: module.cmdline(),
        };
        // The kill handle names the target's current process.
        let target = entry.kill.as_ref().and_then(|name| {
            self.slots.iter().find_map(|s| match &s.run {
                Run::Running(child) if &s.entry.name == name => Some(child.process.raw()),
                _ => None,
            })
        });
        match self.pager() {
            Some(control) if !entry.pager => self.adopt(&entry, id, &image, target, control),
            _ => {
                let mut builder =
                    Builder::new(&mut self.mem, &entry.name, image.handle, image.size)
                        .map_err(|e| alloc::format!("load: {e}"))?;
                let args = grant(
                    &self.ns,
                    self.info,
                    &entry,
                    id,
                    &image,
                    target,
                    &mut builder,
                    true,
                )?;
                builder
                    .start(&args)
                    .map_err(|e| alloc::format!("start: {e}"))
            }
        }
    }

    /// The memory server's control handle (its registered endpoint,
    /// unbadged: badge 0 is `init`), once it has registered.
    fn pager(&self) -> Option<Handle> {
        let slot = self.slots.iter().find(|s| s.entry.pager)?;
        let name = slot.entry.register.as_deref()?;
        self.names.lookup(name).ok()
    }

    /// Builds the process of `entry` through the memory server: `mm` lays
    /// out its address space from the image and is its pager; `init`
    /// starts its thread where `mm` says.
    fn adopt(
        &mut self,
        entry: &Entry,
        id: u64,
        image: &Image,
        target: Option<Handle>,
        control: Handle,
    ) -> Result<Child, String> {
        use libsys::proto::mm::{Reply as MmReply, Request as MmRequest};
        let err = |what: &str, e: &dyn core::fmt::Display| alloc::format!("{what}: {e}");
        let process = Process::create(&entry.name).map_err(|e| err("process_create", &e))?;
        let mut adoptee = Adoptee {
            process,
            mem: &mut self.mem,
            pages: Vec::new(),
        };
        let args = grant(
            &self.ns,
            self.info,
            entry,
            id,
            image,
            target,
            &mut adoptee,
            false,
        )?;
        let Adoptee { process, pages, .. } = adoptee;
        let request = MmRequest::Adopt {
            id,
            image_size: image.size,
            args: args
                .as_str()
                .try_into()
                .map_err(|_| String::from("arguments longer than mm takes"))?,
        };
        let mm = borrowed(Endpoint, control);
        let (reply, msg) =
            rpc::call_with::<MmRequest, MmReply>(&mm, &request, &[process.raw(), image.handle])
                .map_err(|e| err("mm", &e))?;
        // SAFETY (both): handles the kernel just put into our table.
        let handles: Vec<OwnedHandle> = msg
            .handles()
            .iter()
            .map(|&h| unsafe { OwnedHandle::from_raw(Handle(h as u32)) })
            .collect();
        let (start, stack, args_at, args_len) = match reply {
            MmReply::Adopted {
                entry,
                stack,
                args_at,
                args_len,
                ..
            } => (entry, stack, args_at, args_len),
            MmReply::Error(e) => return Err(err("mm refused it", &e)),
            _ => return Err("mm: unexpected reply".into()),
        };
        let [_client, pager] = <[OwnedHandle; 2]>::try_from(handles)
            .map_err(|_| String::from("mm: no pager handle"))?;
        let pager = Endpoint(pager);
        give_devices(&mm, id, &entry.devices)?;
        let thread = process
            .thread_create()
            .map_err(|e| err("thread_create", &e))?;
        thread
            .set_pager(Some(&pager))
            .map_err(|e| err("set_pager", &e))?;
        thread
            .start(start, stack, args_at, args_len)
            .map_err(|e| err("thread_start", &e))?;
        Ok(Child {
            process,
            thread,
            pages,
        })
    }

    /// Hands the memory server every page `init` does not keep: the
    /// memory regions it does not use, and the rest of its own beyond what
    /// the manifest's `memory=` grants and restarts of the processes it
    /// builds itself may need.
    fn give_memory(&mut self, control: Handle) {
        use libsys::proto::mm::{Reply as MmReply, Request as MmRequest};
        let mut keep = 1024;
        let mut before_pager = true;
        for slot in &self.slots {
            keep += slot.entry.memory_pages;
            if slot.entry.pager {
                before_pager = false;
            }
            if before_pager || slot.entry.pager {
                // Built from init's pages: image, stack, heap.
                keep += slot.entry.heap_pages + 256;
            }
        }
        let mut regions: Vec<OwnedHandle> = Vec::new();
        let mine = self.mem.region();
        // EXEC: mm maps program text from these pages.
        let all = Rights::READ | Rights::WRITE | Rights::EXEC | Rights::MANAGE;
        for r in self.info.regions() {
            if Handle(r.handle) == mine {
                continue;
            }
            if let Ok(h) = borrowed(|h| h, Handle(r.handle)).dup(all, None) {
                regions.push(h);
            }
        }
        let spare = self.mem.available().saturating_sub(keep);
        if spare > 0 {
            match self.mem.alloc(spare) {
                Ok(run) => match borrowed(MemoryRegion, mine).derive(run.first, run.count, all) {
                    Ok(part) => regions.push(part.0),
                    Err(e) => eprintln!("cannot derive memory for mm: {e}"),
                },
                Err(e) => eprintln!("cannot set {spare} pages apart for mm: {e}"),
            }
        }
        let mm = borrowed(Endpoint, control);
        let mut given = 0;
        for batch in regions.chunks(libsys::abi::ipc::MAX_HANDLES) {
            let raw: Vec<Handle> = batch.iter().map(|h| h.raw()).collect();
            match rpc::call_with::<MmRequest, MmReply>(&mm, &MmRequest::Give, &raw) {
                Ok((MmReply::Given { pages }, _)) => given = pages,
                Ok((other, _)) => eprintln!("mm answered Give with {other:?}"),
                Err(e) => eprintln!("giving memory to mm: {e}"),
            }
        }
        println!(
            "gave mm {given} pages; kept {} for itself",
            self.mem.available()
        );
    }

    /// Signals of the deaths notification: which watched processes died.
    fn deaths(&mut self, bits: u64) {
        for i in 0..self.slots.len() {
            if bits & (1 << i) == 0 {
                continue;
            }
            let status = match &self.slots[i].run {
                Run::Running(child) => child.process.status(),
                _ => continue,
            };
            match status {
                Ok(ProcessStatus::Alive) => {}
                Ok(status) => self.died(i, status),
                Err(e) => eprintln!("status of {}: {e}", self.slots[i].entry.name),
            }
        }
    }

    /// Slot `i`'s process ended with `status`.
    fn died(&mut self, i: usize, status: ProcessStatus) {
        if let Run::Running(child) = core::mem::replace(&mut self.slots[i].run, Run::Done) {
            let Child {
                process,
                thread,
                pages,
            } = child;
            drop(thread);
            drop(process);
            for run in pages {
                self.mem.free(run);
            }
        }
        self.ended(i, Some(status));
    }

    /// Slot `i` is over (it died, or never started: `status` `None`).
    fn ended(&mut self, i: usize, status: Option<ProcessStatus>) {
        let slot = &mut self.slots[i];
        let name = slot.entry.name.clone();
        let why = describe(status);
        match slot.entry.kind {
            Kind::Server => {
                let decision = slot.restarts.died();
                let given_up = decision == Decision::GiveUp;
                if let Some(registered) = &slot.entry.register {
                    if let Some(old) = self.names.owner_died(registered, given_up) {
                        close(old);
                    }
                }
                match decision {
                    Decision::RestartAfter { ms, n } => {
                        eprintln!(
                            "server {name} {why}; restart {n} of {} in {ms} ms",
                            slot.restarts.budget
                        );
                        slot.run = Run::RestartAt(libsys::time::uptime_ns() + ms * 1_000_000);
                    }
                    Decision::GiveUp => {
                        eprintln!(
                            "server {name} {why}; failed after {} restarts, given up",
                            slot.restarts.used
                        );
                        slot.run = Run::Done;
                    }
                }
            }
            Kind::Program => println!("{name} {why}"),
            Kind::Test => {
                let (passed, failed) = match status {
                    Some(ProcessStatus::Exited(v)) => ((v >> 16) & 0xffff, v & 0xffff),
                    _ => (0, 1),
                };
                let verdict = if failed == 0 && passed > 0 {
                    "ok"
                } else {
                    "FAIL"
                };
                println!("test {name} {why}: {passed} passed, {failed} failed ({verdict})");
                self.passed += passed;
                self.failed += failed;
                if passed == 0 && failed == 0 {
                    self.failed += 1;
                }
            }
        }
    }

    /// Restarts the servers whose back-off has run out.
    fn restart_due(&mut self) {
        let now = libsys::time::uptime_ns();
        for i in 0..self.slots.len() {
            if matches!(self.slots[i].run, Run::RestartAt(at) if at <= now) {
                self.slots[i].run = Run::Waiting;
                self.start(i);
                if matches!(self.slots[i].run, Run::Running(_)) {
                    println!("restarted {}", self.slots[i].entry.name);
                }
            }
        }
    }

    /// Kills every process init started (when the tests are over).
    fn stop_all(&mut self) {
        for slot in &mut self.slots {
            if let Run::Running(child) = &slot.run {
                let _ = child.process.kill();
            }
        }
    }
}

/// A boot module to start a process from.
struct Image<'a> {
    handle: Handle,
    size: u64,
    cmdline: &'a str,
}

/// A process being made: handles go into it, pages are set apart for it.
trait NewProcess {
    fn give(&mut self, handle: Handle, rights: Rights) -> Result<Handle, String>;
    /// Zeroed pages counted as the child's (freed when it dies).
    fn alloc(&mut self, pages: u64) -> Result<Pages, String>;
    fn process(&self) -> Handle;
}

impl NewProcess for Builder<'_> {
    fn give(&mut self, handle: Handle, rights: Rights) -> Result<Handle, String> {
        Builder::give(self, handle, rights).map_err(|e| alloc::format!("give: {e}"))
    }

    fn alloc(&mut self, pages: u64) -> Result<Pages, String> {
        Builder::alloc(self, pages).map_err(|e| alloc::format!("{pages} pages: {e}"))
    }

    fn process(&self) -> Handle {
        self.process.raw()
    }
}

/// A process the memory server builds: `init` only gives it handles (and
/// the pages of a `memory=` grant).
struct Adoptee<'m> {
    process: Process,
    mem: &'m mut Memory,
    pages: Vec<Pages>,
}

impl NewProcess for Adoptee<'_> {
    fn give(&mut self, handle: Handle, rights: Rights) -> Result<Handle, String> {
        self.process
            .give(handle, rights)
            .map_err(|e| alloc::format!("give: {e}"))
    }

    fn alloc(&mut self, pages: u64) -> Result<Pages, String> {
        let (run, at) = self
            .mem
            .alloc_mapped(pages)
            .map_err(|e| alloc::format!("{pages} pages: {e}"))?;
        let _ = self.mem.unmap_self(at, pages);
        self.pages.push(run);
        Ok(run)
    }

    fn process(&self) -> Handle {
        self.process.raw()
    }
}

/// Puts into the new process the handles its manifest entry says it gets,
/// and returns its argument string: the start-up tokens (`libsys::env`),
/// the manifest's arguments, a `kill=` handle, the module's command line.
/// `heap`: give it a heap region (processes the memory server manages get
/// their heap from it).
#[allow(clippy::too_many_arguments)]
fn grant(
    ns: &Endpoint,
    info: &InitInfo,
    entry: &Entry,
    id: u64,
    image: &Image,
    target: Option<Handle>,
    child: &mut dyn NewProcess,
    heap: bool,
) -> Result<String, String> {
    let mut args = String::new();
    // GRANT: a registration carries the server's endpoint. Whether a
    // process may register a name is the name service's to decide.
    let ns_rights = Rights::SEND | Rights::GRANT;
    let badged = ns
        .dup(ns_rights, Some(id))
        .map_err(|e| alloc::format!("badge the name service: {e}"))?;
    let theirs = child.give(badged.raw(), ns_rights)?;
    let _ = write!(args, "@ns={}", theirs.0);
    drop(badged);
    // MAP for a heap region or a memory gift to map into itself; MANAGE
    // for threads.
    let self_rights = if heap || entry.memory_pages > 0 {
        Rights::MAP | Rights::MANAGE
    } else {
        Rights::MANAGE
    };
    let me = child.give(child.process(), self_rights)?;
    let _ = write!(args, " @self={}", me.0);
    if heap {
        let h = give_pages(child, entry.heap_pages, Rights::READ | Rights::WRITE)?;
        let _ = write!(args, " @heap={}:{}", h.0, entry.heap_pages);
    }
    if entry.memory_pages > 0 {
        let rights = Rights::READ | Rights::WRITE | Rights::EXEC | Rights::MANAGE;
        let h = give_pages(child, entry.memory_pages, rights)?;
        let _ = write!(args, " @mem={}:{}", h.0, entry.memory_pages);
    }
    if entry.own_module {
        let theirs = child.give(image.handle, Rights::READ | Rights::EXEC)?;
        let _ = write!(args, " @module={}:{}", theirs.0, image.size);
    }
    grant_hardware(info, entry, child, &mut args)?;
    args.push(' ');
    args.push_str(&entry.args);
    if let Some(target) = target {
        let theirs = child.give(target, Rights::MANAGE)?;
        let _ = write!(args, " kill={}", theirs.0);
    }
    if !image.cmdline.is_empty() {
        args.push(' ');
        args.push_str(image.cmdline);
    }
    Ok(args)
}

/// Takes the device memory the manifest grants process `id` (`device=`)
/// from the kernel and hands it to the memory server, which lets that
/// process alone map it (`MapPhysical`).
fn give_devices(mm: &Endpoint, id: u64, devices: &[(u64, u64)]) -> Result<(), String> {
    use libsys::proto::mm::{Reply as MmReply, Request as MmRequest};
    let control = libsys::env::init_info()
        .map(|info| Handle(info.device_control))
        .ok_or("no device-memory control")?;
    for chunk in devices.chunks(libsys::abi::ipc::MAX_HANDLES) {
        let mut regions = Vec::new();
        for &(phys, pages) in chunk {
            let region = MemoryRegion::device(control, phys, pages)
                .map_err(|e| alloc::format!("device memory {phys:#x}+{pages} pages: {e}"))?;
            regions.push(region);
        }
        let raw: Vec<Handle> = regions.iter().map(|r| r.raw()).collect();
        match rpc::call_with::<MmRequest, MmReply>(mm, &MmRequest::GiveDevice { id }, &raw) {
            Ok((MmReply::Done, _)) => {}
            Ok((MmReply::Error(e), _)) => {
                return Err(alloc::format!("mm refused device memory: {e}"))
            }
            Ok(_) => return Err("mm: unexpected reply".into()),
            Err(e) => return Err(alloc::format!("mm: {e}")),
        }
    }
    Ok(())
}

/// The interrupt line and I/O ports the manifest gives `entry`, each
/// narrowed to exactly what it names; appends their tokens to `args`.
fn grant_hardware(
    info: &InitInfo,
    entry: &Entry,
    child: &mut dyn NewProcess,
    args: &mut String,
) -> Result<(), String> {
    if let Some(line) = entry.irq {
        let control = borrowed(IrqControl, Handle(info.irq_control));
        let irq = match line {
            IrqLine::Isa(n) => control.isa(n),
            IrqLine::Gsi(n) => control.gsi(n),
        }
        .map_err(|e| alloc::format!("IRQ {line:?}: {e}"))?;
        let theirs = child.give(irq.raw(), Rights::MANAGE)?;
        let _ = write!(args, " @irq={}", theirs.0);
    }
    let all = borrowed(IoPorts, Handle(info.io_ports));
    for &(first, count) in &entry.ports {
        let part = all
            .derive(first, count)
            .map_err(|e| alloc::format!("ports {first:#x}:{count}: {e}"))?;
        let theirs = child.give(part.raw(), Rights::MANAGE)?;
        let _ = write!(args, " @ports={}:{first}:{count}", theirs.0);
    }
    Ok(())
}

/// `pages` zeroed pages for the child, as a region of their own (with
/// `rights`) in the child's handle table; returns its number there.
fn give_pages(child: &mut dyn NewProcess, pages: u64, rights: Rights) -> Result<Handle, String> {
    let run = child.alloc(pages)?;
    let part = borrowed(MemoryRegion, run.region)
        .derive(run.first, run.count, rights)
        .map_err(|e| alloc::format!("derive a region: {e}"))?;
    child.give(part.raw(), rights)
}

fn describe(status: Option<ProcessStatus>) -> String {
    match status {
        None => "could not start".into(),
        Some(ProcessStatus::Exited(v)) => alloc::format!("exited with status {v}"),
        Some(ProcessStatus::Fault(v)) => alloc::format!("was killed by exception {v}"),
        Some(ProcessStatus::Killed(by)) => alloc::format!("was killed by process {by}"),
        Some(ProcessStatus::Alive) => "is alive".into(),
    }
}

/// The boot manifest: the first module whose name starts with `manifest`.
fn read_manifest(info: &InitInfo, mem: &mut Memory) -> Result<String, String> {
    let module = info
        .modules()
        .iter()
        .find(|m| m.name().starts_with("manifest"))
        .ok_or("no boot module named manifest*")?;
    let pages = module.size.div_ceil(4096).max(1);
    let view = Pages {
        region: Handle(module.handle),
        first: 0,
        count: pages,
    };
    let at = mem
        .map_self(view, libsys::abi::Protection::READ)
        .map_err(|e| alloc::format!("map the manifest: {e}"))?;
    // SAFETY: `size` bytes were just mapped readable at `at`.
    let bytes = unsafe { core::slice::from_raw_parts(at as *const u8, module.size as usize) };
    let text = core::str::from_utf8(bytes)
        .map(String::from)
        .map_err(|_| String::from("the manifest is not UTF-8"));
    let _ = mem.unmap_self(at, pages);
    println!("manifest {} ({} bytes)", module.name(), module.size);
    text
}
