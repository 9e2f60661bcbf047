//! Recording what the VFS core reads from outside it, for replay on the
//! host (docs/labs/README.md, "The VFS: its disk and its callers'
//! windows in the record").
//!
//! The VFS's replies depend on more than its requests: on the disk under
//! ext2, the initramfs it unpacked, the clock, the credentials `cred`
//! gives, the terminal, the bytes its callers lend in their windows. A
//! recording `vfs` (started with `record` or `record=<lines>`) passes its
//! core adapters from here that log each such call and its result, in
//! order, between the request events, through `libsys::record`:
//!
//! ```text
//! cpio <t> <perm> <uid> <gid> <size> <fnv> <name> <link|->   an initramfs entry (data follows if small)
//! bopen <dev|-> <source> <ro> ok <sector_size> <sectors>     a block device opened (or `err <errno>`)
//! bread <dev> <sector> <len> ok                               a block read: the bytes follow (or `err <e>`)
//! bwrite <dev> <sector> <len> <fnv> ok                        a block write: its data's FNV-1a hash
//! bflush <dev> ok                                             a cache flush
//! gin <offset> <len> ok                                       bytes read from the caller's window (follow)
//! gout <offset> <len> <fnv> ok                                bytes written into it: their hash
//! con write <pid> <len> ok <n>                                the terminal (`con read`, `con later`, `con ioctl`)
//! cred <pid> <uid> <gid> <groups|->                           a new client's credentials (`cred <pid> none`)
//! klog read <since> <len> ok <n>                              `/dev/kmsg` (the bytes follow; `klog write`)
//! ```
//!
//! Calls whose results the record does not carry (procfs's and sysfs's
//! sources, a file mapping's `mm` calls) end the recording
//! where they come (`end proc` …): what came before stays replayable.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt::Write as _;

use cpio::header::FileType;
use cpio::reader::Archive;
use ext2::{BlockDevice, DeviceError};
use libsys::abi::grant::{Access, Window};
use libsys::abi::SysError;
use libsys::grant::GrantAccess;
use libsys::record;

use crate::ext2fs::DeviceOpener;
use libsys::abi::ProcessTime;
use libsys::proto::mm::{CacheInfo, MapEntry, MemStatus, SystemStats};
use libsys::proto::proc::TaskInfo;

use crate::procfs::ProcSource;
use crate::service::{Console, KernelLog};
use crate::sysfs::{Node, SysSource};
use crate::types::Cred;
use crate::Errno;

/// Initramfs files this long or shorter have their data in the record;
/// longer ones only their hash (the replay takes them from the host
/// build's archive when the hash matches).
pub const SMALL_FILE: usize = 1024;

/// The 64-bit FNV-1a hash of `bytes`: what a write's data is recorded as.
pub fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The letter of an initramfs entry's type in a `cpio` line.
pub fn type_letter(t: FileType) -> char {
    match t {
        FileType::Directory => 'd',
        FileType::Regular => 'f',
        FileType::Symlink => 'l',
        _ => 'o',
    }
}

/// Logs the initramfs `archive`'s entries in order (`cpio` lines): what a
/// replay needs to unpack the same tree. Returns false (and ends the
/// recording) if the archive cannot be listed so.
pub fn log_archive(archive: &[u8]) -> bool {
    for entry in Archive::new(archive).entries() {
        let Ok(entry) = entry else {
            record::stop(format_args!("initramfs unreadable"));
            return false;
        };
        let plain = |s: &str| !s.is_empty() && !s.contains(|c: char| c.is_whitespace());
        let link = entry.link.as_deref().unwrap_or("-");
        if !plain(&entry.name) || !plain(link) {
            record::stop(format_args!("an initramfs name with a space"));
            return false;
        }
        let small = entry.data.len() <= SMALL_FILE || entry.file_type == FileType::Symlink;
        record::data(
            format_args!(
                "cpio {} {} {} {} {} {} {} {link}",
                type_letter(entry.file_type),
                entry.perm,
                entry.uid,
                entry.gid,
                entry.data.len(),
                fnv64(entry.data),
                entry.name
            ),
            if small { entry.data } else { &[] },
        );
    }
    true
}

/// A [`DeviceOpener`] that logs each open (`bopen`) and gives devices
/// that log their calls, numbered in the order opened.
pub struct RecordingOpener {
    inner: Box<dyn DeviceOpener>,
    opened: Cell<u32>,
}

impl RecordingOpener {
    pub fn new(inner: Box<dyn DeviceOpener>) -> RecordingOpener {
        RecordingOpener {
            inner,
            opened: Cell::new(0),
        }
    }
}

