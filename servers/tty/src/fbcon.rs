//! The framebuffer console's renderer: draws a [`Screen`] on a linear
//! framebuffer (Linux's `fbcon`), given its geometry
//! ([`FramebufferInfo`]) and a [`Canvas`] to write its bytes to.
//!
//! - **Glyphs** come from the `noto-sans-mono-bitmap` crate (Noto Sans
//!   Mono pre-rasterised at 16 pixels, regular and bold): a cell is
//!   [`CELL_WIDTH`] × [`CELL_HEIGHT`] pixels, each glyph pixel an
//!   intensity 0–255 that blends the cell's background into its
//!   foreground, per channel, as
//!   `(bg * (255 - a) + fg * a + 127) / 255`. A character the font lacks
//!   is drawn as U+FFFD.
//! - **Colours**: the default foreground is light grey on black, the 16
//!   ANSI colours are the VGA palette Linux's console uses, indices
//!   16–255 xterm's 6×6×6 cube and grey ramp, and RGB as given. Bold draws
//!   the bold face and brightens colours 0–7 and the default; reverse
//!   swaps foreground and background; underline fills the cell's
//!   next-to-last pixel line. Each colour is packed into a pixel by the
//!   framebuffer's masks (16, 24 or 32 bits, little-endian).
//! - **Damage**: [`Renderer::draw`] applies one [`Damage`]: it scrolls the
//!   picture by copying pixel lines up, draws each run of changed cells
//!   in a row one pixel line at a time (one canvas write per line of a
//!   run), then the cursor as an inverted cell. Applying every damage in
//!   order leaves the same pixels as [`Renderer::redraw`] of the final
//!   screen (the host tests check it).
//! - **A cache of drawn cells**: a cell's packed pixels, keyed by its
//!   character, colours and face, are kept in one of
//!   [`GLYPH_CACHE_SLOTS`] slots, so drawing a cell seen before is a copy
//!   of 16 short lines rather than 112 pixels blended and packed (a full
//!   182×50 redraw about three times faster).
//! - Pixels right of and below the grid (the framebuffer's width and
//!   height need not be multiples of a cell) stay as [`Renderer::clear`]
//!   left them: background.

use alloc::vec::Vec;

use libsys::abi::{FramebufferError, FramebufferInfo};
use noto_sans_mono_bitmap::{get_raster, get_raster_width, FontWeight, RasterHeight};

use crate::screen::{Attrs, Cell, Color, Damage, Screen, MAX_COLS, MAX_ROWS};

/// A cell's size in pixels: the crate's 16-pixel raster and its width.
pub const CELL_HEIGHT: usize = RasterHeight::Size16.val();
pub const CELL_WIDTH: usize = get_raster_width(FontWeight::Regular, RasterHeight::Size16);

const _: () = assert!(
    get_raster_width(FontWeight::Bold, RasterHeight::Size16) == CELL_WIDTH,
    "the bold face is as wide as the regular one"
);

/// Where the renderer's bytes go: the framebuffer's memory, addressed
/// by byte offset from its first pixel.
pub trait Canvas {
    /// Copies `bytes` to `offset`.
    fn write(&mut self, offset: usize, bytes: &[u8]);
    /// Copies `len` bytes from `src` to `dst` (the ranges may overlap).
    fn copy_within(&mut self, src: usize, dst: usize, len: usize);
}

/// A framebuffer in ordinary memory (tests, and anything drawn off
/// screen). Writes past its end are cut off.
impl Canvas for [u8] {
    fn write(&mut self, offset: usize, bytes: &[u8]) {
        let end = offset.saturating_add(bytes.len()).min(self.len());
        if offset < end {
            self[offset..end].copy_from_slice(&bytes[..end - offset]);
        }
    }

    fn copy_within(&mut self, src: usize, dst: usize, len: usize) {
        let fits = |at: usize| at.checked_add(len).is_some_and(|e| e <= self.len());
        if fits(src) && fits(dst) {
            <[u8]>::copy_within(self, src..src + len, dst);
        }
    }
}

/// An RGB colour, 8 bits a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// The default foreground and background.
pub const DEFAULT_FG: Rgb = Rgb(170, 170, 170);
pub const DEFAULT_BG: Rgb = Rgb(0, 0, 0);
/// The default foreground in bold.
pub const BOLD_FG: Rgb = Rgb(255, 255, 255);

