//! What happens when the kernel fails: the panic handler (the message, the
//! registers and a symbolized backtrace, like Linux's oops) and the
//! backtrace itself.
//!
//! The backtrace follows the frame-pointer chain (the kernel is built with
//! frame pointers): at each frame, `[rbp]` is the caller's rbp and
//! `[rbp + 8]` the return address. Names come from the kernel's own ELF
//! symbol table, which the loader handed over as the executable file. The
//! walk stops at a null or implausible frame pointer, so a corrupt stack
//! ends the backtrace rather than faulting inside the panic handler.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use x86_64::registers::control::{Cr0, Cr2, Cr3, Cr4};
use xmas_elf::sections::SectionData;
use xmas_elf::symbol_table::Entry;
use xmas_elf::ElfFile;

use crate::arch::serial::emergency_print as print;

const MAX_FRAMES: usize = 32;

/// The kernel's ELF file, for symbol names (address and length).
static KERNEL_FILE: (AtomicUsize, AtomicUsize) = (AtomicUsize::new(0), AtomicUsize::new(0));
/// Set while the self-test runs: a panic then fails the run.
pub static TEST_MODE: AtomicU64 = AtomicU64::new(0);

/// Remembers where the kernel's ELF file is (from the executable-file
/// response), so backtraces can name functions.
pub fn set_kernel_file(file: &'static [u8]) {
    KERNEL_FILE
        .0
        .store(file.as_ptr() as usize, Ordering::Relaxed);
    KERNEL_FILE.1.store(file.len(), Ordering::Relaxed);
}

fn kernel_file() -> Option<&'static [u8]> {
    let (addr, len) = (
        KERNEL_FILE.0.load(Ordering::Relaxed),
        KERNEL_FILE.1.load(Ordering::Relaxed),
    );
    // SAFETY: set_kernel_file stored a 'static slice's address and length.
    (addr != 0).then(|| unsafe { core::slice::from_raw_parts(addr as *const u8, len) })
}

/// The function containing `addr` and the offset into it.
fn symbolize(elf: &ElfFile<'static>, addr: u64) -> Option<(&'static str, u64)> {
    let symtab = elf.find_section_by_name(".symtab")?;
    let Ok(SectionData::SymbolTable64(symbols)) = symtab.get_data(elf) else {
        return None;
    };
    let symbol = symbols.iter().find(|s| {
        let start = s.value();
        start <= addr && addr < start + s.size().max(1)
    })?;
    Some((symbol.get_name(elf).ok()?, addr - symbol.value()))
}

/// Prints one frame. `lookup` is the address to name: for a return address
/// it is one byte earlier, since a call to a function that never returns
/// may be the last instruction of its caller.
fn print_frame(elf: Option<&ElfFile<'static>>, index: usize, addr: u64, lookup: u64) {
    match elf.and_then(|elf| symbolize(elf, lookup)) {
        Some((name, offset)) => print(format_args!(
            "  #{index:<2} {addr:#018x} {:#}+{:#x}\n",
            rustc_demangle::demangle(name),
            offset + (addr - lookup)
        )),
        None => print(format_args!("  #{index:<2} {addr:#018x} ?\n")),
    }
}

/// Prints the backtrace starting at frame pointer `rbp`, after the frame
/// at `rip` (the faulting or current instruction).
pub fn backtrace_from(mut rbp: u64, rip: u64) {
    let elf = kernel_file().and_then(|file| ElfFile::new(file).ok());
    print(format_args!("backtrace:\n"));
    print_frame(elf.as_ref(), 0, rip, rip);
    for index in 1..MAX_FRAMES {
        // Frame pointers live on kernel stacks, in the higher half, aligned.
        if rbp < 0xffff_8000_0000_0000 || !rbp.is_multiple_of(8) {
            break;
        }
        // SAFETY: rbp is an aligned higher-half address on the chain of
        // frames the compiler built; stacks are mapped while in use.
        let (next, ret) = unsafe { (*(rbp as *const u64), *((rbp + 8) as *const u64)) };
        if ret == 0 {
            break;
        }
        print_frame(elf.as_ref(), index, ret, ret - 1);
        // Callers' frames sit above callees' on the stack.
        if next <= rbp {
            break;
        }
        rbp = next;
    }
}

fn current_rbp_rsp() -> (u64, u64) {
    let (rbp, rsp): (u64, u64);
    // SAFETY: reads two registers; no memory is touched.
    unsafe {
        core::arch::asm!("mov {}, rbp", "mov {}, rsp", out(reg) rbp, out(reg) rsp, options(nomem, nostack))
    };
    (rbp, rsp)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    x86_64::instructions::interrupts::disable();
    crate::arch::serial::reclaim_console();
    match info.location() {
        Some(at) => print(format_args!(
            "KERNEL PANIC: {} at {}:{}\n",
            info.message(),
            at.file(),
            at.line()
        )),
        None => print(format_args!("KERNEL PANIC: {}\n", info.message())),
    }
    let (rbp, rsp) = current_rbp_rsp();
    print(format_args!(
        "rsp {rsp:#018x} rbp {rbp:#018x} cr2 {:#018x} cr3 {:#018x}\ncr0 {:?}\ncr4 {:?}\n",
        Cr2::read_raw(),
        Cr3::read().0.start_address().as_u64(),
        Cr0::read(),
        Cr4::read()
    ));
    backtrace_from(rbp, panic as *const () as u64);
    if TEST_MODE.load(Ordering::Relaxed) != 0 {
        crate::arch::qemu::exit(crate::arch::qemu::ExitCode::Failure);
    }
    crate::arch::x86_64::cpu::halt()
}
