//! Real-time throttling (Linux's RT bandwidth, `kernel/sched/rt.c`'s
//! `sched_rt_runtime_exceeded` and `do_sched_rt_period_timer`).
//!
//! Real-time threads may run at most `runtime` of every `period`
//! nanoseconds (Linux's `sched_rt_runtime_us` = 950,000 of every
//! `sched_rt_period_us` = 1,000,000 by default), so that a spinning
//! `SCHED_FIFO` thread still leaves 5 % of the CPU to the fair class.
//! Every nanosecond a real-time thread runs is charged here; once the
//! period's runtime is used up the class is *throttled*: the run queue
//! picks fair threads before real-time ones and the tick preempts a
//! real-time thread while a fair one is runnable, until the next period
//! begins and the charge starts again from 0. Unlike Linux, a throttled
//! real-time thread still runs when no fair thread wants the CPU (Linux's
//! `RT_RUNTIME_SHARE` spirit: idle time is nobody's loss).
//!
//! `runtime == period` turns throttling off (Linux's `-1`).

use super::SchedError;

/// The default period: one second (Linux: `sched_rt_period_us`).
pub const RT_PERIOD: u64 = 1_000_000_000;
/// The default real-time runtime per period: 0.95 s (Linux:
/// `sched_rt_runtime_us`).
pub const RT_RUNTIME: u64 = 950_000_000;

/// One CPU's real-time bandwidth and what the current period used of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtBandwidth {
    runtime: u64,
    period: u64,
    /// When the current period began.
    period_start: u64,
    /// Real-time nanoseconds run in the current period.
    rt_time: u64,
}

impl Default for RtBandwidth {
    fn default() -> Self {
        Self::new()
    }
}

impl RtBandwidth {
    /// Linux's defaults: 950 ms of every second.
    pub const fn new() -> Self {
        RtBandwidth {
            runtime: RT_RUNTIME,
            period: RT_PERIOD,
            period_start: 0,
            rt_time: 0,
        }
    }

    /// The runtime and period, in nanoseconds.
    pub const fn get(&self) -> (u64, u64) {
        (self.runtime, self.period)
    }

    /// Sets `runtime` of every `period` ns; `InvalidPolicy` for a period
    /// under a millisecond or a runtime longer than the period. The charge
    /// of the current period is kept.
    pub fn set(&mut self, runtime: u64, period: u64) -> Result<(), SchedError> {
        if period < 1_000_000 || runtime > period {
            return Err(SchedError::InvalidPolicy);
        }
        self.runtime = runtime;
        self.period = period;
        Ok(())
    }

    /// Starts a new period (charge back to 0) if `now` is past the current
    /// one (Linux's period timer, checked lazily).
    pub fn advance(&mut self, now: u64) {
        let elapsed = now.saturating_sub(self.period_start);
        if elapsed >= self.period {
            self.period_start = now - elapsed % self.period;
            self.rt_time = 0;
        }
    }

    /// Charges `delta` ns of real-time running.
    pub fn charge(&mut self, delta: u64) {
        self.rt_time = self.rt_time.saturating_add(delta);
    }

    /// Whether the real-time class has used up this period's runtime.
    pub const fn throttled(&self) -> bool {
        self.runtime < self.period && self.rt_time >= self.runtime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn throttles_after_the_runtime_and_resets_each_period() {
        let mut bw = RtBandwidth::new();
        bw.advance(0);
        bw.charge(949 * MS);
        assert!(!bw.throttled());
        bw.charge(MS);
        assert!(bw.throttled());
        bw.advance(999 * MS);
        assert!(bw.throttled(), "still the same period");
        bw.advance(1000 * MS);
        assert!(!bw.throttled(), "a new period starts from 0");
        // Periods skipped while nothing ran keep their boundaries.
        bw.charge(960 * MS);
        bw.advance(3500 * MS);
        assert!(!bw.throttled());
        bw.charge(950 * MS);
        bw.advance(3999 * MS);
        assert!(bw.throttled());
        bw.advance(4000 * MS);
        assert!(!bw.throttled());
    }

    #[test]
    fn settings_are_checked_and_runtime_equal_to_period_turns_it_off() {
        let mut bw = RtBandwidth::new();
        assert_eq!(bw.set(2 * MS, MS), Err(SchedError::InvalidPolicy));
        assert_eq!(bw.set(0, MS / 2), Err(SchedError::InvalidPolicy));
        assert_eq!(bw.get(), (RT_RUNTIME, RT_PERIOD));
        bw.set(100 * MS, 100 * MS).unwrap();
        bw.charge(u64::MAX);
        assert!(!bw.throttled());
        bw.set(50 * MS, 100 * MS).unwrap();
        assert!(bw.throttled());
    }
}
