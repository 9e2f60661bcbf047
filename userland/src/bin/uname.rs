//! `uname [-asnrvm]`: the system's name (and with options its node name, release, version and machine).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use userland::tool;

libsys::entry!(main);

const SYSNAME: &str = "Microkernel";
const NODENAME: &str = "localhost";
const RELEASE: &str = env!("CARGO_PKG_VERSION");
const VERSION: &str = "#1";
const MACHINE: &str = "x86_64";

fn main(_: &str) -> u64 {
    tool::help("uname [-asnrvm]");
    let (flags, rest) = match tool::options(&tool::args(), "asnrvm") {
        Ok(x) => x,
        Err(c) => tool::exit(tool::complain(
            "uname",
            &alloc::format!("invalid option -- '{c}'"),
        )),
    };
    if !rest.is_empty() {
        tool::exit(tool::complain("uname", "extra operand"));
    }
    let all = flags.contains(&'a');
    let fields = [
        ('s', SYSNAME),
        ('n', NODENAME),
        ('r', RELEASE),
        ('v', VERSION),
        ('m', MACHINE),
    ];
    let mut words: Vec<&str> = fields
        .iter()
        .filter(|(c, _)| all || flags.contains(c))
        .map(|(_, w)| *w)
        .collect();
    if words.is_empty() {
        words.push(SYSNAME);
    }
    libsys::outln!("{}", words.join(" "));
    tool::exit(0)
}
