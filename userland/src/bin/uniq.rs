//! `uniq [-cdui] [input [output]]`: folds adjacent repeated lines (`-c` counts, `-d` only repeated, `-u` only unique, `-i` without case).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use textutil::sort::{uniq, UniqOptions};
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let p = tool::getopt("uniq", "cdui", "uniq [-cdui] [input [output]]");
    let input = p.operands.first().map(|s| s.as_str()).unwrap_or("-");
    let lines = match tool::lines(input) {
        Ok(l) => l,
        Err(e) => tool::exit(tool::fail("uniq", input, e)),
    };
    let out = uniq(
        &lines,
        UniqOptions {
            count: p.has('c'),
            repeated: p.has('d'),
            unique: p.has('u'),
            fold: p.has('i'),
        },
    );
    let mut text = alloc::string::String::new();
    for l in &out {
        text += l;
        text.push('\n');
    }
    let written = tool::write_output(p.operands.get(1).map(|o| o.as_str()), text.as_bytes());
    match written {
        Ok(()) => tool::exit(0),
        Err(e) => tool::exit(tool::fail("uniq", "write error", e)),
    }
}
