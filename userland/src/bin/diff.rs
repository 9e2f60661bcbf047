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
    let (a, b) = tool::two_operands(&p, "diff file1 file2");
    let (la, lb) = (
        tool::split_lines(&tool::slurp_or_exit2("diff", a)),
        tool::split_lines(&tool::slurp_or_exit2("diff", b)),
    );
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
