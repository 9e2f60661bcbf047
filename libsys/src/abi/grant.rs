//! Grant copy (MINIX 3's `safecopy`, QNX's `MsgRead`/`MsgWrite`): a
//! caller lends the server of its `call` a window of its own memory, and
//! the server copies into or out of it with one system call.
//!
//! ## The window, on a `call`
//! The [`MsgInfo`] flag [`MsgInfo::GRANT_READ`] (the server may read the
//! window) or [`MsgInfo::GRANT_WRITE`] (the server may write it) says that
//! message words [`WORD_ADDRESS`] and [`WORD_LENGTH`] (4 and 5, in `r13`
//! and `r14`) are the window: its user address and its length, 1 to
//! [`GRANT_MAX`] bytes. Both flags at once, a grant on a message that also
//! carries handles (their words overlap), a grant on anything but a `call`
//! (`send`, `reply`, `reply_recv`, `reply_to`), are `InvalidArgument`; a
//! window that is empty or over [`GRANT_MAX`] is `BadLength`; one that
//! wraps or reaches into the kernel half is `BadAddress` — all at call
//! time, before anything is sent ([`Window::from_message`] makes these
//! checks). The kernel then faults in every page of the window through the
//! caller's pager, as for a system call's buffer: a page no pager maps is
//! `BadAddress`, still before anything is sent. The server receives the
//! flag and the two words unchanged (the length is what it needs).
//!
//! ## The copy
//! `grant_copy` ([`super::args::GrantCopy`]) names the caller by a reply
//! right — the thread's current one (handle 0) or a saved reply object —
//! a [`Direction`], an offset in the window, a buffer of the server's own
//! and a length. [`Window::range`] checks the part of the window it
//! touches: past the window's end is `BadAddress`, the wrong direction is
//! `NoRights`.
//!
//! ## Lifetime
//! The window lives in the reply right: it is revoked when the caller is
//! answered (the right is used up), gives up (a timeout) or dies. A copy
//! after that is `NotFound` (no current caller), `BadHandle` (the saved
//! reply's handle is closed by `reply_to`) or `PeerDied`.

use super::ipc::{MsgInfo, MSG_WORDS};
use super::memory::USER_END;
use super::SysError;

/// The largest window a call may lend, and the most one `grant_copy`
/// moves: 1 MiB.
pub const GRANT_MAX: u64 = 1 << 20;
/// The message word holding the window's address.
pub const WORD_ADDRESS: usize = 4;
/// The message word holding the window's length.
pub const WORD_LENGTH: usize = 5;

/// What the server may do with a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Copy out of it ([`MsgInfo::GRANT_READ`]): the caller's data, say
    /// a `write`'s.
    Read,
    /// Copy into it ([`MsgInfo::GRANT_WRITE`]): where a `read`'s data go.
    Write,
}

/// Which way a `grant_copy` moves bytes, seen from the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Direction {
    /// From the window into the server's buffer (needs [`Access::Read`]).
    FromWindow = 0,
    /// From the server's buffer into the window (needs [`Access::Write`]).
    ToWindow = 1,
}

impl Direction {
    /// The direction in a register: 0 or 1, else `InvalidArgument`.
    pub fn from_raw(raw: u64) -> Result<Direction, SysError> {
        match raw {
            0 => Ok(Direction::FromWindow),
            1 => Ok(Direction::ToWindow),
            _ => Err(SysError::InvalidArgument),
        }
    }

    /// The access this direction needs.
    pub const fn needs(self) -> Access {
        match self {
            Direction::FromWindow => Access::Read,
            Direction::ToWindow => Access::Write,
        }
    }
}

/// A window of a caller's memory lent to the server of its call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub address: u64,
    pub length: u64,
    pub access: Access,
}

impl Window {
    /// A window of `length` bytes at `address`: `BadLength` if empty or
    /// over [`GRANT_MAX`], `BadAddress` if it wraps or leaves the user half.
    pub fn new(address: u64, length: u64, access: Access) -> Result<Window, SysError> {
        if length == 0 || length > GRANT_MAX {
            return Err(SysError::BadLength);
        }
        let end = address.checked_add(length).ok_or(SysError::BadAddress)?;
        if end > USER_END {
            return Err(SysError::BadAddress);
        }
        Ok(Window {
            address,
            length,
            access,
        })
    }

    /// The window a message's info and words lend, if its flags say it
    /// lends one (see the module documentation for the errors).
    pub fn from_message(
        info: &MsgInfo,
        words: &[u64; MSG_WORDS],
    ) -> Result<Option<Window>, SysError> {
        let access = match info.flags & MsgInfo::GRANT_FLAGS {
            0 => return Ok(None),
            MsgInfo::GRANT_READ => Access::Read,
            MsgInfo::GRANT_WRITE => Access::Write,
            _ => return Err(SysError::InvalidArgument),
        };
        if info.handles != 0 {
            return Err(SysError::InvalidArgument);
        }
        Window::new(words[WORD_ADDRESS], words[WORD_LENGTH], access).map(Some)
    }

