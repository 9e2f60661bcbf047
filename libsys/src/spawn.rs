//! Building a process from an ELF image in a memory region (a boot
//! module), the way `init` starts the servers: the kernel only offers
//! `process_create`, `map` and `thread_create`/`thread_start`.
//!
//! [`Builder::new`] checks the image (`libsys::elf`, the kernel's checks),
//! creates the process and loads its segments — pages from a [`Memory`],
//! filled through a temporary mapping in this process, then mapped into
//! the child with the segment's permissions. [`Builder::give`] puts handles
//! into the child. [`Builder::start`] gives it a stack with its argument
//! string on top and an IPC buffer, and starts its first thread at the
//! entry point with `rdi`/`rsi` = the arguments, as the kernel does.
//!
//! The pages stay the builder's caller's (they came from its region): when
//! the child dies, its caller may free them.

use core::fmt;

use crate::abi::{Handle, Protection, Rights, SysError, IPC_BUFFER_ADDR, USER_STACK_TOP};
use crate::elf::{self, ElfError};
use crate::handle::{Process, Thread};
use crate::mem::{Memory, Pages};

/// Stack pages of a spawned process (64 KiB, as the kernel gives).
pub const STACK_PAGES: u64 = 16;

#[derive(Debug, PartialEq, Eq)]
pub enum SpawnError {
    Elf(ElfError),
    Sys(SysError),
    ArgsTooLong,
}

impl From<SysError> for SpawnError {
    fn from(e: SysError) -> Self {
        SpawnError::Sys(e)
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Elf(e) => write!(f, "{e}"),
            SpawnError::Sys(e) => write!(f, "{e}"),
            SpawnError::ArgsTooLong => write!(f, "arguments longer than a page"),
        }
    }
}

/// A process being built.
pub struct Builder<'m> {
    mem: &'m mut Memory,
    pub process: Process,
    entry: u64,
    /// The pages allocated for the child so far.
    pages: alloc::vec::Vec<Pages>,
    /// The endpoint (a handle of the caller's) its first thread's page
    /// faults go to.
    pager: Option<Handle>,
}

/// A started process and its first thread, and the pages given to it
/// (the caller frees them once the process has died).
pub struct Child {
    pub process: Process,
    pub thread: Thread,
    pub pages: alloc::vec::Vec<Pages>,
}

impl<'m> Builder<'m> {
    /// Creates process `name` from the ELF image in `image` (`size` bytes
    /// of a region this process holds, readable).
    pub fn new(
        mem: &'m mut Memory,
        name: &str,
        image: Handle,
        size: u64,
    ) -> Result<Builder<'m>, SpawnError> {
        let pages = size.div_ceil(4096).max(1);
        let view = Pages {
            region: image,
            first: 0,
            count: pages,
        };
        let at = mem.map_self(view, Protection::READ)?;
        // SAFETY: `size` bytes were just mapped readable at `at`, and stay
        // so until the unmap below; nothing else maps over them meanwhile.
        let bytes = unsafe { core::slice::from_raw_parts(at as *const u8, size as usize) };
        let mut used = alloc::vec::Vec::new();
        let loaded = load(mem, bytes, name, &mut used);
        let _ = mem.unmap_self(at, pages);
        let (process, entry) = match loaded {
            Ok(done) => done,
            Err(e) => {
                for run in used {
                    mem.free(run);
                }
                return Err(e);
            }
        };
        Ok(Builder {
            mem,
            process,
            entry,
            pages: used,
            pager: None,
        })
    }

    /// Sends the first thread's page faults to `pager` (an endpoint handle
    /// of this process's) from its first instruction on.
    pub fn pager(mut self, pager: Handle) -> Self {
        self.pager = Some(pager);
        self
    }

    /// The child process (to set up before it starts, e.g. its exception
    /// endpoint).
    pub fn process(&self) -> &Process {
        &self.process
    }

    /// Puts a copy of `handle` with `rights` into the child; returns its
    /// number there (to pass in the arguments).
    pub fn give(&self, handle: Handle, rights: Rights) -> Result<Handle, SpawnError> {
        Ok(self.process.give(handle, rights)?)
    }

    /// Pages for the child (zeroed), counted as the child's: the caller
    /// can map them into it or make a region of them to give it.
    pub fn alloc(&mut self, count: u64) -> Result<Pages, SpawnError> {
        let (pages, at) = self.mem.alloc_mapped(count)?;
        self.mem.unmap_self(at, count)?;
        self.pages.push(pages);
        Ok(pages)
    }

    /// Gives the child its stack (with `args` on top) and IPC buffer and
    /// starts its first thread.
    pub fn start(self, args: &str) -> Result<Child, SpawnError> {
        let prepared = self.prepare_with_stack(args, &[], 0)?;
        prepared.run()?;
        Ok(prepared.child)
    }

    /// As [`Builder::start`], not started yet ([`Prepared::run`]), with `top` (a System V initial stack, whole
    /// pages ending at `USER_STACK_TOP`, `argc` at `rsp`) at the top of
    /// the stack and the argument string below `rsp`; the string should
    /// say `@sysv=<rsp>` so that the runtime finds `argv` and `envp`.
    /// `ArgsTooLong` if both do not fit in [`STACK_PAGES`] with room to
    /// run.
    pub fn prepare_sysv(self, args: &str, top: &[u8], rsp: u64) -> Result<Prepared, SpawnError> {
        self.prepare_with_stack(args, top, rsp)
    }

    fn prepare_with_stack(
        mut self,
        args: &str,
        top: &[u8],
        rsp: u64,
    ) -> Result<Prepared, SpawnError> {
        let size = STACK_PAGES * 4096;
        let bottom = USER_STACK_TOP - size;
        // The string goes below `rsp` (or the top), 16-aligned; below it
        // the return address slot of `_start` (0), as the kernel lays it
        // out. Half the stack stays free to run in.
        let below = if top.is_empty() { USER_STACK_TOP } else { rsp };
        let fits = (top.len() as u64).is_multiple_of(4096)
            && (top.len() as u64) < size
            && (top.is_empty()
                || (USER_STACK_TOP - top.len() as u64..USER_STACK_TOP).contains(&rsp))
            && USER_STACK_TOP - below + args.len() as u64 <= size / 2;
        if !fits {
            return Err(SpawnError::ArgsTooLong);
        }
        let (stack, at) = self.mem.alloc_mapped(STACK_PAGES)?;
        self.pages.push(stack);
        let args_at = (below - args.len() as u64) & !0xf;
        // SAFETY: the stack pages were just mapped writable at `at`
        // (`size` bytes for [bottom, USER_STACK_TOP)); `top` and the
        // arguments fit inside, checked above.
        unsafe {
            core::ptr::copy_nonoverlapping(
                top.as_ptr(),
                (at + size - top.len() as u64) as *mut u8,
                top.len(),
            );
            core::ptr::copy_nonoverlapping(
                args.as_ptr(),
                (at + (args_at - bottom)) as *mut u8,
                args.len(),
            )
        };
        self.mem.unmap_self(at, STACK_PAGES)?;
        self.mem.map_into(
            &self.process,
            bottom,
            stack,
            Protection::READ | Protection::WRITE,
        )?;
        let buffer = self.alloc(1)?;
        self.mem.map_into(
            &self.process,
            IPC_BUFFER_ADDR,
            buffer,
            Protection::READ | Protection::WRITE,
        )?;
        let thread = self.process.thread_create()?;
        if let Some(pager) = self.pager {
            crate::syscall::call6(
                crate::abi::Syscall::SetPager,
                [u64::from(thread.raw().0), u64::from(pager.0), 0, 0, 0, 0],
            )?;
        }
        let entry = self.entry;
        let pages = core::mem::take(&mut self.pages);
        // The process handle goes to the child record; nothing is left for
        // `drop` to free.
        // SAFETY: `self` is forgotten right after, so the handle is owned
        // once (by the Child).
        let process = unsafe { core::ptr::read(&self.process) };
        core::mem::forget(self);
        Ok(Prepared {
            child: Child {
                process,
                thread,
                pages,
            },
            entry,
            sp: args_at - 8,
            args: (args_at, args.len() as u64),
        })
    }
}

