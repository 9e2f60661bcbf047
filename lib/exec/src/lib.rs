//! The exec image builder: everything `execve` decides before any page
//! is mapped, as pure logic tested on the host (`cargo test -p exec`).
//! The memory server (issue 20's `Exec`) and the process server use it;
//! it makes no system call.
//!
//! - [`script`]: is the file an ELF program or a `#!` script (Linux's
//!   `binfmt_script`: the interpreter, its one optional argument, the
//!   rewritten `argv`)?
//! - [`resolve`]: the `#!` chain an `execve` follows to an ELF file
//!   (at most four interpreters deep, `ELOOP` beyond).
//! - [`image`]: from ELF bytes, the new address space (LKD ch. 15's
//!   memory areas as `load_elf_binary` makes them): one mapping per
//!   `PT_LOAD` segment — text shared with the page cache, data private
//!   copy-on-write, bss demand-zero — and the entry point, `AT_PHDR` and
//!   the initial break. Hostile files are refused with a typed
//!   [`ExecError`] (`ENOEXEC`/`EINVAL`), never a panic: bad magic, class,
//!   machine or type, truncated headers, too many program headers,
//!   `PT_INTERP` (no dynamic linking), segments overlapping, outside user
//!   space, too large, with `p_filesz > p_memsz`, past the end of the
//!   file or with offset and address out of page congruence, an entry in
//!   no executable segment. The structural checks the kernel makes too
//!   are `libsys::elf::check`, reused rather than written again.
//! - [`stack`]: the initial stack per the System V x86_64 ABI — `argc`,
//!   `argv`, `envp`, the auxiliary vector, the strings and `AT_RANDOM`'s
//!   bytes, `rsp` 16-byte aligned — as the bytes of its top pages and the
//!   initial `rsp`, with `ARG_MAX` enforced (`E2BIG`). Its module
//!   documentation draws the layout.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod error;
pub mod image;
pub mod resolve;
pub mod script;
pub mod stack;

pub use error::ExecError;
pub use image::{plan, Backing, ImagePlan, Limits, SegmentMap};
pub use resolve::{resolve, ResolveError, Resolved};
pub use script::{classify, Binary, Script};
pub use stack::{build, AuxInfo, InitialStack, StackSpec};
