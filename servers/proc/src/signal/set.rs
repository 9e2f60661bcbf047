//! `sigset_t`: a set of signals as one 64-bit word, bit `n - 1` for
//! signal `n` (Linux's layout on x86_64, so it crosses the ABI as is).

use super::number::{Signal, NSIG};

/// A set of signals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SigSet(u64);

impl SigSet {
    pub const EMPTY: SigSet = SigSet(0);
    pub const FULL: SigSet = SigSet(u64::MAX);
    /// `SIGKILL` and `SIGSTOP`, which no mask may hold.
    pub const UNBLOCKABLE: SigSet =
        SigSet((1 << (Signal::SIGKILL.number() - 1)) | (1 << (Signal::SIGSTOP.number() - 1)));
    /// The four stop signals.
    pub const STOP: SigSet = SigSet(0b1111 << (Signal::SIGSTOP.number() - 1));
    /// Linux's `SYNCHRONOUS_MASK`: SIGSEGV, SIGBUS, SIGILL, SIGTRAP,
    /// SIGFPE, SIGSYS.
    pub const SYNCHRONOUS: SigSet =
        SigSet((1 << 3) | (1 << 4) | (1 << 6) | (1 << 7) | (1 << 10) | (1 << 30));

    /// The set whose bits are `word` (as `sigprocmask` receives it).
    pub const fn from_bits(word: u64) -> SigSet {
        SigSet(word)
    }

    pub const fn bits(self) -> u64 {
        self.0
    }

    pub const fn of(sig: Signal) -> SigSet {
        SigSet(1 << (sig.number() - 1))
    }

    pub const fn contains(self, sig: Signal) -> bool {
        self.0 & (1 << (sig.number() - 1)) != 0
    }

    pub fn insert(&mut self, sig: Signal) {
        self.0 |= 1 << (sig.number() - 1);
    }

    pub fn remove(&mut self, sig: Signal) {
        self.0 &= !(1 << (sig.number() - 1));
    }

    pub const fn union(self, other: SigSet) -> SigSet {
        SigSet(self.0 | other.0)
    }

    pub const fn intersection(self, other: SigSet) -> SigSet {
        SigSet(self.0 & other.0)
    }

    pub const fn difference(self, other: SigSet) -> SigSet {
        SigSet(self.0 & !other.0)
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The lowest-numbered signal in the set.
    pub fn first(self) -> Option<Signal> {
        if self.0 == 0 {
            return None;
        }
        let number = self.0.trailing_zeros() as u8 + 1;
        debug_assert!(number <= NSIG);
        Signal::new(number as u32).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_layout_is_linuxs() {
        assert_eq!(SigSet::of(Signal::SIGHUP).bits(), 1);
        assert_eq!(SigSet::of(Signal::SIGINT).bits(), 2);
        assert_eq!(SigSet::of(Signal::new(64).unwrap()).bits(), 1 << 63);
        assert_eq!(SigSet::UNBLOCKABLE.bits(), (1 << 8) | (1 << 18));
        for n in 1..=64 {
            let sig = Signal::new(n).unwrap();
            assert_eq!(SigSet::STOP.contains(sig), sig.is_stop(), "{n}");
            assert_eq!(
                SigSet::SYNCHRONOUS.contains(sig),
                sig.is_synchronous(),
                "{n}"
            );
        }
    }

    #[test]
    fn set_operations() {
        let mut set = SigSet::EMPTY;
        assert_eq!(set.first(), None);
        set.insert(Signal::SIGTERM);
        set.insert(Signal::SIGINT);
        assert_eq!(set.first(), Some(Signal::SIGINT));
        set.remove(Signal::SIGINT);
        assert_eq!(set.first(), Some(Signal::SIGTERM));
        assert!(set.contains(Signal::SIGTERM) && !set.contains(Signal::SIGINT));
        assert!(SigSet::FULL.difference(SigSet::FULL).is_empty());
    }
}
