//! The boot manifest: which boot modules `init` starts, in which order,
//! with what. A text file (a boot module whose name starts with
//! `manifest`), one entry per line; `#` starts a comment.
//!
//! ```text
//! server <name> <module> [register=<name>] [restarts=<n>] [heap=<pages>] [pager] [power] [file=<module>] [uid=<n>] [gid=<n>] [irq=<line>] [ports=<ranges>] [framebuffer] [-- <args>]
//! program <name> <module> [memory=<pages>] [module] [file=<module>] [kill=<server>] [heap=<pages>] [device=<phys>:<pages>]... [irq=<line>] [ports=<ranges>] [framebuffer] [-- <args>]
//! test <name> <module> [...as program...] [-- <args>]
//! ```
//!
//! - A **server** is started in order; if it `register`s a name (its own
//!   name by default; `register=-` for none), `init` waits for the
//!   registration before starting the next. Only the process the manifest
//!   names may register that name. A server that dies is restarted up to
//!   `restarts` times (default 3), with a growing delay.
//! - A **program** is started once, after the servers.
//! - A **test** runs after the servers, one at a time; its exit status is
//!   a tally (`passed << 16 | failed`), and when the last test has ended
//!   `init` exits with the sum.
//! - A server marked **`pager`** is the memory server: `init` gives it the
//!   memory it does not keep for itself, and builds every process listed
//!   after it through it (the server lays out the address space and is its
//!   pager; the process's heap comes from it, not from `heap=`). At most
//!   one; it is never restarted.
//! - Options: `heap` (pages of heap, default 1024), `memory` (a region of
//!   that many pages of its own to build processes with), `module` (a
//!   handle to its own module), `file=<module>` (a read-only handle to
//!   another boot module, found by name or command line, given as
//!   `@file=<h>:<bytes>`: the file server's `file=initramfs`),
//!   `kill=<server>` (a handle that can kill
//!   that server, for tests of restarts; `kill=spawned:<name>`: the
//!   process of that name another process had `init` spawn, such as a
//!   driver devmgr started), `device=<phys>:<pages>` (device
//!   memory — registers, never RAM — the process may map with the memory
//!   server's `MapPhysical`; repeatable; needs the `pager`). Numbers are
//!   decimal, or hexadecimal after `0x`.
//! - `framebuffer`: the boot framebuffer (the loader's, in `InitInfo`)
//!   for this process alone: `init` checks its geometry, gives its pages
//!   to the memory server as device memory this process may map, and
//!   appends `framebuffer=<geometry>` to its arguments
//!   (`libsys::abi::FramebufferInfo`'s text form). Like `device=` it needs
//!   the `pager` (a process whose memory `mm` manages); without a
//!   framebuffer, or with one whose geometry is refused, the process
//!   starts without it and `init` says why. The default manifest gives it
//!   to the tty server, which draws the console there.
//! - Credentials (any kind of entry): `uid=<n>` and `gid=<n>` (default 0,
//!   root): the real and effective ids the credentials protocol reports
//!   for the process (`init::procs`).
//! - Hardware, for drivers (any kind of entry): `irq=isa:<n>` (ISA IRQ
//!   `n`, 0–15, routed as the MADT says) or `irq=gsi:<n>` gives one
//!   interrupt line (`@irq`); `ports=<first>:<count>[,<first>:<count>…]`
//!   (numbers decimal or `0x` hex; at most 4 ranges, inside 0–0xffff)
//!   gives a handle to exactly each range (`@ports`), nothing around it.
//!   A restarted server gets them again. E.g. the timer server:
//!   `server timer timer irq=isa:0 ports=0x40:4,0x70:2` (the PIT and the
//!   CMOS RTC). `console` gives the console control (`console=<handle>`), with
//!   which a console driver takes COM1 from the kernel: e.g.
//!   `server tty tty console irq=isa:4 ports=0x3f8:8`. `pci` gives the
//!   interrupt control and the device-memory control (`irqctl=<handle>`,
//!   `devmem=<handle>`): for devmgr, the PCI bus's owner, which takes from
//!   them exactly each PCI driver's line and BARs (never RAM, never a
//!   device the kernel drives).
//! - Kernel limits (any kind of entry): `limits=<resource>:<n>[,…]` sets
//!   the process's limit on each named resource (`processes`, `threads`,
//!   `endpoints`, `notifications`, `replies`, `regions`, `watches`,
//!   `handles`, `pagetables`; `libsys::abi::limits`); the others keep the
//!   kernel's defaults. `sched=rt` gives the scheduling control
//!   (`sched=<handle>`), without which no thread of it can be made
//!   real-time.
//!   `mint` gives a name-service handle badged with the process's pid
//!   that may badge copies (`mint=<handle>`: the process server's, for
//!   the `@ns` of the processes it creates); `initramfs` a read-only
//!   handle to the boot module `initramfs` (`initramfs=<handle>:<bytes>`).
//!   `spawn` lets the process ask `init` for new processes (the spawn
//!   protocol; `init`'s `spawnservice`): devmgr's drivers are started so.
//!   `chaos` lets it ask the name service to kill any restartable server
//!   (`Kill`; the restart checker `chaos`, `make chaos`). `service` is
//!   the same right under the name of its other holder: the process
//!   server, which asks for root's `service kill` and `service restart`
//!   (`libsys::proto::proc`'s `KillServer`).
//!   `views` (needs the `pager`) has the memory server show it any
//!   process's areas and memory figures (`/proc/<pid>/maps`, `status`:
//!   the file server).
//! - `power` (servers only: a program or a test is refused) gives the
//!   power control (`power=<handle>`), with which a process turns the
//!   machine off or resets it (`libsys::abi::power`): the process
//!   server's, which answers `reboot(2)`.
//!
//! A process's arguments are those after `--`, then its module's command
//! line.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use libsys::abi::limits::Resource;

