//! `hostile`'s attacks on kernel memory and the CPU, and the child it
//! starts for them (`hostile reap`, its own module again, built from its
//! `memory=` pages with limits lowered before it starts):
//!
//! - **Limits**: in the child, endpoints, notifications, threads,
//!   processes, watches and handles each stop at exactly the limit set,
//!   with `OutOfResources`; and `set_sched` to FIFO, without the
//!   scheduling control, is `NotAllowed`.
//! - **Reaping**: the child makes 2,000 processes (each with a thread)
//!   and 2,000 threads of its own that are never started, closing each
//!   handle (with a limit of 4 processes and 8 threads, so each must be
//!   freed at once), then holds as many as it may — processes holding a
//!   handle to themselves among them — and exits. The kernel's free
//!   frames, heap and live process and thread counts are then what they
//!   were before the child (`kernel_stats`). Before, none of them was
//!   ever freed.
//! - **Real time with the right**: with the scheduling control
//!   (`sched=rt` in the manifest) a thread becomes FIFO; a wrong handle is
//!   `WrongType`, one without MANAGE `NoRights`; and a FIFO thread that
//!   spins still leaves the fair main thread time to run (RT throttling).

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;

use alloc::sync::Arc;
use libsys::abi::ipc::FOREVER;
use libsys::abi::limits::Resource;
use libsys::abi::{Rights, SysError};
use libsys::handle::{Endpoint, Notification, OwnedHandle, Process, SchedControl};
use libsys::mem::Memory;
use libsys::spawn::Builder;
use libsys::time::Instant;
use userland::Tally;

/// The child's limits (lowered from the defaults before it starts).
const CHILD_LIMITS: [(Resource, u64); 6] = [
    (Resource::Processes, 4),
    (Resource::Threads, 8),
    (Resource::Endpoints, 16),
    (Resource::Notifications, 16),
    (Resource::Watches, 3),
    (Resource::Handles, 96),
];
/// Processes and threads the child makes and drops, one at a time.
const CHURN: usize = 2000;

/// Handles a check keeps until it is done (no heap in the child).
struct Kept {
    slots: [Option<OwnedHandle>; 128],
    n: usize,
}

impl Kept {
    fn keep(&mut self, handle: OwnedHandle) {
        if let Some(slot) = self.slots.get_mut(self.n) {
            *slot = Some(handle);
            self.n += 1;
        } else {
            core::mem::forget(handle);
        }
    }

    fn release(&mut self) {
        for slot in &mut self.slots[..self.n] {
            *slot = None;
        }
        self.n = 0;
    }
}

/// The child's work (`hostile reap`): returns a bit per failed check.
pub fn child() -> u64 {
    let mut kept = Kept {
        slots: [const { None }; 128],
        n: 0,
    };
    let Some(me) = libsys::env::process() else {
        return 1 << 9;
    };
    let me: &Process = &me;
    let mut failed = 0;
    let mut check = |bit: u32, ok: bool, kept: &mut Kept| {
        if !ok {
            failed |= 1u64 << bit;
        }
        kept.release();
    };
    let ok = fills(me, Resource::Endpoints, || {
        Endpoint::create().map(|e| kept.keep(e.0))
    });
    check(0, ok, &mut kept);
    let ok = fills(me, Resource::Notifications, || {
        Notification::create().map(|n| kept.keep(n.0))
    });
    check(1, ok, &mut kept);
    let ok = fills(me, Resource::Threads, || {
        me.thread_create().map(|t| kept.keep(t.0))
    });
    check(2, ok, &mut kept);
    let ok = fills(me, Resource::Processes, || {
        Process::create("p").map(|p| kept.keep(p.0))
    });
    check(3, ok, &mut kept);
    let ok = watches_fill(me, &mut kept);
    check(4, ok, &mut kept);
    let ok = handles_fill(me, &mut kept);
    check(5, ok, &mut kept);
    let ok = me
        .thread_create()
        .is_ok_and(|t| t.set_sched(1, 10) == Err(SysError::NotAllowed));
    check(6, ok, &mut kept);
    let ok = churn(me);
    check(7, ok, &mut kept);
    if failed != 0 {
        return failed;
    }
    hold_and_exit(me)
}

/// Room left under `resource`'s limit (from `process_limits`).
fn room(me: &Process, resource: Resource) -> Option<u64> {
    let usage = libsys::limits::usage(me.raw()).ok()?;
    let i = resource as usize;
    usage.limits.max[i].checked_sub(usage.used[i])
}

