//! Kernel objects as handles name them, and each process's handle table.
//!
//! [`KObject`] is what a handle-table entry holds: a shared reference to
//! the object (or, for the I/O ports and the IRQ and device-memory
//! controls, the little data they are). The table logic is `kcore::handle` (host-tested); this file
//! says what each object type is and keeps one count the kernel needs: how
//! many handles can still receive from an endpoint, and how many can still
//! send to it (when either reaches zero, those blocked on the other side
//! can never be answered and get `PeerDied`); and how many handles name
//! each process and thread ([`Counted`]): when none does and it never ran,
//! nothing can ever start it, and it is reaped.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

use kcore::handle::{self, HandleTable};
use libsys::abi::{Handle, ObjectType, Rights, SysError};

use crate::obj::endpoint::Endpoint;
use crate::obj::irq::IrqLine;
use crate::obj::notification::Notification;
use crate::obj::process::Process;
use crate::obj::region::Region;
use crate::obj::reply::Reply;
use crate::obj::service::Service;
use crate::obj::thread::Thread;

/// A process's handles.
pub type Handles = HandleTable<KObject>;
pub type Entry = handle::Entry<KObject>;

/// What a handle names.
#[derive(Debug)]
pub enum KObject {
    Endpoint(EndpointRef),
    Notification(Arc<Notification>),
    Process(Counted<Process>),
    Thread(Counted<Thread>),
    Irq(Arc<IrqLine>),
    IrqControl,
    /// The right to take device-memory regions.
    DeviceControl,
    MemoryRegion(Arc<Region>),
    /// Ports `first .. first + count`.
    IoPorts {
        first: u16,
        count: u32,
    },
    /// A server core inside the kernel (`placement=mono`).
    Service(Arc<Service>),
    /// A saved reply right (`reply_save`).
    Reply(Arc<Reply>),
    /// The right to take COM1 from the kernel (`console_take`).
    ConsoleControl,
    /// The right to put threads in a real-time class (`set_sched_rt`).
    SchedControl,
    /// The right to turn the machine off or reset it (`power`).
    PowerControl,
}

impl handle::Object for KObject {
    fn object_type(&self) -> ObjectType {
        match self {
            KObject::Endpoint(_) => ObjectType::Endpoint,
            KObject::Notification(_) => ObjectType::Notification,
            KObject::Process(_) => ObjectType::Process,
            KObject::Thread(_) => ObjectType::Thread,
            KObject::Irq(_) => ObjectType::Irq,
            KObject::IrqControl => ObjectType::IrqControl,
            KObject::DeviceControl => ObjectType::DeviceControl,
            KObject::MemoryRegion(_) => ObjectType::MemoryRegion,
            KObject::IoPorts { .. } => ObjectType::IoPorts,
            KObject::Service(_) => ObjectType::Service,
            KObject::Reply(_) => ObjectType::Reply,
            KObject::ConsoleControl => ObjectType::ConsoleControl,
            KObject::SchedControl => ObjectType::SchedControl,
            KObject::PowerControl => ObjectType::PowerControl,
        }
    }

    fn with_rights(&self, rights: Rights) -> KObject {
        match self {
            KObject::Endpoint(r) => KObject::Endpoint(EndpointRef::new(r.endpoint.clone(), rights)),
            KObject::Notification(n) => KObject::Notification(n.clone()),
            KObject::Process(p) => KObject::Process(Counted::new(p.0.clone())),
            KObject::Thread(t) => KObject::Thread(Counted::new(t.0.clone())),
            KObject::Irq(i) => KObject::Irq(i.clone()),
            KObject::IrqControl => KObject::IrqControl,
            KObject::DeviceControl => KObject::DeviceControl,
            KObject::MemoryRegion(r) => KObject::MemoryRegion(r.clone()),
            KObject::IoPorts { first, count } => KObject::IoPorts {
                first: *first,
                count: *count,
            },
            KObject::Service(s) => KObject::Service(s.clone()),
            KObject::Reply(r) => KObject::Reply(r.clone()),
            KObject::ConsoleControl => KObject::ConsoleControl,
            KObject::SchedControl => KObject::SchedControl,
            KObject::PowerControl => KObject::PowerControl,
        }
    }
}

/// A handle's reference to an endpoint, counted as a possible receiver
/// and/or sender according to the handle's rights.
#[derive(Debug)]
pub struct EndpointRef {
    pub endpoint: Arc<Endpoint>,
    receiver: bool,
    sender: bool,
}

impl EndpointRef {
    pub fn new(endpoint: Arc<Endpoint>, rights: Rights) -> EndpointRef {
        let receiver = rights.contains(Rights::RECV);
        let sender = rights.contains(Rights::SEND);
        endpoint.count_handle(receiver, sender);
        EndpointRef {
            endpoint,
            receiver,
            sender,
        }
    }
}

impl Drop for EndpointRef {
    fn drop(&mut self) {
        self.endpoint.uncount_handle(self.receiver, self.sender);
    }
}

/// An object that knows how many handles name it, and what to do when the
/// last is closed (processes and threads: reap themselves if they never
/// ran).
pub trait HandleCounted {
    fn handle_refs(&self) -> &AtomicUsize;
    fn last_handle_closed(self: &Arc<Self>);
}

/// A handle's reference to a process or thread, counted while it lives.
#[derive(Debug)]
pub struct Counted<T: HandleCounted>(pub Arc<T>);

impl<T: HandleCounted> Counted<T> {
    pub fn new(object: Arc<T>) -> Counted<T> {
        object.handle_refs().fetch_add(1, Ordering::Relaxed);
        Counted(object)
    }
}

