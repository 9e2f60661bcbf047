//! What a process is told at start, besides its arguments.
//!
//! The kernel starts the first process with its [`InitInfo`] (the third
//! argument register of `_start`). Every process `init` builds gets, ahead
//! of its own arguments, tokens that `libsys`'s start-up code takes off
//! before `main` sees the rest:
//!
//! | token | meaning |
//! | --- | --- |
//! | `@ns=<h>` | a send handle to init's name service ([`crate::names`]) |
//! | `@self=<h>` | a handle to the process itself (MAP, MANAGE): for threads and mappings |
//! | `@heap=<h>:<pages>` | a memory region for the heap |
//! | `@mem=<h>:<pages>` | a memory region to build processes with |
//! | `@module=<h>:<bytes>` | its own boot module (to start copies of itself) |
//! | `@file=<h>:<bytes>` | another boot module to read (manifest `file=`; the file server's initramfs) |
//! | `@irq=<h>` | an interrupt line (manifest `irq=`), for a driver |
//! | `@ports=<h>:<first>:<count>` | I/O ports `first .. first + count` (manifest `ports=`; up to [`PORT_RANGES_MAX`] of them) |
//!
//! The plain functions return handle numbers. A program uses those
//! handles as the runtime lends them: `names::service`, [`irq_line`],
//! [`io_ports`] and [`process`] return a `handle::Borrowed`, which never
//! closes. A handle named in the program's own arguments as
//! `<key>=<number>` (`init`'s `kill=`, a partner's `session=`) is the
//! program's to own, through [`take_handle`], which hands each out once.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::abi::{Handle, InitInfo, INIT_INFO_ADDR};

static NAME_SERVICE: AtomicU32 = AtomicU32::new(0);
static SELF_PROCESS: AtomicU32 = AtomicU32::new(0);
static HEAP_REGION: AtomicU64 = AtomicU64::new(0);
static MEMORY_REGION: AtomicU64 = AtomicU64::new(0);
static MODULE: AtomicU64 = AtomicU64::new(0);
static FILE: AtomicU64 = AtomicU64::new(0);
/// Where `argc` of a System V initial stack is (`@sysv=<address>`): set
/// by the process server for the processes it starts.
static SYSV_STACK: AtomicU64 = AtomicU64::new(0);

/// The address of `argc` on the System V stack the process server laid
/// out for this process (`@sysv`), if it was started so.
pub fn sysv_stack() -> Option<u64> {
    match SYSV_STACK.load(Ordering::Relaxed) {
        0 => None,
        at => Some(at),
    }
}
static INIT_INFO: AtomicU64 = AtomicU64::new(0);
static IRQ: AtomicU32 = AtomicU32::new(0);
/// I/O-port grants a process can be given.
pub const PORT_RANGES_MAX: usize = 4;
/// Each: handle in bits 0–31, first port in 32–47, count − 1 in 48–63.
static PORTS: [AtomicU64; PORT_RANGES_MAX] = [const { AtomicU64::new(0) }; PORT_RANGES_MAX];

/// The program's own arguments (what `main` gets), for [`take_handle`].
static ARGS: spin::Once<&'static str> = spin::Once::new();
/// The argument handles handed out by [`claim`]: each number once.
const CLAIMS_MAX: usize = 8;
static CLAIMED: [AtomicU32; CLAIMS_MAX] = [const { AtomicU32::new(0) }; CLAIMS_MAX];

fn handle(raw: u32) -> Option<Handle> {
    (raw != 0).then_some(Handle(raw))
}

/// In a `fork` child (`crate::fork`): its own `@ns` and `@self` (0: none)
/// replace the parent's numbers, which name nothing in its table; the
/// other handles of the start-up string (heap, memory, module, …) are
/// not the child's either and are forgotten.
pub fn after_fork(ns: u32, me: u32) {
    NAME_SERVICE.store(ns, Ordering::Relaxed);
    SELF_PROCESS.store(me, Ordering::Relaxed);
    for cell in [&HEAP_REGION, &MEMORY_REGION, &MODULE, &FILE] {
        cell.store(0, Ordering::Relaxed);
    }
    IRQ.store(0, Ordering::Relaxed);
    for cell in &PORTS {
        cell.store(0, Ordering::Relaxed);
    }
}

/// The name service's handle, if the process was given one.
pub fn name_service() -> Option<Handle> {
    handle(NAME_SERVICE.load(Ordering::Relaxed))
}

