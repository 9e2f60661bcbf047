//! Messages: what [`Endpoint`] sends and receives (see [`crate::abi::ipc`]
//! for the registers and the rules).
//!
//! A [`Message`] is a label, six words, a payload length (the payload
//! itself is in the thread's IPC buffer, [`buffer`]) and a count of
//! handles (named by the last words). `call` returns the reply; `recv` and
//! `reply_recv` return a [`Received`]: the message and the badge of the
//! handle it came through — or, with the `NOTIFICATION` flag, the bits of
//! the thread's bound notification — and the handles it carried, to take.
//!
//! Programs reach the IPC buffer through [`write_payload`],
//! [`read_payload`] and [`crate::rpc::encode_payload`], which hold no
//! reference into it beyond the copy; [`buffer`] itself is `unsafe`.

use crate::abi::ipc::MSG_WORDS;
use crate::abi::{Handle, MsgInfo, SysError, Syscall, PAGE_SIZE};
use crate::handle::{Endpoint, OwnedHandle};
use crate::syscall::raw::{self, IpcRegs};

/// A message's registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub info: MsgInfo,
    pub words: [u64; MSG_WORDS],
}

impl Message {
    pub const fn new(label: u32) -> Message {
        Message {
            info: MsgInfo::new(label),
            words: [0; MSG_WORDS],
        }
    }

    pub const fn with_words(mut self, words: [u64; MSG_WORDS]) -> Message {
        self.words = words;
        self
    }

    /// The payload is the first `length` bytes of the IPC buffer.
    pub const fn with_payload(mut self, length: u16) -> Message {
        self.info.length = length;
        self
    }

    /// Transfers `handles` (at most 4), named in the last words.
    pub fn with_handles(mut self, handles: &[Handle]) -> Message {
        let n = handles.len().min(crate::abi::ipc::MAX_HANDLES);
        for (i, h) in handles[..n].iter().enumerate() {
            self.words[MSG_WORDS - n + i] = u64::from(h.0);
        }
        self.info.handles = n as u8;
        self
    }

    /// Moves the handles instead of copying them.
    pub const fn moving_handles(mut self) -> Message {
        self.info.flags |= MsgInfo::MOVE_HANDLES;
        self
    }

    pub const fn label(&self) -> u32 {
        self.info.label
    }

    /// The handles a received message carried (numbers in this process).
    pub fn handles(&self) -> &[u64] {
        &self.words[MSG_WORDS - self.info.handles as usize..]
    }

    #[inline(always)]
    fn regs(&self, rdx: u64) -> IpcRegs {
        IpcRegs {
            info: self.info.encode(),
            rdx,
            words: self.words,
        }
    }

    #[inline(always)]
    fn from_regs(regs: &IpcRegs) -> Message {
        Message {
            info: MsgInfo::decode(regs.info).unwrap_or_default(),
            words: regs.words,
        }
    }
}

/// A received message and the badge it came with.
///
/// It also keeps, privately, the handles the message brought into this
/// process's table, for [`Received::take_handles`]: `msg` is a copy anyone
/// may edit, so the numbers in its words prove nothing, but this record
/// is made only here, from what the kernel returned.
#[derive(Debug, PartialEq, Eq)]
pub struct Received {
    pub badge: u64,
    pub msg: Message,
    /// The handles still to be taken: (numbers, count).
    transferred: ([u32; crate::abi::ipc::MAX_HANDLES], usize),
}

impl Received {
    #[inline(always)]
    pub(crate) fn new(badge: u64, msg: Message) -> Received {
        let mut numbers = [0; crate::abi::ipc::MAX_HANDLES];
        let carried = msg.handles();
        let count = carried.len().min(numbers.len());
        for (number, &raw) in numbers.iter_mut().zip(carried) {
            *number = raw as u32;
        }
        Received {
            badge,
            msg,
            transferred: (numbers, count),
        }
    }

