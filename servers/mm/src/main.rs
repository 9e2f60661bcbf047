//! The `mm` server process: the core (`lib.rs`, `Mm`) behind IPC, with the
//! machine it needs made of system calls.
//!
//! - The memory `init` gives it (`Give`: memory regions) is mapped whole
//!   into this process at [`RAM_WINDOW`], so zeroing, copying and filling
//!   a frame is a memory operation here; a frame is mapped into a process
//!   with `map` on the region that holds it.
//! - ELF images (boot modules, from `Adopt`) are mapped read-only at
//!   [`IMAGE_WINDOW`], once each, for as long as a process uses them.
//! - One endpoint takes everything: page faults (through the pager handles
//!   it hands out, badged with `PAGER_BADGE`), requests from the processes
//!   it manages (badged with their id), and `init`'s control requests
//!   (badge 0). A notification bound to this thread says a managed
//!   process died; its memory is freed at once.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use libsys::abi::ipc::{FOREVER, LABEL_PAGE_FAULT, PAGER_KILL, PAGER_RESUME, PAYLOAD_MAX};
use libsys::abi::{
    Handle, ObjectType, ProcessInfo, ProcessStatus, RegionInfo, Rights, SysError, Syscall,
    MAP_REPLACE,
};
use libsys::handle::{Endpoint, Notification, OwnedHandle, Process};
use libsys::ipc::{self, Message, Received};
use libsys::proto::mm::{
    CacheInfo, MmError, Reply, Request, CACHES_MAX, CONTROL_BADGE, PAGER_BADGE,
};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST};
use libsys::syscall::call6;
use libsys::{eprintln, println};
use mm::{FaultOutcome, ImageId, Machine, MachineError, Mm, SpaceId};

libsys::entry!(main);

/// Where the memory mm manages is mapped in its own address space.
const RAM_WINDOW: u64 = 0x4000_0000_0000;
/// Where ELF images are mapped (read-only).
const IMAGE_WINDOW: u64 = 0x5000_0000_0000;
/// Ids mm gives the processes `ForkAs` makes (init's ids are small).
const FORK_IDS: u64 = 1 << 40;
const DEBUG: bool = false;

/// A memory region mm manages, and where it is mapped here.
struct Ram {
    handle: OwnedHandle,
    first_pfn: u64,
    pages: u64,
    at: u64,
}

/// Device memory one process may map (`GiveDevice`).
struct Device {
    handle: OwnedHandle,
    first_pfn: u64,
    pages: u64,
    owner: SpaceId,
}

/// An ELF image, mapped here.
struct Image {
    handle: OwnedHandle,
    base: u64,
    pages: u64,
    size: u64,
    at: u64,
}

/// The machine the core runs on: system calls on the processes' handles,
/// memory operations through the windows.
struct Real {
    me: Handle,
    ram: Vec<Ram>,
    /// Device memory `init` allowed a process (`GiveDevice`).
    devices: Vec<Device>,
    images: Vec<Option<Image>>,
    /// The process of each space.
    spaces: BTreeMap<SpaceId, Process>,
    next_ram: u64,
    next_image: u64,
}

fn failed(_: SysError) -> MachineError {
    MachineError::Failed
}

impl Real {
    fn ram(&self, pfn: u64) -> Option<&Ram> {
        self.ram
            .iter()
            .find(|r| (r.first_pfn..r.first_pfn + r.pages).contains(&pfn))
    }

    /// Where frame `pfn` is mapped here.
    fn window(&self, pfn: u64) -> *mut u8 {
        match self.ram(pfn) {
            Some(r) => (r.at + (pfn - r.first_pfn) * 4096) as *mut u8,
            // The core only names frames it was given.
            None => panic!("mm: frame {pfn:#x} is not memory mm manages"),
        }
    }

    fn process(&self, space: SpaceId) -> Result<Handle, MachineError> {
        self.spaces
            .get(&space)
            .map(|p| p.raw())
            .ok_or(MachineError::Failed)
    }

    /// Maps `pages` of region `region` into this process at a fresh
    /// window address; returns it.
    fn map_here(
        &mut self,
        region: Handle,
        pages: u64,
        prot: u64,
        ram: bool,
    ) -> Result<u64, SysError> {
        let next = if ram {
            &mut self.next_ram
        } else {
            &mut self.next_image
        };
        let at = *next;
        call6(
            Syscall::Map,
            [
                u64::from(self.me.0),
                at,
                u64::from(region.0),
                0,
                pages,
                prot,
            ],
        )?;
        // A guard page between mappings.
        *next += (pages + 1) * 4096;
        Ok(at)
    }

