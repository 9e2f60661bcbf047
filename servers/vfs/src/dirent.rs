//! `struct linux_dirent64` records, byte for byte: `d_ino` (u64), `d_off`
//! (i64, the position after this entry), `d_reclen` (u16), `d_type` (u8),
//! the name and a NUL, padded to a multiple of 8 bytes.

use alloc::vec::Vec;

/// Offset of `d_name` in the record.
pub const DIRENT64_NAME_OFFSET: usize = 19;

/// The length of the record for a name of `name_len` bytes.
pub const fn dirent64_reclen(name_len: usize) -> usize {
    (DIRENT64_NAME_OFFSET + name_len + 1 + 7) & !7
}

/// Appends a record to `out` if it stays within `limit` bytes; returns
/// whether it did.
pub fn push_dirent(
    out: &mut Vec<u8>,
    limit: usize,
    ino: u64,
    off: u64,
    dtype: u8,
    name: &[u8],
) -> bool {
    let reclen = dirent64_reclen(name.len());
    if out.len() + reclen > limit {
        return false;
    }
    out.extend_from_slice(&ino.to_le_bytes());
    out.extend_from_slice(&off.to_le_bytes());
    out.extend_from_slice(&(reclen as u16).to_le_bytes());
    out.push(dtype);
    out.extend_from_slice(name);
    out.resize(out.len() + reclen - DIRENT64_NAME_OFFSET - name.len(), 0);
    true
}

/// One record read back from a buffer (tests and the libsys client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirent64 {
    pub ino: u64,
    pub off: u64,
    pub reclen: u16,
    pub dtype: u8,
    pub name: Vec<u8>,
}

/// Parses the records of a `getdents64` buffer; `None` if malformed.
pub fn parse_dirents(mut buf: &[u8]) -> Option<Vec<Dirent64>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        if buf.len() < DIRENT64_NAME_OFFSET {
            return None;
        }
        let ino = u64::from_le_bytes(buf[0..8].try_into().ok()?);
        let off = u64::from_le_bytes(buf[8..16].try_into().ok()?);
        let reclen = u16::from_le_bytes(buf[16..18].try_into().ok()?);
        let r = reclen as usize;
        if r < DIRENT64_NAME_OFFSET + 1 || r > buf.len() || !r.is_multiple_of(8) {
            return None;
        }
        let name_area = &buf[DIRENT64_NAME_OFFSET..r];
        let len = name_area.iter().position(|&b| b == 0)?;
        out.push(Dirent64 {
            ino,
            off,
            reclen,
            dtype: buf[18],
            name: name_area[..len].to_vec(),
        });
        buf = &buf[r..];
    }
    Some(out)
}
