//! The `echo` core through its transport, in whichever placement this
//! boot has (`libsys::proto::echo`): the kernel's service when the name
//! service knows `echo` (placement=mono), else the same core served by a
//! thread of this process (`libsys::server::serve`). Checked:
//!
//! - `Fill` and `Sum` copy through the request's window (4 KiB one way,
//!   3,000 bytes the other); the wrong kind of window, or none, is an
//!   error and copies nothing;
//! - `Hold` keeps a second thread's window with its deferred request, and
//!   `Release` (this thread's request) fills it and answers it;
//! - `Relay` calls out to a server thread of this process connected as
//!   `relay` (`LABEL_CONNECT`), and answers with what it said; without a
//!   connection it is `Unreachable`; a bad connection is refused; a caller
//!   that gives up (a timeout) while the call is out is let go, and the
//!   late answer is dropped — the next relay works.

use alloc::boxed::Box;
use core::sync::atomic::{AtomicU64, Ordering};

use libsys::abi::ipc::FOREVER;
use libsys::abi::{Rights, SysError};
use libsys::callout::LABEL_CONNECT;
use libsys::grant::Grant;
use libsys::handle::Endpoint;
use libsys::ipc::{self, Message};
use libsys::proto::echo::{pattern, EchoError, Reply, Request};
use libsys::rpc::{self, LABEL_REPLY, LABEL_REQUEST};
use libsys::server::Hosted;
use userland::Tally;

/// A relay value the relay thread answers late (after [`LATE_MS`]).
const SLOW: u64 = 1000;
const LATE_MS: u64 = 300;

/// The held thread's reply (`Count(n)` as n + 1; 0: none yet) and
/// whether its window held the pattern.
static HELD_REPLY: AtomicU64 = AtomicU64::new(0);
static HELD_OK: AtomicU64 = AtomicU64::new(0);

/// One request, lending `grant`; the reply.
fn ask(
    ep: &Endpoint,
    request: &Request,
    grant: Option<Grant>,
    timeout: u64,
) -> Result<Reply, SysError> {
    let n = rpc::encode_payload(request).map_err(|_| SysError::InvalidArgument)?;
    let msg = Message::new(LABEL_REQUEST).with_payload(n);
    let reply = match grant {
        Some(g) => ep.call_with_grant(&msg, g, timeout)?,
        None => ep.call(&msg, timeout)?,
    };
    if reply.label() != LABEL_REPLY {
        return Err(SysError::InvalidArgument);
    }
    let mut buf = [0u8; 64];
    let n = ipc::read_payload(reply.info.length.into(), &mut buf);
    rpc::decode(&buf[..n]).map_err(|_| SysError::InvalidArgument)
}

fn expect(t: &mut Tally, name: &str, got: Result<Reply, SysError>, want: Reply) {
    match got {
        Ok(r) if r == want => t.check(name, Ok(())),
        other => t.check(name, Err(format_args!("{other:?}, not {want:?}"))),
    }
}

/// The core's endpoint, and where it runs.
fn find() -> Option<(Endpoint, &'static str)> {
    if let Ok(ep) = libsys::names::lookup(libsys::proto::echo::NAME) {
        return Some((ep, "kernel"));
    }
    let ep = Endpoint::create().ok()?;
    // SEND too: the runtime's call-out worker wakes the serving thread.
    let theirs = ep.dup(Rights::RECV | Rights::SEND, None).ok()?;
    libsys::thread::spawn(move || {
        let _ = libsys::server::serve(&theirs, &mut Hosted::new(echo::Echo::new()));
    })
    .ok()?;
    Some((ep, "process"))
}

pub fn checks(t: &mut Tally) {
    let Some((ep, place)) = find() else {
        t.check(
            "echo: the core",
            Err(format_args!("neither found nor served")),
        );
        return;
    };
    libsys::println!("granttest: the echo core runs in the {place}");
    windows(t, &ep);
    held(t, &ep);
    relay(t, &ep);
}

fn windows(t: &mut Tally, ep: &Endpoint) {
    let mut page = Box::new([0u8; 4096]);
    let got = Grant::write(&mut page[..])
        .and_then(|g| ask(ep, &Request::Fill { seed: 5, len: 9999 }, Some(g), FOREVER));
    expect(
        t,
        "echo: fill 4 KiB through the window",
        got,
        Reply::Count(4096),
    );
    let ok = page.iter().enumerate().all(|(i, &b)| b == pattern(i, 5));
    t.check(
        "echo: the window holds the pattern",
        if ok {
            Ok(())
        } else {
            Err(format_args!("wrong bytes"))
        },
    );
    let source = Box::new([2u8; 3000]);
    let got = Grant::read(&source[..]).and_then(|g| ask(ep, &Request::Sum, Some(g), FOREVER));
    expect(t, "echo: sum a read window", got, Reply::Sum(6000));
    let got = Grant::read(&source[..])
        .and_then(|g| ask(ep, &Request::Fill { seed: 1, len: 16 }, Some(g), FOREVER));
    expect(
        t,
        "echo: fill a read window refused",
        got,
        Reply::Error(EchoError::Fault),
    );
    let got = ask(ep, &Request::Fill { seed: 1, len: 16 }, None, FOREVER);
    expect(t, "echo: no window", got, Reply::Error(EchoError::NoWindow));
}

