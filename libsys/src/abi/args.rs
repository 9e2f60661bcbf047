//! Each system call's arguments as a typed struct, with its register
//! mapping: the one definition of what a call takes, shared by the kernel
//! (which decodes a trap frame's registers into it, once, before it acts:
//! seL4's decode-then-invoke) and user space (which encodes it).
//!
//! [`Regs`] are the six argument registers in ABI order (`rdi`, `rsi`,
//! `rdx`, `r10`, `r8`, `r9`); each struct's documentation says which field
//! is in which. `decode` checks everything that can be checked without the
//! kernel's state — a handle number's width, known rights and protection
//! bits, flags that must be 0 or 1, page alignment, ranges that must stay
//! in the user half and below a call's limit — and fails with the error
//! the call documents; what needs the caller's handle table or address
//! space (does the handle name an object, is the page mapped) is the
//! kernel's to check after. `encode` is the inverse, for the caller.
//!
//! The IPC calls (`send` … `reply_to`) carry a message in more registers
//! and are decoded by the kernel's IPC paths ([`super::ipc`]); the calls
//! without arguments have no struct.

use super::grant::{Direction, GRANT_MAX};
use super::ipc::{Handle, Rights};
use super::log::{LogLevel, LOG_MAX, LOG_READ_MAX};
use super::memory::{Protection, MAP_REPLACE, PAGE_SIZE, USER_END};
use super::SysError;

/// The six argument registers of a system call, in ABI order: `rdi`,
/// `rsi`, `rdx`, `r10`, `r8`, `r9`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Regs(pub [u64; 6]);

/// A system call's arguments: decoded from, and encoded into, [`Regs`].
pub trait Args: Sized {
    /// The registers' values as this call's arguments, checked; the
    /// call's error for the first bad one.
    fn decode(regs: &Regs) -> Result<Self, SysError>;
    /// The registers a caller passes for these arguments.
    fn encode(&self) -> Regs;
}

/// The most pages one `map`, `unmap` or `protect` covers: 1 GiB.
pub const MAX_MAP_PAGES: u64 = 1 << 18;
/// The longest process name (`process_create`).
pub const PROCESS_NAME_MAX: u64 = 32;
/// One past the highest I/O port.
pub const PORTS_END: u64 = 1 << 16;

fn handle(raw: u64) -> Result<Handle, SysError> {
    Handle::from_raw(raw)
}

/// 0 for none, else a handle.
fn optional_handle(raw: u64) -> Result<Option<Handle>, SysError> {
    match raw {
        0 => Ok(None),
        raw => handle(raw).map(Some),
    }
}

fn raw_handle(handle: Handle) -> u64 {
    u64::from(handle.0)
}

fn raw_optional(handle: Option<Handle>) -> u64 {
    handle.map_or(0, raw_handle)
}

/// A page range in user space: 1 to [`MAX_MAP_PAGES`] pages (else
/// `BadLength`), page-aligned, not at 0, not wrapping, below [`USER_END`]
/// (else `BadAddress`).
fn user_pages(address: u64, pages: u64) -> Result<(), SysError> {
    if pages == 0 || pages > MAX_MAP_PAGES {
        return Err(SysError::BadLength);
    }
    let end = address
        .checked_add(pages * PAGE_SIZE)
        .ok_or(SysError::BadAddress)?;
    if !address.is_multiple_of(PAGE_SIZE) || address == 0 || end > USER_END {
        return Err(SysError::BadAddress);
    }
    Ok(())
}

/// A mapping's protection: known bits, readable, never writable and
/// executable at once; else `InvalidArgument`.
fn protection(raw: u64) -> Result<Protection, SysError> {
    Protection::from_bits(raw)
        .filter(|p| {
            p.contains(Protection::READ) && !p.contains(Protection::WRITE | Protection::EXEC)
        })
        .ok_or(SysError::InvalidArgument)
}

fn flag(raw: u64) -> Result<bool, SysError> {
    match raw {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(SysError::InvalidArgument),
    }
}

/// A user-space address (a pointer the kernel checks later against the
/// address space): below [`USER_END`], else `BadAddress`.
fn user_address(raw: u64) -> Result<u64, SysError> {
    if raw >= USER_END {
        return Err(SysError::BadAddress);
    }
    Ok(raw)
}

/// A length of at most `max` bytes, else `BadLength`.
fn length(raw: u64, max: u64) -> Result<u64, SysError> {
    if raw > max {
        return Err(SysError::BadLength);
    }
    Ok(raw)
}