/// `make` succeeds exactly as often as `resource` has room, then says
/// `OutOfResources`.
fn fills(me: &Process, resource: Resource, mut make: impl FnMut() -> Result<(), SysError>) -> bool {
    let Some(room) = room(me, resource) else {
        return false;
    };
    for _ in 0..room {
        if make().is_err() {
            return false;
        }
    }
    make() == Err(SysError::OutOfResources)
}

/// Watches set on one process through new notifications stop at the
/// `Watches` limit.
fn watches_fill(me: &Process, kept: &mut Kept) -> bool {
    let Ok(target) = Process::create("watched") else {
        return false;
    };
    let result = fills(me, Resource::Watches, || {
        let n = Notification::create()?;
        target.watch(&n, 1)?;
        kept.keep(n.0);
        Ok(())
    });
    let _ = target.kill();
    result
}

/// Handles stop at the table's size.
fn handles_fill(me: &Process, kept: &mut Kept) -> bool {
    let Ok(n) = Notification::create() else {
        return false;
    };
    fills(me, Resource::Handles, || {
        n.dup(Rights::SEND, None).map(|copy| kept.keep(copy.0))
    })
}

/// Makes and drops [`CHURN`] processes with a thread each, and as many
/// threads of its own: past the limits unless each is freed at once.
fn churn(me: &Process) -> bool {
    for i in 0..CHURN {
        let Ok(process) = Process::create("churn") else {
            return false;
        };
        let Ok(thread) = process.thread_create() else {
            return false;
        };
        // Either handle may be the last to go.
        if i % 2 == 0 {
            drop(process);
            drop(thread);
        } else {
            drop(thread);
            drop(process);
        }
        let Ok(own) = me.thread_create() else {
            return false;
        };
        drop(own);
    }
    true
}

/// Holds as many never-started processes (each with a thread and a handle
/// to itself) and threads as the limits allow, and exits holding them.
fn hold_and_exit(me: &Process) -> ! {
    while let Ok(process) = Process::create("held") {
        let _ = process.give(process.raw(), Rights::MANAGE);
        if let Ok(thread) = process.thread_create() {
            core::mem::forget(thread);
        }
        core::mem::forget(process);
    }
    while let Ok(thread) = me.thread_create() {
        core::mem::forget(thread);
    }
    for _ in 0..8 {
        let _ = Endpoint::create().map(core::mem::forget);
        let _ = Notification::create().map(core::mem::forget);
    }
    libsys::syscall::exit(0)
}

/// The parent's side: starts the child with lowered limits, checks its
/// report, and that the kernel got back all it held.
pub fn reaping(t: &mut Tally) {
    libsys::time::sleep(Duration::from_millis(20));
    let before = libsys::limits::kernel_stats();
    let status = run_child();
    libsys::time::sleep(Duration::from_millis(50));
    let after = libsys::limits::kernel_stats();
    match status {
        Ok(0) => t.check("hostile: limits stop each object at its limit", Ok(())),
        Ok(bits) => t.check(
            "hostile: limits stop each object at its limit",
            Err(format_args!("the child failed checks {bits:#x}")),
        ),
        Err(e) => t.check("hostile: limits", Err(format_args!("{e}"))),
    }
    let (Ok(before), Ok(after)) = (before, after) else {
        t.check("hostile: kernel_stats", Err(format_args!("failed")));
        return;
    };
    let name = "hostile: a child's 4,000 unstarted threads and processes are all freed";
    let same = after.processes == before.processes
        && after.threads == before.threads
        && after.free_frames + 8 >= before.free_frames
        && after.heap_used <= before.heap_used + 8192;
    if same {
        t.check(name, Ok(()));
    } else {
        t.check(
            name,
            Err(format_args!("before {before:?}, after {after:?}")),
        );
    }
}

