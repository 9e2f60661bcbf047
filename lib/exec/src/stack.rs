//! The initial process stack of the System V x86_64 ABI (§3.4.1), laid
//! out as Linux's `create_elf_tables` does, as bytes the memory server
//! maps at the top of the new stack. From the stack top down:
//!
//! ```text
//! stack_top ->  +---------------------------------+
//!               | 8 zero bytes (end marker)       |
//!               | execfn "\0"        <- AT_EXECFN |
//!               | envp strings "\0", in order     |
//!               | argv strings "\0", in order     |  argv[0]'s string lowest
//!               | (padding to 16)                 |
//!               | 16 random bytes    <- AT_RANDOM |  16-byte aligned
//!               | (padding so that rsp % 16 == 0) |
//!               | AT_NULL, 0                      |
//!               | auxv pairs (type, value) ...    |
//!               | 0                               |  end of envp
//!               | envp[0..m] pointers             |
//!               | 0                               |  end of argv
//!               | argv[0..n] pointers             |
//! rsp ->        | argc                            |
//!               +---------------------------------+
//! ```
//!
//! The auxiliary vector holds, in Linux's order: `AT_PAGESZ`, `AT_PHDR`,
//! `AT_PHENT`, `AT_PHNUM`, `AT_BASE` (0: no interpreter), `AT_FLAGS`
//! (0), `AT_ENTRY`, `AT_UID`, `AT_EUID`, `AT_GID`, `AT_EGID`,
//! `AT_SECURE`, `AT_RANDOM`, `AT_EXECFN`, `AT_NULL`. An empty `argv` gets
//! one empty string, so `argv[0]` always exists (Linux since 5.18).
//! Arguments and environment together (strings with their NULs and one
//! pointer each) may take [`ARG_MAX`] bytes, one string at most
//! [`MAX_ARG_STRLEN`]; beyond is `E2BIG`.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::ExecError;
use crate::image::{PAGE_SIZE, PHENT_SIZE};

/// The most bytes arguments and environment may take (strings, NULs and
/// one 8-byte pointer each). Linux allows a quarter of the stack limit
/// (2 MiB by default); this system's stack is 1 MiB.
pub const ARG_MAX: usize = 256 * 1024;
/// The longest single argument or environment string, NUL included
/// (Linux: 32 pages).
pub const MAX_ARG_STRLEN: usize = 128 * 1024;
/// The longest program path, NUL included.
pub const PATH_MAX: usize = 4096;

/// Auxiliary vector types (`<elf.h>` `AT_*`).
pub mod at {
    pub const AT_NULL: u64 = 0;
    pub const AT_PHDR: u64 = 3;
    pub const AT_PHENT: u64 = 4;
    pub const AT_PHNUM: u64 = 5;
    pub const AT_PAGESZ: u64 = 6;
    pub const AT_BASE: u64 = 7;
    pub const AT_FLAGS: u64 = 8;
    pub const AT_ENTRY: u64 = 9;
    pub const AT_UID: u64 = 11;
    pub const AT_EUID: u64 = 12;
    pub const AT_GID: u64 = 13;
    pub const AT_EGID: u64 = 14;
    pub const AT_SECURE: u64 = 23;
    pub const AT_RANDOM: u64 = 25;
    pub const AT_EXECFN: u64 = 31;
}

/// What the auxiliary vector says about the program and its user.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuxInfo {
    /// `AT_PHDR` (from `ImagePlan::phdr`).
    pub phdr: u64,
    /// `AT_PHNUM`.
    pub phnum: u16,
    /// `AT_ENTRY`.
    pub entry: u64,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    /// `AT_SECURE`: set-id program.
    pub secure: bool,
}

/// What goes on the new stack.
#[derive(Clone, Copy, Debug)]
pub struct StackSpec<'a> {
    /// One past the stack's highest byte; page-aligned, in user space,
    /// with room below it for everything above page 0.
    pub stack_top: u64,
    pub argv: &'a [&'a [u8]],
    pub envp: &'a [&'a [u8]],
    /// The path `execve` was given (`AT_EXECFN`).
    pub execfn: &'a [u8],
    /// `AT_RANDOM`'s 16 bytes (the C library's stack-protector seed).
    pub random: [u8; 16],
    pub aux: AuxInfo,
}

/// The built stack: `bytes` are the memory `[base, stack_top)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialStack {
    /// The page-aligned address of `bytes[0]`.
    pub base: u64,
    pub bytes: Vec<u8>,
    /// The initial `rsp`: the address of `argc`, 16-byte aligned.
    pub rsp: u64,
    /// Where `argv[0]`'s pointer is (`rsp + 8`).
    pub argv: u64,
    /// Where `envp[0]`'s pointer is.
    pub envp: u64,
    /// Where the auxiliary vector starts.
    pub auxv: u64,
}

