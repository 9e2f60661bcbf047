//! The requests the server answers itself, before the core: `init`'s
//! control requests (badge 0: `Give` RAM, `GiveDevice`, `Adopt`, `Exit`),
//! `ForkAs` (it carries the child's process handle), `SlabInfo` (the
//! server's own heap); every other request goes to the core. Handles a
//! request carries are taken here, checked (`region_info`,
//! `process_info`) and kept in the machine (`Real`) for as long as
//! their process lives; a process that died is forgotten at once
//! (`reap`).
#![forbid(unsafe_code)]

use alloc::vec::Vec;

use libsys::abi::{ObjectType, ProcessStatus, Rights, PAGE_SIZE};
use libsys::handle::{Notification, OwnedHandle, Process};
use libsys::proto::mm::{MmError, Reply, Request, CONTROL_BADGE, MAP_REGIONS_MAX, PAGER_BADGE};
use libsys::{eprintln, println};
use mm::{ImageId, Mm, SpaceId};

use crate::info;
use crate::real::{Device, Image, Ram};
use crate::rec;
use crate::Server;

/// Ids mm gives the processes `ForkAs` makes (init's ids are small).
pub(crate) const FORK_IDS: u64 = 1 << 40;

impl Server {
    /// One decoded request from `badge`, with the handles it carried;
    /// the reply and the handles to move to the caller.
    pub(crate) fn request(
        &mut self,
        badge: u64,
        request: Request,
        handles: Vec<OwnedHandle>,
    ) -> (Reply, Vec<OwnedHandle>) {
        let control = badge == CONTROL_BADGE;
        let refuse = (Reply::Error(MmError::NotAllowed), Vec::new());
        match request {
            Request::Give if control => (self.give(handles), Vec::new()),
            Request::GiveDevice { id } if control => (self.give_device(id, handles), Vec::new()),
            Request::Adopt {
                id,
                image_size,
                args,
            } if control => match self.adopt(id, image_size, &args, handles) {
                Ok((reply, give)) => (reply, give),
                Err(e) => (Reply::Error(e), Vec::new()),
            },
            Request::MapRegion { at, writable } if !control => (
                self.map_region(badge & !PAGER_BADGE, at, writable, handles),
                Vec::new(),
            ),
            Request::Exit { id } if control => {
                self.forget(id);
                (Reply::Done, Vec::new())
            }
            Request::Give
            | Request::GiveDevice { .. }
            | Request::Adopt { .. }
            | Request::Exit { .. } => refuse,
            Request::SlabInfo => (Reply::Slabs(info::slabinfo()), Vec::new()),
            Request::RegisterShrinker { bit, seeks } => (
                self.register_shrinker(badge, bit, seeks, handles),
                Vec::new(),
            ),
            Request::RegisterPageCache { pages, bit } => (
                self.register_page_cache(badge, pages, bit, handles),
                Vec::new(),
            ),
            Request::Exec {
                image_size,
                stack_len,
            } => match self.exec(image_size, stack_len, handles) {
                Ok((reply, give)) => (reply, give),
                Err(e) => (Reply::Error(e), Vec::new()),
            },
            Request::ForkAs => match self.fork(badge, handles) {
                Ok((reply, give)) => (reply, give),
                Err(e) => (Reply::Error(e), Vec::new()),
            },
            Request::Maps {
                pid: Some(pid),
                from,
            } => match self.space_of(badge, pid) {
                Ok(space) => {
                    let pid = Some(space);
                    self.pass_to_core(badge, Request::Maps { pid, from })
                }
                Err(e) => (Reply::Error(e), Vec::new()),
            },
            Request::Status { pid: Some(pid) } => match self.space_of(badge, pid) {
                Ok(space) => self.pass_to_core(badge, Request::Status { pid: Some(space) }),
                Err(e) => (Reply::Error(e), Vec::new()),
            },
            request => {
                drop(handles);
                match self.core.as_mut() {
                    Some(core) => (
                        rec::request(core, &mut self.real, badge, request),
                        Vec::new(),
                    ),
                    None => (Reply::Error(MmError::NoMemory), Vec::new()),
                }
            }
        }
    }

