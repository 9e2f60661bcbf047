//! The `mm` server process: the core (`lib.rs`, `Mm`) behind IPC, with the
//! machine it needs made of system calls.
//!
//! - The memory `init` gives it (`Give`: memory regions) is mapped whole
//!   into this process at `real::RAM_WINDOW`, so zeroing, copying and filling
//!   a frame is a memory operation here; a frame is mapped into a process
//!   with `map` on the region that holds it.
//! - ELF images (boot modules, from `Adopt`) are mapped read-only at
//!   `real::IMAGE_WINDOW`, once each, for as long as a process uses them.
//! - One endpoint takes everything: page faults (through the pager handles
//!   it hands out, badged with `PAGER_BADGE`), requests from the processes
//!   it manages (badged with their id), and `init`'s control requests
//!   (badge 0). A notification bound to this thread says a managed
//!   process died; its memory is freed at once.
//!
//! This file holds the server's state and its receive loop; [`real`] is
//! the machine the core runs on (its windows are `libsys` mappings),
//! [`control`] answers the requests that carry handles or need the
//! machine's own state (`Give`, `GiveDevice`, `Adopt`, `ForkAs`, `Exit`)
//! and passes the rest to the core, and [`info`] reads what the kernel
//! and the heap say about regions, processes and slabs. Received handles,
//! the payload and the reply go through `libsys`'s safe calls
//! (`Received::take_handles`, `ipc::read_payload`, `rpc::encode_payload`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

#[macro_use]
mod rec;
mod control;
mod heap;
mod info;
mod real;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use libsys::abi::ipc::{
    FAULT_PRESENT, FOREVER, LABEL_PAGE_FAULT, PAGER_BUS, PAGER_KILL, PAGER_RESUME, PAYLOAD_MAX,
};
use libsys::abi::Handle;
use libsys::eprintln;
use libsys::handle::{Endpoint, Notification, OwnedHandle};
use libsys::ipc::{self, Message, Received, SavedReply};
use libsys::proto::mm::{Request, PAGER_BADGE};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST};
use mm::{FaultOutcome, Mm, SpaceId};

use real::Real;

libsys::entry!(main);

/// Logs every message and fault (set to debug `mm` itself).
const DEBUG: bool = false;

/// The server: the core, its machine, and the endpoint's badged copies.
struct Server {
    core: Option<Mm>,
    real: Real,
    endpoint: Endpoint,
    deaths: Notification,
    next_fork: u64,
    /// Each process's pid, to tell whether a handle names one managed
    /// already.
    pids: BTreeMap<SpaceId, u64>,
    /// Each registered shrinker's notification, by (space, bit).
    shrinker_notes: BTreeMap<(SpaceId, u8), Notification>,
    /// The page cache owner's notification and bit: signalled when file
    /// faults wait for pages.
    page_cache_note: Option<(Notification, u8)>,
    /// The replies of file faults waiting for the file server, by token
    /// (`FaultOutcome::Wait`).
    file_waits: BTreeMap<u64, SavedReply>,
}

fn main(_args: &str) -> u64 {
    // Its windows (`real`) are mapped through the runtime's `@self`.
    if libsys::env::self_process().is_none() {
        eprintln!("no handle to itself");
        return 1;
    };
    let (endpoint, deaths) = match (Endpoint::create(), Notification::create()) {
        (Ok(e), Ok(n)) => (e, n),
        _ => {
            eprintln!("cannot create its endpoint");
            return 1;
        }
    };
    if let Err(e) = deaths.bind_current() {
        eprintln!("cannot bind its notification: {e}");
        return 1;
    }
    // `record` / `record=<lines>` in its arguments: its steps and machine
    // calls logged for replay (`rec`).
    libsys::record::start_if_asked("mm");
    if let Err(e) = libsys::names::register("mm", &endpoint) {
        eprintln!("cannot register: {e}");
        return 2;
    }
    let mut server = Server {
        core: None,
        real: Real::new(),
        endpoint,
        deaths,
        next_fork: control::FORK_IDS,
        pids: BTreeMap::new(),
        shrinker_notes: BTreeMap::new(),
        page_cache_note: None,
        file_waits: BTreeMap::new(),
    };
    server.serve()
}

/// Whether `received` is a page fault on a page not present.
fn demand_fault(received: &Received) -> bool {
    received.msg.label() == LABEL_PAGE_FAULT
        && received.badge & PAGER_BADGE != 0
        && received.msg.words[1] & FAULT_PRESENT == 0
}