/// The word a [`DeviceError`] is recorded as.
pub fn device_error_word(e: DeviceError) -> &'static str {
    match e {
        DeviceError::OutOfRange => "range",
        DeviceError::Io => "io",
        DeviceError::ReadOnly => "ro",
    }
}

/// The source of a mount as one word (its bytes, `?` for anything else).
fn word(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        out.push(if b.is_ascii_graphic() { b as char } else { '?' });
    }
    if out.is_empty() {
        out.push('?');
    }
    out
}

impl DeviceOpener for RecordingOpener {
    fn open(&self, source: &[u8], read_only: bool) -> Result<Box<dyn BlockDevice>, Errno> {
        let ro = u8::from(read_only);
        let src = word(source);
        match self.inner.open(source, read_only) {
            Ok(device) => {
                let n = self.opened.get();
                self.opened.set(n + 1);
                record::line(format_args!(
                    "bopen {n} {src} {ro} ok {} {}",
                    device.sector_size(),
                    device.sector_count()
                ));
                Ok(Box::new(RecordingDevice { inner: device, n }))
            }
            Err(e) => {
                record::line(format_args!("bopen - {src} {ro} err {}", e.as_i32()));
                Err(e)
            }
        }
    }
}

/// A block device that logs its reads (with the bytes), writes (their
/// hash) and flushes.
pub struct RecordingDevice {
    inner: Box<dyn BlockDevice>,
    n: u32,
}

impl BlockDevice for RecordingDevice {
    fn sector_size(&self) -> usize {
        self.inner.sector_size()
    }

    fn sector_count(&self) -> u64 {
        self.inner.sector_count()
    }

    fn read_sectors(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let result = self.inner.read_sectors(sector, buf);
        let (n, len) = (self.n, buf.len());
        match result {
            Ok(()) => record::data(format_args!("bread {n} {sector} {len} ok"), buf),
            Err(e) => record::line(format_args!(
                "bread {n} {sector} {len} err {}",
                device_error_word(e)
            )),
        }
        result
    }

    fn write_sectors(&mut self, sector: u64, buf: &[u8]) -> Result<(), DeviceError> {
        let result = self.inner.write_sectors(sector, buf);
        let (n, len, hash) = (self.n, buf.len(), fnv64(buf));
        match result {
            Ok(()) => record::line(format_args!("bwrite {n} {sector} {len} {hash} ok")),
            Err(e) => record::line(format_args!(
                "bwrite {n} {sector} {len} {hash} err {}",
                device_error_word(e)
            )),
        }
        result
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        let result = self.inner.flush();
        match result {
            Ok(()) => record::line(format_args!("bflush {} ok", self.n)),
            Err(e) => record::line(format_args!(
                "bflush {} err {}",
                self.n,
                device_error_word(e)
            )),
        }
        result
    }
}

/// The `win` line of a request's window: `win <length> r|w`, `win -`.
pub fn log_window(window: Option<Window>) {
    match window {
        Some(w) => {
            let access = match w.access {
                Access::Read => 'r',
                Access::Write => 'w',
            };
            record::line(format_args!("win {} {access}", w.length));
        }
        None => record::line(format_args!("win -")),
    }
}

/// A caller's window that logs what is copied out of it (the bytes:
/// a write's data is the core's input) and into it (their hash).
pub struct RecordingGrant<'a> {
    pub inner: &'a mut dyn GrantAccess,
}

impl GrantAccess for RecordingGrant<'_> {
    fn window(&self) -> Option<Window> {
        self.inner.window()
    }

    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), SysError> {
        let result = self.inner.write(offset, data);
        let (len, hash) = (data.len(), fnv64(data));
        match result {
            Ok(()) => record::line(format_args!("gout {offset} {len} {hash} ok")),
            Err(e) => record::line(format_args!("gout {offset} {len} {hash} err {}", e as u64)),
        }
        result
    }

    fn read(&mut self, offset: u64, out: &mut [u8]) -> Result<(), SysError> {
        let result = self.inner.read(offset, out);
        let len = out.len();
        match result {
            Ok(()) => record::data(format_args!("gin {offset} {len} ok"), out),
            Err(e) => record::line(format_args!("gin {offset} {len} err {}", e as u64)),
        }
        result
    }
}

/// The `cred` line of a lookup's result.
pub fn log_cred(pid: u64, cred: Option<&Cred>) {
    match cred {
        None => record::line(format_args!("cred {pid} none")),
        Some(c) => {
            let mut groups = String::new();
            for (i, g) in c.groups.iter().enumerate() {
                let _ = write!(groups, "{}{g}", if i > 0 { "," } else { "" });
            }
            if groups.is_empty() {
                groups.push('-');
            }
            record::line(format_args!("cred {pid} {} {} {groups}", c.uid, c.gid));
        }
    }
}

