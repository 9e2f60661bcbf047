//! The part of a thread the scheduler runs: a [`Task`].
//!
//! A task has a kernel stack (the top of which holds its user registers
//! while it is in the kernel, see `arch::x86_64::syscall`), a saved kernel
//! stack pointer while it is switched out, its scheduling policy, its FS
//! base, and its [`Wait`] (what it is blocked on). The thread *object* —
//! its process, its IPC state — is `obj::thread::Thread`, which embeds a
//! task and hands itself to the scheduler as a [`Schedulable`]: the
//! scheduler keeps it alive while it is known (the last reference to a
//! dead thread frees its kernel stack, which the scheduler arranges to
//! happen only once the CPU has left that stack) and tells it when it is
//! about to run ([`Schedulable::switch_in`]).
//!
//! Killing a thread never pulls the stack from under it: `kill` marks it
//! and wakes it, and the thread exits by itself the next time it is about
//! to return to user mode, after every kernel function on its stack has
//! returned (and dropped what it held).

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};

use kcore::sched::Policy;
use libsys::abi::SysError;
use spin::Mutex;

use super::wait::Wait;
use crate::arch::x86_64::switch;
use crate::arch::x86_64::trap::TrapFrame;
use crate::mem::kstack::{self, KernelStack};

pub type Tid = u32;

static NEXT_TID: AtomicU32 = AtomicU32::new(1);

/// Scheduler slots: dense numbers for the run queue's table, reused once a
/// thread is gone (thread ids are never reused). Slot 0 is the idle
/// thread's.
static SLOTS: Mutex<(Vec<u32>, u32)> = Mutex::new((Vec::new(), 1));

fn alloc_slot() -> u32 {
    let mut slots = SLOTS.lock();
    match slots.0.pop() {
        Some(slot) => slot,
        None => {
            slots.1 += 1;
            slots.1 - 1
        }
    }
}

/// What the scheduler needs of a thread object: its task, and a hook run
/// right before the CPU switches to it (to load the address space, I/O
/// bitmap and FS base it runs with). The scheduler holds threads as
/// `Arc<dyn Schedulable>`, so it never names the layers above it.
pub trait Schedulable: Send + Sync {
    fn task(&self) -> &Task;
    /// The CPU is about to run this thread (called by the scheduler, with
    /// interrupts off, before the stack switch).
    fn switch_in(&self);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoMemory;

/// `Task::flags`: the thread was killed.
const KILLED: u8 = 1 << 0;
/// `Task::flags`: other work on the way back to user mode.
const WORK: u8 = 1 << 1;

pub struct Task {
    pub tid: Tid,
    /// The thread's key in the run queue (see `SLOTS`).
    pub slot: u32,
    pub name: String,
    /// Whether the thread runs in user mode (a process's thread).
    pub user: bool,
    stack: KernelStack,
    /// The kernel stack pointer while the thread is switched out; written
    /// and read only by the scheduler, on this CPU, with interrupts off.
    context: UnsafeCell<u64>,
    /// [`KILLED`] and [`WORK`]: what the way back to user mode must look
    /// at, read there as one byte.
    flags: AtomicU8,
    /// Set once the thread has been made runnable (`ThreadStart`).
    started: AtomicBool,
    /// What it is blocked on, and how its last wait ended.
    pub wait: Mutex<Wait>,
    /// The scheduling policy it starts (or runs) with.
    pub policy: Mutex<Policy>,
    /// Its FS base in user mode (`tls_set`; loaded when it is switched to).
    pub tls: AtomicU64,
}

// SAFETY: `context` is touched only by the scheduler during a switch, with
// interrupts disabled, on the one CPU; everything else is immutable, atomic
// or behind a lock.
unsafe impl Sync for Task {}
// SAFETY: as above.
unsafe impl Send for Task {}

/// The registers a user thread starts with: `entry` with stack `rsp`,
/// `rdi` = `arg0`, `rsi` = `arg1`, interrupts on.
fn user_frame(entry: u64, rsp: u64, arg0: u64, arg1: u64) -> TrapFrame {
    TrapFrame {
        rip: entry,
        cs: 0x23,
        rflags: 0x202,
        rsp,
        ss: 0x1b,
        rdi: arg0,
        rsi: arg1,
        ..TrapFrame::default()
    }
}

impl Task {
    /// A task that starts by leaving the kernel with `frame` (user
    /// registers for a user thread, a kernel entry point for a kernel
    /// thread), started already or not.
    fn new(name: String, user: bool, frame: TrapFrame, started: bool) -> Result<Task, NoMemory> {
        let stack = KernelStack::new().map_err(|_| NoMemory)?;
        // SAFETY: the stack is new: no one runs on it.
        let rsp = unsafe { switch::prepare(stack.top(), frame, super::scheduler::thread_entry) };
        Ok(Task {
            tid: NEXT_TID.fetch_add(1, Ordering::Relaxed),
            slot: alloc_slot(),
            name,
            user,
            stack,
            context: UnsafeCell::new(rsp),
            flags: AtomicU8::new(0),
            started: AtomicBool::new(started),
            wait: Mutex::new(Wait::default()),
            policy: Mutex::new(Policy::default()),
            tls: AtomicU64::new(0),
        })
    }

