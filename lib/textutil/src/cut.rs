//! `cut`: the list syntax (`1,3-5,7-`) and selecting fields or characters.

use alloc::string::String;
use alloc::vec::Vec;

/// A `-f`/`-c` list: sorted, merged 1-based inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List(Vec<(usize, usize)>);

/// Parses `1,3-5,-2,7-` (POSIX: positions start at 1).
pub fn parse_list(s: &str) -> Result<List, &'static str> {
    let mut ranges = Vec::new();
    for part in s.split(',') {
        let num = |x: &str| -> Result<usize, &'static str> {
            let n: usize = x.parse().map_err(|_| "invalid field value")?;
            if n == 0 {
                return Err("fields and positions are numbered from 1");
            }
            Ok(n)
        };
        let range = match part.split_once('-') {
            None => {
                let n = num(part)?;
                (n, n)
            }
            Some(("", "")) => return Err("invalid range with no endpoint: -"),
            Some(("", hi)) => (1, num(hi)?),
            Some((lo, "")) => (num(lo)?, usize::MAX),
            Some((lo, hi)) => {
                let (lo, hi) = (num(lo)?, num(hi)?);
                if lo > hi {
                    return Err("invalid decreasing range");
                }
                (lo, hi)
            }
        };
        ranges.push(range);
    }
    ranges.sort();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.0 <= last.1.saturating_add(1) => last.1 = last.1.max(r.1),
            _ => merged.push(r),
        }
    }
    Ok(List(merged))
}

impl List {
    fn contains(&self, n: usize) -> bool {
        self.0.iter().any(|&(lo, hi)| lo <= n && n <= hi)
    }
}

/// `cut -c LIST`: the characters at the listed positions.
pub fn chars(line: &str, list: &List) -> String {
    line.chars()
        .enumerate()
        .filter(|(i, _)| list.contains(i + 1))
        .map(|(_, c)| c)
        .collect()
}

/// `cut -f LIST -d DELIM`: the listed fields joined by `delim`; a line
/// without the delimiter is printed whole unless `only_delimited` (`-s`).
pub fn fields(line: &str, delim: char, list: &List, only_delimited: bool) -> Option<String> {
    if !line.contains(delim) {
        return (!only_delimited).then(|| String::from(line));
    }
    let picked: Vec<&str> = line
        .split(delim)
        .enumerate()
        .filter(|(i, _)| list.contains(i + 1))
        .map(|(_, f)| f)
        .collect();
    let mut sep = [0u8; 4];
    Some(picked.join(delim.encode_utf8(&mut sep)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert_eq!(
            parse_list("1,3-5").unwrap(),
            List(alloc::vec![(1, 1), (3, 5)])
        );
        assert_eq!(
            parse_list("4-,2-5").unwrap(),
            List(alloc::vec![(2, usize::MAX)])
        );
        assert_eq!(parse_list("-2").unwrap(), List(alloc::vec![(1, 2)]));
        assert!(parse_list("0").is_err());
        assert!(parse_list("5-3").is_err());
        assert!(parse_list("a").is_err());
        assert!(parse_list("-").is_err());
    }

    #[test]
    fn selecting() {
        let l = parse_list("1,3").unwrap();
        assert_eq!(fields("root:x:0:0", ':', &l, false).unwrap(), "root:0");
        assert_eq!(fields("nodelim", ':', &l, false).unwrap(), "nodelim");
        assert_eq!(fields("nodelim", ':', &l, true), None);
        assert_eq!(chars("héllo", &parse_list("2-3").unwrap()), "él");
        assert_eq!(
            fields("a\tb\tc", '\t', &parse_list("2-").unwrap(), false).unwrap(),
            "b\tc"
        );
    }
}