/// What a manifest line starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Server,
    Program,
    Test,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    pub name: String,
    pub module: String,
    /// The name it may register (servers).
    pub register: Option<String>,
    pub restarts: u32,
    pub heap_pages: u64,
    pub memory_pages: u64,
    pub own_module: bool,
    /// Another boot module to lend read-only (`file=<name>`: a module of
    /// that name or command line, as the file server's `initramfs`).
    pub file: Option<String>,
    pub kill: Option<String>,
    /// The memory server.
    pub pager: bool,
    /// Device memory it may map through the memory server: (physical
    /// address, pages).
    pub devices: Vec<(u64, u64)>,
    /// The boot framebuffer (`framebuffer`): its memory through the
    /// memory server, its geometry as an argument.
    pub framebuffer: bool,
    /// An interrupt line to give.
    pub irq: Option<IrqLine>,
    /// I/O port ranges to give: (first, count).
    pub ports: Vec<(u16, u32)>,
    /// The user and group it runs as (`uid=`, `gid=`; default 0, root).
    pub uid: u32,
    pub gid: u32,
    /// The console control (`console`): the right to take COM1.
    pub console: bool,
    /// The PCI bus owner's controls (`pci`): the interrupt control (any
    /// GSI) and the device-memory control, from which devmgr gives each
    /// PCI driver exactly its device's line and BARs.
    pub pci: bool,
    /// Kernel limits to set (`limits=`), each at most once.
    pub limits: Vec<(Resource, u64)>,
    /// The scheduling control (`sched=rt`): the right to real time.
    pub sched_rt: bool,
    /// `mint`: a name-service handle badged with its own pid that may
    /// mint more (`MINT`): the process server badges the `@ns` of the
    /// processes it creates with their pids (one pid space).
    pub mint: bool,
    /// `initramfs`: a read-only handle to the boot module `initramfs`
    /// (the process server's executables until the file server serves
    /// them).
    pub initramfs: bool,
    /// `spawn`: it may ask `init` for processes (the spawn protocol,
    /// `libsys::proto::spawn`): devmgr starts drivers so.
    pub spawn: bool,
    /// `chaos`: it may ask the name service to kill a server (`Kill`):
    /// the restart checker's right.
    pub chaos: bool,
    /// `service`: the same right, the process server's (for root's
    /// `service kill` and `service restart`).
    pub service: bool,
    /// `views`: the memory server answers its `Maps` and `Status` about
    /// any process (mm's `AllowViews`): the file server's procfs.
    pub views: bool,
    /// `power`: the power control (servers only): the process server's,
    /// for `reboot(2)`.
    pub power: bool,
    pub args: String,
}

