//! Reading the guest's framebuffer console from a QEMU `screendump`: the
//! PPM it writes is decoded ([`Image::from_ppm`]) and searched for text
//! drawn as the tty server's renderer draws it ([`Image::find_text`]):
//! glyphs of the `noto-sans-mono-bitmap` crate (16-pixel regular Noto
//! Sans Mono, 7×16 cells from the top-left corner), the default light
//! grey blended over black by each glyph pixel's intensity. The
//! expected pixels are made here, independently of the guest's code,
//! with the same crate and the blend rule `servers/tty/src/fbcon.rs`
//! documents; a match must be pixel-exact.

use noto_sans_mono_bitmap::{get_raster, get_raster_width, FontWeight, RasterHeight};

/// A cell of the console, in pixels.
pub const CELL_WIDTH: usize = get_raster_width(FontWeight::Regular, RasterHeight::Size16);
pub const CELL_HEIGHT: usize = RasterHeight::Size16.val();
/// The console's default colours (`fbcon::DEFAULT_FG`, `DEFAULT_BG`).
pub const FG: [u8; 3] = [170, 170, 170];
pub const BG: [u8; 3] = [0, 0, 0];

/// An RGB picture, 8 bits a channel, rows top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    /// `width * height` pixels, row by row.
    pub pixels: Vec<[u8; 3]>,
}

/// The next header field of a PPM (whitespace and `#` comments skipped)
/// and what follows it.
fn ppm_field(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut rest = bytes;
    loop {
        match rest.first()? {
            b'#' => {
                let end = rest.iter().position(|&b| b == b'\n')?;
                rest = &rest[end..];
            }
            b if b.is_ascii_whitespace() => rest = &rest[1..],
            _ => break,
        }
    }
    let end = rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    let value = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
    Some((value, &rest[end..]))
}

impl Image {
    /// A picture of `width` × `height` in `fill`.
    pub fn new(width: usize, height: usize, fill: [u8; 3]) -> Image {
        Image {
            width,
            height,
            pixels: vec![fill; width * height],
        }
    }

    /// Decodes a binary PPM (`P6`, maxval 255), as QEMU's `screendump`
    /// writes. Says what is wrong: not P6, a bad header, a maxval other
    /// than 255, or fewer pixel bytes than the header promises (QEMU has
    /// not finished writing).
    pub fn from_ppm(bytes: &[u8]) -> Result<Image, String> {
        let rest = bytes.strip_prefix(b"P6").ok_or("not a binary PPM (P6)")?;
        let (width, rest) = ppm_field(rest).ok_or("PPM: no width")?;
        let (height, rest) = ppm_field(rest).ok_or("PPM: no height")?;
        let (maxval, rest) = ppm_field(rest).ok_or("PPM: no maxval")?;
        if maxval != 255 {
            return Err(format!("PPM: maxval {maxval}, not 255"));
        }
        // One whitespace byte, then the pixels.
        let data = rest.get(1..).ok_or("PPM: no pixel data")?;
        let want = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(3))
            .ok_or("PPM: size overflows")?;
        if data.len() < want {
            return Err(format!(
                "PPM: {} of {want} pixel bytes ({width}x{height})",
                data.len()
            ));
        }
        let pixels = data[..want]
            .chunks_exact(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        Ok(Image {
            width,
            height,
            pixels,
        })
    }

    /// Encodes it as a binary PPM.
    pub fn to_ppm(&self) -> Vec<u8> {
        let mut out = format!("P6\n{} {}\n255\n", self.width, self.height).into_bytes();
        out.extend(self.pixels.iter().flatten());
        out
    }

    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        self.pixels[y * self.width + x]
    }

    /// The console's grid on it: whole cells from the top-left corner.
    pub fn grid(&self) -> (usize, usize) {
        (self.width / CELL_WIDTH, self.height / CELL_HEIGHT)
    }

    /// Draws `text` at cell (`row`, `col`) as the console does, in the
    /// default colours (for tests of the search).
    pub fn draw_text(&mut self, row: usize, col: usize, text: &str) {
        for (i, c) in text.chars().enumerate() {
            let glyph = expected_glyph(c);
            for (y, line) in glyph.iter().enumerate() {
                for (x, &p) in line.iter().enumerate() {
                    let (px, py) = ((col + i) * CELL_WIDTH + x, row * CELL_HEIGHT + y);
                    if px < self.width && py < self.height {
                        self.pixels[py * self.width + px] = p;
                    }
                }
            }
        }
    }

    /// Where `text` is drawn, pixel-exact, in the default colours at a
    /// cell position: (row, column) of its first character, the first
    /// match from the top.
    pub fn find_text(&self, text: &str) -> Option<(usize, usize)> {
        let glyphs: Vec<Vec<Vec<[u8; 3]>>> = text.chars().map(expected_glyph).collect();
        let (cols, rows) = self.grid();
        let len = glyphs.len();
        if len == 0 || len > cols {
            return None;
        }
        for row in 0..rows {
            for col in 0..=cols - len {
                let matches = glyphs.iter().enumerate().all(|(i, glyph)| {
                    glyph.iter().enumerate().all(|(y, line)| {
                        let start = (row * CELL_HEIGHT + y) * self.width + (col + i) * CELL_WIDTH;
                        self.pixels[start..start + CELL_WIDTH] == line[..]
                    })
                });
                if matches {
                    return Some((row, col));
                }
            }
        }
        None
    }
}

