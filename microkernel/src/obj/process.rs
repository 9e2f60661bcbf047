//! Processes: an address space, a handle table, and the threads that run
//! in them.
//!
//! A process is made two ways: by the kernel from an ELF image (the first
//! process; the test programs) with one running thread, or empty by
//! `process_create`, for its creator to fill with `map`, `handle_give` and
//! `thread_create`/`thread_start` (how `init` builds the servers).
//!
//! It dies when its last thread exits. Killing it marks every thread and
//! ends each one's wait: each exits by itself on its way back to user mode,
//! after every kernel function on its stack has returned. The first reason
//! recorded — an `exit` status, a fault, or a kill — is what a waiter
//! learns. When the last thread is gone the address space is freed (every
//! page and page table it owned), the handle table is emptied (which may
//! tell IPC partners `PeerDied`), waiters are woken, and the process
//! lingers only as its exit reason until it is reaped.
//!
//! Accounting: `frames()` is what the kernel holds for the process (its
//! address space's frames and its threads' kernel stacks); the self-test
//! checks that a dead process's frames all come back. Its `account` is
//! what it may make the kernel hold and what it holds (`obj::limits`,
//! which also reaps the processes and threads that can never run).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Bound;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use kcore::limits::{Account, Charge};
use libsys::abi::limits::Limits;
use libsys::abi::SysError;
use libsys::abi::PAGE_SIZE;

use kcore::sched::{Policy, State};
use libsys::abi::{ProcessTime, ProcessTimes, Protection, PROCESS_TIMES_MAX};
use spin::Mutex;

use super::elfload::{self, LoadError};
use super::handle::{EndpointRef, Handles};
use super::notification::Notification;
use super::thread::{self, Thread};
use crate::arch::x86_64::gdt::{self, IoBitmap};
use crate::arch::x86_64::trap::{vector_name, TrapFrame};
use crate::mem::addrspace::{AddrSpace, AsError, USER_END};
use crate::sched::{self, wait};

pub type Pid = u32;

/// The user stack: [`USER_STACK_PAGES`] pages below [`USER_STACK_TOP`],
/// with unmapped guard pages below them (nothing is ever mapped there).
pub const USER_STACK_TOP: u64 = libsys::abi::USER_STACK_TOP;
const _: () = assert!(USER_STACK_TOP < USER_END && USER_STACK_TOP.is_multiple_of(PAGE_SIZE));
pub const USER_STACK_PAGES: u64 = 16;
/// The longest argument string a process is started with.
pub const MAX_ARGS: usize = 1024;

/// Why a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// It called `exit` with this status.
    Exited(u64),
    /// A fault in user mode killed it.
    Fault {
        vector: u64,
        error: u64,
        rip: u64,
        address: u64,
    },
    /// Another process killed it.
    Killed { by: Pid },
    /// A page fault its pager called a bus error killed it (`PAGER_BUS`).
    BusError { rip: u64, address: u64 },
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExitReason::Exited(status) => write!(f, "exited with status {status}"),
            ExitReason::Fault {
                vector,
                error,
                rip,
                address,
            } => write!(
                f,
                "killed by {} (vector {vector}, error {error:#x}) at rip {rip:#x}, address {address:#x}",
                vector_name(vector)
            ),
            ExitReason::Killed { by } => write!(f, "killed by process {by}"),
            ExitReason::BusError { rip, address } => write!(
                f,
                "killed by a bus error (a file page past the end of its file) at rip {rip:#x}, address {address:#x}"
            ),
        }
    }
}

/// Notifications one process's death may signal (`process_watch`).
pub const WATCHERS_MAX: usize = 64;

