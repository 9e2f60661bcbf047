//! Counting jiffies from the PIT's interrupts, with lost ticks made up
//! from the TSC.
//!
//! The server's jiffies advance at each interrupt of PIT channel 0, so a
//! timer due at jiffy `j` fires at the `j`th interrupt: expiries line up
//! with the interrupts that run them. But an edge that comes while the
//! line is still masked (the kernel masks it until the server acknowledges
//! the previous one, and under TCG the virtual CPU can stall for several
//! periods) is lost. So each interrupt is weighed with the TSC: the ticks
//! since the previous one are the TSC time between them over the PIT
//! period, rounded to the nearest whole tick, and at least one (Linux's
//! old `lost_ticks` compensation on i386).

/// The PIT's input clock, in Hz.
pub const PIT_HZ: u64 = 1_193_182;

/// The divisor that makes PIT channel 0 interrupt `hz` times a second
/// (rounded to the nearest; the 16-bit counter takes 1..=65536, 0 meaning
/// 65536).
pub const fn pit_divisor(hz: u32) -> u32 {
    let d = (PIT_HZ + hz as u64 / 2) / hz as u64;
    if d < 1 {
        1
    } else if d > 65536 {
        65536
    } else {
        d as u32
    }
}

/// Jiffies counted from interrupts (see the module documentation).
#[derive(Clone, Debug)]
pub struct TickCounter {
    jiffies: u64,
    last_tsc: u64,
    /// TSC ticks per PIT period, times `PIT_HZ` (kept exact).
    tsc_per_tick_scaled: u128,
    /// Ticks made up for interrupts that were lost.
    lost: u64,
}

impl TickCounter {
    /// A counter at `jiffies`, whose previous tick was at TSC `tsc`, for a
    /// PIT divided by `divisor` and a TSC of `tsc_hz`.
    pub fn new(jiffies: u64, tsc: u64, tsc_hz: u64, divisor: u32) -> TickCounter {
        TickCounter {
            jiffies,
            last_tsc: tsc,
            tsc_per_tick_scaled: (tsc_hz as u128 * divisor as u128).max(1),
            lost: 0,
        }
    }

    pub fn jiffies(&self) -> u64 {
        self.jiffies
    }

    /// Ticks made up so far for lost interrupts.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// The TSC at the last counted tick.
    pub fn last_tsc(&self) -> u64 {
        self.last_tsc
    }

    /// An interrupt at TSC `tsc`: advances jiffies by the ticks since the
    /// previous one (at least one) and returns the new value. A TSC that
    /// went backwards counts as one tick.
    pub fn interrupt(&mut self, tsc: u64) -> u64 {
        let elapsed = tsc.saturating_sub(self.last_tsc) as u128 * PIT_HZ as u128;
        let ticks = ((elapsed + self.tsc_per_tick_scaled / 2) / self.tsc_per_tick_scaled)
            .clamp(1, u64::MAX as u128) as u64;
        self.lost += ticks - 1;
        self.jiffies = self.jiffies.wrapping_add(ticks);
        self.last_tsc = tsc;
        self.jiffies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSC_HZ: u64 = 2_000_000_000;

    #[test]
    fn divisor_for_common_rates() {
        assert_eq!(pit_divisor(250), 4773);
        assert_eq!(pit_divisor(1000), 1193);
        assert_eq!(pit_divisor(18), 65536, "clamped to the 16-bit counter");
        assert_eq!(pit_divisor(2_000_000), 1);
    }

    #[test]
    fn regular_interrupts_count_one_each_and_lost_ones_are_made_up() {
        let divisor = pit_divisor(250);
        let period = TSC_HZ as u128 * divisor as u128 / PIT_HZ as u128;
        let period = period as u64;
        let mut counter = TickCounter::new(u64::MAX - 2, 1000, TSC_HZ, divisor);
        let mut tsc = 1000;
        for expected in [u64::MAX - 1, u64::MAX, 0] {
            // A little jitter either way does not change the count.
            tsc += period + period / 5;
            tsc -= period / 5;
            assert_eq!(counter.interrupt(tsc), expected, "wraps like jiffies");
        }
        tsc += 3 * period + period / 3;
        assert_eq!(counter.interrupt(tsc), 3, "two lost ticks made up");
        assert_eq!(counter.lost(), 2);
        // Early (a spurious second edge) still counts one.
        assert_eq!(counter.interrupt(tsc + 10), 4);
        assert_eq!(counter.interrupt(0), 5, "a TSC going backwards");
    }
}