    /// `RegisterShrinker`: the notification the message carries (SIGNAL)
    /// is kept, to be signalled on `bit` when mm wants memory back.
    fn register_shrinker(
        &mut self,
        badge: u64,
        bit: u8,
        seeks: u32,
        handles: Vec<OwnedHandle>,
    ) -> Reply {
        let Ok([note]) = <[OwnedHandle; 1]>::try_from(handles) else {
            return Reply::Error(MmError::InvalidArgument);
        };
        match note.info() {
            Ok((ObjectType::Notification, rights)) if rights.contains(Rights::SEND) => {}
            _ => return Reply::Error(MmError::InvalidArgument),
        }
        let Some(core) = self.core.as_mut() else {
            return Reply::Error(MmError::NoMemory);
        };
        rec!("shrinker {badge} {bit} {seeks}");
        let registered = core.register_shrinker(badge, bit, seeks);
        rec_ret!(registered);
        match registered {
            Ok(id) => {
                self.shrinker_notes.insert((badge, bit), Notification(note));
                Reply::Shrinker { id }
            }
            Err(e) => Reply::Error(e),
        }
    }

    /// `RegisterPageCache`: the notification the message carries (SIGNAL)
    /// is kept, to be signalled on `bit` when file faults wait for pages.
    fn register_page_cache(
        &mut self,
        badge: u64,
        pages: u64,
        bit: u8,
        handles: Vec<OwnedHandle>,
    ) -> Reply {
        let Ok([note]) = <[OwnedHandle; 1]>::try_from(handles) else {
            return Reply::Error(MmError::InvalidArgument);
        };
        match note.info() {
            Ok((ObjectType::Notification, rights)) if rights.contains(Rights::SEND) && bit < 64 => {
            }
            _ => return Reply::Error(MmError::InvalidArgument),
        }
        let Some(core) = self.core.as_mut() else {
            return Reply::Error(MmError::NoMemory);
        };
        rec!("pagecache {badge} {pages}");
        let registered = core.register_page_cache(badge, pages);
        rec_ret!(registered);
        match registered {
            Ok(at) => {
                self.page_cache_note = Some((Notification(note), bit));
                Reply::Mapped(at)
            }
            Err(e) => Reply::Error(e),
        }
    }

    /// Reclaim: signals the shrinkers the core wants memory from.
    pub(crate) fn balance(&mut self) {
        let Some(core) = self.core.as_mut() else {
            return;
        };
        if core.below_low() {
            // kmem's slabs are mm's own shrinker: empty ones go back to
            // the buddy allocator (those it took beyond its region).
            libsys::heap::shrink();
        }
        let signal = core.balance();
        if !signal.is_empty() && rec::on() {
            for (owner, bit) in &signal {
                rec!("balance {owner} {bit}");
            }
        }
        for (owner, bit) in signal {
            if let Some(note) = self.shrinker_notes.get(&(owner, bit)) {
                let _ = note.signal(1 << bit);
            }
        }
    }

    /// A request the core answers, as is.
    fn pass_to_core(&mut self, badge: u64, request: Request) -> (Reply, Vec<OwnedHandle>) {
        match self.core.as_mut() {
            Some(core) => (
                rec::request(core, &mut self.real, badge, request),
                Vec::new(),
            ),
            None => (Reply::Error(MmError::NoMemory), Vec::new()),
        }
    }

    /// Whether `init` let `badge` look at every space (`AllowViews`).
    fn viewer(&self, badge: u64) -> bool {
        self.core.as_ref().is_some_and(|c| c.is_viewer(badge))
    }

