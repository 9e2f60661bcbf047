//! Building a child from an executable's bytes (`Spawn`): the image is
//! planned and checked by lib/exec (`ENOEXEC` for what is not a static
//! x86_64 executable), copied into pages of the server's own `memory=`
//! grant and loaded by `libsys::spawn::Builder`; the child gets `@ns`
//! (badged with its own pid: minted from the server's `mint` handle),
//! `@self` and a `@heap` region; its stack is lib/exec's System V layout
//! (`argc`, `argv`, `envp`, the auxiliary vector) with the start-up
//! string below it saying `@sysv=<rsp>`, so that libsys's runtime
//! finds the lists. The first thread is made but not started
//! (`Prepared::run` at `Start`).

use alloc::vec::Vec;
use core::fmt::Write;

use libsys::abi::{Rights, USER_STACK_TOP};
use libsys::errno::Errno;
use libsys::handle::{Endpoint, MemoryRegion};
use libsys::mem::{Memory, Pages};
use libsys::spawn::{pid_of, Builder, Prepared, SpawnError};

use exec::{AuxInfo, Limits, StackSpec};

/// Heap pages each child gets (`@heap`).
pub const CHILD_HEAP_PAGES: u64 = 64;

/// What a child is built from.
pub struct Spec<'a> {
    pub image: &'a [u8],
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

fn sys(e: libsys::abi::SysError) -> Errno {
    match e {
        libsys::abi::SysError::NoMemory => Errno::ENOMEM,
        _ => Errno::EAGAIN,
    }
}

fn spawn_errno(e: SpawnError) -> Errno {
    match e {
        SpawnError::Elf(_) => Errno::ENOEXEC,
        SpawnError::ArgsTooLong => Errno::E2BIG,
        SpawnError::Sys(e) => sys(e),
    }
}

/// Builds (does not start) a child from `spec`, its pages from `mem`.
pub fn build(mem: &mut Memory, spec: &Spec) -> Result<Built, Errno> {
    let plan = exec::plan(spec.image, &Limits::default())
        .map_err(|e| Errno::from_i32(e.errno()).unwrap_or(Errno::ENOEXEC))?;
    // Builder reads the image from a region of its own: a copy.
    let count = (spec.image.len() as u64).div_ceil(4096).max(1);
    let (pages, at) = mem.alloc_mapped(count).map_err(sys)?;
    // SAFETY: `count` pages were just mapped writable at `at`; the image
    // fits in them.
    #[allow(unsafe_code)]
    unsafe {
        core::ptr::copy_nonoverlapping(spec.image.as_ptr(), at as *mut u8, spec.image.len())
    };
    let _ = mem.unmap_self(at, count);
    let built =
        derive_from(pages, Rights::READ).and_then(|region| build_from(mem, spec, &plan, &region));
    mem.free(pages);
    built
}

/// A region of its own for `pages` (of our region handle) with `rights`.
fn derive_from(pages: Pages, rights: Rights) -> Result<MemoryRegion, Errno> {
    // SAFETY: `pages.region` is our own region handle (the `memory=`
    // grant), kept open by `Memory`; ManuallyDrop keeps it from being
    // closed here.
    #[allow(unsafe_code)]
    let own = core::mem::ManuallyDrop::new(MemoryRegion(unsafe {
        libsys::handle::OwnedHandle::from_raw(pages.region)
    }));
    own.derive(pages.first, pages.count, rights).map_err(sys)
}

fn build_from(
    mem: &mut Memory,
    spec: &Spec,
    plan: &exec::ImagePlan,
    image: &MemoryRegion,
) -> Result<Built, Errno> {
    let name = spec
        .path
        .rsplit(|&b| b == b'/')
        .next()
        .and_then(|n| core::str::from_utf8(n).ok())
        .unwrap_or("?");
    let mut builder =
        Builder::new(mem, name, image.raw(), spec.image.len() as u64).map_err(spawn_errno)?;
    let pid = pid_of(builder.process.raw()).map_err(sys)?;
    let mut args = alloc::string::String::new();
    if let Some(mint) = spec.mint {
        let rights = Rights::SEND | Rights::GRANT;
        let badged = mint.dup(rights, Some(pid)).map_err(sys)?;
        let theirs = builder.give(badged.raw(), rights).map_err(spawn_errno)?;
        let _ = write!(args, "@ns={} ", theirs.0);
    }
    let me = builder
        .give(builder.process.raw(), Rights::MAP | Rights::MANAGE)
        .map_err(spawn_errno)?;
    let _ = write!(args, "@self={}", me.0);
    let heap = builder.alloc(CHILD_HEAP_PAGES).map_err(spawn_errno)?;
    let rw = Rights::READ | Rights::WRITE;
    let region = derive_from(heap, rw)?;
    let theirs = builder.give(region.raw(), rw).map_err(spawn_errno)?;
    let _ = write!(args, " @heap={}:{}", theirs.0, CHILD_HEAP_PAGES);
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
    let _ = write!(args, " @sysv={}", stack.rsp);
    let prepared = builder
        .prepare_sysv(&args, &stack.bytes, stack.rsp)
        .map_err(spawn_errno)?;
    Ok(Built { pid, prepared })
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

/// The pages a started child holds (freed when it has died).
pub fn free_pages(mem: &mut Memory, pages: Vec<Pages>) {
    for run in pages {
        mem.free(run);
    }
}
