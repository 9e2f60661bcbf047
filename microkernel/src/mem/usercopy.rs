//! User memory, as the kernel sees it: an allegation until checked.
//!
//! A system call's pointer arguments become a [`UserSlice`] (address and
//! length), which can only be read or written through a check against the
//! caller's address space: the whole range must lie in the user half, and
//! every page in it must be mapped, user-accessible, and writable when the
//! kernel is to write. A bad range is `BadAddress` (or `BadLength` when the
//! length is over the call's limit), and nothing is copied.
//!
//! Demand paging: a page of the caller's that is simply not there yet (or
//! is read-only for a write: copy-on-write) may be one its pager would map
//! on a touch. Handlers reach user memory through `ipc::pager::with_user`:
//! a failed check here notes that page ([`take_noted`]), and `with_user`
//! sends the thread's pager a page fault for it (outside the address-space
//! lock), as if the thread had touched it, and on `Resume` checks and
//! copies again. If the pager
//! refuses, the call fails with `BadAddress` as before: a bad pointer is
//! an error, not a kill.
//!
//! Why checking first is enough: the kernel is not preemptible and there is
//! one CPU, so nothing can change the mappings between the check and the
//! copy. The copy itself goes through the user address, between `stac` and
//! `clac` when the CPU has SMAP (everywhere else, SMAP keeps the kernel from
//! touching user pages by accident); for an address space that is not the
//! active one, it goes page by page through the HHDM instead.

use core::marker::PhantomData;
use core::sync::atomic::{AtomicU64, Ordering};
use libsys::abi::PAGE_SIZE;

use libsys::abi::{Protection, SysError};

use crate::arch::x86_64::cpu;
use crate::mem::addrspace::{AddrSpace, USER_END};
use crate::mem::kspace;

/// A range of user memory named by a system call.
#[derive(Clone, Copy, Debug)]
pub struct UserSlice {
    addr: u64,
    len: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// The page a failed check found missing or read-only in the active
/// address space: its address, with [`NOTED_WRITE`] and [`NOTED_PRESENT`]
/// in the low bits; 0 for none. One CPU and no preemption in the kernel,
/// so one slot serves: `ipc::pager::with_user` clears it, runs its closure
/// and takes it, with no switch in between.
static NOTED: AtomicU64 = AtomicU64::new(0);
/// The access was a write.
pub const NOTED_WRITE: u64 = 1 << 0;
/// The page was mapped (read-only): a write-protection fault.
pub const NOTED_PRESENT: u64 = 1 << 1;

/// Takes the page the last failed check noted (see [`NOTED`]), clearing
/// the slot; 0 if none. `ipc::pager::with_user` clears it before a try and
/// takes it after.
pub fn take_noted() -> u64 {
    NOTED.swap(0, Ordering::Relaxed)
}

impl UserSlice {
    /// The range `[addr, addr + len)`; fails with `BadLength` over `max`
    /// bytes and with `BadAddress` if it wraps or leaves the user half.
    pub fn new(addr: u64, len: u64, max: usize) -> Result<UserSlice, SysError> {
        if len > max as u64 {
            return Err(SysError::BadLength);
        }
        let end = addr.checked_add(len).ok_or(SysError::BadAddress)?;
        if end > USER_END {
            return Err(SysError::BadAddress);
        }
        Ok(UserSlice {
            addr,
            len: len as usize,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Every page of the range mapped for user access as `access` needs.
    fn check(&self, aspace: &AddrSpace, access: Access) -> Result<(), SysError> {
        if self.len == 0 {
            return Ok(());
        }
        let first = self.addr & !0xfff;
        let last = (self.addr + self.len as u64 - 1) & !0xfff;
        let write = if access == Access::Write {
            NOTED_WRITE
        } else {
            0
        };
        let note = |noted: u64| {
            if aspace.is_active() {
                NOTED.store(noted, Ordering::Relaxed);
            }
            Err(SysError::BadAddress)
        };
        for page in (first..=last).step_by(PAGE_SIZE as usize) {
            let Some(mapping) = aspace.translate(page) else {
                return note(page | write);
            };
            if !mapping.user {
                return Err(SysError::BadAddress);
            }
            if access == Access::Write && !mapping.prot.contains(Protection::WRITE) {
                return note(page | write | NOTED_PRESENT);
            }
        }
        Ok(())
    }

    /// Fails unless the kernel could read (or, with `write`, write) the
    /// whole range; notes a missing page for `ipc::pager::with_user`.
    pub fn check_access(&self, aspace: &AddrSpace, write: bool) -> Result<(), SysError> {
        self.check(aspace, if write { Access::Write } else { Access::Read })
    }

    /// Fails unless the kernel could write the whole range.
    pub fn check_writable(&self, aspace: &AddrSpace) -> Result<(), SysError> {
        self.check(aspace, Access::Write)
    }

    /// Copies the range into `out` (whose length must be the range's).
    pub fn read(&self, aspace: &AddrSpace, out: &mut [u8]) -> Result<(), SysError> {
        if out.len() != self.len {
            return Err(SysError::BadLength);
        }
        self.check(aspace, Access::Read)?;
        if aspace.is_active() {
            // SAFETY: checked above: every byte is mapped, user-readable,
            // in the active address space, and stays so (no preemption, one
            // CPU); `out` is kernel memory of the same length.
            user_access(|| unsafe {
                core::ptr::copy_nonoverlapping(self.addr as *const u8, out.as_mut_ptr(), self.len)
            });
        } else {
            self.by_page(aspace, |at, phys, n| {
                // SAFETY: `phys` is a checked user page's frame (RAM the
                // HHDM maps); `n` bytes stay inside it and inside `out`.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        kspace::phys_to_virt::<u8>(phys),
                        out[at..].as_mut_ptr(),
                        n,
                    )
                }
            });
        }
        Ok(())
    }

    /// Copies `data` (of the range's length) into the range.
    pub fn write(&self, aspace: &AddrSpace, data: &[u8]) -> Result<(), SysError> {
        if data.len() != self.len {
            return Err(SysError::BadLength);
        }
        self.check(aspace, Access::Write)?;
        if aspace.is_active() {
            // SAFETY: checked above: every byte is mapped and user-writable
            // in the active address space (and stays so).
            user_access(|| unsafe {
                core::ptr::copy_nonoverlapping(data.as_ptr(), self.addr as *mut u8, self.len)
            });
        } else {
            self.by_page(aspace, |at, phys, n| {
                // SAFETY: as in `read`, in the other direction.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        data[at..].as_ptr(),
                        kspace::phys_to_virt::<u8>(phys),
                        n,
                    )
                }
            });
        }
        Ok(())
    }

