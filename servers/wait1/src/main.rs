//! The `wait1` server process: the core (`lib.rs`, [`wait1::Wait1Server`])
//! behind `libsys::server::run`, which receives, hands each request to the
//! core and replies — now, or later for a caller the core deferred (a read
//! of an empty FIFO): the runtime saves that caller's reply right
//! (`reply_save`) under the core's token and answers it (`reply_to`) when
//! the core completes the token. The kernel links the same core for
//! `placement=mono`.
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

libsys::entry!(main);

fn main(_args: &str) -> u64 {
    libsys::server::run("wait1", wait1::Wait1Server::new())
}
