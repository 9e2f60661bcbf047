//! `kill [-SIGNAL | -s SIGNAL] pid…`: sends a signal (TERM by default); a negative pid is a process group.
//! `kill -l` lists the signals' numbers and names.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use libsys::posix;
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    tool::help("kill [-SIG | -s SIG] pid... | kill -l");
    let args = tool::args();
    let mut sig = posix::SIGTERM;
    let mut rest = &args[..];
    if rest.first().map(String::as_str) == Some("-l") {
        libsys::outln!("{}", posix::kill_list().trim_end());
        tool::exit(0);
    }
    if let Some(first) = rest.first() {
        let name = if first == "-s" {
            rest = &rest[1..];
            rest.first().map(|s| s.as_str())
        } else {
            first
                .strip_prefix('-')
                .filter(|n| posix::signal_by_name(n).is_some())
        };
        if let Some(name) = name {
            match posix::signal_by_name(name) {
                Some(n) => sig = n,
                None => tool::exit(tool::complain("kill", &format!("{name}: invalid signal"))),
            }
            rest = &rest[1..];
        }
    }
    if rest.first().map(|s| s.as_str()) == Some("--") {
        rest = &rest[1..];
    }
    if rest.is_empty() {
        tool::exit(tool::complain("kill", "usage: kill [-SIGNAL] pid..."));
    }
    let mut status = 0;
    for arg in rest {
        match arg.parse::<i64>() {
            Ok(pid) if pid != 0 => {
                if let Err(e) = posix::kill(pid, sig) {
                    status = tool::fail("kill", &format!("({arg})"), e);
                }
            }
            _ => status = tool::complain("kill", &format!("{arg}: arguments must be process ids")),
        }
    }
    tool::exit(status)
}