    /// The space of process `pid` (the kernel's pid), for `badge` to look
    /// at: `NotAllowed` unless it is the caller's own or the caller is
    /// `init` (so a process learns nothing of another, not even whether
    /// it exists); `InvalidArgument` for `init` asking about a pid mm
    /// does not manage.
    fn space_of(&self, badge: u64, pid: u64) -> Result<SpaceId, MmError> {
        let space = self
            .pids
            .iter()
            .find(|(_, &p)| p == pid)
            .map(|(&space, _)| space);
        match space {
            Some(space) if badge == CONTROL_BADGE || space == badge || self.viewer(badge) => {
                Ok(space)
            }
            None if badge == CONTROL_BADGE || self.viewer(badge) => Err(MmError::InvalidArgument),
            _ => Err(MmError::NotAllowed),
        }
    }

    /// `GiveDevice`: device memory process `id` may map. The regions are
    /// kept (their handles map the frames) until the process is gone.
    fn give_device(&mut self, id: u64, handles: Vec<OwnedHandle>) -> Reply {
        let Some(core) = self.core.as_mut() else {
            return Reply::Error(MmError::NotAllowed);
        };
        if handles.is_empty() || !core.manages(id) {
            return Reply::Error(MmError::InvalidArgument);
        }
        for handle in handles {
            let Some(info) = info::region_info(handle.raw()) else {
                return Reply::Error(MmError::InvalidArgument);
            };
            rec!("device {:#x} {} {id}", info.base, info.pages);
            let added = core.add_device(info.base, info.pages, id);
            rec_ret!(added);
            if let Err(e) = added {
                return Reply::Error(e);
            }
            self.real.devices.push(Device {
                handle,
                first_pfn: info.base / PAGE_SIZE,
                pages: info.pages,
                owner: id,
            });
        }
        Reply::Done
    }

    /// `MapRegion`: the device-memory region the message carries becomes
    /// mappable by the caller (as `GiveDevice` would have made it), and
    /// is mapped. A region already given to this caller is not kept twice.
    fn map_region(
        &mut self,
        space: u64,
        at: Option<u64>,
        writable: bool,
        handles: Vec<OwnedHandle>,
    ) -> Reply {
        let Some(core) = self.core.as_mut() else {
            return Reply::Error(MmError::NoMemory);
        };
        let Ok([handle]) = <[OwnedHandle; 1]>::try_from(handles) else {
            return Reply::Error(MmError::InvalidArgument);
        };
        let Some(info) = info::region_info(handle.raw()) else {
            return Reply::Error(MmError::InvalidArgument);
        };
        let first_pfn = info.base / 4096;
        let devices = &mut self.real.devices;
        let known = devices
            .iter()
            .any(|d| d.owner == space && d.first_pfn == first_pfn && d.pages == info.pages);
        if !known {
            if devices.iter().filter(|d| d.owner == space).count() >= MAP_REGIONS_MAX {
                return Reply::Error(MmError::OverLimit);
            }
            rec!("device {:#x} {} {space}", info.base, info.pages);
            let added = core.add_device(info.base, info.pages, space);
            rec_ret!(added);
            if let Err(e) = added {
                return Reply::Error(e);
            }
            devices.push(Device {
                handle,
                first_pfn,
                pages: info.pages,
                owner: space,
            });
        }
        rec::request(
            core,
            &mut self.real,
            space,
            Request::MapPhysical {
                phys: info.base,
                pages: info.pages,
                at,
                writable,
            },
        )
    }