/// A [`Console`] that logs each call and its result.
pub struct RecordingConsole {
    pub inner: Box<dyn Console>,
}

fn result_word(r: &Result<usize, Errno>) -> (&'static str, i64) {
    match r {
        Ok(n) => ("ok", *n as i64),
        Err(e) => ("err", i64::from(e.as_i32())),
    }
}

impl Console for RecordingConsole {
    fn write(&mut self, pid: u64, data: &[u8]) -> Result<usize, Errno> {
        let r = self.inner.write(pid, data);
        let (how, v) = result_word(&r);
        record::line(format_args!("con write {pid} {} {how} {v}", data.len()));
        r
    }

    fn read(&mut self, pid: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let r = self.inner.read(pid, buf);
        let (how, v) = result_word(&r);
        let got = match r {
            Ok(n) => &buf[..n.min(buf.len())],
            Err(_) => &[][..],
        };
        record::data(format_args!("con read {pid} {} {how} {v}", buf.len()), got);
        r
    }

    fn reads_later(&mut self) -> bool {
        let later = self.inner.reads_later();
        record::line(format_args!("con later {}", u8::from(later)));
        later
    }

    fn ioctl(
        &mut self,
        pid: u64,
        cmd: u32,
        arg: u64,
        grant: &mut dyn GrantAccess,
    ) -> Result<u64, Errno> {
        let r = self.inner.ioctl(pid, cmd, arg, grant);
        match r {
            Ok(v) => record::line(format_args!("con ioctl {pid} {cmd} {arg} ok {v}")),
            Err(e) => record::line(format_args!(
                "con ioctl {pid} {cmd} {arg} err {}",
                e.as_i32()
            )),
        }
        r
    }
}

/// A [`KernelLog`] (`/dev/kmsg`) that logs each call and its result
/// (`klog read <since> <len> ok <n>`, the bytes following; `klog write
/// <len> ok <n>`).
pub struct RecordingKernelLog {
    pub inner: Box<dyn KernelLog>,
}

impl KernelLog for RecordingKernelLog {
    fn read(&mut self, since: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let r = self.inner.read(since, buf);
        let (how, v) = result_word(&r);
        let got = match r {
            Ok(n) => &buf[..n.min(buf.len())],
            Err(_) => &[][..],
        };
        record::data(
            format_args!("klog read {since} {} {how} {v}", buf.len()),
            got,
        );
        r
    }

    fn write(&mut self, text: &[u8]) -> Result<usize, Errno> {
        let r = self.inner.write(text);
        let (how, v) = result_word(&r);
        record::line(format_args!("klog write {} {how} {v}", text.len()));
        r
    }
}

/// A procfs source whose use ends the recording (`end proc`).
pub struct StopProc(pub Box<dyn ProcSource>);

impl ProcSource for StopProc {
    fn tasks(&mut self, after: u64) -> Result<Vec<TaskInfo>, Errno> {
        record::stop(format_args!("proc"));
        self.0.tasks(after)
    }
    fn task(&mut self, pid: u64) -> Result<Option<TaskInfo>, Errno> {
        record::stop(format_args!("proc"));
        self.0.task(pid)
    }
    fn cmdline(&mut self, pid: u64) -> Result<Vec<u8>, Errno> {
        record::stop(format_args!("proc"));
        self.0.cmdline(pid)
    }
    fn mem_status(&mut self, pid: u64) -> Result<MemStatus, Errno> {
        record::stop(format_args!("proc"));
        self.0.mem_status(pid)
    }
    fn maps(&mut self, pid: u64) -> Result<Vec<MapEntry>, Errno> {
        record::stop(format_args!("proc"));
        self.0.maps(pid)
    }
    fn system(&mut self) -> Result<SystemStats, Errno> {
        record::stop(format_args!("proc"));
        self.0.system()
    }
    fn slabs(&mut self) -> Result<Vec<CacheInfo>, Errno> {
        record::stop(format_args!("proc"));
        self.0.slabs()
    }
    fn uptime(&mut self) -> (u64, Option<u64>) {
        record::stop(format_args!("proc"));
        self.0.uptime()
    }
    fn times(&mut self, pid: u64) -> Option<ProcessTime> {
        record::stop(format_args!("proc"));
        self.0.times(pid)
    }
    fn interrupts(&mut self) -> Result<String, Errno> {
        record::stop(format_args!("proc"));
        self.0.interrupts()
    }
    fn diskstats(&mut self) -> Result<String, Errno> {
        record::stop(format_args!("proc"));
        self.0.diskstats()
    }
}

