//! `wait1` behind `libsys::server::Server`, with reply later: the same
//! core serves as a process (`main.rs`, `libsys::server::run`) and inside
//! the kernel (`placement=mono`).
//!
//! A read of an empty FIFO (a write to a full one) is deferred: `handle`
//! takes a token (`Later::defer`), queues the caller on the device under
//! it (the deck's `wait_event_interruptible`) and answers `Later`. A
//! request that changes the FIFO then wakes the first blocked caller that
//! can go on (`wake_up_interruptible`): its transfer is done and its answer
//! completed (`Later::complete`) — a blocked writer when all its bytes are
//! in (it moves them as room appears). One woken answer is in flight at a time:
//! when the transport reports it delivered, the next is woken; when it
//! reports the caller gone, the transfer is undone (`Wait1::undo`: the
//! bytes go back in front) before the next is woken — so no byte is lost
//! or reordered by a dead waiter. A caller let out of its call
//! (`interrupted`, a signal: `Thread::unblock`) leaves the queue with
//! `Wait1Error::Interrupted` (`-EINTR`), or, a writer that moved some of
//! its bytes while it waited, with `Written(n)` (a partial count).
//!
//! **Per-client share.** One client may have at most
//! [`WAITERS_PER_CLIENT`] callers blocked (a quarter of the device's
//! [`libsys::proto::wait1::WAITERS_MAX`]): a request that would block
//! beyond it is taken back off the queue before anything moved and
//! answered `TooManyWaiters`, so a hoarding client leaves the others
//! room. The core keeps each blocked token's badge until the token leaves
//! the queues (woken, interrupted, or gone).

use alloc::collections::BTreeMap;

use libsys::proto::wait1::{Reply, Request, Wait1Error, WAITERS_PER_CLIENT};
use libsys::server::{Answer, Caller, Later, Server, Token};

use crate::device::{Handled, Wait1};

/// The `wait1` server core.
#[derive(Default)]
pub struct Wait1Server {
    device: Wait1<Token>,
    /// The woken caller whose answer is out, not yet known delivered.
    in_flight: Option<Token>,
    /// The badge of each caller blocked on the device (its queues).
    blocked: BTreeMap<Token, u64>,
}

impl Wait1Server {
    pub fn new() -> Wait1Server {
        Wait1Server::default()
    }

    /// The device (for the tests and statistics).
    pub fn device(&self) -> &Wait1<Token> {
        &self.device
    }

    /// Callers of client `badge` blocked now.
    fn blocked_of(&self, badge: u64) -> usize {
        self.blocked.values().filter(|&&b| b == badge).count()
    }

    /// Wakes the next blocked caller that can go on, unless an answer is
    /// in flight.
    fn wake(&mut self, later: &mut Later<Reply>) {
        if self.in_flight.is_some() {
            return;
        }
        if let Some((token, reply)) = self.device.wake_one() {
            self.blocked.remove(&token);
            // Live: it was queued under a token no one completed.
            if later.complete(token, reply).is_ok() {
                self.in_flight = Some(token);
            }
        }
    }
}

impl Server for Wait1Server {
    type Request = Request;
    type Reply = Reply;

    fn handle(
        &mut self,
        request: Request,
        from: Caller,
        later: &mut Later<Reply>,
    ) -> Answer<Reply> {
        // Deferred first, in case it blocks; answered now, the token goes.
        let answer = match later.defer() {
            Ok(token) => match self.device.handle(request, token) {
                Handled::Reply(reply) => Answer::Now(reply),
                Handled::Blocked if self.blocked_of(from.badge) >= WAITERS_PER_CLIENT => {
                    // Just queued at the back with nothing moved: taking it
                    // off leaves the device as it was.
                    self.device.cancel(token);
                    Answer::Now(Reply::Error(Wait1Error::TooManyWaiters))
                }
                Handled::Blocked => {
                    self.blocked.insert(token, from.badge);
                    Answer::Later(token)
                }
            },
            Err(_) => Answer::Now(Reply::Error(Wait1Error::TooManyWaiters)),
        };
        self.wake(later);
        answer
    }