pub struct Process {
    pub pid: Pid,
    pub name: String,
    /// `None` once the process has died.
    aspace: Mutex<Option<AddrSpace>>,
    /// The address space's root, for the context switch (no lock needed).
    root: u64,
    pub handles: Mutex<Handles>,
    pub(super) threads: Mutex<Vec<Arc<Thread>>>,
    exit: Mutex<Option<ExitReason>>,
    /// Kernel threads waiting for the process to die.
    waiters: Mutex<Vec<Arc<Thread>>>,
    /// Frames of the threads' kernel stacks.
    pub(super) stack_frames: AtomicU64,
    /// The ports it may use, once it has been granted any.
    pub io_bitmap: Mutex<Option<Box<IoBitmap>>>,
    /// Which bitmap a switch to the process loads (`gdt::load_io_bitmap`):
    /// its pid once it has been granted ports, else 0 (every port denied,
    /// without a look at `io_bitmap`).
    io_key: AtomicU32,
    /// A used reply object kept, charged still, for the next
    /// `reply_save` (`obj::reply`).
    pub(super) spare_reply: Mutex<Option<Arc<super::reply::Reply>>>,
    /// Notifications to signal (with these bits) when it dies, each
    /// charged to the process that set the watch.
    watchers: Mutex<Vec<(Arc<Notification>, u64, Charge)>>,
    /// Where its threads' user exceptions go, with the badge to send them
    /// with (`exception_set`; `ipc::exception`).
    pub exception: Mutex<Option<(EndpointRef, u64)>>,
    /// Reaped automatically when it dies (no one waits for it).
    autoreap: bool,
    /// What it may make the kernel hold, and holds (`obj::limits`).
    pub account: Arc<Account>,
    /// What its creator's account paid for it (none for the kernel's).
    _charge: Option<Charge>,
    /// Handles that name it (`handle::Counted`).
    pub(super) handle_refs: AtomicUsize,
    /// Processes it made that may not have run yet: killed when it dies.
    pub(super) created: Mutex<Vec<alloc::sync::Weak<Process>>>,
    /// Nanoseconds on the CPU of its threads that have ended.
    ended_threads_ns: AtomicU64,
    /// When it was made (nanoseconds since boot).
    started_ns: u64,
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Process({} {:?})", self.pid, self.name)
    }
}

static PROCESSES: Mutex<BTreeMap<Pid, Arc<Process>>> = Mutex::new(BTreeMap::new());
static NEXT_PID: AtomicU64 = AtomicU64::new(1);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpawnError {
    Load(LoadError),
    Memory(AsError),
    ArgsTooLong,
    NoMemory,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Load(e) => write!(f, "{e}"),
            SpawnError::Memory(e) => write!(f, "cannot map the process: {e:?}"),
            SpawnError::ArgsTooLong => write!(f, "arguments longer than {MAX_ARGS} bytes"),
            SpawnError::NoMemory => write!(f, "out of memory"),
        }
    }
}

impl Process {
    /// A process with `aspace`, no threads and no handles, registered in
    /// the process table.
    fn new(
        name: &str,
        aspace: AddrSpace,
        autoreap: bool,
        account: Arc<Account>,
        charge: Option<Charge>,
    ) -> Arc<Process> {
        let limits = account.limits();
        let handles = limits.get(libsys::abi::limits::Resource::Handles) as usize;
        super::limits::process_made();
        let process = Arc::new(Process {
            pid: NEXT_PID.fetch_add(1, Ordering::Relaxed) as Pid,
            name: name.into(),
            root: aspace.root(),
            aspace: Mutex::new(Some(aspace)),
            handles: Mutex::new(Handles::new(handles)),
            threads: Mutex::new(Vec::new()),
            exit: Mutex::new(None),
            waiters: Mutex::new(Vec::new()),
            stack_frames: AtomicU64::new(0),
            io_bitmap: Mutex::new(None),
            io_key: AtomicU32::new(0),
            spare_reply: Mutex::new(None),
            watchers: Mutex::new(Vec::new()),
            exception: Mutex::new(None),
            autoreap,
            account,
            _charge: charge,
            handle_refs: AtomicUsize::new(0),
            created: Mutex::new(Vec::new()),
            ended_threads_ns: AtomicU64::new(0),
            started_ns: crate::arch::time::now_ns(),
        });
        PROCESSES.lock().insert(process.pid, process.clone());
        process
    }

