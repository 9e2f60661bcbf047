//! The server's request handling over recorded QEMU configuration spaces:
//! what start-up registers and logs, listing, sysfs through the protocol,
//! drivers registered by clients, uevent queues, and the bound driver's
//! own configuration space (and nobody else's).

mod common;

use common::{FakeConfig, PC, Q35};
use devmgr::service::{Outcome, Service};
use libsys::later::Later;
use libsys::proto::devmgr::{
    Bus, DevError, IdMatch, Name, Path, Reply, Request, Slot, DRIVERS_PER_CLIENT, LIST_MAX,
};
use libsys::rpc::{encode, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST};
use libsys::server::{dispatch, Answer, Caller, Server};

const CLIENT: u64 = 7;
const OTHER: u64 = 8;

fn q35() -> Service<FakeConfig> {
    Service::start(FakeConfig::new(Q35)).0
}

fn ask(s: &mut Service<FakeConfig>, badge: u64, request: Request) -> Reply {
    match s.handle(request, Caller { badge }, &mut Later::default()) {
        Answer::Now(reply) => reply,
        Answer::Later(token) => panic!("devmgr's Server answers now, not later ({token:?})"),
    }
}

fn path(p: &str) -> Path {
    p.try_into().unwrap()
}

fn read(s: &mut Service<FakeConfig>, p: &str) -> Reply {
    ask(s, CLIENT, Request::Read { path: path(p) })
}

fn text(reply: Reply) -> String {
    match reply {
        Reply::Text(t) => t.as_str().into(),
        other => panic!("not text: {other:?}"),
    }
}

fn names(reply: Reply) -> (Vec<String>, u32) {
    match reply {
        Reply::Names { names, total } => (names.iter().map(|n| n.as_str().into()).collect(), total),
        other => panic!("not names: {other:?}"),
    }
}

const SMBUS: Slot = Slot {
    bus: 0,
    device: 0x1f,
    function: 3,
};
const LPC: Slot = Slot {
    bus: 0,
    device: 0x1f,
    function: 0,
};

fn smbus_driver(s: &mut Service<FakeConfig>, badge: u64, name: &str) -> Reply {
    let mut ids = heapless::Vec::new();
    ids.push(IdMatch::Pci {
        vendor: 0x8086,
        device: 0x2930,
        class: 0,
        class_mask: 0,
    })
    .unwrap();
    ask(
        s,
        badge,
        Request::RegisterDriver {
            name: Name::try_from(name).unwrap(),
            bus: Bus::Pci,
            ids,
        },
    )
}

#[test]
fn start_registers_and_logs_every_device() {
    let (mut s, log) = Service::start(FakeConfig::new(Q35));
    assert_eq!(log.len(), 10 + 4);
    assert!(log[0].starts_with("00:00.0 Host bridge [0600]: Intel Corporation"));
    assert_eq!(log[10], "platform i8253: io 0x40-0x43, irq 0");
    assert_eq!(log[11], "platform i8042: io 0x60-0x60 0x64-0x64, irq 1");
    assert_eq!(log[12], "platform serial8250: io 0x3f8-0x3ff, irq 4");
    let (pci, total) = names(ask(
        &mut s,
        CLIENT,
        Request::ListDevices {
            bus: Bus::Pci,
            start: 0,
        },
    ));
    assert_eq!(total, 10);
    assert_eq!(pci[0], "0000:00:00.0");
    assert_eq!(pci[9], "0000:01:00.0");
    let (platform, _) = names(ask(
        &mut s,
        CLIENT,
        Request::ListDevices {
            bus: Bus::Platform,
            start: 0,
        },
    ));
    assert_eq!(platform, ["i8253", "i8042", "serial8250", "rtc_cmos"]);
    let (tail, total) = names(ask(
        &mut s,
        CLIENT,
        Request::ListDevices {
            bus: Bus::Pci,
            start: 8,
        },
    ));
    assert_eq!((tail.len(), total), (2, 10));
    let (none, _) = names(ask(
        &mut s,
        CLIENT,
        Request::ListDevices {
            bus: Bus::Pci,
            start: u32::MAX,
        },
    ));
    assert!(none.is_empty());
    let (pc, _) = Service::start(FakeConfig::new(PC));
    assert_eq!(pc.model().bus_devices(devmgr::BusType::Pci).len(), 5);
}

