//! Memory: `map`, `unmap`, `protect` (of pages in an address space the
//! caller holds a handle to), `region_derive`, `region_info`, and
//! `device_region` (device memory from the device-memory control).
//!
//! The arguments come decoded (`libsys::abi::args`: page ranges aligned,
//! in the user half and at most `MAX_MAP_PAGES`, protections valid). A
//! multi-page request is checked whole before any page changes: every
//! page must be free (for `map`) or mapped (for `unmap`, `protect`), and a
//! `map` that runs out of page-table memory half-way undoes what it did.

use alloc::sync::Arc;

use libsys::abi::args::{DeviceRegion, HandleOut, Map, Protect, RegionDerive, Unmap};
use libsys::abi::{Handle, Protection, RegionInfo, Rights, SysError, PAGE_SIZE};

use libsys::abi::limits::Resource;

use super::caller;
use crate::arch::x86_64::trap::TrapFrame;
use crate::mem::addrspace::AsError;
use crate::mem::usercopy::UserPtr;
use crate::obj::handle::{self as kobject, lookup, DeviceControl, Found, KObject};
use crate::obj::process::Process;
use crate::obj::region::{Region, RegionKind};

fn error(e: AsError) -> SysError {
    match e {
        AsError::NotUser(_) => SysError::BadAddress,
        AsError::AlreadyMapped(_) => SysError::Exists,
        AsError::NotMapped(_) => SysError::NotFound,
        AsError::NoMemory => SysError::NoMemory,
        AsError::WriteAndExecute | AsError::InvalidProtection => SysError::InvalidArgument,
    }
}

/// What a region handle's rights allow a mapping of it.
fn max_protection(rights: Rights) -> Protection {
    let mut max = Protection::empty();
    if rights.contains(Rights::READ) {
        max |= Protection::READ;
    }
    if rights.contains(Rights::WRITE) {
        max |= Protection::WRITE;
    }
    if rights.contains(Rights::EXEC) {
        max |= Protection::EXEC;
    }
    max
}

fn target(caller: &Process, handle: Handle) -> Result<Arc<Process>, SysError> {
    Ok(lookup::<Process>(caller, handle, Rights::MAP)?.object)
}

/// `map(process, address, region, first page, pages, protection)`.
pub fn map(args: Map, _: &mut TrapFrame) -> Result<u64, SysError> {
    let Map {
        address,
        first,
        pages,
        replace,
        protection: prot,
        ..
    } = args;
    let process = caller()?;
    let target = target(&process, args.process)?;
    let Found {
        object: region,
        rights,
        ..
    } = lookup::<Region>(&process, args.region, Rights::READ)?;
    let device = region.kind == RegionKind::Device;
    let mut max = max_protection(rights);
    if device {
        // Registers are data: never executable.
        max.remove(Protection::EXEC);
    }
    if !max.contains(prot) {
        return Err(SysError::NoRights);
    }
    let last = first.checked_add(pages).ok_or(SysError::InvalidArgument)?;
    if last > region.pages {
        return Err(SysError::InvalidArgument);
    }
    // The `PageTables` limit: what the address space owns is its tables
    // (a region's pages are not its own), so once that reaches the limit
    // no more is mapped; one call makes at most a table per page more.
    let tables_max = target.account.limit(Resource::PageTables);
    target
        .with_aspace(|aspace| {
            if aspace.frames() >= tables_max {
                return Err(SysError::OutOfResources);
            }
            // Without `replace`, a page mapped already fails the mapping
            // below, which undoes the pages before it: nothing changes.
            for i in 0..pages {
                if replace && aspace.is_mapped(address + i * PAGE_SIZE) {
                    aspace.unmap(address + i * PAGE_SIZE).map_err(error)?;
                }
            }
            for i in 0..pages {
                let phys = region.base + (first + i) * PAGE_SIZE;
                if let Err(e) = aspace.map_frame(address + i * PAGE_SIZE, phys, prot, max, device) {
                    for j in 0..i {
                        let _ = aspace.unmap(address + j * PAGE_SIZE);
                    }
                    return Err(error(e));
                }
            }
            Ok(0)
        })
        .ok_or(SysError::PeerDied)?
}

/// `unmap(process, address, pages)`.
pub fn unmap(args: Unmap, _: &mut TrapFrame) -> Result<u64, SysError> {
    let Unmap { address, pages, .. } = args;
    let process = caller()?;
    let target = target(&process, args.process)?;
    target
        .with_aspace(|aspace| {
            for i in 0..pages {
                if aspace.translate(address + i * PAGE_SIZE).is_none() {
                    return Err(SysError::NotFound);
                }
            }
            for i in 0..pages {
                aspace.unmap(address + i * PAGE_SIZE).map_err(error)?;
            }
            Ok(0)
        })
        .ok_or(SysError::PeerDied)?
}

