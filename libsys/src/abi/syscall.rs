//! System-call numbers, with each call's arguments and result.

use super::SysError;

/// System-call numbers. Arguments are in `rdi`, `rsi`, `rdx`, `r10`, `r8`,
/// `r9` in the order listed; the result value comes back in `rdx`. The IPC
/// calls (`Send` … `ReplyRecv`) use the registers [`super::ipc`] describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum Syscall {
    /// Returns at once; measures the cost of entering and leaving the kernel.
    Null = 0,
    /// (level, text, length ≤ [`super::LOG_MAX`]) → bytes logged.
    Log = 1,
    /// (status): ends the calling process. Does not return.
    Exit = 2,
    /// Gives up the rest of the time slice.
    Yield = 3,
    /// (pointer to a [`super::ClockInfo`]).
    Clock = 4,
    /// (since, buffer, length ≤ [`super::LOG_READ_MAX`]) → bytes: kernel
    /// log records from sequence number `since` on, as whole lines in the
    /// format of Linux's `/dev/kmsg`: `<level>,<seq>,<microseconds>,-;<text>\n`.
    LogRead = 5,
    /// (handle, rights, badge, set_badge) → a new handle to the same object
    /// with `rights` (which must be a subset of the handle's) and, if
    /// `set_badge` is 1, badge `badge` (needs `MINT`).
    HandleDup = 6,
    /// (handle): closes it.
    HandleClose = 7,
    /// () → a new endpoint handle with every endpoint right.
    EndpointCreate = 8,
    /// () → a new notification handle with every notification right.
    NotificationCreate = 9,
    /// IPC: sends a message; blocks until a receiver takes it.
    Send = 10,
    /// IPC: receives a message (or the bound notification's signals).
    Recv = 11,
    /// IPC: sends a message and waits for the reply; the timeout bounds
    /// both together, and `POLL` is `InvalidArgument` ([`super::ipc`]).
    Call = 12,
    /// IPC: replies to the last caller (no endpoint).
    Reply = 13,
    /// IPC: replies to the last caller, then receives on the endpoint.
    ReplyRecv = 14,
    /// (notification, bits): ORs `bits` into the notification's word;
    /// never blocks.
    Signal = 15,
    /// (notification, unused, timeout ns) → bits: waits until any bit is
    /// set, returns them and clears them. The timeout is in `rdx`, where
    /// the IPC calls carry theirs ([`super::ipc`]); `rsi` is not read.
    Wait = 16,
    /// (notification) → bits: returns and clears the bits without waiting.
    Poll = 17,
    /// (notification, thread): binds the notification to the thread (0: the
    /// calling thread), so the thread's `recv` also returns the
    /// notification's signals.
    NotificationBind = 18,
    /// (name, name length ≤ 32) → a handle to a new, empty process.
    ProcessCreate = 19,
    /// (process, address, region, first page in the region, pages,
    /// protection): maps pages of a memory region into the process.
    Map = 20,
    /// (process, address, pages): unmaps pages.
    Unmap = 21,
    /// (process, address, pages, protection): changes their protection.
    Protect = 22,
    /// (process) → a handle to a new thread in the process, not started.
    ThreadCreate = 23,
    /// (thread, entry, stack, argument 0, argument 1): starts the thread in
    /// user mode with `rdi` = argument 0 and `rsi` = argument 1.
    ThreadStart = 24,
    /// (process): kills it.
    Kill = 25,
    /// (thread, policy, param): 0 normal (param = nice −20…19), 1 FIFO,
    /// 2 round-robin (param = priority 1…99). FIFO and round-robin are
    /// `NotAllowed`: real time needs a right no program holds yet.
    SetSched = 26,
    /// (thread, pointer to a [`super::ThreadStats`]).
    ThreadStats = 27,
    /// (irq control, GSI, ISA flag) → a handle to the interrupt line; with
    /// the flag 1, the number is an ISA IRQ, routed through the MADT.
    IrqGet = 28,
    /// (irq, notification, bit): the line's interrupts set `bit`.
    IrqBind = 29,
    /// (irq): the handler is done; the line is unmasked once every bound
    /// handler has acknowledged.
    IrqAck = 30,
    /// (irq, pointer to an [`super::IrqInfo`]).
    IrqInfo = 31,
    /// (I/O ports, first port, count): opens the ports to the caller.
    IoportGrant = 32,
    /// (thread, endpoint or 0): sets (or clears) the thread's pager.
    SetPager = 33,
    /// (address): registers the calling thread's IPC buffer page.
    IpcBufferSet = 34,
    /// (region, first page, pages, rights) → a handle to that part of the
    /// region (needs `MANAGE`).
    RegionDerive = 35,
    /// (region, pointer to a [`super::RegionInfo`]).
    RegionInfo = 36,
    /// (process, handle, rights) → the number of a copy of `handle` with
    /// `rights`, put into the process's handle table (needs `MANAGE` on the
    /// process).
    HandleGive = 37,
    /// (handle) → its [`super::ObjectType`] and rights: type in bits 32–39,
    /// rights in bits 0–31.
    HandleInfo = 38,
    /// Ends the calling thread (the process ends with its last thread).
    ThreadExit = 39,
    /// (process, notification, bits): when the process dies, `bits` are
    /// signalled (at once if it is dead already). Needs MANAGE. Again
    /// through the same notification adds bits; more than 64
    /// notifications per watched process are `OutOfResources`.
    ProcessWatch = 40,
    /// (process) → 0 while it lives, else a [`super::ProcessStatus`]
    /// encoding of how it ended.
    ProcessStatus = 41,
    /// (address): sets the calling thread's FS base — where its
    /// thread-local block is (`libsys` keeps the thread's IPC buffer
    /// address there). Any user address, or 0; a kernel or non-canonical
    /// address is `BadAddress`.
    TlsSet = 42,
    /// (process, pointer to a [`super::ProcessInfo`]): its pid, threads,
    /// mapped pages and name. Needs no right beyond holding the handle.
    ProcessInfo = 43,
    /// (device control, physical address, pages) → a handle (READ, WRITE,
    /// MANAGE) to a memory region of device memory: registers a driver
    /// maps uncached. [`super::SysError::NotAllowed`] if the range touches RAM or a device
    /// the kernel drives; `InvalidArgument` if unaligned, empty or beyond
    /// the physical address space.
    DeviceRegion = 44,
    /// () → a handle to a new reply object holding the calling thread's
    /// reply right, which the thread no longer holds: it can receive other
    /// calls and answer this one later with `ReplyTo`. `NotFound` if it
    /// holds none. Closing the handle unused answers the caller `PeerDied`.
    ReplySave = 45,
    /// IPC: (reply handle, message as for `Reply`): answers the caller the
    /// reply object saved, and closes the handle whatever the outcome
    /// (`PeerDied` if the caller is gone or gave up the call).
    ReplyTo = 46,
    /// (I/O ports, first port, count) → a handle (MANAGE) to ports
    /// `first .. first + count`, which must lie inside the handle's range:
    /// how `init` gives a driver exactly the ports it needs.
    IoportDerive = 47,
    /// (thread) → what was done ([`super::ipc::Unblocked`] as a number):
    /// lets the thread out of the `call` (or `send`) it is blocked in,
    /// QNX's `MsgUnblock` from the other side. Still waiting to be
    /// received: its call fails at once with `Interrupted` (1). Received:
    /// the server is told (2) — the bit [`super::ipc::UNBLOCK_SIGNAL`] of
    /// the notification bound to the thread that saved the reply right, or
    /// the in-kernel core's `interrupted` — and answers `EINTR` or what it
    /// has done so far; a server that saved the right with no notification
    /// bound cannot hear it, and its caller is let go at once with
    /// `Interrupted` (3). Anything else (not blocked in a call, a page
    /// fault or an exception waiting for its verdict): nothing (0). Needs
    /// MANAGE on the thread, or a thread of the caller's own process.
    ThreadUnblock = 48,
    /// (reply handle) → 1 if the caller the reply object saved asked to be
    /// let out of this call (`ThreadUnblock`) and still waits, else 0: how
    /// a server finds which deferred request an `UNBLOCK_SIGNAL` is for.
    ReplyInterrupted = 49,
    /// IPC: (endpoint | reply handle << 32, message as for `Reply`,
    /// timeout in `rdx`) → the badge as `Recv`: `ReplyTo` on the reply
    /// object (the handle is closed whatever the outcome), then `Recv` on
    /// the endpoint, switching straight to the answered caller if no
    /// message waits — what a server that answers later does after each
    /// completion, in one call and one switch. A failed reply (`PeerDied`:
    /// the caller gave up) returns its error and receives nothing.
    ReplyToRecv = 50,
    /// (reply handle or 0 for the current caller, direction, offset,
    /// buffer, length) → bytes copied: copies between a window the caller
    /// lent with its `call` and a buffer of the calling server's own
    /// ([`super::grant`], [`super::args::GrantCopy`]).
    GrantCopy = 52,
    /// (process, endpoint or 0): where the process's user exceptions go
    /// ([`super::exception`]); needs MANAGE on the process, SEND on the
    /// endpoint (whose badge the messages carry).
    ExceptionSet = 56,
    /// (thread): the thread stops the next time it would return to user
    /// mode (a boolean, not counted). Needs MANAGE.
    ThreadSuspend = 57,
    /// (thread): undoes `ThreadSuspend`. Needs MANAGE.
    ThreadResume = 58,
    /// (thread, pointer to a [`super::exception::UserRegs`]): a stopped
    /// (suspended or exception-waiting) thread's registers; `WouldBlock`
    /// if it has not stopped yet. Needs MANAGE.
    ThreadRegsRead = 59,
    /// (thread, pointer to a [`super::exception::UserRegs`]): sets them,
    /// validated (`InvalidArgument`); `WouldBlock` if not stopped.
    ThreadRegsWrite = 60,
    /// (thread, handler, restorer, signo, info): runs the handler the next
    /// time the thread returns to user mode; `Exists` if one is pending.
    SignalDeliver = 61,
    /// (pointer to a signal frame's registers): restores them, validated.
    Sigreturn = 62,
    /// (irq, trigger, polarity): how the line signals — trigger 0 edge,
    /// 1 level; polarity 0 active-high, 1 active-low — programmed into its
    /// I/O APIC entry. `NotAllowed` if other handlers are bound to the line
    /// with another mode (a shared line has one mode).
    IrqConfigure = 64,
    /// (console control): COM1 is the caller's process's until it gives
    /// it back or dies; the kernel then writes only `err`-level lines and
    /// above there (everything still goes to the log ring and the debug
    /// channel). `NotAllowed` if another process holds it.
    ConsoleTake = 65,
    /// (console control): the kernel takes COM1 back (re-initialising
    /// the UART). `NotAllowed` if the caller's process does not hold it.
    ConsoleGiveBack = 66,
    /// (notification or 0, bit): each new kernel-log record signals `bit`
    /// of the notification (coalesced: many records may set it once);
    /// 0 unbinds. One binding per process, [`super::LOG_WATCHERS_MAX`] in
    /// all (`NoMemory` beyond).
    LogNotify = 67,
    /// (process, pointer to a [`super::limits::Limits`]): the process's
    /// limits from now on (MANAGE); each at most the caller's own
    /// (`NotAllowed` beyond). Objects charged already stay.
    ProcessLimitsSet = 70,
    /// (process, pointer to a [`super::limits::ResourceUsage`]): its
    /// limits and what is charged against them.
    ProcessLimits = 71,
    /// (pointer to a [`super::limits::KernelStats`]): the kernel's free
    /// frames, heap and object counts.
    KernelStats = 72,
    /// (scheduling control, thread, policy, parameter): as `SetSched`, and
    /// the one way to FIFO or round-robin: needs MANAGE on a
    /// [`super::ObjectType::SchedControl`] handle.
    SetSchedRt = 73,
    /// (operation, argument): the cost meter and the path trace
    /// ([`super::meter`]); only in a kernel built with the `meter`
    /// feature, [`SysError::UnknownSyscall`] otherwise.
    Meter = 74,
    /// (power control, action: a [`super::power::Power`]): turns the
    /// machine off through ACPI (`S5`), resets it, or halts it; needs
    /// MANAGE on a [`super::ObjectType::PowerControl`] handle. Returns
    /// only on failure: `NotFound` if the firmware describes no way to
    /// power off (no `\_S5` or no PM1 control block), `TimedOut` if the
    /// machine is still on a second after the write.
    Power = 75,
    /// (after, pointer to a [`super::ProcessTimes`]) → how many: the CPU
    /// time, threads and start time of up to
    /// [`super::PROCESS_TIMES_MAX`] processes with pids above `after`,
    /// in pid order (dead ones not yet reaped included). Needs no handle:
    /// as Linux's `/proc/<pid>/stat`, CPU times are public, and knowing
    /// them gives no power over a process.
    ProcessTimes = 76,
    /// (irq control, pointer to a [`super::MsiMessage`]) → a handle
    /// (MANAGE) to a new message-signalled interrupt: a vector of the
    /// kernel's MSI pool, whose message (address, data) it writes to the
    /// pointer for the caller to program into a device's MSI capability.
    /// Bound and acknowledged as a line (`irq_bind`, `irq_ack`; an MSI is
    /// edge-triggered and never masked, so `irq_ack` only counts);
    /// `irq_configure` on it is `InvalidArgument`. The vector is free
    /// again when the last handle to it closes (its holders died).
    /// `OutOfResources` when the pool is empty or the caller holds
    /// [`super::MSI_PER_PROCESS`] vectors already.
    IrqMsiAlloc = 77,
}

