//! `wait1`: the client of the `wait1` server (the deck's `/dev/wait1`),
//! from the command line — what `echo hello > /dev/wait1` and
//! `cat /dev/wait1` are in the deck, until the VFS gives it a `/dev` node.
//!
//! ```text
//! wait1 write <text> ; read [<max>] ; read -n [<max>] ; stats ; sleep <ms>
//! ```
//!
//! Commands are separated by `;` and run in order, as `kvctl`'s. `write`
//! writes all of the text (blocking while the device is full); `read`
//! prints what is there, up to `max` bytes (default 1024), blocking while
//! the device is empty; `read -n` does not block (`would block` instead);
//! `sleep` waits that many milliseconds (to order two clients in a demo).
//! Each prints its result or its error; the exit status is the number of
//! commands that failed.
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

use libsys::cli::{run_commands, CommandError};
use libsys::proto::wait1::{Client, ClientError, READ_MAX};
use libsys::{eprintln, println};

libsys::entry!(main);

fn main(args: &str) -> u64 {
    let client = match Client::connect() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("wait1: cannot find wait1: {e}");
            return 1;
        }
    };
    run_commands("wait1", args, |command| run(&client, command))
}

/// Why a command failed: its usage, or the server's error.
type Why = CommandError<ClientError>;

fn run(client: &Client, command: &str) -> Result<(), Why> {
    let (verb, rest) = command.split_once(' ').unwrap_or((command, ""));
    let rest = rest.trim();
    match verb {
        "write" if !rest.is_empty() => {
            client.write_all(rest.as_bytes())?;
            println!("wait1: wrote {} byte(s)", rest.len());
        }
        "write" => return Err(Why::Usage("write <text>")),
        "read" => {
            let (nonblock, max) = match rest.strip_prefix("-n") {
                Some(max) => (true, max.trim()),
                None => (false, rest),
            };
            let max = match max {
                "" => READ_MAX,
                n => n.parse().map_err(|_| Why::Usage("read [-n] [<max>]"))?,
            };
            let data = if nonblock {
                client.read_nonblock(max)?
            } else {
                client.read(max)?
            };
            match core::str::from_utf8(&data) {
                Ok(text) => println!("wait1: read {text:?}"),
                Err(_) => println!("wait1: read {:?} ({} bytes)", &data[..], data.len()),
            }
        }
        "stats" if rest.is_empty() => {
            let s = client.stats()?;
            println!(
                "wait1: {} byte(s) in, {} out, {} buffered; {} reader(s) and {} writer(s) blocked; {} wake-up(s), {} would-block, {} gone",
                s.bytes_in,
                s.bytes_out,
                s.buffered,
                s.readers_blocked,
                s.writers_blocked,
                s.wakeups,
                s.would_block,
                s.gone
            );
        }
        "sleep" => {
            let ms = rest.parse().map_err(|_| Why::Usage("sleep <ms>"))?;
            libsys::time::msleep(ms);
        }
        _ => {
            return Err(Why::Usage(
                "write <text> | read [-n] [<max>] | stats | sleep <ms>",
            ))
        }
    }
    Ok(())
}
