//! What a trap means: the kernel's handler for every vector but the
//! `syscall` instruction's (`arch::x86_64::trap` enters and leaves; this
//! file decides, as seL4's `api/` handles faults and interrupts beside
//! system calls).
//!
//! It depends on where the trap came from:
//! - an exception in user mode is the process's fault: a page fault goes
//!   to the thread's pager (`ipc::pager`); any other, and a page fault the
//!   pager refused, goes to the process's exception endpoint as a message
//!   (`ipc::exception`), whose verdict resumes the thread or kills the
//!   process (no endpoint: killed, with one log line);
//! - an exception in the kernel is a kernel bug: an oops (registers and a
//!   backtrace), then a panic;
//! - an interrupt is handled the same from either side; if it leaves a
//!   better thread to run (the tick, a wake-up), the scheduler switches
//!   before returning. Kernel code runs with interrupts off, so an
//!   interrupt in kernel mode can only have hit the idle loop.

use crate::arch::x86_64::apic;
use crate::arch::x86_64::ioapic::{IRQ_VECTOR_BASE, MAX_GSI};
use crate::arch::x86_64::trap::{vector_name, TrapFrame};
use crate::ipc::{exception, pager};
use crate::obj::irq;
use crate::sched;

/// The handler `arch::x86_64::trap` calls for every trap (set at boot).
pub fn handle(frame: &mut TrapFrame) {
    let vector = frame.vector as u8;
    #[cfg(feature = "meter")]
    let (user, _idle) = meter_enter(frame);
    match vector {
        // An NMI is no one's fault; a machine check is the hardware's.
        2 => crate::printk!(Warning, "NMI (rip {:#x})", frame.rip),
        18 => oops(frame),
        // A user page fault goes to the thread's pager, if it has one.
        14 if frame.is_user_mode() => {
            crate::meter_count!(PageFaults, 1);
            let address = x86_64::registers::control::Cr2::read_raw();
            pager::page_fault(frame, address);
        }
        0..=31 if frame.is_user_mode() => exception::user_exception(frame, 0),
        // A breakpoint in the kernel (the self-test's) resumes after the
        // int3 instruction; the frame's rip already points there.
        3 => {}
        // Exceptions from the kernel are kernel bugs: an oops.
        0..=31 => oops(frame),
        apic::TIMER_VECTOR => {
            crate::arch::time::tick();
            apic::eoi();
            sched::tick();
            sched::timeout::expire();
            crate::obj::console::signal_new_records();
        }
        // The local APIC did not mark a spurious interrupt in service: no
        // EOI. A stray from the (masked) PICs needs none from the APIC.
        apic::SPURIOUS_VECTOR | 0x20..=0x2f => {}
        v if (v as u32) >= IRQ_VECTOR_BASE as u32
            && (v as u32) < IRQ_VECTOR_BASE as u32 + MAX_GSI =>
        {
            // Masked and forwarded to the bound drivers (irq.rs), then EOI.
            irq::interrupt(u32::from(v - IRQ_VECTOR_BASE));
            apic::eoi();
        }
        // A message-signalled interrupt: edge-triggered, nothing to mask;
        // forwarded, then EOI.
        v if irq::is_msi_vector(v) => {
            irq::msi_interrupt(v);
            apic::eoi();
        }
        // Raised by software (`int n`), which the self-test does.
        _ => {}
    }
    // Preempt: a user thread, or the idle loop (interrupts on in the kernel).
    if frame.is_user_mode() || frame.rflags & (1 << 9) != 0 {
        sched::preempt_point();
    }
    // A thread killed while it was away exits instead of returning; a
    // suspension, an upcall or a `sigreturn` is done here too.
    if frame.is_user_mode() && sched::current_has_work() {
        exception::return_to_user(frame);
    }
    #[cfg(feature = "meter")]
    meter_leave(user, frame.vector);
}

/// The cost meter's entry probe (`klog::meter`): a trap from user mode
/// is a kernel entry; one from the idle loop a scope of its own.
#[cfg(feature = "meter")]
fn meter_enter(frame: &TrapFrame) -> (bool, Option<crate::klog::meter::Scope>) {
    use crate::klog::meter;
    use libsys::abi::meter::{Phase, TraceKind};
    if frame.is_user_mode() {
        meter::enter(TraceKind::TrapEnter, frame.vector);
        (true, None)
    } else {
        meter::trace(TraceKind::TrapEnter, frame.vector);
        (false, Some(meter::Scope::enter(Phase::Entry)))
    }
}

/// The exit probe: back to user mode (the stub's or a server's phase),
/// or (the idle loop) the scope ends after the event.
#[cfg(feature = "meter")]
fn meter_leave(user: bool, vector: u64) {
    use crate::klog::meter;
    use libsys::abi::meter::TraceKind;
    if user {
        meter::leave(TraceKind::TrapLeave, vector);
    } else {
        meter::trace(TraceKind::TrapLeave, vector);
    }
}

fn oops(frame: &TrapFrame) -> ! {
    let cr2 = x86_64::registers::control::Cr2::read_raw();
    crate::arch::serial::reclaim_console();
    crate::arch::serial::emergency_print(format_args!(
        "KERNEL OOPS: {}\n{frame}\ncr2 {cr2:#018x}\n",
        vector_name(frame.vector)
    ));
    if let Some((name, tid)) = sched::current_name_and_tid() {
        crate::arch::serial::emergency_print(format_args!("in thread {name} (tid {tid})\n"));
    }
    crate::klog::panic::backtrace_from(frame.rbp, frame.rip);
    panic!(
        "{} in the kernel at {:#x}",
        vector_name(frame.vector),
        frame.rip
    )
}
