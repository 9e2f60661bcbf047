//! The scheduler: `kcore::sched`'s run queue (CFS and the real-time
//! classes, host-tested) wrapped with the kernel's threads and the context
//! switch.
//!
//! The kernel is not preemptible: kernel code runs with interrupts off, so
//! a switch happens only where the kernel asks for one — when a thread
//! blocks, yields or exits, or at a preemption point on the way back to
//! user mode (or out of the idle loop) after the tick or a wake-up set
//! `need_resched`. No lock is held across a switch.
//!
//! The idle thread is the thread the CPU booted on; it is not in the run
//! queue and runs whenever the queue has nothing (it halts until the next
//! interrupt). A thread that exits is switched away from for good; the
//! scheduler keeps the last reference to it until the next thread runs,
//! which then frees it (its kernel stack was still in use during the
//! switch).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use kcore::sched::{Policy, RunQueue, SchedError};
use spin::Mutex;

use super::task::{Schedulable, Task, Tid};
use crate::arch::time;
use crate::arch::x86_64::{gdt, percpu, switch};

/// A thread the scheduler holds, with its task found once: the hot paths
/// (a switch, an IPC hand-off) read the task through `task` rather than
/// through a call on the trait object.
#[derive(Clone)]
struct Entry {
    thread: Arc<dyn Schedulable>,
    /// `thread.task()`: points into `thread`'s allocation, which `thread`
    /// keeps alive for as long as this entry exists.
    task: *const Task,
}

impl Entry {
    fn new<T: Schedulable + 'static>(thread: Arc<T>) -> Entry {
        let task = thread.task() as *const Task;
        Entry { thread, task }
    }

    fn from_dyn(thread: Arc<dyn Schedulable>) -> Entry {
        let task = thread.task() as *const Task;
        Entry { thread, task }
    }

    fn task(&self) -> &Task {
        // SAFETY: `task` points into the allocation `self.thread` keeps
        // alive (see the field).
        unsafe { &*self.task }
    }
}

// SAFETY: the raw pointer is only a cached `&Task` into the `Arc` beside
// it; `Schedulable` threads are `Send + Sync`.
unsafe impl Send for Entry {}

struct Scheduler {
    /// Keyed by the threads' scheduler slots.
    rq: RunQueue<u32>,
    /// Every thread the run queue knows (runnable, running or blocked), by
    /// slot.
    threads: Vec<Option<Entry>>,
    current: Entry,
    idle: Entry,
    /// A lazy hand-off is pending: the run queue's current thread is not
    /// the one on the CPU (see `block_and_switch_to`).
    lazy: bool,
}

/// The thread just switched away from, kept alive until the switch is
/// over (it may be dead, and its stack was in use until then). Written by
/// the switch and read by the next thread right after it, on this CPU with
/// interrupts off; outside the scheduler's lock so that the after-switch
/// work takes no lock.
struct Previous(UnsafeCell<Option<Arc<dyn Schedulable>>>);

// SAFETY: touched only by `switch_to_thread` and `after_switch`, on the one
// CPU, with interrupts disabled, never at the same time.
unsafe impl Sync for Previous {}

static PREVIOUS: Previous = Previous(UnsafeCell::new(None));

static SCHED: Mutex<Option<Scheduler>> = Mutex::new(None);

/// Set when the running thread should give up the CPU at the next
/// preemption point (Linux's `TIF_NEED_RESCHED`). Outside the scheduler's
/// lock so that the way back to user mode checks it with one load.
static NEED_RESCHED: AtomicBool = AtomicBool::new(false);
/// The running thread's task, for lock-free reads of its own flags on the
/// way back to user mode. It points into `Scheduler::current`, which keeps
/// the thread alive for as long as it runs.
static CURRENT: AtomicPtr<Task> = AtomicPtr::new(core::ptr::null_mut());

