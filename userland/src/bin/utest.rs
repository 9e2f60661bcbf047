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

extern crate alloc;

use core::mem::ManuallyDrop;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use libsys::abi::ipc::{FOREVER, LABEL_PAGE_FAULT, PAGER_KILL, PAGER_RESUME, POLL};
use libsys::abi::{
    Handle, InitInfo, MsgInfo, ObjectType, ProcessStatus, Protection, Rights, SysError, Syscall,
};
use libsys::format_text;
use libsys::handle::{
    Endpoint, IoPorts, IrqControl, MemoryRegion, Notification, OwnedHandle, Process, Thread,
};
use libsys::ipc::{self, Message};
use libsys::mem::Memory;
use libsys::rt::TextBuf;
use libsys::spawn::{Builder, Child};
use libsys::syscall::{self, call6, raw, rdtsc};
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

const LABEL_ADD: u32 = 1;
const LABEL_PAYLOAD: u32 = 2;
const LABEL_BADGE: u32 = 3;
const LABEL_HANDLE: u32 = 4;
const LABEL_QUIT: u32 = 5;

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

// ---------------------------------------------------------------------
// Partners

fn handle(raw: u64) -> Handle {
    Handle(raw as u32)
}

/// Answers calls on `ep` until told to quit (see the labels).
fn echo(ep: u64) -> u64 {
    // SAFETY: the driver gave us this handle in our arguments; ours alone.
    let ep = unsafe { Endpoint::from_raw(handle(ep)) };
    let Ok(mut got) = ep.recv(FOREVER) else {
        return 1;
    };
    loop {
        let msg = got.msg;
        let answer = match msg.label() {
            LABEL_ADD => Message::new(msg.label() + 1).with_words(msg.words.map(|w| w + 1)),
            LABEL_PAYLOAD => {
                let n = msg.info.length as usize;
                // SAFETY: the main thread's buffer; no reference is held
                // across the next IPC call.
                let buffer = unsafe { ipc::buffer() };
                buffer[..n].reverse();
                Message::new(LABEL_PAYLOAD).with_payload(n as u16)
            }
            LABEL_BADGE => Message::new(LABEL_BADGE).with_words([got.badge, 0, 0, 0, 0, 0]),
            LABEL_HANDLE => {
                let theirs = msg.handles().first().copied().unwrap_or(0);
                // SAFETY: the kernel just put this handle into our table.
                let n = unsafe { Notification::from_raw(handle(theirs)) };
                let signalled = n.signal(msg.words[0]).is_ok();
                Message::new(LABEL_HANDLE).with_words([signalled as u64, theirs, 0, 0, 0, 0])
            }
            LABEL_QUIT => {
                let _ = ipc::reply(&Message::new(LABEL_QUIT));
                return 0;
            }
            _ => Message::new(0),
        };
        match ep.reply_recv(&answer, FOREVER) {
            Ok(next) => got = next,
            Err(_) => return 2,
        }
    }
}

/// Takes one call and never answers it.
fn silent(ep: u64) -> u64 {
    // SAFETY: as in `echo`.
    let ep = unsafe { Endpoint::from_raw(handle(ep)) };
    let _ = ep.recv(FOREVER);
    idle()
}

/// Waits forever (until killed).
fn idle() -> u64 {
    if let Ok(never) = Notification::create() {
        let _ = never.wait(FOREVER);
    }
    3
}

/// Waits `ms` milliseconds, then kills `process`.
fn killer(process: u64, ms: u64) -> u64 {
    // SAFETY: as in `echo`.
    let process = unsafe { Process::from_raw(handle(process)) };
    sleep_ms(ms);
    process.kill().map_or(1, |()| 0)
}

/// The first page `touch` uses: nothing is mapped there until its pager
/// maps it.
const DEMAND_BASE: u64 = 0x6000_0000_0000;

/// Writes then reads back `pages` pages from [`DEMAND_BASE`], each mapped
/// on demand by the pager; signals `done` with bit 0 (all read back) or
/// bit 1.
fn touch(pages: u64, done: u64) -> u64 {
    // SAFETY: as in `echo`.
    let done = unsafe { Notification::from_raw(handle(done)) };
    for i in 0..pages {
        // SAFETY: the page faults, the pager maps it, and the write runs
        // again; nothing else uses this range.
        unsafe { ((DEMAND_BASE + i * 4096 + 8 * i) as *mut u64).write_volatile(0x7007_0000 + i) };
    }
    // SAFETY: as above; each page is mapped by now.
    let good = (0..pages).all(|i| unsafe { ((DEMAND_BASE + i * 4096 + 8 * i) as *const u64).read_volatile() } == 0x7007_0000 + i);
    let _ = done.signal(if good { 1 } else { 2 });
    0
}

fn sleep_ms(ms: u64) {
    if let Ok(n) = Notification::create() {
        let _ = n.wait(ms * 1_000_000);
    }
}

// ---------------------------------------------------------------------
// The driver

/// What the driver works with.
struct Env {
    info: &'static InitInfo,
    mem: Memory,
    me: ManuallyDrop<Process>,
    my_thread: ManuallyDrop<Thread>,
    module: (Handle, u64),
    /// Signalled (bit 0) by watched partners' deaths.
    deaths: Notification,
}

impl Env {
    /// Starts `utest <args>` with copies of `gifts`; `args` gets the
    /// child's numbers of the gifts.
    fn child(
        &mut self,
        gifts: &[(Handle, Rights)],
        args: impl Fn(&[Handle]) -> TextBuf<256>,
        pager: Option<Handle>,
    ) -> Result<Child, Why> {
        let mut builder = Builder::new(&mut self.mem, "utest-child", self.module.0, self.module.1)
            .step("build a partner")?;
        if let Some(pager) = pager {
            builder = builder.pager(pager);
        }
        let mut theirs = [Handle(0); 4];
        for (i, (h, rights)) in gifts.iter().enumerate() {
            theirs[i] = builder.give(*h, *rights).step("give a handle")?;
        }
        let args = args(&theirs[..gifts.len()]);
        let child = builder.start(args.as_str()).step("start a partner")?;
        child
            .process
            .watch(&self.deaths, 1)
            .step("watch a partner")?;
        Ok(child)
    }

