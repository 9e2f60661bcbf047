//! `hexdump -C [file…]`: the canonical hex and ASCII display of its inputs, taken as one stream.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use libsys::posix;
use textutil::hexdump::Canonical;
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let p = tool::getopt("hexdump", "C", "hexdump -C [file...]");
    if !p.has('C') {
        tool::exit(tool::complain(
            "hexdump",
            "only the canonical format (-C) is supported",
        ));
    }
    let files = tool::inputs(&p);
    let mut dump = Canonical::default();
    let mut status = 0;
    let mut buf = alloc::vec![0u8; 4096];
    for name in &files {
        let fd = match tool::open_input(name) {
            Ok(fd) => fd,
            Err(e) => {
                status = tool::fail("hexdump", name, e);
                continue;
            }
        };
        loop {
            match posix::read(fd, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let text = dump.feed(&buf[..n]);
                    if tool::write_all(1, text.as_bytes()).is_err() {
                        tool::exit(1);
                    }
                }
                Err(e) => {
                    status = tool::fail("hexdump", name, e);
                    break;
                }
            }
        }
        tool::close_input(fd);
    }
    let _ = tool::write_all(1, dump.finish().as_bytes());
    tool::exit(status)
}
