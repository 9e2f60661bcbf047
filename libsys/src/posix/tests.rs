//! Host tests of the pure parts: dirent records, wait statuses, termios
//! bytes, the write loop, mode strings, signal names.

use super::*;
use alloc::vec::Vec;

#[test]
fn dirents_round_trip() {
    let mut buf = Vec::new();
    push_dirent(&mut buf, 2, 1, DT_DIR, b".");
    push_dirent(&mut buf, 7, 2, DT_REG, b"hello.txt");
    assert_eq!(buf.len() % 8, 0);
    let got: Vec<_> = Dirents::new(&buf).collect::<Result<_, _>>().unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].name, b".");
    assert_eq!((got[0].ino, got[0].kind), (2, DT_DIR));
    assert_eq!(got[1].name, b"hello.txt");
    assert_eq!((got[1].ino, got[1].off, got[1].kind), (7, 2, DT_REG));
}

#[test]
fn malformed_dirents_are_eio() {
    let mut buf = Vec::new();
    push_dirent(&mut buf, 3, 1, DT_REG, b"abc");
    // reclen past the end.
    let mut long = buf.clone();
    long[16] = 200;
    assert_eq!(Dirents::new(&long).next(), Some(Err(Errno::EIO)));
    // reclen too short to hold a name.
    let mut short = buf.clone();
    short[16] = 4;
    short[17] = 0;
    assert_eq!(Dirents::new(&short).next(), Some(Err(Errno::EIO)));
    // a truncated header.
    assert_eq!(Dirents::new(&buf[..10]).next(), Some(Err(Errno::EIO)));
    // a name without its NUL.
    let mut no_nul = Vec::new();
    no_nul.extend_from_slice(&[0u8; 16]);
    no_nul.extend_from_slice(&24u16.to_le_bytes());
    no_nul.push(DT_REG);
    no_nul.extend_from_slice(b"abcde");
    assert_eq!(Dirents::new(&no_nul).next(), Some(Err(Errno::EIO)));
    // after an error the walk ends.
    let mut it = Dirents::new(&long);
    it.next();
    assert_eq!(it.next(), None);
}

#[test]
fn wait_status_matches_linux_encoding() {
    assert_eq!(WaitStatus::decode(0), WaitStatus::Exited(0));
    assert_eq!(WaitStatus::decode(3 << 8), WaitStatus::Exited(3));
    assert_eq!(WaitStatus::decode(9), WaitStatus::Signaled(9));
    assert_eq!(WaitStatus::decode(20 << 8 | 0x7f), WaitStatus::Stopped(20));
    assert_eq!(WaitStatus::decode(0xffff), WaitStatus::Continued);
    for s in [
        WaitStatus::Exited(0),
        WaitStatus::Exited(255),
        WaitStatus::Signaled(2),
        WaitStatus::Stopped(19),
        WaitStatus::Continued,
    ] {
        assert_eq!(WaitStatus::decode(s.encode()), s);
    }
}

#[test]
fn termios_bytes_round_trip_and_raw_mode() {
    let mut t = Termios {
        iflag: ICRNL | 0x10000,
        oflag: 5,
        cflag: 0xbf,
        lflag: ICANON | ECHO | ISIG | 0x8000,
        line: 0,
        cc: [0; crate::proto::tty::NCCS],
    };
    t.cc[VMIN] = 0;
    t.cc[0] = 3;
    let bytes = termios_to_bytes(&t);
    assert_eq!(bytes.len(), 36);
    assert_eq!(&bytes[12..16], &t.lflag.to_le_bytes());
    assert_eq!(bytes[17], 3);
    assert_eq!(termios_from_bytes(&bytes), t);
    let raw = make_raw(&t);
    assert_eq!(raw.lflag, 0x8000);
    assert_eq!(raw.iflag, 0x10000);
    assert_eq!(raw.cc[VMIN], 1);
    assert_eq!(raw.cc[0], 3);
}

#[test]
fn write_loop_splits_into_windows() {
    let data: Vec<u8> = (0..10u8).collect();
    let mut calls = Vec::new();
    let n = write_all_with(&data, 4, |chunk| {
        calls.push(chunk.to_vec());
        Ok(chunk.len())
    })
    .unwrap();
    assert_eq!(n, 10);
    assert_eq!(calls, [vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]);
}

#[test]
fn write_loop_stops_at_short_write_and_reports_progress() {
    let data = [0u8; 10];
    let mut calls = 0;
    let n = write_all_with(&data, 4, |chunk| {
        calls += 1;
        Ok(if calls == 2 { 1 } else { chunk.len() })
    });
    assert_eq!(n, Ok(5));
    // An error before any progress is the error; after it, the count.
    assert_eq!(
        write_all_with(&data, 4, |_| Err(Errno::EPIPE)),
        Err(Errno::EPIPE)
    );
    let mut first = true;
    let n = write_all_with(&data, 4, |c| {
        if core::mem::take(&mut first) {
            Ok(c.len())
        } else {
            Err(Errno::EPIPE)
        }
    });
    assert_eq!(n, Ok(4));
    // A zero-length write ends the loop instead of spinning.
    assert_eq!(write_all_with(&data, 4, |_| Ok(0)), Ok(0));
    assert_eq!(write_all_with(&[], 4, |_| Err(Errno::EIO)), Ok(0));
}

#[test]
fn mode_strings() {
    assert_eq!(&mode_string(S_IFDIR | 0o755), b"drwxr-xr-x");
    assert_eq!(&mode_string(S_IFREG | 0o644), b"-rw-r--r--");
    assert_eq!(&mode_string(S_IFCHR | 0o620), b"crw--w----");
}

#[test]
fn device_numbers() {
    assert_eq!(makedev(1, 3), 0x103);
    assert_eq!(makedev(254, 0), 0xfe00);
    let d = makedev(300, 70_000);
    assert_eq!(d, 0x1111_2c70);
    assert_eq!((major(d), minor(d)), (300, 70_000));
    assert_eq!((major(0x440), minor(0x440)), (4, 64));
}

#[test]
fn signal_names() {
    assert_eq!(signal_number("9"), Some(SIGKILL));
    assert_eq!(signal_number("TERM"), Some(SIGTERM));
    assert_eq!(signal_number("SIGINT"), Some(SIGINT));
    assert_eq!(signal_number("0"), None);
    assert_eq!(signal_number("65"), None);
    assert_eq!(signal_number("BOGUS"), None);
}
