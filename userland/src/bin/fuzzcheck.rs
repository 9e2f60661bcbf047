//! `fuzzcheck`: after a fuzz run, does the system still serve? `init`
//! starts it after the fuzzers (`manifest.fuzz`, and the `fuzz` case of
//! `make test`), so that it runs at all proves a new program can still be
//! started: built by `init`, paged by `mm`, found through the name
//! service. Then each server must answer a real request:
//!
//! - the name service: looking up every server;
//! - `kv`: a put, a get of the same value, a delete;
//! - `timer`: jiffies and `CLOCK_MONOTONIC`, both moving forward, and a
//!   10 ms sleep;
//! - `mm`: this process's and the system's statistics, an anonymous page
//!   mapped and unmapped, fresh heap pages faulted in;
//! - `wait1`: a non-blocking write and read, and its statistics.
//!
//! Each is one check line; a failure is a failed check of the run.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use libsys::abi::Protection;
use libsys::format_text;
use libsys::proto::timer::CLOCK_MONOTONIC;
use libsys::proto::{kv, timer, wait1};
use userland::{want, Tally, Why};

libsys::entry!(main);

fn main(_args: &str) -> u64 {
    let mut t = Tally::new();
    t.check(
        "fuzzcheck: init started a new program after the fuzz run",
        Ok(()),
    );
    t.record("fuzzcheck: the name service finds every server", names());
    t.record(
        "fuzzcheck: kv stores, returns and deletes a value",
        kv_answers(),
    );
    t.record(
        "fuzzcheck: timer gives jiffies, MONOTONIC and sleeps",
        timer_answers(),
    );
    t.record(
        "fuzzcheck: mm gives statistics and maps a page",
        mm_answers(),
    );
    t.record("fuzzcheck: wait1 takes and gives bytes", wait1_answers());
    t.status()
}

fn names() -> Result<(), Why> {
    for name in ["mm", "timer", "kv", "wait1"] {
        libsys::names::lookup_wait(name, 2_000).map_err(|e| format_text!("lookup {name}: {e}"))?;
    }
    want(
        "lookup of a name no server has",
        libsys::names::lookup("no-such-server").err(),
        Some(libsys::names::NameError::NotFound),
    )
}

fn kv_answers() -> Result<(), Why> {
    let kv = kv::Client::connect().map_err(|e| format_text!("connect: {e}"))?;
    want("put", kv.put("fuzzcheck", b"still here"), Ok(()))?;
    want(
        "get",
        kv.get("fuzzcheck").map(|v| v.to_vec()),
        Ok(b"still here".to_vec()),
    )?;
    want("delete", kv.delete("fuzzcheck"), Ok(()))
}

fn timer_answers() -> Result<(), Why> {
    let timer = timer::Client::connect().map_err(|e| format_text!("connect: {e}"))?;
    let j1 = timer.jiffies().map_err(|e| format_text!("jiffies: {e}"))?;
    let m1 = timer
        .clock_gettime(CLOCK_MONOTONIC)
        .map_err(|e| format_text!("MONOTONIC: {e}"))?;
    timer
        .sleep(10_000_000)
        .map_err(|e| format_text!("sleep: {e}"))?;
    let j2 = timer.jiffies().map_err(|e| format_text!("jiffies: {e}"))?;
    let m2 = timer
        .clock_gettime(CLOCK_MONOTONIC)
        .map_err(|e| format_text!("MONOTONIC: {e}"))?;
    if j2 <= j1 || m2 <= m1 {
        return Err(format_text!(
            "time did not move over a 10 ms sleep: jiffies {j1} -> {j2}, MONOTONIC {m1:?} -> {m2:?}"
        ));
    }
    Ok(())
}

fn mm_answers() -> Result<(), Why> {
    libsys::mm::stats().map_err(|e| format_text!("stats: {e:?}"))?;
    let system = libsys::mm::system_stats().map_err(|e| format_text!("system stats: {e:?}"))?;
    libsys::println!("fuzzcheck: mm: {system:?}");
    let rw = Protection::READ | Protection::WRITE;
    let at = libsys::mm::mmap(None, 1, rw, false).map_err(|e| format_text!("mmap: {e:?}"))?;
    libsys::mm::munmap(at, 1).map_err(|e| format_text!("munmap: {e:?}"))?;
    // Fresh heap pages, faulted in through mm.
    let pages = alloc::vec![0x5au8; 3 * 4096];
    want(
        "a vector from fresh heap pages",
        pages.iter().map(|&b| u64::from(b)).sum::<u64>(),
        3 * 4096 * 0x5a,
    )
}

fn wait1_answers() -> Result<(), Why> {
    let wait1 = wait1::Client::connect().map_err(|e| format_text!("connect: {e}"))?;
    // What the fuzzer wrote may still be buffered.
    for _ in 0..=wait1::RING_SIZE / wait1::READ_MAX {
        if wait1.read_nonblock(wait1::READ_MAX).is_err() {
            break;
        }
    }
    want("write", wait1.write_nonblock(b"check"), Ok(5))?;
    let data = wait1
        .read_nonblock(5)
        .map_err(|e| format_text!("read: {e}"))?;
    want("read", &data[..], &b"check"[..])?;
    wait1.stats().map_err(|e| format_text!("stats: {e}"))?;
    Ok(())
}
