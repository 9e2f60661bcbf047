//! The boot framebuffer's geometry: what the kernel copies from the
//! Limine framebuffer response into [`InitInfo`](super::InitInfo), what
//! `init` checks and passes to the console server as one argument word
//! (`framebuffer=<geometry>`, the manifest's `framebuffer` option), and
//! what the console server parses back.
//!
//! The text form is `<phys>:<width>x<height>:<pitch>:<bpp>:<r>/<g>/<b>`,
//! each colour `<mask size>@<mask shift>`, the address in hexadecimal:
//! `0x80000000:1280x800:5120:32:8@16/8@8/8@0`. [`FramebufferInfo::check`]
//! is the one validity rule, applied by both `init` (before it gives the
//! memory away) and [`FramebufferInfo::parse`].

use core::fmt;

/// A linear RGB framebuffer. All zeros means "none" (the loader gave no
/// framebuffer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct FramebufferInfo {
    /// Physical address of the first pixel.
    pub phys: u64,
    /// Visible pixels per line and lines.
    pub width: u32,
    pub height: u32,
    /// Bytes from one line to the next (at least `width` pixels).
    pub pitch: u32,
    /// Bits per pixel: 16, 24 or 32.
    pub bpp: u16,
    /// Each colour's bits in a pixel (little-endian): how many and where.
    pub red_mask_size: u8,
    pub red_mask_shift: u8,
    pub green_mask_size: u8,
    pub green_mask_shift: u8,
    pub blue_mask_size: u8,
    pub blue_mask_shift: u8,
    pub _reserved: u32,
}

const _: () = assert!(core::mem::size_of::<FramebufferInfo>() == 32);

/// Why a framebuffer's geometry is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramebufferError {
    /// The text form does not parse (a part is missing or not a number).
    Malformed,
    /// Width, height or pitch is zero.
    Empty,
    /// Not 16, 24 or 32 bits per pixel.
    UnsupportedBpp(u16),
    /// A line's bytes (`pitch`) hold fewer than `width` pixels.
    PitchTooSmall { pitch: u32, needs: u64 },
    /// `pitch * height` or its end address does not fit 64 bits.
    Overflow,
    /// A colour's mask is empty, wider than 8 bits, outside the pixel or
    /// overlaps another colour's (`'r'`, `'g'` or `'b'`).
    BadMask(char),
}

impl fmt::Display for FramebufferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FramebufferError::Malformed => write!(
                f,
                "not <phys>:<width>x<height>:<pitch>:<bpp>:<size>@<shift>/<..>/<..>"
            ),
            FramebufferError::Empty => write!(f, "zero width, height or pitch"),
            FramebufferError::UnsupportedBpp(bpp) => {
                write!(f, "{bpp} bits per pixel (16, 24 or 32 supported)")
            }
            FramebufferError::PitchTooSmall { pitch, needs } => {
                write!(f, "pitch {pitch} is less than a line's {needs} bytes")
            }
            FramebufferError::Overflow => write!(f, "its size or end overflows"),
            FramebufferError::BadMask(c) => write!(
                f,
                "the {c} mask is empty, wider than 8 bits, outside the pixel or overlapping"
            ),
        }
    }
}

impl FramebufferInfo {
    /// Whether the loader gave a framebuffer (the all-zero value is none).
    pub fn is_present(&self) -> bool {
        self.width != 0
    }

    /// Bytes per pixel (2, 3 or 4 once [`check`](Self::check)ed).
    pub fn bytes_per_pixel(&self) -> u32 {
        u32::from(self.bpp).div_ceil(8)
    }

    /// Bytes from the first pixel past the last line's end:
    /// `pitch * height`.
    pub fn len(&self) -> u64 {
        u64::from(self.pitch) * u64::from(self.height)
    }

    /// Whether it holds no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The page-aligned physical range it lies in, as (first address,
    /// pages): what `init` gives the memory server. `Overflow` if the end
    /// does not fit 64 bits.
    pub fn page_range(&self) -> Result<(u64, u64), FramebufferError> {
        const PAGE: u64 = super::PAGE_SIZE;
        let first = self.phys & !(PAGE - 1);
        let end = self
            .phys
            .checked_add(self.len().max(1))
            .and_then(|e| e.checked_add(PAGE - 1))
            .ok_or(FramebufferError::Overflow)?
            & !(PAGE - 1);
        Ok((first, (end - first) / PAGE))
    }

