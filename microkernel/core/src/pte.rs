//! Page-table entry flags for a mapping, computed from what it is for.
//!
//! One function decides the bits of every leaf entry the kernel writes, so
//! the rules live in one place and are tested on the host:
//! - user pages carry `USER_ACCESSIBLE`, kernel pages never do (SMEP and
//!   SMAP then keep the kernel from executing or touching them by accident);
//! - a page is writable or executable, never both (W^X); a page that is not
//!   executable carries `NO_EXECUTE` (EFER.NXE is on);
//! - kernel pages are `GLOBAL`, so reloading CR3 on a process switch keeps
//!   their TLB entries; user pages are not.
//! - device memory is uncached (`NO_CACHE | WRITE_THROUGH`: the PAT's UC).

use libsys::abi::Protection;
use x86_64::structures::paging::PageTableFlags as Flags;

/// Whose page it is and what kind of memory backs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A page of a user process.
    User,
    /// A page of the kernel's half (shared by every address space).
    Kernel,
    /// Device registers, mapped for the kernel.
    KernelDevice,
    /// Device registers (a device-memory region), mapped for a driver.
    UserDevice,
}

/// Why a protection cannot be mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtectionError {
    /// Writable and executable at once.
    WriteAndExecute,
    /// No access at all (nothing to map), or bits the ABI does not define.
    Invalid,
}

/// The leaf-entry flags for a page with protection `prot` owned by `owner`.
pub fn leaf_flags(prot: Protection, owner: Owner) -> Result<Flags, ProtectionError> {
    if prot.is_empty() || !Protection::all().contains(prot) {
        return Err(ProtectionError::Invalid);
    }
    if prot.contains(Protection::WRITE | Protection::EXEC) {
        return Err(ProtectionError::WriteAndExecute);
    }
    let mut flags = Flags::PRESENT;
    if prot.contains(Protection::WRITE) {
        flags |= Flags::WRITABLE;
    }
    if !prot.contains(Protection::EXEC) {
        flags |= Flags::NO_EXECUTE;
    }
    match owner {
        Owner::User => flags |= Flags::USER_ACCESSIBLE,
        Owner::UserDevice => {
            flags |= Flags::USER_ACCESSIBLE | Flags::NO_CACHE | Flags::WRITE_THROUGH;
        }
        Owner::Kernel => flags |= Flags::GLOBAL,
        Owner::KernelDevice => {
            flags |= Flags::GLOBAL | Flags::NO_CACHE | Flags::WRITE_THROUGH;
        }
    }
    Ok(flags)
}

/// The flags of an intermediate table entry (PML4, PDPT, PD) on the way to
/// a leaf owned by `owner`: present and writable, and user-accessible for
/// user leaves. The leaf alone decides write and execute permission (the
/// CPU combines the levels with AND for W and U, OR for NX).
pub fn table_flags(owner: Owner) -> Flags {
    match owner {
        Owner::User | Owner::UserDevice => {
            Flags::PRESENT | Flags::WRITABLE | Flags::USER_ACCESSIBLE
        }
        Owner::Kernel | Owner::KernelDevice => Flags::PRESENT | Flags::WRITABLE,
    }
}

/// The protection a leaf entry grants (the inverse of [`leaf_flags`]), or
/// `None` for an entry that is not present.
pub fn protection_of(flags: Flags) -> Option<Protection> {
    if !flags.contains(Flags::PRESENT) {
        return None;
    }
    let mut prot = Protection::READ;
    if flags.contains(Flags::WRITABLE) {
        prot |= Protection::WRITE;
    }
    if !flags.contains(Flags::NO_EXECUTE) {
        prot |= Protection::EXEC;
    }
    Some(prot)
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Protection = Protection::READ;
    const W: Protection = Protection::WRITE;
    const X: Protection = Protection::EXEC;

    #[test]
    fn user_pages_are_user_and_never_global() {
        for prot in [R, R | W, R | X, W, X] {
            let flags = leaf_flags(prot, Owner::User).unwrap();
            assert!(flags.contains(Flags::PRESENT | Flags::USER_ACCESSIBLE));
            assert!(!flags.contains(Flags::GLOBAL));
            assert_eq!(protection_of(flags), Some(prot | R), "{prot:?}");
        }
    }

    #[test]
    fn user_device_pages_are_user_and_uncached() {
        let flags = leaf_flags(R | W, Owner::UserDevice).unwrap();
        assert!(flags.contains(Flags::USER_ACCESSIBLE | Flags::NO_CACHE | Flags::WRITE_THROUGH));
        assert!(!flags.contains(Flags::GLOBAL));
        assert_eq!(table_flags(Owner::UserDevice), table_flags(Owner::User));
        let plain = leaf_flags(R | W, Owner::User).unwrap();
        assert!(!plain.intersects(Flags::NO_CACHE | Flags::WRITE_THROUGH));
    }

    #[test]
    fn kernel_pages_are_global_and_never_user() {
        for owner in [Owner::Kernel, Owner::KernelDevice] {
            let flags = leaf_flags(R | W, owner).unwrap();
            assert!(flags.contains(Flags::GLOBAL | Flags::NO_EXECUTE | Flags::WRITABLE));
            assert!(!flags.contains(Flags::USER_ACCESSIBLE));
        }
        let device = leaf_flags(R | W, Owner::KernelDevice).unwrap();
        assert!(device.contains(Flags::NO_CACHE | Flags::WRITE_THROUGH));
        let text = leaf_flags(R | X, Owner::Kernel).unwrap();
        assert!(!text.contains(Flags::NO_EXECUTE) && !text.contains(Flags::WRITABLE));
    }

    #[test]
    fn write_xor_execute_and_nonsense_are_refused() {
        for owner in [Owner::User, Owner::Kernel] {
            assert_eq!(
                leaf_flags(W | X, owner),
                Err(ProtectionError::WriteAndExecute)
            );
            assert_eq!(
                leaf_flags(R | W | X, owner),
                Err(ProtectionError::WriteAndExecute)
            );
            assert_eq!(
                leaf_flags(Protection::empty(), owner),
                Err(ProtectionError::Invalid)
            );
            assert_eq!(
                leaf_flags(Protection::from_bits_retain(8), owner),
                Err(ProtectionError::Invalid)
            );
        }
    }

    #[test]
    fn read_only_is_neither_writable_nor_executable() {
        let flags = leaf_flags(R, Owner::User).unwrap();
        assert!(!flags.contains(Flags::WRITABLE));
        assert!(flags.contains(Flags::NO_EXECUTE));
        assert_eq!(protection_of(Flags::empty()), None);
    }

    #[test]
    fn intermediate_tables_never_restrict_the_leaf() {
        let user = table_flags(Owner::User);
        assert!(user.contains(Flags::WRITABLE | Flags::USER_ACCESSIBLE));
        assert!(!user.contains(Flags::NO_EXECUTE));
        assert!(!table_flags(Owner::Kernel).contains(Flags::USER_ACCESSIBLE));
    }
}
