//! `dmesg [-w]`: the kernel log ring, one record a line with its time (`-w`: then waits for new records, woken by the kernel's log notification).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use libsys::abi::LOG_READ_MAX;
use libsys::handle::Notification;
use userland::tool;

libsys::entry!(main);

/// The bit of the notification the kernel signals on new records.
const LOG_BIT: u32 = 0;

/// `level,seq,usec,-;text` as `[    1.234567] text`; the record's sequence
/// number.
fn format_record(line: &str) -> Option<(u64, String)> {
    let (head, text) = line.split_once(';')?;
    let mut fields = head.split(',');
    let _level = fields.next()?;
    let seq = fields.next()?.parse().ok()?;
    let usec: u64 = fields.next()?.parse().ok()?;
    Some((
        seq,
        format!("[{:>5}.{:06}] {text}\n", usec / 1_000_000, usec % 1_000_000),
    ))
}

/// Prints every record from `since`; the sequence number to read next.
fn drain(mut since: u64, buffer: &mut [u8]) -> Result<u64, libsys::abi::SysError> {
    loop {
        let n = libsys::syscall::log_read(since, buffer)?;
        if n == 0 {
            return Ok(since);
        }
        let mut out = String::new();
        let mut last = None;
        for line in String::from_utf8_lossy(&buffer[..n]).lines() {
            if let Some((seq, text)) = format_record(line) {
                out += &text;
                last = Some(seq);
            }
        }
        let _ = tool::write_all(1, out.as_bytes());
        match last {
            Some(seq) if seq >= since => since = seq + 1,
            _ => return Ok(since),
        }
    }
}

fn main(_: &str) -> u64 {
    let p = tool::getopt("dmesg", "w", "dmesg [-w]");
    let mut buffer = alloc::vec![0u8; LOG_READ_MAX];
    let mut since = match drain(0, &mut buffer) {
        Ok(s) => s,
        Err(e) => tool::exit(tool::complain(
            "dmesg",
            &format!("read kernel buffer failed: {e}"),
        )),
    };
    if !p.has('w') {
        tool::exit(0);
    }
    let watch = match Notification::create() {
        Ok(n) => n,
        Err(e) => tool::exit(tool::complain("dmesg", &format!("notification: {e}"))),
    };
    if let Err(e) = libsys::syscall::log_notify(Some(watch.raw()), LOG_BIT) {
        tool::exit(tool::complain("dmesg", &format!("log_notify: {e}")));
    }
    loop {
        // Read before waiting: a record that came in between is not lost
        // (the bit stays set until the wait takes it).
        since = drain(since, &mut buffer).unwrap_or(since);
        if watch.wait(u64::MAX).is_err() {
            libsys::time::msleep(100);
        }
    }
}
