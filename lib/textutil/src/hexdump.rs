//! `hexdump -C`: the canonical hex+ASCII display, sixteen bytes a line,
//! repeated lines folded into `*` as hexdump does.

use alloc::format;
use alloc::string::String;

/// Formats a stream chunk by chunk; keeps the offset and the fold state.
#[derive(Debug, Default)]
pub struct Canonical {
    offset: u64,
    last: Option<[u8; 16]>,
    folding: bool,
    pending: alloc::vec::Vec<u8>,
}

fn line(offset: u64, bytes: &[u8]) -> String {
    let mut hex = String::new();
    for i in 0..16 {
        if i == 8 {
            hex.push(' ');
        }
        match bytes.get(i) {
            Some(b) => hex.push_str(&format!(" {b:02x}")),
            None => hex.push_str("   "),
        }
    }
    let text: String = bytes
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    format!("{offset:08x} {hex}  |{text}|\n")
}

impl Canonical {
    /// The lines `data` completes (whole sixteen-byte lines only).
    pub fn feed(&mut self, data: &[u8]) -> String {
        self.pending.extend_from_slice(data);
        let mut out = String::new();
        let whole = self.pending.len() / 16 * 16;
        for chunk in self.pending[..whole].chunks(16) {
            let row: [u8; 16] = chunk.try_into().expect("sixteen bytes");
            if self.last == Some(row) {
                if !self.folding {
                    out.push_str("*\n");
                    self.folding = true;
                }
            } else {
                out.push_str(&line(self.offset, chunk));
                self.folding = false;
                self.last = Some(row);
            }
            self.offset += 16;
        }
        self.pending.drain(..whole);
        out
    }

    /// The last partial line and the final offset.
    pub fn finish(mut self) -> String {
        let mut out = String::new();
        if !self.pending.is_empty() {
            out.push_str(&line(self.offset, &self.pending));
            self.offset += self.pending.len() as u64;
        }
        if self.offset > 0 {
            out.push_str(&format!("{:08x}\n", self.offset));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hexdump_c() {
        let mut c = Canonical::default();
        let mut out = c.feed(b"hello, world\n");
        out += &c.finish();
        assert_eq!(
            out,
            "00000000  68 65 6c 6c 6f 2c 20 77  6f 72 6c 64 0a           |hello, world.|\n0000000d\n"
        );
    }

    #[test]
    fn folds_repeats_across_chunks() {
        let mut c = Canonical::default();
        let mut out = c.feed(&[0u8; 20]);
        out += &c.feed(&[0u8; 28]);
        out += &c.feed(b"A");
        out += &c.finish();
        assert_eq!(
            out,
            "00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n*\n00000030  41                                                |A|\n00000031\n"
        );
    }

    #[test]
    fn empty_input_prints_nothing() {
        assert_eq!(Canonical::default().finish(), "");
    }
}
