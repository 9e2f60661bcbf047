//! A pager that is restarting: a fault whose pager endpoint no one serves
//! waits (bounded) for the pager to return instead of killing the process
//! (`microkernel/src/ipc/pager.rs`).
//!
//! - the pager "dies" while it handles a fault (its saved reply right is
//!   dropped unanswered): the fault is sent again on the same endpoint,
//!   which is still served, and completes;
//! - the endpoint loses its last receiver while the child faults: the
//!   child waits (alive after 200 ms), and a new pager set for its thread
//!   (`set_pager`) gets the fault and completes it;
//! - no pager ever returns: the child is killed after the documented
//!   5 s, not before.

use libsys::abi::ipc::{LABEL_PAGE_FAULT, PAGER_RESUME};
use libsys::abi::{ProcessStatus, Protection, Rights};
use libsys::format_text;
use libsys::handle::{Endpoint, Notification, Process};
use libsys::ipc::{self, Message};
use libsys::spawn::Child;
use libsys::syscall;

use crate::*;

/// The kernel's bound on waiting for a pager (`PAGER_ABSENT_TIMEOUT_MS`).
const PAGER_ABSENT_MS: u64 = 5000;

/// Receives the next fault on `pager` and checks it is `page`'s.
fn next_fault(pager: &Endpoint, page: u64) -> Result<(), Why> {
    let got = pager.recv(5_000_000_000).step("pager recv")?;
    ensure!(got.signals().is_none(), "a signal instead of a fault");
    let (label, address) = (got.msg.label(), got.msg.words[0]);
    ensure!(
        label == LABEL_PAGE_FAULT && address & !0xfff == DEMAND_BASE + page * 4096,
        "label {label:#x} at {address:#x}, expected page {page}'s fault"
    );
    Ok(())
}

/// Maps a fresh page at `page` of the child and answers "resume".
fn serve(env: &mut Env, child: &Child, page: u64) -> Result<(), Why> {
    let frame = env.mem.alloc(1).step("a page")?;
    let at = DEMAND_BASE + page * 4096;
    let rw = Protection::READ | Protection::WRITE;
    env.mem
        .map_into(&child.process, at, frame, rw)
        .step("map the page")?;
    ipc::reply(&Message::new(PAGER_RESUME)).step("resume")
}

pub(crate) fn pager_restarts(env: &mut Env) -> Result<(), Why> {
    let first = Endpoint::create().step("endpoint_create")?;
    let done = Notification::create().step("notification_create")?;
    done.bind_current().step("bind")?;
    let child = env.partner("touch 2", done.raw(), Rights::SEND, Some(first.raw()))?;
    next_fault(&first, 0)?;
    // The pager dies with the fault in hand: its reply right goes unused.
    drop(ipc::save_reply().step("reply_save")?);
    next_fault(&first, 0)?;
    // Now no one serves the endpoint; the fault answered, the next one
    // finds it unserved.
    drop(first);
    serve(env, &child, 0)?;
    sleep_ms(200);
    let status = child.process.status().step("process_status")?;
    ensure!(
        status == ProcessStatus::Alive,
        "the child ended {status:?} while its pager was gone"
    );
    let second = Endpoint::create().step("endpoint_create")?;
    child
        .thread
        .set_pager(Some(&second))
        .step("set_pager to the new pager")?;
    next_fault(&second, 1)?;
    serve(env, &child, 1)?;
    let got = second.recv(5_000_000_000).step("the child's signal")?;
    ensure!(
        got.signals() == Some(1),
        "the child read back wrong values ({:?})",
        got.signals()
    );
    let status = env.reap(&child.process)?;
    ensure!(
        status == ProcessStatus::Exited(0),
        "the child ended {status:?}"
    );
    Ok(())
}

pub(crate) fn pager_absent_timeout(env: &mut Env) -> Result<(), Why> {
    let pager = Endpoint::create().step("endpoint_create")?;
    let done = Notification::create().step("notification_create")?;
    let child = env.partner("touch 1", done.raw(), Rights::SEND, Some(pager.raw()))?;
    drop(pager);
    let clock = syscall::clock().step("clock")?;
    let start = clock.jiffies;
    let status = wait_death(env, &child.process, PAGER_ABSENT_MS + 3000)?;
    let waited_ms = (syscall::clock().step("clock")?.jiffies - start) * 1000 / clock.hz;
    ensure!(
        status == ProcessStatus::Fault(14),
        "the child ended {status:?}, expected killed for its page fault"
    );
    ensure!(
        waited_ms + 100 >= PAGER_ABSENT_MS,
        "killed after {waited_ms} ms, before the {PAGER_ABSENT_MS} ms bound"
    );
    Ok(())
}

/// Waits up to `ms` for `process` to die.
fn wait_death(env: &Env, process: &Process, ms: u64) -> Result<ProcessStatus, Why> {
    for _ in 0..ms / 50 {
        let status = process.status().step("process_status")?;
        if status != ProcessStatus::Alive {
            return Ok(status);
        }
        let _ = env.deaths.wait(50_000_000);
    }
    Err(format_text!("still alive after {ms} ms"))
}
