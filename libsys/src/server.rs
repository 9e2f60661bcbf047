//! The server runtime: what every server is written against.
//!
//! A server's logic implements [`Server`]: one `handle` per request, with
//! the [`Caller`] (the badge of the handle the request came through, which
//! `init` mints per client). It makes no system call itself, so the same
//! code runs as a process (with [`serve`], which receives, decodes,
//! dispatches and replies in a loop) or inside the kernel (whose direct
//! transport drives the same [`Hosted`] core on the same bytes: see
//! docs/monolithic-vs-microkernel.md).
//!
//! **Reply later.** `handle` answers [`Answer::Now`], or defers the
//! request ([`Later::defer`] gives a token) and answers
//! [`Answer::Later`]; the core completes the token afterwards with
//! [`Later::complete`] from any later entry (`handle`, `on_signal`,
//! `interrupted`). The transport delivers completions after each entry
//! ([`Hosted::deliver`]): with a saved reply right in a process
//! (`reply_save`/`reply_to`), by waking the caller's kernel wait in the
//! monolithic placement. A completion that finds its caller gone comes
//! back to the core through [`Server::cancelled`] (so a pipe can put the
//! bytes back). No core ever waits inside `handle`.
//!
//! **Calling other servers from a core.** A trait through which a core
//! reaches another server must say whether its calls may block; a core
//! may use only non-blocking ones from `handle` (a blocking one would stop
//! every later caller in the monolithic placement, where the core runs
//! under the service's lock). A call that may wait is made by deferring
//! the request and completing it when the other server's answer comes in.

use alloc::vec::Vec;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::abi::SysError;
use crate::grant::GrantAccess;
pub use crate::later::{CallOut, Later, LaterError, NoGrant, Token};
use crate::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR};

/// Who sent a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The badge of the handle the request came through.
    pub badge: u64,
}

/// How `handle` answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer<R> {
    /// The reply, now.
    Now(R),
    /// Later, through [`Later::complete`] with this token (from
    /// [`Later::defer`] for this request).
    Later(Token),
}

/// A server's logic.
pub trait Server {
    type Request: DeserializeOwned;
    type Reply: Serialize;

    /// Answers one request, now or later; never waits.
    fn handle(
        &mut self,
        request: Self::Request,
        from: Caller,
        later: &mut Later<Self::Reply>,
    ) -> Answer<Self::Reply>;

    /// Signals of the notification bound to the serving thread (an
    /// interrupt, a timer): may complete deferred requests.
    fn on_signal(&mut self, _bits: u64, _later: &mut Later<Self::Reply>) {}

    /// The caller of deferred `token` asked to be let out of its call (a
    /// signal): the core completes it now, with an `EINTR`-style error or
    /// what it has done so far (a write that moved half its bytes says
    /// so). By default the call goes on waiting.
    fn interrupted(&mut self, _token: Token, _later: &mut Later<Self::Reply>) {}

    /// The completion of `token` reached its caller (for a core that
    /// keeps one answer in flight at a time, as `wait1` does).
    fn delivered(&mut self, _token: Token, _later: &mut Later<Self::Reply>) {}

    /// `token` ended unanswered: its caller died or gave up. `reply` is
    /// the completion that could not be delivered, if there was one (so
    /// the core can undo what it did for it).
    fn cancelled(
        &mut self,
        _token: Token,
        _reply: Option<Self::Reply>,
        _later: &mut Later<Self::Reply>,
    ) {
    }

    /// The answer to the call out made for `token` ([`Later::call_out`]):
    /// the other server's reply label and payload, or why the call
    /// failed (`NotFound`: no such connection; `PeerDied`: the server is
    /// gone). Heard only while `token` is live; the core completes it (or
    /// calls out again).
    fn answered(
        &mut self,
        _token: Token,
        _answer: Result<(u32, &[u8]), SysError>,
        _later: &mut Later<Self::Reply>,
    ) {
    }
}

/// What a request came to, for the transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatched {
    /// The reply's label and length, in the output buffer.
    Now(u32, usize),
    /// Deferred under this token: keep the caller waiting.
    Later(Token),
}

/// A server core with its reply-later state: what every transport drives.
#[derive(Debug, Default)]
pub struct Hosted<S: Server> {
    pub server: S,
    pub later: Later<S::Reply>,
}

