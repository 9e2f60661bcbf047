//! `kvctl`: the `kv` server's client, from the command line.
//!
//! ```text
//! kvctl put <key> <value> ; get <key> ; delete <key> ; list [<after>] ; stats
//! ```
//!
//! Commands are separated by `;` and run in order; each prints its result
//! (`kvctl: get greeting = "hello"`) or its error, and the exit status is
//! the number of commands that failed. Started by `init` (a manifest's
//! `program`), it takes its argument string and writes to the kernel log;
//! started from the shell (`kvctl put k v`), it takes its `argv` and
//! writes results to standard output and errors to standard error.
//! Everything it does goes through
//! `libsys::proto::kv::Client`, the stub any program uses: it looks `kv`
//! up in the name service and makes one `call` per command — the same
//! code whether `kv` is a process or runs inside the kernel.
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

extern crate alloc;

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use libsys::cli::{run_commands, CommandError};
use libsys::proto::kv::{Client, ClientError};

libsys::entry!(main);

/// Started by the process server (from the shell): standard output and
/// error rather than the kernel log.
static POSIX: AtomicBool = AtomicBool::new(false);

/// A result line: standard output, or the log.
fn say(line: fmt::Arguments) {
    if POSIX.load(Ordering::Relaxed) {
        libsys::outln!("{line}");
    } else {
        libsys::println!("{line}");
    }
}

/// An error line: standard error, or the log.
fn complain(line: fmt::Arguments) {
    if POSIX.load(Ordering::Relaxed) {
        libsys::errln!("{line}");
    } else {
        libsys::eprintln!("{line}");
    }
}

fn main(args: &str) -> u64 {
    let posix = libsys::env::sysv_stack().is_some();
    POSIX.store(posix, Ordering::Relaxed);
    let client = match Client::connect() {
        Ok(c) => c,
        Err(e) => {
            complain(format_args!("kvctl: cannot find kv: {e}"));
            return 1;
        }
    };
    if !posix {
        return run_commands("kvctl", args, |command| run(&client, command));
    }
    let line = libsys::env::argv().get(1..).unwrap_or(&[]).join(" ");
    let mut failed = 0;
    for command in line.split(';').map(str::trim).filter(|c| !c.is_empty()) {
        if let Err(why) = run(&client, command) {
            complain(format_args!("kvctl: {command}: {why}"));
            failed += 1;
        }
    }
    failed
}

/// Why a command failed: its usage, or `kv`'s error.
type Why = CommandError<ClientError>;

fn run(client: &Client, command: &str) -> Result<(), Why> {
    let mut words = command.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some("put"), Some(key), Some(value)) => {
            client.put(key, value.as_bytes())?;
            say(format_args!("kvctl: put {key}"));
        }
        (Some("put"), ..) => return Err(Why::Usage("put <key> <value>")),
        (Some("get"), Some(key), None) => {
            let value = client.get(key)?;
            match core::str::from_utf8(&value) {
                Ok(text) => say(format_args!("kvctl: get {key} = {text:?}")),
                Err(_) => say(format_args!(
                    "kvctl: get {key} = {:?} ({} bytes)",
                    &value[..],
                    value.len()
                )),
            }
        }
        (Some("get"), ..) => return Err(Why::Usage("get <key>")),
        (Some("delete"), Some(key), None) => {
            client.delete(key)?;
            say(format_args!("kvctl: deleted {key}"));
        }
        (Some("delete"), ..) => return Err(Why::Usage("delete <key>")),
        (Some("list"), after, None) => {
            let keys = client.list(after)?;
            say(format_args!("kvctl: {} key(s)", keys.len()));
            for key in &keys {
                say(format_args!("kvctl:   {key}"));
            }
        }
        (Some("stats"), None, None) => {
            let (keys, bytes) = client.stats()?;
            say(format_args!(
                "kvctl: {keys} key(s), {bytes} byte(s) of this client's quota used"
            ));
        }
        _ => return Err(Why::Usage("put|get|delete|list|stats")),
    }
    Ok(())
}
