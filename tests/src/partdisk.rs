//! The posix suite's second virtio disk (`vdb`): a 4 MiB image with an
//! MBR partition table — two primary partitions and, in an extended one,
//! a logical partition — made here, byte by byte, for ext2test's
//! partition checks (userland/src/bin/ext2test.rs, `partitions`).
//!
//! | partition | sectors | holds |
//! | --- | --- | --- |
//! | `vdb1` (type 0x83) | 2048–4095 | ext2 (`mke2fs -d`), `/PART` = [`PART_FILE`] |
//! | `vdb2` (type 0x83) | 4096–5119 | each sector starts `vdb2 sector NNNN` |
//! | `vdb3`, extended (type 0x05) | 5120–8191 | its EBR at 5120 (exposed as 2 sectors, as Linux does) |
//! | `vdb5` (type 0x83, logical) | 5248–6271 | each sector starts `vdb5 sector NNNN` |
//!
//! The guest checks the same layout; keep both in step.

use std::fs;

/// The image's path.
pub const PART_DISK: &str = "build/part-disk.img";
/// Its size in sectors (4 MiB).
const SECTORS: usize = 8192;
/// What `/PART` on `vdb1`'s ext2 holds.
pub const PART_FILE: &[u8] = b"ext2 on vdb1, the first partition of vdb\n";

/// (first sector, sectors) of each partition.
const VDB1: (u32, u32) = (2048, 2048);
const VDB2: (u32, u32) = (4096, 1024);
const EXTENDED: (u32, u32) = (5120, 3072);
/// The logical partition, relative to its EBR (at the extended's start).
const VDB5_REL: (u32, u32) = (128, 1024);

/// Writes MBR entry `slot` of the table in `sector` (CHS left 0: LBA is
/// what is read).
fn entry(sector: &mut [u8], slot: usize, ty: u8, (start, size): (u32, u32)) {
    let e = &mut sector[446 + slot * 16..446 + (slot + 1) * 16];
    e[4] = ty;
    e[8..12].copy_from_slice(&start.to_le_bytes());
    e[12..16].copy_from_slice(&size.to_le_bytes());
}

fn signature(sector: &mut [u8]) {
    sector[510] = 0x55;
    sector[511] = 0xAA;
}

/// `name sector NNNN` at the start of each of its sectors.
fn label(image: &mut [u8], name: &str, (start, size): (u32, u32)) {
    for k in 0..size as usize {
        let at = (start as usize + k) * 512;
        let text = format!("{name} sector {k:04}\n");
        image[at..at + text.len()].copy_from_slice(text.as_bytes());
    }
}

/// Makes [`PART_DISK`] afresh; `vdb1`'s ext2 is made with the host's
/// `mke2fs` through `make_ext2` (image path, tree, KiB, files).
pub fn fresh(
    make_ext2: impl Fn(&str, &str, u64, &[(&str, &[u8])]) -> Result<(), String>,
) -> Result<(), String> {
    let ext2 = "build/part-disk-vdb1.img";
    make_ext2(
        ext2,
        "build/part-disk-tree",
        u64::from(VDB1.1) / 2,
        &[("PART", PART_FILE)],
    )?;
    let fs_bytes = fs::read(ext2).map_err(|e| format!("{ext2}: {e}"))?;
    if fs_bytes.len() > VDB1.1 as usize * 512 {
        return Err(format!("{ext2}: larger than vdb1"));
    }
    let mut image = vec![0u8; SECTORS * 512];
    let mbr = &mut image[..512];
    entry(mbr, 0, 0x83, VDB1);
    entry(mbr, 1, 0x83, VDB2);
    entry(mbr, 2, 0x05, EXTENDED);
    signature(mbr);
    let ebr_at = EXTENDED.0 as usize * 512;
    let ebr = &mut image[ebr_at..ebr_at + 512];
    entry(ebr, 0, 0x83, VDB5_REL);
    signature(ebr);
    let at = VDB1.0 as usize * 512;
    image[at..at + fs_bytes.len()].copy_from_slice(&fs_bytes);
    label(&mut image, "vdb2", VDB2);
    label(&mut image, "vdb5", (EXTENDED.0 + VDB5_REL.0, VDB5_REL.1));
    fs::write(PART_DISK, &image).map_err(|e| format!("{PART_DISK}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_says_what_the_guest_expects() {
        let mut image = vec![0u8; SECTORS * 512];
        entry(&mut image[..512], 2, 0x05, EXTENDED);
        signature(&mut image[..512]);
        assert_eq!(&image[446 + 32 + 4..446 + 32 + 5], &[0x05]);
        assert_eq!(&image[446 + 32 + 8..446 + 32 + 12], &5120u32.to_le_bytes());
        assert_eq!(&image[510..512], &[0x55, 0xAA]);
        label(&mut image, "vdb2", VDB2);
        assert!(image[4096 * 512..].starts_with(b"vdb2 sector 0000\n"));
        assert!(image[5119 * 512..].starts_with(b"vdb2 sector 1023\n"));
    }
}
