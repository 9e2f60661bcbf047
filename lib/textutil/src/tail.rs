//! What `tail` shows of its input: the last N lines or bytes, or with
//! `+N` everything from the N-th line or byte on.

/// `tail`'s count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count {
    pub n: usize,
    /// `-c`: bytes, not lines.
    pub bytes: bool,
    /// `+N`: from the N-th (1-based) on, not the last N.
    pub from_start: bool,
}

/// The part of `data` that `tail` with `c` prints.
pub fn select(data: &[u8], c: Count) -> &[u8] {
    let newlines = || data.iter().enumerate().filter(|&(_, &b)| b == b'\n');
    if c.from_start {
        let skip = c.n.saturating_sub(1);
        let start = match (c.bytes, skip) {
            (true, _) => skip.min(data.len()),
            (false, 0) => 0,
            (false, _) => newlines().nth(skip - 1).map_or(data.len(), |(i, _)| i + 1),
        };
        return &data[start..];
    }
    if c.bytes {
        return &data[data.len().saturating_sub(c.n)..];
    }
    if c.n == 0 {
        return &[];
    }
    // A final newline ends the last line; it does not start another.
    let body = &data[..data.len() - usize::from(data.ends_with(b"\n"))];
    let start = body
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .rev()
        .nth(c.n - 1)
        .map_or(0, |(i, _)| i + 1);
    &data[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(data: &str, n: usize, bytes: bool, from_start: bool) -> &str {
        let c = Count {
            n,
            bytes,
            from_start,
        };
        core::str::from_utf8(select(data.as_bytes(), c)).unwrap()
    }

    #[test]
    fn last_lines_and_bytes() {
        assert_eq!(t("a\nb\nc\n", 2, false, false), "b\nc\n");
        assert_eq!(t("a\nb\nc", 2, false, false), "b\nc");
        assert_eq!(t("a\nb\n", 5, false, false), "a\nb\n");
        assert_eq!(t("a\nb\n", 0, false, false), "");
        assert_eq!(t("hello", 3, true, false), "llo");
        assert_eq!(t("", 3, false, false), "");
    }

    #[test]
    fn from_the_nth_on_as_gnu_tail_plus() {
        assert_eq!(t("a\nb\nc\n", 2, false, true), "b\nc\n");
        assert_eq!(t("a\nb\nc\n", 1, false, true), "a\nb\nc\n");
        assert_eq!(t("a\nb\nc\n", 0, false, true), "a\nb\nc\n");
        assert_eq!(t("a\nb\nc\n", 9, false, true), "");
        assert_eq!(t("hello", 2, true, true), "ello");
        assert_eq!(t("hello", 9, true, true), "");
    }
}
