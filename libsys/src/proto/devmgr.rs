//! `devmgr`, the device manager (LKD 17): the device model, PCI and the
//! sysfs tree, served — the protocol, and the client stub.
//!
//! Clients are told apart by the badge of the handle the name service gave
//! them. A client may register drivers (until devmgr starts driver
//! processes itself, a driver is a client that says which devices it
//! drives); the devices bound to a client's driver are that client's, and
//! only their own configuration space is open to it.
//!
//! | request | reply | errors (`Reply::Error`) |
//! | --- | --- | --- |
//! | `ListDevices { bus, start }` | `Names { names, total }`: up to [`LIST_MAX`] device names from `start` | — |
//! | `PciInfo { slot }` | `Pci(PciInfo)`: header, BARs, IRQ, capabilities, driver | `NoSuchDevice` |
//! | `Read { path }` | `Text(..)`: a sysfs attribute (`/sys/bus/pci/devices/0000:00:1f.3/vendor`) | `NotFound`, `IsDirectory`, `WriteOnly`, `TooLong` |
//! | `List { path, start }` | `Names { names, total }`: a sysfs directory's entries from `start` | `NotFound`, `NotDirectory` |
//! | `Write { path, value }` | `Done`: a driver's `bind`/`unbind`, a device's `uevent` | `ReadOnly`, `InvalidValue`, `IsDirectory`, `NotFound`, the model's errors |
//! | `RegisterDriver { name, bus, ids }` | `Bound(n)`: devices it took | `InvalidName`, `NameExists`, `TooManyDrivers`, `NoSpace` |
//! | `UnregisterDriver { name, bus }` | `Done` (its devices unbound) | `NoSuchDriver`, `NotAllowed` (another client's) |
//! | `Subscribe` | `Done`: uevents are queued for this client (at most [`UEVENT_QUEUE`]) | `TooManySubscribers` |
//! | `NextUevent` | `Uevent { event, dropped }`: the oldest queued, in netlink form (`action@devpath\0KEY=value\0…`), or none | `NotSubscribed` |
//! | `WaitUevent` | as `NextUevent`, but with none queued the reply waits for the next event (devmgr answers it later and serves others meanwhile) | `NotSubscribed`, `AlreadyWaiting` (another thread of the client waits), `NotSubscribed` also when the client unsubscribes meanwhile |
//! | `Unsubscribe` | `Done` | `NotSubscribed` |
//! | `ConfigRead { slot, offset }` | `Config(dword)` | `NoSuchDevice`, `NotAllowed` (not bound to a driver of this client), `BadOffset` |
//! | `ConfigWrite { slot, offset, value }` | `Done` | as `ConfigRead`; `NotAllowed` also for the BARs, the expansion ROM and the MSI capability (`EnableMsi` programs it) |
//! | `Open { device }` | `Opened`, with a send handle to the driver process serving the device (badged with the caller's badge): a device node | `NoSuchDevice`, `NotRunning` (no process driver runs for it now) |
//! | `AddClassDevice(ClassDevice)` | `Done`: a class device of the caller's (`/sys/class/<class>/<name>`, `add` uevent with `DEVNAME`, `MAJOR`, `MINOR`, `DEVTYPE`), below `parent` (a device on a bus, `0000:00:04.0`, `serial8250`, or one of the caller's own class devices, a partition's disk) or `/devices/virtual/<class>` | `InvalidName`, `InvalidValue` (device number out of range, bad `devtype`, a mode over 0o777), `NameExists`, `NoSuchDevice` (parent), `NotAllowed` (parent a class device of another client), `TooManyClassDevices` ([`CLASS_DEVICES_PER_CLIENT`]), `NoSpace` |
//! | `RemoveClassDevice { class, name }` | `Done`: the device and its children removed (`remove` uevents, children first) | `NoSuchDevice`, `NotAllowed` (another client's) |
//! | `Interrupts` | `Text(..)`: `/proc/interrupts` (Linux's layout: per interrupt in use its count, `IO-APIC`/`PCI-MSI`, its number and trigger, its users' names) | `TooLong` |
//! | `EnableMsi { slot }` | `Msi { vector }`, with a handle (MANAGE) to the message-signalled interrupt devmgr programmed into the function's MSI capability (one vector; INTx disabled); devmgr turns MSI off and frees the vector when the driver dies or is unbound | `NoSuchDevice`, `NotAllowed` (not bound to a driver of this client), `NoMsi` (no MSI capability: use INTx), `NoVectors` (none free: use INTx), `MsiEnabled` |
//!
//! Configuration offsets are dword-aligned and below 256 (devmgr uses the
//! legacy port pair 0xCF8/0xCFC). Strings longer than the types allow do
//! not decode: the request gets `LABEL_BAD_REQUEST`, as does any request
//! that carries handles.
//!
//! The handles `devmgr` gives a PCI driver process it starts (through
//! `init`'s spawn protocol), in order: `h0` the endpoint its clients'
//! `Open` handles reach (receive), `h1` its INTx line (configured
//! level-triggered, routed as the machine routes the slot's pin), then
//! one handle per BAR in BAR order — a device-memory region (map it with
//! `libsys::mm::map_region`) or an I/O port range. Its arguments say
//! which: `dev=<slot> bars=<index>,...`.

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// Longest device or driver name.
pub const NAME_MAX: usize = 64;
/// Longest sysfs path.
pub const PATH_MAX: usize = 256;
/// Longest attribute text (longer ones are `TooLong`).
pub const TEXT_MAX: usize = 1024;
/// Longest value written.
pub const WRITE_MAX: usize = 128;
/// Names in one `Names` page.
pub const LIST_MAX: usize = 24;
/// Entries of a driver's ID table in `RegisterDriver`.
pub const IDS_MAX: usize = 8;
/// Capabilities reported in `PciInfo`.
pub const CAPS_MAX: usize = 16;
/// Uevents queued per subscribed client.
pub const UEVENT_QUEUE: usize = 32;
/// Drivers one client may register.
pub const DRIVERS_PER_CLIENT: usize = 4;
/// Class devices one client may own (`AddClassDevice`): a block server's
/// disks and their partitions, a terminal server's terminals.
pub const CLASS_DEVICES_PER_CLIENT: usize = 64;
/// Longest `DEVTYPE` (`disk`, `partition`).
pub const DEVTYPE_MAX: usize = 16;
/// Largest major and minor numbers (Linux's 12 and 20 bits).
pub const MAJOR_MAX: u32 = 0xfff;
pub const MINOR_MAX: u32 = 0xf_ffff;

