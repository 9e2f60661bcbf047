//! `edu`: the driver of QEMU's `edu` teaching device — the smallest
//! complete PCI driver, and the driver lab (docs/labs/06-pci-edu.md).
//!
//! The core ([`Edu`]) is a [`libsys::server::Server`]: it answers the
//! `edu` protocol (`libsys::proto::edu`) by driving the device through
//! the [`Hardware`] trait — its registers, the driver's DMA buffer and
//! the interrupt line's acknowledgement — and makes no system call, so
//! the host tests run it against [`sim::SimEdu`], a simulated register
//! file that behaves as QEMU's device does (`hw/misc/edu.c`). The binary
//! (`main.rs`, feature `main`) gives it the real thing: BAR 0 mapped
//! through `driver_hal::mmio`, DMA memory from `mm` below 256 MiB
//! (`driver_hal::dma`), and the INTx line devmgr passed.
//!
//! - [`regs`]: the registers, typed.
//! - [`Edu`]: requests to device operations, one at a time; the rest
//!   queued ([`QUEUE_MAX`]) and started as the running one completes.
//!   A factorial or a DMA transfer is started with its interrupt enabled
//!   and answered later, from [`Server::on_signal`] — the top half reads
//!   the interrupt status, acknowledges the causes at the device, then
//!   the line at the kernel.
//! - [`sim`]: the simulated device.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod regs;
pub mod sim;

use alloc::collections::VecDeque;

use driver_hal::reg::{Readable, Writable};
use driver_hal::Reg;
use libsys::later::Later;
use libsys::proto::edu::{Data, EduError, Reply, Request, Stats, DMA_END, QUEUE_MAX};
use libsys::server::{Answer, Caller, Server, Token};

use regs::*;

/// The notification bit the device's interrupt line signals.
pub const IRQ_BIT: u32 = 0;

/// What the driver reaches of the machine: the device's registers, its
/// own DMA buffer (RAM the device reads and writes, at a bus address),
/// and the interrupt line.
pub trait Hardware {
    fn read<A: Readable>(&mut self, reg: Reg<u32, A>) -> u32;
    fn write<A: Writable>(&mut self, reg: Reg<u32, A>, value: u32);
    /// The DMA buffer's bus address (below [`DMA_MASK`]).
    fn dma_address(&self) -> u64;
    /// Copies `bytes` into the DMA buffer at `offset`.
    fn dma_fill(&mut self, offset: usize, bytes: &[u8]);
    /// Copies out of the DMA buffer at `offset`.
    fn dma_copy(&self, offset: usize, into: &mut [u8]);
    /// Done with the interrupt: the line may fire again (`irq_ack`).
    fn irq_ack(&mut self);
}

/// A device operation, with the request waiting for it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Factorial(u32),
    /// These bytes, from the DMA buffer to the device's buffer at this
    /// offset.
    ToDevice(u16, Data),
    /// Device buffer at this offset → RAM, this many bytes.
    FromDevice(u16, u16),
}

/// The driver's core.
pub struct Edu<H: Hardware> {
    hw: H,
    /// The operation the device runs, and its request (`None`: its caller
    /// went away; the answer is dropped).
    running: Option<(Op, Option<Token>)>,
    queue: VecDeque<(Op, Token)>,
    stats: Stats,
}

