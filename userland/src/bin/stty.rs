//! `stty [-a] [setting...]`: prints or changes the settings of the
//! terminal on standard input (GNU coreutils' operands: `size`, `sane`,
//! `raw`/`-raw`, `[-]echo`, `[-]icanon`, `[-]tostop`, …, `min N`,
//! `time N`, `intr ^C`, `rows N`, `cols N`); the logic is
//! `textutil::stty`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use libsys::posix::{self, Termios};
use textutil::stty::{self, Modes};
use userland::tool;

libsys::entry!(main);

const USAGE: &str = "stty [-a] [setting...]";

fn modes(t: &Termios) -> Modes {
    Modes {
        iflag: t.iflag,
        oflag: t.oflag,
        cflag: t.cflag,
        lflag: t.lflag,
        cc: t.cc,
    }
}

fn main(_: &str) -> u64 {
    tool::help(USAGE);
    let args = tool::args();
    let (all, operands): (bool, Vec<&str>) = match args.first().map(|a| a.as_str()) {
        Some("-a") | Some("--all") => (true, args[1..].iter().map(|a| a.as_str()).collect()),
        _ => (false, args.iter().map(|a| a.as_str()).collect()),
    };
    let saved = match posix::tcgetattr(0) {
        Ok(t) => t,
        Err(e) => tool::exit(tool::fail("stty", "standard input", e)),
    };
    let (rows, cols) = posix::tcgetwinsize(0).unwrap_or((0, 0));
    if all || operands.is_empty() {
        if !operands.is_empty() {
            tool::exit(tool::complain("stty", "-a takes no settings"));
        }
        let text = stty::describe(&modes(&saved), rows, cols);
        match tool::write_all(1, text.as_bytes()) {
            Ok(()) => tool::exit(0),
            Err(e) => tool::exit(tool::fail("stty", "standard output", e)),
        }
    }
    let mut wanted = modes(&saved);
    let request = match stty::apply(&mut wanted, &operands) {
        Ok(r) => r,
        Err(e) => tool::exit(tool::complain("stty", &alloc::format!("{e}"))),
    };
    if wanted != modes(&saved) {
        let t = Termios {
            iflag: wanted.iflag,
            oflag: wanted.oflag,
            cflag: wanted.cflag,
            lflag: wanted.lflag,
            line: saved.line,
            cc: wanted.cc,
        };
        if let Err(e) = posix::tcsetattr(0, posix::TCSADRAIN, &t) {
            tool::exit(tool::fail("stty", "standard input", e));
        }
    }
    if request.rows.is_some() || request.cols.is_some() {
        let (r, c) = (request.rows.unwrap_or(rows), request.cols.unwrap_or(cols));
        if let Err(e) = posix::tcsetwinsize(0, r, c) {
            tool::exit(tool::fail("stty", "standard input", e));
        }
    }
    if request.print_size {
        let (r, c) = posix::tcgetwinsize(0).unwrap_or((rows, cols));
        libsys::outln!("{r} {c}");
    }
    tool::exit(0)
}
