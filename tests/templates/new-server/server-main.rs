//! The `__name__` server process: the core (`lib.rs`) behind IPC. It makes
//! its endpoint, registers it as `__name__` with the name service, and
//! serves.
#![no_std]
#![no_main]

use libsys::handle::Endpoint;
use libsys::{names, server};

libsys::entry!(main);

fn main(_args: &str) -> u64 {
    let endpoint = match Endpoint::create() {
        Ok(e) => e,
        Err(e) => {
            libsys::eprintln!("__name__: cannot create an endpoint: {e}");
            return 1;
        }
    };
    if let Err(e) = names::register("__name__", &endpoint) {
        libsys::eprintln!("__name__: cannot register: {e}");
        return 2;
    }
    let mut state = __name__::__Name__::new();
    let error = server::serve(&endpoint, &mut state, |_, _| {});
    libsys::eprintln!("__name__: stopped serving: {error}");
    3
}
