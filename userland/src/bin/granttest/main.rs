//! `granttest`: grant copy in the machine (`init` runs it from
//! `manifest.test` and `manifest.mono`). A server thread of this process
//! serves calls that lend it windows of the main thread's memory:
//!
//! - it fills a 4 KiB write window and sums a 4 KiB read window (one
//!   `grant_copy` each), and copies part of a window at an offset; a copy
//!   past the window's end is `BadAddress` and changes nothing;
//! - the wrong direction is `NoRights`; a buffer of the server's that is
//!   not its memory is `BadAddress`;
//! - a copy after the reply is `NotFound`; a copy through a saved reply,
//!   answered after the server served another call, works, and a copy on
//!   the current caller after the right was saved is `NotFound`;
//! - windows refused at call time, before the server sees anything:
//!   in the kernel half, unmapped, too large, wrapping, both flags, lent
//!   with `send`;
//! - a server *core* (`echo`, [`echo_core`]) reaches the windows through
//!   its transport in either placement, and calls out to a server of
//!   this process.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod echo_core;

use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use libsys::abi::grant::{Direction, GRANT_MAX};
use libsys::abi::ipc::FOREVER;
use libsys::abi::{decode_result, encode_result, MsgInfo, Rights, SysError};
use libsys::grant::{grant_copy, CallerGrant, Grant, GrantAccess};
use libsys::handle::Endpoint;
use libsys::ipc::{self, Message, Received};
use userland::Tally;

libsys::entry!(main);

/// Request labels.
const FILL: u32 = 1;
const SUM: u32 = 2;
/// Words 0–1: offset and length to fill.
const PARTIAL: u32 = 3;
/// Reads from the window (wrong on a write window).
const READ_WRONG: u32 = 4;
/// Replies first, then tries to fill.
const AFTER_REPLY: u32 = 5;
/// Saves the reply, serves the next call, then fills through the saved
/// reply and answers.
const SAVED: u32 = 6;
/// Fills from a buffer of the server's that is not its memory.
const BAD_BUFFER: u32 = 7;
const PING: u32 = 8;
const STOP: u32 = 9;

/// What the server's copy after its reply returned (an encoded result).
static AFTER: AtomicU64 = AtomicU64::new(u64::MAX);
/// What its copy on the current caller after `reply_save` returned.
static AFTER_SAVE: AtomicU64 = AtomicU64::new(u64::MAX);
/// Set when the `SAVED` case has saved its reply and waits for the call
/// in between: the second thread pings only then (a ping before `SAVED`
/// would be served as a call of its own, and `SAVED` would wait for good).
static SAVED_WAITING: AtomicBool = AtomicBool::new(false);

fn pattern(i: usize, seed: u8) -> u8 {
    (i as u8).wrapping_mul(7).wrapping_add(seed)
}

fn answer(result: Result<u64, SysError>) -> Message {
    let (status, value) = encode_result(result);
    Message::new(0).with_words([status, value, 0, 0, 0, 0])
}

fn result_of(reply: Result<Message, SysError>) -> Result<u64, SysError> {
    let reply = reply?;
    decode_result(reply.words[0], reply.words[1])
}

/// Fills `len` bytes of the window at `offset` with the pattern.
fn fill(grant: &mut impl GrantAccess, offset: u64, len: usize) -> Result<u64, SysError> {
    let mut page = Box::new([0u8; 4096]);
    let len = len.min(page.len());
    for (i, b) in page[..len].iter_mut().enumerate() {
        *b = pattern(i, 3);
    }
    grant.write(offset, &page[..len]).map(|()| len as u64)
}

fn serve_one(ep: &Endpoint, got: &Received) -> Message {
    let msg = &got.msg;
    let mut grant = CallerGrant::current(msg);
    let window = grant.window().map_or(0, |w| w.length as usize);
    match msg.label() {
        FILL => answer(fill(&mut grant, 0, window)),
        SUM => {
            let mut page = Box::new([0u8; 4096]);
            let len = window.min(page.len());
            answer(
                grant
                    .read(0, &mut page[..len])
                    .map(|()| page[..len].iter().map(|&b| u64::from(b)).sum()),
            )
        }
        PARTIAL => answer(fill(&mut grant, msg.words[0], msg.words[1] as usize)),
        READ_WRONG => answer(grant.read(0, &mut [0u8; 16]).map(|()| 0)),
        BAD_BUFFER => answer(grant_copy(
            None,
            Direction::ToWindow,
            0,
            0xffff_8000_0000_0000 - 4096,
            16,
        )),
        AFTER_REPLY => {
            let _ = ipc::reply(&answer(Ok(0)));
            let after = fill(&mut grant, 0, window);
            AFTER.store(encode_result(after).0, Ordering::Relaxed);
            Message::new(u32::MAX)
        }
        SAVED => saved(ep, msg),
        _ => answer(Err(SysError::InvalidArgument)),
    }
}

