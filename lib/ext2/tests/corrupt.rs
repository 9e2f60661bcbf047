//! Corrupt images never panic: a table of targeted mutations of a valid
//! image (superblock, group descriptors, inodes, indirect blocks,
//! directory records, bitmaps), each with the error it must give, then a
//! few hundred random byte flips over the metadata, each exercised with
//! reads and writes that must only ever return errors.

mod common;

use common::*;
use ext2::{BlockDevice, Error, Ext2, MemDisk, ROOT_INO};
use std::fs;

const BS: usize = 1024;

/// A valid 1 KiB-block image and the byte offsets of what the table
/// mutates.
struct Base {
    bs: usize,
    bytes: Vec<u8>,
    inode_a: usize,
    inode_b: usize,
    inode_d: usize,
    inode_link: usize,
    root_block: usize,
    d_block: usize,
    gdt: usize,
    group0_block_bitmap: usize,
    group0_inode_bitmap: usize,
}

fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

fn base() -> Base {
    base_with(BS)
}

/// The base image with `bs`-byte blocks.
fn base_with(bs: usize) -> Base {
    let dir = scratch("corrupt");
    let src = dir.join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("a"), b"file a").unwrap();
    fs::write(src.join("b"), pattern(5, 300_000)).unwrap();
    for i in 0..20 {
        fs::write(src.join(format!("d/f{i}")), format!("{i}")).unwrap();
    }
    std::os::unix::fs::symlink("a", src.join("link")).unwrap();
    let image = dir.join("image");
    mkfs(&src, &image, bs as u32, 128, 4096);
    let bytes = fs::read(&image).unwrap();
    let _ = fs::remove_dir_all(&dir);
    let mut fs = mount_mem(bytes.clone(), true).unwrap();
    let mut at = |path: &str| {
        let ino = resolve(&mut fs, path).unwrap();
        let (blk, off) = fs.inode_location(ino).unwrap();
        blk as usize * bs + off
    };
    let (inode_a, inode_b, inode_d, inode_link) = (at("a"), at("b"), at("d"), at("link"));
    let d = resolve(&mut fs, "d").unwrap();
    let root_block = fs.bmap(ROOT_INO, 0).unwrap().unwrap() as usize * bs;
    let d_block = fs.bmap(d, 0).unwrap().unwrap() as usize * bs;
    let gdt = if bs == 1024 { 2048 } else { bs };
    let group0_block_bitmap = le32(&bytes, gdt) as usize * bs;
    let group0_inode_bitmap = le32(&bytes, gdt + 4) as usize * bs;
    Base {
        bs,
        bytes,
        inode_a,
        inode_b,
        inode_d,
        inode_link,
        root_block,
        d_block,
        gdt,
        group0_block_bitmap,
        group0_inode_bitmap,
    }
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

type Check = fn(&mut Ext2<MemDisk>) -> ext2::Result<()>;

fn read_file(fs: &mut Ext2<MemDisk>, path: &str) -> ext2::Result<()> {
    let ino = resolve(fs, path)?;
    read_all(fs, ino).map(drop)
}