pub type Name = heapless::String<NAME_MAX>;
pub type Path = heapless::String<PATH_MAX>;
pub type Text = heapless::String<TEXT_MAX>;

/// The buses of the device model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Bus {
    Pci,
    Platform,
    Virtio,
}

/// A PCI function's place: bus, device (0–31), function (0–7), segment 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Slot {
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

/// One entry of a driver's ID table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum IdMatch {
    /// `pci_device_id`: vendor and device (`0xFFFF_FFFF` = any), and the
    /// class bits under `class_mask` (0 = any class).
    Pci {
        vendor: u32,
        device: u32,
        class: u32,
        class_mask: u32,
    },
    /// A platform device's name.
    Platform(Name),
}

/// The classes a server may add devices to (`/sys/class`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum DevClass {
    Tty,
    Block,
    Input,
}

/// A class device a server adds (`device_create`): what it is, its
/// number, and where it hangs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct ClassDevice {
    pub class: DevClass,
    /// Its name, which is also its node's below `/dev` (`vda1`, `ttyS0`).
    pub name: Name,
    /// (major, minor).
    pub devt: (u32, u32),
    /// `DEVTYPE` (`disk`, `partition`), if any.
    pub devtype: Option<heapless::String<DEVTYPE_MAX>>,
    /// Its parent: a bus device's name (`0000:00:04.0`, `serial8250`) or
    /// one of the caller's class devices of the same class (a partition's
    /// disk); `None` for `/devices/virtual/<class>`.
    pub parent: Option<Name>,
    /// Its node's permission bits (`DEVMODE`, at most 0o777); `None`:
    /// devfs's default, 0600.
    pub mode: Option<u16>,
}

