//! Starting a manifest entry's process: from its boot module, either by
//! `init` itself (`libsys::spawn`, for the servers up to and including the
//! memory server) or, once `mm` has registered, by `mm` (`Adopt`: `mm`
//! lays out the address space and is its pager; `init` only gives it
//! handles and starts its thread). A server placed in the kernel
//! (`placement=mono`) is not started: its service handle is registered.
#![forbid(unsafe_code)]

use alloc::rc::Rc;
use alloc::vec::Vec;

use libsys::abi::Handle;
use libsys::handle::{Borrowed, Endpoint, OwnedHandle, Process};
use libsys::proto::mm::{Reply as MmReply, Request as MmRequest};
use libsys::rpc;
use libsys::spawn::{pid_of, Builder, Child};
use libsys::{eprintln, println};

use init::manifest::Entry;
use init::names::Registry;
use init::procs::Table;

use crate::error::StartError;
use crate::grant::{
    allow_views, framebuffer_for, give_devices, give_framebuffer, Adoptee, Grant, NewProcess,
};
use crate::{Init, Run, Slot};

/// A boot module to start a process from.
pub(crate) struct Image<'a> {
    pub handle: Handle,
    pub size: u64,
    pub cmdline: &'a str,
}

impl Init {
    /// Starts server `i` (or, if the kernel runs its core, registers the
    /// kernel's service under its name).
    pub(crate) fn start_server(&mut self, i: usize) {
        let name = self.slots[i].entry.register.clone();
        if let Some(name) = &name {
            if self.info.service(name).is_some() {
                // Its handle is taken once: registered for good.
                if let Some(handle) = libsys::env::take_service(name) {
                    self.names.expect(name, 0);
                    let _ = self.names.register(name, 0, Rc::new(handle));
                }
                self.slots[i].run = Run::InKernel;
                println!("{name} runs in the kernel (placement=mono)");
                return;
            }
        }
        self.start(i);
    }

    /// Registers each server the kernel runs that no manifest line
    /// names (`echo`, the core of the transports' checks), under its own
    /// name, so that programs find it as any other.
    pub(crate) fn register_unnamed_services(&mut self) {
        let names: Vec<alloc::string::String> = self
            .info
            .services()
            .iter()
            .map(|s| alloc::string::String::from(s.name()))
            .collect();
        for name in names {
            let named = self
                .slots
                .iter()
                .any(|s| s.entry.register.as_deref() == Some(name.as_str()));
            if named {
                continue;
            }
            if let Some(handle) = libsys::env::take_service(&name) {
                self.names.expect(&name, 0);
                let _ = self.names.register(&name, 0, Rc::new(handle));
            }
        }
    }

