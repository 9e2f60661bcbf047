//! `grep [-EFivnclqrHh] [-e] pattern [file…]`: prints the lines that match (POSIX basic regular expressions; `-E` extended, `-F` fixed strings); status 0 if a line matched, 1 if none, 2 on error.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use libsys::posix::{self, S_IFDIR, S_IFMT};
use textutil::regex::{Regex, Syntax};
use userland::tool;

libsys::entry!(main);

const USAGE: &str = "grep [-EFivnclqrHh] [-e pattern] pattern [file...]";

struct Grep {
    patterns: Vec<Regex>,
    invert: bool,
    number: bool,
    count: bool,
    list: bool,
    quiet: bool,
    names: bool,
    out: String,
    matched: bool,
}

impl Grep {
    fn matches(&self, line: &str) -> bool {
        self.patterns.iter().any(|r| r.is_match(line)) != self.invert
    }

    /// Greps `data` named `name`; false if `-q` may stop now.
    fn search(&mut self, name: &str, data: &[u8]) -> bool {
        let mut hits = 0usize;
        for (i, line) in tool::split_lines(data).iter().enumerate() {
            if !self.matches(line) {
                continue;
            }
            hits += 1;
            self.matched = true;
            if self.quiet {
                return false;
            }
            if self.list {
                break;
            }
            if !self.count {
                if self.names {
                    self.out += &format!("{name}:");
                }
                if self.number {
                    self.out += &format!("{}:", i + 1);
                }
                self.out += line;
                self.out.push('\n');
            }
        }
        if self.list && hits > 0 {
            self.out += &format!("{name}\n");
        } else if self.count {
            let prefix = if self.names {
                format!("{name}:")
            } else {
                String::new()
            };
            self.out += &format!("{prefix}{hits}\n");
        }
        true
    }

    /// Greps a file, or a directory's files if `recursive`; status 2 on error.
    fn file(&mut self, name: &str, recursive: bool) -> i32 {
        if recursive && posix::stat(name).is_ok_and(|s| s.mode & S_IFMT == S_IFDIR) {
            let mut status = 0;
            let mut children: Vec<String> = match posix::read_dir(name) {
                Ok(d) => d.filter_map(|e| e.ok()).map(|e| e.name).collect(),
                Err(e) => return tool::fail("grep", name, e) * 2,
            };
            children.retain(|c| c != "." && c != "..");
            children.sort();
            for c in children {
                status =
                    status.max(self.file(&format!("{}/{c}", name.trim_end_matches('/')), true));
            }
            return status;
        }
        match tool::slurp(name) {
            Ok(data) => {
                self.search(name, &data);
                0
            }
            Err(e) => {
                tool::fail("grep", name, e);
                2
            }
        }
    }
}

fn main(_: &str) -> u64 {
    let p = tool::getopt("grep", "EFivnclqrHhe:", USAGE);
    let syntax = Syntax {
        extended: p.has('E'),
        fixed: p.has('F'),
        icase: p.has('i'),
    };
    let mut operands = p.operands.clone();
    let mut sources: Vec<String> = p.values('e').into_iter().map(String::from).collect();
    if sources.is_empty() {
        if operands.is_empty() {
            libsys::errln!("usage: {USAGE}");
            tool::exit(2);
        }
        sources.push(operands.remove(0));
    }
    // A pattern with newlines is several patterns, as POSIX says.
    let mut patterns = Vec::new();
    for src in sources.iter().flat_map(|s| s.split('\n')) {
        match Regex::new(src, syntax) {
            Ok(r) => patterns.push(r),
            Err(e) => {
                libsys::errln!("grep: {e}");
                tool::exit(2);
            }
        }
    }
    let recursive = p.has('r');
    if operands.is_empty() {
        operands.push(String::from(if recursive { "." } else { "-" }));
    }
    let mut g = Grep {
        patterns,
        invert: p.has('v'),
        number: p.has('n'),
        count: p.has('c'),
        list: p.has('l'),
        quiet: p.has('q'),
        names: !p.has('h') && (p.has('H') || operands.len() > 1 || recursive),
        out: String::new(),
        matched: false,
    };
    let mut status = 0;
    for name in &operands {
        status = status.max(g.file(name, recursive));
        if g.quiet && g.matched {
            tool::exit(0);
        }
    }
    let _ = tool::write_all(1, g.out.as_bytes());
    tool::exit(if status == 2 {
        2
    } else if g.matched {
        0
    } else {
        1
    })
}
