//! The core through `Hosted`, as both transports drive it, with windows
//! of plain memory in place of callers' grants.

use std::sync::{Arc, Mutex};

use libsys::abi::grant::{Access, Window};
use libsys::abi::SysError;
use libsys::grant::GrantAccess;
use libsys::later::NoGrant;
use libsys::proto::echo::{pattern, EchoError, Reply, Request};
use libsys::rpc::{self, LABEL_REPLY, LABEL_REQUEST};
use libsys::server::{Dispatched, Hosted, Token};

use super::Echo;

/// A window of shared memory (so a kept copy can be looked at later).
#[derive(Clone)]
struct Mem {
    buf: Arc<Mutex<Vec<u8>>>,
    access: Access,
}

impl Mem {
    fn new(len: usize, access: Access) -> Mem {
        Mem {
            buf: Arc::new(Mutex::new(vec![0; len])),
            access,
        }
    }
}

impl GrantAccess for Mem {
    fn window(&self) -> Option<Window> {
        Some(Window {
            address: 0x1000,
            length: self.buf.lock().unwrap().len() as u64,
            access: self.access,
        })
    }
    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), SysError> {
        let mut buf = self.buf.lock().unwrap();
        let end = offset as usize + data.len();
        if self.access != Access::Write {
            return Err(SysError::NoRights);
        }
        if end > buf.len() {
            return Err(SysError::BadAddress);
        }
        buf[offset as usize..end].copy_from_slice(data);
        Ok(())
    }
    fn read(&mut self, offset: u64, out: &mut [u8]) -> Result<(), SysError> {
        let buf = self.buf.lock().unwrap();
        let end = offset as usize + out.len();
        if self.access != Access::Read {
            return Err(SysError::NoRights);
        }
        if end > buf.len() {
            return Err(SysError::BadAddress);
        }
        out.copy_from_slice(&buf[offset as usize..end]);
        Ok(())
    }
}

fn ask(
    echo: &mut Hosted<Echo>,
    request: Request,
    badge: u64,
    grant: &mut dyn GrantAccess,
) -> Dispatched {
    let mut input = [0u8; 64];
    let n = rpc::encode(&request, &mut input).unwrap();
    let mut output = [0u8; 64];
    let d = echo.request_with(LABEL_REQUEST, &input[..n], badge, &mut output, grant);
    if let Dispatched::Now(label, length) = d {
        assert_eq!(label, LABEL_REPLY);
        LAST.with(|l| *l.borrow_mut() = rpc::decode(&output[..length]).ok());
    }
    d
}

thread_local! {
    static LAST: std::cell::RefCell<Option<Reply>> = const { std::cell::RefCell::new(None) };
}

fn now(echo: &mut Hosted<Echo>, request: Request, grant: &mut dyn GrantAccess) -> Reply {
    match ask(echo, request, 1, grant) {
        Dispatched::Now(..) => LAST.with(|l| l.borrow_mut().take().unwrap()),
        other => panic!("deferred: {other:?}"),
    }
}

fn later(d: Dispatched) -> Token {
    match d {
        Dispatched::Later(t) => t,
        other => panic!("answered now: {other:?}"),
    }
}

fn delivered(echo: &mut Hosted<Echo>) -> Vec<(Token, Reply)> {
    let mut scratch = [0u8; 64];
    let mut got = Vec::new();
    echo.deliver(&mut scratch, |token, _, bytes| {
        got.push((token, rpc::decode(bytes).unwrap()));
        true
    });
    got
}

