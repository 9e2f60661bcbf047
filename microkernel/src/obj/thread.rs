//! Threads as kernel objects: a scheduler [`Task`] with the process it
//! runs in and its IPC state.
//!
//! The task (`sched::task`) is what the scheduler runs and blocks; this
//! adds what the layers above the scheduler know a thread by: its process
//! (`None` for a kernel thread), the reply right it holds, the notification
//! bound to it, its pager, and its IPC buffer. A [`Thread`] derefs to its
//! task, and gives itself to the scheduler as a `Schedulable`: on a switch
//! to it, [`Schedulable::switch_in`] loads its process's address space,
//! I/O bitmap and FS base, and records it as the [`current`] thread.
//!
//! Threads are shared (`Arc`) between the scheduler's table, their process
//! and handles to them; the last reference to a dead thread frees its
//! kernel stack, which the scheduler arranges to happen only once the CPU
//! has left that stack.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use libsys::abi::exception::{UserRegs, SIGINFO_WORDS};
use libsys::abi::grant::Window;
use libsys::abi::SysError;
use spin::Mutex;

use super::handle::EndpointRef;
use super::notification::Notification;
use super::process::Process;
use super::service::Service;
use crate::mem::kstack::KernelStack;
use crate::sched::task::NoMemory;
use crate::sched::wait::{self, Blocked};
use crate::sched::{Schedulable, Task};

pub struct Thread {
    task: Task,
    /// `None` for kernel threads.
    pub process: Option<Arc<Process>>,
    pub ipc: Mutex<Ipc>,
    /// The IPC buffer page's user address (0: none); read on every message
    /// with a payload, so kept outside the IPC lock.
    pub ipc_buffer: AtomicU64,
    /// Suspension, exception wait and signal upcall (`ipc::exception`).
    pub control: Mutex<Control>,
    /// What its creator's account paid for it (`thread_create`; none for
    /// the threads the kernel makes).
    _charge: Option<kcore::limits::Charge>,
    /// Handles that name it (`handle::Counted`): none and never started,
    /// it is reaped (`obj::limits`).
    pub(super) handle_refs: core::sync::atomic::AtomicUsize,
}

/// What controls a thread from outside: whether it is to stop on its way
/// back to user mode, whether it has, whether it waits for an exception's
/// verdict, and the signal upcall or `sigreturn` it has pending.
#[derive(Debug, Default)]
pub struct Control {
    pub suspended: bool,
    /// Stopped (blocked on a `wait::Parked` queue) on the way back to
    /// user mode.
    pub parked: bool,
    /// Waiting for the verdict on an exception.
    pub in_exception: bool,
    pub upcall: Option<Upcall>,
    /// Registers a `sigreturn` restores on the way out (validated).
    pub restore: Option<UserRegs>,
}

impl Control {
    /// Whether the thread's user registers hold still (it is stopped) and
    /// may be read or written.
    pub fn stopped(&self) -> bool {
        self.parked || self.in_exception
    }

    /// Whether the way back to user mode has anything to do for it.
    pub fn has_work(&self) -> bool {
        self.suspended || self.upcall.is_some() || self.restore.is_some()
    }
}

/// A signal handler to run on the way back to user mode.
#[derive(Clone, Copy, Debug)]
pub struct Upcall {
    pub handler: u64,
    pub restorer: u64,
    pub signo: u64,
    pub info: [u64; SIGINFO_WORDS],
}

/// The one-shot reply right a `call` gives its receiver.
#[derive(Debug)]
pub struct Caller {
    pub thread: Arc<Thread>,
    /// The caller is a thread whose page fault the kernel sent to its
    /// pager: the reply's label says resume or kill, and its registers are
    /// left alone.
    pub fault: bool,
    /// The caller's `wait.seq` when it made the call: a reply right kept
    /// after that call was given up (a timeout) must not answer the next.
    pub seq: u64,
    /// The window of its memory the caller lent with this call
    /// (`ipc::grant`): it lives and dies with the reply right.
    pub grant: Option<Window>,
}

impl Caller {
    /// Whether the caller still waits for this very reply.
    pub fn is_waiting(&self) -> bool {
        let wait = self.thread.wait.lock();
        matches!(wait.blocked, Blocked::Reply) && wait.seq == self.seq
    }
}

/// A thread's IPC state (what it waits on is its task's `wait`).
#[derive(Debug, Default)]
pub struct Ipc {
    /// The caller this thread must reply to.
    pub reply_to: Option<Caller>,
    pub bound: Option<Arc<Notification>>,
    /// Where the thread's page faults go, with the badge to send them with.
    pub pager: Option<(EndpointRef, u64)>,
    /// The message of a fault call in progress (label and words).
    pub fault: Option<(u32, [u64; 6])>,
    /// The window this thread's `call` in progress lends (checked and
    /// faulted in by `ipc::grant::attach`); goes into the reply right
    /// when the call is delivered.
    pub grant: Option<Window>,
    /// The call (by its `wait.seq`) this thread asked to be let out of
    /// (`thread_unblock`, `ipc::unblock`): its server reads it through
    /// `reply_interrupted` or its core's `interrupted`.
    pub interrupt: Option<u64>,
    /// Who holds the reply right to this thread's call in progress, once a
    /// server put it aside (with the call's `wait.seq`, so a record left
    /// from an earlier call is ignored): whom `thread_unblock` tells.
    pub held: Option<(u64, HeldBy)>,
}

/// Where a server keeps the reply right to a deferred call.
#[derive(Clone, Debug)]
pub enum HeldBy {
    /// A reply object of a server process (`reply_save`), with the
    /// notification bound to the thread that saved it (none: the server
    /// cannot hear an unblock).
    Saved(Option<Arc<Notification>>),
    /// An in-kernel core's parked callers, under this token.
    Service(Arc<Service>, libsys::server::Token),
}