impl Entry {
    /// An entry with every option at its default (as a manifest line
    /// with no options): what a line starts from, and what `init` makes
    /// for a process the spawn protocol asks for.
    pub fn new(kind: Kind, name: &str, module: &str, args: &str) -> Entry {
        Entry {
            kind,
            name: name.into(),
            module: module.into(),
            register: (kind == Kind::Server).then(|| name.to_string()),
            restarts: DEFAULT_RESTARTS,
            heap_pages: DEFAULT_HEAP,
            memory_pages: 0,
            own_module: false,
            file: None,
            kill: None,
            pager: false,
            devices: Vec::new(),
            framebuffer: false,
            irq: None,
            ports: Vec::new(),
            uid: 0,
            gid: 0,
            console: false,
            pci: false,
            limits: Vec::new(),
            sched_rt: false,
            mint: false,
            initramfs: false,
            spawn: false,
            chaos: false,
            service: false,
            views: false,
            power: false,
            args: args.into(),
        }
    }
}

/// An interrupt line, as a manifest names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqLine {
    /// An ISA IRQ (0–15), routed through the MADT.
    Isa(u8),
    /// A global system interrupt.
    Gsi(u32),
}

/// `<resource>:<n>[,…]`, each resource named once.
fn parse_limits(value: &str) -> Option<Vec<(Resource, u64)>> {
    let mut limits: Vec<(Resource, u64)> = Vec::new();
    for item in value.split(',') {
        let (name, n) = item.split_once(':')?;
        let resource = Resource::from_name(name)?;
        if limits.iter().any(|(r, _)| *r == resource) {
            return None;
        }
        limits.push((resource, number(n)?));
    }
    Some(limits)
}

/// Port ranges one entry may have.
pub const PORT_RANGES_MAX: usize = 4;

fn parse_irq(value: &str) -> Option<IrqLine> {
    match value.split_once(':')? {
        ("isa", n) => number(n).filter(|n| *n < 16).map(|n| IrqLine::Isa(n as u8)),
        ("gsi", n) => number(n)
            .and_then(|n| u32::try_from(n).ok())
            .map(IrqLine::Gsi),
        _ => None,
    }
}

fn parse_ports(value: &str) -> Option<Vec<(u16, u32)>> {
    let mut ranges = Vec::new();
    for range in value.split(',') {
        let (first, count) = range.split_once(':')?;
        let (first, count) = (number(first)?, number(count)?);
        if count == 0 || first > 0xffff || first + count > 0x1_0000 {
            return None;
        }
        ranges.push((first as u16, count as u32));
    }
    (ranges.len() <= PORT_RANGES_MAX).then_some(ranges)
}

/// Heap pages a process gets unless the manifest says otherwise: 4 MiB.
pub const DEFAULT_HEAP: u64 = 1024;
/// Restarts a server gets unless the manifest says otherwise.
pub const DEFAULT_RESTARTS: u32 = 3;

/// A manifest line that does not parse: which line (1-based; 0 for a
/// check of the whole manifest) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestError {
    pub line: usize,
    pub why: Problem,
}