/// The 16 ANSI colours: VGA's, as Linux's console has them.
pub const PALETTE: [Rgb; 16] = [
    Rgb(0, 0, 0),
    Rgb(170, 0, 0),
    Rgb(0, 170, 0),
    Rgb(170, 85, 0),
    Rgb(0, 0, 170),
    Rgb(170, 0, 170),
    Rgb(0, 170, 170),
    Rgb(170, 170, 170),
    Rgb(85, 85, 85),
    Rgb(255, 85, 85),
    Rgb(85, 255, 85),
    Rgb(255, 255, 85),
    Rgb(85, 85, 255),
    Rgb(255, 85, 255),
    Rgb(85, 255, 255),
    Rgb(255, 255, 255),
];

/// Palette entry `i` of xterm's 256: the 16 above, the 6×6×6 cube, the
/// 24 greys.
pub fn indexed(i: u8) -> Rgb {
    match i {
        0..=15 => PALETTE[usize::from(i)],
        16..=231 => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            let v = i - 16;
            Rgb(level(v / 36), level(v / 6 % 6), level(v % 6))
        }
        _ => {
            let g = 8 + 10 * (i - 232);
            Rgb(g, g, g)
        }
    }
}

/// `a` of the way from `bg` to `fg` (a glyph pixel's intensity).
pub fn blend(fg: Rgb, bg: Rgb, a: u8) -> Rgb {
    let mix = |f: u8, b: u8| {
        let (f, b, a) = (u32::from(f), u32::from(b), u32::from(a));
        ((b * (255 - a) + f * a + 127) / 255) as u8
    };
    Rgb(mix(fg.0, bg.0), mix(fg.1, bg.1), mix(fg.2, bg.2))
}

/// How a colour becomes a pixel's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelFormat {
    /// Bytes per pixel: 2, 3 or 4.
    pub bytes: usize,
    /// (size, shift) of red, green and blue.
    pub masks: [(u8, u8); 3],
}

impl PixelFormat {
    /// The format of a checked framebuffer.
    pub fn of(fb: &FramebufferInfo) -> PixelFormat {
        PixelFormat {
            bytes: fb.bytes_per_pixel() as usize,
            masks: [
                (fb.red_mask_size, fb.red_mask_shift),
                (fb.green_mask_size, fb.green_mask_shift),
                (fb.blue_mask_size, fb.blue_mask_shift),
            ],
        }
    }

    /// The pixel value of `c`: each channel's top bits, at its place.
    pub fn pack(&self, c: Rgb) -> u32 {
        let [r, g, b] = self.masks;
        let put = |v: u8, (size, shift): (u8, u8)| (u32::from(v) >> (8 - size)) << shift;
        put(c.0, r) | put(c.1, g) | put(c.2, b)
    }

    /// Appends the pixel's bytes (little-endian) to `out`.
    fn push(&self, out: &mut Vec<u8>, pixel: u32) {
        out.extend_from_slice(&pixel.to_le_bytes()[..self.bytes]);
    }
}

/// Why a renderer cannot be made for a framebuffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FbconError {
    /// Its geometry is refused.
    Geometry(FramebufferError),
    /// Smaller than one cell.
    TooSmall,
}

impl core::fmt::Display for FbconError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FbconError::Geometry(e) => write!(f, "framebuffer geometry: {e}"),
            FbconError::TooSmall => write!(
                f,
                "the framebuffer is smaller than one {CELL_WIDTH}x{CELL_HEIGHT} cell"
            ),
        }
    }
}

/// A cell's colours and face, as drawn.
#[derive(Clone, Copy)]
struct Look {
    fg: Rgb,
    bg: Rgb,
    bold: bool,
    underline: bool,
}

