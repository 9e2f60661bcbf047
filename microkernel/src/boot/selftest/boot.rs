//! The boot self-checks: each asserts something that a broken loader (ours
//! or Limine), a broken link or a broken early kernel would get wrong: the
//! responses, the memory map's guarantees, the HHDM, the kernel's page
//! permissions, the modules' bytes, the machine state at entry, the
//! descriptor tables, the tick. They run on the boot thread before
//! scheduling starts.

// Checks run once per boot and fail with a fixed-size message (no heap yet),
// so the size of the error variant does not matter.
#![allow(clippy::result_large_err)]

use core::sync::atomic::{AtomicU64, Ordering};
use libsys::abi::PAGE_SIZE;

use limine::firmware_type::FirmwareType;
use limine::memory_map::EntryType;
use limine::paging;
use x86_64::registers::control::{Cr0, Cr0Flags, Cr3, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};
use x86_64::registers::segmentation::{Segment, CS};
use x86_64::structures::paging::mapper::TranslateResult;
use x86_64::structures::paging::{OffsetPageTable, PageTable, PageTableFlags, Translate};
use x86_64::VirtAddr;

use crate::arch::bootinfo::{BootInfo, BASE_REVISION};
use crate::klog;
use crate::mem::frames as memory;

use super::{ensure, fail, Why};
/// Registers as the loader left them, read first thing in `kmain`.
#[derive(Clone, Copy, Debug)]
pub struct EntryState {
    pub rflags: u64,
    pub cs: u64,
    pub rsp: u64,
}

type Check = fn(&BootInfo, EntryState) -> Result<(), Why>;

const CHECKS: &[(&str, Check)] = &[
    ("base revision 3 supported", base_revision),
    ("bootloader info", bootloader_info),
    ("firmware type", firmware),
    ("4-level paging", paging_mode),
    ("machine state at entry", entry_state),
    ("stack in bootloader-reclaimable memory", stack),
    ("memory map guarantees", memory_map),
    ("HHDM reaches the kernel's memory", hhdm),
    ("kernel segment permissions", kernel_permissions),
    ("executable file and command line", executable_file),
    ("modules and their bytes", modules),
    ("RSDP", rsdp),
    ("framebuffer", framebuffer),
    ("kernel log ring buffer", kernel_log),
    ("frame allocator round trip", frame_allocator),
    ("descriptor tables loaded", descriptor_tables),
    ("traps through the IDT return with registers intact", traps),
    (
        "I/O APIC inputs are masked, each on its own vector",
        ioapic_inputs,
    ),
    (
        "MSI vectors: allocation, limits, exhaustion, delivery, freeing",
        msi_vectors,
    ),
    ("the tick advances jiffies at HZ", tick),
    (
        "address space map/protect/unmap and teardown",
        address_space,
    ),
    ("kernel heap allocates, frees and grows", kernel_heap),
];

/// Runs every check, counting into `tally`.
pub fn run(info: &BootInfo, entry: EntryState, tally: &mut super::Tally) {
    for (name, check) in CHECKS {
        tally.record(name, check(info, entry));
    }
}

fn base_revision(_: &BootInfo, _: EntryState) -> Result<(), Why> {
    ensure!(
        BASE_REVISION.is_supported(),
        "the loader did not mark revision 3 supported"
    );
    let loaded = BASE_REVISION.loaded_revision();
    ensure!(loaded == Some(3), "loaded revision {loaded:?}, expected 3");
    Ok(())
}

fn bootloader_info(info: &BootInfo, _: EntryState) -> Result<(), Why> {
    let Some((name, version)) = &info.loader else {
        fail!("no response")
    };
    ensure!(
        !name.is_empty() && !version.is_empty(),
        "empty name {name:?} or version {version:?}"
    );
    Ok(())
}

