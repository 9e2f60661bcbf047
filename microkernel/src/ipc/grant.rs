//! Grant copy: a caller lends the server of its `call` a window of its own
//! memory, and the server copies into or out of it with one system call
//! (`libsys::abi::grant` has the ABI; docs/architecture.md, "Grant copy",
//! the story).
//!
//! At call time ([`attach`]) the window is checked — its words decoded by
//! `Window::from_message`, then every page faulted in through the
//! caller's own pager, as a system call's buffer is (`pager::with_user`;
//! the caller is the current thread then) — and kept in the caller's IPC
//! state until the call is delivered, when it moves into the reply right
//! (`obj::thread::Caller::grant`). So it lives exactly as long as that
//! right: answered, given up or dead, the caller is no longer waiting and
//! the window is gone.
//!
//! [`copy`] (the `grant_copy` call) finds the right — the server thread's
//! current one or a saved reply object's — checks the part of the window
//! it touches, faults in the server's own buffer through the server's
//! pager, checks that the caller's pages are still there, and only then
//! copies, piece by piece between the two frames through the HHDM
//! (`kspace::copy_physical`: eight bytes at a time). A page of the window
//! gone since the call (nothing unmaps it today but the caller itself) is
//! `BadAddress`: the kernel does not send a page fault on behalf of a
//! thread that is not running.
//!
//! The monolithic placement's in-kernel cores get the same window through
//! [`CurrentGrant`], which implements `libsys::grant::GrantAccess` on the
//! current thread's own memory: there the caller is the thread running the
//! core, so no reply right and no second address space are involved.

use alloc::sync::Arc;

use libsys::abi::args::GrantCopy;
use libsys::abi::grant::{Access, Direction, Window};
use libsys::abi::ipc::MSG_WORDS;
use libsys::abi::{MsgInfo, Rights, SysError, PAGE_SIZE};

use super::pager::with_user;
use crate::arch::x86_64::trap::TrapFrame;
use crate::mem::kspace;
use crate::mem::usercopy::UserSlice;
use crate::obj::handle::lookup;
use crate::obj::process::Process;
use crate::obj::reply::Reply;
use crate::obj::thread::{Caller, Thread};

/// Whether every page of `[address, address + length)` is mapped in
/// `process` for user access (writable, with `write`).
fn resident(process: &Process, address: u64, length: u64, write: bool) -> bool {
    let end = address + length;
    let mut page = address & !(PAGE_SIZE - 1);
    while page < end {
        if frame_of(process, page, write).is_err() {
            return false;
        }
        page += PAGE_SIZE;
    }
    true
}

/// Faults in (through the current thread's pager) and checks every page
/// of `[address, address + length)` in `process`, readable or, with
/// `write`, writable. One page at a time, so that each gets
/// `with_user`'s tries; pages already there cost a look-up each.
fn fault_in(
    process: &Process,
    address: u64,
    length: u64,
    write: bool,
    rip: u64,
) -> Result<(), SysError> {
    if resident(process, address, length, write) {
        return Ok(());
    }
    let end = address + length;
    let mut from = address;
    while from < end {
        let to = ((from & !(PAGE_SIZE - 1)) + PAGE_SIZE).min(end);
        let slice = UserSlice::new(from, to - from, PAGE_SIZE as usize)?;
        with_user(process, rip, |aspace| slice.check_access(aspace, write))?;
        from = to;
    }
    Ok(())
}

/// The fast path's check (`fast::call`): the window the current thread's
/// `call` in `frame` lends, if it is valid and every page of it is there
/// already; `None` sends the call down the general path, which faults
/// pages in or reports the error.
#[inline(never)]
pub fn resident_window(me: &Thread, frame: &TrapFrame) -> Option<Window> {
    let info = MsgInfo::decode(frame.rsi).ok()?;
    let words = [
        frame.r10, frame.r8, frame.r9, frame.r12, frame.r13, frame.r14,
    ];
    let window = Window::from_message(&info, &words).ok()??;
    let process = me.process.as_ref()?;
    let write = window.access == Access::Write;
    resident(process, window.address, window.length, write).then_some(window)
}

/// The window a `call`'s message lends, if any, checked (see the module
/// documentation) and kept for the call in the caller's IPC state. `me`
/// is the caller, the current thread; `rip` its `syscall`'s return
/// address (for the page-fault messages).
pub fn attach(
    me: &Thread,
    process: &Process,
    info: &MsgInfo,
    words: &[u64; MSG_WORDS],
    rip: u64,
) -> Result<(), SysError> {
    let window = Window::from_message(info, words)?;
    if let Some(w) = window {
        fault_in(process, w.address, w.length, w.access == Access::Write, rip)?;
    }
    me.ipc.lock().grant = window;
    Ok(())
}