    /// An empty process (`process_create`) made by `creator`: an address
    /// space with only the kernel half, no threads, no handles, the
    /// default limits (lowered to the creator's), charged to the creator.
    /// Reaped when it dies. `OutOfResources` at the creator's limit.
    pub fn create(name: &str, creator: &Arc<Process>) -> Result<Arc<Process>, SysError> {
        let charge = creator
            .account
            .charge(libsys::abi::limits::Resource::Processes)?;
        let account = Account::child(&creator.account, Limits::DEFAULT);
        let aspace = AddrSpace::new().map_err(|_| SysError::NoMemory)?;
        let child = Process::new(name, aspace, true, account, Some(charge));
        super::limits::remember_child(creator, &child);
        Ok(child)
    }

    /// Switches the CPU to this process's address space.
    pub fn activate(&self) {
        crate::meter_scope!(Switch);
        use x86_64::registers::control::{Cr3, Cr3Flags};
        use x86_64::structures::paging::PhysFrame;
        let root = PhysFrame::containing_address(x86_64::PhysAddr::new(self.root));
        if Cr3::read().0 != root {
            crate::meter_count!(AsSwitches, 1);
            crate::meter_trace!(AsSwitch, self.root);
            // SAFETY: a thread of this process is about to run, so the
            // process lives and `root` is its address space's PML4 (freed
            // only when its last thread has exited); the kernel half is
            // shared, so the kernel keeps running on the same mappings.
            unsafe { Cr3::write(root, Cr3Flags::empty()) };
        }
        gdt::load_io_bitmap(self.io_key.load(Ordering::Relaxed), &self.io_bitmap);
    }

    /// Runs `f` with the address space, or `None` when the process is dead.
    pub fn with_aspace<T>(&self, f: impl FnOnce(&mut AddrSpace) -> T) -> Option<T> {
        self.aspace.lock().as_mut().map(f)
    }

    /// Frames the kernel holds for this process.
    pub fn frames(&self) -> u64 {
        let aspace = self.aspace.lock().as_ref().map_or(0, |a| a.frames());
        aspace + self.stack_frames.load(Ordering::Relaxed)
    }

    pub fn exit_reason(&self) -> Option<ExitReason> {
        *self.exit.lock()
    }

    pub fn is_dead(&self) -> bool {
        self.aspace.lock().is_none()
    }

    /// Threads not yet ended.
    pub fn thread_count(&self) -> usize {
        self.threads.lock().len()
    }

    /// Adds a thread (made by `Thread::new_*` for this process).
    pub fn add_thread(&self, thread: &Arc<Thread>) -> Result<(), libsys::abi::SysError> {
        if self.is_dead() || self.exit_reason().is_some() {
            return Err(libsys::abi::SysError::PeerDied);
        }
        self.threads.lock().push(thread.clone());
        self.stack_frames
            .fetch_add(thread.frames(), Ordering::Relaxed);
        Ok(())
    }

    /// Records why the process ends (the first reason wins) and kills every
    /// thread: threads never started are dropped at once, waiting ones have
    /// their waits ended, and each exits on its way back to user mode. A
    /// process left without threads dies now.
    pub fn kill(self: &Arc<Process>, reason: ExitReason) {
        {
            let mut exit = self.exit.lock();
            if exit.is_none() {
                *exit = Some(reason);
            }
        }
        let threads = self.threads.lock().clone();
        if threads.is_empty() && !self.is_dead() {
            // Never given a thread (a process being built, say): nothing
            // will ever exit to end it, so it ends now.
            finish_death(self);
            return;
        }
        for thread in threads {
            thread.mark_killed();
            if thread.is_started() {
                wait::abort(&thread, libsys::abi::SysError::PeerDied);
                sched::wake(&thread);
            } else {
                thread_exited(self, &thread);
            }
        }
    }

