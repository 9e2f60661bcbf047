//! Jiffies, HZ, and the wrap-safe way to compare them (LKD chapter 11).
//!
//! A jiffy is one tick of the system timer; there are `HZ` of them in a
//! second. [`Jiffies`] is the 64-bit count (Linux's `jiffies_64`, which on
//! x86_64 is also `jiffies`); [`jiffies_32`] is the low half, what `jiffies`
//! is on a 32-bit machine, and that half wraps after 2^32 ticks: 49.7 days
//! at HZ=1000. Two counts are therefore never compared with `<` or `>` but
//! with [`time_after`] and friends, which look at the *signed* difference
//! exactly as `include/linux/jiffies.h` does. They are right as long as the
//! two values are less than half the counter's range apart (2^31 ticks for
//! the 32-bit forms, 2^63 for the 64-bit ones).
//!
//! The conversions from real time to jiffies round *up*, as Linux's do, so
//! that a timeout of `n` milliseconds never expires early, and they
//! saturate at [`MAX_JIFFY_OFFSET`] instead of overflowing. The conversions
//! from jiffies to real time round down and saturate at `u64::MAX`.

/// A count of timer ticks: an absolute time (ticks since boot, plus
/// [`initial_jiffies`]) or a relative one (a timeout).
pub type Jiffies = u64;

/// The largest timeout the conversions return, as in Linux
/// (`((LONG_MAX >> 1) - 1)`): small enough that `jiffies + timeout` is
/// still comparable with [`time_after`] however far `jiffies` has run.
pub const MAX_JIFFY_OFFSET: Jiffies = ((i64::MAX >> 1) - 1) as Jiffies;

/// The tick rate user space expects in `clock_t` values (`times()`,
/// `/proc/<pid>/stat`), whatever `HZ` the kernel runs at.
pub const USER_HZ: u32 = 100;

const MSEC_PER_SEC: u128 = 1_000;
const USEC_PER_SEC: u128 = 1_000_000;
const NSEC_PER_SEC: u128 = 1_000_000_000;

/// The tick rate of the system timer, in ticks per second. Never zero, so
/// every conversion below can divide by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hz(u32);

impl Hz {
    /// 100 Hz: a 10 ms tick, the historical x86 value.
    pub const HZ_100: Hz = Hz(100);
    /// 250 Hz: a 4 ms tick.
    pub const HZ_250: Hz = Hz(250);
    /// 1000 Hz: a 1 ms tick, what this system uses.
    pub const HZ_1000: Hz = Hz(1000);

    /// A tick rate of `hz` ticks per second; `None` for zero.
    pub const fn new(hz: u32) -> Option<Hz> {
        if hz == 0 {
            None
        } else {
            Some(Hz(hz))
        }
    }

    /// The rate in ticks per second.
    pub const fn get(self) -> u32 {
        self.0
    }
}

/// The value jiffies starts at, as in Linux (`INITIAL_JIFFIES`): five
/// minutes before the 32-bit half wraps, so that code which compares
/// jiffies with `<` breaks five minutes after boot rather than after 49.7
/// days. Subtract it to get ticks since boot.
pub const fn initial_jiffies(hz: Hz) -> Jiffies {
    0u32.wrapping_sub(hz.0.wrapping_mul(300)) as Jiffies
}

/// The low 32 bits of a jiffies count: what `jiffies` is on a 32-bit
/// machine, overlaid on the low word of `jiffies_64` by the linker script.
pub const fn jiffies_32(jiffies: Jiffies) -> u32 {
    jiffies as u32
}

/// True if `a` is after `b`: `time_after(jiffies, timeout)` means "the
/// timeout has passed".
pub const fn time_after(a: Jiffies, b: Jiffies) -> bool {
    (b.wrapping_sub(a) as i64) < 0
}

/// True if `a` is before `b`.
pub const fn time_before(a: Jiffies, b: Jiffies) -> bool {
    time_after(b, a)
}

/// True if `a` is after `b` or equal to it.
pub const fn time_after_eq(a: Jiffies, b: Jiffies) -> bool {
    (a.wrapping_sub(b) as i64) >= 0
}

/// True if `a` is before `b` or equal to it.
pub const fn time_before_eq(a: Jiffies, b: Jiffies) -> bool {
    time_after_eq(b, a)
}

