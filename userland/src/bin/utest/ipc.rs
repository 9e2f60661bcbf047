//! IPC: register messages and payloads, handle transfer and badges,
//! timeouts, and `PeerDied` when a server dies.

use libsys::abi::ipc::{FOREVER, POLL};
use libsys::abi::{Handle, MsgInfo, ProcessStatus, Rights, SysError, Syscall};
use libsys::format_text;
use libsys::handle::{Endpoint, Notification};
use libsys::ipc::{self, Message};
use libsys::spawn::Child;
use libsys::syscall::{self, call6, raw, rdtsc};

use crate::*;

pub(crate) fn ping_pong(env: &mut Env) -> Result<(), Why> {
    let ep = Endpoint::create().step("endpoint_create")?;
    let child = env.partner("echo", ep.raw(), Rights::RECV, None)?;
    for i in 0..100u64 {
        let msg = Message::new(LABEL_ADD).with_words([i, i * 2, i * 3, i * 4, i * 5, u64::MAX - i]);
        let reply = ep.call(&msg, FOREVER).step("call")?;
        ensure!(
            reply.label() == LABEL_ADD + 1,
            "reply label {}",
            reply.label()
        );
        let want = msg.words.map(|w| w.wrapping_add(1));
        ensure!(
            reply.words == want,
            "round {i}: words {:?}, expected {want:?}",
            reply.words
        );
    }
    quit(env, &ep, &child)
}

/// The reply objects charged to this process's account and its
/// descendants' (`replies`).
fn replies_charged(env: &Env) -> Result<u64, Why> {
    let usage = libsys::limits::usage(env.me.raw()).step("process_limits")?;
    Ok(usage.used[libsys::abi::limits::Resource::Replies as usize])
}

/// Calls answered through a saved reply right with `reply_to_recv` (the
/// reply and the next receive in one call; its fast path switches
/// straight to the caller): words and payloads arrive, interleaved with
/// plain replies; a saved right whose caller gave up (timed out) answers
/// `PeerDied` and cannot answer the caller's next call. The accounting:
/// a partner that has answered its saved rights still holds one reply
/// object, charged (its spare, for its next `reply_save`), and gives it
/// back when it dies.
pub(crate) fn saved_replies(env: &mut Env) -> Result<(), Why> {
    let charged = replies_charged(env)?;
    let ep = Endpoint::create().step("endpoint_create")?;
    let child = env.partner("echo", ep.raw(), Rights::RECV, None)?;
    for i in 0..60u64 {
        let label = if i % 3 == 2 {
            LABEL_ADD
        } else {
            LABEL_SAVED_ADD
        };
        let msg = Message::new(label).with_words([i, !i, i << 7, 3, u64::MAX - i, 42]);
        let reply = ep.call(&msg, FOREVER).step("call")?;
        let want = msg.words.map(|w| w.wrapping_add(1));
        ensure!(
            reply.label() == label + 1 && reply.words == want,
            "round {i}: label {} words {:?}, expected {} {want:?}",
            reply.label(),
            reply.words,
            label + 1
        );
    }
    let length = 300usize;
    // SAFETY: the main thread's buffer, not held across the call.
    let buffer = unsafe { ipc::buffer() };
    for (i, b) in buffer[..length].iter_mut().enumerate() {
        *b = (i % 256) as u8;
    }
    let reply = ep
        .call(
            &Message::new(LABEL_SAVED_PAYLOAD).with_payload(length as u16),
            FOREVER,
        )
        .step("call with a payload, answered through a saved right")?;
    // SAFETY: as above.
    let buffer = unsafe { ipc::buffer() };
    let bad = (0..length).find(|&i| buffer[i] != ((length - 1 - i) % 256) as u8);
    ensure!(
        reply.info.length as usize == length && bad.is_none(),
        "a saved right's payload: {} bytes, first difference at {bad:?}",
        reply.info.length
    );
    // The partner answers 60 ms late; we stop waiting after 10 and call
    // again at once: the late answer must not reach the new call.
    let late = ep.call(
        &Message::new(LABEL_SAVED_LATE).with_words([60, 0, 0, 0, 0, 0]),
        10_000_000,
    );
    ensure!(
        late == Err(SysError::TimedOut),
        "a call answered late returned {late:?}"
    );
    let msg = Message::new(LABEL_SAVED_ADD).with_words([7, 0, 0, 0, 0, 0]);
    let reply = ep.call(&msg, FOREVER).step("the call after one given up")?;
    ensure!(
        reply.label() == LABEL_SAVED_ADD + 1 && reply.words[0] == 8,
        "the call after one given up got {reply:?}"
    );
    let held = replies_charged(env)?;
    ensure!(
        held == charged + 1,
        "with every saved right answered, {} reply objects charged (before the partner: {charged}; its spare makes one more)",
        held
    );
    quit(env, &ep, &child)?;
    let after = replies_charged(env)?;
    ensure!(
        after == charged,
        "{after} reply objects charged after the partner died, {charged} before it ran"
    );
    Ok(())
}

