//! The device model: matching, probe order, failed probes, refcounts that
//! reach zero on remove, the uevent sequence of unbind and bind, and the
//! sysfs view — with a fake driver host and devices from the PCI fixtures.

mod common;

use common::{FakeConfig, Q35};
use devmgr::bind::{DriverHost, ProbeContext, ProbeOutcome};
use devmgr::ids::{DeviceIdent, DeviceMatch, VIRTIO_DEV_ANY_ID};
use devmgr::pci::enumerate::enumerate;
use devmgr::uevent::Action;
use devmgr::{
    BusType, Class, DeviceModel, DeviceSpec, ModelError, ObjectId, ProbeError, SysfsError,
};

/// Records probes and removes; fails the probes it is told to; makes
/// virtio-pci register a `virtio0` and virtio_blk a `vda`, as their Linux
/// namesakes do.
#[derive(Default)]
struct FakeHost {
    log: Vec<String>,
    fail: Vec<(String, String)>,
    virtio_index: u32,
    /// (virtio device, its disk).
    disks: Vec<(String, String)>,
}

impl DriverHost for FakeHost {
    fn probe(&mut self, ctx: &ProbeContext) -> Result<ProbeOutcome, ProbeError> {
        self.log
            .push(format!("probe {} {}", ctx.driver, ctx.device));
        if self
            .fail
            .iter()
            .any(|(d, n)| *d == ctx.driver && *n == ctx.device)
        {
            return Err(ProbeError::Failed(-5));
        }
        let mut out = ProbeOutcome::default();
        match ctx.driver.as_str() {
            "virtio-pci" => {
                let mut child = DeviceSpec::new(&format!("virtio{}", self.virtio_index));
                self.virtio_index += 1;
                child.bus = Some(BusType::Virtio);
                child.ident = DeviceIdent::Virtio {
                    device: 2,
                    vendor: 0x1af4,
                };
                out.children.push(child);
            }
            "virtio_blk" => {
                // Like virtio_blk's ida: the lowest free letter.
                let name = (b'a'..=b'z')
                    .map(|c| format!("vd{}", c as char))
                    .find(|n| !self.disks.iter().any(|(_, d)| d == n))
                    .ok_or(ProbeError::NoDevice)?;
                self.disks.push((ctx.device.clone(), name.clone()));
                let mut disk = DeviceSpec::new(&name);
                disk.class = Some(Class::Block);
                disk.devt = Some((253, 0));
                disk.devtype = Some("disk".into());
                out.children.push(disk);
            }
            _ => {}
        }
        Ok(out)
    }

    fn remove(&mut self, ctx: &ProbeContext) {
        self.log
            .push(format!("remove {} {}", ctx.driver, ctx.device));
        self.disks.retain(|(dev, _)| *dev != ctx.device);
    }
}

fn pci_spec(name: &str, vendor: u16, device: u16, class: u32) -> DeviceSpec {
    let mut s = DeviceSpec::new(name);
    s.bus = Some(BusType::Pci);
    s.ident = DeviceIdent::Pci(devmgr::PciIdent {
        vendor,
        device,
        subvendor: 0x1af4,
        subdevice: 0x1100,
        class,
        revision: 0,
    });
    s
}

/// The q35 fixtures' functions registered under a `pci0000:00` host.
fn q35_model(host: &mut FakeHost) -> (DeviceModel, ObjectId) {
    let mut model = DeviceModel::new();
    let root = model
        .device_add(DeviceSpec::new("pci0000:00"), host)
        .unwrap();
    let mut fake = FakeConfig::new(Q35);
    for f in enumerate(&mut fake, 0) {
        model.device_add(f.device_spec(Some(root)), host).unwrap();
    }
    (model, root)
}

fn virtio_drivers(model: &mut DeviceModel, host: &mut FakeHost) {
    let virtio_pci = vec![DeviceMatch::Pci {
        vendor: 0x1af4,
        device: devmgr::ids::PCI_ANY_ID,
        subvendor: devmgr::ids::PCI_ANY_ID,
        subdevice: devmgr::ids::PCI_ANY_ID,
        class: 0,
        class_mask: 0,
    }];
    model
        .driver_register("virtio-pci", BusType::Pci, virtio_pci, host)
        .unwrap();
    let blk = vec![DeviceMatch::Virtio {
        device: 2,
        vendor: VIRTIO_DEV_ANY_ID,
    }];
    model
        .driver_register("virtio_blk", BusType::Virtio, blk, host)
        .unwrap();
}

