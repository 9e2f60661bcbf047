//! The `echo` core (`libsys::proto::echo` has the protocol): what a core
//! reaches through its transport, in either placement —
//!
//! - the request's **grant window** (`Later::grant`): `Fill` writes it,
//!   `Sum` reads it, one copy each;
//! - a **deferred request's window** (`Later::grant_of`): `Hold` keeps
//!   the caller waiting, and `Release` (another caller's request) fills
//!   each held window and completes it;
//! - a **call out** (`Later::call_out`): `Relay` defers, asks the
//!   transport to call the caller's `relay` connection, and completes
//!   when the answer comes back (`Server::answered`); a caller let out
//!   meanwhile is answered `Interrupted` and the late answer dropped.
//!
//! It makes no system call: a process serves it with `libsys::server::
//! serve` (granttest's thread), the kernel with its service transport.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;

use libsys::abi::SysError;
use libsys::grant::GrantAccess;
use libsys::proto::echo::{pattern, EchoError, Reply, Request, HELD_MAX, RELAY, SUM_MAX};
use libsys::rpc::{self, LABEL_REPLY, LABEL_REQUEST};
use libsys::server::{Answer, Caller, Later, Server, Token};

/// The core: the held callers (with the seed of each).
#[derive(Debug, Default)]
pub struct Echo {
    held: Vec<(Token, u8)>,
}

impl Echo {
    pub fn new() -> Echo {
        Echo::default()
    }
}

/// Fills `len` bytes (at most the window) of `grant`'s window.
fn fill(grant: &mut dyn GrantAccess, seed: u8, len: u32) -> Reply {
    let Some(window) = grant.window() else {
        return Reply::Error(EchoError::NoWindow);
    };
    let n = (len as u64).min(window.length) as usize;
    // A page at a time: a core's buffer is bounded whatever the window.
    let mut chunk = [0u8; 512];
    let mut done = 0;
    while done < n {
        let m = (n - done).min(chunk.len());
        for (i, b) in chunk[..m].iter_mut().enumerate() {
            *b = pattern(done + i, seed);
        }
        if grant.write(done as u64, &chunk[..m]).is_err() {
            return Reply::Error(EchoError::Fault);
        }
        done += m;
    }
    Reply::Count(n as u32)
}

/// The sum of the window's bytes (at most [`SUM_MAX`]).
fn sum(grant: &mut dyn GrantAccess) -> Reply {
    let Some(window) = grant.window() else {
        return Reply::Error(EchoError::NoWindow);
    };
    let n = (window.length as usize).min(SUM_MAX);
    let mut chunk = [0u8; 512];
    let (mut done, mut total) = (0, 0u64);
    while done < n {
        let m = (n - done).min(chunk.len());
        if grant.read(done as u64, &mut chunk[..m]).is_err() {
            return Reply::Error(EchoError::Fault);
        }
        total += chunk[..m].iter().map(|&b| u64::from(b)).sum::<u64>();
        done += m;
    }
    Reply::Sum(total)
}

impl Server for Echo {
    type Request = Request;
    type Reply = Reply;

    fn handle(
        &mut self,
        request: Request,
        from: Caller,
        later: &mut Later<Reply>,
    ) -> Answer<Reply> {
        match request {
            Request::Fill { seed, len } => Answer::Now(fill(later.grant(), seed, len)),
            Request::Sum => Answer::Now(sum(later.grant())),
            Request::Hold { seed } => {
                if later.grant().window().is_none() {
                    return Answer::Now(Reply::Error(EchoError::NoWindow));
                }
                if self.held.len() >= HELD_MAX {
                    return Answer::Now(Reply::Error(EchoError::TooMany));
                }
                match later.defer() {
                    Ok(token) => {
                        self.held.push((token, seed));
                        Answer::Later(token)
                    }
                    Err(_) => Answer::Now(Reply::Error(EchoError::TooMany)),
                }
            }
            Request::Release => {
                let mut answered = 0;
                for (token, seed) in core::mem::take(&mut self.held) {
                    let reply = fill(later.grant_of(token), seed, u32::MAX);
                    if later.complete(token, reply).is_ok() {
                        answered += 1;
                    }
                }
                Answer::Now(Reply::Released(answered))
            }
            Request::Relay { value } => relay(value, from, later),
        }
    }

    fn interrupted(&mut self, token: Token, later: &mut Later<Reply>) {
        self.held.retain(|&(t, _)| t != token);
        let _ = later.complete(token, Reply::Error(EchoError::Interrupted));
    }

    fn cancelled(&mut self, token: Token, _reply: Option<Reply>, _later: &mut Later<Reply>) {
        self.held.retain(|&(t, _)| t != token);
    }

    fn answered(
        &mut self,
        token: Token,
        answer: Result<(u32, &[u8]), SysError>,
        later: &mut Later<Reply>,
    ) {
        let reply = match answer {
            Ok((LABEL_REPLY, bytes)) => match rpc::decode::<u64>(bytes) {
                Ok(v) => Reply::Relayed(v),
                Err(_) => Reply::Error(EchoError::BadAnswer),
            },
            Ok(_) => Reply::Error(EchoError::BadAnswer),
            Err(_) => Reply::Error(EchoError::Unreachable),
        };
        let _ = later.complete(token, reply);
    }
}

/// `Relay`: defers and calls the caller's `relay` connection.
fn relay(value: u64, from: Caller, later: &mut Later<Reply>) -> Answer<Reply> {
    let mut bytes = [0u8; 16];
    let Ok(n) = rpc::encode(&value, &mut bytes) else {
        return Answer::Now(Reply::Error(EchoError::BadAnswer));
    };
    let Ok(token) = later.defer() else {
        return Answer::Now(Reply::Error(EchoError::TooMany));
    };
    match later.call_out(token, from.badge, RELAY, LABEL_REQUEST, bytes[..n].to_vec()) {
        Ok(()) => Answer::Later(token),
        // Answered now after all: the token goes.
        Err(_) => Answer::Now(Reply::Error(EchoError::Unreachable)),
    }
}

#[cfg(test)]
mod tests;