#[test]
fn sysfs_reads_and_lists_through_the_protocol() {
    let mut s = q35();
    let dev = "/sys/bus/pci/devices/0000:00:1f.3";
    assert_eq!(text(read(&mut s, &format!("{dev}/vendor"))), "0x8086\n");
    assert_eq!(text(read(&mut s, &format!("{dev}/device"))), "0x2930\n");
    assert_eq!(text(read(&mut s, &format!("{dev}/class"))), "0x0c0500\n");
    assert_eq!(text(read(&mut s, &format!("{dev}/irq"))), "10\n");
    assert_eq!(
        text(read(
            &mut s,
            "/sys/bus/platform/devices/serial8250/resource"
        )),
        "0x00000000000003f8 0x00000000000003ff 0x0000000000000100\n"
    );
    assert_eq!(text(read(&mut s, "/sys/devices/platform/i8042/irq")), "1\n");
    assert_eq!(
        read(&mut s, &format!("{dev}/nonesuch")),
        Reply::Error(DevError::NotFound)
    );
    assert_eq!(
        read(&mut s, "/proc/cpuinfo"),
        Reply::Error(DevError::NotFound)
    );
    assert_eq!(read(&mut s, dev), Reply::Error(DevError::IsDirectory));
    let (root, _) = names(ask(
        &mut s,
        CLIENT,
        Request::List {
            path: path("/sys/devices"),
            start: 0,
        },
    ));
    assert_eq!(root, ["pci0000:00", "platform"]);
    let (pci_root, total) = names(ask(
        &mut s,
        CLIENT,
        Request::List {
            path: path("/sys/devices/pci0000:00"),
            start: 0,
        },
    ));
    assert!(pci_root.contains(&"0000:00:02.0".to_string()));
    assert!(pci_root.len() <= LIST_MAX && total as usize >= pci_root.len());
    assert_eq!(
        ask(
            &mut s,
            CLIENT,
            Request::List {
                path: path(&format!("{dev}/vendor")),
                start: 0
            }
        ),
        Reply::Error(DevError::NotDirectory)
    );
}

#[test]
fn pci_info_has_bars_capabilities_and_the_driver() {
    let mut s = q35();
    let blk = Slot {
        bus: 0,
        device: 2,
        function: 0,
    };
    let Reply::Pci(info) = ask(&mut s, CLIENT, Request::PciInfo { slot: blk }) else {
        panic!("no info");
    };
    assert_eq!(
        (info.vendor, info.device, info.class),
        (0x1af4, 0x1001, 0x010000)
    );
    assert_eq!(info.bars.len(), 3);
    assert!(info.bars[0].io && info.bars[0].start == 0xc000 && info.bars[0].size == 128);
    assert!(info.bars[2].is_64bit && info.bars[2].index == 4);
    assert_eq!(info.capabilities.len(), 6);
    assert_eq!(info.msix_entries, Some(2));
    assert_eq!(info.driver, None);
    let absent = Slot {
        bus: 0,
        device: 9,
        function: 0,
    };
    assert_eq!(
        ask(&mut s, CLIENT, Request::PciInfo { slot: absent }),
        Reply::Error(DevError::NoSuchDevice)
    );
    let bad = Slot {
        bus: 0,
        device: 200,
        function: 9,
    };
    assert_eq!(
        ask(&mut s, CLIENT, Request::PciInfo { slot: bad }),
        Reply::Error(DevError::NoSuchDevice)
    );
}