/// The `SAVED` case: see [`SAVED`].
fn saved(ep: &Endpoint, msg: &Message) -> Message {
    let Ok(reply) = ipc::save_reply() else {
        return Message::new(u32::MAX);
    };
    let current = fill(&mut CallerGrant::current(msg), 0, 16);
    AFTER_SAVE.store(encode_result(current).0, Ordering::Relaxed);
    // Another call in between (the main thread's second thread pings).
    SAVED_WAITING.store(true, Ordering::Release);
    if let Ok(ping) = ep.recv(FOREVER) {
        let _ = ipc::reply(&answer(Ok(u64::from(ping.msg.label()))));
    }
    let mut grant = CallerGrant::saved(msg, &reply);
    let window = grant.window().map_or(0, |w| w.length as usize);
    let result = fill(&mut grant, 0, window);
    let _ = reply.reply(&answer(result));
    Message::new(u32::MAX)
}

/// The server thread: serves until `STOP`.
fn server(ep: Endpoint) {
    while let Ok(got) = ep.recv(FOREVER) {
        if got.msg.label() == STOP {
            let _ = ipc::reply(&answer(Ok(0)));
            return;
        }
        let reply = serve_one(&ep, &got);
        if reply.label() != u32::MAX {
            let _ = ipc::reply(&reply);
        }
    }
}

fn main(_: &str) -> u64 {
    let mut t = Tally::new();
    let ep = match Endpoint::create() {
        Ok(ep) => ep,
        Err(e) => {
            t.check("grant: endpoint", Err(format_args!("{e}")));
            return t.status();
        }
    };
    let theirs = ep.dup(Rights::RECV, None);
    let worker = theirs.map(|theirs| libsys::thread::spawn(move || server(theirs)));
    let Ok(Ok(worker)) = worker else {
        t.check("grant: server thread", Err(format_args!("not started")));
        return t.status();
    };
    both_ways(&mut t, &ep);
    wrong_use(&mut t, &ep);
    lifetime(&mut t, &ep);
    refused_at_call_time(&mut t, &ep);
    echo_core::checks(&mut t);
    let _ = ep.call(&Message::new(STOP), FOREVER);
    let _ = worker.join();
    t.status()
}

fn both_ways(t: &mut Tally, ep: &Endpoint) {
    let mut page = Box::new([0u8; 4096]);
    let got = Grant::write(&mut page[..])
        .and_then(|g| result_of(ep.call_with_grant(&Message::new(FILL), g, FOREVER)));
    t.expect_eq(
        "grant: the server fills a 4 KiB write window",
        got,
        Ok(4096),
    );
    let filled = page.iter().enumerate().all(|(i, &b)| b == pattern(i, 3));
    t.expect_eq("grant: the window holds the server's bytes", filled, true);

    for (i, b) in page.iter_mut().enumerate() {
        *b = pattern(i, 11);
    }
    let sum: u64 = page.iter().map(|&b| u64::from(b)).sum();
    let got = Grant::read(&page[..])
        .and_then(|g| result_of(ep.call_with_grant(&Message::new(SUM), g, FOREVER)));
    t.expect_eq("grant: the server reads a 4 KiB read window", got, Ok(sum));

    page.fill(0);
    let partial = |page: &mut [u8], offset: u64, len: u64| {
        let msg = Message::new(PARTIAL).with_words([offset, len, 0, 0, 0, 0]);
        Grant::write(page).and_then(|g| result_of(ep.call_with_grant(&msg, g, FOREVER)))
    };
    let got = partial(&mut page[..], 100, 50);
    t.expect_eq("grant: a partial copy at an offset", got, Ok(50));
    let only = page.iter().enumerate().all(|(i, &b)| {
        b == if (100..150).contains(&i) {
            pattern(i - 100, 3)
        } else {
            0
        }
    });
    t.expect_eq("grant: only those bytes changed", only, true);
    page.fill(0);
    let got = partial(&mut page[..], 4000, 200);
    t.expect_eq(
        "grant: a copy past the window's end",
        got,
        Err(SysError::BadAddress),
    );
    t.expect_eq(
        "grant: ... changed nothing",
        page.iter().all(|&b| b == 0),
        true,
    );
    let got = partial(&mut page[..1000], 0, 4096);
    t.expect_eq(
        "grant: longer than the window",
        got,
        Err(SysError::BadAddress),
    );
}