/// `protect(process, address, pages, protection)`.
pub fn protect(args: Protect, _: &mut TrapFrame) -> Result<u64, SysError> {
    let Protect {
        address,
        pages,
        protection: prot,
        ..
    } = args;
    let process = caller()?;
    let target = target(&process, args.process)?;
    target
        .with_aspace(|aspace| {
            // Every page is checked (mapped, and allowed the protection)
            // before any changes.
            for i in 0..pages {
                aspace
                    .can_protect(address + i * PAGE_SIZE, prot)
                    .map_err(error)?;
            }
            for i in 0..pages {
                aspace
                    .protect(address + i * PAGE_SIZE, prot)
                    .map_err(error)?;
            }
            Ok(0)
        })
        .ok_or(SysError::PeerDied)?
}

/// `region_derive(region, first page, pages, rights)` → a handle to that
/// part of the region with `rights` (a subset of the handle's).
pub fn region_derive(args: RegionDerive, _: &mut TrapFrame) -> Result<u64, SysError> {
    let rights = args.rights;
    let process = caller()?;
    let Found {
        object: region,
        rights: held,
        ..
    } = lookup::<Region>(&process, args.region, Rights::MANAGE)?;
    if !held.contains(rights) {
        return Err(SysError::NoRights);
    }
    let charge = process.account.charge(Resource::Regions)?;
    let part = region.derive(args.first, args.pages, charge)?;
    let entry = kobject::entry(KObject::MemoryRegion(part), rights, 0);
    let handle = process.handles.lock().insert(entry)?;
    Ok(u64::from(handle.0))
}

/// `region_info(region, out)`: its physical base and size.
pub fn region_info(args: HandleOut, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let out = UserPtr::<RegionInfo>::new(args.out)?;
    let process = caller()?;
    let region = lookup::<Region>(&process, args.handle, Rights::empty())?.object;
    let info = RegionInfo {
        handle: args.handle.0,
        _reserved: 0,
        base: region.base,
        pages: region.pages,
    };
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| out.write(aspace, &info))?;
    Ok(0)
}

/// `device_region(control, phys, pages)` → a handle (READ, WRITE, MANAGE)
/// to device memory `[phys, phys + pages * PAGE_SIZE)`: a range that touches no
/// RAM the memory map lists and no device the kernel drives
/// (`kcore::devmem`), else `NotAllowed`; unaligned, empty or beyond the
/// physical address space: `InvalidArgument`.
pub fn device_region(args: DeviceRegion, _: &mut TrapFrame) -> Result<u64, SysError> {
    let DeviceRegion { phys, pages, .. } = args;
    let process = caller()?;
    lookup::<DeviceControl>(&process, args.control, Rights::MANAGE)?;
    let info = crate::arch::bootinfo::get();
    let forbidden = info
        .memory_map
        .iter()
        .filter(|e| !is_device_memory(e.entry_type))
        .map(|e| (e.base, e.end()))
        .chain(crate::mem::kspace::kernel_devices());
    kcore::devmem::check(phys, pages, forbidden, physical_limit()).map_err(|e| match e {
        kcore::devmem::DeviceRangeError::Invalid => SysError::InvalidArgument,
        kcore::devmem::DeviceRangeError::Refused => SysError::NotAllowed,
    })?;
    let charge = process.account.charge(Resource::Regions)?;
    let region = Region::charged(phys, pages, RegionKind::Device, Some(charge));
    let rights = Rights::READ | Rights::WRITE | Rights::MANAGE;
    let entry = kobject::entry(KObject::MemoryRegion(region), rights, 0);
    let handle = process.handles.lock().insert(entry)?;
    Ok(u64::from(handle.0))
}

/// Memory-map entries that are not RAM: what a device may live in.
fn is_device_memory(kind: limine::memory_map::EntryType) -> bool {
    use limine::memory_map::EntryType;
    kind == EntryType::RESERVED || kind == EntryType::FRAMEBUFFER
}

/// One past the highest physical address the CPU can form (CPUID
/// 0x8000_0008, EAX bits 0–7; 36 bits if the leaf is missing).
fn physical_limit() -> u64 {
    let highest = core::arch::x86_64::__cpuid(0x8000_0000).eax;
    let bits = if highest >= 0x8000_0008 {
        core::arch::x86_64::__cpuid(0x8000_0008).eax & 0xff
    } else {
        36
    };
    1u64 << bits.clamp(32, 52)
}
