//! Workqueues (LKD ch. 8): work deferred to worker threads of the calling
//! process.
//!
//! [`Workqueue::new`] starts `workers` worker threads and one timer thread
//! for delayed work. A [`Work`] item is a function; [`Workqueue::queue_work`]
//! puts it on the list for a worker and returns false if it is pending
//! already (queued twice before it runs, it runs once). An item queued
//! while it runs runs again after, on the same worker, never on two at
//! once. [`cancel_work_sync`] takes a pending item back and waits for a
//! running one; [`flush_work`] waits for the last queueing to have run;
//! [`Workqueue::flush`] (`flush_workqueue`) for everything on the list or
//! running when it was called (not for delayed work still on its timer, as
//! in Linux). The decisions are [`crate::workstate`], host-tested.
//!
//! [`system_wq`] is a workqueue every process gets on first use (two
//! workers); [`schedule_work`] and [`schedule_delayed_work`] queue on it.
//!
//! Delayed work sits on the workqueue's timer thread, which sleeps until
//! the earliest deadline through a [`DeadlineClock`]. [`Workqueue::new`]
//! uses a [`ServerClock`]: the deadline is kept by one kernel-style timer
//! of the timer server (`timer`, on a session of the workqueue's own),
//! `mod_timer`ed when an earlier delayed item arrives; without a timer
//! server it is kept by the kernel's timeout. What that promises, the
//! timer server killed and restarted included (`clock.rs` has the
//! details):
//! - delayed work never runs before its delay, runs once per accepted
//!   queueing, and is never lost when the timer server dies: the timer
//!   thread keeps every deadline on a kernel timeout too, at most
//!   [`BACKSTOP_NS`] (20 ms) after it, so work whose server died runs at
//!   most that late (plus a kernel tick);
//! - after a call fails with `PeerDied`, the kernel's timeout keeps the
//!   deadlines exactly while the server is away, and the thread looks the
//!   restarted server up (after [`RETRY_NS`], doubling while it is not
//!   back), binds again and re-arms its timer for the earliest deadline;
//! - a process has [`SESSIONS_PER_CLIENT`] sessions per run of the timer
//!   server: workqueues past that keep their deadlines with the kernel's
//!   timeout, with the same guarantees.
//!
//! [`Workqueue::with_clock`] takes any other clock ([`KernelTimeout`] for
//! a process that must not call the timer server). Dropping a [`Workqueue`]
//! (`destroy_workqueue`) runs what is on its list, drops the delayed work
//! still on its timer (deleting the server's timer), and ends its threads.
//!
//! Lock order: a work item's state, then the workqueue's lists.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use crate::abi::SysError;
use crate::sync::Mutex;
use crate::thread::JoinHandle;
use crate::wait::{duration_ns, WaitQueue};
use crate::workstate::{Pending, QueueOutcome, TimerKey, TimerList, WorkState};

mod clock;
pub use clock::{
    ClockStats, DeadlineClock, KernelTimeout, ServerClock, BACKSTOP_NS, FIRE_BIT, KICK_BIT,
    RETRY_NS, SESSIONS_PER_CLIENT,
};

/// A work item's state and where it is queued.
struct Slot {
    state: WorkState,
    /// The workqueue it was last queued on (for cancel and requeue).
    queue: Option<Arc<Shared>>,
    /// Its timer, while it waits on one.
    timer: Option<TimerKey>,
}

struct WorkInner {
    function: Box<dyn Fn() + Send + Sync>,
    slot: Mutex<Slot>,
    /// Flushers and cancellers wait here for a run to end.
    done: WaitQueue,
}

/// A work item (`work_struct`; also a `delayed_work`): a function run on a
/// worker thread. Clones name the same item.
#[derive(Clone)]
pub struct Work(Arc<WorkInner>);

impl Work {
    /// An idle item that runs `function` (`INIT_WORK`).
    pub fn new(function: impl Fn() + Send + Sync + 'static) -> Work {
        Work(Arc::new(WorkInner {
            function: Box::new(function),
            slot: Mutex::new(Slot {
                state: WorkState::new(),
                queue: None,
                timer: None,
            }),
            done: WaitQueue::new(),
        }))
    }