/// A handle to this process, if it was given one (`@self`, or the first
/// process's own from its [`InitInfo`]).
pub fn self_process() -> Option<Handle> {
    handle(SELF_PROCESS.load(Ordering::Relaxed))
        .or_else(|| init_info().and_then(|info| handle(info.self_process)))
}

/// The heap region and its size in pages, if given.
pub fn heap_region() -> Option<(Handle, u64)> {
    let raw = HEAP_REGION.load(Ordering::Relaxed);
    handle(raw as u32).map(|h| (h, raw >> 32))
}

/// A memory region of its own and its size in pages, if given.
pub fn memory_region() -> Option<(Handle, u64)> {
    let raw = MEMORY_REGION.load(Ordering::Relaxed);
    handle(raw as u32).map(|h| (h, raw >> 32))
}

/// Its own boot module (handle, size in bytes), if given.
pub fn own_module() -> Option<(Handle, u64)> {
    let raw = MODULE.load(Ordering::Relaxed);
    handle(raw as u32).map(|h| (h, raw >> 32))
}

/// The boot module `init` lent to read (manifest `file=`): handle (a
/// read-only region) and size in bytes, if given.
pub fn file() -> Option<(Handle, u64)> {
    let raw = FILE.load(Ordering::Relaxed);
    handle(raw as u32).map(|h| (h, raw >> 32))
}

/// The interrupt line `init` gave this process, if any.
pub fn irq() -> Option<Handle> {
    handle(IRQ.load(Ordering::Relaxed))
}

/// The I/O-port handle `init` gave this process that covers ports
/// `first .. first + count`, if any.
pub fn ports(first: u16, count: u32) -> Option<Handle> {
    PORTS.iter().find_map(|slot| {
        let raw = slot.load(Ordering::Relaxed);
        let (base, size) = ((raw >> 32) as u16 as u32, (raw >> 48) as u32 + 1);
        let inside = u32::from(first) >= base && u32::from(first) + count <= base + size;
        handle(raw as u32).filter(|_| inside)
    })
}

/// The first process's [`InitInfo`] (`None` in every other process).
pub fn init_info() -> Option<&'static InitInfo> {
    if INIT_INFO.load(Ordering::Relaxed) != INIT_INFO_ADDR {
        return None;
    }
    // SAFETY: the kernel passed this address at start: it mapped an
    // InitInfo there, read-only, for the process's life.
    let info = unsafe { &*(INIT_INFO_ADDR as *const InitInfo) };
    (info.magic == InitInfo::MAGIC).then_some(info)
}

/// The value of `key=` in an argument string (`dev=00:04.0 bars=0`:
/// `arg(args, "dev")` is `00:04.0`); the first such word wins.
pub fn arg<'a>(args: &'a str, key: &str) -> Option<&'a str> {
    args.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// Records the program's own arguments (the runtime does, once, with what
/// [`parse`] left).
pub fn set_args(args: &'static str) {
    ARGS.call_once(|| args);
}

/// The program's `argv` and `envp`, when its starter gave them as lists
/// (the process server does, on a System V stack); see [`argv`].
static ARGV: spin::Once<(alloc::vec::Vec<&'static str>, alloc::vec::Vec<&'static str>)> =
    spin::Once::new();

/// Records `argv` and `envp` (the runtime does, once, for a process
/// started with a System V stack).
pub fn set_argv(argv: alloc::vec::Vec<&'static str>, envp: alloc::vec::Vec<&'static str>) {
    ARGV.call_once(|| (argv, envp));
}

/// `argv`: the list the process was started with, or, for a process
/// started with an argument string (by `init`), `""` (no name) then the
/// string's words.
pub fn argv() -> alloc::vec::Vec<&'static str> {
    match ARGV.get() {
        Some((argv, _)) => argv.clone(),
        None => core::iter::once("")
            .chain(ARGS.get().map_or("", |a| *a).split_whitespace())
            .collect(),
    }
}

/// `environ`: `NAME=value` strings (none for a process `init` started).
pub fn environ() -> alloc::vec::Vec<&'static str> {
    ARGV.get().map(|(_, envp)| envp.clone()).unwrap_or_default()
}

