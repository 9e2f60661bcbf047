//! Kernel timers on the hierarchical timer wheel of Linux 2.6
//! (`kernel/timer.c` before 4.8, LKD chapter 11).
//!
//! Timers live in an arena and are named by a [`TimerId`]: an index and a
//! generation, so a handle kept after [`TimerWheel::destroy_timer`] is
//! refused instead of reaching whoever reuses the slot. A pending timer sits
//! on exactly one list: one of the 256 slots of `tv1` (timers due within
//! 256 jiffies, one slot per jiffy) or one of the 64 slots of `tv2`..`tv5`
//! (each slot of `tvN` spans 64 times a slot of the level below). The level
//! is chosen by how far `expires` is from `timer_jiffies`, the next jiffy
//! the wheel will process, so adding and deleting are O(1). When the `tv1`
//! index wraps, the next slot of `tv2` is *cascaded*: its timers are filed
//! again, now landing in `tv1`; when `tv2`'s index wraps, `tv3` is
//! cascaded, and so on.
//!
//! Invariants:
//! - Every `tv1` slot holds timers due exactly at the one jiffy that slot
//!   stands for in the next 256, except timers added with an expiry already
//!   past, which go in the slot of `timer_jiffies` and fire next.
//! - A slot of `tv2`..`tv5` holds only timers due in the span of jiffies it
//!   will be cascaded for, so nothing fires early and nothing is skipped.
//! - Timers 2^32 or more jiffies away (49.7 days at HZ=1000) wait on an
//!   overflow list filed again every 2^26 jiffies. (Linux 2.6 clamps them
//!   into `tv5`, firing them early; here they fire on time.)
//! - Expiries are compared wrap-safely, as
//!   [`time_after`](crate::jiffies::time_after) does: an expiry up to 2^63
//!   jiffies ahead of `timer_jiffies` is in the future, anything else is in
//!   the past. The 64-bit counter may wrap.
//! - Timers fire in expiry order; timers with the same expiry fire in the
//!   order they were last added (by `add_timer`, `mod_timer` or re-arming).
//!
//! Nothing here panics on any input: a bad handle, period or allocation
//! failure is a [`TimerError`].

use alloc::vec::Vec;

use crate::jiffies::{time_after_eq, Jiffies, MAX_JIFFY_OFFSET};
use lists::{tvn_list, Lists, State, Timer, NIL, OVERFLOW};

mod lists;

const TVR_BITS: u32 = 8;
const TVN_BITS: u32 = 6;
const TVR_SIZE: usize = 1 << TVR_BITS;
const TVN_SIZE: usize = 1 << TVN_BITS;
const TVR_MASK: u64 = TVR_SIZE as u64 - 1;
const TVN_MASK: u64 = TVN_SIZE as u64 - 1;
/// `tv2`..`tv5`.
const TVN_LEVELS: usize = 4;
/// How far ahead the wheel itself reaches; later timers overflow.
const WHEEL_SPAN_BITS: u32 = TVR_BITS + TVN_LEVELS as u32 * TVN_BITS;
/// Bits below a `tv5` slot: the overflow list is filed every 2^26 jiffies.
const TV5_SHIFT: u32 = TVR_BITS + 3 * TVN_BITS;

/// Arena indices run below `NIL`.
const MAX_TIMERS: usize = NIL as usize;

/// Buckets of the late-by histogram: bucket 0 counts timers that ran at
/// their expiry, bucket `b` those that ran `[2^(b-1), 2^b)` jiffies late.
pub const LATE_BUCKETS: usize = 65;

/// The late-by histogram bucket of a timer that ran `late_by` jiffies late.
pub const fn late_bucket(late_by: Jiffies) -> usize {
    (u64::BITS - late_by.leading_zeros()) as usize
}

/// The name of a timer: an arena index and the generation of that slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId {
    index: u32,
    generation: u32,
}

impl TimerId {
    /// The handle as one word, for a message.
    pub const fn to_raw(self) -> u64 {
        (self.generation as u64) << 32 | self.index as u64
    }

    /// A handle from a word of a message. Any value is accepted here; the
    /// wheel refuses one that names no live timer ([`TimerError::StaleHandle`]).
    pub const fn from_raw(raw: u64) -> TimerId {
        TimerId {
            index: raw as u32,
            generation: (raw >> 32) as u32,
        }
    }
}

