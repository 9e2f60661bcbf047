//! Uevents (LKD 17, "the kernel event layer" and hotplug): what the device
//! model tells user space when a device comes, goes, or gains or loses its
//! driver.
//!
//! Each event has an [`Action`] (`add`, `remove`, `change`, `bind`,
//! `unbind`), a sequence number that grows by one per event (Linux's
//! `SEQNUM`, so a listener sees a gap when it missed one), the object's
//! `DEVPATH` and a `KEY=value` environment. Events go to every subscriber's
//! own bounded queue ([`UeventBus`]); a subscriber that does not keep up
//! loses the newest events and the loss is counted, never blocking the
//! model (Linux's netlink socket drops on a full receive buffer too).

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Maximum subscribers at once.
pub const MAX_SUBSCRIBERS: usize = 16;
/// Maximum events one subscriber's queue can hold.
pub const MAX_QUEUE: usize = 256;

/// Linux's `enum kobject_action`, the ones the model emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A device was added.
    Add,
    /// A device was removed.
    Remove,
    /// Something about a device changed (also a user's `change` trigger).
    Change,
    /// A driver bound to the device.
    Bind,
    /// The device's driver let go of it.
    Unbind,
}

impl Action {
    /// The `ACTION=` word.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Remove => "remove",
            Action::Change => "change",
            Action::Bind => "bind",
            Action::Unbind => "unbind",
        }
    }

    /// Parses a word written to a `uevent` attribute.
    pub fn parse(word: &str) -> Option<Action> {
        Some(match word {
            "add" => Action::Add,
            "remove" => Action::Remove,
            "change" => Action::Change,
            "bind" => Action::Bind,
            "unbind" => Action::Unbind,
            _ => return None,
        })
    }
}

/// One event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uevent {
    /// What happened.
    pub action: Action,
    /// Its `SEQNUM`.
    pub seqnum: u64,
    /// The object's path below `/sys` (`/devices/pci0000:00/0000:00:03.0`).
    pub devpath: String,
    /// The environment in Linux's order: `ACTION`, `DEVPATH`, `SUBSYSTEM`,
    /// the object's own variables, `SEQNUM` last.
    pub env: Vec<(String, String)>,
}

impl Uevent {
    /// The value of `key` in the environment.
    pub fn var(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The netlink form: `action@devpath` then each `KEY=value`, each
    /// ending in a NUL byte, as a kernel uevent reaches a listener.
    pub fn to_netlink(&self) -> String {
        let mut s = format!("{}@{}\0", self.action.as_str(), self.devpath);
        for (k, v) in &self.env {
            s.push_str(k);
            s.push('=');
            s.push_str(v);
            s.push('\0');
        }
        s
    }
}

/// A subscriber's handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubscriberId(usize);

/// What subscribing and receiving refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UeventError {
    /// Already [`MAX_SUBSCRIBERS`].
    TooManySubscribers,
    /// A queue capacity of 0 or over [`MAX_QUEUE`].
    BadCapacity,
    /// The id names no subscriber.
    NoSuchSubscriber,
}

struct Subscriber {
    queue: VecDeque<Uevent>,
    capacity: usize,
    dropped: u64,
}

/// The sequence counter and the subscribers' queues.
pub struct UeventBus {
    seqnum: u64,
    subscribers: Vec<Option<Subscriber>>,
}

impl Default for UeventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl UeventBus {
    /// No subscribers; the first event gets `SEQNUM=1`.
    pub fn new() -> Self {
        UeventBus {
            seqnum: 0,
            subscribers: Vec::new(),
        }
    }

    /// The sequence number of the last event emitted (0 before any).
    pub fn seqnum(&self) -> u64 {
        self.seqnum
    }

