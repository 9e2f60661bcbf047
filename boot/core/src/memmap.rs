//! Turning the UEFI memory map into the Limine memory map, and deciding what
//! the higher-half direct map (HHDM) covers.
//!
//! The conversion runs twice: once before `ExitBootServices` (to plan the
//! HHDM) and once after it, when no allocation is possible any more. So it
//! writes into a caller-provided slice and never allocates.
//!
//! Guarantees of the result, as the protocol states them: entries are sorted
//! by base, do not overlap, usable and bootloader-reclaimable entries are
//! 4 KiB aligned in base and length, adjacent entries of the same type are
//! merged, and the first page of physical memory is never usable.

use crate::protocol::{MemmapEntry, MemmapType};

pub const PAGE_SIZE: u64 = 4096;

/// The UEFI memory type the loader uses for the kernel's segments, its file
/// and the modules, so they come back as "executable and modules". UEFI
/// reserves 0x80000000 and above for the operating system's loader.
pub const EFI_KERNEL_MEMORY_TYPE: u32 = 0x8000_0000;

/// One descriptor of the UEFI memory map, reduced to what we use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EfiRegion {
    pub efi_type: u32,
    pub base: u64,
    pub pages: u64,
}

/// What a UEFI memory type becomes once boot services have exited.
pub fn limine_type(efi_type: u32) -> MemmapType {
    match efi_type {
        // Loader code and data: our own image, page tables, responses, stack.
        1 | 2 => MemmapType::BootloaderReclaimable,
        // Boot-services code and data, and conventional memory, are free
        // after ExitBootServices.
        3 | 4 | 7 => MemmapType::Usable,
        8 => MemmapType::BadMemory,
        9 => MemmapType::AcpiReclaimable,
        10 => MemmapType::AcpiNvs,
        EFI_KERNEL_MEMORY_TYPE => MemmapType::ExecutableAndModules,
        // Reserved, runtime services, MMIO, PAL code, persistent and
        // unaccepted memory, and unknown types: the kernel must leave them.
        _ => MemmapType::Reserved,
    }
}

/// The output slice was too small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapFull;

struct Out<'a> {
    entries: &'a mut [MemmapEntry],
    len: usize,
}

impl Out<'_> {
    fn push(&mut self, entry: MemmapEntry) -> Result<(), MapFull> {
        if entry.length == 0 {
            return Ok(());
        }
        let slot = self.entries.get_mut(self.len).ok_or(MapFull)?;
        *slot = entry;
        self.len += 1;
        Ok(())
    }
}

/// Converts `efi` into Limine entries in `out` and returns how many there are.
///
/// `framebuffer` (base, length) is entered as a framebuffer entry over
/// whatever the firmware said about that range (firmware usually does not
/// list it at all). Needs at most `efi.len() + 4` slots.
pub fn convert(
    efi: impl Iterator<Item = EfiRegion>,
    framebuffer: Option<(u64, u64)>,
    out: &mut [MemmapEntry],
) -> Result<usize, MapFull> {
    let mut out = Out {
        entries: out,
        len: 0,
    };
    let fb = framebuffer.map(|(base, len)| {
        let start = base & !(PAGE_SIZE - 1);
        let end = (base + len).div_ceil(PAGE_SIZE) * PAGE_SIZE;
        (start, end)
    });

    for region in efi {
        let kind = limine_type(region.efi_type);
        let start = region.base;
        let end = region
            .base
            .saturating_add(region.pages.saturating_mul(PAGE_SIZE));
        // Cut the framebuffer out of the region; it is entered on its own.
        let pieces = match fb {
            Some((fb_start, fb_end)) if start < fb_end && fb_start < end => {
                [(start, fb_start.max(start)), (fb_end.max(start), end)]
            }
            _ => [(start, end), (end, end)],
        };
        for (piece_start, piece_end) in pieces {
            if piece_end > piece_start {
                out.push(MemmapEntry {
                    base: piece_start,
                    length: piece_end - piece_start,
                    kind,
                })?;
            }
        }
    }
    if let Some((start, end)) = fb {
        out.push(MemmapEntry {
            base: start,
            length: end - start,
            kind: MemmapType::Framebuffer,
        })?;
    }

    // Page zero is never usable: real-mode leftovers live there, and a null
    // pointer must never be a valid physical page.
    let mut page_zero = None;
    for entry in out.entries[..out.len].iter_mut() {
        if entry.base == 0 && entry.kind == MemmapType::Usable {
            if entry.length > PAGE_SIZE {
                page_zero = Some(MemmapEntry {
                    base: PAGE_SIZE,
                    length: entry.length - PAGE_SIZE,
                    kind: MemmapType::Usable,
                });
            }
            entry.length = PAGE_SIZE;
            entry.kind = MemmapType::Reserved;
        }
    }
    if let Some(rest) = page_zero {
        out.push(rest)?;
    }

    let len = out.len;
    let entries = &mut out.entries[..len];
    entries.sort_unstable_by_key(|entry| (entry.base, entry.kind as u64));
    Ok(merge(entries))
}

