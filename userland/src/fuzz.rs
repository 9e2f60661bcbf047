//! What the fuzzers (`sysfuzz`, `msgfuzz`) share: a seeded xorshift
//! generator, so that a run is reproducible from its seed, and the reading
//! of their `key=value` arguments.
//!
//! The generator is Marsaglia's xorshift64* — small, fast, and good enough
//! to choose calls and arguments; nothing here needs a cryptographic one.

/// A seeded pseudo-random generator (xorshift64*). The same seed gives the
/// same sequence on every run.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced: xorshift never leaves 0).
    pub const fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items` (`None` if there are none).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }

    /// A number near a limit: 0, 1, the limit and its neighbours, a power
    /// of two or its neighbours, or the largest values — where length
    /// checks go wrong.
    pub fn around(&mut self, limit: u64) -> u64 {
        match self.below(10) {
            0 => 0,
            1 => 1,
            2 => limit.wrapping_sub(1),
            3 => limit,
            4 => limit.wrapping_add(1),
            5 => 1u64 << self.below(64),
            6 => (1u64 << self.below(64)).wrapping_sub(1),
            7 => u64::MAX - self.below(4),
            8 => u64::from(u32::MAX) + self.below(3) - 1,
            _ => self.below(limit.saturating_mul(2).max(2)),
        }
    }
}

/// The value of `key=<number>` among the words of `args` (decimal, or hex
/// with `0x`), if present and a number.
pub fn number_arg(args: &str, key: &str) -> Option<u64> {
    args.split_whitespace().find_map(|word| {
        let value = word.strip_prefix(key)?.strip_prefix('=')?;
        match value.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => value.parse().ok(),
        }
    })
}
