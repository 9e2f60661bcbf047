//! Partition tables made in the test (MBR with logical partitions, GPT
//! with its backup), malformed ones, random garbage, and — when the host
//! has `sfdisk` — real images made by it.

use blk::part::gpt::crc32;
use blk::part::{
    partition_name, read_partitions, GptError, PartError, PartKind, SliceSource, TableKind,
};

const MIB: u64 = 2048;

fn put_entry(sector: &mut [u8], slot: usize, status: u8, ty: u8, start: u32, size: u32) {
    let o = 446 + 16 * slot;
    sector[o] = status;
    sector[o + 4] = ty;
    sector[o + 8..o + 12].copy_from_slice(&start.to_le_bytes());
    sector[o + 12..o + 16].copy_from_slice(&size.to_le_bytes());
    sector[510] = 0x55;
    sector[511] = 0xAA;
}

fn image(sectors: u64) -> Vec<u8> {
    vec![0u8; sectors as usize * 512]
}

fn sector(img: &mut [u8], lba: u64) -> &mut [u8] {
    &mut img[lba as usize * 512..][..512]
}

fn parse(img: &[u8]) -> Result<(TableKind, Vec<blk::part::Partition>), PartError> {
    read_partitions(&mut SliceSource(img))
}

fn spans(parts: &[blk::part::Partition]) -> Vec<(u32, u64, u64)> {
    parts
        .iter()
        .map(|p| (p.number, p.start, p.sectors))
        .collect()
}

#[test]
fn mbr_primaries_and_logicals() {
    let mut img = image(32 * MIB);
    let s0 = sector(&mut img, 0);
    put_entry(s0, 0, 0x80, 0x83, 2048, 4096);
    put_entry(s0, 1, 0, 0x05, 8192, 16384);
    // The chain: EBR at 8192 -> logical at +2048, next EBR at ext+8192.
    let ebr1 = sector(&mut img, 8192);
    put_entry(ebr1, 0, 0, 0x83, 2048, 1024);
    put_entry(ebr1, 1, 0, 0x05, 8192, 4096);
    let ebr2 = sector(&mut img, 8192 + 8192);
    put_entry(ebr2, 0, 0, 0x82, 2048, 2048);
    let (kind, parts) = parse(&img).unwrap();
    assert_eq!(kind, TableKind::Mbr);
    assert_eq!(
        spans(&parts),
        [
            (1, 2048, 4096),
            (2, 8192, 2),
            (5, 10240, 1024),
            (6, 18432, 2048)
        ]
    );
    assert_eq!(
        parts[0].kind,
        PartKind::Mbr {
            system_id: 0x83,
            bootable: true
        }
    );
    assert_eq!(
        parts[3].kind,
        PartKind::Mbr {
            system_id: 0x82,
            bootable: false
        }
    );
    assert_eq!(partition_name("vda", 5), "vda5");
    assert_eq!(partition_name("ram0", 1), "ram0p1");
}

#[test]
fn malformed_mbrs() {
    let mut img = image(8 * MIB);
    assert_eq!(parse(&img), Err(PartError::NoTable));
    put_entry(sector(&mut img, 0), 0, 0, 0x83, 2048, 8 * MIB as u32);
    assert_eq!(parse(&img), Err(PartError::EntryOutOfRange(1)));
    put_entry(sector(&mut img, 0), 0, 0, 0x83, 2048, 4096);
    put_entry(sector(&mut img, 0), 1, 0, 0x83, 4000, 100);
    assert_eq!(parse(&img), Err(PartError::Overlap));
    put_entry(sector(&mut img, 0), 1, 0, 0x83, u32::MAX, u32::MAX);
    assert_eq!(parse(&img), Err(PartError::EntryOutOfRange(2)));
    put_entry(sector(&mut img, 0), 1, 0, 0x05, 8192, 1000);
    put_entry(sector(&mut img, 0), 2, 0, 0x0f, 10000, 1000);
    assert_eq!(parse(&img), Err(PartError::TwoExtended));
    put_entry(sector(&mut img, 0), 2, 0, 0, 0, 0);
    // An EBR chain that points back at itself; then one without signature.
    put_entry(sector(&mut img, 8192), 1, 0, 0x05, 0, 10);
    assert_eq!(parse(&img), Err(PartError::BadExtendedChain));
    sector(&mut img, 8192).fill(0);
    assert_eq!(parse(&img), Err(PartError::BadExtendedChain));
    // A logical partition leaving the extended one.
    put_entry(sector(&mut img, 8192), 0, 0, 0x83, 2, 5000);
    assert_eq!(parse(&img), Err(PartError::EntryOutOfRange(5)));
    // A disk too short to hold sector 0.
    assert_eq!(parse(&img[..100]), Err(PartError::Io));
}

const ESP: [u8; 16] = [
    0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b,
];
const LINUX: [u8; 16] = [
    0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4,
];

struct GptPart {
    ty: [u8; 16],
    first: u64,
    last: u64,
    name: &'static str,
}

