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
//! `devmgr` with the name service, registers the driver table's drivers
//! and starts a process for each device they bind (`processes`: through
//! `init`'s spawn protocol, restarted when it dies) and serves: one thread, one loop, as
//! `libsys::server::serve` but able to answer later — a `WaitUevent` with
//! nothing queued has its reply right saved (`ipc::save_reply`) and
//! answered when an event comes. A request that carries handles, or does
//! not decode, gets `LABEL_BAD_REQUEST`.
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

extern crate alloc;

mod processes;

use alloc::collections::BTreeMap;

use devmgr::pci::{legacy_config_address, ConfigAccess, PciAddress};
use devmgr::service::{Outcome, Service};
use libsys::abi::ipc::{FOREVER, PAYLOAD_MAX};
use libsys::abi::SysError;
use libsys::handle::Endpoint;
use libsys::ipc::{self, Message, SavedReply};
use libsys::port::{inl, outl};
use libsys::proto::devmgr::{DevError, Reply, Request, Text};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR};
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
    let endpoint = match Endpoint::create() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("devmgr: cannot create an endpoint: {e}");
            return 2;
        }
    };
    if let Err(e) = libsys::names::register("devmgr", &endpoint) {
        eprintln!("devmgr: cannot register: {e}");
        return 2;
    }
    // The PCI bus's controls (manifest `pci`): PCI drivers' lines and BARs.
    let pci = processes::PciControls::from_args();
    if pci.is_none() {
        println!("devmgr: no PCI controls (manifest `pci`): PCI drivers are not started");
    }
    let mut processes = match processes::Processes::new(pci) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("devmgr: cannot watch driver processes: {e}");
            return 2;
        }
    };
    // The driver table's drivers: each device they match gets a process.
    for driver in devmgr::drivers::DRIVER_TABLE {
        if let Err(e) = service.register_process_driver(driver) {
            eprintln!("devmgr: driver {}: {e:?}", driver.name);
        }
    }
    processes.sync(&mut service);
    let error = serve(&endpoint, &mut service, &mut processes);
    eprintln!("devmgr: stopped serving: {error}");
    3
}

/// Receives and answers requests for good; returns why receiving failed.
fn serve(
    endpoint: &Endpoint,
    service: &mut Service<PortConfig>,
    processes: &mut processes::Processes,
) -> SysError {
    let mut input = [0u8; PAYLOAD_MAX];
    // The saved reply rights of clients waiting for a uevent, by badge.
    let mut waiters: BTreeMap<u64, SavedReply> = BTreeMap::new();
    let mut reply: Option<Message> = None;
    loop {
        let timeout = processes.next_restart().map_or(FOREVER, |at| {
            at.saturating_sub(libsys::time::uptime_ns()).max(1)
        });
        let received = match reply.take() {
            Some(msg) => endpoint.reply_recv(&msg, timeout),
            None => endpoint.recv(timeout),
        };
        let mut received = match received {
            Ok(r) => r,
            Err(SysError::TimedOut) => {
                processes.restart_due(service);
                wake(service, &mut waiters);
                continue;
            }
            Err(e) => return e,
        };
        if let Some(bits) = received.signals() {
            // The deaths notification: driver processes that ended.
            processes.deaths(service, bits);
            processes.restart_due(service);
            wake(service, &mut waiters);
            continue;
        }
        let badge = received.badge;
        let n = ipc::read_payload(received.msg.info.length.into(), &mut input);
        let request = if received.msg.label() == LABEL_REQUEST {
            rpc::decode::<Request>(&input[..n]).ok()
        } else {
            None
        };
        // Handles are not taken: closed when the iterator is dropped.
        let carried_handles = received.take_handles().next().is_some();
        let opened = match &request {
            Some(Request::Open { device }) if !carried_handles => processes.open(device, badge),
            _ => None,
        };
        // `/proc/interrupts` needs the kernel's counts: the binary's.
        if let (Some(Request::Interrupts), false) = (&request, carried_handles) {
            let table = processes.interrupts(service);
            reply = Some(encode(&match Text::try_from(table.as_str()) {
                Ok(text) => Reply::Text(text),
                Err(_) => Reply::Error(DevError::TooLong),
            }));
            continue;
        }
        // `EnableMsi` takes a vector from the kernel: the binary's.
        if let (Some(Request::EnableMsi { slot }), false) = (&request, carried_handles) {
            reply = Some(match processes.enable_msi(service, *slot, badge) {
                Ok((handle, vector)) => {
                    let raw = handle.into_raw();
                    encode(&Reply::Msi { vector })
                        .with_handles(&[raw])
                        .moving_handles()
                }
                Err(e) => encode(&Reply::Error(e)),
            });
            continue;
        }
        if let Some(opened) = opened {
            reply = Some(match opened {
                Ok(handle) => {
                    // Moved to the caller with the reply.
                    let raw = handle.into_raw();
                    encode(&Reply::Opened).with_handles(&[raw]).moving_handles()
                }
                Err(e) => encode(&Reply::Error(e)),
            });
            continue;
        }
        reply = match request.filter(|_| !carried_handles) {
            None => Some(Message::new(LABEL_BAD_REQUEST)),
            Some(request) => match service.request(request, badge) {
                Outcome::Wait => {
                    match ipc::save_reply() {
                        Ok(saved) => {
                            waiters.insert(badge, saved);
                        }
                        Err(e) => {
                            eprintln!("devmgr: cannot keep a waiter's reply: {e}");
                            service.cancel_wait(badge);
                        }
                    }
                    wake(service, &mut waiters);
                    None
                }
                Outcome::Reply(r) => {
                    // A sysfs bind or unbind may have queued a driver
                    // process to start or stop; that calls `init`, which
                    // uses the IPC buffer, so the reply is encoded after.
                    processes.sync(service);
                    // Waiters first: answering them uses the IPC buffer.
                    wake(service, &mut waiters);
                    Some(encode(&r))
                }
            },
        };
    }
}

/// Answers the waiters whose events have come.
fn wake(service: &mut Service<PortConfig>, waiters: &mut BTreeMap<u64, SavedReply>) {
    for (badge, reply) in service.woken() {
        if let Some(saved) = waiters.remove(&badge) {
            // A waiter that died gets nothing.
            let _ = saved.reply(&encode(&reply));
        }
    }
}

/// `reply` encoded into this thread's IPC buffer, as a reply message.
fn encode(reply: &Reply) -> Message {
    match rpc::encode_payload(reply) {
        Ok(length) => Message::new(LABEL_REPLY).with_payload(length),
        Err(_) => Message::new(LABEL_SERVER_ERROR),
    }
}
