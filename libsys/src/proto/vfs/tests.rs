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

#[test]
fn register_requests_round_trip() {
    let requests = [
        Request::Read { fd: 0, len: 1 },
        Request::Write {
            fd: i32::MAX,
            len: IO_MAX,
        },
        Request::Pread {
            fd: 3,
            len: 4096,
            offset: u64::MAX,
        },
        Request::Pwrite {
            fd: -1,
            len: u32::MAX,
            offset: 1 << 40,
        },
        Request::Close { fd: -100 },
        Request::Lseek {
            fd: 4,
            offset: -5,
            whence: 2,
        },
    ];
    for r in requests {
        let (regs, path) = RegRequest::of(&r).expect("a register request");
        assert!(path.is_empty() && !regs.has_path());
        assert_eq!(regs.request(path), Ok(r.clone()));
        let words = regs.to_words();
        // Words 4 and 5 are the grant's.
        assert_eq!(&words[4..], &[0, 0]);
        let mut lent = words;
        lent[4] = 0xdead_beef;
        lent[5] = 0x1000;
        assert_eq!(RegRequest::from_words(&lent), Some(regs));
    }
    // `Open` and `Stat` carry their path as the payload.
    for r in [
        Request::Open {
            dirfd: AT_FDCWD,
            path: path(b"/tmp/bench/f").unwrap(),
            flags: 0o2101,
            mode: 0o644,
        },
        Request::Stat {
            dirfd: 3,
            path: path(b"").unwrap(),
            flags: 0x1000,
        },
    ] {
        let (regs, bytes) = RegRequest::of(&r).expect("a register request");
        assert!(regs.has_path());
        assert_eq!(RegRequest::from_words(&regs.to_words()), Some(regs));
        assert_eq!(regs.request(bytes), Ok(r.clone()));
    }
    let open = RegRequest::Open {
        dirfd: AT_FDCWD,
        flags: 0,
        mode: 0,
    };
    assert_eq!(
        open.request(&[b'a'; PATH_MAX + 1]),
        Err(Errno::ENAMETOOLONG)
    );
    // A mode past 32 bits is nonsense.
    assert_eq!(RegRequest::from_words(&[7, 0, 1 << 32, 0, 0, 0]), None);
    // The rest go as postcard.
    assert_eq!(RegRequest::of(&Request::Fstat { fd: 1 }), None);
    assert_eq!(RegRequest::of(&Request::Sync), None);
}

#[test]
fn register_request_nonsense_is_refused() {
    for words in [
        [0, 0, 0, 0, 0, 0],
        [9, 0, 0, 0, 0, 0],
        [u64::MAX, 0, 0, 0, 0, 0],
        // A stray word 3, an offset where none belongs, a close with a length.
        [3, 1, 0, 9, 0, 0],
        [1, 1, 5, 0, 0, 0],
        [5, 1 << 32, 0, 0, 0, 0],
    ] {
        assert_eq!(RegRequest::from_words(&words), None, "{words:?}");
    }
}

#[test]
fn register_replies_round_trip() {
    for r in [
        Reply::Done,
        Reply::Fd(0),
        Reply::Fd(i32::MAX),
        Reply::Fds(3, 4),
        Reply::Count(0),
        Reply::Count(u64::MAX),
        Reply::Value(1 << 63),
        Reply::Error(Errno::EBADF),
        Reply::Error(Errno::EAGAIN),
    ] {
        let words = r.to_words().expect("a register reply");
        assert_eq!(Reply::from_words(&words), Some(r));
    }
    assert_eq!(Reply::Stat(Stat::default()).to_words(), None);
    assert_eq!(Reply::Statfs(Statfs::default()).to_words(), None);
    for words in [
        [6, 0, 0, 0, 0, 0],
        [1, 1 << 32, 0, 0, 0, 0],
        [1, u32::MAX as u64, 0, 0, 0, 0],
        [5, 0, 0, 0, 0, 0],
        [5, 100_000, 0, 0, 0, 0],
    ] {
        assert_eq!(Reply::from_words(&words), None, "{words:?}");
    }
}
