//! Recorded configuration spaces of QEMU's devices and a fake
//! configuration-space access that behaves like the hardware: absent
//! functions read as all ones, BARs keep their type bits and only the bits
//! their size leaves writable, so "write all ones, read back" sizes them.
//!
//! The dumps are in `lspci -xxx` form (offset, then 16 bytes), for what
//! QEMU 8/9 presents after firmware assigned addresses: IDs, class codes,
//! subsystem IDs, BAR layouts and capabilities follow QEMU's device models
//! (hw/pci-host/q35.c, hw/isa/lpc_ich9.c, hw/ide/ich.c, hw/i2c/smbus_ich9.c,
//! hw/display/vga-pci.c, hw/virtio/virtio-pci.c, hw/misc/edu.c,
//! hw/pci-bridge/pci_bridge_dev.c, hw/net/e1000.c, hw/pci-host/i440fx.c,
//! hw/isa/piix.c, hw/acpi/piix4.c).
#![allow(dead_code)]

use std::collections::BTreeMap;

use devmgr::pci::{ConfigAccess, PciAddress};

/// A BAR's size and whether it is 64 bits (the type bits are in the dump).
#[derive(Clone, Copy)]
pub struct BarSize {
    pub slot: usize,
    pub size: u64,
}

pub struct Fixture {
    pub bdf: (u8, u8, u8),
    pub dump: &'static str,
    pub bars: &'static [BarSize],
}

const fn bar(slot: usize, size: u64) -> BarSize {
    BarSize { slot, size }
}

pub const Q35_MCH: Fixture = Fixture {
    bdf: (0, 0, 0),
    dump: "
00: 86 80 c0 29 06 00 00 00 00 00 00 06 00 00 00 00
20: 00 00 00 00 00 00 00 00 00 00 00 00 f4 1a 00 11",
    bars: &[],
};

pub const STD_VGA: Fixture = Fixture {
    bdf: (0, 1, 0),
    dump: "
00: 34 12 11 11 03 00 00 00 02 00 00 03 00 00 00 00
10: 08 00 00 fd 00 00 00 00 00 40 bd fe 00 00 00 00
20: 00 00 00 00 00 00 00 00 00 00 00 00 f4 1a 00 11
30: 00 00 bc fe 00 00 00 00 00 00 00 00 00 00 00 00",
    bars: &[bar(0, 16 << 20), bar(2, 4096)],
};

/// virtio-blk-pci, transitional: legacy I/O BAR 0, MSI-X table in BAR 1,
/// the modern structures (vendor capabilities) in 64-bit BAR 4.
pub const VIRTIO_BLK: Fixture = Fixture {
    bdf: (0, 2, 0),
    dump: "
00: f4 1a 01 10 07 00 10 00 00 00 00 01 00 00 00 00
10: 01 c0 00 00 00 50 bd fe 00 00 00 00 00 00 00 00
20: 0c 00 00 fe 00 00 00 00 00 00 00 00 f4 1a 02 00
30: 00 00 00 00 98 00 00 00 00 00 00 00 0a 01 00 00
40: 09 00 14 02 04 00 00 00 00 30 00 00 00 10 00 00
50: 09 40 10 01 04 00 00 00 00 00 00 00 00 10 00 00
60: 09 50 10 03 04 00 00 00 00 10 00 00 00 10 00 00
70: 09 60 14 04 04 00 00 00 00 20 00 00 00 10 00 00
80: 00 00 00 00 09 70 14 05 00 00 00 00 00 00 00 00
90: 00 00 00 00 00 00 00 00 11 84 01 00 01 00 00 00
a0: 01 08 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    bars: &[bar(0, 128), bar(1, 4096), bar(4, 16 << 10)],
};

