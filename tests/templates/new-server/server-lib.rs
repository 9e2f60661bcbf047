//! `__name__`: the server's core (made by `make new-server NAME=__name__`;
//! see docs/writing-a-server.md).
//!
//! Pure logic behind [`libsys::server::Server`]: no system call, tested on
//! the host. `main.rs` serves it over IPC; the kernel can link the same
//! core for the monolithic placement. The protocol is
//! `libsys::proto::__name__`.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::collections::BTreeMap;

use libsys::proto::__name__::{Reply, Request};
use libsys::server::{Answer, Caller, Later, Server};

/// The server's state: how many requests each client (badge) made.
#[derive(Debug, Default)]
pub struct __Name__ {
    requests: BTreeMap<u64, u64>,
}

impl __Name__ {
    pub fn new() -> __Name__ {
        __Name__::default()
    }
}

impl Server for __Name__ {
    type Request = Request;
    type Reply = Reply;

    fn handle(&mut self, request: Request, from: Caller, _later: &mut Later<Reply>) -> Answer<Reply> {
        let count = self.requests.entry(from.badge).or_default();
        *count += 1;
        Answer::Now(match request {
            Request::Echo { text } => Reply::Echoed(text),
            Request::Count => Reply::Count(*count),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libsys::rpc::{decode, encode, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST};
    use libsys::server::dispatch;

    fn call(server: &mut __Name__, request: &Request, badge: u64) -> Reply {
        let mut input = [0u8; 4096];
        let n = encode(request, &mut input).unwrap();
        let mut output = [0u8; 4096];
        let (label, length) = dispatch(server, LABEL_REQUEST, &input[..n], badge, &mut output);
        assert_eq!(label, LABEL_REPLY);
        decode(&output[..length]).unwrap()
    }

    #[test]
    fn echoes_and_counts_each_client_apart() {
        let mut server = __Name__::new();
        let text = "hello".try_into().unwrap();
        assert_eq!(call(&mut server, &Request::Echo { text }, 1), Reply::Echoed("hello".try_into().unwrap()));
        assert_eq!(call(&mut server, &Request::Count, 1), Reply::Count(2));
        assert_eq!(call(&mut server, &Request::Count, 2), Reply::Count(1), "another badge, another count");
    }

    #[test]
    fn garbage_gets_an_error_and_changes_nothing() {
        let mut server = __Name__::new();
        let mut output = [0u8; 64];
        assert_eq!(dispatch(&mut server, LABEL_REQUEST, &[0xff, 0xff], 1, &mut output), (LABEL_BAD_REQUEST, 0));
        assert_eq!(call(&mut server, &Request::Count, 1), Reply::Count(1));
    }
}
