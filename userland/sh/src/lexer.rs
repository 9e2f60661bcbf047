//! The lexer: shell input to tokens (words, operators, newlines).
//!
//! A word keeps its quoting as a list of [`WordPart`]s, because expansion
//! needs it: text that was quoted is neither field-split nor globbed, and
//! a `$VAR` inside `"…"` expands to exactly one field. Quote removal
//! happens here (the parts hold the text without its quotes); what stays
//! is the knowledge of which text was quoted. Comments (`#` at the start
//! of a word) and line continuations (backslash-newline) vanish here.
//! Input is bounded by [`MAX_INPUT`]; nothing in here panics on any input.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::error::SyntaxError;

/// The most characters of input the lexer takes in one go (a script is
/// read whole).
pub const MAX_INPUT: usize = 1 << 20;

/// A piece of a word, with how it was quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WordPart {
    /// Unquoted text: subject to tilde expansion and globbing.
    Literal(String),
    /// Text from `'…'`, `"…"` or a backslash escape, taken as it is.
    Quoted(String),
    /// A parameter (`$NAME`, `${NAME}`, `$?`, `$1`); `quoted` when it
    /// stood inside `"…"` (then it is not field-split or globbed).
    Param { name: String, quoted: bool },
}

/// One word: its parts and the text as it was written (for messages and
/// the job table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub parts: Vec<WordPart>,
    pub raw: String,
}

impl Word {
    /// A word of one unquoted literal (tests and the parser use it).
    pub fn literal(s: &str) -> Word {
        Word {
            parts: alloc::vec![WordPart::Literal(s.to_string())],
            raw: s.to_string(),
        }
    }

    /// The text if the word is one unquoted literal: how reserved words
    /// (`if`, `done`) and names (`for NAME`) are recognised.
    pub fn as_literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [WordPart::Literal(s)] => Some(s),
            _ => None,
        }
    }
}

/// The operators of the shell grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Pipe,
    OrIf,
    Amp,
    AndIf,
    Semi,
    DSemi,
    Less,
    Great,
    DGreat,
    LessAnd,
    GreatAnd,
    LParen,
    RParen,
}

impl Op {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Pipe => "|",
            Op::OrIf => "||",
            Op::Amp => "&",
            Op::AndIf => "&&",
            Op::Semi => ";",
            Op::DSemi => ";;",
            Op::Less => "<",
            Op::Great => ">",
            Op::DGreat => ">>",
            Op::LessAnd => "<&",
            Op::GreatAnd => ">&",
            Op::LParen => "(",
            Op::RParen => ")",
        }
    }
}

/// A token of shell input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Word(Word),
    /// Digits right before `<` or `>`: the descriptor a redirection names.
    IoNumber(u32),
    Op(Op),
    Newline,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(w) => f.write_str(&w.raw),
            Token::IoNumber(n) => write!(f, "{n}"),
            Token::Op(op) => f.write_str(op.as_str()),
            Token::Newline => f.write_str("newline"),
        }
    }
}

/// Splits `src` into tokens. Fails on an unclosed quote or `${`, a bad
/// `${...}`, or input longer than [`MAX_INPUT`].
pub fn tokenize(src: &str) -> Result<Vec<Token>, SyntaxError> {
    if src.len() > MAX_INPUT {
        return Err(SyntaxError::TooLong);
    }
    let mut lx = Lexer {
        chars: src.chars().collect(),
        pos: 0,
    };
    let mut tokens = Vec::new();
    while let Some(tok) = lx.next_token()? {
        tokens.push(tok);
    }
    Ok(tokens)
}

fn is_meta(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | '|' | '&' | ';' | '<' | '>' | '(' | ')'
    )
}

fn is_special_param(c: char) -> bool {
    matches!(c, '?' | '$' | '!' | '#' | '@' | '*' | '-' | '0'..='9')
}

/// True for a valid variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

/// Collects a word's parts, merging neighbouring text of the same kind.
#[derive(Default)]
struct PartsBuilder {
    parts: Vec<WordPart>,
}

impl PartsBuilder {
    fn push_literal(&mut self, c: char) {
        match self.parts.last_mut() {
            Some(WordPart::Literal(s)) => s.push(c),
            _ => self.parts.push(WordPart::Literal(c.to_string())),
        }
    }

