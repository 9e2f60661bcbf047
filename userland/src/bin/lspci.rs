//! `lspci`: the PCI functions `devmgr` found, one line each, as Linux's
//! `lspci` prints them.
//!
//! ```text
//! lspci        00:1f.3 SMBus: Intel Corporation 82801I (ICH9 Family) SMBus Controller (rev 02)
//! lspci -nn    ... with [class] and [vendor:device] numbers
//! lspci -v     ... and below each: subsystem, IRQ, BARs, capabilities (MSI's
//!              state: `Enable+` and the vector while a driver has it), driver
//! ```
//!
//! Options may be combined (`-v -nn`, `-vnn`). Everything comes from
//! `devmgr` through `libsys::proto::devmgr::Client` (`ListDevices`, then
//! `PciInfo` per function); names come from the device manager's table of
//! what QEMU shows. Exit status 0, or 1 with a message on stderr when
//! devmgr cannot be reached or answers an error, 2 for a bad option.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;

use devmgr::pci::names::{class_name, describe, device_name, vendor_name};
use libsys::proto::devmgr::{Bus, Client, ClientError, PciInfo, Slot};
use libsys::{eprintln, println};

use userland::tool;

libsys::entry!(main);

const USAGE: &str = "usage: lspci [-n|-nn] [-v] [--help]";

#[derive(Default)]
struct Options {
    numeric: bool,
    verbose: bool,
}

fn parse(args: &str) -> Result<Option<Options>, String> {
    let mut o = Options::default();
    for word in args.split_whitespace() {
        match word {
            "--help" | "-h" => return Ok(None),
            w if w.starts_with('-') && w.len() > 1 && !w.starts_with("--") => {
                for c in w[1..].chars() {
                    match c {
                        'n' => o.numeric = true,
                        'v' => o.verbose = true,
                        _ => return Err(format!("unknown option -{c}")),
                    }
                }
            }
            w => return Err(format!("unknown argument {w:?}")),
        }
    }
    Ok(Some(o))
}

fn main(args: &str) -> u64 {
    tool::help("lspci");
    let options = match parse(args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            println!("  -nn  show class and vendor:device numbers too");
            println!("  -v   show subsystem, IRQ, BARs, capabilities and driver");
            return 0;
        }
        Err(why) => {
            eprintln!("lspci: {why}\n{USAGE}");
            return 2;
        }
    };
    let client = match Client::connect() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lspci: cannot find devmgr: {e}");
            return 1;
        }
    };
    match list(&client, &options) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("lspci: {e}");
            1
        }
    }
}

fn list(client: &Client, options: &Options) -> Result<(), ClientError> {
    let mut start = 0;
    loop {
        let (names, total) = client.list_devices(Bus::Pci, start)?;
        for name in &names {
            let Some(slot) = Slot::parse(name) else {
                continue;
            };
            let info = client.pci_info(slot)?;
            show(client, &info, options);
        }
        start += names.len() as u32;
        if names.is_empty() || start >= total {
            return Ok(());
        }
    }
}

fn show(client: &Client, info: &PciInfo, options: &Options) {
    let s = info.slot;
    let (class, subclass) = ((info.class >> 16) as u8, (info.class >> 8) as u8);
    let slot = format!("{:02x}:{:02x}.{}", s.bus, s.device, s.function);
    if options.numeric {
        let text = describe(info.vendor, info.device, class, subclass, info.revision);
        println!("{slot} {text}");
    } else {
        let vendor = vendor_name(info.vendor).unwrap_or("Device");
        let device = device_name(info.vendor, info.device)
            .unwrap_or_else(|| format!("Device {:04x}", info.device));
        let rev = match info.revision {
            0 => String::new(),
            r => format!(" (rev {r:02x})"),
        };
        println!(
            "{slot} {}: {vendor} {device}{rev}",
            class_name(class, subclass)
        );
    }
    if options.verbose {
        details(info, msi_vector(client, info.slot));
        println!("");
    }
}

/// The vector of the function's MSI while it is on (devmgr's sysfs
/// `msi_irqs` directory lists it).
fn msi_vector(client: &Client, slot: Slot) -> Option<u32> {
    let dir = format!("/sys/bus/pci/devices/{slot}/msi_irqs");
    let (names, _) = client.list(&dir, 0).ok()?;
    names.first()?.parse().ok()
}

/// `lspci -v`'s indented lines; `msi` the vector of its MSI, if on.
fn details(info: &PciInfo, msi: Option<u32>) {
    if info.subvendor != 0 || info.subdevice != 0 {
        let vendor = vendor_name(info.subvendor).unwrap_or("Device");
        println!(
            "\tSubsystem: {vendor} Device [{:04x}:{:04x}]",
            info.subvendor, info.subdevice
        );
    }
    match info.interrupt_pin {
        0 => println!("\tFlags: no interrupt pin"),
        pin => println!(
            "\tFlags: INT{} IRQ {}",
            char::from(b'A' + (pin - 1).min(3)),
            info.interrupt_line
        ),
    }
    for bar in &info.bars {
        if bar.io {
            println!("\tI/O ports at {:04x} [size={}]", bar.start, size(bar.size));
        } else {
            println!(
                "\tMemory at {:08x} ({}, {}prefetchable) [size={}]",
                bar.start,
                if bar.is_64bit { "64-bit" } else { "32-bit" },
                if bar.prefetchable { "" } else { "non-" },
                size(bar.size)
            );
        }
    }
    for &(id, offset) in &info.capabilities {
        let what = match id {
            0x01 => String::from("Power Management"),
            0x05 => {
                let max = info.msi_vectors.map_or(0, u32::from);
                match msi {
                    Some(v) => format!("MSI: Enable+ Count=1/{max} (vector {v:#x})"),
                    None => format!("MSI: Enable- Count=0/{max}"),
                }
            }
            0x09 => String::from("Vendor Specific Information"),
            0x10 => String::from("Express"),
            0x11 => format!("MSI-X: Count={}", info.msix_entries.unwrap_or(0)),
            0x12 => String::from("SATA HBA"),
            other => format!("[{other:02x}]"),
        };
        println!("\tCapabilities: [{offset:02x}] {what}");
    }
    if let Some(driver) = &info.driver {
        println!("\tKernel driver in use: {driver}");
    }
}

/// A size as `lspci` prints it: `128`, `4K`, `16M`.
fn size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
    for (unit, suffix) in UNITS {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    format!("{bytes}")
}
