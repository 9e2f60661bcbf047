//! The per-CPU run queue: the operations the kernel's scheduler calls, on
//! top of the two class queues (Linux's `struct rq` and the core of
//! `kernel/sched/core.c`).
//!
//! Every operation that takes `now` starts the same way: advance the clock
//! (never backwards) and charge the current thread for the time since it was
//! last accounted (Linux: `update_rq_clock` then `update_curr`), so that
//! decisions are made on fresh vruntimes. Each operation checks its
//! arguments before it changes anything, so a refused one leaves no trace.
//!
//! Switch counting follows Linux's `__schedule`: a switch is counted only
//! when another thread (or idle) really takes the CPU; blocking and yielding
//! count as voluntary, being preempted as involuntary.

use super::bandwidth::RtBandwidth;
use super::fair::{self, CfsRq};
use super::rt::{RtRq, RR_TIMESLICE};
use super::slots::{SchedKey, Slots};
use super::{preempts, Policy, SchedEntity, SchedError, State, ThreadStats};

/// The run queue of one CPU, generic over the kernel's thread id `K`.
pub struct RunQueue<K> {
    /// Every thread's scheduling state, whatever its state.
    entities: Slots<K>,
    cfs: CfsRq<K>,
    rt: RtRq<K>,
    /// The thread on the CPU; `None` while the idle thread runs.
    current: Option<K>,
    /// The current thread asked to yield: when it is next put back it goes
    /// behind its peers, and losing the CPU counts as voluntary.
    yielded: bool,
    /// The largest `now` seen (Linux: `rq->clock`).
    clock: u64,
    /// Real-time throttling: what the real-time class used of its period.
    rt_bandwidth: RtBandwidth,
}

impl<K: SchedKey> Default for RunQueue<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: SchedKey> RunQueue<K> {
    /// An empty queue: no threads, the idle thread running.
    pub const fn new() -> Self {
        RunQueue {
            entities: Slots::new(),
            cfs: CfsRq::new(),
            rt: RtRq::new(),
            current: None,
            yielded: false,
            clock: 0,
            rt_bandwidth: RtBandwidth::new(),
        }
    }

    /// Adds a new thread, `Blocked` until its first [`wake`](Self::wake).
    /// A fair thread is placed one virtual slice after `min_vruntime`
    /// (Linux's `START_DEBIT`), so that forking cannot starve the others.
    /// Fails with `InvalidPolicy` or `AlreadyPresent`.
    pub fn add(&mut self, id: K, policy: Policy, now: u64) -> Result<(), SchedError> {
        let policy = policy.checked()?;
        if self.entities.contains_key(&id) {
            return Err(SchedError::AlreadyPresent);
        }
        self.update_curr(now);
        let vruntime = self.cfs.place_new(policy.weight());
        self.entities.insert(id, SchedEntity::new(policy, vruntime));
        Ok(())
    }

    /// Forgets a thread that exits, whatever its state; if it is the
    /// current thread the idle thread runs until the next
    /// [`pick_next`](Self::pick_next). Fails with `NoSuchThread`.
    pub fn remove(&mut self, id: K, now: u64) -> Result<(), SchedError> {
        if !self.entities.contains_key(&id) {
            return Err(SchedError::NoSuchThread);
        }
        self.update_curr(now);
        if self.current == Some(id) {
            self.put_current_to_sleep();
        } else {
            self.dequeue_task(id);
        }
        self.entities.remove(&id);
        self.update_min_vruntime();
        Ok(())
    }

    /// Makes a blocked thread runnable (Linux: `try_to_wake_up`) and returns
    /// whether it should preempt the current thread (also `true` if the idle
    /// thread runs). Waking a thread that is not blocked does nothing and
    /// returns `Ok(false)`. A fair sleeper gets back its old vruntime, but no
    /// less than `min_vruntime - sched_latency / 2`. Fails with
    /// `NoSuchThread`.
    pub fn wake(&mut self, id: K, now: u64) -> Result<bool, SchedError> {
        let se = self.entities.get(&id).ok_or(SchedError::NoSuchThread)?;
        if se.state != State::Blocked {
            return Ok(false);
        }
        self.update_curr(now);
        self.place_on_wakeup(id);
        self.enqueue_task(id, false);
        self.update_min_vruntime();
        Ok(self.should_preempt_current(id))
    }

