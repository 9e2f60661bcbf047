//! virtio-blk over the **legacy** virtio PCI interface (virtio 0.9.5, the
//! "transitional" device QEMU's `virtio-blk-pci` is on `q35`'s root bus:
//! device ID 0x1001, BAR 0 a 128-byte I/O window): the register map, the
//! device status bits, the block device's request header and status —
//! pure, so the driver's arithmetic is host-tested. [`queue`] is the split
//! virtqueue itself.
//!
//! The legacy interface needs only I/O ports (no BAR mapping) and one
//! virtqueue whose page frame number the driver writes; the modern one
//! puts its registers behind capabilities in a memory BAR.

pub mod queue;

/// PCI IDs: Red Hat's vendor, the transitional block device.
pub const VENDOR: u16 = 0x1af4;
pub const DEVICE_BLK_TRANSITIONAL: u16 = 0x1001;

/// Legacy registers in BAR 0 (`VIRTIO_PCI_*`), typed: width and access
/// are in the type (`driver_hal::Reg`), so a driver cannot write a
/// read-only one or move the wrong width.
pub mod reg {
    use driver_hal::{ReadOnly, ReadWrite, Reg, WriteOnly};

    /// Device features, 32 bits.
    pub const HOST_FEATURES: Reg<u32, ReadOnly> = Reg::new(0x00);
    /// Driver features, 32 bits.
    pub const GUEST_FEATURES: Reg<u32, ReadWrite> = Reg::new(0x04);
    /// The selected queue's page frame number, 32 bits.
    pub const QUEUE_PFN: Reg<u32, ReadWrite> = Reg::new(0x08);
    /// The selected queue's size, 16 bits.
    pub const QUEUE_NUM: Reg<u16, ReadOnly> = Reg::new(0x0c);
    /// Queue select, 16 bits.
    pub const QUEUE_SEL: Reg<u16, ReadWrite> = Reg::new(0x0e);
    /// Queue notify, 16 bits: the doorbell.
    pub const QUEUE_NOTIFY: Reg<u16, WriteOnly> = Reg::new(0x10);
    /// Device status, 8 bits.
    pub const STATUS: Reg<u8, ReadWrite> = Reg::new(0x12);
    /// ISR status, 8 bits: reading it acknowledges the interrupt.
    pub const ISR: Reg<u8, ReadOnly> = Reg::new(0x13);
    /// The device-specific configuration (no MSI-X): virtio-blk's
    /// capacity in 512-byte sectors, 64 bits as two 32-bit halves, first.
    pub const CAPACITY_LOW: Reg<u32, ReadOnly> = Reg::new(0x14);
    pub const CAPACITY_HIGH: Reg<u32, ReadOnly> = CAPACITY_LOW.plus(4);
    /// The legacy window's size: every register above lies inside it.
    pub const WINDOW: u16 = 0x80;
}

/// Device status bits.
pub mod status {
    pub const ACKNOWLEDGE: u8 = 1;
    pub const DRIVER: u8 = 2;
    pub const DRIVER_OK: u8 = 4;
    pub const FAILED: u8 = 0x80;
}

/// `VIRTIO_BLK_F_FLUSH`: the device takes flush requests.
pub const F_FLUSH: u32 = 1 << 9;
/// The legacy interface's queue alignment (and the PFN's page).
pub const QUEUE_ALIGN: u64 = 4096;

/// `VIRTIO_BLK_T_*`: what a request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum BlkType {
    In = 0,
    Out = 1,
    Flush = 4,
}

/// The 16-byte header every virtio-blk request starts with: type,
/// reserved, sector (little-endian).
pub fn request_header(kind: BlkType, sector: u64) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&(kind as u32).to_le_bytes());
    h[8..16].copy_from_slice(&sector.to_le_bytes());
    h
}

/// The status byte the device writes last: `Ok(())` for
/// `VIRTIO_BLK_S_OK`, else the code (1 `IOERR`, 2 `UNSUPP`).
pub fn request_status(byte: u8) -> Result<(), i32> {
    if byte == 0 {
        Ok(())
    } else {
        Err(i32::from(byte))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_little_endian_with_a_reserved_word() {
        let h = request_header(BlkType::Out, 0x0102_0304_0506_0708);
        assert_eq!(h[..4], [1, 0, 0, 0]);
        assert_eq!(h[4..8], [0; 4]);
        assert_eq!(h[8..], [8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(request_header(BlkType::Flush, 0)[0], 4);
    }

    #[test]
    fn the_registers_lie_in_the_legacy_window() {
        assert_eq!(reg::STATUS.offset(), 0x12);
        assert_eq!(reg::CAPACITY_HIGH.offset(), 0x18);
        assert!(reg::CAPACITY_HIGH.offset() + 4 <= u64::from(reg::WINDOW));
    }

    #[test]
    fn status_zero_is_success() {
        assert_eq!(request_status(0), Ok(()));
        assert_eq!(request_status(1), Err(1));
        assert_eq!(request_status(2), Err(2));
    }
}
