//! Limits and reaping: what a process may make the kernel hold, and the
//! processes and threads that can never run, freed.
//!
//! Every object a program can make the kernel hold is charged, when it is
//! made, to its creator's `kcore::limits::Account` (and up the tree: the
//! model is `libsys::abi::limits`'s); the object keeps the `Charge` and
//! gives it back when it is freed, whoever frees it. The limits are set
//! per process by its creator (`process_limits_set`).
//!
//! Reaping. A process or thread that was never started runs only if
//! someone starts it, which needs a handle to it. So:
//! - a thread never started whose last handle closes is dropped from its
//!   process at once (its kernel stack and charge freed);
//! - a process none of whose threads ever started is killed when no handle
//!   names it or any of its threads;
//! - and when its creator dies (the handles may be in a cycle: a process
//!   holding a handle to itself).
//!
//! A process's own objects all go when it dies: its handle table is
//! emptied (`process::finish_death`), which drops the last reference of
//! every object only it held; objects it made that others still hold stay
//! charged to it until they are freed.
//!
//! The live counts of processes and threads are kept for `kernel_stats`,
//! with the frame allocator's and the heap's figures.

use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use libsys::abi::limits::{KernelStats, Limits, Resource, ResourceUsage};
use libsys::abi::SysError;

use super::handle::HandleCounted;
use super::process::{ExitReason, Process};
use super::thread::Thread;

/// Process and thread objects alive (not yet freed).
static LIVE_PROCESSES: AtomicU64 = AtomicU64::new(0);
static LIVE_THREADS: AtomicU64 = AtomicU64::new(0);

pub(super) fn process_made() {
    LIVE_PROCESSES.fetch_add(1, Ordering::Relaxed);
}

pub(super) fn thread_made() {
    LIVE_THREADS.fetch_add(1, Ordering::Relaxed);
}

impl Drop for Process {
    fn drop(&mut self) {
        LIVE_PROCESSES.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        LIVE_THREADS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The kernel's figures for `kernel_stats`.
pub fn kernel_stats() -> KernelStats {
    let (heap_size, heap_used) = crate::mem::heap::usage();
    KernelStats {
        free_frames: crate::mem::frames::free_frames(),
        heap_used,
        heap_size,
        processes: LIVE_PROCESSES.load(Ordering::Relaxed),
        threads: LIVE_THREADS.load(Ordering::Relaxed),
    }
}

impl Process {
    /// Its limits from now on: each at most `ceiling` (the setter's own),
    /// else `NotAllowed` and nothing changes.
    pub fn set_limits(&self, limits: &Limits, ceiling: &Limits) -> Result<(), SysError> {
        self.account.set_limits(limits, ceiling)?;
        let handles = limits.get(Resource::Handles) as usize;
        self.handles.lock().set_capacity(handles);
        Ok(())
    }

    /// Its limits and what is charged: for hierarchical resources, its
    /// account's; its handle table's count, and the frames its address
    /// space owns (its page tables; for a program the kernel loaded, its
    /// image and stack pages too).
    pub fn usage(&self) -> ResourceUsage {
        let mut used = self.account.used();
        used[Resource::Handles as usize] = self.handles.lock().len() as u64;
        used[Resource::PageTables as usize] = self.with_aspace(|a| a.frames()).unwrap_or(0);
        ResourceUsage {
            limits: self.account.limits(),
            used,
        }
    }

    /// Whether none of its threads has started (it never ran).
    fn never_ran(&self) -> bool {
        !self.is_dead() && self.threads.lock().iter().all(|t| !t.is_started())
    }

    /// Kills it if it never ran and nothing can ever start it: no handle
    /// names it or any of its threads.
    fn reap_if_unreachable(self: &Arc<Process>) {
        if self.handle_refs.load(Ordering::Relaxed) != 0 || !self.never_ran() {
            return;
        }
        let reachable = self
            .threads
            .lock()
            .iter()
            .any(|t| t.handle_refs.load(Ordering::Relaxed) != 0);
        if !reachable {
            self.kill(ExitReason::Killed { by: 0 });
        }
    }
}

impl HandleCounted for Process {
    fn handle_refs(&self) -> &AtomicUsize {
        &self.handle_refs
    }

    fn last_handle_closed(self: &Arc<Process>) {
        self.reap_if_unreachable();
    }
}

impl HandleCounted for Thread {
    fn handle_refs(&self) -> &AtomicUsize {
        &self.handle_refs
    }

    /// Never started, it never will be: dropped from its process (whose
    /// other threads, and handles, may still make it run).
    fn last_handle_closed(self: &Arc<Thread>) {
        if self.is_started() {
            return;
        }
        let Some(process) = self.process.clone() else {
            return;
        };
        let removed = {
            let mut threads = process.threads.lock();
            let before = threads.len();
            threads.retain(|t| t.tid != self.tid);
            threads.len() != before
        };
        if removed {
            process
                .stack_frames
                .fetch_sub(self.frames(), Ordering::Relaxed);
        }
        process.reap_if_unreachable();
    }
}

/// Remembers that `creator` made `child`, to kill it with the creator if
/// it never ran (forgetting children that are gone already).
pub(super) fn remember_child(creator: &Process, child: &Arc<Process>) {
    let mut created = creator.created.lock();
    created.retain(|c| c.strong_count() > 0);
    created.push(Arc::downgrade(child));
}

/// `process` died: every process it made that never ran dies too.
pub(super) fn reap_children(process: &Process) {
    let created = core::mem::take(&mut *process.created.lock());
    for child in created.iter().filter_map(Weak::upgrade) {
        if child.never_ran() {
            child.kill(ExitReason::Killed { by: process.pid });
        }
    }
}
