//! The fair class: the Completely Fair Scheduler (Linux's
//! `kernel/sched/fair.c`, chapter 4 of *Linux Kernel Development*).
//!
//! CFS models an ideal processor that runs all `n` runnable threads at once,
//! each at `1/n` of its speed (weighted by nice). It cannot do that, so it
//! keeps for every thread a *virtual runtime*: the time it has run, scaled by
//! `NICE_0_LOAD / weight` (a nice-0 thread's vruntime advances at wall-clock
//! speed, a heavier one's more slowly). The thread that has received the
//! least, the one with the smallest vruntime, runs next.
//!
//! The runnable threads sit in a tree ordered by `(vruntime, id)`; Linux uses
//! a red-black tree with a cached leftmost node, here a `BTreeSet` whose
//! `first()` is the leftmost. How long the chosen thread runs before the tick
//! preempts it is its *slice*: its weight's share of the *targeted latency*
//! (`sched_latency`), the period in which every runnable thread should run
//! once. With many threads the period stretches so that no slice falls below
//! the *minimum granularity*.
//!
//! Invariants kept here and by the run queue:
//! - the current thread is never in the tree (it is taken out when picked
//!   and put back when it stops running), but it does count in `load` and
//!   `nr_running`, since it still competes for the CPU;
//! - a thread's key in the tree is its vruntime at the time it was inserted:
//!   vruntime only changes while a thread is out of the tree;
//! - `min_vruntime` never decreases; it follows the smallest vruntime of the
//!   current thread and the leftmost one, and is where new and waking
//!   threads are placed so that they neither starve nor get starved.
//!
//! All arithmetic saturates: vruntime is a `u64` of nanoseconds, which would
//! take centuries to overflow, but `now` comes from outside.

use alloc::collections::BTreeSet;

/// The weight of a nice-0 thread, the unit of vruntime (Linux: `NICE_0_LOAD`).
pub const NICE_0_LOAD: u64 = 1024;

/// Lowest nice value, the most CPU (Linux: `MIN_NICE`).
pub const MIN_NICE: i8 = -20;
/// Highest nice value, the least CPU (Linux: `MAX_NICE`).
pub const MAX_NICE: i8 = 19;

/// Weight of each nice value, from nice -20 to nice 19 (Linux:
/// `sched_prio_to_weight`). Each step is about 1.25 times the next, so one
/// nice level apart is about 10% of the CPU whatever the absolute values.
pub const SCHED_PRIO_TO_WEIGHT: [u64; 40] = [
    /* -20 */ 88761, 71755, 56483, 46273, 36291, //
    /* -15 */ 29154, 23254, 18705, 14949, 11916, //
    /* -10 */ 9548, 7620, 6100, 4904, 3906, //
    /*  -5 */ 3121, 2501, 1991, 1586, 1277, //
    /*   0 */ 1024, 820, 655, 526, 423, //
    /*   5 */ 335, 272, 215, 172, 137, //
    /*  10 */ 110, 87, 70, 56, 45, //
    /*  15 */ 36, 29, 23, 18, 15, //
];

/// Targeted latency: the period in which every runnable fair thread should
/// run once, in nanoseconds (Linux: `sysctl_sched_latency`, 6 ms).
pub const SCHED_LATENCY: u64 = 6_000_000;
/// Minimum granularity: no slice is shorter, in nanoseconds (Linux:
/// `sysctl_sched_min_granularity`, 0.75 ms).
pub const SCHED_MIN_GRANULARITY: u64 = 750_000;
/// How far ahead in vruntime the current thread must be before a waking
/// thread preempts it, in nanoseconds for a nice-0 waker (Linux:
/// `sysctl_sched_wakeup_granularity`, 1 ms).
pub const SCHED_WAKEUP_GRANULARITY: u64 = 1_000_000;
/// Beyond this many runnable threads the period is stretched to
/// `nr_running * SCHED_MIN_GRANULARITY` (Linux: `sched_nr_latency`).
pub const SCHED_NR_LATENCY: u64 = SCHED_LATENCY / SCHED_MIN_GRANULARITY;

