//! The `devmgr` server process: the service (`service.rs`) behind IPC,
//! with the one piece of hardware it needs.
//!
//! `init` gives it the PCI configuration ports 0xCF8–0xCFF (manifest
//! `ports=0xcf8:8`) and nothing else. Configuration mechanism #1: write
//! the function's address and the register to 0xCF8, then read or write
//! the dword at 0xCFC. devmgr is the only process with these ports, so the
//! two steps cannot be interleaved with anyone else's (the pair is one
//! shared register); drivers reach their own function's space through
//! `ConfigRead`/`ConfigWrite`. ECAM (the ACPI MCFG window) is not used:
//! offsets stay below 256, which is all the legacy header and the virtio
//! capabilities need.
//!
//! At start it enumerates every bus and function, registers them and the
//! legacy platform devices, prints one line per device, registers
//! `devmgr` with the name service and serves.
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

use devmgr::pci::{legacy_config_address, ConfigAccess, PciAddress};
use devmgr::service::Service;
use libsys::port::{inl, outl};
use libsys::{eprintln, println};

libsys::entry!(main);

const CONFIG_ADDRESS: u16 = 0xcf8;
const CONFIG_DATA: u16 = 0xcfc;

/// Configuration space through the port pair 0xCF8/0xCFC.
struct PortConfig;

impl ConfigAccess for PortConfig {
    fn read_dword(&mut self, addr: PciAddress, offset: u16) -> u32 {
        match legacy_config_address(addr, offset) {
            Ok(address) => {
                outl(CONFIG_ADDRESS, address);
                inl(CONFIG_DATA)
            }
            // Another segment or an offset past 256: as if absent.
            Err(_) => 0xFFFF_FFFF,
        }
    }

    fn write_dword(&mut self, addr: PciAddress, offset: u16, value: u32) {
        if let Ok(address) = legacy_config_address(addr, offset) {
            outl(CONFIG_ADDRESS, address);
            outl(CONFIG_DATA, value);
        }
    }
}

fn main(_args: &str) -> u64 {
    let granted = libsys::env::io_ports(CONFIG_ADDRESS, 8)
        .ok_or("the PCI configuration ports were not given (manifest ports=0xcf8:8)")
        .and_then(|ports| {
            ports
                .grant(CONFIG_ADDRESS, 8)
                .map_err(|_| "cannot open the PCI configuration ports")
        });
    if let Err(why) = granted {
        eprintln!("devmgr: {why}");
        return 1;
    }
    let (mut service, log) = Service::start(PortConfig);
    for line in &log {
        println!("{line}");
    }
    libsys::server::run("devmgr", &mut service)
}
