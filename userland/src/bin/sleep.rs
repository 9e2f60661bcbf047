//! `sleep seconds`: waits that long (whole seconds, or with a fraction: `0.5`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use userland::tool;

libsys::entry!(main);

/// `"1.25"` as milliseconds; `None` for anything not a plain number or
/// longer than a day.
fn millis(arg: &str) -> Option<u64> {
    let (whole, frac) = arg.split_once('.').unwrap_or((arg, ""));
    if (whole.is_empty() && frac.is_empty()) || frac.len() > 9 {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        return None;
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut ms = 0u64;
    for (i, b) in frac.bytes().take(3).enumerate() {
        ms += u64::from(b - b'0') * [100, 10, 1][i];
    }
    (secs <= 86_400).then(|| secs * 1000 + ms)
}

fn main(_: &str) -> u64 {
    let args = tool::args();
    let [arg] = args.as_slice() else {
        tool::exit(tool::complain("sleep", "usage: sleep seconds"));
    };
    match millis(arg) {
        Some(ms) => {
            libsys::time::sleep_ms(ms);
            tool::exit(0)
        }
        None => tool::exit(tool::complain(
            "sleep",
            &alloc::format!("invalid time interval '{arg}'"),
        )),
    }
}
