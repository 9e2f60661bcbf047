//! Handles as Rust values: an [`OwnedHandle`] closes itself when dropped,
//! and the typed wrappers ([`Endpoint`], [`Notification`], [`Process`],
//! [`Thread`], [`Irq`], [`MemoryRegion`], [`IoPorts`]) carry the calls that
//! apply to each kind of object; a [`Borrowed`] one is the runtime's, lent.
//!
//! Making one from a number (`from_raw`) is `unsafe`: two owners of a
//! number would close it twice. Programs get theirs from the calls that
//! create objects, from [`crate::ipc::Received::take_handles`], and from
//! the runtime ([`crate::env`]).

use crate::abi::{
    Handle, IrqInfo, ObjectType, Protection, RegionInfo, Rights, SysError, Syscall, ThreadStats,
};
use crate::syscall::call6;

/// A handle this program owns: closed on drop.
#[derive(Debug, PartialEq, Eq)]
pub struct OwnedHandle(Handle);

impl OwnedHandle {
    /// Takes ownership of `handle` (from `InitInfo`, a message, or a
    /// creating call).
    ///
    /// # Safety
    /// Nothing else may own the same handle number (it would be closed
    /// twice, or used after this closed it).
    pub const unsafe fn from_raw(handle: Handle) -> OwnedHandle {
        OwnedHandle(handle)
    }

    pub const fn raw(&self) -> Handle {
        self.0
    }

    /// Gives up ownership without closing.
    pub fn into_raw(self) -> Handle {
        let handle = self.0;
        core::mem::forget(self);
        handle
    }

    /// A new handle to the same object with `rights` (a subset) and, with
    /// `badge`, a new badge (needs `MINT`).
    pub fn dup(&self, rights: Rights, badge: Option<u64>) -> Result<OwnedHandle, SysError> {
        let (value, set) = badge.map_or((0, 0), |b| (b, 1));
        let raw = call6(
            Syscall::HandleDup,
            [self.0 .0 as u64, rights.bits() as u64, value, set, 0, 0],
        )?;
        // SAFETY: the kernel just made this handle for us.
        Ok(unsafe { OwnedHandle::from_raw(Handle(raw as u32)) })
    }

    /// The object's type and the handle's rights.
    pub fn info(&self) -> Result<(ObjectType, Rights), SysError> {
        let raw = call6(Syscall::HandleInfo, [self.0 .0 as u64, 0, 0, 0, 0, 0])?;
        Ok((
            ObjectType::try_from(raw >> 32)?,
            Rights::from_bits_truncate(raw as u32),
        ))
    }
}

impl Drop for OwnedHandle {
    fn drop(&mut self) {
        let _ = call6(Syscall::HandleClose, [self.0 .0 as u64, 0, 0, 0, 0, 0]);
    }
}

/// A handle this program may use but does not own: one the runtime keeps
/// open for the life of the process (its name service, its interrupt line,
/// its I/O ports: see [`crate::env`]). It derefs to the typed handle and
/// never closes it; what needs ownership (`into_raw`) is out of reach.
#[derive(Debug)]
pub struct Borrowed<T>(core::mem::ManuallyDrop<T>);

impl<T> Borrowed<T> {
    /// # Safety
    /// `handle`'s number must stay open, and name the same object, for as
    /// long as the value lives: nothing may close it meanwhile.
    pub(crate) const unsafe fn new(handle: T) -> Borrowed<T> {
        Borrowed(core::mem::ManuallyDrop::new(handle))
    }
}

impl<T> Borrowed<T> {
    /// Lends handle number `raw`, which this program holds, as a `T`
    /// (`Borrowed::of(h, Endpoint)`), for calls through it; it is never
    /// closed through the loan. Safe because a loan cannot close a number
    /// or hand it out to own: a number that names nothing or another kind
    /// of object only makes the calls fail (`BadHandle`, `WrongType`), and
    /// the numbers the runtime keeps stay open whatever is lent.
    pub fn of(raw: Handle, make: impl FnOnce(OwnedHandle) -> T) -> Borrowed<T> {
        // SAFETY: the value is never dropped (ManuallyDrop), and what
        // would give up or close the number (`into_raw`, drop) needs it by
        // value, which `Deref` does not give.
        Borrowed(core::mem::ManuallyDrop::new(make(unsafe {
            OwnedHandle::from_raw(raw)
        })))
    }
}