impl Look {
    /// How `attrs` are drawn (`invert`: the cursor's cell).
    fn of(attrs: &Attrs, invert: bool) -> Look {
        let fg = match attrs.fg {
            Color::Default if attrs.bold => BOLD_FG,
            Color::Default => DEFAULT_FG,
            Color::Indexed(i) if attrs.bold && i < 8 => indexed(i + 8),
            Color::Indexed(i) => indexed(i),
            Color::Rgb(r, g, b) => Rgb(r, g, b),
        };
        let bg = match attrs.bg {
            Color::Default => DEFAULT_BG,
            Color::Indexed(i) => indexed(i),
            Color::Rgb(r, g, b) => Rgb(r, g, b),
        };
        let (fg, bg) = if attrs.reverse != invert {
            (bg, fg)
        } else {
            (fg, bg)
        };
        Look {
            fg,
            bg,
            bold: attrs.bold,
            underline: attrs.underline,
        }
    }
}

/// The glyph of `c` (U+FFFD, else a blank, if the font lacks it): one
/// slice of [`CELL_WIDTH`] intensities per pixel line.
pub fn glyph(c: char, bold: bool) -> &'static [&'static [u8]] {
    let weight = if bold {
        FontWeight::Bold
    } else {
        FontWeight::Regular
    };
    let raster = |c| get_raster(c, weight, RasterHeight::Size16);
    raster(c)
        .or_else(|| raster('\u{fffd}'))
        .or_else(|| raster(' '))
        .map_or(&[], |r| r.raster())
}

/// Draws a [`Screen`] on one framebuffer.
#[derive(Debug)]
pub struct Renderer {
    format: PixelFormat,
    pitch: usize,
    width: usize,
    height: usize,
    cols: usize,
    rows: usize,
    /// One pixel line (clearing), reused.
    line: Vec<u8>,
    /// The pixel lines of a run of cells, reused.
    run: Vec<u8>,
    cache: GlyphCache,
}

impl Renderer {
    /// A renderer for `fb`, its grid as many whole cells as fit (at most
    /// [`MAX_COLS`] × [`MAX_ROWS`]). `Geometry` if `fb` fails its check,
    /// `TooSmall` if not one cell fits.
    pub fn new(fb: &FramebufferInfo) -> Result<Renderer, FbconError> {
        fb.check().map_err(FbconError::Geometry)?;
        let cols = (fb.width as usize / CELL_WIDTH).min(MAX_COLS);
        let rows = (fb.height as usize / CELL_HEIGHT).min(MAX_ROWS);
        if cols == 0 || rows == 0 {
            return Err(FbconError::TooSmall);
        }
        Ok(Renderer {
            format: PixelFormat::of(fb),
            pitch: fb.pitch as usize,
            width: fb.width as usize,
            height: fb.height as usize,
            cols,
            rows,
            line: Vec::new(),
            run: Vec::new(),
            cache: GlyphCache::new(),
        })
    }

    /// The grid: columns and rows of cells.
    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Fills the whole framebuffer with the default background.
    pub fn clear(&mut self, canvas: &mut (impl Canvas + ?Sized)) {
        let pixel = self.format.pack(DEFAULT_BG);
        self.line.clear();
        for _ in 0..self.width {
            self.format.push(&mut self.line, pixel);
        }
        for y in 0..self.height {
            canvas.write(y * self.pitch, &self.line);
        }
    }

    /// Draws every cell of `screen` and its cursor (after [`clear`]
    /// or to repair the picture), forgetting nothing of its damage.
    ///
    /// [`clear`]: Self::clear
    pub fn redraw(&mut self, screen: &Screen, canvas: &mut (impl Canvas + ?Sized)) {
        let rows = self.rows.min(screen.rows());
        let cols = self.cols.min(screen.cols());
        for row in 0..rows {
            self.draw_run(screen, row, 0, cols, canvas);
        }
        self.draw_cursor(screen, screen_cursor(screen), canvas);
    }

    /// Applies `damage` (from `screen.take_damage()`): the scroll, the
    /// runs of changed cells, the cursor. Cells outside the renderer's
    /// grid are ignored.
    pub fn draw(&mut self, screen: &Screen, damage: &Damage, canvas: &mut (impl Canvas + ?Sized)) {
        let rows = self.rows.min(screen.rows());
        if damage.scrolled > 0 && damage.scrolled < rows {
            let line = CELL_HEIGHT * self.pitch;
            let kept = (rows - damage.scrolled) * line;
            canvas.copy_within(damage.scrolled * line, 0, kept);
        }
        let mut cells = damage.cells.iter().copied().peekable();
        while let Some((row, first)) = cells.next() {
            let mut end = first + 1;
            while cells.peek() == Some(&(row, end)) {
                cells.next();
                end += 1;
            }
            self.draw_run(screen, row, first, end, canvas);
        }
        self.draw_cursor(screen, damage.cursor, canvas);
    }

