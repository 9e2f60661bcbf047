//! Printing to descriptors 1 and 2 for tools: [`Stdout`] and [`Stderr`]
//! (`fmt::Write` on the descriptor), and the `out!`, `outln!` and
//! `errln!` macros, which format a whole line first so that it reaches
//! the file in one `write`.

use alloc::string::String;
use core::fmt::{self, Write as _};

/// `fmt::Write` on a descriptor: every `write_str` is one `write`.
pub struct Fd(pub i32);

impl fmt::Write for Fd {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        match super::write(self.0, s.as_bytes()) {
            Ok(n) if n == s.len() => Ok(()),
            _ => Err(fmt::Error),
        }
    }
}

/// Standard output (descriptor 1).
pub fn stdout() -> Fd {
    Fd(1)
}

/// Standard error (descriptor 2).
pub fn stderr() -> Fd {
    Fd(2)
}

/// Formats `args` and writes the text to `fd` in one call; whether it
/// was all written.
pub fn print_to(fd: i32, args: fmt::Arguments) -> bool {
    let mut text = String::new();
    if text.write_fmt(args).is_err() {
        return false;
    }
    matches!(super::write(fd, text.as_bytes()), Ok(n) if n == text.len())
}

/// Like `print!`, to descriptor 1.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::posix::io::print_to(1, format_args!($($arg)*))
    };
}

/// Like `println!`, to descriptor 1.
#[macro_export]
macro_rules! outln {
    () => { $crate::posix::io::print_to(1, format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::posix::io::print_to(1, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Like `eprintln!`, to descriptor 2.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::posix::io::print_to(2, format_args!("{}\n", format_args!($($arg)*)))
    };
}