    /// Runs `call` on `[vaddr, vaddr + pages)`; if the kernel refuses the
    /// whole range (a page in it is not mapped), page by page, skipping
    /// the pages it refuses.
    fn each_page(
        &self,
        call: Syscall,
        space: SpaceId,
        vaddr: u64,
        pages: u64,
        extra: u64,
    ) -> Result<(), MachineError> {
        let process = u64::from(self.process(space)?.0);
        let args = |at: u64, n: u64| match call {
            Syscall::Protect => [process, at, n, extra, 0, 0],
            _ => [process, at, n, 0, 0, 0],
        };
        match call6(call, args(vaddr, pages)) {
            Ok(_) => Ok(()),
            Err(SysError::NotFound) => {
                for page in 0..pages {
                    let _ = call6(call, args(vaddr + page * 4096, 1));
                }
                Ok(())
            }
            Err(e) => Err(failed(e)),
        }
    }
}

impl Machine for Real {
    fn map(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pfn: u64,
        prot: u8,
        replace: bool,
    ) -> Result<(), MachineError> {
        let process = self.process(space)?;
        let (region, first_pfn) = match self.ram(pfn) {
            Some(ram) => (ram.handle.raw(), ram.first_pfn),
            None => self
                .devices
                .iter()
                .find(|d| (d.first_pfn..d.first_pfn + d.pages).contains(&pfn))
                .map(|d| (d.handle.raw(), d.first_pfn))
                .ok_or(MachineError::Failed)?,
        };
        // PROT_* are the ABI's protection bits.
        let flags = u64::from(prot) | if replace { MAP_REPLACE } else { 0 };
        call6(
            Syscall::Map,
            [
                u64::from(process.0),
                vaddr,
                u64::from(region.0),
                pfn - first_pfn,
                1,
                flags,
            ],
        )
        .map(|_| ())
        .map_err(failed)
    }

    fn unmap(&mut self, space: SpaceId, vaddr: u64, pages: u64) -> Result<(), MachineError> {
        self.each_page(Syscall::Unmap, space, vaddr, pages, 0)
    }

    fn protect(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pages: u64,
        prot: u8,
    ) -> Result<(), MachineError> {
        self.each_page(Syscall::Protect, space, vaddr, pages, u64::from(prot))
    }

    fn zero(&mut self, pfn: u64) {
        // SAFETY: the frame is a page of a region mapped read-write here
        // (the window), and the core hands it to no one while it fills it.
        unsafe { core::ptr::write_bytes(self.window(pfn), 0, 4096) }
    }

    fn copy(&mut self, from: u64, to: u64) {
        // SAFETY: as in `zero`; two different frames.
        unsafe { core::ptr::copy_nonoverlapping(self.window(from), self.window(to), 4096) }
    }

    fn write(&mut self, pfn: u64, at: usize, bytes: &[u8]) {
        let len = bytes.len().min(4096usize.saturating_sub(at));
        // SAFETY: as in `zero`; the bytes fit the frame from `at`.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), self.window(pfn).add(at), len) }
    }

    fn image(&self, image: ImageId) -> &[u8] {
        match self.images.get(image as usize) {
            // SAFETY: the image is mapped read-only at `at` for `pages`
            // pages until `take_released_image` lets it go; `size` is
            // within them.
            Some(Some(i)) => unsafe {
                core::slice::from_raw_parts(i.at as *const u8, i.size as usize)
            },
            _ => &[],
        }
    }
}

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
}

