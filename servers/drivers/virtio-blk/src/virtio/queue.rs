//! The split virtqueue of the legacy virtio interface: a descriptor
//! table, the available ring (driver → device) and the used ring
//! (device → driver) in one block of DMA memory, laid out as virtio 0.9.5
//! says (§2.3), with the ring arithmetic that wraps at 2^16.
//!
//! The memory is reached through [`QueueMemory`] (volatile accesses in
//! the driver, a plain buffer in the tests), so the logic runs on the
//! host. The free descriptors and each chain's descriptors are kept here,
//! not read back from the table, so a device that scribbles on the table
//! or reports a head it was never given cannot corrupt the free list:
//! an unknown head in the used ring is skipped and counted
//! ([`VirtQueue::bogus`]).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::QUEUE_ALIGN;

/// `VIRTQ_DESC_F_NEXT`: the chain goes on at `next`.
const DESC_NEXT: u16 = 1;
/// `VIRTQ_DESC_F_WRITE`: the device writes this buffer.
const DESC_WRITE: u16 = 2;

/// Byte access to the queue's memory (offsets from its start).
pub trait QueueMemory {
    fn read_u16(&self, offset: u64) -> u16;
    fn read_u32(&self, offset: u64) -> u32;
    fn write_u16(&mut self, offset: u64, value: u16);
    fn write_u32(&mut self, offset: u64, value: u32);
    fn write_u64(&mut self, offset: u64, value: u64);
}

/// Where the three parts of a legacy queue of `size` entries lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub size: u16,
    /// The available ring's offset (the table is at 0).
    pub avail: u64,
    /// The used ring's offset (aligned to [`QUEUE_ALIGN`]).
    pub used: u64,
    /// Bytes in all, a multiple of [`QUEUE_ALIGN`].
    pub total: u64,
}

fn align_up(x: u64, to: u64) -> u64 {
    x.div_ceil(to) * to
}

impl Layout {
    /// The legacy layout for `size` entries: `None` unless `size` is a
    /// power of two from 1 to 32768 (what the device may announce).
    pub fn legacy(size: u16) -> Option<Layout> {
        if size == 0 || !size.is_power_of_two() {
            return None;
        }
        let n = u64::from(size);
        let avail = 16 * n;
        let used = align_up(avail + 6 + 2 * n, QUEUE_ALIGN);
        let total = used + align_up(6 + 8 * n, QUEUE_ALIGN);
        Some(Layout {
            size,
            avail,
            used,
            total,
        })
    }
}

/// One buffer of a chain: physical address, length, who writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffer {
    pub phys: u64,
    pub len: u32,
    /// The device writes it (a read's data, the status byte).
    pub device_writes: bool,
}

/// A chain the device has finished with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Used {
    /// The chain's head descriptor (what [`VirtQueue::add`] returned).
    pub head: u16,
    /// Bytes the device wrote.
    pub len: u32,
}

/// Why a chain could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueError {
    /// An empty chain.
    Empty,
    /// Not enough free descriptors.
    Full,
}

/// A legacy split virtqueue's driver side.
#[derive(Debug)]
pub struct VirtQueue {
    layout: Layout,
    free: Vec<u16>,
    chains: BTreeMap<u16, Vec<u16>>,
    avail_idx: u16,
    last_used: u16,
    bogus: u64,
}

impl VirtQueue {
    /// A queue over `layout`, every descriptor free. The memory must be
    /// zeroed (as DMA memory from `mm` is).
    pub fn new(layout: Layout) -> VirtQueue {
        VirtQueue {
            layout,
            free: (0..layout.size).rev().collect(),
            chains: BTreeMap::new(),
            avail_idx: 0,
            last_used: 0,
            bogus: 0,
        }
    }

    /// Its layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Free descriptors.
    pub fn free_descriptors(&self) -> usize {
        self.free.len()
    }

    /// Chains the device holds.
    pub fn in_flight(&self) -> usize {
        self.chains.len()
    }

    /// Used-ring entries that named no chain in flight.
    pub fn bogus(&self) -> u64 {
        self.bogus
    }

