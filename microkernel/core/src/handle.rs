//! The handle table: a process's capabilities.
//!
//! Each slot holds an entry — an object (whatever the kernel's object type
//! `T` is), the [`Rights`] the handle grants and a badge — and a
//! generation. A [`Handle`] names a slot and the generation it was issued
//! at; closing a handle bumps the slot's generation, so a stale number
//! (closed, or closed and the slot reused) is `BadHandle`, never another
//! object. Rights only ever shrink: a duplicate has the same or fewer
//! rights, and a new badge needs `MINT`.
//!
//! The table knows nothing about what objects are; [`Object`] tells it an
//! object's type (for `WrongType`) and makes the copy that goes into a new
//! entry with its rights (the kernel counts, for instance, the handles that
//! can receive from an endpoint).

use alloc::vec::Vec;

use libsys::abi::{Handle, ObjectType, Rights, SysError};

/// What the table needs from the objects it holds.
pub trait Object: Sized {
    /// The object's type.
    fn object_type(&self) -> ObjectType;
    /// The object as held by a new entry with `rights` (usually a clone).
    fn with_rights(&self, rights: Rights) -> Self;
}

/// One handle's worth: the object, what it allows, and its badge.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry<T> {
    pub object: T,
    pub rights: Rights,
    pub badge: u64,
}

#[derive(Debug)]
struct Slot<T> {
    generation: u16,
    entry: Option<Entry<T>>,
}

/// A process's handles; at most `capacity` (≤ 65535) at once.
#[derive(Debug)]
pub struct HandleTable<T> {
    slots: Vec<Slot<T>>,
    /// Empty slots, reused first.
    free: Vec<u16>,
    capacity: usize,
    len: usize,
}

/// The most handles one table holds.
pub const MAX_CAPACITY: usize = u16::MAX as usize;

impl<T: Object> HandleTable<T> {
    pub fn new(capacity: usize) -> Self {
        HandleTable {
            slots: Vec::new(),
            free: Vec::new(),
            capacity: capacity.min(MAX_CAPACITY),
            len: 0,
        }
    }

    /// Handles open.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most handles it may hold from now on (its process's `Handles`
    /// limit); handles open beyond it stay, but no new one is made.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.min(MAX_CAPACITY);
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Puts an entry into a free slot; `OutOfResources` when the table
    /// holds its capacity (the process's `Handles` limit).
    #[inline]
    pub fn insert(&mut self, entry: Entry<T>) -> Result<Handle, SysError> {
        if self.len >= self.capacity {
            return Err(SysError::OutOfResources);
        }
        let index = match self.free.pop() {
            Some(index) => index,
            None if self.slots.len() < self.capacity => {
                // Slot 0 starts at generation 1, so handle 0 is never issued.
                self.slots.push(Slot {
                    generation: 1,
                    entry: None,
                });
                (self.slots.len() - 1) as u16
            }
            None => return Err(SysError::OutOfResources),
        };
        let slot = &mut self.slots[index as usize];
        slot.entry = Some(entry);
        self.len += 1;
        Ok(Handle::new(index, slot.generation))
    }

    /// The entry `handle` names; `BadHandle` when it names none (never
    /// issued, closed, or a stale generation).
    #[inline]
    pub fn get(&self, handle: Handle) -> Result<&Entry<T>, SysError> {
        self.slots
            .get(handle.index() as usize)
            .filter(|slot| slot.generation == handle.generation())
            .and_then(|slot| slot.entry.as_ref())
            .ok_or(SysError::BadHandle)
    }

    /// The entry, checked to be of type `kind` (`WrongType`) and to hold
    /// every right in `needed` (`NoRights`).
    #[inline]
    pub fn get_checked(
        &self,
        handle: Handle,
        kind: ObjectType,
        needed: Rights,
    ) -> Result<&Entry<T>, SysError> {
        let entry = self.get(handle)?;
        if entry.object.object_type() != kind {
            return Err(SysError::WrongType);
        }
        if !entry.rights.contains(needed) {
            return Err(SysError::NoRights);
        }
        Ok(entry)
    }

    /// Closes `handle` and returns what it held.
    #[inline]
    pub fn remove(&mut self, handle: Handle) -> Result<Entry<T>, SysError> {
        self.get(handle)?;
        let slot = &mut self.slots[handle.index() as usize];
        let entry = slot.entry.take().ok_or(SysError::BadHandle)?;
        // Generation 0 is skipped so that handle 0 stays invalid.
        slot.generation = slot.generation.wrapping_add(1).max(1);
        self.free.push(handle.index());
        self.len -= 1;
        Ok(entry)
    }