/// The weight of a nice value; values outside -20..=19 are clamped (they are
/// rejected before they get here, see `Policy::checked`).
pub fn nice_to_weight(nice: i8) -> u64 {
    let index = nice.clamp(MIN_NICE, MAX_NICE) - MIN_NICE;
    SCHED_PRIO_TO_WEIGHT[usize::from(index.unsigned_abs())]
}

/// `delta * numerator / denominator`, saturated to `u64`; a zero
/// denominator counts as one. The product fits in 64 bits for any delta
/// below about 200 days of nanoseconds, and then one 64-bit division
/// does; only beyond that does it take 128 bits (a slow library call).
#[inline]
fn mul_div(delta: u64, numerator: u64, denominator: u64) -> u64 {
    let denominator = denominator.max(1);
    match delta.checked_mul(numerator) {
        Some(product) => product / denominator,
        None => {
            let wide = u128::from(delta) * u128::from(numerator) / u128::from(denominator);
            u64::try_from(wide).unwrap_or(u64::MAX)
        }
    }
}

/// Converts real time into the virtual time of a thread of `weight`:
/// `delta * NICE_0_LOAD / weight` (Linux: `calc_delta_fair`).
#[inline]
pub fn calc_delta_fair(delta: u64, weight: u64) -> u64 {
    // Linux's shortcut: a nice-0 thread's virtual time is its real time.
    if weight == NICE_0_LOAD {
        return delta;
    }
    mul_div(delta, NICE_0_LOAD, weight)
}

/// The period in which each of `nr_running` threads should run once (Linux:
/// `__sched_period`): the targeted latency, stretched when so many threads
/// are runnable that slices would fall below the minimum granularity.
pub fn sched_period(nr_running: u64) -> u64 {
    if nr_running > SCHED_NR_LATENCY {
        nr_running.saturating_mul(SCHED_MIN_GRANULARITY)
    } else {
        SCHED_LATENCY
    }
}

/// Whether a thread woken with `woken_vruntime` and `woken_weight` should
/// preempt the current one (Linux: `wakeup_preempt_entity`): only if the
/// current thread is ahead by more than the wake-up granularity, converted
/// to the woken thread's virtual time. The margin keeps threads that wake
/// often from switching the CPU back and forth for a few microseconds.
pub fn wakeup_preempt_entity(curr_vruntime: u64, woken_vruntime: u64, woken_weight: u64) -> bool {
    let ahead = curr_vruntime.saturating_sub(woken_vruntime);
    ahead > calc_delta_fair(SCHED_WAKEUP_GRANULARITY, woken_weight)
}

/// The fair run queue of one CPU (Linux: `struct cfs_rq`).
pub(super) struct CfsRq<K> {
    /// Runnable fair threads other than the current one, ordered by
    /// `(vruntime, id)` (Linux: `tasks_timeline`). The id breaks ties, so
    /// equal vruntimes are all kept.
    timeline: BTreeSet<(u64, K)>,
    /// Monotonic floor of the vruntimes in the queue (Linux: `min_vruntime`).
    min_vruntime: u64,
    /// Sum of the weights of the runnable and running fair threads (Linux:
    /// `cfs_rq->load.weight`): the denominator of every slice.
    load: u64,
    /// Number of runnable and running fair threads (Linux: `nr_running`).
    nr_running: u64,
}

impl<K: Copy + Ord> CfsRq<K> {
    pub const fn new() -> Self {
        CfsRq {
            timeline: BTreeSet::new(),
            min_vruntime: 0,
            load: 0,
            nr_running: 0,
        }
    }

    pub fn min_vruntime(&self) -> u64 {
        self.min_vruntime
    }

    /// Threads waiting in the tree (the current one excluded).
    pub fn nr_queued(&self) -> usize {
        self.timeline.len()
    }