    /// Waits (up to 5 s) for `process` to die; returns how it ended.
    fn reap(&self, process: &Process) -> Result<ProcessStatus, Why> {
        let start = rdtsc();
        let tsc_hz = syscall::clock().map_or(1_000_000_000, |c| c.tsc_hz);
        loop {
            let status = process.status().step("process_status")?;
            if status != ProcessStatus::Alive {
                return Ok(status);
            }
            ensure!(
                rdtsc() - start < 5 * tsc_hz,
                "a partner did not die within 5 s"
            );
            let _ = self.deaths.wait(50_000_000);
        }
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
        // SAFETY: InitInfo's handles are this process's; ManuallyDrop keeps
        // them from being closed.
        me: ManuallyDrop::new(unsafe { Process::from_raw(Handle(info.self_process)) }),
        // SAFETY: as above.
        my_thread: ManuallyDrop::new(unsafe { Thread::from_raw(Handle(info.self_thread)) }),
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
        "irq: PIT interrupts forwarded to a notification, and to two handlers of a shared line",
        irq_pit(&mut env),
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

fn mutex_contention() -> Result<(), Why> {
    use libsys::sync::Mutex;
    const ROUNDS: u64 = 3000;
    static COUNT: Mutex<u64> = Mutex::new(0);
    let workers = (0..3)
        .map(|_| {
            libsys::thread::spawn(|| {
                for i in 0..ROUNDS {
                    let mut count = COUNT.lock();
                    let seen = *count;
                    if i % 64 == 0 {
                        // Give up the CPU inside the critical section, so
                        // the others find the lock held and must wait.
                        syscall::yield_now();
                    }
                    *count = seen + 1;
                }
            })
        })
        .collect::<alloc::vec::Vec<_>>();
    for worker in workers {
        worker.step("spawn")?.join().step("join")?;
    }
    let total = *COUNT.lock();
    ensure!(
        total == 3 * ROUNDS,
        "{total} updates, expected {}",
        3 * ROUNDS
    );
    Ok(())
}

fn condvar_handoff() -> Result<(), Why> {
    use libsys::sync::{Condvar, Mutex};
    const ITEMS: u64 = 200;
    /// (items made, items taken, the sum taken).
    static STATE: Mutex<(u64, u64, u64)> = Mutex::new((0, 0, 0));
    static MORE: Condvar = Condvar::new();
    let consumer = libsys::thread::spawn(|| {
        let mut state = STATE.lock();
        while state.1 < ITEMS {
            while state.0 == state.1 {
                state = MORE.wait(state);
            }
            state.1 += 1;
            state.2 += state.1;
        }
    })
    .step("spawn the consumer")?;
    for _ in 0..ITEMS {
        STATE.lock().0 += 1;
        MORE.notify_one();
        if STATE.lock().0 % 16 == 0 {
            syscall::yield_now();
        }
    }
    consumer.join().step("join")?;
    let (made, taken, sum) = *STATE.lock();
    ensure!(
        made == ITEMS && taken == ITEMS && sum == ITEMS * (ITEMS + 1) / 2,
        "made {made}, taken {taken}, sum {sum}"
    );
    let start = libsys::time::uptime_ns();
    let (guard, timed_out) = MORE.wait_timeout(STATE.lock(), 20_000_000);
    drop(guard);
    let waited = libsys::time::uptime_ns() - start;
    ensure!(
        timed_out && waited >= 16_000_000,
        "wait_timeout(20 ms) returned after {waited} ns, timed out: {timed_out}"
    );
    Ok(())
}

fn thread_buffers() -> Result<(), Why> {
    static SEEN: AtomicU64 = AtomicU64::new(0);
    // SAFETY: only its address is taken.
    let main_buffer = unsafe { ipc::buffer() }.as_ptr() as u64;
    ensure!(
        main_buffer == libsys::abi::IPC_BUFFER_ADDR,
        "the main thread's buffer is at {main_buffer:#x}"
    );
    let thread = libsys::thread::spawn(|| {
        // SAFETY: this thread's own buffer, not held across a call.
        let buffer = unsafe { ipc::buffer() };
        buffer[0] = 0x5a;
        SEEN.store(buffer.as_ptr() as u64, Ordering::Relaxed);
    })
    .step("spawn a thread")?;
    thread.join().step("join it")?;
    let seen = SEEN.load(Ordering::Relaxed);
    ensure!(
        seen != 0 && seen != main_buffer && seen % 4096 == 0,
        "the thread's buffer was at {seen:#x}"
    );
    for bad in [0xffff_8000_0000_0000u64, 0x0000_8000_0000_0000, u64::MAX] {
        let result = call6(Syscall::TlsSet, [bad, 0, 0, 0, 0, 0]);
        ensure!(
            result == Err(SysError::BadAddress),
            "tls_set({bad:#x}) gave {result:?}"
        );
    }
    // SAFETY: as above.
    let still = unsafe { ipc::buffer() }.as_ptr() as u64;
    ensure!(still == main_buffer, "a refused tls_set changed the block");
    Ok(())
}

fn ping_pong(env: &mut Env) -> Result<(), Why> {
    let ep = Endpoint::create().step("endpoint_create")?;
    let child = env.child(
        &[(ep.raw(), Rights::RECV)],
        |h| format_text!("echo {}", h[0].0),
        None,
    )?;
    for i in 0..100u64 {
        let msg = Message::new(LABEL_ADD).with_words([i, i * 2, i * 3, i * 4, i * 5, u64::MAX - i]);
        let reply = ep.call(&msg, FOREVER).step("call")?;
        ensure!(
            reply.label() == LABEL_ADD + 1,
            "reply label {}",
            reply.label()
        );
        let want = msg.words.map(|w| w.wrapping_add(1));
        ensure!(
            reply.words == want,
            "round {i}: words {:?}, expected {want:?}",
            reply.words
        );
    }
    quit(env, &ep, &child)
}

/// Tells an echo partner to quit and checks it exited cleanly.
fn quit(env: &Env, ep: &Endpoint, child: &Child) -> Result<(), Why> {
    ep.call(&Message::new(LABEL_QUIT), FOREVER).step("quit")?;
    let status = env.reap(&child.process)?;
    ensure!(
        status == ProcessStatus::Exited(0),
        "the echo partner ended {status:?}"
    );
    Ok(())
}

fn payloads(env: &mut Env) -> Result<(), Why> {
    let ep = Endpoint::create().step("endpoint_create")?;
    let child = env.child(
        &[(ep.raw(), Rights::RECV)],
        |h| format_text!("echo {}", h[0].0),
        None,
    )?;
    for length in [256usize, 4096] {
        // SAFETY: the main thread's buffer, not held across the call.
        let buffer = unsafe { ipc::buffer() };
        for (i, b) in buffer[..length].iter_mut().enumerate() {
            *b = (i * 7 % 251) as u8;
        }
        let reply = ep
            .call(
                &Message::new(LABEL_PAYLOAD).with_payload(length as u16),
                FOREVER,
            )
            .step("call with a payload")?;
        ensure!(
            reply.info.length as usize == length,
            "reply of {} bytes",
            reply.info.length
        );
        // SAFETY: as above.
        let buffer = unsafe { ipc::buffer() };
        let bad = (0..length).find(|&i| buffer[i] != ((length - 1 - i) * 7 % 251) as u8);
        ensure!(
            bad.is_none(),
            "{length}-byte payload differs at byte {bad:?}"
        );
    }
    // A payload longer than a page is refused before anything is sent.
    let raw = MsgInfo::new(LABEL_PAYLOAD).encode() | 4097 << 32;
    let regs = raw::IpcRegs {
        info: raw,
        rdx: FOREVER,
        ..Default::default()
    };
    // SAFETY: the kernel refuses the message; nothing is written.
    let (status, _) = unsafe { raw::ipc(Syscall::Call as u64, u64::from(ep.raw().0), regs) };
    ensure!(
        status == SysError::BadLength as u64,
        "a 4097-byte payload gave status {status}"
    );
    quit(env, &ep, &child)
}

fn transfer(env: &mut Env) -> Result<(), Why> {
    let ep = Endpoint::create().step("endpoint_create")?;
    let child = env.child(
        &[(ep.raw(), Rights::RECV)],
        |h| format_text!("echo {}", h[0].0),
        None,
    )?;
    // Copy: the partner signals the notification we sent; ours stays.
    let n = Notification::create().step("notification_create")?;
    let msg = Message::new(LABEL_HANDLE)
        .with_words([0x55, 0, 0, 0, 0, 0])
        .with_handles(&[n.raw()]);
    let reply = ep.call(&msg, FOREVER).step("call with a handle")?;
    ensure!(
        reply.words[0] == 1,
        "the partner could not signal the handle it got"
    );
    ensure!(
        n.poll().step("poll")? == 0x55,
        "the transferred notification was not signalled"
    );
    ensure!(
        n.0.info().is_ok(),
        "a copied handle was closed in the sender"
    );
    // Move: the sender's handle is gone afterwards.
    let moved = Notification::create().step("notification_create")?;
    let raw = moved.raw();
    let msg = Message::new(LABEL_HANDLE)
        .with_words([1, 0, 0, 0, 0, 0])
        .with_handles(&[raw])
        .moving_handles();
    ep.call(&msg, FOREVER).step("call moving a handle")?;
    let gone = call6(Syscall::HandleInfo, [u64::from(raw.0), 0, 0, 0, 0, 0]);
    ensure!(
        gone == Err(SysError::BadHandle),
        "a moved handle still works in the sender: {gone:?}"
    );
    core::mem::forget(moved);
    // Badges: a minted handle's badge reaches the receiver.
    let badged = ep.dup(Rights::SEND, Some(42)).step("mint a badge")?;
    let reply = badged
        .call(&Message::new(LABEL_BADGE), FOREVER)
        .step("call through the badge")?;
    ensure!(
        reply.words[0] == 42,
        "the partner saw badge {}",
        reply.words[0]
    );
    let plain = ep.call(&Message::new(LABEL_BADGE), FOREVER).step("call")?;
    ensure!(
        plain.words[0] == 0,
        "the original handle has badge {}",
        plain.words[0]
    );
    ensure!(
        badged.dup(Rights::SEND, Some(7)) == Err(SysError::NoRights),
        "re-badged a handle without MINT"
    );
    ensure!(
        ep.dup(
            Rights::SEND | Rights::RECV | Rights::GRANT | Rights::MINT | Rights::MANAGE,
            None
        ) == Err(SysError::NoRights),
        "a dup gained a right"
    );
    // Without GRANT, handles cannot be sent.
    let no_grant = ep.dup(Rights::SEND, None).step("dup")?;
    let msg = Message::new(LABEL_HANDLE).with_handles(&[n.raw()]);
    ensure!(
        no_grant.call(&msg, FOREVER) == Err(SysError::NoRights),
        "sent a handle without GRANT"
    );
    let msg = Message::new(LABEL_HANDLE).with_handles(&[Handle::new(900, 3)]);
    ensure!(
        ep.call(&msg, FOREVER) == Err(SysError::BadHandle),
        "sent a forged handle"
    );
    quit(env, &ep, &child)
}

/// A handle-taking call, the argument it takes the handle in, the object
/// type it wants, and the right it needs (None: any handle will do).
struct HandleCall {
    call: Syscall,
    kind: ObjectType,
    needs: Option<Rights>,
    ipc: bool,
}

const fn hc(call: Syscall, kind: ObjectType, needs: Option<Rights>) -> HandleCall {
    HandleCall {
        call,
        kind,
        needs,
        ipc: false,
    }
}

const fn ipc_call(call: Syscall, needs: Rights) -> HandleCall {
    HandleCall {
        call,
        kind: ObjectType::Endpoint,
        needs: Some(needs),
        ipc: true,
    }
}

/// Every system call that takes a handle in its first argument.
const HANDLE_CALLS: &[HandleCall] = &[
    ipc_call(Syscall::Send, Rights::SEND),
    ipc_call(Syscall::Call, Rights::SEND),
    ipc_call(Syscall::Recv, Rights::RECV),
    ipc_call(Syscall::ReplyRecv, Rights::RECV),
    hc(
        Syscall::Signal,
        ObjectType::Notification,
        Some(Rights::SEND),
    ),
    hc(Syscall::Wait, ObjectType::Notification, Some(Rights::RECV)),
    hc(Syscall::Poll, ObjectType::Notification, Some(Rights::RECV)),
    hc(
        Syscall::NotificationBind,
        ObjectType::Notification,
        Some(Rights::RECV),
    ),
    hc(Syscall::Map, ObjectType::Process, Some(Rights::MAP)),
    hc(Syscall::Unmap, ObjectType::Process, Some(Rights::MAP)),
    hc(Syscall::Protect, ObjectType::Process, Some(Rights::MAP)),
    hc(
        Syscall::ThreadCreate,
        ObjectType::Process,
        Some(Rights::MANAGE),
    ),
    hc(Syscall::Kill, ObjectType::Process, Some(Rights::MANAGE)),
    hc(
        Syscall::HandleGive,
        ObjectType::Process,
        Some(Rights::MANAGE),
    ),
    hc(
        Syscall::ProcessWatch,
        ObjectType::Process,
        Some(Rights::MANAGE),
    ),
    hc(Syscall::ProcessStatus, ObjectType::Process, None),
    hc(
        Syscall::ThreadStart,
        ObjectType::Thread,
        Some(Rights::MANAGE),
    ),
    hc(Syscall::SetSched, ObjectType::Thread, Some(Rights::MANAGE)),
    hc(Syscall::SetPager, ObjectType::Thread, Some(Rights::MANAGE)),
    hc(Syscall::ThreadStats, ObjectType::Thread, None),
    hc(
        Syscall::IrqGet,
        ObjectType::IrqControl,
        Some(Rights::MANAGE),
    ),
    hc(Syscall::IrqBind, ObjectType::Irq, Some(Rights::MANAGE)),
    hc(Syscall::IrqAck, ObjectType::Irq, Some(Rights::MANAGE)),
    hc(Syscall::IrqInfo, ObjectType::Irq, None),
    hc(
        Syscall::IoportGrant,
        ObjectType::IoPorts,
        Some(Rights::MANAGE),
    ),
    hc(
        Syscall::IoportDerive,
        ObjectType::IoPorts,
        Some(Rights::MANAGE),
    ),
    hc(
        Syscall::RegionDerive,
        ObjectType::MemoryRegion,
        Some(Rights::MANAGE),
    ),
    hc(Syscall::RegionInfo, ObjectType::MemoryRegion, None),
    hc(
        Syscall::DeviceRegion,
        ObjectType::DeviceControl,
        Some(Rights::MANAGE),
    ),
    hc(Syscall::HandleInfo, ObjectType::Endpoint, None),
    hc(Syscall::HandleDup, ObjectType::Endpoint, None),
    hc(Syscall::HandleClose, ObjectType::Endpoint, None),
];

/// Makes the calls of [`HANDLE_CALLS`] with a forged, a closed, a
/// wrong-type and an under-righted handle; each must fail with its error
/// and change nothing.
fn bad_handles(env: &mut Env, t: &mut Tally) {
    let result = (|| -> Result<(), Why> {
        let scratch = [0u64; 8];
        let out = scratch.as_ptr() as u64;
        let ep = Endpoint::create().step("endpoint_create")?;
        let n = Notification::create().step("notification_create")?;
        let irqc = ManuallyDrop::new(unsafe_irq_control(env.info));
        let irq = irqc.isa(4).step("irq_get")?;
        let ports = ManuallyDrop::new(unsafe_io_ports(env.info));
        let region = MemoryRegion(env.mem_region_dup()?);
        let closed = Endpoint::create().step("endpoint_create")?.0.into_raw();
        call6(Syscall::HandleClose, [u64::from(closed.0), 0, 0, 0, 0, 0]).step("close")?;
        // A handle of each type without the right the call needs.
        let weak = |kind: ObjectType, needs: Rights| -> Result<OwnedHandle, Why> {
            let full = match kind {
                ObjectType::Endpoint => ep.raw(),
                ObjectType::Notification => n.raw(),
                ObjectType::Process => env.me.raw(),
                ObjectType::Thread => env.my_thread.raw(),
                ObjectType::Irq => irq.raw(),
                ObjectType::IrqControl => irqc.raw(),
                ObjectType::DeviceControl => Handle(env.info.device_control),
                ObjectType::IoPorts => ports.raw(),
                ObjectType::MemoryRegion => region.raw(),
                // No call of HANDLE_CALLS takes a kernel service or a
                // saved reply.
                ObjectType::Service | ObjectType::Reply => ep.raw(),
            };
            let rights = Rights::all() - needs;
            // SAFETY: a dup below fails or gives us a new handle of our own.
            let borrowed = ManuallyDrop::new(unsafe { OwnedHandle::from_raw(full) });
            let (_, held) = borrowed.info().step("handle_info")?;
            borrowed
                .dup(held & rights, None)
                .step("dup without the right")
        };
        for hcall in HANDLE_CALLS {
            let wrong = if hcall.kind == ObjectType::Notification {
                ep.raw()
            } else {
                n.raw()
            };
            let mut cases: [(Handle, SysError); 5] = [
                (Handle(0), SysError::BadHandle),
                (Handle::new(777, 9), SysError::BadHandle),
                (closed, SysError::BadHandle),
                (wrong, SysError::WrongType),
                (Handle(0), SysError::BadHandle),
            ];
            let weak_handle = match hcall.needs {
                Some(needs) => {
                    let w = weak(hcall.kind, needs)?;
                    cases[4] = (w.raw(), SysError::NoRights);
                    Some(w)
                }
                None => None,
            };
            // HandleInfo, HandleDup and HandleClose take any type.
            let any_type = matches!(
                hcall.call,
                Syscall::HandleInfo | Syscall::HandleDup | Syscall::HandleClose
            );
            for (h, want) in cases {
                if any_type && want == SysError::WrongType {
                    continue;
                }
                let got = if hcall.ipc {
                    let regs = raw::IpcRegs {
                        info: 0,
                        rdx: POLL,
                        ..Default::default()
                    };
                    // SAFETY: every case is refused before the kernel does
                    // anything.
                    let (status, _) = unsafe { raw::ipc(hcall.call as u64, u64::from(h.0), regs) };
                    libsys::abi::decode_result(status, 0)
                } else {
                    // Valid-looking other arguments: a notification, one
                    // page at a free address, a user pointer to scratch.
                    let args = match hcall.call {
                        Syscall::Map => [
                            u64::from(h.0),
                            0x7000_0000_0000,
                            u64::from(region.raw().0),
                            0,
                            1,
                            1,
                        ],
                        Syscall::IrqBind | Syscall::ProcessWatch => {
                            [u64::from(h.0), u64::from(n.raw().0), 1, 0, 0, 0]
                        }
                        Syscall::HandleGive => [u64::from(h.0), u64::from(n.raw().0), 0, 0, 0, 0],
                        Syscall::ThreadStats | Syscall::IrqInfo | Syscall::RegionInfo => {
                            [u64::from(h.0), out, 0, 0, 0, 0]
                        }
                        Syscall::Unmap | Syscall::Protect => {
                            [u64::from(h.0), 0x7000_0000_0000, 1, 1, 0, 0]
                        }
                        Syscall::IoportGrant | Syscall::IoportDerive => {
                            [u64::from(h.0), 0x80, 1, 0, 0, 0]
                        }
                        Syscall::RegionDerive => [u64::from(h.0), 0, 1, 1, 0, 0],
                        Syscall::IrqGet => [u64::from(h.0), 4, 1, 0, 0, 0],
                        Syscall::NotificationBind => {
                            [u64::from(h.0), u64::from(env.my_thread.raw().0), 0, 0, 0, 0]
                        }
                        Syscall::ThreadStart => [u64::from(h.0), 0x40_0000, USER_STACK, 0, 0, 0],
                        _ => [u64::from(h.0), 0, 0, 0, 0, 0],
                    };
                    call6(hcall.call, args)
                };
                ensure!(
                    got == Err(want),
                    "{:?} with handle {:#x}: {got:?}, expected {want:?}",
                    hcall.call,
                    h.0
                );
            }
            drop(weak_handle);
        }
        Ok(())
    })();
    t.record("handles: every handle-taking call refuses forged, closed, wrong-type and under-righted handles", result);
}

const USER_STACK: u64 = libsys::abi::USER_STACK_TOP - 4096;

fn unsafe_irq_control(info: &InitInfo) -> IrqControl {
    // SAFETY: InitInfo's handle; the caller keeps it in a ManuallyDrop.
    unsafe { IrqControl::from_raw(Handle(info.irq_control)) }
}

fn unsafe_io_ports(info: &InitInfo) -> IoPorts {
    // SAFETY: as above.
    unsafe { IoPorts::from_raw(Handle(info.io_ports)) }
}

impl Env {
    /// A copy of the memory region handle (READ, WRITE, MANAGE).
    fn mem_region_dup(&self) -> Result<OwnedHandle, Why> {
        let region = self
            .info
            .regions()
            .iter()
            .max_by_key(|r| r.pages)
            .map(|r| r.handle)
            .unwrap_or(0);
        // SAFETY: borrowed for the dup only.
        let borrowed = ManuallyDrop::new(unsafe { OwnedHandle::from_raw(Handle(region)) });
        borrowed
            .dup(Rights::READ | Rights::WRITE | Rights::MANAGE, None)
            .step("dup the region")
    }
}

fn timeouts(env: &mut Env) -> Result<(), Why> {
    let tsc_hz = syscall::clock().step("clock")?.tsc_hz;
    let ms = |ticks: u64| ticks * 1000 / tsc_hz;
    let ep = Endpoint::create().step("endpoint_create")?;
    let start = rdtsc();
    ensure!(
        ep.recv(20_000_000) == Err(SysError::TimedOut),
        "recv with a 20 ms timeout did not time out"
    );
    let waited = ms(rdtsc() - start);
    ensure!(
        (20..200).contains(&waited),
        "a 20 ms recv timeout took {waited} ms"
    );
    ensure!(
        ep.recv(POLL) == Err(SysError::WouldBlock),
        "a polling recv did not refuse"
    );
    ensure!(
        ep.send(&Message::new(1), POLL) == Err(SysError::WouldBlock),
        "a polling send did not refuse"
    );
    let n = Notification::create().step("notification_create")?;
    let start = rdtsc();
    ensure!(
        n.wait(10_000_000) == Err(SysError::TimedOut),
        "wait did not time out"
    );
    ensure!(ms(rdtsc() - start) >= 10, "a 10 ms wait returned early");
    ensure!(
        n.wait(POLL) == Err(SysError::WouldBlock),
        "a polling wait did not refuse"
    );
    ensure!(n.poll() == Ok(0), "poll of nothing");
    // A server that never replies: the client's call times out.
    let child = env.child(
        &[(ep.raw(), Rights::RECV)],
        |h| format_text!("silent {}", h[0].0),
        None,
    )?;
    let start = rdtsc();
    let got = ep.call(&Message::new(1), 30_000_000);
    ensure!(
        got == Err(SysError::TimedOut),
        "a call to a silent server gave {got:?}"
    );
    ensure!(ms(rdtsc() - start) >= 30, "the call timed out early");
    child.process.kill().step("kill")?;
    let status = env.reap(&child.process)?;
    ensure!(
        matches!(status, ProcessStatus::Killed(_)),
        "the silent server ended {status:?}"
    );
    Ok(())
}

fn peer_died_in_call(env: &mut Env) -> Result<(), Why> {
    let ep = Endpoint::create().step("endpoint_create")?;
    let server = env.child(
        &[(ep.raw(), Rights::RECV)],
        |h| format_text!("silent {}", h[0].0),
        None,
    )?;
    let killer = env.child(
        &[(server.process.raw(), Rights::MANAGE)],
        |h| format_text!("killer {} 30", h[0].0),
        None,
    )?;
    let got = ep.call(&Message::new(1), FOREVER);
    ensure!(
        got == Err(SysError::PeerDied),
        "the call gave {got:?} when its server was killed"
    );
    env.reap(&server.process)?;
    env.reap(&killer.process)?;
    Ok(())
}

fn peer_died_queued(env: &mut Env) -> Result<(), Why> {
    // We keep only a send handle: the partner's is the only receiver.
    let full = Endpoint::create().step("endpoint_create")?;
    let ep = full.dup(Rights::SEND, None).step("dup")?;
    let server = env.child(
        &[(full.raw(), Rights::RECV)],
        |_| format_text!("idle"),
        None,
    )?;
    drop(full);
    let killer = env.child(
        &[(server.process.raw(), Rights::MANAGE)],
        |h| format_text!("killer {} 30", h[0].0),
        None,
    )?;
    let got = ep.call(&Message::new(1), FOREVER);
    ensure!(
        got == Err(SysError::PeerDied),
        "a queued call gave {got:?} when the last receiver died"
    );
    let got = ep.send(&Message::new(1), FOREVER);
    ensure!(
        got == Err(SysError::PeerDied),
        "a send to an endpoint without receivers gave {got:?}"
    );
    env.reap(&server.process)?;
    env.reap(&killer.process)?;
    Ok(())
}

fn pager(env: &mut Env) -> Result<(), Why> {
    const PAGES: u64 = 16;
    let pager = Endpoint::create().step("endpoint_create")?;
    let done = Notification::create().step("notification_create")?;
    // Bound to this thread by handle 0 (the calling thread).
    done.bind_current().step("bind")?;
    let child = env.child(
        &[(done.raw(), Rights::SEND)],
        |h| format_text!("touch {PAGES} {}", h[0].0),
        Some(pager.raw()),
    )?;
    let mut faults = 0;
    let outcome = loop {
        let got = pager.recv(5_000_000_000).step("pager recv")?;
        if let Some(bits) = got.signals() {
            break bits;
        }
        let msg = got.msg;
        ensure!(
            msg.label() == LABEL_PAGE_FAULT,
            "the pager got label {:#x}",
            msg.label()
        );
        let (address, error) = (msg.words[0], msg.words[1]);
        ensure!(
            (DEMAND_BASE..DEMAND_BASE + PAGES * 4096).contains(&address) && error & 4 != 0,
            "fault at {address:#x} error {error:#x}"
        );
        let page = env.mem.alloc(1).step("a page")?;
        env.mem
            .map_into(
                &child.process,
                address & !0xfff,
                page,
                Protection::READ | Protection::WRITE,
            )
            .step("map the page")?;
        faults += 1;
        ipc::reply(&Message::new(PAGER_RESUME)).step("resume")?;
    };
    ensure!(
        outcome == 1,
        "the child read back the wrong values (bits {outcome})"
    );
    ensure!(faults == PAGES, "{faults} faults for {PAGES} pages");
    let status = env.reap(&child.process)?;
    ensure!(
        status == ProcessStatus::Exited(0),
        "the touching child ended {status:?}"
    );
    Ok(())
}

/// A child is killed right after it is started, before it has run: its
/// first instruction faults (its stack is not even touched yet) or makes
/// a call. Either way it must die; a pager that still answers its fault
/// must not leave it blocked for good.
fn killed_before_running(env: &mut Env) -> Result<(), Why> {
    let pager = Endpoint::create().step("endpoint_create")?;
    let done = Notification::create().step("notification_create")?;
    let child = env.child(
        &[(done.raw(), Rights::SEND)],
        |h| format_text!("touch 1 {}", h[0].0),
        Some(pager.raw()),
    )?;
    // A process that never had a thread dies when killed, too.
    let empty = Process::create("empty").step("process_create")?;
    empty.kill().step("kill an empty process")?;
    let status = empty.status().step("process_status")?;
    ensure!(
        matches!(status, ProcessStatus::Killed(_)),
        "an empty process killed is {status:?}"
    );

    child.process.kill().step("kill")?;
    // If the child ran before the kill and faulted, answer it: the reply
    // to a killed caller must let it go.
    if let Ok(got) = pager.recv(200_000_000) {
        if got.msg.label() == LABEL_PAGE_FAULT {
            let _ = ipc::reply(&Message::new(PAGER_RESUME));
        }
    }
    let status = env.reap(&child.process)?;
    ensure!(
        matches!(status, ProcessStatus::Killed(_)),
        "the child ended {status:?}, expected killed"
    );
    Ok(())
}

/// Where `pager_inherited`'s thread touches (nothing is mapped there).
const INHERIT_AT: u64 = 0x6100_0000_0000;
static INHERIT_SEEN: AtomicU64 = AtomicU64::new(0);

extern "C" fn inherit_toucher(_: u64, _: u64) -> ! {
    // SAFETY: nothing is mapped there: the write faults to the pager this
    // thread inherited, which maps a page and lets it go on.
    unsafe { (INHERIT_AT as *mut u64).write_volatile(0x1234) };
    // SAFETY: mapped now.
    let seen = unsafe { (INHERIT_AT as *const u64).read_volatile() };
    INHERIT_SEEN.store(seen, Ordering::Release);
    libsys::thread::exit()
}

/// Where the device-memory test maps the HPET.
const DEVICE_AT: u64 = 0x6000_0000_0000;
/// QEMU's HPET (the q35 machine has one at the standard address).
const HPET: u64 = 0xfed0_0000;

/// `device_region`: the HPET's registers map and read as an HPET; RAM,
/// the local APIC the kernel drives, and malformed ranges are refused.
fn device_memory(env: &mut Env) -> Result<(), Why> {
    let control = Handle(env.info.device_control);
    let refused = |phys: u64, pages: u64, want: SysError| -> Result<(), Why> {
        let got = MemoryRegion::device(control, phys, pages).map(|_| ());
        ensure!(
            got == Err(want),
            "device_region({phys:#x}, {pages}): {got:?}, not {want:?}"
        );
        Ok(())
    };
    let ram = env.info.regions()[0].base;
    refused(ram, 1, SysError::NotAllowed)?;
    refused(0xfee0_0000, 1, SysError::NotAllowed)?;
    refused(HPET + 8, 1, SysError::InvalidArgument)?;
    refused(HPET, 0, SysError::InvalidArgument)?;
    refused(1 << 60, 1, SysError::InvalidArgument)?;
    refused(HPET, u64::MAX / 4096, SysError::InvalidArgument)?;
    let wrong = MemoryRegion::device(env.me.raw(), HPET, 1).map(|_| ());
    ensure!(
        wrong == Err(SysError::WrongType),
        "device_region with a process handle: {wrong:?}"
    );
    let hpet = MemoryRegion::device(control, HPET, 1).step("device_region(HPET)")?;
    let map = |prot: Protection| {
        call6(
            Syscall::Map,
            [
                u64::from(env.me.raw().0),
                DEVICE_AT,
                u64::from(hpet.raw().0),
                0,
                1,
                prot.bits(),
            ],
        )
    };
    let exec = map(Protection::READ | Protection::EXEC);
    ensure!(
        exec == Err(SysError::NoRights),
        "device memory mapped executable: {exec:?}"
    );
    map(Protection::READ | Protection::WRITE).step("map the HPET")?;
    // SAFETY: the HPET's register page, just mapped; the general
    // capabilities register (offset 0) is read-only.
    let caps = unsafe { (DEVICE_AT as *const u64).read_volatile() };
    let _ = call6(
        Syscall::Unmap,
        [u64::from(env.me.raw().0), DEVICE_AT, 1, 0, 0, 0],
    );
    let (vendor, period_fs) = ((caps >> 16) & 0xffff, caps >> 32);
    ensure!(
        vendor == 0x8086 && period_fs > 0 && period_fs <= 100_000_000,
        "HPET capabilities {caps:#x}: vendor {vendor:#x}, period {period_fs} fs"
    );
    Ok(())
}

fn pager_inherited(env: &mut Env) -> Result<(), Why> {
    let info = |env: &Env| -> Result<libsys::abi::ProcessInfo, Why> {
        let mut out = libsys::abi::ProcessInfo::default();
        call6(
            Syscall::ProcessInfo,
            [
                u64::from(env.me.raw().0),
                &mut out as *mut _ as u64,
                0,
                0,
                0,
                0,
            ],
        )
        .step("process_info")?;
        Ok(out)
    };
    let before = info(env)?;
    ensure!(
        before.pid > 0
            && before.threads >= 1
            && before.mapped_pages > 0
            && before.name() == "utest",
        "process_info said {before:?}"
    );
    let bad = call6(
        Syscall::ProcessInfo,
        [u64::from(env.me.raw().0), 0xffff_8000_0000_0000, 0, 0, 0, 0],
    );
    ensure!(
        bad == Err(SysError::BadAddress),
        "process_info into the kernel: {bad:?}"
    );

    // The main thread's pager is set; a thread made after that inherits it.
    let pager = Endpoint::create().step("endpoint_create")?;
    env.my_thread.set_pager(Some(&pager)).step("set_pager")?;
    let thread = libsys::thread::spawn_raw(&mut env.mem, &env.me, inherit_toucher, 0);
    let result = (|| -> Result<(), Why> {
        let _thread = thread.step("spawn the toucher")?;
        let got = pager.recv(5_000_000_000).step("pager recv")?;
        let (address, error) = (got.msg.words[0], got.msg.words[1]);
        ensure!(
            got.msg.label() == LABEL_PAGE_FAULT && address == INHERIT_AT && error & 2 != 0,
            "got label {:#x} address {address:#x} error {error:#x}",
            got.msg.label()
        );
        let page = env.mem.alloc(1).step("a page")?;
        env.mem
            .map_into(
                &env.me,
                INHERIT_AT,
                page,
                Protection::READ | Protection::WRITE,
            )
            .step("map")?;
        ipc::reply(&Message::new(PAGER_RESUME)).step("resume")?;
        for _ in 0..500 {
            if INHERIT_SEEN.load(Ordering::Acquire) != 0 {
                break;
            }
            libsys::time::sleep_ms(2);
        }
        let seen = INHERIT_SEEN.load(Ordering::Acquire);
        ensure!(seen == 0x1234, "the thread read back {seen:#x}");
        Ok(())
    })();
    env.my_thread.set_pager(None).step("clear set_pager")?;
    result?;

    // Map another page over the first: `Exists`, unless MAP_REPLACE.
    let other = env.mem.alloc_mapped(1).step("a second page")?;
    // SAFETY: the page was just mapped into this process, writable.
    unsafe { (other.1 as *mut u64).write_volatile(0x5678) };
    let rw = (Protection::READ | Protection::WRITE).bits();
    let args = |flags: u64| {
        [
            u64::from(env.me.raw().0),
            INHERIT_AT,
            u64::from(other.0.region.0),
            other.0.first,
            1,
            rw | flags,
        ]
    };
    let plain = call6(Syscall::Map, args(0));
    ensure!(
        plain == Err(SysError::Exists),
        "a second map gave {plain:?}"
    );
    call6(Syscall::Map, args(libsys::abi::MAP_REPLACE)).step("map with MAP_REPLACE")?;
    // SAFETY: mapped (the second page, now also at INHERIT_AT).
    let now = unsafe { (INHERIT_AT as *const u64).read_volatile() };
    ensure!(now == 0x5678, "after the replace the page reads {now:#x}");
    let after = info(env)?;
    ensure!(
        after.mapped_pages >= before.mapped_pages + 2,
        "mapped pages {} then {}",
        before.mapped_pages,
        after.mapped_pages
    );
    env.me.unmap(INHERIT_AT, 1).step("unmap")?;
    Ok(())
}

fn pager_kill(env: &mut Env) -> Result<(), Why> {
    let pager = Endpoint::create().step("endpoint_create")?;
    let done = Notification::create().step("notification_create")?;
    let child = env.child(
        &[(done.raw(), Rights::SEND)],
        |h| format_text!("touch 1 {}", h[0].0),
        Some(pager.raw()),
    )?;
    let got = pager.recv(5_000_000_000).step("pager recv")?;
    ensure!(
        got.msg.label() == LABEL_PAGE_FAULT,
        "label {:#x}",
        got.msg.label()
    );
    ipc::reply(&Message::new(PAGER_KILL)).step("kill answer")?;
    let status = env.reap(&child.process)?;
    ensure!(
        status == ProcessStatus::Fault(14),
        "the child ended {status:?}, expected a page fault"
    );
    Ok(())
}

fn irq_pit(env: &mut Env) -> Result<(), Why> {
    use libsys::port::outb;
    let ports = ManuallyDrop::new(unsafe_io_ports(env.info));
    ports.grant(0x40, 4).step("grant the PIT's ports")?;
    let irqc = ManuallyDrop::new(unsafe_irq_control(env.info));
    let irq = irqc.isa(0).step("irq_get ISA 0")?;
    let n = Notification::create().step("notification_create")?;
    irq.bind(&n, 3).step("irq_bind")?;
    // Channel 0, lobyte/hibyte, mode 2 (rate generator), ~1 kHz.
    let divisor: u16 = 1193;
    outb(0x43, 0b0011_0100);
    outb(0x40, divisor as u8);
    outb(0x40, (divisor >> 8) as u8);
    let mut taken = 0;
    for _ in 0..20 {
        let bits = n.wait(500_000_000).step("wait for the PIT")?;
        ensure!(bits & (1 << 3) != 0, "woken with bits {bits:#x}");
        taken += 1;
        irq.ack().step("irq_ack")?;
    }
    // A shared line: a second handler on the same line. Both are told of
    // each interrupt, and the line stays masked until both acknowledge.
    let second = Notification::create().step("notification_create")?;
    let irq2 = irqc.isa(0).step("irq_get ISA 0 again")?;
    irq2.bind(&second, 5).step("irq_bind a second handler")?;
    for _ in 0..5 {
        let first = n.wait(500_000_000).step("wait, first handler")?;
        let other = second.wait(500_000_000).step("wait, second handler")?;
        ensure!(
            first & (1 << 3) != 0 && other & (1 << 5) != 0,
            "shared line woke {first:#x} and {other:#x}"
        );
        irq.ack().step("first ack")?;
        ensure!(
            irq.info().step("irq_info")?.masked == 1,
            "the line was unmasked before both handlers acknowledged"
        );
        irq2.ack().step("second ack")?;
    }
    // Mode 0 with a count of 1: one last edge, then silence.
    outb(0x43, 0b0011_0000);
    outb(0x40, 1);
    outb(0x40, 0);
    let info = irq.info().step("irq_info")?;
    ensure!(
        taken == 20 && info.count >= 20,
        "{taken} wake-ups, {} interrupts counted",
        info.count
    );
    ensure!(info.handlers == 2, "{} handlers bound", info.handlers);
    Ok(())
}

fn port_kill(env: &mut Env) -> Result<(), Why> {
    let child = env.child(&[], |_| format_text!("port"), None)?;
    let status = env.reap(&child.process)?;
    ensure!(
        status == ProcessStatus::Fault(13),
        "reading an ungranted port ended the child {status:?}"
    );
    Ok(())
}

/// What the spinning threads share.
struct Spin {
    stop: AtomicBool,
    running: AtomicU64,
}

extern "C" fn spinner(arg: u64, _buffer: u64) -> ! {
    // SAFETY: `fairness` passes a pointer to a static that outlives the
    // thread.
    let spin = unsafe { &*(arg as *const Spin) };
    spin.running.fetch_add(1, Ordering::SeqCst);
    while !spin.stop.load(Ordering::Relaxed) {
        core::hint::spin_loop();
    }
    spin.running.fetch_sub(1, Ordering::SeqCst);
    libsys::thread::exit()
}

static SPIN: Spin = Spin {
    stop: AtomicBool::new(false),
    running: AtomicU64::new(0),
};

fn fairness(env: &mut Env) -> Result<(), Why> {
    let a = libsys::thread::spawn_raw(&mut env.mem, &env.me, spinner, &SPIN as *const Spin as u64)
        .step("spawn A")?;
    let b = libsys::thread::spawn_raw(&mut env.mem, &env.me, spinner, &SPIN as *const Spin as u64)
        .step("spawn B")?;
    b.set_sched(0, 5).step("nice B to 5")?;
    ensure!(
        a.set_sched(0, 20) == Err(SysError::InvalidArgument),
        "nice 20 was accepted"
    );
    ensure!(
        a.set_sched(1, 100) == Err(SysError::InvalidArgument),
        "RT priority 100 was accepted"
    );
    sleep_ms(20);
    let (a0, b0) = (a.stats().step("stats A")?, b.stats().step("stats B")?);
    sleep_ms(1000);
    let (a1, b1) = (a.stats().step("stats A")?, b.stats().step("stats B")?);
    SPIN.stop.store(true, Ordering::Relaxed);
    let (ra, rb) = (
        a1.sum_exec_runtime - a0.sum_exec_runtime,
        b1.sum_exec_runtime - b0.sum_exec_runtime,
    );
    ensure!(rb > 0, "the nice-5 thread got no CPU");
    // 1024 / 335 = 3.057; within 10%: 2.75 .. 3.36.
    let ratio_x1000 = ra * 1000 / rb;
    libsys::println!(
        "fairness: nice 0 ran {} ms, nice 5 ran {} ms: ratio {}.{:03} (weights 3.057)",
        ra / 1_000_000,
        rb / 1_000_000,
        ratio_x1000 / 1000,
        ratio_x1000 % 1000
    );
    ensure!(
        (2751..=3362).contains(&ratio_x1000),
        "CPU ratio {ratio_x1000}/1000, expected 3057 +- 10%"
    );
    ensure!(
        b1.param == 5 && a1.param == 0 && a1.policy == 0,
        "stats report policy {} nice {} / {}",
        a1.policy,
        a1.param,
        b1.param
    );
    ensure!(
        a1.nr_involuntary_switches > 0,
        "no involuntary switch counted for a spinning thread"
    );
    // Let them see `stop` and exit.
    for _ in 0..100 {
        if SPIN.running.load(Ordering::SeqCst) == 0 {
            break;
        }
        sleep_ms(5);
    }
    ensure!(
        SPIN.running.load(Ordering::SeqCst) == 0,
        "the spinning threads did not exit"
    );
    Ok(())
}
