//! The kernel ABI: the one definition of system-call numbers, error codes,
//! handles and rights, the IPC message layout, log levels and the structs
//! the kernel fills, shared by the kernel and user space.
//!
//! Register convention (x86_64, `syscall` instruction):
//! - in: `rax` = [`Syscall`] number; arguments in `rdi`, `rsi`, `rdx`, `r10`,
//!   `r8`, `r9` (`rcx` and `r11` are taken by the instruction itself);
//! - out: `rax` = 0 on success or a [`SysError`] code, `rdx` = the result
//!   value (0 when a call has none);
//! - IPC calls use more registers: see [`ipc`];
//! - each other call's arguments, as a typed struct with its register
//!   mapping and checked decoding: see [`args`].
//!
//! Every conversion from a raw number is checked: an unknown number is an
//! error value, never a panic.

pub mod args;
mod error;
pub mod exception;
mod framebuffer;
pub mod grant;
mod info;
pub mod ipc;
pub mod limits;
mod log;
mod memory;
pub mod meter;
mod object;
pub mod power;
mod syscall;
mod time;

pub use error::{decode_result, encode_result, NotAnError, SysError};
pub use framebuffer::{FramebufferError, FramebufferInfo};
pub use info::{
    ClockInfo, InitInfo, IrqInfo, ModuleInfo, MsiMessage, ProcessInfo, ProcessStatus, ProcessTime,
    ProcessTimes, RegionInfo, ServiceInfo, ThreadStats, MODULES_MAX, MSI_PER_PROCESS, MSI_VECTORS,
    PROCESS_TIMES_MAX, REGIONS_MAX, SERVICES_MAX,
};
pub use ipc::{Handle, MsgInfo, Rights};
pub use log::{LogLevel, LOG_MAX, LOG_READ_MAX, LOG_WATCHERS_MAX};
pub use memory::{
    Protection, INIT_INFO_ADDR, IPC_BUFFER_ADDR, MAP_REPLACE, PAGE_SIZE, USER_END, USER_STACK_TOP,
};
pub use object::ObjectType;
pub use syscall::Syscall;
pub use time::HZ;
