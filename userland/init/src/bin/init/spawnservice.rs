//! The spawn service (`libsys::proto::spawn`), answered on `init`'s one
//! endpoint: a lookup of `spawn` gives a handle badged with the caller's
//! pid and the spawn tag (`init::procs::SPAWN_TAG`), so the loop hands
//! such requests here.
//!
//! A request is checked in order, and the first failed check is the
//! answer (nothing is made before every check passed): the message's
//! own checks (`Spawn::check`: names, arguments, the handle count against
//! the handles the message carried); the caller may spawn (its manifest
//! entry says `spawn`, else `NotPermitted`); no environment (a process
//! `init` starts gets its arguments as one string and has none:
//! `BadEnvironment`); the caller's quota of children and its right to
//! other credentials (`init::procs::Table::admit`); the image is a boot
//! module (`Image::Path` is the process server's to resolve once files
//! hold executables: `UnknownImage`); [`SPAWNED_MAX`] children in all.
//!
//! The child is built as a manifest entry with no options would be (its
//! `@ns` badged with its own pid, `@self`, its heap from `mm`), plus
//! `@mem` pages when `limits.memory_pages` asks, plus copies of the
//! handles the request carried, named `h0=`.. in its arguments. Its
//! kernel limits are the kernel's defaults lowered to the caller's own
//! (as if the caller had created it: a caller cannot escape its limits by
//! asking `init`). The reply moves a handle to the child to the caller
//! with `MANAGE` (it may watch, read the status of, and kill its child).
//! `init` watches every spawned child on the deaths notification's
//! [`SPAWNED_BIT`]; when one dies its pages are freed and it leaves the
//! process table (and its parent's quota).
#![forbid(unsafe_code)]

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use init::manifest::{Entry, Kind};
use libsys::abi::limits::{Limits, Resource};
use libsys::abi::{Handle, ProcessStatus, Rights};
use libsys::handle::OwnedHandle;
use libsys::ipc::{self, Message, Received};
use libsys::proto::spawn::{Image as SpawnImage, Reply, Request, Spawn, SpawnError};
use libsys::rpc::{self, LABEL_BAD_REQUEST};
use libsys::spawn::Child;
use libsys::{eprintln, println};

use crate::start::{Claim, Image};
use crate::{Init, Run};

/// The deaths notification's bit for every spawned child (manifest slots
/// have bits 0..=62).
pub(crate) const SPAWNED_BIT: u64 = 1 << 63;
/// Spawned children alive at once, of every caller together.
pub(crate) const SPAWNED_MAX: usize = 64;

/// A child made through the spawn protocol.
pub(crate) struct Spawned {
    pub pid: u64,
    /// The pid of the process that asked for it.
    pub parent: u64,
    pub name: String,
    pub child: Child,
}

impl Init {
    /// Answers one spawn request from process `pid`.
    pub(crate) fn spawn_request(&mut self, mut received: Received, pid: u64) {
        // Closed when dropped: the copies given to the child are its own.
        let owned: Vec<OwnedHandle> = received.take_handles().collect();
        let handles: Vec<Handle> = owned.iter().map(OwnedHandle::raw).collect();
        let Ok(Request::Spawn(request)) = rpc::decode_request::<Request>(&received.msg) else {
            let _ = ipc::reply(&Message::new(LABEL_BAD_REQUEST));
            return;
        };
        let result = self.spawn(pid, &request, &handles);
        drop(owned);
        match result {
            Ok((child_pid, handle)) => {
                // Moved to the caller; if the reply failed it is still
                // ours, and closes here.
                if rpc::reply(&Reply::Spawned { pid: child_pid }, &[handle.raw()]).is_ok() {
                    let _moved = handle.into_raw();
                }
            }
            Err(e) => {
                let _ = rpc::reply(&Reply::Error(e), &[]);
            }
        }
    }

