//! `devmgr` end to end, from a client process (run by `init` from the test
//! manifest, on QEMU's `q35` machine and — in the harness's `devices-pc`
//! case — on the default `pc` machine):
//!
//! - devmgr found the machine's PCI functions (told apart by the host
//!   bridge: q35's MCH 8086:29c0 with the ICH9 LPC, SATA and SMBus, or
//!   the i440FX 8086:1237 with PIIX3 ISA and IDE and PIIX4 ACPI; the
//!   standard VGA 1234:1111 on both) and the legacy platform devices;
//! - sysfs attributes read right, bad paths and writes get their errors;
//! - configuration space is closed to a client with no driver bound to the
//!   function, and open — its own function only, never a BAR — once the
//!   client's driver is bound;
//! - unbind and bind through sysfs, with the uevents in order;
//! - `WaitUevent` blocks a thread until an event comes (a `change`
//!   written to a device's `uevent` by the main thread);
//! - malformed bytes get `LABEL_BAD_REQUEST` and devmgr keeps serving.
//!
//! When every check passed it prints `devtest: all checks passed`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU8, Ordering};

use libsys::abi::ipc::FOREVER;
use libsys::format_text;
use libsys::ipc::{self, Message};
use libsys::proto::devmgr::{Bus, Client, ClientError, DevError, IdMatch, Slot};
use libsys::rpc::{LABEL_BAD_REQUEST, LABEL_REQUEST};
use userland::{want, Tally, Why};

libsys::entry!(main);

/// A PCI function a machine must have: slot, vendor, device, class.
type Expected = (&'static str, u16, u16, u32);

const Q35: &[Expected] = &[
    ("00:00.0", 0x8086, 0x29c0, 0x060000),
    ("00:01.0", 0x1234, 0x1111, 0x030000),
    ("00:1f.0", 0x8086, 0x2918, 0x060100),
    ("00:1f.2", 0x8086, 0x2922, 0x010601),
    ("00:1f.3", 0x8086, 0x2930, 0x0c0500),
];

const PC: &[Expected] = &[
    ("00:00.0", 0x8086, 0x1237, 0x060000),
    ("00:01.0", 0x8086, 0x7000, 0x060100),
    ("00:01.1", 0x8086, 0x7010, 0x010180),
    ("00:01.3", 0x8086, 0x7113, 0x068000),
    ("00:02.0", 0x1234, 0x1111, 0x030000),
];

/// What devtest expects of a machine.
struct Machine {
    /// The name of the check that the machine's functions are there.
    check: &'static str,
    expected: &'static [Expected],
    /// The function devtest's driver takes: one nothing else drives.
    target: Expected,
}

const Q35_MACHINE: Machine = Machine {
    check: "devtest: q35 machine: MCH 8086:29c0, ICH9 LPC 8086:2918, SATA 8086:2922, SMBus 8086:2930, VGA 1234:1111",
    expected: Q35,
    target: Q35[4],
};

const PC_MACHINE: Machine = Machine {
    check: "devtest: pc machine: i440FX 8086:1237, PIIX3 ISA 8086:7000 and IDE 8086:7010, PIIX4 ACPI 8086:7113, VGA 1234:1111",
    expected: PC,
    target: PC[3],
};

fn slot(text: &str) -> Slot {
    Slot::parse(text).unwrap_or(Slot {
        bus: 0xff,
        device: 0,
        function: 0,
    })
}

fn main(_args: &str) -> u64 {
    let mut t = Tally::new();
    let client = match Client::connect() {
        Ok(c) => c,
        Err(e) => {
            t.check("devtest: connect to devmgr", Err(format_args!("{e}")));
            return t.status();
        }
    };
    let machine = match client.pci_info(slot("00:00.0")).map(|i| i.device) {
        Ok(0x1237) => &PC_MACHINE,
        _ => &Q35_MACHINE,
    };
    t.record(machine.check, found(&client, machine.expected));
    t.record(
        "devtest: platform devices i8253, i8042, serial8250, rtc_cmos",
        platform(&client),
    );
    t.record(
        "devtest: sysfs attributes; bad paths and writes get errors",
        attributes(&client, machine.expected),
    );
    let (target, vendor, device, _) = machine.target;
    t.record(
        "devtest: configuration space closed to a client without a bound driver",
        closed(&client, slot(target)),
    );
    t.record(
        "devtest: a bound driver reads and writes its own function's space only",
        bound(&client, slot(target), vendor, device),
    );
    t.record(
        "devtest: unbind and bind through sysfs, uevents in order",
        rebind(&client, target),
    );
    t.record(
        "devtest: a thread waiting for a uevent gets the next one",
        waiting(&client),
    );
    t.record(
        "devtest: malformed bytes get an error reply; devmgr keeps serving",
        malformed(&client),
    );
    if t.failed == 0 {
        libsys::println!("devtest: all checks passed");
    }
    t.status()
}

fn dev<E: core::fmt::Display>(what: &str) -> impl FnOnce(E) -> Why + '_ {
    move |e| format_text!("{what}: {e}")
}

