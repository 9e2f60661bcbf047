//! What the driver works with ([`Env`]): the first process's memory,
//! handles and its own module, from which it starts partners, and the
//! handles `InitInfo` names, borrowed.

use libsys::abi::{Handle, InitInfo, ProcessStatus, Rights};
use libsys::format_text;
use libsys::handle::{Borrowed, IoPorts, IrqControl, Notification, OwnedHandle, Process, Thread};
use libsys::mem::Memory;
use libsys::rt::TextBuf;
use libsys::spawn::{Builder, Child};
use libsys::syscall::{self, rdtsc};

use crate::*;

/// What the driver works with.
pub(crate) struct Env {
    pub info: &'static InitInfo,
    pub mem: Memory,
    pub me: Borrowed<Process>,
    pub my_thread: Borrowed<Thread>,
    pub module: (Handle, u64),
    /// Signalled (bit 0) by watched partners' deaths.
    pub deaths: Notification,
}

impl Env {
    /// Starts `utest <args>` with copies of `gifts`; `args` gets the
    /// child's numbers of the gifts.
    pub fn child(
        &mut self,
        gifts: &[(Handle, Rights)],
        args: impl Fn(&[Handle]) -> TextBuf<256>,
        pager: Option<Handle>,
    ) -> Result<Child, Why> {
        let mut builder = Builder::new(&mut self.mem, "utest-child", self.module.0, self.module.1)
            .step("build a partner")?;
        if let Some(pager) = pager {
            builder = builder.pager(pager);
        }
        let mut theirs = [Handle(0); 4];
        for (i, (h, rights)) in gifts.iter().enumerate() {
            theirs[i] = builder.give(*h, *rights).step("give a handle")?;
        }
        let args = args(&theirs[..gifts.len()]);
        let child = builder.start(args.as_str()).step("start a partner")?;
        child
            .process
            .watch(&self.deaths, 1)
            .step("watch a partner")?;
        Ok(child)
    }

    /// Starts partner `utest <verb> <h>`, `h` being its number for a copy
    /// of `handle` with `rights`; `pager`: its threads' pager.
    pub fn partner(
        &mut self,
        verb: &str,
        handle: Handle,
        rights: Rights,
        pager: Option<Handle>,
    ) -> Result<Child, Why> {
        self.child(
            &[(handle, rights)],
            |h| format_text!("{verb} {}", h[0].0),
            pager,
        )
    }

    /// Starts a partner that kills `process` after `ms` milliseconds.
    pub fn killer(&mut self, process: &Process, ms: u64) -> Result<Child, Why> {
        self.child(
            &[(process.raw(), Rights::MANAGE)],
            |h| format_text!("killer {} {ms}", h[0].0),
            None,
        )
    }

    /// Waits (up to 5 s) for `process` to die; returns how it ended.
    pub fn reap(&self, process: &Process) -> Result<ProcessStatus, Why> {
        let start = rdtsc();
        let tsc_hz = syscall::clock().map_or(1_000_000_000, |c| c.tsc_hz);
        loop {
            let status = process.status().step("process_status")?;
            if status != ProcessStatus::Alive {
                return Ok(status);
            }
            ensure!(
                rdtsc() - start < 5 * tsc_hz,
                "a partner did not die within 5 s"
            );
            let _ = self.deaths.wait(50_000_000);
        }
    }
}

pub(crate) const USER_STACK: u64 = libsys::abi::USER_STACK_TOP - libsys::abi::PAGE_SIZE;

/// InitInfo's IRQ control, lent.
pub(crate) fn irq_control(info: &InitInfo) -> Borrowed<IrqControl> {
    Borrowed::of(Handle(info.irq_control), IrqControl)
}

/// InitInfo's I/O ports, lent.
pub(crate) fn io_ports(info: &InitInfo) -> Borrowed<IoPorts> {
    Borrowed::of(Handle(info.io_ports), IoPorts)
}

impl Env {
    /// A copy of the memory region handle (READ, WRITE, MANAGE).
    pub fn mem_region_dup(&self) -> Result<OwnedHandle, Why> {
        let region = self
            .info
            .regions()
            .iter()
            .max_by_key(|r| r.pages)
            .map(|r| r.handle)
            .unwrap_or(0);
        // Lent for the dup only.
        let borrowed = Borrowed::of(Handle(region), |h| h);
        borrowed
            .dup(Rights::READ | Rights::WRITE | Rights::MANAGE, None)
            .step("dup the region")
    }
}
