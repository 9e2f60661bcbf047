//! The device manager's core: LKD chapter 17's device model, and PCI.
//!
//! Linux's unified device model, in its own terms, as a pure library that
//! the `devmgr` server runs behind IPC (and tests run on the host):
//!
//! - [`kobject`]: reference-counted, named objects in a hierarchy
//!   (`kobject_get`/`kobject_put`; an object is released when its last
//!   reference goes, and drops its parent's).
//! - [`model`]: the **buses** (`pci`, `platform`, `virtio`: ksets of their
//!   devices and drivers), the **devices** (a tree under `/devices`, with
//!   classes `tty`, `block`, `input`) and their registration and removal.
//! - [`bind`]: **drivers**, matching by ID table, `probe`/`remove` through
//!   a [`bind::DriverHost`] (driver processes in the server), and binding
//!   and unbinding, in Linux's order both ways.
//! - [`ids`]: device identities and ID tables (`pci_device_id` with
//!   `PCI_ANY_ID` and class masks, platform names, `virtio_device_id`) and
//!   `MODALIAS`.
//! - [`uevent`]: `add`/`remove`/`change`/`bind`/`unbind` events with
//!   `SEQNUM` and a `KEY=value` environment, queued per subscriber.
//! - [`sysfs`]: the `/sys` tree of the model — read, list, and write of
//!   `bind`/`unbind`/`uevent` — that the VFS will mount.
//! - [`pci`]: configuration space through a [`pci::ConfigAccess`] (ports
//!   0xCF8/0xCFC or ECAM), header decoding, capabilities (MSI, MSI-X), BAR
//!   sizing, enumeration of every bus behind bridges, the names of QEMU's
//!   devices and an `lspci` line.
//!
//! - [`platform`]: the legacy devices (PIT, i8042, COM1, RTC) with their
//!   ports and IRQs.
//! - [`service`]: all of the above behind the `devmgr` protocol
//!   (`libsys::proto::devmgr`): listing, sysfs reads, lists and writes,
//!   drivers registered by clients, uevent queues per client, and each
//!   bound driver's own configuration space. `main.rs` runs it with the
//!   ports 0xCF8/0xCFC.
//!
//! - [`drivers`]: the driver table (which boot module drives which
//!   device) and the restart back-off of driver processes; the service's
//!   [`DriverHost`] turns a probe of such a driver into a process to start
//!   (`main.rs` starts it through `init`'s spawn protocol with the
//!   device's IRQ line and port ranges, and restarts it when it dies).
//!
//! PCI process drivers (`edu`) get their BARs as device-memory regions
//! and their INTx line routed by [`pci::route`]; blk's virtio driver
//! still gets its resources from the manifest.
//!
//! # IPC protocol
//!
//! `libsys::proto::devmgr`, whose module documentation has the table of
//! every request, its reply and its errors: `ListDevices`, `PciInfo`,
//! `Read`, `List`, `Write` (sysfs by path), `RegisterDriver`,
//! `UnregisterDriver`, `Subscribe`, `NextUevent`, `WaitUevent`,
//! `Unsubscribe`, `ConfigRead`, `ConfigWrite`, `Open`, `AddClassDevice`,
//! `RemoveClassDevice` (`classdev`). Bytes that do not decode,
//! a label that is not a request and a request carrying handles get
//! `LABEL_BAD_REQUEST`; everything else gets a `Reply`, errors as
//! `Reply::Error(DevError)`.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod bind;
pub mod classdev;
pub mod drivers;
pub mod ids;
pub mod interrupts;
pub mod kobject;
pub mod model;
pub mod pci;
pub mod platform;
pub mod service;
pub mod sysfs;
pub mod uevent;

pub use bind::{DriverHost, ProbeContext, ProbeOutcome};
pub use ids::{DeviceIdent, DeviceMatch, PciIdent};
pub use kobject::ObjectId;
pub use model::{BusType, Class, DeviceModel, DeviceSpec, ModelError, ProbeError, Resource};
pub use sysfs::SysfsError;
pub use uevent::{Action, Uevent};
