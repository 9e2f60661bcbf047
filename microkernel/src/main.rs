//! The ring-0 microkernel.
//!
//! The boot: the CPU's tables, physical memory, the kernel's own page
//! tables and heap, interrupts and the tick, then the scheduler; then the
//! first boot module runs as the first process (or, with `test` on the
//! command line, the self-tests run and leave QEMU with their result). The
//! boot thread ends as the idle thread. See docs/architecture.md.
//!
//! Invariant kept throughout: kernel code runs with interrupts disabled;
//! only user mode and the idle loop take them.
#![no_std]
#![no_main]
// Every unsafe operation sits in its own `unsafe` block with a `SAFETY:`
// comment, inside an `unsafe fn` too (docs/architecture.md, STYLE.md).
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

// The layers, bottom first: each uses only those above it in this list
// (scripts/check-layers checks it; docs/architecture.md draws it).
mod arch;
mod boot;
mod ipc;
mod klog;
mod mem;
mod obj;
mod sched;
mod syscall;

use core::sync::atomic::{AtomicU64, Ordering};
use libsys::abi::PAGE_SIZE;

use alloc::boxed::Box;

use arch::bootinfo::{self, BootInfo, EarlyBootInfo, BASE_REVISION};
use arch::x86_64::cpu::halt;
use arch::{qemu, serial, time};
use boot::{initproc, interrupts, selftest};
use klog::panic;
use mem::{frames as memory, heap, kspace, kstack};
use obj::{irq, process, thread};
use x86_64::registers::rflags;
use x86_64::registers::segmentation::{Segment, CS};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// RFLAGS, CS and RSP as the loader left them, read first thing at entry.
static ENTRY_RFLAGS: AtomicU64 = AtomicU64::new(0);
static ENTRY_CS: AtomicU64 = AtomicU64::new(0);
static ENTRY_RSP: AtomicU64 = AtomicU64::new(0);

/// The entry point the loader jumps to (the ELF entry, see linker.ld).
///
/// It runs on the loader's stack and page tables, both in
/// bootloader-reclaimable memory: it sets up the CPU, the frame allocator,
/// the kernel's own page tables and the heap, copies what the loader said,
/// and continues on a kernel stack of its own in [`kmain_on_kernel_stack`].
#[unsafe(no_mangle)]
extern "C" fn kmain() -> ! {
    time::mark_kernel_entry();
    ENTRY_RFLAGS.store(rflags::read_raw(), Ordering::Relaxed);
    ENTRY_CS.store(u64::from(CS::get_reg().0), Ordering::Relaxed);
    ENTRY_RSP.store(current_rsp(), Ordering::Relaxed);
    serial::init();

    if !BASE_REVISION.is_supported() {
        printk!(
            Emerg,
            "microkernel: the boot loader does not support Limine base revision 3 (it loaded revision {:?}); halting",
            BASE_REVISION.loaded_revision()
        );
        halt();
    }

    let early = EarlyBootInfo::read();
    if early.cmdline.split_whitespace().any(|w| w == "test") {
        panic::TEST_MODE.store(1, Ordering::Relaxed);
    }
    if let Some(file) = early.kernel_file {
        // SAFETY: the loader gave the kernel this file in memory it keeps
        // (executable and modules) for good.
        panic::set_kernel_file(unsafe {
            core::slice::from_raw_parts(file.addr(), file.size() as usize)
        });
    }
    let selectors = arch::x86_64::gdt::init();
    arch::x86_64::idt::init(selectors.kernel_code.0);
    arch::x86_64::trap::set_handler(syscall::trap::handle);
    arch::x86_64::cpu::init();
    arch::x86_64::percpu::init();
    arch::x86_64::syscall::init(selectors, syscall::dispatch);

    let Some(hhdm) = early.hhdm else {
        panic!("the loader gave no HHDM offset")
    };
    let frames = match memory::init(early.memory_entries(), hhdm) {
        Ok(summary) => summary,
        Err(why) => panic!("cannot set up physical memory: {why}"),
    };
    if let Err(why) = kspace::build(&early) {
        panic!("cannot build the kernel's page tables: {why:?}");
    }
    // SAFETY: the new tables map the kernel image and the HHDM, which hold
    // everything the kernel touches (its stack and the responses are in
    // bootloader-reclaimable memory, inside the HHDM).
    unsafe { kspace::activate() };
    if let Err(why) = heap::init() {
        panic!("cannot map the kernel heap: {why:?}");
    }
    let info = BootInfo::copy();
    printk!(
        Debug,
        "frames: {} free at start, bitmap of {} KiB at {:#x}",
        frames.free_frames,
        frames.bitmap_bytes >> 10,
        frames.bitmap_phys
    );
    let Ok(stack) = kstack::KernelStack::new() else {
        panic!("no memory for the boot thread's kernel stack")
    };
    let top = stack.top();
    let boot = Box::new(Boot { info, stack });
    // SAFETY: `top` is the top of a mapped, unused kernel stack, which
    // `boot` keeps alive (it becomes the idle thread's); the function never
    // returns, so nothing on the old stack is needed again.
    unsafe {
        arch::x86_64::cpu::switch_stack(top, kmain_on_kernel_stack, Box::into_raw(boot) as u64)
    }
}

