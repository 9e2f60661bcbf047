//! The regular expressions of `grep`: POSIX basic syntax (`.`, `*`, `^`,
//! `$`, `[...]` with ranges, classes like `[:digit:]` and `^` negation,
//! `\` escapes) and, with `-E`, the extended `+`, `?` and `|`. No groups or
//! back-references. A backtracking matcher over the pattern's atoms (each
//! repeat applies to one atom) with every (atom, position) answer
//! remembered, so a line costs at most O(atoms × length²), whatever the
//! pattern.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegexError {
    /// `[` without its `]`.
    UnclosedBracket,
    /// A trailing `\`.
    TrailingBackslash,
    /// `[:name:]` that POSIX does not define.
    UnknownClass(String),
}

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegexError::UnclosedBracket => f.write_str("Unmatched [, [^, [:, [., or [="),
            RegexError::TrailingBackslash => f.write_str("Trailing backslash"),
            RegexError::UnknownClass(c) => write!(f, "Invalid character class name '{c}'"),
        }
    }
}

/// One item of a bracket expression.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Char(char),
    Range(char, char),
    Class(Class),
}

/// The POSIX character classes (`[:alpha:]` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Alpha,
    Digit,
    Alnum,
    Upper,
    Lower,
    Space,
    Blank,
    Punct,
    Xdigit,
    Print,
    Graph,
    Cntrl,
}

impl Class {
    fn named(name: &str) -> Option<Class> {
        Some(match name {
            "alpha" => Class::Alpha,
            "digit" => Class::Digit,
            "alnum" => Class::Alnum,
            "upper" => Class::Upper,
            "lower" => Class::Lower,
            "space" => Class::Space,
            "blank" => Class::Blank,
            "punct" => Class::Punct,
            "xdigit" => Class::Xdigit,
            "print" => Class::Print,
            "graph" => Class::Graph,
            "cntrl" => Class::Cntrl,
            _ => return None,
        })
    }

