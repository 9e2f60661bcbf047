//! Building a program's image through the memory server (`mm`'s `Exec`,
//! for `Spawn` and `Execve` alike): lib/exec plans and checks the ELF
//! (`ENOEXEC` for what is not a static x86_64 executable) and lays out
//! the System V initial stack (`argc`, `argv`, `envp`, the auxiliary
//! vector), with the start-up string just below it saying
//! `@ns=… @self=… @sysv=<rsp>` so that libsys's runtime finds its
//! handles and the lists; the executable's bytes come from the image
//! cache (`cache.rs`) and the stack's from a copy made for the call;
//! `mm` lays out the space (segments demand-loaded from the image,
//! stack, IPC buffer) and becomes the pager. The process is then `mm`'s
//! like any other: its heap, `mmap`, `fork`.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use libsys::abi::{Rights, PAGE_SIZE, USER_STACK_TOP};
use libsys::errno::Errno;
use libsys::handle::{Endpoint, Process};
use libsys::mem::Memory;
use libsys::spawn::{pid_of, Child, Prepared};

use exec::{AuxInfo, Limits, StackSpec};

use crate::cache::{self, ImageCache};
use crate::image::FileKey;

/// What an image is built from.
pub struct Spec<'a> {
    pub image: &'a [u8],
    pub key: FileKey,
    pub path: &'a [u8],
    pub argv: &'a [&'a [u8]],
    pub envp: &'a [&'a [u8]],
    pub uid: u32,
    pub gid: u32,
    /// The server's minting name-service handle, if it has one.
    pub mint: Option<&'a Endpoint>,
}

/// A built child and its kernel pid.
pub struct Built {
    pub pid: u64,
    pub prepared: Prepared,
}

/// Where a thread starts in a new image: entry, stack pointer and the
/// start-up string (address, length), as `rip`, `rsp`, `rdi`, `rsi`.
#[derive(Clone, Copy, Debug)]
pub struct StartState {
    pub entry: u64,
    pub sp: u64,
    pub args: (u64, u64),
}

fn sys(e: libsys::abi::SysError) -> Errno {
    match e {
        libsys::abi::SysError::NoMemory => Errno::ENOMEM,
        _ => Errno::EAGAIN,
    }
}

fn mm_errno(e: libsys::mm::Error) -> Errno {
    use libsys::proto::mm::MmError;
    match e {
        libsys::mm::Error::Mm(MmError::BadImage) => Errno::ENOEXEC,
        libsys::mm::Error::Mm(MmError::InvalidArgument) => Errno::E2BIG,
        libsys::mm::Error::Mm(MmError::NoMemory) => Errno::ENOMEM,
        _ => Errno::EAGAIN,
    }
}

/// Builds (does not start) a child running `spec`: a new process, its
/// `@ns` and `@self`, its space from `mm`, its first thread made.
pub fn build(mem: &mut Memory, cache: &mut ImageCache, spec: &Spec) -> Result<Built, Errno> {
    let plan = plan(spec.image)?;
    let process = Process::create(comm(spec.path)).map_err(sys)?;
    let pid = pid_of(process.raw()).map_err(sys)?;
    let handles = give_handles(&process, pid, spec.mint)?;
    let (start, pager) = exec_into(mem, cache, &process, pid, spec, &plan, &handles)?;
    let thread = process.thread_create().map_err(sys)?;
    thread.set_pager(Some(&pager)).map_err(sys)?;
    let child = Child {
        process,
        thread,
        pages: Vec::new(),
    };
    Ok(Built {
        pid,
        prepared: Prepared::from_parts(child, start.entry, start.sp, start.args),
    })
}

/// lib/exec's plan of an ELF file (`ENOEXEC`/`EINVAL` for a hostile one).
pub fn plan(image: &[u8]) -> Result<exec::ImagePlan, Errno> {
    exec::plan(image, &Limits::default())
        .map_err(|e| Errno::from_i32(e.errno()).unwrap_or(Errno::ENOEXEC))
}

/// The command name (`comm`) a path gives.
pub fn comm(path: &[u8]) -> &str {
    path.rsplit(|&b| b == b'/')
        .next()
        .and_then(|n| core::str::from_utf8(n).ok())
        .unwrap_or("?")
}

/// Puts `@ns` (badged with `pid`, if the server can mint) and `@self`
/// into `process`; the start-up string naming them.
pub fn give_handles(process: &Process, pid: u64, mint: Option<&Endpoint>) -> Result<String, Errno> {
    let (ns, me) = give_ns_self(process, pid, mint)?;
    let mut args = String::new();
    if let Some(ns) = ns {
        let _ = write!(args, "@ns={ns} ");
    }
    let _ = write!(args, "@self={me}");
    Ok(args)
}