/// Why a timer operation was refused. A refused operation changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerError {
    /// The handle names no live timer: never issued, or destroyed since.
    StaleHandle,
    /// `add_timer` on a timer that is already pending (use `mod_timer`).
    AlreadyPending,
    /// A period beyond [`MAX_JIFFY_OFFSET`].
    InvalidPeriod,
    /// The arena could not grow.
    OutOfMemory,
    /// Every one of the 2^32 - 1 handles is in use.
    TooManyTimers,
}

/// Where a pending timer is filed (for tests and for teaching).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Slot `slot` of `tv<tv>`, `tv` in 1..=5.
    Vector { tv: u8, slot: u8 },
    /// The overflow list: due 2^32 jiffies or more after `timer_jiffies`.
    Overflow,
}

/// What the wheel knows about one timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerInfo {
    pub owner: u64,
    pub token: u64,
    /// The expiry last set, pending or not.
    pub expires: Jiffies,
    /// 0 for a one-shot timer.
    pub period: Jiffies,
    pub pending: bool,
}

/// One timer that fired, as handed to the `run_timers` callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expired {
    pub id: TimerId,
    pub owner: u64,
    pub token: u64,
    /// The expiry it fired for.
    pub expires: Jiffies,
    /// The `now` given to `run_timers`.
    pub now: Jiffies,
    /// `now - expires`: 0 when it ran on time.
    pub late_by: Jiffies,
    /// For a periodic timer: the expiries skipped because `run_timers` came
    /// later than one period after this one (POSIX calls them overruns).
    pub overruns: u64,
    /// For a periodic timer: the expiry it was re-armed for.
    pub next: Option<Jiffies>,
}

/// The timer wheel of one timer server (Linux's `struct tvec_base`).
pub struct TimerWheel {
    /// The next jiffy `run_timers` will process.
    timer_jiffies: Jiffies,
    timers: Vec<Timer>,
    free_head: u32,
    lists: Lists,
    /// The earliest expiry on the overflow list, kept so that
    /// `next_expiry` need not walk a list that may hold many timers.
    overflow_earliest: Option<Jiffies>,
    next_seq: u64,
    /// Room for one slot's worth of timers while they are sorted and fired;
    /// its capacity is kept at least the arena's length, so `run_timers`
    /// never allocates.
    batch: Vec<u32>,
    pending: usize,
    expirations: u64,
    late_histogram: [u64; LATE_BUCKETS],
}

impl TimerWheel {
    /// An empty wheel whose first jiffy to process is `timer_jiffies`
    /// (normally the current jiffies).
    pub fn new(timer_jiffies: Jiffies) -> TimerWheel {
        TimerWheel {
            timer_jiffies,
            timers: Vec::new(),
            free_head: NIL,
            lists: Lists::new(),
            overflow_earliest: None,
            next_seq: 0,
            batch: Vec::new(),
            pending: 0,
            expirations: 0,
            late_histogram: [0; LATE_BUCKETS],
        }
    }

    /// The next jiffy `run_timers` will process (`base->timer_jiffies`).
    pub fn timer_jiffies(&self) -> Jiffies {
        self.timer_jiffies
    }

    /// A new one-shot timer, not pending, whose expiry will be reported
    /// with `owner` and `token` (Linux's `init_timer` plus `setup_timer`'s
    /// `data`). Fails with `OutOfMemory` or `TooManyTimers`.
    pub fn init_timer(&mut self, owner: u64, token: u64) -> Result<TimerId, TimerError> {
        let fresh = Timer {
            generation: 1,
            state: State::Idle,
            prev: NIL,
            next: NIL,
            expires: self.timer_jiffies,
            period: 0,
            seq: 0,
            owner,
            token,
        };
        if self.free_head != NIL {
            let index = self.free_head;
            let timer = &mut self.timers[index as usize];
            self.free_head = timer.next;
            *timer = Timer {
                generation: timer.generation,
                ..fresh
            };
            return Ok(TimerId {
                index,
                generation: timer.generation,
            });
        }
        let index = self.timers.len();
        if index >= MAX_TIMERS {
            return Err(TimerError::TooManyTimers);
        }
        // `batch` is empty between runs, so this makes its capacity at
        // least the arena's new length.
        if self.timers.try_reserve(1).is_err() || self.batch.try_reserve(index + 1).is_err() {
            return Err(TimerError::OutOfMemory);
        }
        self.timers.push(fresh);
        Ok(TimerId {
            index: index as u32,
            generation: fresh.generation,
        })
    }

