//! The SVR4 "newc" cpio format — the format of Linux's initramfs (LKD
//! ch. 13's root file system starts as one) — for the initramfs this
//! system boots with: `build/initramfs.cpio`, made at build time from the
//! user programs, `rootfs/etc` and the docs, and loaded as the boot
//! module `/boot/initramfs.cpio` to be unpacked into the root tmpfs.
//!
//! - [`header`]: the 110-byte header, its thirteen hex fields, the
//!   [`FileType`]s of a mode, `070701` and `070702` ([`Format`]).
//! - [`name`]: member names normalized (`./bin/sh`, `/bin/sh` → `bin/sh`)
//!   and refused when they would climb out of the root.
//! - [`reader`]: [`Archive::entries`] — the strict, zero-copy walk an
//!   unpacker uses (in the guest: no_std + alloc). A truncated or hostile
//!   archive gives a typed [`Error`], never a panic.
//! - [`writer`]: [`Writer`] — deterministic archives (inodes numbered in
//!   order, one fixed mtime) so the ISO is reproducible.
//! - [`spec`]: the `gen_init_cpio` list format the build step reads
//!   (`rootfs/initramfs.list`), and [`spec::build`] to feed it to a writer.
//!
//! The host tool `mkinitramfs` (`src/bin`, feature `std`) glues the
//! list, the disk and the writer together for the Makefile.
//!
//! # Unpacking (the API the VFS uses)
//!
//! ```
//! use cpio::{Archive, FileType};
//! # let archive_bytes = cpio::Writer::new(cpio::Format::Newc).finish();
//! for entry in Archive::new(&archive_bytes).entries() {
//!     let entry = entry?; // stop at the first fault
//!     match (entry.file_type, &entry.link) {
//!         (_, Some(first)) => { /* link(first, name), then write data if any */ }
//!         (FileType::Directory, _) => { /* mkdir(name, perm) — `.` is the root */ }
//!         (FileType::Regular, _) => { /* create(name), write entry.data */ }
//!         (FileType::Symlink, _) => { /* symlink(entry.symlink_target(), name) */ }
//!         _ => { /* mknod(name, entry.mode(), rdev) */ }
//!     }
//! }
//! # Ok::<(), cpio::Error>(())
//! ```
//!
//! Entries come parents first when the archive was made by [`Writer`];
//! archives from elsewhere may not, and an unpacker should say so (or
//! create the missing directories) rather than trust the order.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod error;
pub mod header;
pub mod name;
pub mod reader;
pub mod spec;
pub mod writer;

pub use error::{Error, ErrorKind, Part};
pub use header::{FileType, Format, PATH_MAX};
pub use reader::{Archive, Entries, Entry};
pub use writer::{Meta, Node, WriteError, Writer};