/// The running thread, for lock-free reads (set by `switch_in`). It points
/// at a thread the scheduler keeps alive for as long as it runs.
static CURRENT: AtomicPtr<Thread> = AtomicPtr::new(core::ptr::null_mut());

/// The running thread.
#[inline(always)]
pub fn current() -> Arc<Thread> {
    let current = CURRENT.load(Ordering::Relaxed);
    assert!(!current.is_null(), "the scheduler runs");
    // SAFETY: CURRENT points at the thread the scheduler's `current` holds
    // an Arc to for as long as it runs (it was made from that Arc's
    // allocation); taking one more reference keeps it alive for the caller
    // too.
    unsafe {
        Arc::increment_strong_count(current);
        Arc::from_raw(current)
    }
}

/// Runs `f` on the running thread, borrowed: no reference counted (the
/// IPC fast paths take one only where they keep the thread). `f` may
/// block and run again: the thread lives on meanwhile (the scheduler's
/// table holds it while it is known, which it is while it runs).
#[inline(always)]
pub fn with_current<R>(f: impl FnOnce(&Thread) -> R) -> R {
    let current = CURRENT.load(Ordering::Relaxed);
    assert!(!current.is_null(), "the scheduler runs");
    // SAFETY: as in `current`: CURRENT points at the running thread, which
    // the scheduler keeps alive for as long as it runs — and the borrow is
    // used only by this thread, inside this call.
    f(unsafe { &*current })
}

impl Schedulable for Thread {
    fn task(&self) -> &Task {
        &self.task
    }

    #[inline]
    fn switch_in(&self) {
        CURRENT.store(self as *const Thread as *mut Thread, Ordering::Relaxed);
        if let Some(process) = &self.process {
            process.activate();
            crate::arch::x86_64::cpu::set_user_fs(self.task.tls.load(Ordering::Relaxed));
        }
    }
}

impl core::ops::Deref for Thread {
    type Target = Task;
    fn deref(&self) -> &Task {
        &self.task
    }
}

impl Thread {
    fn with(task: Task, process: Option<Arc<Process>>) -> Arc<Thread> {
        Thread::charged(task, process, None)
    }

    fn charged(
        task: Task,
        process: Option<Arc<Process>>,
        charge: Option<kcore::limits::Charge>,
    ) -> Arc<Thread> {
        super::limits::thread_made();
        Arc::new(Thread {
            task,
            process,
            ipc: Mutex::new(Ipc::default()),
            ipc_buffer: AtomicU64::new(0),
            control: Mutex::new(Control::default()),
            _charge: charge,
            handle_refs: core::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// A user thread of `process` that does not run until `Task::start`,
    /// paid for by `charge` (its creator's).
    pub fn new_unstarted(
        process: &Arc<Process>,
        charge: kcore::limits::Charge,
    ) -> Result<Arc<Thread>, NoMemory> {
        let task = Task::new_unstarted(process.name.clone())?;
        Ok(Thread::charged(task, Some(process.clone()), Some(charge)))
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
        let task = Task::new_user(process.name.clone(), entry, rsp, rdi, rsi)?;
        Ok(Thread::with(task, Some(process.clone())))
    }

    /// A kernel thread running `entry(arg)`, which must never return.
    pub fn new_kernel(
        name: &str,
        entry: extern "C" fn(u64) -> !,
        arg: u64,
    ) -> Result<Arc<Thread>, NoMemory> {
        Ok(Thread::with(Task::new_kernel(name, entry, arg)?, None))
    }

    /// The thread the CPU booted on, which becomes the idle thread.
    pub fn boot(stack: KernelStack) -> Arc<Thread> {
        Thread::with(Task::boot(stack), None)
    }

    /// Starts a kernel thread running `entry(arg)` at the default policy.
    pub fn spawn_kernel(
        name: &str,
        entry: extern "C" fn(u64) -> !,
        arg: u64,
    ) -> Result<(), kcore::sched::SchedError> {
        let thread = Thread::new_kernel(name, entry, arg)
            .map_err(|_| kcore::sched::SchedError::NoSuchThread)?;
        crate::sched::spawn(thread, kcore::sched::Policy::default())
    }

    /// The reply right to this thread's current call, made by `fault`
    /// (the kernel's page-fault call) or not.
    pub fn caller(self: &Arc<Thread>, fault: bool, seq: u64) -> Caller {
        Caller {
            thread: self.clone(),
            fault,
            seq,
            grant: None,
        }
    }

    /// The physical address of the thread's IPC buffer, if it has one
    /// mapped user-writable.
    pub fn buffer_phys(&self) -> Option<u64> {
        let buffer = self.ipc_buffer.load(Ordering::Relaxed);
        if buffer == 0 {
            return None;
        }
        let process = self.process.as_ref()?;
        process
            .with_aspace(|aspace| aspace.writable_user_page(buffer))
            .flatten()
    }

    /// The thread is exiting: its caller, if it holds a reply right, gets
    /// `PeerDied`; its own wait ends; its binding and pager go.
    pub fn exit_ipc(&self) {
        let caller = self.ipc.lock().reply_to.take();
        if let Some(caller) = caller {
            if caller.is_waiting() {
                wait::finish(&caller.thread, Err(SysError::PeerDied));
            }
        }
        wait::abort(self, SysError::PeerDied);
        let mut ipc = self.ipc.lock();
        ipc.bound = None;
        ipc.pager = None;
    }
}

impl core::fmt::Debug for Thread {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Thread({} {:?})", self.tid, self.name)
    }
}