fn entries(parts: &[GptPart]) -> Vec<u8> {
    let mut a = vec![0u8; 128 * 128];
    for (i, p) in parts.iter().enumerate() {
        let e = &mut a[i * 128..][..128];
        e[..16].copy_from_slice(&p.ty);
        e[16] = i as u8 + 1;
        e[32..40].copy_from_slice(&p.first.to_le_bytes());
        e[40..48].copy_from_slice(&p.last.to_le_bytes());
        for (j, u) in p.name.encode_utf16().enumerate() {
            e[56 + 2 * j..58 + 2 * j].copy_from_slice(&u.to_le_bytes());
        }
    }
    a
}

fn header(disk: u64, my: u64, alt: u64, entries_lba: u64, array: &[u8]) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..8].copy_from_slice(b"EFI PART");
    h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
    h[12..16].copy_from_slice(&92u32.to_le_bytes());
    h[24..32].copy_from_slice(&my.to_le_bytes());
    h[32..40].copy_from_slice(&alt.to_le_bytes());
    h[40..48].copy_from_slice(&34u64.to_le_bytes());
    h[48..56].copy_from_slice(&(disk - 34).to_le_bytes());
    h[72..80].copy_from_slice(&entries_lba.to_le_bytes());
    h[80..84].copy_from_slice(&128u32.to_le_bytes());
    h[84..88].copy_from_slice(&128u32.to_le_bytes());
    h[88..92].copy_from_slice(&crc32(array).to_le_bytes());
    let crc = crc32(&h[..92]);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    h
}

fn gpt_image(disk: u64, parts: &[GptPart]) -> Vec<u8> {
    let mut img = image(disk);
    put_entry(sector(&mut img, 0), 0, 0, 0xEE, 1, (disk - 1) as u32);
    let array = entries(parts);
    img[2 * 512..][..array.len()].copy_from_slice(&array);
    img[(disk as usize - 33) * 512..][..array.len()].copy_from_slice(&array);
    sector(&mut img, 1).copy_from_slice(&header(disk, 1, disk - 1, 2, &array));
    sector(&mut img, disk - 1).copy_from_slice(&header(disk, disk - 1, 1, disk - 33, &array));
    img
}

fn two_parts(disk: u64) -> Vec<GptPart> {
    vec![
        GptPart {
            ty: ESP,
            first: 2048,
            last: 4095,
            name: "EFI system",
        },
        GptPart {
            ty: LINUX,
            first: 4096,
            last: disk - 35,
            name: "root ü",
        },
    ]
}

#[test]
fn crc_is_ieee() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn gpt_with_backup() {
    let disk = 16 * MIB;
    let img = gpt_image(disk, &two_parts(disk));
    let (kind, parts) = parse(&img).unwrap();
    assert_eq!(kind, TableKind::Gpt);
    assert_eq!(
        spans(&parts),
        [(1, 2048, 2048), (2, 4096, disk - 35 - 4096 + 1)]
    );
    match &parts[1].kind {
        PartKind::Gpt {
            type_guid,
            name,
            unique_guid,
            ..
        } => {
            assert_eq!(
                (type_guid, name.as_str(), unique_guid[0]),
                (&LINUX, "root ü", 2)
            );
        }
        other => panic!("{other:?}"),
    }
    // A damaged primary header or array: the backup answers.
    let mut bad = img.clone();
    bad[512 + 40] ^= 1;
    assert_eq!(spans(&parse(&bad).unwrap().1), spans(&parts));
    let mut bad = img.clone();
    bad[2 * 512 + 33] ^= 1;
    assert_eq!(spans(&parse(&bad).unwrap().1), spans(&parts));
    // Both damaged: the primary's error.
    let last = (disk as usize - 1) * 512;
    let mut bad = img.clone();
    bad[512 + 40] ^= 1;
    bad[last + 40] ^= 1;
    assert_eq!(parse(&bad), Err(PartError::Gpt(GptError::HeaderCrc)));
    let mut bad = img.clone();
    bad[2 * 512 + 33] ^= 1;
    bad[(disk as usize - 33) * 512 + 33] ^= 1;
    assert_eq!(parse(&bad), Err(PartError::Gpt(GptError::EntriesCrc)));
    let mut bad = img.clone();
    bad[512] = b'X';
    bad[last] = b'X';
    assert_eq!(parse(&bad), Err(PartError::Gpt(GptError::Signature)));
}

/// Rewrites both headers with `edit` applied before their CRCs.
fn with_header_edit(disk: u64, parts: &[GptPart], edit: impl Fn(&mut [u8; 512])) -> Vec<u8> {
    let mut img = gpt_image(disk, parts);
    for lba in [1, disk - 1] {
        let mut h: [u8; 512] = sector(&mut img, lba).try_into().unwrap();
        edit(&mut h);
        h[16..20].fill(0);
        let size = u32::from_le_bytes(h[12..16].try_into().unwrap()).min(512) as usize;
        let crc = crc32(&h[..size]);
        h[16..20].copy_from_slice(&crc.to_le_bytes());
        sector(&mut img, lba).copy_from_slice(&h);
    }
    img
}