/// `handle_dup`: `rdi` handle, `rsi` rights, `rdx` badge, `r10` 1 to set
/// the badge (0 to keep it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandleDup {
    pub handle: Handle,
    pub rights: Rights,
    pub badge: Option<u64>,
}

impl Args for HandleDup {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(HandleDup {
            handle: handle(r.0[0])?,
            rights: Rights::from_raw(r.0[1])?,
            badge: flag(r.0[3])?.then_some(r.0[2]),
        })
    }
    fn encode(&self) -> Regs {
        let (badge, set) = self.badge.map_or((0, 0), |b| (b, 1));
        Regs([
            raw_handle(self.handle),
            u64::from(self.rights.bits()),
            badge,
            set,
            0,
            0,
        ])
    }
}

/// A call whose one argument is a handle in `rdi`: `handle_close`,
/// `handle_info`, `poll`, `thread_create`, `kill`, `process_status`,
/// `irq_ack`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OneHandle {
    pub handle: Handle,
}

impl Args for OneHandle {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(OneHandle {
            handle: handle(r.0[0])?,
        })
    }
    fn encode(&self) -> Regs {
        Regs([raw_handle(self.handle), 0, 0, 0, 0, 0])
    }
}

/// A call on a handle with a user pointer to what it fills: `rdi` handle,
/// `rsi` the pointer (`thread_stats`, `irq_info`, `irq_msi_alloc`, `region_info`,
/// `process_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandleOut {
    pub handle: Handle,
    pub out: u64,
}

impl Args for HandleOut {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(HandleOut {
            handle: handle(r.0[0])?,
            out: user_address(r.0[1])?,
        })
    }
    fn encode(&self) -> Regs {
        Regs([raw_handle(self.handle), self.out, 0, 0, 0, 0])
    }
}

/// `handle_give`: `rdi` process, `rsi` the caller's handle, `rdx` rights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandleGive {
    pub process: Handle,
    pub handle: Handle,
    pub rights: Rights,
}

impl Args for HandleGive {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(HandleGive {
            process: handle(r.0[0])?,
            handle: handle(r.0[1])?,
            rights: Rights::from_raw(r.0[2])?,
        })
    }
    fn encode(&self) -> Regs {
        let rights = u64::from(self.rights.bits());
        Regs([
            raw_handle(self.process),
            raw_handle(self.handle),
            rights,
            0,
            0,
            0,
        ])
    }
}

/// `map`: `rdi` process, `rsi` address, `rdx` region, `r10` first page in
/// the region, `r8` pages, `r9` protection (with [`MAP_REPLACE`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Map {
    pub process: Handle,
    pub address: u64,
    pub region: Handle,
    pub first: u64,
    pub pages: u64,
    pub protection: Protection,
    pub replace: bool,
}

impl Args for Map {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        let [process, address, region, first, pages, prot] = r.0;
        user_pages(address, pages)?;
        let replace = prot & MAP_REPLACE != 0;
        Ok(Map {
            protection: protection(prot & !MAP_REPLACE)?,
            process: handle(process)?,
            address,
            region: handle(region)?,
            first,
            pages,
            replace,
        })
    }
    fn encode(&self) -> Regs {
        let replace = if self.replace { MAP_REPLACE } else { 0 };
        Regs([
            raw_handle(self.process),
            self.address,
            raw_handle(self.region),
            self.first,
            self.pages,
            self.protection.bits() | replace,
        ])
    }
}

/// `unmap`: `rdi` process, `rsi` address, `rdx` pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unmap {
    pub process: Handle,
    pub address: u64,
    pub pages: u64,
}

impl Args for Unmap {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        user_pages(r.0[1], r.0[2])?;
        Ok(Unmap {
            process: handle(r.0[0])?,
            address: r.0[1],
            pages: r.0[2],
        })
    }
    fn encode(&self) -> Regs {
        Regs([raw_handle(self.process), self.address, self.pages, 0, 0, 0])
    }
}

/// `protect`: `rdi` process, `rsi` address, `rdx` pages, `r10` protection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protect {
    pub process: Handle,
    pub address: u64,
    pub pages: u64,
    pub protection: Protection,
}

impl Args for Protect {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        user_pages(r.0[1], r.0[2])?;
        Ok(Protect {
            protection: protection(r.0[3])?,
            process: handle(r.0[0])?,
            address: r.0[1],
            pages: r.0[2],
        })
    }
    fn encode(&self) -> Regs {
        Regs([
            raw_handle(self.process),
            self.address,
            self.pages,
            self.protection.bits(),
            0,
            0,
        ])
    }
}

