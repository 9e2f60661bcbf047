//! PCI against recorded QEMU configuration spaces: header decoding, BAR
//! sizing, capabilities, enumeration through a bridge, ECAM, names.

mod common;

use common::{FakeConfig, Fixture, PC, Q35};
use devmgr::pci::bar::{size_bars, Bar};
use devmgr::pci::caps::{capabilities, CAP_ID_MSI, CAP_ID_MSIX, CAP_ID_SATA, CAP_ID_VNDR};
use devmgr::pci::enumerate::{enumerate, McfgEntry, PciFunction};
use devmgr::pci::header::{HeaderKind, PciHeader};
use devmgr::pci::names::lspci_line;
use devmgr::pci::{read_u8, PciAddress, PciError};

fn at(bus: u8, dev: u8, func: u8) -> PciAddress {
    PciAddress::new(0, bus, dev, func).unwrap()
}

fn probe(fixtures: &[&Fixture], bus: u8, dev: u8, func: u8) -> PciFunction {
    let mut fake = FakeConfig::new(fixtures);
    PciFunction::probe(&mut fake, at(bus, dev, func)).unwrap()
}

#[test]
fn decodes_q35_headers() {
    let mut fake = FakeConfig::new(Q35);
    let mch = PciHeader::read(&mut fake, at(0, 0, 0)).unwrap();
    assert_eq!(
        (mch.vendor_id, mch.device_id, mch.class_code()),
        (0x8086, 0x29c0, 0x060000)
    );
    assert!(!mch.multifunction && mch.capabilities_ptr.is_none());
    let lpc = PciHeader::read(&mut fake, at(0, 0x1f, 0)).unwrap();
    assert!(lpc.multifunction);
    assert_eq!((lpc.class, lpc.subclass, lpc.revision), (0x06, 0x01, 2));
    let ahci = PciHeader::read(&mut fake, at(0, 0x1f, 2)).unwrap();
    assert_eq!(
        (ahci.class, ahci.subclass, ahci.prog_if),
        (0x01, 0x06, 0x01)
    );
    assert_eq!((ahci.interrupt_pin, ahci.interrupt_line), (1, 10));
    let blk = PciHeader::read(&mut fake, at(0, 2, 0)).unwrap();
    assert_eq!(
        blk.kind,
        HeaderKind::Endpoint {
            subsystem_vendor: 0x1af4,
            subsystem_id: 2
        }
    );
    assert_eq!(blk.capabilities_ptr, Some(0x98));
    let bridge = PciHeader::read(&mut fake, at(0, 5, 0)).unwrap();
    assert_eq!(
        bridge.kind,
        HeaderKind::Bridge {
            primary_bus: 0,
            secondary_bus: 1,
            subordinate_bus: 1
        }
    );
    assert_eq!(
        PciHeader::read(&mut fake, at(0, 9, 0)).err(),
        Some(PciError::NoFunction)
    );
}

#[test]
fn sizes_virtio_bars_and_restores_them() {
    let mut fake = FakeConfig::new(Q35);
    let a = at(0, 2, 0);
    let before: Vec<u32> = (0..0x40)
        .step_by(4)
        .map(|o| fake.dword((0, 2, 0), o))
        .collect();
    let header = PciHeader::read(&mut fake, a).unwrap();
    let bars = size_bars(&mut fake, &header).unwrap();
    assert_eq!(
        bars,
        vec![
            Some(Bar::Io {
                port: 0xc000,
                size: 128
            }),
            Some(Bar::Memory {
                address: 0xfebd_5000,
                size: 4096,
                prefetchable: false,
                is_64bit: false
            }),
            None,
            None,
            Some(Bar::Memory {
                address: 0xfe00_0000,
                size: 16 << 10,
                prefetchable: true,
                is_64bit: true
            }),
            None,
        ]
    );
    let after: Vec<u32> = (0..0x40)
        .step_by(4)
        .map(|o| fake.dword((0, 2, 0), o))
        .collect();
    assert_eq!(before, after, "BARs and command restored");
    assert_eq!(fake.sized_while_decoding, 0, "decode off while sizing");
}

