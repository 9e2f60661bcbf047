//! Handles, rights and the IPC message.
//!
//! ## Handles
//! A [`Handle`] is a process's name for a kernel object: an index into its
//! handle table (low 16 bits) and the slot's generation (high 16 bits), so
//! a closed handle's number never names the next object put in its slot.
//! 0 is never a handle. Each handle carries [`Rights`] and, for endpoints,
//! a badge: a number chosen by whoever minted the handle, which the
//! receiver of a message learns (a server tells its clients apart by it).
//!
//! ## The IPC registers
//! `send`, `recv`, `call`, `reply` and `reply_recv` use more registers than
//! other calls:
//!
//! | register | in | out |
//! | --- | --- | --- |
//! | `rax` | the call's number | status (0 or a [`super::SysError`]) |
//! | `rdi` | the endpoint handle (not for `reply`) | — |
//! | `rsi` | the [`MsgInfo`] of the message sent | the [`MsgInfo`] of the message received |
//! | `rdx` | the timeout, in nanoseconds ([`POLL`], [`FOREVER`]) | the badge of the sender's handle |
//! | `r10`, `r8`, `r9`, `r12`, `r13`, `r14` | message words 0–5 | message words 0–5 |
//!
//! A message is a label, six words, an optional payload of up to
//! [`PAYLOAD_MAX`] bytes copied from the sender's IPC buffer to the
//! receiver's (each thread registers one page with `ipc_buffer_set`), and
//! up to [`MAX_HANDLES`] handles: the last `handles` words name handles of
//! the sender, and arrive as the receiver's numbers for the same objects.
//! Sending handles needs the endpoint handle's `GRANT` right.
//!
//! A `call` gives the receiver a one-shot reply right: its next `reply` (or
//! `reply_recv`) goes to that caller, and only once. If the caller is gone
//! (killed, or it gave up on a timeout), the reply fails with `PeerDied`.
//! If the other side of a blocked call or send dies, or the last handle
//! that could receive from an endpoint is closed, the blocked side gets
//! `PeerDied`.
//!
//! ## Timeouts
//! Every blocking call returns by its timeout (to within one tick, 1/HZ s),
//! with `TimedOut`:
//!
//! | call | `POLL` | a timeout *t* | `FOREVER` |
//! | --- | --- | --- | --- |
//! | `send` | `WouldBlock` unless a receiver waits | waits ≤ *t* for a receiver | no bound |
//! | `recv` | `WouldBlock` unless a message waits | waits ≤ *t* | no bound |
//! | `call` | `InvalidArgument`: a call always waits for its reply | ≤ *t* for the send *and* the reply together | no bound |
//! | `reply_recv` | the reply never blocks; the receive as `recv` | the receive ≤ *t* | no bound |
//! | `wait` | `WouldBlock` unless a bit is set | ≤ *t* | no bound |
//!
//! `reply` and `reply_to` never block. A `call` cannot keep `POLL`'s
//! promise ("do not block at all"), so it is refused rather than left to
//! wait without bound for the reply.
//!
//! ## Kernel-only bits
//! The info word of a message sent (`send`, `call`, `reply`, `reply_to`,
//! `reply_recv`) is checked by [`MsgInfo::decode_sent`]: reserved bits and
//! the [`MsgInfo::NOTIFICATION`] flag, which only the kernel sets, are
//! `InvalidArgument`; no sender flag reaches the receiver. So a received
//! message with `NOTIFICATION` is always the kernel's.

use super::SysError;

/// A process's name for a kernel object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct Handle(pub u32);

impl Handle {
    /// The handle with slot `index` and generation `generation`.
    pub const fn new(index: u16, generation: u16) -> Handle {
        Handle(((generation as u32) << 16) | index as u32)
    }

    pub const fn index(self) -> u16 {
        self.0 as u16
    }