/// True if `a` lies in `[b, c]`, both ends included.
pub const fn time_in_range(a: Jiffies, b: Jiffies, c: Jiffies) -> bool {
    time_after_eq(a, b) && time_before_eq(a, c)
}

/// True if `a` lies in `[b, c)`.
pub const fn time_in_range_open(a: Jiffies, b: Jiffies, c: Jiffies) -> bool {
    time_after_eq(a, b) && time_before(a, c)
}

/// [`time_after`] for 32-bit counts (`time_after32` in Linux; what
/// `time_after` is on a 32-bit machine).
pub const fn time_after32(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}

/// [`time_before`] for 32-bit counts.
pub const fn time_before32(a: u32, b: u32) -> bool {
    time_after32(b, a)
}

/// [`time_after_eq`] for 32-bit counts.
pub const fn time_after_eq32(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) >= 0
}

/// [`time_before_eq`] for 32-bit counts.
pub const fn time_before_eq32(a: u32, b: u32) -> bool {
    time_after_eq32(b, a)
}

/// [`time_in_range`] for 32-bit counts.
pub const fn time_in_range32(a: u32, b: u32, c: u32) -> bool {
    time_after_eq32(a, b) && time_before_eq32(a, c)
}

/// `amount` units of `1 / per_sec` second in jiffies, rounded up, at most
/// [`MAX_JIFFY_OFFSET`]. 128-bit arithmetic: `u64::MAX * u32::MAX` fits.
fn to_jiffies(amount: u64, per_sec: u128, hz: Hz) -> Jiffies {
    let ticks = (amount as u128 * hz.0 as u128).div_ceil(per_sec);
    if ticks > MAX_JIFFY_OFFSET as u128 {
        MAX_JIFFY_OFFSET
    } else {
        ticks as Jiffies
    }
}

/// `jiffies` in units of `1 / per_sec` second, rounded down, at most
/// `u64::MAX`.
fn from_jiffies(jiffies: Jiffies, per_sec: u128, hz: Hz) -> u64 {
    let amount = jiffies as u128 * per_sec / hz.0 as u128;
    u64::try_from(amount).unwrap_or(u64::MAX)
}

/// A timeout of `msecs` milliseconds in jiffies: rounded up (1 ms at HZ=100
/// is one jiffy, not zero), saturating at [`MAX_JIFFY_OFFSET`].
pub fn msecs_to_jiffies(msecs: u64, hz: Hz) -> Jiffies {
    to_jiffies(msecs, MSEC_PER_SEC, hz)
}

/// A timeout of `usecs` microseconds in jiffies, rounded up, saturating at
/// [`MAX_JIFFY_OFFSET`].
pub fn usecs_to_jiffies(usecs: u64, hz: Hz) -> Jiffies {
    to_jiffies(usecs, USEC_PER_SEC, hz)
}

/// A timeout of `nsecs` nanoseconds in jiffies, rounded up, saturating at
/// [`MAX_JIFFY_OFFSET`]. (Linux's `nsecs_to_jiffies` rounds down because
/// its callers account CPU time; here every caller is a timeout.)
pub fn nsecs_to_jiffies(nsecs: u64, hz: Hz) -> Jiffies {
    to_jiffies(nsecs, NSEC_PER_SEC, hz)
}

/// `jiffies` in milliseconds, rounded down, saturating at `u64::MAX`.
pub fn jiffies_to_msecs(jiffies: Jiffies, hz: Hz) -> u64 {
    from_jiffies(jiffies, MSEC_PER_SEC, hz)
}

/// `jiffies` in microseconds, rounded down, saturating at `u64::MAX`.
pub fn jiffies_to_usecs(jiffies: Jiffies, hz: Hz) -> u64 {
    from_jiffies(jiffies, USEC_PER_SEC, hz)
}

/// `jiffies` in nanoseconds, rounded down, saturating at `u64::MAX`.
pub fn jiffies_to_nsecs(jiffies: Jiffies, hz: Hz) -> u64 {
    from_jiffies(jiffies, NSEC_PER_SEC, hz)
}

