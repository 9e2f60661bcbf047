//! Hand-made archive bytes for the tests: entries built field by field,
//! so a test can put any value — legal or not — in any field.
#![allow(dead_code)]

use cpio::header::{Format, Header, TRAILER};

/// One entry's header fields, with defaults for a small regular file.
#[derive(Clone)]
pub struct Raw {
    pub header: Header,
    pub name: Vec<u8>,
    pub data: Vec<u8>,
}

impl Raw {
    /// A regular file `name` holding `data`, mode 0644, one link.
    pub fn file(name: &str, data: &[u8]) -> Raw {
        Raw {
            header: Header {
                format: Format::Newc,
                ino: 1,
                mode: 0o100_644,
                uid: 0,
                gid: 0,
                nlink: 1,
                mtime: 0,
                filesize: data.len() as u32,
                dev_major: 0,
                dev_minor: 0,
                rdev_major: 0,
                rdev_minor: 0,
                namesize: name.len() as u32 + 1,
                check: 0,
            },
            name: [name.as_bytes(), b"\0"].concat(),
            data: data.to_vec(),
        }
    }

    /// An entry of type and permission `mode` with no data.
    pub fn node(name: &str, mode: u32) -> Raw {
        let mut raw = Raw::file(name, b"");
        raw.header.mode = mode;
        raw
    }

    pub fn trailer() -> Raw {
        let mut raw = Raw::file(TRAILER, b"");
        raw.header.mode = 0;
        raw.header.ino = 0;
        raw
    }

    /// The entry's bytes: header, name, padding, data, padding (zeros).
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = self.header.encode().to_vec();
        out.extend_from_slice(&self.name);
        pad(&mut out);
        out.extend_from_slice(&self.data);
        pad(&mut out);
        out
    }
}

pub fn pad(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// The entries' bytes one after another.
pub fn archive(entries: &[Raw]) -> Vec<u8> {
    entries.iter().flat_map(Raw::bytes).collect()
}

/// A small deterministic generator (xorshift64*), so failures replay.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