impl<S: Server> Hosted<S> {
    pub fn new(server: S) -> Hosted<S> {
        Hosted {
            server,
            later: Later::new(),
        }
    }

    /// One request in: decoded and handled, the reply (if now) encoded
    /// into `output`. A message that is not a request, or does not
    /// decode, gets [`LABEL_BAD_REQUEST`] and the core is not called; a
    /// core that answers `Later` with a token it did not get for this
    /// request gets [`LABEL_SERVER_ERROR`] (and the token is cancelled).
    pub fn request(
        &mut self,
        label: u32,
        input: &[u8],
        badge: u64,
        output: &mut [u8],
    ) -> Dispatched {
        self.request_with(label, input, badge, output, &mut NoGrant)
    }

    /// [`Hosted::request`] for a request that lent `grant` (the core
    /// reaches it as [`Later::grant`]). A request the core defers keeps
    /// no window unless the transport gives one ([`Later::keep_grant`]).
    pub fn request_with(
        &mut self,
        label: u32,
        input: &[u8],
        badge: u64,
        output: &mut [u8],
        grant: &mut dyn GrantAccess,
    ) -> Dispatched {
        if label != LABEL_REQUEST {
            return Dispatched::Now(LABEL_BAD_REQUEST, 0);
        }
        let Ok(request) = rpc::decode::<S::Request>(input) else {
            return Dispatched::Now(LABEL_BAD_REQUEST, 0);
        };
        self.later.begin(badge);
        let server = &mut self.server;
        let answer = self.later.lend(grant, |later| {
            server.handle(request, Caller { badge }, later)
        });
        let deferred = self.later.end();
        // Matched by reference: a reply can be large, and is not moved.
        match (&answer, deferred) {
            (Answer::Now(reply), deferred) => {
                if let Some(token) = deferred {
                    // Deferred, then answered now after all (a core may
                    // defer first in case it must wait): the token just goes.
                    let _ = self.later.cancel(token);
                }
                let (label, length) = encode(reply, output);
                Dispatched::Now(label, length)
            }
            (Answer::Later(token), Some(d)) if *token == d => Dispatched::Later(d),
            (Answer::Later(_), deferred) => {
                if let Some(token) = deferred {
                    self.cancel(token);
                }
                Dispatched::Now(LABEL_SERVER_ERROR, 0)
            }
        }
    }

    /// Signals of the serving thread's notification.
    pub fn signal(&mut self, bits: u64) {
        self.server.on_signal(bits, &mut self.later);
    }

    /// The caller of `token` wants out of its call. `UnknownToken` if the
    /// token is not live (answered already: nothing to do).
    pub fn interrupt(&mut self, token: Token) -> Result<(), LaterError> {
        self.later.owner(token)?;
        self.server.interrupted(token, &mut self.later);
        Ok(())
    }

    /// `token` ends unanswered (the transport could not keep its caller
    /// waiting, or the caller is gone); the core is told (and may complete
    /// others: deliver afterwards).
    pub fn cancel(&mut self, token: Token) {
        if self.later.cancel(token).is_ok() {
            self.server.cancelled(token, None, &mut self.later);
        }
    }

    /// The answer to `token`'s call out: the core hears it
    /// ([`Server::answered`]); `UnknownToken` if the token ended
    /// meanwhile (the answer is dropped).
    pub fn answered(
        &mut self,
        token: Token,
        answer: Result<(u32, &[u8]), SysError>,
    ) -> Result<(), LaterError> {
        self.later.answer(token)?;
        self.server.answered(token, answer, &mut self.later);
        Ok(())
    }

    /// Client `badge` is gone: each of its live tokens is cancelled and
    /// the core told.
    pub fn client_gone(&mut self, badge: u64) {
        for token in self.later.cancel_client(badge) {
            self.server.cancelled(token, None, &mut self.later);
        }
    }

    /// Delivers every completion queued so far, oldest first: each is
    /// encoded into `scratch` and passed to `send` (token, label, length),
    /// which answers whether its caller got it. One that did not goes
    /// back to the core ([`Server::cancelled`]), which may complete others.
    pub fn deliver(&mut self, scratch: &mut [u8], mut send: impl FnMut(Token, u32, &[u8]) -> bool) {
        // Bounded: each round delivers tokens that were live, and a token
        // completes once.
        while self.later.has_completions() {
            let batch: Vec<(Token, S::Reply)> = self.later.drain();
            for (token, reply) in batch {
                let (label, length) = encode(&reply, scratch);
                if send(token, label, &scratch[..length]) {
                    self.server.delivered(token, &mut self.later);
                } else {
                    self.server.cancelled(token, Some(reply), &mut self.later);
                }
            }
        }
    }
}

