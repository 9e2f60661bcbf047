//! The line editor: a pure state machine fed the bytes of a tty in raw
//! mode, one at a time, that keeps the line being typed and the history,
//! and says what to write back to the terminal (echo and redraw, as
//! VT100 sequences) and when a line is done.
//!
//! Keys: printable characters insert at the cursor; Backspace/DEL and
//! Ctrl-H erase before it, Delete (`ESC [3~`) and Ctrl-D (on a non-empty
//! line) under it; Ctrl-U kills to the start, Ctrl-K to the end, Ctrl-W
//! the word before the cursor; Left/Right (`ESC [D`/`ESC [C`, Ctrl-B/F),
//! Home/End (`ESC [H`/`ESC [F`, `ESC [1~`/`ESC [4~`, `ESC OH`/`ESC OF`,
//! Ctrl-A/E) move; Up/Down walk the history; Ctrl-L clears the screen;
//! Enter ends the line; Ctrl-C cancels it; Ctrl-D on an empty line is end
//! of file. Unknown sequences are swallowed. The line holds at most
//! [`MAX_LINE`] characters, the history [`MAX_HISTORY`] lines.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The most characters a line may hold (N_TTY's canonical limit).
pub const MAX_LINE: usize = 4095;
/// The most lines the history keeps.
pub const MAX_HISTORY: usize = 500;
/// The most parameter bytes of an escape sequence kept.
const MAX_ESC_PARAMS: usize = 8;

/// What a fed byte did to the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The line is still being edited.
    Pending,
    /// Enter: the finished line (without the newline).
    Line(String),
    /// Ctrl-C: the line is thrown away.
    Cancel,
    /// Ctrl-D on an empty line.
    Eof,
}

/// The bytes to write to the terminal, and the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub echo: Vec<u8>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum EscState {
    Ground,
    Escape,
    /// `ESC [` and the parameter bytes so far.
    Csi(Vec<u8>),
    /// `ESC O`.
    Ss3,
}

/// The editor for one terminal.
#[derive(Debug)]
pub struct LineEditor {
    prompt: String,
    line: Vec<char>,
    cursor: usize,
    history: VecDeque<String>,
    /// The history entry shown, if browsing; and the line typed before.
    browsing: Option<usize>,
    stash: Vec<char>,
    esc: EscState,
    utf8: Vec<u8>,
}

impl Default for LineEditor {
    fn default() -> Self {
        Self::new()
    }
}

impl LineEditor {
    pub fn new() -> Self {
        LineEditor {
            prompt: String::new(),
            line: Vec::new(),
            cursor: 0,
            history: VecDeque::new(),
            browsing: None,
            stash: Vec::new(),
            esc: EscState::Ground,
            utf8: Vec::new(),
        }
    }

    /// Starts a new line; returns the prompt to print.
    pub fn start(&mut self, prompt: &str) -> Vec<u8> {
        self.prompt = String::from(prompt);
        self.reset();
        prompt.as_bytes().to_vec()
    }

    fn reset(&mut self) {
        self.line.clear();
        self.cursor = 0;
        self.browsing = None;
        self.stash.clear();
        self.esc = EscState::Ground;
        self.utf8.clear();
    }

    /// The line as typed so far.
    pub fn line(&self) -> String {
        self.line.iter().collect()
    }

