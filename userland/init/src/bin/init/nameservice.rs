//! The name service: `Register` and `Lookup` (`libsys::proto::name`),
//! answered on `init`'s one endpoint. A request comes with the badge of
//! the asking process (its id); `Register` is allowed only to the process
//! the manifest names for that name (the registry in `init::names`
//! decides), and `Lookup` answers with a badged copy of the server's
//! endpoint that can only send. A request whose badge has the credentials
//! tag is for [`crate::credservice`] instead.
#![forbid(unsafe_code)]

use alloc::rc::Rc;
use alloc::vec::Vec;

use init::manifest::Kind;
use init::names::{Refused, State};
use init::procs::Service;
use libsys::abi::{ObjectType, ProcessStatus, Rights};
use libsys::eprintln;
use libsys::handle::OwnedHandle;
use libsys::ipc::{self, Message, Received};
use libsys::proto::name::{self, KillMode, Name, Reply, Request, ServerInfo, ServerState};
use libsys::proto::{cred, spawn};
use libsys::rpc::{self, LABEL_BAD_REQUEST};

use crate::{Init, Run};

impl Init {
    /// Answers a message on the endpoint: deaths (a notification) or a
    /// name-service request.
    pub(crate) fn received(&mut self, received: Received) {
        if let Some(bits) = received.signals() {
            self.deaths(bits);
            return;
        }
        match Service::of(received.badge) {
            Service::Cred { pid } => return self.cred_request(received, pid),
            Service::Spawn { pid } => return self.spawn_request(received, pid),
            Service::Names { .. } => {}
        }
        // The caller may be gone already; nothing to do about that.
        match self.name_request(received) {
            Some((reply, Some(give))) => {
                // Moved to the caller; if the reply failed it is still
                // ours, and closes here.
                if rpc::reply(&reply, &[give.raw()]).is_ok() {
                    let _moved = give.into_raw();
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
    /// Handles the message brought that are not kept close when dropped.
    fn name_request(&mut self, mut received: Received) -> Option<(Reply, Option<OwnedHandle>)> {
        let handles: Vec<OwnedHandle> = received.take_handles().collect();
        let request = rpc::decode_request::<Request>(&received.msg).ok()?;
        let who = received.badge;
        Some(match request {
            Request::Register { name } => (self.register(&name, who, handles), None),
            Request::Lookup { name } => {
                drop(handles);
                match self.lookup(&name, who) {
                    Ok(h) => (Reply::Found, Some(h)),
                    Err(refused) => (refused.reply(), None),
                }
            }
            Request::Kill { name, mode } => {
                drop(handles);
                (self.kill(&name, who, Some(mode)), None)
            }
            Request::Pid { name } => {
                drop(handles);
                (self.kill(&name, who, None), None)
            }
            Request::List { from } => {
                drop(handles);
                (name::page(&self.servers(), from), None)
            }
        })
    }

    /// `Kill` (`mode`) and `Pid` (no mode): allowed only to a process
    /// whose entry has the `chaos` or the `service` right. `Kill` kills
    /// the server registered as `name` (never the memory server, which is
    /// not restarted, nor one in the kernel: `NotRestartable`), or, as
    /// `spawned:<name>`, a spawned child (its spawner restarts it). The
    /// server's death then restarts it: at once and at no cost to its
    /// budget for [`KillMode::Restart`], as any death for
    /// [`KillMode::Fail`] (`init::restart`).
    fn kill(&mut self, name: &str, who: u64, mode: Option<KillMode>) -> Reply {
        let allowed = self
            .slots
            .iter()
            .any(|s| s.id == who && (s.entry.chaos || s.entry.service));
        if !allowed {
            return Reply::NotAllowed;
        }
        if let Some(spawned) = name.strip_prefix("spawned:") {
            let Some(s) = self.spawned.iter().find(|s| s.name == spawned) else {
                return Reply::NotFound;
            };
            return match (mode, s.child.process.status()) {
                (None, Ok(ProcessStatus::Alive)) => Reply::Pid { pid: s.pid },
                (Some(_), Ok(ProcessStatus::Alive)) => match s.child.process.kill() {
                    Ok(()) => Reply::Killed { pid: s.pid },
                    Err(_) => Reply::Unavailable,
                },
                // Dead, its death not handled yet.
                _ => Reply::Unavailable,
            };
        }
        let Some(slot) = self
            .slots
            .iter_mut()
            .find(|s| s.entry.kind == Kind::Server && s.entry.register.as_deref() == Some(name))
        else {
            return Reply::NotFound;
        };
        let restartable = !slot.entry.pager && !matches!(slot.run, Run::InKernel);
        if mode.is_some() && !restartable {
            return Reply::NotRestartable;
        }
        let pid = slot.id;
        match (&slot.run, mode) {
            (Run::Running(_), None) if slot.killed.is_none() => Reply::Pid { pid },
            (Run::Running(child), Some(mode)) if slot.killed.is_none() => {
                match child.process.kill() {
                    Ok(()) => {
                        slot.killed = Some(mode);
                        Reply::Killed { pid }
                    }
                    Err(_) => Reply::Unavailable,
                }
            }
            (Run::Done, _) if slot.restarts.used >= slot.restarts.budget => Reply::Failed,
            // In the kernel (placement=mono), restarting, or killed
            // already and not yet reaped.
            _ => Reply::Unavailable,
        }
    }

    /// `List`'s entries: the servers of the manifest in its order, then
    /// the spawned children.
    fn servers(&self) -> Vec<ServerInfo> {
        let mut all: Vec<ServerInfo> = self
            .slots
            .iter()
            .filter(|s| s.entry.kind == Kind::Server)
            .map(|s| {
                let registered = s
                    .entry
                    .register
                    .as_deref()
                    .and_then(|n| self.names.state(n))
                    .is_some_and(|st| matches!(st, State::Registered(_)));
                let state = match s.run {
                    Run::Running(_) if s.killed.is_some() => ServerState::Restarting,
                    Run::Running(_) if registered => ServerState::Running,
                    Run::Running(_) | Run::Waiting => ServerState::Starting,
                    Run::RestartAt(_) => ServerState::Restarting,
                    Run::InKernel => ServerState::InKernel,
                    Run::Done => ServerState::Failed,
                };
                let name = s.entry.register.as_deref().unwrap_or(&s.entry.name);
                ServerInfo {
                    name: short_name(name),
                    pid: if matches!(s.run, Run::Running(_)) {
                        s.id
                    } else {
                        0
                    },
                    state,
                    restarts: s.restarts.used,
                    budget: s.restarts.budget,
                    restartable: !s.entry.pager && !matches!(s.run, Run::InKernel),
                    spawner: 0,
                }
            })
            .collect();
        all.extend(self.spawned.iter().map(|s| {
            let alive = matches!(s.child.process.status(), Ok(ProcessStatus::Alive));
            ServerInfo {
                name: short_name(&s.name),
                pid: s.pid,
                state: if alive {
                    ServerState::Running
                } else {
                    ServerState::Restarting
                },
                restarts: 0,
                budget: 0,
                restartable: true,
                spawner: s.parent,
            }
        }));
        all
    }

    /// Registers the one handle a `Register` carried (closed, as any
    /// others, if refused).
    fn register(&mut self, name: &str, who: u64, handles: Vec<OwnedHandle>) -> Reply {
        let Ok([endpoint]) = <[OwnedHandle; 1]>::try_from(handles) else {
            return Reply::NotAllowed;
        };
        let usable = matches!(endpoint.info(), Ok((ObjectType::Endpoint, rights))
            if rights.contains(Rights::SEND | Rights::MINT));
        if !usable {
            return Reply::NotAllowed;
        }
        // The registration it replaces, if any, closes when dropped.
        match self.names.register(name, who, Rc::new(endpoint)) {
            Ok(_replaced) => Reply::Registered,
            Err(refused) => {
                let asker = self
                    .slots
                    .iter()
                    .find(|s| s.id == who)
                    .map_or("a process init did not start", |s| s.entry.name.as_str());
                eprintln!("{asker} may not register `{name}`");
                refused.reply()
            }
        }
    }

    /// A send handle to `name`'s server badged for `who`: SEND, and GRANT
    /// (a request may carry handles: `mm`'s `ForkAs` does; a server that
    /// takes none answers `LABEL_BAD_REQUEST` and closes them). Never
    /// RECV or MINT: a client can neither take another's requests nor
    /// pose as another client.
    ///
    /// `cred` is `init`'s own: a handle to this endpoint badged with
    /// `who` and the credentials tag (`init::procs::CRED_TAG`).
    fn lookup(&mut self, name: &str, who: u64) -> Result<OwnedHandle, Refused> {
        if name == cred::NAME {
            return self
                .ns
                .dup(Rights::SEND, Some(Service::cred_badge(who)))
                .map(|e| e.0)
                .map_err(|_| Refused::Unavailable);
        }
        if name == spawn::NAME {
            // Anyone may ask; only a process whose entry says `spawn` is
            // answered with a child (`spawnservice`).
            return self
                .ns
                .dup(
                    Rights::SEND | Rights::GRANT,
                    Some(Service::spawn_badge(who)),
                )
                .map(|e| e.0)
                .map_err(|_| Refused::Unavailable);
        }
        let registered = self.names.lookup(name)?;
        registered
            .dup(Rights::SEND | Rights::GRANT, Some(who))
            .map_err(|_| Refused::Unavailable)
    }
}

/// `name`, cut to what the protocol carries ([`name::NAME_MAX`] bytes, at
/// a character boundary).
fn short_name(name: &str) -> Name {
    let mut short = Name::new();
    for c in name.chars() {
        if short.push(c).is_err() {
            break;
        }
    }
    short
}
