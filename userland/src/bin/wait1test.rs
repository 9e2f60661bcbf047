//! `wait1test`: the `/dev/wait1` ring buffer server in the machine (`init`
//! runs it from `manifest.test`, with pages and its own module to start a
//! partner process).
//!
//! - a reader on the empty device is still blocked after 100 ms, then gets
//!   exactly the bytes a writer writes; a non-blocking read says
//!   `WouldBlock`;
//! - a writer on the full device is still blocked after 100 ms, then
//!   finishes once a read makes room; its bytes come last;
//! - three writer threads and one reader: every byte once, each writer's
//!   in order; three writers and three readers: every byte once;
//! - malformed and oversized requests get typed errors or
//!   `LABEL_BAD_REQUEST`, and the server keeps serving;
//! - a partner process blocked in a read and killed does not wedge the
//!   device: the next write goes, whole, to the next reader;
//! - unblocking (`Thread::unblock`, in whichever placement wait1 is): a
//!   blocked reader let out of its call gets `Interrupted`; a call no
//!   server has received fails at once with `SysError::Interrupted`; a
//!   server process told through its bound notification answers the
//!   caller (`SavedReply::interrupted`), one without a notification has
//!   its caller let go.
//!
//! A partner is this program started as `wait1test reader endpoint=<h>`: it
//! reads (blocking) and exits 0 if it ever gets an answer.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use libsys::abi::ipc::FOREVER;
use libsys::abi::ipc::{Unblocked, UNBLOCK_SIGNAL};
use libsys::abi::{Handle, ProcessStatus, Rights, SysError};
use libsys::format_text;
use libsys::handle::{Endpoint, Notification};
use libsys::ipc::Message;
use libsys::mem::Memory;
use libsys::proto::wait1::{
    Client, ClientError, Reply, Request, Stats, Wait1Error, CAPACITY, READ_MAX, WRITE_MAX,
};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REQUEST};
use libsys::spawn::Builder;
use libsys::sync::Mutex;
use libsys::time::Instant;
use userland::{wait_exit, want, Tally};

libsys::entry!(main);

type Why = libsys::rt::TextBuf<256>;

/// Bytes each writer writes in the many-writers checks.
const EACH: usize = 3000;
const WRITERS: usize = 3;
const READERS: usize = 3;

fn main(args: &str) -> u64 {
    let mut words = args.split_whitespace();
    if words.next() == Some("reader") {
        // `endpoint=<h>`: the handle the test gave us, ours to own.
        let endpoint = libsys::env::take_handle("endpoint");
        return endpoint.map_or(2, |handle| partner(Endpoint(handle)));
    }
    let mut t = Tally::new();
    let client = match Client::connect() {
        Ok(c) => c,
        Err(e) => {
            t.check("wait1: connect", Err(format_args!("{e}")));
            return t.status();
        }
    };
    t.record(
        "wait1: a reader blocks on the empty device until a write; non-blocking read: WouldBlock",
        reader_blocks(&client),
    );
    t.record(
        "wait1: a writer blocks on the full device until a read makes room",
        writer_blocks(&client),
    );
    t.record(
        "wait1: three writers, one reader: every byte once, each writer's in order",
        many_writers(&client, 1),
    );
    t.record(
        "wait1: three writers, three readers: every byte once",
        many_writers(&client, READERS),
    );
    t.record(
        "wait1: malformed and oversized requests get errors; the server keeps serving",
        malformed(&client),
    );
    t.record(
        "wait1: a blocked reader killed does not wedge the device",
        killed_reader(&client),
    );
    t.record(
        "unblock: a reader blocked on the empty device gets Interrupted (EINTR); the device goes on",
        unblocked_reader(&client),
    );
    t.record(
        "unblock: a writer blocked half-way answers its partial count",
        unblocked_writer(&client),
    );
    t.record(
        "unblock: a call not yet received fails at once with Interrupted; not a thread: WrongType",
        unblocked_unreceived(),
    );
    t.record(
        "unblock: a server with a bound notification is told and answers; one without lets its caller go",
        unblocked_received(),
    );
    t.status()
}