#[test]
fn sizes_other_layouts() {
    let vga = probe(Q35, 0, 1, 0);
    assert_eq!(
        vga.bars[0],
        Some(Bar::Memory {
            address: 0xfd00_0000,
            size: 16 << 20,
            prefetchable: true,
            is_64bit: false
        })
    );
    assert_eq!(vga.bars[2].map(|b| b.resource().end), Some(0xfebd_4fff));
    let edu = probe(Q35, 0, 4, 0);
    assert_eq!(
        edu.bars[0],
        Some(Bar::Memory {
            address: 0xfea0_0000,
            size: 1 << 20,
            prefetchable: false,
            is_64bit: false
        })
    );
    assert!(edu.bars[1..].iter().all(Option::is_none));
    let ahci = probe(Q35, 0, 0x1f, 2);
    assert_eq!(
        ahci.bars[4],
        Some(Bar::Io {
            port: 0xc080,
            size: 32
        })
    );
    assert_eq!(ahci.bars[5].map(|b| b.resource().start), Some(0xfebd_7000));
    let bridge = probe(Q35, 0, 5, 0);
    assert_eq!(bridge.bars.len(), 2, "type 1 has two BAR slots");
    assert!(matches!(
        bridge.bars[0],
        Some(Bar::Memory {
            size: 256,
            is_64bit: true,
            ..
        })
    ));
    let ide = probe(PC, 0, 1, 1);
    assert_eq!(
        ide.bars[4],
        Some(Bar::Io {
            port: 0xc040,
            size: 16
        })
    );
}

#[test]
fn finds_msi_and_msix() {
    let blk = probe(Q35, 0, 2, 0);
    let ids: Vec<u8> = blk.capabilities.iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        [
            CAP_ID_MSIX,
            CAP_ID_VNDR,
            CAP_ID_VNDR,
            CAP_ID_VNDR,
            CAP_ID_VNDR,
            CAP_ID_VNDR
        ]
    );
    let msix = blk.msix.unwrap();
    assert_eq!(
        (msix.table_size, msix.table_bar, msix.table_offset),
        (2, 1, 0)
    );
    assert_eq!(
        (msix.pba_bar, msix.pba_offset, msix.enabled),
        (1, 0x800, false)
    );
    assert!(blk.msi.is_none());
    // The virtio structures' types (cfg_type byte): notify, common, ISR,
    // device, PCI config access.
    let mut fake = FakeConfig::new(Q35);
    let types: Vec<u8> = blk.capabilities[1..]
        .iter()
        .map(|c| read_u8(&mut fake, at(0, 2, 0), u16::from(c.offset) + 3))
        .collect();
    assert_eq!(types, [5, 4, 3, 1, 2]);
    let edu = probe(Q35, 0, 4, 0);
    let msi = edu.msi.unwrap();
    assert_eq!((msi.offset, msi.is_64bit, msi.max_vectors), (0x40, true, 1));
    let ahci = probe(Q35, 0, 0x1f, 2);
    let ids: Vec<u8> = ahci.capabilities.iter().map(|c| c.id).collect();
    assert_eq!(ids, [CAP_ID_MSI, CAP_ID_SATA]);
}

#[test]
fn capability_walk_survives_loops() {
    let mut fake = FakeConfig::new(Q35);
    // The last vendor capability (0x40) points back at 0x98: a cycle.
    fake.poke((0, 2, 0), 0x41, 0x98);
    let caps = capabilities(&mut fake, at(0, 2, 0), 0x98);
    assert_eq!(caps.len(), 6);
    // A capability pointing at itself.
    fake.poke((0, 2, 0), 0x99, 0x98);
    assert_eq!(capabilities(&mut fake, at(0, 2, 0), 0x98).len(), 1);
    // A pointer into the header ends the walk.
    assert!(capabilities(&mut fake, at(0, 2, 0), 0x10).is_empty());
}

#[test]
fn enumerates_through_the_bridge() {
    let mut fake = FakeConfig::new(Q35);
    // A function 1 on a single-function device must not be seen.
    fake.insert(&Fixture {
        bdf: (0, 4, 1),
        ..common::EDU
    });
    let found: Vec<String> = enumerate(&mut fake, 0)
        .iter()
        .map(|f| format!("{}", f.header.address))
        .collect();
    assert_eq!(
        found,
        [
            "0000:00:00.0",
            "0000:00:01.0",
            "0000:00:02.0",
            "0000:00:03.0",
            "0000:00:04.0",
            "0000:00:05.0",
            "0000:00:1f.0",
            "0000:00:1f.2",
            "0000:00:1f.3",
            "0000:01:00.0",
        ]
    );
}