    /// Whether it is queued and not yet started (`work_pending`).
    pub fn pending(&self) -> bool {
        self.0.slot.lock().state.pending().is_some()
    }

    fn same(&self, other: &Work) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A workqueue's lists, behind its lock.
struct Lists {
    list: VecDeque<Work>,
    timers: TimerList<Work>,
    running: Vec<Work>,
}

struct Shared {
    name: String,
    lists: Mutex<Lists>,
    /// Workers sleep here (exclusively: one per queued item).
    more_work: WaitQueue,
    clock: Box<dyn DeadlineClock>,
    stopping: AtomicBool,
}

impl Shared {
    /// Puts `work` on the list and wakes a worker.
    fn enqueue(&self, work: &Work) {
        self.push(work);
        self.more_work.wake_up();
    }

    /// Puts `work` on the list; the caller wakes a worker.
    fn push(&self, work: &Work) {
        self.lists.lock().list.push_back(work.clone());
    }

    fn arm(&self, work: &Work, deadline: u64) -> TimerKey {
        let mut lists = self.lists.lock();
        let earliest = lists.timers.next_deadline().is_none_or(|d| deadline < d);
        let key = lists.timers.insert(deadline, work.clone());
        drop(lists);
        if earliest {
            self.clock.kick();
        }
        key
    }

    /// Takes `work` out of wherever it was `pending` here.
    fn take_out(&self, work: &Work, pending: Option<Pending>, timer: Option<TimerKey>) {
        let mut lists = self.lists.lock();
        match pending {
            Some(Pending::List) => lists.list.retain(|w| !w.same(work)),
            Some(Pending::Timer) => {
                if let Some(key) = timer {
                    lists.timers.remove(key);
                }
            }
            _ => {}
        }
    }
}

/// A workqueue: worker threads and a timer thread of this process.
pub struct Workqueue {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle>,
}

impl Workqueue {
    /// Starts `workers` worker threads (at least one) and the timer
    /// thread (`alloc_workqueue`), keeping deadlines with a
    /// [`ServerClock`] (the timer server, if there is one, is first called
    /// for the first delayed item). Fails if a thread or notification
    /// cannot be made (`@self` is needed for threads).
    pub fn new(name: &str, workers: usize) -> Result<Workqueue, SysError> {
        Self::with_clock(name, workers, Box::new(ServerClock::new()?))
    }