/// Mutations that mount fails on, with the error.
fn mount_cases(b: &Base) -> Vec<(&'static str, Vec<u8>, Error)> {
    let sb = 1024;
    let mut cases = Vec::new();
    let mut case = |name, f: &dyn Fn(&mut Vec<u8>), err| {
        let mut bytes = b.bytes.clone();
        f(&mut bytes);
        cases.push((name, bytes, err));
    };
    let corrupt = Error::Corrupted("");
    case("bad magic", &|x| put16(x, sb + 56, 0x1234), corrupt);
    case("huge block size", &|x| put32(x, sb + 24, 20), corrupt);
    case("zero blocks per group", &|x| put32(x, sb + 32, 0), corrupt);
    case("zero inodes per group", &|x| put32(x, sb + 40, 0), corrupt);
    case(
        "inode count mismatch",
        &|x| put32(x, sb, 0xFFFF_FFF0),
        corrupt,
    );
    case("odd inode size", &|x| put16(x, sb + 88, 100), corrupt);
    case(
        "volume past the device",
        &|x| put32(x, sb + 4, 1 << 30),
        corrupt,
    );
    case(
        "first data block 0 with 1 KiB blocks",
        &|x| put32(x, sb + 20, 0),
        corrupt,
    );
    case(
        "unknown incompat feature",
        &|x| put32(x, sb + 96, 0x2 | 0x8000),
        Error::Unsupported(0x8000),
    );
    case(
        "extents (ext4) incompat feature",
        &|x| put32(x, sb + 96, 0x2 | 0x40),
        Error::Unsupported(0x40),
    );
    case(
        "inode table outside the volume",
        &|x| put32(x, b.gdt + 8, 0xFFFF_FF00),
        corrupt,
    );
    case("block bitmap at block 0", &|x| put32(x, b.gdt, 0), corrupt);
    case(
        "group free count larger than a group",
        &|x| put16(x, b.gdt + 12, 0xFFFF),
        corrupt,
    );
    case("image truncated", &|x| x.truncate(512 * 1024), corrupt);
    case(
        "empty device",
        &|x| x.clear(),
        Error::Device(ext2::DeviceError::OutOfRange),
    );
    cases
}

/// Mutations that mount but must fail an operation with the error.
fn op_cases(b: &Base) -> Vec<(&'static str, Vec<u8>, Check, Error)> {
    let corrupt = Error::Corrupted("");
    let mut cases: Vec<(&'static str, Vec<u8>, Check, Error)> = Vec::new();
    let mut case = |name, f: &dyn Fn(&mut Vec<u8>), check: Check, err| {
        let mut bytes = b.bytes.clone();
        f(&mut bytes);
        cases.push((name, bytes, check, err));
    };
    let readdir_root: Check = |fs| list(fs, ROOT_INO).map(drop);
    let readdir_d: Check = |fs| resolve(fs, "d").and_then(|d| list(fs, d)).map(drop);
    let (r, d) = (b.root_block, b.d_block);
    case(
        "dir record rec_len 0",
        &|x| put16(x, r + 4, 0),
        readdir_root,
        corrupt,
    );
    case(
        "dir record past the block",
        &|x| put16(x, r + 4, 2000),
        readdir_root,
        corrupt,
    );
    case(
        "dir record rec_len unaligned",
        &|x| put16(x, r + 4, 13),
        readdir_root,
        corrupt,
    );
    case(
        "dir name longer than record",
        &|x| x[r + 6] = 200,
        readdir_root,
        corrupt,
    );
    case(
        "dir entry inode out of range",
        &|x| put32(x, r + 12, 0x0FFF_FFFF),
        readdir_root,
        corrupt,
    );
    case(
        "lookup through a bad record",
        &|x| put16(x, d + 4, 0),
        |fs| resolve(fs, "d/f3").map(drop),
        corrupt,
    );
    case(
        "directory size not whole blocks",
        &|x| put32(x, b.inode_d + 4, 1000),
        readdir_d,
        corrupt,
    );
    case(
        "hole in a directory",
        &|x| put32(x, b.inode_d + 40, 0),
        readdir_d,
        corrupt,
    );
    case(
        "data block outside the volume",
        &|x| put32(x, b.inode_a + 40, 0xFFFF_FF00),
        |fs| read_file(fs, "a"),
        corrupt,
    );
    case(
        "data block pointer at the superblock",
        &|x| put32(x, b.inode_a + 40, 1),
        |fs| read_file(fs, "a"),
        corrupt,
    );
    case(
        "indirect block outside the volume",
        &|x| put32(x, b.inode_b + 40 + 48, 5_000_000),
        |fs| read_file(fs, "b"),
        corrupt,
    );
    case(
        "double indirect outside the volume",
        &|x| put32(x, b.inode_b + 40 + 52, 0xFFFF_FFFF),
        |fs| read_file(fs, "b"),
        corrupt,
    );
    case(
        "indirect cycle (double indirect names itself)",
        &|x| {
            let dind = le32(x, b.inode_b + 40 + 52) as usize;
            put32(x, dind * BS, dind as u32);
        },
        |fs| {
            let ino = resolve(fs, "b")?;
            fs.truncate(ino, 0)
        },
        corrupt,
    );
    case(
        "indirect block shared by two files",
        &|x| {
            let ind = le32(x, b.inode_b + 40 + 48);
            put32(x, b.inode_a + 40 + 48, ind);
            put32(x, b.inode_a + 4, 200_000);
        },
        |fs| {
            let a = resolve(fs, "a")?;
            let b = resolve(fs, "b")?;
            fs.truncate(b, 0)?;
            fs.truncate(a, 0)
        },
        corrupt,
    );
    case(
        "symlink longer than a block",
        &|x| put32(x, b.inode_link + 4, 5000),
        |fs| resolve(fs, "link").and_then(|l| fs.readlink(l)).map(drop),
        corrupt,
    );
    case(
        "entry names a free inode",
        &|x| put16(x, b.inode_a + 26, 0),
        |fs| fs.unlink(ROOT_INO, b"a"),
        corrupt,
    );
    case(
        "block bitmap marks metadata free",
        &|x| x[b.group0_block_bitmap..b.group0_block_bitmap + BS].fill(0),
        |fs| {
            let f = fs.create(ROOT_INO, b"new", 0o644, 0, 0)?;
            fs.write(f.ino, 0, b"data").map(drop)
        },
        corrupt,
    );
    case(
        "inode bitmap marks used inodes free",
        &|x| x[b.group0_inode_bitmap..b.group0_inode_bitmap + 4].fill(0),
        |fs| fs.create(ROOT_INO, b"new", 0o644, 0, 0).map(drop),
        corrupt,
    );
    case(
        "unknown ro_compat feature mounts read-only",
        &|x| put32(x, 1024 + 100, 0x3 | 0x400),
        |fs| fs.mkdir(ROOT_INO, b"x", 0o755, 0, 0).map(drop),
        Error::ReadOnly,
    );
    cases
}

fn same_kind(a: &Error, b: &Error) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
        && (matches!(a, Error::Corrupted(_)) || a == b)
}

