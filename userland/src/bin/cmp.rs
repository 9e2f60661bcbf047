//! `cmp [-s] file1 file2`: the first byte at which two files differ (`-s`: only the status): 0 same, 1 different, 2 trouble.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let p = tool::getopt("cmp", "s", "cmp [-s] file1 file2");
    let (a, b) = tool::two_operands(&p, "cmp [-s] file1 file2");
    let (da, db) = (
        tool::slurp_or_exit2("cmp", a),
        tool::slurp_or_exit2("cmp", b),
    );
    let Some(at) = da.iter().zip(&db).position(|(x, y)| x != y) else {
        if da.len() == db.len() {
            tool::exit(0);
        }
        if !p.has('s') {
            let short = if da.len() < db.len() { a } else { b };
            libsys::errln!("cmp: EOF on {short} after byte {}", da.len().min(db.len()));
        }
        tool::exit(1);
    };
    if !p.has('s') {
        let line = da[..at].iter().filter(|&&c| c == b'\n').count() + 1;
        libsys::outln!(
            "{}",
            format!("{a} {b} differ: byte {}, line {line}", at + 1)
        );
    }
    tool::exit(1)
}
