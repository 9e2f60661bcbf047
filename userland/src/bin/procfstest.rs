//! `procfstest`: `/proc`, `/sys` and FIFOs in the `posix` boot, through
//! the file calls only. `/proc/meminfo`'s fields parse (MemFree within
//! MemTotal); `/proc/self` names this process and its `status` says so;
//! a spawned `sleep 5`'s `cmdline`, `stat` and `status` name it;
//! `uptime`, `buddyinfo`, `slabinfo`, `sys/fs/dentry-state` parse;
//! `/proc/mounts` lists `/`, `/mnt` and `/proc`; `/proc/filesystems`
//! has ext2; `/proc/interrupts` (devmgr's) has the virtio disk's
//! level-triggered line with its interrupts counted; a listing of `/proc` holds 1 and this pid; `/proc/self/
//! cmdline` and `maps`; a forked child shows as `/proc/<pid>` with this
//! process as its parent while it waits in a FIFO's open, and is gone
//! once reaped; bytes go through the FIFO from the child (writer) to
//! this process (reader), each open waiting for the other; a writer with
//! no reader and `O_NONBLOCK` gets `ENXIO`; `/sys/bus/pci/devices`
//! lists the PCI functions devmgr found, each with a `vendor`; the block
//! layer's files: `/sys/block/vda/stat` (eleven counters, reads counted),
//! `/proc/diskstats` (a `254 0 vda` line), `/sys/block/ram0/queue/
//! scheduler` switched by writing a name to it (an unknown one refused).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use libsys::errno::Errno;
use libsys::posix::{self, O_NONBLOCK, O_RDONLY, O_WRONLY};
use libsys::proto::proc::Pgroup;
use userland::Tally;

libsys::entry!(main);

/// A whole file as text.
fn slurp(path: &str) -> Result<String, Errno> {
    let fd = posix::open(path, O_RDONLY, 0)?;
    let data = posix::read_to_end(fd, 1 << 20);
    posix::close(fd)?;
    String::from_utf8(data?).map_err(|_| Errno::EILSEQ)
}

/// The kB figure of `field` in `/proc/meminfo` text.
fn kb(meminfo: &str, field: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with(field))?;
    let rest = line.strip_prefix(field)?.strip_prefix(':')?;
    let mut words = rest.split_whitespace();
    let n = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(n)
}

fn names(path: &str) -> Result<Vec<String>, Errno> {
    posix::read_dir(path)?.map(|e| e.map(|e| e.name)).collect()
}

fn main(_args: &str) -> u64 {
    let mut t = Tally::new();
    let me = posix::getpid().unwrap_or(0);
    system_files(&mut t);
    self_files(&mut t, me);
    child_and_fifo(&mut t, me);
    sysfs(&mut t);
    block_files(&mut t);
    t.status()
}

