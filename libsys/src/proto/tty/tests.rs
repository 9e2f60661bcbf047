//! The protocol's encoding round-trips.

use super::*;
use crate::rpc::{decode, encode};

#[test]
fn every_message_round_trips() {
    let mut buffer = [0u8; 128];
    let termios = Termios {
        iflag: 0o2406,
        oflag: 5,
        cflag: 0o277,
        lflag: 0o105073,
        line: 0,
        cc: [0x7f; NCCS],
    };
    for request in [
        Request::Read {
            line: CONSOLE,
            len: IO_MAX,
            pid: u64::MAX,
            nonblock: true,
        },
        Request::Write {
            line: 255,
            len: 1,
            pid: 1,
        },
        Request::SetAttr {
            line: 0,
            pid: u64::MAX,
            action: 2,
            termios,
        },
        Request::SetPgrp {
            line: 0,
            pid: u64::MAX,
            pgrp: u32::MAX,
        },
        Request::Input {
            line: 0,
            len: INPUT_MAX as u8,
            bytes: [0xff; INPUT_MAX],
        },
        Request::SetWinsize {
            line: 0,
            pid: u64::MAX,
            winsize: Winsize {
                rows: 25,
                cols: 80,
                xpixel: 0,
                ypixel: 0,
            },
        },
        Request::Poll { line: 0 },
        Request::EchoProbe { line: 0 },
    ] {
        let n = encode(&request, &mut buffer).unwrap();
        assert_eq!(decode::<Request>(&buffer[..n]), Ok(request));
    }
    for reply in [
        Reply::Probe {
            irq_ticks: u64::MAX,
            echo_ticks: 1,
        },
        Reply::Termios(termios),
        Reply::Count(3),
        Reply::Error(Errno::EINTR),
        Reply::Ready {
            readable: true,
            writable: false,
        },
    ] {
        let n = encode(&reply, &mut buffer).unwrap();
        assert_eq!(decode::<Reply>(&buffer[..n]), Ok(reply));
    }
}
