//! `printf FORMAT [ARG…]`: POSIX's conversions `%s %b %c %d %i %u %o %x %X
//! %%` with flags `-`, `0`, `+`, space, a width and a precision; the
//! escapes `\n \t \\ \a \b \f \r \v \NNN`; the format reused while
//! arguments remain, as POSIX says.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// What `printf` produced, and the complaints it has about its arguments
/// (`printf: 'x': expected a numeric value`: it prints 0 and exits 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub text: String,
    pub errors: Vec<String>,
}

/// Appends the character of escape `\c…` at `s[0]` (after the `\`); the
/// number of characters used.
fn escape(s: &[char], out: &mut String, octal_digits: usize) -> usize {
    let Some(&c) = s.first() else {
        out.push('\\');
        return 0;
    };
    let simple = match c {
        'n' => Some('\n'),
        't' => Some('\t'),
        '\\' => Some('\\'),
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'r' => Some('\r'),
        'v' => Some('\x0b'),
        '"' => Some('"'),
        _ => None,
    };
    if let Some(e) = simple {
        out.push(e);
        return 1;
    }
    let start = usize::from(octal_digits == 4 && c == '0');
    let digits = s[start..]
        .iter()
        .take(3)
        .take_while(|d| ('0'..='7').contains(d))
        .count();
    if digits == 0 && start == 0 {
        out.push('\\');
        out.push(c);
        return 1;
    }
    let value = s[start..start + digits]
        .iter()
        .fold(0u32, |v, d| v * 8 + d.to_digit(8).unwrap_or(0));
    out.push(char::from_u32(value & 0xff).unwrap_or('?'));
    start + digits
}

/// `%b`'s argument: escapes expanded (`\0NNN` octal).
fn expand_escapes(arg: &str) -> String {
    let chars: Vec<char> = arg.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' {
            i += 1 + escape(&chars[i + 1..], &mut out, 4);
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// A numeric argument as POSIX reads it: decimal, `0x` hex, `0` octal, or
/// `'c` (the character's code).
fn number(arg: &str, errors: &mut Vec<String>) -> i64 {
    let parsed = if let Some(ch) = arg.strip_prefix('\'').or_else(|| arg.strip_prefix('"')) {
        ch.chars().next().map(|c| c as i64)
    } else {
        let (neg, body) = match arg.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, arg.strip_prefix('+').unwrap_or(arg)),
        };
        let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            i64::from_str_radix(h, 16).ok()
        } else if body.len() > 1 && body.starts_with('0') {
            i64::from_str_radix(&body[1..], 8).ok()
        } else {
            body.parse().ok()
        };
        v.map(|v| if neg { -v } else { v })
    };
    parsed.unwrap_or_else(|| {
        if !arg.is_empty() {
            errors.push(format!("'{arg}': expected a numeric value"));
        }
        0
    })
}

/// A conversion's flags, width and precision.
#[derive(Default)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    width: usize,
    precision: Option<usize>,
}

fn pad(spec: &Spec, body: String, numeric: bool) -> String {
    let len = body.chars().count();
    if len >= spec.width {
        return body;
    }
    let fill = spec.width - len;
    if spec.left {
        format!("{body}{}", " ".repeat(fill))
    } else if spec.zero && numeric && spec.precision.is_none() {
        let (sign, digits) = match body.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (String::from(c), &body[1..]),
            _ => (String::new(), &body[..]),
        };
        format!("{sign}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{body}", " ".repeat(fill))
    }
}

fn convert(conv: char, spec: &Spec, arg: Option<&str>, errors: &mut Vec<String>) -> String {
    let a = arg.unwrap_or("");
    match conv {
        's' | 'b' => {
            let mut s = if conv == 'b' {
                expand_escapes(a)
            } else {
                String::from(a)
            };
            if let Some(p) = spec.precision {
                s = s.chars().take(p).collect();
            }
            pad(spec, s, false)
        }
        'c' => pad(spec, a.chars().take(1).collect(), false),
        'd' | 'i' => {
            let v = number(a, errors);
            let mut digits = format!("{}", v.unsigned_abs());
            if let Some(p) = spec.precision {
                while digits.len() < p {
                    digits.insert(0, '0');
                }
            }
            let sign = if v < 0 {
                "-"
            } else if spec.plus {
                "+"
            } else if spec.space {
                " "
            } else {
                ""
            };
            pad(spec, format!("{sign}{digits}"), true)
        }
        'u' | 'o' | 'x' | 'X' => {
            let v = number(a, errors) as u64;
            let body = match conv {
                'o' => format!("{v:o}"),
                'x' => format!("{v:x}"),
                'X' => format!("{v:X}"),
                _ => format!("{v}"),
            };
            pad(spec, body, true)
        }
        _ => String::new(),
    }
}