#[test]
fn enumeration_ignores_bad_bridges_and_headers() {
    let mut fake = FakeConfig::new(Q35);
    // The bridge claims bus 0 behind it: no loop, bus 1 unreachable.
    fake.poke((0, 5, 0), 0x19, 0);
    // The modern virtio-blk's header type is garbage: skipped.
    fake.poke((0, 3, 0), 0x0e, 0x05);
    let found = enumerate(&mut fake, 0);
    assert_eq!(found.len(), 8);
    assert!(found.iter().all(|f| f.header.address.bus() == 0));
    assert_eq!(
        PciHeader::read(&mut fake, at(0, 3, 0)).err(),
        Some(PciError::UnknownHeaderType(5))
    );
    // A 64-bit memory BAR in the last slot has no upper half.
    fake.poke((0, 4, 0), 0x24, 0x04);
    assert_eq!(
        PciFunction::probe(&mut fake, at(0, 4, 0)).err(),
        Some(PciError::BarOverflow)
    );
}

#[test]
fn lspci_lines() {
    let mut fake = FakeConfig::new(Q35);
    let lines: Vec<String> = enumerate(&mut fake, 0)
        .iter()
        .map(|f| lspci_line(&f.header))
        .collect();
    let want = [
        "00:00.0 Host bridge [0600]: Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller [8086:29c0]",
        "00:01.0 VGA compatible controller [0300]: QEMU Standard VGA [1234:1111] (rev 02)",
        "00:02.0 SCSI storage controller [0100]: Red Hat, Inc. Virtio block device [1af4:1001]",
        "00:03.0 SCSI storage controller [0100]: Red Hat, Inc. Virtio 1.0 block device [1af4:1042] (rev 01)",
        "00:04.0 Unclassified device [00ff]: QEMU Educational device (edu) [1234:11e8] (rev 10)",
        "00:05.0 PCI bridge [0604]: Red Hat, Inc. QEMU PCI-PCI bridge [1b36:0001]",
        "00:1f.0 ISA bridge [0601]: Intel Corporation 82801IB (ICH9) LPC Interface Controller [8086:2918] (rev 02)",
        "00:1f.2 SATA controller [0106]: Intel Corporation 82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode] [8086:2922] (rev 02)",
        "00:1f.3 SMBus [0c05]: Intel Corporation 82801I (ICH9 Family) SMBus Controller [8086:2930] (rev 02)",
        "01:00.0 Ethernet controller [0200]: Intel Corporation 82540EM Gigabit Ethernet Controller [8086:100e] (rev 03)",
    ];
    assert_eq!(lines, want);
    let mut pc = FakeConfig::new(PC);
    let lines: Vec<String> = enumerate(&mut pc, 0)
        .iter()
        .map(|f| lspci_line(&f.header))
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0], "00:00.0 Host bridge [0600]: Intel Corporation 440FX - 82441FX PMC [Natoma] [8086:1237] (rev 02)");
    assert_eq!(lines[2], "00:01.1 IDE interface [0101]: Intel Corporation 82371SB PIIX3 IDE [Natoma/Triton II] [8086:7010]");
    assert_eq!(
        lines[3],
        "00:01.3 Bridge [0680]: Intel Corporation 82371AB/EB/MB PIIX4 ACPI [8086:7113] (rev 03)"
    );
}

#[test]
fn ecam_addresses_from_mcfg() {
    // QEMU q35's MCFG entry: base 0xb0000000, segment 0, buses 0-255.
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&0xb000_0000u64.to_le_bytes());
    raw[11] = 0xff;
    let mcfg = McfgEntry::parse(&raw).unwrap();
    assert_eq!(mcfg.window_size(), 256 << 20);
    assert_eq!(mcfg.address(at(0, 0x1f, 2), 0x10), Ok(0xb00f_a010));
    assert_eq!(mcfg.address(at(1, 0, 0), 0x100), Ok(0xb010_0100));
    assert_eq!(mcfg.address(at(0, 0, 0), 4096), Err(PciError::BadOffset));
    let other = PciAddress::new(1, 0, 0, 0).unwrap();
    assert_eq!(mcfg.address(other, 0), Err(PciError::NotInSegment));
    assert_eq!(McfgEntry::parse(&raw[..12]), Err(PciError::BadMcfg));
    raw[10] = 0x10;
    raw[11] = 0x0f;
    assert_eq!(McfgEntry::parse(&raw), Err(PciError::BadMcfg));
}