    /// Every check, then the child: its pid and a handle for the caller.
    fn spawn(
        &mut self,
        caller: u64,
        request: &Spawn,
        handles: &[Handle],
    ) -> Result<(u64, libsys::handle::OwnedHandle), SpawnError> {
        request.check(handles.len())?;
        let parent = self
            .slots
            .iter()
            .find(|s| s.id == caller && s.entry.spawn && matches!(s.run, Run::Running(_)))
            .ok_or(SpawnError::NotPermitted)?;
        let parent_limits = match &parent.run {
            Run::Running(child) => libsys::limits::usage(child.process.raw())
                .map(|u| u.limits)
                .map_err(|_| SpawnError::StartFailed)?,
            _ => return Err(SpawnError::NotPermitted),
        };
        if !request.env.is_empty() {
            return Err(SpawnError::BadEnvironment);
        }
        let cred = self.procs.admit(caller, request.run_as)?;
        let SpawnImage::Module(module) = &request.image else {
            return Err(SpawnError::UnknownImage);
        };
        // `init` itself (the module the kernel ran: command line `init`)
        // is no image to run twice: it needs the kernel's InitInfo.
        let found = self
            .info
            .modules()
            .iter()
            .find(|m| m.name() == module.as_str() && m.cmdline() != "init")
            .ok_or(SpawnError::UnknownImage)?;
        if self.spawned.len() >= SPAWNED_MAX {
            return Err(SpawnError::TooManyChildren);
        }
        let image = Image {
            handle: Handle(found.handle),
            size: found.size,
            cmdline: "",
        };
        let name = if request.name.is_empty() {
            module.as_str()
        } else {
            request.name.as_str()
        };
        let args: Vec<&str> = request.args.iter().map(|a| a.as_str()).collect();
        let mut entry = Entry::new(Kind::Program, name, module, &args.join(" "));
        entry.memory_pages = u64::from(request.limits.memory_pages);
        entry.uid = cred.uid;
        entry.gid = cred.gid;
        let bound = Limits::DEFAULT.min(&parent_limits);
        entry.limits = Resource::ALL.iter().map(|&r| (r, bound.get(r))).collect();
        let (child, pid) = self
            .make(&entry, &image, None, Claim::Child, handles)
            .map_err(|why| {
                eprintln!("spawn {name} for pid {caller}: {why}");
                SpawnError::StartFailed
            })?;
        // Into the table (credentials, the parent's quota) before `init`
        // answers anything else: the child cannot ask before.
        if let Err(e) = self.procs.add_child(pid, caller, cred) {
            // Killed, and reaped as any spawned child (its pages freed
            // once it is gone).
            eprintln!("spawn {name}: process table: {e:?}");
            let _ = child.process.kill();
            let _ = child.process.watch(&self.deaths, SPAWNED_BIT);
            self.spawned.push(Spawned {
                pid,
                parent: caller,
                name: String::from(name),
                child,
            });
            return Err(SpawnError::StartFailed);
        }
        if let Err(e) = child.process.watch(&self.deaths, SPAWNED_BIT) {
            eprintln!("cannot watch spawned {name}: {e}");
        }
        let handle = child.process.0.dup(Rights::MANAGE, None).map_err(|_| {
            let _ = child.process.kill();
            SpawnError::StartFailed
        });
        self.spawned.push(Spawned {
            pid,
            parent: caller,
            name: String::from(name),
            child,
        });
        println!("spawned {name} (pid {pid}) for pid {caller}");
        handle.map(|h| (pid, h))
    }

    /// Server `parent` died: the children it had spawned die too (its
    /// next incarnation spawns its own; left alive they would hold the
    /// device beside the new ones, and pile up with every restart). Reaped
    /// as any spawned child when their deaths come.
    pub(crate) fn kill_children_of(&mut self, parent: u64) {
        for s in self.spawned.iter().filter(|s| s.parent == parent) {
            if s.child.process.kill().is_ok() {
                println!("spawned {} (pid {}) killed: its parent died", s.name, s.pid);
            }
        }
    }

    /// The deaths notification's spawned bit: reaps every spawned child
    /// that has ended.
    pub(crate) fn spawned_deaths(&mut self) {
        let mut i = 0;
        while i < self.spawned.len() {
            match self.spawned[i].child.process.status() {
                Ok(ProcessStatus::Alive) => i += 1,
                status => {
                    let gone = self.spawned.swap_remove(i);
                    let why = match status {
                        Ok(ProcessStatus::Exited(v)) => format!("exited with status {v}"),
                        Ok(ProcessStatus::Killed(by)) => format!("was killed by process {by}"),
                        Ok(ProcessStatus::Fault(v)) => format!("was killed by exception {v}"),
                        Ok(ProcessStatus::BusError(a)) => {
                            format!("was killed by a bus error at {a:#x}")
                        }
                        _ => String::from("is gone"),
                    };
                    println!("spawned {} (pid {}) {why}", gone.name, gone.pid);
                    self.procs.reaped(gone.pid);
                    let Child {
                        process,
                        thread,
                        pages,
                    } = gone.child;
                    drop(thread);
                    drop(process);
                    for run in pages {
                        self.mem.free(run);
                    }
                }
            }
        }
    }
}