#[test]
fn malformed_gpts_with_valid_crcs() {
    let disk = 8 * MIB;
    let outside = [GptPart {
        ty: LINUX,
        first: 10,
        last: 100,
        name: "x",
    }];
    assert_eq!(
        parse(&gpt_image(disk, &outside)),
        Err(PartError::Gpt(GptError::EntryOutOfRange(0)))
    );
    let backwards = [GptPart {
        ty: LINUX,
        first: 3000,
        last: 2048,
        name: "x",
    }];
    assert_eq!(
        parse(&gpt_image(disk, &backwards)),
        Err(PartError::Gpt(GptError::EntryOutOfRange(0)))
    );
    let parts = two_parts(disk);
    type Edit = fn(&mut [u8; 512]);
    let cases: [(Edit, GptError); 5] = [
        (
            |h| h[12..16].copy_from_slice(&1000u32.to_le_bytes()),
            GptError::HeaderSize,
        ),
        (
            |h| h[80..84].copy_from_slice(&u32::MAX.to_le_bytes()),
            GptError::EntryArray,
        ),
        (
            |h| h[84..88].copy_from_slice(&100u32.to_le_bytes()),
            GptError::EntryArray,
        ),
        (
            |h| h[48..56].copy_from_slice(&u64::MAX.to_le_bytes()),
            GptError::UsableRange,
        ),
        (
            |h| h[72..80].copy_from_slice(&(u64::MAX - 1).to_le_bytes()),
            GptError::EntryArray,
        ),
    ];
    for (edit, want) in cases {
        assert_eq!(
            parse(&with_header_edit(disk, &parts, edit)),
            Err(PartError::Gpt(want))
        );
    }
    // A header that says it lives elsewhere.
    let img = with_header_edit(disk, &parts, |h| {
        h[24..32].copy_from_slice(&7u64.to_le_bytes())
    });
    assert_eq!(parse(&img), Err(PartError::Gpt(GptError::MyLba)));
}

#[test]
fn random_tables_never_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let disk = 4 * MIB;
    let base = gpt_image(disk, &two_parts(disk));
    for i in 0..3000 {
        let mut img = if i % 2 == 0 {
            base.clone()
        } else {
            image(disk)
        };
        // Scribble over sector 0, the header and the first entries,
        // keeping the MBR signature so the parsers get that far.
        for _ in 0..(next() % 24 + 1) {
            let at = (next() % (3 * 512)) as usize;
            img[at] = next() as u8;
        }
        if i % 3 == 0 {
            put_entry(
                sector(&mut img, 0),
                (next() % 4) as usize,
                0,
                0x05,
                next() as u32 % 9000,
                next() as u32,
            );
        }
        img[510] = 0x55;
        img[511] = 0xAA;
        let _ = parse(&img);
    }
}

/// A real image from the host's sfdisk, when there is one.
#[test]
fn sfdisk_images_if_available() {
    let have = std::process::Command::new("sfdisk")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("sfdisk not found: skipping the real-image test");
        return;
    }
    for (label, script) in [
        ("gpt", "label: gpt\nsize=4MiB, name=boot\nsize=2MiB\n,\n"),
        (
            "dos",
            "label: dos\nsize=4MiB, type=83\ntype=5\nsize=2MiB\nsize=1MiB\n",
        ),
    ] {
        let path =
            std::env::temp_dir().join(format!("blk-part-test-{label}-{}.img", std::process::id()));
        std::fs::write(&path, vec![0u8; 16 << 20]).unwrap();
        let mut child = std::process::Command::new("sfdisk")
            .arg("--quiet")
            .arg(&path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
        let dump = std::process::Command::new("sfdisk")
            .arg("-d")
            .arg(&path)
            .output()
            .unwrap();
        let img = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        // "…img3 : start=       12288, size=       20447, type=…"
        let want: Vec<(u32, u64, u64)> = String::from_utf8(dump.stdout)
            .unwrap()
            .lines()
            .filter(|l| l.contains(": start="))
            .map(|l| {
                let (dev, rest) = l.split_once(" : ").unwrap();
                let num: u32 = dev
                    .trim()
                    .rsplit(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                let field = |k: &str| -> u64 {
                    let v = rest
                        .split(',')
                        .find_map(|f| f.trim().strip_prefix(k))
                        .unwrap();
                    v.trim().parse().unwrap()
                };
                (num, field("start="), field("size="))
            })
            .collect();
        let (kind, parts) = parse(&img).unwrap();
        assert_eq!(
            kind,
            if label == "gpt" {
                TableKind::Gpt
            } else {
                TableKind::Mbr
            }
        );
        let mut got = spans(&parts);
        if label == "dos" {
            // sfdisk shows the extended container at full size; Linux
            // (and we) expose 2 sectors of it.
            for (n, _, size) in got.iter_mut() {
                if *n == 2 {
                    *size = want.iter().find(|w| w.0 == 2).unwrap().2;
                }
            }
        }
        assert_eq!(got, want, "{label}");
    }
}