/// `region_derive`: `rdi` region, `rsi` first page, `rdx` pages, `r10`
/// rights. (Whether the part lies inside the region is the kernel's
/// check: `InvalidArgument`.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionDerive {
    pub region: Handle,
    pub first: u64,
    pub pages: u64,
    pub rights: Rights,
}

impl Args for RegionDerive {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(RegionDerive {
            rights: Rights::from_raw(r.0[3])?,
            region: handle(r.0[0])?,
            first: r.0[1],
            pages: r.0[2],
        })
    }
    fn encode(&self) -> Regs {
        let rights = u64::from(self.rights.bits());
        Regs([
            raw_handle(self.region),
            self.first,
            self.pages,
            rights,
            0,
            0,
        ])
    }
}

/// `device_region`: `rdi` the device-memory control, `rsi` physical
/// address, `rdx` pages. (Which ranges are devices is the kernel's check.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceRegion {
    pub control: Handle,
    pub phys: u64,
    pub pages: u64,
}

impl Args for DeviceRegion {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(DeviceRegion {
            control: handle(r.0[0])?,
            phys: r.0[1],
            pages: r.0[2],
        })
    }
    fn encode(&self) -> Regs {
        Regs([raw_handle(self.control), self.phys, self.pages, 0, 0, 0])
    }
}

/// Which interrupt line `irq_get` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqNumber {
    /// A global system interrupt.
    Gsi(u32),
    /// An ISA IRQ (below 16), routed through the MADT.
    Isa(u8),
}

/// `irq_get`: `rdi` the IRQ control, `rsi` the number, `rdx` 1 if it is
/// an ISA IRQ (0: a GSI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqGet {
    pub control: Handle,
    pub number: IrqNumber,
}

impl Args for IrqGet {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        let number = if flag(r.0[2])? {
            IrqNumber::Isa(
                u8::try_from(r.0[1])
                    .ok()
                    .filter(|irq| *irq < 16)
                    .ok_or(SysError::InvalidArgument)?,
            )
        } else {
            IrqNumber::Gsi(u32::try_from(r.0[1]).map_err(|_| SysError::InvalidArgument)?)
        };
        Ok(IrqGet {
            control: handle(r.0[0])?,
            number,
        })
    }
    fn encode(&self) -> Regs {
        let (number, isa) = match self.number {
            IrqNumber::Gsi(gsi) => (u64::from(gsi), 0),
            IrqNumber::Isa(irq) => (u64::from(irq), 1),
        };
        Regs([raw_handle(self.control), number, isa, 0, 0, 0])
    }
}

/// `irq_bind`: `rdi` line, `rsi` notification, `rdx` bit (below 64).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqBind {
    pub irq: Handle,
    pub notification: Handle,
    pub bit: u8,
}

impl Args for IrqBind {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        let bit = u8::try_from(r.0[2])
            .ok()
            .filter(|bit| *bit < 64)
            .ok_or(SysError::InvalidArgument)?;
        Ok(IrqBind {
            irq: handle(r.0[0])?,
            notification: handle(r.0[1])?,
            bit,
        })
    }
    fn encode(&self) -> Regs {
        Regs([
            raw_handle(self.irq),
            raw_handle(self.notification),
            u64::from(self.bit),
            0,
            0,
            0,
        ])
    }
}

/// How an interrupt line signals: on an edge, or while at a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// ISA lines (unless the MADT overrides them).
    Edge = 0,
    /// PCI INTx lines, which several devices may share.
    Level = 1,
}

/// Which level (or edge) of an interrupt line is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polarity {
    /// ISA lines (unless the MADT overrides them).
    High = 0,
    /// PCI INTx lines.
    Low = 1,
}

/// `irq_configure`: `rdi` line, `rsi` trigger (0 edge, 1 level), `rdx`
/// polarity (0 active-high, 1 active-low).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqConfigure {
    pub irq: Handle,
    pub trigger: Trigger,
    pub polarity: Polarity,
}

impl Args for IrqConfigure {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        let trigger = if flag(r.0[1])? {
            Trigger::Level
        } else {
            Trigger::Edge
        };
        let polarity = if flag(r.0[2])? {
            Polarity::Low
        } else {
            Polarity::High
        };
        Ok(IrqConfigure {
            irq: handle(r.0[0])?,
            trigger,
            polarity,
        })
    }
    fn encode(&self) -> Regs {
        Regs([
            raw_handle(self.irq),
            self.trigger as u64,
            self.polarity as u64,
            0,
            0,
            0,
        ])
    }
}