    fn interrupted(&mut self, token: Token, later: &mut Later<Reply>) {
        if let Some(reply) = self.device.interrupt(token) {
            self.blocked.remove(&token);
            let _ = later.complete(token, reply);
        }
    }

    fn delivered(&mut self, token: Token, later: &mut Later<Reply>) {
        if self.in_flight == Some(token) {
            self.in_flight = None;
            self.wake(later);
        }
    }

    fn cancelled(&mut self, token: Token, reply: Option<Reply>, later: &mut Later<Reply>) {
        match reply {
            Some(reply) if self.in_flight == Some(token) => {
                self.device.undo(&reply);
                self.in_flight = None;
                self.wake(later);
            }
            Some(_) => {}
            // Still queued (gave up before it was woken): it leaves.
            None => {
                self.device.forget(token);
                self.blocked.remove(&token);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use libsys::proto::wait1::{Bytes, Data};
    use libsys::rpc::{decode, encode, LABEL_REQUEST};
    use libsys::server::{Dispatched, Hosted};

    fn ask(server: &mut Hosted<Wait1Server>, request: Request) -> Dispatched {
        ask_as(server, 1, request)
    }

    /// The reply to a request answered at once.
    fn answered(server: &mut Hosted<Wait1Server>, badge: u64, request: Request) -> Reply {
        let mut input = [0u8; 4096];
        let n = encode(&request, &mut input).unwrap();
        let mut output = [0u8; 4096];
        match server.request(LABEL_REQUEST, &input[..n], badge, &mut output) {
            Dispatched::Now(_, len) => decode(&output[..len]).unwrap(),
            other => panic!("deferred: {other:?}"),
        }
    }

    fn ask_as(server: &mut Hosted<Wait1Server>, badge: u64, request: Request) -> Dispatched {
        let mut input = [0u8; 4096];
        let n = encode(&request, &mut input).unwrap();
        let mut output = [0u8; 4096];
        server.request(LABEL_REQUEST, &input[..n], badge, &mut output)
    }

    fn read(max: u32) -> Request {
        Request::Read {
            max,
            nonblock: false,
        }
    }

    fn write(bytes: &[u8]) -> Request {
        Request::Write {
            bytes: Bytes::from_slice(bytes).unwrap(),
            nonblock: false,
        }
    }

    /// Delivers what is queued; callers in `gone` do not get theirs.
    fn deliver(server: &mut Hosted<Wait1Server>, gone: &[Token]) -> Vec<(Token, Reply)> {
        let mut scratch = [0u8; 4096];
        let mut got = Vec::new();
        server.deliver(&mut scratch, |token, _, bytes| {
            if gone.contains(&token) {
                return false;
            }
            got.push((token, decode(bytes).unwrap()));
            true
        });
        got
    }

    fn later(d: Dispatched) -> Token {
        match d {
            Dispatched::Later(token) => token,
            other => panic!("answered at once: {other:?}"),
        }
    }

    fn data(bytes: &[u8]) -> Reply {
        Reply::Data(Data::from_slice(bytes).unwrap())
    }

    #[test]
    fn blocked_readers_are_answered_in_order_when_bytes_come() {
        let mut s = Hosted::new(Wait1Server::new());
        let first = later(ask(&mut s, read(2)));
        let second = later(ask(&mut s, read(2)));
        assert!(matches!(ask(&mut s, write(b"abcd")), Dispatched::Now(..)));
        assert_eq!(
            deliver(&mut s, &[]),
            [(first, data(b"ab")), (second, data(b"cd"))]
        );
        assert_eq!(s.later.pending(), 0);
        assert_eq!(s.server.device().stats().wakeups, 2);
    }

    #[test]
    fn an_interrupted_reader_gets_eintr_and_leaves_the_queue() {
        let mut s = Hosted::new(Wait1Server::new());
        let token = later(ask(&mut s, read(4)));
        s.interrupt(token).unwrap();
        assert_eq!(
            deliver(&mut s, &[]),
            [(token, Reply::Error(Wait1Error::Interrupted))]
        );
        assert_eq!(s.server.device().stats().readers_blocked, 0);
        assert_eq!(s.later.pending(), 0);
    }

    #[test]
    fn an_interrupted_writer_says_how_much_it_moved() {
        let mut s = Hosted::new(Wait1Server::new());
        for _ in 0..4 {
            ask(&mut s, write(&[b'.'; 1024]));
        }
        // Full: a writer of 300 blocks; a read of 100 lets 100 in.
        let token = later(ask(&mut s, write(&[b'w'; 300])));
        assert!(matches!(ask(&mut s, read(100)), Dispatched::Now(..)));
        assert!(deliver(&mut s, &[]).is_empty(), "still 200 to go");
        s.interrupt(token).unwrap();
        assert_eq!(deliver(&mut s, &[]), [(token, Reply::Written(100))]);
        assert_eq!(s.server.device().stats().writers_blocked, 0);
        assert_eq!(s.server.device().len(), libsys::proto::wait1::CAPACITY);
    }

    #[test]
    fn a_gone_reader_gives_its_bytes_to_the_next() {
        let mut s = Hosted::new(Wait1Server::new());
        let dead = later(ask(&mut s, read(3)));
        let alive = later(ask(&mut s, read(3)));
        ask(&mut s, write(b"xyz"));
        assert_eq!(deliver(&mut s, &[dead]), [(alive, data(b"xyz"))]);
        let stats = s.server.device().stats();
        assert_eq!((stats.gone, stats.wakeups, stats.bytes_out), (1, 1, 3));
    }

    #[test]
    fn a_killed_waiter_is_cancelled_and_nothing_leaks() {
        let mut s = Hosted::new(Wait1Server::new());
        let _ = later(ask(&mut s, read(1)));
        s.client_gone(1);
        assert_eq!(s.later.pending(), 0);
        assert_eq!(s.server.device().stats().readers_blocked, 0);
        assert_eq!(s.server.device().stats().gone, 1);
        ask(&mut s, write(b"q"));
        assert!(deliver(&mut s, &[]).is_empty());
        assert_eq!(
            s.server.device().len(),
            1,
            "the byte stays for the next reader"
        );
    }

    #[test]
    fn one_client_holds_at_most_its_share_of_the_waiters() {
        let mut s = Hosted::new(Wait1Server::new());
        let hoarded: Vec<Token> = (0..WAITERS_PER_CLIENT)
            .map(|_| later(ask_as(&mut s, 7, read(1))))
            .collect();
        for _ in 0..3 {
            assert_eq!(
                answered(&mut s, 7, read(1)),
                Reply::Error(Wait1Error::TooManyWaiters)
            );
        }
        assert_eq!(
            s.server.device().stats().readers_blocked as usize,
            WAITERS_PER_CLIENT,
            "the refused ones left no trace"
        );
        // Another client still waits, and is served in its turn.
        let other = later(ask_as(&mut s, 8, read(1)));
        let bytes = [b'z'; WAITERS_PER_CLIENT + 1];
        assert!(matches!(
            ask_as(&mut s, 8, write(&bytes)),
            Dispatched::Now(..)
        ));
        let got = deliver(&mut s, &[]);
        assert_eq!(got.len(), WAITERS_PER_CLIENT + 1);
        assert_eq!(got.last().map(|(t, _)| *t), Some(other));
        assert!(hoarded.iter().all(|t| got.iter().any(|(g, _)| g == t)));
        // Its share is free again.
        assert!(s.server.blocked.is_empty());
        let _ = later(ask_as(&mut s, 7, read(1)));
    }
}
