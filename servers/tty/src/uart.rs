//! The 16550 UART's transmit side, interrupt-driven (Linux's
//! `serial8250_tx_chars` and its `circ_buf`).
//!
//! Output does not wait for the line: [`Transmitter::queue`] puts the
//! bytes in a bounded queue (Linux's `UART_XMIT_SIZE` ring) and
//! [`Transmitter::kick`] moves them into the UART's 16-byte FIFO while
//! the transmitter holding register is empty (`LSR.THRE`). What does not
//! fit waits for the "transmitter empty" interrupt (`IER.THRI`), enabled
//! only while bytes wait, as Linux's `__start_tx`/`__stop_tx` do, so a
//! line that drains slowly (a terminal that stops reading) holds the
//! bytes instead of losing them, and the server serves its other clients
//! meanwhile. A queue that would overflow drains first (bounded by a
//! spin count per byte): only a UART that never empties loses bytes, and
//! it loses the oldest.
//!
//! The registers are reached through [`UartPorts`]: the server's port
//! I/O, or a simulated UART in the tests below.

use alloc::collections::VecDeque;

/// Register offsets from the UART's base port.
pub const THR: u16 = 0;
pub const IER: u16 = 1;
pub const LSR: u16 = 5;
/// `IER`: received data available; transmitter holding register empty.
pub const IER_RDI: u8 = 0x01;
pub const IER_THRI: u8 = 0x02;
/// `LSR`: the transmitter can take a FIFO's worth of bytes.
pub const LSR_THRE: u8 = 0x20;
/// Bytes the transmit FIFO of a 16550A holds.
pub const TX_FIFO: usize = 16;
/// Bytes queued for the line at most (Linux's `UART_XMIT_SIZE` is a page;
/// the console takes a log burst and a full `IO_MAX` write besides).
pub const QUEUE_MAX: usize = 64 * 1024;
/// `LSR` reads a byte waits for the transmitter when the queue must
/// drain (as the synchronous writer's bound was).
pub const SPINS_PER_BYTE: u32 = 100_000;

/// Port access to one UART.
pub trait UartPorts {
    /// Reads the register at `offset` from the base.
    fn read(&mut self, offset: u16) -> u8;
    /// Writes the register at `offset` from the base.
    fn write(&mut self, offset: u16, value: u8);
}

/// The transmit queue and the interrupt-enable state it drives.
#[derive(Debug)]
pub struct Transmitter {
    queue: VecDeque<u8>,
    /// `IER` as last written: `IER_RDI`, with `IER_THRI` while bytes wait.
    ier: u8,
    /// Bytes given up on (a UART that never emptied).
    lost: u64,
    /// Sending stopped ([`Self::hold`]): bytes queue, none go out.
    held: bool,
}

impl Default for Transmitter {
    fn default() -> Self {
        Self::new()
    }
}

impl Transmitter {
    /// An empty queue, receive interrupts on (what `start` wrote to `IER`).
    pub fn new() -> Self {
        Transmitter {
            queue: VecDeque::new(),
            ier: IER_RDI,
            lost: 0,
            held: false,
        }
    }

    /// Bytes waiting for the line.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Bytes lost to a UART that never emptied.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Stops sending (`true`: what is queued meanwhile waits, up to
    /// [`QUEUE_MAX`]) or starts again. The tty's echo probe holds the
    /// line while the UART is looped back.
    pub fn hold(&mut self, ports: &mut impl UartPorts, held: bool) {
        self.held = held;
        self.kick(ports);
    }

    /// Queues `bytes` and starts sending them. A queue that would pass
    /// [`QUEUE_MAX`] is drained first ([`Self::drain`]); what still does
    /// not fit replaces the oldest bytes (counted in [`Self::lost`]).
    pub fn queue(&mut self, ports: &mut impl UartPorts, bytes: &[u8]) {
        if self.queue.len() + bytes.len() > QUEUE_MAX && !self.held {
            self.drain(ports);
        }
        self.queue.extend(bytes);
        while self.queue.len() > QUEUE_MAX {
            self.queue.pop_front();
            self.lost += 1;
        }
        self.kick(ports);
    }

    /// Fills the FIFO while the transmitter is empty, then asks for the
    /// "transmitter empty" interrupt if bytes still wait (and stops
    /// asking once none do). Called after queueing and on the UART's
    /// interrupt.
    pub fn kick(&mut self, ports: &mut impl UartPorts) {
        while !self.held && !self.queue.is_empty() && ports.read(LSR) & LSR_THRE != 0 {
            for _ in 0..TX_FIFO {
                let Some(byte) = self.queue.pop_front() else {
                    break;
                };
                ports.write(THR, byte);
            }
        }
        let ier = if self.queue.is_empty() || self.held {
            IER_RDI
        } else {
            IER_RDI | IER_THRI
        };
        if ier != self.ier {
            ports.write(IER, ier);
            self.ier = ier;
        }
    }