#[test]
fn config_space_is_open_only_to_the_bound_driver() {
    let mut s = q35();
    let read = |s: &mut Service<FakeConfig>, badge, slot, offset| {
        ask(s, badge, Request::ConfigRead { slot, offset })
    };
    assert_eq!(
        read(&mut s, CLIENT, SMBUS, 0),
        Reply::Error(DevError::NotAllowed)
    );
    assert_eq!(smbus_driver(&mut s, CLIENT, "smbus-test"), Reply::Bound(1));
    assert_eq!(read(&mut s, CLIENT, SMBUS, 0), Reply::Config(0x2930_8086));
    assert_eq!(
        read(&mut s, OTHER, SMBUS, 0),
        Reply::Error(DevError::NotAllowed)
    );
    assert_eq!(
        read(&mut s, CLIENT, LPC, 0),
        Reply::Error(DevError::NotAllowed)
    );
    assert_eq!(
        read(&mut s, CLIENT, SMBUS, 2),
        Reply::Error(DevError::BadOffset)
    );
    assert_eq!(
        read(&mut s, CLIENT, SMBUS, 256),
        Reply::Error(DevError::BadOffset)
    );
    let write = |s: &mut Service<FakeConfig>, offset, value| {
        ask(
            s,
            CLIENT,
            Request::ConfigWrite {
                slot: SMBUS,
                offset,
                value,
            },
        )
    };
    assert_eq!(
        write(&mut s, 0x20, 0),
        Reply::Error(DevError::NotAllowed),
        "a BAR"
    );
    assert_eq!(
        write(&mut s, 0x30, 0),
        Reply::Error(DevError::NotAllowed),
        "the ROM"
    );
    assert_eq!(
        write(&mut s, 0x04, 0x0001),
        Reply::Done,
        "the command register"
    );
    assert_eq!(read(&mut s, CLIENT, SMBUS, 4), Reply::Config(0x0280_0001));
    // Unbound through sysfs: closed again.
    let unbind = Request::Write {
        path: path("/sys/bus/pci/drivers/smbus-test/unbind"),
        value: heapless::Vec::from_slice(b"0000:00:1f.3\n").unwrap(),
    };
    assert_eq!(ask(&mut s, OTHER, unbind.clone()), Reply::Done);
    assert_eq!(
        read(&mut s, CLIENT, SMBUS, 0),
        Reply::Error(DevError::NotAllowed)
    );
    assert_eq!(ask(&mut s, OTHER, unbind), Reply::Error(DevError::NotBound));
    let bind = Request::Write {
        path: path("/sys/bus/pci/drivers/smbus-test/bind"),
        value: heapless::Vec::from_slice(b"0000:00:1f.3").unwrap(),
    };
    assert_eq!(ask(&mut s, CLIENT, bind), Reply::Done);
    assert_eq!(read(&mut s, CLIENT, SMBUS, 0), Reply::Config(0x2930_8086));
}

#[test]
fn drivers_are_their_clients_and_bounded() {
    let mut s = q35();
    assert_eq!(smbus_driver(&mut s, CLIENT, "a"), Reply::Bound(1));
    assert_eq!(
        smbus_driver(&mut s, OTHER, "a"),
        Reply::Error(DevError::NameExists)
    );
    assert_eq!(
        smbus_driver(&mut s, OTHER, "b"),
        Reply::Bound(0),
        "already bound to a"
    );
    assert_eq!(
        smbus_driver(&mut s, OTHER, "bad/name"),
        Reply::Error(DevError::InvalidName)
    );
    for i in 1..DRIVERS_PER_CLIENT {
        assert_eq!(
            smbus_driver(&mut s, CLIENT, &format!("x{i}")),
            Reply::Bound(0)
        );
    }
    assert_eq!(
        smbus_driver(&mut s, CLIENT, "y"),
        Reply::Error(DevError::TooManyDrivers)
    );
    let unregister = |name: &str| Request::UnregisterDriver {
        name: name.try_into().unwrap(),
        bus: Bus::Pci,
    };
    assert_eq!(
        ask(&mut s, OTHER, unregister("a")),
        Reply::Error(DevError::NotAllowed)
    );
    assert_eq!(
        ask(&mut s, OTHER, unregister("zz")),
        Reply::Error(DevError::NoSuchDriver)
    );
    assert_eq!(ask(&mut s, CLIENT, unregister("a")), Reply::Done);
    assert_eq!(
        text(read(&mut s, "/sys/bus/pci/devices/0000:00:1f.3/vendor")),
        "0x8086\n"
    );
    assert_eq!(
        read(&mut s, "/sys/bus/pci/devices/0000:00:1f.3/driver"),
        Reply::Error(DevError::NotFound),
        "unbound with its driver"
    );
    assert_eq!(
        smbus_driver(&mut s, CLIENT, "y"),
        Reply::Bound(1),
        "a slot again"
    );
}