#[test]
fn late_driver_probes_devices_in_order() {
    let mut host = FakeHost::default();
    let (mut model, _) = q35_model(&mut host);
    assert!(host.log.is_empty(), "no drivers yet");
    virtio_drivers(&mut model, &mut host);
    assert_eq!(
        host.log,
        [
            "probe virtio-pci 0000:00:02.0",
            "probe virtio-pci 0000:00:03.0",
            "probe virtio_blk virtio0",
            "probe virtio_blk virtio1",
        ]
    );
    let blk = model.find_bus_device(BusType::Pci, "0000:00:02.0").unwrap();
    assert_eq!(model.driver_name(blk), Some("virtio-pci"));
    let edu = model.find_bus_device(BusType::Pci, "0000:00:04.0").unwrap();
    assert_eq!(model.driver_name(edu), None);
}

#[test]
fn first_matching_driver_wins_and_failed_probe_falls_through() {
    let mut host = FakeHost::default();
    let mut model = DeviceModel::new();
    let storage = vec![DeviceMatch::pci_class(0x010000, 0xFF0000)];
    model
        .driver_register("storage-a", BusType::Pci, storage.clone(), &mut host)
        .unwrap();
    model
        .driver_register("storage-b", BusType::Pci, storage, &mut host)
        .unwrap();
    model
        .driver_register(
            "edu",
            BusType::Pci,
            vec![DeviceMatch::pci_device(0x1234, 0x11e8)],
            &mut host,
        )
        .unwrap();
    host.fail.push(("storage-a".into(), "0000:00:03.0".into()));
    host.fail.push(("edu".into(), "0000:00:04.0".into()));
    let blk = model
        .device_add(
            pci_spec("0000:00:02.0", 0x1af4, 0x1001, 0x010000),
            &mut host,
        )
        .unwrap();
    let blk2 = model
        .device_add(
            pci_spec("0000:00:03.0", 0x1af4, 0x1042, 0x010000),
            &mut host,
        )
        .unwrap();
    let edu = model
        .device_add(
            pci_spec("0000:00:04.0", 0x1234, 0x11e8, 0x00ff00),
            &mut host,
        )
        .unwrap();
    assert_eq!(model.driver_name(blk), Some("storage-a"));
    assert_eq!(
        model.driver_name(blk2),
        Some("storage-b"),
        "a's probe failed"
    );
    assert_eq!(
        model.driver_name(edu),
        None,
        "a failed probe leaves it unbound"
    );
    assert_eq!(model.refcount(edu), Some(1));
    // Binding by hand fails the same way, with the probe's error.
    let drv = model.find_driver(BusType::Pci, "edu").unwrap();
    assert_eq!(
        model.bind(drv, edu, &mut host),
        Err(ModelError::ProbeFailed(ProbeError::Failed(-5)))
    );
    host.fail.clear();
    model.bind(drv, edu, &mut host).unwrap();
    assert_eq!(model.driver_name(edu), Some("edu"));
    assert_eq!(
        model.bind(drv, edu, &mut host),
        Err(ModelError::AlreadyBound)
    );
    assert_eq!(
        model.bind(drv, blk, &mut host),
        Err(ModelError::AlreadyBound)
    );
    model.unbind(blk, &mut host).unwrap();
    assert_eq!(model.bind(drv, blk, &mut host), Err(ModelError::NoMatch));
}