    /// The current thread blocks (a voluntary switch); the idle thread runs
    /// until the next [`pick_next`](Self::pick_next). Does nothing if the
    /// idle thread is running.
    pub fn block(&mut self, now: u64) {
        self.update_curr(now);
        self.put_current_to_sleep();
        self.update_min_vruntime();
    }

    /// The current thread gives up the CPU but stays runnable (Linux:
    /// `sched_yield`): at the next [`pick_next`](Self::pick_next), which the
    /// caller should make at once, it goes behind its peers, to the tail of
    /// its real-time priority's list or behind the rightmost fair thread.
    /// If another thread then runs, that is a voluntary switch.
    pub fn yield_current(&mut self, now: u64) {
        self.update_curr(now);
        let Some(se) = self.current.and_then(|id| self.entities.get_mut(&id)) else {
            return;
        };
        if se.is_fair() {
            se.vruntime = self.cfs.place_yield(se.vruntime);
        }
        self.yielded = true;
        self.update_min_vruntime();
    }

    /// Chooses the thread to run (Linux: `schedule()` and `pick_next_task`)
    /// and makes it current: the first thread of the highest real-time
    /// priority, else the fair thread with the smallest vruntime, else
    /// `None`, the idle thread. A current thread that is still running is
    /// put back first and competes too; losing the CPU then counts as an
    /// involuntary switch (voluntary if it yielded).
    pub fn pick_next(&mut self, now: u64) -> Option<K> {
        self.update_curr(now);
        let prev = self.current.take();
        let yielded = core::mem::take(&mut self.yielded);
        if let Some(prev) = prev {
            self.put_prev_task(prev, yielded);
        }
        // Throttled: the fair class first (real-time threads still take a
        // CPU nobody else wants).
        let next = if self.rt_bandwidth.throttled() {
            self.cfs.pick_next().or_else(|| self.rt.pick_next())
        } else {
            self.rt.pick_next().or_else(|| self.cfs.pick_next())
        };
        if let Some(se) = prev
            .filter(|&p| next != Some(p))
            .and_then(|p| self.entities.get_mut(&p))
        {
            let count = if yielded {
                &mut se.nr_voluntary_switches
            } else {
                &mut se.nr_involuntary_switches
            };
            *count = count.saturating_add(1);
        }
        if let Some(next) = next {
            self.set_next_task(next);
        }
        self.update_min_vruntime();
        next
    }

    /// The periodic timer tick (Linux: `scheduler_tick` and the classes'
    /// `task_tick`): charges the current thread and returns `need_resched`,
    /// whether [`pick_next`](Self::pick_next) should be called. It is `true`
    /// when a higher real-time priority than the current thread's is
    /// runnable; when a round-robin thread has used up its `RR_TIMESLICE`
    /// and a peer of equal priority waits; when a fair thread has run past
    /// its slice and another fair thread waits; and when the idle thread
    /// runs while a thread is runnable. Never for `SCHED_FIFO` among equals.
    pub fn tick(&mut self, now: u64) -> bool {
        self.update_curr(now);
        let Some(se) = self.current.and_then(|id| self.entities.get_mut(&id)) else {
            return self.rt.nr_queued() + self.cfs.nr_queued() > 0;
        };
        let top_rt = self.rt.highest_priority();
        let throttled = self.rt_bandwidth.throttled();
        let current_rt = se.policy.rt_priority().is_some();
        match se.policy {
            // The real-time class used up its period: a fair thread runs.
            _ if throttled && current_rt && self.cfs.nr_queued() > 0 => true,
            // `None` (a fair thread) orders below every `Some(priority)`, so
            // any queued real-time thread outranks a fair current one —
            // unless the class is throttled.
            _ if top_rt > se.policy.rt_priority() && (current_rt || !throttled) => true,
            Policy::Fifo { .. } => false,
            Policy::RoundRobin { priority } => {
                if se.time_slice > 0 {
                    false
                } else if self.rt.has_queued_at(priority) {
                    // `put_prev_task` will refill it and queue it at the tail.
                    true
                } else {
                    // Alone at its priority: a fresh slice, and carry on.
                    se.time_slice = RR_TIMESLICE;
                    false
                }
            }
            Policy::Normal { .. } => {
                let ran = se.sum_exec_runtime.saturating_sub(se.prev_sum_exec_runtime);
                self.cfs
                    .check_preempt_tick(se.policy.weight(), ran, se.vruntime)
            }
        }
    }

