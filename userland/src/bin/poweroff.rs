//! `poweroff [-f]`: syncs, unmounts the disks (last mounted first) and
//! turns the machine off (`reboot(RB_POWER_OFF)`: ACPI S5 through the
//! process server and the kernel). Root only; a busy file system stops
//! it; `-f` skips the sync and the unmounts. See `userland::shutdown`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    userland::shutdown::run("poweroff", libsys::posix::RB_POWER_OFF)
}