fn step<T>(what: &str, result: Result<T, ClientError>) -> Result<T, Why> {
    result.map_err(|e| format_text!("{what}: {e}"))
}

fn stats(client: &Client) -> Result<Stats, Why> {
    step("stats", client.stats())
}

/// Reads (non-blocking) until the device is empty; how many bytes.
fn drain(client: &Client) -> Result<Vec<u8>, Why> {
    let mut all = Vec::new();
    loop {
        match client.read_nonblock(READ_MAX) {
            Ok(data) => all.extend_from_slice(&data),
            Err(ClientError::Wait1(Wait1Error::WouldBlock)) => return Ok(all),
            Err(e) => return Err(format_text!("drain: {e}")),
        }
    }
}

fn spawn(body: impl FnOnce() + Send + 'static) -> Result<libsys::thread::JoinHandle, Why> {
    libsys::thread::spawn(body).map_err(|e| format_text!("spawn: {e}"))
}

fn reader_blocks(client: &Client) -> Result<(), Why> {
    drain(client)?;
    want(
        "non-blocking read on empty",
        client.read_nonblock(8).err(),
        Some(ClientError::Wait1(Wait1Error::WouldBlock)),
    )?;
    let got = Arc::new(Mutex::new(None));
    let done = Arc::new(AtomicBool::new(false));
    let reader = spawn({
        let (got, done) = (got.clone(), done.clone());
        move || {
            let result = Client::connect()
                .map_err(|_| ClientError::Protocol)
                .and_then(|c| c.read(64));
            *got.lock() = Some(result.map(|d| d.to_vec()));
            done.store(true, Ordering::Release);
        }
    })?;
    libsys::time::sleep_ms(100);
    want(
        "the reader has returned before any write",
        done.load(Ordering::Acquire),
        false,
    )?;
    want("readers blocked", stats(client)?.readers_blocked, 1)?;
    let before = stats(client)?.wakeups;
    step("write", client.write(b"wake up"))?;
    reader.join().map_err(|e| format_text!("join: {e}"))?;
    want(
        "what the reader got",
        got.lock().take(),
        Some(Ok(b"wake up".to_vec())),
    )?;
    let after = stats(client)?;
    want(
        "counters",
        (
            after.readers_blocked,
            after.wakeups - before,
            after.buffered,
        ),
        (0, 1, 0),
    )
}

fn writer_blocks(client: &Client) -> Result<(), Why> {
    drain(client)?;
    let mut filled = 0;
    loop {
        match client.write_nonblock(&[b'.'; WRITE_MAX]) {
            Ok(n) => filled += n,
            Err(ClientError::Wait1(Wait1Error::WouldBlock)) => break,
            Err(e) => return Err(format_text!("fill: {e}")),
        }
    }
    want("filled", filled, CAPACITY)?;
    let got = Arc::new(Mutex::new(None));
    let done = Arc::new(AtomicBool::new(false));
    let writer = spawn({
        let (got, done) = (got.clone(), done.clone());
        move || {
            let result = Client::connect()
                .map_err(|_| ClientError::Protocol)
                .and_then(|c| c.write(b"tail!"));
            *got.lock() = Some(result);
            done.store(true, Ordering::Release);
        }
    })?;
    libsys::time::sleep_ms(100);
    want(
        "the writer has returned while full",
        done.load(Ordering::Acquire),
        false,
    )?;
    want("writers blocked", stats(client)?.writers_blocked, 1)?;
    want(
        "a non-blocking write while full",
        client.write_nonblock(b"x").err(),
        Some(ClientError::Wait1(Wait1Error::WouldBlock)),
    )?;
    let first = step("read", client.read(READ_MAX))?;
    writer.join().map_err(|e| format_text!("join: {e}"))?;
    want("the writer's answer", got.lock().take(), Some(Ok(5)))?;
    let rest = drain(client)?;
    want("bytes in all", first.len() + rest.len(), CAPACITY + 5)?;
    want(
        "the writer's bytes last",
        &rest[rest.len() - 5..],
        &b"tail!"[..],
    )
}