impl InitialStack {
    /// How many pages the stack bytes fill.
    pub fn pages(&self) -> u64 {
        self.bytes.len() as u64 / PAGE_SIZE
    }
}

/// Checks the sizes (see the module documentation).
fn check_sizes(spec: &StackSpec) -> Result<(), ExecError> {
    if !spec.stack_top.is_multiple_of(PAGE_SIZE)
        || spec.stack_top < PAGE_SIZE
        || spec.stack_top > libsys::elf::USER_END
    {
        return Err(ExecError::BadStackTop);
    }
    if spec.execfn.len() + 1 > PATH_MAX {
        return Err(ExecError::NameTooLong);
    }
    if spec.execfn.contains(&0) {
        return Err(ExecError::NulInString);
    }
    let mut total: usize = 0;
    for s in spec.argv.iter().chain(spec.envp.iter()) {
        if s.contains(&0) {
            return Err(ExecError::NulInString);
        }
        if s.len() + 1 > MAX_ARG_STRLEN {
            return Err(ExecError::ArgumentsTooLong);
        }
        total = total.saturating_add(s.len() + 1 + 8);
    }
    if total > ARG_MAX {
        return Err(ExecError::ArgumentsTooLong);
    }
    // Room for everything (strings, end marker, random bytes, the table
    // and alignment) above page 0, so the layout's subtractions cannot
    // wrap.
    let table = 8 * (4 + spec.argv.len().max(1) + spec.envp.len() + 2 * AUX_PAIRS);
    let needed = (total + table + spec.execfn.len() + 1 + 8 + 16 + 32) as u64;
    if spec.stack_top < needed + PAGE_SIZE {
        return Err(ExecError::BadStackTop);
    }
    Ok(())
}

/// Builds the stack (layout in the module documentation). Errors:
/// `ArgumentsTooLong` (`E2BIG`), `NameTooLong`, `NulInString`,
/// `BadStackTop`.
pub fn build(spec: &StackSpec) -> Result<InitialStack, ExecError> {
    check_sizes(spec)?;
    let empty: [&[u8]; 1] = [b""];
    let argv = if spec.argv.is_empty() {
        &empty[..]
    } else {
        spec.argv
    };
    let strings: usize = argv
        .iter()
        .chain(spec.envp.iter())
        .map(|s| s.len() + 1)
        .sum();
    let top = spec.stack_top;
    let execfn_at = top - 8 - (spec.execfn.len() as u64 + 1);
    let strings_at = execfn_at - strings as u64;
    let random_at = (strings_at & !15) - 16;
    let words = 1 + (argv.len() + 1) + (spec.envp.len() + 1) + 2 * AUX_PAIRS;
    let rsp = (random_at - 8 * words as u64) & !15;
    let base = rsp & !(PAGE_SIZE - 1);

    let mut bytes = vec![0u8; (top - base) as usize];
    let mut put = |at: u64, data: &[u8]| {
        let from = (at - base) as usize;
        bytes[from..from + data.len()].copy_from_slice(data);
    };
    put(execfn_at, spec.execfn);
    put(random_at, &spec.random);
    let mut pointers = Vec::with_capacity(words);
    pointers.push(argv.len() as u64);
    let mut at = strings_at;
    for list in [argv, spec.envp] {
        for s in list {
            put(at, s);
            pointers.push(at);
            at += s.len() as u64 + 1;
        }
        pointers.push(0);
    }
    for (kind, value) in auxv(&spec.aux, random_at, execfn_at) {
        pointers.extend([kind, value]);
    }
    let table: Vec<u8> = pointers.iter().flat_map(|w| w.to_le_bytes()).collect();
    put(rsp, &table);
    let envp = rsp + 8 * (argv.len() as u64 + 2);
    let auxv = envp + 8 * (spec.envp.len() as u64 + 1);
    Ok(InitialStack {
        base,
        bytes,
        rsp,
        argv: rsp + 8,
        envp,
        auxv,
    })
}

const AUX_PAIRS: usize = 15;

fn auxv(aux: &AuxInfo, random_at: u64, execfn_at: u64) -> [(u64, u64); AUX_PAIRS] {
    use at::*;
    [
        (AT_PAGESZ, PAGE_SIZE),
        (AT_PHDR, aux.phdr),
        (AT_PHENT, PHENT_SIZE as u64),
        (AT_PHNUM, aux.phnum as u64),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, aux.entry),
        (AT_UID, aux.uid as u64),
        (AT_EUID, aux.euid as u64),
        (AT_GID, aux.gid as u64),
        (AT_EGID, aux.egid as u64),
        (AT_SECURE, aux.secure as u64),
        (AT_RANDOM, random_at),
        (AT_EXECFN, execfn_at),
        (AT_NULL, 0),
    ]
}
