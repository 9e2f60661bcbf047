//! A server that crashes on every start (a null write before it ever
//! registers): the boot manifest gives it a small restart budget, and
//! `init` must restart it that many times, then mark it failed — and the
//! rest of the system must carry on (`nstest` checks its name says
//! `Failed`).
//!
//! It also checks that `init` starts servers in manifest order, each
//! registered before the next starts: it comes after `kv`, so `kv` must be
//! registered already (a lookup that does not wait). If it is not, crashy
//! does not crash: it registers and serves, and `nstest` then finds it
//! registered instead of failed.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::abi::ipc::FOREVER;
use libsys::handle::Endpoint;

libsys::entry!(main);

fn main(_args: &str) -> u64 {
    if let Err(e) = libsys::names::lookup("kv") {
        libsys::eprintln!(
            "crashy: kv is not registered yet ({e}): servers out of order; not crashing"
        );
        let Ok(ep) = Endpoint::create() else {
            return 1;
        };
        let _ = libsys::names::register("crashy", &ep);
        loop {
            let _ = ep.recv(FOREVER);
        }
    }
    libsys::println!("crashy: kv is registered; starting, and crashing");
    // Page 0 is never mapped: the kernel kills the process with a page
    // fault.
    libsys::fault::commit(libsys::fault::Fault::NullWrite)
}
