//! `kvctl`: the `kv` server's client, from the command line.
//!
//! ```text
//! kvctl put <key> <value> ; get <key> ; delete <key> ; list [<after>] ; stats
//! ```
//!
//! Commands are separated by `;` and run in order; each prints its result
//! (`kvctl: get greeting = "hello"`) or its error, and the exit status is
//! the number of commands that failed. Everything it does goes through
//! `libsys::proto::kv::Client`, the stub any program uses: it looks `kv`
//! up in the name service and makes one `call` per command — the same
//! code whether `kv` is a process or runs inside the kernel.
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

use libsys::cli::{run_commands, CommandError};
use libsys::proto::kv::{Client, ClientError};
use libsys::{eprintln, println};

libsys::entry!(main);

fn main(args: &str) -> u64 {
    let client = match Client::connect() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kvctl: cannot find kv: {e}");
            return 1;
        }
    };
    run_commands("kvctl", args, |command| run(&client, command))
}

/// Why a command failed: its usage, or `kv`'s error.
type Why = CommandError<ClientError>;

fn run(client: &Client, command: &str) -> Result<(), Why> {
    let mut words = command.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some("put"), Some(key), Some(value)) => {
            client.put(key, value.as_bytes())?;
            println!("kvctl: put {key}");
        }
        (Some("put"), ..) => return Err(Why::Usage("put <key> <value>")),
        (Some("get"), Some(key), None) => {
            let value = client.get(key)?;
            match core::str::from_utf8(&value) {
                Ok(text) => println!("kvctl: get {key} = {text:?}"),
                Err(_) => println!(
                    "kvctl: get {key} = {:?} ({} bytes)",
                    &value[..],
                    value.len()
                ),
            }
        }
        (Some("get"), ..) => return Err(Why::Usage("get <key>")),
        (Some("delete"), Some(key), None) => {
            client.delete(key)?;
            println!("kvctl: deleted {key}");
        }
        (Some("delete"), ..) => return Err(Why::Usage("delete <key>")),
        (Some("list"), after, None) => {
            let keys = client.list(after)?;
            println!("kvctl: {} key(s)", keys.len());
            for key in &keys {
                println!("kvctl:   {key}");
            }
        }
        (Some("stats"), None, None) => {
            let (keys, bytes) = client.stats()?;
            println!("kvctl: {keys} key(s), {bytes} byte(s) of this client's quota used");
        }
        _ => return Err(Why::Usage("put|get|delete|list|stats")),
    }
    Ok(())
}