fn wrong_use(t: &mut Tally, ep: &Endpoint) {
    let mut page = Box::new([0u8; 4096]);
    let got = Grant::write(&mut page[..])
        .and_then(|g| result_of(ep.call_with_grant(&Message::new(READ_WRONG), g, FOREVER)));
    t.expect_eq(
        "grant: reading a write window",
        got,
        Err(SysError::NoRights),
    );
    let got = Grant::read(&page[..])
        .and_then(|g| result_of(ep.call_with_grant(&Message::new(FILL), g, FOREVER)));
    t.expect_eq("grant: writing a read window", got, Err(SysError::NoRights));
    t.expect_eq(
        "grant: ... changed nothing",
        page.iter().all(|&b| b == 0),
        true,
    );
    let got = Grant::write(&mut page[..])
        .and_then(|g| result_of(ep.call_with_grant(&Message::new(BAD_BUFFER), g, FOREVER)));
    t.expect_eq(
        "grant: a server buffer not its own",
        got,
        Err(SysError::BadAddress),
    );
    let got = result_of(ep.call(&Message::new(FILL), FOREVER));
    t.expect_eq(
        "grant: a call that lent nothing",
        got,
        Err(SysError::NoRights),
    );
    let got = grant_copy(None, Direction::ToWindow, 0, page.as_ptr() as u64, 16);
    t.expect_eq("grant: a copy with no caller", got, Err(SysError::NotFound));
}

fn lifetime(t: &mut Tally, ep: &Endpoint) {
    let mut page = Box::new([0u8; 4096]);
    let got = Grant::write(&mut page[..])
        .and_then(|g| result_of(ep.call_with_grant(&Message::new(AFTER_REPLY), g, FOREVER)));
    t.expect_eq("grant: the reply came", got, Ok(0));
    // The server copies after its reply; a ping makes sure it is done.
    let _ = ep.call(&Message::new(PING), FOREVER);
    let after = decode_result(AFTER.load(Ordering::Relaxed), 0);
    t.expect_eq(
        "grant: a copy after the reply",
        after,
        Err(SysError::NotFound),
    );
    t.expect_eq(
        "grant: ... changed nothing",
        page.iter().all(|&b| b == 0),
        true,
    );

    // The saved-reply case: a second thread's call comes in between.
    let pinger = ep.dup(Rights::SEND, None).map(|ep| {
        libsys::thread::spawn(move || {
            while !SAVED_WAITING.load(Ordering::Acquire) {
                libsys::syscall::yield_now();
            }
            let _ = ep.call(&Message::new(PING), FOREVER);
        })
    });
    let got = Grant::write(&mut page[..])
        .and_then(|g| result_of(ep.call_with_grant(&Message::new(SAVED), g, FOREVER)));
    t.expect_eq(
        "grant: a copy through a saved reply answered later",
        got,
        Ok(4096),
    );
    let filled = page.iter().enumerate().all(|(i, &b)| b == pattern(i, 3));
    t.expect_eq("grant: ... filled the window", filled, true);
    let current = decode_result(AFTER_SAVE.load(Ordering::Relaxed), 0);
    t.expect_eq(
        "grant: the current caller once saved",
        current,
        Err(SysError::NotFound),
    );
    if let Ok(Ok(pinger)) = pinger {
        let _ = pinger.join();
    }
}

/// A `call` whose message lends the raw window (`flags`, address, length).
fn raw_call(ep: &Endpoint, flags: u8, address: u64, length: u64) -> Result<u64, SysError> {
    let mut msg = Message::new(FILL).with_words([0, 0, 0, 0, address, length]);
    msg.info = MsgInfo { flags, ..msg.info };
    result_of(ep.call(&msg, FOREVER))
}

fn refused_at_call_time(t: &mut Tally, ep: &Endpoint) {
    let w = MsgInfo::GRANT_WRITE;
    for (name, flags, address, length, error) in [
        (
            "kernel half",
            w,
            0xffff_8000_0000_0000,
            4096,
            SysError::BadAddress,
        ),
        ("unmapped", w, 0x6100_0000_0000, 4096, SysError::BadAddress),
        (
            "too large",
            w,
            0x40_0000,
            GRANT_MAX + 1,
            SysError::BadLength,
        ),
        ("empty", w, 0x40_0000, 0, SysError::BadLength),
        ("wrapping", w, u64::MAX - 4095, 4096, SysError::BadAddress),
        (
            "both flags",
            w | MsgInfo::GRANT_READ,
            0x40_0000,
            16,
            SysError::InvalidArgument,
        ),
    ] {
        let got = raw_call(ep, flags, address, length);
        t.expect_eq(
            alloc::format!("grant: window refused at call time: {name}").as_str(),
            got,
            Err(error),
        );
    }
    let page = Box::new([0u8; 64]);
    let lent = Grant::read(&page[..]).map(|g| g.lend(Message::new(PING)));
    let sent = lent.and_then(|msg| ep.send(&msg, FOREVER));
    t.expect_eq(
        "grant: lent with send",
        sent,
        Err(SysError::InvalidArgument),
    );
}