    /// Builds and starts the process of slot `i`.
    pub(crate) fn start(&mut self, i: usize) {
        if let Some(name) = self.slots[i].entry.register.clone() {
            // Nobody may register it until the new process exists.
            self.names.expect(&name, NOBODY);
        }
        match self.build(i) {
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

    fn build(&mut self, i: usize) -> Result<Child, StartError> {
        let entry = self.slots[i].entry.clone();
        let module = self
            .info
            .module(&entry.module)
            .ok_or_else(|| StartError::NoModule(entry.module.clone()))?;
        let image = Image {
            handle: Handle(module.handle),
            size: module.size,
            cmdline: module.cmdline(),
        };
        // The kill handle names the target's current process: a server's,
        // or (`spawned:<name>`) a spawned child's.
        let target = entry
            .kill
            .as_ref()
            .and_then(|name| match name.strip_prefix("spawned:") {
                Some(spawned) => self
                    .spawned
                    .iter()
                    .find(|s| s.name == spawned)
                    .map(|s| s.child.process.raw()),
                None => self.slots.iter().find_map(|s| match &s.run {
                    Run::Running(child) if &s.entry.name == name => Some(child.process.raw()),
                    _ => None,
                }),
            });
        self.make(&entry, &image, target, Claim::Slot(i), &[])
            .map(|(child, _)| child)
    }

    /// Builds and starts the process of `entry` from `image`, recorded in
    /// the process table as `claim` says, with copies of `extra` given to
    /// it after everything its entry names (`h0=`.. in its arguments);
    /// the child and its pid.
    pub(crate) fn make(
        &mut self,
        entry: &Entry,
        image: &Image,
        target: Option<Handle>,
        claim: Claim,
        extra: &[Handle],
    ) -> Result<(Child, u64), StartError> {
        match self.pager() {
            Some(control) if !entry.pager => {
                self.adopt(entry, image, target, control, claim, extra)
            }
            _ => {
                let mut builder =
                    Builder::new(&mut self.mem, &entry.name, image.handle, image.size)
                        .map_err(StartError::Load)?;
                let id = claim.record(
                    &mut self.slots,
                    &mut self.names,
                    &mut self.procs,
                    builder.process.raw(),
                )?;
                let grant = Grant {
                    ns: &self.ns,
                    info: self.info,
                    entry,
                    id,
                    image,
                    target,
                    heap: true,
                    // Only a process mm manages can map device memory
                    // (the manifest refuses `framebuffer` before the pager).
                    framebuffer: None,
                };
                let mut args = grant.args(&mut builder)?;
                give_extra(&mut builder, extra, &mut args)?;
                let child = builder.start(&args).map_err(StartError::Start)?;
                Ok((child, id))
            }
        }
    }

    /// The memory server's control handle (its registered endpoint,
    /// unbadged: badge 0 is `init`), once it has registered.
    fn pager(&self) -> Option<Handle> {
        let slot = self.slots.iter().find(|s| s.entry.pager)?;
        let name = slot.entry.register.as_deref()?;
        self.names.lookup(name).ok().map(|h| h.raw())
    }

    /// Builds the process of `entry` through the memory server: `mm` lays
    /// out its address space from the image and is its pager; `init`
    /// starts its thread where `mm` says.
    fn adopt(
        &mut self,
        entry: &Entry,
        image: &Image,
        target: Option<Handle>,
        control: Handle,
        claim: Claim,
        extra: &[Handle],
    ) -> Result<(Child, u64), StartError> {
        let process =
            Process::create(&entry.name).map_err(|e| StartError::Syscall("process_create", e))?;
        let id = claim.record(
            &mut self.slots,
            &mut self.names,
            &mut self.procs,
            process.raw(),
        )?;
        let mut adoptee = Adoptee {
            process,
            mem: &mut self.mem,
            pages: Vec::new(),
        };
        let framebuffer = framebuffer_for(self.info, entry);
        let grant = Grant {
            ns: &self.ns,
            info: self.info,
            entry,
            id,
            image,
            target,
            heap: false,
            framebuffer,
        };
        let mut args = grant.args(&mut adoptee)?;
        give_extra(&mut adoptee, extra, &mut args)?;
        let Adoptee { process, pages, .. } = adoptee;
        let mm = Borrowed::of(control, Endpoint);
        let adopted = mm_adopt(&mm, id, image, &process, &args)?;
        give_devices(&mm, id, &entry.devices)?;
        if entry.views {
            allow_views(&mm, id)?;
        }
        if let Some(fb) = &framebuffer {
            give_framebuffer(&mm, id, fb);
        }
        let thread = process
            .thread_create()
            .map_err(|e| StartError::Syscall("thread_create", e))?;
        thread
            .set_pager(Some(&adopted.pager))
            .map_err(|e| StartError::Syscall("set_pager", e))?;
        thread
            .start(
                adopted.start,
                adopted.stack,
                adopted.args_at,
                adopted.args_len,
            )
            .map_err(|e| StartError::Syscall("thread_start", e))?;
        Ok((
            Child {
                process,
                thread,
                pages,
            },
            id,
        ))
    }
}

/// Who a new process is, for the process table: a manifest entry's
/// (slot `i`, entered with the entry's credentials) or a child the spawn
/// protocol asked for (entered by the spawn service once it started).
pub(crate) enum Claim {
    Slot(usize),
    Child,
}

impl Claim {
    /// Records `process` as this claim says; its pid.
    fn record(
        self,
        slots: &mut [Slot],
        names: &mut Registry<Rc<OwnedHandle>>,
        procs: &mut Table,
        process: Handle,
    ) -> Result<u64, StartError> {
        match self {
            Claim::Slot(i) => claim(&mut slots[i], names, procs, process),
            // Entered in the table by the spawn service once the child is
            // started: a failure on the way leaves nothing behind (and
            // `init`, one thread, answers no credentials request before).
            Claim::Child => pid_of(process).map_err(|e| StartError::Syscall("process_info", e)),
        }
    }
}

/// Gives the new process copies of `extra` (each with the rights the
/// handle has here) and names them in its arguments, in order, as
/// `h0=<n> h1=<n> ..` (`libsys::env::take_handle("h0")`).
fn give_extra(
    child: &mut dyn NewProcess,
    extra: &[Handle],
    args: &mut alloc::string::String,
) -> Result<(), StartError> {
    for (k, &handle) in extra.iter().enumerate() {
        let rights = Borrowed::of(handle, |h| h)
            .info()
            .map_err(|e| StartError::Syscall("handle_info", e))?
            .1;
        let theirs = child.give(handle, rights)?;
        let _ = core::fmt::Write::write_fmt(args, format_args!(" h{k}={}", theirs.0));
    }
    Ok(())
}

/// The registry's owner of a name whose process does not exist yet: no
/// badge is ever this (a name-service badge is a pid, below 2^63).
const NOBODY: u64 = u64::MAX;

/// Makes `process`'s kernel pid the slot's id (one pid space): the badge
/// of every handle it is given, the owner of its name, its entry in the
/// process table (with its manifest credentials).
fn claim(
    slot: &mut Slot,
    names: &mut Registry<Rc<OwnedHandle>>,
    procs: &mut Table,
    process: Handle,
) -> Result<u64, StartError> {
    let pid = pid_of(process).map_err(|e| StartError::Syscall("process_info", e))?;
    procs.reaped(slot.id);
    slot.id = pid;
    if let Some(name) = &slot.entry.register {
        names.expect(name, pid);
    }
    procs
        .add_started(pid, slot.entry.uid, slot.entry.gid)
        .map_err(StartError::ProcessTable)?;
    Ok(pid)
}

/// Where `mm` says an adopted process's first thread starts, and the
/// handle through which that thread's faults reach `mm`.
struct Adopted {
    start: u64,
    stack: u64,
    args_at: u64,
    args_len: u64,
    pager: Endpoint,
}

/// Asks `mm` (`Adopt`) to lay out `process`'s address space from `image`
/// under `id`, with `args` on its stack. Fails if the arguments are too
/// long for the request, the call fails, or `mm` refuses or answers
/// without a pager handle.
fn mm_adopt(
    mm: &Endpoint,
    id: u64,
    image: &Image,
    process: &Process,
    args: &str,
) -> Result<Adopted, StartError> {
    let request = MmRequest::Adopt {
        id,
        image_size: image.size,
        args: args.try_into().map_err(|_| StartError::ArgsTooLong)?,
    };
    let (reply, handles) =
        rpc::call_taking::<MmRequest, MmReply>(mm, &request, &[process.raw(), image.handle])
            .map_err(StartError::MmCall)?;
    let handles: Vec<OwnedHandle> = handles.collect();
    let MmReply::Adopted {
        entry: start,
        stack,
        args_at,
        args_len,
        ..
    } = reply
    else {
        return Err(match reply {
            MmReply::Error(e) => StartError::MmRefused(e),
            _ => StartError::MmUnexpected,
        });
    };
    let [_client, pager] =
        <[OwnedHandle; 2]>::try_from(handles).map_err(|_| StartError::NoPagerHandle)?;
    Ok(Adopted {
        start,
        stack,
        args_at,
        args_len,
        pager: Endpoint(pager),
    })
}