fn encode<R: Serialize>(reply: &R, output: &mut [u8]) -> (u32, usize) {
    match rpc::encode(reply, output) {
        Ok(length) => (LABEL_REPLY, length),
        Err(_) => (LABEL_SERVER_ERROR, 0),
    }
}

/// One message in, one reply out, for a core that answers at once (a
/// test, a tool): `input` (the request payload, sent with `label`) is
/// decoded and handled, and the reply encoded into `output`. Returns the
/// reply's label and length. A message that is not a request, or does not
/// decode, gets [`LABEL_BAD_REQUEST`] and no payload; a request the core
/// defers gets [`LABEL_SERVER_ERROR`] (there is no one to answer it
/// later: use [`Hosted`]).
pub fn dispatch<S: Server>(
    server: &mut S,
    label: u32,
    input: &[u8],
    badge: u64,
    output: &mut [u8],
) -> (u32, usize) {
    if label != LABEL_REQUEST {
        return (LABEL_BAD_REQUEST, 0);
    }
    let Ok(request) = rpc::decode::<S::Request>(input) else {
        return (LABEL_BAD_REQUEST, 0);
    };
    let mut later = Later::new();
    later.begin(badge);
    let answer = server.handle(request, Caller { badge }, &mut later);
    match &answer {
        Answer::Now(reply) => encode(reply, output),
        &Answer::Later(token) => {
            let _ = later.cancel(token);
            server.cancelled(token, None, &mut later);
            (LABEL_SERVER_ERROR, 0)
        }
    }
}

