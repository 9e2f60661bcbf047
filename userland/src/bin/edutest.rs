//! The `edu` driver end to end (the guest suite boots with `-device
//! edu`; the driver lab's QEMU part): devmgr found the PCI function and
//! started the driver process with its BAR and line; through the
//! device's node (devmgr's `Open`) the driver answers the identification
//! and liveness registers, factorials of 0 to 12 computed by the device
//! and answered from its interrupt, DMA round trips of the device's whole
//! buffer, bad ranges refused; its interrupt count matches the
//! operations; the driver runs on an MSI (edu has the capability: sysfs
//! shows `msi_irqs/<vector>` reading `msi`, lspci's state), and another
//! process cannot ask for the function's MSI; then the driver is killed (`kill=spawned:edu`): calls on
//! the old node fail, devmgr unbinds the device and binds it again with a
//! new process, which serves again — and the device's buffer still holds
//! what was written before.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use libsys::handle::Process;
use libsys::proto::devmgr::{self, Bus, DevError, Slot};
use libsys::proto::edu::{self, EduError, DMA_BUFFER, DMA_END, DMA_MAX};
use userland::Tally;

libsys::entry!(main);

const VENDOR: u16 = 0x1234;
const DEVICE: u16 = 0x11e8;

fn main(_args: &str) -> u64 {
    let mut t = Tally::new();
    let dev = match devmgr::Client::connect() {
        Ok(d) => d,
        Err(e) => {
            t.check("edu: devmgr", Err(format_args!("{e}")));
            return t.status();
        }
    };
    let Some(slot) = find(&dev) else {
        t.check(
            "edu: devmgr lists the edu function 1234:11e8",
            Err(format_args!("not found (is QEMU run with -device edu?)")),
        );
        return t.status();
    };
    let name = format!("{slot}");
    t.check("edu: devmgr lists the edu function 1234:11e8", Ok(()));
    let node = open(&dev, &name);
    t.record("edu: the device node opens", node.as_ref().map(|_| ()));
    let Ok(node) = node else {
        return t.status();
    };
    let driver = dev.read(&format!("/sys/bus/pci/devices/{name}/driver"));
    t.expect_eq(
        "edu: sysfs says the driver is edu",
        driver.as_ref().map(|d| d.as_str()).ok(),
        Some("edu\n"),
    );
    registers(&mut t, &node);
    factorials(&mut t, &node);
    dma(&mut t, &node);
    counts(&mut t, &node);
    msi(&mut t, &dev, slot);
    hostile(&mut t, &dev, &node);
    restart(&mut t, &dev, &name, node);
    t.status()
}

/// The edu function's slot, from devmgr's PCI list.
fn find(dev: &devmgr::Client) -> Option<Slot> {
    let (names, _) = dev.list_devices(Bus::Pci, 0).ok()?;
    names.iter().filter_map(|n| Slot::parse(n)).find(|&s| {
        dev.pci_info(s)
            .is_ok_and(|i| i.vendor == VENDOR && i.device == DEVICE)
    })
}

/// Opens the device's node, waiting up to 10 s for its driver process to
/// run (devmgr starts it, or restarts it after the back-off).
fn open(dev: &devmgr::Client, name: &str) -> Result<edu::Client, String> {
    let start = libsys::time::Instant::now();
    loop {
        match dev.open(name) {
            Ok(endpoint) => return Ok(edu::Client::from_endpoint(endpoint)),
            Err(devmgr::ClientError::Dev(DevError::NotRunning))
                if start.elapsed() < Duration::from_secs(10) =>
            {
                libsys::time::sleep_ms(20)
            }
            Err(e) => return Err(format!("{e}")),
        }
    }
}

fn registers(t: &mut Tally, node: &edu::Client) {
    t.expect_eq(
        "edu: identification 0x010000ed (edu 1.0)",
        node.identify().ok(),
        Some(0x0100_00ed),
    );
    let values = [0, 0x1234_5678, u32::MAX, 0x8000_0001];
    let inverted: Vec<Option<u32>> = values.iter().map(|&v| node.liveness(v).ok()).collect();
    let want: Vec<Option<u32>> = values.iter().map(|&v| Some(!v)).collect();
    t.expect_eq("edu: liveness gives the inverse", inverted, want);
}

fn factorial(n: u32) -> u32 {
    (1..=n).fold(1u32, |p, i| p.wrapping_mul(i))
}

fn factorials(t: &mut Tally, node: &edu::Client) {
    let got: Vec<Option<u32>> = (0..=12).map(|n| node.factorial(n).ok()).collect();
    let want: Vec<Option<u32>> = (0..=12).map(|n| Some(factorial(n))).collect();
    t.expect_eq("edu: factorials of 0 to 12 by interrupt", got, want);
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed))
        .collect()
}