/// The numbers of `@ns` (if minted) and `@self` given to `process`.
pub fn give_ns_self(
    process: &Process,
    pid: u64,
    mint: Option<&Endpoint>,
) -> Result<(Option<u32>, u32), Errno> {
    let ns = match mint {
        Some(mint) => {
            let rights = Rights::SEND | Rights::GRANT;
            let badged = mint.dup(rights, Some(pid)).map_err(sys)?;
            Some(process.give(badged.raw(), rights).map_err(sys)?.0)
        }
        None => None,
    };
    let me = process
        .give(process.raw(), Rights::MAP | Rights::MANAGE)
        .map_err(sys)?;
    Ok((ns, me.0))
}

/// `mm`'s `Exec` of `spec` into `process`: the image from the cache, the
/// stack built here. Returns where its thread starts and the pager its
/// threads must have. The old space (if any) is intact on every error
/// but a `NoMemory` from `mm` past its point of no return.
pub fn exec_into(
    mem: &mut Memory,
    cache: &mut ImageCache,
    process: &Process,
    pid: u64,
    spec: &Spec,
    plan: &exec::ImagePlan,
    handles: &str,
) -> Result<(StartState, Endpoint), Errno> {
    let stack = exec::build(&StackSpec {
        stack_top: USER_STACK_TOP,
        argv: spec.argv,
        envp: spec.envp,
        execfn: spec.path,
        random: random_bytes(pid),
        aux: AuxInfo {
            phdr: plan.phdr,
            phnum: plan.phnum,
            entry: plan.entry,
            uid: spec.uid,
            euid: spec.uid,
            gid: spec.gid,
            egid: spec.gid,
            secure: false,
        },
    })
    .map_err(|e| Errno::from_i32(e.errno()).unwrap_or(Errno::E2BIG))?;
    let mut args = String::from(handles);
    let _ = write!(args, " @sysv={}", stack.rsp);
    let (top, args_at) = with_args_below(stack.bytes, stack.rsp, &args);
    if top.len() as u64 > mm::EXEC_STACK_MAX_BYTES {
        return Err(Errno::E2BIG);
    }
    let image = cache.get(mem, spec.key, spec.image)?;
    let (image_region, image_size) = (image.region.raw(), image.size);
    let pages = cache::copy_in(mem, &top)?;
    let region = cache::derive(pages, Rights::READ);
    let execed = region.and_then(|region| {
        libsys::mm::exec_process(
            process,
            image_region,
            image_size,
            region.raw(),
            top.len() as u64,
        )
        .map_err(mm_errno)
    });
    mem.free(pages);
    let (_, entry, _client, pager) = execed?;
    let start = StartState {
        entry,
        sp: args_at - 8,
        args: (args_at, args.len() as u64),
    };
    Ok((start, pager))
}

/// What `mm` takes at most (its `EXEC_STACK_MAX`: half the 1 MiB stack).
mod mm {
    pub const EXEC_STACK_MAX_BYTES: u64 =
        libsys::proto::mm::STACK_PAGES * libsys::abi::PAGE_SIZE / 2;
}

/// The stack's top pages with `args` (the start-up string) just below
/// `rsp`, 16-aligned, and a zero return-address slot below it, as the
/// kernel lays out a first thread's stack: the bytes (grown downwards by
/// whole pages if needed) and where the string is.
fn with_args_below(bytes: Vec<u8>, rsp: u64, args: &str) -> (Vec<u8>, u64) {
    let args_at = (rsp - args.len() as u64) & !0xf;
    let base = USER_STACK_TOP - bytes.len() as u64;
    let lowest = args_at - 16;
    let mut top = bytes;
    if lowest < base {
        let more = (base - lowest).div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let mut grown = alloc::vec![0u8; more as usize];
        grown.extend_from_slice(&top);
        top = grown;
    }
    let base = USER_STACK_TOP - top.len() as u64;
    let at = (args_at - base) as usize;
    top[at..at + args.len()].copy_from_slice(args.as_bytes());
    (top, args_at)
}

/// `AT_RANDOM`'s bytes: the time stamp counter mixed with the pid (not
/// cryptographic: a stack-protector seed).
fn random_bytes(pid: u64) -> [u8; 16] {
    let a = libsys::syscall::rdtsc() ^ pid.rotate_left(32);
    let b = a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ pid;
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a.to_le_bytes());
    out[8..].copy_from_slice(&b.to_le_bytes());
    out
}

/// The pages a started child holds (freed when it has died): none for
/// a process `mm` built, kept for the shape of `Kid`.
pub fn free_pages(mem: &mut Memory, pages: Vec<libsys::mem::Pages>) {
    for run in pages {
        mem.free(run);
    }
}
