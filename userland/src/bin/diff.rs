//! `diff file1 file2`: the lines that differ, in POSIX's normal format; 0 same, 1 different, 2 trouble.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use textutil::diff;
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let p = tool::getopt("diff", "", "diff file1 file2");
    let [a, b] = p.operands.as_slice() else {
        libsys::errln!("usage: diff file1 file2");
        tool::exit(2);
    };
    let read = |name: &str| match tool::lines(name) {
        Ok(d) => d,
        Err(e) => {
            tool::fail("diff", name, e);
            tool::exit(2)
        }
    };
    let (la, lb) = (read(a), read(b));
    let va: Vec<&str> = la.iter().map(|s| s.as_str()).collect();
    let vb: Vec<&str> = lb.iter().map(|s| s.as_str()).collect();
    let hunks = match diff::hunks(&va, &vb) {
        Ok(h) => h,
        Err(diff::TooLarge) => {
            libsys::errln!("diff: files too large to compare here");
            tool::exit(2)
        }
    };
    if hunks.is_empty() {
        tool::exit(0);
    }
    let _ = tool::write_all(1, diff::normal(&va, &vb, &hunks).as_bytes());
    tool::exit(1)
}
