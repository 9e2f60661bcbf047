//! What the everyday tools (`ls`, `cat`, …) share: their arguments, the
//! error line (`ls: /x: No such file or directory`) and the exit through
//! the process server.

use alloc::string::String;
use alloc::vec::Vec;
use libsys::errno::Errno;

/// The arguments after the program's name (`argv[1..]`), owned.
pub fn args() -> Vec<String> {
    libsys::env::argv()
        .into_iter()
        .skip(1)
        .map(String::from)
        .collect()
}

/// Prints `tool: what: error` on stderr; status 1 for the caller.
pub fn fail(tool: &str, what: &str, e: Errno) -> i32 {
    libsys::errln!("{tool}: {what}: {e}");
    1
}

/// Prints `tool: message` on stderr; status 1 (a usage error is 2 by
/// the caller's choice).
pub fn complain(tool: &str, message: &str) -> i32 {
    libsys::errln!("{tool}: {message}");
    1
}

/// Splits leading `-xyz` options off `args` (up to `--`): the option
/// letters and the operands. An unknown letter (not in `known`) is the
/// error's letter.
pub fn options(args: &[String], known: &str) -> Result<(Vec<char>, Vec<String>), char> {
    let mut flags = Vec::new();
    let mut rest = args.iter();
    let mut operands = Vec::new();
    for arg in rest.by_ref() {
        if arg == "--" {
            break;
        }
        if arg.len() > 1 && arg.starts_with('-') {
            for c in arg[1..].chars() {
                if !known.contains(c) {
                    return Err(c);
                }
                flags.push(c);
            }
        } else {
            operands.push(arg.clone());
            break;
        }
    }
    operands.extend(rest.cloned());
    Ok((flags, operands))
}

/// Ends the program with `status` (through `libsys::posix::exit`).
pub fn exit(status: i32) -> ! {
    libsys::posix::exit(status)
}