#[test]
fn table_of_corruptions_gives_errors() {
    let b = base();
    for (name, bytes, want) in mount_cases(&b) {
        match mount_mem(bytes, false) {
            Ok(_) => panic!("{name}: mounted"),
            Err(e) => assert!(same_kind(&e, &want), "{name}: got {e:?}, want {want:?}"),
        }
    }
    for (name, bytes, check, want) in op_cases(&b) {
        let mut fs =
            mount_mem(bytes, false).unwrap_or_else(|e| panic!("{name}: mount failed: {e:?}"));
        match check(&mut fs) {
            Ok(()) => panic!("{name}: no error"),
            Err(e) => {
                assert!(same_kind(&e, &want), "{name}: got {e:?}, want {want:?}");
                if let Error::Corrupted(why) = e {
                    assert!(!why.is_empty() && e.errno() == 117, "{name}");
                }
            }
        }
    }
    // Inode numbers from the caller are checked too.
    let mut fs = mount_mem(b.bytes.clone(), false).unwrap();
    assert_eq!(fs.read_inode(0), Err(Error::Invalid));
    assert_eq!(fs.read_inode(u32::MAX), Err(Error::Invalid));
    assert_eq!(fs.read(u32::MAX, 0, &mut [0; 4]), Err(Error::Invalid));
}

