//! Kernel log levels and limits.

use super::SysError;

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

/// The longest message one `log` call takes.
pub const LOG_MAX: usize = 1024;
/// The largest buffer one `log_read` call fills.
pub const LOG_READ_MAX: usize = 4096;

/// Processes that may watch the kernel log at once (`log_notify`).
pub const LOG_WATCHERS_MAX: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

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