impl<T> core::ops::Deref for Borrowed<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// A typed handle: an [`OwnedHandle`] known to name one kind of object.
macro_rules! typed_handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, PartialEq, Eq)]
        pub struct $name(pub OwnedHandle);

        impl $name {
            /// # Safety
            /// As [`OwnedHandle::from_raw`]; the handle must name this kind
            /// of object (else calls fail with `WrongType`).
            pub const unsafe fn from_raw(handle: Handle) -> $name {
                // SAFETY: forwarded to the caller.
                $name(unsafe { OwnedHandle::from_raw(handle) })
            }

            pub const fn raw(&self) -> Handle {
                self.0.raw()
            }

            /// A copy with `rights` (and a new badge, with `MINT`).
            pub fn dup(&self, rights: Rights, badge: Option<u64>) -> Result<$name, SysError> {
                self.0.dup(rights, badge).map($name)
            }
        }
    };
}

typed_handle!(
    /// An endpoint: see [`crate::ipc`] for sending and receiving.
    Endpoint
);
typed_handle!(
    /// A notification: a word of signal bits.
    Notification
);
typed_handle!(
    /// A process: its address space and threads.
    Process
);
typed_handle!(
    /// A thread.
    Thread
);
typed_handle!(
    /// An interrupt line.
    Irq
);
typed_handle!(
    /// A range of physical memory.
    MemoryRegion
);
typed_handle!(
    /// A range of I/O ports.
    IoPorts
);
typed_handle!(
    /// The right to take handles to interrupt lines.
    IrqControl
);
typed_handle!(
    /// The right to take COM1 from the kernel: a console driver's.
    ConsoleControl
);
typed_handle!(
    /// The right to put threads in a real-time class
    /// ([`crate::limits`]).
    SchedControl
);
typed_handle!(
    /// The right to turn the machine off or reset it
    /// ([`crate::abi::power`]).
    PowerControl
);

impl ConsoleControl {
    /// COM1 is this process's until [`ConsoleControl::give_back`] or its
    /// death; the kernel keeps writing only `err` and above there.
    pub fn take(&self) -> Result<(), SysError> {
        call6(Syscall::ConsoleTake, [h(self.raw()), 0, 0, 0, 0, 0]).map(|_| ())
    }

    /// The kernel takes COM1 back.
    pub fn give_back(&self) -> Result<(), SysError> {
        call6(Syscall::ConsoleGiveBack, [h(self.raw()), 0, 0, 0, 0, 0]).map(|_| ())
    }
}

impl PowerControl {
    /// Turns the machine off, resets or halts it: returns only on
    /// failure (`NotFound`: no ACPI way to power off; `TimedOut`: the
    /// machine stayed on; `NoRights`, `WrongType`, `BadHandle`).
    pub fn power(&self, action: crate::abi::power::Power) -> Result<(), SysError> {
        let args = crate::abi::power::PowerArgs {
            control: self.raw(),
            action,
        };
        crate::syscall::call_with(Syscall::Power, &args).map(|_| ())
    }
}

fn h(handle: Handle) -> u64 {
    u64::from(handle.0)
}

fn owned(raw: u64) -> OwnedHandle {
    // SAFETY: `raw` was just returned by a creating call: ours alone.
    unsafe { OwnedHandle::from_raw(Handle(raw as u32)) }
}

impl Endpoint {
    /// A new endpoint (every endpoint right).
    pub fn create() -> Result<Endpoint, SysError> {
        call6(Syscall::EndpointCreate, [0; 6]).map(|r| Endpoint(owned(r)))
    }
}

impl Notification {
    /// A new notification.
    pub fn create() -> Result<Notification, SysError> {
        call6(Syscall::NotificationCreate, [0; 6]).map(|r| Notification(owned(r)))
    }

    /// ORs `bits` in; never blocks.
    pub fn signal(&self, bits: u64) -> Result<(), SysError> {
        call6(Syscall::Signal, [h(self.raw()), bits, 0, 0, 0, 0]).map(|_| ())
    }

