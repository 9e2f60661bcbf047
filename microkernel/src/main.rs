//! The ring-0 microkernel.
//!
//! At this stage it is a Limine-protocol kernel that proves the boot chain:
//! it checks that the loader speaks the base revision it asks for, prints a
//! banner with what the loader told it (loader, HHDM, memory, modules,
//! command line), and with `test` on its command line runs the boot
//! self-checks and leaves QEMU with their result. Later stages add traps,
//! memory management, user mode and IPC (see docs/architecture.md).
//!
//! Invariant kept throughout: interrupts stay disabled (no IDT exists yet).
#![no_std]
#![no_main]

mod arch;
mod bootinfo;
mod klog;
mod memory;
mod panic;
mod qemu;
mod selftest;
mod serial;

use core::sync::atomic::{AtomicU64, Ordering};

use bootinfo::{BootInfo, BASE_REVISION};
use x86_64::registers::rflags;
use x86_64::registers::segmentation::{Segment, CS};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// RFLAGS and CS as the loader left them, read first thing at entry.
static ENTRY_RFLAGS: AtomicU64 = AtomicU64::new(0);
static ENTRY_CS: AtomicU64 = AtomicU64::new(0);

/// The entry point the loader jumps to (the ELF entry, see linker.ld).
#[unsafe(no_mangle)]
extern "C" fn kmain() -> ! {
    ENTRY_RFLAGS.store(rflags::read_raw(), Ordering::Relaxed);
    ENTRY_CS.store(u64::from(CS::get_reg().0), Ordering::Relaxed);
    serial::init();

    if !BASE_REVISION.is_supported() {
        printk!(
            Emerg,
            "microkernel: the boot loader does not support Limine base revision 3 (it loaded revision {:?}); halting",
            BASE_REVISION.loaded_revision()
        );
        halt();
    }

    let info = BootInfo::read();
    let testing = info.has_word("test");
    if testing {
        panic::TEST_MODE.store(1, Ordering::Relaxed);
    }
    if let Some(file) = info.kernel_file {
        // SAFETY: the loader gave the kernel this file in memory it keeps
        // (executable and modules) for good.
        panic::set_kernel_file(unsafe {
            core::slice::from_raw_parts(file.addr(), file.size() as usize)
        });
    }
    let selectors = arch::x86_64::gdt::init();
    arch::x86_64::idt::init(selectors.kernel_code.0);
    let protections = arch::x86_64::cpu::init();
    if let Some(level) = info.option("loglevel") {
        if !klog::set_console_level(level) {
            printk!(
                Warning,
                "microkernel: unknown loglevel={level}; keeping {}",
                klog::console_level().name()
            );
        }
    }
    print_banner(&info);
    match memory::init(&info) {
        Ok(m) => printk!(
            Info,
            "frames: {} free ({} MiB), bitmap {} KiB at {:#x}",
            m.free_frames,
            (m.free_frames * 4096) >> 20,
            m.bitmap_bytes >> 10,
            m.bitmap_phys
        ),
        Err(why) => panic!("cannot set up physical memory: {why}"),
    };

    printk!(
        Info,
        "cpu: GDT, TSS and IDT loaded; SMEP {}, SMAP {}",
        on_off(protections.smep),
        on_off(protections.smap)
    );
    if let Some(what) = info.option("crash") {
        crash(what);
    }

    if testing {
        let code = selftest::run(
            &info,
            selftest::EntryState {
                rflags: ENTRY_RFLAGS.load(Ordering::Relaxed),
                cs: ENTRY_CS.load(Ordering::Relaxed),
            },
        );
        qemu::exit(code);
    }
    printk!(Info, "microkernel: nothing more to do yet; halting");
    halt()
}

fn print_banner(info: &BootInfo) {
    printk!(Info, "microkernel {VERSION}");
    let (name, version) = info.loader.unwrap_or(("(unknown)", ""));
    let revision = BASE_REVISION.loaded_revision().unwrap_or(0);
    printk!(
        Info,
        "bootloader: {name} {version} (base revision {revision})"
    );
    printk!(
        Info,
        "firmware: {}",
        info.firmware.map_or("(unknown)", bootinfo::firmware_name)
    );
    match info.hhdm {
        Some(offset) => printk!(Info, "hhdm: {offset:#x}"),
        None => printk!(Info, "hhdm: (not given)"),
    }
    if let (Some((phys, virt)), Some(file)) = (info.kernel_address, info.kernel_file) {
        let path = file.path().to_str().unwrap_or("?");
        printk!(
            Info,
            "kernel: phys {phys:#x} virt {virt:#x} file {path} ({} bytes)",
            file.size()
        );
    }
    printk!(
        Info,
        "memory: {} MiB in {} map entries, {} MiB usable",
        info.total_memory() >> 20,
        info.memory_map.len(),
        info.usable_memory() >> 20
    );
    for entry in info.memory_map {
        printk!(
            Debug,
            "  {:#018x}-{:#018x} {}",
            entry.base,
            entry.base + entry.length,
            bootinfo::entry_type_name(entry.entry_type)
        );
    }
    for module in info.modules {
        printk!(
            Info,
            "module: {} {} bytes cmdline \"{}\"",
            module.path().to_str().unwrap_or("?"),
            module.size(),
            module.string().to_str().unwrap_or("?")
        );
    }
    printk!(Info, "cmdline: \"{}\"", info.cmdline);
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// `crash=<what>` on the command line fails on purpose, to show (and test)
/// what a kernel failure prints: `panic`, or a `pagefault` in the kernel.
/// Never inlined, so that it shows in the backtrace.
#[inline(never)]
fn crash(what: &str) {
    match what {
        "panic" => panic!("crash=panic on the command line"),
        "pagefault" => {
            // SAFETY: not safe at all, on purpose: the address is unmapped
            // and the page fault must end in an oops.
            let value = unsafe { core::ptr::read_volatile(0xdead_b000 as *const u64) };
            panic!("read {value:#x} from an unmapped address");
        }
        _ => printk!(Warning, "microkernel: unknown crash={what}; ignored"),
    }
}

/// Stops this CPU for good.
pub fn halt() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