impl<H: Hardware> Edu<H> {
    pub fn new(hw: H) -> Edu<H> {
        Edu {
            hw,
            running: None,
            queue: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// The hardware (the tests' simulated device).
    pub fn hw_mut(&mut self) -> &mut H {
        &mut self.hw
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The identification register.
    pub fn identify(&mut self) -> u32 {
        self.hw.read(ID)
    }

    /// The liveness check: the device answers the inverse of `value`.
    pub fn liveness(&mut self, value: u32) -> Result<u32, EduError> {
        // LAB 6 BEGIN: the liveness check: write the value, read back what the device made of it
        self.hw.write(LIVENESS, value);
        Ok(self.hw.read(LIVENESS))
        // LAB 6 STUB
        // let _ = value;
        // Err(EduError::NotImplemented)
        // LAB 6 END
    }

    /// Starts a factorial with its interrupt on. Fails with `Busy` if the
    /// device still computes (it would ignore the write).
    fn start_factorial(&mut self, n: u32) -> Result<(), EduError> {
        // LAB 6 BEGIN: start a factorial: the interrupt on in the status register, then n into the factorial register
        if self.hw.read(STATUS) & STATUS_COMPUTING != 0 {
            return Err(EduError::Busy);
        }
        self.hw.write(STATUS, STATUS_IRQ_FACT);
        self.hw.write(FACTORIAL, n);
        Ok(())
        // LAB 6 STUB
        // let _ = n;
        // Err(EduError::NotImplemented)
        // LAB 6 END
    }

    /// Programs a DMA transfer of `count` bytes between the DMA buffer's
    /// start and the device's buffer at `offset` (`to_ram`: from the
    /// device), with its interrupt on. The range was checked.
    fn start_dma(&mut self, offset: u16, count: u16, to_ram: bool) -> Result<(), EduError> {
        // LAB 6 BEGIN: program a DMA transfer: source, destination, count, then the command with RUN and IRQ
        let ram = (self.hw.dma_address() & DMA_MASK) as u32;
        let device = DMA_BASE + u32::from(offset);
        let (src, dst, dir) = if to_ram {
            (device, ram, DMA_TO_RAM)
        } else {
            (ram, device, 0)
        };
        self.hw.write(DMA_SRC, src);
        self.hw.write(DMA_DST, dst);
        self.hw.write(DMA_COUNT, u32::from(count));
        self.hw.write(DMA_CMD, DMA_RUN | DMA_IRQ | dir);
        Ok(())
        // LAB 6 STUB
        // let _ = (offset, count, to_ram, DMA_SRC, DMA_DST, DMA_COUNT, DMA_CMD, DMA_BASE);
        // Err(EduError::NotImplemented)
        // LAB 6 END
    }

    /// The top half of the interrupt handler: which causes the device
    /// raised, acknowledged at the device so that it lowers the line.
    /// 0 if it raised none (the line is shared).
    fn take_interrupt(&mut self) -> u32 {
        // LAB 6 BEGIN: read the interrupt status and acknowledge exactly those causes at the device
        let causes = self.hw.read(INTR_STATUS);
        if causes != 0 {
            self.hw.write(INTR_ACK, causes);
        }
        causes
        // LAB 6 STUB
        // let _ = (INTR_STATUS, INTR_ACK);
        // 0
        // LAB 6 END
    }

    /// Starts `op` on the idle device; the reply if it fails at once.
    fn start(&mut self, op: &Op) -> Result<(), EduError> {
        match op {
            Op::Factorial(n) => self.start_factorial(*n),
            Op::ToDevice(offset, data) => {
                self.hw.dma_fill(0, data);
                self.start_dma(*offset, data.len() as u16, false)
            }
            Op::FromDevice(offset, len) => self.start_dma(*offset, *len, true),
        }
    }

    /// Runs `op` for `token` now if the device is idle, else queues it.
    fn submit(&mut self, op: Op, token: Token) -> Answer<Reply> {
        if self.running.is_some() {
            if self.queue.len() >= QUEUE_MAX {
                // The transport lets the deferred token go.
                return Answer::Now(Reply::Error(EduError::Busy));
            }
            self.queue.push_back((op, token));
            return Answer::Later(token);
        }
        match self.start(&op) {
            Ok(()) => {
                self.running = Some((op, Some(token)));
                Answer::Later(token)
            }
            Err(e) => Answer::Now(Reply::Error(e)),
        }
    }

    /// The running operation's answer, once the device said `causes`.
    fn finish(&mut self, op: &Op, causes: u32) -> Option<Reply> {
        match op {
            Op::Factorial(_) if causes & IRQ_FACT != 0 => {
                self.stats.factorials += 1;
                Some(Reply::Value(self.hw.read(FACTORIAL)))
            }
            Op::ToDevice(..) if causes & IRQ_DMA != 0 => {
                self.stats.dmas += 1;
                Some(Reply::Done)
            }
            Op::FromDevice(_, len) if causes & IRQ_DMA != 0 => {
                self.stats.dmas += 1;
                let mut data = Data::new();
                let _ = data.resize(usize::from(*len), 0);
                self.hw.dma_copy(0, &mut data);
                Some(Reply::Data(data))
            }
            _ => None,
        }
    }

    /// Starts queued operations until one runs (or none is left); those
    /// that fail at once are answered.
    fn next(&mut self, later: &mut Later<Reply>) {
        while self.running.is_none() {
            let Some((op, token)) = self.queue.pop_front() else {
                return;
            };
            match self.start(&op) {
                Ok(()) => self.running = Some((op, Some(token))),
                Err(e) => {
                    let _ = later.complete(token, Reply::Error(e));
                }
            }
        }
    }
}

/// A DMA range inside the device's buffer, not empty, ending before its
/// last byte ([`DMA_END`]: QEMU 7.2 aborts on a transfer that ends at the
/// buffer's end).
fn check_range(offset: u16, len: usize) -> Result<(), EduError> {
    let end = usize::from(offset) + len;
    if len == 0 || end > DMA_END {
        return Err(EduError::BadRange);
    }
    Ok(())
}

impl<H: Hardware> Server for Edu<H> {
    type Request = Request;
    type Reply = Reply;

    fn handle(&mut self, request: Request, _: Caller, later: &mut Later<Reply>) -> Answer<Reply> {
        let op = match request {
            Request::Identify => return Answer::Now(Reply::Id(self.identify())),
            Request::Liveness { value } => {
                return Answer::Now(match self.liveness(value) {
                    Ok(v) => Reply::Value(v),
                    Err(e) => Reply::Error(e),
                })
            }
            Request::Stats => return Answer::Now(Reply::Stats(self.stats)),
            Request::Factorial { n } => Op::Factorial(n),
            Request::DmaWrite { offset, data } => match check_range(offset, data.len()) {
                Ok(()) => Op::ToDevice(offset, data),
                Err(e) => return Answer::Now(Reply::Error(e)),
            },
            Request::DmaRead { offset, len } => match check_range(offset, usize::from(len)) {
                Ok(()) if usize::from(len) <= libsys::proto::edu::DMA_MAX => {
                    Op::FromDevice(offset, len)
                }
                _ => return Answer::Now(Reply::Error(EduError::BadRange)),
            },
        };
        match later.defer() {
            Ok(token) => self.submit(op, token),
            Err(_) => Answer::Now(Reply::Error(EduError::Busy)),
        }
    }

    /// The interrupt: the causes are taken and acknowledged, the running
    /// operation answered if they finish it, the line acknowledged, and
    /// the next queued operation started.
    fn on_signal(&mut self, bits: u64, later: &mut Later<Reply>) {
        if bits & (1 << IRQ_BIT) == 0 {
            return;
        }
        let causes = self.take_interrupt();
        if causes == 0 {
            self.stats.spurious += 1;
        } else {
            self.stats.irqs += 1;
        }
        if let Some((op, token)) = self.running.take() {
            match self.finish(&op, causes) {
                Some(reply) => {
                    if let Some(token) = token {
                        let _ = later.complete(token, reply);
                    }
                }
                None => self.running = Some((op, token)),
            }
        }
        self.hw.irq_ack();
        self.next(later);
    }

    /// A caller went away: a queued request is dropped; the running one
    /// goes on (the device cannot be stopped) with no one to answer.
    fn cancelled(&mut self, token: Token, _: Option<Reply>, _: &mut Later<Reply>) {
        self.queue.retain(|(_, t)| *t != token);
        if let Some((_, t)) = &mut self.running {
            if *t == Some(token) {
                *t = None;
            }
        }
    }
}
