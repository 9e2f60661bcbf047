//! The user-mode tests of IPC, handles, notifications, pagers, IRQ and
//! port forwarding and the scheduler. The kernel's test runner starts it
//! with the first process's handles (all free memory, the IRQ control, the
//! I/O ports, the boot modules); it builds its partner processes itself,
//! from its own module, the way `init` builds servers — so `process_create`,
//! `map`, `handle_give` and `thread_start` are tested on the way.
//!
//! With no argument it is the driver and runs every test; with one it is a
//! partner: `echo <ep>`, `silent <ep>`, `idle`, `killer <process> <ms>`,
//! `touch <pages> <notification>`, `port`. The driver exits with its tally
//! (see `userland::Tally`).
#![no_std]
#![no_main]
// A test of the raw ABI, fenced: `unsafe` is denied here and allowed
// only in the modules below that say so, each because what it tests is
// the raw memory the kernel or a pager provides (the IPC buffer at its
// fixed address, pages mapped on demand at raw addresses, a device
// register page, a thread entry taking a raw pointer); each block has its
// SAFETY comment. Listed in docs/architecture.md, "`unsafe` stays in
// `libsys`".
#![deny(unsafe_code)]

extern crate alloc;

use libsys::abi::Handle;
use libsys::format_text;
use libsys::handle::{Borrowed, Notification, Process, Thread};
use libsys::mem::Memory;
use libsys::rt::TextBuf;
use threads::*;
use userland::Tally;

libsys::entry!(main);

type Why = TextBuf<256>;

macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err(format_text!($($arg)*));
        }
    };
}

/// Turns a system-call error into a test failure naming the step.
trait Step<T> {
    fn step(self, what: &str) -> Result<T, Why>;
}

impl<T, E: core::fmt::Display> Step<T> for Result<T, E> {
    fn step(self, what: &str) -> Result<T, Why> {
        self.map_err(|e| format_text!("{what}: {e}"))
    }
}

// Reads the HPET's register page it maps at a raw address.
#[allow(unsafe_code)]
mod devices;
mod env;
mod handles;
// Writes and reads payloads in the IPC buffer itself.
#[allow(unsafe_code)]
mod ipc;
// Touches pages its pager maps on demand, at raw addresses.
#[allow(unsafe_code)]
mod pager;
mod pagerestart;
// The partners take their handles from positional arguments, answer in
// the IPC buffer and touch demand-paged memory.
#[allow(unsafe_code)]
mod partner;
// A raw thread entry gets its shared state as a pointer.
#[allow(unsafe_code)]
mod sched;
// Checks where each thread's IPC buffer is.
#[allow(unsafe_code)]
mod threads;

use devices::*;
use env::*;
use handles::*;
use ipc::*;
use pager::*;
use pagerestart::*;
use partner::*;
use sched::*;

fn main(args: &str) -> u64 {
    let mut words = args.split_whitespace();
    let verb = words.next();
    let mut number = || {
        words
            .next()
            .and_then(|w| w.parse::<u64>().ok())
            .unwrap_or(0)
    };
    match verb {
        Some("echo") => echo(number()),
        Some("silent") => silent(number()),
        Some("idle") => idle(),
        Some("killer") => killer(number(), number()),
        Some("touch") => touch(number(), number()),
        Some("port") => {
            libsys::println!("reading port 0x61 without a grant");
            libsys::port::inb(0x61) as u64
        }
        _ => driver(),
    }
}

fn driver() -> u64 {
    let mut t = Tally::new();
    let Some(info) = libsys::env::init_info() else {
        t.check("InitInfo", Err(format_args!("no InitInfo mapped")));
        return t.status();
    };
    let Some(mem) = Memory::from_init(info) else {
        t.check("memory", Err(format_args!("no memory region")));
        return t.status();
    };
    let Some(module) = info.module("utest") else {
        t.check("own module", Err(format_args!("no utest module")));
        return t.status();
    };
    let Ok(deaths) = Notification::create() else {
        t.check("notification", Err(format_args!("cannot create one")));
        return t.status();
    };
    let mut env = Env {
        info,
        mem,
        // InitInfo's handles, lent: never closed.
        me: Borrowed::of(Handle(info.self_process), Process),
        my_thread: Borrowed::of(Handle(info.self_thread), Thread),
        module: (Handle(module.handle), module.size),
        deaths,
    };
    libsys::println!(
        "utest: {} pages of memory, {} modules",
        env.mem.available(),
        info.module_count
    );
    t.record(
        "ipc: register messages, call/reply ping-pong",
        ping_pong(&mut env),
    );
    t.record("ipc: 4 KiB and 256-byte payloads", payloads(&mut env));
    t.record(
        "ipc: replies through saved rights (reply_to_recv), one given up",
        saved_replies(&mut env),
    );
    t.record(
        "ipc: handle transfer (copy and move), badges, GRANT",
        transfer(&mut env),
    );
    bad_handles(&mut env, &mut t);
    t.record("ipc: timeouts (recv, call, wait, poll)", timeouts(&mut env));
    t.record(
        "ipc: PeerDied when the server dies holding the call",
        peer_died_in_call(&mut env),
    );
    t.record(
        "ipc: PeerDied when the last receiver dies, and at once after",
        peer_died_queued(&mut env),
    );
    t.record(
        "pager: maps zero pages on demand for another process",
        pager(&mut env),
    );
    t.record(
        "pager: a kill answer kills the faulting process",
        pager_kill(&mut env),
    );
    t.record(
        "processes: one killed before it first runs, or that never had a thread, still dies",
        killed_before_running(&mut env),
    );
    t.record(
        "pager: a process's new thread inherits its maker's pager; map can replace a page; process_info",
        pager_inherited(&mut env),
    );
    t.record(
        "pager: a fault whose pager is gone waits, and completes when a pager returns",
        pager_restarts(&mut env),
    );
    t.record(
        "pager: a fault waits at most 5 s for a pager that is gone, then the process is killed",
        pager_absent_timeout(&mut env),
    );
    t.record(
        "irq: PIT interrupts forwarded to a notification, and to two handlers of a shared line",
        irq_pit(&mut env),
    );
    t.record(
        "irq: MSI vectors from the pool (messages, bind/ack, per-process limit, freed on close)",
        irq_msi(&mut env),
    );
    t.record(
        "devices: device memory (the HPET) maps uncached; RAM, the local APIC and bad ranges are refused",
        device_memory(&mut env),
    );
    t.record(
        "ports: an ungranted port kills the process",
        port_kill(&mut env),
    );
    t.record(
        "sched: nice 0 vs nice 5 share the CPU by their weights",
        fairness(&mut env),
    );
    t.record(
        "threads: each its own IPC buffer (thread-local block); tls_set refuses kernel addresses",
        thread_buffers(),
    );
    t.record(
        "sync: a Mutex shared by three threads loses no update",
        mutex_contention(),
    );
    t.record(
        "sync: Condvar hands items from a producer to a waiting consumer; wait_timeout times out",
        condvar_handoff(),
    );
    t.status()
}