    /// The cursor's position in characters.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The history, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &String> {
        self.history.iter()
    }

    /// Feeds one byte from the terminal.
    pub fn feed(&mut self, byte: u8) -> Step {
        let mut echo = Vec::new();
        let outcome = match core::mem::replace(&mut self.esc, EscState::Ground) {
            EscState::Ground => self.ground(byte, &mut echo),
            EscState::Escape => {
                self.esc = match byte {
                    b'[' => EscState::Csi(Vec::new()),
                    b'O' => EscState::Ss3,
                    _ => EscState::Ground,
                };
                Outcome::Pending
            }
            EscState::Csi(mut params) => {
                if (0x40..=0x7e).contains(&byte) {
                    self.csi(&params, byte, &mut echo);
                } else if params.len() < MAX_ESC_PARAMS {
                    params.push(byte);
                    self.esc = EscState::Csi(params);
                } else {
                    self.esc = EscState::Csi(params);
                }
                Outcome::Pending
            }
            EscState::Ss3 => {
                match byte {
                    b'H' => self.home(&mut echo),
                    b'F' => self.end(&mut echo),
                    _ => {}
                }
                Outcome::Pending
            }
        };
        Step { echo, outcome }
    }

    /// Feeds several bytes; stops at the first that ends the line.
    pub fn feed_all(&mut self, bytes: &[u8]) -> Step {
        let mut echo = Vec::new();
        for &b in bytes {
            let mut step = self.feed(b);
            echo.append(&mut step.echo);
            if step.outcome != Outcome::Pending {
                return Step {
                    echo,
                    outcome: step.outcome,
                };
            }
        }
        Step {
            echo,
            outcome: Outcome::Pending,
        }
    }

    fn ground(&mut self, byte: u8, echo: &mut Vec<u8>) -> Outcome {
        match byte {
            b'\r' | b'\n' => {
                echo.extend_from_slice(b"\r\n");
                let line = self.line();
                self.remember(&line);
                self.reset();
                return Outcome::Line(line);
            }
            0x03 => {
                echo.extend_from_slice(b"^C\r\n");
                self.reset();
                return Outcome::Cancel;
            }
            0x04 if self.line.is_empty() => {
                self.reset();
                return Outcome::Eof;
            }
            0x04 => self.delete_under(echo),
            0x1b => self.esc = EscState::Escape,
            0x7f | 0x08 => self.backspace(echo),
            0x15 => {
                self.line.drain(..self.cursor);
                self.cursor = 0;
                self.redraw(echo);
            }
            0x0b => {
                self.line.truncate(self.cursor);
                echo.extend_from_slice(b"\x1b[K");
            }
            0x17 => self.erase_word(echo),
            0x01 => self.home(echo),
            0x05 => self.end(echo),
            0x02 => self.left(echo),
            0x06 => self.right(echo),
            0x0c => {
                echo.extend_from_slice(b"\x1b[H\x1b[2J");
                self.redraw(echo);
            }
            b if b < 0x20 => {}
            b => self.utf8_byte(b, echo),
        }
        Outcome::Pending
    }

    /// Collects the bytes of a UTF-8 character; invalid ones are dropped.
    fn utf8_byte(&mut self, b: u8, echo: &mut Vec<u8>) {
        self.utf8.push(b);
        match core::str::from_utf8(&self.utf8) {
            Ok(s) => {
                let c = s.chars().next().unwrap_or('\u{fffd}');
                self.utf8.clear();
                self.insert(c, echo);
            }
            Err(e) if e.error_len().is_some() || self.utf8.len() >= 4 => self.utf8.clear(),
            Err(_) => {}
        }
    }

    fn csi(&mut self, params: &[u8], fin: u8, echo: &mut Vec<u8>) {
        match (params, fin) {
            (_, b'A') => self.history_up(echo),
            (_, b'B') => self.history_down(echo),
            (_, b'C') => self.right(echo),
            (_, b'D') => self.left(echo),
            (_, b'H') | (b"1" | b"7", b'~') => self.home(echo),
            (_, b'F') | (b"4" | b"8", b'~') => self.end(echo),
            (b"3", b'~') => self.delete_under(echo),
            _ => {}
        }
    }

    fn insert(&mut self, c: char, echo: &mut Vec<u8>) {
        if self.line.len() >= MAX_LINE {
            echo.push(0x07);
            return;
        }
        self.line.insert(self.cursor, c);
        self.cursor += 1;
        if self.cursor == self.line.len() {
            echo.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        } else {
            self.redraw(echo);
        }
    }

    fn backspace(&mut self, echo: &mut Vec<u8>) {
        if self.cursor == 0 {
            return;
        }
        self.cursor -= 1;
        self.line.remove(self.cursor);
        if self.cursor == self.line.len() {
            echo.extend_from_slice(b"\x08 \x08");
        } else {
            self.redraw(echo);
        }
    }

    fn delete_under(&mut self, echo: &mut Vec<u8>) {
        if self.cursor < self.line.len() {
            self.line.remove(self.cursor);
            self.redraw(echo);
        }
    }

    /// Ctrl-W: the blanks before the cursor, then the word before them.
    fn erase_word(&mut self, echo: &mut Vec<u8>) {
        let mut start = self.cursor;
        while start > 0 && self.line[start - 1] == ' ' {
            start -= 1;
        }
        while start > 0 && self.line[start - 1] != ' ' {
            start -= 1;
        }
        if start == self.cursor {
            return;
        }
        self.line.drain(start..self.cursor);
        self.cursor = start;
        self.redraw(echo);
    }

    fn left(&mut self, echo: &mut Vec<u8>) {
        if self.cursor > 0 {
            self.cursor -= 1;
            echo.extend_from_slice(b"\x1b[D");
        }
    }

    fn right(&mut self, echo: &mut Vec<u8>) {
        if self.cursor < self.line.len() {
            self.cursor += 1;
            echo.extend_from_slice(b"\x1b[C");
        }
    }

    fn home(&mut self, echo: &mut Vec<u8>) {
        if self.cursor > 0 {
            echo.extend_from_slice(format!("\x1b[{}D", self.cursor).as_bytes());
            self.cursor = 0;
        }
    }

    fn end(&mut self, echo: &mut Vec<u8>) {
        let n = self.line.len() - self.cursor;
        if n > 0 {
            echo.extend_from_slice(format!("\x1b[{n}C").as_bytes());
            self.cursor = self.line.len();
        }
    }

    /// Rewrites the whole line: carriage return, prompt, text, erase to
    /// the end of the screen line, then back to the cursor.
    fn redraw(&self, echo: &mut Vec<u8>) {
        echo.push(b'\r');
        echo.extend_from_slice(self.prompt.as_bytes());
        echo.extend_from_slice(self.line().as_bytes());
        echo.extend_from_slice(b"\x1b[K");
        let back = self.line.len() - self.cursor;
        if back > 0 {
            echo.extend_from_slice(format!("\x1b[{back}D").as_bytes());
        }
    }

    fn show(&mut self, text: Vec<char>, echo: &mut Vec<u8>) {
        self.line = text;
        self.cursor = self.line.len();
        self.redraw(echo);
    }

    fn history_up(&mut self, echo: &mut Vec<u8>) {
        let next = match self.browsing {
            None if !self.history.is_empty() => self.history.len() - 1,
            Some(i) if i > 0 => i - 1,
            _ => return,
        };
        if self.browsing.is_none() {
            self.stash = self.line.clone();
        }
        self.browsing = Some(next);
        let text = self.history[next].chars().collect();
        self.show(text, echo);
    }

    fn history_down(&mut self, echo: &mut Vec<u8>) {
        let Some(i) = self.browsing else { return };
        if i + 1 < self.history.len() {
            self.browsing = Some(i + 1);
            let text = self.history[i + 1].chars().collect();
            self.show(text, echo);
        } else {
            self.browsing = None;
            let text = core::mem::take(&mut self.stash);
            self.show(text, echo);
        }
    }

    /// Adds a line to the history (not blank lines, not a repeat of the last).
    fn remember(&mut self, line: &str) {
        if line.trim().is_empty() || self.history.back().map(String::as_str) == Some(line) {
            return;
        }
        if self.history.len() == MAX_HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(String::from(line));
    }
}
