//! `__name__ctl <text>`: asks the `__name__` server to echo `<text>`, then how
//! many requests this client has made. The exit status is 0 if both
//! worked.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::proto::__name__::Client;
use libsys::{eprintln, println};

libsys::entry!(main);

fn main(args: &str) -> u64 {
    let client = match Client::connect() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("__name__ctl: cannot find __name__: {e}");
            return 1;
        }
    };
    match client.echo(args.trim()) {
        Ok(text) => println!("__name__ctl: __name__ echoed {:?}", text.as_str()),
        Err(e) => {
            eprintln!("__name__ctl: echo: {e}");
            return 2;
        }
    }
    match client.count() {
        Ok(n) => println!("__name__ctl: {n} request(s) so far"),
        Err(e) => {
            eprintln!("__name__ctl: count: {e}");
            return 3;
        }
    }
    0
}
