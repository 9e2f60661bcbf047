//! The protocol's encoding: every message round-trips within its bound
//! and an IPC payload; garbage, truncated and oversized requests do not
//! decode; slot names print and parse as Linux's.

use super::*;
use crate::rpc::{decode, encode};

fn s<const N: usize>(text: &str) -> heapless::String<N> {
    text.try_into().unwrap()
}

fn slot() -> Slot {
    Slot {
        bus: 0xff,
        device: 31,
        function: 7,
    }
}

fn every_request() -> Vec<Request> {
    let mut ids = heapless::Vec::new();
    for _ in 0..IDS_MAX - 1 {
        ids.push(IdMatch::Platform(s(&"p".repeat(NAME_MAX))))
            .unwrap();
    }
    ids.push(IdMatch::Pci {
        vendor: u32::MAX,
        device: u32::MAX,
        class: u32::MAX,
        class_mask: u32::MAX,
    })
    .unwrap();
    vec![
        Request::ListDevices {
            bus: Bus::Virtio,
            start: u32::MAX,
        },
        Request::PciInfo { slot: slot() },
        Request::Read {
            path: s(&"/".repeat(PATH_MAX)),
        },
        Request::List {
            path: s("/sys/bus"),
            start: u32::MAX,
        },
        Request::Write {
            path: s("/sys/bus/pci/drivers/x/bind"),
            value: heapless::Vec::from_slice(&[0xff; WRITE_MAX]).unwrap(),
        },
        Request::RegisterDriver {
            name: s(&"d".repeat(NAME_MAX)),
            bus: Bus::Platform,
            ids,
        },
        Request::UnregisterDriver {
            name: s("d"),
            bus: Bus::Pci,
        },
        Request::Subscribe,
        Request::NextUevent,
        Request::Unsubscribe,
        Request::ConfigRead {
            slot: slot(),
            offset: u16::MAX,
        },
        Request::ConfigWrite {
            slot: slot(),
            offset: u16::MAX,
            value: u32::MAX,
        },
        Request::WaitUevent,
        Request::Open {
            device: s(&"d".repeat(NAME_MAX)),
        },
        Request::AddClassDevice(ClassDevice {
            class: DevClass::Block,
            name: s(&"v".repeat(NAME_MAX)),
            devt: (u32::MAX, u32::MAX),
            devtype: Some(s(&"t".repeat(DEVTYPE_MAX))),
            parent: Some(s(&"p".repeat(NAME_MAX))),
            mode: Some(u16::MAX),
        }),
        Request::RemoveClassDevice {
            class: DevClass::Input,
            name: s(&"v".repeat(NAME_MAX)),
        },
    ]
}

fn every_reply() -> Vec<Reply> {
    let names = (0..LIST_MAX).map(|_| s(&"n".repeat(NAME_MAX))).collect();
    let bars = (0..6)
        .map(|i| BarInfo {
            index: i,
            io: false,
            start: u64::MAX,
            size: u64::MAX,
            prefetchable: true,
            is_64bit: true,
        })
        .collect();
    let info = PciInfo {
        slot: slot(),
        vendor: u16::MAX,
        device: u16::MAX,
        subvendor: u16::MAX,
        subdevice: u16::MAX,
        class: u32::MAX,
        revision: 0xff,
        header_type: 0xff,
        interrupt_pin: 0xff,
        interrupt_line: 0xff,
        bars,
        capabilities: (0..CAPS_MAX).map(|_| (0xff, 0xff)).collect(),
        msi_vectors: Some(32),
        msix_entries: Some(2048),
        driver: Some(s(&"d".repeat(NAME_MAX))),
    };
    vec![
        Reply::Done,
        Reply::Names {
            names,
            total: u32::MAX,
        },
        Reply::Pci(info),
        Reply::Text(s(&"\u{7f}".repeat(TEXT_MAX))),
        Reply::Bound(u32::MAX),
        Reply::Uevent {
            event: Some(s(&"e".repeat(TEXT_MAX))),
            dropped: u64::MAX,
        },
        Reply::Uevent {
            event: None,
            dropped: 0,
        },
        Reply::Config(u32::MAX),
        Reply::Error(DevError::NotSubscribed),
        Reply::Error(DevError::NotRunning),
        Reply::Opened,
    ]
}

#[test]
fn every_message_round_trips_within_its_bound() {
    let mut buffer = [0u8; crate::abi::ipc::PAYLOAD_MAX];
    for request in every_request() {
        let n = encode(&request, &mut buffer).unwrap();
        assert!(n <= Request::POSTCARD_MAX_SIZE);
        assert_eq!(decode::<Request>(&buffer[..n]), Ok(request));
    }
    for reply in every_reply() {
        let n = encode(&reply, &mut buffer).unwrap();
        assert!(n <= Reply::POSTCARD_MAX_SIZE);
        assert_eq!(decode::<Reply>(&buffer[..n]), Ok(reply));
    }
    assert!(Reply::POSTCARD_MAX_SIZE <= crate::abi::ipc::PAYLOAD_MAX);
    assert!(Request::POSTCARD_MAX_SIZE <= crate::abi::ipc::PAYLOAD_MAX);
}

#[test]
fn garbage_truncated_and_oversized_requests_are_errors() {
    assert!(decode::<Request>(&[]).is_err());
    assert!(decode::<Request>(&[13]).is_err(), "no such variant");
    assert!(decode::<Request>(&[0, 3, 0]).is_err(), "no such bus");
    let mut buffer = [0u8; 512];
    let n = encode(
        &Request::Read {
            path: s("/sys/bus/pci"),
        },
        &mut buffer,
    )
    .unwrap();
    for cut in 0..n {
        assert!(decode::<Request>(&buffer[..cut]).is_err(), "cut at {cut}");
    }
    // A path claiming PATH_MAX + 1 bytes.
    let mut long = vec![2u8, 0x81, 0x02];
    long.extend(vec![b'a'; PATH_MAX + 1]);
    assert!(decode::<Request>(&long).is_err());
    // Not UTF-8.
    assert!(decode::<Request>(&[2, 1, 0xff]).is_err());
}

#[test]
fn slots_print_and_parse_like_linux() {
    let slot = Slot {
        bus: 0,
        device: 0x1f,
        function: 3,
    };
    assert_eq!(format!("{slot}"), "0000:00:1f.3");
    assert_eq!(Slot::parse("0000:00:1f.3"), Some(slot));
    assert_eq!(Slot::parse("00:1f.3"), Some(slot));
    for bad in [
        "", "00:20.0", "00:1f.8", "0:1f.3", "00:1f", "zz:00.0", "00:1f.3x",
    ] {
        assert_eq!(Slot::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn bars_lists_parse_and_bad_ones_are_refused() {
    assert_eq!(parse_bars("0").unwrap().as_slice(), &[0]);
    assert_eq!(parse_bars("0,1,4").unwrap().as_slice(), &[0, 1, 4]);
    assert_eq!(parse_bars("").unwrap().as_slice(), &[] as &[u8]);
    assert!(parse_bars("6").is_none(), "past BAR 5");
    assert!(parse_bars("1,1").is_none(), "twice");
    assert!(parse_bars("1,x").is_none());
    assert!(parse_bars("1,").is_none());
}
