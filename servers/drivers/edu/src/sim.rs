//! A simulated `edu` device for the host tests (and the lab's grader):
//! its register file behaves as QEMU's `hw/misc/edu.c` does — the
//! inverse in the liveness register, a factorial computed "in the
//! background" (the busy bit is up until [`SimEdu::run`]), the status
//! register's interrupt enable, interrupt causes raised and acknowledged,
//! and a DMA engine between the driver's DMA buffer (simulated RAM at a
//! bus address) and the device's 4 KiB buffer. A DMA range outside the
//! device's buffer panics, as QEMU aborts on it (`hw_error`; QEMU 7.2's
//! check also refuses a transfer that ends exactly at the buffer's end,
//! and so does this one); so does a
//! bus address that is not the driver's buffer (on the machine it would
//! be someone else's memory).

use alloc::vec;
use alloc::vec::Vec;
use driver_hal::reg::{Readable, Writable};
use driver_hal::Reg;
use libsys::proto::edu::DMA_BUFFER;

use crate::regs::*;
use crate::Hardware;

/// Where the simulated DMA buffer sits on the bus.
pub const SIM_DMA_ADDRESS: u64 = 0x0123_4000;

/// The simulated device, and the driver's DMA buffer.
#[derive(Debug)]
pub struct SimEdu {
    liveness: u32,
    factorial: u32,
    status: u32,
    intr: u32,
    dma: [u32; 4],
    buffer: Vec<u8>,
    ram: Vec<u8>,
    ram_address: u64,
    /// Writes to the factorial register while it computed (ignored, as
    /// the device ignores them).
    pub ignored_writes: u32,
    /// `irq_ack`s the driver made.
    pub acks: u32,
    /// Factorials and DMA transfers the device did.
    pub done: u32,
}

impl Default for SimEdu {
    fn default() -> Self {
        SimEdu::new(SIM_DMA_ADDRESS, 4096)
    }
}

impl SimEdu {
    /// A device whose driver's DMA buffer is `len` bytes at `address`.
    pub fn new(address: u64, len: usize) -> SimEdu {
        SimEdu {
            liveness: 0,
            factorial: 0,
            status: 0,
            intr: 0,
            dma: [0; 4],
            buffer: vec![0; DMA_BUFFER],
            ram: vec![0; len],
            ram_address: address,
            ignored_writes: 0,
            acks: 0,
            done: 0,
        }
    }

    /// Whether the interrupt line is up (some cause not acknowledged).
    pub fn line(&self) -> bool {
        self.intr != 0
    }

    /// The device's own buffer.
    pub fn buffer(&self) -> &[u8] {
        &self.buffer
    }

    /// Whether it is still busy (a factorial computing, a DMA running).
    pub fn busy(&self) -> bool {
        self.status & STATUS_COMPUTING != 0 || self.dma[3] & DMA_RUN != 0
    }

    /// Lets the device finish what it was doing: the factorial thread
    /// and the DMA timer of QEMU's model.
    pub fn run(&mut self) {
        if self.status & STATUS_COMPUTING != 0 {
            self.factorial = (1..=self.factorial).fold(1u32, |p, i| p.wrapping_mul(i));
            self.status &= !STATUS_COMPUTING;
            self.done += 1;
            if self.status & STATUS_IRQ_FACT != 0 {
                self.intr |= IRQ_FACT;
            }
        }
        let [src, dst, count, cmd] = self.dma;
        if cmd & DMA_RUN != 0 {
            let count = count as usize;
            if cmd & DMA_TO_RAM != 0 {
                let from = self.device_range(src, count);
                let to = self.ram_range(dst, count);
                self.ram[to].copy_from_slice(&self.buffer[from]);
            } else {
                let from = self.ram_range(src, count);
                let to = self.device_range(dst, count);
                self.buffer[to].copy_from_slice(&self.ram[from]);
            }
            self.dma[3] &= !DMA_RUN;
            self.done += 1;
            if cmd & DMA_IRQ != 0 {
                self.intr |= IRQ_DMA;
            }
        }
    }

    fn device_range(&self, address: u32, count: usize) -> core::ops::Range<usize> {
        let start = address.wrapping_sub(DMA_BASE) as usize;
        let ok = address >= DMA_BASE && start + count < DMA_BUFFER;
        assert!(
            ok,
            "edu: DMA range {address:#x}+{count} outside the device's buffer (QEMU aborts)"
        );
        start..start + count
    }

    fn ram_range(&self, address: u32, count: usize) -> core::ops::Range<usize> {
        let address = u64::from(address) & DMA_MASK;
        let start = address.wrapping_sub(self.ram_address) as usize;
        let ok = address >= self.ram_address && start + count <= self.ram.len();
        assert!(
            ok,
            "edu: DMA to bus address {address:#x}+{count}, not the driver's buffer"
        );
        start..start + count
    }
}

impl Hardware for SimEdu {
    fn read<A: Readable>(&mut self, reg: Reg<u32, A>) -> u32 {
        match reg.offset() {
            0x00 => 0x0100_0000 | ID_MAGIC,
            0x04 => self.liveness,
            0x08 => self.factorial,
            0x20 => self.status,
            0x24 => self.intr,
            o @ (0x80 | 0x88 | 0x90 | 0x98) => self.dma[((o - 0x80) / 8) as usize],
            _ => u32::MAX,
        }
    }

    fn write<A: Writable>(&mut self, reg: Reg<u32, A>, value: u32) {
        match reg.offset() {
            0x04 => self.liveness = !value,
            0x08 if self.status & STATUS_COMPUTING != 0 => self.ignored_writes += 1,
            0x08 => {
                self.factorial = value;
                self.status |= STATUS_COMPUTING;
            }
            0x20 => {
                self.status = (self.status & STATUS_COMPUTING) | (value & STATUS_IRQ_FACT);
            }
            0x60 => self.intr |= value,
            0x64 => self.intr &= !value,
            0x98 if value & DMA_RUN == 0 || self.dma[3] & DMA_RUN != 0 => {}
            o @ (0x80 | 0x88 | 0x90 | 0x98) if self.dma[3] & DMA_RUN == 0 => {
                self.dma[((o - 0x80) / 8) as usize] = value;
            }
            _ => {}
        }
    }

    fn dma_address(&self) -> u64 {
        self.ram_address
    }

    fn dma_fill(&mut self, offset: usize, bytes: &[u8]) {
        self.ram[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    fn dma_copy(&self, offset: usize, into: &mut [u8]) {
        let len = into.len();
        into.copy_from_slice(&self.ram[offset..offset + len]);
    }

    fn irq_ack(&mut self) {
        self.acks += 1;
    }
}
