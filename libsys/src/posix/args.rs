//! Command-line pieces the tools share, pure and host-tested: leading
//! option letters (`-la`) split from operands, and `sleep`'s interval.

use alloc::string::String;
use alloc::vec::Vec;

/// Splits leading `-xyz` options off `args` (up to `--` or the first
/// operand; a lone `-` is an operand): the option letters in order and
/// the operands. `Err(c)` for a letter not in `known`.
pub fn options(args: &[String], known: &str) -> Result<(Vec<char>, Vec<String>), char> {
    let mut flags = Vec::new();
    let mut rest = args.iter();
    let mut operands = Vec::new();
    for arg in rest.by_ref() {
        if arg == "--" {
            break;
        }
        if arg.len() > 1 && arg.starts_with('-') {
            for c in arg[1..].chars() {
                if !known.contains(c) {
                    return Err(c);
                }
                flags.push(c);
            }
        } else {
            operands.push(arg.clone());
            break;
        }
    }
    operands.extend(rest.cloned());
    Ok((flags, operands))
}

/// `"1.25"` (seconds, with an optional fraction) as milliseconds;
/// `None` for anything else or for more than a day.
pub fn interval_ms(arg: &str) -> Option<u64> {
    let (whole, frac) = arg.split_once('.').unwrap_or((arg, ""));
    if (whole.is_empty() && frac.is_empty()) || frac.len() > 9 || whole.len() > 9 {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        return None;
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut ms = 0u64;
    for (i, b) in frac.bytes().take(3).enumerate() {
        ms += u64::from(b - b'0') * [100, 10, 1][i];
    }
    (secs <= 86_400).then(|| secs * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn options_split_letters_from_operands() {
        let (f, o) = options(&strings(&["-la", "-a", "/x", "-l"]), "la").unwrap();
        assert_eq!(f, ['l', 'a', 'a']);
        assert_eq!(o, strings(&["/x", "-l"]));
        let (f, o) = options(&strings(&["-p", "--", "-q"]), "p").unwrap();
        assert_eq!((f, o), (vec!['p'], strings(&["-q"])));
        let (f, o) = options(&strings(&["-"]), "").unwrap();
        assert_eq!((f, o), (vec![], strings(&["-"])));
        assert_eq!(options(&strings(&["-z"]), "la"), Err('z'));
        assert_eq!(options(&[], "la"), Ok((vec![], vec![])));
    }

    #[test]
    fn intervals() {
        assert_eq!(interval_ms("2"), Some(2000));
        assert_eq!(interval_ms("0.5"), Some(500));
        assert_eq!(interval_ms(".25"), Some(250));
        assert_eq!(interval_ms("1.0009"), Some(1000));
        assert_eq!(interval_ms("86400"), Some(86_400_000));
        assert_eq!(interval_ms("86401"), None);
        assert_eq!(interval_ms("99999999999999999999"), None);
        assert_eq!(interval_ms(""), None);
        assert_eq!(interval_ms("."), None);
        assert_eq!(interval_ms("-1"), None);
        assert_eq!(interval_ms("1s"), None);
    }
}