    /// Writes `chain` into free descriptors and publishes its head in the
    /// available ring (the index last, so the device never sees a half-made
    /// entry); returns the head. `Empty`, `Full` (nothing changes). The
    /// caller then notifies the device.
    pub fn add(&mut self, mem: &mut impl QueueMemory, chain: &[Buffer]) -> Result<u16, QueueError> {
        if chain.is_empty() {
            return Err(QueueError::Empty);
        }
        if chain.len() > self.free.len() {
            return Err(QueueError::Full);
        }
        let split = self.free.len() - chain.len();
        let descs: Vec<u16> = self.free.split_off(split).into_iter().rev().collect();
        for (i, (buffer, &d)) in chain.iter().zip(&descs).enumerate() {
            let at = 16 * u64::from(d);
            let mut flags = if buffer.device_writes { DESC_WRITE } else { 0 };
            let next = descs.get(i + 1).copied();
            if next.is_some() {
                flags |= DESC_NEXT;
            }
            mem.write_u64(at, buffer.phys);
            mem.write_u32(at + 8, buffer.len);
            mem.write_u16(at + 12, flags);
            mem.write_u16(at + 14, next.unwrap_or(0));
        }
        let head = descs[0];
        let slot = u64::from(self.avail_idx % self.layout.size);
        mem.write_u16(self.layout.avail + 4 + 2 * slot, head);
        self.avail_idx = self.avail_idx.wrapping_add(1);
        mem.write_u16(self.layout.avail + 2, self.avail_idx);
        self.chains.insert(head, descs);
        Ok(head)
    }