/// virtio-blk-pci with disable-legacy=on: modern ID 0x1042, revision 1,
/// no I/O BAR.
pub const VIRTIO_BLK_MODERN: Fixture = Fixture {
    bdf: (0, 3, 0),
    dump: "
00: f4 1a 42 10 06 00 10 00 01 00 00 01 00 00 00 00
10: 00 00 00 00 00 60 bd fe 00 00 00 00 00 00 00 00
20: 0c 40 00 fe 00 00 00 00 00 00 00 00 f4 1a 00 11
30: 00 00 00 00 98 00 00 00 00 00 00 00 0b 01 00 00
40: 09 00 14 02 04 00 00 00 00 30 00 00 00 10 00 00
50: 09 40 10 01 04 00 00 00 00 00 00 00 00 10 00 00
60: 09 50 10 03 04 00 00 00 00 10 00 00 00 10 00 00
70: 09 60 14 04 04 00 00 00 00 20 00 00 00 10 00 00
80: 00 00 00 00 09 70 14 05 00 00 00 00 00 00 00 00
90: 00 00 00 00 00 00 00 00 11 84 01 00 01 00 00 00
a0: 01 08 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    bars: &[bar(1, 4096), bar(4, 16 << 10)],
};

/// QEMU's edu device: BAR 0 1 MiB of MMIO, one 64-bit MSI vector.
pub const EDU: Fixture = Fixture {
    bdf: (0, 4, 0),
    dump: "
00: 34 12 e8 11 06 00 10 00 10 00 ff 00 00 00 00 00
10: 00 00 a0 fe 00 00 00 00 00 00 00 00 00 00 00 00
20: 00 00 00 00 00 00 00 00 00 00 00 00 f4 1a 00 11
30: 00 00 00 00 40 00 00 00 00 00 00 00 0b 01 00 00
40: 05 00 80 00 00 00 00 00 00 00 00 00 00 00 00 00",
    bars: &[bar(0, 1 << 20)],
};

/// pci-bridge (1b36:0001): a type 1 header leading to bus 1, with its
/// 64-bit SHPC BAR and capabilities (MSI, slot ID, SHPC).
pub const PCI_BRIDGE: Fixture = Fixture {
    bdf: (0, 5, 0),
    dump: "
00: 36 1b 01 00 07 00 10 00 00 00 04 06 00 00 01 00
10: 04 60 bd fe 00 00 00 00 00 01 01 00 d0 d0 00 00
20: 80 fe 80 fe 01 fe f1 fd 00 00 00 00 00 00 00 00
30: 00 00 00 00 4c 00 00 00 00 00 00 00 0b 01 03 00
40: 05 00 80 00 00 00 00 00 04 40 00 00 0c 48 00 00",
    bars: &[bar(0, 256)],
};

/// e1000 behind the bridge: 128 KiB of registers, 64 ports.
pub const E1000_BEHIND_BRIDGE: Fixture = Fixture {
    bdf: (1, 0, 0),
    dump: "
00: 86 80 0e 10 07 00 00 00 03 00 00 02 00 00 00 00
10: 00 00 80 fe 01 d0 00 00 00 00 00 00 00 00 00 00
20: 00 00 00 00 00 00 00 00 00 00 00 00 f4 1a 00 11
30: 00 00 00 00 00 00 00 00 00 00 00 00 0b 01 00 00",
    bars: &[bar(0, 128 << 10), bar(1, 64)],
};

/// ICH9 LPC at 00:1f.0: function 0 of a multifunction device.
pub const ICH9_LPC: Fixture = Fixture {
    bdf: (0, 0x1f, 0),
    dump: "
00: 86 80 18 29 07 00 00 02 02 00 01 06 00 00 80 00
20: 00 00 00 00 00 00 00 00 00 00 00 00 f4 1a 00 11",
    bars: &[],
};

/// ICH9 AHCI at 00:1f.2: I/O BAR 4 (index/data pair), ABAR in BAR 5,
/// MSI at 0x80, SATA capability at 0xa8.
pub const ICH9_AHCI: Fixture = Fixture {
    bdf: (0, 0x1f, 2),
    dump: "
00: 86 80 22 29 07 04 10 00 02 01 06 01 00 00 00 00
20: 81 c0 00 00 00 70 bd fe 00 00 00 00 f4 1a 00 11
30: 00 00 00 00 80 00 00 00 00 00 00 00 0a 01 00 00
80: 05 a8 80 00 00 00 00 00 00 00 00 00 00 00 00 00
a0: 00 00 00 00 00 00 00 00 12 00 10 00 48 00 00 00",
    bars: &[bar(4, 32), bar(5, 4096)],
};