    /// Signals `bits` of `notification` when the process dies (now, if it
    /// is dead already). Watching again through the same notification adds
    /// the bits to its entry; more than [`WATCHERS_MAX`] notifications are
    /// `OutOfResources` (the list is kernel memory any holder of the
    /// process's handle could otherwise grow without end).
    /// A new entry is charged to `watcher` (the caller's account):
    /// `OutOfResources` at its `Watches` limit too.
    pub fn watch(
        &self,
        notification: Arc<Notification>,
        bits: u64,
        watcher: &Arc<Account>,
    ) -> Result<(), SysError> {
        let mut watchers = self.watchers.lock();
        if self.is_dead() {
            drop(watchers);
            notification.signal(bits);
        } else if let Some(entry) = watchers
            .iter_mut()
            .find(|(n, _, _)| Arc::ptr_eq(n, &notification))
        {
            entry.1 |= bits;
        } else if watchers.len() >= WATCHERS_MAX {
            return Err(SysError::OutOfResources);
        } else {
            let charge = watcher.charge(libsys::abi::limits::Resource::Watches)?;
            watchers.push((notification, bits, charge));
        }
        Ok(())
    }

    /// How it ended, for `process_status`.
    pub fn status(&self) -> libsys::abi::ProcessStatus {
        use libsys::abi::ProcessStatus;
        if !self.is_dead() {
            return ProcessStatus::Alive;
        }
        match self.exit_reason().unwrap_or(ExitReason::Exited(0)) {
            ExitReason::Exited(status) => ProcessStatus::Exited(status),
            ExitReason::Fault { vector, .. } => ProcessStatus::Fault(vector),
            ExitReason::Killed { by } => ProcessStatus::Killed(u64::from(by)),
            ExitReason::BusError { address, .. } => ProcessStatus::BusError(address),
        }
    }

    /// Opens ports `first .. first + count` to this process.
    pub fn grant_ports(&self, first: u16, count: u32) {
        let mut bitmap = self.io_bitmap.lock();
        let bits = bitmap.get_or_insert_with(|| Box::new([0xff; 8192]));
        for port in u32::from(first)..u32::from(first) + count {
            bits[(port / 8) as usize] &= !(1 << (port % 8));
        }
        drop(bitmap);
        self.io_key.store(self.pid, Ordering::Relaxed);
        gdt::reload_io_bitmap(self.pid, &self.io_bitmap);
    }
}

/// Copies `args` to the top of the user stack; returns (stack pointer,
/// address of the arguments).
fn push_args(aspace: &mut AddrSpace, args: &str) -> Result<(u64, u64), SpawnError> {
    let at = (USER_STACK_TOP - args.len() as u64) & !0xf;
    let mut done = 0;
    while done < args.len() {
        let addr = at + done as u64;
        let page_left = (PAGE_SIZE - addr % PAGE_SIZE) as usize;
        let n = page_left.min(args.len() - done);
        let mapping = aspace
            .translate(addr)
            .ok_or(SpawnError::Memory(AsError::NotMapped(addr)))?;
        // SAFETY: the page is a fresh stack page of this new process (RAM
        // the HHDM maps); `n` bytes stay inside it.
        unsafe {
            core::ptr::copy_nonoverlapping(
                args.as_ptr().add(done),
                crate::mem::kspace::phys_to_virt::<u8>(mapping.phys),
                n,
            )
        };
        done += n;
    }
    // As if `_start` had been called: the return address slot is 0.
    Ok((at - 8, at))
}