    /// Checks the geometry: nonzero sizes, a supported depth, a pitch
    /// that holds a line, masks inside the pixel and apart, and an end
    /// that fits 64 bits. The first problem found is the error.
    pub fn check(&self) -> Result<(), FramebufferError> {
        if self.width == 0 || self.height == 0 || self.pitch == 0 {
            return Err(FramebufferError::Empty);
        }
        if !matches!(self.bpp, 16 | 24 | 32) {
            return Err(FramebufferError::UnsupportedBpp(self.bpp));
        }
        let needs = u64::from(self.width) * u64::from(self.bytes_per_pixel());
        if u64::from(self.pitch) < needs {
            return Err(FramebufferError::PitchTooSmall {
                pitch: self.pitch,
                needs,
            });
        }
        self.page_range()?;
        let mut used = 0u32;
        for (name, size, shift) in [
            ('r', self.red_mask_size, self.red_mask_shift),
            ('g', self.green_mask_size, self.green_mask_shift),
            ('b', self.blue_mask_size, self.blue_mask_shift),
        ] {
            let fits = (1..=8).contains(&size) && u16::from(size) + u16::from(shift) <= self.bpp;
            if !fits {
                return Err(FramebufferError::BadMask(name));
            }
            let mask = ((1u32 << size) - 1) << shift;
            if used & mask != 0 {
                return Err(FramebufferError::BadMask(name));
            }
            used |= mask;
        }
        Ok(())
    }

    /// Parses the text form (see the module's documentation) and
    /// [`check`](Self::check)s it: `Malformed` if it does not parse,
    /// else `check`'s error.
    pub fn parse(text: &str) -> Result<FramebufferInfo, FramebufferError> {
        let bad = FramebufferError::Malformed;
        let mut parts = text.split(':');
        let mut next = || parts.next().ok_or(bad);
        let phys = next()?.strip_prefix("0x").ok_or(bad)?;
        let phys = u64::from_str_radix(phys, 16).map_err(|_| bad)?;
        let (width, height) = next()?.split_once('x').ok_or(bad)?;
        let (width, height) = (decimal(width)?, decimal(height)?);
        let pitch = decimal(next()?)?;
        let bpp = u16::try_from(decimal(next()?)?).map_err(|_| bad)?;
        let mut colours = next()?.split('/');
        let mut colour = || -> Result<(u8, u8), FramebufferError> {
            let (size, shift) = colours.next().ok_or(bad)?.split_once('@').ok_or(bad)?;
            let byte = |t: &str| u8::try_from(decimal(t)?).map_err(|_| bad);
            Ok((byte(size)?, byte(shift)?))
        };
        let (red, green, blue) = (colour()?, colour()?, colour()?);
        if colours.next().is_some() || parts.next().is_some() {
            return Err(bad);
        }
        let info = FramebufferInfo {
            phys,
            width,
            height,
            pitch,
            bpp,
            red_mask_size: red.0,
            red_mask_shift: red.1,
            green_mask_size: green.0,
            green_mask_shift: green.1,
            blue_mask_size: blue.0,
            blue_mask_shift: blue.1,
            _reserved: 0,
        };
        info.check()?;
        Ok(info)
    }
}

/// A decimal `u32` (digits only: no sign, no spaces).
fn decimal(text: &str) -> Result<u32, FramebufferError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FramebufferError::Malformed);
    }
    text.parse().map_err(|_| FramebufferError::Malformed)
}