/// A BAR as reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct BarInfo {
    /// Which BAR slot (0–5).
    pub index: u8,
    /// Ports (true) or memory.
    pub io: bool,
    pub start: u64,
    pub size: u64,
    pub prefetchable: bool,
    pub is_64bit: bool,
}

/// What devmgr knows of a PCI function (`lspci -v`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct PciInfo {
    pub slot: Slot,
    pub vendor: u16,
    pub device: u16,
    pub subvendor: u16,
    pub subdevice: u16,
    /// Class, subclass, programming interface (24 bits).
    pub class: u32,
    pub revision: u8,
    pub header_type: u8,
    /// Interrupt pin (0 none, 1–4 INTA#–INTD#) and line.
    pub interrupt_pin: u8,
    pub interrupt_line: u8,
    pub bars: heapless::Vec<BarInfo, 6>,
    /// (capability ID, offset) in list order.
    pub capabilities: heapless::Vec<(u8, u8), CAPS_MAX>,
    /// MSI vectors, if it has MSI.
    pub msi_vectors: Option<u8>,
    /// MSI-X table size, if it has MSI-X.
    pub msix_entries: Option<u16>,
    /// The driver bound to it.
    pub driver: Option<Name>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    ListDevices {
        bus: Bus,
        start: u32,
    },
    PciInfo {
        slot: Slot,
    },
    Read {
        path: Path,
    },
    List {
        path: Path,
        start: u32,
    },
    Write {
        path: Path,
        value: heapless::Vec<u8, WRITE_MAX>,
    },
    RegisterDriver {
        name: Name,
        bus: Bus,
        ids: heapless::Vec<IdMatch, IDS_MAX>,
    },
    UnregisterDriver {
        name: Name,
        bus: Bus,
    },
    Subscribe,
    NextUevent,
    Unsubscribe,
    ConfigRead {
        slot: Slot,
        offset: u16,
    },
    ConfigWrite {
        slot: Slot,
        offset: u16,
        value: u32,
    },
    WaitUevent,
    /// A device node: a handle to the driver process serving `device`
    /// (one devmgr started: `edu`), badged with the caller's badge.
    Open {
        device: Name,
    },
    /// A class device of the caller's (see [`ClassDevice`]).
    AddClassDevice(ClassDevice),
    /// Removes one of the caller's class devices and its children.
    RemoveClassDevice {
        class: DevClass,
        name: Name,
    },
    /// Message-signalled interrupts for `slot`, a function bound to the
    /// caller's driver: devmgr takes a vector from the kernel, programs
    /// the function's MSI capability with it (one vector) and disables
    /// its INTx; the reply carries the interrupt's handle.
    EnableMsi {
        slot: Slot,
    },
    /// `/proc/interrupts`: each interrupt in use, its count, controller
    /// and users.
    Interrupts,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum DevError {
    /// No such sysfs file or directory.
    NotFound,
    IsDirectory,
    NotDirectory,
    WriteOnly,
    ReadOnly,
    /// A written value that is not understood.
    InvalidValue,
    /// An attribute or uevent longer than the reply allows.
    TooLong,
    /// A device or driver name that is empty, too long or has `/`.
    InvalidName,
    NameExists,
    NoSuchDevice,
    NoSuchDriver,
    BusMismatch,
    /// The driver's ID table does not match the device.
    NoMatch,
    AlreadyBound,
    NotBound,
    ProbeFailed,
    /// The model or a table is full.
    NoSpace,
    /// The device is not bound to a driver of this client, or the
    /// register may not be written.
    NotAllowed,
    /// A configuration offset not dword-aligned or not below 256.
    BadOffset,
    TooManyDrivers,
    TooManySubscribers,
    NotSubscribed,
    /// Another thread of the client already waits for a uevent.
    AlreadyWaiting,
    /// The device's driver process is not running (restarting, or the
    /// device is bound to no process driver).
    NotRunning,
    /// The client owns [`CLASS_DEVICES_PER_CLIENT`] class devices.
    TooManyClassDevices,
    /// `EnableMsi` of a function without an MSI capability: use INTx.
    NoMsi,
    /// `EnableMsi` when the kernel's MSI vectors are all taken (or
    /// devmgr's share of them): use INTx.
    NoVectors,
    /// `EnableMsi` of a function whose MSI is on already.
    MsiEnabled,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Done,
    Names {
        names: heapless::Vec<Name, LIST_MAX>,
        total: u32,
    },
    Pci(PciInfo),
    Text(Text),
    Bound(u32),
    Uevent {
        event: Option<Text>,
        dropped: u64,
    },
    Config(u32),
    Error(DevError),
    /// `Open`'s answer: the message carries the send handle.
    Opened,
    /// `EnableMsi`'s answer: the message carries the interrupt's handle
    /// (bind and acknowledge it as a line); `vector` is its IDT vector.
    Msi {
        vector: u8,
    },
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

impl core::fmt::Display for DevError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            DevError::NotFound => "no such file or directory",
            DevError::IsDirectory => "is a directory",
            DevError::NotDirectory => "not a directory",
            DevError::WriteOnly => "write-only attribute",
            DevError::ReadOnly => "read-only attribute",
            DevError::InvalidValue => "invalid value",
            DevError::TooLong => "too long for a reply",
            DevError::InvalidName => "invalid name",
            DevError::NameExists => "name exists",
            DevError::NoSuchDevice => "no such device",
            DevError::NoSuchDriver => "no such driver",
            DevError::BusMismatch => "driver and device are on different buses",
            DevError::NoMatch => "the driver does not match the device",
            DevError::AlreadyBound => "the device already has a driver",
            DevError::NotBound => "the device is not bound",
            DevError::ProbeFailed => "probe failed",
            DevError::NoSpace => "no space",
            DevError::NotAllowed => "not allowed",
            DevError::BadOffset => "bad configuration offset",
            DevError::TooManyDrivers => "too many drivers",
            DevError::TooManySubscribers => "too many subscribers",
            DevError::NotSubscribed => "not subscribed",
            DevError::AlreadyWaiting => "another thread already waits",
            DevError::NotRunning => "the driver process is not running",
            DevError::TooManyClassDevices => "too many class devices",
            DevError::NoMsi => "the function has no MSI capability",
            DevError::NoVectors => "no MSI vector is free",
            DevError::MsiEnabled => "MSI is on already",
        })
    }
}

