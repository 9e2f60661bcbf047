//! `lab replay vfs`: the VFS's trace replayed against its core, with the
//! core's outside calls answered from the record (docs/labs/README.md,
//! "The VFS: its disk and its callers' windows in the record").
//!
//! The replay builds a fresh `Vfs` as the binary does at start — tmpfs at
//! `/`, the initramfs unpacked (its entries from the record's `cpio`
//! lines; a large file's data from the host build's archive when its
//! hash matches), devfs on `/dev` with the recorded block devices and
//! coldplugged devices, `/etc/fstab` mounted (ext2 over a disk that
//! answers from the record's `bread` lines), `/dev/urandom` seeded with
//! the recorded pool — then feeds every recorded request in order. Each
//! call the core makes across its boundary (a block read or write, a copy
//! from or into the caller's window, a credentials lookup, a terminal
//! call) must be the next recorded one, and gets its recorded result;
//! each reply, at once or when a waiting request is retried, must be the
//! recorded one. The first difference is reported.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use ext2::{BlockDevice, DeviceError};
use libsys::abi::grant::{Access, Window};
use libsys::abi::SysError;
use libsys::grant::GrantAccess;
use libsys::proto::vfs::{RegRequest, Reply, Request, Words, LABEL_REGS};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REQUEST};
use vfs::ext2fs::{DeviceOpener, Ext2Type};
use vfs::procfs::{ProcFsType, ProcSource};
use vfs::record::fnv64;
use vfs::service::{mount_devfs, Console, KernelLog, Outcome, Service};
use vfs::sysfs::{SysFsType, SysSource};
use vfs::tmpfs::TmpfsType;
use vfs::types::{Cred, Timespec};
use vfs::{Errno, Limits, VecPageProvider, Vfs};

use super::Replayed;

/// The binary's page-cache budget (servers/vfs/src/main.rs).
const CACHE_PAGES: usize = 8192;
/// The client the binary unpacks and mounts as.
const UNPACKER: u64 = u64::MAX;
/// Where the host build keeps the initramfs (`make initramfs`).
pub const HOST_ARCHIVE: &str = "build/initramfs.cpio";

/// One line of the record and its payload.
#[derive(Clone, Debug)]
pub(crate) struct Ev {
    words: Vec<String>,
    bytes: Vec<u8>,
    line: usize,
}

impl Ev {
    fn kind(&self) -> &str {
        self.words.first().map_or("", |w| w.as_str())
    }
    fn word(&self, k: usize) -> &str {
        self.words.get(k).map_or("", |w| w.as_str())
    }
    fn num(&self, k: usize) -> Result<u64, String> {
        self.word(k).parse().map_err(|_| {
            format!(
                "line {}: word {} of `{}` is not a number",
                self.line,
                k + 1,
                self.words.join(" ")
            )
        })
    }
    fn show(&self) -> String {
        format!("`{}` (line {})", self.words.join(" "), self.line)
    }
}

/// The lines of a vfs trace: each `REC vfs <words>` with the `+` lines
/// after it as its payload.
pub(crate) fn parse(text: &str) -> Result<Vec<Ev>, String> {
    let mut events: Vec<Ev> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let rest = line
            .strip_prefix("REC vfs ")
            .ok_or_else(|| format!("line {}: not a `REC vfs` line", i + 1))?;
        if let Some(hex) = rest.strip_prefix("+ ") {
            let bytes = super::hex(hex.trim()).map_err(|e| format!("line {}: {e}", i + 1))?;
            events
                .last_mut()
                .ok_or_else(|| format!("line {}: a payload before any event", i + 1))?
                .bytes
                .extend(bytes);
            continue;
        }
        events.push(Ev {
            words: rest.split_whitespace().map(String::from).collect(),
            bytes: Vec::new(),
            line: i + 1,
        });
    }
    Ok(events)
}

/// The record being replayed, shared by the loop and the boundary
/// objects the core is given: each call takes the next event.
struct Tape {
    events: Vec<Ev>,
    at: usize,
    /// The first call the record does not have.
    error: Option<String>,
    /// Whether what the core copies into windows is compared (by hash):
    /// not when initramfs files had to be made up.
    compare_data: bool,
}

type Shared = Rc<RefCell<Tape>>;

impl Tape {
    fn peek(&self) -> Option<&Ev> {
        self.events.get(self.at)
    }

    /// The next event if it is a `kind` (`con` events: `con <sub>`), else
    /// the error (the first kept) that the core made `what` instead.
    fn take(&mut self, kind: &str, sub: Option<&str>, what: &dyn Fn() -> String) -> Option<Ev> {
        let fits = self
            .peek()
            .is_some_and(|e| e.kind() == kind && sub.is_none_or(|s| e.word(1) == s));
        if fits {
            self.at += 1;
            return Some(self.events[self.at - 1].clone());
        }
        let has = self.peek().map_or("its end".to_string(), Ev::show);
        self.fail(format!(
            "the core made {} where the recording has {has}",
            what()
        ));
        None
    }

    fn fail(&mut self, why: String) {
        if self.error.is_none() {
            self.error = Some(why);
        }
    }
}