/// What is wrong with a manifest line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The first word is not `server`, `program` or `test`.
    UnknownKind(String),
    /// The name or the module is missing.
    MissingNameOrModule,
    /// Two entries have this name.
    NamedTwice(String),
    /// An option this kind of entry does not take, or no option at all.
    UnknownOption(String),
    /// `restarts=` is not a number.
    BadRestarts,
    /// `heap=` is not a number of pages.
    BadHeap,
    /// `memory=` is not a number of pages.
    BadMemory,
    /// `device=` is not a page-aligned address and a page count.
    BadDevice,
    /// `irq=` is not `isa:<0-15>` or `gsi:<n>`.
    BadIrq,
    /// `ports=` is not up to [`PORT_RANGES_MAX`] ranges inside 0–0xffff.
    BadPorts,
    /// `uid=` or `gid=` is not a number below 2^32.
    BadId,
    /// `limits=` is not `<resource>:<n>` items, each resource once.
    BadLimits,
    /// A second server marked `pager`.
    SecondPager,
    /// `device=` before any `pager` server.
    DeviceWithoutPager,
    /// `framebuffer` before any `pager` server.
    FramebufferWithoutPager,
    /// `kill=` names no server (`entry` is the entry that says it).
    KillNamesNoServer { entry: String, target: String },
    /// An option only a server may have (`power`), on a program or test.
    ServerOnly(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnknownKind(kind) => write!(f, "unknown kind `{kind}`"),
            Problem::MissingNameOrModule => write!(f, "expected `<kind> <name> <module>`"),
            Problem::NamedTwice(name) => write!(f, "`{name}` is named twice"),
            Problem::UnknownOption(option) => write!(f, "unknown option `{option}`"),
            Problem::BadRestarts => write!(f, "restarts must be a number"),
            Problem::BadHeap => write!(f, "heap must be a number of pages"),
            Problem::BadMemory => write!(f, "memory must be a number of pages"),
            Problem::BadDevice => write!(f, "device must be <page-aligned address>:<pages>"),
            Problem::BadIrq => write!(f, "irq must be isa:<0-15> or gsi:<n>"),
            Problem::BadPorts => write!(
                f,
                "ports must be up to {PORT_RANGES_MAX} <first>:<count> ranges inside 0-0xffff"
            ),
            Problem::BadId => write!(f, "uid and gid must be numbers below 2^32"),
            Problem::BadLimits => write!(
                f,
                "limits must be <resource>:<n> items, each resource once (threads, endpoints, ...)"
            ),
            Problem::SecondPager => write!(f, "only one server can be the pager"),
            Problem::DeviceWithoutPager => write!(
                f,
                "device= needs the memory server: a `pager` server before it"
            ),
            Problem::FramebufferWithoutPager => write!(
                f,
                "framebuffer needs the memory server: a `pager` server before it \
                 (the framebuffer is device memory only mm can map)"
            ),
            Problem::KillNamesNoServer { entry, target } => {
                write!(f, "{entry}: kill={target} names no server")
            }
            Problem::ServerOnly(option) => write!(
                f,
                "`{option}` is for servers only (a program or test cannot have it)"
            ),
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "manifest line {}: {}", self.line, self.why)
    }
}

/// A decimal number, or hexadecimal after `0x`.
fn number(value: &str) -> Option<u64> {
    match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    }
}

/// Parses a manifest; the first bad line is an error naming it.
pub fn parse(text: &str) -> Result<Vec<Entry>, ManifestError> {
    let mut entries: Vec<Entry> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let bad = |why| ManifestError { line: i + 1, why };
        if let Some(entry) = parse_line(raw, &entries).map_err(bad)? {
            entries.push(entry);
        }
    }
    for entry in &entries {
        if let Some(target) = &entry.kill {
            // `spawned:<name>`: a process another one asked for (devmgr's
            // drivers), found when the entry starts.
            if target.starts_with("spawned:") {
                continue;
            }
            if !entries
                .iter()
                .any(|e| &e.name == target && e.kind == Kind::Server)
            {
                return Err(ManifestError {
                    line: 0,
                    why: Problem::KillNamesNoServer {
                        entry: entry.name.clone(),
                        target: target.clone(),
                    },
                });
            }
        }
    }
    Ok(entries)
}

