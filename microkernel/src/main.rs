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

mod bootinfo;
mod klog;
mod memory;
mod qemu;
mod selftest;
mod serial;

use core::sync::atomic::{AtomicU64, Ordering};

use bootinfo::{BootInfo, BASE_REVISION};
use x86_64::registers::rflags;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// RFLAGS as the loader left them, read first thing at entry.
static ENTRY_RFLAGS: AtomicU64 = AtomicU64::new(0);
/// Whether the self-test is running, so that a panic fails the test run.
static TEST_MODE: AtomicU64 = AtomicU64::new(0);

/// The entry point the loader jumps to (the ELF entry, see linker.ld).
#[unsafe(no_mangle)]
extern "C" fn kmain() -> ! {
    ENTRY_RFLAGS.store(rflags::read_raw(), Ordering::Relaxed);
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

    if info.has_word("test") {
        TEST_MODE.store(1, Ordering::Relaxed);
        let code = selftest::run(&info, ENTRY_RFLAGS.load(Ordering::Relaxed));
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

/// Stops this CPU for good.
pub fn halt() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

#[panic_handler]
fn panic(panic: &core::panic::PanicInfo) -> ! {
    match panic.location() {
        Some(at) => serial::emergency_print(format_args!(
            "KERNEL PANIC: {} at {}:{}\n",
            panic.message(),
            at.file(),
            at.line()
        )),
        None => serial::emergency_print(format_args!("KERNEL PANIC: {}\n", panic.message())),
    }
    if TEST_MODE.load(Ordering::Relaxed) != 0 {
        qemu::exit(qemu::ExitCode::Failure);
    }
    halt()
}
