//! Resource accounts: what each process may make the kernel hold, and
//! what it holds now (the model is `libsys::abi::limits`'s: creator pays,
//! up the tree, as cgroups count).
//!
//! Every process has an [`Account`] whose parent is its creator's. An
//! object is charged with [`Account::charge`], which counts it in the
//! account and in every ancestor and fails with `OutOfResources` — having
//! changed nothing — if any of them is at its limit. The [`Charge`] it
//! returns is kept by the object and gives the count back when dropped, so
//! whatever path frees an object (a close, a death, the last reference of
//! a message in flight) uncharges it exactly once. An account outlives its
//! process while objects it paid for live (they hold it).
//!
//! Only hierarchical resources are counted here; `Handles` and
//! `PageTables` are limits on the process's own tables, which keep their
//! own counts (the account only stores those limits).

use alloc::sync::Arc;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use libsys::abi::limits::{Limits, Resource, RESOURCES};
use libsys::abi::SysError;

pub struct Account {
    parent: Option<Arc<Account>>,
    max: [AtomicU64; RESOURCES],
    used: [AtomicU64; RESOURCES],
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Account({:?} used {:?})", self.limits(), self.used())
    }
}

impl Account {
    /// An account at the top of a tree (the first process's).
    pub fn root(limits: Limits) -> Arc<Account> {
        Arc::new(Account {
            parent: None,
            max: limits.max.map(AtomicU64::new),
            used: [const { AtomicU64::new(0) }; RESOURCES],
        })
    }

    /// A new process's account under `parent` (its creator's): `limits`
    /// lowered to the parent's.
    pub fn child(parent: &Arc<Account>, limits: Limits) -> Arc<Account> {
        Arc::new(Account {
            parent: Some(parent.clone()),
            max: limits.min(&parent.limits()).max.map(AtomicU64::new),
            used: [const { AtomicU64::new(0) }; RESOURCES],
        })
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max: core::array::from_fn(|i| self.max[i].load(Ordering::Relaxed)),
        }
    }

    pub fn limit(&self, resource: Resource) -> u64 {
        self.max[resource as usize].load(Ordering::Relaxed)
    }

    /// What is charged now, per resource (0 for the non-hierarchical ones).
    pub fn used(&self) -> [u64; RESOURCES] {
        core::array::from_fn(|i| self.used[i].load(Ordering::Relaxed))
    }

    /// Sets the limits to `limits`, which must be within `ceiling` (the
    /// setter's own), else `NotAllowed` and nothing changes. Objects
    /// charged already stay, even above a lowered limit.
    pub fn set_limits(&self, limits: &Limits, ceiling: &Limits) -> Result<(), SysError> {
        if !limits.within(ceiling) {
            return Err(SysError::NotAllowed);
        }
        for (max, new) in self.max.iter().zip(limits.max) {
            max.store(new, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Counts one `resource` here and in every ancestor; `OutOfResources`
    /// (and no count changed) if one of them is at its limit.
    /// `InvalidArgument` for a resource that is not hierarchical.
    pub fn charge(self: &Arc<Account>, resource: Resource) -> Result<Charge, SysError> {
        if !resource.hierarchical() {
            return Err(SysError::InvalidArgument);
        }
        let i = resource as usize;
        let mut level = Some(self);
        while let Some(account) = level {
            let before = account.used[i].fetch_add(1, Ordering::Relaxed);
            if before >= account.max[i].load(Ordering::Relaxed) {
                account.used[i].fetch_sub(1, Ordering::Relaxed);
                self.uncharge_below(resource, account);
                return Err(SysError::OutOfResources);
            }
            level = account.parent.as_ref();
        }
        Ok(Charge {
            account: self.clone(),
            resource,
        })
    }

    /// Takes one `resource` back from this account and its ancestors up
    /// to (not including) `stop`, or all of them with `stop` = none.
    fn uncharge_below(&self, resource: Resource, stop: &Account) {
        let i = resource as usize;
        let mut level = Some(self);
        while let Some(account) = level {
            if core::ptr::eq(account, stop) {
                return;
            }
            account.used[i].fetch_sub(1, Ordering::Relaxed);
            level = account.parent.as_deref();
        }
    }
}

/// One object's charge: given back when dropped.
pub struct Charge {
    account: Arc<Account>,
    resource: Resource,
}

impl Charge {
    pub fn account(&self) -> &Arc<Account> {
        &self.account
    }
}

impl fmt::Debug for Charge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Charge({:?})", self.resource)
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        let i = self.resource as usize;
        let mut level = Some(&*self.account);
        while let Some(account) = level {
            account.used[i].fetch_sub(1, Ordering::Relaxed);
            level = account.parent.as_deref();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn limits(threads: u64) -> Limits {
        let mut l = Limits::ROOT;
        l.set(Resource::Threads, threads);
        l
    }

    #[test]
    fn a_charge_counts_up_the_tree_and_its_drop_gives_it_back() {
        let root = Account::root(limits(10));
        let child = Account::child(&root, limits(5));
        let grandchild = Account::child(&child, Limits::ROOT);
        assert_eq!(
            grandchild.limit(Resource::Threads),
            5,
            "lowered to the parent's"
        );
        let charge = grandchild.charge(Resource::Threads).unwrap();
        for account in [&root, &child, &grandchild] {
            assert_eq!(account.used()[Resource::Threads as usize], 1);
        }
        drop(charge);
        for account in [&root, &child, &grandchild] {
            assert_eq!(account.used(), [0; RESOURCES]);
        }
    }

    #[test]
    fn a_full_ancestor_refuses_and_nothing_stays_charged() {
        let root = Account::root(limits(3));
        let a = Account::child(&root, limits(3));
        let b = Account::child(&root, limits(3));
        let mut held: Vec<Charge> = (0..2)
            .map(|_| a.charge(Resource::Threads).unwrap())
            .collect();
        held.push(b.charge(Resource::Threads).unwrap());
        // `b` has room of its own, but the root is full.
        assert_eq!(
            b.charge(Resource::Threads).map(|_| ()),
            Err(SysError::OutOfResources)
        );
        assert_eq!(b.used()[Resource::Threads as usize], 1);
        assert_eq!(root.used()[Resource::Threads as usize], 3);
        held.pop();
        assert!(b.charge(Resource::Threads).is_ok());
    }

    #[test]
    fn its_own_limit_refuses_and_other_resources_are_apart() {
        let root = Account::root(Limits::ROOT);
        let child = Account::child(&root, limits(1));
        let _one = child.charge(Resource::Threads).unwrap();
        assert_eq!(
            child.charge(Resource::Threads).map(|_| ()),
            Err(SysError::OutOfResources)
        );
        assert_eq!(root.used()[Resource::Threads as usize], 1);
        assert!(child.charge(Resource::Endpoints).is_ok());
        assert_eq!(
            child.charge(Resource::Handles).map(|_| ()),
            Err(SysError::InvalidArgument)
        );
    }

    #[test]
    fn limits_are_set_within_the_ceiling_only() {
        let root = Account::root(Limits::ROOT);
        let child = Account::child(&root, Limits::DEFAULT);
        assert_eq!(
            child.set_limits(&Limits::ROOT, &Limits::DEFAULT),
            Err(SysError::NotAllowed)
        );
        assert_eq!(child.limits(), Limits::DEFAULT);
        let _held = child.charge(Resource::Threads).unwrap();
        child.set_limits(&limits(0), &Limits::ROOT).unwrap();
        assert_eq!(
            child.charge(Resource::Threads).map(|_| ()),
            Err(SysError::OutOfResources)
        );
    }
}
