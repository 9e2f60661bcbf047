//! Class devices added by servers through the protocol: where they hang
//! in sysfs, their uevents (what vfs makes `/dev` nodes from), the
//! checks, the per-client bound, ownership, and removal with children
//! and at a driver process's death.

mod common;

use common::{FakeConfig, PC};
use devmgr::service::Service;
use libsys::later::Later;
use libsys::proto::devmgr::{
    ClassDevice, DevClass, DevError, Name, Path, Reply, Request, CLASS_DEVICES_PER_CLIENT,
};
use libsys::server::{Answer, Caller, Server};

const BLK: u64 = 11;
const OTHER: u64 = 12;

fn pc() -> Service<FakeConfig> {
    Service::start(FakeConfig::new(PC)).0
}

fn ask(s: &mut Service<FakeConfig>, badge: u64, request: Request) -> Reply {
    match s.handle(request, Caller { badge }, &mut Later::default()) {
        Answer::Now(reply) => reply,
        Answer::Later(_) => panic!("answered later"),
    }
}

fn device(
    class: DevClass,
    name: &str,
    devt: (u32, u32),
    devtype: Option<&str>,
    parent: Option<&str>,
) -> Request {
    Request::AddClassDevice(ClassDevice {
        class,
        name: Name::try_from(name).unwrap(),
        devt,
        devtype: devtype.map(|t| t.try_into().unwrap()),
        parent: parent.map(|p| Name::try_from(p).unwrap()),
        mode: (class == DevClass::Block).then_some(0o660),
    })
}

fn disk(name: &str, minor: u32, parent: Option<&str>) -> Request {
    device(DevClass::Block, name, (254, minor), Some("disk"), parent)
}

fn partition(name: &str, minor: u32, disk: &str) -> Request {
    device(
        DevClass::Block,
        name,
        (254, minor),
        Some("partition"),
        Some(disk),
    )
}

fn remove(class: DevClass, name: &str) -> Request {
    Request::RemoveClassDevice {
        class,
        name: Name::try_from(name).unwrap(),
    }
}

/// A sysfs attribute's text; `Err` with the reply's debug form.
fn read(s: &mut Service<FakeConfig>, p: &str) -> Result<String, String> {
    match ask(
        s,
        BLK,
        Request::Read {
            path: Path::try_from(p).unwrap(),
        },
    ) {
        Reply::Text(t) => Ok(t.as_str().into()),
        other => Err(format!("{other:?}")),
    }
}

fn list(s: &mut Service<FakeConfig>, p: &str) -> Vec<String> {
    match ask(
        s,
        BLK,
        Request::List {
            path: Path::try_from(p).unwrap(),
            start: 0,
        },
    ) {
        Reply::Names { names, .. } => names.iter().map(|n| n.as_str().into()).collect(),
        other => panic!("not names: {other:?}"),
    }
}

/// Every uevent queued for `badge`, as `action@devpath` plus its
/// `KEY=value` variables.
fn events(s: &mut Service<FakeConfig>, badge: u64) -> Vec<String> {
    let mut out = Vec::new();
    while let Reply::Uevent { event: Some(e), .. } = ask(s, badge, Request::NextUevent) {
        out.push(e.as_str().replace('\0', " ").trim_end().to_string());
    }
    out
}

#[test]
fn a_disk_and_its_partitions_appear_in_sysfs_with_uevents() {
    let mut s = pc();
    assert_eq!(ask(&mut s, 99, Request::Subscribe), Reply::Done);
    // The IDE controller stands in for the virtio disk's PCI function.
    assert_eq!(
        ask(&mut s, BLK, disk("vda", 0, Some("0000:00:01.1"))),
        Reply::Done
    );
    assert_eq!(ask(&mut s, BLK, partition("vda1", 1, "vda")), Reply::Done);
    assert_eq!(ask(&mut s, BLK, partition("vda5", 5, "vda")), Reply::Done);
    assert_eq!(list(&mut s, "/sys/class/block"), ["vda", "vda1", "vda5"]);
    assert_eq!(list(&mut s, "/sys/block"), ["vda"]);
    assert!(list(&mut s, "/sys/block/vda").contains(&"vda1".to_string()));
    assert_eq!(read(&mut s, "/sys/block/vda/vda1/dev").unwrap(), "254:1\n");
    assert_eq!(
        read(&mut s, "/sys/class/block/vda5/dev").unwrap(),
        "254:5\n"
    );
    let uevent = read(&mut s, "/sys/class/block/vda1/uevent").unwrap();
    for line in [
        "MAJOR=254",
        "MINOR=1",
        "DEVNAME=vda1",
        "DEVTYPE=partition",
        "DEVMODE=0660",
    ] {
        assert!(uevent.contains(line), "{line} in {uevent}");
    }
    assert!(read(&mut s, "/sys/devices/pci0000:00/0000:00:01.1/vda/vda1/dev").is_ok());
    let got = events(&mut s, 99);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].starts_with("add@/devices/pci0000:00/0000:00:01.1/vda "));
    assert!(got[0].contains("SUBSYSTEM=block") && got[0].contains("DEVTYPE=disk"));
    assert!(got[1].starts_with("add@/devices/pci0000:00/0000:00:01.1/vda/vda1 "));
}

