//! Grant copy, for programs: a client lends a window of its memory with a
//! call ([`call_with_grant`]), and the server copies into or out of it
//! through [`GrantAccess`] — the one interface a server core uses in both
//! placements (`abi::grant` has the ABI and the rules).
//!
//! - In a server process the runtime gives the core a [`CallerGrant`],
//!   which makes one `grant_copy` system call per copy: on the thread's
//!   current caller while it handles the request, or on a [`SavedReply`]
//!   when it answers later ([`CallerGrant::saved`]).
//! - Inside the kernel (the monolithic placement) the kernel's service
//!   path gives the core its own implementation, which copies straight
//!   from the calling thread's memory (the caller is the current thread
//!   there); the core never makes a system call.
//!
//! A 4 KiB `read`: the client calls with a 4 KiB [`Grant::write`] window
//! and a request of a few bytes; the server reads the page-cache page and
//! `write`s it into the window (one copy, kernel to kernel through the
//! HHDM in the microkernel placement), then replies with the count. No
//! data goes through the IPC buffer.

use crate::abi::grant::Window;
use crate::abi::SysError;
#[cfg(target_os = "none")]
pub use user::*;

/// What a server core can do with the window its caller lent.
pub trait GrantAccess {
    /// The window the request's caller lent, if any (its length tells
    /// how much a `read` may return).
    fn window(&self) -> Option<Window>;
    /// Copies `data` into the window at `offset`: `NoRights` for a read
    /// window (or none), `BadAddress` past the window's end.
    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), SysError>;
    /// Copies `out.len()` bytes from the window at `offset` into `out`:
    /// `NoRights` for a write window (or none), `BadAddress` past its end.
    fn read(&mut self, offset: u64, out: &mut [u8]) -> Result<(), SysError>;
}

#[cfg(target_os = "none")]
mod user {
    use super::GrantAccess;
    use crate::abi::grant::{Access, Direction, Window};
    use crate::abi::ipc::MSG_WORDS;
    use crate::abi::{Handle, SysError, Syscall};
    use crate::ipc::Message;

    /// A window of the caller's memory, typed by what the server may do.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Grant {
        window: Window,
    }

    impl Grant {
        /// The server may copy out of `data` (a `write`'s bytes, say).
        /// `BadLength` if empty or over `GRANT_MAX`.
        pub fn read(data: &[u8]) -> Result<Grant, SysError> {
            Window::new(data.as_ptr() as u64, data.len() as u64, Access::Read)
                .map(|window| Grant { window })
        }

        /// The server may copy into `buffer` (where a `read`'s bytes go).
        pub fn write(buffer: &mut [u8]) -> Result<Grant, SysError> {
            Window::new(buffer.as_ptr() as u64, buffer.len() as u64, Access::Write)
                .map(|window| Grant { window })
        }

        /// Sets `msg`'s flag and words 4–5 to lend this window.
        pub fn lend(&self, mut msg: Message) -> Message {
            let mut words: [u64; MSG_WORDS] = msg.words;
            msg.info.flags |= self.window.encode(&mut words);
            msg.words = words;
            msg
        }
    }

    impl crate::handle::Endpoint {
        /// Calls with `msg` (whose words 4–5 are replaced, and which must not
        /// carry handles) lending `grant`, and waits for the reply. The borrow
        /// of the buffer behind `grant` must last the call: the caller keeps
        /// the slice it made the grant from alive and untouched until this
        /// returns (the window is revoked at the reply).
        pub fn call_with_grant(
            &self,
            msg: &Message,
            grant: Grant,
            timeout_ns: u64,
        ) -> Result<Message, SysError> {
            self.call(&grant.lend(*msg), timeout_ns)
        }
    }

    /// One `grant_copy`: `reply` is the saved reply object, or `None` for the
    /// thread's current caller; returns the bytes copied.
    pub fn grant_copy(
        reply: Option<Handle>,
        direction: Direction,
        offset: u64,
        buffer: u64,
        len: u64,
    ) -> Result<u64, SysError> {
        let reply = reply.map_or(0, |h| u64::from(h.0));
        crate::syscall::call6(
            Syscall::GrantCopy,
            [reply, direction as u64, offset, buffer, len, 0],
        )
    }

    /// [`GrantAccess`] in a server process: the window of the request being
    /// handled, copied through with `grant_copy`.
    #[derive(Debug)]
    pub struct CallerGrant<'a> {
        reply: Option<&'a crate::ipc::SavedReply>,
        window: Option<Window>,
    }

    impl<'a> CallerGrant<'a> {
        /// The window `msg` (just received) lends, on the thread's current
        /// caller (until the thread replies or receives again).
        pub fn current(msg: &Message) -> CallerGrant<'static> {
            CallerGrant {
                reply: None,
                window: Window::from_message(&msg.info, &msg.words).ok().flatten(),
            }
        }

        /// The window `msg` lent, on the caller `reply` saved (for a server
        /// that answers later).
        pub fn saved(msg: &Message, reply: &'a crate::ipc::SavedReply) -> CallerGrant<'a> {
            CallerGrant {
                reply: Some(reply),
                window: Window::from_message(&msg.info, &msg.words).ok().flatten(),
            }
        }

        fn handle(&self) -> Option<Handle> {
            self.reply.map(|r| r.handle())
        }
    }

    /// [`GrantAccess`] on a deferred request's window: the saved reply's
    /// handle (not owned: the runtime keeps the [`crate::ipc::SavedReply`]
    /// for as long as the token lives, and drops this first) and the
    /// window. What `serve` keeps with a token (`Later::keep_grant`).
    #[derive(Clone, Copy, Debug)]
    pub struct SavedGrant {
        reply: Handle,
        window: Window,
    }

    impl SavedGrant {
        pub fn new(reply: Handle, window: Window) -> SavedGrant {
            SavedGrant { reply, window }
        }
    }

    impl GrantAccess for SavedGrant {
        fn window(&self) -> Option<Window> {
            Some(self.window)
        }

        fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), SysError> {
            let (at, len) = (data.as_ptr() as u64, data.len() as u64);
            grant_copy(Some(self.reply), Direction::ToWindow, offset, at, len).map(|_| ())
        }

        fn read(&mut self, offset: u64, out: &mut [u8]) -> Result<(), SysError> {
            let (at, len) = (out.as_mut_ptr() as u64, out.len() as u64);
            grant_copy(Some(self.reply), Direction::FromWindow, offset, at, len).map(|_| ())
        }
    }

    impl GrantAccess for CallerGrant<'_> {
        fn window(&self) -> Option<Window> {
            self.window
        }

        fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), SysError> {
            let len = data.len() as u64;
            grant_copy(
                self.handle(),
                Direction::ToWindow,
                offset,
                data.as_ptr() as u64,
                len,
            )
            .map(|_| ())
        }

        fn read(&mut self, offset: u64, out: &mut [u8]) -> Result<(), SysError> {
            let (at, len) = (out.as_mut_ptr() as u64, out.len() as u64);
            grant_copy(self.handle(), Direction::FromWindow, offset, at, len).map(|_| ())
        }
    }
}
