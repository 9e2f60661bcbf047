//! `xargs`'s reading of its input: arguments separated by blanks and
//! newlines, with `'…'`, `"…"` and `\` quoting as POSIX xargs has it; and
//! the batching of arguments into command lines.

use alloc::string::String;
use alloc::vec::Vec;

/// An unterminated quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnmatchedQuote(pub char);

/// Splits `input` into xargs's arguments (or, with `delim`, at each
/// occurrence of it only — `-d '\n'`, `-0`).
pub fn split(input: &str, delim: Option<char>) -> Result<Vec<String>, UnmatchedQuote> {
    if let Some(d) = delim {
        let mut v: Vec<String> = input.split(d).map(String::from).collect();
        if v.last().is_some_and(|l| l.is_empty()) {
            v.pop();
        }
        return Ok(v);
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = input.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    out.push(core::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' | '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\n') | None => return Err(UnmatchedQuote(c)),
                        Some(x) => cur.push(x),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(x) = chars.next() {
                    cur.push(x);
                }
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Groups `args` into command lines of at most `max_args` arguments each
/// (`-n`), and at most `max_bytes` bytes of arguments (with their NULs).
pub fn batches(args: &[String], max_args: usize, max_bytes: usize) -> Vec<&[String]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, a) in args.iter().enumerate() {
        let len = a.len() + 1;
        let full = i - start >= max_args.max(1) || (i > start && bytes + len > max_bytes);
        if full {
            out.push(&args[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += len;
    }
    if start < args.len() {
        out.push(&args[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn v(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn splitting() {
        assert_eq!(split("a b\n  c\t\n", None).unwrap(), v(&["a", "b", "c"]));
        assert_eq!(
            split("'a b' \"c d\" e\\ f ''", None).unwrap(),
            v(&["a b", "c d", "e f", ""])
        );
        assert_eq!(split("'oops", None), Err(UnmatchedQuote('\'')));
        assert_eq!(split("a b\nc d\n", Some('\n')).unwrap(), v(&["a b", "c d"]));
        assert_eq!(split("", None).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn batching() {
        let a = v(&["1", "2", "3", "4", "5"]);
        let b = batches(&a, 2, 1000);
        assert_eq!(b.len(), 3);
        assert_eq!(b[2], &a[4..]);
        let b = batches(&a, 100, 4);
        assert_eq!(
            b.len(),
            3,
            "two one-byte arguments (four bytes with NULs) a line"
        );
        assert!(batches(&[], 3, 10).is_empty());
        let big = v(&["0123456789"]);
        assert_eq!(
            batches(&big, 3, 4).len(),
            1,
            "an argument longer than the limit still runs"
        );
    }
}