    fn push_quoted(&mut self, s: &str) {
        match self.parts.last_mut() {
            Some(WordPart::Quoted(q)) => q.push_str(s),
            _ => self.parts.push(WordPart::Quoted(s.to_string())),
        }
    }
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).copied()
    }

    /// Skips blanks and line continuations; fails if the input ends right
    /// after a continuation (the line goes on in input not yet read).
    fn skip_blanks(&mut self) -> Result<(), SyntaxError> {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(' ' | '\t'), _) => self.pos += 1,
                (Some('\\'), Some('\n')) => {
                    self.pos += 2;
                    if self.peek().is_none() {
                        return Err(SyntaxError::UnexpectedEof);
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn next_token(&mut self) -> Result<Option<Token>, SyntaxError> {
        self.skip_blanks()?;
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        if c == '#' {
            while !matches!(self.peek(), None | Some('\n')) {
                self.pos += 1;
            }
            return self.next_token();
        }
        if c == '\n' {
            self.pos += 1;
            return Ok(Some(Token::Newline));
        }
        if let Some(op) = self.operator() {
            return Ok(Some(Token::Op(op)));
        }
        if let Some(n) = self.io_number() {
            return Ok(Some(Token::IoNumber(n)));
        }
        self.word().map(|w| Some(Token::Word(w)))
    }

    fn operator(&mut self) -> Option<Op> {
        let two = (self.peek()?, self.peek_at(1).unwrap_or('\0'));
        let (op, len) = match two {
            ('|', '|') => (Op::OrIf, 2),
            ('&', '&') => (Op::AndIf, 2),
            (';', ';') => (Op::DSemi, 2),
            ('>', '>') => (Op::DGreat, 2),
            ('>', '&') => (Op::GreatAnd, 2),
            ('<', '&') => (Op::LessAnd, 2),
            ('|', _) => (Op::Pipe, 1),
            ('&', _) => (Op::Amp, 1),
            (';', _) => (Op::Semi, 1),
            ('<', _) => (Op::Less, 1),
            ('>', _) => (Op::Great, 1),
            ('(', _) => (Op::LParen, 1),
            (')', _) => (Op::RParen, 1),
            _ => return None,
        };
        self.pos += len;
        Some(op)
    }

    /// Digits immediately followed by `<` or `>` (as in `2>`).
    fn io_number(&mut self) -> Option<u32> {
        let mut end = self.pos;
        while self.chars.get(end).is_some_and(|c| c.is_ascii_digit()) {
            end += 1;
        }
        if end == self.pos || !matches!(self.chars.get(end), Some('<' | '>')) {
            return None;
        }
        let digits: String = self.chars[self.pos..end].iter().collect();
        // A descriptor number too large to be one is left as a word.
        let n = digits.parse::<u32>().ok().filter(|&n| n < 1024)?;
        self.pos = end;
        Some(n)
    }

    fn word(&mut self) -> Result<Word, SyntaxError> {
        let start = self.pos;
        let mut b = PartsBuilder::default();
        while let Some(c) = self.peek() {
            if is_meta(c) {
                break;
            }
            match c {
                '\\' => self.backslash(&mut b)?,
                '\'' => self.single_quoted(&mut b)?,
                '"' => self.double_quoted(&mut b)?,
                '$' => self.dollar(&mut b, false)?,
                _ => {
                    self.pos += 1;
                    b.push_literal(c);
                }
            }
        }
        let raw = self.chars[start..self.pos].iter().collect();
        Ok(Word {
            parts: b.parts,
            raw,
        })
    }

    fn backslash(&mut self, b: &mut PartsBuilder) -> Result<(), SyntaxError> {
        self.pos += 1;
        match self.peek() {
            // Line continuation inside a word: both characters vanish.
            Some('\n') => {
                self.pos += 1;
                if self.peek().is_none() {
                    return Err(SyntaxError::UnexpectedEof);
                }
            }
            Some(c) => {
                self.pos += 1;
                b.push_quoted(c.encode_utf8(&mut [0; 4]));
            }
            None => b.push_quoted("\\"),
        }
        Ok(())
    }

    fn single_quoted(&mut self, b: &mut PartsBuilder) -> Result<(), SyntaxError> {
        self.pos += 1;
        let start = self.pos;
        while self.peek().ok_or(SyntaxError::UnterminatedQuote('\''))? != '\'' {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        self.pos += 1;
        // '' still makes a quoted part: an empty word, not no word.
        b.push_quoted(&text);
        Ok(())
    }

    fn double_quoted(&mut self, b: &mut PartsBuilder) -> Result<(), SyntaxError> {
        self.pos += 1;
        b.push_quoted("");
        loop {
            let c = self.peek().ok_or(SyntaxError::UnterminatedQuote('"'))?;
            match c {
                '"' => {
                    self.pos += 1;
                    return Ok(());
                }
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some('\n') => self.pos += 1,
                        Some(e @ ('$' | '`' | '"' | '\\')) => {
                            self.pos += 1;
                            b.push_quoted(e.encode_utf8(&mut [0; 4]));
                        }
                        _ => b.push_quoted("\\"),
                    }
                }
                '$' => self.dollar(b, true)?,
                _ => {
                    self.pos += 1;
                    b.push_quoted(c.encode_utf8(&mut [0; 4]));
                }
            }
        }
    }

    /// `$NAME`, `${NAME}`, `$?` and friends; a `$` followed by anything
    /// else is a literal dollar sign.
    fn dollar(&mut self, b: &mut PartsBuilder, quoted: bool) -> Result<(), SyntaxError> {
        self.pos += 1;
        let name = match self.peek() {
            Some('{') => self.braced_name()?,
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c == '_' || c.is_ascii_alphanumeric())
                {
                    self.pos += 1;
                }
                self.chars[start..self.pos].iter().collect()
            }
            Some(c) if is_special_param(c) => {
                self.pos += 1;
                c.to_string()
            }
            _ => {
                if quoted {
                    b.push_quoted("$");
                } else {
                    b.push_literal('$');
                }
                return Ok(());
            }
        };
        b.parts.push(WordPart::Param { name, quoted });
        Ok(())
    }

    fn braced_name(&mut self) -> Result<String, SyntaxError> {
        self.pos += 1;
        let start = self.pos;
        while self.peek().ok_or(SyntaxError::UnexpectedEof)? != '}' {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        self.pos += 1;
        let single_special = name.chars().count() == 1 && name.chars().all(is_special_param);
        let positional = !name.is_empty() && name.chars().all(|c| c.is_ascii_digit());
        if is_name(&name) || single_special || positional {
            Ok(name)
        } else {
            Err(SyntaxError::BadSubstitution(alloc::format!("${{{name}}}")))
        }
    }
}
