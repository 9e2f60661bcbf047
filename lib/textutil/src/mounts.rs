//! The mount table as `/proc/mounts` (and `libsys::posix::mounts`) gives
//! it — one mount a line, `source target type options dump pass`, in the
//! order they were mounted, a space inside a field written `\040` — and
//! what `poweroff` and `reboot` unmount before they stop the machine: the
//! file systems on a block device (`/dev/…`), last mounted first, so a
//! disk mounted inside another comes off before it.

use alloc::string::String;
use alloc::vec::Vec;

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub source: String,
    pub target: String,
    pub fstype: String,
    pub options: String,
}

impl Mount {
    /// Whether it lives on a block device (its source is a `/dev/` path),
    /// so that its dirty data must reach the disk before power goes.
    pub fn on_disk(&self) -> bool {
        self.source.starts_with("/dev/")
    }

    /// Mounted read-only (`ro` among its options).
    pub fn read_only(&self) -> bool {
        self.options.split(',').any(|o| o == "ro")
    }
}

/// A field with its octal escapes (`\040` for a space, `\011` a tab,
/// `\012` a newline, `\134` a backslash) decoded; anything else after a
/// backslash is kept as it is.
pub fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .map(|d| d.iter().fold(0u32, |n, c| n * 8 + u32::from(c - b'0')))
            .and_then(|n| u8::try_from(n).ok());
        match octal {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The table's mounts, in its order; a line with fewer than four fields
/// is skipped.
pub fn parse(table: &str) -> Vec<Mount> {
    table
        .lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            Some(Mount {
                source: unescape(f.next()?),
                target: unescape(f.next()?),
                fstype: unescape(f.next()?),
                options: unescape(f.next()?),
            })
        })
        .collect()
}

/// The mount points of the file systems on a disk, last mounted first:
/// the order to unmount them in.
pub fn disk_unmount_order(table: &str) -> Vec<String> {
    parse(table)
        .into_iter()
        .rev()
        .filter(Mount::on_disk)
        .map(|m| m.target)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "rootfs / tmpfs rw 0 0\n\
                         proc /proc proc rw 0 0\n\
                         sysfs /sys sysfs rw 0 0\n\
                         devfs /dev devfs rw 0 0\n\
                         /dev/vda /mnt ext2 rw 0 0\n\
                         tmpfs /mnt/tmp tmpfs rw 0 0\n\
                         /dev/vdb /mnt/my\\040disk ext2 ro 0 0\n";

    #[test]
    fn reads_the_table() {
        let mounts = parse(TABLE);
        assert_eq!(mounts.len(), 7);
        assert_eq!(
            mounts[4],
            Mount {
                source: "/dev/vda".into(),
                target: "/mnt".into(),
                fstype: "ext2".into(),
                options: "rw".into()
            }
        );
        assert!(mounts[4].on_disk() && !mounts[4].read_only());
        assert!(!mounts[0].on_disk(), "the root tmpfs");
        assert!(!mounts[3].on_disk(), "devfs is not on /dev");
        assert_eq!(mounts[6].target, "/mnt/my disk");
        assert!(mounts[6].read_only());
    }

    #[test]
    fn disks_come_off_last_mounted_first() {
        assert_eq!(disk_unmount_order(TABLE), ["/mnt/my disk", "/mnt"]);
        assert_eq!(
            disk_unmount_order("rootfs / tmpfs rw 0 0\n"),
            Vec::<String>::new()
        );
        assert_eq!(disk_unmount_order(""), Vec::<String>::new());
    }

    #[test]
    fn short_lines_and_odd_escapes() {
        let mounts = parse("/dev/vda /mnt\n\n/dev/vdb /b ext2 rw\n");
        assert_eq!(mounts.len(), 1, "a line with two fields is skipped");
        assert_eq!(mounts[0].target, "/b");
        assert_eq!(unescape(r"a\040b\011c\134d"), "a b\tc\\d");
        assert_eq!(unescape(r"\04"), r"\04", "too short: kept");
        assert_eq!(unescape(r"\999x\"), r"\999x\", "not octal: kept");
        assert_eq!(unescape(r"\777"), r"\777", "above a byte: kept");
    }
}
