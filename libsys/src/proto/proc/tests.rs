//! The protocol's encoding, and the argument block's packing.

use super::*;
use crate::rpc::{decode, encode};

#[test]
fn the_largest_messages_round_trip() {
    let mut buffer = [0u8; crate::abi::ipc::PAYLOAD_MAX];
    let path = Path::from_slice(&[b'p'; PATH_MAX]).unwrap();
    for request in [
        Request::Spawn {
            path,
            argc: u32::MAX,
            envc: 0,
            pgroup: Pgroup::Join(u64::MAX),
        },
        Request::Wait {
            pid: -1,
            options: WNOHANG | WUNTRACED,
        },
        Request::Kill {
            pid: i64::MIN,
            sig: 9,
        },
        Request::Sigaction {
            sig: 2,
            action: Some(SigAction {
                handler: 1,
                flags: 4,
                restorer: 2,
                mask: u64::MAX,
            }),
        },
        Request::List { after: 0 },
        Request::Reboot {
            magic1: u32::MAX,
            magic2: u32::MAX,
            cmd: u32::MAX,
        },
    ] {
        let n = encode(&request, &mut buffer).unwrap();
        assert_eq!(decode::<Request>(&buffer[..n]), Ok(request));
    }
    let task = TaskInfo {
        pid: u64::MAX,
        comm: "x".repeat(15).as_str().try_into().unwrap(),
        state: b'Z',
        ..TaskInfo::default()
    };
    let reply = Reply::Tasks((0..LIST_MAX).map(|_| task.clone()).collect());
    let n = encode(&reply, &mut buffer).unwrap();
    assert_eq!(decode::<Reply>(&buffer[..n]), Ok(reply));
}

#[test]
fn arguments_pack_and_unpack() {
    let (block, argc, envc) = pack_args([&b"ls"[..], b"-l"], [&b"PATH=/bin"[..]]).unwrap();
    assert_eq!((argc, envc), (2, 1));
    assert_eq!(block, b"ls\0-l\0PATH=/bin\0");
    let (argv, envp) = unpack_args(&block, argc, envc).unwrap();
    assert_eq!(argv, [&b"ls"[..], b"-l"]);
    assert_eq!(envp, [&b"PATH=/bin"[..]]);
    let (argv, envp) = unpack_args(b"\0", 1, 0).unwrap();
    assert_eq!((argv, envp.len()), (alloc::vec![&b""[..]], 0));
}

#[test]
fn bad_blocks_are_refused() {
    assert_eq!(pack_args([&b"a\0b"[..]], []), Err(Errno::EINVAL));
    let big = alloc::vec![b'x'; ARG_MAX];
    assert_eq!(pack_args([big.as_slice()], []), Err(Errno::E2BIG));
    assert_eq!(unpack_args(b"a\0b\0", 1, 0), Err(Errno::EINVAL));
    assert_eq!(unpack_args(b"a\0b", 2, 0), Err(Errno::EINVAL));
    assert_eq!(unpack_args(b"", 1, 0), Err(Errno::EINVAL));
    assert_eq!(
        unpack_args(b"", 0, 0).map(|(a, e)| a.len() + e.len()),
        Ok(0)
    );
}

#[test]
fn siginfo_words_round_trip() {
    let info = SigInfo {
        signo: 17,
        code: -6,
        pid: 4_000_000_000,
        uid: 1000,
        value: 0xffff_8000_0000_1000,
        restore_mask: 1 << 9 | 1,
    };
    assert_eq!(SigInfo::from_words(&info.to_words()), info);
    assert_eq!(info.to_words()[0], 17 | (0xffff_fffa << 32));
    let mut buffer = [0u8; crate::abi::ipc::PAYLOAD_MAX];
    for request in [
        Request::Sigreturn { mask: u64::MAX },
        Request::Sigsuspend { mask: 0 },
        Request::Nanosleep { ns: u64::MAX },
        Request::Alarm { seconds: u32::MAX },
    ] {
        let n = encode(&request, &mut buffer).unwrap();
        assert_eq!(decode::<Request>(&buffer[..n]), Ok(request));
    }
}

#[test]
fn ids_round_trip_through_the_message_registers() {
    let ids = Ids {
        pid: 42,
        ppid: 1,
        pgid: u64::from(u32::MAX) + 7,
        sid: u64::MAX,
        uid: 1000,
        euid: u32::MAX,
        gid: 0,
        egid: 0x8000_0001,
    };
    assert_eq!(Ids::from_words(&ids.to_words()), ids);
    assert_eq!(ids.to_words()[4], 1000 | (u64::from(u32::MAX) << 32));

    let (label, words) = ids_answer(Ok(ids));
    assert_eq!(label, LABEL_IDS);
    assert_eq!(ids_from_answer(label, &words), Some(Ok(ids)));

    let (label, words) = ids_answer(Err(Errno::ESRCH));
    assert_eq!(label, LABEL_IDS_ERRNO);
    assert_eq!(words[0], Errno::ESRCH.as_i32() as u64);
    assert_eq!(ids_from_answer(label, &words), Some(Err(Errno::ESRCH)));

    // Anything else is no answer: another label, a word that is no errno.
    assert_eq!(ids_from_answer(crate::rpc::LABEL_BAD_REQUEST, &words), None);
    assert_eq!(ids_from_answer(crate::rpc::LABEL_REPLY, &words), None);
    assert_eq!(
        ids_from_answer(LABEL_IDS_ERRNO, &[u64::MAX, 0, 0, 0, 0, 0]),
        None
    );
    assert_eq!(ids_from_answer(LABEL_IDS_ERRNO, &[0, 0, 0, 0, 0, 0]), None);

    // Labels of their own: never mistaken for a postcard request or reply.
    for label in [LABEL_GET_IDS, LABEL_IDS, LABEL_IDS_ERRNO] {
        assert!(![
            crate::rpc::LABEL_REQUEST,
            crate::rpc::LABEL_REPLY,
            crate::rpc::LABEL_BAD_REQUEST,
            crate::rpc::LABEL_SERVER_ERROR,
        ]
        .contains(&label));
    }
}