    /// Counts a thread that becomes runnable (Linux: `account_entity_enqueue`).
    pub fn account_enqueue(&mut self, weight: u64) {
        self.load = self.load.saturating_add(weight);
        self.nr_running = self.nr_running.saturating_add(1);
    }

    /// Uncounts a thread that blocks or leaves (Linux: `account_entity_dequeue`).
    pub fn account_dequeue(&mut self, weight: u64) {
        self.load = self.load.saturating_sub(weight);
        self.nr_running = self.nr_running.saturating_sub(1);
    }

    /// Puts a thread in the tree (Linux: `__enqueue_entity`).
    pub fn enqueue(&mut self, id: K, vruntime: u64) {
        self.timeline.insert((vruntime, id));
    }

    /// Takes a thread out of the tree (Linux: `__dequeue_entity`); `vruntime`
    /// must be the one it was inserted with.
    pub fn dequeue(&mut self, id: K, vruntime: u64) {
        self.timeline.remove(&(vruntime, id));
    }

    /// The leftmost thread and its vruntime (Linux: `__pick_first_entity`).
    pub fn leftmost(&self) -> Option<(u64, K)> {
        self.timeline.first().copied()
    }

    /// Takes the leftmost thread out of the tree to run it (Linux:
    /// `pick_next_entity` followed by `set_next_entity`).
    pub fn pick_next(&mut self) -> Option<K> {
        self.timeline.pop_first().map(|(_, id)| id)
    }

    /// Raises `min_vruntime` towards the smallest of the current thread's
    /// vruntime (`None` if the current thread is not fair) and the leftmost
    /// one's, never lowering it (Linux: `update_min_vruntime`).
    pub fn update_min_vruntime(&mut self, curr_vruntime: Option<u64>) {
        let leftmost = self.leftmost().map(|(vruntime, _)| vruntime);
        let smallest = match (curr_vruntime, leftmost) {
            (Some(curr), Some(left)) => curr.min(left),
            (Some(v), None) | (None, Some(v)) => v,
            (None, None) => return,
        };
        self.min_vruntime = self.min_vruntime.max(smallest);
    }

    /// The wall-clock slice of a thread of `weight` (Linux: `sched_slice`):
    /// its share of the period. `on_rq` says whether the thread is already
    /// counted in the load; if not (it is being added), it is counted as if
    /// it were.
    pub fn sched_slice(&self, weight: u64, on_rq: bool) -> u64 {
        let (nr, load) = if on_rq {
            (self.nr_running, self.load)
        } else {
            (
                self.nr_running.saturating_add(1),
                self.load.saturating_add(weight),
            )
        };
        mul_div(sched_period(nr), weight, load)
    }

    /// The slice in virtual time (Linux: `sched_vslice`).
    pub fn sched_vslice(&self, weight: u64, on_rq: bool) -> u64 {
        calc_delta_fair(self.sched_slice(weight, on_rq), weight)
    }

    /// Where a new thread starts (Linux: `place_entity` with `initial` and
    /// `START_DEBIT`): one virtual slice after `min_vruntime`, as if it had
    /// already had its turn in this period. A thread that forks in a loop
    /// thus cannot push its children ahead of the threads already waiting.
    pub fn place_new(&self, weight: u64) -> u64 {
        self.min_vruntime
            .saturating_add(self.sched_vslice(weight, false))
    }

    /// Where a waking thread is put (Linux: `place_entity` with
    /// `GENTLE_FAIR_SLEEPERS`): its own vruntime, but no further back than
    /// half a latency before `min_vruntime`. A short sleeper keeps its
    /// place; a long sleeper gets a small credit, so it runs soon, but
    /// cannot claim the whole time it slept and monopolise the CPU.
    pub fn place_sleeper(&self, vruntime: u64) -> u64 {
        vruntime.max(self.min_vruntime.saturating_sub(SCHED_LATENCY / 2))
    }