/// Byte `i` of writer `w`: its number and `i` modulo 64.
fn byte(w: usize, i: usize) -> u8 {
    ((w << 6) | (i % 64)) as u8
}

/// `WRITERS` writer threads write `EACH` bytes each while `readers`
/// reader threads read them (each a fixed share); checks every byte came
/// once, and with one reader that each writer's came in order.
fn many_writers(client: &Client, readers: usize) -> Result<(), Why> {
    drain(client)?;
    let failed = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for w in 0..WRITERS {
        let failed = failed.clone();
        threads.push(spawn(move || {
            let bytes: Vec<u8> = (0..EACH).map(|i| byte(w, i)).collect();
            let ok = Client::connect().is_ok_and(|c| {
                // Small requests, so the writers interleave.
                bytes.chunks(100).all(|chunk| c.write_all(chunk).is_ok())
            });
            if !ok {
                failed.store(true, Ordering::Release);
            }
        })?);
    }
    let share = WRITERS * EACH / readers;
    let streams: Vec<Arc<Mutex<Vec<u8>>>> = (0..readers)
        .map(|_| Arc::new(Mutex::new(Vec::new())))
        .collect();
    for stream in &streams {
        let (stream, failed) = (stream.clone(), failed.clone());
        threads.push(spawn(move || {
            let Ok(c) = Client::connect() else {
                failed.store(true, Ordering::Release);
                return;
            };
            let mut got = Vec::new();
            while got.len() < share {
                match c.read((share - got.len()).min(333)) {
                    Ok(data) => got.extend_from_slice(&data),
                    Err(_) => {
                        failed.store(true, Ordering::Release);
                        break;
                    }
                }
            }
            *stream.lock() = got;
        })?);
    }
    for thread in threads {
        thread.join().map_err(|e| format_text!("join: {e}"))?;
    }
    want("a thread failed", failed.load(Ordering::Acquire), false)?;
    let mut counts = [[0usize; 64]; WRITERS];
    for stream in &streams {
        let stream = stream.lock();
        let mut next = [0usize; WRITERS];
        for &b in stream.iter() {
            let (w, i) = ((b >> 6) as usize, (b & 63) as usize);
            if w >= WRITERS {
                return Err(format_text!("a byte no writer wrote: {b:#x}"));
            }
            counts[w][i] += 1;
            if readers == 1 && i != next[w] % 64 {
                return Err(format_text!("writer {w}'s byte {} came as {i}", next[w]));
            }
            next[w] += 1;
        }
    }
    for (w, count) in counts.iter().enumerate() {
        for (i, &n) in count.iter().enumerate() {
            let expected = EACH / 64 + usize::from(i < EACH % 64);
            if n != expected {
                return Err(format_text!(
                    "writer {w}, byte {i} mod 64: {n} times, not {expected}"
                ));
            }
        }
    }
    want("left over", stats(client)?.buffered, 0)
}

