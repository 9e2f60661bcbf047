//! The local APIC: interrupt acceptance, end-of-interrupt, and the timer
//! that drives the tick.
//!
//! EOI discipline: every interrupt the local APIC delivers (the timer, and
//! later I/O APIC lines) is acknowledged by writing the EOI register once,
//! at the end of its handler, with interrupts still disabled (interrupt
//! gates clear IF), so the same vector cannot nest. The spurious vector is
//! never acknowledged: the APIC did not set it in-service.

use core::sync::atomic::{AtomicU64, Ordering};

pub const TIMER_VECTOR: u8 = 0x30;
pub const SPURIOUS_VECTOR: u8 = 0xff;

const REG_ID: u64 = 0x20;
const REG_TPR: u64 = 0x80;
const REG_EOI: u64 = 0xb0;
const REG_SVR: u64 = 0xf0;
const REG_LVT_TIMER: u64 = 0x320;
const REG_TIMER_INITIAL: u64 = 0x380;
const REG_TIMER_CURRENT: u64 = 0x390;
const REG_TIMER_DIVIDE: u64 = 0x3e0;

const LVT_MASKED: u32 = 1 << 16;
const LVT_PERIODIC: u32 = 1 << 17;
const DIVIDE_BY_16: u32 = 0b0011;

/// Kernel virtual address of the local APIC's registers (0 before init).
static BASE: AtomicU64 = AtomicU64::new(0);

fn read(reg: u64) -> u32 {
    let base = BASE.load(Ordering::Relaxed);
    // SAFETY: `base` maps the local APIC's 4 KiB register page, uncached
    // (init); registers are 32-bit at 16-byte offsets.
    unsafe { ((base + reg) as *const u32).read_volatile() }
}

fn write(reg: u64, value: u32) {
    let base = BASE.load(Ordering::Relaxed);
    // SAFETY: as in `read`.
    unsafe { ((base + reg) as *mut u32).write_volatile(value) }
}

/// Enables the local APIC whose registers are mapped at `base`.
pub fn enable(base: u64) {
    BASE.store(base, Ordering::Relaxed);
    write(REG_TPR, 0);
    write(REG_SVR, 0x100 | u32::from(SPURIOUS_VECTOR));
}

/// This CPU's local APIC id (the destination I/O APICs deliver to).
pub fn id() -> u8 {
    (read(REG_ID) >> 24) as u8
}

/// Acknowledges the interrupt being handled.
pub fn eoi() {
    if BASE.load(Ordering::Relaxed) != 0 {
        write(REG_EOI, 0);
    }
}

/// Starts the timer counting down once from its maximum (masked), for
/// calibration; returns the start value.
pub fn timer_start_oneshot() -> u32 {
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, LVT_MASKED | u32::from(TIMER_VECTOR));
    write(REG_TIMER_INITIAL, u32::MAX);
    u32::MAX
}

pub fn timer_current() -> u32 {
    read(REG_TIMER_CURRENT)
}

/// Runs the timer periodically, interrupting every `count` timer ticks
/// (bus clock / 16).
pub fn timer_start_periodic(count: u32) {
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, LVT_PERIODIC | u32::from(TIMER_VECTOR));
    write(REG_TIMER_INITIAL, count.max(1));
}
