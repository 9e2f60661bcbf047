//! `kv` end to end, from a client process (run by `init` from the test
//! manifests, in both placements):
//!
//! - put, get, overwrite, list, delete, stats, and their errors;
//! - another client's keys are not visible (`nstest` left one);
//! - the per-client quotas (keys, bytes) and over-long keys and values;
//! - malformed bytes, and a request carrying a handle, get
//!   `LABEL_BAD_REQUEST` and the server keeps serving;
//! - with `kill=<h>` (a handle that can kill `kv`): `kv` is killed while
//!   another thread of this process keeps calling it. That thread's call
//!   fails with `PeerDied`, `init` restarts `kv`, and both threads look it
//!   up again and carry on (with an empty store: `kv` keeps nothing across
//!   a restart).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use libsys::abi::ipc::FOREVER;
use libsys::abi::SysError;
use libsys::format_text;
use libsys::handle::Process;
use libsys::ipc::{self, Message};
use libsys::names;
use libsys::proto::kv::{
    Client, ClientError, KvError, KEY_MAX, QUOTA_BYTES, QUOTA_KEYS, VALUE_MAX,
};
use libsys::rpc::{RpcError, LABEL_BAD_REQUEST, LABEL_REQUEST};
use userland::{want, Tally};

libsys::entry!(main);

type Why = libsys::rt::TextBuf<256>;

fn main(_args: &str) -> u64 {
    let mut t = Tally::new();
    let client = match Client::connect() {
        Ok(c) => c,
        Err(e) => {
            t.check("kv: connect", Err(format_args!("{e}")));
            return t.status();
        }
    };
    t.record(
        "kv: put, get, overwrite, list, delete and their errors",
        basics(&client),
    );
    t.record(
        "kv: another client's keys are not visible",
        isolation(&client),
    );
    t.record(
        "kv: quotas of keys and bytes per client; over-long keys and values",
        quotas(&client),
    );
    t.record(
        "kv: malformed bytes get an error reply; the server keeps serving",
        malformed(&client),
    );
    // `kill=<h>` in the arguments, ours to own.
    let kill = libsys::env::take_handle("kill").map(Process);
    match kill {
        Some(h) => t.record(
            "kv: killed while clients use it: PeerDied, restart, lookup again, carry on",
            killed(client, h),
        ),
        None => {
            libsys::println!("kvtest: no kill handle (kv runs in the kernel?): no restart to test")
        }
    }
    t.status()
}

fn basics(kv: &Client) -> Result<(), Why> {
    want("put", kv.put("greeting", b"hello"), Ok(()))?;
    want(
        "get",
        kv.get("greeting").map(|v| v.to_vec()),
        Ok(b"hello".to_vec()),
    )?;
    want("overwrite", kv.put("greeting", b"hello again"), Ok(()))?;
    want(
        "get after overwrite",
        kv.get("greeting").map(|v| v.len()),
        Ok(11),
    )?;
    want("put b", kv.put("b", b"2"), Ok(()))?;
    let keys = kv.list(None).map_err(|e| format_text!("list: {e}"))?;
    let names: alloc::vec::Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
    want("list", names, alloc::vec!["b", "greeting"])?;
    let after = kv
        .list(Some("b"))
        .map_err(|e| format_text!("list after: {e}"))?;
    want("list after b", after.len(), 1)?;
    want("stats", kv.stats(), Ok((2, 8 + 11 + 2)))?;
    want("delete", kv.delete("b"), Ok(()))?;
    want(
        "get deleted",
        kv.get("b").err(),
        Some(ClientError::Kv(KvError::NotFound)),
    )?;
    want(
        "delete twice",
        kv.delete("b"),
        Err(ClientError::Kv(KvError::NotFound)),
    )?;
    want(
        "empty key",
        kv.put("", b"x"),
        Err(ClientError::Kv(KvError::EmptyKey)),
    )?;
    want("delete greeting", kv.delete("greeting"), Ok(()))?;
    want("stats when empty", kv.stats(), Ok((0, 0)))
}