    fn contains(self, c: char) -> bool {
        match self {
            Class::Alpha => c.is_ascii_alphabetic(),
            Class::Digit => c.is_ascii_digit(),
            Class::Alnum => c.is_ascii_alphanumeric(),
            Class::Upper => c.is_ascii_uppercase(),
            Class::Lower => c.is_ascii_lowercase(),
            Class::Space => c.is_ascii_whitespace(),
            Class::Blank => c == ' ' || c == '\t',
            Class::Punct => c.is_ascii_punctuation(),
            Class::Xdigit => c.is_ascii_hexdigit(),
            Class::Print => (' '..='~').contains(&c),
            Class::Graph => ('!'..='~').contains(&c),
            Class::Cntrl => c.is_ascii_control(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Any,
    Char(char),
    Set { negate: bool, items: Vec<Item> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    One,
    /// `*`
    Star,
    /// `+` (extended)
    Plus,
    /// `?` (extended)
    Optional,
}

impl Repeat {
    fn bounds(self) -> (usize, usize) {
        match self {
            Repeat::One => (1, 1),
            Repeat::Star => (0, usize::MAX),
            Repeat::Plus => (1, usize::MAX),
            Repeat::Optional => (0, 1),
        }
    }
}

/// One alternative: `^`? atoms `$`?.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Branch {
    anchored_start: bool,
    anchored_end: bool,
    pieces: Vec<(Atom, Repeat)>,
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regex {
    branches: Vec<Branch>,
    icase: bool,
}

/// How to read the pattern.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Syntax {
    /// `-E`: `+`, `?` and `|` are operators (in basic syntax they are
    /// literal, and `\+`, `\?`, `\|` are the operators, as GNU grep has it).
    pub extended: bool,
    /// `-F`: every character is literal.
    pub fixed: bool,
    /// `-i`: letters match either case.
    pub icase: bool,
}

/// Parses `[...]` starting after the `[`; returns the atom and the index
/// after the `]`.
fn bracket(p: &[char], mut i: usize) -> Result<(Atom, usize), RegexError> {
    let negate = p.get(i) == Some(&'^');
    if negate {
        i += 1;
    }
    let mut items = Vec::new();
    let mut first = true;
    loop {
        let c = *p.get(i).ok_or(RegexError::UnclosedBracket)?;
        if c == ']' && !first {
            return Ok((Atom::Set { negate, items }, i + 1));
        }
        first = false;
        if c == '[' && p.get(i + 1) == Some(&':') {
            let rest: String = p[i + 2..].iter().collect();
            let end = rest.find(":]").ok_or(RegexError::UnclosedBracket)?;
            let name = &rest[..end];
            let f = Class::named(name).ok_or_else(|| RegexError::UnknownClass(name.into()))?;
            items.push(Item::Class(f));
            i += 2 + name.chars().count() + 2;
            continue;
        }
        match (p.get(i + 1), p.get(i + 2)) {
            (Some('-'), Some(&end)) if end != ']' => {
                items.push(Item::Range(c, end));
                i += 3;
            }
            _ => {
                items.push(Item::Char(c));
                i += 1;
            }
        }
    }
}

fn parse_branch(p: &[char], syntax: Syntax) -> Result<Branch, RegexError> {
    let mut b = Branch {
        anchored_start: false,
        anchored_end: false,
        pieces: Vec::new(),
    };
    let mut i = 0;
    if !syntax.fixed && p.first() == Some(&'^') {
        b.anchored_start = true;
        i = 1;
    }
    while i < p.len() {
        let c = p[i];
        if syntax.fixed {
            b.pieces.push((Atom::Char(c), Repeat::One));
            i += 1;
            continue;
        }
        if c == '$' && i + 1 == p.len() {
            b.anchored_end = true;
            break;
        }
        let repeat = |r: Repeat, b: &mut Branch| -> bool {
            match b.pieces.last_mut() {
                Some(last) if last.1 == Repeat::One => {
                    last.1 = r;
                    true
                }
                _ => false,
            }
        };
        let (atom, next) = match c {
            '.' => (Atom::Any, i + 1),
            '[' => bracket(p, i + 1)?,
            '*' if repeat(Repeat::Star, &mut b) => {
                i += 1;
                continue;
            }
            '+' | '?' if syntax.extended => {
                let r = if c == '+' {
                    Repeat::Plus
                } else {
                    Repeat::Optional
                };
                if repeat(r, &mut b) {
                    i += 1;
                    continue;
                }
                (Atom::Char(c), i + 1)
            }
            '\\' => {
                let e = *p.get(i + 1).ok_or(RegexError::TrailingBackslash)?;
                let op = match e {
                    '+' if !syntax.extended => Some(Repeat::Plus),
                    '?' if !syntax.extended => Some(Repeat::Optional),
                    _ => None,
                };
                if let Some(r) = op {
                    if repeat(r, &mut b) {
                        i += 2;
                        continue;
                    }
                }
                let atom = match e {
                    'd' => Atom::Set {
                        negate: false,
                        items: alloc::vec![Item::Range('0', '9')],
                    },
                    't' => Atom::Char('\t'),
                    _ => Atom::Char(e),
                };
                (atom, i + 2)
            }
            _ => (Atom::Char(c), i + 1),
        };
        b.pieces.push((atom, Repeat::One));
        i = next;
    }
    Ok(b)
}

/// Splits at the alternation operator (`|` extended, `\|` basic), outside
/// brackets.
fn alternatives(p: &[char], syntax: Syntax) -> Vec<Vec<char>> {
    let mut out = alloc::vec![Vec::new()];
    let mut i = 0;
    let mut in_bracket = false;
    while i < p.len() {
        let c = p[i];
        let cur = out.last_mut().expect("one alternative at least");
        if syntax.fixed {
            cur.push(c);
            i += 1;
            continue;
        }
        if in_bracket {
            if c == ']' && !matches!(cur.last(), Some('[') | Some('^')) {
                in_bracket = false;
            }
            cur.push(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_bracket = true;
                cur.push(c);
            }
            '|' if syntax.extended => out.push(Vec::new()),
            '\\' if !syntax.extended && p.get(i + 1) == Some(&'|') => {
                out.push(Vec::new());
                i += 1;
            }
            '\\' => {
                cur.push(c);
                if let Some(&n) = p.get(i + 1) {
                    cur.push(n);
                    i += 1;
                }
            }
            _ => cur.push(c),
        }
        i += 1;
    }
    out
}

impl Regex {
    /// Compiles `pattern` read as `syntax` says.
    pub fn new(pattern: &str, syntax: Syntax) -> Result<Regex, RegexError> {
        let chars: Vec<char> = pattern.chars().collect();
        let branches = alternatives(&chars, syntax)
            .iter()
            .map(|alt| parse_branch(alt, syntax))
            .collect::<Result<_, _>>()?;
        Ok(Regex {
            branches,
            icase: syntax.icase,
        })
    }

    /// True if the pattern matches somewhere in `line`.
    pub fn is_match(&self, line: &str) -> bool {
        self.find(line).is_some()
    }

    /// The first (leftmost, then longest) match in `line` as a byte range.
    pub fn find(&self, line: &str) -> Option<(usize, usize)> {
        let chars: Vec<char> = line.chars().collect();
        let offsets: Vec<usize> = line
            .char_indices()
            .map(|(o, _)| o)
            .chain(core::iter::once(line.len()))
            .collect();
        let mut memos: Vec<Vec<Option<Option<usize>>>> = self
            .branches
            .iter()
            .map(|b| alloc::vec![None; (b.pieces.len() + 1) * (chars.len() + 1)])
            .collect();
        for start in 0..=chars.len() {
            let end = self
                .branches
                .iter()
                .zip(memos.iter_mut())
                .filter(|(b, _)| !b.anchored_start || start == 0)
                .filter_map(|(b, memo)| self.match_here(b, 0, &chars, start, memo))
                .max();
            if let Some(end) = end {
                return Some((offsets[start], offsets[end]));
            }
        }
        None
    }

    fn atom_matches(&self, atom: &Atom, c: char) -> bool {
        let fold = |x: char| {
            if self.icase {
                x.to_ascii_lowercase()
            } else {
                x
            }
        };
        match atom {
            Atom::Any => true,
            Atom::Char(a) => fold(*a) == fold(c),
            Atom::Set { negate, items } => {
                let hit = |c: char| {
                    items.iter().any(|it| match *it {
                        Item::Char(a) => a == c,
                        Item::Range(lo, hi) => lo <= c && c <= hi,
                        Item::Class(k) => k.contains(c),
                    })
                };
                let found = hit(c)
                    || (self.icase && (hit(c.to_ascii_lowercase()) || hit(c.to_ascii_uppercase())));
                found != *negate
            }
        }
    }

    /// The longest end at which `branch`'s pieces from `piece` on match
    /// from `at`, if any. `memo` remembers each (piece, position) answer,
    /// so no state is computed twice: O(pieces × length²) at worst.
    fn match_here(
        &self,
        branch: &Branch,
        piece: usize,
        s: &[char],
        at: usize,
        memo: &mut [Option<Option<usize>>],
    ) -> Option<usize> {
        let slot = piece * (s.len() + 1) + at;
        if let Some(known) = memo[slot] {
            return known;
        }
        let answer = match branch.pieces.get(piece) {
            None => (!branch.anchored_end || at == s.len()).then_some(at),
            Some((atom, repeat)) => {
                let (min, max) = repeat.bounds();
                let mut n = 0;
                while n < max && at + n < s.len() && self.atom_matches(atom, s[at + n]) {
                    n += 1;
                }
                (min..=n)
                    .rev()
                    .find_map(|k| self.match_here(branch, piece + 1, s, at + k, memo))
            }
        };
        memo[slot] = Some(answer);
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Regex::new(p, Syntax::default()).unwrap().is_match(s)
    }

    fn e(p: &str, s: &str) -> bool {
        Regex::new(
            p,
            Syntax {
                extended: true,
                ..Syntax::default()
            },
        )
        .unwrap()
        .is_match(s)
    }

    #[test]
    fn literals_dot_star_anchors() {
        assert!(m("abc", "xxabcxx"));
        assert!(!m("abd", "abc"));
        assert!(m("a.c", "abc"));
        assert!(m("ab*c", "ac") && m("ab*c", "abbbc"));
        assert!(m("^ab", "abc") && !m("^bc", "abc"));
        assert!(m("bc$", "abc") && !m("ab$", "abc"));
        assert!(m("^$", "") && !m("^$", "x"));
        assert!(m("*a", "x*a"), "a leading * is literal");
        assert!(m("a$b", "a$b"), "$ not at the end is literal");
    }

    #[test]
    fn brackets_and_classes() {
        assert!(m("[abc]x", "bx") && !m("[abc]x", "dx"));
        assert!(m("[^abc]x", "dx") && !m("^[^abc]x", "ax"));
        assert!(m("[0-9][0-9]*", "v12"));
        assert!(m("[[:digit:]]", "a1") && !m("[[:digit:]]", "ab"));
        assert!(m("[]a]", "]"), "] first is literal");
        assert_eq!(
            Regex::new("[[:bogus:]]", Syntax::default()),
            Err(RegexError::UnknownClass("bogus".into()))
        );
        assert_eq!(
            Regex::new("[ab", Syntax::default()),
            Err(RegexError::UnclosedBracket)
        );
        assert_eq!(
            Regex::new("ab\\", Syntax::default()),
            Err(RegexError::TrailingBackslash)
        );
    }

    #[test]
    fn basic_versus_extended() {
        assert!(m("a+", "a+") && !m("a+", "aa"));
        assert!(m("ab\\+c", "abbc"));
        assert!(e("ab+c", "abbc") && !e("ab+c", "ac"));
        assert!(e("colou?r", "color") && e("colou?r", "colour"));
        assert!(e("cat|dog", "hotdog") && !e("cat|dog", "cow"));
        assert!(m("cat\\|dog", "a cat"));
        assert!(e("^(a", "(a"), "no groups: ( is literal");
    }

    #[test]
    fn fixed_and_icase() {
        let f = Regex::new(
            "a.*[",
            Syntax {
                fixed: true,
                ..Syntax::default()
            },
        )
        .unwrap();
        assert!(f.is_match("xa.*[y") && !f.is_match("abc["));
        let i = Regex::new(
            "HeLLo[a-c]",
            Syntax {
                icase: true,
                ..Syntax::default()
            },
        )
        .unwrap();
        assert!(i.is_match("say hellOB"));
    }

    #[test]
    fn leftmost_longest_span() {
        let r = Regex::new("b*c", Syntax::default()).unwrap();
        assert_eq!(r.find("abbbcd"), Some((1, 5)));
        let r = Regex::new("x*", Syntax::default()).unwrap();
        assert_eq!(r.find("abc"), Some((0, 0)));
        let r = Regex::new("é.", Syntax::default()).unwrap();
        assert_eq!(r.find("aéb"), Some((1, 4)));
    }

    #[test]
    fn long_lines_stay_cheap() {
        let line: String = core::iter::repeat_n('a', 2000).collect();
        assert!(!m("a*a*a*b", &line));
    }
}
