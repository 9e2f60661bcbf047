//! The framebuffer console's screen model: a grid of character cells
//! with colours and attributes, a cursor, scrolling, driven by the
//! [`Parser`](crate::vt::Parser)'s actions, and the damage a renderer
//! must draw.
//!
//! Supported: printable text with deferred wrap at the right margin (as
//! xterm does), BS, HT (stops every 8 columns), LF/VT/FF, CR, BEL; CSI
//! `A B C D E F G H f d` (cursor movement), `J` and `K` (erase in display
//! and line, with the current background), `m` (SGR: reset, bold,
//! underline, reverse, 8/16 colours foreground and background, plus the
//! 256-colour and RGB forms), `s`/`u` and `ESC 7`/`ESC 8` (save and
//! restore the cursor), `?25h`/`?25l` (show and hide it); `ESC D`, `ESC
//! M`, `ESC E`, `ESC c`. Anything else is ignored.
//!
//! Damage: [`Screen::take_damage`] returns how many lines the screen
//! scrolled up since the last call (the renderer moves its pixels up by
//! that many text lines first) and the cells to redraw after that,
//! including where the cursor was and is. The invariant: a renderer that
//! applies every damage in order shows exactly the grid.

use alloc::vec;
use alloc::vec::Vec;

use crate::vt::{Action, Params, Parser};

/// The largest grid accepted (a 4K screen with an 8×8 font is 480×270).
pub const MAX_COLS: usize = 512;
pub const MAX_ROWS: usize = 512;

/// A cell's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Color {
    /// The console's default foreground or background.
    #[default]
    Default,
    /// A palette index: 0–7 normal, 8–15 bright, up to 255 (xterm's).
    Indexed(u8),
    Rgb(u8, u8, u8),
}

/// How a cell is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attrs {
    pub fg: Color,
    pub bg: Color,
    pub bold: bool,
    pub underline: bool,
    pub reverse: bool,
}

/// One character cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub ch: char,
    pub attrs: Attrs,
}

impl Default for Cell {
    fn default() -> Self {
        Cell {
            ch: ' ',
            attrs: Attrs::default(),
        }
    }
}

/// What changed since the last [`Screen::take_damage`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Damage {
    /// Scroll the picture up by this many lines first (at most `rows`).
    pub scrolled: usize,
    /// Then redraw these cells, as (row, column), in row order.
    pub cells: Vec<(usize, usize)>,
    /// Where to draw the cursor, if it is shown.
    pub cursor: Option<(usize, usize)>,
    /// A BEL arrived.
    pub bell: bool,
}

/// A grid size outside 1..=[`MAX_COLS`] × 1..=[`MAX_ROWS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadSize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Cursor {
    row: usize,
    col: usize,
    attrs: Attrs,
}

/// The console's screen.
#[derive(Debug, Clone)]
pub struct Screen {
    cols: usize,
    rows: usize,
    /// The grid, row by row, as a ring: the top line is stored at
    /// `top` (scrolling moves `top`, not the cells).
    cells: Vec<Cell>,
    /// Whether each cell (stored as `cells` is) must be redrawn.
    dirty: Vec<bool>,
    top: usize,
    scrolled: usize,
    cursor: Cursor,
    saved: Cursor,
    /// The cursor sits past the last column; the next character wraps.
    pending_wrap: bool,
    cursor_visible: bool,
    bell: bool,
    parser: Parser,
}