fn isolation(kv: &Client) -> Result<(), Why> {
    want(
        "get another client's key",
        kv.get("left-by-nstest").err(),
        Some(ClientError::Kv(KvError::NotFound)),
    )?;
    let keys = kv.list(None).map_err(|e| format_text!("list: {e}"))?;
    want("keys listed", keys.len(), 0)
}

fn key(i: u32) -> libsys::rt::TextBuf<256> {
    format_text!("q{i:03}")
}

fn quotas(kv: &Client) -> Result<(), Why> {
    for i in 0..QUOTA_KEYS {
        kv.put(key(i).as_str(), b"v")
            .map_err(|e| format_text!("put {i}: {e}"))?;
    }
    want(
        "one key over",
        kv.put("one-more", b"v"),
        Err(ClientError::Kv(KvError::QuotaKeys)),
    )?;
    want(
        "overwriting is not a new key",
        kv.put(key(0).as_str(), b"w"),
        Ok(()),
    )?;
    for i in 0..QUOTA_KEYS {
        kv.delete(key(i).as_str())
            .map_err(|e| format_text!("delete {i}: {e}"))?;
    }
    // Bytes: values of VALUE_MAX until the quota refuses one.
    let big = [0xabu8; VALUE_MAX];
    let fit = QUOTA_BYTES as usize / (4 + VALUE_MAX);
    for i in 0..fit as u32 {
        kv.put(key(i).as_str(), &big)
            .map_err(|e| format_text!("big put {i}: {e}"))?;
    }
    want(
        "bytes over",
        kv.put(key(fit as u32).as_str(), &big),
        Err(ClientError::Kv(KvError::QuotaBytes)),
    )?;
    want(
        "the refused put stored nothing",
        kv.get(key(fit as u32).as_str()).err(),
        Some(ClientError::Kv(KvError::NotFound)),
    )?;
    for i in 0..fit as u32 {
        kv.delete(key(i).as_str())
            .map_err(|e| format_text!("big delete {i}: {e}"))?;
    }
    let long_key = [b'k'; KEY_MAX + 1];
    let long_key = core::str::from_utf8(&long_key).unwrap_or("");
    want(
        "key too long",
        kv.put(long_key, b"v"),
        Err(ClientError::TooLong),
    )?;
    want(
        "value too long",
        kv.put("k", &[0u8; VALUE_MAX + 1]),
        Err(ClientError::TooLong),
    )?;
    want("stats after", kv.stats(), Ok((0, 0)))
}

fn malformed(kv: &Client) -> Result<(), Why> {
    let ep = names::lookup("kv").map_err(|e| format_text!("lookup: {e}"))?;
    // A value claiming VALUE_MAX + 1 bytes.
    let mut oversized = [0u8; 8];
    oversized[..5].copy_from_slice(&[0, 1, b'k', 0x81, 0x08]);
    let cases: [(&str, u32, &[u8]); 5] = [
        ("garbage", LABEL_REQUEST, &[0xff; 9]),
        ("no such variant", LABEL_REQUEST, &[9, 1, b'k']),
        ("truncated", LABEL_REQUEST, &[1, 5, b'k']),
        ("oversized value", LABEL_REQUEST, &oversized),
        ("not a request", 77, &[1, 1, b'k']),
    ];
    for (what, label, bytes) in cases {
        let length = ipc::write_payload(bytes).map_err(|e| format_text!("{e}"))?;
        let msg = Message::new(label).with_payload(length);
        match ep.call(&msg, FOREVER) {
            Ok(reply) if reply.label() == LABEL_BAD_REQUEST && reply.info.length == 0 => {}
            other => return Err(format_text!("{what}: {other:?}")),
        }
    }
    // A handle in a request: kv takes none, so the answer is a bad
    // request (the handle is closed), in either placement.
    let n =
        libsys::handle::Notification::create().map_err(|e| format_text!("notification: {e}"))?;
    let bytes = [1u8, 1, b'k'];
    let length = ipc::write_payload(&bytes).map_err(|e| format_text!("{e}"))?;
    let msg = Message::new(LABEL_REQUEST)
        .with_payload(length)
        .with_handles(&[n.raw()]);
    match ep.call(&msg, FOREVER) {
        Ok(reply) if reply.label() == LABEL_BAD_REQUEST => {}
        other => return Err(format_text!("a request with a handle: {other:?}")),
    }
    want("a good request after", kv.put("after", b"ok"), Ok(()))?;
    want(
        "and its value",
        kv.get("after").map(|v| v.to_vec()),
        Ok(b"ok".to_vec()),
    )?;
    want("clean up", kv.delete("after"), Ok(()))
}

