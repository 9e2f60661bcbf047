//! Layer 3: memory.
//!
//! Provides physical frames (`frames.rs`, a bitmap allocator), the kernel
//! half of every address space (`kspace.rs`: the HHDM, the kernel's own
//! page tables, mappings of device and firmware memory), the kernel heap
//! (`heap.rs`) and kernel stacks (`kstack.rs`), user address spaces
//! (`addrspace.rs`: map, unmap, protect 4 KiB pages) and the checked
//! copies to and from user memory (`usercopy.rs`).
//!
//! May use: `arch`, `klog`. It knows nothing of threads or processes: a
//! user copy is checked against an [`addrspace::AddrSpace`] it is given,
//! and a page a check found missing is only *noted* — asking the pager for
//! it is IPC's business (`ipc::pager::with_user`).

pub mod addrspace;
pub mod frames;
pub mod heap;
pub mod kspace;
pub mod kstack;
pub mod usercopy;