fn take(tape: &Shared, kind: &str, sub: Option<&str>, what: impl Fn() -> String) -> Option<Ev> {
    tape.borrow_mut().take(kind, sub, &what)
}

/// The next event if it is a `kind`.
fn take_if(tape: &Shared, kind: &str) -> Option<Ev> {
    let mut tape = tape.borrow_mut();
    let e = tape.peek().filter(|e| e.kind() == kind).cloned()?;
    tape.at += 1;
    Some(e)
}

fn fail(tape: &Shared, why: String) {
    tape.borrow_mut().fail(why);
}

fn device_error(word: &str) -> DeviceError {
    match word {
        "range" => DeviceError::OutOfRange,
        "ro" => DeviceError::ReadOnly,
        _ => DeviceError::Io,
    }
}

fn errno(n: u64) -> Errno {
    i32::try_from(n)
        .ok()
        .and_then(|n| Errno::from_i32(n).ok())
        .unwrap_or(Errno::EIO)
}

/// The opener ext2 is given: each open the next `bopen`.
struct ReplayOpener(Shared);

impl DeviceOpener for ReplayOpener {
    fn open(&self, source: &[u8], read_only: bool) -> Result<Box<dyn BlockDevice>, Errno> {
        let src = String::from_utf8_lossy(source).into_owned();
        let ro = u8::from(read_only).to_string();
        let what = || format!("an open of {src:?} (read-only {read_only})");
        let Some(e) = take(&self.0, "bopen", None, what) else {
            return Err(Errno::EIO);
        };
        if e.word(2) != src || e.word(3) != ro {
            fail(
                &self.0,
                format!(
                    "the core opened {src:?} where the recording has {}",
                    e.show()
                ),
            );
            return Err(Errno::EIO);
        }
        if e.word(4) != "ok" {
            return Err(errno(e.num(5).unwrap_or(5)));
        }
        match (e.num(1), e.num(5), e.num(6)) {
            (Ok(n), Ok(size), Ok(sectors)) => Ok(Box::new(ReplayDevice {
                tape: self.0.clone(),
                n,
                size: size as usize,
                sectors,
            })),
            (Err(why), ..) | (_, Err(why), _) | (.., Err(why)) => {
                fail(&self.0, why);
                Err(Errno::EIO)
            }
        }
    }
}

/// A block device answering from the record.
struct ReplayDevice {
    tape: Shared,
    n: u64,
    size: usize,
    sectors: u64,
}

impl ReplayDevice {
    /// The next `kind` event if it is of this device at `sector` for
    /// `len` bytes.
    fn next(&self, kind: &str, sector: u64, len: usize, what: &str) -> Option<Ev> {
        let n = self.n;
        let e = take(&self.tape, kind, None, || {
            format!("a {what} of {len} bytes at sector {sector} of device {n}")
        })?;
        if e.word(1) != n.to_string()
            || e.word(2) != sector.to_string()
            || e.word(3) != len.to_string()
        {
            fail(
                &self.tape,
                format!("the core made a {what} of {len} bytes at sector {sector} of device {n} where the recording has {}", e.show()),
            );
            return None;
        }
        Some(e)
    }
}

impl BlockDevice for ReplayDevice {
    fn sector_size(&self) -> usize {
        self.size
    }

    fn sector_count(&self) -> u64 {
        self.sectors
    }

    fn read_sectors(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let e = self
            .next("bread", sector, buf.len(), "read")
            .ok_or(DeviceError::Io)?;
        if e.word(4) != "ok" {
            return Err(device_error(e.word(5)));
        }
        if e.bytes.len() != buf.len() {
            fail(
                &self.tape,
                format!("{}: {} of its {} bytes", e.show(), e.bytes.len(), buf.len()),
            );
            return Err(DeviceError::Io);
        }
        buf.copy_from_slice(&e.bytes);
        Ok(())
    }

    fn write_sectors(&mut self, sector: u64, buf: &[u8]) -> Result<(), DeviceError> {
        let e = self
            .next("bwrite", sector, buf.len(), "write")
            .ok_or(DeviceError::Io)?;
        if e.word(4) != fnv64(buf).to_string() {
            fail(
                &self.tape,
                format!(
                    "the core wrote other data to sector {sector} of device {} ({} bytes) than {}",
                    self.n,
                    buf.len(),
                    e.show()
                ),
            );
            return Err(DeviceError::Io);
        }
        match e.word(5) {
            "ok" => Ok(()),
            _ => Err(device_error(e.word(6))),
        }
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        let n = self.n;
        let e = take(&self.tape, "bflush", None, || {
            format!("a flush of device {n}")
        })
        .ok_or(DeviceError::Io)?;
        match e.word(2) {
            "ok" => Ok(()),
            _ => Err(device_error(e.word(3))),
        }
    }
}

/// The caller's window as recorded (`win`), its copies from the record.
struct ReplayGrant {
    tape: Shared,
    window: Option<Window>,
    /// Copies into it that are not compared (a terminal `ioctl`'s,
    /// whose bytes the record does not hold).
    blind: bool,
}

fn sys_error(n: u64) -> SysError {
    SysError::try_from(n).unwrap_or(SysError::BadAddress)
}

