//! Linux's error numbers: [`Errno`], with the names and x86_64 numbers that
//! `<asm-generic/errno-base.h>` and `<asm-generic/errno.h>` give them and the
//! text glibc's `strerror` prints.
//!
//! Every file call of the system (the VFS and the POSIX-like surface of
//! `libsys`) returns `Result<_, Errno>`. The numbers cross IPC as `i32`:
//! [`Errno::from_i32`] turns an unknown number into an error value instead
//! of panicking, so a hostile or newer peer cannot crash the reader.

use core::fmt;

macro_rules! errnos {
    ($($name:ident = $num:literal, $text:literal;)*) => {
        /// A Linux error number (x86_64 values). Aliases that share a number
        /// in Linux (`EWOULDBLOCK`, `ENOTSUP`, `EDEADLOCK`) are associated
        /// constants.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(serde::Serialize, serde::Deserialize, postcard::experimental::max_size::MaxSize)]
        #[repr(i32)]
        pub enum Errno {
            $(#[doc = $text] $name = $num,)*
        }

        impl Errno {
            /// Every error number this enum knows, in numeric order.
            pub const ALL: &'static [Errno] = &[$(Errno::$name,)*];

            /// The number from `-1`-returning calls' `errno` (positive).
            pub const fn as_i32(self) -> i32 {
                self as i32
            }

            /// The `Errno` with that number, or `Err(UnknownErrno)` for a
            /// number this enum does not know (0 and negatives included).
            pub const fn from_i32(num: i32) -> Result<Errno, UnknownErrno> {
                match num {
                    $($num => Ok(Errno::$name),)*
                    _ => Err(UnknownErrno(num)),
                }
            }

            /// The symbolic name, e.g. `"ENOENT"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }

            /// What `strerror` says, e.g. `"No such file or directory"`.
            pub const fn description(self) -> &'static str {
                match self {
                    $(Errno::$name => $text,)*
                }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    ENOTBLK = 15, "Block device required";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Invalid cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    ETXTBSY = 26, "Text file busy";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    EDOM = 33, "Numerical argument out of domain";
    ERANGE = 34, "Numerical result out of range";
    EDEADLK = 35, "Resource deadlock avoided";
    ENAMETOOLONG = 36, "File name too long";
    ENOLCK = 37, "No locks available";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many levels of symbolic links";
    ENOMSG = 42, "No message of desired type";
    EIDRM = 43, "Identifier removed";
    ENODATA = 61, "No data available";
    ETIME = 62, "Timer expired";
    EPROTO = 71, "Protocol error";
    EBADMSG = 74, "Bad message";
    EOVERFLOW = 75, "Value too large for defined data type";
    EILSEQ = 84, "Invalid or incomplete multibyte or wide character";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EOPNOTSUPP = 95, "Operation not supported";
    EADDRINUSE = 98, "Address already in use";
    ECONNRESET = 104, "Connection reset by peer";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    EALREADY = 114, "Operation already in progress";
    EINPROGRESS = 115, "Operation now in progress";
    ESTALE = 116, "Stale file handle";
    EUCLEAN = 117, "Structure needs cleaning";
    EDQUOT = 122, "Disk quota exceeded";
    ECANCELED = 125, "Operation canceled";
    // Linux's kernel-internal "restart the call" (never seen by a Linux
    // program): a server's answer that libsys's call wrappers turn into
    // the call made again, or `EINTR` (see `posix::restartable`).
    ERESTARTSYS = 512, "Interrupted system call should be restarted";
}

impl Errno {
    /// `EWOULDBLOCK` is `EAGAIN` in Linux.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// `ENOTSUP` is `EOPNOTSUPP` in Linux.
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;
    /// `EDEADLOCK` is `EDEADLK` on x86_64.
    pub const EDEADLOCK: Errno = Errno::EDEADLK;
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl From<Errno> for i32 {
    fn from(e: Errno) -> i32 {
        e.as_i32()
    }
}

impl TryFrom<i32> for Errno {
    type Error = UnknownErrno;
    fn try_from(num: i32) -> Result<Errno, UnknownErrno> {
        Errno::from_i32(num)
    }
}

/// A number that is not one of [`Errno`]'s (carried so it can be logged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownErrno(pub i32);

impl fmt::Display for UnknownErrno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unknown error {}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn numbers_are_linuxs() {
        let expected = [
            (Errno::EPERM, 1),
            (Errno::ENOENT, 2),
            (Errno::EINTR, 4),
            (Errno::EBADF, 9),
            (Errno::EAGAIN, 11),
            (Errno::EACCES, 13),
            (Errno::EBUSY, 16),
            (Errno::EXDEV, 18),
            (Errno::EINVAL, 22),
            (Errno::ENFILE, 23),
            (Errno::EMFILE, 24),
            (Errno::ENOTTY, 25),
            (Errno::ETXTBSY, 26),
            (Errno::ESPIPE, 29),
            (Errno::EPIPE, 32),
            (Errno::ERANGE, 34),
            (Errno::ENAMETOOLONG, 36),
            (Errno::ENOSYS, 38),
            (Errno::ENOTEMPTY, 39),
            (Errno::ELOOP, 40),
            (Errno::EOVERFLOW, 75),
            (Errno::EOPNOTSUPP, 95),
            (Errno::EUCLEAN, 117),
        ];
        for (e, n) in expected {
            assert_eq!(e.as_i32(), n, "{}", e.name());
        }
        assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
        assert_eq!(Errno::ENOTSUP.as_i32(), 95);
    }

    #[test]
    fn round_trip_every_number() {
        for &e in Errno::ALL {
            assert_eq!(Errno::from_i32(e.as_i32()), Ok(e));
            assert_eq!(Errno::try_from(i32::from(e)), Ok(e));
        }
        let mut sorted = Errno::ALL.to_vec();
        sorted.dedup();
        assert_eq!(sorted.len(), Errno::ALL.len());
    }

    #[test]
    fn unknown_numbers_are_errors() {
        for n in [0, -1, 41, 58, 134, 4095, i32::MIN, i32::MAX] {
            assert_eq!(Errno::from_i32(n), Err(UnknownErrno(n)));
        }
        assert_eq!(UnknownErrno(41).to_string(), "Unknown error 41");
    }

    #[test]
    fn names_and_text() {
        assert_eq!(Errno::ENOENT.name(), "ENOENT");
        assert_eq!(Errno::ENOENT.to_string(), "No such file or directory");
        assert_eq!(Errno::EXDEV.to_string(), "Invalid cross-device link");
        assert_eq!(Errno::EAGAIN.name(), "EAGAIN");
        for &e in Errno::ALL {
            assert!(e.name().starts_with('E'));
            assert!(!e.description().is_empty());
        }
    }
}