    /// Deletes the timer if pending and frees its handle; returns whether it
    /// was pending. Fails with `StaleHandle`.
    pub fn destroy_timer(&mut self, id: TimerId) -> Result<bool, TimerError> {
        let was_pending = self.del_timer(id)?;
        let index = id.index;
        let timer = &mut self.timers[index as usize];
        timer.state = State::Free;
        timer.generation = timer.generation.wrapping_add(1);
        // A slot whose generation would come round again is retired, so no
        // old handle can ever match it.
        if timer.generation != 0 {
            timer.next = self.free_head;
            self.free_head = index;
        }
        Ok(was_pending)
    }

    /// Destroys every timer of `owner` (a client that went away); returns
    /// how many there were. Scans the arena: O(timers ever allocated).
    pub fn destroy_timers_of(&mut self, owner: u64) -> usize {
        self.destroy_timers_matching(owner, |_| true)
    }

    /// Destroys every timer of `owner` whose token `matches`; returns how
    /// many there were. Scans the arena, as [`Self::destroy_timers_of`].
    pub fn destroy_timers_matching(&mut self, owner: u64, matches: impl Fn(u64) -> bool) -> usize {
        let mut destroyed = 0;
        for index in 0..self.timers.len() {
            let timer = self.timers[index];
            if timer.state != State::Free && timer.owner == owner && matches(timer.token) {
                let id = TimerId {
                    index: index as u32,
                    generation: timer.generation,
                };
                if self.destroy_timer(id).is_ok() {
                    destroyed += 1;
                }
            }
        }
        destroyed
    }

    /// Makes the timer periodic: after it fires it is re-armed `period`
    /// jiffies after the expiry it fired for. 0 makes it one-shot again.
    /// Takes effect at its next expiry. Fails with `StaleHandle` or
    /// `InvalidPeriod` (beyond [`MAX_JIFFY_OFFSET`]).
    pub fn set_period(&mut self, id: TimerId, period: Jiffies) -> Result<(), TimerError> {
        let index = self.lookup(id)?;
        if period > MAX_JIFFY_OFFSET {
            return Err(TimerError::InvalidPeriod);
        }
        self.timers[index].period = period;
        Ok(())
    }

    /// Starts a timer that is not pending, to fire at `expires`. An expiry
    /// already past fires on the next `run_timers`. Fails with
    /// `StaleHandle`, or `AlreadyPending` (where Linux would `BUG()`).
    pub fn add_timer(&mut self, id: TimerId, expires: Jiffies) -> Result<(), TimerError> {
        let index = self.lookup(id)?;
        if self.timer_pending_at(index) {
            return Err(TimerError::AlreadyPending);
        }
        self.arm(index, expires);
        Ok(())
    }

    /// Sets the timer to fire at `expires`, pending or not; returns whether
    /// it was pending (Linux returns 1 or 0). Setting a pending timer to the
    /// expiry it already has leaves it where it is, as Linux does. Fails
    /// with `StaleHandle`.
    pub fn mod_timer(&mut self, id: TimerId, expires: Jiffies) -> Result<bool, TimerError> {
        let index = self.lookup(id)?;
        let was_pending = self.timer_pending_at(index);
        if was_pending {
            if self.timers[index].expires == expires {
                return Ok(true);
            }
            self.detach(index);
        }
        self.arm(index, expires);
        Ok(was_pending)
    }

    /// Stops the timer; returns whether it was pending. The handle stays
    /// valid. Fails with `StaleHandle`.
    pub fn del_timer(&mut self, id: TimerId) -> Result<bool, TimerError> {
        let index = self.lookup(id)?;
        if !self.timer_pending_at(index) {
            return Ok(false);
        }
        self.detach(index);
        Ok(true)
    }

    /// Whether the timer is waiting to fire. Fails with `StaleHandle`.
    pub fn timer_pending(&self, id: TimerId) -> Result<bool, TimerError> {
        Ok(self.timer_pending_at(self.lookup(id)?))
    }

    /// Everything about one timer. Fails with `StaleHandle`. The server
    /// checks `owner` before acting on a client's handle: handles are
    /// names, not capabilities.
    pub fn timer_info(&self, id: TimerId) -> Result<TimerInfo, TimerError> {
        let index = self.lookup(id)?;
        let timer = &self.timers[index];
        Ok(TimerInfo {
            owner: timer.owner,
            token: timer.token,
            expires: timer.expires,
            period: timer.period,
            pending: self.timer_pending_at(index),
        })
    }