impl GrantAccess for ReplayGrant {
    fn window(&self) -> Option<Window> {
        self.window
    }

    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), SysError> {
        let len = data.len();
        let what = || format!("a copy of {len} bytes into the window at {offset}");
        let e = take(&self.tape, "gout", None, what).ok_or(SysError::BadAddress)?;
        let compare = self.tape.borrow().compare_data && !self.blind;
        if e.word(1) != offset.to_string()
            || e.word(2) != len.to_string()
            || (compare && e.word(3) != fnv64(data).to_string())
        {
            fail(
                &self.tape,
                format!("the core copied {len} bytes into the window at {offset} (hash {}) where the recording has {}", fnv64(data), e.show()),
            );
            return Err(SysError::BadAddress);
        }
        match e.word(4) {
            "ok" => Ok(()),
            _ => Err(sys_error(e.num(5).unwrap_or(2))),
        }
    }

    fn read(&mut self, offset: u64, out: &mut [u8]) -> Result<(), SysError> {
        let len = out.len();
        let what = || format!("a copy of {len} bytes from the window at {offset}");
        let e = take(&self.tape, "gin", None, what).ok_or(SysError::BadAddress)?;
        if e.word(1) != offset.to_string() || e.word(2) != len.to_string() {
            fail(
                &self.tape,
                format!("the core copied {len} bytes from the window at {offset} where the recording has {}", e.show()),
            );
            return Err(SysError::BadAddress);
        }
        if e.word(3) != "ok" {
            return Err(sys_error(e.num(4).unwrap_or(2)));
        }
        if e.bytes.len() != len {
            fail(
                &self.tape,
                format!("{}: {} of its {len} bytes", e.show(), e.bytes.len()),
            );
            return Err(SysError::BadAddress);
        }
        out.copy_from_slice(&e.bytes);
        Ok(())
    }
}

fn console_result(e: &Ev, k: usize) -> Result<usize, Errno> {
    let v = e.num(k + 1).unwrap_or(5);
    match e.word(k) {
        "ok" => Ok(v as usize),
        _ => Err(errno(v)),
    }
}

/// The terminal, answering from the record's `con` lines.
struct ReplayConsole(Shared);

impl Console for ReplayConsole {
    fn write(&mut self, pid: u64, data: &[u8]) -> Result<usize, Errno> {
        let len = data.len();
        let e = take(&self.0, "con", Some("write"), || {
            format!("a terminal write of {len} bytes for {pid}")
        })
        .ok_or(Errno::EIO)?;
        if e.word(2) != pid.to_string() || e.word(3) != len.to_string() {
            fail(&self.0, format!("the core wrote {len} bytes to the terminal for {pid} where the recording has {}", e.show()));
            return Err(Errno::EIO);
        }
        console_result(&e, 4)
    }

    fn read(&mut self, pid: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let len = buf.len();
        let e = take(&self.0, "con", Some("read"), || {
            format!("a terminal read of {len} bytes for {pid}")
        })
        .ok_or(Errno::EIO)?;
        let n = e.bytes.len().min(len);
        buf[..n].copy_from_slice(&e.bytes[..n]);
        console_result(&e, 4)
    }

    fn reads_later(&mut self) -> bool {
        take(&self.0, "con", Some("later"), || "a terminal query".into())
            .is_some_and(|e| e.word(2) == "1")
    }

    fn ioctl(
        &mut self,
        pid: u64,
        cmd: u32,
        arg: u64,
        grant: &mut dyn GrantAccess,
    ) -> Result<u64, Errno> {
        // The copies the terminal call made through the window come first
        // in the record; the replay makes the same ones.
        loop {
            let next = self.0.borrow().peek().cloned();
            let Some(e) = next else { break };
            let (offset, len) = (e.num(1).unwrap_or(0), e.num(2).unwrap_or(0) as usize);
            match e.kind() {
                "gin" => {
                    let _ = grant.read(offset, &mut vec![0; len]);
                }
                "gout" => {
                    // Not comparable: the record has the hash of bytes the
                    // terminal gave, not the bytes.
                    let shown = e.show();
                    let mut blind = ReplayGrant {
                        tape: self.0.clone(),
                        window: grant.window(),
                        blind: true,
                    };
                    if blind.write(offset, &vec![0; len]).is_err()
                        && self.0.borrow().error.is_none()
                    {
                        fail(&self.0, format!("{shown}: a terminal copy failed"));
                    }
                }
                _ => break,
            }
        }
        let e = take(&self.0, "con", Some("ioctl"), || {
            format!("a terminal ioctl {cmd:#x} for {pid}")
        })
        .ok_or(Errno::EIO)?;
        if e.word(2) != pid.to_string()
            || e.word(3) != cmd.to_string()
            || e.word(4) != arg.to_string()
        {
            fail(&self.0, format!("the core made terminal ioctl {cmd:#x} ({arg}) for {pid} where the recording has {}", e.show()));
            return Err(Errno::EIO);
        }
        console_result(&e, 5).map(|v| v as u64)
    }
}

