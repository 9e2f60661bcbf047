//! The parser: tokens to a [`List`], by recursive descent over the grammar
//! in the crate documentation.
//!
//! Reserved words (`if`, `then`, `do`, `done`, ...) are recognised only
//! where a command may start, as POSIX says, so `echo done` is an echo.
//! Nesting is bounded by [`MAX_DEPTH`], pipelines by [`MAX_PIPELINE`]:
//! hostile input gets a [`SyntaxError`], never a stack overflow.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::ast::{
    AndOr, Assign, Command, Compound, Connector, List, ListItem, Pipeline, RedirOp, Redirect,
    SimpleCommand,
};
use crate::error::SyntaxError;
use crate::lexer::{is_name, tokenize, Op, Token, Word, WordPart};

/// How deeply compound commands may nest.
pub const MAX_DEPTH: usize = 64;
/// The most commands in one pipeline.
pub const MAX_PIPELINE: usize = 256;

const RESERVED: [&str; 14] = [
    "if", "then", "elif", "else", "fi", "for", "in", "do", "done", "while", "until", "{", "}", "!",
];

/// True for the shell's reserved words (`type` reports them).
pub fn is_reserved(word: &str) -> bool {
    RESERVED.contains(&word)
}

/// Parses a whole script or command line. Fails with the first syntax
/// error; [`SyntaxError::is_incomplete`] says whether more input could fix it.
pub fn parse(src: &str) -> Result<List, SyntaxError> {
    let tokens = tokenize(src)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    p.skip_newlines();
    let list = p.list(&[])?;
    match p.peek() {
        None => Ok(list),
        Some(t) => Err(SyntaxError::UnexpectedToken(t.to_string())),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    /// The error for the token at the cursor (end of file if none).
    fn unexpected(&self) -> SyntaxError {
        match self.peek() {
            Some(t) => SyntaxError::UnexpectedToken(t.to_string()),
            None => SyntaxError::UnexpectedEof,
        }
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Token::Newline) {
            self.pos += 1;
        }
    }

    fn at_op(&self, op: Op) -> bool {
        self.peek() == Some(&Token::Op(op))
    }

    /// True if the cursor is at the reserved word `kw`.
    fn at_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.as_literal() == Some(kw))
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<(), SyntaxError> {
        if !self.at_keyword(kw) {
            return Err(self.unexpected());
        }
        self.pos += 1;
        Ok(())
    }

    /// A list ending at end of input, `)` or one of the words in `stop`.
    fn list(&mut self, stop: &[&str]) -> Result<List, SyntaxError> {
        let mut items = Vec::new();
        loop {
            if self.peek().is_none() || self.at_op(Op::RParen) {
                break;
            }
            if stop.iter().any(|kw| self.at_keyword(kw)) {
                break;
            }
            let and_or = self.and_or()?;
            let background = match self.peek() {
                Some(Token::Op(Op::Semi)) | Some(Token::Newline) => false,
                Some(Token::Op(Op::Amp)) => true,
                _ => {
                    items.push(ListItem {
                        and_or,
                        background: false,
                    });
                    break;
                }
            };
            self.pos += 1;
            items.push(ListItem { and_or, background });
            self.skip_newlines();
        }
        Ok(List { items })
    }

    /// A list that must hold at least one command (the bodies of compound
    /// commands): `if then` is an error at `then`.
    fn compound_list(&mut self, stop: &[&str]) -> Result<List, SyntaxError> {
        self.skip_newlines();
        let list = self.list(stop)?;
        if list.items.is_empty() {
            return Err(self.unexpected());
        }
        Ok(list)
    }

    fn and_or(&mut self) -> Result<AndOr, SyntaxError> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let connector = match self.peek() {
                Some(Token::Op(Op::AndIf)) => Connector::And,
                Some(Token::Op(Op::OrIf)) => Connector::Or,
                _ => return Ok(AndOr { first, rest }),
            };
            self.pos += 1;
            self.skip_newlines();
            rest.push((connector, self.pipeline()?));
        }
    }

    fn pipeline(&mut self) -> Result<Pipeline, SyntaxError> {
        let bang = self.at_keyword("!");
        if bang {
            self.pos += 1;
        }
        let mut commands = alloc::vec![self.command()?];
        while self.at_op(Op::Pipe) {
            self.pos += 1;
            self.skip_newlines();
            if commands.len() == MAX_PIPELINE {
                return Err(SyntaxError::TooLong);
            }
            commands.push(self.command()?);
        }
        Ok(Pipeline { bang, commands })
    }

    fn command(&mut self) -> Result<Command, SyntaxError> {
        let keyword = match self.peek() {
            Some(Token::Word(w)) => w.as_literal().filter(|s| is_reserved(s) && *s != "in"),
            Some(Token::IoNumber(_)) => None,
            Some(Token::Op(op)) if redirect_op(*op).is_some() => None,
            _ => return Err(self.unexpected()),
        };
        let Some(kw) = keyword.map(String::from) else {
            return self.simple_command().map(Command::Simple);
        };
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SyntaxError::TooDeep);
        }
        let compound = match kw.as_str() {
            "if" => self.if_clause()?,
            "for" => self.for_clause()?,
            "while" | "until" => self.while_clause(kw == "until")?,
            "{" => self.group()?,
            _ => return Err(self.unexpected()),
        };
        self.depth -= 1;
        let mut redirects = Vec::new();
        while let Some(r) = self.redirect()? {
            redirects.push(r);
        }
        Ok(Command::Compound(compound, redirects))
    }

    fn simple_command(&mut self) -> Result<SimpleCommand, SyntaxError> {
        let mut cmd = SimpleCommand::default();
        loop {
            if let Some(r) = self.redirect()? {
                cmd.redirects.push(r);
                continue;
            }
            let Some(Token::Word(w)) = self.peek() else {
                break;
            };
            let w = w.clone();
            self.pos += 1;
            match assignment(&w) {
                Some(a) if cmd.words.is_empty() => cmd.assigns.push(a),
                _ => cmd.words.push(w),
            }
        }
        Ok(cmd)
    }

    /// A redirection at the cursor, if there is one.
    fn redirect(&mut self) -> Result<Option<Redirect>, SyntaxError> {
        let (fd, op_pos) = match self.peek() {
            Some(Token::IoNumber(n)) => (Some(*n), self.pos + 1),
            _ => (None, self.pos),
        };
        let Some(Token::Op(op)) = self.tokens.get(op_pos) else {
            return Ok(None);
        };
        let Some((default_fd, rop)) = redirect_op(*op) else {
            return Ok(None);
        };
        self.pos = op_pos + 1;
        match self.next() {
            Some(Token::Word(target)) => Ok(Some(Redirect {
                fd: fd.unwrap_or(default_fd),
                op: rop,
                target,
            })),
            Some(t) => Err(SyntaxError::UnexpectedToken(t.to_string())),
            None => Err(SyntaxError::UnexpectedEof),
        }
    }

    fn if_clause(&mut self) -> Result<Compound, SyntaxError> {
        self.pos += 1;
        let mut arms = Vec::new();
        loop {
            let cond = self.compound_list(&["then"])?;
            self.expect_keyword("then")?;
            let body = self.compound_list(&["elif", "else", "fi"])?;
            arms.push((cond, body));
            if !self.at_keyword("elif") {
                break;
            }
            self.pos += 1;
        }
        let mut otherwise = None;
        if self.at_keyword("else") {
            self.pos += 1;
            otherwise = Some(self.compound_list(&["fi"])?);
        }
        self.expect_keyword("fi")?;
        Ok(Compound::If { arms, otherwise })
    }

    fn for_clause(&mut self) -> Result<Compound, SyntaxError> {
        self.pos += 1;
        let var = match self.peek() {
            Some(Token::Word(w)) if w.as_literal().is_some_and(is_name) => w.raw.clone(),
            _ => return Err(self.unexpected()),
        };
        self.pos += 1;
        self.skip_newlines();
        let mut words = None;
        if self.at_keyword("in") {
            self.pos += 1;
            let mut list = Vec::new();
            while let Some(Token::Word(w)) = self.peek() {
                list.push(w.clone());
                self.pos += 1;
            }
            words = Some(list);
            self.separator()?;
        } else if self.at_op(Op::Semi) {
            self.pos += 1;
        }
        self.skip_newlines();
        self.expect_keyword("do")?;
        let body = self.compound_list(&["done"])?;
        self.expect_keyword("done")?;
        Ok(Compound::For { var, words, body })
    }

    /// `;` or newline(s), as after `for x in a b c`.
    fn separator(&mut self) -> Result<(), SyntaxError> {
        match self.peek() {
            Some(Token::Op(Op::Semi)) | Some(Token::Newline) => {
                self.pos += 1;
                self.skip_newlines();
                Ok(())
            }
            _ => Err(self.unexpected()),
        }
    }

    fn while_clause(&mut self, until: bool) -> Result<Compound, SyntaxError> {
        self.pos += 1;
        let cond = self.compound_list(&["do"])?;
        self.expect_keyword("do")?;
        let body = self.compound_list(&["done"])?;
        self.expect_keyword("done")?;
        Ok(Compound::While { cond, body, until })
    }

    fn group(&mut self) -> Result<Compound, SyntaxError> {
        self.pos += 1;
        let list = self.compound_list(&["}"])?;
        self.expect_keyword("}")?;
        Ok(Compound::Group(list))
    }
}

/// The default descriptor and meaning of a redirection operator.
fn redirect_op(op: Op) -> Option<(u32, RedirOp)> {
    Some(match op {
        Op::Less => (0, RedirOp::Read),
        Op::Great => (1, RedirOp::Write),
        Op::DGreat => (1, RedirOp::Append),
        Op::LessAnd => (0, RedirOp::Dup),
        Op::GreatAnd => (1, RedirOp::Dup),
        _ => return None,
    })
}

/// `NAME=value` as an assignment, if the word is one (the `=` and the
/// name must be unquoted).
fn assignment(w: &Word) -> Option<Assign> {
    let Some(WordPart::Literal(first)) = w.parts.first() else {
        return None;
    };
    let eq = first.find('=')?;
    let name = &first[..eq];
    if !is_name(name) {
        return None;
    }
    let mut parts = Vec::new();
    if eq + 1 < first.len() {
        parts.push(WordPart::Literal(first[eq + 1..].to_string()));
    }
    parts.extend(w.parts[1..].iter().cloned());
    let raw = w.raw.get(eq + 1..).unwrap_or("").to_string();
    Some(Assign {
        name: name.to_string(),
        value: Word { parts, raw },
    })
}
