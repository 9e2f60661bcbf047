//! `mount` — with no operand, the mount table (`/proc/mounts` lines from
//! vfs); `mount [-r] [-o ro|rw] -t TYPE DEVICE DIR` mounts (root only);
//! `mount -a` mounts the ext2 lines of `/etc/fstab` not mounted yet.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use libsys::posix;
use userland::tool;

libsys::entry!(main);

/// `MS_RDONLY`.
const MS_RDONLY: u64 = 1;

fn usage() -> ! {
    tool::exit(tool::complain(
        "mount",
        "usage: mount | mount -a | mount [-r] [-o ro|rw] -t TYPE DEVICE DIR",
    ))
}

/// `mount -a`: each `<device> <dir> ext2 <options>` line of /etc/fstab
/// whose dir is not a mount point yet.
fn mount_all() -> i32 {
    let table = posix::mounts().unwrap_or_default();
    let fstab = match posix::open("/etc/fstab", posix::O_RDONLY, 0)
        .and_then(|fd| posix::read_to_end(fd, 64 * 1024))
    {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => return tool::fail("mount", "/etc/fstab", e),
    };
    let mut status = 0;
    for line in fstab.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 || f[0].starts_with('#') || f[2] != "ext2" {
            continue;
        }
        let opts = f.get(3).copied().unwrap_or("defaults");
        if opts.split(',').any(|o| o == "noauto") {
            continue;
        }
        if table
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(f[1]))
        {
            continue;
        }
        let flags = if opts.split(',').any(|o| o == "ro") {
            MS_RDONLY
        } else {
            0
        };
        if let Err(e) = posix::mount(f[0], f[1], f[2], flags) {
            status = tool::fail("mount", f[0], e);
        }
    }
    status
}

fn main(_: &str) -> u64 {
    tool::help("mount [-t type] [-o options] source target");
    let args = tool::args();
    if args.is_empty() {
        match posix::mounts() {
            Ok(text) => {
                libsys::out!("{text}");
            }
            Err(e) => tool::exit(tool::fail("mount", "mount table", e)),
        }
        tool::exit(0);
    }
    let mut flags = 0u64;
    let mut fstype: Option<String> = None;
    let mut operands = Vec::new();
    let mut all = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-a" => all = true,
            "-r" => flags |= MS_RDONLY,
            "-t" => fstype = Some(it.next().cloned().unwrap_or_else(|| usage())),
            "-o" => {
                for o in it.next().unwrap_or_else(|| usage()).split(',') {
                    match o {
                        "ro" => flags |= MS_RDONLY,
                        "rw" => flags &= !MS_RDONLY,
                        "defaults" => {}
                        other => tool::exit(tool::complain(
                            "mount",
                            &alloc::format!("unknown option '{other}'"),
                        )),
                    }
                }
            }
            s if s.starts_with('-') => usage(),
            s => operands.push(s),
        }
    }
    if all {
        if !operands.is_empty() {
            usage();
        }
        tool::exit(mount_all());
    }
    let (&[device, dir], Some(fstype)) = (&operands[..], fstype) else {
        usage();
    };
    match posix::mount(device, dir, &fstype, flags) {
        Ok(()) => tool::exit(0),
        Err(e) => tool::exit(tool::fail("mount", device, e)),
    }
}