/// One line, after the `entries` before it: its entry, or `None` for a
/// blank or comment line.
fn parse_line(raw: &str, entries: &[Entry]) -> Result<Option<Entry>, Problem> {
    let content = raw.split('#').next().unwrap_or("").trim();
    if content.is_empty() {
        return Ok(None);
    }
    let (head, args) = match content.split_once(" -- ") {
        Some((head, args)) => (head, args.trim()),
        None => (content.strip_suffix(" --").unwrap_or(content), ""),
    };
    let mut words = head.split_whitespace();
    let kind = match words.next() {
        Some("server") => Kind::Server,
        Some("program") => Kind::Program,
        Some("test") => Kind::Test,
        Some(other) => return Err(Problem::UnknownKind(other.to_string())),
        None => return Ok(None),
    };
    let (Some(name), Some(module)) = (words.next(), words.next()) else {
        return Err(Problem::MissingNameOrModule);
    };
    if entries.iter().any(|e| e.name == name) {
        return Err(Problem::NamedTwice(name.to_string()));
    }
    let mut entry = Entry::new(kind, name, module, args);
    let pager_before = entries.iter().any(|e| e.pager);
    for option in words {
        apply_option(&mut entry, option, pager_before)?;
    }
    if entry.pager {
        // The address spaces it keeps die with it: no restart.
        entry.restarts = 0;
    }
    if !entry.devices.is_empty() && !pager_before {
        return Err(Problem::DeviceWithoutPager);
    }
    if entry.framebuffer && !pager_before {
        return Err(Problem::FramebufferWithoutPager);
    }
    Ok(Some(entry))
}

/// A user or group id: a number that fits 32 bits.
fn id(value: &str) -> Option<u32> {
    number(value).and_then(|n| u32::try_from(n).ok())
}

