//! What the first process starts with: a handle to itself and to its
//! thread, the IRQ, device-memory, console, scheduling and power
//! controls, every I/O port, all free physical memory (as
//! memory regions) and every boot module (as a read-only region), listed
//! in an [`InitInfo`] mapped read-only at [`INIT_INFO_ADDR`], with the
//! boot framebuffer's geometry (its memory is device memory, reached
//! through the device-memory control).
//!
//! The kernel keeps a pool of frames for its own objects — a quarter of the
//! free memory, at least 32 MiB — and gives the rest away: the first
//! process (`init`) then decides who gets what.

use alloc::sync::Arc;
use libsys::abi::PAGE_SIZE;

use libsys::abi::{
    InitInfo, ModuleInfo, Protection, RegionInfo, Rights, ServiceInfo, INIT_INFO_ADDR, MODULES_MAX,
    REGIONS_MAX, SERVICES_MAX,
};

use crate::arch::bootinfo::BootInfo;
use crate::mem::frames as memory;
use crate::mem::kspace;
use crate::obj::handle::{self, KObject};
use crate::obj::process::{Process, SpawnError};
use crate::obj::region::{Region, RegionKind};
use crate::obj::service;
use crate::obj::thread::Thread;

/// The least the kernel keeps for itself: 32 MiB.
const KERNEL_POOL_MIN: u64 = 8192;

/// Gives `process` (whose first thread is `thread`) the first process's
/// handles — at most `memory_limit` pages of memory among them — and maps
/// its [`InitInfo`]. With `placement=mono` on the command line it also
/// gets a handle to each server core the kernel runs (`obj::service`).
pub fn give(
    process: &Arc<Process>,
    thread: &Arc<Thread>,
    info: &BootInfo,
    memory_limit: u64,
) -> Result<(), SpawnError> {
    let mut init = InitInfo {
        magic: InitInfo::MAGIC,
        self_process: 0,
        self_thread: 0,
        irq_control: 0,
        io_ports: 0,
        device_control: 0,
        console_control: 0,
        region_count: 0,
        module_count: 0,
        regions: [RegionInfo::default(); REGIONS_MAX],
        modules: [ModuleInfo::default(); MODULES_MAX],
        service_count: 0,
        sched_control: 0,
        power_control: 0,
        services: [ServiceInfo::default(); SERVICES_MAX],
        // Checked by init, which decides who may draw on it.
        framebuffer: info.framebuffer.map(|fb| fb.geometry()).unwrap_or_default(),
    };
    {
        let mut handles = process.handles.lock();
        let mut give = |object: KObject, rights: Rights| -> Result<u32, SpawnError> {
            handles
                .insert(handle::entry(object, rights, 0))
                .map(|h| h.0)
                .map_err(|_| SpawnError::NoMemory)
        };
        init.self_process = give(
            KObject::Process(handle::Counted::new(process.clone())),
            Rights::MAP | Rights::MANAGE,
        )?;
        init.self_thread = give(
            KObject::Thread(handle::Counted::new(thread.clone())),
            Rights::MANAGE,
        )?;
        init.irq_control = give(KObject::IrqControl, Rights::MANAGE)?;
        init.io_ports = give(
            KObject::IoPorts {
                first: 0,
                count: 65536,
            },
            Rights::MANAGE,
        )?;
        init.device_control = give(KObject::DeviceControl, Rights::MANAGE)?;
        init.console_control = give(KObject::ConsoleControl, Rights::MANAGE)?;
        init.sched_control = give(KObject::SchedControl, Rights::MANAGE)?;
        init.power_control = give(KObject::PowerControl, Rights::MANAGE)?;
        let ram_rights = Rights::READ | Rights::WRITE | Rights::EXEC | Rights::MANAGE;
        let keep = (memory::free_frames() / 4).max(KERNEL_POOL_MIN);
        for (base, pages) in memory::take_user_memory(keep, memory_limit) {
            if init.region_count as usize == REGIONS_MAX {
                crate::printk!(Warning, "init: more than {REGIONS_MAX} memory runs; {pages} pages at {base:#x} not given");
                continue;
            }
            let handle = give(
                KObject::MemoryRegion(Region::new(base, pages, RegionKind::Ram)),
                ram_rights,
            )?;
            init.regions[init.region_count as usize] = RegionInfo {
                handle,
                _reserved: 0,
                base,
                pages,
            };
            init.region_count += 1;
        }
        crate::printk!(
            Info,
            "init: {} runs of free memory given",
            init.region_count
        );
        if info.modules.len() > MODULES_MAX {
            crate::printk!(
                Warning,
                "init: {} boot modules, {MODULES_MAX} given: the rest belong in the initramfs",
                info.modules.len()
            );
        }
        for module in info.modules.iter().take(MODULES_MAX) {
            if module.phys % PAGE_SIZE != 0 {
                continue;
            }
            let pages = module.size.div_ceil(PAGE_SIZE).max(1);
            let region = Region::new(module.phys, pages, RegionKind::Module);
            let handle = give(
                KObject::MemoryRegion(region),
                Rights::READ | Rights::EXEC | Rights::MANAGE,
            )?;
            let mut entry = ModuleInfo {
                handle,
                size: module.size,
                ..ModuleInfo::default()
            };
            copy_text(&mut entry.name, module.name());
            copy_text(&mut entry.cmdline, &module.cmdline);
            init.modules[init.module_count as usize] = entry;
            init.module_count += 1;
        }
        for service in service::for_placement(info.option("placement"))
            .into_iter()
            .take(SERVICES_MAX)
        {
            let mut entry = ServiceInfo::default();
            copy_text(&mut entry.name, service.name);
            entry.handle = give(
                KObject::Service(service),
                Rights::SEND | Rights::MINT | Rights::GRANT,
            )?;
            init.services[init.service_count as usize] = entry;
            init.service_count += 1;
        }
    }
    // `_start`'s third argument: where its InitInfo is.
    // SAFETY: the thread has not started; its first frame is at the top of
    // its kernel stack and nothing else reads it yet.
    unsafe { (*thread.user_frame()).rdx = INIT_INFO_ADDR };
    let phys = process
        .with_aspace(|aspace| aspace.map_zeroed(INIT_INFO_ADDR, Protection::READ))
        .ok_or(SpawnError::NoMemory)?
        .map_err(SpawnError::Memory)?;
    // SAFETY: the frame was just allocated for this page (RAM the HHDM
    // maps); InitInfo is plain data no larger than a page.
    unsafe { (kspace::phys_to_virt::<InitInfo>(phys)).write(init) };
    Ok(())
}

fn copy_text(out: &mut [u8], text: &str) {
    let n = text.len().min(out.len());
    out[..n].copy_from_slice(&text.as_bytes()[..n]);
}
