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

pub use libsys::posix::options;

/// Ends the program with `status` (through `libsys::posix::exit`).
pub fn exit(status: i32) -> ! {
    libsys::posix::exit(status)
}