    /// Where a pending timer is filed; `None` if it is not pending. Fails
    /// with `StaleHandle`.
    pub fn placement(&self, id: TimerId) -> Result<Option<Placement>, TimerError> {
        let index = self.lookup(id)?;
        Ok(match self.timers[index].state {
            State::Pending(list) => Some(placement_of(list as usize)),
            State::Idle | State::Free => None,
        })
    }

    /// The number of pending timers.
    pub fn pending_count(&self) -> usize {
        self.pending
    }

    /// The number of pending timers of `owner`. Scans the arena: O(timers
    /// ever allocated).
    pub fn pending_for_owner(&self, owner: u64) -> usize {
        self.timers
            .iter()
            .filter(|timer| matches!(timer.state, State::Pending(_)) && timer.owner == owner)
            .count()
    }

    /// How many times timers have fired since the wheel was made.
    pub fn expirations(&self) -> u64 {
        self.expirations
    }

    /// How late timers ran, counted in power-of-two buckets (see
    /// [`late_bucket`]).
    pub fn late_histogram(&self) -> &[u64; LATE_BUCKETS] {
        &self.late_histogram
    }

    /// The earliest expiry of any pending timer, for a tickless server to
    /// know when to wake; `None` if none is pending. It may be before
    /// `timer_jiffies` (a timer added with an expiry already past).
    ///
    /// Cost: a bitmap search per level finds the first busy slot of each,
    /// then those (at most five) slots are scanned: O(timers in them), not
    /// O(all timers). The overflow list's earliest expiry is kept as timers
    /// come and go (deleting that very timer rescans the list). Within a
    /// level, the first busy slot in the order the wheel will reach them
    /// holds that level's earliest timers; across levels any may win, since
    /// a timer filed high long ago can be due before one filed low since.
    pub fn next_expiry(&self) -> Option<Jiffies> {
        let tj = self.timer_jiffies;
        let mut candidates = [None; 2 + TVN_LEVELS];
        let index = (tj & TVR_MASK) as usize;
        if let Some(distance) = self.lists.first_busy_tv1(index) {
            candidates[0] = self.earliest_on((index + distance) % TVR_SIZE);
        }
        for (level, candidate) in candidates[1..=TVN_LEVELS].iter_mut().enumerate() {
            let (_, slot, distance) = self.next_cascade(level);
            if let Some(distance) = distance {
                *candidate = self.earliest_on(tvn_list(level, (slot + distance) % TVN_SIZE));
            }
        }
        candidates[1 + TVN_LEVELS] = self.overflow_earliest;
        candidates
            .into_iter()
            .flatten()
            .min_by_key(|&expires| expires.wrapping_sub(tj) as i64)
    }

    /// Processes every jiffy from `timer_jiffies` up to and including `now`
    /// (`__run_timers`), calling `on_expiry` for each timer that fires, in
    /// expiry order; returns how many fired. Does nothing if `now` is before
    /// `timer_jiffies`. A fired one-shot timer stays allocated, not pending;
    /// a periodic one is re-armed for the first multiple of its period after
    /// `now`, counted from the expiry it fired for, so it never drifts.
    ///
    /// The effect is that of stepping one jiffy at a time, but stretches of
    /// jiffies in which no slot is due and no cascade moves anything are
    /// skipped, so catching up after a long sleep costs per event, not per
    /// jiffy.
    pub fn run_timers(&mut self, now: Jiffies, mut on_expiry: impl FnMut(Expired)) -> usize {
        let mut fired = 0;
        while time_after_eq(now, self.timer_jiffies) {
            let quiet = self.quiet_jiffies();
            if quiet > now.wrapping_sub(self.timer_jiffies) {
                self.timer_jiffies = now.wrapping_add(1);
                break;
            }
            self.timer_jiffies = self.timer_jiffies.wrapping_add(quiet);
            fired += self.run_one_jiffy(now, &mut on_expiry);
        }
        fired
    }