fn main(_args: &str) -> u64 {
    let Some(me) = libsys::env::self_process() else {
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
    if let Err(e) = libsys::names::register("mm", &endpoint) {
        eprintln!("cannot register: {e}");
        return 2;
    }
    let mut server = Server {
        core: None,
        real: Real {
            me,
            ram: Vec::new(),
            devices: Vec::new(),
            images: Vec::new(),
            spaces: BTreeMap::new(),
            next_ram: RAM_WINDOW,
            next_image: IMAGE_WINDOW,
        },
        endpoint,
        deaths,
        next_fork: FORK_IDS,
        pids: BTreeMap::new(),
    };
    server.serve()
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
            let reply = if received.signals().is_some() {
                self.reap();
                None
            } else {
                // Deaths first: a request may ask about memory they held.
                if self.deaths.poll().is_ok_and(|bits| bits != 0) {
                    self.reap();
                }
                Some(self.message(&received, &mut input))
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

    /// Answers one message.
    fn message(&mut self, received: &Received, input: &mut [u8; PAYLOAD_MAX]) -> Message {
        let msg = received.msg;
        let badge = received.badge;
        // SAFETY: the kernel just put these into our table.
        let handles: Vec<OwnedHandle> = msg
            .handles()
            .iter()
            .map(|&h| unsafe { OwnedHandle::from_raw(Handle(h as u32)) })
            .collect();
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
            return Message::new(LABEL_BAD_REQUEST);
        }
        let n = (msg.info.length as usize).min(PAYLOAD_MAX);
        // SAFETY: this thread's buffer; copied out before the reply is
        // written into it.
        input[..n].copy_from_slice(&unsafe { ipc::buffer() }[..n]);
        let Ok(request) = rpc::decode::<Request>(&input[..n]) else {
            return Message::new(LABEL_BAD_REQUEST);
        };
        let (reply, give) = self.request(badge, request, handles);
        // SAFETY: as above.
        let length = rpc::encode(&reply, unsafe { ipc::buffer() }).unwrap_or(0);
        let out = Message::new(LABEL_REPLY).with_payload(length as u16);
        if give.is_empty() {
            return out;
        }
        let raw: Vec<Handle> = give.into_iter().map(|h| h.into_raw()).collect();
        out.with_handles(&raw).moving_handles()
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
    ) -> Message {
        let Some(core) = self.core.as_mut() else {
            return Message::new(PAGER_KILL);
        };
        let outcome = core.fault(space, address, error, &mut self.real);
        if DEBUG {
            eprintln!("fault {space:#x} {address:#x}: {outcome:?}");
        }
        match outcome {
            FaultOutcome::Resume => Message::new(PAGER_RESUME),
            FaultOutcome::Kill(reason) if syscall => {
                if DEBUG {
                    eprintln!(
                        "refusing a system call's access of {space:#x}: {reason} at {address:#x}"
                    );
                }
                Message::new(PAGER_KILL)
            }
            FaultOutcome::Kill(reason) => {
                let who = self
                    .real
                    .spaces
                    .get(&space)
                    .and_then(|p| process_info(p.raw()));
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
        }
    }

    /// One decoded request from `badge`, with the handles it carried;
    /// the reply and the handles to move to the caller.
    fn request(
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
            Request::Exit { id } if control => {
                self.forget(id);
                (Reply::Done, Vec::new())
            }
            Request::Give
            | Request::GiveDevice { .. }
            | Request::Adopt { .. }
            | Request::Exit { .. } => refuse,
            Request::SlabInfo => (Reply::Slabs(slabinfo()), Vec::new()),
            Request::ForkAs => match self.fork(badge, handles) {
                Ok((reply, give)) => (reply, give),
                Err(e) => (Reply::Error(e), Vec::new()),
            },
            request => {
                drop(handles);
                match self.core.as_mut() {
                    Some(core) => (core.request(badge, request, &mut self.real), Vec::new()),
                    None => (Reply::Error(MmError::NoMemory), Vec::new()),
                }
            }
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
            let Some(info) = region_info(handle.raw()) else {
                return Reply::Error(MmError::InvalidArgument);
            };
            if let Err(e) = core.add_device(info.base, info.pages, id) {
                return Reply::Error(e);
            }
            self.real.devices.push(Device {
                handle,
                first_pfn: info.base / 4096,
                pages: info.pages,
                owner: id,
            });
        }
        Reply::Done
    }

    /// `Give`: RAM to manage, before the first process is adopted (the
    /// core is built over all of it then).
    fn give(&mut self, handles: Vec<OwnedHandle>) -> Reply {
        for handle in handles {
            let Some(info) = region_info(handle.raw()) else {
                return Reply::Error(MmError::InvalidArgument);
            };
            if !self.real.spaces.is_empty() {
                // The buddy allocator is built once, over all the RAM.
                return Reply::Error(MmError::NotAllowed);
            }
            let rw = 1 | 2;
            let at = match self.real.map_here(handle.raw(), info.pages, rw, true) {
                Ok(at) => at,
                Err(e) => {
                    eprintln!("cannot map {} pages at {:#x}: {e}", info.pages, info.base);
                    return Reply::Error(MmError::InvalidArgument);
                }
            };
            self.real.ram.push(Ram {
                handle,
                first_pfn: info.base / 4096,
                pages: info.pages,
                at,
            });
        }
        let ranges: Vec<(u64, u64)> = self
            .real
            .ram
            .iter()
            .map(|r| (r.first_pfn * 4096, r.pages))
            .collect();
        match Mm::new(&ranges) {
            Ok(mut core) => {
                core.seed_tokens(libsys::syscall::rdtsc());
                let pages = core.total_pages();
                self.core = Some(core);
                println!("managing {pages} pages ({} MiB)", pages / 256);
                Reply::Given { pages }
            }
            Err(e) => Reply::Error(e),
        }
    }

    /// The image in region `handle` (`size` bytes): mapped here once.
    fn image(&mut self, handle: OwnedHandle, size: u64) -> Result<ImageId, MmError> {
        let info = region_info(handle.raw()).ok_or(MmError::InvalidArgument)?;
        if size == 0 || size > info.pages * 4096 {
            return Err(MmError::BadImage);
        }
        let known = self.real.images.iter().position(|i| {
            i.as_ref()
                .is_some_and(|i| i.base == info.base && i.size == size)
        });
        if let Some(id) = known {
            return Ok(id as ImageId);
        }
        let at = self
            .real
            .map_here(handle.raw(), info.pages, 1, false)
            .map_err(|_| MmError::BadImage)?;
        let image = Image {
            handle,
            base: info.base,
            pages: info.pages,
            size,
            at,
        };
        match self.real.images.iter().position(Option::is_none) {
            Some(free) => {
                self.real.images[free] = Some(image);
                Ok(free as ImageId)
            }
            None => {
                self.real.images.push(Some(image));
                Ok((self.real.images.len() - 1) as ImageId)
            }
        }
    }

    /// Two badged copies of the endpoint for space `id`: its requests, and
    /// its threads' page faults.
    fn handles_for(&self, id: SpaceId) -> Result<Vec<OwnedHandle>, MmError> {
        let client = self.endpoint.dup(Rights::SEND, Some(id));
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
        let info = process_info(process.raw()).ok_or(MmError::InvalidArgument)?;
        if self.pids.values().any(|&pid| pid == info.pid) || self.real.spaces.contains_key(&id) {
            return Err(MmError::NotAllowed);
        }
        let process = Process(process);
        process
            .watch(&self.deaths, 1)
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
        let adopted = match core.adopt(id, image, args, &mut self.real) {
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
        let id = self.next_fork;
        self.next_fork += 1;
        self.take_process(id, child)?;
        let core = self.core.as_mut().ok_or(MmError::NoMemory)?;
        if let Err(e) = core.fork(parent, id, &mut self.real) {
            self.forget(id);
            return Err(e);
        }
        let give = self.handles_for(id)?;
        Ok((Reply::Forked { id }, give))
    }

    /// Frees everything space `id` held and lets its process go.
    fn forget(&mut self, id: SpaceId) {
        if let Some(core) = self.core.as_mut() {
            core.exit(id, &mut self.real);
            while let Some(image) = core.take_released_image() {
                if let Some(Some(i)) = self.real.images.get_mut(image as usize).map(Option::take) {
                    let _ = call6(
                        Syscall::Unmap,
                        [u64::from(self.real.me.0), i.at, i.pages, 0, 0, 0],
                    );
                    drop(i.handle);
                }
            }
        }
        self.real.devices.retain(|d| d.owner != id);
        self.real.spaces.remove(&id);
        self.pids.remove(&id);
    }

    /// Frees the memory of every managed process that has died.
    fn reap(&mut self) {
        let dead: Vec<SpaceId> = self
            .real
            .spaces
            .iter()
            .filter(|(_, p)| !matches!(p.status(), Ok(ProcessStatus::Alive)))
            .map(|(&id, _)| id)
            .collect();
        for id in dead {
            self.forget(id);
        }
    }
}

fn region_info(region: Handle) -> Option<RegionInfo> {
    let mut info = RegionInfo::default();
    call6(
        Syscall::RegionInfo,
        [u64::from(region.0), &mut info as *mut _ as u64, 0, 0, 0, 0],
    )
    .ok()?;
    Some(info)
}

fn process_info(process: Handle) -> Option<ProcessInfo> {
    let mut info = ProcessInfo::default();
    call6(
        Syscall::ProcessInfo,
        [u64::from(process.0), &mut info as *mut _ as u64, 0, 0, 0, 0],
    )
    .ok()?;
    Some(info)
}

/// This server's own slab caches (its heap), for `SlabInfo`.
fn slabinfo() -> heapless::Vec<CacheInfo, CACHES_MAX> {
    let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    libsys::heap::slabinfo()
        .take(CACHES_MAX)
        .map(|c| CacheInfo {
            name: c.name.chars().take(20).collect(),
            active_objs: narrow(c.active_objs),
            num_objs: narrow(c.num_objs),
            objsize: narrow(c.objsize),
            objperslab: c.objperslab,
            pagesperslab: c.pagesperslab,
            limit: c.limit,
            batchcount: c.batchcount,
            active_slabs: narrow(c.active_slabs),
            num_slabs: narrow(c.num_slabs),
        })
        .collect()
}