/// Merges touching entries of the same type, resolves overlaps in favour of
/// the more restrictive type, and returns the new length.
fn merge(entries: &mut [MemmapEntry]) -> usize {
    let mut len = 0;
    for i in 0..entries.len() {
        let mut entry = entries[i];
        if len > 0 {
            let last = &mut entries[len - 1];
            if entry.base < last.end() {
                // Firmware maps should not overlap; if they do, the part
                // already covered keeps the type that is not usable.
                if entry.kind == last.kind || last.kind != MemmapType::Usable {
                    if entry.end() > last.end() {
                        entry.length = entry.end() - last.end();
                        entry.base = last.end();
                    } else {
                        continue;
                    }
                } else {
                    last.length = entry.base - last.base;
                    if last.length == 0 {
                        len -= 1;
                    }
                }
            }
        }
        if len > 0 {
            let last = &mut entries[len - 1];
            if last.kind == entry.kind && last.end() == entry.base {
                last.length += entry.length;
                continue;
            }
        }
        entries[len] = entry;
        len += 1;
    }
    len
}

/// Ranges (start, end) the HHDM must cover: every entry of a type base
/// revision 3 maps, widened to `granule` (a power of two, the page size the
/// loader maps the HHDM with) and merged. Returns how many ranges it wrote.
pub fn hhdm_ranges(
    entries: &[MemmapEntry],
    granule: u64,
    out: &mut [(u64, u64)],
) -> Result<usize, MapFull> {
    let mut len = 0;
    for entry in entries.iter().filter(|entry| entry.kind.in_hhdm()) {
        let start = entry.base & !(granule - 1);
        let end = entry.end().div_ceil(granule) * granule;
        if len > 0 && start <= out[len - 1].1 {
            out[len - 1].1 = out[len - 1].1.max(end);
            continue;
        }
        *out.get_mut(len).ok_or(MapFull)? = (start, end);
        len += 1;
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use MemmapType::*;

    fn region(efi_type: u32, base: u64, pages: u64) -> EfiRegion {
        EfiRegion {
            efi_type,
            base,
            pages,
        }
    }

    fn entry(base: u64, length: u64, kind: MemmapType) -> MemmapEntry {
        MemmapEntry { base, length, kind }
    }

    fn run(efi: &[EfiRegion], fb: Option<(u64, u64)>) -> Vec<MemmapEntry> {
        let mut out = vec![entry(0, 0, Reserved); efi.len() + 4];
        let len = convert(efi.iter().copied(), fb, &mut out).unwrap();
        out.truncate(len);
        out
    }

    #[test]
    fn converts_types_sorts_and_merges() {
        let efi = [
            region(7, 0x100000, 16), // conventional
            region(4, 0x110000, 16), // boot services data: also usable, merges
            region(2, 0x120000, 4),  // loader data
            region(EFI_KERNEL_MEMORY_TYPE, 0x124000, 8),
            region(9, 0x200000, 2),  // ACPI reclaim
            region(10, 0x202000, 1), // ACPI NVS
            region(6, 0x300000, 1),  // runtime data
            region(8, 0x400000, 1),  // unusable
            region(7, 0x1000, 0x9f), // low memory, listed last
        ];
        assert_eq!(
            run(&efi, None),
            [
                entry(0x1000, 0x9f000, Usable),
                entry(0x100000, 0x20000, Usable),
                entry(0x120000, 0x4000, BootloaderReclaimable),
                entry(0x124000, 0x8000, ExecutableAndModules),
                entry(0x200000, 0x2000, AcpiReclaimable),
                entry(0x202000, 0x1000, AcpiNvs),
                entry(0x300000, 0x1000, Reserved),
                entry(0x400000, 0x1000, BadMemory),
            ]
        );
    }

    #[test]
    fn page_zero_is_never_usable() {
        let got = run(&[region(7, 0, 0xa0)], None);
        assert_eq!(
            got,
            [entry(0, 0x1000, Reserved), entry(0x1000, 0x9f000, Usable)]
        );
        let got = run(&[region(7, 0, 1)], None);
        assert_eq!(got, [entry(0, 0x1000, Reserved)]);
    }

    #[test]
    fn framebuffer_is_carved_out_or_added() {
        // Inside a usable region: the region is split around it.
        let got = run(&[region(7, 0x100000, 0x100)], Some((0x180000, 0x10000)));
        assert_eq!(
            got,
            [
                entry(0x100000, 0x80000, Usable),
                entry(0x180000, 0x10000, Framebuffer),
                entry(0x190000, 0x70000, Usable),
            ]
        );
        // Not listed by the firmware at all (the usual case): added; an
        // unaligned size is rounded up to whole pages.
        let got = run(&[region(7, 0x100000, 1)], Some((0x8000_0000, 0x1d4c00)));
        assert_eq!(
            got,
            [
                entry(0x100000, 0x1000, Usable),
                entry(0x8000_0000, 0x1d5000, Framebuffer)
            ]
        );
        // Covering the start of a region.
        let got = run(
            &[region(11, 0x8000_0000, 0x400)],
            Some((0x8000_0000, 0x100000)),
        );
        assert_eq!(
            got,
            [
                entry(0x8000_0000, 0x100000, Framebuffer),
                entry(0x8010_0000, 0x300000, Reserved)
            ]
        );
    }

    #[test]
    fn overlapping_firmware_entries_keep_the_restrictive_type() {
        let got = run(&[region(7, 0x100000, 16), region(0, 0x108000, 16)], None);
        assert_eq!(
            got,
            [
                entry(0x100000, 0x8000, Usable),
                entry(0x108000, 0x10000, Reserved)
            ]
        );
        let got = run(&[region(0, 0x100000, 16), region(7, 0x108000, 16)], None);
        assert_eq!(
            got,
            [
                entry(0x100000, 0x10000, Reserved),
                entry(0x110000, 0x8000, Usable)
            ]
        );
    }

    #[test]
    fn result_is_sorted_disjoint_and_aligned() {
        // A pseudo-random firmware map: the invariants must hold whatever the order.
        let mut seed = 0x1234_5678_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200 {
            let mut efi = Vec::new();
            let mut base = 0;
            for _ in 0..20 {
                let pages = 1 + next() % 64;
                let types = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, EFI_KERNEL_MEMORY_TYPE];
                efi.push(region(types[(next() % 12) as usize], base, pages));
                base += pages * PAGE_SIZE + (next() % 3) * PAGE_SIZE;
            }
            let n = efi.len();
            for i in 0..n {
                efi.swap(i, (next() % n as u64) as usize);
            }
            let got = run(&efi, Some((base / 2 + 0x10, 0x3000)));
            for pair in got.windows(2) {
                assert!(pair[0].end() <= pair[1].base, "{pair:?}");
                assert!(!(pair[0].kind == pair[1].kind && pair[0].end() == pair[1].base));
            }
            for e in &got {
                assert_eq!(e.base % PAGE_SIZE, 0);
                assert_eq!(e.length % PAGE_SIZE, 0);
                assert!(e.length > 0);
                assert!(!(e.kind == Usable && e.base < PAGE_SIZE));
            }
        }
    }

    #[test]
    fn reports_a_full_output() {
        let mut out = [entry(0, 0, Reserved); 1];
        let efi = [region(7, 0x1000, 1), region(0, 0x5000, 1)];
        assert_eq!(convert(efi.iter().copied(), None, &mut out), Err(MapFull));
    }

    #[test]
    fn hhdm_covers_only_mapped_types_widened_and_merged() {
        let map = [
            entry(0x1000, 0x9f000, Usable),
            entry(0xa0000, 0x60000, Reserved),
            entry(0x100000, 0x100000, Usable),
            entry(0x200000, 0x1000, BootloaderReclaimable),
            entry(0x7f00000, 0x100000, AcpiNvs),
            entry(0x8000_0000, 0x300000, Framebuffer),
        ];
        let mut out = [(0, 0); 8];
        let n = hhdm_ranges(&map, 0x200000, &mut out).unwrap();
        assert_eq!(&out[..n], [(0, 0x400000), (0x8000_0000, 0x8040_0000)]);
    }
}