/// Creates a process from ELF `image`, named `name`, whose first thread
/// starts at the entry point with `rdi` = the address of `args` (copied to
/// its stack) and `rsi` = its length. `prepare` may give it handles before
/// its thread is made runnable.
pub fn spawn(
    name: &str,
    image: &[u8],
    args: &str,
    autoreap: bool,
    prepare: impl FnOnce(&Arc<Process>, &Arc<Thread>) -> Result<(), SpawnError>,
) -> Result<Arc<Process>, SpawnError> {
    if args.len() > MAX_ARGS {
        return Err(SpawnError::ArgsTooLong);
    }
    let mut aspace = AddrSpace::new().map_err(SpawnError::Memory)?;
    let entry = elfload::load(&mut aspace, image).map_err(SpawnError::Load)?;
    for page in 0..USER_STACK_PAGES {
        let virt = USER_STACK_TOP - (page + 1) * PAGE_SIZE;
        aspace
            .map_zeroed(virt, Protection::READ | Protection::WRITE)
            .map_err(SpawnError::Memory)?;
    }
    let (rsp, args_at) = push_args(&mut aspace, args)?;
    aspace
        .map_zeroed(
            libsys::abi::IPC_BUFFER_ADDR,
            Protection::READ | Protection::WRITE,
        )
        .map_err(SpawnError::Memory)?;
    let account = Account::root(Limits::ROOT);
    let process = Process::new(name, aspace, autoreap, account, None);
    let started = Thread::new_user(&process, entry, rsp, args_at, args.len() as u64)
        .map_err(|_| SpawnError::NoMemory)
        .and_then(|thread| {
            process
                .add_thread(&thread)
                .map_err(|_| SpawnError::NoMemory)?;
            thread
                .ipc_buffer
                .store(libsys::abi::IPC_BUFFER_ADDR, Ordering::Relaxed);
            prepare(&process, &thread)?;
            sched::spawn(thread, Policy::default()).map_err(|_| SpawnError::NoMemory)
        });
    if let Err(e) = started {
        process.kill(ExitReason::Exited(0));
        finish_death(&process);
        PROCESSES.lock().remove(&process.pid);
        return Err(e);
    }
    Ok(process)
}

/// Ends the current thread; when it is its process's last, the process
/// dies (see the module documentation). Never returns.
pub fn exit_current_thread() -> ! {
    {
        let thread = thread::current();
        thread.exit_ipc();
        if let Some(process) = thread.process.clone() {
            thread_exited(&process, &thread);
        }
    }
    sched::exit_current()
}

/// Bookkeeping for a thread of `process` that is exiting (or was never
/// started and is dropped).
pub(super) fn thread_exited(process: &Arc<Process>, thread: &Arc<Thread>) {
    let last = {
        let mut threads = process.threads.lock();
        let before = threads.len();
        threads.retain(|t| t.tid != thread.tid);
        if threads.len() == before {
            return;
        }
        threads.is_empty()
    };
    // Its time stays the process's (`times_after`); a thread never
    // started has none.
    if let Some(stats) = sched::stats(thread) {
        process
            .ended_threads_ns
            .fetch_add(stats.sum_exec_runtime, Ordering::Relaxed);
    }
    process
        .stack_frames
        .fetch_sub(thread.frames(), Ordering::Relaxed);
    if last {
        finish_death(process);
    }
}

/// The process has no threads left: frees its memory and handles, wakes
/// whoever waits for it.
fn finish_death(process: &Arc<Process>) {
    let freed = process.frames();
    let aspace = process.aspace.lock().take();
    drop(aspace);
    // Emptied outside the lock: closing handles can wake IPC partners.
    let entries = process.handles.lock().drain();
    drop(entries);
    process.io_key.store(0, Ordering::Relaxed);
    *process.io_bitmap.lock() = None;
    gdt::forget_io_bitmap(process.pid);
    // The spare reply object's charge goes back to the account.
    drop(process.spare_reply.lock().take());
    crate::obj::irq::prune_all();
    crate::obj::console::process_died(process.pid);
    let reason = {
        let mut exit = process.exit.lock();
        *exit.get_or_insert(ExitReason::Exited(0))
    };
    if let ExitReason::Exited(status) = reason {
        crate::printk!(
            Info,
            "{}[{}]: exited with status {status}; {freed} frames freed",
            process.name,
            process.pid,
        );
    }
    let waiters = core::mem::take(&mut *process.waiters.lock());
    for waiter in waiters {
        sched::wake(&waiter);
    }
    let watchers = core::mem::take(&mut *process.watchers.lock());
    for (notification, bits, _charge) in watchers {
        notification.signal(bits);
    }
    super::limits::reap_children(process);
    if process.autoreap {
        PROCESSES.lock().remove(&process.pid);
    }
}