fn malformed(client: &Client) -> Result<(), Why> {
    let ep = client.endpoint();
    let raw = |label: u32, bytes: &[u8], handles: &[Handle]| {
        let length = libsys::ipc::write_payload(bytes)?;
        let msg = Message::new(label)
            .with_payload(length)
            .with_handles(handles);
        ep.call(&msg, FOREVER).map(|m| m.label())
    };
    for bytes in [&[][..], &[0xff, 0xff][..], &[0, 3, b'a'][..], &[3][..]] {
        want(
            "garbage",
            raw(LABEL_REQUEST, bytes, &[]),
            Ok(LABEL_BAD_REQUEST),
        )?;
    }
    // A write claiming WRITE_MAX + 1 bytes.
    let mut oversized = Vec::from([0u8, 0x81, 0x08]);
    oversized.resize(3 + WRITE_MAX + 1, b'o');
    oversized.push(0);
    want(
        "an oversized write",
        raw(LABEL_REQUEST, &oversized, &[]),
        Ok(LABEL_BAD_REQUEST),
    )?;
    want("not a request", raw(77, &[2], &[]), Ok(LABEL_BAD_REQUEST))?;
    let extra = Notification::create().map_err(|e| format_text!("notification: {e}"))?;
    let mut stats_bytes = [0u8; 4];
    let n = rpc::encode(&Request::Stats, &mut stats_bytes).map_err(|e| format_text!("{e}"))?;
    want(
        "a request carrying a handle",
        raw(LABEL_REQUEST, &stats_bytes[..n], &[extra.raw()]),
        Ok(LABEL_BAD_REQUEST),
    )?;
    let call = |request: Request| rpc::call::<Request, Reply>(ep, &request);
    want(
        "an empty write",
        call(Request::Write {
            bytes: Default::default(),
            nonblock: false,
        }),
        Ok(Reply::Error(Wait1Error::EmptyWrite)),
    )?;
    want(
        "a read of 0",
        call(Request::Read {
            max: 0,
            nonblock: false,
        }),
        Ok(Reply::Error(Wait1Error::ZeroMax)),
    )?;
    want(
        "a read of too much",
        call(Request::Read {
            max: READ_MAX as u32 + 1,
            nonblock: false,
        }),
        Ok(Reply::Error(Wait1Error::TooLarge)),
    )?;
    want(
        "the stub refuses a long write",
        client.write(&[0; WRITE_MAX + 1]).err(),
        Some(ClientError::TooLong),
    )?;
    step("still serving: write", client.write(b"ok"))?;
    want("still serving: read", drain(client)?, b"ok".to_vec())
}

fn killed_reader(client: &Client) -> Result<(), Why> {
    drain(client)?;
    let before = stats(client)?;
    let me = libsys::env::self_process().ok_or_else(|| format_text!("no self handle"))?;
    let (region, pages) =
        libsys::env::memory_region().ok_or_else(|| format_text!("no memory= pages"))?;
    let mut mem = Memory::new(me, region, pages);
    let image = libsys::env::own_module().ok_or_else(|| format_text!("no own module"))?;
    let builder = Builder::new(&mut mem, "wait1-reader", image.0, image.1)
        .map_err(|e| format_text!("build the partner: {e}"))?;
    let theirs = builder
        .give(client.endpoint().raw(), Rights::SEND)
        .map_err(|e| format_text!("give: {e}"))?;
    let child = builder
        .start(format_text!("reader endpoint={}", theirs.0).as_str())
        .map_err(|e| format_text!("start the partner: {e}"))?;
    let start = Instant::now();
    while stats(client)?.readers_blocked == 0 {
        if start.elapsed() > Duration::from_secs(5) {
            return Err(format_text!("the partner never blocked"));
        }
        libsys::time::sleep_ms(5);
    }
    child
        .process
        .kill()
        .map_err(|e| format_text!("kill: {e}"))?;
    let status = wait_exit(&child.process, Duration::from_secs(10))?;
    if status == ProcessStatus::Exited(0) {
        return Err(format_text!("the partner got an answer"));
    }
    for run in child.pages {
        mem.free(run);
    }
    step("write after the kill", client.write(b"after the kill"))?;
    want(
        "the next reader gets it all",
        step("read", client.read(READ_MAX))?.to_vec(),
        b"after the kill".to_vec(),
    )?;
    let after = stats(client)?;
    want(
        "counters",
        (
            after.gone - before.gone,
            after.readers_blocked,
            after.buffered,
        ),
        (1, 0, 0),
    )
}

/// The partner: one blocking read on `endpoint`; 0 if it was answered.
fn partner(endpoint: Endpoint) -> u64 {
    let client = Client::from_endpoint(endpoint);
    match client.read(16) {
        Ok(_) => 0,
        Err(_) => 1,
    }
}

/// Waits (bounded) until `done` says so.
fn until(what: &str, mut done: impl FnMut() -> Result<bool, Why>) -> Result<(), Why> {
    let start = Instant::now();
    while !done()? {
        if start.elapsed() > Duration::from_secs(5) {
            return Err(format_text!("{what}: never"));
        }
        libsys::time::sleep_ms(2);
    }
    Ok(())
}