#[test]
fn uevents_are_queued_per_client() {
    let mut s = q35();
    assert_eq!(
        ask(&mut s, CLIENT, Request::NextUevent),
        Reply::Error(DevError::NotSubscribed)
    );
    assert_eq!(ask(&mut s, CLIENT, Request::Subscribe), Reply::Done);
    assert_eq!(
        ask(&mut s, CLIENT, Request::Subscribe),
        Reply::Done,
        "idempotent"
    );
    smbus_driver(&mut s, OTHER, "smbus-test");
    let mut actions = Vec::new();
    while let Reply::Uevent {
        event: Some(e),
        dropped,
    } = ask(&mut s, CLIENT, Request::NextUevent)
    {
        assert_eq!(dropped, 0);
        actions.push(e.split('@').next().unwrap().to_string());
        if e.starts_with("bind@") {
            assert!(e.contains("DEVPATH=/devices/pci0000:00/0000:00:1f.3\0"));
            assert!(e.contains("DRIVER=smbus-test\0"));
        }
    }
    assert_eq!(
        actions,
        ["add", "bind"],
        "the driver's add, the device's bind"
    );
    assert_eq!(
        ask(&mut s, OTHER, Request::NextUevent),
        Reply::Error(DevError::NotSubscribed)
    );
    assert_eq!(ask(&mut s, CLIENT, Request::Unsubscribe), Reply::Done);
    assert_eq!(
        ask(&mut s, CLIENT, Request::Unsubscribe),
        Reply::Error(DevError::NotSubscribed)
    );
    for badge in 100..100 + devmgr::uevent::MAX_SUBSCRIBERS as u64 {
        assert_eq!(ask(&mut s, badge, Request::Subscribe), Reply::Done);
    }
    assert_eq!(
        ask(&mut s, 1, Request::Subscribe),
        Reply::Error(DevError::TooManySubscribers)
    );
}

#[test]
fn malformed_messages_get_bad_request() {
    let mut s = q35();
    let mut out = [0u8; 4096];
    assert_eq!(
        dispatch(&mut s, LABEL_REQUEST, &[200], CLIENT, &mut out).0,
        LABEL_BAD_REQUEST
    );
    assert_eq!(
        dispatch(&mut s, LABEL_REQUEST, &[], CLIENT, &mut out).0,
        LABEL_BAD_REQUEST
    );
    assert_eq!(
        dispatch(&mut s, 12345, &[7], CLIENT, &mut out).0,
        LABEL_BAD_REQUEST
    );
    let mut input = [0u8; 64];
    let n = encode(&Request::Subscribe, &mut input).unwrap();
    assert_eq!(
        dispatch(&mut s, LABEL_REQUEST, &input[..n], CLIENT, &mut out).0,
        LABEL_REPLY
    );
    // Writes that are not understood are error replies.
    let write = |p: &str, v: &[u8]| Request::Write {
        path: path(p),
        value: heapless::Vec::from_slice(v).unwrap(),
    };
    assert_eq!(
        ask(
            &mut s,
            CLIENT,
            write("/sys/bus/pci/devices/0000:00:1f.3/vendor", b"1")
        ),
        Reply::Error(DevError::ReadOnly)
    );
    assert_eq!(
        ask(
            &mut s,
            CLIENT,
            write("/sys/bus/pci/devices/0000:00:1f.3/uevent", b"bogus")
        ),
        Reply::Error(DevError::InvalidValue)
    );
    assert_eq!(
        ask(
            &mut s,
            CLIENT,
            write("/sys/bus/pci/drivers/none/bind", b"0000:00:1f.3")
        ),
        Reply::Error(DevError::NotFound)
    );
}

