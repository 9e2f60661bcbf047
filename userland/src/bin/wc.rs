//! `wc [-lwc] [file…]`: counts lines, words and bytes of each file (or standard input), with a total for several.
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

/// Lines, words, bytes.
#[derive(Default, Clone, Copy)]
struct Counts([u64; 3]);

/// Counts what `fd` holds until its end.
fn count(fd: i32) -> Result<Counts, Errno> {
    let mut c = Counts::default();
    let mut buf = alloc::vec![0u8; 4096];
    let mut in_word = false;
    loop {
        let n = posix::read(fd, &mut buf)?;
        if n == 0 {
            return Ok(c);
        }
        for &b in &buf[..n] {
            if b == b'\n' {
                c.0[0] += 1;
            }
            let space = b.is_ascii_whitespace();
            if !space && !in_word {
                c.0[1] += 1;
            }
            in_word = !space;
        }
        c.0[2] += n as u64;
    }
}

/// The line for `c`: the chosen counts (all three by default).
fn line(which: &[bool; 3], c: Counts, name: Option<&str>) -> String {
    let fields: Vec<String> = (0..3)
        .filter(|&i| which[i])
        .map(|i| {
            if which.iter().filter(|&&w| w).count() == 1 && name.is_none() {
                format!("{}", c.0[i])
            } else {
                format!("{:>7}", c.0[i])
            }
        })
        .collect();
    match name {
        Some(n) => format!("{} {n}", fields.join(" ")),
        None => fields.join(" "),
    }
}

fn main(_: &str) -> u64 {
    tool::help("wc [-lwc] [file...]");
    let (flags, files) = match tool::options(&tool::args(), "lwc") {
        Ok(x) => x,
        Err(c) => tool::exit(tool::complain("wc", &format!("invalid option -- '{c}'"))),
    };
    let mut which = [
        flags.contains(&'l'),
        flags.contains(&'w'),
        flags.contains(&'c'),
    ];
    if which == [false; 3] {
        which = [true; 3];
    }
    if files.is_empty() {
        let status = match count(0) {
            Ok(c) => {
                libsys::outln!("{}", line(&which, c, None));
                0
            }
            Err(e) => tool::fail("wc", "-", e),
        };
        tool::exit(status);
    }
    let mut total = Counts::default();
    let mut status = 0;
    for file in &files {
        let counted = posix::open(file, posix::O_RDONLY | posix::O_CLOEXEC, 0).and_then(|fd| {
            let r = count(fd);
            let _ = posix::close(fd);
            r
        });
        match counted {
            Ok(c) => {
                libsys::outln!("{}", line(&which, c, Some(file)));
                for i in 0..3 {
                    total.0[i] += c.0[i];
                }
            }
            Err(e) => status = tool::fail("wc", file, e),
        }
    }
    if files.len() > 1 {
        libsys::outln!("{}", line(&which, total, Some("total")));
    }
    tool::exit(status)
}