/// Chunk `c`'s length: the buffer up to `DMA_END` in `DMA_MAX` pieces
/// (QEMU 7.2 refuses a transfer ending at the buffer's last byte).
fn chunk_len(c: usize) -> usize {
    DMA_MAX.min(DMA_END - c * DMA_MAX)
}

fn dma(t: &mut Tally, node: &edu::Client) {
    let chunks = DMA_BUFFER / DMA_MAX;
    let written = (0..chunks)
        .try_for_each(|c| node.dma_write((c * DMA_MAX) as u16, &pattern(chunk_len(c), c as u8)));
    t.record(
        "edu: DMA of the buffer (4095 bytes) into the device",
        written,
    );
    let back: Result<Vec<u8>, _> = (0..chunks).try_fold(Vec::new(), |mut all, c| {
        all.extend_from_slice(&node.dma_read((c * DMA_MAX) as u16, chunk_len(c) as u16)?);
        Ok::<_, edu::ClientError>(all)
    });
    let want: Vec<u8> = (0..chunks)
        .flat_map(|c| pattern(chunk_len(c), c as u8))
        .collect();
    t.expect_eq(
        "edu: the bytes read back by DMA are the bytes written",
        back.ok(),
        Some(want),
    );
    let across = node.dma_read(1000, 48).map(|d| d.to_vec());
    let mut want = pattern(DMA_MAX, 0)[1000..].to_vec();
    want.extend_from_slice(&pattern(DMA_MAX, 1)[..24]);
    t.expect_eq("edu: a read across two writes", across.ok(), Some(want));
}

fn counts(t: &mut Tally, node: &edu::Client) {
    match node.stats() {
        Ok(s) => {
            t.expect_eq("edu: 13 factorials counted", s.factorials, 13);
            t.expect_eq("edu: 9 DMA transfers counted", s.dmas, 9);
            t.expect_eq(
                "edu: one interrupt per operation",
                s.irqs,
                s.factorials + s.dmas,
            );
        }
        Err(e) => t.check("edu: stats", Err(format_args!("{e}"))),
    }
}

fn hostile(t: &mut Tally, dev: &devmgr::Client, node: &edu::Client) {
    let refused = |r: Result<(), edu::ClientError>| match r {
        Err(edu::ClientError::Edu(EduError::BadRange)) => Ok(()),
        other => Err(format!("{other:?}")),
    };
    t.record(
        "edu: a DMA past the buffer's end is refused",
        refused(node.dma_write(4000, &[1; 200])),
    );
    t.record(
        "edu: a DMA ending at the buffer's end is refused (QEMU 7.2 would abort)",
        refused(node.dma_write(4095, &[1])),
    );
    t.record(
        "edu: an empty DMA is refused",
        refused(node.dma_read(0, 0).map(|_| ())),
    );
    t.record(
        "edu: a DMA read longer than a message is refused",
        refused(node.dma_read(0, 2000).map(|_| ())),
    );
    t.expect_eq(
        "edu: the driver still answers",
        node.factorial(5).ok(),
        Some(120),
    );
    let none = dev.open("0000:00:1e.7").map(|_| ());
    t.expect_eq(
        "edu: Open of no device: NoSuchDevice",
        format!("{none:?}"),
        format!(
            "{:?}",
            Err::<(), _>(devmgr::ClientError::Dev(DevError::NoSuchDevice))
        ),
    );
    let platform = dev.open("i8042").map(|_| ());
    t.expect_eq(
        "edu: Open of a device with no node: NotRunning",
        format!("{platform:?}"),
        format!(
            "{:?}",
            Err::<(), _>(devmgr::ClientError::Dev(DevError::NotRunning))
        ),
    );
}