/// UEFI64 under our loader; a real Limine may also boot the same ISO by BIOS.
fn firmware(info: &BootInfo, _: EntryState) -> Result<(), Why> {
    let Some(firmware) = info.firmware else {
        fail!("no firmware-type response")
    };
    let known = [FirmwareType::UEFI_64, FirmwareType::X86_BIOS];
    ensure!(
        known.contains(&firmware),
        "firmware type {} on x86_64",
        crate::arch::bootinfo::firmware_name(firmware)
    );
    Ok(())
}

fn paging_mode(info: &BootInfo, _: EntryState) -> Result<(), Why> {
    ensure!(
        info.paging_mode == Some(paging::Mode::FOUR_LEVEL),
        "paging mode response missing or not 4-level"
    );
    ensure!(
        !Cr4::read().contains(Cr4Flags::L5_PAGING),
        "CR4.LA57 is set"
    );
    Ok(())
}

fn entry_state(_: &BootInfo, entry: EntryState) -> Result<(), Why> {
    let rflags = entry.rflags;
    const IF: u64 = 1 << 9;
    const DF: u64 = 1 << 10;
    ensure!(
        rflags & IF == 0,
        "interrupts were enabled at entry (rflags {rflags:#x})"
    );
    ensure!(
        rflags & DF == 0,
        "direction flag set at entry (rflags {rflags:#x})"
    );
    let cr0 = Cr0::read();
    ensure!(
        cr0.contains(Cr0Flags::WRITE_PROTECT | Cr0Flags::PAGING | Cr0Flags::PROTECTED_MODE_ENABLE),
        "CR0 {cr0:?}"
    );
    let efer = Efer::read();
    ensure!(
        efer.contains(EferFlags::NO_EXECUTE_ENABLE | EferFlags::LONG_MODE_ENABLE),
        "EFER {efer:?}"
    );
    ensure!(
        Cr4::read().contains(Cr4Flags::PHYSICAL_ADDRESS_EXTENSION),
        "CR4.PAE clear"
    );
    let cs = entry.cs;
    ensure!(
        cs == 0x28,
        "CS is {cs:#x}, the protocol's 64-bit code selector is 0x28"
    );
    Ok(())
}

fn stack(info: &BootInfo, entry: EntryState) -> Result<(), Why> {
    ensure!(info.stack_size_answered, "no stack-size response");
    let hhdm = info.hhdm.unwrap_or(0);
    let rsp = entry.rsp;
    ensure!(rsp >= hhdm, "rsp {rsp:#x} is not an HHDM address");
    let entry = info.entry_containing(rsp - hhdm);
    ensure!(
        entry.is_some_and(|e| e.entry_type == EntryType::BOOTLOADER_RECLAIMABLE),
        "rsp {rsp:#x} is not in bootloader-reclaimable memory"
    );
    Ok(())
}

fn memory_map(info: &BootInfo, _: EntryState) -> Result<(), Why> {
    let map = &info.memory_map;
    ensure!(!map.is_empty(), "no memory map");
    for pair in map.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        ensure!(a.base < b.base, "not sorted at {:#x}", b.base);
        ensure!(
            a.base + a.length <= b.base,
            "entries overlap at {:#x}",
            b.base
        );
    }
    for e in map {
        if matches!(
            e.entry_type,
            EntryType::USABLE | EntryType::BOOTLOADER_RECLAIMABLE
        ) {
            ensure!(
                e.base % PAGE_SIZE == 0 && e.length % PAGE_SIZE == 0,
                "unaligned entry {:#x}+{:#x}",
                e.base,
                e.length
            );
        }
        ensure!(
            !(e.entry_type == EntryType::USABLE && e.base < 0x1000),
            "page 0 is usable"
        );
    }
    ensure!(info.usable_memory() > 0, "no usable memory");
    Ok(())
}

/// A value in the kernel's writable data, to find through the HHDM.
static DATA_PROBE: AtomicU64 = AtomicU64::new(1);
/// A value in the kernel's read-only data.
static RODATA_PROBE: [u64; 2] = [0x5eed_5eed, 0xfeed_f00d];