/// The call is over (or was never sent): its window goes with it.
pub fn detach(me: &Thread) {
    me.ipc.lock().grant = None;
}

/// A caller still waiting for its reply, and the window it lent.
struct Lender {
    thread: Arc<Thread>,
    window: Window,
}

/// The lender behind a reply right: `none` if there is no right,
/// `PeerDied` if the caller is gone or gave up, `NoRights` if it lent no
/// window.
fn lender(caller: Option<&Caller>, none: SysError) -> Result<Lender, SysError> {
    let caller = caller.ok_or(none)?;
    if !caller.is_waiting() || caller.thread.is_killed() {
        return Err(SysError::PeerDied);
    }
    let window = caller.grant.ok_or(SysError::NoRights)?;
    Ok(Lender {
        thread: caller.thread.clone(),
        window,
    })
}

/// The physical address behind `address` in `process`, mapped for user
/// access (writable, with `write`); `BadAddress` otherwise.
fn frame_of(process: &Process, address: u64, write: bool) -> Result<u64, SysError> {
    process
        .with_aspace(|aspace| aspace.user_page(address & !(PAGE_SIZE - 1), write))
        .flatten()
        .map(|page| page + address % PAGE_SIZE)
        .ok_or(SysError::BadAddress)
}

/// `grant_copy` for server thread `me` of `process` (see the module
/// documentation); returns the bytes copied (all of them, or an error and
/// none).
pub fn copy(
    me: &Arc<Thread>,
    process: &Process,
    args: GrantCopy,
    rip: u64,
) -> Result<u64, SysError> {
    let to_window = args.direction == Direction::ToWindow;
    // The server's own buffer first: faulting it in may block (its pager),
    // and the caller may be answered or die meanwhile, so the lender is
    // looked up after. A buffer within one page that is there already (a
    // 4 KiB `read` into an aligned buffer) is looked up once, here, and
    // that frame is what the copy below uses: nothing can block between.
    let within_page = args.len == 0
        || args.buffer / PAGE_SIZE == args.buffer.saturating_add(args.len - 1) / PAGE_SIZE;
    let mut first = frame_of(process, args.buffer, !to_window)
        .ok()
        .filter(|_| within_page);
    if first.is_none() {
        fault_in(process, args.buffer, args.len, !to_window, rip)?;
    }
    let lender = match args.reply {
        None => lender(me.ipc.lock().reply_to.as_ref(), SysError::NotFound)?,
        Some(handle) => lookup::<Reply>(process, handle, Rights::SEND)?
            .object
            .peek(|caller| lender(caller, SysError::PeerDied))?,
    };
    let at = lender.window.range(args.direction, args.offset, args.len)?;
    let theirs = lender.thread.process.as_ref().ok_or(SysError::PeerDied)?;
    if args.len == 0 {
        return Ok(0);
    }
    // Within one page on each side (a 4 KiB `read` into an aligned
    // buffer): the two look-ups below are the checks, made before the one
    // copy. Otherwise every page of the window's part is checked first.
    let last = args.len - 1;
    let one_piece = args.buffer / PAGE_SIZE == (args.buffer + last) / PAGE_SIZE
        && at / PAGE_SIZE == (at + last) / PAGE_SIZE;
    if !one_piece && !resident(theirs, at, args.len, to_window) {
        return Err(SysError::BadAddress);
    }
    // Every check has passed; nothing runs until the copy is done (one
    // CPU, a kernel that is not preempted), so the pages stay.
    let mut done = 0;
    while done < args.len {
        let (mine, window) = (args.buffer + done, at + done);
        let n = (PAGE_SIZE - mine % PAGE_SIZE)
            .min(PAGE_SIZE - window % PAGE_SIZE)
            .min(args.len - done);
        let local = match first.take() {
            Some(frame) => frame,
            None => frame_of(process, mine, !to_window)?,
        };
        let remote = frame_of(theirs, window, to_window)?;
        let (from, to) = if to_window {
            (local, remote)
        } else {
            (remote, local)
        };
        // SAFETY: both frames are user pages checked just above (mapped,
        // user, writable where written), RAM the HHDM maps; `n` bytes stay
        // inside each page. They overlap only when a server copies a
        // window of its own process onto itself, which leaves the bytes as
        // they were or as a forward copy makes them: memory stays valid.
        unsafe { kspace::copy_physical(from, to, n as usize) };
        done += n;
    }
    Ok(args.len)
}