#[test]
fn fill_and_sum_go_through_the_window() {
    let mut echo = Hosted::new(Echo::new());
    let mut page = Mem::new(4096, Access::Write);
    assert_eq!(
        now(&mut echo, Request::Fill { seed: 3, len: 9999 }, &mut page),
        Reply::Count(4096)
    );
    let bytes = page.buf.lock().unwrap().clone();
    assert!(bytes.iter().enumerate().all(|(i, &b)| b == pattern(i, 3)));
    let mut src = Mem::new(1000, Access::Read);
    src.buf.lock().unwrap().iter_mut().for_each(|b| *b = 2);
    assert_eq!(now(&mut echo, Request::Sum, &mut src), Reply::Sum(2000));
    // The wrong kind of window, or none: an error, nothing copied.
    assert_eq!(
        now(&mut echo, Request::Sum, &mut page),
        Reply::Error(EchoError::Fault)
    );
    assert_eq!(
        now(&mut echo, Request::Fill { seed: 0, len: 1 }, &mut NoGrant),
        Reply::Error(EchoError::NoWindow)
    );
    // Outside a request, the core sees no window.
    assert!(echo.later.grant().window().is_none());
}

#[test]
fn a_held_request_keeps_its_window_until_released() {
    let mut echo = Hosted::new(Echo::new());
    let window = Mem::new(100, Access::Write);
    let token = later(ask(
        &mut echo,
        Request::Hold { seed: 7 },
        2,
        &mut window.clone(),
    ));
    echo.later.keep_grant(token, Box::new(window.clone()));
    assert_eq!(
        now(&mut echo, Request::Release, &mut NoGrant),
        Reply::Released(1)
    );
    assert_eq!(delivered(&mut echo), [(token, Reply::Count(100))]);
    assert!(window
        .buf
        .lock()
        .unwrap()
        .iter()
        .enumerate()
        .all(|(i, &b)| b == pattern(i, 7)));
    // The token is gone, and its window with it.
    assert!(echo.later.grant_of(token).window().is_none());
    assert_eq!(
        now(&mut echo, Request::Hold { seed: 1 }, &mut NoGrant),
        Reply::Error(EchoError::NoWindow)
    );
}

#[test]
fn a_relay_calls_out_and_completes_with_the_answer() {
    let mut echo = Hosted::new(Echo::new());
    let token = later(ask(
        &mut echo,
        Request::Relay { value: 41 },
        5,
        &mut NoGrant,
    ));
    let calls = echo.later.take_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].token, calls[0].client, calls[0].target.as_str()),
        (token, 5, "relay")
    );
    assert_eq!(rpc::decode::<u64>(&calls[0].payload), Ok(41));
    let mut answer = [0u8; 16];
    let n = rpc::encode(&42u64, &mut answer).unwrap();
    assert_eq!(
        echo.answered(token, Ok((LABEL_REPLY, &answer[..n]))),
        Ok(())
    );
    assert_eq!(delivered(&mut echo), [(token, Reply::Relayed(42))]);
    // A second answer to the same call is refused.
    assert!(echo
        .answered(token, Ok((LABEL_REPLY, &answer[..n])))
        .is_err());
}

#[test]
fn a_failed_or_late_call_out_is_an_error_or_dropped() {
    let mut echo = Hosted::new(Echo::new());
    let token = later(ask(&mut echo, Request::Relay { value: 1 }, 5, &mut NoGrant));
    echo.later.take_calls();
    echo.answered(token, Err(SysError::NotFound)).unwrap();
    assert_eq!(
        delivered(&mut echo),
        [(token, Reply::Error(EchoError::Unreachable))]
    );
    // Interrupted while the call is out: answered now, the answer dropped.
    let token = later(ask(&mut echo, Request::Relay { value: 1 }, 5, &mut NoGrant));
    echo.interrupt(token).unwrap();
    assert_eq!(
        delivered(&mut echo),
        [(token, Reply::Error(EchoError::Interrupted))]
    );
    assert!(echo.answered(token, Ok((LABEL_REPLY, &[2]))).is_err());
    // Cancelled (the caller died) before the transport took the call: it
    // is never started.
    let token = later(ask(&mut echo, Request::Relay { value: 1 }, 6, &mut NoGrant));
    echo.client_gone(6);
    assert!(echo.later.take_calls().is_empty());
    assert!(echo.answered(token, Err(SysError::PeerDied)).is_err());
    assert_eq!(echo.later.pending(), 0);
}
