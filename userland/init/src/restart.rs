//! When to restart a server that died (init is the reincarnation server).
//!
//! Each death uses one restart of the server's budget; the delay before the
//! restart doubles each time (10 ms, 20 ms, 40 ms, …, at most 1 s), so a
//! server that dies at once on every start does not spin the CPU. When the
//! budget is spent the server is given up (its name fails).
//!
//! A death `init` itself caused at a client's request (the name service's
//! `Kill`, which only an entry with the `chaos` right may ask) is not the
//! server's failure: it is restarted after the first delay, and neither
//! the budget nor the back-off moves.

/// The delay before the first restart.
pub const FIRST_DELAY_MS: u64 = 10;
/// The longest delay.
pub const MAX_DELAY_MS: u64 = 1000;

/// What to do about a death.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Restart after this many milliseconds; this is restart number `n`.
    RestartAfter { ms: u64, n: u32 },
    /// The budget is spent.
    GiveUp,
}

/// A server's restart bookkeeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restarts {
    pub budget: u32,
    pub used: u32,
}

impl Restarts {
    pub const fn new(budget: u32) -> Self {
        Restarts { budget, used: 0 }
    }

    /// The server died: restart it (when) or give up.
    pub fn died(&mut self) -> Decision {
        if self.used >= self.budget {
            return Decision::GiveUp;
        }
        let ms = FIRST_DELAY_MS
            .saturating_mul(1 << self.used.min(20))
            .min(MAX_DELAY_MS);
        self.used += 1;
        Decision::RestartAfter { ms, n: self.used }
    }

    /// The server was killed on request (`Kill`): restart it after the
    /// first delay, charging nothing. `n` is the restarts used so far.
    pub fn killed(&self) -> Decision {
        Decision::RestartAfter {
            ms: FIRST_DELAY_MS,
            n: self.used,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_and_the_budget_ends_it() {
        let mut r = Restarts::new(3);
        assert_eq!(r.died(), Decision::RestartAfter { ms: 10, n: 1 });
        assert_eq!(r.died(), Decision::RestartAfter { ms: 20, n: 2 });
        assert_eq!(r.died(), Decision::RestartAfter { ms: 40, n: 3 });
        assert_eq!(r.died(), Decision::GiveUp);
        assert_eq!(r.died(), Decision::GiveUp);
        let mut never = Restarts::new(0);
        assert_eq!(never.died(), Decision::GiveUp);
        let mut many = Restarts::new(100);
        let last = (0..100).map(|_| many.died()).last();
        assert_eq!(
            last,
            Some(Decision::RestartAfter {
                ms: MAX_DELAY_MS,
                n: 100
            })
        );
    }

    #[test]
    fn a_requested_kill_costs_neither_budget_nor_back_off() {
        let mut r = Restarts::new(1);
        for _ in 0..1000 {
            assert_eq!(r.killed(), Decision::RestartAfter { ms: 10, n: 0 });
        }
        assert_eq!(r.died(), Decision::RestartAfter { ms: 10, n: 1 });
        assert_eq!(r.killed(), Decision::RestartAfter { ms: 10, n: 1 });
        assert_eq!(r.died(), Decision::GiveUp);
    }
}
