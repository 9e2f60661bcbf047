//! `reboot [-f]`: syncs, unmounts the disks (last mounted first) and
//! resets the machine (`reboot(RB_AUTOBOOT)`: the ACPI reset register,
//! else the keyboard controller, else a triple fault). Root only; a busy
//! file system stops it; `-f` skips the sync and the unmounts. See
//! `userland::shutdown`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    userland::shutdown::run("reboot", libsys::posix::RB_AUTOBOOT)
}
