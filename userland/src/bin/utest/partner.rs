//! The partners: `utest` started again with one verb, as the other end
//! of a test (`echo`, `silent`, `idle`, `killer`, `touch`, `port`), and
//! the message labels `echo` answers.

use libsys::abi::ipc::FOREVER;
use libsys::abi::Handle;
use libsys::handle::{Endpoint, Notification, Process};
use libsys::ipc::{self, Message};

pub(crate) const LABEL_ADD: u32 = 1;
pub(crate) const LABEL_PAYLOAD: u32 = 2;
pub(crate) const LABEL_BADGE: u32 = 3;
pub(crate) const LABEL_HANDLE: u32 = 4;
pub(crate) const LABEL_QUIT: u32 = 5;
/// As `LABEL_ADD`, answered through a saved right (`save_reply`, then
/// `SavedReply::reply_recv`: `reply_to_recv` and its fast path).
pub(crate) const LABEL_SAVED_ADD: u32 = 6;
/// As `LABEL_PAYLOAD`, answered through a saved right.
pub(crate) const LABEL_SAVED_PAYLOAD: u32 = 7;
/// Saved, then answered `words[0]` ms later (after the caller gave up):
/// the reply must fail and the partner serve on.
pub(crate) const LABEL_SAVED_LATE: u32 = 8;

pub(crate) fn handle(raw: u64) -> Handle {
    Handle(raw as u32)
}

/// Answers calls on `ep` until told to quit (see the labels).
pub(crate) fn echo(ep: u64) -> u64 {
    // SAFETY: the driver gave us this handle in our arguments; ours alone.
    let ep = unsafe { Endpoint::from_raw(handle(ep)) };
    let Ok(mut got) = ep.recv(FOREVER) else {
        return 1;
    };
    loop {
        let msg = got.msg;
        if matches!(
            msg.label(),
            LABEL_SAVED_ADD | LABEL_SAVED_PAYLOAD | LABEL_SAVED_LATE
        ) {
            got = match saved_answer(&ep, &msg) {
                Ok(next) => next,
                Err(code) => return code,
            };
            continue;
        }
        let answer = match msg.label() {
            LABEL_ADD => Message::new(msg.label() + 1).with_words(msg.words.map(|w| w + 1)),
            LABEL_PAYLOAD => {
                let n = msg.info.length as usize;
                // SAFETY: the main thread's buffer; no reference is held
                // across the next IPC call.
                let buffer = unsafe { ipc::buffer() };
                buffer[..n].reverse();
                Message::new(LABEL_PAYLOAD).with_payload(n as u16)
            }
            LABEL_BADGE => Message::new(LABEL_BADGE).with_words([got.badge, 0, 0, 0, 0, 0]),
            LABEL_HANDLE => {
                let theirs = msg.handles().first().copied().unwrap_or(0);
                // SAFETY: the kernel just put this handle into our table.
                let n = unsafe { Notification::from_raw(handle(theirs)) };
                let signalled = n.signal(msg.words[0]).is_ok();
                Message::new(LABEL_HANDLE).with_words([signalled as u64, theirs, 0, 0, 0, 0])
            }
            LABEL_QUIT => {
                let _ = ipc::reply(&Message::new(LABEL_QUIT));
                return 0;
            }
            _ => Message::new(0),
        };
        match ep.reply_recv(&answer, FOREVER) {
            Ok(next) => got = next,
            Err(_) => return 2,
        }
    }
}

/// Answers `msg` through a saved reply right and receives the next call
/// in the same system call; `Err` with an exit status when that fails
/// other than as expected.
fn saved_answer(ep: &Endpoint, msg: &Message) -> Result<ipc::Received, u64> {
    let saved = ipc::save_reply().map_err(|_| 4u64)?;
    let answer = match msg.label() {
        LABEL_SAVED_PAYLOAD => {
            let n = msg.info.length as usize;
            // SAFETY: the main thread's buffer; no reference is held
            // across the next IPC call.
            let buffer = unsafe { ipc::buffer() };
            buffer[..n].reverse();
            Message::new(LABEL_SAVED_PAYLOAD).with_payload(n as u16)
        }
        LABEL_SAVED_LATE => {
            sleep_ms(msg.words[0]);
            Message::new(LABEL_SAVED_LATE)
        }
        label => Message::new(label + 1).with_words(msg.words.map(|w| w + 1)),
    };
    match saved.reply_recv(&answer, ep, FOREVER) {
        Ok(next) => Ok(next),
        // The caller gave up: nothing was received; receive now.
        Err(libsys::abi::SysError::PeerDied) if msg.label() == LABEL_SAVED_LATE => {
            ep.recv(FOREVER).map_err(|_| 5)
        }
        Err(_) => Err(6),
    }
}

/// Takes one call and never answers it.
pub(crate) fn silent(ep: u64) -> u64 {
    // SAFETY: as in `echo`.
    let ep = unsafe { Endpoint::from_raw(handle(ep)) };
    let _ = ep.recv(FOREVER);
    idle()
}

/// Waits forever (until killed).
pub(crate) fn idle() -> u64 {
    if let Ok(never) = Notification::create() {
        let _ = never.wait(FOREVER);
    }
    3
}

/// Waits `ms` milliseconds, then kills `process`.
pub(crate) fn killer(process: u64, ms: u64) -> u64 {
    // SAFETY: as in `echo`.
    let process = unsafe { Process::from_raw(handle(process)) };
    sleep_ms(ms);
    process.kill().map_or(1, |()| 0)
}

/// The first page `touch` uses: nothing is mapped there until its pager
/// maps it.
pub(crate) const DEMAND_BASE: u64 = 0x6000_0000_0000;

/// Writes then reads back `pages` pages from [`DEMAND_BASE`], each mapped
/// on demand by the pager; signals `done` with bit 0 (all read back) or
/// bit 1.
pub(crate) fn touch(pages: u64, done: u64) -> u64 {
    // SAFETY: as in `echo`.
    let done = unsafe { Notification::from_raw(handle(done)) };
    for i in 0..pages {
        // SAFETY: the page faults, the pager maps it, and the write runs
        // again; nothing else uses this range.
        unsafe {
            ((DEMAND_BASE + i * libsys::abi::PAGE_SIZE + 8 * i) as *mut u64)
                .write_volatile(0x7007_0000 + i)
        };
    }
    // SAFETY: as above; each page is mapped by now.
    let good = (0..pages).all(|i| unsafe { ((DEMAND_BASE + i * libsys::abi::PAGE_SIZE + 8 * i) as *const u64).read_volatile() } == 0x7007_0000 + i);
    let _ = done.signal(if good { 1 } else { 2 });
    0
}

pub(crate) fn sleep_ms(ms: u64) {
    if let Ok(n) = Notification::create() {
        let _ = n.wait(ms * 1_000_000);
    }
}