/// Physical address of a kernel virtual address, by the executable-address response.
fn kernel_phys(info: &BootInfo, virt: u64) -> Option<u64> {
    let (phys_base, virt_base) = info.kernel_address?;
    Some(virt - virt_base + phys_base)
}

fn hhdm(info: &BootInfo, _: EntryState) -> Result<(), Why> {
    let Some(offset) = info.hhdm else {
        fail!("no HHDM response")
    };
    ensure!(
        offset >= 0xffff_8000_0000_0000 && offset % PAGE_SIZE == 0,
        "offset {offset:#x} is not a higher-half page address"
    );
    let virt = &DATA_PROBE as *const AtomicU64 as u64;
    let Some(phys) = kernel_phys(info, virt) else {
        fail!("no executable-address response")
    };
    let fresh = 0x1234_5678_9abc_def0 ^ virt;
    DATA_PROBE.store(fresh, Ordering::SeqCst);
    // SAFETY: base revision 3 maps executable-and-modules memory in the
    // HHDM; this reads the same 8 bytes as DATA_PROBE, volatile and aligned.
    let seen = unsafe { ((offset + phys) as *const u64).read_volatile() };
    ensure!(
        seen == fresh,
        "read {seen:#x} through the HHDM, wrote {fresh:#x}"
    );
    let entry = info.entry_containing(phys);
    ensure!(
        entry.is_some_and(|e| e.entry_type == EntryType::EXECUTABLE_AND_MODULES),
        "kernel at {phys:#x} is not in an executable-and-modules entry"
    );
    Ok(())
}

fn translate(hhdm: u64, addr: u64) -> Option<PageTableFlags> {
    let (frame, _) = Cr3::read();
    let table = (hhdm + frame.start_address().as_u64()) as *mut PageTable;
    // SAFETY: the active PML4 lives in bootloader-reclaimable memory, which
    // the HHDM maps; the mapper is only used to read (translate).
    let mapper = unsafe { OffsetPageTable::new(&mut *table, VirtAddr::new(hhdm)) };
    match mapper.translate(VirtAddr::new(addr)) {
        TranslateResult::Mapped { flags, .. } => Some(flags),
        _ => None,
    }
}

fn kernel_permissions(info: &BootInfo, _: EntryState) -> Result<(), Why> {
    use PageTableFlags as F;
    let Some(hhdm) = info.hhdm else {
        fail!("no HHDM response")
    };
    let text = crate::arch::x86_64::cpu::halt as *const () as u64;
    let rodata = RODATA_PROBE.as_ptr() as u64;
    let data = &DATA_PROBE as *const AtomicU64 as u64;
    let probes = [
        ("text", text, false, true),
        ("rodata", rodata, false, false),
        ("data", data, true, false),
    ];
    for (name, addr, writable, executable) in probes {
        let Some(flags) = translate(hhdm, addr) else {
            fail!("{name} at {addr:#x} is not mapped")
        };
        ensure!(
            flags.contains(F::WRITABLE) == writable,
            "{name} at {addr:#x}: writable is {}",
            !writable
        );
        ensure!(
            flags.contains(F::NO_EXECUTE) != executable,
            "{name} at {addr:#x}: executable is {}",
            !executable
        );
    }
    let below = 0xffff_ffff_8000_0000u64 - 0x1000;
    ensure!(
        translate(hhdm, below).is_none(),
        "the page below the kernel ({below:#x}) is mapped"
    );
    Ok(())
}

fn executable_file(info: &BootInfo, _: EntryState) -> Result<(), Why> {
    let Some(file) = &info.kernel_file else {
        fail!("no executable-file response")
    };
    let path = &file.path;
    ensure!(path.ends_with("/boot/kernel"), "path {path:?}");
    ensure!(file.size > 64, "size {}", file.size);
    ensure!(
        file.bytes().starts_with(b"\x7fELF"),
        "the file does not start with the ELF magic"
    );
    ensure!(
        info.has_word("test"),
        "command line {:?} lacks `test`",
        info.cmdline
    );
    Ok(())
}