/// ICH9 SMBus at 00:1f.3: I/O BAR 4.
pub const ICH9_SMBUS: Fixture = Fixture {
    bdf: (0, 0x1f, 3),
    dump: "
00: 86 80 30 29 03 00 80 02 02 00 05 0c 00 00 00 00
20: 01 07 00 00 00 00 00 00 00 00 00 00 f4 1a 00 11
30: 00 00 00 00 00 00 00 00 00 00 00 00 0a 01 00 00",
    bars: &[bar(4, 64)],
};

/// The `pc` machine's i440FX host bridge.
pub const I440FX: Fixture = Fixture {
    bdf: (0, 0, 0),
    dump: "
00: 86 80 37 12 06 00 00 00 02 00 00 06 00 00 00 00
20: 00 00 00 00 00 00 00 00 00 00 00 00 f4 1a 00 11",
    bars: &[],
};

/// PIIX3's ISA bridge, function 0 of a multifunction device.
pub const PIIX3_ISA: Fixture = Fixture {
    bdf: (0, 1, 0),
    dump: "
00: 86 80 00 70 07 00 00 02 00 00 01 06 00 00 80 00
20: 00 00 00 00 00 00 00 00 00 00 00 00 f4 1a 00 11",
    bars: &[],
};

/// PIIX3 IDE in legacy mode: only BAR 4 (bus-master DMA) is used.
pub const PIIX3_IDE: Fixture = Fixture {
    bdf: (0, 1, 1),
    dump: "
00: 86 80 10 70 07 00 80 02 00 80 01 01 00 00 00 00
20: 41 c0 00 00 00 00 00 00 00 00 00 00 f4 1a 00 11",
    bars: &[bar(4, 16)],
};

/// PIIX4's ACPI function (power management, SMBus). Its interrupt line
/// is what firmware routed INTA# to: 10 under OVMF, which the tests boot
/// (checked against a real boot; SeaBIOS may say 9).
pub const PIIX4_ACPI: Fixture = Fixture {
    bdf: (0, 1, 3),
    dump: "
00: 86 80 13 71 03 01 80 02 03 00 80 06 00 00 00 00
20: 00 00 00 00 00 00 00 00 00 00 00 00 f4 1a 00 11
30: 00 00 00 00 00 00 00 00 00 00 00 00 0a 01 00 00",
    bars: &[],
};

/// What `-machine q35 -device virtio-blk-pci … -device edu -device
/// pci-bridge …` shows.
pub const Q35: &[&Fixture] = &[
    &Q35_MCH,
    &STD_VGA,
    &VIRTIO_BLK,
    &VIRTIO_BLK_MODERN,
    &EDU,
    &PCI_BRIDGE,
    &E1000_BEHIND_BRIDGE,
    &ICH9_LPC,
    &ICH9_AHCI,
    &ICH9_SMBUS,
];

/// What the default `pc` machine shows.
pub const PC: &[&Fixture] = &[&I440FX, &PIIX3_ISA, &PIIX3_IDE, &PIIX4_ACPI, &PC_VGA];

/// On `pc` the VGA sits in slot 2.
pub const PC_VGA: Fixture = Fixture {
    bdf: (0, 2, 0),
    ..STD_VGA
};

/// Parses an `lspci -xxx` dump into 256 bytes (missing lines are zero).
pub fn parse_dump(dump: &str) -> [u8; 256] {
    let mut cfg = [0u8; 256];
    for line in dump.lines().filter(|l| !l.trim().is_empty()) {
        let (off, bytes) = line.split_once(':').expect("offset: bytes");
        let base = usize::from_str_radix(off.trim(), 16).expect("hex offset");
        for (i, b) in bytes.split_whitespace().enumerate() {
            cfg[base + i] = u8::from_str_radix(b, 16).expect("hex byte");
        }
    }
    cfg
}

struct FakeFunction {
    cfg: [u8; 256],
    /// Writable bits of each BAR dword (0 = not implemented).
    bar_masks: [u32; 6],
}

/// A fake configuration space over fixtures.
#[derive(Default)]
pub struct FakeConfig {
    functions: BTreeMap<(u8, u8, u8), FakeFunction>,
    /// BAR writes of all ones made while I/O or memory decode was on.
    pub sized_while_decoding: u32,
    pub reads: u64,
}

impl FakeConfig {
    pub fn new(fixtures: &[&Fixture]) -> Self {
        let mut fake = FakeConfig::default();
        for f in fixtures {
            fake.insert(f);
        }
        fake
    }