fn unblocked_reader(client: &Client) -> Result<(), Why> {
    drain(client)?;
    let got = Arc::new(Mutex::new(None));
    let reader = spawn({
        let got = got.clone();
        move || {
            let result = Client::connect()
                .map_err(|_| ClientError::Protocol)
                .and_then(|c| c.read(64));
            *got.lock() = Some(result.map(|d| d.to_vec()));
        }
    })?;
    until("the reader blocks", || {
        Ok(stats(client)?.readers_blocked == 1)
    })?;
    want(
        "unblock",
        reader.thread.unblock(),
        Ok(Unblocked::ServerTold),
    )?;
    let thread = reader
        .thread
        .dup(Rights::MANAGE, None)
        .map_err(|e| format_text!("dup: {e}"))?;
    reader.join().map_err(|e| format_text!("join: {e}"))?;
    want(
        "what the reader got",
        got.lock().take(),
        Some(Err(ClientError::Wait1(Wait1Error::Interrupted))),
    )?;
    want("readers blocked", stats(client)?.readers_blocked, 0)?;
    want(
        "a finished thread",
        thread.unblock(),
        Ok(Unblocked::NotInCall),
    )?;
    step("write after", client.write(b"next"))?;
    want(
        "the next read",
        step("read", client.read(READ_MAX))?.to_vec(),
        b"next".to_vec(),
    )
}

/// Where a thread leaves its outcome.
type Slot<T> = Arc<Mutex<Option<T>>>;

/// A thread that makes one call on `endpoint` and keeps its outcome.
fn caller(
    endpoint: &Arc<Endpoint>,
) -> Result<(libsys::thread::JoinHandle, Slot<Result<u32, SysError>>), Why> {
    let got = Arc::new(Mutex::new(None));
    let thread = spawn({
        let (endpoint, got) = (endpoint.clone(), got.clone());
        move || {
            let result = endpoint.call(&Message::new(7), FOREVER).map(|m| m.label());
            *got.lock() = Some(result);
        }
    })?;
    Ok((thread, got))
}

fn unblocked_unreceived() -> Result<(), Why> {
    let endpoint = Arc::new(Endpoint::create().map_err(|e| format_text!("endpoint: {e}"))?);
    let (thread, got) = caller(&endpoint)?;
    // A thread of this process: no MANAGE needed.
    let plain = thread
        .thread
        .dup(Rights::empty(), None)
        .map_err(|e| format_text!("dup: {e}"))?;
    // NotInCall until it has blocked waiting for a receiver.
    let mut what = Ok(Unblocked::NotInCall);
    until("the caller blocks", || {
        what = plain.unblock();
        Ok(what != Ok(Unblocked::NotInCall))
    })?;
    want("unblock", what, Ok(Unblocked::Sent))?;
    thread.join().map_err(|e| format_text!("join: {e}"))?;
    want(
        "the call",
        got.lock().take(),
        Some(Err(SysError::Interrupted)),
    )?;
    want(
        "not a thread",
        libsys::syscall::call6(
            libsys::abi::Syscall::ThreadUnblock,
            [u64::from(endpoint.raw().0), 0, 0, 0, 0, 0],
        )
        .err(),
        Some(SysError::WrongType),
    )
}