/// `jiffies` in ticks of [`USER_HZ`], the unit user space sees, rounded
/// down, saturating at `u64::MAX`.
pub fn jiffies_to_clock_t(jiffies: Jiffies, hz: Hz) -> u64 {
    from_jiffies(jiffies, USER_HZ as u128, hz)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HZ: Hz = Hz::HZ_1000;

    #[test]
    fn hz_zero_is_refused() {
        assert_eq!(Hz::new(0), None);
        assert_eq!(Hz::new(300).map(Hz::get), Some(300));
    }

    /// The book's example, `timeout = jiffies + HZ/2` and later
    /// `if (timeout > jiffies)`, with a 32-bit jiffies that wraps between
    /// setting the timeout and checking it.
    #[test]
    fn naive_32_bit_comparison_fails_across_the_wrap_and_time_after32_does_not() {
        let half_second = HZ.get() / 2;

        // The timeout wraps, jiffies has not yet: we are still in time.
        let set_at: u32 = u32::MAX - 100;
        let timeout = set_at.wrapping_add(half_second);
        let now = set_at.wrapping_add(50);
        assert!(timeout < set_at && now > set_at);
        let naive_in_time = timeout > now;
        assert!(!naive_in_time, "the naive test says we timed out");
        assert!(time_before32(now, timeout));
        assert!(time_before_eq32(now, timeout));
        assert!(!time_after32(now, timeout));
        assert!(!time_after_eq32(now, timeout));
        assert!(time_in_range32(now, set_at, timeout));

        // Jiffies wraps after the timeout: we did time out.
        let set_at: u32 = u32::MAX - 1000;
        let timeout = set_at.wrapping_add(half_second);
        let now = set_at.wrapping_add(1200);
        assert!(timeout > set_at && now < set_at);
        let naive_in_time = timeout > now;
        assert!(naive_in_time, "the naive test says we are still in time");
        assert!(time_after32(now, timeout));
        assert!(time_after_eq32(now, timeout));
        assert!(!time_before32(now, timeout));
        assert!(!time_before_eq32(now, timeout));
        assert!(!time_in_range32(now, set_at, timeout));
    }

    #[test]
    fn thirty_two_bit_jiffies_wrap_after_49_7_days_at_1000_hz() {
        let ticks_to_wrap = u64::from(u32::MAX) + 1;
        let days = ticks_to_wrap as f64 / f64::from(HZ.get()) / 86_400.0;
        assert!((days - 49.7).abs() < 0.05, "{days}");
        // The low half of jiffies_64 is what wraps.
        let j64: Jiffies = ticks_to_wrap + 5;
        assert_eq!(jiffies_32(j64), 5);
        assert!(time_after32(jiffies_32(j64), jiffies_32(ticks_to_wrap - 5)));
    }

    #[test]
    fn initial_jiffies_wraps_the_low_half_five_minutes_after_boot() {
        let start = initial_jiffies(HZ);
        assert_eq!(start, u64::from(u32::MAX) + 1 - 300_000);
        let five_minutes = 300 * u64::from(HZ.get());
        assert_eq!(jiffies_32(start + five_minutes), 0);
        assert_eq!(
            initial_jiffies(Hz::HZ_100),
            u64::from(u32::MAX) + 1 - 30_000
        );
    }

    #[test]
    fn sixty_four_bit_comparisons_across_the_wrap() {
        let before_wrap = u64::MAX - 10;
        let after_wrap = before_wrap.wrapping_add(20); // 9
        assert!(after_wrap < before_wrap, "naive: after looks earlier");
        assert!(time_after(after_wrap, before_wrap));
        assert!(time_before(before_wrap, after_wrap));
        assert!(time_after_eq(after_wrap, before_wrap));
        assert!(time_before_eq(before_wrap, after_wrap));
        assert!(time_after_eq(after_wrap, after_wrap));
        assert!(time_before_eq(after_wrap, after_wrap));
        assert!(!time_after(after_wrap, after_wrap));
        assert!(!time_before(after_wrap, after_wrap));
        assert!(time_in_range(u64::MAX, before_wrap, after_wrap));
        assert!(time_in_range(after_wrap, before_wrap, after_wrap));
        assert!(!time_in_range_open(after_wrap, before_wrap, after_wrap));
        assert!(time_in_range_open(0, before_wrap, after_wrap));
        assert!(!time_in_range(after_wrap + 1, before_wrap, after_wrap));
    }

    #[test]
    fn comparisons_hold_up_to_half_the_range() {
        let a = 1_000u64;
        assert!(time_after(a.wrapping_add(i64::MAX as u64), a));
        // One more and the difference reads as negative: a is "after".
        assert!(time_before(a.wrapping_add(1 << 63), a));
        assert!(time_after32(7u32.wrapping_add(i32::MAX as u32), 7));
        assert!(time_before32(7u32.wrapping_add(1 << 31), 7));
    }

    #[test]
    fn conversions_to_jiffies_round_up() {
        assert_eq!(msecs_to_jiffies(0, Hz::HZ_100), 0);
        assert_eq!(msecs_to_jiffies(1, Hz::HZ_100), 1);
        assert_eq!(msecs_to_jiffies(10, Hz::HZ_100), 1);
        assert_eq!(msecs_to_jiffies(11, Hz::HZ_100), 2);
        assert_eq!(msecs_to_jiffies(1, Hz::HZ_250), 1);
        assert_eq!(msecs_to_jiffies(4, Hz::HZ_250), 1);
        assert_eq!(msecs_to_jiffies(5, Hz::HZ_250), 2);
        assert_eq!(msecs_to_jiffies(7, HZ), 7);
        // HZ=300: 1 ms is 0.3 of a tick.
        let hz300 = Hz::new(300).unwrap();
        assert_eq!(msecs_to_jiffies(1, hz300), 1);
        assert_eq!(msecs_to_jiffies(10, hz300), 3);
        assert_eq!(msecs_to_jiffies(11, hz300), 4);
        // HZ above 1000 (Alpha's 1024).
        let hz1024 = Hz::new(1024).unwrap();
        assert_eq!(msecs_to_jiffies(1000, hz1024), 1024);
        assert_eq!(msecs_to_jiffies(1, hz1024), 2);

        assert_eq!(usecs_to_jiffies(1, HZ), 1);
        assert_eq!(usecs_to_jiffies(1000, HZ), 1);
        assert_eq!(usecs_to_jiffies(1001, HZ), 2);
        assert_eq!(nsecs_to_jiffies(1, HZ), 1);
        assert_eq!(nsecs_to_jiffies(1_000_000, HZ), 1);
        assert_eq!(nsecs_to_jiffies(1_000_001, HZ), 2);
        assert_eq!(nsecs_to_jiffies(0, HZ), 0);
    }

    #[test]
    fn conversions_to_jiffies_saturate() {
        assert_eq!(msecs_to_jiffies(u64::MAX, HZ), MAX_JIFFY_OFFSET);
        assert_eq!(
            usecs_to_jiffies(u64::MAX, Hz::new(u32::MAX).unwrap()),
            MAX_JIFFY_OFFSET
        );
        assert_eq!(nsecs_to_jiffies(u64::MAX, HZ), u64::MAX / 1_000_000 + 1);
        // The saturated timeout still compares as "in the future".
        let now = u64::MAX - 3;
        assert!(time_after(now.wrapping_add(MAX_JIFFY_OFFSET), now));
    }

    #[test]
    fn conversions_from_jiffies_round_down_and_saturate() {
        assert_eq!(jiffies_to_msecs(1, Hz::HZ_100), 10);
        assert_eq!(jiffies_to_msecs(3, Hz::new(300).unwrap()), 10);
        assert_eq!(jiffies_to_msecs(1, Hz::new(300).unwrap()), 3);
        assert_eq!(jiffies_to_usecs(1, HZ), 1000);
        assert_eq!(jiffies_to_nsecs(1, Hz::HZ_250), 4_000_000);
        assert_eq!(jiffies_to_clock_t(1000, HZ), 100);
        assert_eq!(jiffies_to_clock_t(9, HZ), 0);
        assert_eq!(jiffies_to_nsecs(u64::MAX, HZ), u64::MAX);
        assert_eq!(jiffies_to_msecs(u64::MAX, Hz::new(1).unwrap()), u64::MAX);
        // A round trip through milliseconds never shortens a timeout.
        for ms in 0..3000 {
            for hz in [Hz::HZ_100, Hz::HZ_250, HZ, Hz::new(300).unwrap()] {
                assert!(jiffies_to_msecs(msecs_to_jiffies(ms, hz), hz) >= ms);
            }
        }
    }
}
