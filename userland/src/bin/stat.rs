//! `stat file…`: prints each file's inode fields as `stat` does (size, blocks, type, device, inode, links, mode, owner, times).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use libsys::posix::{self, Stat, S_IFMT};
use userland::tool;

libsys::entry!(main);

fn kind(mode: u32) -> &'static str {
    match mode & S_IFMT {
        posix::S_IFREG => "regular file",
        posix::S_IFDIR => "directory",
        posix::S_IFLNK => "symbolic link",
        posix::S_IFCHR => "character special file",
        posix::S_IFBLK => "block special file",
        posix::S_IFIFO => "fifo",
        posix::S_IFSOCK => "socket",
        _ => "unknown",
    }
}

fn time(t: (i64, u32)) -> String {
    let tm = textutil::date::gmtime(t.0);
    format!(
        "{}.{:09} +0000",
        textutil::date::strftime("%F %T", &tm, t.0),
        t.1
    )
}

fn show(name: &str, st: &Stat) -> String {
    let mode = posix::mode_string(st.mode);
    let mut out = format!("  File: {name}");
    if st.mode & S_IFMT == posix::S_IFLNK {
        if let Ok(target) = posix::readlink(name) {
            out += &format!(" -> {target}");
        }
    }
    out += &format!(
        "\n  Size: {:<15} Blocks: {:<10} IO Block: {:<6} {}\n",
        st.size,
        st.blocks,
        st.blksize,
        kind(st.mode)
    );
    out += &format!(
        "Device: {:x}h/{}d\tInode: {:<11} Links: {}\n",
        st.dev, st.dev, st.ino, st.nlink
    );
    out += &format!(
        "Access: ({:04o}/{})  Uid: ({:>5})   Gid: ({:>5})\n",
        st.mode & 0o7777,
        core::str::from_utf8(&mode).unwrap_or("?"),
        st.uid,
        st.gid
    );
    out += &format!(
        "Access: {}\nModify: {}\nChange: {}\n",
        time(st.atime),
        time(st.mtime),
        time(st.ctime)
    );
    out
}

fn main(_: &str) -> u64 {
    let p = tool::getopt("stat", "", "stat file...");
    if p.operands.is_empty() {
        tool::exit(tool::complain("stat", "missing operand"));
    }
    let mut status = 0;
    for name in &p.operands {
        match posix::lstat(name) {
            Ok(st) => {
                if tool::write_all(1, show(name, &st).as_bytes()).is_err() {
                    status = 1;
                }
            }
            Err(e) => status = tool::fail("stat", &format!("cannot stat '{name}'"), e),
        }
    }
    tool::exit(status)
}