/// Builds and starts `hostile reap`; its exit status.
fn run_child() -> Result<u64, userland::Why> {
    use libsys::format_text;
    let me = libsys::env::self_process().ok_or_else(|| format_text!("no self handle"))?;
    let (region, pages) =
        libsys::env::memory_region().ok_or_else(|| format_text!("no memory= pages"))?;
    let mut mem = Memory::new(me, region, pages);
    let image = libsys::env::own_module().ok_or_else(|| format_text!("no own module"))?;
    let builder = Builder::new(&mut mem, "hostile-reap", image.0, image.1)
        .map_err(|e| format_text!("build: {e}"))?;
    let mut limits = libsys::limits::usage(builder.process().raw())
        .map_err(|e| format_text!("process_limits: {e}"))?
        .limits;
    for (resource, max) in CHILD_LIMITS {
        limits.set(resource, max);
    }
    libsys::limits::set(builder.process().raw(), &limits)
        .map_err(|e| format_text!("process_limits_set: {e}"))?;
    let theirs = builder
        .give(builder.process().raw(), Rights::MANAGE)
        .map_err(|e| format_text!("give: {e}"))?;
    let args = format_text!("@self={} reap", theirs.0);
    let child = builder
        .start(args.as_str())
        .map_err(|e| format_text!("start: {e}"))?;
    let status = userland::wait_exit(&child.process, Duration::from_secs(60))?;
    let libsys::spawn::Child {
        process,
        thread,
        pages,
    } = child;
    drop((process, thread));
    for run in pages {
        mem.free(run);
    }
    match status {
        libsys::abi::ProcessStatus::Exited(bits) => Ok(bits),
        other => Err(format_text!("the child ended: {other:?}")),
    }
}

/// Raising a limit above one's own is refused.
pub fn raise_refused(t: &mut Tally) {
    let Some(me) = libsys::env::self_process() else {
        return;
    };
    let name = "hostile: raising its own limits above them: NotAllowed";
    match libsys::limits::usage(me) {
        Ok(usage) => {
            let mut more = usage.limits;
            more.set(Resource::Threads, usage.limits.get(Resource::Threads) + 1);
            t.expect_eq(
                name,
                libsys::limits::set(me, &more),
                Err(SysError::NotAllowed),
            );
            t.expect_eq(
                "hostile: setting its own limits to what they are: Ok",
                libsys::limits::set(me, &usage.limits),
                Ok(()),
            );
        }
        Err(e) => t.check(name, Err(format_args!("process_limits: {e}"))),
    }
}

/// With the scheduling control: FIFO allowed, wrong handles refused, and
/// a spinning FIFO thread leaves the fair main thread time (throttling).
pub fn realtime(t: &mut Tally) {
    let Some(control) = libsys::env::take_handle("sched") else {
        t.check("hostile: sched=rt", Err(format_args!("no sched= handle")));
        return;
    };
    let control = SchedControl(control);
    let Ok(n) = Notification::create() else {
        return;
    };
    let Ok(n2) = n.dup(Rights::RECV, None) else {
        return;
    };
    let seen = Arc::new(AtomicBool::new(false));
    let spun = Arc::new(AtomicU64::new(0));
    let (seen2, spun2) = (seen.clone(), spun.clone());
    let Ok(spinner) = libsys::thread::spawn(move || {
        let _ = n2.wait(FOREVER);
        let start = Instant::now();
        while !seen2.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(3) {
            core::hint::spin_loop();
        }
        spun2.store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }) else {
        t.check("hostile: realtime", Err(format_args!("spawn failed")));
        return;
    };
    let thread = &spinner.thread;
    if let Some(me) = libsys::env::self_process() {
        // Lent for the call only; the runtime keeps `@self`.
        let wrong = libsys::handle::Borrowed::of(me, SchedControl);
        t.expect_eq(
            "hostile: set_sched_rt with a process handle: WrongType",
            wrong.set_sched(thread, 1, 10),
            Err(SysError::WrongType),
        );
    }
    if let Ok(weak) = control.dup(Rights::empty(), None) {
        t.expect_eq(
            "hostile: set_sched_rt with a control without MANAGE: NoRights",
            weak.set_sched(thread, 1, 10),
            Err(SysError::NoRights),
        );
    }
    t.expect_eq(
        "hostile: set_sched_rt to FIFO with the control: Ok",
        control.set_sched(thread, 1, 10),
        Ok(()),
    );
    t.expect_eq(
        "hostile: the thread is FIFO",
        thread.stats().map(|s| s.policy),
        Ok(1),
    );
    // The spinner preempts this (fair) thread; only throttling lets this
    // thread run again before the spinner gives up after 3 s.
    let _ = n.signal(1);
    seen.store(true, Ordering::Relaxed);
    let _ = spinner.join();
    let ms = spun.load(Ordering::Relaxed);
    let name = "hostile: a spinning FIFO thread leaves a fair thread time (throttling)";
    if ms < 3000 {
        t.check(name, Ok(()));
    } else {
        t.check(
            name,
            Err(format_args!("the fair thread ran only after {ms} ms")),
        );
    }
}
