//! Typed registers: a register is its offset in a window plus, in its
//! type, its width (`u8`…`u64`) and what may be done with it
//! ([`ReadOnly`], [`WriteOnly`], [`ReadWrite`]) — writing a read-only
//! register does not compile. A [`Field`] is a run of bits inside a
//! register value, with checked encoding (a value too wide for its field
//! is an error, not silently cut). Pure: the encodings are host-tested.

use core::marker::PhantomData;

/// A register width: how many bytes, and the conversion to and from the
/// `u64` the accessors move.
pub trait Width: Copy + Eq + core::fmt::Debug {
    const BYTES: u64;
    fn to_u64(self) -> u64;
    /// The low bytes of `value`.
    fn from_u64(value: u64) -> Self;
    /// What a refused read returns: every bit set, as an absent device
    /// answers on the PC's buses.
    const ALL_ONES: Self;
}

macro_rules! width {
    ($t:ty) => {
        impl Width for $t {
            const BYTES: u64 = core::mem::size_of::<$t>() as u64;
            fn to_u64(self) -> u64 {
                self as u64
            }
            fn from_u64(value: u64) -> Self {
                value as $t
            }
            const ALL_ONES: Self = <$t>::MAX;
        }
    };
}
width!(u8);
width!(u16);
width!(u32);
width!(u64);

/// Access modes.
#[derive(Clone, Copy, Debug)]
pub struct ReadOnly;
#[derive(Clone, Copy, Debug)]
pub struct WriteOnly;
#[derive(Clone, Copy, Debug)]
pub struct ReadWrite;

/// Modes that allow reading.
pub trait Readable {}
/// Modes that allow writing.
pub trait Writable {}
impl Readable for ReadOnly {}
impl Readable for ReadWrite {}
impl Writable for WriteOnly {}
impl Writable for ReadWrite {}

/// A register of width `T` and mode `A` at `offset` bytes into its window.
#[derive(Debug)]
pub struct Reg<T, A> {
    offset: u64,
    _type: PhantomData<(T, A)>,
}

impl<T, A> Clone for Reg<T, A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, A> Copy for Reg<T, A> {}

impl<T: Width, A> Reg<T, A> {
    pub const fn new(offset: u64) -> Reg<T, A> {
        Reg {
            offset,
            _type: PhantomData,
        }
    }

    /// Its offset in the window.
    pub const fn offset(self) -> u64 {
        self.offset
    }

    /// The same register `bytes` further on (a second word of a wider
    /// field, the next element of a register array).
    pub const fn plus(self, bytes: u64) -> Reg<T, A> {
        Reg::new(self.offset + bytes)
    }

    /// Element `index` of an array of these registers starting here.
    pub const fn index(self, index: u64) -> Reg<T, A> {
        Reg::new(self.offset + index * T::BYTES)
    }
}

/// A value too wide for its field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldTooWide;

/// `width` bits at bit `shift` of a register value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    shift: u32,
    width: u32,
}

impl Field {
    /// Bits `shift .. shift + width` (of a 64-bit word at most).
    pub const fn new(shift: u32, width: u32) -> Field {
        assert!(width >= 1 && shift + width <= 64, "a field inside 64 bits");
        Field { shift, width }
    }

    /// A single bit.
    pub const fn bit(shift: u32) -> Field {
        Field::new(shift, 1)
    }

    /// The field's bits in place.
    pub const fn mask(self) -> u64 {
        (u64::MAX >> (64 - self.width)) << self.shift
    }

    /// The field's value in `word`.
    pub fn get<T: Width>(self, word: T) -> u64 {
        (word.to_u64() & self.mask()) >> self.shift
    }

    /// `word` with the field set to `value`; the other bits kept.
    pub fn set<T: Width>(self, word: T, value: u64) -> Result<T, FieldTooWide> {
        let placed = value.checked_shl(self.shift).ok_or(FieldTooWide)?;
        if placed >> self.shift != value || placed & !self.mask() != 0 {
            return Err(FieldTooWide);
        }
        let wide = (word.to_u64() & !self.mask()) | placed;
        if T::BYTES < 8 && wide >> (T::BYTES * 8) != 0 {
            return Err(FieldTooWide);
        }
        Ok(T::from_u64(wide))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_know_their_offsets() {
        const STATUS: Reg<u8, ReadWrite> = Reg::new(0x12);
        const CONFIG: Reg<u32, ReadOnly> = Reg::new(0x14);
        assert_eq!(STATUS.offset(), 0x12);
        assert_eq!(CONFIG.plus(4).offset(), 0x18);
        assert_eq!(CONFIG.index(3).offset(), 0x20);
        assert_eq!(<u16 as Width>::BYTES, 2);
        assert_eq!(<u32 as Width>::ALL_ONES, 0xffff_ffff);
        assert_eq!(u16::from_u64(0x1_2345), 0x2345, "the low bytes");
    }

    #[test]
    fn fields_encode_and_decode() {
        // The PIT's mode/command byte: channel 7:6, access 5:4, mode 3:1.
        let channel = Field::new(6, 2);
        let access = Field::new(4, 2);
        let mode = Field::new(1, 3);
        let mut command = 0u8;
        command = channel.set(command, 0).unwrap();
        command = access.set(command, 3).unwrap();
        command = mode.set(command, 0).unwrap();
        assert_eq!(command, 0x30, "channel 0, lo/hi, mode 0");
        assert_eq!(mode.set(command, 2).unwrap(), 0x34, "mode 2 kept the rest");
        assert_eq!(access.get(0x34u8), 3);
        assert_eq!(mode.get(0x34u8), 2);
        assert_eq!(Field::bit(9).mask(), 1 << 9);
        assert_eq!(Field::new(0, 64).mask(), u64::MAX);
    }

    #[test]
    fn too_wide_values_are_refused() {
        assert_eq!(Field::new(1, 3).set(0u8, 8), Err(FieldTooWide));
        assert_eq!(Field::bit(0).set(0u32, 2), Err(FieldTooWide));
        // Inside the field's 16 bits but past a byte register's 8.
        assert_eq!(Field::new(4, 8).set(0u8, 0xff), Err(FieldTooWide));
        assert_eq!(Field::new(4, 8).set(0u16, 0xff), Ok(0xff0));
    }
}