    pub const fn generation(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The handle in a register, checked: a value above 32 bits is not a
    /// handle.
    pub fn from_raw(raw: u64) -> Result<Handle, SysError> {
        u32::try_from(raw)
            .map(Handle)
            .map_err(|_| SysError::BadHandle)
    }
}

bitflags::bitflags! {
    /// What a handle allows. A handle can be duplicated with the same or
    /// fewer rights, never more.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Rights: u32 {
        /// Memory region: map readable.
        const READ = 1 << 0;
        /// Memory region: map writable.
        const WRITE = 1 << 1;
        /// Memory region: map executable.
        const EXEC = 1 << 2;
        /// Process: map into its address space, change its mappings.
        const MAP = 1 << 3;
        /// Endpoint: send and call. Notification: signal.
        const SEND = 1 << 4;
        /// Endpoint: receive. Notification: wait, poll, bind.
        const RECV = 1 << 5;
        /// Endpoint: transfer handles in messages sent through it.
        const GRANT = 1 << 6;
        /// Endpoint: duplicate with a new badge.
        const MINT = 1 << 7;
        /// Process: kill it, create threads in it, give it handles.
        /// Thread: start it, set its scheduling, its pager. IRQ: bind and
        /// acknowledge. IRQ control: take line handles. I/O ports: open
        /// them. Memory region: derive smaller regions.
        const MANAGE = 1 << 8;
    }
}

impl Rights {
    /// The rights in a register, checked: undefined bits are an error.
    pub fn from_raw(raw: u64) -> Result<Rights, SysError> {
        u32::try_from(raw)
            .ok()
            .and_then(Rights::from_bits)
            .ok_or(SysError::InvalidArgument)
    }
}

/// The longest payload a message carries: one page.
pub const PAYLOAD_MAX: usize = super::memory::PAGE_SIZE as usize;
/// Message words passed in registers.
pub const MSG_WORDS: usize = 6;
/// Handles one message transfers at most.
pub const MAX_HANDLES: usize = 4;
/// Timeout: do not block at all.
pub const POLL: u64 = 0;
/// Timeout: block until the partner is there.
pub const FOREVER: u64 = u64::MAX;

/// The bit `thread_unblock` sets in the notification bound to a server
/// thread that saved (`reply_save`) the reply right of a caller who asked
/// to be let out of its call: "some caller of yours wants out". The server
/// asks each saved right `reply_interrupted` to find which (QNX's
/// `_PULSE_CODE_UNBLOCK`). Reserved: a server binds no other event to it.
pub const UNBLOCK_SIGNAL: u64 = 1 << 63;

/// What `thread_unblock` did (its result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Unblocked {
    /// The thread was not blocked in a call (or waits for a page fault's
    /// or an exception's answer, which is not interruptible): nothing.
    NotInCall = 0,
    /// Still waiting to be received: its call failed with `Interrupted`.
    Sent = 1,
    /// Received: its server was told, and answers when it will.
    ServerTold = 2,
    /// Received by a server that cannot hear it (saved the right with no
    /// notification bound): its call failed with `Interrupted`.
    Released = 3,
}

impl Unblocked {
    pub const fn from_raw(raw: u64) -> Option<Unblocked> {
        match raw {
            0 => Some(Unblocked::NotInCall),
            1 => Some(Unblocked::Sent),
            2 => Some(Unblocked::ServerTold),
            3 => Some(Unblocked::Released),
            _ => None,
        }
    }
}

/// The label of the message a page fault sends to the faulting thread's
/// pager: words 0–2 are the faulting address, the page-fault error code
/// (bit 0 present, 1 write, 2 user, 4 instruction fetch) and the
/// instruction pointer; word 3 is 1 when the access was the kernel's, for a
/// system call of the thread whose user buffer was not mapped (or
/// read-only for a write) — `rip` is then the instruction after the
/// `syscall`.
pub const LABEL_PAGE_FAULT: u32 = 0xffff_0001;

/// A page fault's error-code bits (Intel SDM vol. 3, "Page-Fault Error
/// Code"), word 1 of a [`LABEL_PAGE_FAULT`] message: the page was present
/// (a protection fault), the access was a write, from user mode, a
/// reserved bit was set in a page-table entry, an instruction fetch.
pub const FAULT_PRESENT: u64 = 1 << 0;
pub const FAULT_WRITE: u64 = 1 << 1;
pub const FAULT_USER: u64 = 1 << 2;
pub const FAULT_RESERVED: u64 = 1 << 3;
pub const FAULT_FETCH: u64 = 1 << 4;
/// A pager's reply label: the fault is handled, run the thread again (for
/// a system call's fault: the kernel retries its access).
pub const PAGER_RESUME: u32 = 0;
/// A pager's reply label: kill the faulting process (for a system call's
/// fault: the call fails with `BadAddress` instead).
pub const PAGER_KILL: u32 = 1;
/// A pager's reply label: a bus error, Linux's `VM_FAULT_SIGBUS` (a page
/// of a file mapping past the end of its file). The fault goes to the
/// exception endpoint flagged `EXCEPTION_BUS`, and a process killed for
/// it ends as `ProcessStatus::BusError` (its parent sees `SIGBUS`). For a
/// system call's fault the call fails with `BadAddress`, as with
/// [`PAGER_KILL`].
pub const PAGER_BUS: u32 = 2;