/// The current thread's process, if it is a user thread.
fn current_process() -> Option<Arc<Process>> {
    thread::current().process.clone()
}

/// The `exit` system call: records the status and ends the process.
pub fn exit_current(status: u64) -> ! {
    if let Some(process) = current_process() {
        process.kill(ExitReason::Exited(status));
    }
    exit_current_thread()
}

/// A user-mode exception: kills the current process with one log line
/// naming it and the fault, and never returns to it.
pub fn kill_current_for_fault(frame: &TrapFrame, address: u64) -> ! {
    kill_current_for(ExitReason::Fault {
        vector: frame.vector,
        error: frame.error_code,
        rip: frame.rip,
        address,
    })
}

/// Kills the current process for a bus error at `address` (a page fault
/// its pager answered `PAGER_BUS`) and exits the thread.
pub fn kill_current_for_bus_error(frame: &TrapFrame, address: u64) -> ! {
    kill_current_for(ExitReason::BusError {
        rip: frame.rip,
        address,
    })
}

fn kill_current_for(reason: ExitReason) -> ! {
    if let Some(process) = current_process() {
        crate::printk!(Err, "{}[{}]: {reason}", process.name, process.pid);
        process.kill(reason);
    }
    exit_current_thread()
}

/// Exits the current thread if it was killed; called on every way back to
/// user mode.
#[inline]
pub fn exit_if_killed() {
    if sched::current_killed() {
        exit_current_thread();
    }
}

/// Blocks the calling kernel thread until `process` has died; returns why
/// it died and removes it from the process table.
pub fn wait(process: &Arc<Process>) -> ExitReason {
    loop {
        if process.is_dead() {
            PROCESSES.lock().remove(&process.pid);
            return process.exit_reason().unwrap_or(ExitReason::Exited(0));
        }
        process.waiters.lock().push(thread::current());
        sched::block_current();
    }
}

/// The CPU time of up to [`PROCESS_TIMES_MAX`] processes (alive or not
/// yet reaped) with pids above `after`, in pid order: what
/// `process_times` reports.
pub fn times_after(after: u64) -> ProcessTimes {
    let first = match Pid::try_from(after) {
        Ok(pid) => Bound::Excluded(pid),
        Err(_) => return ProcessTimes::default(),
    };
    // Taken out of the table first: a thread's figures need the
    // scheduler's lock, never taken inside the table's.
    let processes: Vec<Arc<Process>> = PROCESSES
        .lock()
        .range((first, Bound::Unbounded))
        .take(PROCESS_TIMES_MAX)
        .map(|(_, p)| p.clone())
        .collect();
    let mut times = ProcessTimes::default();
    for (slot, process) in times.entries.iter_mut().zip(&processes) {
        let threads = process.threads.lock().clone();
        let stats: Vec<_> = threads.iter().filter_map(|t| sched::stats(t)).collect();
        let mut name = [0u8; 16];
        let n = process.name.len().min(name.len());
        name[..n].copy_from_slice(&process.name.as_bytes()[..n]);
        *slot = ProcessTime {
            pid: u64::from(process.pid),
            cpu_ns: process.ended_threads_ns.load(Ordering::Relaxed)
                + stats.iter().map(|s| s.sum_exec_runtime).sum::<u64>(),
            threads: threads.len() as u64,
            running: stats.iter().filter(|s| s.state != State::Blocked).count() as u64,
            start_ns: process.started_ns,
            name,
        };
    }
    times.count = processes.len() as u64;
    times
}

/// Processes alive or not yet reaped.
pub fn count() -> usize {
    PROCESSES.lock().len()
}