const MOTD: &[u8] = include_bytes!("../../../../tests/fixtures/motd.txt");

/// The test entry's modules: the kernel's test programs, two data files
/// whose bytes are known, then `init`, `mm` and the manifest, in that
/// order; after them come the servers and programs the manifest starts
/// (any number: init finds them by name).
fn modules(info: &BootInfo, _: EntryState) -> Result<(), Why> {
    let expected = [
        "/boot/ktest",
        "/boot/kfault",
        "/boot/utest",
        "/boot/motd.txt",
        "/boot/test/pattern.bin",
        "/boot/init",
        "/boot/mm",
        "/boot/manifest.test",
    ];
    ensure!(
        info.modules.len() > expected.len(),
        "{} modules, expected more than {}",
        info.modules.len(),
        expected.len()
    );
    for (i, module) in info.modules.iter().enumerate() {
        let path = &module.path;
        if let Some(want) = expected.get(i) {
            ensure!(path.ends_with(want), "module {path:?}, expected {want:?}");
        }
        let phys = module.phys;
        ensure!(
            info.entry_containing(phys)
                .is_some_and(|e| e.entry_type == EntryType::EXECUTABLE_AND_MODULES),
            "{path} at {phys:#x} is not in executable-and-modules memory"
        );
    }

    let motd = &info.modules[3];
    ensure!(motd.cmdline == "motd", "motd cmdline {:?}", motd.cmdline);
    ensure!(
        motd.bytes() == MOTD,
        "motd.txt bytes differ from tests/fixtures/motd.txt"
    );

    let pattern = &info.modules[4];
    let cmdline = pattern.cmdline.as_str();
    let len = cmdline
        .split_whitespace()
        .find_map(|w| w.strip_prefix("len=")?.parse::<u64>().ok());
    ensure!(
        cmdline.starts_with("pattern ") && len.is_some(),
        "pattern cmdline {cmdline:?}"
    );
    ensure!(
        Some(pattern.size) == len,
        "pattern.bin is {} bytes, cmdline says {len:?}",
        pattern.size
    );
    if let Some(i) = pattern
        .bytes()
        .iter()
        .enumerate()
        .position(|(i, &b)| b != (i % 251) as u8)
    {
        fail!("pattern.bin differs at byte {i}");
    }
    Ok(())
}

fn rsdp(info: &BootInfo, _: EntryState) -> Result<(), Why> {
    let Some(rsdp) = info.rsdp else {
        fail!("no RSDP response")
    };
    ensure!(
        rsdp != 0 && rsdp < info.hhdm.unwrap_or(u64::MAX),
        "{rsdp:#x} is not a physical address (base revision 3)"
    );
    let usable = info.entry_containing(rsdp).is_some_and(|e| {
        matches!(
            e.entry_type,
            EntryType::USABLE | EntryType::BOOTLOADER_RECLAIMABLE
        )
    });
    ensure!(!usable, "{rsdp:#x} lies in memory the kernel may reuse");
    Ok(())
}

fn framebuffer(info: &BootInfo, _: EntryState) -> Result<(), Why> {
    let Some(fb) = info.framebuffer else {
        fail!("no framebuffer")
    };
    ensure!(fb.width > 0 && fb.height > 0, "{}x{}", fb.width, fb.height);
    ensure!(fb.bpp == 32 || fb.bpp == 24, "bpp {}", fb.bpp);
    ensure!(
        fb.pitch >= fb.width * u64::from(fb.bpp) / 8,
        "pitch {} for width {}",
        fb.pitch,
        fb.width
    );
    // What init is given: a geometry its console server can draw on.
    let geometry = fb.geometry();
    ensure!(
        geometry.check().is_ok(),
        "InitInfo geometry {geometry}: {:?}",
        geometry.check()
    );
    // The last byte of the visible area: it proves the whole framebuffer is mapped.
    let last = fb.pitch * (fb.height - 1) + fb.width * u64::from(fb.bpp / 8) - 1;
    // SAFETY: `last` lies inside the framebuffer the response describes,
    // which the HHDM maps; one-byte volatile accesses.
    unsafe {
        let byte = fb.address.add(last as usize);
        byte.write_volatile(0x5a);
        let seen = byte.read_volatile();
        ensure!(
            seen == 0x5a,
            "the framebuffer's last byte read back as {seen:#x}"
        );
    }
    Ok(())
}