impl core::fmt::Display for Slot {
    /// Linux's slot name, `0000:00:1f.3`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "0000:{:02x}:{:02x}.{}",
            self.bus, self.device, self.function
        )
    }
}

impl Slot {
    /// Parses `0000:00:1f.3` or `00:1f.3`.
    pub fn parse(text: &str) -> Option<Slot> {
        let text = text.strip_prefix("0000:").unwrap_or(text);
        let (bus, rest) = text.split_once(':')?;
        let (device, function) = rest.split_once('.')?;
        let hex = |s: &str, width: usize| {
            (s.len() == width)
                .then(|| u8::from_str_radix(s, 16).ok())
                .flatten()
        };
        let slot = Slot {
            bus: hex(bus, 2)?,
            device: hex(device, 2)?,
            function: hex(function, 1)?,
        };
        (slot.device < 32 && slot.function < 8).then_some(slot)
    }
}

client_error! {
    /// Why a `devmgr` call failed: the server said no, or the call failed
    /// (`Rpc(Sys(PeerDied))`: the server died; look it up again).
    Dev(DevError),
    /// A path, name or value too long for the protocol, refused before
    /// sending.
    TooLong => "too long for the protocol",
    /// A reply of the wrong kind.
    Unexpected => "unexpected reply",
}

client_stub! {
    /// The client stub: `devmgr`'s requests as methods. Each call uses
    /// the calling thread's IPC buffer, so threads may share one `Client`.
    server: "devmgr", error: Dev
}

#[cfg(target_os = "none")]
impl Client {
    fn path(path: &str) -> Result<Path, ClientError> {
        Path::try_from(path).map_err(|_| ClientError::TooLong)
    }