    /// The flag and the words a caller sets to lend this window.
    pub fn encode(&self, words: &mut [u64; MSG_WORDS]) -> u8 {
        words[WORD_ADDRESS] = self.address;
        words[WORD_LENGTH] = self.length;
        match self.access {
            Access::Read => MsgInfo::GRANT_READ,
            Access::Write => MsgInfo::GRANT_WRITE,
        }
    }

    /// The caller's address of the `length` bytes at `offset` in the
    /// window, for a copy in `direction`: `NoRights` if the window does not
    /// allow it, `BadAddress` if the bytes do not all lie in the window.
    pub fn range(&self, direction: Direction, offset: u64, length: u64) -> Result<u64, SysError> {
        if direction.needs() != self.access {
            return Err(SysError::NoRights);
        }
        let end = offset.checked_add(length).ok_or(SysError::BadAddress)?;
        if end > self.length {
            return Err(SysError::BadAddress);
        }
        Ok(self.address + offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(flags: u8, address: u64, length: u64) -> (MsgInfo, [u64; MSG_WORDS]) {
        let info = MsgInfo {
            flags,
            ..MsgInfo::new(7)
        };
        (info, [1, 2, 3, 4, address, length])
    }

    #[test]
    fn a_message_without_grant_flags_lends_nothing() {
        let (info, words) = message(0, 0xffff_ffff_ffff_0000, 0);
        assert_eq!(Window::from_message(&info, &words), Ok(None));
    }

    #[test]
    fn good_windows_decode_and_encode_back() {
        for (flags, access) in [
            (MsgInfo::GRANT_READ, Access::Read),
            (MsgInfo::GRANT_WRITE, Access::Write),
        ] {
            let (info, words) = message(flags, 0x40_0000, 4096);
            let window = Window::from_message(&info, &words).unwrap().unwrap();
            assert_eq!(window, Window::new(0x40_0000, 4096, access).unwrap());
            let mut out = [0; MSG_WORDS];
            assert_eq!(window.encode(&mut out), flags);
            assert_eq!(out[WORD_ADDRESS..], words[WORD_ADDRESS..]);
        }
        let top = Window::new(USER_END - GRANT_MAX, GRANT_MAX, Access::Read);
        assert!(top.is_ok(), "a window may end exactly at USER_END");
    }

    #[test]
    fn bad_windows_are_refused_with_their_error() {
        let read = MsgInfo::GRANT_READ;
        for ((flags, address, length), error) in [
            (
                (read | MsgInfo::GRANT_WRITE, 0x1000, 16),
                SysError::InvalidArgument,
            ),
            ((read, 0x1000, 0), SysError::BadLength),
            ((read, 0x1000, GRANT_MAX + 1), SysError::BadLength),
            ((read, u64::MAX - 15, 16), SysError::BadAddress),
            ((read, USER_END - 8, 16), SysError::BadAddress),
            ((read, 0xffff_8000_0000_0000, 16), SysError::BadAddress),
        ] {
            let (info, words) = message(flags, address, length);
            assert_eq!(
                Window::from_message(&info, &words),
                Err(error),
                "{flags:#x} {address:#x} {length}"
            );
        }
        let (info, words) = message(read, 0x1000, 16);
        let with_handles = info.with_handles(1);
        assert_eq!(
            Window::from_message(&with_handles, &words),
            Err(SysError::InvalidArgument)
        );
    }

    #[test]
    fn copies_stay_inside_the_window_and_its_direction() {
        let w = Window::new(0x10_0000, 4096, Access::Write).unwrap();
        assert_eq!(w.range(Direction::ToWindow, 0, 4096), Ok(0x10_0000));
        assert_eq!(w.range(Direction::ToWindow, 4000, 96), Ok(0x10_0000 + 4000));
        assert_eq!(w.range(Direction::ToWindow, 4096, 0), Ok(0x10_1000));
        assert_eq!(
            w.range(Direction::ToWindow, 4000, 97),
            Err(SysError::BadAddress)
        );
        assert_eq!(
            w.range(Direction::ToWindow, u64::MAX, 2),
            Err(SysError::BadAddress)
        );
        assert_eq!(
            w.range(Direction::FromWindow, 0, 1),
            Err(SysError::NoRights)
        );
        let r = Window::new(0x10_0000, 16, Access::Read).unwrap();
        assert_eq!(r.range(Direction::FromWindow, 8, 8), Ok(0x10_0008));
        assert_eq!(r.range(Direction::ToWindow, 0, 1), Err(SysError::NoRights));
    }

    #[test]
    fn directions_decode() {
        assert_eq!(Direction::from_raw(0), Ok(Direction::FromWindow));
        assert_eq!(Direction::from_raw(1), Ok(Direction::ToWindow));
        assert_eq!(Direction::from_raw(2), Err(SysError::InvalidArgument));
    }
}