    /// A user task that does not run until [`Task::start`].
    pub fn new_unstarted(name: String) -> Result<Task, NoMemory> {
        Task::new(name, true, TrapFrame::default(), false)
    }

    /// A user task that starts at `entry` with stack `rsp` and `rdi`, `rsi`
    /// as its first two arguments.
    pub fn new_user(
        name: String,
        entry: u64,
        rsp: u64,
        rdi: u64,
        rsi: u64,
    ) -> Result<Task, NoMemory> {
        Task::new(name, true, user_frame(entry, rsp, rdi, rsi), true)
    }

    /// A kernel task running `entry(arg)`, which must never return.
    pub fn new_kernel(
        name: &str,
        entry: extern "C" fn(u64) -> !,
        arg: u64,
    ) -> Result<Task, NoMemory> {
        let frame = TrapFrame {
            rip: entry as *const () as u64,
            cs: 0x08,
            rflags: 0x002,
            ss: 0x10,
            rdi: arg,
            ..TrapFrame::default()
        };
        let task = Task::new(name.into(), false, frame, true)?;
        // The kernel thread's stack starts right where the frame was: it
        // is consumed by the `iretq` that starts the thread.
        // SAFETY: the frame was just written by `prepare` at the top of the
        // stack; nothing runs on it yet.
        unsafe { (*task.user_frame()).rsp = task.stack.top() - 8 };
        Ok(task)
    }

    /// The task the CPU booted on, which becomes the idle thread.
    pub fn boot(stack: KernelStack) -> Task {
        Task {
            tid: 0,
            slot: 0,
            name: "idle".into(),
            user: false,
            stack,
            context: UnsafeCell::new(0),
            flags: AtomicU8::new(0),
            started: AtomicBool::new(true),
            wait: Mutex::new(Wait::default()),
            policy: Mutex::new(Policy::default()),
            tls: AtomicU64::new(0),
        }
    }

    /// Sets where a task made by [`Task::new_unstarted`] starts: `entry`
    /// with stack `rsp`, `rdi` = `arg0` and `rsi` = `arg1`.
    /// `InvalidArgument` if it was started already.
    pub fn start(&self, entry: u64, rsp: u64, arg0: u64, arg1: u64) -> Result<(), SysError> {
        if self.started.swap(true, Ordering::Relaxed) {
            return Err(SysError::InvalidArgument);
        }
        let frame = user_frame(entry, rsp, arg0, arg1);
        // SAFETY: the thread has never run (started was false), so no one
        // is on its stack; the scheduler does not know it yet.
        let resume =
            unsafe { switch::prepare(self.stack.top(), frame, super::scheduler::thread_entry) };
        // SAFETY: as above: nothing reads the context until it is spawned.
        unsafe { *self.context.get() = resume };
        Ok(())
    }

    /// Whether the task has been started (or was born running).
    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::Relaxed)
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

    /// Frames the kernel holds for this task (its kernel stack).
    pub fn frames(&self) -> u64 {
        kstack::STACK_PAGES
    }

    pub(super) fn context(&self) -> *mut u64 {
        self.context.get()
    }

    pub fn mark_killed(&self) {
        self.flags.fetch_or(KILLED, Ordering::Relaxed);
    }

    pub fn is_killed(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & KILLED != 0
    }

    /// Marks (or clears) other work for the way back to user mode (a
    /// suspension, a signal upcall: the layers above say which).
    pub fn set_work(&self, work: bool) {
        if work {
            self.flags.fetch_or(WORK, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!WORK, Ordering::Relaxed);
        }
    }

    /// Whether the way back to user mode has anything to do.
    #[inline(always)]
    pub fn has_work(&self) -> bool {
        self.flags.load(Ordering::Relaxed) != 0
    }
}

impl core::fmt::Debug for Task {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Task({} {:?})", self.tid, self.name)
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if self.slot != 0 {
            SLOTS.lock().0.push(self.slot);
        }
    }
}