    /// Hands the CPU directly from the current thread to `next`, for
    /// synchronous IPC: the current thread blocks (a voluntary switch) and
    /// `next`, which must be blocked, runs at once without going through
    /// the queues (a fair `next` is first placed as a waking thread would
    /// be). Returns whether a queued thread should preempt `next` right away
    /// (a higher real-time priority is waiting, say), i.e. `need_resched`.
    /// Fails with `NoSuchThread`, or `NotBlocked` if `next` is runnable or
    /// running (which includes the current thread itself).
    pub fn switch_to(&mut self, next: K, now: u64) -> Result<bool, SchedError> {
        // Check first: nothing changes if `next` cannot be switched to.
        let state = self
            .entities
            .get(&next)
            .ok_or(SchedError::NoSuchThread)?
            .state;
        if state != State::Blocked {
            return Err(SchedError::NotBlocked);
        }
        // The IPC fast path's one pass over what `update_curr`,
        // `put_current_to_sleep`, `place_on_wakeup` and `set_next_task` do
        // (the general operations above are built from those steps).
        self.clock = self.clock.max(now);
        self.rt_bandwidth.advance(self.clock);
        let clock = self.clock;
        self.yielded = false;
        if let Some(se) = self
            .current
            .take()
            .and_then(|id| self.entities.get_mut(&id))
        {
            let delta = clock.saturating_sub(se.exec_start);
            se.exec_start = clock;
            se.sum_exec_runtime = se.sum_exec_runtime.saturating_add(delta);
            match se.policy {
                Policy::Normal { nice } => {
                    let weight = fair::nice_to_weight(nice);
                    se.vruntime = se
                        .vruntime
                        .saturating_add(fair::calc_delta_fair(delta, weight));
                    // The thread leaves the CPU: min_vruntime may follow
                    // it before it stops counting.
                    self.cfs.update_min_vruntime(Some(se.vruntime));
                    self.cfs.account_dequeue(weight);
                }
                Policy::RoundRobin { .. } => {
                    se.time_slice = se.time_slice.saturating_sub(delta);
                    self.rt_bandwidth.charge(delta);
                }
                Policy::Fifo { .. } => self.rt_bandwidth.charge(delta),
            }
            se.state = State::Blocked;
            se.nr_voluntary_switches = se.nr_voluntary_switches.saturating_add(1);
        }
        let Some(se) = self.entities.get_mut(&next) else {
            return Err(SchedError::NoSuchThread);
        };
        let fair = se.is_fair();
        if fair {
            let weight = se.policy.weight();
            se.vruntime = if se.fresh {
                self.cfs.place_new(weight)
            } else {
                self.cfs.place_sleeper(se.vruntime)
            };
            self.cfs.account_enqueue(weight);
        }
        se.fresh = false;
        se.nr_wakeups = se.nr_wakeups.saturating_add(1);
        se.state = State::Running;
        se.exec_start = clock;
        se.prev_sum_exec_runtime = se.sum_exec_runtime;
        let vruntime = se.vruntime;
        self.current = Some(next);
        self.cfs.update_min_vruntime(fair.then_some(vruntime));
        Ok(self.queued_beats_current())
    }

