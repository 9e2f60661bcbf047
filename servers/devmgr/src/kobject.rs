//! Reference-counted objects in a hierarchy: LKD chapter 17's `kobject`.
//!
//! Every bus, device and driver of the model is an entry of one
//! [`KobjTable`]: a name, a parent and a reference count. [`KobjTable::add`]
//! creates an object with a count of one and takes a reference on its
//! parent (`kobject_add` + `kobject_get(parent)`); [`KobjTable::get`] and
//! [`KobjTable::put`] are `kobject_get` and `kobject_put`. When a count
//! reaches zero the object is released — its slot is freed, its value is
//! handed back to the caller (the `release` callback of Linux's `ktype`) and
//! the reference it held on its parent is dropped, which may release the
//! parent in turn. An [`ObjectId`] carries a generation, so a stale id of a
//! released object is an error, never a different object.
//!
//! Invariants: a live object's parent is live (it holds a reference on it);
//! the table never holds more than its capacity; counts never wrap.

use alloc::string::String;
use alloc::vec::Vec;

/// Names one object of a [`KobjTable`]; stale once the object is released.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId {
    index: u32,
    generation: u32,
}

/// What the table refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KobjError {
    /// The id names no live object (never existed, or released).
    Stale,
    /// The table is at its capacity.
    TableFull,
    /// A reference count would overflow.
    RefcountOverflow,
}

struct Entry<T> {
    name: String,
    parent: Option<ObjectId>,
    refcount: u32,
    value: T,
}

struct Slot<T> {
    generation: u32,
    entry: Option<Entry<T>>,
}

/// A table of reference-counted, named objects with parents.
pub struct KobjTable<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    capacity: usize,
    live: usize,
}

/// An object released by [`KobjTable::put`]: its id, name and value.
pub struct Released<T> {
    /// The id it had (stale now).
    pub id: ObjectId,
    /// Its name.
    pub name: String,
    /// Its value, for the caller's `release`.
    pub value: T,
}

impl<T> KobjTable<T> {
    /// An empty table that holds at most `capacity` live objects.
    pub fn new(capacity: usize) -> Self {
        KobjTable {
            slots: Vec::new(),
            free: Vec::new(),
            capacity,
            live: 0,
        }
    }

    /// Adds an object with a reference count of one under `parent`, taking a
    /// reference on the parent. Fails with `Stale` (bad parent), `TableFull`
    /// or `RefcountOverflow` (parent's count) and then changes nothing.
    pub fn add(
        &mut self,
        name: String,
        parent: Option<ObjectId>,
        value: T,
    ) -> Result<ObjectId, KobjError> {
        if self.live >= self.capacity {
            return Err(KobjError::TableFull);
        }
        if let Some(p) = parent {
            self.get(p)?;
        }
        let entry = Entry {
            name,
            parent,
            refcount: 1,
            value,
        };
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    entry: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.entry = Some(entry);
        self.live += 1;
        Ok(ObjectId {
            index,
            generation: slot.generation,
        })
    }

    fn entry(&self, id: ObjectId) -> Option<&Entry<T>> {
        let slot = self.slots.get(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.entry.as_ref()
    }

    fn entry_mut(&mut self, id: ObjectId) -> Option<&mut Entry<T>> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.entry.as_mut()
    }

    /// `kobject_get`: one more reference. `Stale` or `RefcountOverflow`.
    pub fn get(&mut self, id: ObjectId) -> Result<(), KobjError> {
        let e = self.entry_mut(id).ok_or(KobjError::Stale)?;
        e.refcount = e
            .refcount
            .checked_add(1)
            .ok_or(KobjError::RefcountOverflow)?;
        Ok(())
    }