/// What the record cannot answer (it ends where the binary met one):
/// meeting it in the replay is a difference.
struct Unrecorded(Shared, &'static str);

impl Unrecorded {
    fn met<T>(&self) -> Result<T, Errno> {
        fail(&self.0, format!("the core asked {}, which the recording does not have (it ends where the recorded server did)", self.1));
        Err(Errno::EIO)
    }
}

/// `/dev/kmsg`, answering from the record's `klog` lines.
struct ReplayKernelLog(Shared);

impl KernelLog for ReplayKernelLog {
    fn read(&mut self, since: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let len = buf.len();
        let e = take(&self.0, "klog", Some("read"), || {
            format!("a kernel-log read of {len} bytes from {since}")
        })
        .ok_or(Errno::EIO)?;
        if e.word(2) != since.to_string() || e.word(3) != len.to_string() {
            fail(&self.0, format!("the core read the kernel log ({len} bytes from {since}) where the recording has {}", e.show()));
            return Err(Errno::EIO);
        }
        let n = e.bytes.len().min(len);
        buf[..n].copy_from_slice(&e.bytes[..n]);
        console_result(&e, 4)
    }

    fn write(&mut self, text: &[u8]) -> Result<usize, Errno> {
        let len = text.len();
        let e = take(&self.0, "klog", Some("write"), || {
            format!("a kernel-log write of {len} bytes")
        })
        .ok_or(Errno::EIO)?;
        if e.word(2) != len.to_string() {
            fail(
                &self.0,
                format!(
                    "the core wrote {len} bytes to the kernel log where the recording has {}",
                    e.show()
                ),
            );
            return Err(Errno::EIO);
        }
        console_result(&e, 3)
    }
}

impl ProcSource for Unrecorded {
    fn tasks(&mut self, _: u64) -> Result<Vec<libsys::proto::proc::TaskInfo>, Errno> {
        self.met()
    }
    fn cmdline(&mut self, _: u64) -> Result<Vec<u8>, Errno> {
        self.met()
    }
    fn mem_status(&mut self, _: u64) -> Result<libsys::proto::mm::MemStatus, Errno> {
        self.met()
    }
    fn maps(&mut self, _: u64) -> Result<Vec<libsys::proto::mm::MapEntry>, Errno> {
        self.met()
    }
    fn system(&mut self) -> Result<libsys::proto::mm::SystemStats, Errno> {
        self.met()
    }
    fn slabs(&mut self) -> Result<Vec<libsys::proto::mm::CacheInfo>, Errno> {
        self.met()
    }
    fn uptime(&mut self) -> (u64, Option<u64>) {
        let _ = self.met::<()>();
        (0, None)
    }
    fn times(&mut self, _: u64) -> Option<libsys::abi::ProcessTime> {
        let _ = self.met::<()>();
        None
    }
}

impl SysSource for Unrecorded {
    fn node(&mut self, _: &str) -> Result<Option<vfs::sysfs::Node>, Errno> {
        self.met()
    }
    fn list(&mut self, _: &str) -> Result<Vec<String>, Errno> {
        self.met()
    }
    fn read(&mut self, _: &str) -> Result<Vec<u8>, Errno> {
        self.met()
    }
    fn write(&mut self, _: &str, _: &[u8]) -> Result<(), Errno> {
        self.met()
    }
}

/// A credentials lookup: the next `cred` line.
fn lookup(tape: &Shared, pid: u64) -> Option<Cred> {
    let e = take(tape, "cred", None, || {
        format!("a credentials lookup of {pid}")
    })?;
    if e.word(1) != pid.to_string() {
        fail(
            tape,
            format!(
                "the core looked up {pid}'s credentials where the recording has {}",
                e.show()
            ),
        );
        return None;
    }
    if e.word(2) == "none" {
        return None;
    }
    let groups = match e.word(4) {
        "-" => Vec::new(),
        list => list.split(',').filter_map(|g| g.parse().ok()).collect(),
    };
    Some(Cred {
        uid: e.num(2).ok()? as u32,
        gid: e.num(3).ok()? as u32,
        groups: groups.into_iter().collect(),
    })
}

fn set_clock(vfs: &mut Vfs, e: &Ev) -> Result<(), String> {
    let (sec, nsec) = (e.num(1)?, e.num(2)?);
    vfs.set_time(Timespec {
        sec: sec as i64,
        nsec: nsec as i64,
    });
    vfs::ext2fs::set_clock(sec.min(u64::from(u32::MAX)) as u32);
    Ok(())
}

/// The initramfs entries of the record's `cpio` lines, their data from
/// the record (small files), else from `host` (the host build's archive)
/// when the hash matches, else zeros. Returns how many were made up.
fn unpack(vfs: &mut Vfs, cpio: &[Ev], host: Option<&[u8]>) -> Result<usize, String> {
    use cpio::header::FileType;
    let mut by_name: HashMap<String, &[u8]> = HashMap::new();
    if let Some(host) = host {
        for entry in cpio::reader::Archive::new(host).entries().flatten() {
            by_name.insert(entry.name.to_string(), entry.data);
        }
    }
    let mut zeros: Vec<Vec<u8>> = Vec::new();
    let mut made_up = 0;
    // Entry data borrowed from the events, the host archive or `zeros`.
    let mut plan: Vec<(usize, Option<usize>)> = Vec::new();
    for (k, e) in cpio.iter().enumerate() {
        let size = e.num(5)? as usize;
        let hash = e.num(6)?;
        let recorded = e.bytes.len() == size || e.word(1) == "d";
        let in_host = by_name
            .get(e.word(7))
            .is_some_and(|d| d.len() == size && fnv64(d) == hash);
        if recorded || in_host {
            plan.push((k, None));
        } else {
            made_up += 1;
            zeros.push(vec![0; size]);
            plan.push((k, Some(zeros.len() - 1)));
        }
    }
    let mut entries = Vec::new();
    for (k, zero) in plan {
        let e = &cpio[k];
        let size = e.num(5)? as usize;
        let data: &[u8] = match zero {
            Some(z) => &zeros[z],
            None if e.bytes.len() == size || e.word(1) == "d" => &e.bytes,
            None => by_name[e.word(7)],
        };
        let file_type = match e.word(1) {
            "d" => FileType::Directory,
            "f" => FileType::Regular,
            "l" => FileType::Symlink,
            _ => FileType::Fifo,
        };
        let link = match e.word(8) {
            "-" | "" => None,
            first => Some(first.to_string().into()),
        };
        entries.push(Some(cpio::reader::Entry {
            name: e.word(7).to_string().into(),
            file_type,
            perm: e.num(2)? as u32,
            ino: 0,
            uid: e.num(3)? as u32,
            gid: e.num(4)? as u32,
            nlink: 1,
            mtime: 0,
            dev_major: 0,
            dev_minor: 0,
            rdev_major: 0,
            rdev_minor: 0,
            data,
            link,
            offset: 0,
        }));
    }
    vfs::initramfs::unpack_entries(vfs, UNPACKER, entries)
        .map_err(|e| format!("the recorded initramfs does not unpack: {e}"))?;
    Ok(made_up)
}

/// A request as recorded: its text and what the core is handed.
enum Held {
    Regs(RegRequest, Vec<u8>),
    Decoded(Box<Request>),
}

impl Held {
    fn of(label: u32, bytes: &[u8]) -> Option<Held> {
        match label {
            LABEL_REGS if bytes.len() >= 48 => {
                let mut words: Words = [0; 6];
                for (k, w) in words.iter_mut().enumerate() {
                    *w = u64::from_le_bytes(bytes[8 * k..8 * k + 8].try_into().ok()?);
                }
                Some(Held::Regs(
                    RegRequest::from_words(&words)?,
                    bytes[48..].to_vec(),
                ))
            }
            LABEL_REQUEST => rpc::decode::<Request>(bytes)
                .ok()
                .map(|r| Held::Decoded(Box::new(r))),
            _ => None,
        }
    }

    fn show(&self) -> String {
        match self {
            Held::Regs(r, path) if path.is_empty() => format!("{r:?}"),
            Held::Regs(r, path) => format!("{r:?} {:?}", String::from_utf8_lossy(path)),
            Held::Decoded(r) => {
                let text = format!("{r:?}");
                if text.len() > 160 {
                    format!("{}..", &text[..160])
                } else {
                    text
                }
            }
        }
    }

    fn handle(
        &self,
        service: &mut Service,
        badge: u64,
        grant: &mut dyn GrantAccess,
        tape: &Shared,
    ) -> Outcome {
        let lookup = &mut |pid| lookup(tape, pid);
        match self {
            Held::Regs(r, path) => service.handle_regs(badge, *r, path, grant, lookup),
            Held::Decoded(r) => service.handle(badge, r, grant, lookup),
        }
    }
}

fn window(tape: &Shared) -> Result<Option<Window>, String> {
    let e = take(tape, "win", None, || "a request's window".into())
        .ok_or_else(|| tape.borrow().error.clone().unwrap_or_default())?;
    if e.word(1) == "-" {
        return Ok(None);
    }
    let access = if e.word(2) == "r" {
        Access::Read
    } else {
        Access::Write
    };
    Ok(Some(Window {
        address: 0x1000_0000,
        length: e.num(1)?,
        access,
    }))
}

/// The recorded reply of a `now`/`deliver` (postcard form) decoded.
fn recorded_reply(e: &Ev) -> Result<Reply, String> {
    rpc::decode::<Reply>(&e.bytes).map_err(|_| format!("{}: an undecodable reply", e.show()))
}

/// The events up to the first `end` or second `start`, without the step
/// the `end` cut short (from its last `clock`, `req`, `retry` or
/// `signal`).
fn before_end(events: &[Ev]) -> (&[Ev], Option<String>) {
    let first = usize::from(events.first().is_some_and(|e| e.kind() == "start"));
    let stop = events[first..]
        .iter()
        .position(|e| e.kind() == "end" || e.kind() == "start")
        .map(|k| k + first);
    match stop {
        None => (events, None),
        Some(at) if events[at].kind() == "start" => (&events[..at], Some("a restart".into())),
        Some(at) => {
            let begins = |e: &Ev| matches!(e.kind(), "clock" | "req" | "retry" | "signal");
            let cut = events[..at].iter().rposition(begins).unwrap_or(at);
            // A `clock` right before the step's `req` goes with it.
            let cut = if cut > 0 && events[cut].kind() == "req" && events[cut - 1].kind() == "clock"
            {
                cut - 1
            } else {
                cut
            };
            (&events[..cut], Some(events[at].words[1..].join(" ")))
        }
    }
}

/// Replays a vfs trace: `host` is the host build's initramfs, if any.
pub fn replay_vfs_with(text: &str, host: Option<&[u8]>) -> Result<Replayed, String> {
    let all = parse(text)?;
    let (events, _ended) = before_end(&all);
    let first = usize::from(events.first().is_some_and(|e| e.kind() == "start"));
    let tape: Shared = Rc::new(RefCell::new(Tape {
        events: events[first..].to_vec(),
        at: 0,
        error: None,
        compare_data: true,
    }));
    let mut service = boot(&tape, host)?;
    let mut shown: Vec<String> = Vec::new();
    let mut waiting: HashMap<u64, (u64, Held, Option<Window>)> = HashMap::new();
    let mut replies = 0;
    let mut woken = Vec::new();
    let describe = |shown: &[String], n: usize| format!("request #{n} {}", shown[n - 1]);
    loop {
        let Some(e) = tape.borrow().peek().cloned() else {
            break;
        };
        tape.borrow_mut().at += 1;
        match e.kind() {
            "clock" => set_clock(&mut service.vfs, &e)?,
            "signal" => {}
            "uevent" => apply_uevent(&mut service.vfs, &e.bytes)?,
            "flush" => {
                service.vfs.flush();
                let _ = service.vfs.sync_filesystems();
                if let Some(why) = tape.borrow_mut().error.take() {
                    return Err(format!("the flusher after request #{}: {why}", shown.len()));
                }
            }
            "req" => {
                let (badge, label) = (e.num(1)?, e.num(2)? as u32);
                let held = Held::of(label, &e.bytes);
                shown.push(held.as_ref().map_or(format!("(label {label:#x})"), Held::show));
                let n = shown.len();
                let next = tape.borrow().peek().cloned();
                if let Some(next) = next.filter(|x| x.kind() == "now" && x.word(1) == LABEL_BAD_REQUEST.to_string()) {
                    let _ = next;
                    tape.borrow_mut().at += 1;
                    replies += 1;
                    continue;
                }
                let Some(held) = held else {
                    return Err(format!("{}: undecodable, yet the recording has a reply to it", describe(&shown, n)));
                };
                let window = window(&tape).map_err(|why| format!("{}: {why}", describe(&shown, n)))?;
                let mut grant = ReplayGrant {
                    tape: tape.clone(),
                    window,
                    blind: false,
                };
                let outcome = held.handle(&mut service, badge, &mut grant, &tape);
                if let Some(why) = tape.borrow_mut().error.take() {
                    return Err(format!("{}: {why}", describe(&shown, n)));
                }
                let next = tape.borrow().peek().cloned();
                let Some(next) = next else {
                    return Err(format!("{}: the recording ends before its reply", describe(&shown, n)));
                };
                tape.borrow_mut().at += 1;
                match (outcome, next.kind()) {
                    (Outcome::Reply(got), "now") => {
                        let want = recorded_reply(&next)?;
                        if got != want {
                            return Err(format!("{}: expected {want:?} got {got:?}", describe(&shown, n)));
                        }
                        replies += 1;
                    }
                    (Outcome::Blocked, "later") => {
                        let held = match held {
                            Held::Regs(r, path) if r.has_path() => match r.request(&path) {
                                Ok(full) => Held::Decoded(Box::new(full)),
                                Err(_) => Held::Regs(r, path),
                            },
                            other => other,
                        };
                        waiting.insert(next.num(1)?, (badge, held, window));
                    }
                    (Outcome::ConsoleRead { len }, "conread") if next.word(1) == len.to_string() => {}
                    (got, _) => {
                        let got = match got {
                            Outcome::Reply(r) => format!("{r:?}"),
                            Outcome::Blocked => "it to block".into(),
                            Outcome::ConsoleRead { len } => format!("a terminal read of {len}"),
                        };
                        let want = match next.kind() {
                            "now" => format!("{:?}", recorded_reply(&next)?),
                            "later" => "it to block".into(),
                            _ => next.show(),
                        };
                        return Err(format!("{}: expected {want} got {got}", describe(&shown, n)));
                    }
                }
            }
            "retry" => {
                let token = e.num(1)?;
                let Some((badge, held, _)) = waiting.get(&token) else {
                    return Err(format!("{}: a retry of no waiting request", e.show()));
                };
                let text = held.show();
                let mut grant = ReplayGrant {
                    tape: tape.clone(),
                    window: window(&tape).map_err(|why| format!("the retry of {text}: {why}"))?,
                    blind: false,
                };
                let outcome = held.handle(&mut service, *badge, &mut grant, &tape);
                if let Some(why) = tape.borrow_mut().error.take() {
                    return Err(format!("the retry of {text} (after request #{}): {why}", shown.len()));
                }
                let next = tape.borrow().peek().cloned();
                tape.borrow_mut().at += 1;
                match (outcome, next.as_ref().map(Ev::kind)) {
                    (Outcome::Blocked | Outcome::ConsoleRead { .. }, Some("still")) => {}
                    (Outcome::Reply(got), Some("deliver")) => {
                        let next = next.unwrap();
                        let want = recorded_reply(&next)?;
                        if got != want {
                            return Err(format!("the retry of {text} (after request #{}): expected {want:?} got {got:?}", shown.len()));
                        }
                        waiting.remove(&token);
                        replies += 1;
                    }
                    (Outcome::Reply(got), _) => {
                        return Err(format!("the retry of {text} (after request #{}): expected it still to wait, got {got:?}", shown.len()))
                    }
                    (_, _) => {
                        return Err(format!("the retry of {text} (after request #{}): expected its answer, but it still waits", shown.len()))
                    }
                }
            }
            _ => {
                return Err(format!(
                    "{} comes where no request or step began (after request #{}): the core did not make that call",
                    e.show(),
                    shown.len()
                ))
            }
        }
        service.vfs.take_wakeups_into(&mut woken);
    }
    Ok(Replayed {
        requests: shown.len(),
        replies,
    })
}

/// Applies one recorded uevent (netlink form) as the binary does.
fn apply_uevent(vfs: &mut Vfs, bytes: &[u8]) -> Result<(), String> {
    if vfs.new_client(UNPACKER, Cred::root()).is_err() {
        return Ok(());
    }
    if let Ok(event) = vfs::devfs::Uevent::parse(bytes) {
        let _ = vfs::devfs::apply_uevent(vfs, UNPACKER, b"/dev", &event);
    }
    let _ = vfs.exit(UNPACKER);
    Ok(())
}

/// Builds the core as the binary does at start, from the record's start
/// events.
fn boot(tape: &Shared, host: Option<&[u8]>) -> Result<Service, String> {
    let next = |kind: &str| -> Result<Ev, String> {
        take(tape, kind, None, || format!("its start (`{kind}`)"))
            .ok_or_else(|| tape.borrow_mut().error.take().unwrap_or_default())
    };
    let args = next("args")?;
    let args = String::from_utf8_lossy(&args.bytes).into_owned();
    let mut vfs = Vfs::new(
        Box::new(VecPageProvider::new(CACHE_PAGES)),
        Limits::default(),
    );
    if let Some(cs) = args
        .split_whitespace()
        .find_map(|a| a.strip_prefix("dirty_expire_centisecs=")?.parse().ok())
    {
        vfs.pcache.config.dirty_expire = cs;
    }
    vfs.register_filesystem(Box::new(TmpfsType))
        .and_then(|()| vfs.mount_root("tmpfs", b"mode=755"))
        .map_err(|e| format!("tmpfs at /: {e}"))?;
    set_clock(&mut vfs, &next("clock")?)?;
    let (t1, t2, t3) = (tape.clone(), tape.clone(), tape.clone());
    let _ = vfs.register_filesystem(Box::new(Ext2Type::new(Box::new(ReplayOpener(t1)))));
    let _ = vfs.register_filesystem(Box::new(ProcFsType::new(Box::new(move || {
        Box::new(Unrecorded(t2.clone(), "procfs's source")) as Box<dyn ProcSource>
    }))));
    let _ = vfs.register_filesystem(Box::new(SysFsType::new(Box::new(move || {
        Box::new(Unrecorded(t3.clone(), "sysfs's source")) as Box<dyn SysSource>
    }))));
    let _ = vfs.register_filesystem(Box::new(vfs::devfs::DevfsType));
    // The root: the initramfs, then /tmp.
    let mut cpio = Vec::new();
    while let Some(e) = take_if(tape, "cpio") {
        cpio.push(e);
    }
    if vfs.new_client(UNPACKER, Cred::root()).is_ok() {
        if !cpio.is_empty() {
            let made_up = unpack(&mut vfs, &cpio, host)?;
            tape.borrow_mut().compare_data = made_up == 0;
        }
        if vfs.mkdir(UNPACKER, b"/tmp", 0o777).is_ok() {
            let _ = vfs.chmod(UNPACKER, b"/tmp", 0o1777);
        }
        let _ = vfs.exit(UNPACKER);
    }
    // /dev: devfs, then the nodes of the devices devmgr had (coldplug:
    // the block server's disks and partitions among them, its names
    // recorded first as the binary waits for it).
    if vfs.new_client(UNPACKER, Cred::root()).is_ok() && mount_devfs(&mut vfs, UNPACKER).is_ok() {
        next("blknames")?;
        loop {
            // The borrow ends before the next one (a `while let` would hold
            // it through the body).
            let next = tape
                .borrow()
                .peek()
                .filter(|e| e.kind() == "coldplug")
                .cloned();
            let Some(e) = next else { break };
            tape.borrow_mut().at += 1;
            let devpath = format!("/class/{}/{}", e.word(1), e.word(2));
            if let Ok(event) = vfs::devfs::Uevent::from_attribute(e.word(1), &devpath, &e.bytes) {
                let _ = vfs::devfs::apply_uevent(&mut vfs, UNPACKER, b"/dev", &event);
            }
        }
        let _ = vfs.exit(UNPACKER);
    }
    if vfs.new_client(UNPACKER, Cred::root()).is_ok() {
        vfs::fstab::mount_fstab(&mut vfs, UNPACKER, &mut |_| {});
        let _ = vfs.exit(UNPACKER);
    }
    if let Some(why) = tape.borrow_mut().error.take() {
        return Err(format!("the start (mounting /etc/fstab): {why}"));
    }
    let mut service = Service::new(vfs);
    let seed = next("seed")?;
    service.crng.mix(&seed.bytes);
    service.set_kernel_log(Box::new(ReplayKernelLog(tape.clone())));
    service.set_console(Box::new(ReplayConsole(tape.clone())));
    Ok(service)
}

/// Replays a vfs trace, with the host build's initramfs
/// ([`HOST_ARCHIVE`]) if there is one.
pub fn replay_vfs(text: &str) -> Result<Replayed, String> {
    let host = std::fs::read(HOST_ARCHIVE).ok();
    replay_vfs_with(text, host.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use libsys::proto::vfs::{Path, AT_FDCWD};
    use libsys::rpc::LABEL_REPLY;

    fn lines(header: std::fmt::Arguments, bytes: &[u8], out: &mut String) {
        libsys::record::format_event("vfs", header, bytes, |l| {
            out.push_str(l);
            out.push('\n');
        });
    }

    fn enc<T: serde::Serialize>(v: &T) -> Vec<u8> {
        let mut buf = vec![0u8; 4096];
        let n = rpc::encode(v, &mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    fn path(p: &str) -> Path {
        Path::from_slice(p.as_bytes()).unwrap()
    }

    /// A start as the binary records it: an initramfs of `/etc` and
    /// `/etc/motd`, no block devices, no devmgr; then `steps`, each a
    /// request from 7 and its reply (the first with 7's credentials).
    fn trace(steps: &[(Request, Reply)], cred: bool) -> String {
        let mut out = String::from("# a test trace\n");
        lines(format_args!("args 0"), &[], &mut out);
        lines(format_args!("clock 1000 0"), &[], &mut out);
        lines(
            format_args!("cpio d 493 0 0 0 {} etc -", fnv64(b"")),
            &[],
            &mut out,
        );
        lines(
            format_args!("cpio f 420 0 0 3 {} etc/motd -", fnv64(b"hi\n")),
            b"hi\n",
            &mut out,
        );
        lines(format_args!("blknames"), &[], &mut out);
        lines(format_args!("seed 4"), &[1, 2, 3, 4], &mut out);
        for (k, (request, reply)) in steps.iter().enumerate() {
            let bytes = enc(request);
            lines(format_args!("clock 1001 {k}"), &[], &mut out);
            lines(
                format_args!("req 7 {LABEL_REQUEST} {}", bytes.len()),
                &bytes,
                &mut out,
            );
            lines(format_args!("win -"), &[], &mut out);
            if k == 0 && cred {
                lines(format_args!("cred 7 1000 1000 -"), &[], &mut out);
            }
            let bytes = enc(reply);
            lines(
                format_args!("now {LABEL_REPLY} {}", bytes.len()),
                &bytes,
                &mut out,
            );
        }
        out
    }

    fn mkdir(p: &str) -> Request {
        Request::Mkdir {
            dirfd: AT_FDCWD,
            path: path(p),
            mode: 0o755,
        }
    }

    fn steps(second: Reply) -> Vec<(Request, Reply)> {
        vec![
            (mkdir("/tmp/d"), Reply::Done),
            (mkdir("/tmp/d"), second),
            (mkdir("/etc/motd/x"), Reply::Error(Errno::ENOTDIR)),
        ]
    }

    #[test]
    fn a_recorded_start_and_requests_replay() {
        let text = trace(&steps(Reply::Error(Errno::EEXIST)), true);
        let replayed = replay_vfs_with(&text, None).unwrap();
        assert_eq!(
            replayed,
            Replayed {
                requests: 3,
                replies: 3
            }
        );
    }

    #[test]
    fn a_tampered_reply_is_the_first_difference_decoded() {
        let text = trace(&steps(Reply::Done), true);
        let error = replay_vfs_with(&text, None).unwrap_err();
        assert!(
            error.starts_with("request #2 Mkdir {")
                && error.ends_with("expected Done got Error(EEXIST)"),
            "{error}"
        );
    }

    #[test]
    fn a_call_the_record_lacks_is_a_difference() {
        let text = trace(&steps(Reply::Error(Errno::EEXIST)), false);
        let error = replay_vfs_with(&text, None).unwrap_err();
        assert!(
            error.contains("request #1 Mkdir")
                && error.contains("a credentials lookup of 7 where the recording has `now"),
            "{error}"
        );
    }

    #[test]
    fn the_record_stops_before_the_step_its_end_cut() {
        let mut text = trace(&steps(Reply::Error(Errno::EEXIST)), true);
        // The third request's reply cut off by the budget.
        let cut = text.rfind("REC vfs now").unwrap();
        text.truncate(cut);
        text.push_str("REC vfs end\n");
        let replayed = replay_vfs_with(&text, None).unwrap();
        assert_eq!(replayed.requests, 2);
    }
}
