//! devfs (`vfs::devfs`): the static nodes and their numbers, lookups and
//! listings, chmod/chown/mknod on the nodes, nodes made and removed by
//! uevents, and the devices behind them through the service (null, zero,
//! full, random/urandom, kmsg).

mod common;

use common::*;
use libsys::abi::grant::Access;
use libsys::grant::GrantAccess;
use libsys::proto::vfs::{Reply, Request};
use vfs::devfs::{apply_uevent, major, makedev, minor, Applied, DevfsType, Uevent, DEVFS_MAGIC};
use vfs::service::{mount_devfs, KernelLog, Outcome, Service};
use vfs::types::*;
use vfs::{Errno, Vfs};

fn with_dev() -> Vfs {
    let mut v = vfs();
    v.register_filesystem(Box::new(DevfsType)).unwrap();
    mount_devfs(&mut v, ROOT).unwrap();
    v
}

fn event(text: &str) -> Uevent {
    Uevent::parse(text.replace('|', "\0").as_bytes()).unwrap()
}

#[test]
fn device_numbers_encode_as_linux() {
    assert_eq!(makedev(1, 3), 0x103);
    assert_eq!(makedev(254, 0), 0xfe00);
    assert_eq!(makedev(4, 64), 0x440);
    // Beyond 8 bits: glibc's layout.
    let d = makedev(300, 70_000);
    assert_eq!(d, 0x1111_2c70);
    assert_eq!((major(d), minor(d)), (300, 70_000));
}

#[test]
fn static_nodes_are_there_with_linux_numbers() {
    let mut v = with_dev();
    let names = list_dir(&mut v, USER, "/dev");
    for n in [
        "null", "zero", "full", "random", "urandom", "kmsg", "tty", "console",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} in {names:?}");
    }
    let st = v.stat(USER, b"/dev/null").unwrap();
    assert_eq!(st.st_mode, S_IFCHR | 0o666);
    assert_eq!((major(st.st_rdev), minor(st.st_rdev)), (1, 3));
    let st = v.stat(USER, b"/dev/urandom").unwrap();
    assert_eq!((major(st.st_rdev), minor(st.st_rdev)), (1, 9));
    let st = v.stat(USER, b"/dev/kmsg").unwrap();
    assert_eq!(st.st_mode, S_IFCHR | 0o644);
    assert_eq!(v.stat(USER, b"/dev/nothing"), Err(Errno::ENOENT));
    assert_eq!(v.statfs(USER, b"/dev").unwrap().f_type, DEVFS_MAGIC);
    assert!(String::from_utf8(v.mounts_text())
        .unwrap()
        .contains("devfs /dev devfs rw 0 0"));
}

#[test]
fn nodes_take_chmod_chown_and_root_mknod() {
    let mut v = with_dev();
    v.chmod(ROOT, b"/dev/kmsg", 0o600).unwrap();
    v.chown(ROOT, b"/dev/tty", Some(1000), Some(5)).unwrap();
    let st = v.stat(USER, b"/dev/kmsg").unwrap();
    assert_eq!(st.st_mode, S_IFCHR | 0o600);
    let st = v.stat(USER, b"/dev/tty").unwrap();
    assert_eq!((st.st_uid, st.st_gid), (1000, 5));
    // Not the owner: EPERM; the directory is root's.
    assert_eq!(v.chmod(USER, b"/dev/null", 0o600), Err(Errno::EPERM));
    let mode = S_IFBLK | 0o660;
    assert_eq!(
        v.mknodat(USER, AT_FDCWD, b"/dev/sdz", mode, makedev(8, 0)),
        Err(Errno::EPERM)
    );
    v.mknodat(ROOT, AT_FDCWD, b"/dev/sdz", mode, makedev(8, 0))
        .unwrap();
    let st = v.stat(USER, b"/dev/sdz").unwrap();
    assert_eq!(st.st_mode & S_IFMT, S_IFBLK);
    assert_eq!(st.st_rdev, makedev(8, 0));
    assert_eq!(
        v.mknodat(ROOT, AT_FDCWD, b"/dev/sdz", mode, makedev(8, 0)),
        Err(Errno::EEXIST)
    );
    v.unlink(ROOT, b"/dev/sdz").unwrap();
    assert_eq!(v.unlink(USER, b"/dev/null"), Err(Errno::EACCES));
}