/// Tells an echo partner to quit and checks it exited cleanly.
pub(crate) fn quit(env: &Env, ep: &Endpoint, child: &Child) -> Result<(), Why> {
    ep.call(&Message::new(LABEL_QUIT), FOREVER).step("quit")?;
    let status = env.reap(&child.process)?;
    ensure!(
        status == ProcessStatus::Exited(0),
        "the echo partner ended {status:?}"
    );
    Ok(())
}

pub(crate) fn payloads(env: &mut Env) -> Result<(), Why> {
    let ep = Endpoint::create().step("endpoint_create")?;
    let child = env.partner("echo", ep.raw(), Rights::RECV, None)?;
    for length in [256usize, libsys::abi::ipc::PAYLOAD_MAX] {
        // SAFETY: the main thread's buffer, not held across the call.
        let buffer = unsafe { ipc::buffer() };
        for (i, b) in buffer[..length].iter_mut().enumerate() {
            *b = (i * 7 % 251) as u8;
        }
        let reply = ep
            .call(
                &Message::new(LABEL_PAYLOAD).with_payload(length as u16),
                FOREVER,
            )
            .step("call with a payload")?;
        ensure!(
            reply.info.length as usize == length,
            "reply of {} bytes",
            reply.info.length
        );
        // SAFETY: as above.
        let buffer = unsafe { ipc::buffer() };
        let bad = (0..length).find(|&i| buffer[i] != ((length - 1 - i) * 7 % 251) as u8);
        ensure!(
            bad.is_none(),
            "{length}-byte payload differs at byte {bad:?}"
        );
    }
    // A payload longer than a page is refused before anything is sent.
    let raw = MsgInfo::new(LABEL_PAYLOAD).encode() | 4097 << 32;
    let regs = raw::IpcRegs {
        info: raw,
        rdx: FOREVER,
        ..Default::default()
    };
    // The kernel refuses the message; nothing is written.
    let (status, _) = libsys::syscall::ipc_unchecked(Syscall::Call, u64::from(ep.raw().0), regs);
    ensure!(
        status == SysError::BadLength as u64,
        "a 4097-byte payload gave status {status}"
    );
    quit(env, &ep, &child)
}

pub(crate) fn transfer(env: &mut Env) -> Result<(), Why> {
    let ep = Endpoint::create().step("endpoint_create")?;
    let child = env.partner("echo", ep.raw(), Rights::RECV, None)?;
    // Copy: the partner signals the notification we sent; ours stays.
    let n = Notification::create().step("notification_create")?;
    let msg = Message::new(LABEL_HANDLE)
        .with_words([0x55, 0, 0, 0, 0, 0])
        .with_handles(&[n.raw()]);
    let reply = ep.call(&msg, FOREVER).step("call with a handle")?;
    ensure!(
        reply.words[0] == 1,
        "the partner could not signal the handle it got"
    );
    ensure!(
        n.poll().step("poll")? == 0x55,
        "the transferred notification was not signalled"
    );
    ensure!(
        n.0.info().is_ok(),
        "a copied handle was closed in the sender"
    );
    // Move: the sender's handle is gone afterwards.
    let moved = Notification::create().step("notification_create")?;
    let raw = moved.raw();
    let msg = Message::new(LABEL_HANDLE)
        .with_words([1, 0, 0, 0, 0, 0])
        .with_handles(&[raw])
        .moving_handles();
    ep.call(&msg, FOREVER).step("call moving a handle")?;
    let gone = call6(Syscall::HandleInfo, [u64::from(raw.0), 0, 0, 0, 0, 0]);
    ensure!(
        gone == Err(SysError::BadHandle),
        "a moved handle still works in the sender: {gone:?}"
    );
    core::mem::forget(moved);
    // Badges: a minted handle's badge reaches the receiver.
    let badged = ep.dup(Rights::SEND, Some(42)).step("mint a badge")?;
    let reply = badged
        .call(&Message::new(LABEL_BADGE), FOREVER)
        .step("call through the badge")?;
    ensure!(
        reply.words[0] == 42,
        "the partner saw badge {}",
        reply.words[0]
    );
    let plain = ep.call(&Message::new(LABEL_BADGE), FOREVER).step("call")?;
    ensure!(
        plain.words[0] == 0,
        "the original handle has badge {}",
        plain.words[0]
    );
    ensure!(
        badged.dup(Rights::SEND, Some(7)) == Err(SysError::NoRights),
        "re-badged a handle without MINT"
    );
    ensure!(
        ep.dup(
            Rights::SEND | Rights::RECV | Rights::GRANT | Rights::MINT | Rights::MANAGE,
            None
        ) == Err(SysError::NoRights),
        "a dup gained a right"
    );
    // Without GRANT, handles cannot be sent.
    let no_grant = ep.dup(Rights::SEND, None).step("dup")?;
    let msg = Message::new(LABEL_HANDLE).with_handles(&[n.raw()]);
    ensure!(
        no_grant.call(&msg, FOREVER) == Err(SysError::NoRights),
        "sent a handle without GRANT"
    );
    let msg = Message::new(LABEL_HANDLE).with_handles(&[Handle::new(900, 3)]);
    ensure!(
        ep.call(&msg, FOREVER) == Err(SysError::BadHandle),
        "sent a forged handle"
    );
    quit(env, &ep, &child)
}

