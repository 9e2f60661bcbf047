//! The block layer's attributes in sysfs and procfs (Linux's
//! `block/genhd.c` and `block/blk-sysfs.c`): `/sys/block/<disk>/stat`,
//! `/sys/block/<disk>/<partition>/stat`, `/sys/class/block/<dev>/stat`,
//! `/sys/block/<disk>/queue/scheduler` (read: `[noop] deadline`; write a
//! name to switch), and `/proc/diskstats`.
//!
//! The device model (`devmgr`) knows the disks and partitions as class
//! devices — their directories, `dev`, `uevent` — but their counters and
//! queues are the block server's. [`BlockAttrs`] lays the second over
//! the first: it answers the block attributes from a [`BlockStats`] (the
//! `blk` server's `Stat` and `Scheduler`) and passes every other path to
//! the device manager's source, adding the attributes to the listings of
//! the directories they live in. A name the block server does not know
//! gets nothing added, so no attribute appears for a device that is gone.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

use libsys::errno::Errno;
pub use libsys::proto::blk::DiskStat;

use crate::sysfs::{Node, SysSource};

/// What the block attributes are read from (the `blk` server).
pub trait BlockStats {
    /// The devices: disks, each followed by its partitions.
    fn devices(&mut self) -> Result<Vec<String>, Errno>;
    /// `dev`'s counters.
    fn stat(&mut self, dev: &str) -> Result<DiskStat, Errno>;
    /// `dev`'s scheduler line (`[noop] deadline`), after switching to
    /// `set` if given (`EINVAL` for a name the server has no scheduler of).
    fn scheduler(&mut self, dev: &str, set: Option<&str>) -> Result<String, Errno>;
}

/// `/sys/block/<dev>/stat`'s line: the eleven counters, each right-aligned
/// in eight columns (`part_stat_show`).
pub fn stat_line(s: &DiskStat) -> String {
    let mut line = String::new();
    for (i, v) in s.fields().iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        let _ = write!(line, "{sep}{v:>8}");
    }
    line.push('\n');
    line
}

/// `/proc/diskstats`: a line per device, `major minor name` and the
/// eleven counters (`diskstats_show`). A device whose number or counters
/// cannot be read is left out.
pub fn diskstats(blk: &mut dyn BlockStats, sys: &mut dyn SysSource) -> Result<String, Errno> {
    let mut text = String::new();
    for dev in blk.devices()? {
        let Some((major, minor)) = device_number(sys, &dev) else {
            continue;
        };
        let Ok(s) = blk.stat(&dev) else {
            continue;
        };
        let _ = write!(text, "{major:>4} {minor:>7} {dev}");
        for v in s.fields() {
            let _ = write!(text, " {v}");
        }
        text.push('\n');
    }
    Ok(text)
}

