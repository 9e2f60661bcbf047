//! What the first process was given: [`InitInfo`] at [`INIT_INFO_ADDR`].

use crate::abi::{InitInfo, INIT_INFO_ADDR};

/// The first process's [`InitInfo`], checked by its magic number.
///
/// # Safety
/// Only the first process (the one the kernel started from the first boot
/// module) has the page mapped; anywhere else this reads unmapped memory
/// and the process is killed.
pub unsafe fn info() -> Option<&'static InitInfo> {
    // SAFETY: per the contract, the kernel mapped a read-only InitInfo
    // here, which stays for the process's life.
    let info = unsafe { &*(INIT_INFO_ADDR as *const InitInfo) };
    (info.magic == InitInfo::MAGIC).then_some(info)
}
