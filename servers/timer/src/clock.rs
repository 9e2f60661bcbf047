//! The clocks: `CLOCK_MONOTONIC`, `CLOCK_REALTIME` and jiffies, all kept
//! from one base taken at boot (LKD chapter 11, "The Time of Day").
//!
//! At start the server reads the RTC (whole seconds since the epoch) and
//! the TSC at that moment, and knows the TSC's rate and the TSC value at
//! which the kernel's clock started ([`ClockBase::boot_tsc`]). From then
//! on every reading is computed from the TSC alone: monotonic time is the
//! TSC ticks since the kernel's start in nanoseconds — so a restarted
//! server continues monotonic time and jiffies where the old one left
//! them, never going backwards — wall time is a base plus monotonic time
//! (Linux keeps the same split as `xtime` and `wall_to_monotonic`), and
//! jiffies are monotonic time in ticks of `HZ`. Nothing has to be counted
//! on every tick, which is what lets the timer server be tickless.
//!
//! Invariants: monotonic time never goes backwards: a TSC reading lower
//! than an earlier one (another CPU's TSC a little behind, or a reading
//! from before the base) returns the latest time already handed out.
//! `settimeofday` moves the wall time only. The arithmetic is 128-bit, so
//! no reading overflows however long the machine runs (a 64-bit TSC at
//! 1 GHz lasts 584 years); a time beyond `i64` seconds saturates.

use crate::jiffies::{Hz, Jiffies};

const NSEC_PER_SEC: u128 = 1_000_000_000;

/// The clock ids of `clock_gettime` (the values Linux uses).
pub const CLOCK_REALTIME: u32 = 0;
pub const CLOCK_MONOTONIC: u32 = 1;

/// Which clock to read or set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockId {
    /// Wall time, seconds since the Unix epoch; can be set.
    Realtime,
    /// Time since boot; never goes backwards, cannot be set.
    Monotonic,
}

impl ClockId {
    /// The clock a message names; fails with `InvalidClock` for any other
    /// number.
    pub const fn from_raw(raw: u32) -> Result<ClockId, ClockError> {
        match raw {
            CLOCK_REALTIME => Ok(ClockId::Realtime),
            CLOCK_MONOTONIC => Ok(ClockId::Monotonic),
            other => Err(ClockError::InvalidClock(other)),
        }
    }

    pub const fn to_raw(self) -> u32 {
        match self {
            ClockId::Realtime => CLOCK_REALTIME,
            ClockId::Monotonic => CLOCK_MONOTONIC,
        }
    }
}

/// Why a clock operation was refused. A refused operation changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockError {
    /// No such clock id.
    InvalidClock(u32),
    /// A `Timespec` whose `nsec` is not below one second.
    InvalidTimespec,
    /// `CLOCK_MONOTONIC` cannot be set.
    NotSettable,
    /// A TSC rate of 0 Hz.
    ZeroTscRate,
}

/// A time as seconds and nanoseconds (Linux's `struct timespec64`).
/// `nsec` is always below one second, also for times before the epoch:
/// half a second before it is `{ sec: -1, nsec: 500_000_000 }`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: u32,
}

impl Timespec {
    /// `sec` seconds and `nsec` nanoseconds; fails with `InvalidTimespec`
    /// if `nsec` is a second or more.
    pub const fn new(sec: i64, nsec: u32) -> Result<Timespec, ClockError> {
        if nsec as u128 >= NSEC_PER_SEC {
            return Err(ClockError::InvalidTimespec);
        }
        Ok(Timespec { sec, nsec })
    }

    /// `nanos` nanoseconds, saturating at the range of `i64` seconds.
    pub const fn from_nanos(nanos: i128) -> Timespec {
        let sec = nanos.div_euclid(NSEC_PER_SEC as i128);
        if sec > i64::MAX as i128 {
            Timespec {
                sec: i64::MAX,
                nsec: (NSEC_PER_SEC - 1) as u32,
            }
        } else if sec < i64::MIN as i128 {
            Timespec {
                sec: i64::MIN,
                nsec: 0,
            }
        } else {
            Timespec {
                sec: sec as i64,
                nsec: nanos.rem_euclid(NSEC_PER_SEC as i128) as u32,
            }
        }
    }