fn found(client: &Client, expected: &[Expected]) -> Result<(), Why> {
    for &(at, vendor, device, class) in expected {
        let info = client.pci_info(slot(at)).map_err(dev(at))?;
        want(
            at,
            (info.vendor, info.device, info.class),
            (vendor, device, class),
        )?;
    }
    let (names, total) = client.list_devices(Bus::Pci, 0).map_err(dev("list"))?;
    if (total as usize) < expected.len() || names.is_empty() {
        return Err(format_text!("only {total} PCI functions listed"));
    }
    Ok(())
}

fn platform(client: &Client) -> Result<(), Why> {
    let (names, _) = client.list_devices(Bus::Platform, 0).map_err(dev("list"))?;
    let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
    want(
        "platform devices",
        names,
        ["i8253", "i8042", "serial8250", "rtc_cmos"].to_vec(),
    )?;
    let irq = client.read("/sys/bus/platform/devices/serial8250/irq");
    want("serial8250 irq", irq.as_deref().map_err(|e| *e), Ok("4\n"))?;
    let io = client.read("/sys/devices/platform/serial8250/resource");
    want(
        "serial8250 resource",
        io.as_deref().map_err(|e| *e),
        Ok("0x00000000000003f8 0x00000000000003ff 0x0000000000000100\n"),
    )
}

fn attributes(client: &Client, expected: &[Expected]) -> Result<(), Why> {
    let (at, vendor, device, class) = expected[0];
    let dir = format!("/sys/bus/pci/devices/0000:{at}");
    let read = |attr: &str| -> Result<String, Why> {
        let path = format!("{dir}/{attr}");
        client
            .read(&path)
            .map(|t| String::from(t.as_str()))
            .map_err(dev(attr))
    };
    want("vendor", read("vendor")?, format!("0x{vendor:04x}\n"))?;
    want("device", read("device")?, format!("0x{device:04x}\n"))?;
    want("class", read("class")?, format!("0x{class:06x}\n"))?;
    let not_found = Err(ClientError::Dev(DevError::NotFound));
    let nonesuch = format!("{dir}/nonesuch");
    want(
        "a missing attribute",
        client.read(&nonesuch).map(|_| ()),
        not_found,
    )?;
    want(
        "outside /sys",
        client.read("/proc/cpuinfo").map(|_| ()),
        not_found,
    )?;
    want(
        "a missing device",
        client
            .read("/sys/bus/pci/devices/0000:00:1e.7/vendor")
            .map(|_| ()),
        not_found,
    )?;
    want(
        "a directory",
        client.read(&dir).map(|_| ()),
        Err(ClientError::Dev(DevError::IsDirectory)),
    )?;
    let vendor_path = format!("{dir}/vendor");
    want(
        "writing vendor",
        client.write(&vendor_path, b"0x1234"),
        Err(ClientError::Dev(DevError::ReadOnly)),
    )?;
    let long = "x".repeat(300);
    want(
        "an over-long path",
        client.read(&long).map(|_| ()),
        Err(ClientError::TooLong),
    )
}

fn closed(client: &Client, target: Slot) -> Result<(), Why> {
    let denied = Err(ClientError::Dev(DevError::NotAllowed));
    want("read unbound", client.config_read(target, 0), denied)?;
    want(
        "write unbound",
        client.config_write(target, 4, 0).map(|()| 0),
        denied,
    )?;
    want(
        "read the host bridge",
        client.config_read(slot("00:00.0"), 0),
        denied,
    )?;
    want(
        "an absent function",
        client.config_read(slot("00:1e.7"), 0),
        Err(ClientError::Dev(DevError::NoSuchDevice)),
    )
}

