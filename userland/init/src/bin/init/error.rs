//! Why `init` could not set itself up or start a process: one enum per
//! phase, each variant naming the step that failed and the error the
//! kernel, the loader or `mm` gave. Their `Display` is what `init` logs
//! (`cannot start <name>: <error>`), so a reader of the serial log sees
//! the step and the cause.

use core::fmt;

use init::manifest::{IrqLine, ManifestError};
use libsys::abi::SysError;
use libsys::proto::mm::MmError;
use libsys::rpc::RpcError;
use libsys::spawn::SpawnError;

/// Why `init` cannot run at all (it exits with status 1).
#[derive(Debug)]
pub enum SetupError {
    /// No boot module is named `manifest*`.
    NoManifest,
    /// The manifest module could not be mapped.
    MapManifest(SysError),
    ManifestNotUtf8,
    Manifest(ManifestError),
    /// More entries than the deaths notification has bits for.
    TooManyEntries,
    Endpoint(SysError),
    Notification(SysError),
    BindDeaths(SysError),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::NoManifest => write!(f, "no boot module named manifest*"),
            SetupError::MapManifest(e) => write!(f, "map the manifest: {e}"),
            SetupError::ManifestNotUtf8 => write!(f, "the manifest is not UTF-8"),
            SetupError::Manifest(e) => write!(f, "{e}"),
            SetupError::TooManyEntries => write!(f, "more than 63 manifest entries"),
            SetupError::Endpoint(e) => write!(f, "endpoint: {e}"),
            SetupError::Notification(e) => write!(f, "notification: {e}"),
            SetupError::BindDeaths(e) => write!(f, "bind deaths: {e}"),
        }
    }
}

/// Why a manifest entry's process could not be started.
#[derive(Debug)]
pub enum StartError {
    /// The manifest names a module the loader did not load.
    NoModule(alloc::string::String),
    /// `libsys::spawn` refused or failed to lay out the image.
    Load(SpawnError),
    /// `libsys::spawn` failed to start the built process.
    Start(SpawnError),
    /// A system call on the way failed (`process_create`, `thread_start`, …).
    Syscall(&'static str, SysError),
    /// The process table is full, or has the pid already.
    ProcessTable(init::procs::TableError),
    /// Moving a handle into the new process failed.
    Give(SpawnError),
    /// No `pages` pages could be set apart for the new process.
    Pages(u64, SpawnError),
    BadgeNameService(SysError),
    DeriveRegion(SysError),
    Irq(IrqLine, SysError),
    Ports(u16, u32, SysError),
    /// The kernel refused the device memory `device=` names.
    DeviceMemory(u64, u64, SysError),
    NoDeviceControl,
    /// The argument string is longer than `mm`'s `Adopt` takes.
    ArgsTooLong,
    /// The call to `mm` failed.
    MmCall(RpcError),
    /// `mm` refused to adopt the process.
    MmRefused(MmError),
    /// `mm` refused the device memory.
    MmRefusedDevice(MmError),
    /// The memory server refused `AllowViews` (`views`).
    MmRefusedViews(MmError),
    /// `mm` answered with a reply of another request.
    MmUnexpected,
    /// `mm`'s `Adopted` came without the pager handle.
    NoPagerHandle,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::NoModule(name) => write!(f, "no boot module `{name}`"),
            StartError::Load(e) => write!(f, "load: {e}"),
            StartError::Start(e) => write!(f, "start: {e}"),
            StartError::Syscall(call, e) => write!(f, "{call}: {e}"),
            StartError::ProcessTable(e) => write!(f, "process table: {e:?}"),
            StartError::Give(e) => write!(f, "give: {e}"),
            StartError::Pages(pages, e) => write!(f, "{pages} pages: {e}"),
            StartError::BadgeNameService(e) => write!(f, "badge the name service: {e}"),
            StartError::DeriveRegion(e) => write!(f, "derive a region: {e}"),
            StartError::Irq(line, e) => write!(f, "IRQ {line:?}: {e}"),
            StartError::Ports(first, count, e) => write!(f, "ports {first:#x}:{count}: {e}"),
            StartError::DeviceMemory(phys, pages, e) => {
                write!(f, "device memory {phys:#x}+{pages} pages: {e}")
            }
            StartError::NoDeviceControl => write!(f, "no device-memory control"),
            StartError::ArgsTooLong => write!(f, "arguments longer than mm takes"),
            StartError::MmCall(e) => write!(f, "mm: {e}"),
            StartError::MmRefused(e) => write!(f, "mm refused it: {e}"),
            StartError::MmRefusedDevice(e) => write!(f, "mm refused device memory: {e}"),
            StartError::MmRefusedViews(e) => write!(f, "mm refused views: {e}"),
            StartError::MmUnexpected => write!(f, "mm: unexpected reply"),
            StartError::NoPagerHandle => write!(f, "mm: no pager handle"),
        }
    }
}