    /// The time in nanoseconds (no overflow: `i64` seconds fit in `i128`
    /// nanoseconds many times over).
    pub const fn as_nanos(&self) -> i128 {
        self.sec as i128 * NSEC_PER_SEC as i128 + self.nsec as i128
    }
}

/// What the server knows at boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockBase {
    /// The wall time read from the RTC, seconds since the epoch.
    pub realtime_secs: i64,
    /// The TSC at the moment the RTC was read.
    pub tsc: u64,
    /// The TSC value at which monotonic time is 0: the kernel's start of
    /// time (from its `clock` call), which outlives any instance of the
    /// server. Not after `tsc`.
    pub boot_tsc: u64,
    /// TSC ticks per second.
    pub tsc_hz: u64,
    /// The tick rate of jiffies.
    pub hz: Hz,
    /// Jiffies at the base (see [`crate::jiffies::initial_jiffies`]).
    pub initial_jiffies: Jiffies,
}

/// The clocks of the timer server.
#[derive(Clone, Debug)]
pub struct Clock {
    tsc_base: u64,
    tsc_hz: u64,
    hz: Hz,
    initial_jiffies: Jiffies,
    /// Wall time at the base, in nanoseconds since the epoch: wall time is
    /// this plus monotonic time.
    realtime_base: i128,
    /// The latest monotonic time handed out, in nanoseconds.
    last_monotonic: u128,
}

impl Clock {
    /// The clocks of `base`: monotonic time 0 at `base.boot_tsc`, wall
    /// time `base.realtime_secs` at `base.tsc`. Fails with `ZeroTscRate`.
    pub const fn new(base: ClockBase) -> Result<Clock, ClockError> {
        if base.tsc_hz == 0 {
            return Err(ClockError::ZeroTscRate);
        }
        let mut clock = Clock {
            tsc_base: base.boot_tsc,
            tsc_hz: base.tsc_hz,
            hz: base.hz,
            initial_jiffies: base.initial_jiffies,
            realtime_base: 0,
            last_monotonic: 0,
        };
        // Below 2^94, as in `clock_gettime`.
        let at_rtc = clock.elapsed_ns(base.tsc) as i128;
        clock.realtime_base = base.realtime_secs as i128 * NSEC_PER_SEC as i128 - at_rtc;
        Ok(clock)
    }

    /// The TSC value at which the kernel's clock started, from a `clock`
    /// reading (`uptime_ns` at `tsc_hz`) and a TSC value `tsc_before` read
    /// just *before* that call: an estimate never later than the kernel's
    /// own start (less a tick for the kernel's rounding down), so monotonic
    /// time from it is never behind the kernel's uptime. A restarted server
    /// derives the same start to within the call's latency.
    pub const fn boot_tsc(tsc_before: u64, uptime_ns: u64, tsc_hz: u64) -> u64 {
        let ticks = uptime_ns as u128 * tsc_hz as u128 / NSEC_PER_SEC;
        let ticks = if ticks > u64::MAX as u128 {
            u64::MAX
        } else {
            ticks as u64
        };
        tsc_before.saturating_sub(ticks).saturating_sub(1)
    }

    pub const fn tsc_hz(&self) -> u64 {
        self.tsc_hz
    }

    pub const fn hz(&self) -> Hz {
        self.hz
    }

    /// Nanoseconds since the base at TSC value `tsc`: 0 for a reading from
    /// before the base, rounded down.
    const fn elapsed_ns(&self, tsc: u64) -> u128 {
        tsc.saturating_sub(self.tsc_base) as u128 * NSEC_PER_SEC / self.tsc_hz as u128
    }

