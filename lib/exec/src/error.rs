//! Why an `execve` image cannot be built: [`ExecError`], each case with
//! the Linux errno a program sees (`ENOEXEC` for a file that is not a
//! program this system runs, `EINVAL` for a program whose layout is
//! impossible or hostile, `E2BIG` for arguments over the limit).

use core::fmt;

/// `E2BIG`: argument list too long.
pub const E2BIG: i32 = 7;
/// `ENOEXEC`: exec format error.
pub const ENOEXEC: i32 = 8;
/// `EINVAL`: invalid argument.
pub const EINVAL: i32 = 22;
/// `ENAMETOOLONG`: file name too long.
pub const ENAMETOOLONG: i32 = 36;
/// `ELOOP`: too many levels of `#!` interpreters.
pub const ELOOP: i32 = 40;

/// Why the image or stack was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecError {
    /// Neither an ELF file nor a `#!` script.
    UnknownFormat,
    /// The file ends inside the ELF header or the program headers.
    Truncated,
    /// Not ELF64 (`EI_CLASS`).
    Not64Bit,
    /// Not little-endian (`EI_DATA`) or not ELF version 1.
    BadEncoding,
    /// Not `EM_X86_64`.
    NotX86_64,
    /// `ET_DYN` (position-independent: needs a loader) or not `ET_EXEC`.
    NotStaticExecutable,
    /// A `PT_INTERP` segment: dynamic linking is not supported.
    NeedsInterpreter,
    /// `e_phentsize` is not 56.
    BadProgramHeaderSize,
    /// `e_phoff` is not 8-byte aligned (ELF64 structures are).
    MisalignedProgramHeaders,
    /// More program headers than fit a page (Linux's limit).
    TooManyProgramHeaders,
    /// No `PT_LOAD` segment with memory.
    NoSegments,
    /// More `PT_LOAD` segments than `libsys::elf::MAX_SEGMENTS`.
    TooManySegments,
    /// A segment both writable and executable (W^X).
    WriteAndExecute { vaddr: u64 },
    /// `p_filesz > p_memsz`.
    FileSizeOverMemorySize { vaddr: u64 },
    /// The segment's file bytes run past the end of the file.
    OffsetPastEnd { vaddr: u64 },
    /// The segment reaches page 0, the kernel half or past the limit.
    OutsideUserSpace { vaddr: u64 },
    /// The segment (or the whole image) is larger than the limit.
    TooLarge { vaddr: u64 },
    /// `p_offset` and `p_vaddr` differ modulo the page size, so the file
    /// page cannot be mapped at the address.
    Misaligned { vaddr: u64 },
    /// Two segments share a page.
    Overlapping { vaddr: u64 },
    /// The entry point is in no executable segment.
    EntryNotExecutable { entry: u64 },
    /// A `#!` line longer than the buffer, its interpreter cut off.
    ScriptLineTooLong,
    /// A `#!` line without an interpreter.
    ScriptWithoutInterpreter,
    /// More nested `#!` interpreters than allowed.
    TooManyInterpreters,
    /// The arguments and environment exceed `ARG_MAX`, or one string
    /// exceeds `MAX_ARG_STRLEN`.
    ArgumentsTooLong,
    /// The program's path is longer than `PATH_MAX`.
    NameTooLong,
    /// An argument, environment string or path contains a NUL byte.
    NulInString,
    /// The stack top is not page-aligned or is outside user space.
    BadStackTop,
}

impl ExecError {
    /// The Linux errno `execve` returns for this error.
    pub const fn errno(self) -> i32 {
        use ExecError::*;
        match self {
            UnknownFormat
            | Truncated
            | Not64Bit
            | BadEncoding
            | NotX86_64
            | NotStaticExecutable
            | NeedsInterpreter
            | BadProgramHeaderSize
            | MisalignedProgramHeaders
            | TooManyProgramHeaders
            | NoSegments
            | TooManySegments
            | WriteAndExecute { .. }
            | ScriptLineTooLong
            | ScriptWithoutInterpreter => ENOEXEC,
            FileSizeOverMemorySize { .. }
            | OffsetPastEnd { .. }
            | OutsideUserSpace { .. }
            | TooLarge { .. }
            | Misaligned { .. }
            | Overlapping { .. }
            | EntryNotExecutable { .. }
            | NulInString
            | BadStackTop => EINVAL,
            TooManyInterpreters => ELOOP,
            ArgumentsTooLong => E2BIG,
            NameTooLong => ENAMETOOLONG,
        }
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ExecError::*;
        match self {
            UnknownFormat => write!(f, "not an ELF file or #! script"),
            Truncated => write!(f, "file ends inside its headers"),
            Not64Bit => write!(f, "not a 64-bit ELF file"),
            BadEncoding => write!(f, "not little-endian ELF version 1"),
            NotX86_64 => write!(f, "not an x86_64 program"),
            NotStaticExecutable => write!(f, "not a static executable (ET_EXEC)"),
            NeedsInterpreter => write!(f, "needs a dynamic loader (PT_INTERP)"),
            BadProgramHeaderSize => write!(f, "program header size is not 56"),
            MisalignedProgramHeaders => write!(f, "program headers not 8-byte aligned"),
            TooManyProgramHeaders => write!(f, "program headers do not fit a page"),
            NoSegments => write!(f, "no loadable segment"),
            TooManySegments => write!(f, "too many loadable segments"),
            WriteAndExecute { vaddr } => write!(f, "segment {vaddr:#x} is writable and executable"),
            FileSizeOverMemorySize { vaddr } => {
                write!(f, "segment {vaddr:#x}: file size over memory size")
            }
            OffsetPastEnd { vaddr } => {
                write!(f, "segment {vaddr:#x} reaches past the end of the file")
            }
            OutsideUserSpace { vaddr } => write!(f, "segment {vaddr:#x} lies outside user space"),
            TooLarge { vaddr } => write!(f, "segment {vaddr:#x} makes the image too large"),
            Misaligned { vaddr } => write!(
                f,
                "segment {vaddr:#x}: offset and address differ in page offset"
            ),
            Overlapping { vaddr } => write!(f, "segment {vaddr:#x} shares a page with another"),
            EntryNotExecutable { entry } => {
                write!(f, "entry {entry:#x} is in no executable segment")
            }
            ScriptLineTooLong => write!(f, "#! line too long"),
            ScriptWithoutInterpreter => write!(f, "#! line names no interpreter"),
            TooManyInterpreters => write!(f, "too many nested #! interpreters"),
            ArgumentsTooLong => write!(f, "arguments and environment too long"),
            NameTooLong => write!(f, "program path too long"),
            NulInString => write!(f, "a NUL byte inside an argument"),
            BadStackTop => write!(f, "stack top not page-aligned in user space"),
        }
    }
}