    /// Changes a thread's policy, nice value or priority, keeping its state
    /// (Linux: `sched_setscheduler`, `set_user_nice`). Returns whether the
    /// current thread should now be preempted. Fails with `InvalidPolicy` or
    /// `NoSuchThread`.
    pub fn set_policy(&mut self, id: K, policy: Policy, now: u64) -> Result<bool, SchedError> {
        let policy = policy.checked()?;
        let state = self
            .entities
            .get(&id)
            .ok_or(SchedError::NoSuchThread)?
            .state;
        self.update_curr(now);
        match state {
            State::Blocked => self.change_policy(id, policy),
            State::Runnable => {
                self.dequeue_task(id);
                self.change_policy(id, policy);
                self.enqueue_task(id, false);
            }
            State::Running => {
                self.account_current(false);
                self.change_policy(id, policy);
                self.account_current(true);
            }
        }
        self.update_min_vruntime();
        Ok(match state {
            State::Blocked => false,
            State::Runnable => self.should_preempt_current(id),
            State::Running => self.queued_beats_current(),
        })
    }

    /// A thread's state, or `None` if it is unknown.
    pub fn state(&self, id: K) -> Option<State> {
        self.entities.get(&id).map(|se| se.state)
    }

    /// The thread on the CPU, or `None` while the idle thread runs.
    pub fn current(&self) -> Option<K> {
        self.current
    }

    /// A snapshot of a thread's scheduling state, or `None` if it is unknown.
    pub fn stats(&self, id: K) -> Option<ThreadStats> {
        self.entities.get(&id).map(SchedEntity::stats)
    }

    /// Threads runnable and waiting for the CPU (not the one on it).
    #[inline]
    pub fn nr_queued(&self) -> usize {
        self.rt.nr_queued() + self.cfs.nr_queued()
    }

    /// Threads runnable or running (the idle thread not counted).
    pub fn nr_running(&self) -> usize {
        self.rt.nr_queued() + self.cfs.nr_queued() + usize::from(self.current.is_some())
    }

    /// The fair class's `min_vruntime`.
    pub fn min_vruntime(&self) -> u64 {
        self.cfs.min_vruntime()
    }

    /// Sets the real-time bandwidth: `runtime` of every `period` ns
    /// ([`RtBandwidth::set`]); `InvalidPolicy` if they do not fit.
    pub fn set_rt_bandwidth(&mut self, runtime: u64, period: u64) -> Result<(), SchedError> {
        self.rt_bandwidth.set(runtime, period)
    }

    /// The real-time runtime and period, in nanoseconds.
    pub fn rt_bandwidth(&self) -> (u64, u64) {
        self.rt_bandwidth.get()
    }

    // ---- The steps the operations above are made of. ----

    /// Advances the clock and charges the current thread for the time since
    /// it was last accounted (Linux: `update_rq_clock` and `update_curr`):
    /// its total runtime, and its vruntime or round-robin slice.
    fn update_curr(&mut self, now: u64) {
        self.clock = self.clock.max(now);
        self.rt_bandwidth.advance(self.clock);
        let Some(se) = self.current.and_then(|id| self.entities.get_mut(&id)) else {
            return;
        };
        let delta = self.clock.saturating_sub(se.exec_start);
        se.exec_start = self.clock;
        se.sum_exec_runtime = se.sum_exec_runtime.saturating_add(delta);
        match se.policy {
            Policy::Normal { nice } => {
                let vdelta = fair::calc_delta_fair(delta, fair::nice_to_weight(nice));
                se.vruntime = se.vruntime.saturating_add(vdelta);
            }
            Policy::RoundRobin { .. } => {
                se.time_slice = se.time_slice.saturating_sub(delta);
                self.rt_bandwidth.charge(delta);
            }
            Policy::Fifo { .. } => self.rt_bandwidth.charge(delta),
        }
        self.update_min_vruntime();
    }

