//! What a new process gets: the handles its manifest entry names, moved
//! into its handle table, and the argument string that tells it their
//! numbers (`@ns=…`, `@self=…`, …; see `libsys::env`). The same for a
//! process `init` builds itself (`Builder`) and one `mm` builds
//! (`Adoptee`), through the [`NewProcess`] trait.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use init::manifest::{Entry, IrqLine};
use libsys::abi::{FramebufferInfo, Handle, InitInfo, Rights};
use libsys::handle::{Borrowed, Endpoint, IoPorts, IrqControl, MemoryRegion, Process};
use libsys::mem::{Memory, Pages};
use libsys::proto::mm::{Reply as MmReply, Request as MmRequest};
use libsys::rpc;
use libsys::spawn::{Builder, SpawnError};
use libsys::{eprintln, println};

use crate::error::StartError;
use crate::start::Image;

/// A process being made: handles go into it, pages are set apart for it.
pub(crate) trait NewProcess {
    /// Moves (a copy of) `handle` with `rights` into the process; its
    /// number there. Fails with `Give`.
    fn give(&mut self, handle: Handle, rights: Rights) -> Result<Handle, StartError>;
    /// Zeroed pages counted as the child's (freed when it dies). Fails
    /// with `Pages`.
    fn alloc(&mut self, pages: u64) -> Result<Pages, StartError>;
    fn process(&self) -> Handle;
}

impl NewProcess for Builder<'_> {
    fn give(&mut self, handle: Handle, rights: Rights) -> Result<Handle, StartError> {
        Builder::give(self, handle, rights).map_err(StartError::Give)
    }

    fn alloc(&mut self, pages: u64) -> Result<Pages, StartError> {
        Builder::alloc(self, pages).map_err(|e| StartError::Pages(pages, e))
    }

    fn process(&self) -> Handle {
        self.process.raw()
    }
}

/// A process the memory server builds: `init` only gives it handles (and
/// the pages of a `memory=` grant).
pub(crate) struct Adoptee<'m> {
    pub process: Process,
    pub mem: &'m mut Memory,
    pub pages: Vec<Pages>,
}

impl NewProcess for Adoptee<'_> {
    fn give(&mut self, handle: Handle, rights: Rights) -> Result<Handle, StartError> {
        self.process
            .give(handle, rights)
            .map_err(|e| StartError::Give(SpawnError::Sys(e)))
    }

    fn alloc(&mut self, pages: u64) -> Result<Pages, StartError> {
        let (run, at) = self
            .mem
            .alloc_mapped(pages)
            .map_err(|e| StartError::Pages(pages, SpawnError::Sys(e)))?;
        let _ = self.mem.unmap_self(at, pages);
        self.pages.push(run);
        Ok(run)
    }

    fn process(&self) -> Handle {
        self.process.raw()
    }
}

/// What a new process is given: its manifest entry, its kernel pid
/// (`id`, the badge of its `@ns`), the image it runs, a target for `kill=`, and whether it
/// gets a heap region (`heap`; processes the memory server manages get
/// their heap from it).
pub(crate) struct Grant<'a> {
    pub ns: &'a Endpoint,
    pub info: &'a InitInfo,
    pub entry: &'a Entry,
    pub id: u64,
    pub image: &'a Image<'a>,
    pub target: Option<Handle>,
    pub heap: bool,
    /// The boot framebuffer it gets (`framebuffer`, checked by
    /// [`framebuffer_for`]).
    pub framebuffer: Option<FramebufferInfo>,
}

