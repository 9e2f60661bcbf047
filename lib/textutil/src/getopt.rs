//! POSIX `getopt`-style option parsing: `-ab`, `-n 5`, `-n5`, `--` ends
//! the options, the first operand ends them too (as POSIX says).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// What went wrong, in the words GNU tools use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptError {
    /// `-x` is not among the options.
    Unknown(char),
    /// `-n` needs an argument and none followed.
    Missing(char),
}

impl fmt::Display for OptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptError::Unknown(c) => write!(f, "invalid option -- '{c}'"),
            OptError::Missing(c) => write!(f, "option requires an argument -- '{c}'"),
        }
    }
}

/// The parsed options, in order, and the operands.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub options: Vec<(char, Option<String>)>,
    pub operands: Vec<String>,
}

impl Parsed {
    /// True if flag `c` was given.
    pub fn has(&self, c: char) -> bool {
        self.options.iter().any(|(o, _)| *o == c)
    }

    /// The argument of the last `-c`, if given.
    pub fn value(&self, c: char) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(o, _)| *o == c)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Every argument given to `-c`, in order (`find`'s or `grep -e`'s).
    pub fn values(&self, c: char) -> Vec<&str> {
        self.options
            .iter()
            .filter(|(o, _)| *o == c)
            .filter_map(|(_, v)| v.as_deref())
            .collect()
    }
}

/// Parses `args` (without the program name) against `spec`: each letter
/// is a flag, a letter followed by `:` takes an argument.
pub fn parse(args: &[String], spec: &str) -> Result<Parsed, OptError> {
    let takes_arg = |c: char| -> Option<bool> {
        let at = spec.find(c)?;
        Some(spec[at + c.len_utf8()..].starts_with(':'))
    };
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            break;
        }
        if arg.len() < 2 || !arg.starts_with('-') {
            i -= 1;
            break;
        }
        let flags = &arg[1..];
        for (at, c) in flags.char_indices() {
            let kind = if c == ':' { None } else { takes_arg(c) };
            match kind {
                None => return Err(OptError::Unknown(c)),
                Some(false) => parsed.options.push((c, None)),
                Some(true) => {
                    let rest = &flags[at + c.len_utf8()..];
                    let value = if !rest.is_empty() {
                        rest.to_string()
                    } else if i < args.len() {
                        i += 1;
                        args[i - 1].clone()
                    } else {
                        return Err(OptError::Missing(c));
                    };
                    parsed.options.push((c, Some(value)));
                    break;
                }
            }
        }
    }
    parsed.operands.extend(args[i..].iter().cloned());
    Ok(parsed)
}

/// `-5` as `head -5`/`tail -5` write it: the count, if `arg` is one.
pub fn old_count(arg: &str) -> Option<usize> {
    let digits = arg.strip_prefix('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn flags_values_and_operands() {
        let p = parse(&s(&["-vi", "-n", "5", "-d,", "pat", "-x", "f"]), "vin:d:").unwrap();
        assert!(p.has('v') && p.has('i'));
        assert_eq!(p.value('n'), Some("5"));
        assert_eq!(p.value('d'), Some(","));
        assert_eq!(p.operands, s(&["pat", "-x", "f"]));
    }

    #[test]
    fn double_dash_and_lone_dash() {
        let p = parse(&s(&["-a", "--", "-b"]), "ab").unwrap();
        assert_eq!(p.operands, s(&["-b"]));
        let p = parse(&s(&["-", "x"]), "a").unwrap();
        assert_eq!(p.operands, s(&["-", "x"]));
    }

    #[test]
    fn errors() {
        assert_eq!(parse(&s(&["-z"]), "ab"), Err(OptError::Unknown('z')));
        assert_eq!(parse(&s(&["-n"]), "n:"), Err(OptError::Missing('n')));
        assert_eq!(parse(&s(&["-:"]), "n:"), Err(OptError::Unknown(':')));
        assert_eq!(
            alloc::format!("{}", OptError::Missing('n')),
            "option requires an argument -- 'n'"
        );
    }

    #[test]
    fn repeated_values() {
        let p = parse(&s(&["-e", "a", "-eb"]), "e:").unwrap();
        assert_eq!(p.values('e'), vec!["a", "b"]);
    }

    #[test]
    fn old_style_counts() {
        assert_eq!(old_count("-5"), Some(5));
        assert_eq!(old_count("-"), None);
        assert_eq!(old_count("-n"), None);
        assert_eq!(old_count("5"), None);
    }
}