#[test]
fn uevents_add_and_remove_nodes() {
    let mut v = with_dev();
    let add = event("add@/devices/platform/serial8250/tty/ttyS0|ACTION=add|DEVPATH=/devices/platform/serial8250/tty/ttyS0|SUBSYSTEM=tty|MAJOR=4|MINOR=64|DEVNAME=ttyS0|SEQNUM=7");
    assert_eq!(add.var("DEVNAME"), Some("ttyS0"));
    assert_eq!(
        apply_uevent(&mut v, ROOT, b"/dev", &add),
        Ok(Applied::Made("ttyS0".into()))
    );
    let st = v.stat(ROOT, b"/dev/ttyS0").unwrap();
    assert_eq!(st.st_mode, S_IFCHR | 0o600);
    assert_eq!(st.st_rdev, makedev(4, 64));
    // The same add again changes nothing (coldplug after hotplug).
    assert_eq!(
        apply_uevent(&mut v, ROOT, b"/dev", &add),
        Ok(Applied::Nothing)
    );
    // A block device in a subdirectory, with its own mode.
    let disk = event("add@/devices/virtio0/block/vdb|SUBSYSTEM=block|MAJOR=254|MINOR=16|DEVNAME=disk/vdb|DEVMODE=0660");
    assert_eq!(
        apply_uevent(&mut v, ROOT, b"/dev", &disk),
        Ok(Applied::Made("disk/vdb".into()))
    );
    let st = v.stat(ROOT, b"/dev/disk/vdb").unwrap();
    assert_eq!(st.st_mode, S_IFBLK | 0o660);
    assert!(list_dir(&mut v, USER, "/dev").contains(&"disk".to_string()));
    // A remove of another number leaves the node; of its own removes it.
    let stale = event("remove@/x|SUBSYSTEM=tty|MAJOR=4|MINOR=65|DEVNAME=ttyS0");
    assert_eq!(
        apply_uevent(&mut v, ROOT, b"/dev", &stale),
        Ok(Applied::Nothing)
    );
    let mut remove = add.clone();
    remove.action = vfs::devfs::UeventAction::Remove;
    assert_eq!(
        apply_uevent(&mut v, ROOT, b"/dev", &remove),
        Ok(Applied::Removed("ttyS0".into()))
    );
    assert_eq!(v.stat(ROOT, b"/dev/ttyS0"), Err(Errno::ENOENT));
    assert!(!list_dir(&mut v, USER, "/dev").contains(&"ttyS0".to_string()));
    // Events without a node, and other actions: nothing.
    let bus = event("add@/bus/pci/drivers/edu|ACTION=add|SUBSYSTEM=drivers");
    assert_eq!(
        apply_uevent(&mut v, ROOT, b"/dev", &bus),
        Ok(Applied::Nothing)
    );
    let bind =
        event("bind@/devices/pci0000:00/0000:00:04.0|SUBSYSTEM=pci|MAJOR=1|MINOR=1|DEVNAME=x");
    assert_eq!(
        apply_uevent(&mut v, ROOT, b"/dev", &bind),
        Ok(Applied::Nothing)
    );
}

#[test]
fn bad_uevents_are_refused() {
    let mut v = with_dev();
    assert_eq!(Uevent::parse(b"no header").map(|_| ()), Err(Errno::EINVAL));
    assert_eq!(
        Uevent::parse(b"add@/x\0NOEQUALS\0").map(|_| ()),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        Uevent::parse(b"add@/x\0\xff=1\0").map(|_| ()),
        Err(Errno::EINVAL)
    );
    for bad in [
        "add@/x|MAJOR=1|MINOR=1|DEVNAME=../etc/passwd",
        "add@/x|MAJOR=1|MINOR=1|DEVNAME=a//b",
        "add@/x|MAJOR=1|MINOR=1|DEVNAME=",
        "add@/x|MAJOR=one|MINOR=1|DEVNAME=a",
        "add@/x|MAJOR=4096|MINOR=1|DEVNAME=a",
        "add@/x|MINOR=1|DEVNAME=a",
        "add@/x|MAJOR=1|MINOR=1|DEVNAME=a|DEVMODE=9",
    ] {
        assert_eq!(
            apply_uevent(&mut v, ROOT, b"/dev", &event(bad)),
            Err(Errno::EINVAL),
            "{bad}"
        );
    }
    // A node over a directory is refused; over another node replaced.
    v.mkdir(ROOT, b"/dev/d", 0o755).unwrap();
    let over_dir = event("add@/x|MAJOR=1|MINOR=1|DEVNAME=d");
    assert_eq!(
        apply_uevent(&mut v, ROOT, b"/dev", &over_dir),
        Err(Errno::EISDIR)
    );
    let over_null = event("add@/x|MAJOR=1|MINOR=1|DEVNAME=null");
    assert_eq!(
        apply_uevent(&mut v, ROOT, b"/dev", &over_null),
        Ok(Applied::Made("null".into()))
    );
    assert_eq!(v.stat(ROOT, b"/dev/null").unwrap().st_rdev, makedev(1, 1));
}

