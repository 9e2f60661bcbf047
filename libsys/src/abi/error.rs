//! Why a system call failed: [`SysError`], and the two result registers.

use core::fmt;

/// Why a system call failed. 0 is not an error: it means success.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum SysError {
    /// No system call has this number.
    UnknownSyscall = 1,
    /// A pointer is outside user space, unmapped, or lacks the permission
    /// the call needs (read or write).
    BadAddress = 2,
    /// A length is larger than the call allows, or the range wraps.
    BadLength = 3,
    /// An argument is out of its range (e.g. an unknown log level).
    InvalidArgument = 4,
    /// A handle number names no object in the caller's handle table (never
    /// issued, closed, or from another process).
    BadHandle = 5,
    /// The handle names an object of another type.
    WrongType = 6,
    /// The handle lacks a right the call needs.
    NoRights = 7,
    /// The kernel or the caller's quota is out of memory.
    NoMemory = 8,
    /// The call would block and the caller asked it not to (timeout 0).
    WouldBlock = 9,
    /// The timeout expired.
    TimedOut = 10,
    /// The other side of an IPC died (or no one can answer any more).
    PeerDied = 11,
    /// The address range is mapped already, or the handle table is full.
    Exists = 12,
    /// Nothing is mapped there, or there is nothing to reply to.
    NotFound = 13,
    /// Refused whatever the rights: e.g. a device-memory region over RAM.
    NotAllowed = 14,
    /// A per-process limit on a kernel resource is reached (Linux's
    /// `EAGAIN` for an `RLIMIT_*`).
    OutOfResources = 15,
    /// The call was interrupted: its caller was let out by `thread_unblock`
    /// before a server received it (Linux's `EINTR`).
    Interrupted = 16,
}

impl SysError {
    pub const ALL: [SysError; 16] = [
        SysError::UnknownSyscall,
        SysError::BadAddress,
        SysError::BadLength,
        SysError::InvalidArgument,
        SysError::BadHandle,
        SysError::WrongType,
        SysError::NoRights,
        SysError::NoMemory,
        SysError::WouldBlock,
        SysError::TimedOut,
        SysError::PeerDied,
        SysError::Exists,
        SysError::NotFound,
        SysError::NotAllowed,
        SysError::OutOfResources,
        SysError::Interrupted,
    ];

    pub const fn description(self) -> &'static str {
        match self {
            SysError::UnknownSyscall => "no such system call",
            SysError::BadAddress => "bad address",
            SysError::BadLength => "bad length",
            SysError::InvalidArgument => "invalid argument",
            SysError::BadHandle => "no such handle",
            SysError::WrongType => "handle of the wrong type",
            SysError::NoRights => "handle lacks the right",
            SysError::NoMemory => "out of memory",
            SysError::WouldBlock => "would block",
            SysError::TimedOut => "timed out",
            SysError::PeerDied => "peer died",
            SysError::Exists => "already exists",
            SysError::NotFound => "not found",
            SysError::NotAllowed => "not allowed",
            SysError::OutOfResources => "out of resources",
            SysError::Interrupted => "interrupted",
        }
    }
}

/// Why a raw status word is not a [`SysError`]: it is 0 (success) or a code
/// the ABI does not define.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotAnError(pub u64);

impl TryFrom<u64> for SysError {
    type Error = NotAnError;

    fn try_from(code: u64) -> Result<Self, NotAnError> {
        SysError::ALL
            .into_iter()
            .find(|e| *e as u64 == code)
            .ok_or(NotAnError(code))
    }
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// Turns the two result registers into a `Result`. An undefined status code
/// is reported as [`SysError::InvalidArgument`] rather than trusted.
#[inline]
pub fn decode_result(status: u64, value: u64) -> Result<u64, SysError> {
    match status {
        0 => Ok(value),
        code => Err(SysError::try_from(code).unwrap_or(SysError::InvalidArgument)),
    }
}

/// The two result registers for a `Result`.
#[inline]
pub fn encode_result(result: Result<u64, SysError>) -> (u64, u64) {
    match result {
        Ok(value) => (0, value),
        Err(error) => (error as u64, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_round_trips_and_zero_is_success() {
        for error in SysError::ALL {
            assert_ne!(error as u64, 0);
            assert_eq!(SysError::try_from(error as u64), Ok(error));
            assert_eq!(decode_result(error as u64, 123), Err(error));
            assert!(!error.description().is_empty());
        }
        assert_eq!(SysError::try_from(0), Err(NotAnError(0)));
        assert_eq!(SysError::try_from(999), Err(NotAnError(999)));
        assert_eq!(decode_result(0, 42), Ok(42));
        assert_eq!(decode_result(999, 0), Err(SysError::InvalidArgument));
        assert_eq!(encode_result(Ok(7)), (0, 7));
        assert_eq!(encode_result(Err(SysError::PeerDied)), (11, 0));
    }
}