fn kernel_log(_: &BootInfo, _: EntryState) -> Result<(), Why> {
    let first = klog::next_seq();
    // Below the console level: stored, not printed.
    crate::printk!(Debug, "selftest: a debug record");
    let long = [b'x'; 300];
    let long = core::str::from_utf8(&long).unwrap_or("");
    crate::printk!(Debug, "{long}");
    let mut seen = [(0u64, libsys::abi::LogLevel::Emerg, 0usize); 2];
    let mut n = 0;
    let lost = klog::read_since(first, |record| {
        if n < seen.len() {
            seen[n] = (record.seq, record.level, record.text().len());
        }
        n += 1;
        true
    });
    ensure!(
        lost == 0 && n == 2,
        "read {n} records ({lost} lost), expected 2"
    );
    ensure!(
        seen[0].0 == first && seen[1].0 == first + 1,
        "sequence numbers {seen:?}"
    );
    ensure!(
        seen[0].1 == libsys::abi::LogLevel::Debug,
        "level {:?}",
        seen[0].1
    );
    ensure!(
        seen[1].2 == 200,
        "a 300-byte message kept {} bytes, expected 200",
        seen[1].2
    );
    Ok(())
}

fn frame_allocator(info: &BootInfo, _: EntryState) -> Result<(), Why> {
    const COUNT: usize = 512;
    let hhdm = info.hhdm.unwrap_or(0);
    let before = memory::free_frames();
    let mut frames = [0u64; COUNT];
    for slot in frames.iter_mut() {
        let Ok(frame) = memory::alloc_frame() else {
            fail!("out of frames with {before} free")
        };
        let usable = info.entry_containing(frame).is_some_and(|e| {
            e.entry_type == EntryType::USABLE || e.entry_type == EntryType::BOOTLOADER_RECLAIMABLE
        });
        ensure!(
            frame % PAGE_SIZE == 0 && usable,
            "frame {frame:#x} is not a usable page"
        );
        *slot = frame;
    }
    ensure!(
        memory::free_frames() == before - COUNT as u64,
        "free count did not drop by {COUNT}"
    );
    // Each frame gets its own address written into it; a frame handed out
    // twice would show another's.
    for &frame in &frames {
        // SAFETY: the frame is ours and usable RAM, which the HHDM maps.
        unsafe { ((hhdm + frame) as *mut u64).write_volatile(frame) };
    }
    for &frame in &frames {
        // SAFETY: as above.
        let seen = unsafe { ((hhdm + frame) as *const u64).read_volatile() };
        ensure!(
            seen == frame,
            "frame {frame:#x} holds {seen:#x}: handed out twice?"
        );
    }
    for &frame in &frames {
        ensure!(memory::free_frame(frame).is_ok(), "cannot free {frame:#x}");
    }
    let double = memory::free_frame(frames[0]);
    ensure!(double.is_err(), "a double free was accepted");
    let after = memory::free_frames();
    ensure!(
        after == before,
        "{after} frames free after the round trip, {before} before"
    );
    Ok(())
}