/// The window the current thread lent with the call an in-kernel core is
/// serving (the monolithic placement): copies go straight between the
/// thread's own memory and the core's buffer. Every page was faulted in
/// when the call was made ([`CurrentGrant::for_call`]); a copy never
/// asks the pager (the core runs under the service's lock, which a
/// pager's call would hold while it waits), so a page gone since is
/// `BadAddress`.
pub struct CurrentGrant<'a> {
    process: &'a Process,
    window: Option<Window>,
}

impl<'a> CurrentGrant<'a> {
    /// The grant a call's message (`info`, `words`) lends, checked as
    /// [`attach`] checks it; `rip` is the `syscall`'s return address.
    pub fn for_call(
        process: &'a Process,
        info: &MsgInfo,
        words: &[u64; MSG_WORDS],
        rip: u64,
    ) -> Result<CurrentGrant<'a>, SysError> {
        let window = Window::from_message(info, words)?;
        if let Some(w) = window {
            fault_in(process, w.address, w.length, w.access == Access::Write, rip)?;
        }
        Ok(CurrentGrant { process, window })
    }

    /// The window, for a deferred request to keep ([`ParkedGrant`]).
    pub fn lent(&self) -> Option<Window> {
        self.window
    }
}

/// Copies between the kernel buffer `data` and `[at, at + len)` of
/// `process`'s user memory (`to_user`: into it), page by page through
/// the HHDM; every page is checked first, so a failure copies nothing.
fn copy_user(
    process: &Process,
    at: u64,
    data: *mut u8,
    len: usize,
    to_user: bool,
) -> Result<(), SysError> {
    if len == 0 {
        return Ok(());
    }
    if !resident(process, at, len as u64, to_user) {
        return Err(SysError::BadAddress);
    }
    let mut done = 0usize;
    while done < len {
        let address = at + done as u64;
        let n = ((PAGE_SIZE - address % PAGE_SIZE) as usize).min(len - done);
        let frame = frame_of(process, address, to_user)?;
        let user = kspace::phys_to_virt::<u8>(frame);
        // SAFETY: `frame` is a user page of `process` checked just above
        // (mapped, user, writable when written), RAM the HHDM maps; `n`
        // bytes stay inside it and inside `data` (`done + n <= len`);
        // kernel and user memory never overlap. Nothing runs meanwhile
        // (one CPU, interrupts off), so the page stays.
        unsafe {
            if to_user {
                core::ptr::copy_nonoverlapping(data.add(done), user, n);
            } else {
                core::ptr::copy_nonoverlapping(user, data.add(done), n);
            }
        }
        done += n;
    }
    Ok(())
}

impl libsys::grant::GrantAccess for CurrentGrant<'_> {
    fn window(&self) -> Option<Window> {
        self.window
    }

    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), SysError> {
        let window = self.window.ok_or(SysError::NoRights)?;
        let at = window.range(Direction::ToWindow, offset, data.len() as u64)?;
        copy_user(self.process, at, data.as_ptr().cast_mut(), data.len(), true)
    }

    fn read(&mut self, offset: u64, out: &mut [u8]) -> Result<(), SysError> {
        let window = self.window.ok_or(SysError::NoRights)?;
        let at = window.range(Direction::FromWindow, offset, out.len() as u64)?;
        copy_user(self.process, at, out.as_mut_ptr(), out.len(), false)
    }
}

/// The window of a caller parked in an in-kernel core (its request was
/// deferred): kept with the request's token, so the core can fill it
/// when it completes the request from another caller's entry. Copies go
/// to the parked thread's memory while it still waits in its call
/// (`PeerDied` once it is killed or gone); pages are not faulted in on
/// its behalf (`BadAddress`), as for a window behind a saved reply.
pub struct ParkedGrant {
    thread: Arc<Thread>,
    window: Window,
}

impl ParkedGrant {
    pub fn new(thread: Arc<Thread>, window: Window) -> ParkedGrant {
        ParkedGrant { thread, window }
    }

    fn process(&self) -> Result<&Process, SysError> {
        if self.thread.is_killed() {
            return Err(SysError::PeerDied);
        }
        self.thread.process.as_deref().ok_or(SysError::PeerDied)
    }
}

impl libsys::grant::GrantAccess for ParkedGrant {
    fn window(&self) -> Option<Window> {
        Some(self.window)
    }

    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), SysError> {
        let at = self
            .window
            .range(Direction::ToWindow, offset, data.len() as u64)?;
        copy_user(
            self.process()?,
            at,
            data.as_ptr().cast_mut(),
            data.len(),
            true,
        )
    }

    fn read(&mut self, offset: u64, out: &mut [u8]) -> Result<(), SysError> {
        let at = self
            .window
            .range(Direction::FromWindow, offset, out.len() as u64)?;
        copy_user(self.process()?, at, out.as_mut_ptr(), out.len(), false)
    }
}