/// What the first half of the boot hands the second.
struct Boot {
    info: BootInfo,
    /// The stack the boot thread moves onto; the idle thread's for good.
    stack: kstack::KernelStack,
}

/// The rest of the boot, on the boot thread's own kernel stack.
extern "C" fn kmain_on_kernel_stack(boot: u64) -> ! {
    // SAFETY: `kmain` passed a pointer from `Box::into_raw`, once.
    let boot: Box<Boot> = unsafe { Box::from_raw(boot as *mut Boot) };
    let Boot { info, stack } = *boot;
    // SAFETY: the kernel runs on its own page tables and stack, and the
    // responses were copied into `info`: nothing uses reclaimable memory.
    let reclaimed = unsafe { memory::reclaim(info.memory_map.iter().copied()) };
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
    printk!(
        Info,
        "frames: {} free ({} MiB) after reclaiming {} from the loader",
        memory::free_frames(),
        (memory::free_frames() * PAGE_SIZE) >> 20,
        reclaimed
    );
    let protections = arch::x86_64::cpu::protections();
    printk!(
        Info,
        "cpu: GDT, TSS and IDT loaded; SMEP {}, SMAP {}",
        on_off(protections.smep),
        on_off(protections.smap)
    );
    match interrupts::init(info.rsdp) {
        Ok(irq) => printk!(
            Info,
            "interrupts: local APIC {:#x} id {}, {} I/O APIC inputs; TSC {} MHz, APIC timer {} kHz, HZ={}",
            irq.local_apic,
            irq.apic_id,
            irq.gsis,
            irq.calibration.tsc_hz / 1_000_000,
            irq.calibration.apic_timer_hz / 1000,
            time::HZ
        ),
        Err(why) => panic!("cannot set up interrupts: {why}"),
    }
    boot::power::init(info.rsdp);
    irq::init(arch::x86_64::ioapic::gsi_count(), interrupts::isa_routes());
    sched::init(thread::Thread::boot(stack));
    if let Some(what) = info.option("crash") {
        crash(what);
    }
    let info = bootinfo::set(info);
    if info.has_word("test") {
        selftest::start(
            info,
            selftest::EntryState {
                rflags: ENTRY_RFLAGS.load(Ordering::Relaxed),
                cs: ENTRY_CS.load(Ordering::Relaxed),
                rsp: ENTRY_RSP.load(Ordering::Relaxed),
            },
        );
    } else {
        start_first_process(info, info.has_word("oneshot"));
    }
    // The boot thread becomes the idle thread.
    sched::idle()
}