    /// `Give`: RAM to manage, before the first process is adopted (the
    /// core is built over all of it then).
    fn give(&mut self, handles: Vec<OwnedHandle>) -> Reply {
        for handle in handles {
            let Some(info) = info::region_info(handle.raw()) else {
                return Reply::Error(MmError::InvalidArgument);
            };
            if !self.real.spaces.is_empty() {
                // The buddy allocator is built once, over all the RAM.
                return Reply::Error(MmError::NotAllowed);
            }
            let first_pfn = info.base / PAGE_SIZE;
            let window = match self
                .real
                .map_here(handle.raw(), info.pages, Some(first_pfn))
            {
                Ok(window) => window,
                Err(e) => {
                    eprintln!("cannot map {} pages at {:#x}: {e}", info.pages, info.base);
                    return Reply::Error(MmError::InvalidArgument);
                }
            };
            self.real.ram.push(Ram {
                handle,
                first_pfn,
                pages: info.pages,
                window,
            });
        }
        let ranges: Vec<(u64, u64)> = self
            .real
            .ram
            .iter()
            .map(|r| (r.first_pfn * PAGE_SIZE, r.pages))
            .collect();
        if rec::on() {
            for &(base, pages) in &ranges {
                rec!("ram {base:#x} {pages}");
            }
            rec!("boot");
        }
        let made = Mm::new(&ranges);
        rec_ret!(made.as_ref().map(|core| core.total_pages()));
        match made {
            Ok(mut core) => {
                let seed = libsys::syscall::rdtsc();
                rec!("seed {seed}");
                core.seed_tokens(seed);
                let pages = core.total_pages();
                let windows = self
                    .real
                    .ram
                    .iter()
                    .map(|r| (r.first_pfn, r.pages, r.window.address()))
                    .collect();
                crate::heap::install(core.kernel_pages(), windows);
                core.keep_reserve();
                self.core = Some(core);
                println!("managing {pages} pages ({} MiB)", pages / 256);
                Reply::Given { pages }
            }
            Err(e) => Reply::Error(e),
        }
    }

