//! The `__name__` server process: the core (`lib.rs`) behind IPC.
//! `libsys::server::run` creates an endpoint, registers it as `__name__`
//! with the name service, and serves the core on it.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

libsys::entry!(main);

fn main(_args: &str) -> u64 {
    libsys::server::run("__name__", __name__::__Name__::new())
}
