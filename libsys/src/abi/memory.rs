//! Memory: mapping protections and the fixed places in a user address
//! space.

bitflags::bitflags! {
    /// Access rights of a mapping (`mmap`'s `PROT_*`). x86_64 page tables
    /// cannot express write-only or execute-only pages, so every mapping is
    /// readable; a mapping is never writable and executable at once (W^X).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Protection: u64 {
        const READ = 1 << 0;
        const WRITE = 1 << 1;
        const EXEC = 1 << 2;
    }
}

/// The size of a page, the unit of every mapping: the one definition the
/// kernel and user space share.
pub const PAGE_SIZE: u64 = 4096;

/// One past the highest user address: the user half of an address space
/// is `[0, USER_END)`.
pub const USER_END: u64 = 0x0000_8000_0000_0000;

/// A flag of `map`'s protection argument: replace whatever is mapped in
/// the range rather than fail with `Exists` (a pager breaking a
/// copy-on-write page maps the copy over the original in one call).
pub const MAP_REPLACE: u64 = 1 << 8;

/// Where the kernel puts a new process's stack: its top (the page above is
/// never mapped). The stack is 64 KiB, with unmapped guard pages below.
pub const USER_STACK_TOP: u64 = 0x0000_7fff_fff0_0000;

/// Where a process's first thread finds its IPC buffer page, registered
/// already (the kernel maps it for the processes it starts; `libsys`'s
/// spawner does the same for the processes it builds).
pub const IPC_BUFFER_ADDR: u64 = 0x0000_7fff_ffe0_0000;

/// Where the kernel maps the first process's [`crate::abi::InitInfo`]
/// (read-only): the handles it starts with.
pub const INIT_INFO_ADDR: u64 = 0x0000_7fff_ff00_0000;