/// The message the kernel sends a pager for a page fault (label
/// [`LABEL_PAGE_FAULT`]), as a type: what its words mean, written once for
/// the kernel that encodes it and the pager that decodes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageFault {
    /// The faulting address (word 0).
    pub address: u64,
    /// The CPU's error code, `FAULT_*` bits (word 1).
    pub error: u64,
    /// The faulting instruction, or for a system call's access the one
    /// after the `syscall` (word 2).
    pub rip: u64,
    /// The access was the kernel's, for a system call (word 3 is 1).
    pub syscall: bool,
}

impl PageFault {
    /// The known `FAULT_*` bits; any other in word 1 is an error.
    const ERROR_BITS: u64 = FAULT_PRESENT | FAULT_WRITE | FAULT_USER | FAULT_RESERVED | FAULT_FETCH;

    /// The message words.
    pub const fn to_words(&self) -> [u64; MSG_WORDS] {
        [
            self.address,
            self.error,
            self.rip,
            self.syscall as u64,
            0,
            0,
        ]
    }

    /// The fault a message's words describe; `InvalidArgument` for an
    /// unknown error bit, a word 3 other than 0 or 1, or words 4–5 not 0.
    pub fn from_words(words: &[u64; MSG_WORDS]) -> Result<PageFault, SysError> {
        let [address, error, rip, syscall, w4, w5] = *words;
        if error & !Self::ERROR_BITS != 0 || syscall > 1 || w4 != 0 || w5 != 0 {
            return Err(SysError::InvalidArgument);
        }
        Ok(PageFault {
            address,
            error,
            rip,
            syscall: syscall == 1,
        })
    }
}

/// A message's shape, in one register: label (bits 0–31), payload length
/// in bytes (bits 32–44), handle count (45–47) and flags (48–55); the rest
/// must be zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MsgInfo {
    pub label: u32,
    pub length: u16,
    pub handles: u8,
    pub flags: u8,
}

impl MsgInfo {
    /// Received only: the message is the signals of the thread's bound
    /// notification (the badge register holds the bits), not a message.
    pub const NOTIFICATION: u8 = 1 << 0;
    /// Sent: the transferred handles are moved (closed in the sender), not
    /// copied.
    pub const MOVE_HANDLES: u8 = 1 << 1;
    /// Sent on a `call`: words 4–5 lend the server a window of the
    /// caller's memory to read ([`super::grant`]).
    pub const GRANT_READ: u8 = 1 << 2;
    /// Sent on a `call`: words 4–5 lend the server a window of the
    /// caller's memory to write ([`super::grant`]).
    pub const GRANT_WRITE: u8 = 1 << 3;
    /// Either grant flag.
    pub const GRANT_FLAGS: u8 = Self::GRANT_READ | Self::GRANT_WRITE;
    const FLAGS: u8 =
        Self::NOTIFICATION | Self::MOVE_HANDLES | Self::GRANT_READ | Self::GRANT_WRITE;

    pub const fn new(label: u32) -> MsgInfo {
        MsgInfo {
            label,
            length: 0,
            handles: 0,
            flags: 0,
        }
    }

    pub const fn with_payload(self, length: u16) -> MsgInfo {
        MsgInfo { length, ..self }
    }

    pub const fn with_handles(self, handles: u8) -> MsgInfo {
        MsgInfo { handles, ..self }
    }

    #[inline]
    pub const fn encode(self) -> u64 {
        self.label as u64
            | (self.length as u64) << 32
            | (self.handles as u64) << 45
            | (self.flags as u64) << 48
    }

