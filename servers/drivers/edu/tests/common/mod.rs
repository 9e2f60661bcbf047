//! The driver's core against the simulated device, through the serving
//! runtime's own transport (`Hosted`): requests in as bytes, answers now
//! or later, interrupts as notification signals.
#![allow(dead_code)]

use std::collections::BTreeMap;

use edu::sim::SimEdu;
use edu::{Edu, IRQ_BIT};
use libsys::proto::edu::{Reply, Request};
use libsys::rpc::{decode, encode, LABEL_REPLY, LABEL_REQUEST};
use libsys::server::{Dispatched, Hosted, Token};

pub const CLIENT: u64 = 7;

pub struct World {
    pub hosted: Hosted<Edu<SimEdu>>,
    answers: BTreeMap<Token, Reply>,
}

impl World {
    pub fn new() -> World {
        World {
            hosted: Hosted::new(Edu::new(SimEdu::default())),
            answers: BTreeMap::new(),
        }
    }

    pub fn sim(&mut self) -> &mut SimEdu {
        self.hosted.server.hw_mut()
    }

    /// Sends `request` from `badge`: the reply now, or the token it waits
    /// under.
    pub fn send_from(&mut self, badge: u64, request: &Request) -> Result<Reply, Token> {
        let mut input = [0u8; 4096];
        let n = encode(request, &mut input).unwrap();
        let mut output = [0u8; 4096];
        match self
            .hosted
            .request(LABEL_REQUEST, &input[..n], badge, &mut output)
        {
            Dispatched::Now(label, len) => {
                assert_eq!(label, LABEL_REPLY, "{request:?}");
                Ok(decode(&output[..len]).unwrap())
            }
            Dispatched::Later(token) => Err(token),
        }
    }

    pub fn send(&mut self, request: &Request) -> Result<Reply, Token> {
        self.send_from(CLIENT, request)
    }

    /// An interrupt signal, and the completions it made delivered.
    pub fn interrupt(&mut self) {
        self.hosted.signal(1 << IRQ_BIT);
        self.deliver();
    }

    fn deliver(&mut self) {
        let mut scratch = [0u8; 4096];
        let answers = &mut self.answers;
        self.hosted.deliver(&mut scratch, |token, label, bytes| {
            assert_eq!(label, LABEL_REPLY);
            answers.insert(token, decode(bytes).unwrap());
            true
        });
    }

    /// Lets the device work and takes its interrupts until it is quiet.
    pub fn pump(&mut self) {
        for _ in 0..1000 {
            self.sim().run();
            if !self.sim().line() {
                return;
            }
            self.interrupt();
        }
        panic!("the line stays up: interrupts are not acknowledged at the device");
    }

    /// The answer to `token`, if it came.
    pub fn answer(&mut self, token: Token) -> Option<Reply> {
        self.answers.remove(&token)
    }

    /// Sends `request` and lets the device finish: its reply.
    pub fn ask(&mut self, request: &Request) -> Reply {
        match self.send(request) {
            Ok(reply) => reply,
            Err(token) => {
                self.pump();
                self.answer(token)
                    .unwrap_or_else(|| panic!("{request:?} was never answered"))
            }
        }
    }

    pub fn stats(&mut self) -> libsys::proto::edu::Stats {
        match self.ask(&Request::Stats) {
            Reply::Stats(s) => s,
            other => panic!("{other:?}"),
        }
    }
}

/// `n!` modulo 2^32, as the device computes it.
pub fn factorial(n: u32) -> u32 {
    (1..=n).fold(1u32, |p, i| p.wrapping_mul(i))
}