    /// Processes the jiffy `timer_jiffies`: cascades if the `tv1` index
    /// wraps here, then fires that jiffy's slot.
    fn run_one_jiffy(&mut self, now: Jiffies, on_expiry: &mut impl FnMut(Expired)) -> usize {
        let jiffy = self.timer_jiffies;
        let index = (jiffy & TVR_MASK) as usize;
        if index == 0 {
            self.cascade_all(jiffy);
        }
        self.timer_jiffies = jiffy.wrapping_add(1);

        let mut batch = core::mem::take(&mut self.batch);
        let mut cursor = self.take_list(index);
        while cursor != NIL {
            batch.push(cursor);
            cursor = self.timers[cursor as usize].next;
        }
        // A slot holds this jiffy's timers and any added already late;
        // the late ones go first, then each expiry in the order added.
        batch.sort_unstable_by_key(|&i| {
            let timer = &self.timers[i as usize];
            (timer.expires.wrapping_sub(jiffy) as i64, timer.seq)
        });
        for &index in &batch {
            let expired = self.expire(index as usize, now);
            on_expiry(expired);
        }
        let fired = batch.len();
        batch.clear();
        self.batch = batch;
        fired
    }

    /// Takes a timer that is due off the wheel (it is on no list any more),
    /// counts it, and re-arms it if it is periodic.
    fn expire(&mut self, index: usize, now: Jiffies) -> Expired {
        self.timers[index].state = State::Idle;
        self.pending -= 1;
        let timer = self.timers[index];
        let late_by = now.wrapping_sub(timer.expires);
        self.expirations = self.expirations.wrapping_add(1);
        let bucket = &mut self.late_histogram[late_bucket(late_by)];
        *bucket = bucket.wrapping_add(1);

        let mut overruns = 0;
        let mut next = None;
        // A period of 0 is a one-shot timer. Otherwise the next expiry is
        // the first point after `now` on the grid `expires + k * period`.
        if let Some(missed) = late_by.checked_div(timer.period) {
            overruns = missed;
            let ahead = (missed as u128 + 1) * timer.period as u128;
            let expires = timer
                .expires
                .wrapping_add(ahead.min(u64::MAX as u128) as u64);
            self.arm(index, expires);
            next = Some(expires);
        }
        Expired {
            id: TimerId {
                index: index as u32,
                generation: timer.generation,
            },
            owner: timer.owner,
            token: timer.token,
            expires: timer.expires,
            now,
            late_by,
            overruns,
            next,
        }
    }

    /// At a jiffy whose `tv1` index is 0: cascades the next slot of `tv2`,
    /// and if `tv2`'s index wrapped too, of `tv3`, and so on up to `tv5`;
    /// every 2^26 jiffies files the overflow list again.
    fn cascade_all(&mut self, jiffy: Jiffies) {
        for level in 0..TVN_LEVELS {
            let slot = ((jiffy >> level_shift(level)) & TVN_MASK) as usize;
            self.refile(tvn_list(level, slot));
            if slot != 0 {
                break;
            }
        }
        if jiffy & ((1 << TV5_SHIFT) - 1) == 0 {
            self.refile(OVERFLOW);
        }
    }

    /// Files every timer of `list` again relative to `timer_jiffies`.
    fn refile(&mut self, list: usize) {
        let mut cursor = self.take_list(list);
        while cursor != NIL {
            let next = self.timers[cursor as usize].next;
            self.file(cursor as usize);
            cursor = next;
        }
    }

    /// How many jiffies from `timer_jiffies` on are certain to do nothing:
    /// no busy `tv1` slot is reached and no cascade has anything to move.
    fn quiet_jiffies(&self) -> u64 {
        let tj = self.timer_jiffies;
        let mut quiet = u64::MAX;
        if let Some(distance) = self.lists.first_busy_tv1((tj & TVR_MASK) as usize) {
            quiet = distance as u64;
        }
        for level in 0..TVN_LEVELS {
            if let (to_boundary, _, Some(slots)) = self.next_cascade(level) {
                quiet = quiet.min(to_boundary + ((slots as u64) << level_shift(level)));
            }
        }
        if self.lists.head(OVERFLOW) != NIL {
            quiet = quiet.min(tj.wrapping_neg() & ((1 << TV5_SHIFT) - 1));
        }
        quiet
    }

    /// For `tv2 + level`: the jiffies until its next cascade, the slot that
    /// cascade takes, and how many cascades later the first busy slot comes
    /// (`None` if the level is empty).
    fn next_cascade(&self, level: usize) -> (u64, usize, Option<usize>) {
        let shift = level_shift(level);
        let tj = self.timer_jiffies;
        let to_boundary = tj.wrapping_neg() & ((1 << shift) - 1);
        let slot = ((tj.wrapping_add(to_boundary) >> shift) & TVN_MASK) as usize;
        (to_boundary, slot, self.lists.first_busy_tvn(level, slot))
    }