fn system_files(t: &mut Tally) {
    match slurp("/proc/meminfo") {
        Ok(m) => {
            let fields = [
                "MemTotal",
                "MemFree",
                "Cached",
                "Dirty",
                "Writeback",
                "DmaPinned",
            ];
            let missing: Vec<&str> = fields
                .iter()
                .copied()
                .filter(|f| kb(&m, f).is_none())
                .collect();
            t.expect_eq("procfs: /proc/meminfo fields parse", missing, Vec::new());
            let (total, free) = (
                kb(&m, "MemTotal").unwrap_or(0),
                kb(&m, "MemFree").unwrap_or(0),
            );
            t.record(
                "procfs: 0 < MemFree <= MemTotal",
                if free > 0 && free <= total {
                    Ok(())
                } else {
                    Err(format!("{free} of {total}"))
                },
            );
        }
        Err(e) => t.check("procfs: read /proc/meminfo", Err(format_args!("{e}"))),
    }
    let up = slurp("/proc/uptime");
    let secs = up
        .as_deref()
        .ok()
        .and_then(|u| u.split_whitespace().next()?.parse::<f64>().ok());
    t.record(
        "procfs: /proc/uptime is seconds since boot",
        match secs {
            Some(s) if s > 0.0 => Ok(()),
            _ => Err(format!("{up:?}")),
        },
    );
    let mounts = slurp("/proc/mounts").unwrap_or_default();
    let has = |point: &str| {
        mounts
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(point))
    };
    t.expect_eq(
        "procfs: /proc/mounts lists /, /mnt, /proc, /sys",
        (has("/"), has("/mnt"), has("/proc"), has("/sys")),
        (true, true, true, true),
    );
    let fs = slurp("/proc/filesystems").unwrap_or_default();
    t.expect_eq(
        "procfs: /proc/filesystems has ext2 and nodev proc",
        (fs.contains("\text2\n"), fs.contains("nodev\tproc\n")),
        (true, true),
    );
    let irqs = slurp("/proc/interrupts").unwrap_or_default();
    let disk = irqs
        .lines()
        .find(|l| l.contains("IO-APIC") && l.ends_with("virtio_blk"));
    let counted = disk
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .is_some_and(|n| n > 0);
    t.record(
        "procfs: /proc/interrupts has the virtio disk's line (IO-APIC, fasteoi) with interrupts",
        match disk {
            Some(l)
                if irqs.starts_with("           CPU0\n") && l.contains("-fasteoi") && counted =>
            {
                Ok(())
            }
            _ => Err(format!("{irqs:?}")),
        },
    );
    let buddy = slurp("/proc/buddyinfo").unwrap_or_default();
    t.expect_eq(
        "procfs: /proc/buddyinfo has a zone line of 11 orders",
        buddy
            .lines()
            .next()
            .map(|l| l.starts_with("Node 0, zone") && l.split_whitespace().count() == 15),
        Some(true),
    );
    let slab = slurp("/proc/slabinfo").unwrap_or_default();
    t.expect_eq(
        "procfs: /proc/slabinfo version 2.1 with caches",
        (
            slab.starts_with("slabinfo - version: 2.1\n"),
            slab.lines().count() > 2,
        ),
        (true, true),
    );
    let ds = slurp("/proc/sys/fs/dentry-state").unwrap_or_default();
    let figures: Vec<Option<u64>> = ds.split_whitespace().map(|n| n.parse().ok()).collect();
    t.expect_eq(
        "procfs: dentry-state is six figures, dentries > 0",
        (
            figures.len(),
            figures.iter().all(Option::is_some),
            figures.first().copied().flatten().unwrap_or(0) > 0,
        ),
        (6, true, true),
    );
    t.expect_eq(
        "procfs: writing /proc/meminfo is EACCES",
        posix::open("/proc/meminfo", O_WRONLY, 0).err(),
        Some(Errno::EACCES),
    );
}

fn self_files(t: &mut Tally, me: u64) {
    t.expect_eq(
        "procfs: /proc/self names this pid",
        posix::readlink("/proc/self"),
        Ok(format!("{me}")),
    );
    let status = slurp("/proc/self/status").unwrap_or_default();
    t.expect_eq(
        "procfs: /proc/self/status says Pid and Name",
        (
            status.contains(&format!("\nPid:\t{me}\n")),
            status.starts_with("Name:\t"),
        ),
        (true, true),
    );
    t.expect_eq(
        "procfs: /proc/self/status has mm's VmRSS",
        status
            .lines()
            .any(|l| l.starts_with("VmRSS:") && l.ends_with(" kB")),
        true,
    );
    spawned(t);
    let maps = slurp("/proc/self/maps");
    t.record(
        "procfs: /proc/self/maps has the stack",
        match &maps {
            Ok(m) if m.lines().any(|l| l.ends_with("[stack]")) => Ok(()),
            other => Err(format!("{other:?}")),
        },
    );
    let listed = names("/proc").unwrap_or_default();
    let want = ["1", "self", "meminfo", &format!("{me}")].map(String::from);
    let missing: Vec<&String> = want.iter().filter(|w| !listed.contains(w)).collect();
    t.expect_eq(
        "procfs: ls /proc has 1, self, meminfo, this pid",
        missing,
        Vec::<&String>::new(),
    );
}

