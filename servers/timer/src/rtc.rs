//! Decoding the CMOS real-time clock (the Motorola MC146818 and its PC
//! descendants), with no port I/O: the driver reads the registers through
//! ports 0x70/0x71 into an [`RtcRegisters`] snapshot and this module turns
//! snapshots into a date and seconds since the Unix epoch (LKD chapter 11:
//! the kernel reads the RTC once at boot to set the wall time).
//!
//! Status register B says how the clock counts: in BCD or in binary
//! ([`RTC_DM_BINARY`]), in 24-hour or 12-hour mode ([`RTC_24H`]; in 12-hour
//! mode bit 7 of the hours register means PM). The year register holds two
//! digits; the century comes from the register the ACPI FADT names
//! (usually [`RTC_CENTURY`]) or is guessed to be 20.
//!
//! The clock updates its registers once a second and a read during the
//! update can mix two seconds; status A's [`RTC_UIP`] bit warns of it.
//! [`consistent_reading`] applies the usual rule: read until two successive
//! readings taken with the bit clear agree.
//!
//! Invariant: a [`DateTime`] is always a valid date and time (month 1–12,
//! day within its month in the proleptic Gregorian calendar, hour < 24,
//! minute and second < 60); every decoding failure is an [`RtcError`]
//! naming the field, never a garbage date.

use core::fmt;

/// Register numbers (`include/linux/mc146818rtc.h`).
pub const RTC_SECONDS: u8 = 0x00;
pub const RTC_MINUTES: u8 = 0x02;
pub const RTC_HOURS: u8 = 0x04;
pub const RTC_DAY_OF_MONTH: u8 = 0x07;
pub const RTC_MONTH: u8 = 0x08;
pub const RTC_YEAR: u8 = 0x09;
/// Status register A (also `RTC_FREQ_SELECT`).
pub const RTC_REG_A: u8 = 0x0A;
/// Status register B (also `RTC_CONTROL`).
pub const RTC_REG_B: u8 = 0x0B;
/// Where PC firmware keeps the century, as the ACPI FADT usually says.
pub const RTC_CENTURY: u8 = 0x32;

/// Status A: an update is in progress (or starts within 244 µs).
pub const RTC_UIP: u8 = 0x80;
/// Status B: the registers count in binary, not BCD.
pub const RTC_DM_BINARY: u8 = 0x04;
/// Status B: the hours register counts 0–23, not 1–12 with a PM bit.
pub const RTC_24H: u8 = 0x02;
/// Hours register, 12-hour mode: the time is after noon.
pub const RTC_PM: u8 = 0x80;

/// A field of the clock, to say which one was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtcField {
    Seconds,
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    Year,
    Century,
}

/// Why a reading could not be turned into a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtcError {
    /// In BCD mode, a register with a digit above 9.
    InvalidBcd { field: RtcField, raw: u8 },
    /// A field outside its range once decoded (seconds 60, month 13, the
    /// 31st of April, hour 0 in 12-hour mode, ...).
    OutOfRange { field: RtcField, value: u8 },
    /// No two successive readings with the update flag clear agreed.
    Unstable,
}

/// One reading of the clock's registers, in the order it was taken:
/// status A first, so that its update flag covers the rest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtcRegisters {
    pub reg_a: u8,
    pub seconds: u8,
    pub minutes: u8,
    pub hours: u8,
    pub day_of_month: u8,
    pub month: u8,
    pub year: u8,
    /// The century register, if the firmware has one.
    pub century: Option<u8>,
    pub reg_b: u8,
}

impl RtcRegisters {
    /// Takes a reading through `read(register)` (the driver's CMOS read),
    /// status A first, then the time, then status B. `century_register` is
    /// the FADT's century register, or `None` if it has none.
    pub fn read_with(mut read: impl FnMut(u8) -> u8, century_register: Option<u8>) -> RtcRegisters {
        RtcRegisters {
            reg_a: read(RTC_REG_A),
            seconds: read(RTC_SECONDS),
            minutes: read(RTC_MINUTES),
            hours: read(RTC_HOURS),
            day_of_month: read(RTC_DAY_OF_MONTH),
            month: read(RTC_MONTH),
            year: read(RTC_YEAR),
            century: century_register.map(&mut read),
            reg_b: read(RTC_REG_B),
        }
    }

    /// Whether the clock was updating when this reading began.
    pub fn update_in_progress(&self) -> bool {
        self.reg_a & RTC_UIP != 0
    }

    /// Whether two readings show the same time (status registers aside).
    fn same_time(&self, other: &RtcRegisters) -> bool {
        RtcRegisters { reg_a: 0, ..*self } == RtcRegisters { reg_a: 0, ..*other }
    }

    /// The date and time this reading shows, decoded as status B says.
    /// Without a century register the year is taken to be 20xx. Fails with
    /// `InvalidBcd` or `OutOfRange` naming the first bad field.
    pub fn decode(&self) -> Result<DateTime, RtcError> {
        let binary = self.reg_b & RTC_DM_BINARY != 0;
        let decode = |field, raw: u8| -> Result<u8, RtcError> {
            if binary {
                Ok(raw)
            } else {
                bcd_to_bin(raw).ok_or(RtcError::InvalidBcd { field, raw })
            }
        };

        let second = decode(RtcField::Seconds, self.seconds)?;
        let minute = decode(RtcField::Minutes, self.minutes)?;
        let hour = if self.reg_b & RTC_24H != 0 {
            decode(RtcField::Hours, self.hours)?
        } else {
            let hour = decode(RtcField::Hours, self.hours & !RTC_PM)?;
            if !(1..=12).contains(&hour) {
                return Err(out_of_range(RtcField::Hours, hour));
            }
            // 12 AM is midnight, 12 PM is noon.
            hour % 12 + if self.hours & RTC_PM != 0 { 12 } else { 0 }
        };
        let day = decode(RtcField::DayOfMonth, self.day_of_month)?;
        let month = decode(RtcField::Month, self.month)?;
        let year = decode(RtcField::Year, self.year)?;
        if year > 99 {
            return Err(out_of_range(RtcField::Year, year));
        }
        let century = match self.century {
            Some(raw) => decode(RtcField::Century, raw)?,
            None => 20,
        };
        if !(19..=99).contains(&century) {
            return Err(out_of_range(RtcField::Century, century));
        }
        DateTime::new(
            u16::from(century) * 100 + u16::from(year),
            month,
            day,
            hour,
            minute,
            second,
        )
    }
}

