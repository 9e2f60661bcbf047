//! The rule every access through this crate is checked against: `size`
//! bytes at `offset` lie inside a window of `len` bytes and are aligned
//! to `size` (a device register, like a CPU word, is accessed whole).
//! An access that breaks it never reaches the hardware.

/// Why an access was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessError {
    /// Some of its bytes are past the window's end.
    OutOfBounds,
    /// Its offset is not a multiple of its width.
    Misaligned,
}

impl core::fmt::Display for AccessError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            AccessError::OutOfBounds => "access past the end of the window",
            AccessError::Misaligned => "misaligned access",
        })
    }
}

/// Checks `size` bytes at `offset` of a `len`-byte window, aligned to
/// `align` (a power of two, or 1 for byte copies).
pub fn check(len: u64, offset: u64, size: u64, align: u64) -> Result<(), AccessError> {
    let end = offset.checked_add(size).ok_or(AccessError::OutOfBounds)?;
    if end > len {
        return Err(AccessError::OutOfBounds);
    }
    if align > 1 && !offset.is_multiple_of(align) {
        return Err(AccessError::Misaligned);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_and_aligned_passes() {
        assert_eq!(check(0x80, 0x12, 1, 1), Ok(()));
        assert_eq!(check(0x80, 0x7c, 4, 4), Ok(()));
        assert_eq!(check(4096, 0, 4096, 1), Ok(()));
        assert_eq!(check(8, 8, 0, 1), Ok(()), "empty at the end");
    }

    #[test]
    fn past_the_end_or_wrapping_is_refused() {
        assert_eq!(check(0x80, 0x7e, 4, 2), Err(AccessError::OutOfBounds));
        assert_eq!(check(0x80, 0x80, 1, 1), Err(AccessError::OutOfBounds));
        assert_eq!(check(16, u64::MAX, 2, 1), Err(AccessError::OutOfBounds));
    }

    #[test]
    fn misaligned_is_refused() {
        assert_eq!(check(0x80, 0x13, 2, 2), Err(AccessError::Misaligned));
        assert_eq!(check(0x80, 0x06, 4, 4), Err(AccessError::Misaligned));
        assert_eq!(check(0x80, 0x04, 8, 8), Err(AccessError::Misaligned));
    }
}