    /// The bound notification's signals, if that is what this is.
    pub fn signals(&self) -> Option<u64> {
        (self.msg.info.flags & MsgInfo::NOTIFICATION != 0).then_some(self.badge)
    }

    /// Takes ownership of the handles the message carried (the kernel put
    /// them into this process's table when it delivered the message): each
    /// closes when dropped, and those the iterator has not yet given out
    /// close when it is dropped. A second call gives none.
    pub fn take_handles(&mut self) -> TakenHandles {
        let (numbers, count) = core::mem::take(&mut self.transferred);
        TakenHandles {
            numbers,
            next: 0,
            count,
        }
    }
}

/// The handles a received message carried, owned: see
/// [`Received::take_handles`].
#[derive(Debug)]
pub struct TakenHandles {
    numbers: [u32; crate::abi::ipc::MAX_HANDLES],
    next: usize,
    count: usize,
}

impl Iterator for TakenHandles {
    type Item = OwnedHandle;

    fn next(&mut self) -> Option<OwnedHandle> {
        if self.next >= self.count {
            return None;
        }
        let number = self.numbers[self.next];
        self.next += 1;
        // SAFETY: the kernel made this handle for this process when it
        // delivered the message; `Received::transferred` (private, emptied
        // when taken) and `next` hand each out once.
        Some(unsafe { OwnedHandle::from_raw(Handle(number)) })
    }
}

impl Drop for TakenHandles {
    fn drop(&mut self) {
        for handle in self.by_ref() {
            drop(handle);
        }
    }
}

#[inline(always)]
fn status(status: u64) -> Result<(), SysError> {
    crate::abi::decode_result(status, 0).map(|_| ())
}

impl Endpoint {
    /// Sends `msg`; blocks (up to `timeout_ns`) until a receiver takes it.
    #[inline]
    pub fn send(&self, msg: &Message, timeout_ns: u64) -> Result<(), SysError> {
        // SAFETY: the kernel reads the message and our IPC buffer only.
        let (s, _) = unsafe {
            raw::ipc(
                Syscall::Send as u64,
                u64::from(self.raw().0),
                msg.regs(timeout_ns),
            )
        };
        status(s)
    }

    /// Sends `msg` and waits for the reply.
    #[inline]
    pub fn call(&self, msg: &Message, timeout_ns: u64) -> Result<Message, SysError> {
        // SAFETY: a reply payload lands in our IPC buffer, which no
        // reference is held into across this call.
        let (s, regs) = unsafe {
            raw::ipc(
                Syscall::Call as u64,
                u64::from(self.raw().0),
                msg.regs(timeout_ns),
            )
        };
        status(s).map(|()| Message::from_regs(&regs))
    }

    /// Receives the next message (or the bound notification's signals).
    #[inline]
    pub fn recv(&self, timeout_ns: u64) -> Result<Received, SysError> {
        // SAFETY: as in `call`.
        let (s, regs) = unsafe {
            raw::ipc(
                Syscall::Recv as u64,
                u64::from(self.raw().0),
                IpcRegs {
                    rdx: timeout_ns,
                    ..IpcRegs::default()
                },
            )
        };
        status(s).map(|()| Received::new(regs.rdx, Message::from_regs(&regs)))
    }

    /// Replies to the last caller with `reply`, then receives.
    #[inline]
    pub fn reply_recv(&self, reply: &Message, timeout_ns: u64) -> Result<Received, SysError> {
        // SAFETY: as in `call`.
        let (s, regs) = unsafe {
            raw::ipc(
                Syscall::ReplyRecv as u64,
                u64::from(self.raw().0),
                reply.regs(timeout_ns),
            )
        };
        status(s).map(|()| Received::new(regs.rdx, Message::from_regs(&regs)))
    }
}

