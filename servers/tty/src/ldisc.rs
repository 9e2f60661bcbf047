//! The line discipline (Linux's `N_TTY`): what happens to bytes between a
//! terminal device and the programs reading and writing it.
//!
//! Input: `c_iflag` mapping (`ICRNL`, `INLCR`, `IGNCR`, `ISTRIP`), flow
//! control (`IXON`: ^S/^Q), signal characters (`ISIG`: ^C, ^\, ^Z become
//! [`Signal`]s for the foreground process group, with the input flushed
//! unless `NOFLSH`), and in canonical mode (`ICANON`) line editing —
//! erase (`VERASE`, and Backspace and DEL both), kill (`VKILL`), word
//! erase (`VWERASE`), reprint (`VREPRINT`), literal next (`VLNEXT`) — with
//! Linux's echo rules (`ECHO`, `ECHOE`, `ECHOK`, `ECHOKE`, `ECHONL`,
//! `ECHOCTL` showing ^C). Reads take from completed lines only; ^D ends a
//! line without a newline and, on an empty line, reads as end of file. In
//! raw mode, reads follow `VMIN`/`VTIME`, returned as [`ReadResult`]s the
//! server turns into blocking and timers. Output: `OPOST` with `ONLCR`,
//! `OCRNL`, `ONOCR`, `ONLRET`, `OLCUC`, tab expansion.
//!
//! The input queue holds at most [`N_TTY_BUF_SIZE`] bytes, like N_TTY's:
//! in canonical mode ordinary characters stop being taken one byte short
//! so that a line can still be ended; extra input is dropped (with a bell
//! if `IMAXBEL`). Nothing here blocks, sleeps or panics.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::termios::*;

/// N_TTY's input buffer size; a canonical line holds at most one less.
pub const N_TTY_BUF_SIZE: usize = 4096;

/// A signal the line discipline raises for the foreground process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// `VINTR` (^C).
    Int,
    /// `VQUIT` (^\).
    Quit,
    /// `VSUSP` (^Z).
    Tstp,
}

impl Signal {
    /// Linux's x86_64 signal number.
    pub fn number(self) -> u32 {
        match self {
            Signal::Int => 2,
            Signal::Quit => 3,
            Signal::Tstp => 20,
        }
    }
}

/// What received input asks of the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// Bytes to write back to the terminal (already output-processed).
    pub echo: Vec<u8>,
    /// Signals for the foreground process group, in order.
    pub signals: Vec<Signal>,
    /// A signal flushed the queues: discard output not yet written.
    pub flush_output: bool,
}

/// The outcome of a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadResult {
    /// These bytes (empty: `read` returns 0 without end of file, as raw
    /// mode with `VMIN` 0 allows).
    Data(Vec<u8>),
    /// End of file (^D on an empty line).
    Eof,
    /// Nothing yet: block until input arrives, or until `timeout`
    /// (tenths of a second, `VTIME`) passes, then read again with
    /// `timer_expired` set. The server restarts the timer on each byte.
    Block { timeout: Option<u8> },
}

/// One terminal's line discipline.
#[derive(Debug)]
pub struct LineDiscipline {
    termios: Termios,
    winsize: Winsize,
    /// Canonical mode: completed lines (a `^D` line has no terminator).
    lines: VecDeque<Vec<u8>>,
    /// How much of the front line was read already.
    line_read: usize,
    /// Canonical mode: the line being edited.
    edit: Vec<u8>,
    /// Raw mode: the bytes ready to read.
    raw: VecDeque<u8>,
    /// The next byte is taken literally (after `VLNEXT`).
    lnext: bool,
    /// Output stopped by `VSTOP` (^S) until `VSTART` (^Q).
    stopped: bool,
    /// The output column, for erasing tabs and `ONOCR`.
    column: usize,
    /// The column where the line being edited started.
    edit_column: usize,
}

impl Default for LineDiscipline {
    fn default() -> Self {
        Self::new()
    }
}