#[test]
fn mount_options() {
    let mut v = vfs();
    v.register_filesystem(Box::new(DevfsType)).unwrap();
    v.mkdir(ROOT, b"/d1", 0o755).unwrap();
    v.mount(ROOT, b"devfs", b"/d1", "devfs", 0, b"rw,nosuid,mode=700")
        .unwrap();
    assert_eq!(v.stat(ROOT, b"/d1").unwrap().st_mode, S_IFDIR | 0o700);
    v.mkdir(ROOT, b"/d2", 0o755).unwrap();
    assert_eq!(
        v.mount(ROOT, b"devfs", b"/d2", "devfs", 0, b"size=1"),
        Err(Errno::EINVAL)
    );
}

fn reader(n: usize) -> Mem {
    Mem {
        buf: vec![0xaa; n],
        access: Access::Write,
    }
}

fn writer(data: &[u8]) -> Mem {
    Mem {
        buf: data.to_vec(),
        access: Access::Read,
    }
}

fn known(c: u64) -> Option<Cred> {
    Some(if c == ROOT {
        Cred::root()
    } else {
        Cred::user(1000, 1000)
    })
}

fn call(s: &mut Service, c: u64, r: Request, g: &mut dyn GrantAccess) -> Reply {
    match s.handle(c, &r, g, &mut known) {
        Outcome::Reply(r) => r,
        other => panic!("{other:?}"),
    }
}

fn open(s: &mut Service, path: &str, flags: u32) -> i32 {
    let r = Request::Open {
        dirfd: AT_FDCWD,
        path: libsys::proto::vfs::path(path.as_bytes()).unwrap(),
        flags,
        mode: 0,
    };
    match call(s, USER, r, &mut reader(0)) {
        Reply::Fd(fd) => fd,
        other => panic!("open {path}: {other:?}"),
    }
}

#[test]
fn full_zero_null_and_urandom_through_the_service() {
    let mut s = Service::new(with_dev());
    s.crng.mix(b"a test seed");
    let full = open(&mut s, "/dev/full", O_RDWR);
    let mut out = reader(32);
    let r = call(&mut s, USER, Request::Read { fd: full, len: 32 }, &mut out);
    assert_eq!((r, &out.buf[..]), (Reply::Count(32), &[0u8; 32][..]));
    let r = call(
        &mut s,
        USER,
        Request::Write { fd: full, len: 3 },
        &mut writer(b"abc"),
    );
    assert_eq!(r, Reply::Error(Errno::ENOSPC));
    let null = open(&mut s, "/dev/null", O_RDWR);
    let r = call(
        &mut s,
        USER,
        Request::Read { fd: null, len: 8 },
        &mut reader(8),
    );
    assert_eq!(r, Reply::Count(0));
    let urandom = open(&mut s, "/dev/urandom", O_RDWR);
    let mut a = reader(64);
    let mut b = reader(64);
    assert_eq!(
        call(
            &mut s,
            USER,
            Request::Read {
                fd: urandom,
                len: 64
            },
            &mut a
        ),
        Reply::Count(64)
    );
    assert_eq!(
        call(
            &mut s,
            USER,
            Request::Read {
                fd: urandom,
                len: 64
            },
            &mut b
        ),
        Reply::Count(64)
    );
    assert_ne!(a.buf, b.buf);
    assert_ne!(a.buf, vec![0xaa; 64]);
    // Writes are mixed in, and accepted.
    let r = call(
        &mut s,
        USER,
        Request::Write {
            fd: urandom,
            len: 4,
        },
        &mut writer(b"more"),
    );
    assert_eq!(r, Reply::Count(4));
    let random = open(&mut s, "/dev/random", O_RDONLY);
    let mut c = reader(16);
    assert_eq!(
        call(
            &mut s,
            USER,
            Request::Read {
                fd: random,
                len: 16
            },
            &mut c
        ),
        Reply::Count(16)
    );
    assert_ne!(c.buf[..], a.buf[..16]);
}

/// A kernel log of three records.
struct Log(Vec<String>);

