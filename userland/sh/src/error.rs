//! The shell's syntax errors. A script or a line that does not parse gets
//! one of these, printed as bash prints it (`sh: syntax error near
//! unexpected token 'fi'`); the shell sets `$?` to 2 and carries on.
//! [`SyntaxError::is_incomplete`] tells an interactive reader that more
//! input (an unclosed quote, an `if` without `fi`) could still make it
//! parse, so it should prompt with `PS2` and read another line.

use alloc::string::String;
use core::fmt;

/// Why a piece of shell input does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyntaxError {
    /// A token where the grammar does not allow it (`fi` with no `if`,
    /// `;;`, `| |`); holds the token as written (`newline` for a newline).
    UnexpectedToken(String),
    /// The input ended inside a construct (`if true; then`, `a |`).
    UnexpectedEof,
    /// A `'` or `"` was never closed; holds the quote character.
    UnterminatedQuote(char),
    /// `${...}` with something other than a parameter name inside.
    BadSubstitution(String),
    /// Compound commands nested deeper than [`crate::parser::MAX_DEPTH`].
    TooDeep,
    /// More input, words or pipeline stages than the shell accepts.
    TooLong,
}

impl SyntaxError {
    /// True if reading more input could complete the construct (the
    /// interactive shell then prompts for a continuation line).
    pub fn is_incomplete(&self) -> bool {
        matches!(self, Self::UnexpectedEof | Self::UnterminatedQuote(_))
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedToken(t) => write!(f, "sh: syntax error near unexpected token '{t}'"),
            Self::UnexpectedEof => write!(f, "sh: syntax error: unexpected end of file"),
            Self::UnterminatedQuote(q) => {
                write!(
                    f,
                    "sh: syntax error: unexpected end of file while looking for matching '{q}'"
                )
            }
            Self::BadSubstitution(s) => write!(f, "sh: {s}: bad substitution"),
            Self::TooDeep => write!(f, "sh: syntax error: commands nested too deeply"),
            Self::TooLong => write!(f, "sh: syntax error: input too long"),
        }
    }
}