/// The reading to trust from `readings`, taken one after another: the
/// second of the first two successive readings that both have the update
/// flag clear and show the same time. Readings taken during an update are
/// skipped. `readings` is consumed lazily, so a driver can pass
/// `iter::repeat_with(|| RtcRegisters::read_with(..)).take(n)` and read no
/// more than needed. Fails with `Unstable` if `readings` runs out first.
pub fn consistent_reading(
    readings: impl IntoIterator<Item = RtcRegisters>,
) -> Result<RtcRegisters, RtcError> {
    let mut previous: Option<RtcRegisters> = None;
    for reading in readings {
        if reading.update_in_progress() {
            continue;
        }
        if previous.is_some_and(|previous| previous.same_time(&reading)) {
            return Ok(reading);
        }
        previous = Some(reading);
    }
    Err(RtcError::Unstable)
}

const fn out_of_range(field: RtcField, value: u8) -> RtcError {
    RtcError::OutOfRange { field, value }
}

/// A BCD byte (two decimal digits, one per nibble) as a number; `None` if
/// a nibble is above 9.
pub const fn bcd_to_bin(bcd: u8) -> Option<u8> {
    let (high, low) = (bcd >> 4, bcd & 0x0f);
    if high > 9 || low > 9 {
        None
    } else {
        Some(high * 10 + low)
    }
}

/// Whether `year` has a 29th of February: divisible by 4, except centuries
/// not divisible by 400 (2000 is a leap year, 2100 is not).
pub const fn is_leap_year(year: u16) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

/// The number of days in `month` (1–12) of `year`; 0 for a month that
/// does not exist.
pub const fn rtc_month_days(month: u8, year: u16) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Seconds since 1970-01-01 00:00:00 UTC of a date and time, by Gauss's
/// formula as Linux's `mktime64` has it: count from March, so that the
/// leap day falls at the end of the year. Any year from 0 to 65535 works;
/// earlier than 1970 gives a negative count. The fields are taken as they
/// come: a month or day out of range counts on into the next.
pub const fn mktime64(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> i64 {
    let (mut year, mut month) = (year as i64, month as i64 - 2);
    if month <= 0 {
        // March is month 1 of the year, January and February 11 and 12 of
        // the year before.
        month += 12;
        year -= 1;
    }
    let days = year.div_euclid(4) - year.div_euclid(100)
        + year.div_euclid(400)
        + 367 * month / 12
        + day as i64
        + year * 365
        - 719_499;
    ((days * 24 + hour as i64) * 60 + minute as i64) * 60 + second as i64
}

/// A calendar date and time of day, UTC, always valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl DateTime {
    /// The given date and time; fails with `OutOfRange` naming the first
    /// field that is not valid (the 29th of February only in leap years).
    pub const fn new(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Result<DateTime, RtcError> {
        if second > 59 {
            return Err(out_of_range(RtcField::Seconds, second));
        }
        if minute > 59 {
            return Err(out_of_range(RtcField::Minutes, minute));
        }
        if hour > 23 {
            return Err(out_of_range(RtcField::Hours, hour));
        }
        if month < 1 || month > 12 {
            return Err(out_of_range(RtcField::Month, month));
        }
        if day < 1 || day > rtc_month_days(month, year) {
            return Err(out_of_range(RtcField::DayOfMonth, day));
        }
        Ok(DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    /// Seconds since the Unix epoch (negative before 1970).
    pub const fn to_unix_seconds(&self) -> i64 {
        mktime64(
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
        )
    }

    /// The date and time `seconds` after the Unix epoch (Linux's
    /// `rtc_time64_to_tm`); `None` outside the years 0 to 65535.
    pub const fn from_unix_seconds(seconds: i64) -> Option<DateTime> {
        let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
        // Howard Hinnant's `civil_from_days`: split into 400-year eras of
        // 146097 days, each starting on the 1st of March.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let march_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * march_month + 2) / 5 + 1;
        let month = if march_month < 10 {
            march_month + 3
        } else {
            march_month - 9
        };
        let year = year_of_era + era * 400 + if month <= 2 { 1 } else { 0 };
        if year < 0 || year > u16::MAX as i64 {
            return None;
        }
        Some(DateTime {
            year: year as u16,
            month: month as u8,
            day: day as u8,
            hour: (second_of_day / 3600) as u8,
            minute: (second_of_day / 60 % 60) as u8,
            second: (second_of_day % 60) as u8,
        })
    }

    pub const fn year(&self) -> u16 {
        self.year
    }

    pub const fn month(&self) -> u8 {
        self.month
    }

    pub const fn day(&self) -> u8 {
        self.day
    }

    pub const fn hour(&self) -> u8 {
        self.hour
    }

    pub const fn minute(&self) -> u8 {
        self.minute
    }

    pub const fn second(&self) -> u8 {
        self.second
    }
}

/// ISO 8601: `2038-01-19 03:14:08`.
impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests;
