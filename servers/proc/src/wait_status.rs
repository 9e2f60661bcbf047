//! The `wait4` status word, encoded exactly as Linux encodes it, and the
//! `W*` macros of `<sys/wait.h>` that take it apart.
//!
//! | how the child changed | status word (16 bits used) |
//! | --- | --- |
//! | exited with `code` | `(code & 0xff) << 8` |
//! | killed by `sig` | `sig & 0x7f`, plus `0x80` if it dumped core |
//! | stopped by `sig` | `(sig << 8) \| 0x7f` |
//! | continued (`SIGCONT`) | `0xffff` |
//!
//! The low seven bits tell the cases apart: 0 means exited, `0x7f` means
//! stopped (or continued, whose low byte is `0xff`), anything else is the
//! terminating signal.

/// `WNOHANG`: return at once (with no child) if none has changed.
pub const WNOHANG: u32 = 1;
/// `WUNTRACED`: also report children that stopped.
pub const WUNTRACED: u32 = 2;
/// `WCONTINUED`: also report stopped children resumed by `SIGCONT`.
pub const WCONTINUED: u32 = 8;

/// The status of a child that called `exit(code)`.
pub const fn exited(code: u8) -> i32 {
    (code as i32) << 8
}

/// The status of a child killed by signal `sig` (1..=64).
pub const fn signaled(sig: u8, core_dumped: bool) -> i32 {
    (sig as i32 & 0x7f) | if core_dumped { 0x80 } else { 0 }
}

/// The status of a child stopped by signal `sig`.
pub const fn stopped(sig: u8) -> i32 {
    ((sig as i32) << 8) | 0x7f
}

/// The status of a stopped child resumed by `SIGCONT`.
pub const CONTINUED: i32 = 0xffff;

/// `WIFEXITED(status)`: the child exited normally.
pub const fn wifexited(status: i32) -> bool {
    status & 0x7f == 0
}

/// `WEXITSTATUS(status)`: the low 8 bits of the child's exit code.
pub const fn wexitstatus(status: i32) -> i32 {
    (status & 0xff00) >> 8
}

/// `WIFSIGNALED(status)`: a signal killed the child. glibc's trick: the
/// low seven bits are neither 0 (exited) nor `0x7f` (stopped).
pub const fn wifsignaled(status: i32) -> bool {
    (((status & 0x7f) + 1) as i8 >> 1) > 0
}

/// `WTERMSIG(status)`: the signal that killed the child.
pub const fn wtermsig(status: i32) -> i32 {
    status & 0x7f
}

/// `WCOREDUMP(status)`: the child dumped core as it died.
pub const fn wcoredump(status: i32) -> bool {
    status & 0x80 != 0
}

/// `WIFSTOPPED(status)`: the child is stopped.
pub const fn wifstopped(status: i32) -> bool {
    status & 0xff == 0x7f
}

/// `WSTOPSIG(status)`: the signal that stopped the child.
pub const fn wstopsig(status: i32) -> i32 {
    wexitstatus(status)
}

/// `WIFCONTINUED(status)`: the child was resumed by `SIGCONT`.
pub const fn wifcontinued(status: i32) -> bool {
    status == CONTINUED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_linuxs_words() {
        assert_eq!(exited(0), 0);
        assert_eq!(exited(1), 0x0100);
        assert_eq!(exited(255), 0xff00);
        assert_eq!(signaled(9, false), 0x0009);
        assert_eq!(signaled(11, true), 0x008b);
        assert_eq!(stopped(19), 0x137f);
        assert_eq!(stopped(20), 0x147f);
        assert_eq!(CONTINUED, 0xffff);
    }

    #[test]
    fn exactly_one_macro_family_claims_each_status() {
        for code in 0..=255u8 {
            let s = exited(code);
            assert!(wifexited(s) && !wifsignaled(s) && !wifstopped(s) && !wifcontinued(s));
            assert_eq!(wexitstatus(s), code as i32);
        }
        for sig in 1..=64u8 {
            for core in [false, true] {
                let s = signaled(sig, core);
                assert!(wifsignaled(s) && !wifexited(s) && !wifstopped(s) && !wifcontinued(s));
                assert_eq!(wtermsig(s), sig as i32);
                assert_eq!(wcoredump(s), core);
            }
            let s = stopped(sig);
            assert!(wifstopped(s) && !wifexited(s) && !wifsignaled(s) && !wifcontinued(s));
            assert_eq!(wstopsig(s), sig as i32);
        }
        let s = CONTINUED;
        assert!(wifcontinued(s) && !wifexited(s) && !wifsignaled(s));
    }
}
