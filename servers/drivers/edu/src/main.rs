//! The `edu` driver process: devmgr starts it for QEMU's `edu` PCI
//! function (1234:11e8) through `init`'s spawn protocol, with exactly the
//! device's resources, and restarts it when it dies.
//!
//! Handles (devmgr's order for PCI drivers, `libsys::proto::devmgr`):
//! `h0=` the endpoint the device node's clients reach (devmgr's `Open`),
//! `h1=` the INTx line (configured level-triggered by devmgr), `h2=` BAR 0
//! as a device-memory region; arguments `dev=<slot> bars=0`.
//!
//! At start (Linux's `pci_enable_device` and `pci_set_master`, then the
//! probe): turn on memory decoding and bus mastering in its own
//! configuration space through devmgr (`ConfigWrite`: the only function
//! devmgr lets it write), map BAR 0 through `mm` (`driver_hal::mmio`),
//! check the identification register, take one page of DMA memory below
//! 256 MiB (the device forms 28-bit bus addresses), ask devmgr for
//! message-signalled interrupts (`EnableMsi`: edu has an MSI capability,
//! and raises an MSI instead of INTx once it is on; without MSI — no
//! capability, no vector free — the INTx line serves), bind the
//! interrupt to a notification bit of the serving thread, and serve the `edu` protocol
//! (`libsys::server::serve` with the core, `edu::Edu`). Everything that
//! touches the machine goes through `driver-hal`: this crate has no
//! `unsafe`.
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;

use driver_hal::dma::DmaBuffer;
use driver_hal::mmio::MmioRegion;
use driver_hal::reg::{Readable, Writable};
use driver_hal::Reg;
use edu::regs::{BAR_SIZE, DMA_MASK, ID, ID_MAGIC};
use edu::{Edu, Hardware, IRQ_BIT};
use libsys::handle::{Endpoint, Irq, MemoryRegion, Notification};
use libsys::proto::devmgr::{self, PciStart, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY};
use libsys::server::Hosted;
use libsys::{eprintln, println};

libsys::entry!(main);

/// The machine the core drives: BAR 0, the DMA page, the line.
struct Machine {
    bar: MmioRegion,
    dma: DmaBuffer,
    irq: Irq,
}

impl Hardware for Machine {
    fn read<A: Readable>(&mut self, reg: Reg<u32, A>) -> u32 {
        self.bar.read(reg)
    }

    fn write<A: Writable>(&mut self, reg: Reg<u32, A>, value: u32) {
        self.bar.write(reg, value);
    }

    fn dma_address(&self) -> u64 {
        self.dma.phys()
    }

    fn dma_fill(&mut self, offset: usize, bytes: &[u8]) {
        // In range: the core checked the length against the page.
        let _ = self.dma.copy_in(offset as u64, bytes);
    }

    fn dma_copy(&self, offset: usize, into: &mut [u8]) {
        let _ = self.dma.copy_out(offset as u64, into);
    }

    fn irq_ack(&mut self) {
        if let Err(e) = self.irq.ack() {
            eprintln!("edu: irq_ack: {e}");
        }
    }
}

/// Everything the probe does before serving.
fn probe(args: &str, notification: &Notification) -> Result<(Endpoint, Machine), String> {
    let PciStart {
        slot,
        endpoint,
        irq,
        bar0,
    } = PciStart::take(args)?;
    let region = MemoryRegion(bar0);
    // Memory decoding and bus mastering on.
    devmgr::Client::connect()
        .map_err(|e| format!("no devmgr: {e}"))?
        .enable_function(slot, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0)
        .map_err(|e| format!("cannot enable {slot}: {e}"))?;
    let bar = MmioRegion::from_region(&region, BAR_SIZE).map_err(|e| format!("map BAR 0: {e}"))?;
    let id = bar.read(ID);
    if id & 0xff != ID_MAGIC {
        return Err(format!("identification {id:#x} is not edu's"));
    }
    let dma = DmaBuffer::alloc(1, DMA_MASK + 1).map_err(|e| format!("DMA memory: {e}"))?;
    let (irq, how) = interrupt(slot, irq);
    irq.bind(notification, IRQ_BIT)
        .map_err(|e| format!("irq_bind: {e}"))?;
    println!(
        "edu: {slot}: edu {}.{} at {:#x}, {how}, DMA page at {:#x}",
        id >> 24,
        (id >> 16) & 0xff,
        bar.phys(),
        dma.phys()
    );
    Ok((endpoint, Machine { bar, dma, irq }))
}

/// The interrupt to use: an MSI if devmgr grants one, else the INTx line
/// (`intx`); and how to say which.
fn interrupt(slot: devmgr::Slot, intx: Irq) -> (Irq, String) {
    let granted = match devmgr::Client::connect() {
        Ok(dev) => dev.enable_msi(slot).map_err(|e| format!("{e}")),
        Err(e) => Err(format!("no devmgr: {e}")),
    };
    match granted {
        Ok((msi, vector)) => (msi, format!("MSI vector {vector:#x}")),
        Err(e) => {
            let gsi = intx.info().map(|i| i.gsi).unwrap_or(u64::MAX);
            (intx, format!("line GSI {gsi} (no MSI: {e})"))
        }
    }
}

fn main(args: &str) -> u64 {
    let notification = match Notification::create().and_then(|n| n.bind_current().map(|()| n)) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("edu: notification: {e}");
            return 1;
        }
    };
    let (endpoint, machine) = match probe(args, &notification) {
        Ok(started) => started,
        Err(why) => {
            eprintln!("edu: {why}");
            return 2;
        }
    };
    let mut hosted = Hosted::new(Edu::new(machine));
    let error = libsys::server::serve(&endpoint, &mut hosted);
    eprintln!("edu: stopped serving: {error}");
    3
}
