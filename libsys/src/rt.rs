//! The program runtime (the `rt` feature): what runs before `main` and
//! after it, and what a panic does.
//!
//! The kernel starts a process's first thread at `_start` with the address
//! and length of its argument string in `rdi` and `rsi`. A program names
//! its `main` with [`crate::entry!`]; `main` gets the arguments as a `&str`
//! and returns the exit status. A panic logs its message (at `err`) and
//! exits with status 101, as Rust programs do on Linux. `print!` and
//! `println!` write to the kernel log, a line at a time.

use core::fmt::{self, Write};

use crate::abi::LogLevel;
use crate::syscall;

/// Called by the `_start` that [`crate::entry!`] defines, with the three
/// registers the process starts with: its argument string (address and
/// length) and, for the first process, the address of its `InitInfo`.
///
/// # Safety
/// `args` must point at `len` readable bytes that stay mapped and unchanged
/// for the life of the process (the kernel and [`crate::spawn`] put them on
/// the new stack, above where the stack pointer starts); called once, as
/// the process's first code.
pub unsafe fn start(args: *const u8, len: usize, init_info: u64, main: fn(&str) -> u64) -> ! {
    // SAFETY: the caller's contract: `len` bytes at `args`, for good.
    let bytes: &'static [u8] = unsafe { core::slice::from_raw_parts(args, len) };
    let args = crate::env::parse(core::str::from_utf8(bytes).unwrap_or(""), init_info);
    crate::env::set_args(args);
    // The main thread's IPC buffer: mapped by whoever built the process
    // (the kernel registers it already; a spawner cannot).
    static MAIN_THREAD: crate::ipc::ThreadLocal = crate::ipc::ThreadLocal::new();
    // SAFETY: a static, the main thread's alone.
    let _ = unsafe { crate::ipc::adopt(&MAIN_THREAD, crate::abi::IPC_BUFFER_ADDR) };
    set_up_heap();
    if let Some(at) = crate::env::sysv_stack() {
        // SAFETY: the process server laid out a System V stack with
        // `argc` at `at`, above this thread's first stack pointer, in
        // pages mapped for the life of the process and never written.
        let (argv, envp) = unsafe { sysv_lists(at) };
        crate::env::set_argv(argv, envp);
    }
    syscall::exit(main(args))
}

/// The most `argv` or `envp` entries read from a System V stack.
const SYSV_LIST_MAX: usize = 4096;

/// `argv` and `envp` as [`crate::env::set_argv`] takes them.
type Lists = (alloc::vec::Vec<&'static str>, alloc::vec::Vec<&'static str>);

/// Reads `argv` and `envp` off a System V initial stack (`argc` at `at`,
/// then the `argv` pointers, 0, the `envp` pointers, 0). A string that is
/// not UTF-8 reads as empty; lists stop at [`SYSV_LIST_MAX`] and strings at
/// the top of the stack.
///
/// # Safety
/// `at` must be the `rsp` of such a stack, whose pointers point at
/// NUL-terminated strings below [`crate::abi::USER_STACK_TOP`], all mapped
/// readable and unchanging for the life of the process.
unsafe fn sysv_lists(at: u64) -> Lists {
    let top = crate::abi::USER_STACK_TOP;
    let word = |addr: u64| -> u64 {
        // SAFETY: the caller's contract: the list words are mapped.
        unsafe { core::ptr::read(addr as *const u64) }
    };
    let string = |ptr: u64| -> &'static str {
        if ptr == 0 || ptr >= top {
            return "";
        }
        // SAFETY: the caller's contract: a NUL-terminated string lies at
        // `ptr`, below the stack top, and stays for good.
        let bytes = unsafe { core::slice::from_raw_parts(ptr as *const u8, (top - ptr) as usize) };
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        core::str::from_utf8(&bytes[..len]).unwrap_or("")
    };
    let argc = (word(at) as usize).min(SYSV_LIST_MAX);
    let argv = (0..argc)
        .map(|i| string(word(at + 8 + 8 * i as u64)))
        .collect();
    let mut envp = alloc::vec::Vec::new();
    let mut next = at + 8 * (argc as u64 + 2);
    while envp.len() < SYSV_LIST_MAX && next < top {
        let ptr = word(next);
        if ptr == 0 {
            break;
        }
        envp.push(string(ptr));
        next += 8;
    }
    (argv, envp)
}