    /// Sends everything queued, waiting for the transmitter (at most
    /// [`SPINS_PER_BYTE`] reads of `LSR` per FIFO load); true if the
    /// queue emptied. `TCSETSW` and the echo probe drain so.
    pub fn drain(&mut self, ports: &mut impl UartPorts) -> bool {
        if self.held {
            return self.queue.is_empty();
        }
        while !self.queue.is_empty() {
            let mut spins = 0;
            while ports.read(LSR) & LSR_THRE == 0 {
                spins += 1;
                if spins >= SPINS_PER_BYTE {
                    self.kick(ports);
                    return false;
                }
            }
            self.kick(ports);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UART whose transmitter takes a FIFO's worth of bytes and then
    /// stays busy until `drain_line` (the far end reading).
    #[derive(Default)]
    struct Sim {
        fifo: usize,
        sent: Vec<u8>,
        ier: u8,
        ier_writes: usize,
        /// The line never drains (a stuck UART).
        stuck: bool,
    }

    impl Sim {
        fn drain_line(&mut self) {
            self.fifo = 0;
        }
    }

    impl UartPorts for Sim {
        fn read(&mut self, offset: u16) -> u8 {
            match offset {
                LSR if self.fifo == 0 => LSR_THRE,
                LSR => {
                    if !self.stuck {
                        // The line takes the FIFO's bytes while we wait.
                        self.fifo = 0;
                    }
                    0
                }
                _ => 0,
            }
        }

        fn write(&mut self, offset: u16, value: u8) {
            match offset {
                THR => {
                    assert!(self.fifo < TX_FIFO, "wrote to a full FIFO");
                    self.fifo += 1;
                    self.sent.push(value);
                }
                IER => {
                    self.ier = value;
                    self.ier_writes += 1;
                }
                _ => {}
            }
        }
    }

    #[test]
    fn a_fifo_load_goes_at_once_and_the_rest_waits_for_the_interrupt() {
        let mut sim = Sim::default();
        let mut tx = Transmitter::new();
        let data: Vec<u8> = (0..40).collect();
        tx.queue(&mut sim, &data);
        assert_eq!(sim.sent, data[..TX_FIFO]);
        assert_eq!(tx.pending(), 40 - TX_FIFO);
        assert_eq!(sim.ier, IER_RDI | IER_THRI, "THRI on while bytes wait");
        // The "transmitter empty" interrupt: the next load.
        sim.drain_line();
        tx.kick(&mut sim);
        assert_eq!(sim.sent, data[..2 * TX_FIFO]);
        sim.drain_line();
        tx.kick(&mut sim);
        assert_eq!(sim.sent, data);
        assert_eq!(tx.pending(), 0);
        assert_eq!(sim.ier, IER_RDI, "THRI off once the queue is empty");
    }

    #[test]
    fn an_idle_line_takes_short_output_without_touching_ier() {
        let mut sim = Sim::default();
        let mut tx = Transmitter::new();
        tx.queue(&mut sim, b"hello");
        assert_eq!(sim.sent, b"hello");
        assert_eq!(sim.ier_writes, 0);
    }

    #[test]
    fn drain_waits_for_the_line_and_keeps_the_order() {
        let mut sim = Sim::default();
        let mut tx = Transmitter::new();
        let data: Vec<u8> = (0..=255).cycle().take(1000).collect();
        tx.queue(&mut sim, &data);
        assert!(tx.drain(&mut sim));
        assert_eq!(sim.sent, data);
        assert_eq!(sim.ier, IER_RDI);
    }

    #[test]
    fn a_full_queue_drains_before_it_grows() {
        let mut sim = Sim::default();
        let mut tx = Transmitter::new();
        let data: Vec<u8> = (0..=255).cycle().take(QUEUE_MAX).collect();
        tx.queue(&mut sim, &data);
        tx.queue(&mut sim, b"more");
        assert_eq!(tx.lost(), 0);
        assert!(tx.drain(&mut sim));
        assert_eq!(sim.sent.len(), QUEUE_MAX + 4);
        assert_eq!(&sim.sent[QUEUE_MAX..], b"more");
    }

    #[test]
    fn a_held_line_queues_and_sends_when_let_go() {
        let mut sim = Sim::default();
        let mut tx = Transmitter::new();
        tx.hold(&mut sim, true);
        tx.queue(&mut sim, b"later");
        assert!(sim.sent.is_empty());
        assert_eq!(sim.ier, 0, "no THRI while held");
        assert!(!tx.drain(&mut sim));
        tx.hold(&mut sim, false);
        assert_eq!(sim.sent, b"later");
        assert_eq!(tx.pending(), 0);
    }

    #[test]
    fn a_stuck_uart_loses_the_oldest_bytes_not_the_server() {
        let mut sim = Sim {
            stuck: true,
            ..Sim::default()
        };
        let mut tx = Transmitter::new();
        let data: Vec<u8> = (0..=255).cycle().take(QUEUE_MAX).collect();
        tx.queue(&mut sim, &data);
        // The FIFO took 16 before the line stuck.
        assert_eq!(tx.pending(), QUEUE_MAX - TX_FIFO);
        assert!(!tx.drain(&mut sim), "a stuck line does not drain");
        tx.queue(&mut sim, &[b'n'; 2 * TX_FIFO]);
        assert_eq!(tx.pending(), QUEUE_MAX);
        assert_eq!(tx.lost(), TX_FIFO as u64);
        assert_eq!(sim.ier, IER_RDI | IER_THRI, "still waiting for the line");
    }
}
