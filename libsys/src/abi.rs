//! The kernel ABI: the one definition of system-call numbers, error codes
//! and log levels, shared by the kernel and user space.
//!
//! Register convention (x86_64, `syscall` instruction):
//! - in: `rax` = [`Syscall`] number; arguments in `rdi`, `rsi`, `rdx`, `r10`,
//!   `r8`, `r9` (`rcx` and `r11` are taken by the instruction itself);
//! - out: `rax` = 0 on success or a [`SysError`] code, `rdx` = the result
//!   value (0 when a call has none).
//!
//! Every conversion from a raw number is checked: an unknown number is an
//! error value, never a panic.

use core::fmt;

/// System-call numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum Syscall {
    /// Returns at once; measures the cost of entering and leaving the kernel.
    Null = 0,
    /// Writes a message to the kernel log: `rdi` = level, `rsi` = pointer,
    /// `rdx` = length (at most [`LOG_MAX`] bytes).
    Log = 1,
    /// Ends the calling process: `rdi` = exit status. Does not return.
    Exit = 2,
    /// Gives up the rest of the time slice.
    Yield = 3,
    /// Reads the clock: `rdi` = pointer to a [`ClockInfo`] to fill.
    Clock = 4,
    /// Reads the kernel log (`dmesg`): records from sequence number `rdi` on
    /// (or the oldest still kept) into the buffer `rsi`, `rdx` bytes long
    /// (at most [`LOG_READ_MAX`]), as whole lines in the format of Linux's
    /// `/dev/kmsg`: `<level>,<seq>,<microseconds>,-;<text>\n`. Returns the
    /// bytes written (0 when there is nothing new).
    LogRead = 5,
}

impl Syscall {
    pub const ALL: [Syscall; 6] = [
        Syscall::Null,
        Syscall::Log,
        Syscall::Exit,
        Syscall::Yield,
        Syscall::Clock,
        Syscall::LogRead,
    ];
}

impl TryFrom<u64> for Syscall {
    type Error = SysError;

    /// Fails with [`SysError::UnknownSyscall`] for a number no call has.
    fn try_from(number: u64) -> Result<Self, SysError> {
        Syscall::ALL
            .into_iter()
            .find(|call| *call as u64 == number)
            .ok_or(SysError::UnknownSyscall)
    }
}

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
    /// A handle number names no object in the caller's handle table.
    BadHandle = 5,
    /// The handle names an object of another type.
    WrongType = 6,
    /// The handle lacks a right the call needs.
    NoRights = 7,
    /// The kernel or the caller's quota is out of memory.
    NoMemory = 8,
    /// The call would block and the caller asked it not to.
    WouldBlock = 9,
    /// The timeout expired.
    TimedOut = 10,
    /// The other side of an IPC died.
    PeerDied = 11,
}

impl SysError {
    pub const ALL: [SysError; 11] = [
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

/// Kernel log levels, as Linux's `printk` has them: lower is more urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u64)]
pub enum LogLevel {
    Emerg = 0,
    Alert = 1,
    Crit = 2,
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

impl LogLevel {
    pub const ALL: [LogLevel; 8] = [
        LogLevel::Emerg,
        LogLevel::Alert,
        LogLevel::Crit,
        LogLevel::Err,
        LogLevel::Warning,
        LogLevel::Notice,
        LogLevel::Info,
        LogLevel::Debug,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            LogLevel::Emerg => "emerg",
            LogLevel::Alert => "alert",
            LogLevel::Crit => "crit",
            LogLevel::Err => "err",
            LogLevel::Warning => "warning",
            LogLevel::Notice => "notice",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }

    /// The level named `name` (`loglevel=` on the kernel command line takes
    /// a name or a number), or `None`.
    pub fn parse(name: &str) -> Option<LogLevel> {
        LogLevel::ALL
            .into_iter()
            .find(|level| level.name() == name || name.parse::<u64>() == Ok(*level as u64))
    }
}

impl TryFrom<u64> for LogLevel {
    type Error = SysError;

    /// Fails with [`SysError::InvalidArgument`] above 7.
    fn try_from(level: u64) -> Result<Self, SysError> {
        LogLevel::ALL
            .into_iter()
            .find(|l| *l as u64 == level)
            .ok_or(SysError::InvalidArgument)
    }
}

/// Where the kernel puts a new process's stack: its top (the page above is
/// never mapped). The stack is 64 KiB, with unmapped guard pages below.
pub const USER_STACK_TOP: u64 = 0x0000_7fff_fff0_0000;

/// The longest message one `log` call takes.
pub const LOG_MAX: usize = 1024;
/// The largest buffer one `log_read` call fills.
pub const LOG_READ_MAX: usize = 4096;

/// What [`Syscall::Clock`] fills in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ClockInfo {
    /// Timer ticks since boot.
    pub jiffies: u64,
    /// Ticks per second.
    pub hz: u64,
    /// Time-stamp counter ticks per second (measured at boot).
    pub tsc_hz: u64,
    /// Nanoseconds since the tick started (from the TSC).
    pub uptime_ns: u64,
}

bitflags::bitflags! {
    /// Access rights of a mapping (`mmap`'s `PROT_*`). x86_64 page tables
    /// cannot express write-only or execute-only pages, so every mapping is
    /// readable; a mapping is never writable and executable at once (W^X).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Protection: u64 {
        const READ = 1 << 0;
        const WRITE = 1 << 1;
        const EXEC = 1 << 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_syscall_number_round_trips() {
        for call in Syscall::ALL {
            assert_eq!(Syscall::try_from(call as u64), Ok(call));
        }
        let numbers: Vec<u64> = Syscall::ALL.iter().map(|c| *c as u64).collect();
        let mut sorted = numbers.clone();
        sorted.dedup();
        assert_eq!(numbers, sorted, "numbers are distinct and in order");
    }

    #[test]
    fn unknown_numbers_are_errors() {
        for number in [Syscall::ALL.len() as u64, 99, u64::MAX, 1 << 32] {
            assert_eq!(Syscall::try_from(number), Err(SysError::UnknownSyscall));
        }
    }

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

    #[test]
    fn log_levels() {
        for level in LogLevel::ALL {
            assert_eq!(LogLevel::try_from(level as u64), Ok(level));
            assert_eq!(LogLevel::parse(level.name()), Some(level));
        }
        assert_eq!(LogLevel::parse("4"), Some(LogLevel::Warning));
        assert_eq!(LogLevel::parse("loud"), None);
        assert_eq!(LogLevel::try_from(8), Err(SysError::InvalidArgument));
        assert!(LogLevel::Emerg < LogLevel::Debug);
    }
}
