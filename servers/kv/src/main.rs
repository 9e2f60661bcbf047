//! The `kv` server process: the core (`lib.rs`) behind IPC.
//! `libsys::server::run` creates an endpoint, registers it as `kv`
//! with the name service, and serves the core on it.
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

libsys::entry!(main);

fn main(_args: &str) -> u64 {
    libsys::server::run("kv", kv::Kv::new())
}