/// `log_notify`: `rdi` a notification or 0 (unbind), `rsi` the bit
/// (below 64).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogNotify {
    pub notification: Option<Handle>,
    pub bit: u8,
}

impl Args for LogNotify {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        let bit = u8::try_from(r.0[1])
            .ok()
            .filter(|bit| *bit < 64)
            .ok_or(SysError::InvalidArgument)?;
        Ok(LogNotify {
            notification: optional_handle(r.0[0])?,
            bit,
        })
    }
    fn encode(&self) -> Regs {
        let notification = self.notification.map_or(0, raw_handle);
        Regs([notification, u64::from(self.bit), 0, 0, 0, 0])
    }
}

/// `ioport_grant`, `ioport_derive`: `rdi` an I/O-port handle, `rsi` first
/// port, `rdx` count (at least 1, ending at or below port 65536; whether
/// they lie inside the handle's range is the kernel's check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    pub ports: Handle,
    pub first: u16,
    pub count: u32,
}

impl Args for Ports {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        let (first, count) = (r.0[1], r.0[2]);
        let end = first.checked_add(count).ok_or(SysError::InvalidArgument)?;
        if count == 0 || end > PORTS_END {
            return Err(SysError::InvalidArgument);
        }
        Ok(Ports {
            ports: handle(r.0[0])?,
            first: first as u16,
            count: count as u32,
        })
    }
    fn encode(&self) -> Regs {
        let (first, count) = (u64::from(self.first), u64::from(self.count));
        Regs([raw_handle(self.ports), first, count, 0, 0, 0])
    }
}

/// `signal`: `rdi` notification, `rsi` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signal {
    pub notification: Handle,
    pub bits: u64,
}

impl Args for Signal {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(Signal {
            notification: handle(r.0[0])?,
            bits: r.0[1],
        })
    }
    fn encode(&self) -> Regs {
        Regs([raw_handle(self.notification), self.bits, 0, 0, 0, 0])
    }
}

/// `wait`: `rdi` notification, `rdx` timeout in nanoseconds (`rsi` is not
/// read: the timeout sits where the IPC calls carry theirs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    pub notification: Handle,
    pub timeout_ns: u64,
}

impl Args for Wait {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(Wait {
            notification: handle(r.0[0])?,
            timeout_ns: r.0[2],
        })
    }
    fn encode(&self) -> Regs {
        Regs([raw_handle(self.notification), 0, self.timeout_ns, 0, 0, 0])
    }
}

/// `notification_bind`: `rdi` notification, `rsi` thread (0: the calling
/// thread).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotificationBind {
    pub notification: Handle,
    pub thread: Option<Handle>,
}

impl Args for NotificationBind {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(NotificationBind {
            notification: handle(r.0[0])?,
            thread: optional_handle(r.0[1])?,
        })
    }
    fn encode(&self) -> Regs {
        Regs([
            raw_handle(self.notification),
            raw_optional(self.thread),
            0,
            0,
            0,
            0,
        ])
    }
}

/// `thread_start`: `rdi` thread, `rsi` entry, `rdx` stack pointer, `r10`
/// and `r8` the thread's first two arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadStart {
    pub thread: Handle,
    pub entry: u64,
    pub stack: u64,
    pub arg0: u64,
    pub arg1: u64,
}

impl Args for ThreadStart {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        let [thread, entry, stack, arg0, arg1, _] = r.0;
        if entry >= USER_END || stack > USER_END {
            return Err(SysError::BadAddress);
        }
        Ok(ThreadStart {
            thread: handle(thread)?,
            entry,
            stack,
            arg0,
            arg1,
        })
    }
    fn encode(&self) -> Regs {
        Regs([
            raw_handle(self.thread),
            self.entry,
            self.stack,
            self.arg0,
            self.arg1,
            0,
        ])
    }
}

/// `set_sched`: `rdi` thread, `rsi` policy (0 normal, 1 FIFO, 2
/// round-robin), `rdx` its parameter (nice or priority, signed). Whether
/// they make a policy is the scheduler's check (`InvalidArgument`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetSched {
    pub thread: Handle,
    pub policy: u64,
    pub param: i64,
}

impl Args for SetSched {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(SetSched {
            thread: handle(r.0[0])?,
            policy: r.0[1],
            param: r.0[2] as i64,
        })
    }
    fn encode(&self) -> Regs {
        Regs([
            raw_handle(self.thread),
            self.policy,
            self.param as u64,
            0,
            0,
            0,
        ])
    }
}