#[test]
fn wait_uevent_is_answered_when_an_event_comes() {
    let mut s = q35();
    assert_eq!(
        s.request(Request::WaitUevent, CLIENT),
        Outcome::Reply(Reply::Error(DevError::NotSubscribed))
    );
    assert_eq!(
        s.request(Request::Subscribe, CLIENT),
        Outcome::Reply(Reply::Done)
    );
    assert_eq!(s.request(Request::WaitUevent, CLIENT), Outcome::Wait);
    assert_eq!(
        s.request(Request::WaitUevent, CLIENT),
        Outcome::Reply(Reply::Error(DevError::AlreadyWaiting))
    );
    assert!(s.woken().is_empty(), "nothing happened yet");
    let change = Request::Write {
        path: path("/sys/bus/platform/devices/i8042/uevent"),
        value: heapless::Vec::from_slice(b"change").unwrap(),
    };
    assert_eq!(s.request(change, OTHER), Outcome::Reply(Reply::Done));
    let woken = s.woken();
    assert_eq!(woken.len(), 1);
    let (
        badge,
        Reply::Uevent {
            event: Some(e),
            dropped: 0,
        },
    ) = &woken[0]
    else {
        panic!("{woken:?}");
    };
    assert_eq!(*badge, CLIENT);
    assert!(e.starts_with("change@/devices/platform/i8042\0"));
    assert!(s.woken().is_empty(), "answered once");
    // An event already queued is answered at once.
    smbus_driver(&mut s, OTHER, "smbus-test");
    assert!(matches!(
        s.request(Request::WaitUevent, CLIENT),
        Outcome::Reply(Reply::Uevent { event: Some(_), .. })
    ));
    // A waiter whose client unsubscribes is told so.
    while let Reply::Uevent { event: Some(_), .. } = ask(&mut s, CLIENT, Request::NextUevent) {}
    assert_eq!(s.request(Request::WaitUevent, CLIENT), Outcome::Wait);
    assert_eq!(
        s.request(Request::Unsubscribe, CLIENT),
        Outcome::Reply(Reply::Done)
    );
    assert_eq!(s.woken(), [(CLIENT, Reply::Error(DevError::NotSubscribed))]);
    // Through the plain Server trait it does not wait.
    assert_eq!(ask(&mut s, OTHER, Request::Subscribe), Reply::Done);
    assert!(matches!(
        ask(&mut s, OTHER, Request::WaitUevent),
        Reply::Uevent { event: None, .. }
    ));
}

/// The uevent actions queued for `CLIENT`, in order.
fn actions(s: &mut Service<FakeConfig>) -> Vec<String> {
    let mut actions = Vec::new();
    while let Reply::Uevent { event: Some(e), .. } = ask(s, CLIENT, Request::NextUevent) {
        actions.push(e.split('\0').next().unwrap().to_string());
    }
    actions
}