fn bound(client: &Client, target: Slot, vendor: u16, device: u16) -> Result<(), Why> {
    let ids = [IdMatch::Pci {
        vendor: vendor.into(),
        device: device.into(),
        class: 0,
        class_mask: 0,
    }];
    want(
        "register devtest",
        client.register_driver("devtest", Bus::Pci, &ids),
        Ok(1),
    )?;
    let id = u32::from(vendor) | u32::from(device) << 16;
    want("read own id", client.config_read(target, 0), Ok(id))?;
    let command = client.config_read(target, 4).map_err(dev("read command"))?;
    want(
        "write own command register back",
        client.config_write(target, 4, command & 0xffff),
        Ok(()),
    )?;
    let denied = Err(ClientError::Dev(DevError::NotAllowed));
    want(
        "write a BAR",
        client.config_write(target, 0x10, 0).map(|()| 0),
        denied,
    )?;
    want(
        "read another function",
        client.config_read(slot("00:00.0"), 0),
        denied,
    )?;
    want(
        "unaligned",
        client.config_read(target, 2),
        Err(ClientError::Dev(DevError::BadOffset)),
    )?;
    want(
        "past 256",
        client.config_read(target, 256),
        Err(ClientError::Dev(DevError::BadOffset)),
    )
}

fn rebind(client: &Client, target: &str) -> Result<(), Why> {
    client.subscribe().map_err(dev("subscribe"))?;
    let name = format!("0000:{target}");
    let drivers = "/sys/bus/pci/drivers/devtest";
    let unbind = format!("{drivers}/unbind");
    let bind = format!("{drivers}/bind");
    want("unbind", client.write(&unbind, name.as_bytes()), Ok(()))?;
    want(
        "config after unbind",
        client.config_read(slot(target), 0),
        Err(ClientError::Dev(DevError::NotAllowed)),
    )?;
    want(
        "unbind again",
        client.write(&unbind, name.as_bytes()),
        Err(ClientError::Dev(DevError::NotBound)),
    )?;
    want("bind", client.write(&bind, name.as_bytes()), Ok(()))?;
    want(
        "unregister",
        client.unregister_driver("devtest", Bus::Pci),
        Ok(()),
    )?;
    let mut events = Vec::new();
    while let (Some(event), dropped) = client.next_uevent().map_err(dev("next uevent"))? {
        want("dropped", dropped, 0)?;
        let (action, rest) = event.split_once('@').unwrap_or(("", ""));
        let devpath = rest.split('\0').next().unwrap_or("");
        events.push(format!("{action}@{devpath}"));
    }
    client.unsubscribe().map_err(dev("unsubscribe"))?;
    let device = format!("/devices/pci0000:00/0000:{target}");
    let got: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    let unbind_event = format!("unbind@{device}");
    let bind_event = format!("bind@{device}");
    want(
        "uevents",
        got,
        [
            unbind_event.as_str(),
            bind_event.as_str(),
            unbind_event.as_str(),
            "remove@/bus/pci/drivers/devtest",
        ]
        .to_vec(),
    )
}

/// What the waiting thread saw: 0 still waiting, 1 the expected event,
/// 2 anything else.
static WAITED: AtomicU8 = AtomicU8::new(0);

fn waiting(client: &Client) -> Result<(), Why> {
    client.subscribe().map_err(dev("subscribe"))?;
    let worker = libsys::thread::spawn(|| {
        let seen = Client::connect().ok().and_then(|c| c.wait_uevent().ok());
        let expected = "change@/devices/platform/rtc_cmos\0";
        let ok = seen.is_some_and(|(event, _)| event.starts_with(expected));
        WAITED.store(if ok { 1 } else { 2 }, Ordering::Release);
    })
    .map_err(dev("spawn"))?;
    libsys::time::sleep_ms(100);
    want(
        "still waiting before the event",
        WAITED.load(Ordering::Acquire),
        0,
    )?;
    let trigger = client.write("/sys/devices/platform/rtc_cmos/uevent", b"change\n");
    want("write change", trigger, Ok(()))?;
    worker.join().map_err(dev("join"))?;
    want("the waiter's event", WAITED.load(Ordering::Acquire), 1)?;
    client.unsubscribe().map_err(dev("unsubscribe"))
}

fn malformed(client: &Client) -> Result<(), Why> {
    let ep = client.endpoint();
    let cases: [(&str, u32, &[u8]); 4] = [
        ("garbage", LABEL_REQUEST, &[0xff; 9]),
        ("no such variant", LABEL_REQUEST, &[40]),
        ("no such bus", LABEL_REQUEST, &[0, 9, 0]),
        ("not a request", 77, &[7]),
    ];
    for (what, label, bytes) in cases {
        let length = ipc::write_payload(bytes).map_err(|e| format_text!("{e}"))?;
        let msg = Message::new(label).with_payload(length);
        match ep.call(&msg, FOREVER) {
            Ok(reply) if reply.label() == LABEL_BAD_REQUEST => {}
            other => return Err(format_text!("{what}: {other:?}")),
        }
    }
    want(
        "a good request after",
        client
            .read("/sys/bus/platform/devices/i8042/irq")
            .as_deref()
            .map_err(|e| *e),
        Ok("1\n"),
    )
}
