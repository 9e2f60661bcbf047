//! Message-signalled interrupts (MSI): the pool of IDT vectors the kernel
//! hands out for them, and the message a device writes to raise one.
//!
//! A PCI function with MSI enabled raises an interrupt by writing a dword
//! (the *message data*) to an address (the *message address*) in the
//! local APICs' window at `0xFEE0_0000` (Intel SDM vol. 3, 11.11): the
//! address names the destination CPU, the data the vector, the delivery
//! mode and the trigger. No I/O APIC is involved, so there is nothing to
//! mask or route: the kernel only has to own the vector. An MSI is always
//! edge-triggered.
//!
//! [`VectorPool`] is a fixed range of vectors, each free or held by one
//! process (the one that allocated it, charged with it until it is freed),
//! with a limit per holder so that one process cannot take them all.

use libsys::abi::SysError;

/// The local APICs' message window: bits 31–20 of every message address.
pub const MSI_ADDRESS_BASE: u64 = 0xFEE0_0000;

/// The message address that reaches the local APIC with id `apic_id`
/// (physical destination mode, no redirection hint: bits 19–12 the
/// destination, bits 3 and 2 clear).
pub const fn message_address(apic_id: u8) -> u64 {
    MSI_ADDRESS_BASE | (apic_id as u64) << 12
}

/// The message data for `vector`: fixed delivery (bits 10–8 = 0),
/// edge-triggered (bit 15 = 0), the vector in bits 7–0.
pub const fn message_data(vector: u8) -> u32 {
    vector as u32
}

/// A range of `N` vectors from `first`, each free or held by a process.
#[derive(Debug)]
pub struct VectorPool<const N: usize> {
    first: u8,
    per_holder: usize,
    /// The holder (pid) of each vector, `None` while free.
    holders: [Option<u32>; N],
}

impl<const N: usize> VectorPool<N> {
    /// Vectors `first .. first + N`, at most `per_holder` to one process.
    pub const fn new(first: u8, per_holder: usize) -> Self {
        assert!(first as usize + N <= 0x100, "vectors past 0xff");
        VectorPool {
            first,
            per_holder,
            holders: [None; N],
        }
    }

    /// The lowest free vector, now held by `holder`. `OutOfResources` if
    /// `holder` holds its limit already or no vector is free.
    pub fn alloc(&mut self, holder: u32) -> Result<u8, SysError> {
        if self.held_by(holder) >= self.per_holder {
            return Err(SysError::OutOfResources);
        }
        let slot = self
            .holders
            .iter()
            .position(Option::is_none)
            .ok_or(SysError::OutOfResources)?;
        self.holders[slot] = Some(holder);
        Ok(self.first + slot as u8)
    }

    /// Gives `vector` back; false if it is not the pool's or was free.
    pub fn free(&mut self, vector: u8) -> bool {
        match self.slot(vector) {
            Some(slot) => self.holders[slot].take().is_some(),
            None => false,
        }
    }

    /// Vectors `holder` holds.
    pub fn held_by(&self, holder: u32) -> usize {
        self.holders.iter().filter(|h| **h == Some(holder)).count()
    }

    /// Vectors free.
    pub fn free_count(&self) -> usize {
        self.holders.iter().filter(|h| h.is_none()).count()
    }

    /// The index of `vector` in the pool, if it is one of its vectors.
    pub fn slot(&self, vector: u8) -> Option<usize> {
        let slot = usize::from(vector.checked_sub(self.first)?);
        (slot < N).then_some(slot)
    }

    /// Whether `vector` is the pool's.
    pub fn contains(&self, vector: u8) -> bool {
        self.slot(vector).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message() {
        assert_eq!(message_address(0), 0xFEE0_0000);
        assert_eq!(message_address(3), 0xFEE0_3000);
        assert_eq!(message_address(0xff), 0xFEEF_F000);
        // Fixed delivery, edge, the vector.
        assert_eq!(message_data(0xc5), 0x00c5);
    }

    #[test]
    fn allocation_exhaustion_and_freeing() {
        let mut pool: VectorPool<4> = VectorPool::new(0xc0, 3);
        assert_eq!(pool.alloc(7), Ok(0xc0));
        assert_eq!(pool.alloc(7), Ok(0xc1));
        assert_eq!(pool.alloc(7), Ok(0xc2));
        // The per-holder limit.
        assert_eq!(pool.alloc(7), Err(SysError::OutOfResources));
        assert_eq!(pool.held_by(7), 3);
        // Another holder takes the last one; then the pool is empty.
        assert_eq!(pool.alloc(8), Ok(0xc3));
        assert_eq!(pool.alloc(9), Err(SysError::OutOfResources));
        assert_eq!(pool.free_count(), 0);
        // Freed: the lowest free vector comes back first.
        assert!(pool.free(0xc1));
        assert!(!pool.free(0xc1), "freed twice");
        assert!(!pool.free(0xbf) && !pool.free(0xc4), "not the pool's");
        assert_eq!(pool.alloc(9), Ok(0xc1));
        assert_eq!(pool.held_by(7), 2);
        assert!(pool.contains(0xc3) && !pool.contains(0xc4) && !pool.contains(0));
    }
}