    /// Waits until a bit is set (or `timeout_ns` passes); returns and clears
    /// the bits.
    pub fn wait(&self, timeout_ns: u64) -> Result<u64, SysError> {
        call6(Syscall::Wait, [h(self.raw()), 0, timeout_ns, 0, 0, 0])
    }

    /// The bits set, cleared (0 if none); never blocks.
    pub fn poll(&self) -> Result<u64, SysError> {
        call6(Syscall::Poll, [h(self.raw()), 0, 0, 0, 0, 0])
    }

    /// Binds it to the calling thread (see [`Notification::bind`]).
    pub fn bind_current(&self) -> Result<(), SysError> {
        call6(Syscall::NotificationBind, [h(self.raw()), 0, 0, 0, 0, 0]).map(|_| ())
    }

    /// Binds this notification to `thread`: its `recv` also returns signals.
    pub fn bind(&self, thread: &Thread) -> Result<(), SysError> {
        call6(
            Syscall::NotificationBind,
            [h(self.raw()), h(thread.raw()), 0, 0, 0, 0],
        )
        .map(|_| ())
    }
}

impl Process {
    /// A new, empty process named `name` (at most 32 bytes).
    pub fn create(name: &str) -> Result<Process, SysError> {
        call6(
            Syscall::ProcessCreate,
            [name.as_ptr() as u64, name.len() as u64, 0, 0, 0, 0],
        )
        .map(|r| Process(owned(r)))
    }

    /// Maps `pages` pages of `region` from page `first` at `address`.
    pub fn map(
        &self,
        address: u64,
        region: Handle,
        first: u64,
        pages: u64,
        prot: Protection,
    ) -> Result<(), SysError> {
        self.map_args(address, region, first, pages, prot, false)
    }

    /// As [`Process::map`], in place of whatever is mapped there
    /// (`MAP_REPLACE`: a pager swapping a page for its copy).
    pub fn remap(
        &self,
        address: u64,
        region: Handle,
        first: u64,
        pages: u64,
        prot: Protection,
    ) -> Result<(), SysError> {
        self.map_args(address, region, first, pages, prot, true)
    }

    /// `map`, typed (`abi::args::Map`), with or without `MAP_REPLACE`.
    fn map_args(
        &self,
        address: u64,
        region: Handle,
        first: u64,
        pages: u64,
        protection: Protection,
        replace: bool,
    ) -> Result<(), SysError> {
        let args = crate::abi::args::Map {
            process: self.raw(),
            address,
            region,
            first,
            pages,
            protection,
            replace,
        };
        crate::syscall::call_with(Syscall::Map, &args).map(|_| ())
    }

    /// What the kernel says about the process (its pid, name...).
    pub fn info(&self) -> Result<crate::abi::ProcessInfo, SysError> {
        let mut info = crate::abi::ProcessInfo::default();
        call6(
            Syscall::ProcessInfo,
            [
                h(self.raw()),
                &mut info as *mut crate::abi::ProcessInfo as u64,
                0,
                0,
                0,
                0,
            ],
        )?;
        Ok(info)
    }

    pub fn unmap(&self, address: u64, pages: u64) -> Result<(), SysError> {
        call6(Syscall::Unmap, [h(self.raw()), address, pages, 0, 0, 0]).map(|_| ())
    }

    pub fn protect(&self, address: u64, pages: u64, prot: Protection) -> Result<(), SysError> {
        call6(
            Syscall::Protect,
            [h(self.raw()), address, pages, prot.bits(), 0, 0],
        )
        .map(|_| ())
    }

    /// A new thread in this process, not yet started.
    pub fn thread_create(&self) -> Result<Thread, SysError> {
        call6(Syscall::ThreadCreate, [h(self.raw()), 0, 0, 0, 0, 0]).map(|r| Thread(owned(r)))
    }

    /// Puts a copy of `handle` with `rights` into this process's table;
    /// returns its number there.
    pub fn give(&self, handle: Handle, rights: Rights) -> Result<Handle, SysError> {
        call6(
            Syscall::HandleGive,
            [h(self.raw()), h(handle), rights.bits() as u64, 0, 0, 0],
        )
        .map(|r| Handle(r as u32))
    }

    pub fn kill(&self) -> Result<(), SysError> {
        call6(Syscall::Kill, [h(self.raw()), 0, 0, 0, 0, 0]).map(|_| ())
    }