    /// As [`Workqueue::new`], with deadlines kept by `clock`.
    pub fn with_clock(
        name: &str,
        workers: usize,
        clock: Box<dyn DeadlineClock>,
    ) -> Result<Workqueue, SysError> {
        let shared = Arc::new(Shared {
            name: String::from(name),
            lists: Mutex::new(Lists {
                list: VecDeque::new(),
                timers: TimerList::new(),
                running: Vec::new(),
            }),
            more_work: WaitQueue::new(),
            clock,
            stopping: AtomicBool::new(false),
        });
        let mut wq = Workqueue {
            shared: shared.clone(),
            threads: Vec::new(),
        };
        for _ in 0..workers.max(1) {
            let shared = shared.clone();
            wq.threads
                .push(crate::thread::spawn(move || worker(&shared))?);
        }
        let timer_shared = shared;
        wq.threads
            .push(crate::thread::spawn(move || timer(&timer_shared))?);
        Ok(wq)
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// What the timer thread's clock counted (server arms and fires,
    /// backstops, reconnections).
    pub fn clock_stats(&self) -> ClockStats {
        self.shared.clock.stats()
    }

    /// The timer server's statistics for this workqueue's session (a
    /// call); `None` while it keeps no session.
    pub fn server_stats(&self) -> Option<crate::proto::timer::Stats> {
        self.shared.clock.server_stats()
    }

    /// Queues `work` for a worker; false if it was pending already.
    pub fn queue_work(&self, work: &Work) -> bool {
        self.queue(work, None)
    }

    /// Queues `work` to run `delay` from now; false if it was pending
    /// already. A zero delay queues it now.
    pub fn queue_delayed_work(&self, work: &Work, delay: Duration) -> bool {
        if delay.is_zero() {
            return self.queue(work, None);
        }
        self.queue(work, Some(duration_ns(delay)))
    }

    /// Queues `work` to run `delay` from now, moving it if it was pending
    /// (on any list or timer). Returns whether it was pending; false too
    /// while it is being cancelled (then nothing is queued).
    pub fn mod_delayed_work(&self, work: &Work, delay: Duration) -> bool {
        let mut slot = work.0.slot.lock();
        let delayed = !delay.is_zero();
        let Some((was, now)) = slot.state.modify(delayed) else {
            return false;
        };
        if let Some(old) = slot.queue.take() {
            old.take_out(work, was, slot.timer.take());
        }
        slot.queue = Some(self.shared.clone());
        self.place(work, &mut slot, now, duration_ns(delay));
        was.is_some()
    }

    fn queue(&self, work: &Work, delay_ns: Option<u64>) -> bool {
        let mut slot = work.0.slot.lock();
        match slot.state.queue(delay_ns.is_some()) {
            QueueOutcome::Refused => false,
            QueueOutcome::Accepted(Pending::List) => {
                slot.queue = Some(self.shared.clone());
                self.shared.push(work);
                // The worker is woken after the item's lock is released: a
                // worker that runs at once (on the signal) then finds it
                // free instead of blocking on it.
                drop(slot);
                self.shared.more_work.wake_up();
                true
            }
            QueueOutcome::Accepted(at) => {
                slot.queue = Some(self.shared.clone());
                self.place(work, &mut slot, at, delay_ns.unwrap_or(0));
                true
            }
        }
    }

    /// Puts an accepted item where its state says.
    fn place(&self, work: &Work, slot: &mut Slot, at: Pending, delay_ns: u64) {
        match at {
            Pending::List => self.shared.enqueue(work),
            Pending::Timer => {
                let deadline = self.shared.clock.now_ns().saturating_add(delay_ns);
                slot.timer = Some(self.shared.arm(work, deadline));
            }
            // Its worker requeues it when the run ends.
            Pending::Runner => {}
        }
    }

    /// Waits until everything on the list or running now has run
    /// (`flush_workqueue`).
    pub fn flush(&self) {
        let snapshot: Vec<Work> = {
            let lists = self.shared.lists.lock();
            lists
                .list
                .iter()
                .chain(lists.running.iter())
                .cloned()
                .collect()
        };
        for work in &snapshot {
            flush_work(work);
        }
    }
}

impl Drop for Workqueue {
    fn drop(&mut self) {
        self.flush();
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.more_work.wake_up_all();
        self.shared.clock.kick();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        self.shared.clock.stop();
        // Delayed work still on its timer is dropped: mark it idle.
        let timers = core::mem::take(&mut self.shared.lists.lock().timers);
        for (_, work) in timers.into_iter_items() {
            let mut slot = work.0.slot.lock();
            slot.state.cancel_begin();
            slot.state.cancel_end();
            slot.timer = None;
            slot.queue = None;
            drop(slot);
            work.0.done.wake_up_all();
        }
    }
}

trait IntoItems<T> {
    fn into_iter_items(self) -> Vec<(TimerKey, T)>;
}

impl<T> IntoItems<T> for TimerList<T> {
    fn into_iter_items(mut self) -> Vec<(TimerKey, T)> {
        self.expire(u64::MAX)
    }
}

/// A worker thread: runs items from the list until the workqueue stops
/// and the list is empty.
fn worker(shared: &Shared) {
    loop {
        shared.more_work.wait_event_exclusive(|| {
            shared.stopping.load(Ordering::Acquire) || !shared.lists.lock().list.is_empty()
        });
        let work = {
            let mut lists = shared.lists.lock();
            match lists.list.pop_front() {
                Some(work) => {
                    lists.running.push(work.clone());
                    work
                }
                None if shared.stopping.load(Ordering::Acquire) => return,
                None => continue,
            }
        };
        // More on the list: let another worker at it.
        if !shared.lists.lock().list.is_empty() {
            shared.more_work.wake_up();
        }
        let run = work.0.slot.lock().state.start();
        if let Some(gen) = run {
            (work.0.function)();
            let mut slot = work.0.slot.lock();
            if slot.state.finish(gen) {
                if let Some(queue) = slot.queue.clone() {
                    queue.enqueue(&work);
                }
            }
        }
        {
            let mut lists = shared.lists.lock();
            if let Some(at) = lists.running.iter().position(|w| w.same(&work)) {
                lists.running.swap_remove(at);
            }
        }
        work.0.done.wake_up_all();
    }
}

/// The timer thread: moves delayed items whose deadline passed to the list.
fn timer(shared: &Shared) {
    while !shared.stopping.load(Ordering::Acquire) {
        let (due, next) = {
            let mut lists = shared.lists.lock();
            let due = lists.timers.expire(shared.clock.now_ns());
            (due, lists.timers.next_deadline())
        };
        for (key, work) in due {
            let mut slot = work.0.slot.lock();
            // A timer moved or cancelled meanwhile is not this one.
            if slot.timer != Some(key) {
                continue;
            }
            slot.timer = None;
            if slot.state.expire() {
                shared.enqueue(&work);
            }
        }
        if due_soon(shared, next) {
            continue;
        }
        shared.clock.wait_until(next);
    }
}

/// Whether the next deadline has passed already (loop without sleeping).
fn due_soon(shared: &Shared, next: Option<u64>) -> bool {
    next.is_some_and(|at| at <= shared.clock.now_ns())
}

/// Takes `work` back if pending and waits for a run in progress to end;
/// returns whether it was pending. Afterwards it is idle until queued
/// again (queueing fails while the cancel lasts).
pub fn cancel_work_sync(work: &Work) -> bool {
    let was = {
        let mut slot = work.0.slot.lock();
        let was = slot.state.cancel_begin();
        if let Some(queue) = slot.queue.clone() {
            let timer = slot.timer.take();
            queue.take_out(work, was, timer);
        }
        was
    };
    // Flushers waiting for the cancelled queueing may go.
    work.0.done.wake_up_all();
    work.0
        .done
        .wait_event(|| work.0.slot.lock().state.cancel_may_end());
    work.0.slot.lock().state.cancel_end();
    work.0.done.wake_up_all();
    was.is_some()
}

/// As [`cancel_work_sync`] (Linux's name for delayed work).
pub fn cancel_delayed_work_sync(work: &Work) -> bool {
    cancel_work_sync(work)
}

/// Waits until the last queueing of `work` before the call has run (or
/// been cancelled); returns false if there was nothing to wait for.
pub fn flush_work(work: &Work) -> bool {
    let Some(target) = work.0.slot.lock().state.flush_target() else {
        return false;
    };
    work.0
        .done
        .wait_event(|| work.0.slot.lock().state.flushed(target));
    true
}

/// As [`flush_work`] for delayed work: its timer fires now, then it is
/// flushed (`flush_delayed_work`).
pub fn flush_delayed_work(work: &Work) -> bool {
    {
        let mut slot = work.0.slot.lock();
        if slot.state.pending() == Some(Pending::Timer) {
            if let (Some(queue), Some(key)) = (slot.queue.clone(), slot.timer.take()) {
                queue.lists.lock().timers.remove(key);
                if slot.state.expire() {
                    queue.enqueue(work);
                }
            }
        }
    }
    flush_work(work)
}

static SYSTEM: spin::Once<Workqueue> = spin::Once::new();

/// The system workqueue (`system_wq`), started on first use: two workers
/// in this process. Fails if its threads cannot be made.
pub fn system_wq() -> Result<&'static Workqueue, SysError> {
    SYSTEM.try_call_once(|| Workqueue::new("events", 2))
}

/// Queues `work` on the system workqueue (`schedule_work`); false if it
/// was pending or the workqueue could not be started.
pub fn schedule_work(work: &Work) -> bool {
    system_wq().is_ok_and(|wq| wq.queue_work(work))
}

/// Queues `work` on the system workqueue after `delay`
/// (`schedule_delayed_work`).
pub fn schedule_delayed_work(work: &Work, delay: Duration) -> bool {
    system_wq().is_ok_and(|wq| wq.queue_delayed_work(work, delay))
}
