//! `date`: seconds since the epoch as a civil UTC date (Howard Hinnant's
//! days-to-civil algorithm), printed as `date` prints it or by a `+FORMAT`.

use alloc::format;
use alloc::string::String;

/// A broken-down UTC time (`struct tm`'s fields, 1-based month and day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tm {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday.
    pub weekday: u32,
    /// 1-based day of the year.
    pub yday: u32,
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// The UTC date and time `secs` seconds after 1970-01-01 00:00:00.
pub fn gmtime(secs: i64) -> Tm {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    // Days since 0000-03-01 in 400-year eras (Hinnant, civil_from_days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let yday = cumulative[month as usize - 1] + day + u32::from(month > 2 && is_leap(year));
    Tm {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem / 60 % 60,
        second: rem % 60,
        weekday: (days + 4).rem_euclid(7) as u32,
        yday,
    }
}

/// `date`'s default line: `Sat Dec  5 12:10:11 UTC 2026`.
pub fn default_line(t: &Tm) -> String {
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} UTC {}",
        DAYS[t.weekday as usize],
        MONTHS[t.month as usize - 1],
        t.day,
        t.hour,
        t.minute,
        t.second,
        t.year
    )
}

/// `date +FORMAT`: `%Y %m %d %H %M %S %j %a %b %e %s %F %T %Z %n %t %%`;
/// an unknown conversion is copied as it stands, as strftime does.
pub fn strftime(format: &str, t: &Tm, secs: i64) -> String {
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out += &format!("{}", t.year),
            Some('m') => out += &format!("{:02}", t.month),
            Some('d') => out += &format!("{:02}", t.day),
            Some('e') => out += &format!("{:>2}", t.day),
            Some('H') => out += &format!("{:02}", t.hour),
            Some('M') => out += &format!("{:02}", t.minute),
            Some('S') => out += &format!("{:02}", t.second),
            Some('j') => out += &format!("{:03}", t.yday),
            Some('a') => out += DAYS[t.weekday as usize],
            Some('b') => out += MONTHS[t.month as usize - 1],
            Some('s') => out += &format!("{secs}"),
            Some('F') => out += &format!("{}-{:02}-{:02}", t.year, t.month, t.day),
            Some('T') => out += &format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second),
            Some('Z') => out += "UTC",
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(default_line(&gmtime(0)), "Thu Jan  1 00:00:00 UTC 1970");
        // `date -u -d @1796472611` on the host.
        assert_eq!(
            default_line(&gmtime(1_796_472_611)),
            "Sat Dec  5 12:10:11 UTC 2026"
        );
        assert_eq!(
            default_line(&gmtime(951_782_400)),
            "Tue Feb 29 00:00:00 UTC 2000"
        );
        assert_eq!(default_line(&gmtime(-1)), "Wed Dec 31 23:59:59 UTC 1969");
        assert_eq!(gmtime(951_782_400).yday, 60);
        assert_eq!(gmtime(1_796_472_611).yday, 339);
    }

    #[test]
    fn formats() {
        let s = 1_796_472_611;
        let t = gmtime(s);
        assert_eq!(strftime("%F %T", &t, s), "2026-12-05 12:10:11");
        assert_eq!(
            strftime("%s|%j|%a %b %e|%%|%q", &t, s),
            "1796472611|339|Sat Dec  5|%|%q"
        );
    }
}