/// Starts the first boot module as the first process, with the module's
/// command line as its arguments. With `oneshot` on the command line (the
/// `bench` and `test-mono` entries), QEMU is left when that process ends:
/// its exit status is a tally (`passed << 16 | failed`, as `init` reports
/// its tests), printed as `<passed> passed, <failed> failed`, and the exit
/// is a success if nothing failed and something passed.
fn start_first_process(info: &BootInfo, oneshot: bool) {
    let Some(first) = info.modules.first() else {
        printk!(Warning, "microkernel: no boot module to start; idling");
        return;
    };
    let give_init_handles = |p: &alloc::sync::Arc<process::Process>,
                             t: &alloc::sync::Arc<thread::Thread>| {
        initproc::give(p, t, info, u64::MAX)
    };
    match process::spawn(
        first.name(),
        first.bytes(),
        &first.cmdline,
        !oneshot,
        give_init_handles,
    ) {
        Ok(process) => {
            printk!(
                Info,
                "microkernel: started {} as process {}",
                first.path,
                process.pid
            );
            if oneshot {
                let arg = alloc::sync::Arc::into_raw(process) as u64;
                if crate::obj::thread::Thread::spawn_kernel("oneshot", leave_when_done, arg)
                    .is_err()
                {
                    panic!("no memory for the oneshot thread");
                }
            }
        }
        Err(e) => printk!(Err, "microkernel: cannot start {}: {e}", first.path),
    }
}

/// Waits for the process `arg` (an `Arc<Process>` from `into_raw`) and
/// leaves QEMU with its result.
extern "C" fn leave_when_done(arg: u64) -> ! {
    // SAFETY: `start_first_process` passed an `Arc::into_raw`, once.
    let process = unsafe { alloc::sync::Arc::from_raw(arg as *const process::Process) };
    let reason = process::wait(&process);
    printk!(Info, "microkernel: {} {reason}; leaving", process.name);
    let (passed, failed) = match reason {
        process::ExitReason::Exited(status) => (status >> 16 & 0xffff, status & 0xffff),
        _ => (0, 1),
    };
    crate::println!("{passed} passed, {failed} failed");
    qemu::exit(if failed == 0 && passed > 0 {
        qemu::ExitCode::Success
    } else {
        qemu::ExitCode::Failure
    })
}

fn current_rsp() -> u64 {
    let rsp: u64;
    // SAFETY: reads the stack pointer; no memory is touched.
    unsafe {
        core::arch::asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack, preserves_flags))
    };
    rsp
}

fn print_banner(info: &BootInfo) {
    printk!(Info, "microkernel {VERSION}");
    let (name, version) = info
        .loader
        .as_ref()
        .map_or(("(unknown)", ""), |(n, v)| (n.as_str(), v.as_str()));
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
    if let (Some((phys, virt)), Some(file)) = (info.kernel_address, &info.kernel_file) {
        printk!(
            Info,
            "kernel: phys {phys:#x} virt {virt:#x} file {} ({} bytes)",
            file.path,
            file.size
        );
    }
    let image = kernel_image_size();
    printk!(
        Info,
        "kernel: image {} KiB in memory (text {} KiB, rodata {} KiB, data+bss {} KiB)",
        (image.0 + image.1 + image.2) >> 10,
        image.0 >> 10,
        image.1 >> 10,
        image.2 >> 10
    );
    printk!(
        Info,
        "memory: {} MiB in {} map entries, {} MiB usable",
        info.total_memory() >> 20,
        info.memory_map.len(),
        info.usable_memory() >> 20
    );
    for entry in &info.memory_map {
        printk!(
            Debug,
            "  {:#018x}-{:#018x} {}",
            entry.base,
            entry.base + entry.length,
            bootinfo::entry_type_name(entry.entry_type)
        );
    }
    for module in &info.modules {
        printk!(
            Info,
            "module: {} {} bytes cmdline \"{}\"",
            module.path,
            module.size,
            module.cmdline
        );
    }
    printk!(Info, "cmdline: \"{}\"", info.cmdline);
}

/// Bytes of the loaded image's text, read-only data and data+bss, from the
/// linker script's symbols.
fn kernel_image_size() -> (u64, u64, u64) {
    unsafe extern "C" {
        static __kernel_start: u8;
        static __text_end: u8;
        static __rodata_end: u8;
        static __kernel_end: u8;
    }
    let [start, text, rodata, end] = [
        core::ptr::addr_of!(__kernel_start),
        core::ptr::addr_of!(__text_end),
        core::ptr::addr_of!(__rodata_end),
        core::ptr::addr_of!(__kernel_end),
    ]
    .map(|p| p as u64);
    let rodata_start = text.div_ceil(PAGE_SIZE) * PAGE_SIZE;
    let data_start = rodata.div_ceil(PAGE_SIZE) * PAGE_SIZE;
    (text - start, rodata - rodata_start, end - data_start)
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
