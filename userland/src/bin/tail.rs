//! `tail [-n N | -c N | -N] [-f] [file…]`: the last N lines (10) or bytes of each file; `-f` follows a file as it grows (Ctrl-C ends it).
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

/// The last `n` lines (or bytes) of `data`.
fn last(data: &[u8], n: usize, bytes: bool) -> &[u8] {
    if bytes {
        return &data[data.len().saturating_sub(n)..];
    }
    if n == 0 {
        return &[];
    }
    // Skip a final newline, then count n newlines back.
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let mut seen = 0;
    for (i, &b) in body.iter().enumerate().rev() {
        if b == b'\n' {
            seen += 1;
            if seen == n {
                return &data[i + 1..];
            }
        }
    }
    data
}

/// Prints what is appended to `fd` from now on, until killed.
fn follow(fd: i32) -> Result<(), Errno> {
    let mut buf = alloc::vec![0u8; 4096];
    loop {
        let n = posix::read(fd, &mut buf)?;
        if n == 0 {
            libsys::time::msleep(250);
        } else {
            tool::write_all(1, &buf[..n])?;
        }
    }
}

fn main(_: &str) -> u64 {
    let mut args = tool::args();
    if let Some(n) = args.first().and_then(|a| textutil::getopt::old_count(a)) {
        args[0] = format!("-n{n}");
    }
    let p = match textutil::getopt::parse(&args, "n:c:fq") {
        Ok(p) => p,
        Err(e) => tool::exit(tool::complain("tail", &format!("{e}"))),
    };
    let (count, bytes) = match (p.value('n'), p.value('c')) {
        (_, Some(c)) => (c, true),
        (Some(n), None) => (n, false),
        (None, None) => ("10", false),
    };
    let Ok(n) = count.trim_start_matches('+').parse::<usize>() else {
        tool::exit(tool::complain(
            "tail",
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
        let fd = match tool::open_input(name) {
            Ok(fd) => fd,
            Err(e) => {
                status = tool::fail("tail", name, e);
                continue;
            }
        };
        let shown = posix::read_to_end(fd, tool::INPUT_MAX)
            .and_then(|data| tool::write_all(1, last(&data, n, bytes)));
        if let Err(e) = shown {
            status = tool::fail("tail", name, e);
        } else if p.has('f') && files.len() == 1 && name != "-" {
            if let Err(e) = follow(fd) {
                status = tool::fail("tail", name, e);
            }
        }
        tool::close_input(fd);
    }
    tool::exit(status)
}