#[test]
fn refcounts_reach_zero_on_remove() {
    let mut host = FakeHost::default();
    let (mut model, root) = q35_model(&mut host);
    let baseline = model.live_objects();
    virtio_drivers(&mut model, &mut host);
    let blk = model.find_bus_device(BusType::Pci, "0000:00:02.0").unwrap();
    let virtio0 = model.find_bus_device(BusType::Virtio, "virtio0").unwrap();
    let vda = model.find_class_device(Class::Block, "vda").unwrap();
    // Registration + bound driver + the child virtio0's reference.
    assert_eq!(model.refcount(blk), Some(3));
    assert_eq!(model.refcount(vda), Some(1));
    // Someone holds vda open across the removal.
    model.get_device(vda).unwrap();
    model.device_del(blk, &mut host).unwrap();
    assert!(model
        .find_bus_device(BusType::Pci, "0000:00:02.0")
        .is_none());
    assert!(model.is_live(vda) && model.is_live(virtio0) && model.is_live(blk));
    assert_eq!(model.refcount(blk), Some(1), "held through virtio0 <- vda");
    // The last put frees vda, then virtio0, then the PCI device.
    let freed = model.put_device(vda).unwrap();
    assert_eq!(freed, ["vda", "virtio0", "0000:00:02.0"]);
    assert!(!model.is_live(blk));
    assert_eq!(model.put_device(vda), Err(ModelError::NoSuchDevice));
    // Unregistering the drivers and the rest brings the table back to
    // the roots and buses.
    let d = model.find_driver(BusType::Virtio, "virtio_blk").unwrap();
    model.driver_unregister(d, &mut host).unwrap();
    let d = model.find_driver(BusType::Pci, "virtio-pci").unwrap();
    model.driver_unregister(d, &mut host).unwrap();
    assert!(
        model.find_bus_device(BusType::Virtio, "virtio1").is_none(),
        "unbind removed it"
    );
    model.device_del(root, &mut host).unwrap();
    assert_eq!(model.live_objects(), baseline - 11);
    assert_eq!(
        model.live_objects(),
        5,
        "devices, bus, pci, platform, virtio"
    );
}

#[test]
fn unbind_then_bind_emits_remove_unbind_add_bind() {
    let mut host = FakeHost::default();
    let (mut model, _) = q35_model(&mut host);
    virtio_drivers(&mut model, &mut host);
    let sub = model.subscribe(16).unwrap();
    let unbind = "/sys/bus/virtio/drivers/virtio_blk/unbind";
    model.sysfs_write(unbind, b"virtio0\n", &mut host).unwrap();
    model
        .sysfs_write(
            "/sys/bus/virtio/drivers/virtio_blk/bind",
            b"virtio0",
            &mut host,
        )
        .unwrap();
    let mut events = Vec::new();
    while let Some(e) = model.recv_uevent(sub).unwrap() {
        events.push(e);
    }
    let seen: Vec<(Action, &str)> = events
        .iter()
        .map(|e| (e.action, e.devpath.as_str()))
        .collect();
    let virtio0 = "/devices/pci0000:00/0000:00:02.0/virtio0";
    let vda = "/devices/pci0000:00/0000:00:02.0/virtio0/vda";
    assert_eq!(
        seen,
        [
            (Action::Remove, vda),
            (Action::Unbind, virtio0),
            (Action::Add, vda),
            (Action::Bind, virtio0)
        ]
    );
    let seqs: Vec<u64> = events.iter().map(|e| e.seqnum).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert_eq!(events[1].var("DRIVER"), None, "unbind: driver already gone");
    assert_eq!(events[3].var("DRIVER"), Some("virtio_blk"));
    assert_eq!(events[3].var("MODALIAS"), Some("virtio:d00000002v00001AF4"));
    assert_eq!(events[2].var("SUBSYSTEM"), Some("block"));
    assert_eq!(events[2].var("DEVNAME"), Some("vda"));
    assert_eq!(events[2].env.last().unwrap().0, "SEQNUM");
    assert_eq!(host.log.last().unwrap(), "probe virtio_blk virtio0");
}

#[test]
fn pci_add_uevent_environment() {
    let mut host = FakeHost::default();
    let mut model = DeviceModel::new();
    let sub = model.subscribe(4).unwrap();
    let root = model
        .device_add(DeviceSpec::new("pci0000:00"), &mut host)
        .unwrap();
    let mut fake = FakeConfig::new(Q35);
    let blk = enumerate(&mut fake, 0)
        .into_iter()
        .find(|f| f.header.device_id == 0x1001)
        .unwrap();
    model
        .device_add(blk.device_spec(Some(root)), &mut host)
        .unwrap();
    let e = model.recv_uevent(sub).unwrap().unwrap();
    let env: Vec<String> = e.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(
        env,
        [
            "ACTION=add",
            "DEVPATH=/devices/pci0000:00/0000:00:02.0",
            "SUBSYSTEM=pci",
            "PCI_CLASS=10000",
            "PCI_ID=1AF4:1001",
            "PCI_SUBSYS_ID=1AF4:0002",
            "PCI_SLOT_NAME=0000:00:02.0",
            "MODALIAS=pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00",
            "SEQNUM=1",
        ],
        "the host bridge (no subsystem) sent nothing"
    );
}

