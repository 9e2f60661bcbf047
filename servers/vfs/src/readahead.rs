//! Read-ahead window state for sequential reads (Linux's
//! `struct file_ra_state`, LKD 16): each open file remembers where its
//! last read ended; a read that continues it grows the window (doubling up
//! to [`RA_MAX_PAGES`]), a read elsewhere starts over with a small one.
//! The state only says which pages to bring in; the caller reads them.

use core::ops::Range;

/// The largest window, in pages (Linux's default 128 KiB).
pub const RA_MAX_PAGES: u64 = 32;
/// The first window of a sequential stream, in pages.
pub const RA_INIT_PAGES: u64 = 4;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadAhead {
    /// First page of the current window.
    pub start: u64,
    /// Pages in the current window (0: none yet).
    pub size: u64,
    /// The page after the last one read, where a sequential read begins.
    pub next_index: u64,
}

impl ReadAhead {
    /// Records a read of pages `first..first + count` (`count` ≥ 1) of a
    /// file with `file_pages` pages and returns the pages to read ahead
    /// (possibly empty): a new window when the read continues the last one
    /// and reaches into the window's second half, nothing otherwise.
    pub fn on_read(&mut self, first: u64, count: u64, file_pages: u64) -> Range<u64> {
        let count = count.max(1);
        let end = first.saturating_add(count);
        // A fresh state's `next_index` is 0, so a first read from the
        // start counts as sequential.
        let sequential = first == self.next_index;
        self.next_index = end;
        if !sequential {
            // A random read: forget the stream; read only what was asked.
            self.size = 0;
            self.start = first;
            return end..end;
        }
        let window_end = self.start + self.size;
        if self.size > 0 && end < self.start + self.size / 2 {
            return end..end;
        }
        let new_size = if self.size == 0 {
            RA_INIT_PAGES
                .max(count.next_power_of_two())
                .min(RA_MAX_PAGES)
        } else {
            (self.size * 2).min(RA_MAX_PAGES)
        };
        let new_start = window_end.max(end);
        self.start = new_start;
        self.size = new_size;
        let stop = new_start.saturating_add(new_size).min(file_pages);
        new_start.min(stop)..stop
    }
}
