//! Memory: `map`, `unmap`, `protect` (of pages in an address space the
//! caller holds a handle to), `region_derive`, `region_info`, and
//! `device_region` (device memory from the device-memory control).
//!
//! A multi-page request is checked whole before any page changes: every
//! page must be free (for `map`) or mapped (for `unmap`, `protect`), and a
//! `map` that runs out of page-table memory half-way undoes what it did.

use alloc::sync::Arc;

use libsys::abi::{Handle, Protection, RegionInfo, Rights, SysError, MAP_REPLACE};

use super::caller;
use crate::arch::x86_64::trap::TrapFrame;
use crate::mem::addrspace::{AsError, USER_END};
use crate::mem::usercopy::UserPtr;
use crate::obj::handle::{self as kobject, lookup, DeviceControl, Found, KObject};
use crate::obj::process::Process;
use crate::obj::region::{Region, RegionKind};

/// The most pages one call maps: 1 GiB.
const MAX_PAGES: u64 = 1 << 18;

fn error(e: AsError) -> SysError {
    match e {
        AsError::NotUser(_) => SysError::BadAddress,
        AsError::AlreadyMapped(_) => SysError::Exists,
        AsError::NotMapped(_) => SysError::NotFound,
        AsError::NoMemory => SysError::NoMemory,
        AsError::WriteAndExecute | AsError::InvalidProtection => SysError::InvalidArgument,
    }
}

/// A page range in user space: page-aligned, 1 to [`MAX_PAGES`] pages,
/// not wrapping, below [`USER_END`].
fn range(address: u64, pages: u64) -> Result<(), SysError> {
    if pages == 0 || pages > MAX_PAGES {
        return Err(SysError::BadLength);
    }
    let end = address
        .checked_add(pages * 4096)
        .ok_or(SysError::BadAddress)?;
    if address % 4096 != 0 || address == 0 || end > USER_END {
        return Err(SysError::BadAddress);
    }
    Ok(())
}

fn protection(raw: u64) -> Result<Protection, SysError> {
    Protection::from_bits(raw)
        .filter(|p| {
            p.contains(Protection::READ) && !p.contains(Protection::WRITE | Protection::EXEC)
        })
        .ok_or(SysError::InvalidArgument)
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

fn target(caller: &Process, raw: u64) -> Result<Arc<Process>, SysError> {
    Ok(lookup::<Process>(caller, Handle::from_raw(raw)?, Rights::MAP)?.object)
}

/// `map(process, address, region, first page, pages, protection)`.
pub fn map(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let (address, first, pages) = (frame.rsi, frame.r10, frame.r8);
    range(address, pages)?;
    let replace = frame.r9 & MAP_REPLACE != 0;
    let prot = protection(frame.r9 & !MAP_REPLACE)?;
    let process = caller()?;
    let target = target(&process, frame.rdi)?;
    let Found {
        object: region,
        rights,
        ..
    } = lookup::<Region>(&process, Handle::from_raw(frame.rdx)?, Rights::READ)?;
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
    target
        .with_aspace(|aspace| {
            for i in 0..pages {
                if aspace.is_mapped(address + i * 4096) {
                    if !replace {
                        return Err(SysError::Exists);
                    }
                    aspace.unmap(address + i * 4096).map_err(error)?;
                }
            }
            for i in 0..pages {
                let phys = region.base + (first + i) * 4096;
                if let Err(e) = aspace.map_frame(address + i * 4096, phys, prot, max, device) {
                    for j in 0..i {
                        let _ = aspace.unmap(address + j * 4096);
                    }
                    return Err(error(e));
                }
            }
            Ok(0)
        })
        .ok_or(SysError::PeerDied)?
}

/// `unmap(process, address, pages)`.
pub fn unmap(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let (address, pages) = (frame.rsi, frame.rdx);
    range(address, pages)?;
    let process = caller()?;
    let target = target(&process, frame.rdi)?;
    target
        .with_aspace(|aspace| {
            for i in 0..pages {
                if aspace.translate(address + i * 4096).is_none() {
                    return Err(SysError::NotFound);
                }
            }
            for i in 0..pages {
                aspace.unmap(address + i * 4096).map_err(error)?;
            }
            Ok(0)
        })
        .ok_or(SysError::PeerDied)?
}

/// `protect(process, address, pages, protection)`.
pub fn protect(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let (address, pages) = (frame.rsi, frame.rdx);
    range(address, pages)?;
    let prot = protection(frame.r10)?;
    let process = caller()?;
    let target = target(&process, frame.rdi)?;
    target
        .with_aspace(|aspace| {
            // Every page is checked (mapped, and allowed the protection)
            // before any changes.
            for i in 0..pages {
                aspace
                    .can_protect(address + i * 4096, prot)
                    .map_err(error)?;
            }
            for i in 0..pages {
                aspace.protect(address + i * 4096, prot).map_err(error)?;
            }
            Ok(0)
        })
        .ok_or(SysError::PeerDied)?
}

/// `region_derive(region, first page, pages, rights)` → a handle to that
/// part of the region with `rights` (a subset of the handle's).
pub fn region_derive(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let rights = Rights::from_raw(frame.r10)?;
    let process = caller()?;
    let Found {
        object: region,
        rights: held,
        ..
    } = lookup::<Region>(&process, Handle::from_raw(frame.rdi)?, Rights::MANAGE)?;
    if !held.contains(rights) {
        return Err(SysError::NoRights);
    }
    let part = region.derive(frame.rsi, frame.rdx)?;
    let entry = kobject::entry(KObject::MemoryRegion(part), rights, 0);
    let handle = process.handles.lock().insert(entry)?;
    Ok(u64::from(handle.0))
}

/// `region_info(region, out)`: its physical base and size.
pub fn region_info(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let out = UserPtr::<RegionInfo>::new(frame.rsi)?;
    let process = caller()?;
    let region = lookup::<Region>(&process, Handle::from_raw(frame.rdi)?, Rights::empty())?.object;
    let info = RegionInfo {
        handle: frame.rdi as u32,
        _reserved: 0,
        base: region.base,
        pages: region.pages,
    };
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| out.write(aspace, &info))?;
    Ok(0)
}

/// `device_region(control, phys, pages)` → a handle (READ, WRITE, MANAGE)
/// to device memory `[phys, phys + pages * 4096)`: a range that touches no
/// RAM the memory map lists and no device the kernel drives
/// (`kcore::devmem`), else `NotAllowed`; unaligned, empty or beyond the
/// physical address space: `InvalidArgument`.
pub fn device_region(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let (phys, pages) = (frame.rsi, frame.rdx);
    let process = caller()?;
    lookup::<DeviceControl>(&process, Handle::from_raw(frame.rdi)?, Rights::MANAGE)?;
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
    let region = Region::new(phys, pages, RegionKind::Device);
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
