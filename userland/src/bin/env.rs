//! `env [-i] [NAME=value…] [command [arg…]]`: prints the environment, or runs a command in a changed one.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use libsys::errno::Errno;
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let args = tool::args();
    let mut rest = args.as_slice();
    let mut env: Vec<String> = libsys::env::environ()
        .into_iter()
        .map(String::from)
        .collect();
    if rest.first().is_some_and(|a| a == "-i" || a == "-") {
        env.clear();
        rest = &rest[1..];
    }
    while let Some(assign) = rest.first().filter(|a| a.contains('=')) {
        let name = assign.split('=').next().unwrap_or("");
        env.retain(|e| e.split('=').next() != Some(name));
        env.push(assign.clone());
        rest = &rest[1..];
    }
    if rest.is_empty() {
        let mut out = String::new();
        for e in &env {
            out += e;
            out.push('\n');
        }
        let _ = tool::write_all(1, out.as_bytes());
        tool::exit(0);
    }
    let argv: Vec<&str> = rest.iter().map(|s| s.as_str()).collect();
    let envp: Vec<&str> = env.iter().map(|s| s.as_str()).collect();
    // Replaces this process: the command's status is env's. A name
    // without a slash is looked up on the new environment's PATH.
    let e = if argv[0].contains('/') {
        libsys::posix::execve(argv[0], &argv, &envp)
    } else {
        let path = envp
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("/bin:/sbin");
        let mut last = Errno::ENOENT;
        for dir in path.split(':').filter(|d| !d.is_empty()) {
            let full = alloc::format!("{}/{}", dir.trim_end_matches('/'), argv[0]);
            match libsys::posix::execve(&full, &argv, &envp) {
                Errno::ENOENT => {}
                other => last = other,
            }
        }
        last
    };
    libsys::errln!("env: '{}': {e}", argv[0]);
    tool::exit(if e == Errno::ENOENT { 127 } else { 126 })
}
