//! `diff`: the longest common subsequence of two files' lines, printed in
//! POSIX's default ("normal") format (`2c2`, `< old`, `---`, `> new`).
//!
//! The table is lines(a) × lines(b) cells; past [`MAX_CELLS`] the caller
//! gets `TooLarge` instead of a quadratic allocation.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// The most cells of the LCS table `diff` will allocate (4 Mi cells of
/// four bytes: 16 MiB, after the common prefix and suffix are set aside).
pub const MAX_CELLS: usize = 4 * 1024 * 1024;

/// The inputs are too large for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

/// One edit: lines `a.0..a.1` of the first file become `b.0..b.1` of the
/// second (0-based, half open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hunk {
    pub a: (usize, usize),
    pub b: (usize, usize),
}

/// The hunks that turn `a` into `b` (empty if equal).
pub fn hunks(a: &[&str], b: &[&str]) -> Result<Vec<Hunk>, TooLarge> {
    // Common prefix and suffix need no table.
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let (n, m) = (ma.len(), mb.len());
    if (n + 1).saturating_mul(m + 1) > MAX_CELLS {
        return Err(TooLarge);
    }
    // lcs[i][j]: the LCS length of ma[i..] and mb[j..].
    let w = m + 1;
    let mut lcs = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * w + j] = if ma[i] == mb[j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut open: Option<(usize, usize)> = None;
    let close = |open: &mut Option<(usize, usize)>, i: usize, j: usize, out: &mut Vec<Hunk>| {
        if let Some((si, sj)) = open.take() {
            out.push(Hunk {
                a: (pre + si, pre + i),
                b: (pre + sj, pre + j),
            });
        }
    };
    while i < n || j < m {
        if i < n && j < m && ma[i] == mb[j] {
            close(&mut open, i, j, &mut out);
            i += 1;
            j += 1;
            continue;
        }
        open.get_or_insert((i, j));
        if j < m && (i == n || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j]) {
            j += 1;
        } else {
            i += 1;
        }
    }
    close(&mut open, i, j, &mut out);
    Ok(out)
}

/// `3` or `3,5` for lines `r.0..r.1` (1-based); an empty range names the
/// line before it.
fn range(r: (usize, usize)) -> String {
    match r.1 - r.0 {
        0 => format!("{}", r.0),
        1 => format!("{}", r.0 + 1),
        _ => format!("{},{}", r.0 + 1, r.1),
    }
}

/// The normal-format text of `hunks`.
pub fn normal(a: &[&str], b: &[&str], hunks: &[Hunk]) -> String {
    let mut out = String::new();
    for h in hunks {
        let (del, add) = (h.a.1 > h.a.0, h.b.1 > h.b.0);
        let op = match (del, add) {
            (true, true) => 'c',
            (true, false) => 'd',
            _ => 'a',
        };
        out += &format!("{}{op}{}\n", range(h.a), range(h.b));
        for line in &a[h.a.0..h.a.1] {
            out += &format!("< {line}\n");
        }
        if del && add {
            out += "---\n";
        }
        for line in &b[h.b.0..h.b.1] {
            out += &format!("> {line}\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(a: &str, b: &str) -> String {
        let a: Vec<&str> = a.lines().collect();
        let b: Vec<&str> = b.lines().collect();
        normal(&a, &b, &hunks(&a, &b).unwrap())
    }

    #[test]
    fn equal_is_empty() {
        assert_eq!(d("a\nb\n", "a\nb\n"), "");
    }

    #[test]
    fn change_add_delete_as_gnu_diff_prints() {
        assert_eq!(d("a\nb\nc\n", "a\nB\nc\n"), "2c2\n< b\n---\n> B\n");
        assert_eq!(d("a\nc\n", "a\nb\nc\n"), "1a2\n> b\n");
        assert_eq!(d("a\nb\nc\n", "a\nc\n"), "2d1\n< b\n");
        assert_eq!(d("", "x\n"), "0a1\n> x\n");
        assert_eq!(d("x\ny\n", ""), "1,2d0\n< x\n< y\n");
        assert_eq!(
            d("1\n2\n3\n4\n5\n", "1\nx\n3\n5\n6\n"),
            "2c2\n< 2\n---\n> x\n4d3\n< 4\n5a5\n> 6\n"
        );
    }

    #[test]
    fn too_large_is_refused() {
        let a: Vec<&str> = (0..3000)
            .map(|i| if i % 2 == 0 { "a" } else { "b" })
            .collect();
        let b: Vec<&str> = (0..3000)
            .map(|i| if i % 3 == 0 { "a" } else { "c" })
            .collect();
        assert_eq!(hunks(&a, &b), Err(TooLarge));
    }
}