    /// Recomputes `min_vruntime` from the current thread (if fair) and the
    /// leftmost one.
    fn update_min_vruntime(&mut self) {
        let curr = self
            .current
            .and_then(|id| self.entities.get(&id))
            .filter(|se| se.is_fair())
            .map(|se| se.vruntime);
        self.cfs.update_min_vruntime(curr);
    }

    /// Puts a `Blocked` thread's vruntime where a waking thread belongs: a
    /// thread's first wake-up is its fork (debited after `min_vruntime`),
    /// later ones are sleepers (credited at most half a latency). Counts
    /// the wake-up.
    fn place_on_wakeup(&mut self, id: K) {
        let Some(se) = self.entities.get_mut(&id) else {
            return;
        };
        if se.is_fair() {
            se.vruntime = if se.fresh {
                self.cfs.place_new(se.policy.weight())
            } else {
                self.cfs.place_sleeper(se.vruntime)
            };
        }
        se.fresh = false;
        se.nr_wakeups = se.nr_wakeups.saturating_add(1);
    }

    /// Makes a thread that is in no queue `Runnable` in its class's queue
    /// (Linux: `enqueue_task`); a real-time thread goes to the head of its
    /// list if `at_head`, else to the tail. A fair thread is counted in the
    /// load unless it is coming off the CPU (still `Running`), where it
    /// already was.
    fn enqueue_task(&mut self, id: K, at_head: bool) {
        let Some(se) = self.entities.get_mut(&id) else {
            return;
        };
        match se.policy.rt_priority() {
            Some(priority) if at_head => se.rt_seq = self.rt.enqueue_head(id, priority),
            Some(priority) => se.rt_seq = self.rt.enqueue_tail(id, priority),
            None => {
                if se.state != State::Running {
                    self.cfs.account_enqueue(se.policy.weight());
                }
                self.cfs.enqueue(id, se.vruntime);
            }
        }
        se.state = State::Runnable;
    }

    /// Takes a `Runnable` thread out of its class's queue and uncounts it;
    /// it is left `Blocked` (Linux: `dequeue_task`). Does nothing to a
    /// thread that is not runnable.
    fn dequeue_task(&mut self, id: K) {
        let Some(se) = self.entities.get_mut(&id) else {
            return;
        };
        if se.state != State::Runnable {
            return;
        }
        match se.policy.rt_priority() {
            Some(priority) => self.rt.dequeue(id, priority, se.rt_seq),
            None => {
                self.cfs.dequeue(id, se.vruntime);
                self.cfs.account_dequeue(se.policy.weight());
            }
        }
        se.state = State::Blocked;
    }

    /// Puts the thread that was running back in its queue (Linux:
    /// `put_prev_task`). A real-time thread goes to the tail of its list if
    /// it yielded or used up its round-robin slice (which is refilled), and
    /// back to the head if it was preempted, keeping its turn.
    fn put_prev_task(&mut self, prev: K, yielded: bool) {
        let Some(se) = self.entities.get_mut(&prev) else {
            return;
        };
        let slice_used = matches!(se.policy, Policy::RoundRobin { .. }) && se.time_slice == 0;
        if slice_used {
            se.time_slice = RR_TIMESLICE;
        }
        self.enqueue_task(prev, !(yielded || slice_used));
    }

    /// Makes a thread that is in no queue the running one (Linux:
    /// `set_next_entity`): its slice starts now.
    fn set_next_task(&mut self, next: K) {
        let Some(se) = self.entities.get_mut(&next) else {
            return;
        };
        se.state = State::Running;
        se.exec_start = self.clock;
        se.prev_sum_exec_runtime = se.sum_exec_runtime;
        self.current = Some(next);
    }