/// `set_pager`: `rdi` thread, `rsi` endpoint (0: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetPager {
    pub thread: Handle,
    pub pager: Option<Handle>,
}

impl Args for SetPager {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(SetPager {
            thread: handle(r.0[0])?,
            pager: optional_handle(r.0[1])?,
        })
    }
    fn encode(&self) -> Regs {
        Regs([
            raw_handle(self.thread),
            raw_optional(self.pager),
            0,
            0,
            0,
            0,
        ])
    }
}

/// `process_watch`: `rdi` process, `rsi` notification, `rdx` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessWatch {
    pub process: Handle,
    pub notification: Handle,
    pub bits: u64,
}

impl Args for ProcessWatch {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(ProcessWatch {
            process: handle(r.0[0])?,
            notification: handle(r.0[1])?,
            bits: r.0[2],
        })
    }
    fn encode(&self) -> Regs {
        Regs([
            raw_handle(self.process),
            raw_handle(self.notification),
            self.bits,
            0,
            0,
            0,
        ])
    }
}

/// `process_create`: `rdi` name, `rsi` its length (at most
/// [`PROCESS_NAME_MAX`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessCreate {
    pub name: u64,
    pub len: u64,
}

impl Args for ProcessCreate {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(ProcessCreate {
            len: length(r.0[1], PROCESS_NAME_MAX)?,
            name: r.0[0],
        })
    }
    fn encode(&self) -> Regs {
        Regs([self.name, self.len, 0, 0, 0, 0])
    }
}

/// `log`: `rdi` level, `rsi` text, `rdx` its length (at most
/// [`LOG_MAX`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Log {
    pub level: LogLevel,
    pub text: u64,
    pub len: u64,
}

impl Args for Log {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(Log {
            level: LogLevel::try_from(r.0[0])?,
            len: length(r.0[2], LOG_MAX as u64)?,
            text: r.0[1],
        })
    }
    fn encode(&self) -> Regs {
        Regs([self.level as u64, self.text, self.len, 0, 0, 0])
    }
}

/// `log_read`: `rdi` the first sequence number, `rsi` buffer, `rdx` its
/// length (at most [`LOG_READ_MAX`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogRead {
    pub since: u64,
    pub buffer: u64,
    pub len: u64,
}

impl Args for LogRead {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(LogRead {
            len: length(r.0[2], LOG_READ_MAX as u64)?,
            since: r.0[0],
            buffer: r.0[1],
        })
    }
    fn encode(&self) -> Regs {
        Regs([self.since, self.buffer, self.len, 0, 0, 0])
    }
}

/// `process_times`: `rdi` the pid to list after (any value), `rsi` where
/// the [`super::ProcessTimes`] goes (below [`USER_END`], else
/// `BadAddress`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessTimesArgs {
    pub after: u64,
    pub out: u64,
}

impl Args for ProcessTimesArgs {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(ProcessTimesArgs {
            after: r.0[0],
            out: user_address(r.0[1])?,
        })
    }
    fn encode(&self) -> Regs {
        Regs([self.after, self.out, 0, 0, 0, 0])
    }
}

/// A call whose one argument is a user address in `rdi`: `clock` (where
/// the `ClockInfo` goes), `tls_set` (the FS base; 0 allowed) — below
/// [`USER_END`], else `BadAddress`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Address {
    pub address: u64,
}

impl Args for Address {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(Address {
            address: user_address(r.0[0])?,
        })
    }
    fn encode(&self) -> Regs {
        Regs([self.address, 0, 0, 0, 0, 0])
    }
}

/// `ipc_buffer_set`: `rdi` a page-aligned user address, or 0 for none
/// (else `BadAddress`; whether the page is mapped writable is the
/// kernel's check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpcBufferSet {
    pub address: Option<u64>,
}

impl Args for IpcBufferSet {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        let address = r.0[0];
        if address == 0 {
            return Ok(IpcBufferSet { address: None });
        }
        if !address.is_multiple_of(PAGE_SIZE) || address >= USER_END {
            return Err(SysError::BadAddress);
        }
        Ok(IpcBufferSet {
            address: Some(address),
        })
    }
    fn encode(&self) -> Regs {
        Regs([self.address.unwrap_or(0), 0, 0, 0, 0, 0])
    }
}

/// `exit`: `rdi` the status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    pub status: u64,
}

