//! `sort [-rnfu] [-k N] [-t C] [-o out] [file…]`: sorts the lines of its inputs together.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use textutil::sort::{sort_lines, SortOptions};
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let p = tool::getopt(
        "sort",
        "rnfuk:t:o:",
        "sort [-rnfu] [-k field] [-t char] [-o file] [file...]",
    );
    let key = match p.value('k') {
        None => None,
        // `-k 2` or `-k 2,2`: the field the key starts at.
        Some(k) => match k.split(',').next().and_then(|f| f.parse::<usize>().ok()) {
            Some(f) if f > 0 => Some(f),
            _ => tool::exit(tool::complain("sort", &format!("invalid key '{k}'"))),
        },
    };
    let separator = match p.value('t') {
        None => None,
        Some(t) if t.chars().count() == 1 => t.chars().next(),
        Some(t) => tool::exit(tool::complain(
            "sort",
            &format!("separator must be one character: '{t}'"),
        )),
    };
    let opts = SortOptions {
        reverse: p.has('r'),
        numeric: p.has('n'),
        fold: p.has('f'),
        unique: p.has('u'),
        key,
        separator,
    };
    let mut lines = Vec::new();
    for f in &tool::inputs(&p) {
        match tool::lines(f) {
            Ok(l) => lines.extend(l),
            Err(e) => tool::exit(tool::fail("sort", f, e)),
        }
    }
    sort_lines(&mut lines, &opts);
    let mut text = String::new();
    for l in &lines {
        text += l;
        text.push('\n');
    }
    let written = tool::write_output(p.value('o'), text.as_bytes());
    match written {
        Ok(()) => tool::exit(0),
        Err(e) => tool::exit(tool::fail("sort", "write error", e)),
    }
}
