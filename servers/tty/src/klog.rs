//! The kernel log records the terminal server writes to the console:
//! what `log_read` returns (`level,seq,usec,-;text`, one record a line,
//! as Linux's `/dev/kmsg`) taken apart without copying.

use alloc::vec::Vec;
use core::ops::Range;

/// One record of a `log_read` buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The sequence number (`log_read`'s `since` for the next one is this + 1).
    pub seq: u64,
    /// Linux's level: 0 `emerg` … 7 `debug`.
    pub level: u8,
    /// Where the text is in the buffer.
    pub text: Range<usize>,
}

/// The records in `buffer`, in order; lines that are not records (no
/// `;`, a level or sequence number that is not a number) are skipped.
pub fn parse_records(buffer: &[u8]) -> Vec<Record> {
    let mut records = Vec::new();
    let mut start = 0;
    for line in buffer.split(|&b| b == b'\n') {
        let at = start;
        start += line.len() + 1;
        let Some(semi) = line.iter().position(|&b| b == b';') else {
            continue;
        };
        let Ok(head) = core::str::from_utf8(&line[..semi]) else {
            continue;
        };
        let mut fields = head.split(',');
        let level = fields.next().and_then(|l| l.parse::<u8>().ok());
        let seq = fields.next().and_then(|s| s.parse::<u64>().ok());
        if let (Some(level), Some(seq)) = (level, seq) {
            let text = at + semi + 1..at + line.len();
            records.push(Record { seq, level, text });
        }
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_split_and_their_text_found() {
        let buffer = b"6,41,1000,-;tty[5]: hello\n3,42,1200,-;an error; with a semicolon\n";
        let records = parse_records(buffer);
        assert_eq!(records.len(), 2);
        assert_eq!((records[0].seq, records[0].level), (41, 6));
        assert_eq!(&buffer[records[0].text.clone()], b"tty[5]: hello");
        assert_eq!((records[1].seq, records[1].level), (42, 3));
        assert_eq!(
            &buffer[records[1].text.clone()],
            b"an error; with a semicolon"
        );
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let buffer = b"no semicolon\nx,1,2,-;bad level\n6,y,2,-;bad seq\n\n7,9,0,-;\n";
        let records = parse_records(buffer);
        assert_eq!(records.len(), 1);
        assert_eq!((records[0].seq, records[0].level), (9, 7));
        assert!(records[0].text.is_empty());
    }
}