#[test]
fn a_process_driver_is_probed_started_unbound_when_it_dies_and_bound_again() {
    use devmgr::drivers::{find, DRIVER_TABLE};
    use devmgr::BusType;
    let mut s = q35();
    assert_eq!(ask(&mut s, CLIENT, Request::Subscribe), Reply::Done);
    let kbd = find("i8042").unwrap();
    s.register_process_driver(kbd).unwrap();
    assert!(
        s.register_process_driver(&DRIVER_TABLE[0]).is_err(),
        "registered once"
    );
    let probes = s.take_probes();
    assert_eq!(probes.len(), 1, "the i8042 device matched");
    let p = &probes[0];
    assert_eq!((p.driver.as_str(), p.device.as_str()), ("i8042", "i8042"));
    assert_eq!(p.irq, Some(1), "its IRQ line");
    let ports: Vec<(u64, u64)> = p.resources.iter().map(|r| (r.start, r.end)).collect();
    assert_eq!(ports, [(0x60, 0x60), (0x64, 0x64)], "exactly its ports");
    assert!(s.take_probes().is_empty(), "taken once");
    s.driver_started("i8042", "i8042", 42);
    assert_eq!(
        actions(&mut s),
        [
            "add@/bus/platform/drivers/i8042",
            "bind@/devices/platform/i8042"
        ]
    );
    assert_eq!(
        text(read(&mut s, "/sys/devices/platform/i8042/driver")),
        "i8042\n"
    );
    // The process died: unbound; after the back-off, bound again and a
    // new probe to start.
    s.driver_gone("i8042", BusType::Platform, "i8042").unwrap();
    assert_eq!(actions(&mut s), ["unbind@/devices/platform/i8042"]);
    assert!(s.take_probes().is_empty());
    s.rebind("i8042", BusType::Platform, "i8042").unwrap();
    assert_eq!(actions(&mut s), ["bind@/devices/platform/i8042"]);
    assert_eq!(s.take_probes().len(), 1);
    assert!(
        s.rebind("i8042", BusType::Platform, "i8042").is_err(),
        "bound already"
    );
    // sysfs unbind: the process is to be stopped; no restart, no probe.
    s.driver_started("i8042", "i8042", 43);
    let _ = actions(&mut s);
    let unbind = Request::Write {
        path: path("/sys/bus/platform/drivers/i8042/unbind"),
        value: b"i8042".as_slice().try_into().unwrap(),
    };
    assert_eq!(ask(&mut s, CLIENT, unbind), Reply::Done);
    let stops = s.take_stops();
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].device, "i8042");
    assert!(s.take_probes().is_empty());
    assert_eq!(actions(&mut s), ["unbind@/devices/platform/i8042"]);
    // A client cannot take a process driver's name.
    let ids = [IdMatch::Platform(Name::try_from("i8042").unwrap())];
    let reply = ask(
        &mut s,
        OTHER,
        Request::RegisterDriver {
            name: Name::try_from("i8042").unwrap(),
            bus: Bus::Platform,
            ids: ids.as_slice().try_into().unwrap(),
        },
    );
    assert!(matches!(reply, Reply::Error(_)), "{reply:?}");
}

#[test]
fn a_pci_process_driver_gets_its_bars_and_routed_line_and_its_device_is_stopped() {
    use devmgr::drivers::find;
    use devmgr::model::IORESOURCE_MEM;
    let mut s = q35();
    let edu = find("edu").unwrap();
    s.register_process_driver(edu).unwrap();
    let probes = s.take_probes();
    assert_eq!(probes.len(), 1, "the edu function matched 1234:11e8");
    let p = &probes[0];
    assert_eq!(
        (p.driver.as_str(), p.device.as_str()),
        ("edu", "0000:00:04.0")
    );
    let mem: Vec<(u64, u64)> = p
        .resources
        .iter()
        .filter(|r| r.flags & IORESOURCE_MEM != 0)
        .map(|r| (r.start, r.end))
        .collect();
    assert_eq!(mem, [(0xfea0_0000, 0xfeaf_ffff)], "BAR 0: 1 MiB");
    // q35 rotates slot 4's INTA onto PIRQ E: GSI 20 (not the PIC line 11).
    assert_eq!(s.intx_gsi("0000:00:04.0"), Some(20));
    assert_eq!(s.intx_gsi("0000:00:00.0"), None, "no pin");
    assert_eq!(s.intx_gsi("nonsense"), None);
    // Its process's badge opens its configuration space, and no other.
    s.driver_started("edu", "0000:00:04.0", 77);
    let slot = Slot::parse("0000:00:04.0").unwrap();
    let enable = Request::ConfigWrite {
        slot,
        offset: 4,
        value: 0x6,
    };
    assert_eq!(ask(&mut s, 77, enable), Reply::Done);
    let command =
        |s: &mut Service<FakeConfig>| match ask(s, 77, Request::ConfigRead { slot, offset: 4 }) {
            Reply::Config(v) => v & 0xffff,
            other => panic!("{other:?}"),
        };
    assert_eq!(command(&mut s) & 0x4, 0x4, "bus mastering on");
    assert_eq!(
        ask(&mut s, CLIENT, Request::ConfigRead { slot, offset: 4 }),
        Reply::Error(DevError::NotAllowed)
    );
    // The driver died: bus mastering and decoding off before its DMA
    // memory goes back to mm.
    assert!(s.stop_device("0000:00:04.0"));
    assert_eq!(command(&mut s) & 0x7, 0);
    assert!(!s.stop_device("i8042"), "not a PCI function");
    // Open: the binary answers for a running process; the core tells
    // the rest apart.
    let open = |device: &str| Request::Open {
        device: device.try_into().unwrap(),
    };
    assert_eq!(
        ask(&mut s, CLIENT, open("0000:00:04.0")),
        Reply::Error(DevError::NotRunning)
    );
    assert_eq!(
        ask(&mut s, CLIENT, open("0000:00:09.0")),
        Reply::Error(DevError::NoSuchDevice)
    );
}