    pub fn insert(&mut self, f: &Fixture) {
        let cfg = parse_dump(f.dump);
        let mut bar_masks = [0u32; 6];
        for b in f.bars {
            let low = u32::from_le_bytes(cfg[0x10 + 4 * b.slot..][..4].try_into().unwrap());
            let mask = !(b.size - 1);
            let type_bits = if low & 1 == 1 { 0x3 } else { 0xF };
            bar_masks[b.slot] = (mask as u32) & !type_bits;
            if low & 1 == 0 && (low >> 1) & 3 == 2 {
                bar_masks[b.slot + 1] = (mask >> 32) as u32;
            }
        }
        self.functions
            .insert(f.bdf, FakeFunction { cfg, bar_masks });
    }

    /// Overwrites one byte of a function's space (to break it for tests).
    pub fn poke(&mut self, bdf: (u8, u8, u8), offset: usize, value: u8) {
        self.functions.get_mut(&bdf).unwrap().cfg[offset] = value;
    }

    pub fn dword(&self, bdf: (u8, u8, u8), offset: usize) -> u32 {
        let cfg = &self.functions[&bdf].cfg;
        u32::from_le_bytes(cfg[offset..offset + 4].try_into().unwrap())
    }
}

/// The writable bits of the dword at `off` if it is part of the MSI
/// capability (as the hardware has them: Message Control's MSI Enable and
/// Multiple Message Enable; the address, data and mask registers whole).
fn msi_writable(cfg: &[u8; 256], off: usize) -> Option<u32> {
    let mut ptr = usize::from(cfg[0x34] & 0xfc);
    let mut hops = 0;
    while ptr >= 0x40 && hops < 48 {
        if cfg[ptr] == 0x05 {
            let control = u16::from_le_bytes([cfg[ptr + 2], cfg[ptr + 3]]);
            let is_64 = control & (1 << 7) != 0;
            let maskable = control & (1 << 8) != 0;
            let len = match (is_64, maskable) {
                (false, false) => 10,
                (true, false) => 14,
                (false, true) => 20,
                (true, true) => 24,
            };
            return match off.checked_sub(ptr) {
                Some(0) => Some(0x0071_0000),
                Some(d) if d < len => Some(0xFFFF_FFFF),
                _ => None,
            };
        }
        ptr = usize::from(cfg[ptr + 1] & 0xfc);
        hops += 1;
    }
    None
}

fn key(a: PciAddress) -> (u8, u8, u8) {
    (a.bus(), a.device(), a.function())
}

impl ConfigAccess for FakeConfig {
    fn read_dword(&mut self, addr: PciAddress, offset: u16) -> u32 {
        self.reads += 1;
        let off = usize::from(offset);
        match self.functions.get(&key(addr)) {
            Some(f) if off + 4 <= 256 => {
                u32::from_le_bytes(f.cfg[off..off + 4].try_into().unwrap())
            }
            _ => 0xFFFF_FFFF,
        }
    }

    fn write_dword(&mut self, addr: PciAddress, offset: u16, value: u32) {
        let off = usize::from(offset);
        let Some(f) = self.functions.get_mut(&key(addr)) else {
            return;
        };
        let header_type = f.cfg[0x0e] & 0x7f;
        let bar_count = if header_type == 1 { 2 } else { 6 };
        let old = u32::from_le_bytes(f.cfg[off..off + 4].try_into().unwrap());
        let new = if (0x10..0x10 + 4 * bar_count).contains(&off) {
            let mask = f.bar_masks[(off - 0x10) / 4];
            if value == 0xFFFF_FFFF && f.cfg[4] & 3 != 0 {
                self.sized_while_decoding += 1;
            }
            (value & mask) | (old & !mask)
        } else if off == 0x04 {
            // Command writable, status bits RW1C (nothing set here).
            (old & 0xFFFF_0000) | (value & 0xFFFF)
        } else if let Some(mask) = msi_writable(&f.cfg, off) {
            (value & mask) | (old & !mask)
        } else {
            // Everything else of these devices is read-only to the test.
            old
        };
        f.cfg[off..off + 4].copy_from_slice(&new.to_le_bytes());
    }
}
