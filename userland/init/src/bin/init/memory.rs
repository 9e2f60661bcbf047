//! Memory at start-up: the boot manifest `init` reads from its module, and
//! the pages it hands the memory server once `mm` has registered (all it
//! does not keep for itself and the processes it builds).
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;

use libsys::abi::{Handle, InitInfo, Protection, Rights};
use libsys::handle::{Borrowed, Endpoint, MemoryRegion, OwnedHandle};
use libsys::mem::{Memory, Pages};
use libsys::proto::mm::{Reply as MmReply, Request as MmRequest};
use libsys::rpc;
use libsys::{eprintln, println};

use crate::error::SetupError;
use crate::Init;

impl Init {
    /// Hands the memory server every page `init` does not keep: the
    /// memory regions it does not use, and the rest of its own beyond what
    /// the manifest's `memory=` grants and restarts of the processes it
    /// builds itself may need.
    pub(crate) fn give_memory(&mut self, control: Handle) {
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
            if let Ok(h) = Borrowed::of(Handle(r.handle), |h| h).dup(all, None) {
                regions.push(h);
            }
        }
        let spare = self.mem.available().saturating_sub(keep);
        if spare > 0 {
            match self.mem.alloc(spare) {
                Ok(run) => match Borrowed::of(mine, MemoryRegion).derive(run.first, run.count, all)
                {
                    Ok(part) => regions.push(part.0),
                    Err(e) => eprintln!("cannot derive memory for mm: {e}"),
                },
                Err(e) => eprintln!("cannot set {spare} pages apart for mm: {e}"),
            }
        }
        let mm = Borrowed::of(control, Endpoint);
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
}

/// The boot manifest: the first module whose name starts with `manifest`.
pub(crate) fn read_manifest(info: &InitInfo, mem: &mut Memory) -> Result<String, SetupError> {
    let module = info
        .modules()
        .iter()
        .find(|m| m.name().starts_with("manifest"))
        .ok_or(SetupError::NoManifest)?;
    let pages = Pages {
        region: Handle(module.handle),
        first: 0,
        count: module.size.div_ceil(libsys::abi::PAGE_SIZE).max(1),
    };
    // Unmapped again when `view` goes, at the end of this function.
    let view = mem
        .map_view(pages, Protection::READ)
        .map_err(SetupError::MapManifest)?;
    let bytes = view.bytes().get(..module.size as usize).unwrap_or(&[]);
    let text = core::str::from_utf8(bytes)
        .map(String::from)
        .map_err(|_| SetupError::ManifestNotUtf8)?;
    println!("manifest {} ({} bytes)", module.name(), module.size);
    Ok(text)
}