fn with<T>(f: impl FnOnce(&mut Scheduler) -> T) -> Option<T> {
    SCHED.lock().as_mut().map(|s| {
        s.sync();
        f(s)
    })
}

impl Scheduler {
    /// The slot of the thread actually on the CPU (`None`: idle).
    fn running(&self) -> Option<u32> {
        (self.current.task != self.idle.task).then_some(self.current.task().slot)
    }

    /// Brings the run queue up to date after lazy hand-offs (see
    /// [`block_and_switch_to`]): if the queue's current thread is not the
    /// one on the CPU, the deferred switch is made now — the thread the
    /// queue thought was running is charged the time until now and marked
    /// blocked (it is: it waits in IPC), the running one becomes current.
    fn sync(&mut self) {
        if !self.lazy {
            return;
        }
        self.lazy = false;
        let running = self.running();
        if self.rq.current() == running {
            return;
        }
        let now = time::now_ns();
        match running {
            Some(slot) => {
                if let Ok(true) = self.rq.switch_to(slot, now) {
                    set_need_resched();
                }
            }
            None => self.rq.block(now),
        }
    }
}

/// Starts scheduling, with the calling (boot) thread as the idle thread.
pub fn init(idle: Arc<dyn Schedulable>) {
    CURRENT.store(idle.task() as *const Task as *mut Task, Ordering::Relaxed);
    idle.switch_in();
    let idle = Entry::from_dyn(idle);
    *SCHED.lock() = Some(Scheduler {
        rq: RunQueue::new(),
        threads: Vec::new(),
        current: idle.clone(),
        idle,
        lazy: false,
    });
}

/// Whether the running thread has been killed: read without a lock, for
/// the way back to user mode.
pub fn current_killed() -> bool {
    let current = CURRENT.load(Ordering::Relaxed);
    // SAFETY: CURRENT always points at the running thread (or is null
    // before `init`), which `Scheduler::current` keeps alive while it runs.
    !current.is_null() && unsafe { (*current).is_killed() }
}

/// Whether the running thread has anything to do on its way back to
/// user mode (killed, or `Task::set_work`): one byte read.
#[inline(always)]
pub fn current_has_work() -> bool {
    let current = CURRENT.load(Ordering::Relaxed);
    // SAFETY: as in `current_killed`.
    !current.is_null() && unsafe { (*current).has_work() }
}

/// The running thread's name and id, read without a lock (for an oops,
/// which may come while the scheduler's lock is held).
pub fn current_name_and_tid() -> Option<(&'static str, Tid)> {
    let current = CURRENT.load(Ordering::Relaxed);
    if current.is_null() {
        return None;
    }
    // SAFETY: as in `current_killed`; the oops that asks never returns, so
    // the thread outlives the borrow.
    let thread: &'static Task = unsafe { &*current };
    Some((thread.name.as_str(), thread.tid))
}

fn set_need_resched() {
    NEED_RESCHED.store(true, Ordering::Relaxed);
}

/// Makes a new thread known and runnable.
pub fn spawn(thread: Arc<dyn Schedulable>, policy: Policy) -> Result<(), SchedError> {
    with(|s| {
        let now = time::now_ns();
        let slot = thread.task().slot;
        s.rq.add(slot, policy, now)?;
        if slot as usize >= s.threads.len() {
            s.threads.resize(slot as usize + 1, None);
        }
        s.threads[slot as usize] = Some(Entry::from_dyn(thread.clone()));
        if s.rq.wake(slot, now)? {
            set_need_resched();
        }
        Ok(())
    })
    .unwrap_or(Err(SchedError::NoSuchThread))
}

/// Makes blocked `thread` runnable. Waking a thread that is not blocked
/// (or not known to the scheduler) does nothing.
pub fn wake(thread: &Task) {
    crate::meter_scope!(Sched);
    with(|s| {
        if let Ok(true) = s.rq.wake(thread.slot, time::now_ns()) {
            set_need_resched();
        }
    });
}

