//! `head [-n N | -c N | -N] [file…]`: the first N lines (10) or bytes of each file or standard input.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use libsys::errno::Errno;
use libsys::posix;
use userland::tool;

libsys::entry!(main);

/// Copies the first `n` lines (or bytes, if `bytes`) of `fd` to stdout,
/// reading no more than it needs.
fn head(fd: i32, n: usize, bytes: bool) -> Result<(), Errno> {
    let mut left = n;
    let mut buf = alloc::vec![0u8; 4096];
    while left > 0 {
        let got = posix::read(fd, &mut buf)?;
        if got == 0 {
            break;
        }
        let take = if bytes {
            got.min(left)
        } else {
            let mut end = got;
            for (i, &b) in buf[..got].iter().enumerate() {
                if b == b'\n' {
                    left -= 1;
                    if left == 0 {
                        end = i + 1;
                        break;
                    }
                }
            }
            end
        };
        tool::write_all(1, &buf[..take])?;
        if bytes {
            left -= take;
        }
    }
    Ok(())
}

fn main(_: &str) -> u64 {
    let mut args = tool::args();
    // `head -5` is `head -n 5`.
    if let Some(n) = args.first().and_then(|a| textutil::getopt::old_count(a)) {
        args[0] = format!("-n{n}");
    }
    let p = match textutil::getopt::parse(&args, "n:c:q") {
        Ok(p) => p,
        Err(e) => tool::exit(tool::complain("head", &format!("{e}"))),
    };
    let (count, bytes) = match (p.value('n'), p.value('c')) {
        (_, Some(c)) => (c, true),
        (Some(n), None) => (n, false),
        (None, None) => ("10", false),
    };
    let Ok(n) = count.parse::<usize>() else {
        tool::exit(tool::complain(
            "head",
            &format!("invalid number: '{count}'"),
        ));
    };
    let files: Vec<String> = if p.operands.is_empty() {
        alloc::vec![String::from("-")]
    } else {
        p.operands.clone()
    };
    let mut status = 0;
    for (i, name) in files.iter().enumerate() {
        if files.len() > 1 && !p.has('q') {
            let sep = if i > 0 { "\n" } else { "" };
            libsys::out!("{sep}==> {name} <==\n");
        }
        let done = tool::open_input(name).and_then(|fd| {
            let r = head(fd, n, bytes);
            tool::close_input(fd);
            r
        });
        if let Err(e) = done {
            status = tool::fail("head", name, e);
        }
    }
    tool::exit(status)
}