#[test]
fn sysfs_reads_lists_and_errors() {
    let mut host = FakeHost::default();
    let (mut model, _) = q35_model(&mut host);
    virtio_drivers(&mut model, &mut host);
    let dev = "/sys/bus/pci/devices/0000:00:02.0";
    let read = |m: &DeviceModel, p: &str| m.sysfs_read(p);
    assert_eq!(read(&model, &format!("{dev}/vendor")).unwrap(), "0x1af4\n");
    assert_eq!(read(&model, &format!("{dev}/device")).unwrap(), "0x1001\n");
    assert_eq!(read(&model, &format!("{dev}/class")).unwrap(), "0x010000\n");
    assert_eq!(read(&model, &format!("{dev}/irq")).unwrap(), "10\n");
    assert_eq!(
        read(&model, &format!("{dev}/driver")).unwrap(),
        "virtio-pci\n"
    );
    assert_eq!(
        read(&model, &format!("{dev}/resource")).unwrap(),
        "0x000000000000c000 0x000000000000c07f 0x0000000000000100\n\
         0x00000000febd5000 0x00000000febd5fff 0x0000000000000200\n\
         0x00000000fe000000 0x00000000fe003fff 0x0000000000102200\n"
    );
    assert!(read(&model, &format!("{dev}/uevent"))
        .unwrap()
        .contains("DRIVER=virtio-pci\nPCI_CLASS=10000\n"));
    assert_eq!(read(&model, "/sys/block/vda/dev").unwrap(), "253:0\n");
    assert_eq!(
        read(
            &model,
            "/sys/devices/pci0000:00/0000:00:02.0/virtio0/vda/subsystem"
        )
        .unwrap(),
        "block\n"
    );
    assert_eq!(
        model.sysfs_list("/sys").unwrap(),
        ["block", "bus", "class", "devices"]
    );
    assert_eq!(
        model.sysfs_list("/sys/bus/pci/drivers").unwrap(),
        ["virtio-pci"]
    );
    assert_eq!(
        model.sysfs_list("/sys/bus/pci/drivers/virtio-pci").unwrap(),
        ["bind", "unbind", "uevent", "0000:00:02.0", "0000:00:03.0"]
    );
    assert_eq!(
        model.sysfs_list("/sys/class/block").unwrap(),
        ["vda", "vdb"]
    );
    assert_eq!(
        model.sysfs_list("/sys/class/tty").unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        model.sysfs_list("/sys/bus/virtio/devices").unwrap(),
        ["virtio0", "virtio1"]
    );
    assert_eq!(model.sysfs_list("/sys/devices").unwrap(), ["pci0000:00"]);
    let listing = model.sysfs_list(dev).unwrap();
    assert!(listing.contains(&"vendor".to_string()) && listing.contains(&"virtio0".to_string()));
    assert_eq!(
        read(
            &model,
            "/sys/bus/pci/drivers/virtio-pci/0000:00:02.0/vendor"
        )
        .unwrap(),
        "0x1af4\n"
    );
    // Errors.
    assert_eq!(
        read(&model, "/sys/bus/pci/devices/0000:00:09.0/vendor"),
        Err(SysfsError::NotFound)
    );
    assert_eq!(read(&model, dev), Err(SysfsError::IsDirectory));
    assert_eq!(
        read(&model, "/sys/bus/pci/drivers/virtio-pci/bind"),
        Err(SysfsError::WriteOnly)
    );
    assert_eq!(
        model.sysfs_list(&format!("{dev}/vendor")),
        Err(SysfsError::NotDirectory)
    );
    assert_eq!(read(&model, "/proc/x"), Err(SysfsError::NotFound));
    assert_eq!(
        read(&model, &"/sys/".repeat(200)),
        Err(SysfsError::PathTooLong)
    );
    let vendor = format!("{dev}/vendor");
    assert_eq!(
        model.sysfs_write(&vendor, b"0x1234", &mut host),
        Err(SysfsError::ReadOnly)
    );
    let bind = "/sys/bus/pci/drivers/virtio-pci/bind";
    assert_eq!(
        model.sysfs_write(bind, &[0xff, 0xfe], &mut host),
        Err(SysfsError::InvalidValue)
    );
    assert_eq!(
        model.sysfs_write(bind, b"0000:00:04.0", &mut host),
        Err(SysfsError::Model(ModelError::NoMatch))
    );
    assert_eq!(
        model.sysfs_write(bind, b"nonesuch", &mut host),
        Err(SysfsError::Model(ModelError::NoSuchDevice))
    );
    assert_eq!(
        model.sysfs_write(
            "/sys/bus/pci/drivers/virtio-pci/unbind",
            b"0000:00:04.0",
            &mut host
        ),
        Err(SysfsError::Model(ModelError::NotBound))
    );
    // A coldplug trigger re-sends add.
    let sub = model.subscribe(2).unwrap();
    model
        .sysfs_write(&format!("{dev}/uevent"), b"add\n", &mut host)
        .unwrap();
    assert_eq!(model.recv_uevent(sub).unwrap().unwrap().action, Action::Add);
    assert_eq!(
        model.sysfs_write(&format!("{dev}/uevent"), b"bogus", &mut host),
        Err(SysfsError::InvalidValue)
    );
}

