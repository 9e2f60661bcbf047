//! One pid space and the credentials protocol, from a client's side (run
//! by `init` from the test manifests, in both placements, twice: as
//! `pidtest` with `uid=1000 gid=100`, and as `pidtest2` as root):
//!
//! - the badge a server sees on this process's requests (the credentials
//!   service's `Caller`) is this process's kernel pid (`process_info`);
//! - the credentials of this pid are the manifest's (argument
//!   `uid=<n> gid=<n>`);
//! - an unknown pid is `UnknownPid`;
//! - the two runs have different pids, so different badges (each
//!   checks its pid against its own badge; the kernel never reuses one).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::proto::cred::{Client, ClientError, CredError, Credentials};
use libsys::spawn::my_pid;
use userland::Tally;

libsys::entry!(main);

/// A pid no process has (far above any the kernel hands out in a test).
const UNKNOWN_PID: u64 = 1 << 40;

fn main(args: &str) -> u64 {
    let mut t = Tally::new();
    let want = expected(args);
    let pid = match my_pid() {
        Ok(pid) => pid,
        Err(e) => {
            t.check("pid: process_info on @self", Err(format_args!("{e}")));
            return t.status();
        }
    };
    let cred = match Client::connect() {
        Ok(c) => c,
        Err(e) => {
            t.check("cred: lookup of `cred`", Err(format_args!("{e}")));
            return t.status();
        }
    };
    t.expect_eq(
        "pid: the badge a server sees is my kernel pid",
        cred.caller(),
        Ok(pid),
    );
    t.expect_eq(
        "cred: my credentials are the manifest's",
        cred.get(pid),
        Ok(want),
    );
    t.expect_eq(
        "cred: an unknown pid is UnknownPid",
        cred.get(UNKNOWN_PID),
        Err(ClientError::Cred(CredError::UnknownPid)),
    );
    libsys::println!("pidtest: pid {pid}");
    t.status()
}

/// The credentials `uid=`/`gid=` in `args` say (root by default).
fn expected(args: &str) -> Credentials {
    let field = |key: &str| {
        args.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Credentials::of(field("uid="), field("gid="))
}