    /// Monotonic time in nanoseconds at TSC value `tsc`, never less than
    /// any value returned before.
    pub fn monotonic_ns(&mut self, tsc: u64) -> u128 {
        let now = self.elapsed_ns(tsc);
        if now > self.last_monotonic {
            self.last_monotonic = now;
        }
        self.last_monotonic
    }

    /// `clock_gettime(clock)` at TSC value `tsc`.
    pub fn clock_gettime(&mut self, clock: ClockId, tsc: u64) -> Timespec {
        // Below 2^94 (a u64 of ticks times 10^9), so it fits an i128.
        let monotonic = self.monotonic_ns(tsc) as i128;
        match clock {
            ClockId::Monotonic => Timespec::from_nanos(monotonic),
            ClockId::Realtime => Timespec::from_nanos(self.realtime_base + monotonic),
        }
    }

    /// Sets the wall time to `now` at TSC value `tsc`; monotonic time and
    /// jiffies are not touched. Fails with `InvalidTimespec`.
    pub fn settimeofday(&mut self, now: Timespec, tsc: u64) -> Result<(), ClockError> {
        Timespec::new(now.sec, now.nsec)?;
        let monotonic = self.monotonic_ns(tsc) as i128;
        self.realtime_base = now.as_nanos() - monotonic;
        Ok(())
    }

    /// `clock_settime(clock, now)` at TSC value `tsc`. Fails with
    /// `NotSettable` for `CLOCK_MONOTONIC`, or `InvalidTimespec`.
    pub fn clock_settime(
        &mut self,
        clock: ClockId,
        now: Timespec,
        tsc: u64,
    ) -> Result<(), ClockError> {
        match clock {
            ClockId::Realtime => self.settimeofday(now, tsc),
            ClockId::Monotonic => Err(ClockError::NotSettable),
        }
    }

    /// Jiffies at TSC value `tsc` (`get_jiffies_64`): the initial value
    /// plus whole ticks of monotonic time. Never goes backwards either.
    pub fn jiffies(&mut self, tsc: u64) -> Jiffies {
        let ticks = self.monotonic_ns(tsc) * self.hz.get() as u128 / NSEC_PER_SEC;
        self.initial_jiffies.wrapping_add(ticks as u64)
    }