#[test]
fn probe_whose_child_cannot_register_leaves_the_device_unbound() {
    let mut host = FakeHost::default();
    let (mut model, _) = q35_model(&mut host);
    // A disk called vda exists already, made by someone else.
    let mut squatter = DeviceSpec::new("vda");
    squatter.class = Some(Class::Block);
    model.device_add(squatter, &mut host).unwrap();
    host.disks.push(("elsewhere".into(), "vdb".into()));
    let sub = model.subscribe(32).unwrap();
    // virtio_blk picks "vda" for virtio0 (the fake only knows its own
    // disks): the child's registration fails.
    virtio_drivers(&mut model, &mut host);
    let virtio0 = model.find_bus_device(BusType::Virtio, "virtio0").unwrap();
    assert_eq!(model.driver_name(virtio0), None);
    assert_eq!(model.refcount(virtio0), Some(1));
    assert!(host.log.contains(&"remove virtio_blk virtio0".to_string()));
    let mut actions = Vec::new();
    while let Some(e) = model.recv_uevent(sub).unwrap() {
        if e.devpath.ends_with("virtio0") {
            actions.push(e.action);
        }
    }
    assert_eq!(
        actions,
        [Action::Add],
        "no bind, no unbind for the failed probe"
    );
}

#[test]
fn bad_registrations_are_refused() {
    let mut host = FakeHost::default();
    let mut model = DeviceModel::new();
    for bad in ["", "a/b", "..", "has space", &"x".repeat(65)] {
        assert_eq!(
            model.device_add(DeviceSpec::new(bad), &mut host),
            Err(ModelError::InvalidName)
        );
    }
    let a = model
        .device_add(pci_spec("0000:00:02.0", 1, 2, 3), &mut host)
        .unwrap();
    assert_eq!(
        model.device_add(pci_spec("0000:00:02.0", 1, 2, 3), &mut host),
        Err(ModelError::NameExists)
    );
    // Depth is bounded.
    let mut parent = a;
    let mut depth_error = None;
    for i in 0..40 {
        let mut s = DeviceSpec::new(&format!("d{i}"));
        s.parent = Some(parent);
        match model.device_add(s, &mut host) {
            Ok(id) => parent = id,
            Err(e) => {
                depth_error = Some(e);
                break;
            }
        }
    }
    assert_eq!(depth_error, Some(ModelError::TooDeep));
    let table = vec![DeviceMatch::pci_device(1, 2); 65];
    assert_eq!(
        model.driver_register("big", BusType::Pci, table, &mut host),
        Err(ModelError::TableTooLarge)
    );
    model
        .driver_register(
            "p",
            BusType::Platform,
            vec![DeviceMatch::Platform("serial8250".into())],
            &mut host,
        )
        .unwrap();
    assert_eq!(
        model.driver_register("p", BusType::Platform, vec![], &mut host),
        Err(ModelError::NameExists)
    );
    let mut uart = DeviceSpec::new("serial8250");
    uart.bus = Some(BusType::Platform);
    uart.ident = DeviceIdent::Platform;
    uart.irq = Some(4);
    let u = model.device_add(uart, &mut host).unwrap();
    assert_eq!(model.driver_name(u), Some("p"));
    assert_eq!(
        model
            .sysfs_read("/sys/bus/platform/devices/serial8250/modalias")
            .unwrap(),
        "platform:serial8250\n"
    );
    model.device_del(u, &mut host).unwrap();
    assert_eq!(
        model.device_del(u, &mut host),
        Err(ModelError::NoSuchDevice)
    );
}
