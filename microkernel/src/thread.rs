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

use libsys::abi::SysError;
use spin::Mutex;

use crate::arch::x86_64::switch;
use crate::arch::x86_64::trap::TrapFrame;
use crate::endpoint::Endpoint;
use crate::kstack::{self, KernelStack};
use crate::notification::Notification;
use crate::object::EndpointRef;
use crate::process::Process;

pub type Tid = u32;

static NEXT_TID: AtomicU32 = AtomicU32::new(1);

/// Scheduler slots: dense numbers for the run queue's table, reused once a
/// thread is gone (thread ids are never reused). Slot 0 is the idle
/// thread's.
static SLOTS: Mutex<(alloc::vec::Vec<u32>, u32)> = Mutex::new((alloc::vec::Vec::new(), 1));

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

pub struct Thread {
    pub tid: Tid,
    /// The thread's key in the run queue (see `SLOTS`).
    pub slot: u32,
    pub name: String,
    /// `None` for kernel threads.
    pub process: Option<Arc<Process>>,
    stack: KernelStack,
    /// The kernel stack pointer while the thread is switched out; written
    /// and read only by the scheduler, on this CPU, with interrupts off.
    context: UnsafeCell<u64>,
    killed: AtomicBool,
    /// Set once the thread has been made runnable (`ThreadStart`).
    started: AtomicBool,
    pub ipc: Mutex<Ipc>,
    /// The scheduling policy it starts (or runs) with.
    pub policy: Mutex<kcore::sched::Policy>,
    /// The IPC buffer page's user address (0: none); read on every message
    /// with a payload, so kept outside the IPC lock.
    pub ipc_buffer: core::sync::atomic::AtomicU64,
    /// Its FS base in user mode (`tls_set`; loaded when it is switched to).
    pub tls: core::sync::atomic::AtomicU64,
}

/// What a thread is blocked on in IPC (so a timeout or a kill can take it
/// off the right queue).
#[derive(Debug, Default)]
pub enum Blocked {
    #[default]
    No,
    /// Waiting in an endpoint's send queue.
    Send(Arc<Endpoint>),
    /// Waiting in an endpoint's receive queue.
    Recv(Arc<Endpoint>),
    /// A caller waiting for its reply.
    Reply,
    /// Waiting on a notification.
    Notification(Arc<Notification>),
}

/// The one-shot reply right a `call` gives its receiver.
#[derive(Debug)]
pub struct Caller {
    pub thread: Arc<Thread>,
    /// The caller is a thread whose page fault the kernel sent to its
    /// pager: the reply's label says resume or kill, and its registers are
    /// left alone.
    pub fault: bool,
    /// The caller's `call_seq` when it made the call: a reply right kept
    /// after that call was given up (a timeout) must not answer the next.
    pub seq: u64,
}

impl Caller {
    /// The reply right to `thread`'s current call.
    pub fn of(thread: &Arc<Thread>, ipc: &Ipc) -> Caller {
        Caller {
            thread: thread.clone(),
            fault: ipc.fault.is_some(),
            seq: ipc.call_seq,
        }
    }

    /// Whether the caller still waits for this very reply.
    pub fn is_waiting(&self) -> bool {
        let ipc = self.thread.ipc.lock();
        matches!(ipc.blocked, Blocked::Reply) && ipc.call_seq == self.seq
    }
}

/// A thread's IPC state.
#[derive(Debug, Default)]
pub struct Ipc {
    pub blocked: Blocked,
    /// The outcome of the wait, written by whoever ends it.
    pub result: Option<Result<u64, SysError>>,
    /// The caller this thread must reply to.
    pub reply_to: Option<Caller>,
    /// Counts the calls this thread gave up waiting for (timed out or
    /// aborted), so a reply right to an abandoned call is recognised.
    pub call_seq: u64,
    pub bound: Option<Arc<Notification>>,
    /// Where the thread's page faults go, with the badge to send them with.
    pub pager: Option<(EndpointRef, u64)>,
    /// The message of a fault call in progress (label and words).
    pub fault: Option<(u32, [u64; 6])>,
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
            slot: alloc_slot(),
            name,
            process,
            stack,
            context: UnsafeCell::new(rsp),
            killed: AtomicBool::new(false),
            started: AtomicBool::new(false),
            ipc: Mutex::new(Ipc::default()),
            policy: Mutex::new(kcore::sched::Policy::default()),
            ipc_buffer: core::sync::atomic::AtomicU64::new(0),
            tls: core::sync::atomic::AtomicU64::new(0),
        }))
    }

    /// A user thread of `process` that does not run until [`Thread::start`].
    pub fn new_unstarted(process: &Arc<Process>) -> Result<Arc<Thread>, NoMemory> {
        Thread::new(
            process.name.clone(),
            Some(process.clone()),
            TrapFrame::default(),
        )
    }

    /// Sets where a thread made by [`Thread::new_unstarted`] starts: `entry`
    /// with stack `rsp`, `rdi` = `arg0` and `rsi` = `arg1`. Fails if it was
    /// started already.
    pub fn start(&self, entry: u64, rsp: u64, arg0: u64, arg1: u64) -> Result<(), SysError> {
        if self.started.swap(true, Ordering::Relaxed) {
            return Err(SysError::InvalidArgument);
        }
        let frame = TrapFrame {
            rip: entry,
            cs: 0x23,
            rflags: 0x202,
            rsp,
            ss: 0x1b,
            rdi: arg0,
            rsi: arg1,
            ..TrapFrame::default()
        };
        // SAFETY: the thread has never run (started was false), so no one
        // is on its stack; the scheduler does not know it yet.
        let resume = unsafe { switch::prepare(self.stack.top(), frame) };
        // SAFETY: as above: nothing reads the context until it is spawned.
        unsafe { *self.context.get() = resume };
        Ok(())
    }

    /// Whether the thread has been started (or was born running).
    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::Relaxed)
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
        let thread = Thread::new(process.name.clone(), Some(process.clone()), frame)?;
        thread.started.store(true, Ordering::Relaxed);
        Ok(thread)
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
        thread.started.store(true, Ordering::Relaxed);
        // SAFETY: the frame was just written by `prepare` at the top of the
        // stack; nothing runs on it yet.
        unsafe { (*thread.user_frame()).rsp = thread.stack.top() - 8 };
        Ok(thread)
    }

    /// The thread the CPU booted on, which becomes the idle thread.
    pub fn boot(stack: KernelStack) -> Arc<Thread> {
        Arc::new(Thread {
            tid: 0,
            slot: 0,
            name: "idle".into(),
            process: None,
            stack,
            context: UnsafeCell::new(0),
            killed: AtomicBool::new(false),
            started: AtomicBool::new(true),
            ipc: Mutex::new(Ipc::default()),
            policy: Mutex::new(kcore::sched::Policy::default()),
            ipc_buffer: core::sync::atomic::AtomicU64::new(0),
            tls: core::sync::atomic::AtomicU64::new(0),
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

impl core::fmt::Debug for Thread {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Thread({} {:?})", self.tid, self.name)
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        if self.slot != 0 {
            SLOTS.lock().0.push(self.slot);
        }
    }
}
