//! Host tests of the device: blocking and waking, in FIFO order, with one
//! and several readers and writers; limits; callers found gone.

use libsys::proto::wait1::{
    Bytes, Reply, Request, Wait1Error, CAPACITY, READ_MAX, WAITERS_MAX, WRITE_MAX,
};

use crate::{Handled, Wait1};

fn write(d: &mut Wait1<u64>, caller: u64, bytes: &[u8]) -> Handled {
    d.write(bytes, false, caller)
}

fn read(d: &mut Wait1<u64>, caller: u64, max: usize) -> Handled {
    d.read(max, false, caller)
}

fn data(bytes: &[u8]) -> Handled {
    Handled::Reply(Reply::Data(bytes.try_into().unwrap()))
}

fn written(n: usize) -> Handled {
    Handled::Reply(Reply::Written(n as u32))
}

fn err(e: Wait1Error) -> Handled {
    Handled::Reply(Reply::Error(e))
}

/// Every wake-up there is now, delivered: (caller, answer), in order.
fn wake_all(d: &mut Wait1<u64>) -> Vec<(u64, Reply)> {
    let mut woken = Vec::new();
    while let Some(w) = d.wake_next() {
        woken.push((w.caller(), w.reply().clone()));
        w.delivered();
    }
    assert!(!d.can_wake());
    woken
}

fn bytes_of(reply: &Reply) -> Vec<u8> {
    match reply {
        Reply::Data(d) => d.to_vec(),
        other => panic!("not data: {other:?}"),
    }
}

#[test]
fn a_write_then_reads_return_the_bytes_in_order() {
    let mut d = Wait1::new();
    assert_eq!(write(&mut d, 1, b"hello"), written(5));
    assert_eq!(write(&mut d, 1, b" world"), written(6));
    assert_eq!(read(&mut d, 2, 3), data(b"hel"));
    assert_eq!(read(&mut d, 2, 100), data(b"lo world"));
    let s = d.stats();
    assert_eq!((s.bytes_in, s.bytes_out, s.buffered), (11, 11, 0));
    assert!(!d.can_wake());
}

#[test]
fn a_reader_on_an_empty_device_blocks_until_a_write() {
    let mut d = Wait1::new();
    assert_eq!(read(&mut d, 7, 10), Handled::Blocked);
    assert_eq!(d.stats().readers_blocked, 1);
    assert!(!d.can_wake() && d.wake_next().is_none());
    assert_eq!(
        write(&mut d, 1, b"abc"),
        written(3),
        "the writer does not wait"
    );
    assert!(d.can_wake());
    assert_eq!(
        wake_all(&mut d),
        vec![(7, Reply::Data(b"abc".as_slice().try_into().unwrap()))]
    );
    let s = d.stats();
    assert_eq!((s.readers_blocked, s.wakeups, s.buffered), (0, 1, 0));
}

#[test]
fn a_writer_on_a_full_device_blocks_until_a_read_then_writes_what_fits() {
    let mut d = Wait1::new();
    let mut fill = vec![b'a'; CAPACITY];
    fill[CAPACITY - 1] = b'z';
    for chunk in fill.chunks(WRITE_MAX) {
        assert_eq!(write(&mut d, 1, chunk), written(chunk.len()));
    }
    assert_eq!(d.len(), CAPACITY);
    assert_eq!(write(&mut d, 2, b"12345"), Handled::Blocked);
    assert_eq!(d.stats().writers_blocked, 1);
    assert_eq!(read(&mut d, 3, 3), data(b"aaa"));
    // Three bytes of room: three go in, the writer waits for the rest.
    assert_eq!(wake_all(&mut d), vec![]);
    assert_eq!(d.stats().writers_blocked, 1);
    assert_eq!(read(&mut d, 3, 2), data(b"aa"));
    assert_eq!(wake_all(&mut d), vec![(2, Reply::Written(5))]);
    assert_eq!(d.len(), CAPACITY);
    let mut got = Vec::new();
    while !d.is_empty() {
        let Handled::Reply(r) = read(&mut d, 3, READ_MAX) else {
            panic!("blocked")
        };
        got.extend(bytes_of(&r));
    }
    assert_eq!(got.len(), CAPACITY);
    assert_eq!(&got[CAPACITY - 6..], b"z12345");
}