/// Sets up the heap: the region the process was given (`@heap`), or for
/// the first process the first [`crate::heap::INIT_HEAP_PAGES`] pages of
/// its largest memory region, mapped at [`crate::heap::HEAP_BASE`]; or,
/// for a process the memory server manages, [`crate::heap::HEAP_MAX_PAGES`]
/// of demand-zero memory from it at the same place. Without any, the heap
/// stays empty.
fn set_up_heap() {
    use crate::abi::{Handle, Protection, Rights, Syscall};
    if let Some((region, pages)) = crate::env::heap_region().or_else(first_process_heap) {
        let Some(me) = crate::env::self_process() else {
            return;
        };
        let pages = pages.min(crate::heap::HEAP_MAX_PAGES);
        let prot = (Protection::READ | Protection::WRITE).bits();
        let mapped = syscall::call6(
            Syscall::Map,
            [
                u64::from(me.0),
                crate::heap::HEAP_BASE,
                u64::from(region.0),
                0,
                pages,
                prot,
            ],
        );
        if mapped.is_ok() {
            crate::heap::init(pages, false);
        }
        return;
    }
    if crate::env::name_service().is_some() && crate::env::init_info().is_none() {
        let pages = crate::heap::HEAP_MAX_PAGES;
        let rw = Protection::READ | Protection::WRITE;
        if crate::mm::mmap(Some(crate::heap::HEAP_BASE), pages, rw, false).is_ok() {
            crate::heap::init(pages, true);
        }
    }

    /// The first process's heap: part of its largest memory region.
    fn first_process_heap() -> Option<(Handle, u64)> {
        let info = crate::env::init_info()?;
        let r = info.regions().iter().max_by_key(|r| r.pages)?;
        let pages = crate::heap::INIT_HEAP_PAGES.min(r.pages);
        let rights = (Rights::READ | Rights::WRITE).bits() as u64;
        syscall::call6(
            Syscall::RegionDerive,
            [u64::from(r.handle), 0, pages, rights, 0, 0],
        )
        .ok()
        .map(|h| (Handle(h as u32), pages))
    }
}

/// Defines `_start` to run `main(args) -> u64`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        extern "C" fn _start(args: *const u8, len: usize, init_info: u64) -> ! {
            // SAFETY: the kernel (or the spawner) starts the process here
            // with its argument string, copied onto the new stack for good.
            unsafe { $crate::rt::start(args, len, init_info, $main) }
        }
    };
}

/// Collects formatted text and sends it to the kernel log a line at a
/// time (or when the buffer fills).
pub struct LogWriter {
    level: LogLevel,
    buffer: [u8; 256],
    len: usize,
}

impl LogWriter {
    pub const fn new(level: LogLevel) -> LogWriter {
        LogWriter {
            level,
            buffer: [0; 256],
            len: 0,
        }
    }

    pub fn flush(&mut self) {
        if self.len > 0 {
            // Only whole UTF-8 characters are buffered (see write_str).
            let text = core::str::from_utf8(&self.buffer[..self.len]).unwrap_or("?");
            let _ = syscall::log(self.level, text);
            self.len = 0;
        }
    }
}

impl Write for LogWriter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for c in text.chars() {
            if c == '\n' {
                self.flush();
                continue;
            }
            let mut utf8 = [0; 4];
            let encoded = c.encode_utf8(&mut utf8).as_bytes();
            if self.len + encoded.len() > self.buffer.len() {
                self.flush();
            }
            self.buffer[self.len..self.len + encoded.len()].copy_from_slice(encoded);
            self.len += encoded.len();
        }
        Ok(())
    }
}

/// Text formatted into a fixed buffer (no heap): for building argument
/// strings and messages. Text that does not fit is cut.
pub struct TextBuf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> TextBuf<N> {
    pub const fn new() -> Self {
        TextBuf {
            bytes: [0; N],
            len: 0,
        }
    }

    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Display for TextBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for TextBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> Default for TextBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Write for TextBuf<N> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for c in text.chars() {
            let mut utf8 = [0; 4];
            let encoded = c.encode_utf8(&mut utf8).as_bytes();
            if self.len + encoded.len() > N {
                return Err(fmt::Error);
            }
            self.bytes[self.len..self.len + encoded.len()].copy_from_slice(encoded);
            self.len += encoded.len();
        }
        Ok(())
    }
}

/// Formats into a [`TextBuf`] of 256 bytes.
#[macro_export]
macro_rules! format_text {
    ($($arg:tt)*) => {{
        let mut text = $crate::rt::TextBuf::<256>::new();
        let _ = core::fmt::Write::write_fmt(&mut text, format_args!($($arg)*));
        text
    }};
}

#[doc(hidden)]
pub fn _print(level: LogLevel, args: fmt::Arguments) {
    let mut writer = LogWriter::new(level);
    let _ = writer.write_fmt(args);
    writer.flush();
}

/// Writes a line to the kernel log (at `info`).
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::rt::_print($crate::abi::LogLevel::Info, format_args!($($arg)*))
    };
}

/// Writes a line to the kernel log at `err`.
#[macro_export]
macro_rules! eprintln {
    ($($arg:tt)*) => {
        $crate::rt::_print($crate::abi::LogLevel::Err, format_args!($($arg)*))
    };
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut writer = LogWriter::new(LogLevel::Err);
    let _ = write!(writer, "panicked: {}", info.message());
    if let Some(at) = info.location() {
        let _ = write!(writer, " at {}:{}", at.file(), at.line());
    }
    writer.flush();
    syscall::exit(101)
}