#[test]
fn each_device_of_a_process_driver_has_its_own_process() {
    use devmgr::drivers::find;
    let mut s = q35();
    s.register_process_driver(find("virtio_blk").unwrap())
        .unwrap();
    let probes = s.take_probes();
    let devices: Vec<&str> = probes.iter().map(|p| p.device.as_str()).collect();
    assert_eq!(
        devices,
        ["0000:00:02.0", "0000:00:03.0"],
        "both virtio disks"
    );
    s.driver_started("virtio_blk", "0000:00:02.0", 50);
    s.driver_started("virtio_blk", "0000:00:03.0", 51);
    let read = |s: &mut Service<FakeConfig>, badge, device| {
        let slot = Slot::parse(device).unwrap();
        ask(s, badge, Request::ConfigRead { slot, offset: 0 })
    };
    // Each process opens its own function's configuration space only.
    assert!(matches!(read(&mut s, 50, "0000:00:02.0"), Reply::Config(_)));
    assert!(matches!(read(&mut s, 51, "0000:00:03.0"), Reply::Config(_)));
    assert_eq!(
        read(&mut s, 50, "0000:00:03.0"),
        Reply::Error(DevError::NotAllowed)
    );
    // One dies: the other keeps its device.
    s.driver_gone("virtio_blk", devmgr::BusType::Pci, "0000:00:02.0")
        .unwrap();
    assert_eq!(
        read(&mut s, 50, "0000:00:02.0"),
        Reply::Error(DevError::NotAllowed)
    );
    assert!(matches!(read(&mut s, 51, "0000:00:03.0"), Reply::Config(_)));
}