#[test]
fn an_interrupted_writer_answers_its_partial_count_and_a_reader_eintr() {
    let mut d = Wait1::new();
    assert_eq!(read(&mut d, 1, 4), Handled::Blocked);
    assert_eq!(d.interrupt(1), Some(Reply::Error(Wait1Error::Interrupted)));
    assert_eq!(d.interrupt(1), None, "once");
    for _ in 0..4 {
        d.write(&[b'.'; WRITE_MAX], false, 9);
    }
    assert_eq!(write(&mut d, 2, b"abcdef"), Handled::Blocked);
    assert_eq!(write(&mut d, 3, b"xy"), Handled::Blocked);
    assert_eq!(d.interrupt(3), Some(Reply::Error(Wait1Error::Interrupted)));
    read(&mut d, 4, 4);
    assert_eq!(wake_all(&mut d), vec![], "four of six in");
    assert_eq!(d.interrupt(2), Some(Reply::Written(4)));
    assert_eq!(d.stats().writers_blocked, 0);
    assert_eq!(d.len(), CAPACITY);
}

#[test]
fn a_woken_writer_found_gone_takes_back_only_its_last_move() {
    let mut d = Wait1::new();
    for _ in 0..4 {
        d.write(&[b'.'; WRITE_MAX], false, 9);
    }
    assert_eq!(write(&mut d, 2, b"abcdef"), Handled::Blocked);
    read(&mut d, 4, 4);
    assert_eq!(wake_all(&mut d), vec![]);
    read(&mut d, 4, 4);
    let (caller, reply) = d.wake_one().unwrap();
    assert_eq!((caller, reply.clone()), (2, Reply::Written(6)));
    // Gone: the two it moved when woken come back off; "abcd" stays.
    d.undo(&reply);
    assert_eq!(d.len(), CAPACITY - 4);
}

#[test]
fn several_readers_are_served_in_arrival_order() {
    let mut d = Wait1::new();
    for caller in 10..15 {
        assert_eq!(read(&mut d, caller, 2), Handled::Blocked);
    }
    assert_eq!(write(&mut d, 1, b"abcde"), written(5));
    let woken = wake_all(&mut d);
    let callers: Vec<u64> = woken.iter().map(|w| w.0).collect();
    assert_eq!(callers, vec![10, 11, 12]);
    let got: Vec<Vec<u8>> = woken.iter().map(|w| bytes_of(&w.1)).collect();
    assert_eq!(got, vec![b"ab".to_vec(), b"cd".to_vec(), b"e".to_vec()]);
    assert_eq!(d.stats().readers_blocked, 2);
    // A new reader queues behind the two still waiting, even with data.
    assert_eq!(write(&mut d, 1, b"fgh"), written(3));
    assert_eq!(read(&mut d, 20, 5), Handled::Blocked, "no overtaking");
    let woken = wake_all(&mut d);
    assert_eq!(woken.iter().map(|w| w.0).collect::<Vec<_>>(), vec![13, 14]);
    assert_eq!(bytes_of(&woken[0].1), b"fg");
    assert_eq!(bytes_of(&woken[1].1), b"h");
    assert_eq!(d.stats().readers_blocked, 1);
}