    fn draw_cursor(
        &mut self,
        screen: &Screen,
        cursor: Option<(usize, usize)>,
        canvas: &mut (impl Canvas + ?Sized),
    ) {
        if let Some((row, col)) = cursor {
            if let Some(cell) = screen.cell(row, col) {
                self.draw_cells(row, col, &[*cell], true, canvas);
            }
        }
    }

    /// Draws cells `[first, end)` of `row` as the screen has them.
    fn draw_run(
        &mut self,
        screen: &Screen,
        row: usize,
        first: usize,
        end: usize,
        canvas: &mut (impl Canvas + ?Sized),
    ) {
        let end = end.min(self.cols);
        if row >= self.rows || first >= end {
            return;
        }
        let cells: Vec<Cell> = (first..end)
            .filter_map(|col| screen.cell(row, col).copied())
            .collect();
        self.draw_cells(row, first, &cells, false, canvas);
    }

    /// Draws `cells` from (`row`, `col`) on, one pixel line at a time.
    fn draw_cells(
        &mut self,
        row: usize,
        col: usize,
        cells: &[Cell],
        invert: bool,
        canvas: &mut (impl Canvas + ?Sized),
    ) {
        if row >= self.rows || col >= self.cols {
            return;
        }
        let bytes = self.format.bytes;
        let line = CELL_WIDTH * bytes;
        let cells = &cells[..cells.len().min(self.cols - col)];
        // The run's 16 pixel lines side by side, each cell's block copied
        // in from the cache as soon as it is found (a later cell of the
        // run may take its slot).
        let run = cells.len() * line;
        self.run.resize(CELL_HEIGHT * run, 0);
        for (i, cell) in cells.iter().enumerate() {
            let look = Look::of(&cell.attrs, invert);
            let block = self.cache.block(cell.ch, look, &self.format);
            for (y, pixels) in block.chunks_exact(line).enumerate() {
                let at = y * run + i * line;
                self.run[at..at + line].copy_from_slice(pixels);
            }
        }
        let x = col * line;
        for (y, pixels) in self.run.chunks_exact(run).enumerate() {
            canvas.write((row * CELL_HEIGHT + y) * self.pitch + x, pixels);
        }
    }
}

/// How many drawn cells [`GlyphCache`] keeps.
pub const GLYPH_CACHE_SLOTS: usize = 256;

/// What a drawn cell looks like: the key of [`GlyphCache`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct GlyphKey {
    ch: char,
    fg: Rgb,
    bg: Rgb,
    bold: bool,
    underline: bool,
}

/// Cells drawn before, as their packed pixels (direct-mapped,
/// [`GLYPH_CACHE_SLOTS`] blocks of [`CELL_HEIGHT`] lines): a console
/// shows few characters in few colours, so most cells are a copy.
#[derive(Debug)]
struct GlyphCache {
    keys: Vec<Option<GlyphKey>>,
    pixels: Vec<u8>,
}

impl GlyphCache {
    fn new() -> GlyphCache {
        GlyphCache {
            keys: alloc::vec![None; GLYPH_CACHE_SLOTS],
            pixels: Vec::new(),
        }
    }

    /// The pixels of `ch` drawn as `look` says: [`CELL_HEIGHT`] lines of
    /// [`CELL_WIDTH`] pixels in `format`, drawn now unless cached.
    fn block(&mut self, ch: char, look: Look, format: &PixelFormat) -> &[u8] {
        let size = CELL_HEIGHT * CELL_WIDTH * format.bytes;
        if self.pixels.len() != GLYPH_CACHE_SLOTS * size {
            self.pixels = alloc::vec![0; GLYPH_CACHE_SLOTS * size];
            self.keys.fill(None);
        }
        let key = GlyphKey {
            ch,
            fg: look.fg,
            bg: look.bg,
            bold: look.bold,
            underline: look.underline,
        };
        let colour = |c: Rgb| u32::from(c.0) << 16 | u32::from(c.1) << 8 | u32::from(c.2);
        let hash = (u32::from(ch).wrapping_mul(0x9e37_79b1)
            ^ colour(look.fg).wrapping_mul(0x85eb_ca6b)
            ^ colour(look.bg).wrapping_mul(0xc2b2_ae35)
            ^ u32::from(look.bold) << 7
            ^ u32::from(look.underline) << 13)
            .wrapping_mul(0x2545_f491);
        let slot = (hash >> 24) as usize % GLYPH_CACHE_SLOTS;
        let block = &mut self.pixels[slot * size..(slot + 1) * size];
        if self.keys[slot] != Some(key) {
            draw_glyph(block, ch, look, format);
            self.keys[slot] = Some(key);
        }
        block
    }
}