    /// Signals `bits` of `notification` when this process dies.
    pub fn watch(&self, notification: &Notification, bits: u64) -> Result<(), SysError> {
        call6(
            Syscall::ProcessWatch,
            [h(self.raw()), h(notification.raw()), bits, 0, 0, 0],
        )
        .map(|_| ())
    }

    /// Whether it lives, or how it ended.
    pub fn status(&self) -> Result<crate::abi::ProcessStatus, SysError> {
        call6(Syscall::ProcessStatus, [h(self.raw()), 0, 0, 0, 0, 0])
            .map(crate::abi::ProcessStatus::decode)
    }
}

impl Thread {
    /// Lets the thread out of the `call` it is blocked in (QNX's unblock;
    /// `thread_unblock`, syscall 48). Needs MANAGE on the handle, or a
    /// thread of this process. What happens depends on how far the call
    /// got ([`crate::abi::ipc::Unblocked`]):
    ///
    /// - `Sent`: no server had received it; the call returned
    ///   `Err(SysError::Interrupted)`;
    /// - `ServerTold`: its server received it and was told (the bit
    ///   [`crate::abi::ipc::UNBLOCK_SIGNAL`] of the notification bound to
    ///   the thread that saved the reply right, or an in-kernel core's
    ///   `Server::interrupted`); the server answers it — an `EINTR`-style
    ///   error, or what it has done so far (a partial count) — or, if it
    ///   chooses, goes on with the call;
    /// - `Released`: its server saved the reply right with no notification
    ///   bound, so cannot hear it; the call returned `Interrupted`;
    /// - `NotInCall`: not blocked in a call (or waiting on a page fault or
    ///   an exception, which are not interruptible): nothing.
    ///
    /// Only a kill aborts a call whatever the server does. The process
    /// server delivering a signal to a thread blocked in a call uses this.
    pub fn unblock(&self) -> Result<crate::abi::ipc::Unblocked, SysError> {
        let raw = call6(Syscall::ThreadUnblock, [h(self.raw()), 0, 0, 0, 0, 0])?;
        crate::abi::ipc::Unblocked::from_raw(raw).ok_or(SysError::InvalidArgument)
    }

    /// Starts the thread at `entry` with stack `stack` and two arguments.
    pub fn start(&self, entry: u64, stack: u64, arg0: u64, arg1: u64) -> Result<(), SysError> {
        call6(
            Syscall::ThreadStart,
            [h(self.raw()), entry, stack, arg0, arg1, 0],
        )
        .map(|_| ())
    }

    /// Sets the policy: 0 normal (param = nice), 1 FIFO, 2 round-robin
    /// (param = priority 1–99).
    pub fn set_sched(&self, policy: u64, param: i64) -> Result<(), SysError> {
        call6(
            Syscall::SetSched,
            [h(self.raw()), policy, param as u64, 0, 0, 0],
        )
        .map(|_| ())
    }

    pub fn stats(&self) -> Result<ThreadStats, SysError> {
        let mut stats = ThreadStats::default();
        call6(
            Syscall::ThreadStats,
            [
                h(self.raw()),
                &mut stats as *mut ThreadStats as u64,
                0,
                0,
                0,
                0,
            ],
        )?;
        Ok(stats)
    }

    /// Sends the thread's page faults to `pager` (or nowhere, with `None`).
    pub fn set_pager(&self, pager: Option<&Endpoint>) -> Result<(), SysError> {
        let pager = pager.map_or(0, |e| h(e.raw()));
        call6(Syscall::SetPager, [h(self.raw()), pager, 0, 0, 0, 0]).map(|_| ())
    }
}

impl IrqControl {
    /// A handle to GSI `gsi`.
    pub fn gsi(&self, gsi: u32) -> Result<Irq, SysError> {
        call6(Syscall::IrqGet, [h(self.raw()), u64::from(gsi), 0, 0, 0, 0]).map(|r| Irq(owned(r)))
    }

    /// A handle to ISA IRQ `irq` (routed through the ACPI MADT).
    pub fn isa(&self, irq: u8) -> Result<Irq, SysError> {
        call6(Syscall::IrqGet, [h(self.raw()), u64::from(irq), 1, 0, 0, 0]).map(|r| Irq(owned(r)))
    }