impl Screen {
    /// A blank screen of `cols` × `rows` cells, all of them damaged.
    pub fn new(cols: usize, rows: usize) -> Result<Screen, BadSize> {
        if !(1..=MAX_COLS).contains(&cols) || !(1..=MAX_ROWS).contains(&rows) {
            return Err(BadSize);
        }
        Ok(Screen {
            cols,
            rows,
            cells: vec![Cell::default(); cols * rows],
            dirty: vec![true; cols * rows],
            top: 0,
            scrolled: 0,
            cursor: Cursor::default(),
            saved: Cursor::default(),
            pending_wrap: false,
            cursor_visible: true,
            bell: false,
            parser: Parser::new(),
        })
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The cell at (row, column), `None` outside the grid.
    pub fn cell(&self, row: usize, col: usize) -> Option<&Cell> {
        (row < self.rows && col < self.cols).then(|| &self.cells[self.index(row, col)])
    }

    /// The cursor as (row, column).
    pub fn cursor(&self) -> (usize, usize) {
        (self.cursor.row, self.cursor.col)
    }

    /// Whether the cursor is shown (`ESC [?25h`, the default) or hidden.
    pub fn cursor_visible(&self) -> bool {
        self.cursor_visible
    }

    /// The text of a row, trailing blanks removed (for tests and logs).
    pub fn row_text(&self, row: usize) -> alloc::string::String {
        let s: alloc::string::String = (0..self.cols)
            .filter_map(|c| self.cell(row, c).map(|cell| cell.ch))
            .collect();
        alloc::string::String::from(s.trim_end())
    }

    /// Interprets bytes written to the console.
    pub fn write(&mut self, bytes: &[u8]) {
        let mut parser = core::mem::take(&mut self.parser);
        for &b in bytes {
            parser.advance(b, &mut |a| self.apply(a));
        }
        self.parser = parser;
    }

    /// Returns what changed since the last call and forgets it.
    pub fn take_damage(&mut self) -> Damage {
        let mut cells = Vec::new();
        for row in 0..self.rows {
            let start = self.index(row, 0);
            for (col, d) in self.dirty[start..start + self.cols].iter_mut().enumerate() {
                if core::mem::take(d) {
                    cells.push((row, col));
                }
            }
        }
        let cursor = self
            .cursor_visible
            .then_some((self.cursor.row, self.cursor.col));
        // The cursor's cell is redrawn next time, to remove the cursor.
        self.mark(self.cursor.row, self.cursor.col);
        Damage {
            scrolled: core::mem::take(&mut self.scrolled),
            cells,
            cursor,
            bell: core::mem::take(&mut self.bell),
        }
    }

    /// Where cell (row, column) is stored.
    fn index(&self, row: usize, col: usize) -> usize {
        (self.top + row) % self.rows * self.cols + col
    }

    fn mark(&mut self, row: usize, col: usize) {
        if row < self.rows && col < self.cols {
            let i = self.index(row, col);
            self.dirty[i] = true;
        }
    }

    fn set(&mut self, row: usize, col: usize, cell: Cell) {
        let i = self.index(row, col);
        if self.cells[i] != cell {
            self.cells[i] = cell;
            self.dirty[i] = true;
        }
    }

    fn move_to(&mut self, row: usize, col: usize) {
        self.cursor.row = row.min(self.rows - 1);
        self.cursor.col = col.min(self.cols - 1);
        self.pending_wrap = false;
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::Print(c) => self.print(c),
            Action::Control(c) => self.control(c),
            Action::Csi {
                private: None,
                params,
                intermediate: None,
                final_byte,
            } => self.csi(&params, final_byte),
            Action::Csi {
                private: Some(b'?'),
                params,
                intermediate: None,
                final_byte,
            } if params.raw(0) == 25 && (final_byte == b'h' || final_byte == b'l') => {
                self.cursor_visible = final_byte == b'h';
            }
            Action::Esc {
                intermediate: None,
                final_byte,
            } => self.esc(final_byte),
            _ => {}
        }
    }

    fn print(&mut self, c: char) {
        if self.pending_wrap {
            self.cursor.col = 0;
            self.linefeed();
        }
        let (row, col) = (self.cursor.row, self.cursor.col);
        self.set(
            row,
            col,
            Cell {
                ch: c,
                attrs: self.cursor.attrs,
            },
        );
        if col + 1 == self.cols {
            self.pending_wrap = true;
        } else {
            self.cursor.col += 1;
        }
    }

    fn control(&mut self, c: u8) {
        match c {
            0x07 => self.bell = true,
            0x08 => self.move_to(self.cursor.row, self.cursor.col.saturating_sub(1)),
            b'\t' => self.move_to(self.cursor.row, (self.cursor.col | 7) + 1),
            b'\n' | 0x0b | 0x0c => self.linefeed(),
            b'\r' => self.move_to(self.cursor.row, 0),
            _ => {}
        }
    }

    fn linefeed(&mut self) {
        self.pending_wrap = false;
        if self.cursor.row + 1 == self.rows {
            self.scroll_up();
        } else {
            self.cursor.row += 1;
        }
    }

    /// Moves every line up one, blanking the bottom one (O(columns): the
    /// ring's top moves); the damage map moves with the text, as the
    /// renderer will move its pixels.
    fn scroll_up(&mut self) {
        self.top = (self.top + 1) % self.rows;
        let blank = self.blank();
        let last = self.index(self.rows - 1, 0);
        self.cells[last..last + self.cols].fill(blank);
        self.dirty[last..last + self.cols].fill(true);
        self.scrolled = (self.scrolled + 1).min(self.rows);
    }

    /// Moves every line down one (reverse index at the top line): drawn
    /// as a full redraw, since renderers scroll only up.
    fn scroll_down(&mut self) {
        self.top = (self.top + self.rows - 1) % self.rows;
        let blank = self.blank();
        let first = self.index(0, 0);
        self.cells[first..first + self.cols].fill(blank);
        self.dirty.fill(true);
    }