/// Replies to the last caller (`NotFound` if there is none, `PeerDied` if
/// it is gone).
#[inline]
pub fn reply(msg: &Message) -> Result<(), SysError> {
    // SAFETY: the kernel reads the message and our IPC buffer only.
    let (s, _) = unsafe { raw::ipc(Syscall::Reply as u64, 0, msg.regs(0)) };
    status(s)
}

/// A reply right saved out of the thread that received a call
/// ([`save_reply`]): the call can be answered later, after the thread has
/// received and answered others — a deferred reply. Dropping it unused
/// answers the caller `PeerDied`.
#[derive(Debug)]
pub struct SavedReply(OwnedHandle);

/// Moves the calling thread's reply right (to the last `call` it
/// received) into a [`SavedReply`]; the thread holds none afterwards.
/// `NotFound` if it holds none.
pub fn save_reply() -> Result<SavedReply, SysError> {
    crate::syscall::call6(Syscall::ReplySave, [0; 6]).map(|raw| {
        // SAFETY: a handle the kernel just made for us alone.
        SavedReply(unsafe { OwnedHandle::from_raw(Handle(raw as u32)) })
    })
}

impl SavedReply {
    /// The reply object's handle (for `grant_copy` on the saved caller).
    pub fn handle(&self) -> Handle {
        self.0.raw()
    }

    /// Whether the saved caller asked to be let out of its call
    /// (`Thread::unblock`) and still waits: the server answers it now, with
    /// an `EINTR`-style error or what it has done so far
    /// (`reply_interrupted`, syscall 49; what a server checks its saved
    /// rights with when [`crate::abi::ipc::UNBLOCK_SIGNAL`] comes in).
    pub fn interrupted(&self) -> bool {
        crate::syscall::call6(
            Syscall::ReplyInterrupted,
            [u64::from(self.0.raw().0), 0, 0, 0, 0, 0],
        )
        .is_ok_and(|r| r == 1)
    }

    /// Answers the saved caller with `msg` (payload from this thread's IPC
    /// buffer). The right is used up whatever the outcome; `PeerDied` if
    /// the caller is gone or gave up the call.
    #[inline]
    pub fn reply(self, msg: &Message) -> Result<(), SysError> {
        // The kernel closes the handle: it must not be closed again here.
        let handle = self.0.into_raw();
        // SAFETY: the kernel reads the message and our IPC buffer only.
        let (s, _) = unsafe { raw::ipc(Syscall::ReplyTo as u64, u64::from(handle.0), msg.regs(0)) };
        status(s)
    }

    /// [`SavedReply::reply`], then [`Endpoint::recv`] on `endpoint`, in
    /// one system call that switches straight to the answered caller when
    /// no message waits (`reply_to_recv`). A failed reply (`PeerDied`)
    /// returns its error and receives nothing.
    #[inline]
    pub fn reply_recv(
        self,
        msg: &Message,
        endpoint: &Endpoint,
        timeout_ns: u64,
    ) -> Result<Received, SysError> {
        // The kernel closes the handle: it must not be closed again here.
        let handle = self.0.into_raw();
        let both = u64::from(endpoint.raw().0) | u64::from(handle.0) << 32;
        // SAFETY: as in `Endpoint::call`.
        let (s, regs) =
            unsafe { raw::ipc(Syscall::ReplyToRecv as u64, both, msg.regs(timeout_ns)) };
        status(s).map(|()| Received::new(regs.rdx, Message::from_regs(&regs)))
    }
}

/// A thread's thread-local block: what its FS base points at (set with
/// [`adopt`]). Each thread that sends payloads has its own IPC buffer,
/// found here: the main thread's is [`crate::abi::IPC_BUFFER_ADDR`] (the runtime
/// adopts it before `main`), a spawned thread's is the page
/// [`crate::thread::spawn`] gave it.
#[repr(C)]
pub struct ThreadLocal {
    /// Read by [`buffer`] as `fs:[0]`.
    ipc_buffer: core::sync::atomic::AtomicU64,
}

