//! The server runtime: what every server is written against.
//!
//! A server's logic implements [`Server`]: one `handle` per request, with
//! the [`Caller`] (the badge of the handle the request came through, which
//! `init` mints per client). It makes no system call itself, so the same
//! code runs as a process (with [`serve`], which receives, decodes,
//! dispatches and replies in a loop) or inside the kernel (whose direct
//! transport calls [`dispatch`] on the same bytes: see
//! docs/monolithic-vs-microkernel.md).

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR};

/// Who sent a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The badge of the handle the request came through.
    pub badge: u64,
}

/// A server's logic.
pub trait Server {
    type Request: DeserializeOwned;
    type Reply: Serialize;

    /// Answers one request.
    fn handle(&mut self, request: Self::Request, from: Caller) -> Self::Reply;
}

/// One message in, one reply out: `input` (the request payload, sent with
/// `label`) is decoded and handled, and the reply encoded into `output`.
/// Returns the reply's label and length. A message that is not a request,
/// or does not decode, gets [`LABEL_BAD_REQUEST`] and no payload; the
/// server is not called.
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
    let reply = server.handle(request, Caller { badge });
    match rpc::encode(&reply, output) {
        Ok(length) => (LABEL_REPLY, length),
        Err(_) => (LABEL_SERVER_ERROR, 0),
    }
}

/// Serves `server` on `endpoint` for good: receive, [`dispatch`], reply
/// and receive the next (`reply_recv`). Signals of a notification bound to
/// the thread are passed to `on_signal`. A request that carries handles
/// gets [`LABEL_BAD_REQUEST`] (and the handles are closed). Returns only if
/// receiving fails (the endpoint is gone).
#[cfg(target_os = "none")]
pub fn serve<S: Server>(
    endpoint: &crate::handle::Endpoint,
    server: &mut S,
    mut on_signal: impl FnMut(&mut S, u64),
) -> crate::abi::SysError {
    use crate::abi::ipc::{FOREVER, PAYLOAD_MAX};
    use crate::ipc::{self, Message};

    let mut input = [0u8; PAYLOAD_MAX];
    let mut received = match endpoint.recv(FOREVER) {
        Ok(r) => r,
        Err(e) => return e,
    };
    loop {
        let reply = if let Some(bits) = received.signals() {
            on_signal(server, bits);
            None
        } else if !received.msg.handles().is_empty() {
            // The Server trait takes no handles: a request that carries
            // some is malformed. They are closed, not kept.
            for &h in received.msg.handles() {
                // SAFETY: the kernel just put these into our table; no one
                // else knows them.
                drop(unsafe { crate::handle::OwnedHandle::from_raw(crate::abi::Handle(h as u32)) });
            }
            Some(Message::new(LABEL_BAD_REQUEST))
        } else {
            let msg = received.msg;
            let n = (msg.info.length as usize).min(PAYLOAD_MAX);
            // SAFETY: the main thread's buffer; the request is copied out
            // before the reply is written into the same page.
            let buffer = unsafe { ipc::buffer() };
            input[..n].copy_from_slice(&buffer[..n]);
            let (label, length) =
                dispatch(server, msg.label(), &input[..n], received.badge, buffer);
            Some(Message::new(label).with_payload(length as u16))
        };
        let next = match reply {
            Some(reply) => endpoint.reply_recv(&reply, FOREVER),
            None => endpoint.recv(FOREVER),
        };
        match next {
            Ok(r) => received = r,
            Err(e) => return e,
        }
    }
}

/// A server process's whole `main`: creates an endpoint, registers it as
/// `name` with the name service, and [`serve`]s `server` on it. Returns
/// (as the exit status) only on failure, having logged why: 1 no
/// endpoint, 2 not registered, 3 serving stopped.
#[cfg(all(feature = "rt", target_os = "none"))]
pub fn run<S: Server>(name: &str, server: &mut S) -> u64 {
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
    let error = serve(&endpoint, server, |_, _| {});
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
        fn handle(&mut self, request: u64, from: Caller) -> (u64, u64) {
            self.0 += request;
            (self.0, from.badge)
        }
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