    /// A new entry for the object `handle` names, with `rights` (a subset
    /// of the handle's, else `NoRights`) and `badge` if given (which needs
    /// `MINT`) or the same badge. The entry is not inserted anywhere: put
    /// it into this table ([`HandleTable::dup`]) or another.
    pub fn derive(
        &self,
        handle: Handle,
        rights: Rights,
        badge: Option<u64>,
    ) -> Result<Entry<T>, SysError> {
        let entry = self.get(handle)?;
        derive_entry(entry, rights, badge)
    }

    /// Duplicates `handle` into a new handle of this table (see
    /// [`HandleTable::derive`]).
    pub fn dup(
        &mut self,
        handle: Handle,
        rights: Rights,
        badge: Option<u64>,
    ) -> Result<Handle, SysError> {
        let entry = self.derive(handle, rights, badge)?;
        self.insert(entry)
    }

    /// Empties the table, returning every entry (a process dying).
    pub fn drain(&mut self) -> Vec<Entry<T>> {
        let entries: Vec<Entry<T>> = self
            .slots
            .iter_mut()
            .filter_map(|s| s.entry.take())
            .collect();
        self.slots.clear();
        self.free.clear();
        self.len = 0;
        entries
    }
}

/// A copy of `entry` with `rights` and, if given, a new badge (see
/// [`HandleTable::derive`]).
pub fn derive_entry<T: Object>(
    entry: &Entry<T>,
    rights: Rights,
    badge: Option<u64>,
) -> Result<Entry<T>, SysError> {
    if !entry.rights.contains(rights) {
        return Err(SysError::NoRights);
    }
    if badge.is_some() && !entry.rights.contains(Rights::MINT) {
        return Err(SysError::NoRights);
    }
    Ok(Entry {
        object: entry.object.with_rights(rights),
        rights,
        badge: badge.unwrap_or(entry.badge),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// A test object: a type and a shared count of live entries with RECV.
    #[derive(Debug, Clone)]
    struct Obj {
        kind: ObjectType,
        receivers: Rc<Cell<i32>>,
        counted: bool,
    }

    impl PartialEq for Obj {
        fn eq(&self, other: &Self) -> bool {
            self.kind == other.kind && Rc::ptr_eq(&self.receivers, &other.receivers)
        }
    }
    impl Eq for Obj {}

    impl Obj {
        fn endpoint(rights: Rights) -> (Obj, Rc<Cell<i32>>) {
            let receivers = Rc::new(Cell::new(0));
            let obj = Obj {
                kind: ObjectType::Endpoint,
                receivers: receivers.clone(),
                counted: false,
            };
            (obj.with_rights(rights), receivers)
        }
    }

    impl Object for Obj {
        fn object_type(&self) -> ObjectType {
            self.kind
        }
        fn with_rights(&self, rights: Rights) -> Obj {
            let counted = rights.contains(Rights::RECV);
            if counted {
                self.receivers.set(self.receivers.get() + 1);
            }
            Obj {
                kind: self.kind,
                receivers: self.receivers.clone(),
                counted,
            }
        }
    }

    impl Drop for Obj {
        fn drop(&mut self) {
            if self.counted {
                self.receivers.set(self.receivers.get() - 1);
            }
        }
    }

    const ALL: Rights = Rights::all();

    fn table_with_endpoint() -> (HandleTable<Obj>, Handle, Rc<Cell<i32>>) {
        let mut table = HandleTable::new(8);
        let (obj, receivers) = Obj::endpoint(ALL);
        let h = table
            .insert(Entry {
                object: obj,
                rights: ALL,
                badge: 0,
            })
            .unwrap();
        (table, h, receivers)
    }

    #[test]
    fn handle_zero_is_never_issued_and_numbers_check_type_and_rights() {
        let (table, h, _) = table_with_endpoint();
        assert_ne!(h.0, 0);
        assert_eq!(table.get(Handle(0)).err(), Some(SysError::BadHandle));
        assert!(table
            .get_checked(h, ObjectType::Endpoint, Rights::SEND | Rights::RECV)
            .is_ok());
        assert_eq!(
            table
                .get_checked(h, ObjectType::Notification, Rights::empty())
                .err(),
            Some(SysError::WrongType)
        );
        assert_eq!(
            table.get(Handle::new(7, 1)).err(),
            Some(SysError::BadHandle),
            "out of range"
        );
        assert_eq!(
            table.get(Handle::new(h.index(), 9)).err(),
            Some(SysError::BadHandle),
            "forged generation"
        );
    }

    #[test]
    fn rights_only_shrink() {
        let (mut table, h, _) = table_with_endpoint();
        let send_only = table.dup(h, Rights::SEND, None).unwrap();
        assert_eq!(table.get(send_only).unwrap().rights, Rights::SEND);
        assert_eq!(
            table
                .get_checked(send_only, ObjectType::Endpoint, Rights::RECV)
                .err(),
            Some(SysError::NoRights)
        );
        // A send-only handle cannot be duplicated back up to receive.
        assert_eq!(
            table
                .dup(send_only, Rights::SEND | Rights::RECV, None)
                .err(),
            Some(SysError::NoRights)
        );
        assert!(table.dup(send_only, Rights::empty(), None).is_ok());
    }

    #[test]
    fn badges_need_mint_and_are_inherited_otherwise() {
        let (mut table, h, _) = table_with_endpoint();
        let badged = table.dup(h, Rights::SEND | Rights::MINT, Some(42)).unwrap();
        assert_eq!(table.get(badged).unwrap().badge, 42);
        let copy = table.dup(badged, Rights::SEND, None).unwrap();
        assert_eq!(table.get(copy).unwrap().badge, 42, "a copy keeps the badge");
        assert_eq!(
            table.dup(copy, Rights::SEND, Some(7)).err(),
            Some(SysError::NoRights),
            "re-badging needs MINT"
        );
    }

    #[test]
    fn closed_and_reused_slots_reject_stale_handles() {
        let (mut table, h, _) = table_with_endpoint();
        table.remove(h).unwrap();
        assert_eq!(table.get(h).err(), Some(SysError::BadHandle), "closed");
        assert_eq!(
            table.remove(h).err(),
            Some(SysError::BadHandle),
            "closed twice"
        );
        let (obj, _) = Obj::endpoint(Rights::SEND);
        let reused = table
            .insert(Entry {
                object: obj,
                rights: Rights::SEND,
                badge: 0,
            })
            .unwrap();
        assert_eq!(reused.index(), h.index(), "the slot is reused");
        assert_ne!(reused, h);
        assert_eq!(
            table.get(h).err(),
            Some(SysError::BadHandle),
            "the old number stays dead"
        );
        assert!(table.get(reused).is_ok());
    }

    #[test]
    fn generations_skip_zero_when_they_wrap() {
        let (mut table, mut h, _) = table_with_endpoint();
        for _ in 0..70_000 {
            let entry = table.remove(h).unwrap();
            h = table.insert(entry).unwrap();
            assert_ne!(h.0, 0);
            assert_ne!(h.generation(), 0);
        }
    }

    #[test]
    fn a_full_table_refuses_and_recovers() {
        let (mut table, h, _) = table_with_endpoint();
        let mut handles = vec![h];
        for _ in 1..8 {
            handles.push(table.dup(h, Rights::SEND, None).unwrap());
        }
        assert_eq!(
            table.dup(h, Rights::SEND, None).err(),
            Some(SysError::OutOfResources)
        );
        assert_eq!(table.len(), 8);
        table.remove(handles.pop().unwrap()).unwrap();
        assert!(table.dup(h, Rights::SEND, None).is_ok());
        // A lowered capacity refuses new handles even with free slots.
        table.remove(handles.pop().unwrap()).unwrap();
        table.set_capacity(6);
        assert_eq!(
            table.dup(h, Rights::SEND, None).err(),
            Some(SysError::OutOfResources)
        );
        table.remove(handles.pop().unwrap()).unwrap();
        table.remove(handles.pop().unwrap()).unwrap();
        assert!(table.dup(h, Rights::SEND, None).is_ok());
    }

    #[test]
    fn entries_are_counted_by_their_rights_and_drained_on_death() {
        let (mut table, h, receivers) = table_with_endpoint();
        assert_eq!(receivers.get(), 1);
        let r2 = table.dup(h, Rights::RECV, None).unwrap();
        table.dup(h, Rights::SEND, None).unwrap();
        assert_eq!(receivers.get(), 2, "only handles with RECV count");
        drop(table.remove(r2).unwrap());
        assert_eq!(receivers.get(), 1);
        let drained = table.drain();
        assert_eq!(drained.len(), 2);
        drop(drained);
        assert_eq!(receivers.get(), 0);
        assert!(table.is_empty());
        assert_eq!(table.get(h).err(), Some(SysError::BadHandle));
    }

    #[test]
    fn derive_makes_an_entry_for_another_table() {
        let (table, h, receivers) = table_with_endpoint();
        let mut other: HandleTable<Obj> = HandleTable::new(4);
        let entry = table.derive(h, Rights::RECV, Some(5)).unwrap();
        let theirs = other.insert(entry).unwrap();
        assert_eq!(other.get(theirs).unwrap().badge, 5);
        assert_eq!(receivers.get(), 2);
        assert_eq!(
            table.derive(Handle(0), Rights::SEND, None).err(),
            Some(SysError::BadHandle)
        );
    }
}