    /// The earliest expiry on `list`, if any.
    fn earliest_on(&self, list: usize) -> Option<Jiffies> {
        let mut earliest = None;
        let mut cursor = self.lists.head(list);
        while cursor != NIL {
            let timer = &self.timers[cursor as usize];
            earliest = Some(self.sooner(timer.expires, earliest));
            cursor = timer.next;
        }
        earliest
    }

    /// The sooner of `expires` and `other`, seen from `timer_jiffies`.
    fn sooner(&self, expires: Jiffies, other: Option<Jiffies>) -> Jiffies {
        let ahead = |e: Jiffies| e.wrapping_sub(self.timer_jiffies) as i64;
        match other {
            Some(other) if ahead(other) <= ahead(expires) => other,
            _ => expires,
        }
    }

    /// Makes an idle timer pending at `expires`.
    fn arm(&mut self, index: usize, expires: Jiffies) {
        let timer = &mut self.timers[index];
        timer.expires = expires;
        timer.seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.pending += 1;
        self.file(index);
    }

    /// Puts a timer on the list its expiry calls for (`internal_add_timer`).
    fn file(&mut self, index: usize) {
        let tj = self.timer_jiffies;
        let expires = self.timers[index].expires;
        let ahead = expires.wrapping_sub(tj);
        let list = if (ahead as i64) < 0 {
            (tj & TVR_MASK) as usize
        } else if ahead < TVR_SIZE as u64 {
            (expires & TVR_MASK) as usize
        } else if ahead < 1 << WHEEL_SPAN_BITS {
            // The lowest tvN whose span reaches that far.
            let level = (0..TVN_LEVELS)
                .find(|&level| ahead < 1 << (level_shift(level) + TVN_BITS))
                .unwrap_or(TVN_LEVELS - 1);
            tvn_list(level, ((expires >> level_shift(level)) & TVN_MASK) as usize)
        } else {
            OVERFLOW
        };
        self.push_back(list, index as u32);
    }

    /// Takes a pending timer off its list; it becomes idle.
    fn detach(&mut self, index: usize) {
        let State::Pending(list) = self.timers[index].state else {
            return;
        };
        let list = list as usize;
        self.lists.unlink(&mut self.timers, list, index as u32);
        self.timers[index].state = State::Idle;
        self.pending -= 1;
        if list == OVERFLOW && self.overflow_earliest == Some(self.timers[index].expires) {
            self.overflow_earliest = self.earliest_on(OVERFLOW);
        }
    }

    fn push_back(&mut self, list: usize, index: u32) {
        self.lists.push_back(&mut self.timers, list, index);
        if list == OVERFLOW {
            let expires = self.timers[index as usize].expires;
            self.overflow_earliest = Some(self.sooner(expires, self.overflow_earliest));
        }
    }

    /// Empties `list` and returns its first timer (see [`Lists::take`]).
    fn take_list(&mut self, list: usize) -> u32 {
        if list == OVERFLOW {
            self.overflow_earliest = None;
        }
        self.lists.take(list)
    }

    fn lookup(&self, id: TimerId) -> Result<usize, TimerError> {
        match self.timers.get(id.index as usize) {
            Some(timer) if timer.generation == id.generation && timer.state != State::Free => {
                Ok(id.index as usize)
            }
            _ => Err(TimerError::StaleHandle),
        }
    }

    fn timer_pending_at(&self, index: usize) -> bool {
        matches!(self.timers[index].state, State::Pending(_))
    }
}

/// Bits of a jiffy below a slot of `tv2 + level`.
const fn level_shift(level: usize) -> u32 {
    TVR_BITS + level as u32 * TVN_BITS
}

fn placement_of(list: usize) -> Placement {
    if list < TVR_SIZE {
        Placement::Vector {
            tv: 1,
            slot: list as u8,
        }
    } else if list < OVERFLOW {
        Placement::Vector {
            tv: (2 + (list - TVR_SIZE) / TVN_SIZE) as u8,
            slot: ((list - TVR_SIZE) % TVN_SIZE) as u8,
        }
    } else {
        Placement::Overflow
    }
}

#[cfg(test)]
mod tests;