    fn names(
        &self,
        request: &Request,
    ) -> Result<(heapless::Vec<Name, LIST_MAX>, u32), ClientError> {
        match self.call(request)? {
            Reply::Names { names, total } => Ok((names, total)),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// One page of the names of `bus`'s devices from `start`, and how many
    /// there are.
    pub fn list_devices(
        &self,
        bus: Bus,
        start: u32,
    ) -> Result<(heapless::Vec<Name, LIST_MAX>, u32), ClientError> {
        self.names(&Request::ListDevices { bus, start })
    }

    /// Everything devmgr knows of the PCI function at `slot`.
    pub fn pci_info(&self, slot: Slot) -> Result<PciInfo, ClientError> {
        match self.call(&Request::PciInfo { slot })? {
            Reply::Pci(info) => Ok(info),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Reads a sysfs attribute.
    pub fn read(&self, path: &str) -> Result<Text, ClientError> {
        match self.call(&Request::Read {
            path: Self::path(path)?,
        })? {
            Reply::Text(t) => Ok(t),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// One page of a sysfs directory's entries from `start`, and how many
    /// there are.
    pub fn list(
        &self,
        path: &str,
        start: u32,
    ) -> Result<(heapless::Vec<Name, LIST_MAX>, u32), ClientError> {
        self.names(&Request::List {
            path: Self::path(path)?,
            start,
        })
    }

    /// Writes a sysfs attribute (`bind`, `unbind`, `uevent`).
    pub fn write(&self, path: &str, value: &[u8]) -> Result<(), ClientError> {
        let value = heapless::Vec::from_slice(value).map_err(|_| ClientError::TooLong)?;
        match self.call(&Request::Write {
            path: Self::path(path)?,
            value,
        })? {
            Reply::Done => Ok(()),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Registers a driver of this client; how many devices it took.
    pub fn register_driver(
        &self,
        name: &str,
        bus: Bus,
        ids: &[IdMatch],
    ) -> Result<u32, ClientError> {
        let name = Name::try_from(name).map_err(|_| ClientError::TooLong)?;
        let ids = heapless::Vec::from_slice(ids).map_err(|_| ClientError::TooLong)?;
        match self.call(&Request::RegisterDriver { name, bus, ids })? {
            Reply::Bound(n) => Ok(n),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Unregisters one of this client's drivers (its devices are unbound).
    /// Opens `device`'s node: a handle to its driver process.
    pub fn open(&self, device: &str) -> Result<crate::handle::Endpoint, ClientError> {
        let device = Name::try_from(device).map_err(|_| ClientError::TooLong)?;
        let (reply, msg) = self.call_with(&Request::Open { device }, &[])?;
        match (reply, msg.handles()) {
            (Reply::Opened, &[raw]) => {
                // SAFETY: devmgr moved this handle to us with the reply.
                let owned =
                    unsafe { crate::handle::OwnedHandle::from_raw(crate::abi::Handle(raw as u32)) };
                Ok(crate::handle::Endpoint(owned))
            }
            _ => Err(ClientError::Unexpected),
        }
    }

    pub fn unregister_driver(&self, name: &str, bus: Bus) -> Result<(), ClientError> {
        let name = Name::try_from(name).map_err(|_| ClientError::TooLong)?;
        self.done(&Request::UnregisterDriver { name, bus })
    }

    /// Adds a class device of this client's: `name` (its `/dev` node's
    /// name) in `class` with number `devt`, `devtype` (`disk`,
    /// `partition`), `parent` (a bus device, or one of this client's
    /// class devices) and its node's `mode`.
    pub fn add_class_device(
        &self,
        class: DevClass,
        name: &str,
        devt: (u32, u32),
        devtype: Option<&str>,
        parent: Option<&str>,
        mode: Option<u16>,
    ) -> Result<(), ClientError> {
        let device = ClassDevice {
            mode,
            class,
            name: Name::try_from(name).map_err(|_| ClientError::TooLong)?,
            devt,
            devtype: devtype
                .map(heapless::String::try_from)
                .transpose()
                .map_err(|_| ClientError::TooLong)?,
            parent: parent
                .map(Name::try_from)
                .transpose()
                .map_err(|_| ClientError::TooLong)?,
        };
        self.done(&Request::AddClassDevice(device))
    }

    /// Removes one of this client's class devices (and its children).
    pub fn remove_class_device(&self, class: DevClass, name: &str) -> Result<(), ClientError> {
        let name = Name::try_from(name).map_err(|_| ClientError::TooLong)?;
        self.done(&Request::RemoveClassDevice { class, name })
    }

    fn done(&self, request: &Request) -> Result<(), ClientError> {
        match self.call(request)? {
            Reply::Done => Ok(()),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Starts queueing uevents for this client.
    pub fn subscribe(&self) -> Result<(), ClientError> {
        self.done(&Request::Subscribe)
    }

    /// Stops queueing uevents for this client.
    pub fn unsubscribe(&self) -> Result<(), ClientError> {
        self.done(&Request::Unsubscribe)
    }

    /// The oldest queued uevent (netlink form), if any, and how many were
    /// lost to a full queue.
    pub fn next_uevent(&self) -> Result<(Option<Text>, u64), ClientError> {
        match self.call(&Request::NextUevent)? {
            Reply::Uevent { event, dropped } => Ok((event, dropped)),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// The next uevent (netlink form), waiting for one if none is queued,
    /// and how many were lost to a full queue.
    pub fn wait_uevent(&self) -> Result<(Text, u64), ClientError> {
        match self.call(&Request::WaitUevent)? {
            Reply::Uevent {
                event: Some(event),
                dropped,
            } => Ok((event, dropped)),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// A dword of the configuration space of a device bound to this
    /// client's driver.
    pub fn config_read(&self, slot: Slot, offset: u16) -> Result<u32, ClientError> {
        match self.call(&Request::ConfigRead { slot, offset })? {
            Reply::Config(v) => Ok(v),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Writes a dword of the configuration space of a device bound to
    /// this client's driver.
    pub fn config_write(&self, slot: Slot, offset: u16, value: u32) -> Result<(), ClientError> {
        self.done(&Request::ConfigWrite {
            slot,
            offset,
            value,
        })
    }

    /// Message-signalled interrupts for `slot` (a function bound to this
    /// client's driver): the interrupt's handle, to bind and acknowledge
    /// as a line, and its vector. `Dev(NoMsi)` or `Dev(NoVectors)`: stay
    /// on the INTx line.
    pub fn enable_msi(&self, slot: Slot) -> Result<(crate::handle::Irq, u8), ClientError> {
        let (reply, msg) = self.call_with(&Request::EnableMsi { slot }, &[])?;
        match (reply, msg.handles()) {
            (Reply::Msi { vector }, &[raw]) => {
                // SAFETY: devmgr moved this handle to us with the reply.
                let owned =
                    unsafe { crate::handle::OwnedHandle::from_raw(crate::abi::Handle(raw as u32)) };
                Ok((crate::handle::Irq(owned), vector))
            }
            _ => Err(ClientError::Unexpected),
        }
    }

    /// `/proc/interrupts`, as devmgr puts it together.
    pub fn interrupts(&self) -> Result<Text, ClientError> {
        match self.call(&Request::Interrupts)? {
            Reply::Text(t) => Ok(t),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// A driver's first step: turns on the `set` bits of the function's
    /// PCI command register and off the `clear` bits (I/O or memory
    /// decoding, bus mastering, `INTX_DISABLE`). devmgr records a
    /// driver's pid just after the spawn returns, so until then the
    /// function is not the caller's yet (`NotAllowed`): a few tries,
    /// 10 ms apart, before the last error is returned.
    pub fn enable_function(&self, slot: Slot, set: u16, clear: u16) -> Result<(), ClientError> {
        let mut last = ClientError::Unexpected;
        for _ in 0..50 {
            let command = self.config_read(slot, PCI_COMMAND).and_then(|c| {
                let command = (c as u16 & !clear) | set;
                self.config_write(slot, PCI_COMMAND, u32::from(command))
            });
            match command {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            crate::time::sleep_ms(10);
        }
        Err(last)
    }
}

#[cfg(target_os = "none")]
/// What devmgr hands a PCI driver it starts (its driver table;
/// docs/drivers.md): the function (`dev=<slot>`), the endpoint its
/// clients' requests come to (`h0`), its interrupt line (`h1`), and BAR
/// 0's handle (`h2`: a memory region or an I/O port grant, as the BAR
/// is) once `bars=` says BAR 0 was given.
pub struct PciStart {
    pub slot: Slot,
    pub endpoint: crate::handle::Endpoint,
    pub irq: crate::handle::Irq,
    pub bar0: crate::handle::OwnedHandle,
}

#[cfg(target_os = "none")]
impl PciStart {
    /// Takes the handles out of the environment; what is missing, named.
    pub fn take(args: &str) -> Result<PciStart, &'static str> {
        use crate::env::{arg, take_handle};
        let slot = arg(args, "dev")
            .and_then(Slot::parse)
            .ok_or("no dev=<slot> argument")?;
        if arg(args, "bars").and_then(|b| b.split(',').next()) != Some("0") {
            return Err("BAR 0 was not given");
        }
        let endpoint = take_handle("h0").ok_or("no endpoint (h0)")?;
        let irq = take_handle("h1").ok_or("no interrupt line (h1)")?;
        let bar0 = take_handle("h2").ok_or("no BAR 0 (h2)")?;
        Ok(PciStart {
            slot,
            endpoint: crate::handle::Endpoint(endpoint),
            irq: crate::handle::Irq(irq),
            bar0,
        })
    }
}

#[cfg(target_os = "none")]
/// What devmgr hands a PCI driver it starts, every BAR included: the
/// function (`dev=<slot>`), its clients' endpoint (`h0`), its interrupt
/// line (`h1`), and each BAR devmgr gave (`h2`.., in the order `bars=`
/// lists their indices: a memory region for a memory BAR, a port range
/// for an I/O one). For a driver whose device's registers are not (or not
/// only) in BAR 0 — a virtio device's modern interface is wherever its
/// capabilities say.
pub struct PciResources {
    pub slot: Slot,
    pub endpoint: crate::handle::Endpoint,
    pub irq: crate::handle::Irq,
    /// (BAR index, its handle).
    pub bars: alloc::vec::Vec<(u8, crate::handle::OwnedHandle)>,
}

/// The BAR indices of a `bars=` argument (`0,1,4`; empty for none):
/// `None` for a malformed list (a non-number, an index past 5, twice the
/// same).
pub fn parse_bars(text: &str) -> Option<heapless::Vec<u8, 6>> {
    let mut bars = heapless::Vec::new();
    if text.is_empty() {
        return Some(bars);
    }
    for part in text.split(',') {
        let index: u8 = part.parse().ok()?;
        if index > 5 || bars.contains(&index) {
            return None;
        }
        bars.push(index).ok()?;
    }
    Some(bars)
}

#[cfg(target_os = "none")]
impl PciResources {
    /// Takes the handles out of the environment; what is missing, named.
    pub fn take(args: &str) -> Result<PciResources, &'static str> {
        use crate::env::{arg, take_handle};
        const KEYS: [&str; 4] = ["h2", "h3", "h4", "h5"];
        let slot = arg(args, "dev")
            .and_then(Slot::parse)
            .ok_or("no dev=<slot> argument")?;
        let indices = parse_bars(arg(args, "bars").unwrap_or("")).ok_or("malformed bars=")?;
        let endpoint = take_handle("h0").ok_or("no endpoint (h0)")?;
        let irq = take_handle("h1").ok_or("no interrupt line (h1)")?;
        let mut bars = alloc::vec::Vec::new();
        for (&index, key) in indices.iter().zip(KEYS) {
            bars.push((
                index,
                take_handle(key).ok_or("a BAR named in bars= was not given")?,
            ));
        }
        Ok(PciResources {
            slot,
            endpoint: crate::handle::Endpoint(endpoint),
            irq: crate::handle::Irq(irq),
            bars,
        })
    }
}

/// The offset of the PCI command register, and its bits a driver sets.
pub const PCI_COMMAND: u16 = 4;
pub const PCI_COMMAND_IO: u16 = 1 << 0;
pub const PCI_COMMAND_MEMORY: u16 = 1 << 1;
pub const PCI_COMMAND_MASTER: u16 = 1 << 2;
pub const PCI_COMMAND_INTX_DISABLE: u16 = 1 << 10;

#[cfg(test)]
mod tests;
