//! Why a process request failed: [`Errno`], with Linux's numbers so that
//! `libsys`'s POSIX surface can hand them to programs unchanged.
//!
//! A local type until `libsys::errno` exists (the VFS work adds it); the
//! numbers are Linux x86_64's, so unifying the two is a rename.

use core::fmt;

/// A Linux error number (`errno`), as a typed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Errno {
    /// Operation not permitted.
    EPERM = 1,
    /// No such process.
    ESRCH = 3,
    /// Interrupted system call.
    EINTR = 4,
    /// Argument list too long.
    E2BIG = 7,
    /// Exec format error.
    ENOEXEC = 8,
    /// No child processes.
    ECHILD = 10,
    /// Resource temporarily unavailable (a limit was reached).
    EAGAIN = 11,
    /// Out of memory.
    ENOMEM = 12,
    /// Permission denied.
    EACCES = 13,
    /// The object exists already.
    EEXIST = 17,
    /// Invalid argument.
    EINVAL = 22,
}

impl Errno {
    /// The number a program sees in `errno`.
    pub const fn number(self) -> i32 {
        self as i32
    }

    /// The C name, as `strerror`'s callers print it.
    pub const fn name(self) -> &'static str {
        match self {
            Errno::EPERM => "EPERM",
            Errno::ESRCH => "ESRCH",
            Errno::EINTR => "EINTR",
            Errno::E2BIG => "E2BIG",
            Errno::ENOEXEC => "ENOEXEC",
            Errno::ECHILD => "ECHILD",
            Errno::EAGAIN => "EAGAIN",
            Errno::ENOMEM => "ENOMEM",
            Errno::EACCES => "EACCES",
            Errno::EEXIST => "EEXIST",
            Errno::EINVAL => "EINVAL",
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_linux_x86_64() {
        let table = [
            (Errno::EPERM, 1),
            (Errno::ESRCH, 3),
            (Errno::EINTR, 4),
            (Errno::E2BIG, 7),
            (Errno::ENOEXEC, 8),
            (Errno::ECHILD, 10),
            (Errno::EAGAIN, 11),
            (Errno::ENOMEM, 12),
            (Errno::EACCES, 13),
            (Errno::EEXIST, 17),
            (Errno::EINVAL, 22),
        ];
        for (errno, number) in table {
            assert_eq!(errno.number(), number, "{}", errno.name());
        }
    }
}