    /// `kobject_put`: one reference less. Returns the objects released by
    /// it, the object itself first and then each ancestor whose last
    /// reference it was. `Stale` if `id` is not live.
    pub fn put(&mut self, id: ObjectId) -> Result<Vec<Released<T>>, KobjError> {
        let mut released = Vec::new();
        let mut next = Some(id);
        let mut first = true;
        while let Some(cur) = next.take() {
            let e = match self.entry_mut(cur) {
                Some(e) => e,
                None if first => return Err(KobjError::Stale),
                // A live object's parent is live: unreachable by invariant,
                // but a broken chain stops the walk rather than panicking.
                None => break,
            };
            first = false;
            e.refcount -= 1;
            if e.refcount > 0 {
                break;
            }
            let slot = &mut self.slots[cur.index as usize];
            let entry = slot.entry.take().ok_or(KobjError::Stale)?;
            slot.generation = slot.generation.wrapping_add(1);
            self.free.push(cur.index);
            self.live -= 1;
            next = entry.parent;
            released.push(Released {
                id: cur,
                name: entry.name,
                value: entry.value,
            });
        }
        Ok(released)
    }

    /// Whether `id` names a live object.
    pub fn contains(&self, id: ObjectId) -> bool {
        self.entry(id).is_some()
    }

    /// The reference count of a live object.
    pub fn refcount(&self, id: ObjectId) -> Option<u32> {
        self.entry(id).map(|e| e.refcount)
    }

    /// The name of a live object.
    pub fn name(&self, id: ObjectId) -> Option<&str> {
        self.entry(id).map(|e| e.name.as_str())
    }

    /// The parent of a live object (`None` for a root or a stale id).
    pub fn parent(&self, id: ObjectId) -> Option<ObjectId> {
        self.entry(id).and_then(|e| e.parent)
    }

    /// The value of a live object.
    pub fn value(&self, id: ObjectId) -> Option<&T> {
        self.entry(id).map(|e| &e.value)
    }

    /// The value of a live object, mutable.
    pub fn value_mut(&mut self, id: ObjectId) -> Option<&mut T> {
        self.entry_mut(id).map(|e| &mut e.value)
    }

    /// How many objects are live.
    pub fn live(&self) -> usize {
        self.live
    }

    /// The live children of `parent`, in slot order.
    pub fn children(&self, parent: ObjectId) -> Vec<ObjectId> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let e = s.entry.as_ref()?;
                (e.parent == Some(parent)).then_some(ObjectId {
                    index: i as u32,
                    generation: s.generation,
                })
            })
            .collect()
    }

    /// The path of an object: its ancestors' names and its own, each after
    /// a `/` (`/devices/pci0000:00/0000:00:03.0`). Empty for a stale id.
    pub fn path(&self, id: ObjectId) -> String {
        let mut names = Vec::new();
        let mut cur = Some(id);
        // Depth is bounded by the table's size: parents are live and
        // acyclic (a parent exists before its child).
        while let Some(c) = cur {
            match self.entry(c) {
                Some(e) => {
                    names.push(e.name.as_str());
                    cur = e.parent;
                }
                None => break,
            }
            if names.len() > self.capacity {
                break;
            }
        }
        let mut path = String::new();
        for n in names.iter().rev() {
            path.push('/');
            path.push_str(n);
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn put_releases_child_then_parent() {
        let mut t = KobjTable::new(8);
        let p = t.add("devices".to_string(), None, 0).unwrap();
        let c = t.add("vda".to_string(), Some(p), 1).unwrap();
        assert_eq!(t.refcount(p), Some(2));
        assert_eq!(t.path(c), "/devices/vda");
        // The creator's reference on the parent goes; the child keeps it.
        assert!(t.put(p).unwrap().is_empty());
        let released = t.put(c).unwrap();
        let names: Vec<_> = released.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["vda", "devices"]);
        assert_eq!(t.live(), 0);
        assert_eq!(t.put(c).err(), Some(KobjError::Stale));
        // A reused slot does not revive the stale id.
        let n = t.add("new".to_string(), None, 2).unwrap();
        assert!(!t.contains(c) && t.contains(n));
    }

    #[test]
    fn capacity_is_bounded() {
        let mut t = KobjTable::new(1);
        t.add("a".to_string(), None, ()).unwrap();
        assert_eq!(
            t.add("b".to_string(), None, ()).err(),
            Some(KobjError::TableFull)
        );
    }
}