/// The text form [`FramebufferInfo::parse`] reads.
impl fmt::Display for FramebufferInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:#x}:{}x{}:{}:{}:{}@{}/{}@{}/{}@{}",
            self.phys,
            self.width,
            self.height,
            self.pitch,
            self.bpp,
            self.red_mask_size,
            self.red_mask_shift,
            self.green_mask_size,
            self.green_mask_shift,
            self.blue_mask_size,
            self.blue_mask_shift
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    /// QEMU's std VGA under OVMF: 1280x800, 32 bpp, BGRX.
    fn qemu() -> FramebufferInfo {
        FramebufferInfo {
            phys: 0x8000_0000,
            width: 1280,
            height: 800,
            pitch: 5120,
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

    #[test]
    fn text_form_round_trips() {
        let fb = qemu();
        let text = fb.to_string();
        assert_eq!(text, "0x80000000:1280x800:5120:32:8@16/8@8/8@0");
        assert_eq!(FramebufferInfo::parse(&text), Ok(fb));
        let rgb565 = FramebufferInfo {
            bpp: 16,
            pitch: 2560,
            red_mask_size: 5,
            red_mask_shift: 11,
            green_mask_size: 6,
            green_mask_shift: 5,
            blue_mask_size: 5,
            blue_mask_shift: 0,
            ..fb
        };
        assert_eq!(FramebufferInfo::parse(&rgb565.to_string()), Ok(rgb565));
        let rgb24 = FramebufferInfo {
            bpp: 24,
            pitch: 3840,
            ..fb
        };
        assert_eq!(rgb24.check(), Ok(()));
        assert_eq!(rgb24.bytes_per_pixel(), 3);
    }

    #[test]
    fn geometry_is_checked() {
        let fb = qemu();
        assert_eq!(fb.check(), Ok(()));
        assert_eq!(fb.len(), 5120 * 800);
        assert_eq!(fb.page_range(), Ok((0x8000_0000, 1000)));
        let odd = FramebufferInfo {
            phys: 0x8000_0010,
            ..fb
        };
        assert_eq!(odd.page_range(), Ok((0x8000_0000, 1001)));
        let cases = [
            (FramebufferInfo { width: 0, ..fb }, FramebufferError::Empty),
            (FramebufferInfo { height: 0, ..fb }, FramebufferError::Empty),
            (FramebufferInfo { pitch: 0, ..fb }, FramebufferError::Empty),
            (
                FramebufferInfo { bpp: 8, ..fb },
                FramebufferError::UnsupportedBpp(8),
            ),
            (
                FramebufferInfo { bpp: 31, ..fb },
                FramebufferError::UnsupportedBpp(31),
            ),
            (
                FramebufferInfo { pitch: 5116, ..fb },
                FramebufferError::PitchTooSmall {
                    pitch: 5116,
                    needs: 5120,
                },
            ),
            (
                FramebufferInfo {
                    phys: u64::MAX - 4095,
                    ..fb
                },
                FramebufferError::Overflow,
            ),
            (
                FramebufferInfo {
                    red_mask_size: 0,
                    ..fb
                },
                FramebufferError::BadMask('r'),
            ),
            (
                FramebufferInfo {
                    green_mask_size: 9,
                    ..fb
                },
                FramebufferError::BadMask('g'),
            ),
            (
                FramebufferInfo {
                    blue_mask_shift: 8,
                    ..fb
                },
                FramebufferError::BadMask('b'),
            ),
            (
                FramebufferInfo {
                    red_mask_shift: 28,
                    ..fb
                },
                FramebufferError::BadMask('r'),
            ),
        ];
        for (bad, why) in cases {
            assert_eq!(bad.check(), Err(why), "{bad:?}");
            assert_eq!(FramebufferInfo::parse(&bad.to_string()), Err(why));
            assert!(!why.to_string().is_empty());
        }
        // The largest sizes the fields allow do not overflow the length.
        let huge = FramebufferInfo {
            width: u32::MAX / 4,
            height: u32::MAX,
            pitch: u32::MAX,
            phys: 0,
            ..fb
        };
        assert_eq!(huge.check(), Ok(()));
    }

    #[test]
    fn malformed_text_is_refused() {
        for bad in [
            "",
            "0x80000000",
            "80000000:1280x800:5120:32:8@16/8@8/8@0",
            "0x80000000:1280:5120:32:8@16/8@8/8@0",
            "0x80000000:1280x800:5120:32:8@16/8@8",
            "0x80000000:1280x800:5120:32:8@16/8@8/8@0/8@24",
            "0x80000000:1280x800:5120:32:8@16/8@8/8@0:extra",
            "0x80000000:1280x800:-5120:32:8@16/8@8/8@0",
            "0x80000000:1280x800:5120:32:8@16/8@8/8@0 ",
            "0x80000000:1280x800:5120:99999:8@16/8@8/8@0",
            "0x80000000:1280x800:5120:32:300@16/8@8/8@0",
            "0x80000000:1280x800:99999999999:32:8@16/8@8/8@0",
            "0xg0000000:1280x800:5120:32:8@16/8@8/8@0",
        ] {
            assert_eq!(
                FramebufferInfo::parse(bad),
                Err(FramebufferError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn all_zero_is_absent() {
        assert!(!FramebufferInfo::default().is_present());
        assert!(qemu().is_present());
    }
}