/// Sets what `option` says on `entry` (`pager_before`: an earlier entry
/// is the pager).
fn apply_option(entry: &mut Entry, option: &str, pager_before: bool) -> Result<(), Problem> {
    let server = entry.kind == Kind::Server;
    match option.split_once('=') {
        Some(("register", "-")) if server => entry.register = None,
        Some(("register", value)) if server => entry.register = Some(value.to_string()),
        Some(("restarts", value)) if server => {
            entry.restarts = number(value).ok_or(Problem::BadRestarts)? as u32;
        }
        Some(("heap", value)) => entry.heap_pages = number(value).ok_or(Problem::BadHeap)?,
        Some(("memory", value)) => entry.memory_pages = number(value).ok_or(Problem::BadMemory)?,
        Some(("kill", value)) => entry.kill = Some(value.to_string()),
        Some(("file", value)) if !value.is_empty() => entry.file = Some(value.to_string()),
        Some(("device", value)) => {
            let range = value
                .split_once(':')
                .and_then(|(phys, pages)| Some((number(phys)?, number(pages)?)))
                .filter(|&(phys, pages)| phys % libsys::abi::PAGE_SIZE == 0 && pages > 0)
                .ok_or(Problem::BadDevice)?;
            entry.devices.push(range);
        }
        Some(("uid", value)) => entry.uid = id(value).ok_or(Problem::BadId)?,
        Some(("gid", value)) => entry.gid = id(value).ok_or(Problem::BadId)?,
        Some(("irq", value)) => entry.irq = Some(parse_irq(value).ok_or(Problem::BadIrq)?),
        Some(("ports", value)) => entry.ports = parse_ports(value).ok_or(Problem::BadPorts)?,
        Some(("limits", value)) => entry.limits = parse_limits(value).ok_or(Problem::BadLimits)?,
        Some(("sched", "rt")) => entry.sched_rt = true,
        None if option == "module" => entry.own_module = true,
        None if option == "console" => entry.console = true,
        None if option == "pci" => entry.pci = true,
        None if option == "mint" => entry.mint = true,
        None if option == "initramfs" => entry.initramfs = true,
        None if option == "spawn" => entry.spawn = true,
        None if option == "chaos" => entry.chaos = true,
        None if option == "service" => entry.service = true,
        None if option == "views" => entry.views = true,
        None if option == "power" && server => entry.power = true,
        None if option == "power" => return Err(Problem::ServerOnly(option.to_string())),
        None if option == "framebuffer" => entry.framebuffer = true,
        None if option == "pager" && server => {
            if pager_before {
                return Err(Problem::SecondPager);
            }
            entry.pager = true;
        }
        _ => return Err(Problem::UnknownOption(option.to_string())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "\
# servers first
server kv kv restarts=5 heap=2048
server crashy crashy register=crashy-svc restarts=1
server quiet quiet register=- -- --verbose
server vfs vfs file=initramfs heap=5120
program shell shell -- hello world
test kvtest kvtest kill=kv memory=4096 module
";

    #[test]
    fn reads_every_kind_and_option() {
        let entries = parse(MANIFEST).unwrap();
        assert_eq!(entries.len(), 6);
        let kv = &entries[0];
        assert_eq!(
            (kv.kind, kv.name.as_str(), kv.module.as_str()),
            (Kind::Server, "kv", "kv")
        );
        assert_eq!(
            (kv.register.as_deref(), kv.restarts, kv.heap_pages),
            (Some("kv"), 5, 2048)
        );
        assert_eq!(entries[1].register.as_deref(), Some("crashy-svc"));
        assert_eq!(entries[2].register, None);
        assert_eq!(entries[2].args, "--verbose");
        assert_eq!(
            (entries[4].kind, entries[4].args.as_str()),
            (Kind::Program, "hello world")
        );
        assert_eq!(entries[4].register, None, "programs register nothing");
        let vfs = &entries[3];
        assert_eq!(
            (
                vfs.file.as_deref(),
                vfs.heap_pages,
                entries[0].file.as_deref()
            ),
            (Some("initramfs"), 5120, None)
        );
        assert_eq!(
            parse("server vfs vfs file=\n").map_err(|e| e.why),
            Err(Problem::UnknownOption("file=".to_string())),
            "a file needs a name"
        );
        let test = &entries[5];
        assert_eq!(
            (
                test.kind,
                test.kill.as_deref(),
                test.memory_pages,
                test.own_module
            ),
            (Kind::Test, Some("kv"), 4096, true)
        );
        assert_eq!(test.heap_pages, DEFAULT_HEAP);
    }

    #[test]
    fn device_ranges_need_the_pager_and_page_alignment() {
        let text = "server mm mm pager\n\
                    program drv drv device=0xfed00000:1 device=4096:2\n";
        let entries = parse(text).unwrap();
        assert_eq!(entries[1].devices, [(0xfed0_0000, 1), (4096, 2)]);
        for bad in [
            "device=0xfed00001:1",
            "device=0xfed00000:0",
            "device=0xfed00000",
            "device=0xzz:1",
            "device=:1",
        ] {
            let text = alloc::format!("server mm mm pager\nprogram drv drv {bad}\n");
            assert_eq!(parse(&text).unwrap_err().line, 2, "{bad}");
        }
        let alone = parse("program drv drv device=0xfed00000:1").unwrap_err();
        assert_eq!(alone.why, Problem::DeviceWithoutPager);
        assert!(alone.to_string().contains("pager"), "{alone}");
    }

    #[test]
    fn framebuffer_needs_the_pager() {
        let entries = parse("server mm mm pager\nserver tty tty console framebuffer\n").unwrap();
        assert!(entries[1].framebuffer && !entries[0].framebuffer);
        for text in [
            "server tty tty framebuffer\nserver mm mm pager\n",
            "server tty tty framebuffer",
            "server mm mm pager framebuffer",
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(
                (e.line, &e.why),
                (1, &Problem::FramebufferWithoutPager),
                "{text}"
            );
            assert!(e.to_string().contains("pager"), "{e}");
        }
        assert!(parse("server mm mm pager\nserver t t framebuffer=1\n").is_err());
    }

    #[test]
    fn one_pager_server_never_restarted() {
        let entries = parse("server mm mm pager restarts=4\nserver kv kv\n").unwrap();
        assert!(entries[0].pager && !entries[1].pager);
        assert_eq!(entries[0].restarts, 0, "whatever the line says");
        assert_eq!(
            parse("server a a pager\nserver b b pager")
                .unwrap_err()
                .line,
            2
        );
        assert_eq!(
            parse("program p p pager").unwrap_err().line,
            1,
            "only a server"
        );
    }

    #[test]
    fn limits_and_sched_options() {
        let entries = parse(
            "test h hostile limits=threads:64,handles:0x100 sched=rt
test p pidtest
",
        )
        .unwrap();
        assert_eq!(
            entries[0].limits,
            vec![(Resource::Threads, 64), (Resource::Handles, 256)]
        );
        assert!(entries[0].sched_rt);
        assert!(entries[1].limits.is_empty() && !entries[1].sched_rt);
        for bad in [
            "test a a limits=threads",
            "test a a limits=pages:3",
            "test a a limits=threads:1,threads:2",
            "test a a limits=threads:x",
            "test a a sched=fifo",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mint_and_initramfs_options() {
        let entries = parse("server proc proc memory=4096 mint initramfs\nserver kv kv\n").unwrap();
        assert!(entries[0].mint && entries[0].initramfs);
        assert_eq!(entries[0].memory_pages, 4096);
        assert!(!entries[1].mint && !entries[1].initramfs);
        assert!(parse("server a a mint=1\n").is_err());
    }

    #[test]
    fn views_option() {
        let entries = parse("server vfs vfs file=initramfs views\nserver kv kv\n").unwrap();
        assert!(entries[0].views && !entries[1].views);
        assert!(parse("server a a views=1\n").is_err());
    }

    #[test]
    fn power_is_for_servers_only() {
        let entries = parse("server proc proc memory=4096 mint power\nserver kv kv\n").unwrap();
        assert!(entries[0].power && !entries[1].power);
        for bad in ["program p p power", "test t t power"] {
            let e = parse(bad).unwrap_err();
            assert_eq!(
                (e.line, e.why.clone()),
                (1, Problem::ServerOnly("power".into()))
            );
            assert_eq!(
                e.to_string(),
                "manifest line 1: `power` is for servers only (a program or test cannot have it)"
            );
        }
        assert!(parse("server a a power=1\n").is_err());
    }

    #[test]
    fn hardware_options() {
        let entries = parse(
            "server timer timer irq=isa:0 ports=0x40:4,0x70:2\nserver d d irq=gsi:0x10 ports=1016:8\n",
        )
        .unwrap();
        assert_eq!(entries[0].irq, Some(IrqLine::Isa(0)));
        assert_eq!(entries[0].ports, vec![(0x40, 4), (0x70, 2)]);
        assert_eq!(entries[1].irq, Some(IrqLine::Gsi(16)));
        assert_eq!(entries[1].ports, vec![(0x3f8, 8)]);
        assert!(!entries[0].console);
        let tty = parse("server tty tty console irq=isa:4 ports=0x3f8:8\n").unwrap();
        assert!(tty[0].console);
        assert!(!tty[0].pci);
        let devmgr = parse("server devmgr devmgr spawn pci ports=0xcf8:8\n").unwrap();
        assert!(devmgr[0].pci);
        assert_eq!(tty[0].irq, Some(IrqLine::Isa(4)));
        for bad in [
            "server a a irq=isa:16",
            "server a a irq=3",
            "server a a irq=pci:1",
            "server a a ports=0x40",
            "server a a ports=0x40:0",
            "server a a ports=0xffff:2",
            "server a a ports=0x10000:1",
            "server a a ports=1:1,2:1,3:1,4:1,5:1",
            "server a a ports=0x40:4,",
        ] {
            assert_eq!(parse(bad).unwrap_err().line, 1, "{bad}");
        }
        assert_eq!(
            parse("server a a").unwrap()[0].irq,
            None,
            "nothing by default"
        );
    }

    #[test]
    fn credentials_options() {
        let entries = parse("server a a\nprogram p p uid=1000 gid=0x64\n").unwrap();
        assert_eq!((entries[0].uid, entries[0].gid), (0, 0), "root by default");
        assert_eq!((entries[1].uid, entries[1].gid), (1000, 100));
        for bad in [
            "program p p uid=x",
            "program p p gid=4294967296",
            "program p p uid=",
        ] {
            assert_eq!(parse(bad).unwrap_err().why, Problem::BadId, "{bad}");
        }
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse("server kv").unwrap_err().line, 1);
        assert_eq!(parse("\n\nbogus a b").unwrap_err().line, 3);
        assert_eq!(parse("server kv kv heap=lots").unwrap_err().line, 1);
        assert_eq!(parse("server kv kv frob=1").unwrap_err().line, 1);
        assert_eq!(
            parse("program p p restarts=3").unwrap_err().line,
            1,
            "only servers restart"
        );
        assert_eq!(
            parse("server a a\nserver a b").unwrap_err().line,
            2,
            "names are unique"
        );
        assert_eq!(
            parse("test t t kill=nobody").unwrap_err().to_string(),
            "manifest line 0: t: kill=nobody names no server"
        );
        assert_eq!(
            parse("\n\nbogus a b").unwrap_err().to_string(),
            "manifest line 3: unknown kind `bogus`"
        );
        assert_eq!(
            parse("server a a ports=1:1,2:1,3:1,4:1,5:1")
                .unwrap_err()
                .why
                .to_string(),
            "ports must be up to 4 <first>:<count> ranges inside 0-0xffff"
        );
        assert_eq!(parse("# only a comment\n   \n").unwrap(), vec![]);
    }

    #[test]
    fn spawn_and_kill_of_a_spawned_process() {
        let entries = parse(
            "server devmgr devmgr spawn irq=isa:1 ports=0xcf8:8,0x60:1,0x64:1\n\
             test spawntest spawntest spawn kill=spawned:kbd\n\
             test other other\n",
        )
        .unwrap();
        assert!(entries[0].spawn && entries[1].spawn && !entries[2].spawn);
        assert_eq!(entries[1].kill.as_deref(), Some("spawned:kbd"));
        assert_eq!(entries[0].ports, [(0xcf8, 8), (0x60, 1), (0x64, 1)]);
        // A spawned child is an entry with every option at its default.
        let child = Entry::new(Kind::Program, "kbd", "kbd", "a b");
        assert_eq!(
            (
                child.heap_pages,
                child.spawn,
                child.register,
                child.args.as_str()
            ),
            (DEFAULT_HEAP, false, None, "a b")
        );
        assert!(parse("test t t kill=nosuch").is_err(), "kill= of no server");
    }

    #[test]
    fn the_chaos_right() {
        let entries = parse(
            "server kv kv restarts=100000
test chaos chaos chaos
test t t
",
        )
        .unwrap();
        assert_eq!(entries[0].restarts, 100_000);
        assert!(entries[1].chaos && !entries[2].chaos && !entries[0].chaos);
        let proc = parse("server proc proc service\n").unwrap();
        assert!(proc[0].service && !proc[0].chaos);
        assert!(!entries.iter().any(|e| e.service));
    }
}