/// The handle named `<key>=<number>` in the program's arguments, the first
/// time it is asked for; `None` after that, if there is none, or if the
/// number is one the runtime keeps (the name service, `@self`, ...) or
/// [`CLAIMS_MAX`] numbers have been claimed already.
pub fn claim(key: &str) -> Option<Handle> {
    let number = ARGS
        .get()?
        .split_whitespace()
        .find_map(|word| {
            word.strip_prefix(key)?
                .strip_prefix('=')?
                .parse::<u32>()
                .ok()
        })
        .filter(|&n| n != 0)?;
    let kept = [
        name_service(),
        self_process(),
        heap_region().map(|(h, _)| h),
        memory_region().map(|(h, _)| h),
        own_module().map(|(h, _)| h),
        irq(),
    ];
    let kept_ports = PORTS
        .iter()
        .any(|p| p.load(Ordering::Relaxed) as u32 == number);
    if kept_ports || kept.contains(&Some(Handle(number))) {
        return None;
    }
    if CLAIMED.iter().any(|c| c.load(Ordering::Acquire) == number) {
        return None;
    }
    CLAIMED
        .iter()
        .any(|c| {
            c.compare_exchange(0, number, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        })
        .then_some(Handle(number))
}

/// Owns the handle named `<key>=<number>` in the program's arguments (see
/// [`claim`]): the spawner gave it to this process for its own use.
#[cfg(target_os = "none")]
pub fn take_handle(key: &str) -> Option<crate::handle::OwnedHandle> {
    // SAFETY: the spawner put this handle into our table for us alone, and
    // `claim` hands each number out once and none the runtime keeps.
    claim(key).map(|h| unsafe { crate::handle::OwnedHandle::from_raw(h) })
}

/// The in-kernel services (`InitInfo::services`) whose handle
/// [`take_service`] has handed out: one bit each.
#[cfg(target_os = "none")]
static SERVICES_TAKEN: AtomicU32 = AtomicU32::new(0);

/// Owns the first process's handle to the in-kernel service registered as
/// `name` (`placement=mono`; see [`InitInfo::service`]): the first time it
/// is asked for, `None` after that or in any other process.
#[cfg(target_os = "none")]
pub fn take_service(name: &str) -> Option<crate::handle::OwnedHandle> {
    let info = init_info()?;
    let index = info.services().iter().position(|s| s.name() == name)?;
    let bit = 1u32 << index;
    if SERVICES_TAKEN.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
        return None;
    }
    let number = Handle(info.services()[index].handle);
    // SAFETY: the kernel put this handle into the first process's table
    // for it (InitInfo), the runtime keeps none of the service handles,
    // and SERVICES_TAKEN hands each out once.
    Some(unsafe { crate::handle::OwnedHandle::from_raw(number) })
}

/// The interrupt line `init` gave (`@irq`), lent by the runtime.
#[cfg(target_os = "none")]
pub fn irq_line() -> Option<crate::handle::Borrowed<crate::handle::Irq>> {
    // SAFETY: `init` gave the line for this process; the runtime keeps it
    // open for good and never hands it out to own.
    irq().map(|h| unsafe { crate::handle::Borrowed::new(crate::handle::Irq::from_raw(h)) })
}

/// The I/O-port handle covering `first .. first + count` (see [`ports`]),
/// lent by the runtime.
#[cfg(target_os = "none")]
pub fn io_ports(first: u16, count: u32) -> Option<crate::handle::Borrowed<crate::handle::IoPorts>> {
    // SAFETY: as in `irq_line`.
    ports(first, count)
        .map(|h| unsafe { crate::handle::Borrowed::new(crate::handle::IoPorts::from_raw(h)) })
}

/// This process (`@self`, or the first process's own), lent by the
/// runtime.
#[cfg(target_os = "none")]
pub fn process() -> Option<crate::handle::Borrowed<crate::handle::Process>> {
    // SAFETY: as in `irq_line`.
    self_process()
        .map(|h| unsafe { crate::handle::Borrowed::new(crate::handle::Process::from_raw(h)) })
}

