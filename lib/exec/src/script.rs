//! `#!` scripts (Linux's `binfmt_script`): a file whose first line is
//! `#!interpreter [argument]` runs as `interpreter [argument] path
//! argv[1..]`. The line is read from the first [`BINPRM_BUF_SIZE`] bytes;
//! spaces and tabs separate the interpreter from the one optional
//! argument, which is everything after them (inner spaces included, as
//! Linux), trailing blanks trimmed. An interpreter may itself be a
//! script, up to [`MAX_INTERPRETER_DEPTH`] levels.

use alloc::vec::Vec;

use crate::error::ExecError;

/// How many bytes of the file the `#!` line must fit in (Linux's
/// `BINPRM_BUF_SIZE`).
pub const BINPRM_BUF_SIZE: usize = 256;
/// How many `#!` rewrites one `execve` may go through (Linux allows 4
/// before `ELOOP`).
pub const MAX_INTERPRETER_DEPTH: usize = 4;

/// What kind of program a file is, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary<'a> {
    /// An ELF file: plan it with `image::plan`.
    Elf,
    /// A `#!` script.
    Script(Script<'a>),
}

/// A parsed `#!` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Script<'a> {
    pub interpreter: &'a [u8],
    pub argument: Option<&'a [u8]>,
}

/// Classifies a file by its first bytes (at least the first
/// [`BINPRM_BUF_SIZE`] or the whole file if shorter). `UnknownFormat`
/// for anything else; a bad `#!` line gets its own error.
pub fn classify(head: &[u8]) -> Result<Binary<'_>, ExecError> {
    if head.starts_with(b"\x7fELF") {
        Ok(Binary::Elf)
    } else if head.starts_with(b"#!") {
        parse_script(head).map(Binary::Script)
    } else {
        Err(ExecError::UnknownFormat)
    }
}

const fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Parses the `#!` line at the start of `head`.
pub fn parse_script(head: &[u8]) -> Result<Script<'_>, ExecError> {
    let buf = &head[..head.len().min(BINPRM_BUF_SIZE)];
    let body = buf.strip_prefix(b"#!").ok_or(ExecError::UnknownFormat)?;
    let line = match body.iter().position(|&b| b == b'\n' || b == 0) {
        Some(end) => &body[..end],
        // No end of line in a full buffer: accept only if the
        // interpreter's name ends inside it (the argument is cut).
        None if buf.len() == BINPRM_BUF_SIZE => {
            let name_start = body.iter().position(|&b| !is_blank(b));
            let name_ends = name_start.is_some_and(|s| body[s..].iter().any(|&b| is_blank(b)));
            if !name_ends {
                return Err(ExecError::ScriptLineTooLong);
            }
            body
        }
        None => body,
    };
    let start = line
        .iter()
        .position(|&b| !is_blank(b))
        .ok_or(ExecError::ScriptWithoutInterpreter)?;
    let end = line
        .iter()
        .rposition(|&b| !is_blank(b))
        .map_or(start, |e| e + 1);
    let line = &line[start..end];
    let name_end = line.iter().position(|&b| is_blank(b)).unwrap_or(line.len());
    let interpreter = &line[..name_end];
    let rest = &line[name_end..];
    let argument = rest.iter().position(|&b| !is_blank(b)).map(|s| &rest[s..]);
    Ok(Script {
        interpreter,
        argument,
    })
}

/// The argument vector the interpreter runs with: `interpreter
/// [argument] path argv[1..]` (the script's own `argv[0]` is replaced by
/// its path, as Linux).
pub fn script_argv<'a>(script: &Script<'a>, path: &'a [u8], argv: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(argv.len() + 2);
    out.push(script.interpreter);
    out.extend(script.argument);
    out.push(path);
    out.extend(argv.iter().skip(1).copied());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(head: &[u8]) -> Result<Script<'_>, ExecError> {
        parse_script(head)
    }

    #[test]
    fn lines_and_arguments() {
        type Case<'a> = (&'a [u8], &'a [u8], Option<&'a [u8]>);
        let table: &[Case] = &[
            (b"#!/bin/sh\necho hi\n", b"/bin/sh", None),
            (b"#! /bin/sh\n", b"/bin/sh", None),
            (b"#!/bin/sh -e\n", b"/bin/sh", Some(b"-e")),
            (
                b"#!\t/usr/bin/env  python3 -u \t\n",
                b"/usr/bin/env",
                Some(b"python3 -u"),
            ),
            (b"#!/bin/sh", b"/bin/sh", None),
            (b"#!/bin/sh -x\0junk\n", b"/bin/sh", Some(b"-x")),
        ];
        for &(head, interpreter, argument) in table {
            assert_eq!(
                script(head),
                Ok(Script {
                    interpreter,
                    argument
                }),
                "{:?}",
                head
            );
        }
    }

    #[test]
    fn bad_lines() {
        assert_eq!(script(b"#!\n"), Err(ExecError::ScriptWithoutInterpreter));
        assert_eq!(
            script(b"#!   \t \n"),
            Err(ExecError::ScriptWithoutInterpreter)
        );
        let mut long = b"#!/".to_vec();
        long.resize(300, b'a');
        assert_eq!(script(&long), Err(ExecError::ScriptLineTooLong));
        let mut cut = b"#!/bin/sh ".to_vec();
        cut.resize(300, b'x');
        let parsed = script(&cut).unwrap();
        assert_eq!(parsed.interpreter, b"/bin/sh");
        assert_eq!(
            parsed.argument.unwrap().len(),
            BINPRM_BUF_SIZE - 10,
            "argument cut at the buffer"
        );
    }

    #[test]
    fn classify_and_argv() {
        assert_eq!(classify(b"\x7fELF\x02"), Ok(Binary::Elf));
        assert_eq!(classify(b"MZ"), Err(ExecError::UnknownFormat));
        assert_eq!(classify(b""), Err(ExecError::UnknownFormat));
        let Ok(Binary::Script(s)) = classify(b"#!/bin/sh -e\nexit 0\n") else {
            panic!()
        };
        let argv: [&[u8]; 3] = [b"run", b"a", b"b"];
        let out = script_argv(&s, b"/tmp/run.sh", &argv);
        assert_eq!(out, [&b"/bin/sh"[..], b"-e", b"/tmp/run.sh", b"a", b"b"]);
        let plain = Script {
            interpreter: b"/bin/sh",
            argument: None,
        };
        assert_eq!(script_argv(&plain, b"/x", &[]), [&b"/bin/sh"[..], b"/x"]);
    }
}