/// A program the process server started (`/bin/sleep 5`): its
/// `cmdline`, `stat` and `status` name it (init's tests, this one
/// included, have no command line in the process server's table).
fn spawned(t: &mut Tally) {
    let pid = match posix::spawn("/bin/sleep", &["sleep", "5"], &[], &[], Pgroup::Inherit) {
        Ok(pid) => pid,
        Err(e) => {
            t.check("procfs: spawn /bin/sleep", Err(format_args!("{e}")));
            return;
        }
    };
    let cmdline = slurp(&format!("/proc/{pid}/cmdline"));
    t.expect_eq(
        "procfs: /proc/<pid>/cmdline of `sleep 5`",
        cmdline.as_deref(),
        Ok("sleep\x005\x00"),
    );
    let stat = slurp(&format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.split_whitespace().collect();
    t.expect_eq(
        "procfs: /proc/<pid>/stat: 52 fields, pid and (comm)",
        (
            fields.len(),
            fields.first().copied(),
            fields.get(1).copied(),
        ),
        (52, Some(format!("{pid}").as_str()), Some("(sleep)")),
    );
    let status = slurp(&format!("/proc/{pid}/status")).unwrap_or_default();
    t.expect_eq(
        "procfs: its status says Name: sleep",
        status.starts_with("Name:\tsleep\n"),
        true,
    );
    let _ = posix::kill(pid as i64, 9);
    let _ = posix::waitpid(pid as i64, 0);
}

/// A child that opens the FIFO for writing (waiting for this process to
/// open it for reading), writes a line and exits.
fn child_and_fifo(t: &mut Tally, me: u64) {
    const FIFO: &str = "/tmp/procfstest.fifo";
    const LINE: &[u8] = b"through the fifo\n";
    let _ = posix::unlink(FIFO);
    if let Err(e) = posix::mkfifo(FIFO, 0o600) {
        t.check("fifo: mkfifo", Err(format_args!("{e}")));
        return;
    }
    t.expect_eq(
        "fifo: stat says S_IFIFO",
        posix::stat(FIFO).map(|s| s.mode & posix::S_IFMT),
        Ok(0o010000),
    );
    t.expect_eq(
        "fifo: O_WRONLY|O_NONBLOCK without a reader is ENXIO",
        posix::open(FIFO, O_WRONLY | O_NONBLOCK, 0).err(),
        Some(Errno::ENXIO),
    );
    let child = match posix::fork() {
        Ok(0) => {
            let code = match posix::open(FIFO, O_WRONLY, 0) {
                Ok(fd) => i32::from(posix::write(fd, LINE) != Ok(LINE.len())),
                Err(_) => 2,
            };
            posix::exit(code)
        }
        Ok(pid) => pid,
        Err(e) => {
            t.check("fifo: fork", Err(format_args!("{e}")));
            return;
        }
    };
    // The child is alive (waiting in its open, or not there yet).
    let status = slurp(&format!("/proc/{child}/status")).unwrap_or_default();
    t.expect_eq(
        "procfs: /proc/<child>/status names its parent",
        status.contains(&format!("\nPPid:\t{me}\n")),
        true,
    );
    let data = posix::open(FIFO, O_RDONLY, 0).and_then(|fd| {
        let data = posix::read_to_end(fd, 4096);
        posix::close(fd)?;
        data
    });
    t.expect_eq(
        "fifo: the child's line came through",
        data.as_deref(),
        Ok(LINE),
    );
    t.expect_eq(
        "fifo: the child exited 0",
        posix::waitpid(child as i64, 0),
        Ok(Some((child, 0))),
    );
    t.expect_eq(
        "procfs: the reaped child's /proc/<pid> is gone",
        posix::stat(&format!("/proc/{child}")).err(),
        Some(Errno::ENOENT),
    );
    t.expect_eq(
        "procfs: and it is not listed",
        names("/proc").map(|n| n.contains(&format!("{child}"))),
        Ok(false),
    );
    let _ = posix::unlink(FIFO);
}

fn sysfs(t: &mut Tally) {
    let devices = match names("/sys/bus/pci/devices") {
        Ok(n) => n
            .into_iter()
            .filter(|n| !n.starts_with('.'))
            .collect::<Vec<_>>(),
        Err(e) => {
            t.check("sysfs: ls /sys/bus/pci/devices", Err(format_args!("{e}")));
            return;
        }
    };
    let devmgr = libsys::proto::devmgr::Client::connect()
        .ok()
        .and_then(|c| c.list_devices(libsys::proto::devmgr::Bus::Pci, 0).ok())
        .map(|(_, total)| total as usize);
    t.expect_eq(
        "sysfs: /sys/bus/pci/devices lists devmgr's PCI functions",
        (devices.is_empty(), Some(devices.len())),
        (false, devmgr),
    );
    let bad: Vec<&String> = devices
        .iter()
        .filter(|d| {
            let v = slurp(&format!("/sys/bus/pci/devices/{d}/vendor")).unwrap_or_default();
            !(v.starts_with("0x") && v.len() == 7)
        })
        .collect();
    t.expect_eq(
        "sysfs: each device's vendor reads 0x....",
        bad,
        Vec::<&String>::new(),
    );
    t.expect_eq(
        "sysfs: writing a vendor is EACCES",
        devices
            .first()
            .map(|d| posix::open(&format!("/sys/bus/pci/devices/{d}/vendor"), O_WRONLY, 0).err()),
        Some(Some(Errno::EACCES)),
    );
}

/// Writes `value` to the file at `path`.
fn write_file(path: &str, value: &[u8]) -> Result<(), Errno> {
    let fd = posix::open(path, O_WRONLY, 0)?;
    let written = posix::write(fd, value);
    posix::close(fd)?;
    written.map(|_| ())
}

fn block_files(t: &mut Tally) {
    let reads = |text: &str| -> Option<(usize, u64)> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        Some((fields.len(), fields.first()?.parse().ok()?))
    };
    let before = slurp("/sys/block/vda/stat").ok().and_then(|s| reads(&s));
    // A read of the disk through the block server (sector 6144, 3 MiB
    // in: past the small file system's data).
    let mut disk = [0u8; 512];
    let read_disk = libsys::proto::blk::Client::connect()
        .map_err(|e| format!("{e:?}"))
        .and_then(|blk| {
            blk.read("vda", 6144, &mut disk)
                .map_err(|e| format!("{e:?}"))
        });
    let after = slurp("/sys/block/vda/stat").ok().and_then(|s| reads(&s));
    t.record(
        "sysfs: /sys/block/vda/stat has eleven counters, reads counted",
        match (before, read_disk, after) {
            (Some((11, b)), Ok(_), Some((11, a))) if a > b => Ok(()),
            other => Err(format!("{other:?}")),
        },
    );
    let stats = slurp("/proc/diskstats").unwrap_or_default();
    let vda = stats.lines().find(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() == 14 && f[..3] == ["254", "0", "vda"]
    });
    t.record(
        "procfs: /proc/diskstats has vda (254:0) with its counters",
        vda.map(|_| ()).ok_or(format!("{stats:?}")),
    );
    let path = "/sys/block/ram0/queue/scheduler";
    let first = slurp(path).unwrap_or_default();
    let switched = write_file(path, b"deadline\n").and_then(|_| slurp(path));
    let unknown = write_file(path, b"cfq");
    let restored = write_file(path, b"noop").and_then(|_| slurp(path));
    t.expect_eq(
        "sysfs: ram0's queue/scheduler switches by name, refuses an unknown one",
        (
            first.as_str(),
            switched.as_deref(),
            unknown,
            restored.as_deref(),
        ),
        (
            "[noop] deadline\n",
            Ok("noop [deadline]\n"),
            Err(Errno::EINVAL),
            Ok("[noop] deadline\n"),
        ),
    );
}