/// `dev`'s `major:minor`, from its class device's `dev` attribute.
fn device_number(sys: &mut dyn SysSource, dev: &str) -> Option<(u32, u32)> {
    let text = sys.read(&format!("/sys/class/block/{dev}/dev")).ok()?;
    let text = core::str::from_utf8(&text).ok()?.trim();
    let (major, minor) = text.split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// What a path under `/sys` is to the block layer.
#[derive(Debug, PartialEq, Eq)]
enum Attr<'a> {
    /// A device's `stat`.
    Stat(&'a str),
    /// A disk's `queue` directory.
    Queue,
    /// A disk's `queue/scheduler`.
    Scheduler(&'a str),
    /// A device's directory, whose listing gains `stat` (and `queue` for
    /// a disk in `/sys/block`).
    DeviceDir { dev: &'a str, disk_view: bool },
    /// Not the block layer's.
    Other,
}

/// Sorts `path` (`/sys/...`) out, given the block server's devices.
fn classify<'a>(path: &'a str, devices: &[String]) -> Attr<'a> {
    let known = |d: &str| devices.iter().any(|n| n == d);
    let Some(rest) = path.strip_prefix("/sys/") else {
        return Attr::Other;
    };
    let parts: Vec<&'a str> = rest.split('/').collect();
    match parts.as_slice() {
        ["block", disk] if known(disk) => Attr::DeviceDir {
            dev: disk,
            disk_view: true,
        },
        ["block", disk, "stat"] if known(disk) => Attr::Stat(disk),
        ["block", disk, "queue"] if known(disk) => Attr::Queue,
        ["block", disk, "queue", "scheduler"] if known(disk) => Attr::Scheduler(disk),
        ["block", disk, part] if known(disk) && known(part) => Attr::DeviceDir {
            dev: part,
            disk_view: false,
        },
        ["block", disk, part, "stat"] if known(disk) && known(part) => Attr::Stat(part),
        ["class", "block", dev] if known(dev) => Attr::DeviceDir {
            dev,
            disk_view: false,
        },
        ["class", "block", dev, "stat"] if known(dev) => Attr::Stat(dev),
        _ => Attr::Other,
    }
}

/// sysfs's source with the block attributes laid over the device
/// manager's (see the module documentation).
pub struct BlockAttrs {
    inner: Box<dyn SysSource>,
    blk: Box<dyn BlockStats>,
}

impl BlockAttrs {
    pub fn new(inner: Box<dyn SysSource>, blk: Box<dyn BlockStats>) -> BlockAttrs {
        BlockAttrs { inner, blk }
    }

    /// The block server's devices, asked only for a path under
    /// `/sys/block/` or `/sys/class/block/` (every other sysfs path is the
    /// device manager's alone, and costs no call to `blk`); none without
    /// a block server.
    fn devices(&mut self, path: &str) -> Vec<String> {
        let block = ["/sys/block/", "/sys/class/block/"]
            .iter()
            .any(|prefix| path.starts_with(prefix));
        if block {
            self.blk.devices().unwrap_or_default()
        } else {
            Vec::new()
        }
    }
}

impl SysSource for BlockAttrs {
    fn node(&mut self, path: &str) -> Result<Option<Node>, Errno> {
        let devices = self.devices(path);
        match classify(path, &devices) {
            Attr::Stat(_) => Ok(Some(Node::File {
                read: true,
                write: false,
            })),
            Attr::Queue => Ok(Some(Node::Dir)),
            Attr::Scheduler(_) => Ok(Some(Node::File {
                read: true,
                write: true,
            })),
            Attr::DeviceDir { .. } | Attr::Other => self.inner.node(path),
        }
    }

    fn list(&mut self, path: &str) -> Result<Vec<String>, Errno> {
        let devices = self.devices(path);
        match classify(path, &devices) {
            Attr::Queue => Ok(alloc::vec!["scheduler".to_string()]),
            Attr::DeviceDir { disk_view, .. } => {
                let mut names = self.inner.list(path)?;
                let mut add = |name: &str| {
                    if !names.iter().any(|n| n == name) {
                        names.push(name.to_string());
                    }
                };
                add("stat");
                if disk_view {
                    add("queue");
                }
                Ok(names)
            }
            Attr::Stat(_) | Attr::Scheduler(_) => Err(Errno::ENOTDIR),
            Attr::Other => self.inner.list(path),
        }
    }

    fn read(&mut self, path: &str) -> Result<Vec<u8>, Errno> {
        let devices = self.devices(path);
        match classify(path, &devices) {
            Attr::Stat(dev) => Ok(stat_line(&self.blk.stat(dev)?).into_bytes()),
            Attr::Scheduler(dev) => {
                let mut line = self.blk.scheduler(dev, None)?;
                line.push('\n');
                Ok(line.into_bytes())
            }
            Attr::Queue => Err(Errno::EISDIR),
            Attr::DeviceDir { .. } | Attr::Other => self.inner.read(path),
        }
    }

    fn write(&mut self, path: &str, value: &[u8]) -> Result<(), Errno> {
        let devices = self.devices(path);
        match classify(path, &devices) {
            Attr::Scheduler(dev) => {
                // `echo deadline > scheduler` writes a newline too.
                let name = core::str::from_utf8(value)
                    .map_err(|_| Errno::EINVAL)?
                    .trim();
                self.blk.scheduler(dev, Some(name)).map(|_| ())
            }
            Attr::Stat(_) => Err(Errno::EACCES),
            Attr::Queue => Err(Errno::EISDIR),
            Attr::DeviceDir { .. } | Attr::Other => self.inner.write(path, value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;

    /// The block server: `vda` with `vda1`, `ram0`; switchable schedulers.
    struct FakeBlk {
        schedulers: BTreeMap<String, &'static str>,
    }

    impl FakeBlk {
        fn new() -> FakeBlk {
            let schedulers = ["vda", "vda1", "ram0"]
                .iter()
                .map(|d| (d.to_string(), "noop"))
                .collect();
            FakeBlk { schedulers }
        }
    }

    impl BlockStats for FakeBlk {
        fn devices(&mut self) -> Result<Vec<String>, Errno> {
            Ok(["vda", "vda1", "ram0"]
                .iter()
                .map(|s| s.to_string())
                .collect())
        }
        fn stat(&mut self, dev: &str) -> Result<DiskStat, Errno> {
            let n = match dev {
                "vda" => 10,
                "vda1" => 4,
                "ram0" => 1,
                _ => return Err(Errno::ENOENT),
            };
            Ok(DiskStat {
                read_ios: n,
                read_sectors: 8 * n,
                write_ios: 2,
                in_flight: 0,
                ..DiskStat::default()
            })
        }
        fn scheduler(&mut self, dev: &str, set: Option<&str>) -> Result<String, Errno> {
            let current = self.schedulers.get_mut(dev).ok_or(Errno::ENOENT)?;
            match set {
                Some("noop") => *current = "noop",
                Some("deadline") => *current = "deadline",
                Some(_) => return Err(Errno::EINVAL),
                None => {}
            }
            Ok(match *current {
                "noop" => "[noop] deadline".into(),
                _ => "noop [deadline]".into(),
            })
        }
    }

    /// devmgr's view: the class devices' directories and `dev`.
    struct FakeDevmgr;

    impl SysSource for FakeDevmgr {
        fn node(&mut self, path: &str) -> Result<Option<Node>, Errno> {
            Ok(match path {
                "/sys/block/vda" | "/sys/block/vda/vda1" | "/sys/class/block/vda1" => {
                    Some(Node::Dir)
                }
                p if p.ends_with("/dev") => Some(Node::File {
                    read: true,
                    write: false,
                }),
                _ => None,
            })
        }
        fn list(&mut self, path: &str) -> Result<Vec<String>, Errno> {
            match path {
                "/sys/block/vda" => Ok(["dev", "uevent", "vda1"].map(String::from).to_vec()),
                "/sys/class/block/vda1" => Ok(["dev", "uevent"].map(String::from).to_vec()),
                _ => Err(Errno::ENOENT),
            }
        }
        fn read(&mut self, path: &str) -> Result<Vec<u8>, Errno> {
            match path {
                "/sys/class/block/vda/dev" => Ok(b"254:0\n".to_vec()),
                "/sys/class/block/vda1/dev" => Ok(b"254:1\n".to_vec()),
                "/sys/class/block/ram0/dev" => Ok(b"1:0\n".to_vec()),
                _ => Err(Errno::ENOENT),
            }
        }
        fn write(&mut self, _: &str, _: &[u8]) -> Result<(), Errno> {
            Err(Errno::EACCES)
        }
    }

    fn attrs() -> BlockAttrs {
        BlockAttrs::new(Box::new(FakeDevmgr), Box::new(FakeBlk::new()))
    }

    /// A block server that must not be asked.
    struct Unasked;

    impl BlockStats for Unasked {
        fn devices(&mut self) -> Result<Vec<String>, Errno> {
            panic!("blk asked for a path outside /sys/block and /sys/class/block")
        }
        fn stat(&mut self, _: &str) -> Result<DiskStat, Errno> {
            panic!("stat asked")
        }
        fn scheduler(&mut self, _: &str, _: Option<&str>) -> Result<String, Errno> {
            panic!("scheduler asked")
        }
    }

    #[test]
    fn other_paths_cost_no_call_to_the_block_server() {
        let mut a = BlockAttrs::new(Box::new(FakeDevmgr), Box::new(Unasked));
        assert_eq!(a.node("/sys/bus/pci/devices"), Ok(None));
        assert_eq!(a.list("/sys/devices"), Err(Errno::ENOENT));
        assert_eq!(a.read("/sys/class/tty/ttyS0/dev"), Err(Errno::ENOENT));
        assert_eq!(
            a.write("/sys/bus/pci/drivers/x/bind", b"y"),
            Err(Errno::EACCES)
        );
    }

    fn text(r: Result<Vec<u8>, Errno>) -> String {
        String::from_utf8(r.unwrap()).unwrap()
    }

    #[test]
    fn stat_is_linux_s_eleven_columns() {
        let mut a = attrs();
        assert_eq!(
            text(a.read("/sys/block/vda/stat")),
            "      10        0       80        0        2        0        0        0        0        0        0\n"
        );
        let part = text(a.read("/sys/block/vda/vda1/stat"));
        assert_eq!(part, text(a.read("/sys/class/block/vda1/stat")));
        assert_eq!(part.split_whitespace().next(), Some("4"));
        assert_eq!(a.read("/sys/block/vdz/stat"), Err(Errno::ENOENT));
    }

    #[test]
    fn listings_gain_the_attributes() {
        let mut a = attrs();
        assert_eq!(
            a.list("/sys/block/vda").unwrap(),
            ["dev", "uevent", "vda1", "stat", "queue"]
        );
        assert_eq!(
            a.list("/sys/class/block/vda1").unwrap(),
            ["dev", "uevent", "stat"]
        );
        assert_eq!(a.list("/sys/block/vda/queue").unwrap(), ["scheduler"]);
        assert_eq!(a.node("/sys/block/vda/queue"), Ok(Some(Node::Dir)));
        assert_eq!(a.node("/sys/block/vdz/queue"), Ok(None));
    }

    #[test]
    fn the_scheduler_switches_by_name() {
        let mut a = attrs();
        let path = "/sys/block/vda/queue/scheduler";
        assert_eq!(
            a.node(path),
            Ok(Some(Node::File {
                read: true,
                write: true
            }))
        );
        assert_eq!(text(a.read(path)), "[noop] deadline\n");
        a.write(path, b"deadline\n").unwrap();
        assert_eq!(text(a.read(path)), "noop [deadline]\n");
        assert_eq!(a.write(path, b"cfq"), Err(Errno::EINVAL));
        assert_eq!(text(a.read(path)), "noop [deadline]\n");
        assert_eq!(a.write("/sys/block/vda/stat", b"0"), Err(Errno::EACCES));
    }

    #[test]
    fn diskstats_has_a_line_per_numbered_device() {
        let mut blk = FakeBlk::new();
        let text = diskstats(&mut blk, &mut FakeDevmgr).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], " 254       0 vda 10 0 80 0 2 0 0 0 0 0 0");
        assert!(lines[1].starts_with(" 254       1 vda1 4 "));
        assert!(lines[2].starts_with("   1       0 ram0 1 "));
    }
}