    /// Where a thread that yields goes: just behind the rightmost thread of
    /// the tree, so every waiting thread runs first (Linux's old
    /// `yield_task_fair` under `sched_compat_yield`). Keeps its vruntime if
    /// it is already last.
    pub fn place_yield(&self, vruntime: u64) -> u64 {
        match self.timeline.last() {
            Some(&(rightmost, _)) => vruntime.max(rightmost.saturating_add(1)),
            None => vruntime,
        }
    }

    /// Whether the tick should preempt the current fair thread (Linux:
    /// `check_preempt_tick`): it has run past its slice since it was picked,
    /// or it has run at least the minimum granularity and is ahead of the
    /// leftmost thread by more than a slice. Never if nobody waits.
    pub fn check_preempt_tick(&self, weight: u64, ran: u64, curr_vruntime: u64) -> bool {
        let Some((leftmost, _)) = self.leftmost() else {
            return false;
        };
        let ideal_runtime = self.sched_slice(weight, true);
        if ran > ideal_runtime {
            return true;
        }
        if ran < SCHED_MIN_GRANULARITY {
            return false;
        }
        curr_vruntime.saturating_sub(leftmost) > ideal_runtime
    }

    /// For invariant checks: whether `(vruntime, id)` is in the tree.
    #[cfg(test)]
    pub fn contains(&self, id: K, vruntime: u64) -> bool {
        self.timeline.contains(&(vruntime, id))
    }