/// Serves `server` on `endpoint` for good: receive, [`Hosted::request`],
/// reply and receive the next (`reply_recv`). A deferred request's reply
/// right is saved (`reply_save`) under its token, and used when the core
/// completes it ([`Hosted::deliver`] after every entry into the core).
/// Signals of a notification bound to the thread go to
/// [`Server::on_signal`], but for [`crate::abi::ipc::UNBLOCK_SIGNAL`]:
/// then each saved caller that asked out of its call
/// (`SavedReply::interrupted`) goes to [`Server::interrupted`] (the
/// thread must have a notification bound to hear it: [`run`] binds one;
/// without, the kernel lets such callers go with `Interrupted`). A
/// request that carries handles gets
/// [`LABEL_BAD_REQUEST`] (and the handles are closed). Returns only if
/// receiving fails (the endpoint is gone).
#[cfg(target_os = "none")]
pub fn serve<S: Server>(
    endpoint: &crate::handle::Endpoint,
    hosted: &mut Hosted<S>,
) -> crate::abi::SysError {
    use crate::abi::ipc::{FOREVER, PAYLOAD_MAX};
    use crate::ipc::{self, Message};
    use alloc::collections::BTreeMap;

    let mut input = [0u8; PAYLOAD_MAX];
    let mut saved: BTreeMap<Token, ipc::SavedReply> = BTreeMap::new();
    let mut connections = crate::callout::Connections::new();
    let mut received = match endpoint.recv(FOREVER) {
        Ok(r) => r,
        Err(e) => return e,
    };
    loop {
        // SAFETY: the main thread's buffer; requests are copied out of it
        // before anything is written into it.
        let buffer = unsafe { ipc::buffer() };
        let reply = if let Some(bits) = received.signals() {
            crate::record::signal(bits);
            if bits & crate::abi::ipc::UNBLOCK_SIGNAL != 0 {
                // Some saved caller asked out of its call: which ones.
                let asked: Vec<Token> = saved
                    .iter()
                    .filter(|(_, right)| right.interrupted())
                    .map(|(&token, _)| token)
                    .collect();
                for token in asked {
                    crate::record::interrupt(token.raw());
                    let _ = hosted.interrupt(token);
                }
            }
            let rest = bits & !crate::abi::ipc::UNBLOCK_SIGNAL;
            if rest != 0 {
                hosted.signal(rest);
            }
            None
        } else if received.msg.label() == crate::callout::LABEL_CALLOUT_WAKE
            && received.msg.handles().is_empty()
        {
            // The worker has answers (from anyone else: nothing to take).
            for (token, answer) in crate::callout::take_answers() {
                let answer = answer.as_ref().map(|(label, bytes)| (*label, &bytes[..]));
                let _ = hosted.answered(token, answer.map_err(|e| *e));
            }
            Some((LABEL_REPLY, 0))
        } else if !received.msg.handles().is_empty() {
            Some(handles_in(&received, buffer, &mut connections))
        } else {
            let msg = received.msg;
            let n = (msg.info.length as usize).min(PAYLOAD_MAX);
            input[..n].copy_from_slice(&buffer[..n]);
            crate::record::request(received.badge, msg.label(), &input[..n]);
            // The window the caller lent, if any: the core's `later.grant()`.
            let mut grant = crate::grant::CallerGrant::current(&msg);
            match hosted.request_with(msg.label(), &input[..n], received.badge, buffer, &mut grant)
            {
                Dispatched::Now(label, length) => {
                    crate::record::now(label, &buffer[..length]);
                    Some((label, length))
                }
                Dispatched::Later(token) => {
                    crate::record::later(token.raw());
                    match ipc::save_reply() {
                        Ok(right) => {
                            // The window stays with the token, on the saved right.
                            if let Some(window) = grant.window() {
                                let kept = crate::grant::SavedGrant::new(right.handle(), window);
                                hosted.later.keep_grant(token, alloc::boxed::Box::new(kept));
                            }
                            saved.insert(token, right);
                        }
                        Err(_) => hosted.cancel(token),
                    }
                    None
                }
            }
        };
        start_calls(hosted, &connections, endpoint);
        if hosted.later.has_completions() {
            // Completions use the IPC buffer: the reply waits aside.
            let length = reply.map_or(0, |(_, length)| length);
            input[..length].copy_from_slice(&buffer[..length]);
            hosted.deliver(buffer, |token, label, bytes| {
                let Some(right) = saved.remove(&token) else {
                    crate::record::deliver(token.raw(), label, false, bytes);
                    return false;
                };
                let msg = Message::new(label).with_payload(bytes.len() as u16);
                let ok = right.reply(&msg).is_ok();
                crate::record::deliver(token.raw(), label, ok, bytes);
                ok
            });
            buffer[..length].copy_from_slice(&input[..length]);
            // Cores may call out from `delivered`/`cancelled`; the rare
            // refusal these complete waits for the next round.
            start_calls(hosted, &connections, endpoint);
        }
        let next = match reply {
            Some((label, length)) => {
                endpoint.reply_recv(&Message::new(label).with_payload(length as u16), FOREVER)
            }
            None => endpoint.recv(FOREVER),
        };
        match next {
            Ok(r) => received = r,
            Err(e) => return e,
        }
    }
}

/// A message that carries handles: a connection ([`crate::callout::
/// LABEL_CONNECT`], one endpoint, its name as the payload) is kept;
/// anything else is malformed (the `Server` trait takes no handles) and
/// its handles are closed. The reply's label and length.
#[cfg(target_os = "none")]
fn handles_in(
    received: &crate::ipc::Received,
    buffer: &[u8],
    connections: &mut crate::callout::Connections,
) -> (u32, usize) {
    let msg = received.msg;
    let mut owned = msg.handles().iter().map(|&h| {
        // SAFETY: the kernel just put these into our table; no one else
        // knows them.
        unsafe { crate::handle::OwnedHandle::from_raw(crate::abi::Handle(h as u32)) }
    });
    if msg.label() == crate::callout::LABEL_CONNECT && msg.handles().len() == 1 {
        let Some(handle) = owned.next() else {
            return (LABEL_BAD_REQUEST, 0);
        };
        let n = (msg.info.length as usize).min(crate::callout::NAME_MAX + 1);
        let endpoint = crate::handle::Endpoint(handle);
        return match connections.connect(received.badge, &buffer[..n], endpoint) {
            Ok(()) => (LABEL_REPLY, 0),
            Err(_) => (LABEL_BAD_REQUEST, 0),
        };
    }
    owned.for_each(drop);
    (LABEL_BAD_REQUEST, 0)
}

/// Starts the calls out the core asked for (`callout`); one that cannot
/// start is answered to the core at once (it may complete its token).
#[cfg(target_os = "none")]
fn start_calls<S: Server>(
    hosted: &mut Hosted<S>,
    connections: &crate::callout::Connections,
    endpoint: &crate::handle::Endpoint,
) {
    while hosted.later.has_calls() {
        for call in hosted.later.take_calls() {
            let token = call.token;
            if let Err(e) = crate::callout::start(connections, call, endpoint) {
                let _ = hosted.answered(token, Err(e));
            }
        }
    }
}

