//! `cut -f LIST [-d C] [-s] | -c LIST [file…]`: selects fields (tab-separated by default) or characters of each line.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use textutil::cut;
use userland::tool;

libsys::entry!(main);

const USAGE: &str = "cut -f list [-d delim] [-s] [file...] | cut -c list [file...]";

fn main(_: &str) -> u64 {
    let p = tool::getopt("cut", "f:c:d:s", USAGE);
    let (list, by_fields) = match (p.value('f'), p.value('c')) {
        (Some(l), None) => (l, true),
        (None, Some(l)) => (l, false),
        _ => {
            libsys::errln!("cut: you must specify a list of characters or fields");
            libsys::errln!("usage: {USAGE}");
            tool::exit(2)
        }
    };
    let list = match cut::parse_list(list) {
        Ok(l) => l,
        Err(e) => tool::exit(tool::complain("cut", e)),
    };
    let delim = match p.value('d') {
        None => '\t',
        Some(d) if d.chars().count() == 1 => d.chars().next().unwrap_or('\t'),
        Some(_) => tool::exit(tool::complain(
            "cut",
            "the delimiter must be a single character",
        )),
    };
    let files = tool::inputs(&p);
    let mut out = String::new();
    let mut status = 0;
    for f in &files {
        match tool::lines(f) {
            Ok(lines) => {
                for line in &lines {
                    let picked = if by_fields {
                        cut::fields(line, delim, &list, p.has('s'))
                    } else {
                        Some(cut::chars(line, &list))
                    };
                    if let Some(text) = picked {
                        out += &format!("{text}\n");
                    }
                }
            }
            Err(e) => status = tool::fail("cut", f, e),
        }
    }
    if tool::write_all(1, out.as_bytes()).is_err() {
        status = 1;
    }
    tool::exit(status)
}
