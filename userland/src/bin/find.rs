//! `find [path…] [-name PATTERN] [-type f|d|l] [-maxdepth N] [-print]`: walks directory trees, printing the paths that match.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use libsys::errno::Errno;
use libsys::posix::{self, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use shell::glob::{matches, PatChar};
use userland::tool;

libsys::entry!(main);

struct Filter {
    name: Option<Vec<PatChar>>,
    kind: Option<u32>,
    maxdepth: usize,
    out: String,
    status: i32,
}

impl Filter {
    fn visit(&mut self, path: &str, depth: usize) {
        let st = match posix::lstat(path) {
            Ok(st) => st,
            Err(e) => {
                self.status = tool::fail("find", path, e);
                return;
            }
        };
        let base = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(path);
        let base = if base.is_empty() { path } else { base };
        let name_ok = self.name.as_ref().is_none_or(|pat| matches(pat, base));
        let kind_ok = self.kind.is_none_or(|k| st.mode & S_IFMT == k);
        if name_ok && kind_ok {
            self.out += path;
            self.out.push('\n');
        }
        if st.mode & S_IFMT != S_IFDIR || depth >= self.maxdepth {
            return;
        }
        let mut names: Vec<String> = match posix::read_dir(path) {
            Ok(d) => d.filter_map(Result::ok).map(|e| e.name).collect(),
            Err(e) => {
                self.status = tool::fail("find", path, e);
                return;
            }
        };
        names.retain(|n| n != "." && n != "..");
        names.sort();
        for n in names {
            let child = if path.ends_with('/') {
                format!("{path}{n}")
            } else {
                format!("{path}/{n}")
            };
            self.visit(&child, depth + 1);
        }
    }
}

/// Splits the operands into the starting paths and the expression.
fn parse(args: &[String]) -> Result<(Vec<String>, Filter), String> {
    let start = args
        .iter()
        .position(|a| a.starts_with('-'))
        .unwrap_or(args.len());
    let mut paths: Vec<String> = args[..start].to_vec();
    if paths.is_empty() {
        paths.push(String::from("."));
    }
    let mut f = Filter {
        name: None,
        kind: None,
        maxdepth: usize::MAX,
        out: String::new(),
        status: 0,
    };
    let mut rest = args[start..].iter();
    while let Some(op) = rest.next() {
        let mut value = || {
            rest.next()
                .ok_or_else(|| format!("missing argument to '{op}'"))
        };
        match op.as_str() {
            "-name" => {
                let pat = value()?;
                f.name = Some(pat.chars().map(|c| PatChar { c, quoted: false }).collect());
            }
            "-type" => {
                f.kind = Some(match value()?.as_str() {
                    "f" => S_IFREG,
                    "d" => S_IFDIR,
                    "l" => S_IFLNK,
                    t => return Err(format!("unknown argument to -type: {t}")),
                })
            }
            "-maxdepth" => {
                let v = value()?;
                f.maxdepth = v.parse().map_err(|_| format!("invalid -maxdepth '{v}'"))?;
            }
            "-print" => {}
            other => return Err(format!("unknown predicate '{other}'")),
        }
    }
    Ok((paths, f))
}

fn main(_: &str) -> u64 {
    let args = tool::args();
    if args.iter().any(|a| a == "--help") {
        libsys::outln!(
            "usage: find [path...] [-name pattern] [-type f|d|l] [-maxdepth n] [-print]"
        );
        tool::exit(0);
    }
    let (paths, mut f) = match parse(&args) {
        Ok(x) => x,
        Err(msg) => tool::exit(tool::complain("find", &msg)),
    };
    for p in &paths {
        f.visit(p, 0);
    }
    if tool::write_all(1, f.out.as_bytes()).is_err() {
        f.status = tool::fail("find", "standard output", Errno::EIO);
    }
    tool::exit(f.status)
}
