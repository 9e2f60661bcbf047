//! `ls [-laR] [path…]`: lists directories (sorted; `-a` with dot files, `-l` with mode, links, owner, size (a device's major, minor), `-R` with every directory below) or names files.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use libsys::errno::Errno;
use libsys::posix::{self, Stat};
use userland::tool;

libsys::entry!(main);

struct Options {
    all: bool,
    long: bool,
    recursive: bool,
}

/// One output line for `name` (`-l`: with `st`'s fields).
fn line(opts: &Options, name: &str, st: Option<&Stat>) -> String {
    match (opts.long, st) {
        (true, Some(st)) => {
            let mode = posix::mode_string(st.mode);
            // A device shows its numbers where a file shows its size.
            let size = match st.mode & posix::S_IFMT {
                posix::S_IFCHR | posix::S_IFBLK => {
                    format!("{:>3}, {:>3}", posix::major(st.rdev), posix::minor(st.rdev))
                }
                _ => format!("{}", st.size),
            };
            format!(
                "{} {:>2} {:>4} {:>4} {size:>8} {name}",
                core::str::from_utf8(&mode).unwrap_or("?"),
                st.nlink,
                st.uid,
                st.gid,
            )
        }
        _ => String::from(name),
    }
}

/// Lists directory `dir`; the text, or the error.
fn list_dir(opts: &Options, dir: &str) -> Result<String, Errno> {
    let mut names: Vec<String> = posix::read_dir(dir)?
        .map(|e| e.map(|e| e.name))
        .collect::<Result<_, _>>()?;
    names.retain(|n| opts.all || !n.starts_with('.'));
    names.sort();
    let mut out = String::new();
    for name in names {
        let st = if opts.long {
            posix::lstat(&format!("{}/{name}", dir.trim_end_matches('/'))).ok()
        } else {
            None
        };
        out.push_str(&line(opts, &name, st.as_ref()));
        out.push('\n');
    }
    Ok(out)
}

/// The directories directly inside `dir` (not `.`/`..`; dot ones with
/// `-a`), sorted, as paths.
fn subdirs(opts: &Options, dir: &str) -> Vec<String> {
    let Ok(entries) = posix::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.name != "." && e.name != "..")
        .filter(|e| opts.all || !e.name.starts_with('.'))
        .map(|e| format!("{}/{}", dir.trim_end_matches('/'), e.name))
        .filter(|p| posix::lstat(p).is_ok_and(|st| st.mode & posix::S_IFMT == posix::S_IFDIR))
        .collect();
    out.sort();
    out
}

/// Lists `dir` under a `dir:` heading, then (`-R`) each directory below.
fn list_tree(opts: &Options, dir: &str, first: bool) -> i32 {
    let mut status = match list_dir(opts, dir) {
        Ok(text) => {
            libsys::out!("{}{dir}:\n{text}", if first { "" } else { "\n" });
            0
        }
        Err(e) => tool::fail("ls", dir, e),
    };
    for sub in subdirs(opts, dir) {
        status |= list_tree(opts, &sub, false);
    }
    status
}

fn main(_: &str) -> u64 {
    tool::help("ls [-laR] [path...]");
    let (flags, mut paths) = match tool::options(&tool::args(), "laR") {
        Ok(x) => x,
        Err(c) => tool::exit(tool::complain("ls", &format!("invalid option -- '{c}'"))),
    };
    let opts = Options {
        all: flags.contains(&'a'),
        long: flags.contains(&'l'),
        recursive: flags.contains(&'R'),
    };
    if paths.is_empty() {
        paths.push(String::from("."));
    }
    let many = paths.len() > 1;
    let mut status = 0;
    for (i, path) in paths.iter().enumerate() {
        let st = match posix::stat(path) {
            Ok(st) => st,
            Err(e) => {
                status = tool::fail("ls", path, e);
                continue;
            }
        };
        if st.mode & posix::S_IFMT != posix::S_IFDIR {
            libsys::outln!("{}", line(&opts, path, Some(&st)));
            continue;
        }
        if opts.recursive {
            status |= list_tree(&opts, path, i == 0);
            continue;
        }
        match list_dir(&opts, path) {
            Ok(text) => {
                if many {
                    libsys::out!("{}{path}:\n", if i > 0 { "\n" } else { "" });
                }
                libsys::out!("{text}");
            }
            Err(e) => status = tool::fail("ls", path, e),
        }
    }
    tool::exit(status)
}