fn descriptor_tables(_: &BootInfo, _: EntryState) -> Result<(), Why> {
    use x86_64::instructions::tables::{sgdt, sidt};
    let cs = CS::get_reg().0;
    ensure!(
        cs == 0x08,
        "CS is {cs:#x}, expected our kernel code selector 0x08"
    );
    let tr: u16;
    // SAFETY: `str` only reads the task register.
    unsafe { core::arch::asm!("str {0:x}", out(reg) tr, options(nomem, nostack)) };
    ensure!(
        tr == 0x28,
        "task register {tr:#x}, expected the TSS at 0x28"
    );
    let idt = sidt();
    ensure!(
        idt.limit == 256 * 16 - 1,
        "IDT limit {:#x}, expected 256 gates",
        idt.limit
    );
    ensure!(
        idt.base.as_u64() >= 0xffff_ffff_8000_0000,
        "IDT at {:#x} is not in the kernel image",
        idt.base.as_u64()
    );
    let gdt = sgdt();
    ensure!(
        gdt.limit >= 6 * 8 - 1,
        "GDT limit {:#x}: too small for 5 segments and the TSS",
        gdt.limit
    );
    ensure!(
        Efer::read().contains(EferFlags::NO_EXECUTE_ENABLE),
        "EFER.NXE clear"
    );
    Ok(())
}

/// Raises `int3` and a software interrupt on vector 240 with a known value
/// in rbx, and checks each reached its own stub and came back with rbx (a
/// callee-saved register the stubs must restore) intact.
fn traps(_: &BootInfo, _: EntryState) -> Result<(), Why> {
    use crate::arch::x86_64::trap;
    for (vector, marker) in [
        (3u8, 0x1111_2222_3333_4444u64),
        (240, 0x5555_6666_7777_8888),
    ] {
        let before = trap::count(vector);
        let after_trap: u64;
        // SAFETY: both vectors have gates whose handlers return; rbx is
        // saved and restored around the asm by the compiler (it is an
        // operand), and the trap stub preserves every register.
        unsafe {
            match vector {
                3 => {
                    core::arch::asm!("xchg {m}, rbx", "int3", "xchg {m}, rbx", m = inout(reg) marker => after_trap)
                }
                _ => {
                    core::arch::asm!("xchg {m}, rbx", "int 240", "xchg {m}, rbx", m = inout(reg) marker => after_trap)
                }
            }
        }
        ensure!(
            trap::count(vector) == before + 1,
            "vector {vector} counted {} times",
            trap::count(vector) - before
        );
        let (last_vector, last_rbx) = trap::last_returned();
        ensure!(
            last_vector == u64::from(vector),
            "the handler saw vector {last_vector}, raised {vector}"
        );
        ensure!(
            last_rbx == marker,
            "the trap frame held rbx {last_rbx:#x}, expected {marker:#x}"
        );
        ensure!(after_trap == marker, "rbx came back as {after_trap:#x}");
    }
    Ok(())
}