#[test]
fn several_writers_are_served_in_arrival_order_each_in_order() {
    let mut d = Wait1::new();
    assert_eq!(
        write(&mut d, 1, &vec![0u8; CAPACITY]),
        err(Wait1Error::TooLarge)
    );
    for _ in 0..CAPACITY / WRITE_MAX {
        write(&mut d, 1, &[0u8; WRITE_MAX]);
    }
    write(&mut d, 1, &vec![0u8; CAPACITY % WRITE_MAX]);
    assert_eq!(d.len(), CAPACITY);
    // Writers A, B, C with their own bytes, blocked in that order.
    for (caller, byte) in [(1u64, b'A'), (2, b'B'), (3, b'C')] {
        assert_eq!(write(&mut d, caller, &[byte; 4]), Handled::Blocked);
    }
    assert_eq!(write(&mut d, 4, b"D"), Handled::Blocked);
    // Drain everything: writers are woken as room appears.
    let mut out = Vec::new();
    while !d.is_empty() {
        let Handled::Reply(r) = read(&mut d, 9, READ_MAX) else {
            panic!()
        };
        out.extend(bytes_of(&r));
        for (caller, reply) in wake_all(&mut d) {
            assert!(
                matches!(reply, Reply::Written(n) if n >= 1),
                "{caller}: {reply:?}"
            );
        }
    }
    assert_eq!(out.len(), CAPACITY + 13);
    assert!(out[..CAPACITY].iter().all(|&b| b == 0));
    let rest = &out[CAPACITY..];
    assert_eq!(rest, b"AAAABBBBCCCCD", "whole writes, in arrival order");
}

#[test]
fn a_partly_served_writer_finishes_with_more_requests_in_order() {
    let mut d = Wait1::new();
    let mut source: Vec<u8> = (0..3 * CAPACITY).map(|i| (i % 251) as u8).collect();
    let mut sink = Vec::new();
    // One writer (1) and one reader (2) taking turns as a scheduler might.
    let mut step = 0;
    while sink.len() < 3 * CAPACITY {
        step += 1;
        if !source.is_empty() && d.stats().writers_blocked == 0 {
            let take = source.len().min(WRITE_MAX);
            match write(&mut d, 1, &source[..take]) {
                Handled::Reply(Reply::Written(n)) => {
                    source.drain(..n as usize);
                }
                Handled::Blocked => {}
                other => panic!("{other:?}"),
            }
        }
        if step % 3 == 0 && d.stats().readers_blocked == 0 {
            if let Handled::Reply(r) = read(&mut d, 2, 700) {
                sink.extend(bytes_of(&r));
            }
        }
        while let Some(w) = d.wake_next() {
            match w.reply() {
                Reply::Data(bytes) => sink.extend_from_slice(bytes),
                Reply::Written(n) => {
                    source.drain(..*n as usize);
                }
                other => panic!("{other:?}"),
            }
            w.delivered();
        }
    }
    let want: Vec<u8> = (0..3 * CAPACITY).map(|i| (i % 251) as u8).collect();
    assert_eq!(sink, want);
}

#[test]
fn nonblocking_calls_say_would_block() {
    let mut d = Wait1::new();
    assert_eq!(d.read(4, true, 1), err(Wait1Error::WouldBlock));
    assert_eq!(d.write(b"ab", true, 1), written(2));
    assert_eq!(d.read(4, true, 1), data(b"ab"));
    d.write(&[1; WRITE_MAX], false, 1);
    d.write(&[1; WRITE_MAX], false, 1);
    d.write(&[1; WRITE_MAX], false, 1);
    d.write(&[1; WRITE_MAX], false, 1);
    assert_eq!(d.len(), CAPACITY);
    assert_eq!(d.write(b"x", true, 1), err(Wait1Error::WouldBlock));
    let s = d.stats();
    assert_eq!(
        (s.would_block, s.readers_blocked, s.writers_blocked),
        (2, 0, 0)
    );
}

