//! Time: the tick rate the kernel and user space share.

/// Ticks per second (`jiffies` advance by one per tick): a build constant
/// (`HZ=100 make ...`), 250 by default as in Linux's default configuration.
/// The kernel runs its tick at this rate and `clock` reports it; one
/// definition, so a build cannot disagree with itself.
pub const HZ: u64 = match option_env!("HZ") {
    Some(text) => parse_hz(text),
    None => 250,
};

const fn parse_hz(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut value = 0;
    let mut i = 0;
    while i < bytes.len() {
        assert!(bytes[i].is_ascii_digit(), "HZ must be a number");
        value = value * 10 + (bytes[i] - b'0') as u64;
        i += 1;
    }
    assert!(
        value >= 10 && value <= 1000,
        "HZ must be between 10 and 1000"
    );
    value
}