pub(crate) fn timeouts(env: &mut Env) -> Result<(), Why> {
    let tsc_hz = syscall::clock().step("clock")?.tsc_hz;
    let ms = |ticks: u64| ticks * 1000 / tsc_hz;
    let ep = Endpoint::create().step("endpoint_create")?;
    let start = rdtsc();
    ensure!(
        ep.recv(20_000_000) == Err(SysError::TimedOut),
        "recv with a 20 ms timeout did not time out"
    );
    let waited = ms(rdtsc() - start);
    ensure!(
        (20..200).contains(&waited),
        "a 20 ms recv timeout took {waited} ms"
    );
    ensure!(
        ep.recv(POLL) == Err(SysError::WouldBlock),
        "a polling recv did not refuse"
    );
    ensure!(
        ep.send(&Message::new(1), POLL) == Err(SysError::WouldBlock),
        "a polling send did not refuse"
    );
    let n = Notification::create().step("notification_create")?;
    let start = rdtsc();
    ensure!(
        n.wait(10_000_000) == Err(SysError::TimedOut),
        "wait did not time out"
    );
    ensure!(ms(rdtsc() - start) >= 10, "a 10 ms wait returned early");
    ensure!(
        n.wait(POLL) == Err(SysError::WouldBlock),
        "a polling wait did not refuse"
    );
    ensure!(n.poll() == Ok(0), "poll of nothing");
    // A server that never replies: the client's call times out.
    let child = env.partner("silent", ep.raw(), Rights::RECV, None)?;
    let start = rdtsc();
    let got = ep.call(&Message::new(1), 30_000_000);
    ensure!(
        got == Err(SysError::TimedOut),
        "a call to a silent server gave {got:?}"
    );
    ensure!(ms(rdtsc() - start) >= 30, "the call timed out early");
    child.process.kill().step("kill")?;
    let status = env.reap(&child.process)?;
    ensure!(
        matches!(status, ProcessStatus::Killed(_)),
        "the silent server ended {status:?}"
    );
    Ok(())
}

pub(crate) fn peer_died_in_call(env: &mut Env) -> Result<(), Why> {
    let ep = Endpoint::create().step("endpoint_create")?;
    let server = env.partner("silent", ep.raw(), Rights::RECV, None)?;
    let killer = env.killer(&server.process, 30)?;
    let got = ep.call(&Message::new(1), FOREVER);
    ensure!(
        got == Err(SysError::PeerDied),
        "the call gave {got:?} when its server was killed"
    );
    env.reap(&server.process)?;
    env.reap(&killer.process)?;
    Ok(())
}

pub(crate) fn peer_died_queued(env: &mut Env) -> Result<(), Why> {
    // We keep only a send handle: the partner's is the only receiver.
    let full = Endpoint::create().step("endpoint_create")?;
    let ep = full.dup(Rights::SEND, None).step("dup")?;
    let server = env.child(
        &[(full.raw(), Rights::RECV)],
        |_| format_text!("idle"),
        None,
    )?;
    drop(full);
    let killer = env.killer(&server.process, 30)?;
    let got = ep.call(&Message::new(1), FOREVER);
    ensure!(
        got == Err(SysError::PeerDied),
        "a queued call gave {got:?} when the last receiver died"
    );
    let got = ep.send(&Message::new(1), FOREVER);
    ensure!(
        got == Err(SysError::PeerDied),
        "a send to an endpoint without receivers gave {got:?}"
    );
    env.reap(&server.process)?;
    env.reap(&killer.process)?;
    Ok(())
}
