//! The `edu` device's registers (QEMU's `docs/specs/edu.rst`): BAR 0, 1 MiB
//! of MMIO, 32-bit accesses below 0x80. Typed: writing a read-only
//! register does not compile.

use driver_hal::{ReadOnly, ReadWrite, Reg, WriteOnly};

/// Identification: `0xRRrr00ed`, major `RR`, minor `rr`.
pub const ID: Reg<u32, ReadOnly> = Reg::new(0x00);
/// Liveness check: reads back the bitwise inverse of the last write.
pub const LIVENESS: Reg<u32, ReadWrite> = Reg::new(0x04);
/// Factorial: write `n` (while not computing), read `n!` once done.
pub const FACTORIAL: Reg<u32, ReadWrite> = Reg::new(0x08);
/// Status: [`STATUS_COMPUTING`], [`STATUS_IRQ_FACT`].
pub const STATUS: Reg<u32, ReadWrite> = Reg::new(0x20);
/// Interrupt status: the causes raised and not yet acknowledged.
pub const INTR_STATUS: Reg<u32, ReadOnly> = Reg::new(0x24);
/// Raises an interrupt with these cause bits (a test of the line).
pub const INTR_RAISE: Reg<u32, WriteOnly> = Reg::new(0x60);
/// Acknowledges cause bits; the line drops when none is left.
pub const INTR_ACK: Reg<u32, WriteOnly> = Reg::new(0x64);
/// DMA source address (bus address, or [`DMA_BASE`]-relative in the
/// device). Written 32 bits wide: the device keeps only 28 bits of a
/// bus address anyway ([`DMA_MASK`]).
pub const DMA_SRC: Reg<u32, ReadWrite> = Reg::new(0x80);
/// DMA destination address.
pub const DMA_DST: Reg<u32, ReadWrite> = Reg::new(0x88);
/// DMA byte count.
pub const DMA_COUNT: Reg<u32, ReadWrite> = Reg::new(0x90);
/// DMA command: [`DMA_RUN`], [`DMA_TO_RAM`], [`DMA_IRQ`].
pub const DMA_CMD: Reg<u32, ReadWrite> = Reg::new(0x98);

/// The identification register's low byte.
pub const ID_MAGIC: u32 = 0xed;
/// Status: a factorial is being computed (read-only).
pub const STATUS_COMPUTING: u32 = 0x01;
/// Status: raise an interrupt when a factorial is done.
pub const STATUS_IRQ_FACT: u32 = 0x80;
/// Interrupt causes: a factorial finished; a DMA transfer finished.
pub const IRQ_FACT: u32 = 0x001;
pub const IRQ_DMA: u32 = 0x100;
/// DMA command: start; direction device → RAM (clear: RAM → device);
/// raise [`IRQ_DMA`] when done.
pub const DMA_RUN: u32 = 0x1;
pub const DMA_TO_RAM: u32 = 0x2;
pub const DMA_IRQ: u32 = 0x4;
/// Where the device's 4 KiB DMA buffer starts, in its own address space.
pub const DMA_BASE: u32 = 0x40000;
/// The bus addresses the device can form (QEMU's default `dma_mask`):
/// DMA memory must lie below 256 MiB.
pub const DMA_MASK: u64 = (1 << 28) - 1;
/// BAR 0's size.
pub const BAR_SIZE: u64 = 1 << 20;