/// Walks and changes a possibly corrupt volume; only errors may come out.
fn exercise<D: BlockDevice>(fs: &mut Ext2<D>) {
    let mut budget = 3000;
    let mut stack = vec![(ROOT_INO, 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = list(fs, dir) else { continue };
        for (name, ino) in entries {
            budget -= 1;
            if budget == 0 {
                return;
            }
            let _ = fs.lookup(dir, name.as_bytes());
            let Ok(inode) = fs.read_inode(ino) else {
                continue;
            };
            if inode.is_dir() && depth < 6 {
                stack.push((ino, depth + 1));
            } else if inode.is_symlink() {
                let _ = fs.readlink(ino);
            } else {
                let mut buf = vec![0u8; 70_000];
                let _ = fs.read(ino, 0, &mut buf);
                let _ = fs.bmap(ino, 300);
            }
        }
    }
    if let Ok(f) = fs.create(ROOT_INO, b"fuzz", 0o644, 0, 0) {
        let _ = fs.write(f.ino, 0, &pattern(1, 20_000));
        let _ = fs.write(f.ino, 1 << 20, b"far");
        let _ = fs.truncate(f.ino, 100);
    }
    let _ = fs.mkdir(ROOT_INO, b"fuzzdir", 0o755, 0, 0);
    let _ = fs.rename(ROOT_INO, b"fuzz", ROOT_INO, b"d");
    let _ = fs.unlink(ROOT_INO, b"a");
    let _ = fs.rmdir(ROOT_INO, b"d");
    let _ = fs.symlink(ROOT_INO, b"sl", &[b'x'; 100], 0, 0);
    if let Ok(b) = fs.lookup(ROOT_INO, b"b") {
        let _ = fs.truncate(b, 5000);
    }
    let _ = fs.sync();
}

/// Mutated images per run; `EXT2_FUZZ_ROUNDS` asks for a longer run.
fn rounds() -> usize {
    std::env::var("EXT2_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

#[test]
fn random_mutations_never_panic_1k() {
    fuzz(&base_with(1024));
}

#[test]
fn random_mutations_never_panic_4k() {
    fuzz(&base_with(4096));
}

/// Mutates the base image `rounds()` times; every image must only give errors.
fn fuzz(b: &Base) {
    let bs = b.bs;
    let metadata_end = (b.d_block.max(b.root_block) + bs).min(b.bytes.len());
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut mounted, mut failed_mounts) = (0, 0);
    let targets = [
        (b.inode_a, 128),
        (b.inode_b, 128),
        (b.inode_d, 128),
        (b.inode_link, 128),
        (b.root_block, bs),
        (b.d_block, bs),
        (b.gdt, 32),
        (1024, 128),
    ];
    let rounds = rounds();
    for round in 0..rounds {
        let mut bytes = b.bytes.clone();
        if round % 2 == 0 {
            // Flip bits anywhere in the metadata.
            for _ in 0..1 + next() % 8 {
                let at = 1024 + (next() as usize % (metadata_end - 1024));
                bytes[at] ^= 1 << (next() % 8);
            }
        } else {
            // Put a nasty word into a structure in use.
            let (start, len) = targets[next() as usize % targets.len()];
            let at = start + (next() as usize % len) / 4 * 4;
            let word =
                [0, 1, 2, 0xFFFF_FFFF, 0x8000_0000, 4095, 4096, next() as u32][next() as usize % 8];
            put32(&mut bytes, at, word);
        }
        let outcome = std::panic::catch_unwind(move || match mount_mem(bytes, false) {
            Ok(mut fs) => {
                exercise(&mut fs);
                let _ = fs.unmount();
                true
            }
            Err(_) => false,
        });
        match outcome {
            Ok(true) => mounted += 1,
            Ok(false) => failed_mounts += 1,
            Err(_) => panic!("round {round}: the library panicked on a corrupt image"),
        }
    }
    assert!(
        mounted > rounds / 4,
        "only {mounted} of {rounds} mutated images mounted ({failed_mounts} refused)"
    );
}