/// Takes the start-up tokens off the front of `args` and records them;
/// returns the program's own arguments. `init_info` is the kernel's third
/// start-up argument.
pub fn parse(args: &str, init_info: u64) -> &str {
    INIT_INFO.store(init_info, Ordering::Relaxed);
    let mut rest = args.trim_start();
    while let Some(token) = rest.strip_prefix('@') {
        let (word, tail) = token.split_once(' ').unwrap_or((token, ""));
        rest = tail.trim_start();
        let Some((key, value)) = word.split_once('=') else {
            continue;
        };
        let number = |text: &str| text.parse::<u64>().ok();
        match key {
            "ns" => {
                if let Some(h) = number(value) {
                    NAME_SERVICE.store(h as u32, Ordering::Relaxed);
                }
            }
            "self" => {
                if let Some(h) = number(value) {
                    SELF_PROCESS.store(h as u32, Ordering::Relaxed);
                }
            }
            "heap" | "mem" | "module" | "file" => {
                let target = match key {
                    "heap" => &HEAP_REGION,
                    "mem" => &MEMORY_REGION,
                    "file" => &FILE,
                    _ => &MODULE,
                };
                if let Some((h, size)) = value.split_once(':') {
                    if let (Some(h), Some(size)) = (number(h), number(size)) {
                        target.store(h | size << 32, Ordering::Relaxed);
                    }
                }
            }
            "irq" => {
                if let Some(h) = number(value) {
                    IRQ.store(h as u32, Ordering::Relaxed);
                }
            }
            "ports" => {
                let mut parts = value.split(':').map(number);
                if let (Some(Some(h)), Some(Some(first)), Some(Some(count))) =
                    (parts.next(), parts.next(), parts.next())
                {
                    let fits = h <= u64::from(u32::MAX)
                        && first <= 0xffff
                        && (1..=65536 - first).contains(&count);
                    let free = PORTS.iter().find(|s| s.load(Ordering::Relaxed) == 0);
                    if let (true, Some(slot)) = (fits, free) {
                        slot.store(h | first << 32 | (count - 1) << 48, Ordering::Relaxed);
                    }
                }
            }
            "sysv" => {
                if let Some(at) = number(value) {
                    SYSV_STACK.store(at, Ordering::Relaxed);
                }
            }
            _ => {}
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_finds_the_first_key_value_word() {
        let args = "dev=00:04.0 bars=0,2 devx=1 dev=other";
        assert_eq!(arg(args, "dev"), Some("00:04.0"));
        assert_eq!(arg(args, "bars"), Some("0,2"));
        assert_eq!(arg(args, "devx"), Some("1"));
        assert_eq!(arg(args, "de"), None, "a key is the whole word before '='");
        assert_eq!(arg(args, "irq"), None);
        assert_eq!(arg("", "dev"), None);
    }

    #[test]
    fn takes_the_tokens_off_and_leaves_the_arguments() {
        let rest = parse(
            "@ns=5 @self=7 @heap=9:1024 @mem=11:64 @module=12:4096 @file=17:5000000 @irq=13 @ports=14:64:4 @ports=15:112:2 @ports=16:9:0 get key",
            0,
        );
        assert_eq!(irq(), Some(Handle(13)));
        assert_eq!(sysv_stack(), None);
        assert_eq!(ports(0x40, 4), Some(Handle(14)));
        assert_eq!(ports(0x43, 1), Some(Handle(14)));
        assert_eq!(ports(0x43, 2), None, "beyond the grant");
        assert_eq!(ports(0x70, 2), Some(Handle(15)));
        assert_eq!(ports(9, 1), None, "a zero count is no grant");
        assert_eq!(memory_region(), Some((Handle(11), 64)));
        assert_eq!(own_module(), Some((Handle(12), 4096)));
        assert_eq!(file(), Some((Handle(17), 5_000_000)));
        assert_eq!(rest, "get key");
        assert_eq!(name_service(), Some(Handle(5)));
        assert_eq!(self_process(), Some(Handle(7)));
        assert_eq!(heap_region(), Some((Handle(9), 1024)));
        assert_eq!(parse("plain args", 0), "plain args");
        assert_eq!(
            parse("@junk @x=y rest", 0),
            "rest",
            "unknown tokens are dropped"
        );
        assert!(init_info().is_none());
    }

    #[test]
    fn an_argument_handle_is_claimed_once() {
        parse("@ns=5 @self=7", 0);
        set_args("run kill=21 session=22 other=7 zero=0 bad=x");
        assert_eq!(claim("kill"), Some(Handle(21)));
        assert_eq!(claim("kill"), None, "only once");
        assert_eq!(claim("session"), Some(Handle(22)));
        assert_eq!(claim("other"), None, "the runtime's own @self");
        assert_eq!(claim("zero"), None);
        assert_eq!(claim("bad"), None);
        assert_eq!(claim("missing"), None);
        assert_eq!(claim("kil"), None, "the whole key");
    }
}
