//! The protocols of the servers: one module per server, each with its
//! `Request` and `Reply` enums (shared by the client stub and the server)
//! and a compile-time check that the largest encoded message of each fits
//! an IPC payload. A new server's protocol goes here (`make new-server`
//! adds one).

pub mod devmgr;
pub mod kv;
pub mod mm;
pub mod name;
pub mod timer;
pub mod wait1;
