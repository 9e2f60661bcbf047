//! The syntax tree the parser builds and the executor walks, named after
//! the POSIX grammar's productions (list, and-or, pipeline, command).
//! [`fmt::Display`] prints a command back in a normal form: the job table
//! shows it (`[1]+  Running  sleep 100 &`).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::lexer::Word;

/// Commands separated by `;`, `&` or newlines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct List {
    pub items: Vec<ListItem>,
}

/// One and-or list of a [`List`], run in the background if it ended in `&`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    pub and_or: AndOr,
    pub background: bool,
}

/// Pipelines joined by `&&` and `||` (left to right, equal precedence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AndOr {
    pub first: Pipeline,
    pub rest: Vec<(Connector, Pipeline)>,
}

/// `&&` or `||`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    And,
    Or,
}

/// Commands joined by `|`; `bang` for a leading `!` (negated status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub bang: bool,
    pub commands: Vec<Command>,
}

/// A simple command, or a compound command with its redirections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Simple(SimpleCommand),
    Compound(Compound, Vec<Redirect>),
}

/// `NAME=value... word... ` with redirections anywhere among them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SimpleCommand {
    pub assigns: Vec<Assign>,
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
}

/// `NAME=value` before a command's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assign {
    pub name: String,
    pub value: Word,
}

/// The compound commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compound {
    /// `if c; then b; elif c; then b; else b; fi`: the (condition, body)
    /// pairs in order, then the `else` body.
    If {
        arms: Vec<(List, List)>,
        otherwise: Option<List>,
    },
    /// `for NAME in words; do body; done`; `words` is `None` without `in`
    /// (then the loop runs over the positional parameters).
    For {
        var: String,
        words: Option<Vec<Word>>,
        body: List,
    },
    /// `while cond; do body; done`, or `until` when `until` is set.
    While { cond: List, body: List, until: bool },
    /// `{ list; }`.
    Group(List),
}

/// A redirection of descriptor `fd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub fd: u32,
    pub op: RedirOp,
    pub target: Word,
}

/// What a redirection does with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirOp {
    /// `<`: open the file for reading (default fd 0).
    Read,
    /// `>`: create or truncate the file (default fd 1).
    Write,
    /// `>>`: append to the file (default fd 1).
    Append,
    /// `<&N`, `>&N`: make fd a copy of N; `-` closes fd.
    Dup,
}

fn join<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T], sep: &str) -> fmt::Result {
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{it}")?;
    }
    Ok(())
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, it) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}{}", it.and_or, if it.background { " &" } else { ";" })?;
        }
        Ok(())
    }
}

impl fmt::Display for AndOr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first)?;
        for (c, p) in &self.rest {
            write!(f, " {} {p}", if *c == Connector::And { "&&" } else { "||" })?;
        }
        Ok(())
    }
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bang {
            f.write_str("! ")?;
        }
        join(f, &self.commands, " | ")
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Simple(s) => {
                let mut first = true;
                for a in &s.assigns {
                    write!(
                        f,
                        "{}{}={}",
                        if first { "" } else { " " },
                        a.name,
                        a.value.raw
                    )?;
                    first = false;
                }
                for w in &s.words {
                    write!(f, "{}{}", if first { "" } else { " " }, w.raw)?;
                    first = false;
                }
                for r in &s.redirects {
                    write!(f, "{}{r}", if first { "" } else { " " })?;
                    first = false;
                }
                Ok(())
            }
            Command::Compound(c, redirects) => {
                write!(f, "{c}")?;
                redirects.iter().try_for_each(|r| write!(f, " {r}"))
            }
        }
    }
}

impl fmt::Display for Compound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Compound::If { arms, otherwise } => {
                for (i, (c, b)) in arms.iter().enumerate() {
                    write!(f, "{} {c} then {b} ", if i == 0 { "if" } else { "elif" })?;
                }
                if let Some(e) = otherwise {
                    write!(f, "else {e} ")?;
                }
                f.write_str("fi")
            }
            Compound::For { var, words, body } => {
                write!(f, "for {var}")?;
                if let Some(ws) = words {
                    f.write_str(" in")?;
                    ws.iter().try_for_each(|w| write!(f, " {}", w.raw))?;
                }
                write!(f, "; do {body} done")
            }
            Compound::While { cond, body, until } => {
                write!(
                    f,
                    "{} {cond} do {body} done",
                    if *until { "until" } else { "while" }
                )
            }
            Compound::Group(l) => write!(f, "{{ {l} }}"),
        }
    }
}

impl fmt::Display for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (default_fd, op) = match self.op {
            RedirOp::Read => (0, "<"),
            RedirOp::Write => (1, ">"),
            RedirOp::Append => (1, ">>"),
            RedirOp::Dup => (1, ">&"),
        };
        if self.fd != default_fd || self.op == RedirOp::Dup && self.fd == 0 {
            write!(f, "{}", self.fd)?;
        }
        write!(f, "{op}{}", self.target.raw)
    }
}