    /// Calls `f(offset in the range, physical address, bytes)` for each
    /// page-sized piece of a checked range.
    fn by_page(&self, aspace: &AddrSpace, mut f: impl FnMut(usize, u64, usize)) {
        let mut done = 0;
        while done < self.len {
            let addr = self.addr + done as u64;
            let n = ((PAGE_SIZE - addr % PAGE_SIZE) as usize).min(self.len - done);
            if let Some(mapping) = aspace.translate(addr) {
                f(done, mapping.phys, n);
            }
            done += n;
        }
    }
}

/// Runs `f` with SMAP lifted (`stac` … `clac`) when the CPU has SMAP.
fn user_access(f: impl FnOnce()) {
    let smap = cpu::protections().smap;
    if smap {
        // SAFETY: sets RFLAGS.AC for the bracket; `f` touches only user
        // memory the caller checked.
        unsafe { core::arch::asm!("stac", options(nomem, nostack)) };
    }
    f();
    if smap {
        // SAFETY: clears RFLAGS.AC again.
        unsafe { core::arch::asm!("clac", options(nomem, nostack)) };
    }
}

/// Plain data that can be copied to and from user memory byte for byte:
/// `#[repr(C)]`, no padding, no pointers, valid for every bit pattern.
///
/// # Safety
/// The implementing type must be all of that.
pub unsafe trait Plain: Copy {}

// SAFETY: each is repr(C) with only u64/i64/u32 fields laid out without
// padding (see libsys::abi::info), valid for any bit pattern.
unsafe impl Plain for libsys::abi::ClockInfo {}
// SAFETY: as above.
unsafe impl Plain for libsys::abi::ThreadStats {}
// SAFETY: as above.
unsafe impl Plain for libsys::abi::IrqInfo {}
// SAFETY: `repr(C)`, three `u64`s: any bytes are a value, no padding.
unsafe impl Plain for libsys::abi::MsiMessage {}
// SAFETY: integers and a byte array, no padding (repr(C), 8-aligned).
unsafe impl Plain for libsys::abi::ProcessInfo {}
// SAFETY: as above (u32, u32, u64, u64).
unsafe impl Plain for libsys::abi::RegionInfo {}
// SAFETY: repr(C): a u64 and an array of repr(C) structs of five u64s
// and a 16-byte array (56 bytes, 8-aligned), no padding.
unsafe impl Plain for libsys::abi::ProcessTimes {}
// SAFETY: repr(C) arrays of u64 only (libsys::abi::limits), no padding.
unsafe impl Plain for libsys::abi::limits::ResourceUsage {}
// SAFETY: repr(C), five u64 fields, no padding.
unsafe impl Plain for libsys::abi::limits::KernelStats {}
// SAFETY: as above (`repr(C)`, only `u64` arrays and fields).
unsafe impl Plain for libsys::abi::meter::MeterReport {}

/// A user pointer to one `T`.
pub struct UserPtr<T: Plain> {
    slice: UserSlice,
    _type: PhantomData<T>,
}

impl<T: Plain> UserPtr<T> {
    pub fn new(addr: u64) -> Result<UserPtr<T>, SysError> {
        let size = core::mem::size_of::<T>();
        Ok(UserPtr {
            slice: UserSlice::new(addr, size as u64, size)?,
            _type: PhantomData,
        })
    }

    pub fn write(&self, aspace: &AddrSpace, value: &T) -> Result<(), SysError> {
        // SAFETY: `T: Plain`: its bytes are all initialised and may be read
        // as a byte slice of its size.
        let bytes = unsafe {
            core::slice::from_raw_parts(value as *const T as *const u8, core::mem::size_of::<T>())
        };
        self.slice.write(aspace, bytes)
    }
}
