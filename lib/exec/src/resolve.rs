//! Which file an `execve` runs in the end (Linux's `search_binary_handler`
//! loop over `binfmt_script`): read the path; an ELF file is the answer;
//! a `#!` script is replaced by its interpreter with `argv` rewritten
//! (`interpreter [argument] path argv[1..]`, [`script_argv`]); at most
//! [`MAX_INTERPRETER_DEPTH`] rewrites (`TooManyInterpreters`: `ELOOP`).
//! Anything else is `UnknownFormat` (`ENOEXEC`). The reading is the
//! caller's (a closure), so this is pure and host-tested.

use alloc::vec::Vec;

use crate::error::ExecError;
use crate::script::{classify, script_argv, Binary, BINPRM_BUF_SIZE, MAX_INTERPRETER_DEPTH};

/// The program an `execve` runs: its bytes, what the reader said of it
/// (`K`: a cache key), the path it came from and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved<K> {
    pub image: Vec<u8>,
    pub key: K,
    pub path: Vec<u8>,
    pub argv: Vec<Vec<u8>>,
}

/// Why no program was found: the reader's error, or the file's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolveError<E> {
    Read(E),
    Exec(ExecError),
}

/// Follows `#!` lines from `path` (with `argv`), reading each file with
/// `read` (which checks permissions: its error comes back as `Read`).
pub fn resolve<K, E>(
    mut read: impl FnMut(&[u8]) -> Result<(Vec<u8>, K), E>,
    path: &[u8],
    argv: &[&[u8]],
) -> Result<Resolved<K>, ResolveError<E>> {
    let mut path = path.to_vec();
    let mut argv: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
    for _ in 0..=MAX_INTERPRETER_DEPTH {
        let (image, key) = read(&path).map_err(ResolveError::Read)?;
        let head = &image[..image.len().min(BINPRM_BUF_SIZE)];
        match classify(head).map_err(ResolveError::Exec)? {
            Binary::Elf => {
                return Ok(Resolved {
                    image,
                    key,
                    path,
                    argv,
                })
            }
            Binary::Script(script) => {
                let old: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
                let new: Vec<Vec<u8>> = script_argv(&script, &path, &old)
                    .into_iter()
                    .map(<[u8]>::to_vec)
                    .collect();
                let interpreter = script.interpreter.to_vec();
                argv = new;
                path = interpreter;
            }
        }
    }
    Err(ResolveError::Exec(ExecError::TooManyInterpreters))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const ELF: &[u8] = b"\x7fELF rest of an ELF file";

    fn files(list: &[(&str, &[u8])]) -> HashMap<Vec<u8>, Vec<u8>> {
        list.iter()
            .map(|(p, b)| (p.as_bytes().to_vec(), b.to_vec()))
            .collect()
    }

    fn run(
        fs: &HashMap<Vec<u8>, Vec<u8>>,
        path: &str,
        argv: &[&str],
    ) -> Result<Resolved<usize>, ResolveError<&'static str>> {
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        let mut reads = 0;
        resolve(
            |p| {
                reads += 1;
                fs.get(p).cloned().map(|b| (b, reads)).ok_or("ENOENT")
            },
            path.as_bytes(),
            &argv,
        )
    }

    fn strings(argv: &[Vec<u8>]) -> Vec<&str> {
        argv.iter()
            .map(|a| core::str::from_utf8(a).unwrap())
            .collect()
    }

    #[test]
    fn an_elf_file_is_its_own_answer() {
        let fs = files(&[("/bin/true", ELF)]);
        let r = run(&fs, "/bin/true", &["true", "x"]).unwrap();
        assert_eq!(r.path, b"/bin/true");
        assert_eq!(strings(&r.argv), ["true", "x"]);
        assert_eq!(r.key, 1);
        assert_eq!(r.image, ELF);
    }

    #[test]
    fn a_script_runs_its_interpreter_with_the_path_and_the_arguments() {
        let fs = files(&[("/bin/sh", ELF), ("/tmp/s", b"#!/bin/sh -e\necho hi\n")]);
        let r = run(&fs, "/tmp/s", &["s", "a", "b"]).unwrap();
        assert_eq!(r.path, b"/bin/sh");
        assert_eq!(strings(&r.argv), ["/bin/sh", "-e", "/tmp/s", "a", "b"]);
        assert_eq!(r.key, 2, "the key is the interpreter's read");
    }

    #[test]
    fn scripts_may_nest_four_deep_not_five() {
        let mut list: Vec<(String, Vec<u8>)> = vec![("/s0".into(), ELF.to_vec())];
        for i in 1..=5 {
            list.push((format!("/s{i}"), format!("#!/s{}\n", i - 1).into_bytes()));
        }
        let fs: HashMap<Vec<u8>, Vec<u8>> =
            list.into_iter().map(|(p, b)| (p.into_bytes(), b)).collect();
        let four = run(&fs, "/s4", &["s4"]).unwrap();
        assert_eq!(four.path, b"/s0");
        assert_eq!(strings(&four.argv), ["/s0", "/s1", "/s2", "/s3", "/s4"]);
        assert_eq!(
            run(&fs, "/s5", &["s5"]),
            Err(ResolveError::Exec(ExecError::TooManyInterpreters))
        );
        let loop_fs = files(&[("/a", b"#!/a\n")]);
        assert_eq!(
            run(&loop_fs, "/a", &[]),
            Err(ResolveError::Exec(ExecError::TooManyInterpreters))
        );
    }

    #[test]
    fn other_files_and_missing_ones_are_errors() {
        let fs = files(&[
            ("/text", b"hello\n"),
            ("/empty", b""),
            ("/noint", b"#!   \n"),
            ("/gone", b"#!/nowhere\n"),
        ]);
        assert_eq!(
            run(&fs, "/text", &[]),
            Err(ResolveError::Exec(ExecError::UnknownFormat))
        );
        assert_eq!(
            run(&fs, "/empty", &[]),
            Err(ResolveError::Exec(ExecError::UnknownFormat))
        );
        assert_eq!(
            run(&fs, "/noint", &[]),
            Err(ResolveError::Exec(ExecError::ScriptWithoutInterpreter))
        );
        assert_eq!(run(&fs, "/gone", &[]), Err(ResolveError::Read("ENOENT")));
        assert_eq!(run(&fs, "/missing", &[]), Err(ResolveError::Read("ENOENT")));
    }
}