/// `EnableMsi`'s service half: only the bound driver's function, only
/// with an MSI capability; the capability programmed and then closed to
/// the driver's own writes; sysfs `msi_irqs`; undone when the driver goes.
#[test]
fn msi_is_programmed_for_the_bound_driver_and_shown_in_sysfs() {
    use libsys::abi::MsiMessage;
    let mut s = q35();
    s.register_process_driver(devmgr::drivers::find("edu").unwrap())
        .unwrap();
    s.driver_started("edu", "0000:00:04.0", 77);
    let slot = Slot::parse("0000:00:04.0").unwrap();
    assert_eq!(s.msi_target(slot, CLIENT).err(), Some(DevError::NotAllowed));
    let (addr, cap) = s.msi_target(slot, 77).unwrap();
    assert_eq!((cap.offset, cap.is_64bit), (0x40, true));
    // Through the plain server the binary's part is missing.
    assert_eq!(
        ask(&mut s, 77, Request::EnableMsi { slot }),
        Reply::Error(DevError::NotRunning)
    );
    let message = MsiMessage {
        vector: 0xc3,
        address: 0xfee0_0000,
        data: 0xc3,
    };
    s.msi_enable(addr, &cap, &message).unwrap();
    assert_eq!(s.msi_vector("0000:00:04.0"), Some(0xc3));
    let config = |s: &mut Service<FakeConfig>, offset| match ask(
        s,
        77,
        Request::ConfigRead { slot, offset },
    ) {
        Reply::Config(v) => v,
        other => panic!("{other:?}"),
    };
    assert_eq!(config(&mut s, 0x44), 0xfee0_0000);
    assert_eq!(config(&mut s, 0x4c), 0xc3);
    assert_eq!(config(&mut s, 0x40) >> 16 & 1, 1, "MSI on");
    assert_eq!(config(&mut s, 0x04) & 1 << 10, 1 << 10, "INTx off");
    assert_eq!(s.msi_target(slot, 77).err(), Some(DevError::MsiEnabled));
    // The capability is devmgr's: the driver cannot aim it elsewhere.
    for offset in [0x40, 0x44, 0x48, 0x4c] {
        let write = Request::ConfigWrite {
            slot,
            offset,
            value: 0xfee0_0000,
        };
        assert_eq!(
            ask(&mut s, 77, write),
            Reply::Error(DevError::NotAllowed),
            "{offset:#x}"
        );
    }
    // sysfs: msi_irqs/<vector> reading "msi", under both paths.
    for dev in [
        "/sys/bus/pci/devices/0000:00:04.0",
        "/sys/devices/pci0000:00/0000:00:04.0",
    ] {
        let (entries, _) = names(ask(
            &mut s,
            CLIENT,
            Request::List {
                path: path(dev),
                start: 0,
            },
        ));
        assert!(entries.iter().any(|e| e == "msi_irqs"), "{entries:?}");
        let (vectors, _) = names(ask(
            &mut s,
            CLIENT,
            Request::List {
                path: path(&format!("{dev}/msi_irqs")),
                start: 0,
            },
        ));
        assert_eq!(vectors, ["195"]);
        assert_eq!(text(read(&mut s, &format!("{dev}/msi_irqs/195"))), "msi\n");
        assert_eq!(
            read(&mut s, &format!("{dev}/msi_irqs")),
            Reply::Error(DevError::IsDirectory)
        );
        assert_eq!(
            read(&mut s, &format!("{dev}/msi_irqs/194")),
            Reply::Error(DevError::NotFound)
        );
    }
    // The driver died (or was unbound): MSI off, INTx back on.
    assert_eq!(s.msi_disable("0000:00:04.0"), Some(0xc3));
    assert_eq!(s.msi_disable("0000:00:04.0"), None, "off already");
    assert_eq!(config(&mut s, 0x40) >> 16 & 1, 0, "MSI off");
    assert_eq!(config(&mut s, 0x04) & 1 << 10, 0, "INTx on");
    assert_eq!(
        read(&mut s, "/sys/bus/pci/devices/0000:00:04.0/msi_irqs/195"),
        Reply::Error(DevError::NotFound)
    );
    // A function without MSI (the SMBus controller, a client's driver).
    assert!(matches!(
        smbus_driver(&mut s, CLIENT, "smbus"),
        Reply::Bound(1)
    ));
    assert_eq!(s.msi_target(SMBUS, CLIENT).err(), Some(DevError::NoMsi));
}

/// `/proc/interrupts`' users: a bound function's INTx line by its driver's
/// name until its MSI is on, then the MSI's vector; the legacy devices'
/// ISA IRQs by device name while unbound.
#[test]
fn interrupt_users_follow_the_binding_and_msi() {
    use libsys::abi::MsiMessage;
    let mut s = q35();
    let users = s.irq_users();
    assert!(users.gsi.is_empty() && users.msi.is_empty(), "{users:?}");
    assert_eq!(
        users
            .isa
            .iter()
            .map(|(irq, n)| (*irq, n.as_str()))
            .collect::<Vec<_>>(),
        [
            (0, "i8253"),
            (1, "i8042"),
            (4, "serial8250"),
            (8, "rtc_cmos")
        ]
    );
    s.register_process_driver(devmgr::drivers::find("edu").unwrap())
        .unwrap();
    s.driver_started("edu", "0000:00:04.0", 77);
    assert_eq!(s.irq_users().gsi, [(20, String::from("edu"))]);
    let slot = Slot::parse("0000:00:04.0").unwrap();
    let (addr, cap) = s.msi_target(slot, 77).unwrap();
    let message = MsiMessage {
        vector: 0xc0,
        address: 0xfee0_0000,
        data: 0xc0,
    };
    s.msi_enable(addr, &cap, &message).unwrap();
    let users = s.irq_users();
    assert!(users.gsi.is_empty(), "{users:?}");
    assert_eq!(users.msi, [(0xc0, String::from("edu"))]);
    assert_eq!(
        ask(&mut s, CLIENT, Request::Interrupts),
        Reply::Error(DevError::NotRunning),
        "the binary answers it"
    );
}