impl Syscall {
    /// Every call, in ascending number order; numbers may skip (each
    /// mechanism has its own range).
    pub const ALL: [Syscall; 71] = [
        Syscall::Null,
        Syscall::Log,
        Syscall::Exit,
        Syscall::Yield,
        Syscall::Clock,
        Syscall::LogRead,
        Syscall::HandleDup,
        Syscall::HandleClose,
        Syscall::EndpointCreate,
        Syscall::NotificationCreate,
        Syscall::Send,
        Syscall::Recv,
        Syscall::Call,
        Syscall::Reply,
        Syscall::ReplyRecv,
        Syscall::Signal,
        Syscall::Wait,
        Syscall::Poll,
        Syscall::NotificationBind,
        Syscall::ProcessCreate,
        Syscall::Map,
        Syscall::Unmap,
        Syscall::Protect,
        Syscall::ThreadCreate,
        Syscall::ThreadStart,
        Syscall::Kill,
        Syscall::SetSched,
        Syscall::ThreadStats,
        Syscall::IrqGet,
        Syscall::IrqBind,
        Syscall::IrqAck,
        Syscall::IrqInfo,
        Syscall::IoportGrant,
        Syscall::SetPager,
        Syscall::IpcBufferSet,
        Syscall::RegionDerive,
        Syscall::RegionInfo,
        Syscall::HandleGive,
        Syscall::HandleInfo,
        Syscall::ThreadExit,
        Syscall::ProcessWatch,
        Syscall::ProcessStatus,
        Syscall::TlsSet,
        Syscall::ProcessInfo,
        Syscall::DeviceRegion,
        Syscall::ReplySave,
        Syscall::ReplyTo,
        Syscall::IoportDerive,
        Syscall::ThreadUnblock,
        Syscall::ReplyInterrupted,
        Syscall::ReplyToRecv,
        Syscall::GrantCopy,
        Syscall::ExceptionSet,
        Syscall::ThreadSuspend,
        Syscall::ThreadResume,
        Syscall::ThreadRegsRead,
        Syscall::ThreadRegsWrite,
        Syscall::SignalDeliver,
        Syscall::Sigreturn,
        Syscall::IrqConfigure,
        Syscall::ConsoleTake,
        Syscall::ConsoleGiveBack,
        Syscall::LogNotify,
        Syscall::ProcessLimitsSet,
        Syscall::ProcessLimits,
        Syscall::KernelStats,
        Syscall::SetSchedRt,
        Syscall::Meter,
        Syscall::Power,
        Syscall::ProcessTimes,
        Syscall::IrqMsiAlloc,
    ];
}

impl TryFrom<u64> for Syscall {
    type Error = SysError;

    /// Fails with [`SysError::UnknownSyscall`] for a number no call has.
    fn try_from(number: u64) -> Result<Self, SysError> {
        Syscall::ALL
            .into_iter()
            .find(|call| *call as u64 == number)
            .ok_or(SysError::UnknownSyscall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_syscall_number_round_trips_and_numbers_ascend() {
        for (i, call) in Syscall::ALL.into_iter().enumerate() {
            if i > 0 {
                assert!(
                    call as u64 > Syscall::ALL[i - 1] as u64,
                    "{call:?} out of order"
                );
            }
            assert_eq!(Syscall::try_from(call as u64), Ok(call));
        }
    }

    #[test]
    fn unknown_numbers_are_errors() {
        for number in [63, 99, u64::MAX, 1 << 32] {
            assert_eq!(Syscall::try_from(number), Err(SysError::UnknownSyscall));
        }
    }
}
