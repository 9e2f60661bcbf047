//! `sort` and `uniq`: ordering lines by keys, and folding repeats.

use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

/// `sort`'s options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SortOptions {
    /// `-r`
    pub reverse: bool,
    /// `-n`: by the leading number (a line without one is 0).
    pub numeric: bool,
    /// `-f`: letters compared without case.
    pub fold: bool,
    /// `-u`: of equal lines (by key) only the first.
    pub unique: bool,
    /// `-k N`: compare from the N-th field (1-based) to the end of line.
    pub key: Option<usize>,
    /// `-t C`: fields separated by C (default: runs of blanks).
    pub separator: Option<char>,
}

/// The part of `line` the comparison looks at.
fn key<'a>(line: &'a str, o: &SortOptions) -> &'a str {
    let Some(k) = o.key.filter(|&k| k > 1) else {
        return line;
    };
    let mut rest = line;
    for _ in 1..k {
        let next = match o.separator {
            Some(sep) => rest.find(sep).map(|i| &rest[i + sep.len_utf8()..]),
            None => {
                let t = rest.trim_start_matches([' ', '\t']);
                t.find([' ', '\t']).map(|i| &t[i..])
            }
        };
        match next {
            Some(n) => rest = n,
            None => return "",
        }
    }
    rest
}

/// The leading number of `s` (`-12.5abc` → -12.5), as `sort -n` reads it.
fn leading_number(s: &str) -> f64 {
    let s = s.trim_start();
    let mut end = 0;
    for (i, c) in s.char_indices() {
        let ok = c.is_ascii_digit() || (i == 0 && c == '-') || (c == '.' && !s[..i].contains('.'));
        if !ok {
            break;
        }
        end = i + c.len_utf8();
    }
    s[..end].parse().unwrap_or(0.0)
}

/// Compares two lines as `o` says (without `-r`).
pub fn compare(a: &str, b: &str, o: &SortOptions) -> Ordering {
    let (ka, kb) = (key(a, o), key(b, o));
    if o.numeric {
        let (na, nb) = (leading_number(ka), leading_number(kb));
        match na.partial_cmp(&nb) {
            Some(Ordering::Equal) | None => {}
            Some(ord) => return ord,
        }
        // Equal numbers: GNU's last resort, the whole lines (none with -u).
        return if o.unique { Ordering::Equal } else { a.cmp(b) };
    }
    if o.fold {
        let la = ka.chars().map(|c| c.to_ascii_lowercase());
        let lb = kb.chars().map(|c| c.to_ascii_lowercase());
        match la.cmp(lb) {
            Ordering::Equal if o.unique => Ordering::Equal,
            Ordering::Equal => a.cmp(b),
            ord => ord,
        }
    } else if o.unique {
        ka.cmp(kb)
    } else {
        ka.cmp(kb).then_with(|| a.cmp(b))
    }
}

/// Sorts `lines` (stable), then drops repeats if `-u`.
pub fn sort_lines(lines: &mut Vec<String>, o: &SortOptions) {
    lines.sort_by(|a, b| {
        let ord = compare(a, b, o);
        if o.reverse {
            ord.reverse()
        } else {
            ord
        }
    });
    if o.unique {
        lines.dedup_by(|b, a| compare(a, b, o) == Ordering::Equal);
    }
}

/// `uniq`'s options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UniqOptions {
    /// `-c`: prefix each line with its count.
    pub count: bool,
    /// `-d`: only lines that repeat.
    pub repeated: bool,
    /// `-u`: only lines that do not.
    pub unique: bool,
    /// `-i`: compare without case.
    pub fold: bool,
}

/// Folds adjacent equal lines, as `uniq` prints them.
pub fn uniq(lines: &[String], o: UniqOptions) -> Vec<String> {
    let same = |a: &str, b: &str| {
        if o.fold {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let mut j = i + 1;
        while j < lines.len() && same(&lines[i], &lines[j]) {
            j += 1;
        }
        let n = j - i;
        let keep = (!o.repeated || n > 1) && (!o.unique || n == 1);
        if keep {
            out.push(if o.count {
                alloc::format!("{n:>7} {}", lines[i])
            } else {
                lines[i].clone()
            });
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn v(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| s.to_string()).collect()
    }

    fn sorted(x: &[&str], o: SortOptions) -> Vec<String> {
        let mut l = v(x);
        sort_lines(&mut l, &o);
        l
    }

    #[test]
    fn plain_reverse_numeric() {
        assert_eq!(
            sorted(&["b", "a", "c"], SortOptions::default()),
            v(&["a", "b", "c"])
        );
        let r = SortOptions {
            reverse: true,
            ..Default::default()
        };
        assert_eq!(sorted(&["b", "a", "c"], r), v(&["c", "b", "a"]));
        let n = SortOptions {
            numeric: true,
            ..Default::default()
        };
        assert_eq!(
            sorted(&["10", "9", "-1", "x", "2.5"], n),
            v(&["-1", "x", "2.5", "9", "10"])
        );
    }

    #[test]
    fn keys_and_separators() {
        let k = SortOptions {
            key: Some(2),
            ..Default::default()
        };
        assert_eq!(sorted(&["a 3", "b 1", "c 2"], k), v(&["b 1", "c 2", "a 3"]));
        let kt = SortOptions {
            key: Some(2),
            separator: Some(':'),
            numeric: true,
            ..Default::default()
        };
        assert_eq!(
            sorted(&["root:0", "bin:2", "me:1000", "x"], kt),
            v(&["root:0", "x", "bin:2", "me:1000"]),
            "as `sort -t: -k2 -n`: x has no number (0) and ties with root:0 by the whole line"
        );
    }

    #[test]
    fn unique_and_fold() {
        let u = SortOptions {
            unique: true,
            ..Default::default()
        };
        assert_eq!(sorted(&["b", "a", "b", "a"], u), v(&["a", "b"]));
        let fu = SortOptions {
            unique: true,
            fold: true,
            ..Default::default()
        };
        assert_eq!(sorted(&["B", "a", "b"], fu), v(&["a", "B"]));
    }

    #[test]
    fn uniq_modes() {
        let l = v(&["a", "a", "b", "c", "c", "c", "a"]);
        assert_eq!(uniq(&l, UniqOptions::default()), v(&["a", "b", "c", "a"]));
        let c = UniqOptions {
            count: true,
            ..Default::default()
        };
        assert_eq!(
            uniq(&l, c),
            vec!["      2 a", "      1 b", "      3 c", "      1 a"]
        );
        let d = UniqOptions {
            repeated: true,
            ..Default::default()
        };
        assert_eq!(uniq(&l, d), v(&["a", "c"]));
        let u = UniqOptions {
            unique: true,
            ..Default::default()
        };
        assert_eq!(uniq(&l, u), v(&["b", "a"]));
    }
}
