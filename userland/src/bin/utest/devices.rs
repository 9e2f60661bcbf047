//! Hardware given to user space: device memory (the HPET), PIT
//! interrupts through a notification, and a port never granted.

use libsys::abi::{Handle, ProcessStatus, Protection, SysError, Syscall};
use libsys::format_text;
use libsys::handle::{MemoryRegion, Notification};
use libsys::syscall::call6;

use crate::*;

/// Where the device-memory test maps the HPET.
pub(crate) const DEVICE_AT: u64 = 0x6000_0000_0000;
/// QEMU's HPET (the q35 machine has one at the standard address).
pub(crate) const HPET: u64 = 0xfed0_0000;

/// `device_region`: the HPET's registers map and read as an HPET; RAM,
/// the local APIC the kernel drives, and malformed ranges are refused.
pub(crate) fn device_memory(env: &mut Env) -> Result<(), Why> {
    let control = Handle(env.info.device_control);
    let refused = |phys: u64, pages: u64, want: SysError| -> Result<(), Why> {
        let got = MemoryRegion::device(control, phys, pages).map(|_| ());
        ensure!(
            got == Err(want),
            "device_region({phys:#x}, {pages}): {got:?}, not {want:?}"
        );
        Ok(())
    };
    let ram = env.info.regions()[0].base;
    refused(ram, 1, SysError::NotAllowed)?;
    refused(0xfee0_0000, 1, SysError::NotAllowed)?;
    refused(HPET + 8, 1, SysError::InvalidArgument)?;
    refused(HPET, 0, SysError::InvalidArgument)?;
    refused(1 << 60, 1, SysError::InvalidArgument)?;
    refused(
        HPET,
        u64::MAX / libsys::abi::PAGE_SIZE,
        SysError::InvalidArgument,
    )?;
    let wrong = MemoryRegion::device(env.me.raw(), HPET, 1).map(|_| ());
    ensure!(
        wrong == Err(SysError::WrongType),
        "device_region with a process handle: {wrong:?}"
    );
    let hpet = MemoryRegion::device(control, HPET, 1).step("device_region(HPET)")?;
    let map = |prot: Protection| {
        call6(
            Syscall::Map,
            [
                u64::from(env.me.raw().0),
                DEVICE_AT,
                u64::from(hpet.raw().0),
                0,
                1,
                prot.bits(),
            ],
        )
    };
    let exec = map(Protection::READ | Protection::EXEC);
    ensure!(
        exec == Err(SysError::NoRights),
        "device memory mapped executable: {exec:?}"
    );
    map(Protection::READ | Protection::WRITE).step("map the HPET")?;
    // SAFETY: the HPET's register page, just mapped; the general
    // capabilities register (offset 0) is read-only.
    let caps = unsafe { (DEVICE_AT as *const u64).read_volatile() };
    let _ = call6(
        Syscall::Unmap,
        [u64::from(env.me.raw().0), DEVICE_AT, 1, 0, 0, 0],
    );
    let (vendor, period_fs) = ((caps >> 16) & 0xffff, caps >> 32);
    ensure!(
        vendor == 0x8086 && period_fs > 0 && period_fs <= 100_000_000,
        "HPET capabilities {caps:#x}: vendor {vendor:#x}, period {period_fs} fs"
    );
    Ok(())
}

