//! The table of scheduling entities, indexed by the thread's key.
//!
//! The kernel numbers its threads' scheduler slots densely from 0 (it
//! reuses the slots of dead threads), so the entities live in a vector
//! indexed by that number: finding a thread's entity — which the queue does
//! several times on every switch — is one bounds check, where a search
//! tree took a walk of comparisons.

use alloc::vec::Vec;
use core::fmt::Debug;

use super::SchedEntity;

/// A run-queue key: a thread's dense slot number.
pub trait SchedKey: Copy + Ord + Debug {
    fn index(self) -> usize;
}

macro_rules! key {
    ($($t:ty),*) => {
        $(impl SchedKey for $t {
            fn index(self) -> usize {
                self as usize
            }
        })*
    };
}
key!(u8, u16, u32, u64, usize);

/// Entities by key.
#[derive(Debug)]
pub struct Slots<K> {
    slots: Vec<Option<(K, SchedEntity)>>,
}

impl<K: SchedKey> Slots<K> {
    pub const fn new() -> Self {
        Slots { slots: Vec::new() }
    }

    pub fn contains_key(&self, id: &K) -> bool {
        self.get(id).is_some()
    }

    pub fn get(&self, id: &K) -> Option<&SchedEntity> {
        self.slots.get(id.index())?.as_ref().map(|(_, se)| se)
    }

    pub fn get_mut(&mut self, id: &K) -> Option<&mut SchedEntity> {
        self.slots.get_mut(id.index())?.as_mut().map(|(_, se)| se)
    }

    pub fn insert(&mut self, id: K, entity: SchedEntity) {
        let i = id.index();
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i] = Some((id, entity));
    }

    pub fn remove(&mut self, id: &K) -> Option<SchedEntity> {
        self.slots.get_mut(id.index())?.take().map(|(_, se)| se)
    }

    /// Every entity with its key, in key order (for the invariant checks).
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = (&K, &SchedEntity)> {
        self.slots.iter().flatten().map(|(k, se)| (k, se))
    }
}