impl KernelLog for Log {
    fn read(&mut self, since: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut n = 0;
        for (seq, text) in self.0.iter().enumerate().skip(since as usize) {
            let line = format!("6,{seq},{},-;{text}\n", seq * 1000);
            if n + line.len() > buf.len() {
                break;
            }
            buf[n..n + line.len()].copy_from_slice(line.as_bytes());
            n += line.len();
        }
        Ok(n)
    }
    fn write(&mut self, text: &[u8]) -> Result<usize, Errno> {
        self.0
            .push(String::from_utf8_lossy(text).trim_end().to_string());
        Ok(text.len())
    }
}

#[test]
fn kmsg_reads_one_record_at_a_time() {
    let mut s = Service::new(with_dev());
    s.set_kernel_log(Box::new(Log(vec!["boot".into(), "second".into()])));
    // As root: the node is 0644.
    let r = Request::Open {
        dirfd: AT_FDCWD,
        path: libsys::proto::vfs::path(b"/dev/kmsg").unwrap(),
        flags: O_RDWR,
        mode: 0,
    };
    let Reply::Fd(fd) = call(&mut s, ROOT, r, &mut reader(0)) else {
        panic!("open /dev/kmsg");
    };
    let mut out = reader(100);
    assert_eq!(
        call(&mut s, ROOT, Request::Read { fd, len: 100 }, &mut out),
        Reply::Count(13)
    );
    assert_eq!(&out.buf[..13], b"6,0,0,-;boot\n");
    let r = call(
        &mut s,
        ROOT,
        Request::Write { fd, len: 6 },
        &mut writer(b"third\n"),
    );
    assert_eq!(r, Reply::Count(6));
    // A buffer too small for the record: EINVAL.
    assert_eq!(
        call(&mut s, ROOT, Request::Read { fd, len: 4 }, &mut reader(4)),
        Reply::Error(Errno::EINVAL)
    );
    let mut out = reader(100);
    let Reply::Count(n) = call(&mut s, ROOT, Request::Read { fd, len: 100 }, &mut out) else {
        panic!()
    };
    assert_eq!(&out.buf[..n as usize], b"6,1,1000,-;second\n");
    let Reply::Count(n) = call(&mut s, ROOT, Request::Read { fd, len: 100 }, &mut out) else {
        panic!()
    };
    assert_eq!(&out.buf[..n as usize], b"6,2,2000,-;third\n");
    assert_eq!(
        call(&mut s, ROOT, Request::Read { fd, len: 100 }, &mut out),
        Reply::Count(0)
    );
    // A user may not open it for writing (0644, root's).
    let r = Request::Open {
        dirfd: AT_FDCWD,
        path: libsys::proto::vfs::path(b"/dev/kmsg").unwrap(),
        flags: O_WRONLY,
        mode: 0,
    };
    assert_eq!(
        call(&mut s, USER, r, &mut reader(0)),
        Reply::Error(Errno::EACCES)
    );
}

#[test]
fn block_numbers_follow_linux() {
    use vfs::devfs::block_number;
    assert_eq!(block_number("vda"), Some((254, 0)));
    assert_eq!(block_number("vda1"), Some((254, 1)));
    assert_eq!(block_number("vdb"), Some((254, 16)));
    assert_eq!(block_number("sdc2"), Some((8, 34)));
    assert_eq!(block_number("ram0"), Some((1, 0)));
    assert_eq!(block_number("ram15"), Some((1, 15)));
    for bad in ["ram", "vd", "vdA", "vda16", "vda1x", "hda", "nvme0n1", ""] {
        assert_eq!(block_number(bad), None, "{bad}");
    }
}

#[test]
fn coldplug_from_the_uevent_attribute() {
    let mut v = with_dev();
    let e = Uevent::from_attribute(
        "block",
        "/devices/virtio1/block/vda",
        b"MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n",
    )
    .unwrap();
    assert_eq!(e.var("SUBSYSTEM"), Some("block"));
    assert_eq!(
        apply_uevent(&mut v, ROOT, b"/dev", &e),
        Ok(Applied::Made("vda".into()))
    );
    let st = v.stat(USER, b"/dev/vda").unwrap();
    assert_eq!(st.st_mode & S_IFMT, S_IFBLK);
    assert_eq!(st.st_rdev, makedev(254, 0));
    assert_eq!(
        Uevent::from_attribute("tty", "/x", b"garbage\n").map(|_| ()),
        Err(Errno::EINVAL)
    );
}