/// Runs `printf format args…`.
pub fn printf(format: &str, args: &[&str]) -> Output {
    let f: Vec<char> = format.chars().collect();
    let mut out = Output::default();
    let mut next = 0;
    loop {
        let mut used_arg = false;
        let mut i = 0;
        while i < f.len() {
            match f[i] {
                '\\' => i += 1 + escape(&f[i + 1..], &mut out.text, 3),
                '%' if f.get(i + 1) == Some(&'%') => {
                    out.text.push('%');
                    i += 2;
                }
                '%' => {
                    let mut spec = Spec::default();
                    i += 1;
                    while let Some(&c) = f.get(i) {
                        match c {
                            '-' => spec.left = true,
                            '0' => spec.zero = true,
                            '+' => spec.plus = true,
                            ' ' => spec.space = true,
                            '#' => {}
                            _ => break,
                        }
                        i += 1;
                    }
                    while let Some(d) = f.get(i).and_then(|c| c.to_digit(10)) {
                        spec.width = spec.width.saturating_mul(10).saturating_add(d as usize);
                        i += 1;
                    }
                    if f.get(i) == Some(&'.') {
                        i += 1;
                        let mut p = 0usize;
                        while let Some(d) = f.get(i).and_then(|c| c.to_digit(10)) {
                            p = p.saturating_mul(10).saturating_add(d as usize);
                            i += 1;
                        }
                        spec.precision = Some(p);
                    }
                    spec.width = spec.width.min(4096);
                    let Some(&conv) = f.get(i) else {
                        out.errors.push(String::from("missing format character"));
                        return out;
                    };
                    i += 1;
                    if !"sbcdiuoxX".contains(conv) {
                        out.errors
                            .push(format!("%{conv}: invalid conversion specification"));
                        return out;
                    }
                    let arg = args.get(next).copied();
                    next += 1;
                    used_arg = true;
                    let text = convert(conv, &spec, arg, &mut out.errors);
                    out.text.push_str(&text);
                }
                c => {
                    out.text.push(c);
                    i += 1;
                }
            }
        }
        if !used_arg || next >= args.len() {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(f: &str, a: &[&str]) -> String {
        printf(f, a).text
    }

    #[test]
    fn conversions_and_escapes() {
        assert_eq!(p("%s=%d\\n", &["x", "42"]), "x=42\n");
        assert_eq!(p("%5s|%-5s|", &["ab", "cd"]), "   ab|cd   |");
        assert_eq!(p("%05d %+d % d", &["-42", "7", "7"]), "-0042 +7  7");
        assert_eq!(
            p("%x %X %o %u", &["255", "255", "8", "0x10"]),
            "ff FF 10 16"
        );
        assert_eq!(p("%.2s %.3d", &["abcdef", "5"]), "ab 005");
        assert_eq!(p("%c%c", &["hello", "w"]), "hw");
        assert_eq!(p("100%%\\t\\101", &[]), "100%\tA");
        assert_eq!(p("%b", &["a\\tb\\0101"]), "a\tbA");
        assert_eq!(p("%d", &["'A"]), "65");
    }

    #[test]
    fn format_is_reused_and_missing_args_are_empty() {
        assert_eq!(p("%s,", &["a", "b", "c"]), "a,b,c,");
        assert_eq!(p("%s-%s\\n", &["a", "b", "c"]), "a-b\nc-\n");
        assert_eq!(p("[%s|%d]", &[]), "[|0]");
    }

    #[test]
    fn bad_arguments_are_reported() {
        let o = printf("%d\\n", &["12abc"]);
        assert_eq!(o.text, "0\n");
        assert_eq!(o.errors, ["'12abc': expected a numeric value"]);
        assert_eq!(
            printf("%z", &[]).errors,
            ["%z: invalid conversion specification"]
        );
        assert_eq!(printf("%", &[]).errors, ["missing format character"]);
        assert_eq!(p("%999999999999s", &["x"]).len(), 4096, "width is capped");
    }
}