    /// The image in region `handle` (`size` bytes): mapped here once.
    fn image(&mut self, handle: OwnedHandle, size: u64) -> Result<ImageId, MmError> {
        let info = info::region_info(handle.raw()).ok_or(MmError::InvalidArgument)?;
        if size == 0 || size > info.pages * PAGE_SIZE {
            return Err(MmError::BadImage);
        }
        let known = self.real.images.iter().position(|i| {
            i.as_ref()
                .is_some_and(|i| i.base == info.base && i.size == size)
        });
        if let Some(id) = known {
            return Ok(id as ImageId);
        }
        let window = self
            .real
            .map_here(handle.raw(), info.pages, None)
            .map_err(|_| MmError::BadImage)?;
        let image = Image {
            _handle: handle,
            base: info.base,
            size,
            window,
        };
        let id = match self.real.images.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                self.real.images.push(None);
                self.real.images.len() - 1
            }
        };
        if rec::on() {
            let headers =
                rec::elf_headers(image.window.bytes().get(..size as usize).unwrap_or(&[]));
            rec::data(format_args!("image {id} {size} {}", headers.len()), headers);
        }
        self.real.images[id] = Some(image);
        Ok(id as ImageId)
    }

    /// Two badged copies of the endpoint for space `id`: its requests, and
    /// its threads' page faults.
    fn handles_for(&self, id: SpaceId) -> Result<Vec<OwnedHandle>, MmError> {
        // GRANT: the process's own requests may carry handles (`ForkAs`
        // does, from a fork child using this handle).
        let client = self.endpoint.dup(Rights::SEND | Rights::GRANT, Some(id));
        let pager = self.endpoint.dup(Rights::SEND, Some(id | PAGER_BADGE));
        match (client, pager) {
            (Ok(c), Ok(p)) => Ok(alloc::vec![c.0, p.0]),
            _ => Err(MmError::NoMemory),
        }
    }

    /// Takes `process` (a handle with MAP and MANAGE to a process no space
    /// has) for space `id`, and watches it.
    fn take_process(&mut self, id: SpaceId, process: OwnedHandle) -> Result<(), MmError> {
        match process.info() {
            Ok((ObjectType::Process, rights)) if rights.contains(Rights::MAP | Rights::MANAGE) => {}
            _ => return Err(MmError::InvalidArgument),
        }
        let info = info::process_info(process.raw()).ok_or(MmError::InvalidArgument)?;
        if self.pids.values().any(|&pid| pid == info.pid) || self.real.spaces.contains_key(&id) {
            return Err(MmError::NotAllowed);
        }
        let process = Process(process);
        process
            .watch(&self.deaths, death_bit(id))
            .map_err(|_| MmError::InvalidArgument)?;
        self.pids.insert(id, info.pid);
        self.real.spaces.insert(id, process);
        Ok(())
    }

    fn adopt(
        &mut self,
        id: SpaceId,
        image_size: u64,
        args: &str,
        handles: Vec<OwnedHandle>,
    ) -> Result<(Reply, Vec<OwnedHandle>), MmError> {
        let [process, image] =
            <[OwnedHandle; 2]>::try_from(handles).map_err(|_| MmError::InvalidArgument)?;
        if self.core.is_none() {
            return Err(MmError::NoMemory);
        }
        let image = self.image(image, image_size)?;
        self.take_process(id, process)?;
        let core = self.core.as_mut().ok_or(MmError::NoMemory)?;
        rec::data(
            format_args!("adopt {id} {image} {}", args.len()),
            args.as_bytes(),
        );
        let adopted = rec::with_machine(&mut self.real, |m| core.adopt(id, image, args, m));
        rec_ret!(adopted);
        let adopted = match adopted {
            Ok(a) => a,
            Err(e) => {
                self.forget(id);
                return Err(e);
            }
        };
        let give = self.handles_for(id)?;
        Ok((
            Reply::Adopted {
                id,
                entry: adopted.entry,
                stack: adopted.stack,
                args_at: adopted.args_at,
                args_len: adopted.args_len,
            },
            give,
        ))
    }

    /// `Exec`: the handles are [process, image, stack]; the space is
    /// found by the process's pid (made if mm does not manage it yet:
    /// its id is then the pid, as the name service badges it).
    fn exec(
        &mut self,
        image_size: u64,
        stack_len: u64,
        handles: Vec<OwnedHandle>,
    ) -> Result<(Reply, Vec<OwnedHandle>), MmError> {
        let [process, image, stack] =
            <[OwnedHandle; 3]>::try_from(handles).map_err(|_| MmError::InvalidArgument)?;
        if self.core.is_none() {
            return Err(MmError::NoMemory);
        }
        match process.info() {
            Ok((ObjectType::Process, rights)) if rights.contains(Rights::MAP | Rights::MANAGE) => {}
            _ => return Err(MmError::InvalidArgument),
        }
        let pid = info::process_info(process.raw())
            .ok_or(MmError::InvalidArgument)?
            .pid;
        let stack_info = info::region_info(stack.raw()).ok_or(MmError::InvalidArgument)?;
        if stack_len > mm::EXEC_STACK_MAX || stack_len > stack_info.pages * PAGE_SIZE {
            return Err(MmError::InvalidArgument);
        }
        let top = self
            .real
            .read_region(stack.raw(), stack_len)
            .ok_or(MmError::InvalidArgument)?;
        drop(stack);
        let image = self.image(image, image_size)?;
        let known = self.pids.iter().find(|(_, &p)| p == pid).map(|(&id, _)| id);
        let id = match known {
            Some(id) => id,
            None => {
                self.take_process(pid, process)?;
                pid
            }
        };
        let core = self.core.as_mut().ok_or(MmError::NoMemory)?;
        rec::data(format_args!("exec {id} {image} {}", top.len()), &top);
        let execed = rec::with_machine(&mut self.real, |m| core.exec(id, image, &top, m));
        rec_ret!(execed);
        // An image no space uses (the old one, or a new one that failed)
        // is let go of.
        rec!("release {image}");
        core.release_if_unused(image);
        self.release_images();
        let entry = match execed {
            Ok(entry) => entry,
            Err(e) => {
                if !self.core.as_ref().is_some_and(|c| c.manages(id)) {
                    if known.is_some() {
                        // Past the point of no return: the old space is
                        // gone and the new one failed, so the process
                        // cannot go on (Linux sends SIGKILL there).
                        if let Some(process) = self.real.spaces.get(&id) {
                            eprintln!("exec of {pid} failed after its old space went: killed");
                            let _ = process.kill();
                        }
                    }
                    self.forget(id);
                }
                return Err(e);
            }
        };
        // What the old program had registered went with its space.
        self.real.devices.retain(|d| d.owner != id);
        self.shrinker_notes.retain(|&(owner, _), _| owner != id);
        let give = self.handles_for(id)?;
        Ok((Reply::Execed { id, entry }, give))
    }

    fn fork(
        &mut self,
        parent: SpaceId,
        handles: Vec<OwnedHandle>,
    ) -> Result<(Reply, Vec<OwnedHandle>), MmError> {
        let [child] =
            <[OwnedHandle; 1]>::try_from(handles).map_err(|_| MmError::InvalidArgument)?;
        if !self.core.as_ref().is_some_and(|c| c.manages(parent)) {
            return Err(MmError::NotAllowed);
        }
        // One pid space: the child's space is named by its pid (the badge
        // its name-service lookup of mm carries) unless that is taken.
        let pid = info::process_info(child.raw()).map(|i| i.pid);
        let id = match pid {
            Some(p)
                if !self.real.spaces.contains_key(&p) && !self.pids.values().any(|&q| q == p) =>
            {
                p
            }
            _ => {
                self.next_fork += 1;
                self.next_fork - 1
            }
        };
        self.take_process(id, child)?;
        let core = self.core.as_mut().ok_or(MmError::NoMemory)?;
        rec!("fork {parent} {id}");
        let forked = rec::with_machine(&mut self.real, |m| core.fork(parent, id, m));
        rec_ret!(forked);
        if let Err(e) = forked {
            self.forget(id);
            return Err(e);
        }
        let give = self.handles_for(id)?;
        Ok((Reply::Forked { id }, give))
    }

    /// Unmaps and lets go of the images no space uses any more.
    fn release_images(&mut self) {
        let Some(core) = self.core.as_mut() else {
            return;
        };
        while let Some(image) = core.take_released_image() {
            rec!("released {image}");
            // Dropping it unmaps its window and closes its handle.
            if let Some(image) = self.real.images.get_mut(image as usize) {
                drop(image.take());
            }
        }
    }

    /// Frees everything space `id` held and lets its process go.
    fn forget(&mut self, id: SpaceId) {
        if let Some(core) = self.core.as_mut() {
            rec!("exit {id}");
            let had = rec::with_machine(&mut self.real, |m| core.exit(id, m));
            rec_ret!(had);
        }
        self.let_go(id);
    }

    /// [`forget`](Self::forget) for a process that is dead: nothing is
    /// unmapped (its page tables are gone).
    fn forget_dead(&mut self, id: SpaceId) {
        if let Some(core) = self.core.as_mut() {
            rec!("dead {id}");
            let had = rec::with_machine(&mut self.real, |m| core.exit_dead(id, m));
            rec_ret!(had);
        }
        self.let_go(id);
    }

    /// What the server holds for space `id` (its core state gone).
    fn let_go(&mut self, id: SpaceId) {
        self.release_images();
        self.real.devices.retain(|d| d.owner != id);
        self.shrinker_notes.retain(|&(owner, _), _| owner != id);
        self.real.spaces.remove(&id);
        self.pids.remove(&id);
    }

    /// Frees the memory of every managed process that has died among
    /// those whose death bit ([`death_bit`]) is in `bits`: only they are
    /// asked for their status (a system call each).
    pub(crate) fn reap(&mut self, bits: u64) {
        // (id, whether the kernel said it is dead: a status that cannot
        // be read lets the process go too, but unmapped as if alive).
        let dead: Vec<(SpaceId, bool)> = self
            .real
            .spaces
            .iter()
            .filter(|&(&id, _)| bits & death_bit(id) != 0)
            .filter_map(|(&id, p)| match p.status() {
                Ok(ProcessStatus::Alive) => None,
                Ok(_) => Some((id, true)),
                Err(_) => Some((id, false)),
            })
            .collect();
        for (id, dead) in dead {
            if dead {
                self.forget_dead(id);
            } else {
                self.forget(id);
            }
        }
    }
}

/// The bit of mm's death notification a managed process's death sets:
/// one of 64 by its space id, so a death makes mm ask the status of the
/// processes that share its bit, not of every process.
pub(crate) fn death_bit(id: SpaceId) -> u64 {
    1 << (id % 64)
}