    /// A new message-signalled interrupt (`irq_msi_alloc`): its handle,
    /// bound and acknowledged as a line's, and the message to program
    /// into the device's MSI capability. `OutOfResources` when the pool
    /// is empty or this process holds [`crate::abi::MSI_PER_PROCESS`].
    pub fn msi(&self) -> Result<(Irq, crate::abi::MsiMessage), SysError> {
        let mut message = crate::abi::MsiMessage::default();
        let args = crate::abi::args::HandleOut {
            handle: self.raw(),
            out: &mut message as *mut crate::abi::MsiMessage as u64,
        };
        let raw = crate::syscall::call_with(Syscall::IrqMsiAlloc, &args)?;
        Ok((Irq(owned(raw)), message))
    }
}

impl Irq {
    /// The line's interrupts set bit `bit` of `notification`.
    pub fn bind(&self, notification: &Notification, bit: u32) -> Result<(), SysError> {
        call6(
            Syscall::IrqBind,
            [
                h(self.raw()),
                h(notification.raw()),
                u64::from(bit),
                0,
                0,
                0,
            ],
        )
        .map(|_| ())
    }

    /// Sets how the line signals (PCI INTx: `Level`, `Low`); `NotAllowed`
    /// if other handlers share the line in another mode.
    pub fn configure(
        &self,
        trigger: crate::abi::args::Trigger,
        polarity: crate::abi::args::Polarity,
    ) -> Result<(), SysError> {
        let regs = [h(self.raw()), trigger as u64, polarity as u64, 0, 0, 0];
        call6(Syscall::IrqConfigure, regs).map(|_| ())
    }

    /// Done with the last interrupt: the line may fire again.
    pub fn ack(&self) -> Result<(), SysError> {
        call6(Syscall::IrqAck, [h(self.raw()), 0, 0, 0, 0, 0]).map(|_| ())
    }

    pub fn info(&self) -> Result<IrqInfo, SysError> {
        let mut info = IrqInfo::default();
        call6(
            Syscall::IrqInfo,
            [h(self.raw()), &mut info as *mut IrqInfo as u64, 0, 0, 0, 0],
        )?;
        Ok(info)
    }
}

impl IoPorts {
    /// Opens ports `first .. first + count` to this process.
    pub fn grant(&self, first: u16, count: u32) -> Result<(), SysError> {
        call6(
            Syscall::IoportGrant,
            [h(self.raw()), u64::from(first), u64::from(count), 0, 0, 0],
        )
        .map(|_| ())
    }

    /// A handle to ports `first .. first + count` only, which must lie
    /// inside this handle's range (`InvalidArgument` otherwise): what a
    /// driver is given.
    pub fn derive(&self, first: u16, count: u32) -> Result<IoPorts, SysError> {
        call6(
            Syscall::IoportDerive,
            [h(self.raw()), u64::from(first), u64::from(count), 0, 0, 0],
        )
        .map(|raw| IoPorts(owned(raw)))
    }
}

impl MemoryRegion {
    /// Device memory `[phys, phys + pages * 4096)` from the device-memory
    /// `control` (the first process's): registers to map uncached.
    /// `NotAllowed` over RAM or a device the kernel drives.
    pub fn device(control: Handle, phys: u64, pages: u64) -> Result<MemoryRegion, SysError> {
        call6(Syscall::DeviceRegion, [h(control), phys, pages, 0, 0, 0])
            .map(|r| MemoryRegion(owned(r)))
    }

    /// A handle to pages `first .. first + pages` with `rights`.
    pub fn derive(&self, first: u64, pages: u64, rights: Rights) -> Result<MemoryRegion, SysError> {
        call6(
            Syscall::RegionDerive,
            [h(self.raw()), first, pages, rights.bits() as u64, 0, 0],
        )
        .map(|r| MemoryRegion(owned(r)))
    }

    pub fn info(&self) -> Result<RegionInfo, SysError> {
        let mut info = RegionInfo::default();
        call6(
            Syscall::RegionInfo,
            [
                h(self.raw()),
                &mut info as *mut RegionInfo as u64,
                0,
                0,
                0,
                0,
            ],
        )?;
        Ok(info)
    }
}