    /// For invariant checks: the load and the count of fair threads.
    #[cfg(test)]
    pub fn load(&self) -> (u64, u64) {
        (self.load, self.nr_running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn weight_table_matches_linux() {
        assert_eq!(nice_to_weight(0), 1024);
        assert_eq!(nice_to_weight(5), 335);
        assert_eq!(nice_to_weight(-5), 3121);
        assert_eq!(nice_to_weight(-20), 88761);
        assert_eq!(nice_to_weight(19), 15);
        assert_eq!(nice_to_weight(i8::MIN), 88761, "clamped, not a panic");
        assert_eq!(nice_to_weight(i8::MAX), 15, "clamped, not a panic");
        for pair in SCHED_PRIO_TO_WEIGHT.windows(2) {
            let ratio = pair[0] as f64 / pair[1] as f64;
            assert!((1.2..1.3).contains(&ratio), "each nice step is ~1.25x");
        }
    }

    #[test]
    fn vruntime_runs_at_wall_speed_for_nice_0_only() {
        assert_eq!(calc_delta_fair(4 * MS, NICE_0_LOAD), 4 * MS);
        assert_eq!(calc_delta_fair(335, 335), 1024);
        assert!(calc_delta_fair(4 * MS, nice_to_weight(-20)) < 4 * MS / 80);
        assert_eq!(calc_delta_fair(u64::MAX, 15), u64::MAX, "saturates");
        assert_eq!(calc_delta_fair(MS, 0), 1024 * MS, "no division by zero");
    }

    #[test]
    fn period_stretches_past_sched_nr_latency() {
        assert_eq!(SCHED_NR_LATENCY, 8);
        assert_eq!(sched_period(1), SCHED_LATENCY);
        assert_eq!(sched_period(8), SCHED_LATENCY);
        assert_eq!(sched_period(9), 9 * SCHED_MIN_GRANULARITY);
        assert_eq!(sched_period(u64::MAX), u64::MAX);
    }

    #[test]
    fn slices_split_the_latency_by_weight() {
        let mut cfs = CfsRq::<u32>::new();
        assert_eq!(cfs.sched_slice(1024, false), SCHED_LATENCY, "alone");
        cfs.account_enqueue(1024);
        cfs.account_enqueue(335);
        assert_eq!(cfs.sched_slice(1024, true), 6 * MS * 1024 / 1359);
        assert_eq!(cfs.sched_slice(335, true), 6 * MS * 335 / 1359);
        // A newcomer is counted as if it were already there.
        assert_eq!(cfs.sched_slice(1024, false), 6 * MS * 1024 / (1359 + 1024));
        for _ in 0..20 {
            cfs.account_enqueue(1024);
        }
        assert!(cfs.sched_slice(1024, true) >= SCHED_MIN_GRANULARITY * 1024 / 1359);
    }

    #[test]
    fn min_vruntime_only_moves_forward() {
        let mut cfs = CfsRq::<u32>::new();
        cfs.enqueue(1, 10 * MS);
        cfs.enqueue(2, 20 * MS);
        cfs.update_min_vruntime(None);
        assert_eq!(cfs.min_vruntime(), 10 * MS);
        cfs.update_min_vruntime(Some(15 * MS));
        assert_eq!(cfs.min_vruntime(), 10 * MS, "leftmost is smaller");
        cfs.dequeue(1, 10 * MS);
        cfs.update_min_vruntime(Some(15 * MS));
        assert_eq!(cfs.min_vruntime(), 15 * MS, "current is smaller");
        cfs.enqueue(3, 0);
        cfs.update_min_vruntime(Some(15 * MS));
        assert_eq!(cfs.min_vruntime(), 15 * MS, "never backwards");
    }

    #[test]
    fn equal_vruntimes_are_all_kept_and_leftmost_comes_first() {
        let mut cfs = CfsRq::<u32>::new();
        cfs.enqueue(7, 5);
        cfs.enqueue(3, 5);
        cfs.enqueue(9, 1);
        assert_eq!(cfs.nr_queued(), 3);
        assert_eq!(cfs.pick_next(), Some(9));
        assert_eq!(cfs.pick_next(), Some(3));
        assert_eq!(cfs.pick_next(), Some(7));
        assert_eq!(cfs.pick_next(), None);
    }

    #[test]
    fn placement_debits_new_threads_and_clamps_sleepers() {
        let mut cfs = CfsRq::<u32>::new();
        cfs.enqueue(1, 100 * MS);
        cfs.account_enqueue(1024);
        cfs.update_min_vruntime(None);
        // Two nice-0 threads: the newcomer's slice is half the latency.
        assert_eq!(cfs.place_new(1024), 103 * MS);
        assert_eq!(cfs.place_sleeper(0), 97 * MS, "credit of latency/2 at most");
        assert_eq!(
            cfs.place_sleeper(99 * MS),
            99 * MS,
            "short sleeper keeps its place"
        );
        assert_eq!(cfs.place_yield(50 * MS), 100 * MS + 1);
    }

    #[test]
    fn wakeup_preemption_needs_a_granularity_of_lead() {
        assert!(!wakeup_preempt_entity(10 * MS, 10 * MS, 1024));
        assert!(
            !wakeup_preempt_entity(10 * MS, 9 * MS, 1024),
            "exactly 1 ms"
        );
        assert!(wakeup_preempt_entity(10 * MS, 9 * MS - 1, 1024));
        assert!(!wakeup_preempt_entity(9 * MS, 10 * MS, 1024), "behind");
        // A light waker's granularity is larger in its own virtual time.
        assert!(!wakeup_preempt_entity(10 * MS, 7 * MS, 335));
    }

    #[test]
    fn tick_preempts_after_the_slice_only_if_someone_waits() {
        let mut cfs = CfsRq::<u32>::new();
        cfs.account_enqueue(1024);
        assert!(!cfs.check_preempt_tick(1024, 100 * MS, 0), "alone");
        cfs.account_enqueue(1024);
        cfs.enqueue(2, 0);
        assert!(!cfs.check_preempt_tick(1024, 3 * MS, 0), "within its 3 ms");
        assert!(cfs.check_preempt_tick(1024, 3 * MS + 1, 0));
        assert!(
            !cfs.check_preempt_tick(1024, MS / 2, 10 * MS),
            "min granularity"
        );
        assert!(
            cfs.check_preempt_tick(1024, MS, 10 * MS),
            "far ahead of leftmost"
        );
    }
}
