//! Word expansion, in the POSIX order: tilde, parameters (`$VAR`,
//! `${VAR}`, `$?`, `$$`, `$!`, `$#`, `$1`…, `$@`, `$*`), field splitting
//! on `IFS` (only of unquoted expansions), pathname expansion (only of
//! unquoted `*`, `?`, `[`), and quote removal (done by the lexer already).
//!
//! Values come from an [`Environment`], directory listings from a
//! [`DirLister`]: the executor passes the shell's variables and the
//! system, tests pass tables. Output is bounded by [`MAX_FIELDS`] and
//! [`MAX_BYTES`]; past them expansion fails with [`ExpandError`].

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::glob::{glob, has_glob, DirLister, PatChar};
use crate::lexer::{Word, WordPart};

/// The most fields a command's words may expand to.
pub const MAX_FIELDS: usize = 4096;
/// The most bytes a command's words may expand to.
pub const MAX_BYTES: usize = 1 << 20;

/// Where parameter values come from.
pub trait Environment {
    /// The value of a variable or special parameter (`"?"`, `"$"`, `"!"`,
    /// `"#"`, `"0"`, `"1"`...), `None` if unset.
    fn get(&self, name: &str) -> Option<String>;
    /// The positional parameters `$1`… (for `$@` and `$*`).
    fn positional(&self) -> Vec<String>;
}

/// Expansion produced more than the bounds allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    TooManyFields,
    TooLong,
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyFields => write!(f, "sh: expansion gives more than {MAX_FIELDS} words"),
            Self::TooLong => write!(f, "sh: expansion gives more than {MAX_BYTES} bytes"),
        }
    }
}

const DEFAULT_IFS: &str = " \t\n";

/// Fields being built: the current field's characters and whether it
/// exists yet (`""` makes an empty field; an empty `$X` makes none).
struct Fields {
    done: Vec<Vec<PatChar>>,
    cur: Vec<PatChar>,
    cur_exists: bool,
    bytes: usize,
}

impl Fields {
    fn push(&mut self, s: &str, quoted: bool) -> Result<(), ExpandError> {
        self.bytes += s.len();
        if self.bytes > MAX_BYTES {
            return Err(ExpandError::TooLong);
        }
        self.cur.extend(s.chars().map(|c| PatChar { c, quoted }));
        self.cur_exists |= quoted || !s.is_empty();
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ExpandError> {
        if self.cur_exists {
            if self.done.len() == MAX_FIELDS {
                return Err(ExpandError::TooManyFields);
            }
            self.done.push(core::mem::take(&mut self.cur));
            self.cur_exists = false;
        }
        Ok(())
    }

    /// Appends an unquoted expansion, splitting it at `IFS` characters:
    /// runs of IFS white space separate fields, each other IFS character
    /// ends one (so `a::b` with `IFS=:` gives `a`, ``, `b`).
    fn push_split(&mut self, value: &str, ifs: &str) -> Result<(), ExpandError> {
        for c in value.chars() {
            if !ifs.contains(c) {
                self.push(c.encode_utf8(&mut [0; 4]), false)?;
            } else if c.is_whitespace() {
                self.finish()?;
            } else {
                self.cur_exists = true;
                self.finish()?;
            }
        }
        Ok(())
    }
}

/// Expands a command's words into fields: the argument vector.
pub fn expand_words(
    words: &[Word],
    env: &dyn Environment,
    dirs: &dyn DirLister,
) -> Result<Vec<String>, ExpandError> {
    let ifs = env.get("IFS").unwrap_or_else(|| String::from(DEFAULT_IFS));
    let mut out = Vec::new();
    let mut total = 0;
    for w in words {
        let mut fields = Fields {
            done: Vec::new(),
            cur: Vec::new(),
            cur_exists: false,
            bytes: 0,
        };
        expand_parts(w, env, &ifs, &mut fields)?;
        fields.finish()?;
        for f in fields.done {
            let globbed = if has_glob(&f) { glob(&f, dirs) } else { None };
            match globbed {
                Some(paths) => out.extend(paths),
                None => out.push(f.iter().map(|p| p.c).collect()),
            }
            total += out.last().map_or(0, String::len);
            if out.len() > MAX_FIELDS {
                return Err(ExpandError::TooManyFields);
            }
            if total > MAX_BYTES {
                return Err(ExpandError::TooLong);
            }
        }
    }
    Ok(out)
}

fn expand_parts(
    w: &Word,
    env: &dyn Environment,
    ifs: &str,
    fields: &mut Fields,
) -> Result<(), ExpandError> {
    for (i, part) in w.parts.iter().enumerate() {
        match part {
            WordPart::Literal(s) if i == 0 && s.starts_with('~') => {
                let (user, rest) = s[1..]
                    .split_once('/')
                    .map_or((&s[1..], ""), |(u, r)| (u, r));
                match env.get("HOME").filter(|_| user.is_empty()) {
                    Some(home) => {
                        fields.push(&home, true)?;
                        if !rest.is_empty() || s.contains('/') {
                            fields.push("/", false)?;
                        }
                        fields.push(rest, false)?;
                    }
                    None => fields.push(s, false)?,
                }
            }
            WordPart::Literal(s) => fields.push(s, false)?,
            WordPart::Quoted(s) => fields.push(s, true)?,
            WordPart::Param { name, quoted: true } if name == "@" => {
                // "$@": one field per positional parameter.
                let args = env.positional();
                for (j, a) in args.iter().enumerate() {
                    if j > 0 {
                        fields.finish()?;
                    }
                    fields.push(a, true)?;
                }
            }
            WordPart::Param { name, quoted } => {
                let value = param(name, env);
                if *quoted {
                    fields.push(&value, true)?;
                } else {
                    fields.push_split(&value, ifs)?;
                }
            }
        }
    }
    Ok(())
}

fn param(name: &str, env: &dyn Environment) -> String {
    match name {
        "@" | "*" => env.positional().join(" "),
        _ => env.get(name).unwrap_or_default(),
    }
}

/// Expands a word to one string, without field splitting or globbing:
/// for assignments (`X=$Y`), redirection targets and `for` variables.
pub fn expand_single(w: &Word, env: &dyn Environment) -> Result<String, ExpandError> {
    let mut fields = Fields {
        done: Vec::new(),
        cur: Vec::new(),
        cur_exists: false,
        bytes: 0,
    };
    expand_parts(w, env, "", &mut fields)?;
    fields.finish()?;
    let strings: Vec<String> = fields
        .done
        .iter()
        .map(|f| f.iter().map(|p| p.c).collect())
        .collect();
    Ok(strings.join(" "))
}