pub(crate) fn irq_pit(env: &mut Env) -> Result<(), Why> {
    use libsys::port::outb;
    let ports = io_ports(env.info);
    ports.grant(0x40, 4).step("grant the PIT's ports")?;
    let irqc = irq_control(env.info);
    let irq = irqc.isa(0).step("irq_get ISA 0")?;
    let n = Notification::create().step("notification_create")?;
    irq.bind(&n, 3).step("irq_bind")?;
    // Channel 0, lobyte/hibyte, mode 2 (rate generator), ~1 kHz.
    let divisor: u16 = 1193;
    outb(0x43, 0b0011_0100);
    outb(0x40, divisor as u8);
    outb(0x40, (divisor >> 8) as u8);
    let mut taken = 0;
    for _ in 0..20 {
        let bits = n.wait(500_000_000).step("wait for the PIT")?;
        ensure!(bits & (1 << 3) != 0, "woken with bits {bits:#x}");
        taken += 1;
        // The last interrupt stays unacknowledged (the line masked) until
        // the second handler below is bound.
        if taken < 20 {
            irq.ack().step("irq_ack")?;
        }
    }
    // A shared line: a second handler on the same line. Both are told of
    // each interrupt, and the line stays masked until both acknowledge.
    // The second is bound while the line is masked, so no interrupt can
    // reach the first handler alone in between (it would keep the line
    // masked with only the first one told, and the second wait would time
    // out); the first handler's ack of the last interrupt then unmasks it.
    let second = Notification::create().step("notification_create")?;
    let irq2 = irqc.isa(0).step("irq_get ISA 0 again")?;
    irq2.bind(&second, 5).step("irq_bind a second handler")?;
    ensure!(
        irq.info().step("irq_info")?.masked == 1,
        "binding a second handler unmasked a line waiting for an ack"
    );
    irq.ack().step("irq_ack")?;
    for _ in 0..5 {
        let first = n.wait(500_000_000).step("wait, first handler")?;
        let other = second.wait(500_000_000).step("wait, second handler")?;
        ensure!(
            first & (1 << 3) != 0 && other & (1 << 5) != 0,
            "shared line woke {first:#x} and {other:#x}"
        );
        irq.ack().step("first ack")?;
        ensure!(
            irq.info().step("irq_info")?.masked == 1,
            "the line was unmasked before both handlers acknowledged"
        );
        irq2.ack().step("second ack")?;
    }
    // Mode 0 with a count of 1: one last edge, then silence.
    outb(0x43, 0b0011_0000);
    outb(0x40, 1);
    outb(0x40, 0);
    let info = irq.info().step("irq_info")?;
    ensure!(
        taken == 20 && info.count >= 20,
        "{taken} wake-ups, {} interrupts counted",
        info.count
    );
    ensure!(info.handlers == 2, "{} handlers bound", info.handlers);
    Ok(())
}

pub(crate) fn port_kill(env: &mut Env) -> Result<(), Why> {
    let child = env.child(&[], |_| format_text!("port"), None)?;
    let status = env.reap(&child.process)?;
    ensure!(
        status == ProcessStatus::Fault(13),
        "reading an ungranted port ended the child {status:?}"
    );
    Ok(())
}

/// `irq_msi_alloc`: message-signalled interrupts from the IRQ control —
/// distinct vectors of the MSI pool with their messages (the local APIC
/// window, the vector as data), bound and acknowledged as lines, not
/// configurable; at most `MSI_PER_PROCESS` to one process
/// (`OutOfResources` after), and a vector closed is free again.
pub(crate) fn irq_msi(env: &mut Env) -> Result<(), Why> {
    use libsys::abi::MSI_PER_PROCESS;
    let irqc = irq_control(env.info);
    let mut held = alloc::vec::Vec::new();
    for i in 0..MSI_PER_PROCESS {
        let (irq, message) = irqc.msi().step("irq_msi_alloc")?;
        let vector = message.vector;
        ensure!(
            (0xc0..0xe0).contains(&vector),
            "MSI {i}: vector {vector:#x} outside the pool"
        );
        ensure!(
            message.address & 0xfff0_0fff == 0xfee0_0000 && message.data == vector,
            "MSI {i}: message {:#x} <- {:#x}",
            message.address,
            message.data
        );
        ensure!(
            held.iter().all(|(_, v)| *v != vector),
            "vector {vector:#x} given twice"
        );
        let info = irq.info().step("irq_info")?;
        ensure!(
            info.msi == 1 && info.vector == vector && info.count == 0,
            "irq_info of an MSI: {info:?}"
        );
        held.push((irq, vector));
    }
    let over = irqc.msi().map(|_| ());
    ensure!(
        over == Err(SysError::OutOfResources),
        "MSI {} past the per-process limit: {over:?}",
        MSI_PER_PROCESS + 1
    );
    let (irq, _) = &held[0];
    let configured = irq.configure(
        libsys::abi::args::Trigger::Level,
        libsys::abi::args::Polarity::Low,
    );
    ensure!(
        configured == Err(SysError::InvalidArgument),
        "irq_configure of an MSI: {configured:?}"
    );
    let n = Notification::create().step("notification_create")?;
    irq.bind(&n, 2).step("irq_bind an MSI")?;
    irq.ack().step("irq_ack an MSI")?;
    let info = irq.info().step("irq_info")?;
    ensure!(
        info.handlers == 1 && info.masked == 0,
        "a bound MSI: {info:?}"
    );
    // Closing one frees its vector: the next allocation gets it back (the
    // lowest free vector of the pool).
    let (closed, vector) = held.remove(3);
    drop(closed);
    let (again, message) = irqc.msi().step("irq_msi_alloc after a close")?;
    ensure!(
        message.vector == vector,
        "after closing vector {vector:#x}, got {:#x}",
        message.vector
    );
    drop(again);
    drop(held);
    // All closed: the whole quota again.
    let all: Result<alloc::vec::Vec<_>, _> = (0..MSI_PER_PROCESS).map(|_| irqc.msi()).collect();
    ensure!(all.is_ok(), "the quota after closing all: {:?}", all.err());
    Ok(())
}
