//! Faults committed on purpose: what a buggy or hostile program does, for
//! the tests that check the kernel kills such a program, with the right
//! exception, and carries on (`kfault`, `crashy`).
//!
//! [`commit`] is a safe function although every fault is an operation
//! Rust calls undefined: each one only reads, writes or jumps to memory
//! this process cannot reach (address 0, which is never mapped, the
//! kernel's half, a non-canonical address, a read-only page, the
//! never-executable stack) or runs an instruction user mode may not, so
//! the CPU refuses it and the kernel ends the process; and should the CPU
//! ever let one through, `commit` ends the process itself (status
//! [`NOT_KILLED`]) before any Rust code could see the result. It never
//! returns to its caller, so no caller's memory can be affected.

/// One way to be killed. The names ([`Fault::name`]) are what `kfault`
/// takes as its argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Reads address 0: a page fault (not present, user read).
    NullRead,
    /// Writes address 0: a page fault (not present, user write).
    NullWrite,
    /// Writes a read-only static: a page fault (protection, write).
    WriteReadOnly,
    /// Calls code on the stack, which is never executable: a page fault.
    ExecuteStack,
    /// `ud2`: invalid opcode.
    Ud2,
    /// Divides by zero: divide error.
    Divide,
    /// Reads the kernel's first page: a page fault (protection).
    KernelRead,
    /// Jumps into the kernel's text: a page fault (instruction fetch).
    KernelJump,
    /// `hlt`, privileged: general protection.
    Hlt,
    /// `cli`, privileged: general protection.
    Cli,
    /// Reads CR3, privileged: general protection.
    Cr3,
    /// `in` from port 0x60, not granted: general protection.
    PortIo,
    /// `int 0x80`, a gate user mode may not use: general protection.
    Int80,
    /// An SSE instruction, which the kernel leaves disabled: invalid
    /// opcode.
    Sse,
    /// Reads a non-canonical address: general protection.
    NonCanonical,
    /// Recurses until the stack runs into its guard page: a page fault.
    StackOverflow,
}

/// The exit status of a process the fault did not kill.
pub const NOT_KILLED: u64 = 2;

impl Fault {
    pub const ALL: [Fault; 16] = [
        Fault::NullRead,
        Fault::NullWrite,
        Fault::WriteReadOnly,
        Fault::ExecuteStack,
        Fault::Ud2,
        Fault::Divide,
        Fault::KernelRead,
        Fault::KernelJump,
        Fault::Hlt,
        Fault::Cli,
        Fault::Cr3,
        Fault::PortIo,
        Fault::Int80,
        Fault::Sse,
        Fault::NonCanonical,
        Fault::StackOverflow,
    ];

    /// Its name, as `kfault` takes it.
    pub const fn name(self) -> &'static str {
        match self {
            Fault::NullRead => "null",
            Fault::NullWrite => "null-write",
            Fault::WriteReadOnly => "write-rodata",
            Fault::ExecuteStack => "exec-nx",
            Fault::Ud2 => "ud2",
            Fault::Divide => "divide",
            Fault::KernelRead => "kernel-read",
            Fault::KernelJump => "kernel-jump",
            Fault::Hlt => "hlt",
            Fault::Cli => "cli",
            Fault::Cr3 => "cr3",
            Fault::PortIo => "port-io",
            Fault::Int80 => "int80",
            Fault::Sse => "sse",
            Fault::NonCanonical => "non-canonical",
            Fault::StackOverflow => "stack-overflow",
        }
    }

    /// The fault named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Commits `fault`; the kernel kills the process for it. Never returns:
/// if the process survives, it exits with [`NOT_KILLED`].
#[cfg(target_os = "none")]
pub fn commit(fault: Fault) -> ! {
    use core::arch::asm;
    use core::hint::black_box;

    /// A read-only static: writing it is a protection fault.
    static READ_ONLY: u64 = 0x1234;
    // SAFETY: see the module documentation: each arm touches memory this
    // process cannot reach or runs an instruction user mode may not; the
    // CPU refuses it and the kernel ends the process. Should one pass, the
    // process exits below before any code uses what it did.
    unsafe {
        match fault {
            Fault::NullRead => {
                black_box(core::ptr::read_volatile(
                    black_box(core::ptr::null::<u64>()),
                ));
            }
            Fault::NullWrite => {
                core::ptr::write_volatile(black_box(core::ptr::null_mut::<u64>()), 1);
            }
            Fault::WriteReadOnly => {
                let address = black_box(core::ptr::addr_of!(READ_ONLY) as usize);
                core::ptr::write_volatile(address as *mut u64, 1);
            }
            Fault::ExecuteStack => {
                let code: [u8; 4] = black_box([0x90, 0x90, 0xc3, 0x00]); // nop; nop; ret
                let f: extern "C" fn() = core::mem::transmute(code.as_ptr());
                f();
            }
            Fault::Ud2 => asm!("ud2"),
            Fault::Divide => asm!(
                "xor edx, edx",
                "xor ecx, ecx",
                "mov eax, 1",
                "div ecx",
                out("eax") _,
                out("edx") _,
                out("ecx") _
            ),
            Fault::KernelRead => {
                black_box(core::ptr::read_volatile(
                    black_box(0xffff_ffff_8000_0000usize) as *const u64,
                ));
            }
            Fault::KernelJump => {
                let f: extern "C" fn() = core::mem::transmute(black_box(0xffff_ffff_8000_1000u64));
                f();
            }
            Fault::Hlt => asm!("hlt"),
            Fault::Cli => asm!("cli"),
            Fault::Cr3 => asm!("mov rax, cr3", out("rax") _),
            Fault::PortIo => asm!("in al, dx", in("dx") 0x60u16, out("al") _),
            Fault::Int80 => asm!("int 0x80"),
            Fault::Sse => asm!("xorps xmm0, xmm0"),
            Fault::NonCanonical => {
                black_box(core::ptr::read_volatile(
                    black_box(0x8000_0000_0000_0000usize) as *const u64,
                ));
            }
            Fault::StackOverflow => {
                black_box(recurse(0));
            }
        }
    }
    let _ = crate::syscall::log(
        crate::abi::LogLevel::Err,
        "the fault did not kill the process",
    );
    crate::syscall::exit(NOT_KILLED)
}

/// Recurses until the stack runs into its guard page.
#[cfg(target_os = "none")]
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    // black_box keeps the frame from being optimised away, and LLVM from
    // turning the recursion into a loop.
    let frame = core::hint::black_box([depth; 64]);
    let next = frame[depth as usize % 64] + 1;
    core::hint::black_box(recurse(core::hint::black_box(next))) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_is_found_by_its_name_and_names_are_distinct() {
        for fault in Fault::ALL {
            assert_eq!(Fault::from_name(fault.name()), Some(fault));
        }
        let mut names = Fault::ALL.map(Fault::name);
        names.sort_unstable();
        assert!(names.windows(2).all(|w| w[0] != w[1]));
        assert_eq!(Fault::from_name("reboot"), None);
        assert_eq!(Fault::from_name(""), None);
    }
}
