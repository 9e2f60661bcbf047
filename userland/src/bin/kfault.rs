//! Commits one fault, named by its argument, so the kernel's test runner
//! can check that the kernel kills this process (with the right vector in
//! its log line) and carries on. Each fault is something a buggy or hostile
//! program does; none may hurt the kernel or other processes.
#![no_std]
#![no_main]

use core::arch::asm;

libsys::entry!(main);

/// A read-only static: writing it is a protection fault.
static READ_ONLY: u64 = 0x1234;

fn main(args: &str) -> u64 {
    libsys::println!("committing fault {args:?}");
    // SAFETY: none of this is safe; each arm faults on purpose, and the
    // kernel must kill the process for it.
    unsafe {
        match args {
            "null" => {
                let value = core::ptr::read_volatile(core::ptr::null::<u64>());
                libsys::println!("read {value} from address 0");
            }
            "write-rodata" => {
                let address = core::ptr::addr_of!(READ_ONLY) as usize;
                core::ptr::write_volatile(address as *mut u64, 1);
            }
            "exec-nx" => {
                // Code on the stack: the stack is never executable.
                let code: [u8; 4] = [0x90, 0x90, 0xc3, 0x00]; // nop; nop; ret
                let f: extern "C" fn() = core::mem::transmute(code.as_ptr());
                f();
            }
            "ud2" => asm!("ud2"),
            "divide" => {
                asm!("xor edx, edx", "xor ecx, ecx", "mov eax, 1", "div ecx", out("eax") _, out("edx") _, out("ecx") _)
            }
            "kernel-read" => {
                let value = core::ptr::read_volatile(0xffff_ffff_8000_0000 as *const u64);
                libsys::println!("read {value:#x} from the kernel");
            }
            "kernel-jump" => {
                let f: extern "C" fn() = core::mem::transmute(0xffff_ffff_8000_1000u64);
                f();
            }
            "hlt" => asm!("hlt"),
            "cli" => asm!("cli"),
            "cr3" => asm!("mov rax, cr3", out("rax") _),
            "port-io" => asm!("in al, dx", in("dx") 0x60u16, out("al") _),
            "int80" => asm!("int 0x80"),
            "sse" => asm!("xorps xmm0, xmm0"),
            "non-canonical" => {
                let value = core::ptr::read_volatile(0x8000_0000_0000_0000 as *const u64);
                libsys::println!("read {value:#x} from a non-canonical address");
            }
            "stack-overflow" => {
                libsys::println!("recursed {} times", recurse(0));
            }
            _ => {
                libsys::eprintln!("unknown fault {args:?}");
                return 1;
            }
        }
    }
    libsys::eprintln!("fault {args:?} did not kill the process");
    2
}

/// Recurses until the stack runs into its guard page.
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = [depth; 64];
    // The volatile read keeps the frame (and the recursion) from being
    // optimised away.
    // SAFETY: reads an element of a local array.
    let next = unsafe { core::ptr::read_volatile(&frame[depth as usize % 64]) };
    // black_box keeps LLVM from turning the recursion into a loop.
    core::hint::black_box(recurse(core::hint::black_box(next + 1))) + 1
}