/// The pixels of `c` in the default colours: [`CELL_HEIGHT`] lines of
/// [`CELL_WIDTH`]. A character the font lacks is U+FFFD, as the guest
/// draws it.
pub fn expected_glyph(c: char) -> Vec<Vec<[u8; 3]>> {
    let raster = get_raster(c, FontWeight::Regular, RasterHeight::Size16)
        .or_else(|| get_raster('\u{fffd}', FontWeight::Regular, RasterHeight::Size16))
        .expect("the font has U+FFFD");
    raster
        .raster()
        .iter()
        .map(|line| {
            line.iter()
                .map(|&a| {
                    let mix = |f: u8, b: u8| {
                        let (f, b, a) = (u32::from(f), u32::from(b), u32::from(a));
                        ((b * (255 - a) + f * a + 127) / 255) as u8
                    };
                    [mix(FG[0], BG[0]), mix(FG[1], BG[1]), mix(FG[2], BG[2])]
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_drawn_is_found_where_it_is() {
        let mut image = Image::new(40 * CELL_WIDTH + 3, 10 * CELL_HEIGHT + 5, BG);
        image.draw_text(3, 5, "$ echo hello");
        image.draw_text(4, 0, "hello");
        let decoded = Image::from_ppm(&image.to_ppm()).unwrap();
        assert_eq!(decoded, image);
        assert_eq!(decoded.find_text("echo hello"), Some((3, 7)));
        assert_eq!(
            decoded.find_text("hello"),
            Some((3, 12)),
            "the first from the top"
        );
        assert_eq!(decoded.find_text("hellp"), None);
        assert_eq!(decoded.find_text(""), None);
        assert_eq!(
            decoded.find_text(&"x".repeat(41)),
            None,
            "wider than the grid"
        );
    }

    #[test]
    fn one_pixel_off_is_no_match() {
        let mut image = Image::new(20 * CELL_WIDTH, 2 * CELL_HEIGHT, BG);
        image.draw_text(1, 2, "exact");
        let (x, y) = (2 * CELL_WIDTH + 3, CELL_HEIGHT + 8);
        let p = image.pixel(x, y);
        image.pixels[y * image.width + x] = [p[0] ^ 1, p[1], p[2]];
        assert_eq!(image.find_text("exact"), None);
        assert_eq!(image.find_text("xact"), Some((1, 3)));
        // Shifted by a pixel: not at a cell position.
        let mut shifted = Image::new(20 * CELL_WIDTH, 2 * CELL_HEIGHT, BG);
        shifted.draw_text(0, 0, " exact");
        let moved = Image {
            pixels: shifted.pixels.iter().skip(1).copied().chain([BG]).collect(),
            ..shifted
        };
        assert_eq!(moved.find_text("exact"), None);
    }

    #[test]
    fn glyphs_have_ink_and_blanks_do_not() {
        let a = expected_glyph('a');
        assert_eq!((a.len(), a[0].len()), (CELL_HEIGHT, CELL_WIDTH));
        assert!(a.iter().flatten().any(|&p| p[0] > 100), "ink");
        assert!(expected_glyph(' ').iter().flatten().all(|&p| p == BG));
        assert_eq!(expected_glyph('\u{2603}'), expected_glyph('\u{fffd}'));
    }

    #[test]
    fn bad_ppms_say_why() {
        assert!(Image::from_ppm(b"P3\n1 1\n255\n0 0 0").is_err());
        assert!(Image::from_ppm(b"P6\n2 2\n65535\n")
            .unwrap_err()
            .contains("maxval"));
        let short = Image::from_ppm(b"P6\n2 2\n255\n\0\0\0").unwrap_err();
        assert!(short.contains("3 of 12"), "{short}");
        let commented = b"P6\n# by qemu\n1 1\n255\n\x01\x02\x03";
        assert_eq!(Image::from_ppm(commented).unwrap().pixels, vec![[1, 2, 3]]);
    }
}
