//! The boot menu: with a timeout, list the entries and let a number key pick
//! one; when the time runs out (or on Enter) boot the default entry.

use boot_core::config::{Config, Timeout};
use uefi::proto::console::text::Key;
use uefi::{boot, system, Char16};

use crate::console::say;

const POLL_MS: u64 = 50;

/// Returns the 0-based index of the entry to boot.
pub fn choose(config: &Config) -> usize {
    let default = config.default_entry_index();
    let seconds = match config.timeout {
        Timeout::Immediate => return default,
        Timeout::Seconds(seconds) => Some(seconds),
        Timeout::Never => None,
    };
    let count = config.entries.len();
    for (i, entry) in config.entries.iter().enumerate() {
        uefi::println!("  {}) {}", i + 1, entry.name);
    }
    let pickable = count.min(9);
    match seconds {
        Some(s) => say!(
            "press 1-{pickable} to choose an entry, Enter for {}; booting it in {s} s",
            default + 1
        ),
        None => say!(
            "press 1-{pickable} to choose an entry, Enter for {}",
            default + 1
        ),
    }

    let mut waited_ms = 0u64;
    loop {
        let key = system::with_stdin(|stdin| stdin.read_key());
        if let Ok(Some(Key::Printable(c))) = key {
            if c == Char16::try_from('\r').unwrap() || c == Char16::try_from('\n').unwrap() {
                return default;
            }
            let c = char::from(c);
            if let Some(digit) = c.to_digit(10) {
                let digit = digit as usize;
                if (1..=pickable).contains(&digit) {
                    return digit - 1;
                }
            }
        }
        if let Some(s) = seconds {
            if waited_ms >= u64::from(s) * 1000 {
                return default;
            }
        }
        boot::stall(core::time::Duration::from_millis(POLL_MS));
        waited_ms += POLL_MS;
    }
}