/// A sysfs source whose use ends the recording (`end sysfs`).
pub struct StopSys(pub Box<dyn SysSource>);

impl SysSource for StopSys {
    fn node(&mut self, path: &str) -> Result<Option<Node>, Errno> {
        record::stop(format_args!("sysfs"));
        self.0.node(path)
    }
    fn list(&mut self, path: &str) -> Result<Vec<String>, Errno> {
        record::stop(format_args!("sysfs"));
        self.0.list(path)
    }
    fn read(&mut self, path: &str) -> Result<Vec<u8>, Errno> {
        record::stop(format_args!("sysfs"));
        self.0.read(path)
    }
    fn write(&mut self, path: &str, value: &[u8]) -> Result<(), Errno> {
        record::stop(format_args!("sysfs"));
        self.0.write(path, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A procfs source with only the provided files: the rest fail.
    struct Files;

    impl ProcSource for Files {
        fn tasks(&mut self, _: u64) -> Result<Vec<TaskInfo>, Errno> {
            Err(Errno::EIO)
        }
        fn cmdline(&mut self, _: u64) -> Result<Vec<u8>, Errno> {
            Err(Errno::EIO)
        }
        fn mem_status(&mut self, _: u64) -> Result<MemStatus, Errno> {
            Err(Errno::EIO)
        }
        fn maps(&mut self, _: u64) -> Result<Vec<MapEntry>, Errno> {
            Err(Errno::EIO)
        }
        fn system(&mut self) -> Result<SystemStats, Errno> {
            Err(Errno::EIO)
        }
        fn slabs(&mut self) -> Result<Vec<CacheInfo>, Errno> {
            Err(Errno::EIO)
        }
        fn uptime(&mut self) -> (u64, Option<u64>) {
            (0, None)
        }
        fn times(&mut self, _: u64) -> Option<ProcessTime> {
            None
        }
        fn interrupts(&mut self) -> Result<String, Errno> {
            Ok("irqs".into())
        }
        fn diskstats(&mut self) -> Result<String, Errno> {
            Ok("disks".into())
        }
    }

    /// The wrapper passes the files a trait default would answer `ENOENT`
    /// (a recording vfs served empty `/proc/interrupts` and
    /// `/proc/diskstats` before).
    #[test]
    fn stop_proc_passes_every_file_on() {
        let mut p = StopProc(Box::new(Files));
        assert_eq!(p.interrupts(), Ok("irqs".into()));
        assert_eq!(p.diskstats(), Ok("disks".into()));
    }

    /// A device in memory behind an opener, for the adapters.
    struct MemOpener;

    impl DeviceOpener for MemOpener {
        fn open(&self, source: &[u8], _: bool) -> Result<Box<dyn BlockDevice>, Errno> {
            match source {
                b"/dev/mem" => Ok(Box::new(ext2::MemDisk::new(alloc::vec![0; 4096]))),
                _ => Err(Errno::ENXIO),
            }
        }
    }

    #[test]
    fn a_recording_device_passes_calls_and_results_through() {
        let opener = RecordingOpener::new(Box::new(MemOpener));
        assert!(matches!(
            opener.open(b"/dev/none", false),
            Err(Errno::ENXIO)
        ));
        let mut disk = opener.open(b"/dev/mem", false).unwrap();
        assert_eq!((disk.sector_size(), disk.sector_count()), (512, 8));
        disk.write_sectors(2, &[7; 512]).unwrap();
        let mut back = [0u8; 1024];
        disk.read_sectors(1, &mut back).unwrap();
        assert!(back[..512].iter().all(|&b| b == 0) && back[512..].iter().all(|&b| b == 7));
        assert_eq!(
            disk.read_sectors(8, &mut back[..512]),
            Err(DeviceError::OutOfRange)
        );
        disk.flush().unwrap();
    }

    #[test]
    fn an_initramfs_is_listed_whole() {
        use cpio::header::Format;
        use cpio::writer::{Meta, Node, Writer};
        let meta = Meta {
            perm: 0o755,
            uid: 0,
            gid: 0,
        };
        let mut w = Writer::new(Format::Newc);
        w.add("etc", Node::Directory, meta).unwrap();
        w.add("etc/motd", Node::File(b"hi\n"), meta).unwrap();
        assert!(log_archive(&w.finish()));
        assert!(!log_archive(
            b"not an archive at all, not a single header of one"
        ));
    }

    #[test]
    fn fnv64_is_the_standard_hash() {
        assert_eq!(fnv64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