impl Grant<'_> {
    /// Puts into `child` the handles its manifest entry says it gets, and
    /// returns its argument string: the start-up tokens (`libsys::env`),
    /// the manifest's arguments, a `kill=` handle, the module's command
    /// line.
    pub fn args(&self, child: &mut dyn NewProcess) -> Result<String, StartError> {
        let entry = self.entry;
        set_limits(entry, child.process())?;
        let mut args = String::new();
        // GRANT: a registration carries the server's endpoint. Whether a
        // process may register a name is the name service's to decide.
        let ns_rights = Rights::SEND | Rights::GRANT;
        let badged = self
            .ns
            .dup(ns_rights, Some(self.id))
            .map_err(StartError::BadgeNameService)?;
        let theirs = child.give(badged.raw(), ns_rights)?;
        let _ = write!(args, "@ns={}", theirs.0);
        drop(badged);
        // MAP for a heap region, a memory gift or a lent file (`file=`)
        // to map into itself; MANAGE for threads.
        let self_rights = if self.heap || entry.memory_pages > 0 || entry.file.is_some() {
            Rights::MAP | Rights::MANAGE
        } else {
            Rights::MANAGE
        };
        let me = child.give(child.process(), self_rights)?;
        let _ = write!(args, " @self={}", me.0);
        if self.heap {
            let h = give_pages(child, entry.heap_pages, Rights::READ | Rights::WRITE)?;
            let _ = write!(args, " @heap={}:{}", h.0, entry.heap_pages);
        }
        if entry.memory_pages > 0 {
            let rights = Rights::READ | Rights::WRITE | Rights::EXEC | Rights::MANAGE;
            let h = give_pages(child, entry.memory_pages, rights)?;
            let _ = write!(args, " @mem={}:{}", h.0, entry.memory_pages);
        }
        if entry.own_module {
            let theirs = child.give(self.image.handle, Rights::READ | Rights::EXEC)?;
            let _ = write!(args, " @module={}:{}", theirs.0, self.image.size);
        }
        if let Some(name) = &entry.file {
            let module = self
                .info
                .modules()
                .iter()
                .find(|m| m.cmdline() == name || m.name() == name)
                .ok_or_else(|| StartError::NoModule(name.clone()))?;
            let theirs = child.give(Handle(module.handle), Rights::READ)?;
            let _ = write!(args, " @file={}:{}", theirs.0, module.size);
        }
        grant_hardware(self.info, entry, child, &mut args)?;
        args.push(' ');
        args.push_str(&entry.args);
        if let Some(target) = self.target {
            let theirs = child.give(target, Rights::MANAGE)?;
            let _ = write!(args, " kill={}", theirs.0);
        }
        if entry.console {
            let theirs = child.give(Handle(self.info.console_control), Rights::MANAGE)?;
            let _ = write!(args, " console={}", theirs.0);
        }
        if entry.pci {
            let irq = child.give(Handle(self.info.irq_control), Rights::MANAGE)?;
            let mem = child.give(Handle(self.info.device_control), Rights::MANAGE)?;
            let _ = write!(args, " irqctl={} devmem={}", irq.0, mem.0);
        }
        if let Some(fb) = self.framebuffer {
            let _ = write!(args, " framebuffer={fb}");
        }
        if entry.sched_rt {
            let theirs = child.give(Handle(self.info.sched_control), Rights::MANAGE)?;
            let _ = write!(args, " sched={}", theirs.0);
        }
        if entry.power {
            let theirs = child.give(Handle(self.info.power_control), Rights::MANAGE)?;
            let _ = write!(args, " power={}", theirs.0);
        }
        if entry.mint {
            // Badged with its own pid: its own calls stay its own; MINT
            // lets it badge the `@ns` of the processes it creates.
            let rights = Rights::SEND | Rights::GRANT | Rights::MINT;
            let minting = self
                .ns
                .dup(rights, Some(self.id))
                .map_err(StartError::BadgeNameService)?;
            let theirs = child.give(minting.raw(), rights)?;
            let _ = write!(args, " mint={}", theirs.0);
        }
        if entry.initramfs {
            if let Some(m) = self
                .info
                .modules()
                .iter()
                .find(|m| m.cmdline() == "initramfs")
            {
                let theirs = child.give(Handle(m.handle), Rights::READ)?;
                let _ = write!(args, " initramfs={}:{}", theirs.0, m.size);
            }
        }
        if !self.image.cmdline.is_empty() {
            args.push(' ');
            args.push_str(self.image.cmdline);
        }
        Ok(args)
    }
}

/// Sets the kernel limits the manifest names (`limits=`) on `process`,
/// before it holds anything; the others stay the kernel's defaults.
fn set_limits(entry: &Entry, process: Handle) -> Result<(), StartError> {
    if entry.limits.is_empty() {
        return Ok(());
    }
    let mut limits = libsys::limits::usage(process)
        .map_err(|e| StartError::Syscall("process_limits", e))?
        .limits;
    for &(resource, max) in &entry.limits {
        limits.set(resource, max);
    }
    libsys::limits::set(process, &limits).map_err(|e| StartError::Syscall("process_limits_set", e))
}

/// Asks the memory server to show process `id` any space (`views`).
pub(crate) fn allow_views(mm: &Endpoint, id: u64) -> Result<(), StartError> {
    match rpc::call::<MmRequest, MmReply>(mm, &MmRequest::AllowViews { id }) {
        Ok(MmReply::Done) => Ok(()),
        Ok(MmReply::Error(e)) => Err(StartError::MmRefusedViews(e)),
        Ok(_) => Err(StartError::MmUnexpected),
        Err(e) => Err(StartError::MmCall(e)),
    }
}