    /// The current thread leaves the CPU for good or for a while: `Blocked`,
    /// out of the fair load, a voluntary switch; the idle thread is current.
    fn put_current_to_sleep(&mut self) {
        self.yielded = false;
        let Some(se) = self
            .current
            .take()
            .and_then(|id| self.entities.get_mut(&id))
        else {
            return;
        };
        if se.is_fair() {
            self.cfs.account_dequeue(se.policy.weight());
        }
        se.state = State::Blocked;
        se.nr_voluntary_switches = se.nr_voluntary_switches.saturating_add(1);
    }

    /// Counts (`true`) or uncounts the current thread in the fair load, when
    /// it is fair; used around a policy change of the running thread.
    fn account_current(&mut self, count: bool) {
        let Some(se) = self.current.and_then(|id| self.entities.get(&id)) else {
            return;
        };
        if se.is_fair() {
            if count {
                self.cfs.account_enqueue(se.policy.weight());
            } else {
                self.cfs.account_dequeue(se.policy.weight());
            }
        }
    }

    /// Sets a thread's policy while it is in no queue and uncounted. A thread
    /// that becomes fair is placed like a waking sleeper, since its old
    /// vruntime is stale; one that becomes round-robin gets a full slice.
    fn change_policy(&mut self, id: K, policy: Policy) {
        let Some(se) = self.entities.get_mut(&id) else {
            return;
        };
        if !se.is_fair() && matches!(policy, Policy::Normal { .. }) && !se.fresh {
            se.vruntime = self.cfs.place_sleeper(se.vruntime);
        }
        if !matches!(se.policy, Policy::RoundRobin { .. }) {
            se.time_slice = RR_TIMESLICE;
        }
        se.policy = policy;
    }

    /// Whether the runnable thread `id` should preempt the current one
    /// (always, if the idle thread runs).
    fn should_preempt_current(&self, id: K) -> bool {
        let Some(candidate) = self.entities.get(&id) else {
            return false;
        };
        match self.current.and_then(|c| self.entities.get(&c)) {
            Some(current) => preempts(candidate, current),
            None => true,
        }
    }

    /// Whether the best queued thread should preempt the current one: the
    /// first of the highest real-time priority if there is one, else the
    /// leftmost fair thread.
    fn queued_beats_current(&self) -> bool {
        if self.rt.highest_priority().is_some() {
            let current_rt = self
                .current
                .and_then(|c| self.entities.get(&c))
                .and_then(|se| se.policy.rt_priority());
            return self.rt.highest_priority() > current_rt;
        }
        match self.cfs.leftmost() {
            Some((_, id)) => self.should_preempt_current(id),
            None => false,
        }
    }

    /// Checks the invariants listed in the module documentation, panicking
    /// with the first one that is broken.
    #[cfg(test)]
    pub(super) fn assert_invariants(&self) {
        let (mut fair_load, mut fair_running, mut queued) = (0, 0, 0);
        for (&id, se) in self.entities.iter() {
            assert_eq!(
                se.state == State::Running,
                self.current == Some(id),
                "{id:?}"
            );
            let fair = se.is_fair();
            let in_tree = self.cfs.contains(id, se.vruntime);
            let in_rt = se
                .policy
                .rt_priority()
                .is_some_and(|p| self.rt.contains(id, p, se.rt_seq));
            let runnable = se.state == State::Runnable;
            assert_eq!(in_tree, runnable && fair, "{id:?} in the fair tree");
            assert_eq!(in_rt, runnable && !fair, "{id:?} in an RT list");
            queued += usize::from(runnable);
            if fair && se.state != State::Blocked {
                fair_load += se.policy.weight();
                fair_running += 1;
            }
        }
        assert_eq!(self.cfs.load(), (fair_load, fair_running), "fair load");
        assert!(self.rt.is_consistent(), "RT bitmap and count");
        assert_eq!(self.rt.nr_queued() + self.cfs.nr_queued(), queued);
        assert!(!self.yielded || self.current.is_some());
    }
}