fn is_ctrl(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

impl LineDiscipline {
    /// A line discipline with `stty sane` settings and a 25×80 window.
    pub fn new() -> Self {
        LineDiscipline {
            termios: Termios::sane(),
            winsize: Winsize {
                ws_row: 25,
                ws_col: 80,
                ws_xpixel: 0,
                ws_ypixel: 0,
            },
            lines: VecDeque::new(),
            line_read: 0,
            edit: Vec::new(),
            raw: VecDeque::new(),
            lnext: false,
            stopped: false,
            column: 0,
            edit_column: 0,
        }
    }

    /// `TCGETS`.
    pub fn termios(&self) -> Termios {
        self.termios
    }

    /// `TCSETS`. Leaving canonical mode makes pending input (completed
    /// lines and the line being edited) readable as raw bytes; entering
    /// it makes raw bytes the start of the line being edited.
    pub fn set_termios(&mut self, t: Termios) {
        let was_canon = self.termios.lflag(ICANON);
        self.termios = t;
        let canon = t.lflag(ICANON);
        if was_canon && !canon {
            let front = self
                .lines
                .pop_front()
                .map(|l| l[self.line_read.min(l.len())..].to_vec());
            self.raw.extend(front.into_iter().flatten());
            self.raw.extend(self.lines.drain(..).flatten());
            self.raw.extend(self.edit.drain(..));
            self.line_read = 0;
        } else if !was_canon && canon {
            self.edit.extend(self.raw.drain(..));
            self.edit_column = self.column;
        }
    }

    /// `TIOCGWINSZ`.
    pub fn winsize(&self) -> Winsize {
        self.winsize
    }

    /// `TIOCSWINSZ`; true if the size changed (the server then sends
    /// `SIGWINCH` to the foreground group).
    pub fn set_winsize(&mut self, w: Winsize) -> bool {
        core::mem::replace(&mut self.winsize, w) != w
    }

    /// True while output is stopped by ^S.
    pub fn output_stopped(&self) -> bool {
        self.stopped
    }

    /// `TCFLSH` of the input side: drops everything not yet read.
    pub fn flush_input(&mut self) {
        self.lines.clear();
        self.line_read = 0;
        self.edit.clear();
        self.raw.clear();
        self.lnext = false;
    }

    /// True if a read would return without blocking (for `poll`).
    pub fn readable(&self) -> bool {
        if self.termios.lflag(ICANON) {
            !self.lines.is_empty()
        } else {
            !self.raw.is_empty()
        }
    }

    /// Bytes waiting in the input queue.
    fn queued(&self) -> usize {
        let lines: usize = self.lines.iter().map(Vec::len).sum();
        lines - self.line_read + self.edit.len() + self.raw.len()
    }

    /// Takes bytes from the terminal.
    pub fn receive(&mut self, bytes: &[u8]) -> Effects {
        let mut fx = Effects::default();
        for &b in bytes {
            self.receive_byte(b, &mut fx);
        }
        fx
    }

    fn receive_byte(&mut self, mut c: u8, fx: &mut Effects) {
        let t = self.termios;
        if t.iflag(ISTRIP) {
            c &= 0x7f;
        }
        if core::mem::take(&mut self.lnext) {
            return self.ordinary(c, fx);
        }
        if t.iflag(IXON) {
            if t.is_cc(VSTOP, c) {
                self.stopped = true;
                return;
            }
            if t.is_cc(VSTART, c) {
                self.stopped = false;
                return;
            }
            if t.iflag(IXANY) {
                self.stopped = false;
            }
        }
        if c == b'\r' {
            if t.iflag(IGNCR) {
                return;
            }
            if t.iflag(ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && t.iflag(INLCR) {
            c = b'\r';
        }
        if t.lflag(ISIG) {
            let sig = if t.is_cc(VINTR, c) {
                Some(Signal::Int)
            } else if t.is_cc(VQUIT, c) {
                Some(Signal::Quit)
            } else if t.is_cc(VSUSP, c) {
                Some(Signal::Tstp)
            } else {
                None
            };
            if let Some(sig) = sig {
                return self.signal(sig, c, fx);
            }
        }
        if t.lflag(ICANON) {
            self.canonical(c, fx);
        } else {
            self.raw_byte(c, fx);
        }
    }

    fn signal(&mut self, sig: Signal, c: u8, fx: &mut Effects) {
        if !self.termios.lflag(NOFLSH) {
            self.flush_input();
            fx.flush_output = true;
        }
        self.echo_char(c, fx);
        fx.signals.push(sig);
    }

    fn canonical(&mut self, c: u8, fx: &mut Effects) {
        let t = self.termios;
        let iexten = t.lflag(IEXTEN);
        // Backspace and DEL both erase, whichever of them VERASE names:
        // serial terminals send DEL, PC keyboards Backspace.
        let erase =
            t.is_cc(VERASE, c) || (c == 0x08 || c == 0x7f) && matches!(t.c_cc[VERASE], 0x08 | 0x7f);
        if erase {
            self.erase(fx);
        } else if t.is_cc(VKILL, c) {
            self.kill(fx);
        } else if iexten && t.is_cc(VWERASE, c) {
            self.word_erase(fx);
        } else if iexten && t.is_cc(VLNEXT, c) {
            self.lnext = true;
        } else if iexten && t.is_cc(VREPRINT, c) {
            self.reprint(c, fx);
        } else if t.is_cc(VEOF, c) {
            self.end_line(None, fx);
        } else if c == b'\n' || t.is_cc(VEOL, c) || t.is_cc(VEOL2, c) {
            self.end_line(Some(c), fx);
        } else {
            self.ordinary(c, fx);
        }
    }

    /// A character that goes into the line (or the raw queue).
    fn ordinary(&mut self, c: u8, fx: &mut Effects) {
        if !self.termios.lflag(ICANON) {
            return self.raw_byte(c, fx);
        }
        if self.queued() >= N_TTY_BUF_SIZE - 1 {
            if self.termios.iflag(IMAXBEL) {
                self.output_into(&[0x07], &mut fx.echo);
            }
            return;
        }
        if self.edit.is_empty() {
            self.edit_column = self.column;
        }
        self.edit.push(c);
        self.echo_char(c, fx);
    }

    fn raw_byte(&mut self, c: u8, fx: &mut Effects) {
        if self.raw.len() >= N_TTY_BUF_SIZE - 1 {
            return;
        }
        self.raw.push_back(c);
        self.echo_char(c, fx);
    }

    /// Ends the line being edited: with its terminator, or (^D) without.
    fn end_line(&mut self, terminator: Option<u8>, fx: &mut Effects) {
        if self.queued() >= N_TTY_BUF_SIZE {
            return;
        }
        if let Some(c) = terminator {
            self.edit.push(c);
            if c == b'\n' && self.termios.lflag(ECHONL) && !self.termios.lflag(ECHO) {
                self.output_into(b"\n", &mut fx.echo);
            } else {
                self.echo_char(c, fx);
            }
        }
        self.lines.push_back(core::mem::take(&mut self.edit));
    }

    /// Echoes one input character: control characters as `^X` with
    /// `ECHOCTL` (not tab or newline), through output processing.
    fn echo_char(&mut self, c: u8, fx: &mut Effects) {
        if !self.termios.lflag(ECHO) {
            return;
        }
        if self.termios.lflag(ECHOCTL) && is_ctrl(c) && c != b'\t' && c != b'\n' {
            self.output_into(&[b'^', c ^ 0x40], &mut fx.echo);
        } else {
            self.output_into(&[c], &mut fx.echo);
        }
    }

    /// How many columns the echo of `edit[..n]` took.
    fn width_of(&self, n: usize) -> usize {
        let mut col = self.edit_column;
        for &c in &self.edit[..n] {
            col = match c {
                b'\t' => (col | 7) + 1,
                c if is_ctrl(c) && self.termios.lflag(ECHOCTL) => col + 2,
                c if is_ctrl(c) => col,
                _ => col + 1,
            };
        }
        col - self.edit_column
    }

    /// Erases the last character of the line; true if there was one.
    fn erase_one(&mut self, fx: &mut Effects) -> bool {
        let Some(&c) = self.edit.last() else {
            return false;
        };
        let before = self.width_of(self.edit.len() - 1);
        let after = self.width_of(self.edit.len());
        self.edit.pop();
        let t = self.termios;
        if !t.lflag(ECHO) {
            return true;
        }
        if !t.lflag(ECHOE) {
            let erase = t.c_cc[VERASE];
            self.echo_char(erase, fx);
            return true;
        }
        let cols = after - before;
        let seq: &[u8] = if c == b'\t' { b"\x08" } else { b"\x08 \x08" };
        for _ in 0..cols {
            self.output_into(seq, &mut fx.echo);
        }
        true
    }

    fn erase(&mut self, fx: &mut Effects) {
        self.erase_one(fx);
    }

    /// `VKILL`: Linux erases visibly with `ECHOK`, `ECHOKE` and `ECHOE`
    /// all set; otherwise it echoes the kill character (and a newline
    /// with `ECHOK`).
    fn kill(&mut self, fx: &mut Effects) {
        let t = self.termios;
        if !t.lflag(ECHO) || self.edit.is_empty() {
            self.edit.clear();
            return;
        }
        if !(t.lflag(ECHOK) && t.lflag(ECHOKE) && t.lflag(ECHOE)) {
            self.edit.clear();
            self.echo_char(t.c_cc[VKILL], fx);
            if t.lflag(ECHOK) {
                self.output_into(b"\n", &mut fx.echo);
            }
            return;
        }
        while self.erase_one(fx) {}
    }

    /// `VWERASE`, as Linux does it: a word is letters, digits and `_`;
    /// anything else before the last word goes with it.
    fn word_erase(&mut self, fx: &mut Effects) {
        let mut seen_word = false;
        while let Some(&c) = self.edit.last() {
            let word = c.is_ascii_alphanumeric() || c == b'_';
            if word {
                seen_word = true;
            } else if seen_word {
                break;
            }
            self.erase_one(fx);
        }
    }

    /// `VREPRINT`: echoes the character, a newline and the line so far.
    fn reprint(&mut self, c: u8, fx: &mut Effects) {
        self.echo_char(c, fx);
        self.output_into(b"\n", &mut fx.echo);
        self.edit_column = self.column;
        let line = self.edit.clone();
        for b in line {
            self.echo_char(b, fx);
        }
    }

    /// Reads at most `max` bytes. `timer_expired` tells a raw-mode read
    /// that the `VTIME` timer the last [`ReadResult::Block`] asked for ran out.
    pub fn read(&mut self, max: usize, timer_expired: bool) -> ReadResult {
        if max == 0 {
            return ReadResult::Data(Vec::new());
        }
        if self.termios.lflag(ICANON) {
            return self.read_canonical(max);
        }
        let min = self.termios.c_cc[VMIN] as usize;
        let time = self.termios.c_cc[VTIME];
        let n = self.raw.len();
        let take = |q: &mut VecDeque<u8>| ReadResult::Data(q.drain(..n.min(max)).collect());
        match (min, time) {
            (0, 0) => take(&mut self.raw),
            (_, 0) if n >= min.min(max) => take(&mut self.raw),
            (_, 0) => ReadResult::Block { timeout: None },
            (0, _) if n > 0 || timer_expired => take(&mut self.raw),
            (0, t) => ReadResult::Block { timeout: Some(t) },
            _ if n >= min.min(max) || (n > 0 && timer_expired) => take(&mut self.raw),
            // The inter-byte timer starts with the first byte.
            (_, _) if n == 0 => ReadResult::Block { timeout: None },
            (_, t) => ReadResult::Block { timeout: Some(t) },
        }
    }

    /// A canonical read: from the first completed line, at most one line.
    fn read_canonical(&mut self, max: usize) -> ReadResult {
        let Some(line) = self.lines.front() else {
            return ReadResult::Block { timeout: None };
        };
        if line.is_empty() {
            self.lines.pop_front();
            self.line_read = 0;
            return ReadResult::Eof;
        }
        let end = line.len().min(self.line_read + max);
        let data = line[self.line_read..end].to_vec();
        if end == line.len() {
            self.lines.pop_front();
            self.line_read = 0;
        } else {
            self.line_read = end;
        }
        ReadResult::Data(data)
    }

    /// Output processing of bytes a program writes (`OPOST`): returns
    /// the bytes for the device.
    pub fn write(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        self.output_into(bytes, &mut out);
        out
    }

    fn output_into(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let t = self.termios;
        for &c in bytes {
            if !t.oflag(OPOST) {
                out.push(c);
                continue;
            }
            match c {
                b'\n' => {
                    if t.oflag(ONLCR) {
                        out.push(b'\r');
                        self.column = 0;
                    }
                    if t.oflag(ONLRET) {
                        self.column = 0;
                    }
                    out.push(b'\n');
                }
                b'\r' => {
                    if t.oflag(ONOCR) && self.column == 0 {
                        continue;
                    }
                    if t.oflag(OCRNL) {
                        out.push(b'\n');
                        if t.oflag(ONLRET) {
                            self.column = 0;
                        }
                    } else {
                        out.push(b'\r');
                        self.column = 0;
                    }
                }
                b'\t' => {
                    let next = (self.column | 7) + 1;
                    if t.c_oflag & TABDLY == XTABS {
                        out.resize(out.len() + next - self.column, b' ');
                    } else {
                        out.push(b'\t');
                    }
                    self.column = next;
                }
                0x08 => {
                    self.column = self.column.saturating_sub(1);
                    out.push(c);
                }
                c if is_ctrl(c) => out.push(c),
                c => {
                    out.push(if t.oflag(OLCUC) {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    });
                    // Count a column per character, not per UTF-8 byte.
                    if c & 0xc0 != 0x80 {
                        self.column += 1;
                    }
                }
            }
        }
    }
}
