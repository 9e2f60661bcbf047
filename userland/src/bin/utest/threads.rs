//! Threads in one process: each with its own IPC buffer, and `libsys`'s
//! `Mutex` and `Condvar` between them.

use core::sync::atomic::{AtomicU64, Ordering};

use libsys::abi::{SysError, Syscall};
use libsys::format_text;
use libsys::ipc::{self};
use libsys::syscall::{self, call6};

use crate::*;

pub(crate) fn mutex_contention() -> Result<(), Why> {
    use libsys::sync::Mutex;
    const ROUNDS: u64 = 3000;
    static COUNT: Mutex<u64> = Mutex::new(0);
    let workers = (0..3)
        .map(|_| {
            libsys::thread::spawn(|| {
                for i in 0..ROUNDS {
                    let mut count = COUNT.lock();
                    let seen = *count;
                    if i % 64 == 0 {
                        // Give up the CPU inside the critical section, so
                        // the others find the lock held and must wait.
                        syscall::yield_now();
                    }
                    *count = seen + 1;
                }
            })
        })
        .collect::<alloc::vec::Vec<_>>();
    for worker in workers {
        worker.step("spawn")?.join().step("join")?;
    }
    let total = *COUNT.lock();
    ensure!(
        total == 3 * ROUNDS,
        "{total} updates, expected {}",
        3 * ROUNDS
    );
    Ok(())
}

pub(crate) fn condvar_handoff() -> Result<(), Why> {
    use libsys::sync::{Condvar, Mutex};
    const ITEMS: u64 = 200;
    /// (items made, items taken, the sum taken).
    static STATE: Mutex<(u64, u64, u64)> = Mutex::new((0, 0, 0));
    static MORE: Condvar = Condvar::new();
    let consumer = libsys::thread::spawn(|| {
        let mut state = STATE.lock();
        while state.1 < ITEMS {
            while state.0 == state.1 {
                state = MORE.wait(state);
            }
            state.1 += 1;
            state.2 += state.1;
        }
    })
    .step("spawn the consumer")?;
    for _ in 0..ITEMS {
        STATE.lock().0 += 1;
        MORE.notify_one();
        if STATE.lock().0 % 16 == 0 {
            syscall::yield_now();
        }
    }
    consumer.join().step("join")?;
    let (made, taken, sum) = *STATE.lock();
    ensure!(
        made == ITEMS && taken == ITEMS && sum == ITEMS * (ITEMS + 1) / 2,
        "made {made}, taken {taken}, sum {sum}"
    );
    let start = libsys::time::uptime_ns();
    let (guard, timed_out) = MORE.wait_timeout(STATE.lock(), 20_000_000);
    drop(guard);
    let waited = libsys::time::uptime_ns() - start;
    ensure!(
        timed_out && waited >= 16_000_000,
        "wait_timeout(20 ms) returned after {waited} ns, timed out: {timed_out}"
    );
    Ok(())
}

pub(crate) fn thread_buffers() -> Result<(), Why> {
    static SEEN: AtomicU64 = AtomicU64::new(0);
    // SAFETY: only its address is taken.
    let main_buffer = unsafe { ipc::buffer() }.as_ptr() as u64;
    ensure!(
        main_buffer == libsys::abi::IPC_BUFFER_ADDR,
        "the main thread's buffer is at {main_buffer:#x}"
    );
    let thread = libsys::thread::spawn(|| {
        // SAFETY: this thread's own buffer, not held across a call.
        let buffer = unsafe { ipc::buffer() };
        buffer[0] = 0x5a;
        SEEN.store(buffer.as_ptr() as u64, Ordering::Relaxed);
    })
    .step("spawn a thread")?;
    thread.join().step("join it")?;
    let seen = SEEN.load(Ordering::Relaxed);
    ensure!(
        seen != 0 && seen != main_buffer && seen % libsys::abi::PAGE_SIZE == 0,
        "the thread's buffer was at {seen:#x}"
    );
    for bad in [0xffff_8000_0000_0000u64, 0x0000_8000_0000_0000, u64::MAX] {
        let result = call6(Syscall::TlsSet, [bad, 0, 0, 0, 0, 0]);
        ensure!(
            result == Err(SysError::BadAddress),
            "tls_set({bad:#x}) gave {result:?}"
        );
    }
    // SAFETY: as above.
    let still = unsafe { ipc::buffer() }.as_ptr() as u64;
    ensure!(still == main_buffer, "a refused tls_set changed the block");
    Ok(())
}
