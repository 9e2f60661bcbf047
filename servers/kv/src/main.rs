//! The `kv` server process: the core (`lib.rs`) behind IPC. It makes its
//! endpoint, registers it as `kv` with the name service, and serves.
#![no_std]
#![no_main]

use libsys::handle::Endpoint;
use libsys::{names, server};

libsys::entry!(main);

fn main(_args: &str) -> u64 {
    let endpoint = match Endpoint::create() {
        Ok(e) => e,
        Err(e) => {
            libsys::eprintln!("kv: cannot create an endpoint: {e}");
            return 1;
        }
    };
    if let Err(e) = names::register("kv", &endpoint) {
        libsys::eprintln!("kv: cannot register: {e}");
        return 2;
    }
    let mut store = kv::Kv::new();
    let error = server::serve(&endpoint, &mut store, |_, _| {});
    libsys::eprintln!("kv: stopped serving: {error}");
    3
}