/// The MSI pool (`obj::irq`), before any process runs: every vector free;
/// one holder gets at most `MSI_PER_PROCESS`, two fill the pool, a third
/// finds it exhausted (`OutOfResources`); an interrupt on the first vector
/// (raised here with `int`) is counted and signals its bound notification
/// without masking anything; and dropping the objects frees every vector.
fn msi_vectors(_: &BootInfo, _: EntryState) -> Result<(), Why> {
    use crate::obj::irq::{self, MSI_VECTOR_BASE};
    use crate::obj::notification::Notification;
    use libsys::abi::{SysError, MSI_PER_PROCESS, MSI_VECTORS};
    const A: u32 = u32::MAX - 1;
    const B: u32 = u32::MAX - 2;
    const C: u32 = u32::MAX - 3;
    ensure!(
        irq::msi_usage(A) == (MSI_VECTORS, 0),
        "the pool at boot: {:?}",
        irq::msi_usage(A)
    );
    let mut held = alloc::vec::Vec::new();
    for holder in [A, B] {
        for _ in 0..MSI_PER_PROCESS {
            match irq::msi_alloc(holder, 0) {
                Ok(got) => held.push(got),
                Err(e) => fail!("holder {holder:#x}, vector {}: {e:?}", held.len()),
            }
        }
        let over = irq::msi_alloc(holder, 0).map(|_| ());
        ensure!(
            over == Err(SysError::OutOfResources),
            "past the per-holder limit: {over:?}"
        );
    }
    let exhausted = irq::msi_alloc(C, 0).map(|_| ());
    ensure!(
        held.len() == MSI_VECTORS && exhausted == Err(SysError::OutOfResources),
        "{} vectors, then {exhausted:?}",
        held.len()
    );
    let (line, message) = &held[0];
    ensure!(
        line.msi == Some(MSI_VECTOR_BASE)
            && message.vector == 0xc0
            && message.address == 0xfee0_0000
            && message.data == 0xc0,
        "first MSI: {:?}, {message:?}",
        line.msi
    );
    let notification = Notification::new();
    line.bind(notification.clone(), 1 << 5);
    // SAFETY: vector 0xc0 has a gate whose handler returns (the MSI
    // pool's: it counts, signals and sends an EOI, which the local APIC
    // ignores with no interrupt in service).
    unsafe { core::arch::asm!("int 0xc0", options(nomem, nostack)) };
    let info = line.info();
    let bits = notification.take();
    ensure!(
        info.count == 1 && info.masked == 0 && info.msi == 1 && bits == 1 << 5,
        "after one MSI: {info:?}, bits {bits:#x}"
    );
    drop(held);
    ensure!(
        irq::msi_usage(A) == (MSI_VECTORS, 0),
        "after dropping every MSI: {:?}",
        irq::msi_usage(A)
    );
    Ok(())
}

/// Enables interrupts for 200 ms by the TSC and checks that the tick ran
/// and `jiffies` advanced by HZ/5, within 10%.
fn tick(_: &BootInfo, _: EntryState) -> Result<(), Why> {
    use crate::arch::time;
    let tsc_hz = time::tsc_hz();
    ensure!(tsc_hz > 1_000_000, "TSC measured at {tsc_hz} Hz");
    let (jiffies, ticks) = (time::jiffies(), time::ticks());
    let start = time::rdtsc();
    x86_64::instructions::interrupts::enable();
    while time::rdtsc() - start < tsc_hz / 5 {
        core::hint::spin_loop();
    }
    x86_64::instructions::interrupts::disable();
    let advanced = time::jiffies() - jiffies;
    let interrupts = time::ticks() - ticks;
    let want = time::HZ / 5;
    // Under TCG both clocks follow the host's, and the TSC's rate was
    // measured against the PIT during boot: a busy host skews that
    // calibration by 10-20 % (seen with two builds running beside QEMU).
    // A wrong HZ or a lost tick would be off by far more.
    ensure!(
        advanced * 4 >= want * 3 && advanced * 4 <= want * 5,
        "jiffies advanced {advanced} in 200 ms, expected {want} +- 25%"
    );
    ensure!(interrupts > 0, "no timer interrupt in 200 ms");
    Ok(())
}

