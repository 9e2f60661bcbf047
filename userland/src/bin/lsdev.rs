//! `lsdev`: the device model as `devmgr` serves it — the device tree
//! under `/sys/devices` with each device's bus and driver (or `unbound`),
//! then each bus with its drivers and the devices bound to them.
//!
//! ```text
//! lsdev          the tree and the buses
//! lsdev --help
//! ```
//!
//! It reads the sysfs tree through `libsys::proto::devmgr::Client`
//! (`List` and `Read` by path): an entry of a device's directory that
//! reads as a directory is a child device. The tree is walked at most
//! [`MAX_DEPTH`] deep. Exit status 0, or 1 with a message on stderr.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use libsys::proto::devmgr::{Client, ClientError, DevError, Name};
use libsys::{eprintln, println};

use userland::tool;

libsys::entry!(main);

/// Deepest level of the tree shown (the model's own bound).
const MAX_DEPTH: usize = 16;

fn main(args: &str) -> u64 {
    tool::help("lsdev");
    match args.split_whitespace().next() {
        None => {}
        Some("--help" | "-h") => {
            println!("usage: lsdev [--help]");
            println!("  prints /sys/devices as a tree (bus and driver of each device),");
            println!("  then every bus with its drivers and their devices");
            return 0;
        }
        Some(other) => {
            eprintln!("lsdev: unknown argument {other:?}\nusage: lsdev [--help]");
            return 2;
        }
    }
    let client = match Client::connect() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lsdev: cannot find devmgr: {e}");
            return 1;
        }
    };
    let shown = tree(&client, "/sys/devices", 0).and_then(|()| buses(&client));
    match shown {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("lsdev: {e}");
            1
        }
    }
}

/// Every entry of the sysfs directory `path`, page by page.
fn list_all(client: &Client, path: &str) -> Result<Vec<Name>, ClientError> {
    let mut all = Vec::new();
    loop {
        let (names, total) = client.list(path, all.len() as u32)?;
        let done = names.is_empty();
        all.extend(names);
        if done || all.len() >= total as usize {
            return Ok(all);
        }
    }
}

/// An attribute's first line, or `None` if the device has none.
fn attr(client: &Client, path: &str) -> Result<Option<String>, ClientError> {
    match client.read(path) {
        Ok(text) => Ok(Some(text.lines().next().unwrap_or("").into())),
        Err(ClientError::Dev(DevError::NotFound)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Prints the devices below `path`, indented by `depth`.
fn tree(client: &Client, path: &str, depth: usize) -> Result<(), ClientError> {
    if depth == 0 {
        println!("/sys/devices");
    }
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    for entry in list_all(client, path)? {
        let child = format!("{path}/{entry}");
        // Attributes read as files; child devices are directories.
        match client.read(&child) {
            Err(ClientError::Dev(DevError::IsDirectory)) => {}
            Ok(_) | Err(ClientError::Dev(_)) => continue,
            Err(e) => return Err(e),
        }
        let indent = "  ".repeat(depth + 1);
        let what = match attr(client, &format!("{child}/subsystem"))? {
            Some(bus) => {
                let driver = attr(client, &format!("{child}/driver"))?;
                let driver = driver.map_or(String::from("unbound"), |d| format!("driver {d}"));
                format!("  [{bus}] {driver}")
            }
            None => String::new(),
        };
        println!("{indent}{entry}{what}");
        tree(client, &child, depth + 1)?;
    }
    Ok(())
}

/// Prints each bus: its device count, its drivers and their devices.
fn buses(client: &Client) -> Result<(), ClientError> {
    for bus in list_all(client, "/sys/bus")? {
        let devices = list_all(client, &format!("/sys/bus/{bus}/devices"))?;
        let drivers = list_all(client, &format!("/sys/bus/{bus}/drivers"))?;
        println!(
            "bus {bus}: {} device(s), {} driver(s)",
            devices.len(),
            drivers.len()
        );
        for driver in drivers {
            let entries = list_all(client, &format!("/sys/bus/{bus}/drivers/{driver}"))?;
            let bound: Vec<&str> = entries
                .iter()
                .map(Name::as_str)
                .filter(|e| !matches!(*e, "bind" | "unbind" | "uevent"))
                .collect();
            println!("  driver {driver}: {}", bound.join(" "));
        }
    }
    Ok(())
}