#[test]
fn a_device_without_parent_is_virtual() {
    let mut s = pc();
    let tty = device(DevClass::Tty, "tty0", (4, 0), None, None);
    assert_eq!(ask(&mut s, BLK, tty), Reply::Done);
    let serial = device(DevClass::Tty, "ttyS0", (4, 64), None, Some("serial8250"));
    assert_eq!(ask(&mut s, BLK, serial), Reply::Done);
    assert_eq!(
        read(&mut s, "/sys/devices/virtual/tty/tty0/dev").unwrap(),
        "4:0\n"
    );
    assert_eq!(
        read(&mut s, "/sys/devices/platform/serial8250/ttyS0/dev").unwrap(),
        "4:64\n"
    );
    assert_eq!(list(&mut s, "/sys/class/tty"), ["tty0", "ttyS0"]);
}

#[test]
fn bad_requests_get_typed_errors() {
    let mut s = pc();
    let cases = [
        (disk("a/b", 0, None), DevError::InvalidName),
        (disk("..", 0, None), DevError::InvalidName),
        (disk("", 0, None), DevError::InvalidName),
        (disk("vda", 0, Some("nosuch")), DevError::NoSuchDevice),
        (
            device(DevClass::Block, "vda", (0, 0), None, None),
            DevError::InvalidValue,
        ),
        (
            device(DevClass::Block, "vda", (0x1000, 0), None, None),
            DevError::InvalidValue,
        ),
        (
            device(DevClass::Block, "vda", (254, 0x10_0000), None, None),
            DevError::InvalidValue,
        ),
        (
            device(DevClass::Block, "vda", (254, 0), Some("Disk!"), None),
            DevError::InvalidValue,
        ),
        (remove(DevClass::Block, "vda"), DevError::NoSuchDevice),
        (
            Request::AddClassDevice(ClassDevice {
                class: DevClass::Tty,
                name: Name::try_from("ttyS0").unwrap(),
                devt: (4, 64),
                devtype: None,
                parent: None,
                mode: Some(0o1777),
            }),
            DevError::InvalidValue,
        ),
    ];
    for (request, error) in cases {
        assert_eq!(
            ask(&mut s, BLK, request.clone()),
            Reply::Error(error),
            "{request:?}"
        );
    }
    assert_eq!(list(&mut s, "/sys/class/block"), Vec::<String>::new());
    assert_eq!(ask(&mut s, BLK, disk("vda", 0, None)), Reply::Done);
    assert_eq!(
        ask(&mut s, OTHER, disk("vda", 16, None)),
        Reply::Error(DevError::NameExists)
    );
}

#[test]
fn only_the_owner_removes_or_hangs_children_and_removal_takes_children() {
    let mut s = pc();
    assert_eq!(ask(&mut s, BLK, disk("vda", 0, None)), Reply::Done);
    assert_eq!(ask(&mut s, BLK, partition("vda1", 1, "vda")), Reply::Done);
    assert_eq!(
        ask(&mut s, OTHER, partition("vda2", 2, "vda")),
        Reply::Error(DevError::NotAllowed)
    );
    assert_eq!(
        ask(&mut s, OTHER, remove(DevClass::Block, "vda")),
        Reply::Error(DevError::NotAllowed)
    );
    assert_eq!(ask(&mut s, 99, Request::Subscribe), Reply::Done);
    assert_eq!(
        ask(&mut s, BLK, remove(DevClass::Block, "vda")),
        Reply::Done
    );
    let got = events(&mut s, 99);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("remove@/devices/virtual/block/vda/vda1 "));
    assert!(got[0].contains("DEVNAME=vda1"));
    assert!(got[1].starts_with("remove@/devices/virtual/block/vda "));
    assert_eq!(list(&mut s, "/sys/class/block"), Vec::<String>::new());
    // The owners were forgotten with the devices: the names are free.
    assert_eq!(ask(&mut s, OTHER, disk("vda", 0, None)), Reply::Done);
    assert_eq!(ask(&mut s, OTHER, partition("vda1", 1, "vda")), Reply::Done);
}

#[test]
fn a_client_owns_a_bounded_number() {
    let mut s = pc();
    for i in 0..CLASS_DEVICES_PER_CLIENT {
        let name = format!("ram{i}");
        assert_eq!(
            ask(
                &mut s,
                BLK,
                device(DevClass::Block, &name, (1, i as u32), None, None)
            ),
            Reply::Done
        );
    }
    let one_more = device(DevClass::Block, "ramx", (1, 999), None, None);
    assert_eq!(
        ask(&mut s, BLK, one_more.clone()),
        Reply::Error(DevError::TooManyClassDevices)
    );
    // Charged to the caller: another client still has its own.
    assert_eq!(ask(&mut s, OTHER, one_more), Reply::Done);
    assert_eq!(
        ask(&mut s, BLK, remove(DevClass::Block, "ram0")),
        Reply::Done
    );
    let again = device(DevClass::Block, "ram0", (1, 0), None, None);
    assert_eq!(ask(&mut s, BLK, again), Reply::Done);
}

#[test]
fn a_dead_client_loses_its_devices() {
    let mut s = pc();
    assert_eq!(ask(&mut s, BLK, disk("vda", 0, None)), Reply::Done);
    assert_eq!(ask(&mut s, BLK, partition("vda1", 1, "vda")), Reply::Done);
    let kbd = device(DevClass::Input, "event0", (13, 64), None, Some("i8042"));
    assert_eq!(ask(&mut s, OTHER, kbd), Reply::Done);
    assert_eq!(ask(&mut s, 99, Request::Subscribe), Reply::Done);
    let mut gone = s.client_gone(BLK);
    gone.sort();
    assert_eq!(gone, ["vda"]);
    let got = events(&mut s, 99);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().all(|e| e.starts_with("remove@")));
    assert_eq!(list(&mut s, "/sys/class/block"), Vec::<String>::new());
    assert_eq!(list(&mut s, "/sys/class/input"), ["event0"]);
    assert!(s.client_gone(BLK).is_empty());
}