/// The MSI capability programmed for one vector, in both forms: the
/// message address and data where the form puts them, MSI on with one
/// vector, INTx disabled in the command register; undone by `disable`.
#[test]
fn programs_msi_in_the_64_and_32_bit_forms() {
    use devmgr::pci::caps::Msi;
    use devmgr::pci::msi::{self, MsiError, MsiLayout};
    let edu = at(0, 4, 0);
    // The recorded edu function: MSI at 0x40, 64-bit, one vector, off.
    let mut fake = FakeConfig::new(Q35);
    let cap = Msi::read(&mut fake, edu, 0x40);
    let layout = MsiLayout::of(&cap);
    assert_eq!(
        (
            layout.address_low,
            layout.address_high,
            layout.data,
            layout.len
        ),
        (0x44, Some(0x48), 0x4c, 14)
    );
    assert!((0x40..0x50).step_by(4).all(|d| layout.covers_dword(d)));
    assert!(!layout.covers_dword(0x3c) && !layout.covers_dword(0x50));
    let command_before = fake.dword((0, 4, 0), 0x04) & 0xffff;
    msi::enable(&mut fake, edu, &cap, 0xfee0_3000, 0xc1).unwrap();
    assert_eq!(fake.dword((0, 4, 0), 0x44), 0xfee0_3000);
    assert_eq!(fake.dword((0, 4, 0), 0x48), 0, "upper address");
    assert_eq!(fake.dword((0, 4, 0), 0x4c), 0xc1, "data");
    let control = fake.dword((0, 4, 0), 0x40) >> 16;
    assert_eq!(control & 1, 1, "MSI enabled");
    assert_eq!(control & 0x70, 0, "one vector (Multiple Message Enable 0)");
    assert_eq!(control & 0x80, 0x80, "64-bit stays");
    assert_eq!(
        fake.dword((0, 4, 0), 0x04) & 0xffff,
        command_before | 1 << 10,
        "INTx disabled, the rest of the command register kept"
    );
    assert!(msi::enabled(&mut fake, edu, &cap));
    msi::disable(&mut fake, edu, &cap);
    assert!(!msi::enabled(&mut fake, edu, &cap));
    assert_eq!(fake.dword((0, 4, 0), 0x04) & 0xffff, command_before);

    // The same function with a 32-bit capability: the data follows the
    // address; a 64-bit address does not fit and nothing is written.
    let mut fake = FakeConfig::new(Q35);
    fake.poke((0, 4, 0), 0x42, 0x00);
    let cap = Msi::read(&mut fake, edu, 0x40);
    assert!(!cap.is_64bit);
    let layout = MsiLayout::of(&cap);
    assert_eq!(
        (layout.address_high, layout.data, layout.len),
        (None, 0x48, 10)
    );
    assert!(layout.covers_dword(0x48) && !layout.covers_dword(0x4c));
    assert_eq!(
        msi::enable(&mut fake, edu, &cap, 0x1_fee0_0000, 0xc2),
        Err(MsiError::BadAddress)
    );
    assert_eq!(
        msi::enable(&mut fake, edu, &cap, 0xfee0_0000, 0x1_0000),
        Err(MsiError::BadData)
    );
    assert!(!msi::enabled(&mut fake, edu, &cap) && fake.dword((0, 4, 0), 0x44) == 0);
    msi::enable(&mut fake, edu, &cap, 0xfee0_0000, 0xc2).unwrap();
    assert_eq!(fake.dword((0, 4, 0), 0x44), 0xfee0_0000);
    assert_eq!(fake.dword((0, 4, 0), 0x48), 0xc2, "data right after");
    assert_eq!(fake.dword((0, 4, 0), 0x04) & (1 << 10), 1 << 10);

    // With per-vector masking (64-bit): vector 0 unmasked, the mask
    // register after the data.
    let mut fake = FakeConfig::new(Q35);
    fake.poke((0, 4, 0), 0x43, 0x01);
    fake.poke((0, 4, 0), 0x50, 0xff);
    let cap = Msi::read(&mut fake, edu, 0x40);
    let layout = MsiLayout::of(&cap);
    assert_eq!((layout.mask, layout.len), (Some(0x50), 24));
    msi::enable(&mut fake, edu, &cap, 0xfee0_0000, 0xc3).unwrap();
    assert_eq!(fake.dword((0, 4, 0), 0x50), 0xfe, "vector 0 unmasked");
}