impl Server {
    fn serve(&mut self) -> u64 {
        let mut input = [0u8; PAYLOAD_MAX];
        let mut received = match self.endpoint.recv(FOREVER) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("recv: {e}");
                return 3;
            }
        };
        loop {
            let reply = if let Some(bits) = received.signals() {
                self.reap(bits);
                None
            } else {
                // Deaths first: a request may ask about memory they held,
                // and a write to a copy-on-write page copies it unless
                // the process that shared its frame is reaped. A fault on
                // a page not present needs neither (demand paging): the
                // poll (a system call) is left out on that path.
                if !demand_fault(&received) {
                    match self.deaths.poll() {
                        Ok(bits) if bits != 0 => self.reap(bits),
                        _ => {}
                    }
                }
                let reply = self.message(&mut received, &mut input);
                self.balance();
                self.file_events();
                reply
            };
            let next = match reply {
                Some(reply) => self.endpoint.reply_recv(&reply, FOREVER),
                None => self.endpoint.recv(FOREVER),
            };
            match next {
                Ok(r) => received = r,
                Err(e) => {
                    eprintln!("receiving failed: {e}");
                    return 3;
                }
            }
        }
    }

    /// Answers one message (`None`: a fault that waits for the file
    /// server, its reply saved).
    fn message(
        &mut self,
        received: &mut Received,
        input: &mut [u8; PAYLOAD_MAX],
    ) -> Option<Message> {
        let msg = received.msg;
        let badge = received.badge;
        let handles: Vec<OwnedHandle> = received.take_handles().collect();
        if DEBUG {
            eprintln!(
                "msg label {:#x} badge {badge:#x} words {:#x} {:#x}",
                msg.label(),
                msg.words[0],
                msg.words[1]
            );
        }
        if msg.label() == LABEL_PAGE_FAULT && badge & PAGER_BADGE != 0 {
            return self.fault(
                badge & !PAGER_BADGE,
                msg.words[0],
                msg.words[1],
                msg.words[2],
                msg.words[3] != 0,
            );
        }
        if msg.label() != LABEL_REQUEST {
            return Some(Message::new(LABEL_BAD_REQUEST));
        }
        let n = ipc::read_payload(msg.info.length as usize, input);
        let Ok(request) = rpc::decode::<Request>(&input[..n]) else {
            return Some(Message::new(LABEL_BAD_REQUEST));
        };
        let (reply, give) = self.request(badge, request, handles);
        let length = rpc::encode_payload(&reply).unwrap_or(0);
        let out = Message::new(LABEL_REPLY).with_payload(length);
        if give.is_empty() {
            return Some(out);
        }
        let raw: Vec<Handle> = give.into_iter().map(|h| h.into_raw()).collect();
        Some(out.with_handles(&raw).moving_handles())
    }

    /// After each message: tells the file server that file faults wait,
    /// and answers the faults it has answered (`filemap.rs`: mm only
    /// signals the file server, never waits for it).
    fn file_events(&mut self) {
        let Some(core) = self.core.as_mut() else {
            return;
        };
        if let Some(space) = core.take_file_signal() {
            rec!("filesignal {space}");
            if let Some((note, bit)) = &self.page_cache_note {
                let _ = note.signal(1 << bit);
            }
        }
        for (token, outcome) in core.take_completions() {
            rec!("done {token} {outcome:?}");
            let Some(saved) = self.file_waits.remove(&token) else {
                continue;
            };
            // A bus error is PAGER_BUS for a system call's access too: the
            // kernel fails the call with BadAddress on anything but resume.
            let label = match outcome {
                FaultOutcome::Resume => PAGER_RESUME,
                FaultOutcome::Bus(_) => PAGER_BUS,
                _ => PAGER_KILL,
            };
            // A thread gone meanwhile: its answer is dropped.
            let _ = saved.reply(&Message::new(label));
        }
    }

    /// A page fault of `space` (`syscall`: the kernel's access for one of
    /// its system calls, which fails with `BadAddress` if refused; the
    /// process lives on).
    fn fault(
        &mut self,
        space: SpaceId,
        address: u64,
        error: u64,
        rip: u64,
        syscall: bool,
    ) -> Option<Message> {
        let Some(core) = self.core.as_mut() else {
            return Some(Message::new(PAGER_KILL));
        };
        rec!("fault {space} {address:#x} {error:#x}");
        let outcome = rec::with_machine(&mut self.real, |m| core.fault(space, address, error, m));
        rec_ret!(outcome);
        if DEBUG {
            eprintln!("fault {space:#x} {address:#x}: {outcome:?}");
        }
        Some(match outcome {
            FaultOutcome::Resume => Message::new(PAGER_RESUME),
            FaultOutcome::Wait(token) => match ipc::save_reply() {
                Ok(saved) => {
                    self.file_waits.insert(token, saved);
                    return None;
                }
                // The token is answered later to no one; the thread is
                // refused now.
                Err(_) => Message::new(PAGER_KILL),
            },
            FaultOutcome::Bus(reason) | FaultOutcome::Kill(reason) if syscall => {
                if DEBUG {
                    eprintln!(
                        "refusing a system call's access of {space:#x}: {reason} at {address:#x}"
                    );
                }
                Message::new(PAGER_KILL)
            }
            FaultOutcome::Bus(reason) => {
                if DEBUG {
                    eprintln!("SIGBUS for space {space}: {reason} at {address:#x}");
                }
                Message::new(PAGER_BUS)
            }
            FaultOutcome::Kill(reason) => {
                let who = self
                    .real
                    .spaces
                    .get(&space)
                    .and_then(|p| info::process_info(p.raw()));
                match who {
                    Some(info) => eprintln!(
                        "killing {}[{}]: {reason} (address {address:#x}, error {error:#x}, rip {rip:#x})",
                        info.name(),
                        info.pid
                    ),
                    None => eprintln!("killing space {space}: {reason} at {address:#x}"),
                }
                Message::new(PAGER_KILL)
            }
        })
    }
}