/// Takes the device memory the manifest grants process `id` (`device=`)
/// from the kernel and hands it to the memory server, which lets that
/// process alone map it (`MapPhysical`).
pub(crate) fn give_devices(
    mm: &Endpoint,
    id: u64,
    devices: &[(u64, u64)],
) -> Result<(), StartError> {
    let control = libsys::env::init_info()
        .map(|info| Handle(info.device_control))
        .ok_or(StartError::NoDeviceControl)?;
    for chunk in devices.chunks(libsys::abi::ipc::MAX_HANDLES) {
        let mut regions = Vec::new();
        for &(phys, pages) in chunk {
            let region = MemoryRegion::device(control, phys, pages)
                .map_err(|e| StartError::DeviceMemory(phys, pages, e))?;
            regions.push(region);
        }
        let raw: Vec<Handle> = regions.iter().map(|r| r.raw()).collect();
        match rpc::call_with::<MmRequest, MmReply>(mm, &MmRequest::GiveDevice { id }, &raw) {
            Ok((MmReply::Done, _)) => {}
            Ok((MmReply::Error(e), _)) => return Err(StartError::MmRefusedDevice(e)),
            Ok(_) => return Err(StartError::MmUnexpected),
            Err(e) => return Err(StartError::MmCall(e)),
        }
    }
    Ok(())
}

/// The boot framebuffer `entry` is to get (its manifest option
/// `framebuffer`), its geometry checked; `None` if it asks for none, or
/// (said on the log) if the loader gave none or one that is refused —
/// the process then starts without it (a console server keeps its serial
/// line).
pub(crate) fn framebuffer_for(info: &InitInfo, entry: &Entry) -> Option<FramebufferInfo> {
    if !entry.framebuffer {
        return None;
    }
    let Some(fb) = info.framebuffer() else {
        println!(
            "{}: no boot framebuffer to give (the loader gave none)",
            entry.name
        );
        return None;
    };
    match fb.check() {
        Ok(()) => Some(*fb),
        Err(e) => {
            eprintln!("{}: the boot framebuffer {fb} is refused: {e}", entry.name);
            None
        }
    }
}

/// Gives the memory server the pages of `fb` as device memory process
/// `id` alone may map. A failure is logged, not fatal: the process has
/// been told the geometry, its mapping will be refused, and a console
/// server goes on without the framebuffer.
pub(crate) fn give_framebuffer(mm: &Endpoint, id: u64, fb: &FramebufferInfo) {
    let given = fb
        .page_range()
        .map_err(|e| alloc::format!("{e}"))
        .and_then(|range| give_devices(mm, id, &[range]).map_err(|e| alloc::format!("{e}")));
    if let Err(why) = given {
        eprintln!("cannot give the framebuffer {fb} to process {id}: {why}");
    }
}

/// The interrupt line and I/O ports the manifest gives `entry`, each
/// narrowed to exactly what it names; appends their tokens to `args`.
fn grant_hardware(
    info: &InitInfo,
    entry: &Entry,
    child: &mut dyn NewProcess,
    args: &mut String,
) -> Result<(), StartError> {
    if let Some(line) = entry.irq {
        let control = Borrowed::of(Handle(info.irq_control), IrqControl);
        let irq = match line {
            IrqLine::Isa(n) => control.isa(n),
            IrqLine::Gsi(n) => control.gsi(n),
        }
        .map_err(|e| StartError::Irq(line, e))?;
        let theirs = child.give(irq.raw(), Rights::MANAGE)?;
        let _ = write!(args, " @irq={}", theirs.0);
    }
    let all = Borrowed::of(Handle(info.io_ports), IoPorts);
    for &(first, count) in &entry.ports {
        let part = all
            .derive(first, count)
            .map_err(|e| StartError::Ports(first, count, e))?;
        let theirs = child.give(part.raw(), Rights::MANAGE)?;
        let _ = write!(args, " @ports={}:{first}:{count}", theirs.0);
    }
    Ok(())
}

/// `pages` zeroed pages for the child, as a region of their own (with
/// `rights`) in the child's handle table; returns its number there.
fn give_pages(
    child: &mut dyn NewProcess,
    pages: u64,
    rights: Rights,
) -> Result<Handle, StartError> {
    let run = child.alloc(pages)?;
    let part = Borrowed::of(run.region, MemoryRegion)
        .derive(run.first, run.count, rights)
        .map_err(StartError::DeriveRegion)?;
    child.give(part.raw(), rights)
}