fn held(t: &mut Tally, ep: &Endpoint) {
    let Ok(theirs) = ep.dup(Rights::SEND | Rights::GRANT, None) else {
        t.check("echo: hold", Err(format_args!("no copy of the handle")));
        return;
    };
    let holder = libsys::thread::spawn(move || {
        let mut page = Box::new([0u8; 4096]);
        let got = Grant::write(&mut page[..])
            .and_then(|g| ask(&theirs, &Request::Hold { seed: 9 }, Some(g), FOREVER));
        let ok = page.iter().enumerate().all(|(i, &b)| b == pattern(i, 9));
        HELD_OK.store(u64::from(ok), Ordering::Relaxed);
        let code = match got {
            Ok(Reply::Count(n)) => u64::from(n) + 1,
            _ => u64::MAX,
        };
        HELD_REPLY.store(code, Ordering::Relaxed);
    });
    let Ok(holder) = holder else {
        t.check("echo: hold", Err(format_args!("no thread")));
        return;
    };
    // Until the holder's request is in: each Release answers those held.
    let mut released = 0;
    for _ in 0..200 {
        if let Ok(Reply::Released(n)) = ask(ep, &Request::Release, None, FOREVER) {
            released += n;
        }
        if released > 0 {
            break;
        }
        libsys::time::sleep_ms(5);
    }
    let _ = holder.join();
    let (code, ok) = (
        HELD_REPLY.load(Ordering::Relaxed),
        HELD_OK.load(Ordering::Relaxed),
    );
    t.record(
        "echo: a held request's window is filled at its release",
        if released == 1 && code == 4097 && ok == 1 {
            Ok(())
        } else {
            Err(alloc::format!(
                "released {released}, reply code {code}, pattern {ok}"
            ))
        },
    );
}

/// The relay: answers `value + 1`, late for [`SLOW`].
fn relay_server(ep: Endpoint) {
    let mut buf = [0u8; 64];
    while let Ok(got) = ep.recv(FOREVER) {
        let n = ipc::read_payload(got.msg.info.length.into(), &mut buf);
        let value: u64 = rpc::decode(&buf[..n]).unwrap_or(0);
        if value == SLOW {
            libsys::time::sleep_ms(LATE_MS);
        }
        let reply = match rpc::encode_payload(&(value + 1)) {
            Ok(length) => Message::new(LABEL_REPLY).with_payload(length),
            Err(_) => Message::new(0),
        };
        // A caller gone (the slow one): PeerDied, nothing to do.
        let _ = ipc::reply(&reply);
    }
}

/// `LABEL_CONNECT` with `name` and `handle`: whether it was accepted.
fn connect(ep: &Endpoint, name: &[u8], handle: libsys::abi::Handle) -> Result<(), SysError> {
    let n = ipc::write_payload(name)?;
    let msg = Message::new(LABEL_CONNECT)
        .with_payload(n)
        .with_handles(&[handle]);
    match ep.call(&msg, FOREVER)?.label() {
        LABEL_REPLY => Ok(()),
        _ => Err(SysError::InvalidArgument),
    }
}

fn relay(t: &mut Tally, ep: &Endpoint) {
    let got = ask(ep, &Request::Relay { value: 1 }, None, FOREVER);
    expect(
        t,
        "echo: relay without a connection",
        got,
        Reply::Error(EchoError::Unreachable),
    );
    let Ok(relay_ep) = Endpoint::create() else {
        t.check("echo: relay", Err(format_args!("no endpoint")));
        return;
    };
    let Ok(theirs) = relay_ep.dup(Rights::RECV, None) else {
        t.check("echo: relay", Err(format_args!("no copy")));
        return;
    };
    if libsys::thread::spawn(move || relay_server(theirs)).is_err() {
        t.check("echo: relay", Err(format_args!("no thread")));
        return;
    }
    let refused = connect(ep, b"", relay_ep.raw()).is_err()
        && libsys::handle::Notification::create()
            .map(|n| connect(ep, b"relay", n.raw()).is_err())
            .unwrap_or(false);
    t.check(
        "echo: a bad connection is refused",
        if refused {
            Ok(())
        } else {
            Err(format_args!("accepted"))
        },
    );
    t.record(
        "echo: connect the relay",
        connect(ep, b"relay", relay_ep.raw()),
    );
    let got = ask(ep, &Request::Relay { value: 41 }, None, FOREVER);
    expect(
        t,
        "echo: relay calls out and answers",
        got,
        Reply::Relayed(42),
    );
    let got = ask(ep, &Request::Relay { value: SLOW }, None, 50_000_000);
    t.record(
        "echo: a caller that gives up while the call is out is let go",
        match got {
            Err(SysError::TimedOut) => Ok(()),
            other => Err(alloc::format!("{other:?}")),
        },
    );
    let got = ask(ep, &Request::Relay { value: 7 }, None, FOREVER);
    expect(
        t,
        "echo: the late answer dropped, the next relay works",
        got,
        Reply::Relayed(8),
    );
}
