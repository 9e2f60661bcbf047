//! Which file an `execve` (or `Spawn`) runs: the path read through the
//! image source, and while it is a `#!` script, its interpreter instead
//! (Linux's `binfmt_script`: `argv` becomes `interpreter [argument]
//! path argv[1..]`), at most `exec::script::MAX_INTERPRETER_DEPTH`
//! times (`ELOOP` beyond). Anything neither ELF nor `#!` is `ENOEXEC`.

use alloc::vec::Vec;

use libsys::errno::Errno;

use crate::image::{FileKey, ImageSource};

/// The program to run: its bytes and key, the path it was read from and
/// the arguments it gets.
pub struct Resolved {
    pub image: Vec<u8>,
    pub key: FileKey,
    pub path: Vec<u8>,
    pub argv: Vec<Vec<u8>>,
}

/// Follows `#!` lines from `path` with `argv`.
pub fn resolve(
    images: &mut dyn ImageSource,
    path: &[u8],
    argv: &[&[u8]],
) -> Result<Resolved, Errno> {
    let mut path = path.to_vec();
    let mut argv: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
    for _ in 0..=exec::script::MAX_INTERPRETER_DEPTH {
        let (image, key) = images.read_keyed(&path)?;
        let key = key.ok_or(Errno::ENOEXEC)?;
        let head = &image[..image.len().min(exec::script::BINPRM_BUF_SIZE)];
        match exec::classify(head) {
            Ok(exec::Binary::Elf) => {
                return Ok(Resolved {
                    image,
                    key,
                    path,
                    argv,
                })
            }
            Ok(exec::Binary::Script(script)) => {
                let old: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
                let new: Vec<Vec<u8>> = exec::script::script_argv(&script, &path, &old)
                    .into_iter()
                    .map(|a| a.to_vec())
                    .collect();
                let interpreter = script.interpreter.to_vec();
                argv = new;
                path = interpreter;
            }
            Err(e) => return Err(Errno::from_i32(e.errno()).unwrap_or(Errno::ENOEXEC)),
        }
    }
    Err(Errno::ELOOP)
}