/// Calls the second thread made.
static CALLS: AtomicU64 = AtomicU64::new(0);
/// The most calls it makes before giving up on seeing an error.
const CALLS_MAX: u64 = 1_000_000;

fn killed(kv: Client, target: Process) -> Result<(), Why> {
    kv.put("before", b"the kill")
        .map_err(|e| format_text!("put: {e}"))?;
    // The second client: calls until a call fails, then finds kv again.
    let worker = libsys::thread::spawn(|| {
        let first_error = hammer();
        let recovered = match first_error {
            Some(_) => recover(),
            None => false,
        };
        FIRST_ERROR.store(encode(first_error), Ordering::Relaxed);
        RECOVERED.store(recovered, Ordering::Relaxed);
    })
    .map_err(|e| format_text!("spawn: {e}"))?;
    while CALLS.load(Ordering::Relaxed) < 50 {
        libsys::time::sleep_ms(1);
    }
    target.kill().map_err(|e| format_text!("kill: {e}"))?;
    let first = kv.get("before").err();
    want(
        "this thread's next call",
        first,
        Some(ClientError::Rpc(RpcError::Sys(SysError::PeerDied))),
    )?;
    worker.join().map_err(|e| format_text!("join: {e}"))?;
    want(
        "the other thread's first error",
        FIRST_ERROR.load(Ordering::Relaxed),
        encode(Some(ClientError::Rpc(RpcError::Sys(SysError::PeerDied)))),
    )?;
    want(
        "the other thread found kv again",
        RECOVERED.load(Ordering::Relaxed),
        true,
    )?;
    let again = Client::connect().map_err(|e| format_text!("lookup after the restart: {e}"))?;
    want(
        "the restarted kv starts empty",
        again.get("before").err(),
        Some(ClientError::Kv(KvError::NotFound)),
    )?;
    want("put after", again.put("after", b"restart"), Ok(()))?;
    want(
        "get after",
        again.get("after").map(|v| v.to_vec()),
        Ok(b"restart".to_vec()),
    )
}

static FIRST_ERROR: AtomicU64 = AtomicU64::new(0);
static RECOVERED: AtomicBool = AtomicBool::new(false);

/// A small code for "which error" (0: none), to pass between threads.
fn encode(error: Option<ClientError>) -> u64 {
    match error {
        None => 0,
        Some(ClientError::Rpc(RpcError::Sys(e))) => 1000 + e as u64,
        Some(_) => 1,
    }
}

/// Gets a key until a call fails (the kill); the error.
fn hammer() -> Option<ClientError> {
    let kv = Client::connect().ok()?;
    for _ in 0..CALLS_MAX {
        match kv.get("before") {
            Ok(_) => {
                CALLS.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => return Some(e),
        }
    }
    None
}

/// Looks `kv` up again (waiting out the restart) and makes a call.
fn recover() -> bool {
    match names::lookup_wait("kv", 5_000) {
        Ok(ep) => Client::from_endpoint(ep).put("worker", b"back").is_ok(),
        Err(_) => false,
    }
}
