//! Pathname expansion (globbing): `*`, `?` and `[...]` matched against
//! the names a [`DirLister`] gives, one path component at a time.
//!
//! A pattern is a list of [`PatChar`]s so that characters that were quoted
//! match only themselves. Matching is the greedy two-cursor algorithm with
//! one backtrack point, linear in practice and never exponential on
//! hostile patterns. Names starting with `.` match only a pattern that
//! starts with a literal `.`. Results are sorted, bounded by
//! [`MAX_MATCHES`]; a pattern that matches nothing stays as written.

use alloc::string::String;
use alloc::vec::Vec;

/// The most names one pattern may expand to.
pub const MAX_MATCHES: usize = 4096;

/// Lists directories for globbing (the system, or a fake in tests).
pub trait DirLister {
    /// The names in directory `path` (`"."` for the current one), without
    /// `.` and `..`; `None` if it cannot be read.
    fn list_dir(&self, path: &str) -> Option<Vec<String>>;
}

/// One character of a pattern: `quoted` ones are never special.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatChar {
    pub c: char,
    pub quoted: bool,
}

fn is_special(p: PatChar) -> bool {
    !p.quoted && matches!(p.c, '*' | '?' | '[')
}

/// True if the pattern holds an unquoted `*`, `?` or `[`.
pub fn has_glob(pat: &[PatChar]) -> bool {
    pat.iter().any(|&p| is_special(p))
}

/// Matches `[...]` at `pat[0]` against `c`: `Some((matched, length))`, or
/// `None` if the bracket is not closed (then `[` is an ordinary character).
fn bracket(pat: &[PatChar], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pat.get(i), Some(p) if !p.quoted && (p.c == '!' || p.c == '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let p = *pat.get(i)?;
        if p.c == ']' && !p.quoted && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let range_end = match (pat.get(i + 1), pat.get(i + 2)) {
            (Some(dash), Some(end)) if dash.c == '-' && !dash.quoted && end.c != ']' => Some(end.c),
            _ => None,
        };
        if let Some(end) = range_end {
            matched |= p.c <= c && c <= end;
            i += 3;
        } else {
            matched |= p.c == c;
            i += 1;
        }
    }
}

/// True if `name` matches the whole pattern.
pub fn matches(pat: &[PatChar], name: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    if name.first() == Some(&'.') && pat.first().map(|p| p.c) != Some('.') {
        return false;
    }
    let (mut p, mut n) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, name index).
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pat.get(p) {
            Some(&pc) if is_special(pc) && pc.c == '*' => {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            Some(&pc) if is_special(pc) && pc.c == '?' => Some(1),
            Some(&pc) if is_special(pc) && pc.c == '[' => match bracket(&pat[p..], name[n]) {
                Some((true, len)) => Some(len),
                Some((false, _)) => None,
                None => (pc.c == name[n]).then_some(1),
            },
            Some(&pc) => (pc.c == name[n]).then_some(1),
            None => None,
        };
        match (step, star) {
            (Some(len), _) => {
                p += len;
                n += 1;
            }
            (None, Some((sp, sn))) => {
                p = sp;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            (None, None) => return false,
        }
    }
    pat[p..].iter().all(|&pc| is_special(pc) && pc.c == '*')
}

/// Expands a pattern to the sorted paths it matches, or `None` if it
/// matches nothing (the caller keeps the word).
pub fn glob(pat: &[PatChar], dirs: &dyn DirLister) -> Option<Vec<String>> {
    let absolute = pat.first().map(|p| p.c) == Some('/');
    let components: Vec<&[PatChar]> = pat
        .split(|p| p.c == '/')
        .filter(|c| !c.is_empty())
        .collect();
    let mut paths: Vec<String> = alloc::vec![String::from(if absolute { "/" } else { "" })];
    for (i, comp) in components.iter().enumerate() {
        let last = i + 1 == components.len();
        let mut next = Vec::new();
        for prefix in &paths {
            let dir = match prefix.as_str() {
                "" => ".",
                "/" => "/",
                p => p.trim_end_matches('/'),
            };
            let literal: String = comp.iter().map(|p| p.c).collect();
            let names: Vec<String> = if has_glob(comp) {
                let mut names = dirs.list_dir(dir).unwrap_or_default();
                names.retain(|name| matches(comp, name));
                names.sort();
                names
            } else if literal == "."
                || literal == ".."
                || dirs
                    .list_dir(dir)
                    .is_some_and(|names| names.contains(&literal))
            {
                alloc::vec![literal]
            } else {
                Vec::new()
            };
            for name in names {
                if next.len() == MAX_MATCHES {
                    break;
                }
                let mut path = prefix.clone();
                path.push_str(&name);
                if !last {
                    path.push('/');
                }
                next.push(path);
            }
        }
        paths = next;
    }
    (!paths.is_empty() && !components.is_empty()).then_some(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> Vec<PatChar> {
        s.chars().map(|c| PatChar { c, quoted: false }).collect()
    }

    #[test]
    fn match_table() {
        let cases = [
            ("*", "abc", true),
            ("*.rs", "main.rs", true),
            ("*.rs", "main.c", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[abc]x", "bx", true),
            ("[a-c]x", "dx", false),
            ("[!a-c]x", "dx", true),
            ("[^a]", "a", false),
            ("[]]", "]", true),
            ("[abc", "[abc", true),
            ("*a*b*c", "xxaxxbxxc", true),
            ("*a*b*c", "xxaxxbxx", false),
            ("*", ".hidden", false),
            (".*", ".hidden", true),
            ("", "", true),
            ("**", "", true),
        ];
        for (p, n, want) in cases {
            assert_eq!(matches(&pat(p), n), want, "{p} vs {n}");
        }
    }

    #[test]
    fn quoted_star_is_literal() {
        let p = [PatChar {
            c: '*',
            quoted: true,
        }];
        assert!(!matches(&p, "x"));
        assert!(matches(&p, "*"));
    }

    #[test]
    fn hostile_pattern_is_fast() {
        let p = pat(&"*a".repeat(200));
        let name = "a".repeat(199);
        assert!(!matches(&p, &name));
    }
}
