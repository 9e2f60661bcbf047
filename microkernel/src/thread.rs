//! Threads: the unit the scheduler runs.
//!
//! A thread has a kernel stack (the top of which holds its user registers
//! while it is in the kernel, see `arch::x86_64::syscall`), a saved kernel
//! stack pointer while it is switched out, and, unless it is a kernel
//! thread, the process whose address space it runs in. Threads are shared
//! (`Arc`) between the scheduler's table and their process; the last
//! reference to a dead thread frees its kernel stack, which the scheduler
//! arranges to happen only once the CPU has left that stack.
//!
//! Killing a thread never pulls the stack from under it: `kill` marks it
//! and wakes it, and the thread exits by itself the next time it is about
//! to return to user mode, after every kernel function on its stack has
//! returned (and dropped what it held).

use alloc::string::String;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::arch::x86_64::switch;
use crate::arch::x86_64::trap::TrapFrame;
use crate::kstack::{self, KernelStack};
use crate::process::Process;

pub type Tid = u32;

static NEXT_TID: AtomicU32 = AtomicU32::new(1);

pub struct Thread {
    pub tid: Tid,
    pub name: String,
    /// `None` for kernel threads.
    pub process: Option<Arc<Process>>,
    stack: KernelStack,
    /// The kernel stack pointer while the thread is switched out; written
    /// and read only by the scheduler, on this CPU, with interrupts off.
    context: UnsafeCell<u64>,
    killed: AtomicBool,
}

// SAFETY: `context` is touched only by the scheduler during a switch, with
// interrupts disabled, on the one CPU; everything else is immutable or
// atomic.
unsafe impl Sync for Thread {}
// SAFETY: as above.
unsafe impl Send for Thread {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoMemory;

impl Thread {
    /// A thread that starts by leaving the kernel with `frame` (user
    /// registers for a user thread, a kernel entry point for a kernel
    /// thread).
    fn new(
        name: String,
        process: Option<Arc<Process>>,
        frame: TrapFrame,
    ) -> Result<Arc<Thread>, NoMemory> {
        let stack = KernelStack::new().map_err(|_| NoMemory)?;
        // SAFETY: the stack is new: no one runs on it.
        let rsp = unsafe { switch::prepare(stack.top(), frame) };
        Ok(Arc::new(Thread {
            tid: NEXT_TID.fetch_add(1, Ordering::Relaxed),
            name,
            process,
            stack,
            context: UnsafeCell::new(rsp),
            killed: AtomicBool::new(false),
        }))
    }

    /// A user thread of `process` that starts at `entry` with stack `rsp`
    /// and `rdi`, `rsi` as its first two arguments.
    pub fn new_user(
        process: &Arc<Process>,
        entry: u64,
        rsp: u64,
        rdi: u64,
        rsi: u64,
    ) -> Result<Arc<Thread>, NoMemory> {
        let frame = TrapFrame {
            rip: entry,
            cs: 0x23,
            rflags: 0x202,
            rsp,
            ss: 0x1b,
            rdi,
            rsi,
            ..TrapFrame::default()
        };
        Thread::new(process.name.clone(), Some(process.clone()), frame)
    }

    /// A kernel thread running `entry(arg)`, which must never return.
    pub fn new_kernel(
        name: &str,
        entry: extern "C" fn(u64) -> !,
        arg: u64,
    ) -> Result<Arc<Thread>, NoMemory> {
        let frame = TrapFrame {
            rip: entry as *const () as u64,
            cs: 0x08,
            rflags: 0x002,
            ss: 0x10,
            rdi: arg,
            ..TrapFrame::default()
        };
        // The kernel thread's stack starts right where the frame was: it
        // is consumed by the `iretq` that starts the thread.
        let thread = Thread::new(name.into(), None, frame)?;
        // SAFETY: the frame was just written by `prepare` at the top of the
        // stack; nothing runs on it yet.
        unsafe { (*thread.user_frame()).rsp = thread.stack.top() - 8 };
        Ok(thread)
    }

    /// The thread the CPU booted on, which becomes the idle thread.
    pub fn boot(stack: KernelStack) -> Arc<Thread> {
        Arc::new(Thread {
            tid: 0,
            name: "idle".into(),
            process: None,
            stack,
            context: UnsafeCell::new(0),
            killed: AtomicBool::new(false),
        })
    }

    /// The top of the kernel stack: where an entry from user mode lands.
    pub fn stack_top(&self) -> u64 {
        self.stack.top()
    }

    /// The user registers, saved at the top of the kernel stack whenever
    /// the thread is in the kernel.
    pub fn user_frame(&self) -> *mut TrapFrame {
        (self.stack.top() - core::mem::size_of::<TrapFrame>() as u64) as *mut TrapFrame
    }

    /// Frames the kernel holds for this thread (its kernel stack).
    pub fn frames(&self) -> u64 {
        kstack::STACK_PAGES
    }

    pub(crate) fn context(&self) -> *mut u64 {
        self.context.get()
    }

    pub fn mark_killed(&self) {
        self.killed.store(true, Ordering::Relaxed);
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }
}