    /// Adds a subscriber whose queue holds `capacity` events.
    /// `TooManySubscribers` or `BadCapacity`.
    pub fn subscribe(&mut self, capacity: usize) -> Result<SubscriberId, UeventError> {
        if capacity == 0 || capacity > MAX_QUEUE {
            return Err(UeventError::BadCapacity);
        }
        let sub = Subscriber {
            queue: VecDeque::new(),
            capacity,
            dropped: 0,
        };
        if let Some(i) = self.subscribers.iter().position(Option::is_none) {
            self.subscribers[i] = Some(sub);
            return Ok(SubscriberId(i));
        }
        if self.subscribers.len() >= MAX_SUBSCRIBERS {
            return Err(UeventError::TooManySubscribers);
        }
        self.subscribers.push(Some(sub));
        Ok(SubscriberId(self.subscribers.len() - 1))
    }

    /// Removes a subscriber and its queue. `NoSuchSubscriber`.
    pub fn unsubscribe(&mut self, id: SubscriberId) -> Result<(), UeventError> {
        let slot = self
            .subscribers
            .get_mut(id.0)
            .ok_or(UeventError::NoSuchSubscriber)?;
        slot.take().ok_or(UeventError::NoSuchSubscriber).map(|_| ())
    }

    fn subscriber(&mut self, id: SubscriberId) -> Result<&mut Subscriber, UeventError> {
        self.subscribers
            .get_mut(id.0)
            .and_then(Option::as_mut)
            .ok_or(UeventError::NoSuchSubscriber)
    }

    /// The oldest queued event of a subscriber, if any. `NoSuchSubscriber`.
    pub fn recv(&mut self, id: SubscriberId) -> Result<Option<Uevent>, UeventError> {
        Ok(self.subscriber(id)?.queue.pop_front())
    }

    /// How many events a subscriber lost to a full queue.
    pub fn dropped(&mut self, id: SubscriberId) -> Result<u64, UeventError> {
        Ok(self.subscriber(id)?.dropped)
    }

    /// Emits an event: numbers it, completes its environment (`ACTION`,
    /// `DEVPATH`, `SUBSYSTEM` first, `SEQNUM` last) and queues a copy for
    /// every subscriber. Returns the event.
    pub fn emit(
        &mut self,
        action: Action,
        devpath: String,
        subsystem: &str,
        vars: Vec<(String, String)>,
    ) -> Uevent {
        self.seqnum += 1;
        let mut env = Vec::with_capacity(vars.len() + 4);
        env.push(("ACTION".into(), action.as_str().into()));
        env.push(("DEVPATH".into(), devpath.clone()));
        env.push(("SUBSYSTEM".into(), subsystem.into()));
        env.extend(vars);
        env.push(("SEQNUM".into(), format!("{}", self.seqnum)));
        let event = Uevent {
            action,
            seqnum: self.seqnum,
            devpath,
            env,
        };
        for sub in self.subscribers.iter_mut().flatten() {
            if sub.queue.len() >= sub.capacity {
                sub.dropped += 1;
            } else {
                sub.queue.push_back(event.clone());
            }
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_queue_counts_overflow() {
        let mut bus = UeventBus::new();
        let s = bus.subscribe(2).unwrap();
        for _ in 0..5 {
            bus.emit(Action::Change, "/devices/x".into(), "pci", Vec::new());
        }
        assert_eq!(bus.dropped(s), Ok(3));
        let e = bus.recv(s).unwrap().unwrap();
        assert_eq!(e.seqnum, 1);
        assert_eq!(e.var("SEQNUM"), Some("1"));
        assert_eq!(
            e.to_netlink(),
            "change@/devices/x\0ACTION=change\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0SEQNUM=1\0"
        );
        assert_eq!(bus.recv(s).unwrap().unwrap().seqnum, 2);
        assert_eq!(bus.recv(s), Ok(None));
        assert_eq!(bus.subscribe(0), Err(UeventError::BadCapacity));
        bus.unsubscribe(s).unwrap();
        assert_eq!(bus.recv(s), Err(UeventError::NoSuchSubscriber));
    }
}
