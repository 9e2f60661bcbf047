//! `sh`: the shell's logic as a host-tested `no_std` core. The binary
//! (`userland/src/bin/sh`, on `libsys::posix`) reads lines through
//! [`editor::LineEditor`] and hands them to [`Shell::run_script`], which
//! makes every system call through the [`System`] trait.
//!
//! - [`lexer`]: input to tokens, keeping what was quoted.
//! - [`parser`]: tokens to the tree of [`ast`]; [`SyntaxError`]s.
//! - [`expand`] and [`glob`]: parameters, field splitting, pathnames.
//! - [`Shell`] (`shell.rs`, `exec.rs`, `pipeline.rs`, `builtins.rs`):
//!   the executor, pipelines and redirections, builtins, [`jobs`].
//! - [`editor`]: the line editor for a raw-mode terminal.
//!
//! # The grammar
//!
//! A POSIX subset, in the POSIX grammar's terms (`linebreak` is any
//! number of newlines, `sep` is `;` or newlines):
//!
//! ```text
//! program      := linebreak list
//! list         := and_or ((';' | '&' | NEWLINE) linebreak and_or)* [';' | '&']
//! and_or       := pipeline (('&&' | '||') linebreak pipeline)*
//! pipeline     := ['!'] command ('|' linebreak command)*
//! command      := simple | compound redirect*
//! simple       := (NAME=word)* (word | redirect)+      -- at least one item
//! compound     := 'if' list 'then' list ('elif' list 'then' list)* ['else' list] 'fi'
//!               | 'for' NAME [linebreak 'in' word* sep] linebreak 'do' list 'done'
//!               | 'while' list 'do' list 'done'
//!               | 'until' list 'do' list 'done'
//!               | '{' list '}'
//! redirect     := [N] ('<' | '>' | '>>') word
//!               | [N] ('<&' | '>&') (N | '-')          -- 2>&1, 3<&0, 2>&-
//! ```
//!
//! Words: `'…'` keeps everything literal; `"…"` keeps everything but `$`
//! and `\` before `$ " \ newline` (and `` ` ``); `\c` quotes one character;
//! backslash-newline continues a line; `#` at a word's start comments to
//! the end of the line. Expansions: `$NAME`, `${NAME}`, `$?`, `$$`, `$!`,
//! `$#`, `$0`…`$9`, `${10}`, `$@`, `"$@"`, `$*`, `~` and `~/…`; unquoted
//! expansions are split on `IFS`; unquoted `*`, `?`, `[…]` glob.
//! Not supported (a syntax error or a plain word): `case`, functions,
//! subshells `( )`, command substitution, arithmetic, here-documents.
//!
//! Builtins: `cd`, `pwd`, `exit`, `export`, `unset`, `echo`, `type`,
//! `source`/`.`, `jobs`, `fg`, `bg`, `set --`, `true`, `false`, `:`.
//! Assignments before a builtin stay set after it (POSIX keeps them only
//! for special builtins).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod ast;
mod builtins;
pub mod editor;
pub mod error;
mod exec;
pub mod expand;
pub mod glob;
pub mod jobctl;
pub mod jobs;
pub mod lexer;
pub mod parser;
mod pipeline;
mod shell;
pub mod system;

pub use builtins::is_builtin;
pub use error::SyntaxError;
pub use parser::parse;
pub use shell::{ExecError, Exit, Shell, Var, STATUS_SYNTAX};
pub use system::System;
