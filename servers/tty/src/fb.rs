//! The framebuffer console as the tty server drives it: the [`Screen`]
//! model, its [`Renderer`] and the [`Canvas`] it draws on, with drawing
//! batched so that output-heavy commands are not slowed down by it.
//!
//! Every byte written reaches the screen model at once (cheap: a few
//! cell stores), but the pixels are drawn only when a **flush** is due:
//! [`FLUSH_IDLE_NS`] after the last write (an echo shows within about
//! 10 ms), [`FLUSH_LATEST_NS`] after the first unflushed one (a steady
//! trickle of writes still shows), or at once when [`FLUSH_BYTES`] have
//! come since the last flush (a long `cat` draws every 16 KiB, and each
//! flush scrolls once by as many lines as scrolled in between). Time is
//! passed in, in nanoseconds of any monotonic clock, so the policy is
//! host-tested.

use libsys::abi::FramebufferInfo;

use crate::fbcon::{Canvas, FbconError, Renderer};
use crate::screen::{Damage, Screen};

/// Idle time after the last write before the picture is drawn.
pub const FLUSH_IDLE_NS: u64 = 10_000_000;
/// The longest an unflushed write waits, however busy the server is.
pub const FLUSH_LATEST_NS: u64 = 50_000_000;
/// Bytes written since the last flush that make one due at once.
pub const FLUSH_BYTES: usize = 16 * 1024;

/// Counters of the drawing done (for logs and measurements).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FbStats {
    /// Flushes that drew something.
    pub flushes: u64,
    /// Bytes written to the console.
    pub bytes: u64,
}

/// A console drawn on a framebuffer.
pub struct FbConsole<C: Canvas> {
    screen: Screen,
    renderer: Renderer,
    canvas: C,
    /// Bytes written since the last flush.
    pending: usize,
    /// When the first and the last of them came.
    first: u64,
    last: u64,
    stats: FbStats,
}

impl<C: Canvas> FbConsole<C> {
    /// A console on `canvas`, the framebuffer `fb` describes: the whole
    /// framebuffer cleared and the blank screen (its cursor) drawn. The
    /// errors of [`Renderer::new`].
    pub fn new(fb: &FramebufferInfo, mut canvas: C) -> Result<FbConsole<C>, FbconError> {
        let mut renderer = Renderer::new(fb)?;
        let mut screen =
            Screen::new(renderer.cols(), renderer.rows()).map_err(|_| FbconError::TooSmall)?;
        renderer.clear(&mut canvas);
        // A blank cell is all background, as `clear` left every pixel:
        // only the cursor is left to draw.
        let damage = screen.take_damage();
        let cursor_only = Damage {
            cursor: damage.cursor,
            ..Damage::default()
        };
        renderer.draw(&screen, &cursor_only, &mut canvas);
        Ok(FbConsole {
            screen,
            renderer,
            canvas,
            pending: 0,
            first: 0,
            last: 0,
            stats: FbStats::default(),
        })
    }

    /// Output for the console, at time `now`; drawn now if
    /// [`FLUSH_BYTES`] have come since the last flush, else later.
    pub fn write(&mut self, bytes: &[u8], now: u64) {
        if bytes.is_empty() {
            return;
        }
        self.screen.write(bytes);
        if self.pending == 0 {
            self.first = now;
        }
        self.pending = self.pending.saturating_add(bytes.len());
        self.last = now;
        self.stats.bytes += bytes.len() as u64;
        if self.pending >= FLUSH_BYTES {
            self.flush();
        }
    }

    /// Nanoseconds from `now` until a flush is due (0: due now), `None`
    /// with nothing to draw.
    pub fn due_in(&self, now: u64) -> Option<u64> {
        if self.pending == 0 {
            return None;
        }
        let at = (self.last.saturating_add(FLUSH_IDLE_NS))
            .min(self.first.saturating_add(FLUSH_LATEST_NS));
        Some(at.saturating_sub(now))
    }

    /// Draws what was written if a flush is due at `now`; whether it did.
    pub fn poll(&mut self, now: u64) -> bool {
        if self.due_in(now) == Some(0) {
            self.flush();
            return true;
        }
        false
    }

    /// Draws everything written so far.
    pub fn flush(&mut self) {
        let damage = self.screen.take_damage();
        self.renderer.draw(&self.screen, &damage, &mut self.canvas);
        self.pending = 0;
        self.stats.flushes += 1;
    }

    /// Whether written bytes wait for a flush.
    pub fn pending(&self) -> bool {
        self.pending > 0
    }

    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    pub fn canvas(&self) -> &C {
        &self.canvas
    }