/// Draws `ch` as `look` says into `block` ([`CELL_HEIGHT`] lines of
/// [`CELL_WIDTH`] pixels in `format`).
fn draw_glyph(block: &mut [u8], ch: char, look: Look, format: &PixelFormat) {
    let raster = glyph(ch, look.bold);
    let (fg, bg) = (format.pack(look.fg), format.pack(look.bg));
    let lines = block.chunks_exact_mut(CELL_WIDTH * format.bytes);
    for (y, out) in lines.enumerate() {
        let underlined = look.underline && y == CELL_HEIGHT - 2;
        let pixels = raster.get(y).copied().unwrap_or(&[]);
        for (px, dst) in out.chunks_exact_mut(format.bytes).enumerate() {
            let a = if underlined {
                255
            } else {
                pixels.get(px).copied().unwrap_or(0)
            };
            let pixel = match a {
                0 => bg,
                255 => fg,
                a => format.pack(blend(look.fg, look.bg, a)),
            };
            dst.copy_from_slice(&pixel.to_le_bytes()[..format.bytes]);
        }
    }
}

/// The cursor as a damage would report it (`None` when hidden).
fn screen_cursor(screen: &Screen) -> Option<(usize, usize)> {
    screen.cursor_visible().then(|| screen.cursor())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn framebuffer(bpp: u16, width: u32, height: u32) -> FramebufferInfo {
        let (bytes, masks) = match bpp {
            16 => (2, [(5, 11), (6, 5), (5, 0)]),
            24 => (3, [(8, 16), (8, 8), (8, 0)]),
            _ => (4, [(8, 16), (8, 8), (8, 0)]),
        };
        FramebufferInfo {
            phys: 0x8000_0000,
            width,
            height,
            // A few bytes of padding after each line, as real ones have.
            pitch: width * bytes + 12,
            bpp,
            red_mask_size: masks[0].0,
            red_mask_shift: masks[0].1,
            green_mask_size: masks[1].0,
            green_mask_shift: masks[1].1,
            blue_mask_size: masks[2].0,
            blue_mask_shift: masks[2].1,
            _reserved: 0,
        }
    }

    /// A renderer, a cleared canvas and a screen of its grid.
    fn setup(fb: &FramebufferInfo) -> (Renderer, Vec<u8>, Screen) {
        let mut r = Renderer::new(fb).unwrap();
        let mut canvas = vec![0xeeu8; fb.len() as usize];
        r.clear(&mut canvas[..]);
        let screen = Screen::new(r.cols(), r.rows()).unwrap();
        (r, canvas, screen)
    }

    /// What a full redraw of `screen` on a fresh canvas gives.
    fn full(fb: &FramebufferInfo, screen: &Screen) -> Vec<u8> {
        let (mut r, mut canvas, _) = setup(fb);
        r.redraw(screen, &mut canvas[..]);
        canvas
    }

    /// The pixel at (x, y), unpacked to 8-bit channels by the masks.
    fn pixel(fb: &FramebufferInfo, canvas: &[u8], x: usize, y: usize) -> u32 {
        let bytes = fb.bytes_per_pixel() as usize;
        let at = y * fb.pitch as usize + x * bytes;
        let mut word = [0u8; 4];
        word[..bytes].copy_from_slice(&canvas[at..at + bytes]);
        u32::from_le_bytes(word)
    }

    /// A text that exercises wrapping, colours, erasing, cursor moves and
    /// scrolling, in chunks.
    fn session() -> Vec<&'static [u8]> {
        vec![
            b"hello, world\r\n",
            b"\x1b[1;31mbold red\x1b[0m \x1b[4;44munder blue\x1b[0m \x1b[7mrev\x1b[m\r\n",
            b"\x1b[38;5;208morange\x1b[38;2;1;2;3m rgb \x1b[0m\xc3\xa9\xe2\x9c\x93\r\n",
            b"a line long enough to wrap past the right margin of the small test screen",
            b"\r\n\x1b[2;5Hmoved\x1b[K\x1b[5;1H\x1b[1J",
            b"1\r\n2\r\n3\r\n4\r\n5\r\n6\r\n7\r\n8\r\n9\r\n10\r\n",
            b"\x1b[?25lhidden cursor\x1b[?25h shown\r\n",
            b"\tx\x08\x08y\x1bMreverse-index\x1b[H\x1bM top\r\n",
            b"11\r\n12\r\n13\r\n14\r\n15\r\n16\r\n17\r\n18\r\n19\r\n20\r\n21\r\n22",
            b"\x1b[2J\x1b[Hcleared",
        ]
    }

    #[test]
    fn damage_in_order_equals_a_full_redraw() {
        for bpp in [32, 24, 16] {
            // 20x8 cells, with pixels left over to the right and below.
            let fb = framebuffer(bpp, 20 * CELL_WIDTH as u32 + 3, 8 * CELL_HEIGHT as u32 + 5);
            let (mut r, mut canvas, mut screen) = setup(&fb);
            assert_eq!((r.cols(), r.rows()), (20, 8));
            for chunk in session() {
                screen.write(chunk);
                let damage = screen.take_damage();
                r.draw(&screen, &damage, &mut canvas[..]);
                assert_eq!(canvas, full(&fb, &screen), "{bpp} bpp after {chunk:?}");
            }
            // Byte by byte, damage after each.
            for chunk in session() {
                for b in chunk.iter() {
                    screen.write(core::slice::from_ref(b));
                    let damage = screen.take_damage();
                    r.draw(&screen, &damage, &mut canvas[..]);
                }
            }
            assert_eq!(canvas, full(&fb, &screen), "{bpp} bpp, byte by byte");
        }
    }

    #[test]
    fn scrolling_moves_pixels_and_redraws_only_the_new_line() {
        let fb = framebuffer(32, 10 * CELL_WIDTH as u32, 4 * CELL_HEIGHT as u32);
        let (mut r, mut canvas, mut screen) = setup(&fb);
        screen.write(b"a\r\nb\r\nc\r\nd");
        let damage = screen.take_damage();
        r.draw(&screen, &damage, &mut canvas[..]);
        screen.write(b"\r\ne\r\nf");
        let damage = screen.take_damage();
        assert_eq!(damage.scrolled, 2);
        // Only the two new lines and the old cursor's cell are redrawn.
        assert!(damage.cells.iter().all(|&(row, _)| row >= 1), "{damage:?}");
        let mut counting = Counting {
            inner: canvas.clone(),
            writes: 0,
            copies: 0,
        };
        r.draw(&screen, &damage, &mut counting);
        assert_eq!(counting.copies, 1, "one copy of the kept pixel lines");
        assert_eq!(counting.inner, full(&fb, &screen));
        assert_eq!(screen.row_text(0), "c");
        // A scroll of the whole screen or more copies nothing.
        screen.write(b"\r\n1\r\n2\r\n3\r\n4\r\n5");
        let damage = screen.take_damage();
        assert_eq!(damage.scrolled, 4);
        counting.copies = 0;
        r.draw(&screen, &damage, &mut counting);
        assert_eq!(counting.copies, 0);
        assert_eq!(counting.inner, full(&fb, &screen));
    }

    #[test]
    fn runs_of_changed_cells_are_one_write_per_pixel_line() {
        let fb = framebuffer(32, 40 * CELL_WIDTH as u32, 4 * CELL_HEIGHT as u32);
        let (mut r, canvas, mut screen) = setup(&fb);
        let first = screen.take_damage();
        let mut counting = Counting {
            inner: canvas,
            writes: 0,
            copies: 0,
        };
        r.draw(&screen, &first, &mut counting);
        screen.write(b"0123456789");
        let damage = screen.take_damage();
        counting.writes = 0;
        r.draw(&screen, &damage, &mut counting);
        // One run (ten new characters, the old cursor cell among them)
        // and the cursor: two cells' worth of pixel lines.
        assert_eq!(counting.writes, 2 * CELL_HEIGHT);
    }

    #[test]
    fn cursor_is_an_inverted_cell_and_moves_cleanly() {
        let fb = framebuffer(32, 10 * CELL_WIDTH as u32, 3 * CELL_HEIGHT as u32);
        let (mut r, mut canvas, mut screen) = setup(&fb);
        let damage = screen.take_damage();
        r.draw(&screen, &damage, &mut canvas[..]);
        let format = r.format();
        // The cursor at (0, 0) on a blank: the whole cell in the foreground.
        for (x, y) in [(0, 0), (CELL_WIDTH - 1, CELL_HEIGHT - 1)] {
            assert_eq!(pixel(&fb, &canvas, x, y), format.pack(DEFAULT_FG));
        }
        assert_eq!(
            pixel(&fb, &canvas, CELL_WIDTH, 0),
            format.pack(DEFAULT_BG),
            "the next cell is background"
        );
        screen.write(b"\x1b[2;3H");
        let damage = screen.take_damage();
        r.draw(&screen, &damage, &mut canvas[..]);
        assert_eq!(pixel(&fb, &canvas, 0, 0), format.pack(DEFAULT_BG), "erased");
        let (x, y) = (2 * CELL_WIDTH, CELL_HEIGHT);
        assert_eq!(pixel(&fb, &canvas, x, y), format.pack(DEFAULT_FG));
        // Hidden: nothing inverted anywhere.
        screen.write(b"\x1b[?25l");
        let damage = screen.take_damage();
        assert_eq!(damage.cursor, None);
        r.draw(&screen, &damage, &mut canvas[..]);
        assert_eq!(canvas, full(&fb, &screen));
        assert!(canvas
            .chunks(4)
            .all(|p| u32::from_le_bytes(p.try_into().unwrap()) != format.pack(DEFAULT_FG)));
    }

    #[test]
    fn glyph_pixels_blend_the_colours() {
        let fb = framebuffer(32, 4 * CELL_WIDTH as u32, CELL_HEIGHT as u32);
        let (mut r, mut canvas, mut screen) = setup(&fb);
        screen.write(b"\x1b[32;41mW\x1b[?25l");
        let damage = screen.take_damage();
        r.draw(&screen, &damage, &mut canvas[..]);
        let raster = glyph('W', false);
        let format = r.format();
        let mut inked = 0;
        for (y, line) in raster.iter().enumerate() {
            for (x, &a) in line.iter().enumerate() {
                let want = format.pack(blend(PALETTE[2], PALETTE[1], a));
                assert_eq!(pixel(&fb, &canvas, x, y), want, "({x}, {y})");
                inked += usize::from(a > 0);
            }
        }
        assert!(inked > 10, "W has ink");
    }

    #[test]
    fn cached_cells_are_drawn_as_fresh_ones() {
        // More distinct looks than the cache has slots, in long runs:
        // every cell must still be what drawing it afresh gives.
        let fb = framebuffer(32, 40 * CELL_WIDTH as u32, 10 * CELL_HEIGHT as u32);
        let (mut r, mut canvas, mut screen) = setup(&fb);
        for i in 0..390u32 {
            let c = char::from(b'!' + (i % 90) as u8);
            let text = alloc::format!("\x1b[38;5;{};48;5;{}m{c}", i % 256, (i / 7) % 256);
            screen.write(text.as_bytes());
        }
        screen.write(b"\x1b[?25l");
        let damage = screen.take_damage();
        r.draw(&screen, &damage, &mut canvas[..]);
        let format = r.format();
        let line = CELL_WIDTH * 4;
        let mut fresh = vec![0u8; CELL_HEIGHT * line];
        for row in 0..screen.rows() {
            for col in 0..screen.cols() {
                let cell = screen.cell(row, col).unwrap();
                draw_glyph(&mut fresh, cell.ch, Look::of(&cell.attrs, false), &format);
                for y in 0..CELL_HEIGHT {
                    let at = (row * CELL_HEIGHT + y) * fb.pitch as usize + col * line;
                    assert_eq!(
                        &canvas[at..at + line],
                        &fresh[y * line..(y + 1) * line],
                        "cell ({row}, {col}) line {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn colours_pack_by_the_masks() {
        let rgb565 = PixelFormat::of(&framebuffer(16, 8, 8));
        assert_eq!(rgb565.pack(Rgb(255, 255, 255)), 0xffff);
        assert_eq!(rgb565.pack(Rgb(255, 0, 0)), 0xf800);
        assert_eq!(rgb565.pack(Rgb(0, 255, 0)), 0x07e0);
        assert_eq!(rgb565.pack(Rgb(0, 0, 0x80)), 0x0010);
        let bgrx = PixelFormat::of(&framebuffer(32, 8, 8));
        assert_eq!(bgrx.pack(Rgb(1, 2, 3)), 0x0001_0203);
        let rgbx = PixelFormat {
            bytes: 4,
            masks: [(8, 0), (8, 8), (8, 16)],
        };
        assert_eq!(rgbx.pack(Rgb(1, 2, 3)), 0x0003_0201);
        assert_eq!(indexed(1), Rgb(170, 0, 0));
        assert_eq!(indexed(16), Rgb(0, 0, 0));
        assert_eq!(indexed(231), Rgb(255, 255, 255));
        assert_eq!(indexed(196), Rgb(255, 0, 0));
        assert_eq!(indexed(232), Rgb(8, 8, 8));
        assert_eq!(indexed(255), Rgb(238, 238, 238));
        assert_eq!(
            blend(Rgb(255, 0, 100), Rgb(0, 255, 100), 0),
            Rgb(0, 255, 100)
        );
        assert_eq!(
            blend(Rgb(255, 0, 100), Rgb(0, 255, 100), 255),
            Rgb(255, 0, 100)
        );
        assert_eq!(blend(Rgb(255, 0, 0), Rgb(0, 0, 0), 128), Rgb(128, 0, 0));
    }

    #[test]
    fn bold_and_reverse_pick_colours_and_face() {
        let bold = Attrs {
            bold: true,
            fg: Color::Indexed(1),
            ..Attrs::default()
        };
        let look = Look::of(&bold, false);
        assert_eq!(
            (look.fg, look.bg, look.bold),
            (PALETTE[9], DEFAULT_BG, true)
        );
        let reverse = Attrs {
            reverse: true,
            ..Attrs::default()
        };
        let look = Look::of(&reverse, false);
        assert_eq!((look.fg, look.bg), (DEFAULT_BG, DEFAULT_FG));
        let look = Look::of(&reverse, true);
        assert_eq!(
            (look.fg, look.bg),
            (DEFAULT_FG, DEFAULT_BG),
            "cursor on reverse"
        );
        assert_ne!(glyph('a', true), glyph('a', false), "a bold face");
        assert_eq!(
            glyph('\u{2603}', false),
            glyph('\u{fffd}', false),
            "missing → U+FFFD"
        );
        assert_eq!(glyph('a', false).len(), CELL_HEIGHT);
        assert!(glyph('a', false).iter().all(|l| l.len() == CELL_WIDTH));
    }

    #[test]
    fn bad_framebuffers_are_refused() {
        let fb = framebuffer(32, 100, 100);
        assert_eq!(
            Renderer::new(&FramebufferInfo { bpp: 8, ..fb }).unwrap_err(),
            FbconError::Geometry(FramebufferError::UnsupportedBpp(8))
        );
        assert_eq!(
            Renderer::new(&FramebufferInfo { height: 15, ..fb }).unwrap_err(),
            FbconError::TooSmall
        );
        // A huge framebuffer: the grid stops at the screen model's limit.
        let wide = FramebufferInfo {
            width: 8000,
            pitch: 32000,
            ..fb
        };
        assert_eq!(Renderer::new(&wide).unwrap().cols(), MAX_COLS);
    }

    /// A canvas that counts its calls.
    struct Counting {
        inner: Vec<u8>,
        writes: usize,
        copies: usize,
    }

    impl Canvas for Counting {
        fn write(&mut self, offset: usize, bytes: &[u8]) {
            self.writes += 1;
            self.inner[..].write(offset, bytes);
        }

        fn copy_within(&mut self, src: usize, dst: usize, len: usize) {
            self.copies += 1;
            Canvas::copy_within(&mut self.inner[..], src, dst, len);
        }
    }
}