/// Builds an address space, maps, protects, translates and unmaps pages in
/// it, refuses what must be refused, and checks that dropping it gives
/// back every frame it took (page tables included).
fn address_space(_: &BootInfo, _: EntryState) -> Result<(), Why> {
    use crate::mem::addrspace::{AddrSpace, AsError};
    use libsys::abi::Protection as P;
    let before = memory::free_frames();
    {
        let Ok(mut space) = AddrSpace::new() else {
            fail!("no memory for an address space")
        };
        let pages = [0x40_0000u64, 0x40_1000, 0x7000_0000_0000, 0x1234_5000];
        for &page in &pages {
            ensure!(
                space.map_zeroed(page, P::READ | P::WRITE).is_ok(),
                "cannot map {page:#x}"
            );
        }
        ensure!(space.frames() > 5, "only {} frames counted", space.frames());
        let Some(mapping) = space.translate(0x40_1234) else {
            fail!("0x401234 is not mapped")
        };
        ensure!(
            mapping.user && mapping.prot == P::READ | P::WRITE,
            "{mapping:?}"
        );
        ensure!(
            space.map_zeroed(0x40_0000, P::READ) == Err(AsError::AlreadyMapped(0x40_0000)),
            "mapped the same page twice"
        );
        ensure!(
            space.map_zeroed(0x40_2000, P::WRITE | P::EXEC) == Err(AsError::WriteAndExecute),
            "mapped a writable, executable page"
        );
        for bad in [
            0,
            0x40_0800,
            crate::mem::addrspace::USER_END,
            0xffff_ffff_8000_0000,
        ] {
            ensure!(space.map_zeroed(bad, P::READ).is_err(), "mapped {bad:#x}");
        }
        ensure!(
            space.protect(0x40_0000, P::READ | P::EXEC).is_ok(),
            "protect failed"
        );
        let prot = space.translate(0x40_0000).map(|m| m.prot);
        ensure!(prot == Some(P::READ | P::EXEC), "protection is {prot:?}");
        ensure!(space.unmap(0x40_1000).is_ok(), "unmap failed");
        ensure!(
            space.translate(0x40_1000).is_none(),
            "still mapped after unmap"
        );
        ensure!(
            space.unmap(0x40_1000) == Err(AsError::NotMapped(0x40_1000)),
            "unmapped twice"
        );
        let kernel_half = space.translate(0xffff_ffff_8000_0000);
        ensure!(
            kernel_half.is_none(),
            "the kernel half is visible as user memory"
        );
    }
    let after = memory::free_frames();
    ensure!(
        after == before,
        "{} frames lost by a dropped address space",
        before as i64 - after as i64
    );
    Ok(())
}

fn kernel_heap(_: &BootInfo, _: EntryState) -> Result<(), Why> {
    use alloc::vec::Vec;
    let (_, used_before) = crate::mem::heap::usage();
    {
        // 4 MiB: more than the initial heap, so it must grow.
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        for i in 0..64u8 {
            blocks.push(alloc::vec![i; 64 * 1024]);
        }
        for (i, block) in blocks.iter().enumerate() {
            ensure!(
                block.iter().all(|&b| b == i as u8),
                "block {i} was overwritten"
            );
        }
        let (size, _) = crate::mem::heap::usage();
        ensure!(size >= 4 << 20, "the heap did not grow: {size} bytes");
    }
    let (_, used_after) = crate::mem::heap::usage();
    ensure!(
        used_after == used_before,
        "{} bytes still in use",
        used_after - used_before
    );
    Ok(())
}

/// Every I/O APIC input was programmed masked, to vector 0x40 + its GSI,
/// for this CPU; and masking and unmasking one changes only its mask bit.
fn ioapic_inputs(_: &BootInfo, _: EntryState) -> Result<(), Why> {
    use crate::arch::x86_64::ioapic::IRQ_VECTOR_BASE;
    use crate::arch::x86_64::{apic, ioapic};
    let count = ioapic::gsi_count();
    ensure!(count >= 16, "only {count} I/O APIC inputs");
    for gsi in 0..count {
        let Ok(r) = ioapic::redirection(gsi) else {
            fail!("GSI {gsi} has no I/O APIC")
        };
        ensure!(r.masked, "GSI {gsi} is not masked");
        ensure!(
            u32::from(r.vector) == u32::from(IRQ_VECTOR_BASE) + gsi && r.destination == apic::id(),
            "GSI {gsi} goes to vector {:#x} on CPU {}",
            r.vector,
            r.destination
        );
    }
    let before = ioapic::redirection(4).ok();
    let _ = ioapic::set_masked(4, false);
    let unmasked = ioapic::redirection(4).ok();
    let _ = ioapic::set_masked(4, true);
    ensure!(
        unmasked.is_some_and(|u| !u.masked) && ioapic::redirection(4).ok() == before,
        "masking GSI 4 round trip: {before:?} -> {unmasked:?}"
    );
    ensure!(ioapic::redirection(count).is_err(), "GSI {count} exists");
    Ok(())
}