/// The tick: accounts the running thread and decides whether to preempt it.
pub fn tick() {
    with(|s| {
        if s.rq.tick(time::now_ns()) {
            set_need_resched();
        }
    });
}

/// Switches if the tick or a wake-up asked for it.
#[inline]
pub fn preempt_point() {
    if NEED_RESCHED.load(Ordering::Relaxed) {
        schedule();
    }
}

/// Blocks the current thread until someone calls [`wake`] on it.
pub fn block_current() {
    with(|s| s.rq.block(time::now_ns()));
    schedule();
}

/// Gives up the rest of the time slice.
pub fn yield_current() {
    with(|s| s.rq.yield_current(time::now_ns()));
    schedule();
}

/// Ends the current thread; never returns. (The caller has dropped
/// everything it held: nothing on this stack runs again.)
pub fn exit_current() -> ! {
    with(|s| {
        let slot = s.current.task().slot;
        let _ = s.rq.remove(slot, time::now_ns());
        if let Some(entry) = s.threads.get_mut(slot as usize) {
            *entry = None;
        }
    });
    schedule();
    unreachable!("a dead thread was scheduled again")
}

/// Changes a thread's policy (it must be known to the scheduler).
pub fn set_policy(thread: &Task, policy: Policy) {
    with(|s| {
        if let Ok(true) = s.rq.set_policy(thread.slot, policy, time::now_ns()) {
            set_need_resched();
        }
    });
}

/// A thread's scheduling accounting.
pub fn stats(thread: &Task) -> Option<kcore::sched::ThreadStats> {
    with(|s| s.rq.stats(thread.slot)).flatten()
}

/// Makes `next` the current thread and returns the two stack pointers to
/// switch with (save the current one at the first, resume at the second),
/// or `None` if `next` is current already.
/// `switch_in` is the thread's hook, called before anything changes: the
/// IPC hand-off passes its concrete type's (a direct call), `schedule` the
/// trait object's.
fn switch_to_thread(
    s: &mut Scheduler,
    next: Entry,
    switch_in: impl FnOnce(&Entry),
) -> Option<(*mut u64, u64)> {
    if next.task == s.current.task {
        return None;
    }
    switch_in(&next);
    // SAFETY: as in `Entry::task`; a raw read so that `next` can move.
    let task = unsafe { &*next.task };
    #[cfg(feature = "meter")]
    crate::klog::meter::switched(u64::from(task.tid), &task.name);
    gdt::set_kernel_stack(task.stack_top());
    percpu::set_kernel_rsp(task.stack_top());
    CURRENT.store(task as *const Task as *mut Task, Ordering::Relaxed);
    CURRENT_IS_USER.store(task.user, Ordering::Relaxed);
    // SAFETY: `next` is switched out (it is not current), so its saved
    // stack pointer is valid and no one else reads it now.
    let resume = unsafe { *task.context() };
    let previous = core::mem::replace(&mut s.current, next);
    let save = previous.task().context();
    // SAFETY: see `Previous`; the slot is empty (the last switch's
    // `after_switch` emptied it).
    unsafe { *PREVIOUS.0.get() = Some(previous.thread) };
    Some((save, resume))
}

/// Switches stacks (no lock may be held), then does the after-switch work
/// on the thread that now runs.
fn do_switch(pair: Option<(*mut u64, u64)>) {
    if let Some((save, resume)) = pair {
        crate::meter_scope!(Switch);
        // SAFETY: `save` belongs to the thread running now (kept alive in
        // `previous`), `resume` to one switched out by `switch_to_thread`
        // or prepared by `switch::prepare`.
        unsafe { switch::switch_context(save, resume) };
        after_switch();
    }
}

