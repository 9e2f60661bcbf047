//! Terminal job control (POSIX "General Terminal Interface", 11.1.4;
//! Linux's `__tty_check_change` and `n_tty_read`'s `job_control`): what
//! becomes of a read, a write or an attribute change on the terminal
//! made by a process outside its foreground process group.
//!
//! | access | checked when | signal |
//! | --- | --- | --- |
//! | [`Access::Read`] | always | `SIGTTIN` |
//! | [`Access::Write`] | `TOSTOP` is set | `SIGTTOU` |
//! | [`Access::Change`] (`TCSETS`, `TCSETSW`, `TCSETSF`, `TIOCSPGRP`, `TIOCSWINSZ`) | always | `SIGTTOU` |
//!
//! Then, for a caller in the terminal's session but not in its
//! foreground group ([`decide`]):
//!
//! - the signal ignored or blocked by the caller: a read fails `EIO`,
//!   a write or a change goes ahead;
//! - the caller's group orphaned (no member has a parent in another
//!   group of the same session, so nobody would continue it): `EIO`;
//! - otherwise the caller's group is sent the signal and the call fails
//!   with [`Verdict::Restart`] (Linux's `-ERESTARTSYS`: made again when
//!   the process is continued, unless a handler without `SA_RESTART` ran,
//!   then `EINTR`).
//!
//! A caller outside the terminal's session (this system's stand-in for
//! "the terminal is not its controlling terminal": the terminal's
//! session is its foreground group's), or any caller while the terminal
//! has no foreground group, is not checked. This module decides; the
//! server gathers the [`Facts`] from the process server and carries the
//! verdict out.

/// `SIGTTIN` and `SIGTTOU` (x86_64 numbers).
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;

/// What the caller does to the terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    /// An attribute change: `TCSETS`/`TCSETSW`/`TCSETSF`, `TIOCSPGRP`,
    /// `TIOCSWINSZ`.
    Change,
}

impl Access {
    /// The signal a background caller's group gets.
    pub const fn signal(self) -> u32 {
        match self {
            Access::Read => SIGTTIN,
            Access::Write | Access::Change => SIGTTOU,
        }
    }
}

/// Whether a call needs the process server's [`Facts`] at all: not a
/// write while `TOSTOP` is clear, not a caller the server cannot name
/// (`pid` 0: the file server's own calls), not while the terminal has no
/// foreground group.
pub fn needs_check(access: Access, tostop: bool, foreground: u32, pid: u64) -> bool {
    pid != 0 && foreground != 0 && (access != Access::Write || tostop)
}

/// What the process server says about the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    /// The caller's process group.
    pub pgid: u32,
    /// Whether the caller is in the session of the terminal's
    /// foreground group.
    pub same_session: bool,
    /// Whether the caller ignores or blocks the signal.
    pub ignored: bool,
    /// Whether the caller's process group is orphaned.
    pub orphaned: bool,
}

/// What to do with the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Carry it out.
    Proceed,
    /// Fail it with `EIO`.
    Eio,
    /// Send `sig` to group `pgrp`, then fail the call so that it is made
    /// again once the process is continued.
    Restart { pgrp: u32, sig: u32 },
}

/// The verdict for `access` by a caller with `facts`, the terminal's
/// foreground group being `foreground` (module documentation).
pub fn decide(access: Access, foreground: u32, facts: &Facts) -> Verdict {
    if foreground == 0 || facts.pgid == foreground || !facts.same_session {
        return Verdict::Proceed;
    }
    if facts.ignored {
        return match access {
            Access::Read => Verdict::Eio,
            Access::Write | Access::Change => Verdict::Proceed,
        };
    }
    if facts.orphaned {
        return Verdict::Eio;
    }
    Verdict::Restart {
        pgrp: facts.pgid,
        sig: access.signal(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FG: u32 = 10;

    fn background() -> Facts {
        Facts {
            pgid: 20,
            same_session: true,
            ignored: false,
            orphaned: false,
        }
    }

    #[test]
    fn which_calls_are_checked() {
        assert!(needs_check(Access::Read, false, FG, 5));
        assert!(!needs_check(Access::Write, false, FG, 5), "no TOSTOP");
        assert!(needs_check(Access::Write, true, FG, 5));
        assert!(
            needs_check(Access::Change, false, FG, 5),
            "changes regardless of TOSTOP"
        );
        assert!(
            !needs_check(Access::Change, false, 0, 5),
            "no foreground group"
        );
        assert!(!needs_check(Access::Read, true, FG, 0), "no caller named");
    }

    #[test]
    fn foreground_callers_proceed() {
        let fg = Facts {
            pgid: FG,
            ..background()
        };
        for access in [Access::Read, Access::Write, Access::Change] {
            assert_eq!(decide(access, FG, &fg), Verdict::Proceed);
            assert_eq!(decide(access, 0, &background()), Verdict::Proceed);
        }
    }

    #[test]
    fn background_callers_are_signalled() {
        let bg = background();
        assert_eq!(
            decide(Access::Read, FG, &bg),
            Verdict::Restart {
                pgrp: 20,
                sig: SIGTTIN
            }
        );
        for access in [Access::Write, Access::Change] {
            assert_eq!(
                decide(access, FG, &bg),
                Verdict::Restart {
                    pgrp: 20,
                    sig: SIGTTOU
                }
            );
        }
    }

    #[test]
    fn ignored_or_blocked_signal() {
        let bg = Facts {
            ignored: true,
            ..background()
        };
        assert_eq!(decide(Access::Read, FG, &bg), Verdict::Eio);
        assert_eq!(decide(Access::Write, FG, &bg), Verdict::Proceed);
        assert_eq!(decide(Access::Change, FG, &bg), Verdict::Proceed);
        // Ignoring wins over orphaned, as in Linux.
        let orphan = Facts {
            orphaned: true,
            ..bg
        };
        assert_eq!(decide(Access::Write, FG, &orphan), Verdict::Proceed);
        assert_eq!(decide(Access::Read, FG, &orphan), Verdict::Eio);
    }

    #[test]
    fn orphaned_group_gets_eio() {
        let bg = Facts {
            orphaned: true,
            ..background()
        };
        for access in [Access::Read, Access::Write, Access::Change] {
            assert_eq!(decide(access, FG, &bg), Verdict::Eio);
        }
    }

    #[test]
    fn other_sessions_are_not_checked() {
        let other = Facts {
            same_session: false,
            orphaned: true,
            ..background()
        };
        for access in [Access::Read, Access::Write, Access::Change] {
            assert_eq!(decide(access, FG, &other), Verdict::Proceed);
        }
    }
}