    /// The next chain the device finished, its descriptors freed; `None`
    /// when the used ring holds nothing new.
    pub fn pop_used(&mut self, mem: &impl QueueMemory) -> Option<Used> {
        loop {
            let device_idx = mem.read_u16(self.layout.used + 2);
            if device_idx == self.last_used {
                return None;
            }
            let slot = u64::from(self.last_used % self.layout.size);
            let at = self.layout.used + 4 + 8 * slot;
            let id = mem.read_u32(at);
            let len = mem.read_u32(at + 4);
            self.last_used = self.last_used.wrapping_add(1);
            let head = u16::try_from(id).ok();
            match head.and_then(|h| self.chains.remove(&h).map(|c| (h, c))) {
                Some((head, descs)) => {
                    self.free.extend(descs);
                    return Some(Used { head, len });
                }
                None => self.bogus += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Mem(Vec<u8>);

    impl QueueMemory for Mem {
        fn read_u16(&self, o: u64) -> u16 {
            let o = o as usize;
            u16::from_le_bytes([self.0[o], self.0[o + 1]])
        }
        fn read_u32(&self, o: u64) -> u32 {
            let o = o as usize;
            u32::from_le_bytes(self.0[o..o + 4].try_into().unwrap())
        }
        fn write_u16(&mut self, o: u64, v: u16) {
            let o = o as usize;
            self.0[o..o + 2].copy_from_slice(&v.to_le_bytes());
        }
        fn write_u32(&mut self, o: u64, v: u32) {
            let o = o as usize;
            self.0[o..o + 4].copy_from_slice(&v.to_le_bytes());
        }
        fn write_u64(&mut self, o: u64, v: u64) {
            let o = o as usize;
            self.0[o..o + 8].copy_from_slice(&v.to_le_bytes());
        }
    }

    /// A device: takes what is available, walks each chain, and puts it
    /// in the used ring with the bytes of its writable buffers.
    struct Device {
        layout: Layout,
        seen_avail: u16,
        used_idx: u16,
        chains: Vec<Vec<(u64, u32, u16)>>,
    }

    impl Device {
        fn new(layout: Layout) -> Device {
            Device {
                layout,
                seen_avail: 0,
                used_idx: 0,
                chains: Vec::new(),
            }
        }

        fn run(&mut self, mem: &mut Mem) {
            let avail_idx = mem.read_u16(self.layout.avail + 2);
            while self.seen_avail != avail_idx {
                let slot = u64::from(self.seen_avail % self.layout.size);
                let head = mem.read_u16(self.layout.avail + 4 + 2 * slot);
                let mut chain = Vec::new();
                let mut d = head;
                let mut written = 0;
                loop {
                    let at = 16 * u64::from(d);
                    let (phys, len) = (mem.read_u32(at) as u64, mem.read_u32(at + 8));
                    let flags = mem.read_u16(at + 12);
                    chain.push((phys, len, flags));
                    if flags & DESC_WRITE != 0 {
                        written += len;
                    }
                    if flags & DESC_NEXT == 0 {
                        break;
                    }
                    d = mem.read_u16(at + 14);
                }
                self.chains.push(chain);
                let uslot = u64::from(self.used_idx % self.layout.size);
                mem.write_u32(self.layout.used + 4 + 8 * uslot, u32::from(head));
                mem.write_u32(self.layout.used + 8 + 8 * uslot, written);
                self.used_idx = self.used_idx.wrapping_add(1);
                mem.write_u16(self.layout.used + 2, self.used_idx);
                self.seen_avail = self.seen_avail.wrapping_add(1);
            }
        }
    }

    fn buf(phys: u64, len: u32, device_writes: bool) -> Buffer {
        Buffer {
            phys,
            len,
            device_writes,
        }
    }

    fn setup(size: u16) -> (VirtQueue, Mem, Device) {
        let layout = Layout::legacy(size).unwrap();
        let mem = Mem(alloc::vec![0; layout.total as usize]);
        (VirtQueue::new(layout), mem, Device::new(layout))
    }

    #[test]
    fn the_legacy_layout_aligns_the_used_ring() {
        let l = Layout::legacy(256).unwrap();
        assert_eq!((l.avail, l.used, l.total), (4096, 8192, 12288));
        let l = Layout::legacy(8).unwrap();
        assert_eq!((l.avail, l.used, l.total), (128, 4096, 8192));
        assert_eq!(Layout::legacy(0), None);
        assert_eq!(Layout::legacy(100), None);
        assert!(Layout::legacy(32768).is_some());
    }

    #[test]
    fn a_chain_reaches_the_device_in_order_with_its_flags() {
        let (mut q, mut mem, mut dev) = setup(8);
        let chain = [
            buf(0x1000, 16, false),
            buf(0x2000, 512, true),
            buf(0x3000, 1, true),
        ];
        let head = q.add(&mut mem, &chain).unwrap();
        assert_eq!(q.free_descriptors(), 5);
        dev.run(&mut mem);
        let seen = &dev.chains[0];
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0], (0x1000, 16, DESC_NEXT));
        assert_eq!(seen[1], (0x2000, 512, DESC_NEXT | DESC_WRITE));
        assert_eq!(seen[2], (0x3000, 1, DESC_WRITE));
        assert_eq!(q.pop_used(&mem), Some(Used { head, len: 513 }));
        assert_eq!(q.pop_used(&mem), None);
        assert_eq!(q.free_descriptors(), 8);
        assert_eq!(q.in_flight(), 0);
    }

    #[test]
    fn a_full_queue_refuses_and_changes_nothing() {
        let (mut q, mut mem, _) = setup(4);
        q.add(&mut mem, &[buf(1, 1, false); 3]).unwrap();
        assert_eq!(
            q.add(&mut mem, &[buf(1, 1, false); 2]),
            Err(QueueError::Full)
        );
        assert_eq!(q.add(&mut mem, &[]), Err(QueueError::Empty));
        assert_eq!(q.free_descriptors(), 1);
        assert_eq!(mem.read_u16(q.layout().avail + 2), 1);
    }

    #[test]
    fn indices_wrap_past_65535() {
        let (mut q, mut mem, mut dev) = setup(4);
        for i in 0..70_000u32 {
            let a = q.add(&mut mem, &[buf(u64::from(i), 8, true)]).unwrap();
            let b = q
                .add(&mut mem, &[buf(7, 4, false), buf(8, 4, true)])
                .unwrap();
            dev.run(&mut mem);
            assert_eq!(q.pop_used(&mem), Some(Used { head: a, len: 8 }));
            assert_eq!(q.pop_used(&mem), Some(Used { head: b, len: 4 }));
            assert_eq!(q.pop_used(&mem), None);
            dev.chains.clear();
        }
        assert_eq!(q.free_descriptors(), 4);
    }

    #[test]
    fn a_bogus_used_entry_is_skipped_and_counted() {
        let (mut q, mut mem, _) = setup(4);
        let head = q.add(&mut mem, &[buf(1, 1, true)]).unwrap();
        let used = q.layout().used;
        // The device reports head 3 (never given) and 70000, then ours.
        mem.write_u32(used + 4, 3);
        mem.write_u32(used + 12, 70_000);
        mem.write_u32(used + 20, u32::from(head));
        mem.write_u16(used + 2, 3);
        assert_eq!(q.pop_used(&mem), Some(Used { head, len: 0 }));
        assert_eq!(q.bogus(), 2);
        assert_eq!(q.free_descriptors(), 4);
    }
}
