//! The ring buffer of the deck's `wait1.c`: an array of [`RING_SIZE`]
//! bytes and two indices. Bytes go in at `tail` and come out at `head`;
//! one slot is always left unused, so `head == tail` means empty and
//! `tail + 1 == head` (modulo the size) means full. Both indices wrap
//! around: `next = (next + 1) % RING_SIZE`.
//!
//! Besides the deck's two operations it can take back what it just did
//! ([`Ring::unread`], [`Ring::unwrite`]): the server undoes the transfer
//! of a blocked caller that turned out to be gone, so no byte is lost.

use libsys::proto::wait1::RING_SIZE;

pub struct Ring {
    slots: [u8; RING_SIZE],
    /// Where the oldest byte is.
    head: usize,
    /// Where the next byte goes.
    tail: usize,
}

impl Ring {
    pub const fn new() -> Ring {
        Ring {
            slots: [0; RING_SIZE],
            head: 0,
            tail: 0,
        }
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        (self.tail + RING_SIZE - self.head) % RING_SIZE
    }

    pub fn is_empty(&self) -> bool {
        self.head == self.tail
    }

    pub fn is_full(&self) -> bool {
        (self.tail + 1) % RING_SIZE == self.head
    }

    /// Bytes that still fit.
    pub fn room(&self) -> usize {
        RING_SIZE - 1 - self.len()
    }

    /// Appends as much of `bytes` as fits; how much that was.
    pub fn write(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.room());
        for &byte in &bytes[..n] {
            self.slots[self.tail] = byte;
            self.tail = (self.tail + 1) % RING_SIZE;
        }
        n
    }

    /// Takes up to `out.len()` of the oldest bytes into `out`; how many.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len());
        for slot in &mut out[..n] {
            *slot = self.slots[self.head];
            self.head = (self.head + 1) % RING_SIZE;
        }
        n
    }

    /// Puts `bytes`, just read, back in front of the others, as if the
    /// read had not happened. Returns false (changing nothing) if they do
    /// not fit.
    pub fn unread(&mut self, bytes: &[u8]) -> bool {
        if bytes.len() > self.room() {
            return false;
        }
        for &byte in bytes.iter().rev() {
            self.head = (self.head + RING_SIZE - 1) % RING_SIZE;
            self.slots[self.head] = byte;
        }
        true
    }

    /// Drops the `n` newest bytes (the end of a write being undone).
    /// Returns false (changing nothing) if fewer are held.
    pub fn unwrite(&mut self, n: usize) -> bool {
        if n > self.len() {
            return false;
        }
        self.tail = (self.tail + RING_SIZE - n) % RING_SIZE;
        true
    }
}

impl Default for Ring {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libsys::proto::wait1::CAPACITY;

    #[test]
    fn empty_full_and_one_slot_unused() {
        let mut ring = Ring::new();
        assert!(ring.is_empty() && !ring.is_full());
        assert_eq!(ring.room(), CAPACITY);
        assert_eq!(
            ring.write(&[7; RING_SIZE]),
            RING_SIZE - 1,
            "one slot stays free"
        );
        assert!(ring.is_full() && ring.room() == 0 && ring.len() == CAPACITY);
        assert_eq!(ring.write(b"x"), 0);
        let mut out = [0u8; RING_SIZE];
        assert_eq!(ring.read(&mut out), CAPACITY);
        assert!(ring.is_empty());
        assert_eq!(ring.read(&mut out), 0);
    }

    #[test]
    fn bytes_come_out_in_order_across_the_wrap() {
        let mut ring = Ring::new();
        let mut next_in = 0u32;
        let mut next_out = 0u32;
        // Chunks of sizes that do not divide the ring, many times round.
        for round in 0..5000u32 {
            let chunk: Vec<u8> = (0..(round % 997 + 1))
                .map(|i| (next_in + i) as u8)
                .collect();
            let n = ring.write(&chunk);
            next_in += n as u32;
            let mut out = vec![0u8; (round as usize * 7) % 1013 + 1];
            let got = ring.read(&mut out);
            for &byte in &out[..got] {
                assert_eq!(byte, next_out as u8);
                next_out += 1;
            }
            assert_eq!(ring.len() as u32, next_in - next_out);
        }
        assert!(next_out > 10 * RING_SIZE as u32, "went round many times");
    }

    #[test]
    fn unread_and_unwrite_undo_exactly() {
        let mut ring = Ring::new();
        // Put head and tail near the end of the array first.
        ring.write(&[0; RING_SIZE - 3]);
        ring.read(&mut [0; RING_SIZE - 3]);
        ring.write(b"abcdef");
        let mut out = [0u8; 4];
        assert_eq!(ring.read(&mut out), 4);
        assert!(ring.unread(&out));
        let mut all = [0u8; 16];
        let n = ring.read(&mut all);
        assert_eq!(&all[..n], b"abcdef");
        ring.write(b"xyz");
        assert!(ring.unwrite(2));
        assert!(!ring.unwrite(2), "only one byte left");
        let n = ring.read(&mut all);
        assert_eq!(&all[..n], b"x");
        ring.write(&[1; CAPACITY]);
        assert!(!ring.unread(b"q"), "no room to put it back");
    }
}