    /// The first TSC value at which [`Clock::jiffies`] reads `jiffies` or
    /// later (for programming the TSC-deadline or APIC timer to wake at a
    /// timer's expiry); with a TSC faster than `HZ` it reads exactly
    /// `jiffies`. A value before the base gives the base; one too far away
    /// for the TSC gives `u64::MAX`.
    pub const fn tsc_at_jiffies(&self, jiffies: Jiffies) -> u64 {
        let since_base = jiffies.wrapping_sub(self.initial_jiffies);
        if (since_base as i64) < 0 {
            return self.tsc_base;
        }
        // The nanosecond that tick starts at, then the TSC tick that
        // reaches it, both rounded up.
        let ns = (since_base as u128 * NSEC_PER_SEC).div_ceil(self.hz.get() as u128);
        let Some(product) = ns.checked_mul(self.tsc_hz as u128) else {
            return u64::MAX;
        };
        let ticks = product.div_ceil(NSEC_PER_SEC);
        if ticks > (u64::MAX - self.tsc_base) as u128 {
            u64::MAX
        } else {
            self.tsc_base + ticks as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jiffies::{initial_jiffies, time_after};

    const GHZ_3: u64 = 3_000_000_000;
    const BOOT_TSC: u64 = 123_456_789;
    const RTC_AT_BOOT: i64 = 1_700_000_000;

    fn clock(tsc_hz: u64) -> Clock {
        Clock::new(ClockBase {
            realtime_secs: RTC_AT_BOOT,
            tsc: BOOT_TSC,
            boot_tsc: BOOT_TSC,
            tsc_hz,
            hz: Hz::HZ_1000,
            initial_jiffies: initial_jiffies(Hz::HZ_1000),
        })
        .unwrap()
    }

    fn ts(sec: i64, nsec: u32) -> Timespec {
        Timespec::new(sec, nsec).unwrap()
    }

    #[test]
    fn clock_ids_and_bad_input_are_errors() {
        assert_eq!(ClockId::from_raw(0), Ok(ClockId::Realtime));
        assert_eq!(ClockId::from_raw(1), Ok(ClockId::Monotonic));
        assert_eq!(ClockId::from_raw(7), Err(ClockError::InvalidClock(7)));
        assert_eq!(ClockId::Monotonic.to_raw(), CLOCK_MONOTONIC);
        assert_eq!(
            Timespec::new(0, 1_000_000_000),
            Err(ClockError::InvalidTimespec)
        );
        let zero_rate = ClockBase {
            tsc_hz: 0,
            ..ClockBase {
                realtime_secs: 0,
                tsc: 0,
                boot_tsc: 0,
                tsc_hz: 1,
                hz: Hz::HZ_100,
                initial_jiffies: 0,
            }
        };
        assert_eq!(
            Clock::new(zero_rate).map(|_| ()),
            Err(ClockError::ZeroTscRate)
        );
    }

    #[test]
    fn realtime_is_the_rtc_base_plus_the_elapsed_tsc_time() {
        let mut clock = clock(GHZ_3);
        assert_eq!(
            clock.clock_gettime(ClockId::Realtime, BOOT_TSC),
            ts(RTC_AT_BOOT, 0)
        );
        assert_eq!(clock.clock_gettime(ClockId::Monotonic, BOOT_TSC), ts(0, 0));
        // 5 s and 1500 ticks (500 ns) later.
        let tsc = BOOT_TSC + 5 * GHZ_3 + 1500;
        assert_eq!(clock.clock_gettime(ClockId::Monotonic, tsc), ts(5, 500));
        assert_eq!(
            clock.clock_gettime(ClockId::Realtime, tsc),
            ts(RTC_AT_BOOT + 5, 500)
        );
        // One tick short of a nanosecond rounds down.
        let tsc = BOOT_TSC + 7 * GHZ_3 + 2;
        assert_eq!(
            clock.clock_gettime(ClockId::Realtime, tsc),
            ts(RTC_AT_BOOT + 7, 0)
        );
        // An awkward rate: 2.4 GHz less one tick.
        let mut odd = self::clock(2_399_999_999);
        let tsc = BOOT_TSC + 2_399_999_999 * 3 + 1_200_000_000;
        // 1.2e9 ticks at 2399999999 Hz = 0.5000000002083 s.
        assert_eq!(
            odd.clock_gettime(ClockId::Monotonic, tsc),
            ts(3, 500_000_000)
        );
        assert_eq!(
            odd.clock_gettime(ClockId::Realtime, tsc),
            ts(RTC_AT_BOOT + 3, 500_000_000)
        );
    }

    #[test]
    fn monotonic_time_never_goes_backwards() {
        let mut clock = clock(GHZ_3);
        let late = BOOT_TSC + 10 * GHZ_3;
        assert_eq!(clock.clock_gettime(ClockId::Monotonic, late), ts(10, 0));
        // A reading from a TSC a little behind, then one from before the
        // base: both clamp to what was already handed out.
        assert_eq!(
            clock.clock_gettime(ClockId::Monotonic, late - 3000),
            ts(10, 0)
        );
        assert_eq!(clock.clock_gettime(ClockId::Monotonic, 0), ts(10, 0));
        assert_eq!(
            clock.clock_gettime(ClockId::Realtime, 0),
            ts(RTC_AT_BOOT + 10, 0)
        );
        let jiffies = clock.jiffies(late);
        assert_eq!(clock.jiffies(late - GHZ_3), jiffies);
        // And it moves on again.
        assert_eq!(clock.clock_gettime(ClockId::Monotonic, late + 3), ts(10, 1));

        let mut previous = 0;
        let mut tsc = BOOT_TSC;
        let mut seed = 99u64;
        for _ in 0..10_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            // Mostly forward, sometimes back.
            tsc = tsc
                .wrapping_add(seed >> 40)
                .wrapping_sub((seed >> 20) & 0xfffff);
            let now = clock.monotonic_ns(tsc);
            assert!(now >= previous);
            previous = now;
        }
    }

    #[test]
    fn settimeofday_moves_the_wall_time_only() {
        let mut clock = clock(GHZ_3);
        let tsc = BOOT_TSC + 100 * GHZ_3;
        let jiffies = clock.jiffies(tsc);
        clock
            .settimeofday(ts(2_000_000_000, 250_000_000), tsc)
            .unwrap();
        assert_eq!(
            clock.clock_gettime(ClockId::Realtime, tsc),
            ts(2_000_000_000, 250_000_000)
        );
        assert_eq!(clock.clock_gettime(ClockId::Monotonic, tsc), ts(100, 0));
        assert_eq!(clock.jiffies(tsc), jiffies);
        let later = tsc + GHZ_3 / 2;
        assert_eq!(
            clock.clock_gettime(ClockId::Realtime, later),
            ts(2_000_000_000, 750_000_000)
        );

        // Backwards too, even to before the epoch.
        clock
            .clock_settime(ClockId::Realtime, ts(-1, 500_000_000), later)
            .unwrap();
        let a_second_later = later + GHZ_3;
        assert_eq!(
            clock.clock_gettime(ClockId::Realtime, a_second_later),
            ts(0, 500_000_000)
        );
        assert_eq!(
            clock.clock_settime(ClockId::Monotonic, ts(0, 0), later),
            Err(ClockError::NotSettable)
        );
        let bad = Timespec {
            sec: 5,
            nsec: 1_000_000_000,
        };
        assert_eq!(
            clock.settimeofday(bad, later),
            Err(ClockError::InvalidTimespec)
        );
        assert_eq!(
            clock.clock_gettime(ClockId::Realtime, a_second_later),
            ts(0, 500_000_000)
        );
    }

    #[test]
    fn jiffies_follow_the_tsc_and_wrap_their_low_half_five_minutes_after_boot() {
        let mut clock = clock(GHZ_3);
        let start = initial_jiffies(Hz::HZ_1000);
        assert_eq!(clock.jiffies(BOOT_TSC), start);
        assert_eq!(clock.jiffies(BOOT_TSC + GHZ_3 / 1000 - 1), start);
        assert_eq!(clock.jiffies(BOOT_TSC + GHZ_3 / 1000), start + 1);
        assert_eq!(clock.jiffies(BOOT_TSC + 300 * GHZ_3) as u32, 0);
    }

    #[test]
    fn tsc_at_jiffies_is_the_first_tsc_reading_that_jiffy_or_later() {
        for tsc_hz in [GHZ_3, 2_399_999_999, 1_000_000_007, 14_318_180, 1] {
            let fresh = clock(tsc_hz);
            let start = initial_jiffies(Hz::HZ_1000);
            for since in [0u64, 1, 2, 999, 1000, 123_457, 86_400_000, 1 << 40] {
                let jiffy = start.wrapping_add(since);
                let tsc = fresh.tsc_at_jiffies(jiffy);
                if tsc == u64::MAX {
                    continue;
                }
                let reads = fresh.clone().jiffies(tsc);
                assert!(reads >= jiffy, "{tsc_hz} Hz, +{since}");
                if tsc_hz >= 1_000_000 {
                    assert_eq!(reads, jiffy, "{tsc_hz} Hz, +{since}");
                }
                if since > 0 {
                    assert!(
                        fresh.clone().jiffies(tsc - 1) < jiffy,
                        "{tsc_hz} Hz, +{since}"
                    );
                }
            }
        }
        let clock = clock(GHZ_3);
        let start = initial_jiffies(Hz::HZ_1000);
        assert_eq!(clock.tsc_at_jiffies(start - 5), BOOT_TSC, "already past");
        assert_eq!(
            clock.tsc_at_jiffies(start + (1 << 62)),
            u64::MAX,
            "beyond the TSC"
        );
    }

    #[test]
    fn centuries_of_uptime_do_not_overflow() {
        // A 64-bit TSC at 1 GHz runs out after 584 years.
        let mut clock = clock(1_000_000_000);
        let monotonic = clock.clock_gettime(ClockId::Monotonic, u64::MAX);
        let elapsed = u64::MAX - BOOT_TSC;
        let expected = ts(
            (elapsed / 1_000_000_000) as i64,
            (elapsed % 1_000_000_000) as u32,
        );
        assert_eq!(monotonic, expected);
        assert!(monotonic.sec > 584 * 365 * 86_400);
        let realtime = clock.clock_gettime(ClockId::Realtime, u64::MAX);
        assert_eq!(realtime, ts(expected.sec + RTC_AT_BOOT, expected.nsec));
        assert!(clock.jiffies(u64::MAX) > 584 * 365 * 86_400 * 1000);

        // At 1 Hz the same TSC is beyond i64 seconds: it saturates.
        let mut slow = self::clock(1);
        let far = slow.clock_gettime(ClockId::Realtime, u64::MAX);
        assert_eq!(far, ts(i64::MAX, 999_999_999));
        assert_eq!(Timespec::from_nanos(i128::MIN), ts(i64::MIN, 0));
        assert_eq!(Timespec::from_nanos(-1), ts(-1, 999_999_999));
        assert_eq!(ts(-1, 999_999_999).as_nanos(), -1);
    }

    #[test]
    fn a_restarted_clock_continues_monotonic_time_and_jiffies() {
        // The first instance starts 1 s after the kernel, reads the RTC
        // then and hands out times; the second starts 10 s later from a
        // fresh RTC reading and the same kernel start.
        let start = |rtc_secs: i64, rtc_tsc: u64| {
            Clock::new(ClockBase {
                realtime_secs: rtc_secs,
                tsc: rtc_tsc,
                boot_tsc: BOOT_TSC,
                tsc_hz: GHZ_3,
                hz: Hz::HZ_1000,
                initial_jiffies: initial_jiffies(Hz::HZ_1000),
            })
            .unwrap()
        };
        let mut first = start(RTC_AT_BOOT + 1, BOOT_TSC + GHZ_3);
        let before_kill = BOOT_TSC + 5 * GHZ_3;
        let monotonic = first.monotonic_ns(before_kill);
        let jiffies = first.jiffies(before_kill);
        assert_eq!(monotonic, 5 * NSEC_PER_SEC);
        let mut second = start(RTC_AT_BOOT + 11, BOOT_TSC + 11 * GHZ_3);
        let after = BOOT_TSC + 11 * GHZ_3;
        assert_eq!(second.monotonic_ns(after), 11 * NSEC_PER_SEC);
        assert!(second.monotonic_ns(after) >= monotonic);
        assert!(time_after(second.jiffies(after), jiffies));
        assert_eq!(second.jiffies(after) - jiffies, 6_000);
        assert_eq!(
            second.clock_gettime(ClockId::Realtime, after),
            ts(RTC_AT_BOOT + 11, 0)
        );
    }

    #[test]
    fn boot_tsc_is_never_after_the_kernels_start() {
        // The kernel read the TSC at 5 s + 7 ticks after its start, said
        // uptime 5 s (rounded down); we read the TSC 100 ticks before.
        let kernel_start = 1_000_000;
        let kernel_read = kernel_start + 5 * GHZ_3 + 7;
        let uptime_ns = 5 * NSEC_PER_SEC as u64;
        let ours = Clock::boot_tsc(kernel_read - 100, uptime_ns, GHZ_3);
        assert!(ours <= kernel_start);
        assert!(kernel_start - ours <= 101);
        assert_eq!(Clock::boot_tsc(5, u64::MAX, GHZ_3), 0);
    }
}