impl<T: HandleCounted> Drop for Counted<T> {
    fn drop(&mut self) {
        if self.0.handle_refs().fetch_sub(1, Ordering::Relaxed) == 1 {
            self.0.last_handle_closed();
        }
    }
}

/// A new entry holding `object` with `rights` and `badge`.
pub fn entry(object: KObject, rights: Rights, badge: u64) -> Entry {
    Entry {
        object: handle::Object::with_rights(&object, rights),
        rights,
        badge,
    }
}

/// The I/O-port range an `IoPorts` handle names (see [`lookup`]).
#[derive(Clone, Copy, Debug)]
pub struct IoPorts {
    pub first: u16,
    pub count: u32,
}

/// The IRQ control (the right to take interrupt lines).
#[derive(Clone, Copy, Debug)]
pub struct IrqControl;

/// The device-memory control (the right to take device-memory regions).
#[derive(Clone, Copy, Debug)]
pub struct DeviceControl;

/// The console control (the right to take COM1 from the kernel).
#[derive(Clone, Copy, Debug)]
pub struct ConsoleControl;

/// The scheduling control (the right to real-time classes).
#[derive(Clone, Copy, Debug)]
pub struct SchedControl;

impl Kind for SchedControl {
    const TYPE: ObjectType = ObjectType::SchedControl;
    type Ref = SchedControl;
    fn extract(object: &KObject) -> Option<SchedControl> {
        matches!(object, KObject::SchedControl).then_some(SchedControl)
    }
}

/// The power control (the right to turn the machine off or reset it).
#[derive(Clone, Copy, Debug)]
pub struct PowerControl;

impl Kind for PowerControl {
    const TYPE: ObjectType = ObjectType::PowerControl;
    type Ref = PowerControl;
    fn extract(object: &KObject) -> Option<PowerControl> {
        matches!(object, KObject::PowerControl).then_some(PowerControl)
    }
}

/// A kind of kernel object a handle can name, for [`lookup`]: its
/// [`ObjectType`] and how to take the typed reference out of a
/// [`KObject`].
pub trait Kind {
    const TYPE: ObjectType;
    /// What a lookup gives: an `Arc` to the object, or the data it is.
    type Ref;
    fn extract(object: &KObject) -> Option<Self::Ref>;
}

macro_rules! shared_kind {
    ($type:ty, $variant:ident) => {
        impl Kind for $type {
            const TYPE: ObjectType = ObjectType::$variant;
            type Ref = Arc<$type>;
            fn extract(object: &KObject) -> Option<Arc<$type>> {
                match object {
                    KObject::$variant(r) => Some(r.clone()),
                    _ => None,
                }
            }
        }
    };
}

macro_rules! counted_kind {
    ($type:ty, $variant:ident) => {
        impl Kind for $type {
            const TYPE: ObjectType = ObjectType::$variant;
            type Ref = Arc<$type>;
            fn extract(object: &KObject) -> Option<Arc<$type>> {
                match object {
                    KObject::$variant(r) => Some(r.0.clone()),
                    _ => None,
                }
            }
        }
    };
}

shared_kind!(Notification, Notification);
counted_kind!(Process, Process);
counted_kind!(Thread, Thread);
shared_kind!(IrqLine, Irq);
shared_kind!(Region, MemoryRegion);
shared_kind!(Reply, Reply);
shared_kind!(Service, Service);

impl Kind for Endpoint {
    const TYPE: ObjectType = ObjectType::Endpoint;
    type Ref = Arc<Endpoint>;
    fn extract(object: &KObject) -> Option<Arc<Endpoint>> {
        match object {
            KObject::Endpoint(r) => Some(r.endpoint.clone()),
            _ => None,
        }
    }
}

impl Kind for IoPorts {
    const TYPE: ObjectType = ObjectType::IoPorts;
    type Ref = IoPorts;
    fn extract(object: &KObject) -> Option<IoPorts> {
        match object {
            KObject::IoPorts { first, count } => Some(IoPorts {
                first: *first,
                count: *count,
            }),
            _ => None,
        }
    }
}

impl Kind for IrqControl {
    const TYPE: ObjectType = ObjectType::IrqControl;
    type Ref = IrqControl;
    fn extract(object: &KObject) -> Option<IrqControl> {
        matches!(object, KObject::IrqControl).then_some(IrqControl)
    }
}

impl Kind for ConsoleControl {
    const TYPE: ObjectType = ObjectType::ConsoleControl;
    type Ref = ConsoleControl;
    fn extract(object: &KObject) -> Option<ConsoleControl> {
        matches!(object, KObject::ConsoleControl).then_some(ConsoleControl)
    }
}

impl Kind for DeviceControl {
    const TYPE: ObjectType = ObjectType::DeviceControl;
    type Ref = DeviceControl;
    fn extract(object: &KObject) -> Option<DeviceControl> {
        matches!(object, KObject::DeviceControl).then_some(DeviceControl)
    }
}

/// What [`lookup`] found: the object, and the badge and rights of the
/// handle that named it.
#[derive(Debug)]
pub struct Found<R> {
    pub object: R,
    pub badge: u64,
    pub rights: Rights,
}

/// The object of kind `T` that `process`'s handle `handle` names, checked
/// to hold `needed`: the one handle check every system call makes.
/// `BadHandle` for a handle that names nothing, `WrongType` for one that
/// names another kind of object, `NoRights` for one without `needed`.
pub fn lookup<T: Kind>(
    process: &Process,
    handle: Handle,
    needed: Rights,
) -> Result<Found<T::Ref>, SysError> {
    let handles = process.handles.lock();
    let entry = handles.get_checked(handle, T::TYPE, needed)?;
    let object = T::extract(&entry.object).ok_or(SysError::WrongType)?;
    Ok(Found {
        object,
        badge: entry.badge,
        rights: entry.rights,
    })
}
