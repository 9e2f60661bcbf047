//! The kinds of kernel object a handle can name.

use super::SysError;

/// What a handle names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum ObjectType {
    /// A rendezvous point for synchronous IPC.
    Endpoint = 1,
    /// A word of signal bits for asynchronous events.
    Notification = 2,
    /// A process: its address space and threads.
    Process = 3,
    /// A thread.
    Thread = 4,
    /// One interrupt line (a global system interrupt).
    Irq = 5,
    /// The right to take handles to interrupt lines.
    IrqControl = 6,
    /// A range of physical memory that can be mapped.
    MemoryRegion = 7,
    /// A range of I/O ports.
    IoPorts = 8,
    /// A server placed inside the kernel (`placement=mono`): `call` on it
    /// runs the server's core directly, as `call` on an endpoint would
    /// reach the server process.
    Service = 9,
    /// The right to take device-memory regions (`device_region`).
    DeviceControl = 10,
    /// A saved reply right: one answer to one blocked caller
    /// (`reply_save`, `reply_to`).
    Reply = 11,
    /// The right to take COM1 from the kernel (`console_take`): a console
    /// driver's.
    ConsoleControl = 16,
    /// The right to put threads in a real-time class (`set_sched_rt`):
    /// the kernel gives it to the first process alone.
    SchedControl = 18,
    /// The right to turn the machine off or reset it (`power`): the
    /// kernel gives it to the first process alone.
    PowerControl = 19,
}

impl ObjectType {
    pub const ALL: [ObjectType; 14] = [
        ObjectType::Endpoint,
        ObjectType::Notification,
        ObjectType::Process,
        ObjectType::Thread,
        ObjectType::Irq,
        ObjectType::IrqControl,
        ObjectType::MemoryRegion,
        ObjectType::IoPorts,
        ObjectType::Service,
        ObjectType::DeviceControl,
        ObjectType::Reply,
        ObjectType::ConsoleControl,
        ObjectType::SchedControl,
        ObjectType::PowerControl,
    ];
}

impl TryFrom<u64> for ObjectType {
    type Error = SysError;

    fn try_from(n: u64) -> Result<Self, SysError> {
        ObjectType::ALL
            .into_iter()
            .find(|t| *t as u64 == n)
            .ok_or(SysError::InvalidArgument)
    }
}
