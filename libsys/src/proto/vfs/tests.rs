//! The protocol's encoding: the largest messages round-trip within an IPC
//! payload, errnos cross as themselves, an overlong path does not build.

use super::*;
use crate::rpc::{decode, encode};

fn long_path() -> Path {
    Path::from_slice(&[b'a'; PATH_MAX]).unwrap()
}

#[test]
fn the_largest_requests_round_trip() {
    let mut buffer = [0u8; crate::abi::ipc::PAYLOAD_MAX];
    let requests = [
        Request::Rename {
            olddirfd: AT_FDCWD,
            old: long_path(),
            newdirfd: 3,
            new: long_path(),
        },
        Request::Mount {
            source: long_path(),
            target: long_path(),
            fstype: "ext2".try_into().unwrap(),
            flags: u64::MAX,
        },
        Request::ChildAction {
            child: u64::MAX,
            action: FileAction::Open {
                fd: 2,
                path: long_path(),
                flags: 0o1101,
                mode: 0o644,
            },
        },
        Request::NewFiles {
            pid: 7,
            cred: Cred {
                uid: 1000,
                gid: 100,
                groups: heapless::Vec::from_slice(&[1; 16]).unwrap(),
            },
        },
        Request::Read { fd: 0, len: IO_MAX },
        Request::Sync,
    ];
    for request in requests {
        let n = encode(&request, &mut buffer).unwrap();
        assert_eq!(decode::<Request>(&buffer[..n]), Ok(request));
    }
}

#[test]
fn replies_round_trip_with_their_errno() {
    let mut buffer = [0u8; 256];
    let stat = Stat {
        ino: 2,
        mode: 0o40755,
        nlink: 3,
        size: -1,
        mtime: (i64::MIN, 999_999_999),
        ..Stat::default()
    };
    for reply in [
        Reply::Done,
        Reply::Fd(-1),
        Reply::Fds(3, 4),
        Reply::Count(u64::MAX),
        Reply::Stat(stat),
        Reply::Error(Errno::ENOENT),
        Reply::Error(Errno::ELOOP),
    ] {
        let n = encode(&reply, &mut buffer).unwrap();
        assert_eq!(decode::<Reply>(&buffer[..n]), Ok(reply));
    }
}

#[test]
fn an_overlong_path_is_enametoolong() {
    assert_eq!(path(&[b'x'; PATH_MAX + 1]), Err(Errno::ENAMETOOLONG));
    assert_eq!(path(b"/bin/sh").unwrap().as_slice(), b"/bin/sh");
}

#[test]
fn garbage_does_not_decode_as_a_request() {
    assert!(decode::<Request>(&[0xff, 0xff, 0xff]).is_err());
    assert!(decode::<Request>(&[]).is_err());
}