/// The driver's interrupt is an MSI when the function has the capability
/// (QEMU's edu does): its sysfs directory has `msi_irqs` with one vector
/// reading `msi`; the vector is one of the kernel's MSI pool. Asking for
/// the function's MSI from here (not its driver) is `NotAllowed`.
fn msi(t: &mut Tally, dev: &devmgr::Client, slot: Slot) {
    let has_msi = dev.pci_info(slot).is_ok_and(|i| i.msi_vectors.is_some());
    if !has_msi {
        libsys::println!("edutest: {slot} has no MSI capability: the driver stays on INTx");
        return;
    }
    let dir = format!("/sys/bus/pci/devices/{slot}/msi_irqs");
    // The driver asks for MSI once it runs: a moment after a restart.
    let start = libsys::time::Instant::now();
    let listed = loop {
        match dev.list(&dir, 0) {
            Ok((names, _)) => break Ok(names),
            Err(_) if start.elapsed() < Duration::from_secs(5) => libsys::time::sleep_ms(20),
            Err(e) => break Err(e),
        }
    };
    let vector = listed
        .as_ref()
        .ok()
        .and_then(|names| (names.len() == 1).then(|| names[0].clone()))
        .and_then(|n| n.parse::<u32>().ok());
    t.record(
        "edu: the driver runs on an MSI (sysfs msi_irqs: one vector of the pool)",
        match vector {
            Some(v) if (0xc0..0xe0).contains(&v) => Ok(()),
            _ => Err(format!("{listed:?}")),
        },
    );
    if let Some(v) = vector {
        t.expect_eq(
            "edu: msi_irqs/<vector> reads msi",
            dev.read(&format!("{dir}/{v}")).ok().as_deref(),
            Some("msi\n"),
        );
        libsys::println!("edutest: {slot} interrupts by MSI, vector {v:#x}");
        // /proc/interrupts (devmgr's table): the vector's row, PCI-MSI,
        // edge, named edu, with its interrupts counted.
        let table = dev.interrupts().map(|t| String::from(t.as_str()));
        let row = table.as_ref().ok().and_then(|t| {
            t.lines()
                .find(|l| l.trim_start().starts_with(&format!("{v}:")))
                .map(String::from)
        });
        let counted = row
            .as_deref()
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .is_some_and(|n| n > 0);
        t.record(
            "edu: /proc/interrupts shows the MSI (PCI-MSI, edge, edu) with its count",
            match &row {
                Some(l)
                    if l.contains("PCI-MSI")
                        && l.contains("-edge")
                        && l.ends_with("edu")
                        && counted =>
                {
                    Ok(())
                }
                _ => Err(format!("{table:?}")),
            },
        );
    }
    let stolen = dev.enable_msi(slot).map(|_| ());
    t.expect_eq(
        "edu: EnableMsi of a function not the caller's: NotAllowed",
        format!("{stolen:?}"),
        format!(
            "{:?}",
            Err::<(), _>(devmgr::ClientError::Dev(DevError::NotAllowed))
        ),
    );
}

/// Kills the driver: the old node fails, devmgr unbinds and binds the
/// device again with a new process, the new node serves.
fn restart(t: &mut Tally, dev: &devmgr::Client, name: &str, node: edu::Client) {
    let Some(driver) = libsys::env::take_handle("kill").map(Process) else {
        t.check(
            "edu: a handle to kill the driver (kill=spawned:edu)",
            Err(format_args!("none given")),
        );
        return;
    };
    t.record("edu: subscribe to uevents", dev.subscribe());
    while let Ok((Some(_), _)) = dev.next_uevent() {}
    t.record("edu: driver killed", driver.kill());
    let old = node.factorial(3);
    t.record(
        "edu: a call on the dead driver's node fails",
        match old {
            Err(_) => Ok(()),
            Ok(v) => Err(format!("answered {v}")),
        },
    );
    let mut seen = Vec::new();
    let start = libsys::time::Instant::now();
    while start.elapsed() < Duration::from_secs(20) && !seen.iter().any(|a| a == "bind") {
        match dev.next_uevent() {
            Ok((Some(e), _)) if e.contains(name) => {
                seen.push(String::from(e.split('@').next().unwrap_or("")));
            }
            Ok((Some(_), _)) => {}
            _ => libsys::time::sleep_ms(20),
        }
    }
    let _ = dev.unsubscribe();
    t.expect_eq(
        "edu: devmgr unbinds the device when its driver dies, then binds it again",
        seen.iter().map(String::as_str).collect::<Vec<_>>(),
        alloc::vec!["unbind", "bind"],
    );
    let node = open(dev, name);
    t.record("edu: the node opens again", node.as_ref().map(|_| ()));
    let Ok(node) = node else {
        return;
    };
    t.expect_eq(
        "edu: the restarted driver computes 10!",
        node.factorial(10).ok(),
        Some(3_628_800),
    );
    t.expect_eq(
        "edu: the device's buffer kept its bytes across the restart",
        node.dma_read(0, 64).map(|d| d.to_vec()).ok(),
        Some(pattern(64, 0)),
    );
    msi(
        t,
        dev,
        Slot::parse(name).unwrap_or(Slot {
            bus: 0,
            device: 4,
            function: 0,
        }),
    );
    libsys::println!("edutest: the edu driver was killed and served again");
}