    /// Reads a register, checking every field: a payload over
    /// [`PAYLOAD_MAX`] is `BadLength`, more than [`MAX_HANDLES`] handles,
    /// undefined flags or reserved bits are `InvalidArgument`.
    #[inline]
    pub fn decode(raw: u64) -> Result<MsgInfo, SysError> {
        let info = MsgInfo {
            label: raw as u32,
            length: ((raw >> 32) & 0x1fff) as u16,
            handles: ((raw >> 45) & 0x7) as u8,
            flags: (raw >> 48) as u8,
        };
        if raw >> 56 != 0 || info.flags & !Self::FLAGS != 0 || info.handles as usize > MAX_HANDLES {
            return Err(SysError::InvalidArgument);
        }
        if info.length as usize > PAYLOAD_MAX {
            return Err(SysError::BadLength);
        }
        Ok(info)
    }

    /// Reads the info register of a message a thread sends (`send`,
    /// `call`, `reply`, `reply_to`, `reply_recv`): as [`decode`], and
    /// `InvalidArgument` if the kernel-only [`NOTIFICATION`] flag is set,
    /// so a receiver can always tell a notification from a message.
    ///
    /// [`decode`]: MsgInfo::decode
    /// [`NOTIFICATION`]: MsgInfo::NOTIFICATION
    pub fn decode_sent(raw: u64) -> Result<MsgInfo, SysError> {
        let info = Self::decode(raw)?;
        if info.flags & Self::NOTIFICATION != 0 {
            return Err(SysError::InvalidArgument);
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_carry_index_and_generation() {
        let h = Handle::new(513, 7);
        assert_eq!((h.index(), h.generation()), (513, 7));
        assert_eq!(Handle::from_raw(h.0 as u64), Ok(h));
        assert_eq!(Handle::from_raw(1 << 32), Err(SysError::BadHandle));
    }

    #[test]
    fn rights_are_checked() {
        assert_eq!(Rights::from_raw(0b11), Ok(Rights::READ | Rights::WRITE));
        assert_eq!(Rights::from_raw(1 << 9), Err(SysError::InvalidArgument));
        assert_eq!(Rights::from_raw(u64::MAX), Err(SysError::InvalidArgument));
    }

    #[test]
    fn msg_info_round_trips_and_refuses_garbage() {
        let info = MsgInfo::new(0xdead_beef).with_payload(4096).with_handles(4);
        assert_eq!(MsgInfo::decode(info.encode()), Ok(info));
        let moved = MsgInfo {
            flags: MsgInfo::MOVE_HANDLES,
            ..MsgInfo::new(1)
        };
        assert_eq!(MsgInfo::decode(moved.encode()), Ok(moved));
        assert_eq!(
            MsgInfo::decode(MsgInfo::new(0).with_payload(4097).encode()),
            Err(SysError::BadLength)
        );
        assert_eq!(
            MsgInfo::decode(MsgInfo::new(0).with_handles(5).encode()),
            Err(SysError::InvalidArgument)
        );
        assert_eq!(MsgInfo::decode(1 << 56), Err(SysError::InvalidArgument));
        assert_eq!(MsgInfo::decode(0x80 << 48), Err(SysError::InvalidArgument));
    }

    #[test]
    fn a_sent_message_cannot_forge_the_notification_flag() {
        let forged = MsgInfo {
            flags: MsgInfo::NOTIFICATION,
            ..MsgInfo::new(7)
        };
        assert_eq!(MsgInfo::decode(forged.encode()), Ok(forged));
        assert_eq!(
            MsgInfo::decode_sent(forged.encode()),
            Err(SysError::InvalidArgument)
        );
        let moved = MsgInfo {
            flags: MsgInfo::MOVE_HANDLES,
            ..MsgInfo::new(7)
        };
        assert_eq!(MsgInfo::decode_sent(moved.encode()), Ok(moved));
        assert_eq!(
            MsgInfo::decode_sent(1 << 56),
            Err(SysError::InvalidArgument)
        );
    }

    #[test]
    fn page_fault_messages_round_trip_and_bad_words_are_errors() {
        let fault = PageFault {
            address: 0x40_1234,
            error: FAULT_USER | FAULT_WRITE,
            rip: 0x40_0010,
            syscall: true,
        };
        assert_eq!(PageFault::from_words(&fault.to_words()), Ok(fault));
        for bad in [
            [0, 1 << 5, 0, 0, 0, 0],
            [0, 0, 0, 2, 0, 0],
            [0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 1],
        ] {
            assert_eq!(PageFault::from_words(&bad), Err(SysError::InvalidArgument));
        }
    }
}
