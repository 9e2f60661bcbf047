//! The kernel log's ring buffer (what Linux calls the printk buffer, read
//! by `dmesg`).
//!
//! A fixed array of records, each with a sequence number, a level, the tick
//! it was logged at and up to `MSG` bytes of text. When the ring is full the
//! oldest record is overwritten; a reader that asks for records since a
//! sequence number that has been overwritten learns how many it missed.

use libsys::abi::LogLevel;

/// One log record.
#[derive(Clone, Copy, Debug)]
pub struct Record<const MSG: usize> {
    pub seq: u64,
    pub level: LogLevel,
    pub jiffies: u64,
    len: usize,
    text: [u8; MSG],
}

impl<const MSG: usize> Record<MSG> {
    const EMPTY: Self = Record {
        seq: 0,
        level: LogLevel::Debug,
        jiffies: 0,
        len: 0,
        text: [0; MSG],
    };

    /// The message (cut at a character boundary if it was too long).
    pub fn text(&self) -> &str {
        // Only whole UTF-8 characters are ever stored (see `push`).
        core::str::from_utf8(&self.text[..self.len]).unwrap_or("")
    }
}

/// A ring of `N` records of at most `MSG` bytes.
pub struct LogRing<const N: usize, const MSG: usize> {
    records: [Record<MSG>; N],
    /// Sequence number the next record gets (the first is 1).
    next_seq: u64,
}

impl<const N: usize, const MSG: usize> Default for LogRing<N, MSG> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const MSG: usize> LogRing<N, MSG> {
    pub const fn new() -> Self {
        LogRing {
            records: [Record::EMPTY; N],
            next_seq: 1,
        }
    }

    /// Appends a message and returns its sequence number. A message longer
    /// than `MSG` bytes is cut at the last whole character that fits.
    pub fn push(&mut self, level: LogLevel, jiffies: u64, text: &str) -> u64 {
        let mut len = text.len().min(MSG);
        while !text.is_char_boundary(len) {
            len -= 1;
        }
        let seq = self.next_seq;
        let record = &mut self.records[(seq % N as u64) as usize];
        record.seq = seq;
        record.level = level;
        record.jiffies = jiffies;
        record.len = len;
        record.text[..len].copy_from_slice(&text.as_bytes()[..len]);
        self.next_seq += 1;
        seq
    }

    /// Sequence number of the oldest record still held (1 when empty).
    pub fn oldest(&self) -> u64 {
        self.next_seq.saturating_sub(N as u64).max(1)
    }

    /// Sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The records from `since` on, oldest first, and how many records
    /// between `since` and the oldest held were lost to overwriting.
    pub fn since(&self, since: u64) -> (impl Iterator<Item = &Record<MSG>>, u64) {
        let start = since.max(self.oldest());
        let lost = start - since.min(start);
        let iter = (start..self.next_seq).map(move |seq| &self.records[(seq % N as u64) as usize]);
        (iter, lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_records_in_order() {
        let mut ring: LogRing<4, 16> = LogRing::new();
        assert_eq!(ring.push(LogLevel::Info, 5, "one"), 1);
        assert_eq!(ring.push(LogLevel::Err, 6, "two"), 2);
        let (records, lost) = ring.since(1);
        let got: Vec<_> = records
            .map(|r| (r.seq, r.level, r.jiffies, r.text().to_string()))
            .collect();
        assert_eq!(
            got,
            [
                (1, LogLevel::Info, 5, "one".into()),
                (2, LogLevel::Err, 6, "two".into())
            ]
        );
        assert_eq!(lost, 0);
        assert_eq!(ring.since(2).0.count(), 1);
        assert_eq!(ring.since(3).0.count(), 0);
    }

    #[test]
    fn overwrites_the_oldest_and_counts_what_was_lost() {
        let mut ring: LogRing<4, 16> = LogRing::new();
        for i in 0..10 {
            ring.push(LogLevel::Info, i, &format!("m{i}"));
        }
        assert_eq!(ring.oldest(), 7);
        let (records, lost) = ring.since(1);
        let texts: Vec<_> = records.map(|r| r.text().to_string()).collect();
        assert_eq!(texts, ["m6", "m7", "m8", "m9"]);
        assert_eq!(lost, 6);
        assert_eq!(ring.next_seq(), 11);
    }

    #[test]
    fn cuts_long_messages_at_a_character_boundary() {
        let mut ring: LogRing<2, 5> = LogRing::new();
        ring.push(LogLevel::Info, 0, "abcdefgh");
        ring.push(LogLevel::Info, 0, "abcdé"); // 'é' is two bytes: only "abcd" fits
        let texts: Vec<_> = ring.since(0).0.map(|r| r.text().to_string()).collect();
        assert_eq!(texts, ["abcde", "abcd"]);
    }
}