/// A server process's whole `main`: creates an endpoint, registers it as
/// `name` with the name service, and [`serve`]s `server` on it. Returns
/// (as the exit status) only on failure, having logged why: 1 no
/// endpoint, 2 not registered, 3 serving stopped.
#[cfg(all(feature = "rt", target_os = "none"))]
pub fn run<S: Server>(name: &str, server: S) -> u64 {
    let endpoint = match crate::handle::Endpoint::create() {
        Ok(e) => e,
        Err(e) => {
            crate::eprintln!("{name}: cannot create an endpoint: {e}");
            return 1;
        }
    };
    if let Err(e) = crate::names::register(name, &endpoint) {
        crate::eprintln!("{name}: cannot register: {e}");
        return 2;
    }
    // Bound to this thread so that a caller asking out of a deferred call
    // (`Thread::unblock`) is heard: `UNBLOCK_SIGNAL` on it.
    let unblock = crate::handle::Notification::create();
    if let Err(e) = unblock.as_ref().map(|n| n.bind_current()) {
        crate::eprintln!("{name}: callers cannot be interrupted (no notification): {e}");
    }
    // `record` among the arguments: every request and reply is logged
    // for replay on the host (crate::record).
    if crate::record::start_if_asked(name) {
        crate::println!("{name}: recording requests and replies (REC lines)");
    }
    let error = serve(&endpoint, &mut Hosted::new(server));
    drop(unblock);
    crate::eprintln!("{name}: stopped serving: {error}");
    3
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Adder(u64);

    impl Server for Adder {
        type Request = u64;
        type Reply = (u64, u64);
        fn handle(
            &mut self,
            request: u64,
            from: Caller,
            _later: &mut Later<(u64, u64)>,
        ) -> Answer<(u64, u64)> {
            self.0 += request;
            Answer::Now((self.0, from.badge))
        }
    }

    /// A gate: `0` waits until someone sends `1`, which opens it for
    /// every waiter; `2` answers at once. An interrupted waiter gets
    /// `u64::MAX`; the cancelled are remembered.
    #[derive(Default)]
    struct Gate {
        waiting: Vec<Token>,
        cancelled: Vec<(Token, Option<u64>)>,
    }

    impl Server for Gate {
        type Request = u64;
        type Reply = u64;
        fn handle(&mut self, request: u64, _: Caller, later: &mut Later<u64>) -> Answer<u64> {
            match request {
                0 => match later.defer() {
                    Ok(token) => {
                        self.waiting.push(token);
                        Answer::Later(token)
                    }
                    Err(_) => Answer::Now(404),
                },
                1 => {
                    for token in self.waiting.drain(..) {
                        later.complete(token, 1).unwrap();
                    }
                    Answer::Now(0)
                }
                other => Answer::Now(other),
            }
        }

        fn interrupted(&mut self, token: Token, later: &mut Later<u64>) {
            self.waiting.retain(|&t| t != token);
            later.complete(token, u64::MAX).unwrap();
        }

        fn cancelled(&mut self, token: Token, reply: Option<u64>, _: &mut Later<u64>) {
            self.waiting.retain(|&t| t != token);
            self.cancelled.push((token, reply));
        }
    }

    fn ask(gate: &mut Hosted<Gate>, request: u64, badge: u64) -> Dispatched {
        let mut input = [0u8; 16];
        let n = rpc::encode(&request, &mut input).unwrap();
        let mut output = [0u8; 16];
        gate.request(LABEL_REQUEST, &input[..n], badge, &mut output)
    }

    /// Delivers what is queued: (token, reply) for each caller that got
    /// one; callers in `gone` get nothing.
    fn deliver(gate: &mut Hosted<Gate>, gone: &[Token]) -> Vec<(Token, u64)> {
        let mut scratch = [0u8; 16];
        let mut got = Vec::new();
        gate.deliver(&mut scratch, |token, label, bytes| {
            assert_eq!(label, LABEL_REPLY);
            if gone.contains(&token) {
                return false;
            }
            got.push((token, rpc::decode(bytes).unwrap()));
            true
        });
        got
    }

    fn token(d: Dispatched) -> Token {
        match d {
            Dispatched::Later(token) => token,
            other => panic!("answered at once: {other:?}"),
        }
    }

    #[test]
    fn fifty_waiters_are_all_answered_later() {
        let mut gate = Hosted::new(Gate::default());
        let tokens: Vec<Token> = (0..50).map(|i| token(ask(&mut gate, 0, i % 5))).collect();
        assert_eq!(gate.later.pending(), 50);
        assert!(deliver(&mut gate, &[]).is_empty(), "nothing completed yet");
        assert_eq!(ask(&mut gate, 1, 99), Dispatched::Now(LABEL_REPLY, 1));
        let got = deliver(&mut gate, &[]);
        assert_eq!(got, tokens.iter().map(|&t| (t, 1)).collect::<Vec<_>>());
        assert_eq!(gate.later.pending(), 0);
    }

    #[test]
    fn an_interrupted_waiter_is_answered_and_a_stale_token_refused() {
        let mut gate = Hosted::new(Gate::default());
        let first = token(ask(&mut gate, 0, 1));
        let second = token(ask(&mut gate, 0, 1));
        assert_eq!(gate.interrupt(first), Ok(()));
        assert_eq!(deliver(&mut gate, &[]), [(first, u64::MAX)]);
        assert_eq!(gate.interrupt(first), Err(LaterError::UnknownToken));
        assert_eq!(gate.server.waiting, [second]);
    }

    #[test]
    fn the_gone_are_cancelled_and_the_table_empties() {
        let mut gate = Hosted::new(Gate::default());
        let dead = token(ask(&mut gate, 0, 1));
        let alive = token(ask(&mut gate, 0, 2));
        let killed = token(ask(&mut gate, 0, 3));
        // Client 3 dies while waiting: its token goes, the core is told.
        gate.client_gone(3);
        assert_eq!(gate.server.cancelled, [(killed, None)]);
        ask(&mut gate, 1, 9);
        // Client 1 gave up: its completion comes back to the core.
        assert_eq!(deliver(&mut gate, &[dead]), [(alive, 1)]);
        assert_eq!(gate.server.cancelled, [(killed, None), (dead, Some(1))]);
        assert_eq!(gate.later.pending(), 0);
    }

    #[test]
    fn a_full_table_is_answered_now_and_dispatch_refuses_later() {
        let mut gate = Hosted::new(Gate::default());
        for _ in 0..crate::later::TOKENS_PER_CLIENT {
            token(ask(&mut gate, 0, 1));
        }
        assert_eq!(ask(&mut gate, 0, 1), Dispatched::Now(LABEL_REPLY, 2));
        let mut plain = Gate::default();
        let mut output = [0u8; 16];
        assert_eq!(
            dispatch(&mut plain, LABEL_REQUEST, &[0], 1, &mut output),
            (LABEL_SERVER_ERROR, 0)
        );
        assert_eq!(plain.cancelled.len(), 1);
    }

    #[test]
    fn dispatch_decodes_handles_and_encodes() {
        let mut adder = Adder(0);
        let mut input = [0u8; 16];
        let n = rpc::encode(&5u64, &mut input).unwrap();
        let mut output = [0u8; 32];
        let (label, length) = dispatch(&mut adder, LABEL_REQUEST, &input[..n], 42, &mut output);
        assert_eq!(label, LABEL_REPLY);
        assert_eq!(rpc::decode::<(u64, u64)>(&output[..length]), Ok((5, 42)));
    }

    #[test]
    fn garbage_gets_bad_request_and_the_server_is_not_called() {
        let mut adder = Adder(0);
        let mut output = [0u8; 32];
        for input in [
            &[][..],
            &[0xff, 0xff, 0xff][..],
            &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11][..],
        ] {
            assert_eq!(
                dispatch(&mut adder, LABEL_REQUEST, input, 1, &mut output),
                (LABEL_BAD_REQUEST, 0)
            );
        }
        assert_eq!(
            dispatch(&mut adder, 77, &[5], 1, &mut output),
            (LABEL_BAD_REQUEST, 0),
            "not a request"
        );
        assert_eq!(adder.0, 0, "the server never saw a bad message");
        let mut tiny = [0u8; 1];
        assert_eq!(
            dispatch(&mut adder, LABEL_REQUEST, &[9], 1, &mut tiny),
            (LABEL_SERVER_ERROR, 0)
        );
    }
}
