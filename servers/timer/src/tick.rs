//! Programming the PIT (Intel 8254) channel 0 as a one-shot deadline
//! timer.
//!
//! The server keeps jiffies from the TSC (see `service.rs`), and uses the
//! PIT only to be woken when the next timer is due: channel 0 in mode 0
//! ("interrupt on terminal count") counts down once from the value loaded
//! at 1.193182 MHz and raises IRQ 0 when it reaches zero. The count is at
//! most 65535, so a deadline further than about 54.9 ms away is reached in
//! several steps (the server wakes, sees nothing due, programs the rest).
//! Being woken exactly when the next jiffy that holds a timer begins — not
//! at every tick, and not by a periodic tick whose phase drifts against
//! the TSC's jiffies — is what keeps a sleep within two ticks of what was
//! asked (Linux calls running without a periodic tick `NO_HZ`).

/// The PIT's input clock, in Hz.
pub const PIT_HZ: u64 = 1_193_182;
/// The command for channel 0, low then high byte, mode 0, binary.
pub const ONESHOT_COMMAND: u8 = 0x30;
/// The longest count channel 0 takes.
pub const COUNT_MAX: u16 = u16::MAX;

/// The count to load so that the PIT fires `delta_tsc` TSC ticks from now
/// (at a TSC of `tsc_hz`): rounded up, so it never fires before the
/// deadline, at least 1, and at most [`COUNT_MAX`] (the caller wakes early
/// and programs the rest).
pub fn oneshot_count(delta_tsc: u64, tsc_hz: u64) -> u16 {
    let tsc_hz = tsc_hz.max(1) as u128;
    let count = (delta_tsc as u128 * PIT_HZ as u128).div_ceil(tsc_hz);
    count.clamp(1, COUNT_MAX as u128) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_round_up_and_stay_in_range() {
        let tsc_hz = 2_000_000_000;
        // 4 ms: 4772.7 PIT clocks, rounded up.
        assert_eq!(oneshot_count(8_000_000, tsc_hz), 4773);
        assert_eq!(oneshot_count(0, tsc_hz), 1, "at once is one clock");
        assert_eq!(oneshot_count(1, tsc_hz), 1);
        assert_eq!(
            oneshot_count(u64::MAX, tsc_hz),
            COUNT_MAX,
            "far: the longest"
        );
        assert_eq!(
            oneshot_count(110_000_000, tsc_hz),
            65_626.min(COUNT_MAX as u64) as u16
        );
        assert_eq!(
            oneshot_count(1000, 0),
            COUNT_MAX,
            "a zero rate does not divide by zero"
        );
    }

    #[test]
    fn the_count_never_fires_early() {
        let tsc_hz = 2_834_000_000u64;
        for delta in [1u64, 999, 12_345, 2_834_000, 11_336_000, 150_000_000] {
            let count = oneshot_count(delta, tsc_hz) as u128;
            if count < COUNT_MAX as u128 {
                assert!(count * tsc_hz as u128 >= delta as u128 * PIT_HZ as u128);
            }
        }
    }
}
