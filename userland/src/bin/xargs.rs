//! `xargs [-n N] [-0 | -d C] [command [arg…]]`: runs the command (`echo` by default) with the arguments read from standard input, in batches.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use userland::tool;

libsys::entry!(main);

/// The most bytes of arguments one command line gets (POSIX's minimum
/// `ARG_MAX` is 4,096; exec takes far more here).
const LINE_MAX_BYTES: usize = 64 * 1024;

fn main(_: &str) -> u64 {
    let p = tool::getopt(
        "xargs",
        "n:0d:t",
        "xargs [-n max-args] [-0 | -d delim] [-t] [command [arg...]]",
    );
    let max_args = match p.value('n').map(|n| n.parse::<usize>()) {
        None => usize::MAX,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => tool::exit(tool::complain("xargs", "invalid number for -n")),
    };
    let delim = if p.has('0') {
        Some('\0')
    } else {
        match p.value('d') {
            None => None,
            Some("\\n") => Some('\n'),
            Some(d) if d.chars().count() == 1 => d.chars().next(),
            Some(d) => tool::exit(tool::complain("xargs", &format!("invalid delimiter '{d}'"))),
        }
    };
    let input = match tool::slurp("-") {
        Ok(d) => String::from_utf8_lossy(&d).into_owned(),
        Err(e) => tool::exit(tool::fail("xargs", "standard input", e)),
    };
    let args = match textutil::words::split(&input, delim) {
        Ok(a) => a,
        Err(q) => tool::exit(tool::complain("xargs", &format!("unmatched {} quote", q.0))),
    };
    let mut command: Vec<String> = p.operands.clone();
    if command.is_empty() {
        command.push(String::from("echo"));
    }
    let mut status = 0;
    let batches = textutil::words::batches(&args, max_args, LINE_MAX_BYTES);
    // No input: the command runs once with no extra arguments (GNU's
    // default), unless it would be echo's empty line.
    let empty: [String; 0] = [];
    let batches = if batches.is_empty() {
        alloc::vec![&empty[..]]
    } else {
        batches
    };
    for batch in batches {
        let argv: Vec<&str> = command.iter().chain(batch).map(|s| s.as_str()).collect();
        if p.has('t') {
            libsys::errln!("{}", argv.join(" "));
        }
        match tool::run(&argv) {
            Ok(0) => {}
            Ok(255) => tool::exit(tool::complain(
                "xargs",
                &format!("{}: exited with status 255; aborting", argv[0]),
            )),
            Ok(code @ 126..=127) => tool::exit(code),
            Ok(_) => status = 123,
            Err(e) => tool::exit(tool::fail("xargs", argv[0], e)),
        }
    }
    tool::exit(status)
}