/// A process built, its first thread made but not started: its pages and
/// handles are the caller's (free the pages if it is dropped unstarted;
/// the process dies with its last handle).
pub struct Prepared {
    pub child: Child,
    entry: u64,
    sp: u64,
    args: (u64, u64),
}

impl Prepared {
    /// A process whose first thread someone else made (the memory
    /// server's `Exec` laid out its space): it will start at `entry`
    /// with `sp` and `rdi`/`rsi` = `args` (address, length).
    pub fn from_parts(child: Child, entry: u64, sp: u64, args: (u64, u64)) -> Prepared {
        Prepared {
            child,
            entry,
            sp,
            args,
        }
    }

    /// Where the first thread starts: entry, stack pointer and the
    /// argument string (address, length).
    pub fn start_state(&self) -> (u64, u64, (u64, u64)) {
        (self.entry, self.sp, self.args)
    }

    /// Starts the first thread.
    pub fn run(&self) -> Result<(), SpawnError> {
        let (at, len) = self.args;
        Ok(self.child.thread.start(self.entry, self.sp, at, len)?)
    }
}

/// A builder dropped before `start` succeeded: the child never ran, so its
/// pages go back (the process goes with its handle).
impl Drop for Builder<'_> {
    fn drop(&mut self) {
        for run in self.pages.drain(..) {
            self.mem.free(run);
        }
    }
}

/// Checks `image`, creates the process and loads every segment.
fn load(
    mem: &mut Memory,
    image: &[u8],
    name: &str,
    used: &mut alloc::vec::Vec<Pages>,
) -> Result<(Process, u64), SpawnError> {
    let program = elf::check(image).map_err(SpawnError::Elf)?;
    let process = Process::create(name)?;
    for segment in program.segments() {
        let (first, end) = segment.pages();
        let count = (end - first) / 4096;
        let (pages, at) = mem.alloc_mapped(count)?;
        used.push(pages);
        for page in (first..end).step_by(4096) {
            let (bytes, offset) = segment.file_bytes_in_page(image, page);
            // SAFETY: the run was just mapped writable at `at`, `count`
            // pages long; the bytes fit in their page from `offset`.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    bytes.as_ptr(),
                    (at + (page - first) + offset as u64) as *mut u8,
                    bytes.len(),
                )
            };
        }
        mem.unmap_self(at, count)?;
        mem.map_into(&process, first, pages, segment.prot)?;
    }
    Ok((process, program.entry))
}

/// The kernel's process id of `process` (`process_info`): the pid users
/// see and the badge servers see on its requests (one pid space).
pub fn pid_of(process: Handle) -> Result<u64, SysError> {
    let mut info = crate::abi::ProcessInfo::default();
    crate::syscall::call6(
        crate::abi::Syscall::ProcessInfo,
        [
            u64::from(process.0),
            &mut info as *mut crate::abi::ProcessInfo as u64,
            0,
            0,
            0,
            0,
        ],
    )?;
    Ok(info.pid)
}

/// This process's own pid (through its `@self` handle).
pub fn my_pid() -> Result<u64, SysError> {
    pid_of(crate::env::self_process().ok_or(SysError::BadHandle)?)
}