/// A server thread: receives one call on `endpoint`, saves its reply
/// right, says so on `saved`, then (with a notification bound) waits for
/// the unblock signal and answers label 4 (an `EINTR`), or (without)
/// waits on `go` and tries to answer label 5. Its outcome: what it saw.
fn saving_server(
    endpoint: &Arc<Endpoint>,
    bound: bool,
    saved: &Arc<Notification>,
    go: &Arc<Notification>,
) -> Result<(libsys::thread::JoinHandle, Slot<Result<(), Why>>), Why> {
    let outcome = Arc::new(Mutex::new(None));
    let thread = spawn({
        let (endpoint, saved, go, outcome) =
            (endpoint.clone(), saved.clone(), go.clone(), outcome.clone());
        move || {
            let result = (|| -> Result<(), Why> {
                let notification = Notification::create().map_err(|e| format_text!("{e}"))?;
                if bound {
                    notification
                        .bind_current()
                        .map_err(|e| format_text!("bind: {e}"))?;
                }
                let received = endpoint
                    .recv(FOREVER)
                    .map_err(|e| format_text!("recv: {e}"))?;
                want("the request", received.msg.label(), 7)?;
                let right = libsys::ipc::save_reply().map_err(|e| format_text!("save: {e}"))?;
                want("asked out before it was", right.interrupted(), false)?;
                let _ = saved.signal(1);
                if bound {
                    let next = endpoint
                        .recv(FOREVER)
                        .map_err(|e| format_text!("recv: {e}"))?;
                    want("told", next.signals(), Some(UNBLOCK_SIGNAL))?;
                    want("the saved caller asked out", right.interrupted(), true)?;
                    right
                        .reply(&Message::new(4))
                        .map_err(|e| format_text!("reply: {e}"))
                } else {
                    go.wait(FOREVER).map_err(|e| format_text!("go: {e}"))?;
                    want("the caller was let go", right.interrupted(), false)?;
                    want(
                        "a late reply",
                        right.reply(&Message::new(5)),
                        Err(SysError::PeerDied),
                    )
                }
            })();
            *outcome.lock() = Some(result);
        }
    })?;
    Ok((thread, outcome))
}

fn unblocked_received() -> Result<(), Why> {
    for (bound, expected, answer) in [
        (true, Unblocked::ServerTold, Ok(4)),
        (false, Unblocked::Released, Err(SysError::Interrupted)),
    ] {
        let endpoint = Arc::new(Endpoint::create().map_err(|e| format_text!("endpoint: {e}"))?);
        let saved = Arc::new(Notification::create().map_err(|e| format_text!("{e}"))?);
        let go = Arc::new(Notification::create().map_err(|e| format_text!("{e}"))?);
        let (server, outcome) = saving_server(&endpoint, bound, &saved, &go)?;
        let (client, got) = caller(&endpoint)?;
        saved
            .wait(FOREVER)
            .map_err(|e| format_text!("saved: {e}"))?;
        want("unblock", client.thread.unblock(), Ok(expected))?;
        client.join().map_err(|e| format_text!("join: {e}"))?;
        want("the call", got.lock().take(), Some(answer))?;
        let _ = go.signal(1);
        server.join().map_err(|e| format_text!("join: {e}"))?;
        outcome
            .lock()
            .take()
            .unwrap_or_else(|| Err(format_text!("the server said nothing")))?;
    }
    Ok(())
}

fn unblocked_writer(client: &Client) -> Result<(), Why> {
    drain(client)?;
    let mut filled = 0;
    while filled < CAPACITY {
        filled += step(
            "fill",
            client.write_nonblock(&[b'.'; WRITE_MAX][..WRITE_MAX.min(CAPACITY - filled)]),
        )?;
    }
    let got = Arc::new(Mutex::new(None));
    let writer = spawn({
        let got = got.clone();
        move || {
            let result = Client::connect()
                .map_err(|_| ClientError::Protocol)
                .and_then(|c| c.write(&[b'w'; 300]));
            *got.lock() = Some(result);
        }
    })?;
    until("the writer blocks", || {
        Ok(stats(client)?.writers_blocked == 1)
    })?;
    // Room for 100: they go in, the writer waits for its other 200.
    want("a read", step("read", client.read(100))?.len(), 100)?;
    want("still blocked", stats(client)?.writers_blocked, 1)?;
    want(
        "unblock",
        writer.thread.unblock(),
        Ok(Unblocked::ServerTold),
    )?;
    writer.join().map_err(|e| format_text!("join: {e}"))?;
    want("the writer's answer", got.lock().take(), Some(Ok(100)))?;
    let all = drain(client)?;
    want("bytes", all.len(), CAPACITY)?;
    want(
        "its 100 last",
        all[CAPACITY - 100..].iter().all(|&b| b == b'w'),
        true,
    )
}
