//! Little-endian field access for on-disk structures. Every access is
//! bounds-checked: a read past the end of a slice yields 0 and a write
//! past it is dropped, so a field offset computed from a corrupt value can
//! never panic. Callers validate offsets first; this is the last fence.

/// Reads the little-endian `u16` at `off`, or 0 if it does not fit.
pub(crate) fn get16(b: &[u8], off: usize) -> u16 {
    off.checked_add(2)
        .and_then(|end| b.get(off..end))
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_le_bytes)
}

/// Reads the little-endian `u32` at `off`, or 0 if it does not fit.
pub(crate) fn get32(b: &[u8], off: usize) -> u32 {
    off.checked_add(4)
        .and_then(|end| b.get(off..end))
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

/// Writes `v` little-endian at `off`; dropped if it does not fit.
pub(crate) fn put16(b: &mut [u8], off: usize, v: u16) {
    if let Some(s) = off.checked_add(2).and_then(|end| b.get_mut(off..end)) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

/// Writes `v` little-endian at `off`; dropped if it does not fit.
pub(crate) fn put32(b: &mut [u8], off: usize, v: u32) {
    if let Some(s) = off.checked_add(4).and_then(|end| b.get_mut(off..end)) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

/// Reads the byte at `off`, or 0.
pub(crate) fn get8(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

/// Writes the byte at `off`; dropped if out of range.
pub(crate) fn put8(b: &mut [u8], off: usize, v: u8) {
    if let Some(x) = b.get_mut(off) {
        *x = v;
    }
}