#[test]
fn limits_are_typed_errors_that_change_nothing() {
    let mut d = Wait1::new();
    d.write(b"keep", false, 1);
    let before = d.stats();
    assert_eq!(write(&mut d, 1, b""), err(Wait1Error::EmptyWrite));
    assert_eq!(
        write(&mut d, 1, &vec![1; WRITE_MAX + 1]),
        err(Wait1Error::TooLarge)
    );
    assert_eq!(read(&mut d, 1, 0), err(Wait1Error::ZeroMax));
    assert_eq!(read(&mut d, 1, READ_MAX + 1), err(Wait1Error::TooLarge));
    assert_eq!(d.stats(), before);
    let mut e = Wait1::new();
    for caller in 0..WAITERS_MAX as u64 {
        assert_eq!(read(&mut e, caller, 1), Handled::Blocked);
    }
    assert_eq!(read(&mut e, 99, 1), err(Wait1Error::TooManyWaiters));
    assert_eq!(e.stats().readers_blocked as usize, WAITERS_MAX);
}

#[test]
fn requests_through_handle() {
    let mut d = Wait1::new();
    let w = Request::Write {
        bytes: Bytes::from_slice(b"hi").unwrap(),
        nonblock: false,
    };
    assert_eq!(d.handle(w, 1), written(2));
    assert_eq!(
        d.handle(
            Request::Read {
                max: 9,
                nonblock: true
            },
            2
        ),
        data(b"hi")
    );
    assert_eq!(
        d.handle(
            Request::Read {
                max: 9,
                nonblock: false
            },
            2
        ),
        Handled::Blocked
    );
    match d.handle(Request::Stats, 3) {
        Handled::Reply(Reply::Stats(s)) => {
            assert_eq!((s.bytes_in, s.bytes_out, s.readers_blocked), (2, 2, 1))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_reader_found_gone_leaves_its_bytes_for_the_next() {
    let mut d = Wait1::new();
    read(&mut d, 1, 3);
    read(&mut d, 2, 10);
    write(&mut d, 9, b"abcdef");
    let w = d.wake_next().unwrap();
    assert_eq!((w.caller(), bytes_of(w.reply())), (1, b"abc".to_vec()));
    w.gone();
    assert_eq!(d.len(), 6, "put back");
    let woken = wake_all(&mut d);
    assert_eq!(woken.len(), 1);
    assert_eq!((woken[0].0, bytes_of(&woken[0].1)), (2, b"abcdef".to_vec()));
    let s = d.stats();
    assert_eq!(
        (s.gone, s.wakeups, s.bytes_out, s.readers_blocked),
        (1, 1, 6, 0)
    );
}

#[test]
fn a_writer_found_gone_takes_its_bytes_back() {
    let mut d = Wait1::new();
    for _ in 0..4 {
        d.write(&[b'.'; WRITE_MAX], false, 1);
    }
    write(&mut d, 2, b"dead");
    write(&mut d, 3, b"live");
    read(&mut d, 4, 8);
    let w = d.wake_next().unwrap();
    assert_eq!((w.caller(), w.reply().clone()), (2, Reply::Written(4)));
    w.gone();
    let woken = wake_all(&mut d);
    assert_eq!(woken, vec![(3, Reply::Written(4))]);
    let mut all = Vec::new();
    while let Handled::Reply(r) = d.read(READ_MAX, true, 4) {
        match r {
            Reply::Data(bytes) => all.extend_from_slice(&bytes),
            _ => break,
        }
    }
    assert_eq!(&all[all.len() - 4..], b"live");
    assert!(!all.windows(4).any(|w| w == b"dead"));
    assert_eq!(d.stats().gone, 1);
    assert_eq!(d.stats().bytes_in, d.stats().bytes_out);
}

#[test]
fn cancel_takes_a_blocked_caller_off_its_queue() {
    let mut d = Wait1::new();
    read(&mut d, 1, 4);
    read(&mut d, 2, 4);
    assert!(d.cancel(1));
    assert!(!d.cancel(1));
    write(&mut d, 9, b"xy");
    assert_eq!(
        wake_all(&mut d).iter().map(|w| w.0).collect::<Vec<_>>(),
        vec![2]
    );
}