impl Args for Exit {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(Exit { status: r.0[0] })
    }
    fn encode(&self) -> Regs {
        Regs([self.status, 0, 0, 0, 0, 0])
    }
}

/// `grant_copy`: `rdi` a reply handle, or 0 for the thread's current
/// caller; `rsi` the [`Direction`] (0 from the window, 1 to it, else
/// `InvalidArgument`); `rdx` the offset in the window (≤ [`GRANT_MAX`],
/// else `BadAddress`); `r10` the server's buffer and `r8` the length (≤
/// [`GRANT_MAX`], else `BadLength`; the buffer must not wrap or leave the
/// user half, else `BadAddress`); `r9` 0 (else `InvalidArgument`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantCopy {
    pub reply: Option<Handle>,
    pub direction: Direction,
    pub offset: u64,
    pub buffer: u64,
    pub len: u64,
}

impl Args for GrantCopy {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        let [reply, direction, offset, buffer, len, reserved] = r.0;
        if reserved != 0 {
            return Err(SysError::InvalidArgument);
        }
        let reply = optional_handle(reply)?;
        let direction = Direction::from_raw(direction)?;
        if offset > GRANT_MAX {
            return Err(SysError::BadAddress);
        }
        let len = length(len, GRANT_MAX)?;
        let end = buffer.checked_add(len).ok_or(SysError::BadAddress)?;
        if end > USER_END {
            return Err(SysError::BadAddress);
        }
        Ok(GrantCopy {
            reply,
            direction,
            offset,
            buffer,
            len,
        })
    }
    fn encode(&self) -> Regs {
        Regs([
            raw_optional(self.reply),
            self.direction as u64,
            self.offset,
            self.buffer,
            self.len,
            0,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: u64 = 1 << 40;
    const H: u64 = 0x0001_0003;

    fn regs(r: [u64; 6]) -> Regs {
        Regs(r)
    }

    /// `good` decodes and encodes back to the same registers; every
    /// `(registers, error)` in `bad` fails with exactly that error.
    fn check<A: Args + core::fmt::Debug>(good: [u64; 6], bad: &[([u64; 6], SysError)]) {
        let args = A::decode(&regs(good)).expect("good arguments decode");
        assert_eq!(args.encode(), regs(good), "{args:?} encodes back");
        for (registers, error) in bad {
            assert_eq!(
                A::decode(&regs(*registers)).map(|_| ()),
                Err(*error),
                "{registers:x?}"
            );
        }
    }

    #[test]
    fn handles() {
        use SysError::*;
        check::<HandleDup>(
            [H, 0b11, 7, 1, 0, 0],
            &[
                ([BIG, 0b11, 7, 1, 0, 0], BadHandle),
                ([H, 1 << 40, 7, 1, 0, 0], InvalidArgument),
                ([H, 1 << 31, 7, 1, 0, 0], InvalidArgument),
                ([H, 0b11, 7, 2, 0, 0], InvalidArgument),
            ],
        );
        check::<HandleDup>([H, 0, 0, 0, 0, 0], &[]);
        check::<OneHandle>([H, 0, 0, 0, 0, 0], &[([BIG, 0, 0, 0, 0, 0], BadHandle)]);
        check::<HandleOut>(
            [H, 0x1000, 0, 0, 0, 0],
            &[
                ([BIG, 0x1000, 0, 0, 0, 0], BadHandle),
                ([H, USER_END, 0, 0, 0, 0], BadAddress),
            ],
        );
        check::<ProcessTimesArgs>(
            [u64::MAX, 0x1000, 0, 0, 0, 0],
            &[([0, USER_END, 0, 0, 0, 0], BadAddress)],
        );
        check::<HandleGive>(
            [H, H + 1, 1, 0, 0, 0],
            &[
                ([BIG, H, 1, 0, 0, 0], BadHandle),
                ([H, BIG, 1, 0, 0, 0], BadHandle),
                ([H, H, 1 << 31, 0, 0, 0], InvalidArgument),
            ],
        );
    }

    #[test]
    fn memory() {
        use SysError::*;
        let rw = (Protection::READ | Protection::WRITE).bits();
        check::<Map>(
            [H, 0x40_0000, H + 1, 2, 3, rw | MAP_REPLACE],
            &[
                ([H, 0x40_0000, H, 0, 0, rw], BadLength),
                ([H, 0x40_0000, H, 0, MAX_MAP_PAGES + 1, rw], BadLength),
                ([H, 0x40_0001, H, 0, 1, rw], BadAddress),
                ([H, 0, H, 0, 1, rw], BadAddress),
                ([H, USER_END - PAGE_SIZE, H, 0, 2, rw], BadAddress),
                ([H, !0xfff, H, 0, 2, rw], BadAddress),
                ([H, 0x40_0000, H, 0, 1, 0], InvalidArgument),
                (
                    [H, 0x40_0000, H, 0, 1, Protection::WRITE.bits()],
                    InvalidArgument,
                ),
                ([H, 0x40_0000, H, 0, 1, 0b111], InvalidArgument),
                ([H, 0x40_0000, H, 0, 1, 1 << 9], InvalidArgument),
                ([BIG, 0x40_0000, H, 0, 1, rw], BadHandle),
                ([H, 0x40_0000, BIG, 0, 1, rw], BadHandle),
            ],
        );
        check::<Unmap>(
            [H, 0x40_0000, 4, 0, 0, 0],
            &[
                ([H, 0x40_0000, 0, 0, 0, 0], BadLength),
                ([H, 0x40_0800, 1, 0, 0, 0], BadAddress),
                ([BIG, 0x40_0000, 1, 0, 0, 0], BadHandle),
            ],
        );
        check::<Protect>(
            [H, 0x40_0000, 4, 0b101, 0, 0],
            &[
                ([H, 0x40_0000, 0, 1, 0, 0], BadLength),
                ([H, USER_END, 1, 1, 0, 0], BadAddress),
                ([H, 0x40_0000, 1, 0b110, 0, 0], InvalidArgument),
                ([BIG, 0x40_0000, 1, 1, 0, 0], BadHandle),
            ],
        );
        check::<RegionDerive>(
            [H, 1, 2, 0b11, 0, 0],
            &[
                ([H, 1, 2, 1 << 33, 0, 0], InvalidArgument),
                ([BIG, 1, 2, 1, 0, 0], BadHandle),
            ],
        );
        check::<DeviceRegion>(
            [H, 0xfee0_0000, 1, 0, 0, 0],
            &[([BIG, 0, 1, 0, 0, 0], BadHandle)],
        );
        check::<IpcBufferSet>(
            [0x7000_0000, 0, 0, 0, 0, 0],
            &[
                ([0x7000_0008, 0, 0, 0, 0, 0], BadAddress),
                ([USER_END, 0, 0, 0, 0, 0], BadAddress),
            ],
        );
        check::<IpcBufferSet>([0; 6], &[]);
    }

    #[test]
    fn hardware() {
        use SysError::*;
        check::<IrqGet>(
            [H, 33, 0, 0, 0, 0],
            &[
                ([H, 1 << 32, 0, 0, 0, 0], InvalidArgument),
                ([H, 16, 1, 0, 0, 0], InvalidArgument),
                ([H, 300, 1, 0, 0, 0], InvalidArgument),
                ([H, 4, 2, 0, 0, 0], InvalidArgument),
                ([BIG, 4, 0, 0, 0, 0], BadHandle),
            ],
        );
        check::<IrqGet>([H, 4, 1, 0, 0, 0], &[]);
        check::<IrqBind>(
            [H, H + 1, 63, 0, 0, 0],
            &[
                ([H, H, 64, 0, 0, 0], InvalidArgument),
                ([H, H, 1 << 40, 0, 0, 0], InvalidArgument),
                ([BIG, H, 1, 0, 0, 0], BadHandle),
                ([H, BIG, 1, 0, 0, 0], BadHandle),
            ],
        );
        check::<IrqConfigure>(
            [H, 1, 1, 0, 0, 0],
            &[
                ([H, 2, 1, 0, 0, 0], InvalidArgument),
                ([H, 1, 2, 0, 0, 0], InvalidArgument),
                ([H, u64::MAX, 0, 0, 0, 0], InvalidArgument),
                ([BIG, 0, 0, 0, 0, 0], BadHandle),
            ],
        );
        check::<IrqConfigure>([H, 0, 0, 0, 0, 0], &[]);
        check::<LogNotify>(
            [H, 63, 0, 0, 0, 0],
            &[
                ([H, 64, 0, 0, 0, 0], InvalidArgument),
                ([BIG, 1, 0, 0, 0, 0], BadHandle),
            ],
        );
        check::<LogNotify>([0, 0, 0, 0, 0, 0], &[]);
        check::<Ports>(
            [H, 0x3f8, 8, 0, 0, 0],
            &[
                ([H, 0x3f8, 0, 0, 0, 0], InvalidArgument),
                ([H, 0xfff0, 0x11, 0, 0, 0], InvalidArgument),
                ([H, u64::MAX, 2, 0, 0, 0], InvalidArgument),
                ([BIG, 0x3f8, 8, 0, 0, 0], BadHandle),
            ],
        );
        check::<Ports>([H, 0, PORTS_END, 0, 0, 0], &[]);
    }

    #[test]
    fn notifications() {
        use SysError::*;
        check::<Signal>([H, 0b101, 0, 0, 0, 0], &[([BIG, 1, 0, 0, 0, 0], BadHandle)]);
        check::<Wait>(
            [H, 0, 1_000_000, 0, 0, 0],
            &[([BIG, 0, 1, 0, 0, 0], BadHandle)],
        );
        check::<NotificationBind>(
            [H, 0, 0, 0, 0, 0],
            &[
                ([BIG, 0, 0, 0, 0, 0], BadHandle),
                ([H, BIG, 0, 0, 0, 0], BadHandle),
            ],
        );
        check::<NotificationBind>([H, H + 1, 0, 0, 0, 0], &[]);
    }

    #[test]
    fn tasks() {
        use SysError::*;
        check::<ThreadStart>(
            [H, 0x40_1000, 0x7fff_0000, 1, 2, 0],
            &[
                ([H, USER_END, 0x7fff_0000, 0, 0, 0], BadAddress),
                ([H, 0x40_1000, USER_END + 1, 0, 0, 0], BadAddress),
                ([BIG, 0x40_1000, 0x7fff_0000, 0, 0, 0], BadHandle),
            ],
        );
        check::<SetSched>(
            [H, 1, -5i64 as u64, 0, 0, 0],
            &[([BIG, 0, 0, 0, 0, 0], BadHandle)],
        );
        check::<SetPager>(
            [H, H + 1, 0, 0, 0, 0],
            &[
                ([BIG, 0, 0, 0, 0, 0], BadHandle),
                ([H, BIG, 0, 0, 0, 0], BadHandle),
            ],
        );
        check::<SetPager>([H, 0, 0, 0, 0, 0], &[]);
        check::<ProcessWatch>(
            [H, H + 1, 4, 0, 0, 0],
            &[
                ([BIG, H, 4, 0, 0, 0], BadHandle),
                ([H, BIG, 4, 0, 0, 0], BadHandle),
            ],
        );
        check::<ProcessCreate>(
            [0x40_0000, PROCESS_NAME_MAX, 0, 0, 0, 0],
            &[([0x40_0000, PROCESS_NAME_MAX + 1, 0, 0, 0, 0], BadLength)],
        );
        check::<Exit>([3, 0, 0, 0, 0, 0], &[]);
        check::<Address>(
            [0x40_0000, 0, 0, 0, 0, 0],
            &[([USER_END, 0, 0, 0, 0, 0], BadAddress)],
        );
    }

    #[test]
    fn log() {
        use SysError::*;
        check::<Log>(
            [6, 0x40_0000, LOG_MAX as u64, 0, 0, 0],
            &[
                ([8, 0x40_0000, 1, 0, 0, 0], InvalidArgument),
                ([6, 0x40_0000, LOG_MAX as u64 + 1, 0, 0, 0], BadLength),
            ],
        );
        check::<LogRead>(
            [5, 0x40_0000, LOG_READ_MAX as u64, 0, 0, 0],
            &[([0, 0x40_0000, LOG_READ_MAX as u64 + 1, 0, 0, 0], BadLength)],
        );
    }

    #[test]
    fn grant_copy() {
        let max = GRANT_MAX;
        check::<GrantCopy>(
            [H, 1, 4000, 0x40_0000, 96, 0],
            &[
                ([BIG, 1, 0, 0x1000, 8, 0], SysError::BadHandle),
                ([0, 2, 0, 0x1000, 8, 0], SysError::InvalidArgument),
                ([0, 0, max + 1, 0x1000, 8, 0], SysError::BadAddress),
                ([0, 0, 0, 0x1000, max + 1, 0], SysError::BadLength),
                ([0, 0, 0, USER_END - 4, 8, 0], SysError::BadAddress),
                ([0, 0, 0, u64::MAX - 3, 8, 0], SysError::BadAddress),
                ([0, 1, 0, 0x1000, 8, 1], SysError::InvalidArgument),
            ],
        );
        let current = GrantCopy::decode(&Regs([0, 0, 0, 0x1000, 8, 0])).unwrap();
        assert_eq!(current.reply, None);
        assert_eq!(current.direction, Direction::FromWindow);
    }
}
