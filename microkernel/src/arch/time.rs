//! Time in the kernel: the time-stamp counter, its rate, and the tick.
//!
//! The TSC counts at a rate the CPU does not report, so at boot it is
//! measured against the 8254 PIT over a 10 ms window (together with the
//! local APIC timer's rate, see `arch::x86_64::pit`). The local APIC timer
//! then interrupts periodically at [`HZ`]; each interrupt is a *tick*
//! (LKD ch. 11), which advances `jiffies` and drives the scheduler.
//!
//! Lost ticks: under emulation (or with interrupts held off) a periodic
//! interrupt can be late, and a late timer interrupt in QEMU fires once,
//! not once per missed period. So, as Linux's `tick_do_update_jiffies64`
//! does, a tick does not just add one: it adds however many whole tick
//! periods the TSC says have passed since the last update. The thresholds
//! sit half a period away from the interrupts, so jitter in either
//! direction never double-counts or skips a tick.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::x86_64::{apic, pit};

/// Ticks per second: the ABI's one definition (a build constant, 250 by
/// default), which `clock` reports to user space.
pub use libsys::abi::HZ;

static JIFFIES: AtomicU64 = AtomicU64::new(0);
static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static TSC_AT_START: AtomicU64 = AtomicU64::new(0);
static TSC_PER_JIFFY: AtomicU64 = AtomicU64::new(0);
/// The TSC value at which `jiffies` next advances.
static NEXT_JIFFY_TSC: AtomicU64 = AtomicU64::new(u64::MAX);
/// Timer interrupts taken (each may advance jiffies by more than one).
static TICKS: AtomicU64 = AtomicU64::new(0);
/// The TSC when the kernel was entered.
static KERNEL_ENTRY_TSC: AtomicU64 = AtomicU64::new(0);

/// Records the kernel's entry time (first thing in `kmain`).
pub fn mark_kernel_entry() {
    KERNEL_ENTRY_TSC.store(rdtsc(), Ordering::Relaxed);
}

/// TSC ticks since the kernel was entered.
pub fn since_kernel_entry() -> u64 {
    rdtsc().saturating_sub(KERNEL_ENTRY_TSC.load(Ordering::Relaxed))
}

/// Converts TSC ticks to nanoseconds (0 before calibration).
pub fn tsc_to_ns(ticks: u64) -> u64 {
    let hz = tsc_hz();
    if hz == 0 {
        return 0;
    }
    (u128::from(ticks) * 1_000_000_000 / u128::from(hz)) as u64
}

/// Converts TSC ticks to microseconds (0 before calibration).
pub fn tsc_to_us(ticks: u64) -> u64 {
    (u128::from(ticks) * 1_000_000 / u128::from(tsc_hz().max(1))) as u64
}

/// The time-stamp counter.
pub fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` only reads the counter (CR4.TSD is clear, and the
    // kernel runs in ring 0 anyway).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Timer ticks since the tick started.
pub fn jiffies() -> u64 {
    JIFFIES.load(Ordering::Relaxed)
}

/// Timer interrupts taken.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// TSC ticks per second, as measured at boot (0 before).
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Nanoseconds since the tick started, from the TSC.
pub fn now_ns() -> u64 {
    let hz = tsc_hz().max(1);
    let elapsed = rdtsc().saturating_sub(TSC_AT_START.load(Ordering::Relaxed));
    (u128::from(elapsed) * 1_000_000_000 / u128::from(hz)) as u64
}

/// What calibration measured.
#[derive(Clone, Copy, Debug)]
pub struct Calibration {
    pub tsc_hz: u64,
    /// Local APIC timer counts per second (bus clock / 16).
    pub apic_timer_hz: u64,
}

/// Measures the TSC and the local APIC timer against the PIT, in
/// [`SAMPLES`] windows of 10 ms, and keeps the median of each. Interrupts
/// must be off.
///
/// Why several: under emulation the virtual CPU can be descheduled by the
/// host in the middle of a window (between the PIT's end and the TSC read,
/// say), which skews that one window by the time it was away — 10-20 %
/// on a busy host, which would then skew every clock the system keeps.
/// The median of five ignores up to two such windows.
pub fn calibrate() -> Calibration {
    const WINDOW_MS: u64 = 10;
    let mut tsc_hz = [0u64; SAMPLES];
    let mut apic_hz = [0u64; SAMPLES];
    for (tsc_sample, apic_sample) in tsc_hz.iter_mut().zip(apic_hz.iter_mut()) {
        let mut tsc_start = 0;
        let (tsc, apic_counts) = pit::measure(
            WINDOW_MS,
            || {
                apic::timer_start_oneshot();
                tsc_start = rdtsc();
            },
            || (rdtsc(), u32::MAX - apic::timer_current()),
        );
        *tsc_sample = (tsc - tsc_start) * 1000 / WINDOW_MS;
        *apic_sample = u64::from(apic_counts) * 1000 / WINDOW_MS;
    }
    tsc_hz.sort_unstable();
    apic_hz.sort_unstable();
    Calibration {
        tsc_hz: tsc_hz[SAMPLES / 2],
        apic_timer_hz: apic_hz[SAMPLES / 2],
    }
}

/// Calibration windows (an odd number: the median is one of them).
const SAMPLES: usize = 5;

/// Starts the periodic tick at [`HZ`].
pub fn start_tick(calibration: Calibration) {
    let per_jiffy = (calibration.tsc_hz / HZ).max(1);
    TSC_HZ.store(calibration.tsc_hz, Ordering::Relaxed);
    TSC_PER_JIFFY.store(per_jiffy, Ordering::Relaxed);
    let now = rdtsc();
    TSC_AT_START.store(now, Ordering::Relaxed);
    NEXT_JIFFY_TSC.store(now + per_jiffy / 2, Ordering::Relaxed);
    let count = (calibration.apic_timer_hz / HZ).clamp(1, u64::from(u32::MAX));
    apic::timer_start_periodic(count as u32);
}

/// The tick: called from the timer interrupt. Advances `jiffies` by the
/// whole periods that have passed (see the module documentation).
pub fn tick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
    let per_jiffy = TSC_PER_JIFFY.load(Ordering::Relaxed);
    let mut next = NEXT_JIFFY_TSC.load(Ordering::Relaxed);
    let now = rdtsc();
    if per_jiffy == 0 || now < next {
        return;
    }
    let periods = (now - next) / per_jiffy + 1;
    next += periods * per_jiffy;
    NEXT_JIFFY_TSC.store(next, Ordering::Relaxed);
    JIFFIES.fetch_add(periods, Ordering::Relaxed);
}