impl ThreadLocal {
    pub const fn new() -> ThreadLocal {
        ThreadLocal {
            ipc_buffer: core::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl Default for ThreadLocal {
    fn default() -> Self {
        Self::new()
    }
}

/// Makes `block` the calling thread's thread-local block and `buffer` (a
/// page-aligned page mapped writable) its IPC buffer.
///
/// # Safety
/// `block` must stay valid, and be this thread's alone, for as long as the
/// thread runs.
pub unsafe fn adopt(block: *const ThreadLocal, buffer: u64) -> Result<(), SysError> {
    set_buffer(buffer)?;
    // SAFETY: the caller keeps the block valid.
    unsafe {
        (*block)
            .ipc_buffer
            .store(buffer, core::sync::atomic::Ordering::Relaxed)
    };
    crate::syscall::call6(Syscall::TlsSet, [block as u64, 0, 0, 0, 0, 0]).map(|_| ())
}

/// The calling thread's IPC buffer (see [`ThreadLocal`]). A thread that
/// never [`adopt`]ed one faults here (its FS base is 0).
///
/// # Safety
/// No other reference into the buffer may be live, and none may be held
/// across an IPC call that receives a payload (the kernel writes it) or a
/// call of [`write_payload`], [`read_payload`] or
/// [`crate::rpc::encode_payload`] (which use it).
#[inline]
pub unsafe fn buffer() -> &'static mut [u8; PAGE_SIZE as usize] {
    // SAFETY: `adopt` registered a page mapped writable there, this
    // thread's own; exclusivity is the caller's contract.
    unsafe { &mut *(buffer_address() as *mut [u8; PAGE_SIZE as usize]) }
}

/// The address of the calling thread's IPC buffer (see [`buffer`]).
#[inline]
pub(crate) fn buffer_address() -> u64 {
    let address: u64;
    // SAFETY: reads the first word of the thread-local block FS points at
    // (`adopt`); no memory is written.
    unsafe {
        core::arch::asm!(
            "mov {}, qword ptr fs:[0]",
            out(reg) address,
            options(nostack, readonly, preserves_flags)
        )
    };
    address
}

/// Copies `bytes` into this thread's IPC buffer, as the payload of the
/// next message it sends; returns the length for
/// [`Message::with_payload`]. `InvalidArgument` if `bytes` is longer than
/// a payload ([`crate::abi::ipc::PAYLOAD_MAX`]).
///
/// The safe way to write the buffer: no reference into it outlives the
/// call (see [`buffer`] for why one must not).
pub fn write_payload(bytes: &[u8]) -> Result<u16, SysError> {
    if bytes.len() > crate::abi::ipc::PAYLOAD_MAX {
        return Err(SysError::InvalidArgument);
    }
    // SAFETY: this thread's buffer; the reference ends with this copy,
    // during which no IPC call is made and no other code runs; `bytes`
    // cannot point into the buffer, since no safe code can reach it.
    let buffer = unsafe { buffer() };
    buffer[..bytes.len()].copy_from_slice(bytes);
    Ok(bytes.len() as u16)
}

/// Copies the first `length` bytes of the payload this thread last
/// received (at most [`crate::abi::ipc::PAYLOAD_MAX`], and at most
/// `into.len()`) into `into`; returns how many it copied.
pub fn read_payload(length: usize, into: &mut [u8]) -> usize {
    let n = length.min(crate::abi::ipc::PAYLOAD_MAX).min(into.len());
    // SAFETY: as in `write_payload`.
    into[..n].copy_from_slice(&unsafe { buffer() }[..n]);
    n
}

/// Registers the calling thread's IPC buffer page (page-aligned, mapped
/// writable).
pub fn set_buffer(address: u64) -> Result<(), SysError> {
    crate::syscall::call6(Syscall::IpcBufferSet, [address, 0, 0, 0, 0, 0]).map(|_| ())
}