/// Picks the next thread and switches to it.
pub fn schedule() {
    crate::meter_scope!(Sched);
    let pair = with(|s| {
        NEED_RESCHED.store(false, Ordering::Relaxed);
        let next = match s.rq.pick_next(time::now_ns()) {
            Some(slot) => s
                .threads
                .get(slot as usize)
                .cloned()
                .flatten()
                .unwrap_or_else(|| s.idle.clone()),
            None => s.idle.clone(),
        };
        switch_to_thread(s, next, |e| e.thread.switch_in())
    })
    .flatten();
    do_switch(pair);
}

/// Blocks the current thread and runs `next` (which must be blocked)
/// straight away, without a trip through the run queue: the IPC fast path.
/// Falls back to blocking and waking `next` if the run queue refuses.
pub fn block_and_switch_to<T: Schedulable + 'static>(next: &Arc<T>) {
    crate::meter_scope!(Sched);
    let slot = next.task().slot;
    let direct = SCHED
        .lock()
        .as_mut()
        .and_then(|s| {
            // Lazy scheduling (Liedtke's, in L4): while no other thread is
            // runnable, a hand-off between two threads blocked in IPC leaves
            // the run queue alone — the partner runs on the time of the thread
            // the queue thinks is running, and the next scheduler operation
            // catches the queue up (`Scheduler::sync`). With nothing else
            // runnable there is no one to be unfair to; a call and its reply
            // then cost no run-queue work at all.
            let lazy_ok = s.rq.nr_queued() == 0
                && s.running().is_some()
                && (s.rq.current() == Some(slot)
                    || s.rq.state(slot) == Some(kcore::sched::State::Blocked));
            if lazy_ok {
                s.lazy = s.rq.current() != Some(slot);
                return Some(switch_to_thread(s, Entry::new(next.clone()), |_| {
                    next.switch_in()
                }));
            }
            s.sync();
            let now = time::now_ns();
            match s.rq.switch_to(slot, now) {
                Ok(resched) => {
                    if resched {
                        set_need_resched();
                    }
                    Some(switch_to_thread(s, Entry::new(next.clone()), |_| {
                        next.switch_in()
                    }))
                }
                Err(_) => {
                    s.rq.block(now);
                    if let Ok(true) = s.rq.wake(slot, now) {
                        set_need_resched();
                    }
                    None
                }
            }
        })
        .flatten();
    match direct {
        Some(pair) => do_switch(Some(pair)),
        None => schedule(),
    }
}

/// Runs on the new thread right after every switch: frees the previous
/// thread if it died (its stack is no longer in use).
pub fn after_switch() {
    // SAFETY: see `Previous`.
    let previous = unsafe { (*PREVIOUS.0.get()).take() };
    drop(previous);
}

/// Runs first on a new thread (before it leaves the kernel for the first
/// time; `Task::new` hands it to `switch::prepare`): the after-switch
/// work, and the boot's one-time measurement of how long it took from
/// kernel entry to the first user instruction.
pub extern "C" fn thread_entry() {
    after_switch();
    // A new thread's first way to user mode passes no exit probe.
    #[cfg(feature = "meter")]
    if CURRENT_IS_USER.load(Ordering::Relaxed) {
        crate::klog::meter::to_user();
    }
    static MEASURED: AtomicBool = AtomicBool::new(false);
    let user = CURRENT_IS_USER.load(Ordering::Relaxed);
    if user && !MEASURED.swap(true, Ordering::Relaxed) {
        let ticks = time::since_kernel_entry();
        crate::printk!(
            Info,
            "boot: kernel entry to the first user instruction: {} us ({ticks} TSC ticks)",
            time::tsc_to_us(ticks)
        );
    }
}

/// Whether the running thread belongs to a process.
static CURRENT_IS_USER: AtomicBool = AtomicBool::new(false);

/// The idle loop: halts until an interrupt, which schedules (from the
/// trap's preemption point) when it made a thread runnable.
pub fn idle() -> ! {
    schedule();
    crate::meter_scope!(Idle);
    loop {
        x86_64::instructions::interrupts::enable_and_hlt();
    }
}