    /// An erased cell: blank, in the current background.
    fn blank(&self) -> Cell {
        Cell {
            ch: ' ',
            attrs: Attrs {
                bg: self.cursor.attrs.bg,
                ..Attrs::default()
            },
        }
    }

    fn erase(&mut self, from: usize, to: usize) {
        let blank = self.blank();
        for i in from..to.min(self.cells.len()) {
            self.set(i / self.cols, i % self.cols, blank);
        }
    }

    fn csi(&mut self, p: &Params, fin: u8) {
        let n = p.get_or(0, 1) as usize;
        let (row, col) = (self.cursor.row, self.cursor.col);
        match fin {
            b'A' => self.move_to(row.saturating_sub(n), col),
            b'B' => self.move_to(row.saturating_add(n), col),
            b'C' => self.move_to(row, col.saturating_add(n)),
            b'D' => self.move_to(row, col.saturating_sub(n)),
            b'E' => self.move_to(row.saturating_add(n), 0),
            b'F' => self.move_to(row.saturating_sub(n), 0),
            b'G' => self.move_to(row, n - 1),
            b'd' => self.move_to(n - 1, col),
            b'H' | b'f' => self.move_to(p.get_or(0, 1) as usize - 1, p.get_or(1, 1) as usize - 1),
            b'J' => {
                let here = row * self.cols + col;
                match p.raw(0) {
                    0 => self.erase(here, self.cells.len()),
                    1 => self.erase(0, here + 1),
                    2 | 3 => self.erase(0, self.cells.len()),
                    _ => {}
                }
            }
            b'K' => {
                let start = row * self.cols;
                match p.raw(0) {
                    0 => self.erase(start + col, start + self.cols),
                    1 => self.erase(start, start + col + 1),
                    2 => self.erase(start, start + self.cols),
                    _ => {}
                }
            }
            b'm' => self.sgr(p),
            b's' => self.saved = self.cursor,
            b'u' => self.restore(),
            _ => {}
        }
    }

    fn restore(&mut self) {
        let saved = self.saved;
        self.cursor.attrs = saved.attrs;
        self.move_to(saved.row, saved.col);
    }

    fn esc(&mut self, fin: u8) {
        match fin {
            b'7' => self.saved = self.cursor,
            b'8' => self.restore(),
            b'D' => self.linefeed(),
            b'E' => {
                self.cursor.col = 0;
                self.linefeed();
            }
            b'M' => {
                if self.cursor.row == 0 {
                    self.scroll_down();
                } else {
                    self.move_to(self.cursor.row - 1, self.cursor.col);
                }
            }
            b'c' => {
                let parser = core::mem::take(&mut self.parser);
                if let Ok(fresh) = Screen::new(self.cols, self.rows) {
                    *self = fresh;
                }
                self.parser = parser;
            }
            _ => {}
        }
    }

    /// Select Graphic Rendition.
    fn sgr(&mut self, p: &Params) {
        let a = &mut self.cursor.attrs;
        if p.is_empty() {
            *a = Attrs::default();
            return;
        }
        let mut i = 0;
        while i < p.len() {
            match p.raw(i) {
                0 => *a = Attrs::default(),
                1 => a.bold = true,
                4 => a.underline = true,
                7 => a.reverse = true,
                22 => a.bold = false,
                24 => a.underline = false,
                27 => a.reverse = false,
                v @ 30..=37 => a.fg = Color::Indexed((v - 30) as u8),
                39 => a.fg = Color::Default,
                v @ 40..=47 => a.bg = Color::Indexed((v - 40) as u8),
                49 => a.bg = Color::Default,
                v @ 90..=97 => a.fg = Color::Indexed((v - 90 + 8) as u8),
                v @ 100..=107 => a.bg = Color::Indexed((v - 100 + 8) as u8),
                v @ (38 | 48) => {
                    let (color, used) = extended_color(p, i + 1);
                    if let Some(c) = color {
                        if v == 38 {
                            a.fg = c;
                        } else {
                            a.bg = c;
                        }
                    }
                    i += used;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// `5;n` or `2;r;g;b` after a 38 or 48: the colour and the parameters used.
fn extended_color(p: &Params, i: usize) -> (Option<Color>, usize) {
    let byte = |j: usize| (j < p.len()).then(|| u8::try_from(p.raw(j)).ok()).flatten();
    match p.raw(i) {
        5 => (byte(i + 1).map(Color::Indexed), 2),
        2 => {
            let rgb = (byte(i + 1), byte(i + 2), byte(i + 3));
            match rgb {
                (Some(r), Some(g), Some(b)) => (Some(Color::Rgb(r, g, b)), 4),
                _ => (None, 4),
            }
        }
        _ => (None, 1),
    }
}