    pub fn stats(&self) -> FbStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fbcon::{CELL_HEIGHT, CELL_WIDTH};
    use alloc::vec;
    use alloc::vec::Vec;

    const MS: u64 = 1_000_000;

    fn fb() -> FramebufferInfo {
        FramebufferInfo {
            phys: 0x8000_0000,
            width: 30 * CELL_WIDTH as u32,
            height: 10 * CELL_HEIGHT as u32,
            pitch: 30 * CELL_WIDTH as u32 * 4,
            bpp: 32,
            red_mask_size: 8,
            red_mask_shift: 16,
            green_mask_size: 8,
            green_mask_shift: 8,
            blue_mask_size: 8,
            blue_mask_shift: 0,
            _reserved: 0,
        }
    }

    /// A canvas of the framebuffer's bytes that counts writes.
    struct Memory {
        bytes: Vec<u8>,
        writes: usize,
    }

    impl Canvas for Memory {
        fn write(&mut self, offset: usize, bytes: &[u8]) {
            self.writes += 1;
            self.bytes[..].write(offset, bytes);
        }

        fn copy_within(&mut self, src: usize, dst: usize, len: usize) {
            Canvas::copy_within(&mut self.bytes[..], src, dst, len);
        }
    }

    fn console() -> FbConsole<Memory> {
        let fb = fb();
        let memory = Memory {
            bytes: vec![0; fb.len() as usize],
            writes: 0,
        };
        FbConsole::new(&fb, memory).unwrap()
    }

    /// The picture a fresh console shows after `text` and a flush.
    fn drawn(text: &[u8]) -> Vec<u8> {
        let mut c = console();
        c.write(text, 0);
        c.flush();
        c.canvas().bytes.clone()
    }

    #[test]
    fn a_new_console_shows_the_blank_screen_and_its_cursor() {
        let c = console();
        let fb = fb();
        let mut renderer = Renderer::new(&fb).unwrap();
        let mut full = vec![0x55; fb.len() as usize];
        renderer.clear(&mut full[..]);
        renderer.redraw(c.screen(), &mut full[..]);
        assert_eq!(c.canvas().bytes, full);
    }

    #[test]
    fn an_echo_is_drawn_after_ten_idle_milliseconds() {
        let mut c = console();
        assert_eq!(c.due_in(0), None, "nothing written");
        let before = c.canvas().writes;
        c.write(b"l", 100 * MS);
        assert_eq!(c.canvas().writes, before, "not drawn yet");
        assert_eq!(c.due_in(100 * MS), Some(10 * MS));
        c.write(b"s", 105 * MS);
        assert_eq!(c.due_in(106 * MS), Some(9 * MS), "idle time restarts");
        assert!(!c.poll(114 * MS));
        assert!(c.poll(115 * MS));
        assert!(!c.pending());
        assert_eq!(c.due_in(200 * MS), None);
        assert_eq!(c.canvas().bytes, drawn(b"ls"));
        assert_eq!(c.screen().row_text(0), "ls");
    }

    #[test]
    fn a_steady_trickle_is_drawn_within_fifty_milliseconds() {
        let mut c = console();
        for t in 0..10 {
            c.write(b".", t * 8 * MS);
        }
        // First at 0, last at 72 ms: the latest flush (50 ms) is past.
        assert_eq!(c.due_in(72 * MS), Some(0));
        assert!(c.poll(72 * MS));
    }

    #[test]
    fn sixteen_kib_of_output_is_drawn_at_once() {
        let mut c = console();
        let line = [b'x'; 63];
        let mut written = 0;
        let mut flushes = c.stats().flushes;
        while written + 65 < FLUSH_BYTES {
            c.write(&line, 0);
            c.write(b"\r\n", 0);
            written += 65;
        }
        assert_eq!(c.stats().flushes, flushes, "below 16 KiB: batched");
        c.write(&line, 0);
        flushes += 1;
        assert_eq!(c.stats().flushes, flushes, "16 KiB: drawn");
        assert!(!c.pending());
        // What was drawn in one batch (many scrolls) is the full picture.
        let mut fresh = console();
        let mut text = Vec::new();
        for _ in 0..written / 65 {
            text.extend_from_slice(&line);
            text.extend_from_slice(b"\r\n");
        }
        text.extend_from_slice(&line);
        fresh.write(&text, 0);
        fresh.flush();
        assert_eq!(c.canvas().bytes, fresh.canvas().bytes);
        assert_eq!(c.stats().bytes, (written + 63) as u64);
    }
}
