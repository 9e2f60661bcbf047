//! The scheduler: two spinning threads at nice 0 and nice 5 share the
//! CPU by their weights.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use libsys::abi::SysError;
use libsys::format_text;

use crate::*;

/// What the spinning threads share.
pub(crate) struct Spin {
    stop: AtomicBool,
    running: AtomicU64,
}

pub(crate) extern "C" fn spinner(arg: u64, _buffer: u64) -> ! {
    // SAFETY: `fairness` passes a pointer to a static that outlives the
    // thread.
    let spin = unsafe { &*(arg as *const Spin) };
    spin.running.fetch_add(1, Ordering::SeqCst);
    while !spin.stop.load(Ordering::Relaxed) {
        core::hint::spin_loop();
    }
    spin.running.fetch_sub(1, Ordering::SeqCst);
    libsys::thread::exit()
}

pub(crate) static SPIN: Spin = Spin {
    stop: AtomicBool::new(false),
    running: AtomicU64::new(0),
};

pub(crate) fn fairness(env: &mut Env) -> Result<(), Why> {
    let a = libsys::thread::spawn_raw(&mut env.mem, &env.me, spinner, &SPIN as *const Spin as u64)
        .step("spawn A")?;
    let b = libsys::thread::spawn_raw(&mut env.mem, &env.me, spinner, &SPIN as *const Spin as u64)
        .step("spawn B")?;
    b.set_sched(0, 5).step("nice B to 5")?;
    ensure!(
        a.set_sched(0, 20) == Err(SysError::InvalidArgument),
        "nice 20 was accepted"
    );
    ensure!(
        a.set_sched(1, 100) == Err(SysError::InvalidArgument),
        "RT priority 100 was accepted"
    );
    sleep_ms(20);
    let (a0, b0) = (a.stats().step("stats A")?, b.stats().step("stats B")?);
    sleep_ms(1000);
    let (a1, b1) = (a.stats().step("stats A")?, b.stats().step("stats B")?);
    SPIN.stop.store(true, Ordering::Relaxed);
    let (ra, rb) = (
        a1.sum_exec_runtime - a0.sum_exec_runtime,
        b1.sum_exec_runtime - b0.sum_exec_runtime,
    );
    ensure!(rb > 0, "the nice-5 thread got no CPU");
    // 1024 / 335 = 3.057; within 10%: 2.75 .. 3.36.
    let ratio_x1000 = ra * 1000 / rb;
    libsys::println!(
        "fairness: nice 0 ran {} ms, nice 5 ran {} ms: ratio {}.{:03} (weights 3.057)",
        ra / 1_000_000,
        rb / 1_000_000,
        ratio_x1000 / 1000,
        ratio_x1000 % 1000
    );
    ensure!(
        (2751..=3362).contains(&ratio_x1000),
        "CPU ratio {ratio_x1000}/1000, expected 3057 +- 10%"
    );
    ensure!(
        b1.param == 5 && a1.param == 0 && a1.policy == 0,
        "stats report policy {} nice {} / {}",
        a1.policy,
        a1.param,
        b1.param
    );
    ensure!(
        a1.nr_involuntary_switches > 0,
        "no involuntary switch counted for a spinning thread"
    );
    // Let them see `stop` and exit.
    for _ in 0..100 {
        if SPIN.running.load(Ordering::SeqCst) == 0 {
            break;
        }
        sleep_ms(5);
    }
    ensure!(
        SPIN.running.load(Ordering::SeqCst) == 0,
        "the spinning threads did not exit"
    );
    Ok(())
}
