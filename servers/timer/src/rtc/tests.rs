//! Host tests of the RTC decoding: BCD and binary, 12-hour mode, the
//! century, garbage registers, the update-in-progress rule, and the epoch.

use super::*;
use std::format;
use std::string::ToString;
use std::vec::Vec;

const BCD_24H: u8 = RTC_24H;
const BINARY_24H: u8 = RTC_24H | RTC_DM_BINARY;

/// 2038-01-19 03:14:08 in BCD, 24-hour mode, with a century register.
fn y2038_bcd() -> RtcRegisters {
    RtcRegisters {
        reg_a: 0x26, // the usual divider and rate bits, update flag clear
        seconds: 0x08,
        minutes: 0x14,
        hours: 0x03,
        day_of_month: 0x19,
        month: 0x01,
        year: 0x38,
        century: Some(0x20),
        reg_b: BCD_24H,
    }
}

fn date(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> DateTime {
    DateTime::new(year, month, day, hour, minute, second).unwrap()
}

#[test]
fn bcd_digits_decode_and_garbage_nibbles_are_refused() {
    assert_eq!(bcd_to_bin(0x00), Some(0));
    assert_eq!(bcd_to_bin(0x09), Some(9));
    assert_eq!(bcd_to_bin(0x10), Some(10));
    assert_eq!(bcd_to_bin(0x59), Some(59));
    assert_eq!(bcd_to_bin(0x99), Some(99));
    assert_eq!(bcd_to_bin(0x0a), None);
    assert_eq!(bcd_to_bin(0xa0), None);
    assert_eq!(bcd_to_bin(0xff), None);
}

#[test]
fn a_bcd_reading_decodes_to_the_date_and_the_epoch() {
    let time = y2038_bcd().decode().unwrap();
    assert_eq!(time, date(2038, 1, 19, 3, 14, 8));
    assert_eq!(time.to_unix_seconds(), 1 << 31);
    assert_eq!(time.to_string(), "2038-01-19 03:14:08");
}

#[test]
fn a_binary_reading_decodes_the_same() {
    let binary = RtcRegisters {
        seconds: 8,
        minutes: 14,
        hours: 3,
        day_of_month: 19,
        month: 1,
        year: 38,
        century: Some(20),
        reg_b: BINARY_24H,
        ..y2038_bcd()
    };
    assert_eq!(binary.decode(), y2038_bcd().decode());
    // 0x59 read as binary is 89 seconds: out of range, not 59.
    let wrong_mode = RtcRegisters {
        seconds: 0x59,
        ..binary
    };
    assert_eq!(
        wrong_mode.decode(),
        Err(RtcError::OutOfRange {
            field: RtcField::Seconds,
            value: 89
        })
    );
}

#[test]
fn twelve_hour_mode_with_the_pm_bit() {
    let hour = |reg_b: u8, hours: u8| {
        RtcRegisters {
            hours,
            reg_b,
            ..y2038_bcd()
        }
        .decode()
        .map(|time| time.hour())
    };
    let bcd_12h = 0;
    let binary_12h = RTC_DM_BINARY;
    assert_eq!(hour(bcd_12h, 0x12), Ok(0), "12 AM is midnight");
    assert_eq!(hour(bcd_12h, 0x01), Ok(1));
    assert_eq!(hour(bcd_12h, 0x11), Ok(11));
    assert_eq!(hour(bcd_12h, RTC_PM | 0x12), Ok(12), "12 PM is noon");
    assert_eq!(hour(bcd_12h, RTC_PM | 0x01), Ok(13));
    assert_eq!(hour(bcd_12h, RTC_PM | 0x11), Ok(23));
    assert_eq!(hour(binary_12h, RTC_PM | 12), Ok(12));
    assert_eq!(hour(binary_12h, RTC_PM | 7), Ok(19));
    assert_eq!(hour(binary_12h, 12), Ok(0));
    let bad = |value| {
        Err(RtcError::OutOfRange {
            field: RtcField::Hours,
            value,
        })
    };
    assert_eq!(
        hour(bcd_12h, 0x00),
        bad(0),
        "there is no hour 0 on a 12-hour clock"
    );
    assert_eq!(hour(bcd_12h, RTC_PM | 0x13), bad(13));
    assert_eq!(hour(binary_12h, 13), bad(13));
    // In 24-hour mode bit 7 is no PM flag: 0x81 is hour 81.
    assert_eq!(hour(BCD_24H, RTC_PM | 0x01), bad(81));
    assert_eq!(
        hour(BCD_24H, 0x1b),
        Err(RtcError::InvalidBcd {
            field: RtcField::Hours,
            raw: 0x1b
        })
    );
    assert_eq!(hour(BCD_24H, 0x23), Ok(23));
    assert_eq!(hour(BCD_24H, 0x24), bad(24));
}

#[test]
fn the_century_comes_from_its_register_or_is_guessed_as_20() {
    let year = |century: Option<u8>, year: u8| {
        RtcRegisters {
            century,
            year,
            ..y2038_bcd()
        }
        .decode()
        .map(|time| time.year())
    };
    assert_eq!(year(Some(0x19), 0x99), Ok(1999));
    assert_eq!(year(Some(0x20), 0x00), Ok(2000));
    assert_eq!(year(Some(0x21), 0x00), Ok(2100));
    assert_eq!(year(None, 0x24), Ok(2024));
    assert_eq!(year(None, 0x99), Ok(2099));
    assert_eq!(
        year(Some(0x05), 0x24),
        Err(RtcError::OutOfRange {
            field: RtcField::Century,
            value: 5
        })
    );
    assert_eq!(
        year(Some(0xff), 0x24),
        Err(RtcError::InvalidBcd {
            field: RtcField::Century,
            raw: 0xff
        })
    );
    let binary = RtcRegisters {
        century: Some(21),
        year: 5,
        reg_b: BINARY_24H,
        seconds: 0,
        minutes: 0,
        hours: 0,
        day_of_month: 1,
        month: 1,
        ..y2038_bcd()
    };
    assert_eq!(binary.decode().map(|time| time.year()), Ok(2105));
    let year_100 = RtcRegisters {
        year: 100,
        ..binary
    };
    assert_eq!(
        year_100.decode(),
        Err(RtcError::OutOfRange {
            field: RtcField::Year,
            value: 100
        })
    );
}

#[test]
fn garbage_registers_are_refused_naming_the_field() {
    let with = |change: fn(&mut RtcRegisters)| {
        let mut registers = y2038_bcd();
        change(&mut registers);
        registers.decode()
    };
    let range = |field, value| Err(RtcError::OutOfRange { field, value });
    let bcd = |field, raw| Err(RtcError::InvalidBcd { field, raw });
    assert_eq!(with(|r| r.seconds = 0x5a), bcd(RtcField::Seconds, 0x5a));
    assert_eq!(with(|r| r.seconds = 0x60), range(RtcField::Seconds, 60));
    assert_eq!(with(|r| r.minutes = 0x60), range(RtcField::Minutes, 60));
    assert_eq!(with(|r| r.minutes = 0xf0), bcd(RtcField::Minutes, 0xf0));
    assert_eq!(with(|r| r.month = 0x00), range(RtcField::Month, 0));
    assert_eq!(with(|r| r.month = 0x13), range(RtcField::Month, 13));
    assert_eq!(with(|r| r.month = 0x1a), bcd(RtcField::Month, 0x1a));
    assert_eq!(
        with(|r| r.day_of_month = 0x00),
        range(RtcField::DayOfMonth, 0)
    );
    assert_eq!(
        with(|r| r.day_of_month = 0x32),
        range(RtcField::DayOfMonth, 32)
    );
    assert_eq!(with(|r| r.year = 0xaa), bcd(RtcField::Year, 0xaa));
    // Days within the month, leap years included.
    let day = |century, year, month, day| {
        RtcRegisters {
            century: Some(century),
            year,
            month,
            day_of_month: day,
            ..y2038_bcd()
        }
        .decode()
        .is_ok()
    };
    assert!(day(0x20, 0x24, 0x04, 0x30));
    assert!(!day(0x20, 0x24, 0x04, 0x31), "the 31st of April");
    assert!(day(0x20, 0x24, 0x02, 0x29), "2024 is a leap year");
    assert!(!day(0x20, 0x23, 0x02, 0x29), "2023 is not");
    assert!(
        day(0x20, 0x00, 0x02, 0x29),
        "2000 is, being divisible by 400"
    );
    assert!(!day(0x21, 0x00, 0x02, 0x29), "2100 is not, being a century");
    assert!(!day(0x19, 0x00, 0x02, 0x29), "nor is 1900");
    // Every byte value in every register: never a panic, and whatever
    // decodes is a valid date.
    for field in 0..7 {
        for value in 0..=255u8 {
            let mut registers = y2038_bcd();
            let slot = match field {
                0 => &mut registers.seconds,
                1 => &mut registers.minutes,
                2 => &mut registers.hours,
                3 => &mut registers.day_of_month,
                4 => &mut registers.month,
                5 => &mut registers.year,
                _ => &mut registers.reg_b,
            };
            *slot = value;
            if let Ok(time) = registers.decode() {
                let again = DateTime::from_unix_seconds(time.to_unix_seconds());
                assert_eq!(again, Some(time));
            }
        }
    }
}

#[test]
fn a_reading_is_trusted_once_two_successive_ones_agree_with_the_update_flag_clear() {
    let a = y2038_bcd();
    let b = RtcRegisters { seconds: 0x09, ..a };
    let updating = |reading: RtcRegisters| RtcRegisters {
        reg_a: reading.reg_a | RTC_UIP,
        ..reading
    };
    assert!(updating(a).update_in_progress() && !a.update_in_progress());

    assert_eq!(consistent_reading([a, a]), Ok(a));
    assert_eq!(consistent_reading([updating(a), a, a]), Ok(a));
    assert_eq!(
        consistent_reading([a, b, b]),
        Ok(b),
        "the second ticked over"
    );
    assert_eq!(consistent_reading([a, updating(b), b, b]), Ok(b));
    assert_eq!(
        consistent_reading([a, updating(a), a]),
        Ok(a),
        "readings during the update do not count"
    );
    // A torn reading taken during an update matches nothing.
    let torn = RtcRegisters {
        minutes: 0x15,
        ..updating(a)
    };
    assert_eq!(consistent_reading([torn, torn, a, a]), Ok(a));
    assert_eq!(
        consistent_reading([updating(a), updating(a)]),
        Err(RtcError::Unstable)
    );
    assert_eq!(consistent_reading([a, b]), Err(RtcError::Unstable));
    assert_eq!(consistent_reading([]), Err(RtcError::Unstable));
    // Status A differing only in its other bits still agrees.
    let other_rate = RtcRegisters { reg_a: 0x27, ..a };
    assert_eq!(consistent_reading([a, other_rate]), Ok(other_rate));
}

#[test]
fn the_driver_reads_no_more_than_it_needs() {
    // A fake CMOS: the clock is updating for the first reading, then
    // steady.
    let mut cmos = [0u8; 128];
    let time = y2038_bcd();
    for (register, value) in [
        (RTC_SECONDS, time.seconds),
        (RTC_MINUTES, time.minutes),
        (RTC_HOURS, time.hours),
        (RTC_DAY_OF_MONTH, time.day_of_month),
        (RTC_MONTH, time.month),
        (RTC_YEAR, time.year),
        (RTC_CENTURY, 0x20),
        (RTC_REG_B, time.reg_b),
    ] {
        cmos[register as usize] = value;
    }
    let mut registers_read = Vec::new();
    let mut readings = 0;
    let reading = consistent_reading(
        core::iter::repeat_with(|| {
            readings += 1;
            let uip = if readings == 1 { RTC_UIP } else { 0 };
            RtcRegisters::read_with(
                |register| {
                    registers_read.push(register);
                    cmos[register as usize] | if register == RTC_REG_A { uip } else { 0 }
                },
                Some(RTC_CENTURY),
            )
        })
        .take(10),
    )
    .unwrap();
    assert_eq!(readings, 3);
    assert_eq!(reading.decode(), time.decode());
    assert_eq!(registers_read[0], RTC_REG_A, "status A is read first");
    assert_eq!(registers_read.len(), 3 * 9);
    let without_century = RtcRegisters::read_with(|register| cmos[register as usize], None);
    assert_eq!(without_century.century, None);
    assert_eq!(without_century.decode().map(|t| t.year()), Ok(2038));
}

#[test]
fn leap_years_and_month_lengths() {
    for (year, leap) in [
        (1900, false),
        (1970, false),
        (1972, true),
        (2000, true),
        (2023, false),
        (2024, true),
        (2100, false),
        (2400, true),
    ] {
        assert_eq!(is_leap_year(year), leap, "{year}");
        assert_eq!(rtc_month_days(2, year), if leap { 29 } else { 28 });
    }
    let days: Vec<u8> = (1..=12).map(|month| rtc_month_days(month, 2023)).collect();
    assert_eq!(days, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]);
    assert_eq!(rtc_month_days(0, 2023), 0);
    assert_eq!(rtc_month_days(13, 2023), 0);
}

#[test]
fn known_dates_convert_to_the_right_epoch_seconds() {
    for (time, seconds) in [
        (date(1970, 1, 1, 0, 0, 0), 0),
        (date(1970, 1, 1, 0, 0, 1), 1),
        (date(1969, 12, 31, 23, 59, 59), -1),
        (date(1900, 1, 1, 0, 0, 0), -2_208_988_800),
        (date(1999, 12, 31, 23, 59, 59), 946_684_799),
        (date(2000, 2, 29, 0, 0, 0), 951_782_400),
        (date(2024, 2, 29, 12, 0, 0), 1_709_208_000),
        (date(2038, 1, 19, 3, 14, 7), i32::MAX as i64),
        (date(2038, 1, 19, 3, 14, 8), 1 << 31),
        (date(2100, 2, 28, 23, 59, 59), 4_107_542_399),
        (date(2100, 3, 1, 0, 0, 0), 4_107_542_400),
        (date(9999, 12, 31, 23, 59, 59), 253_402_300_799),
    ] {
        assert_eq!(time.to_unix_seconds(), seconds, "{time}");
        assert_eq!(
            DateTime::from_unix_seconds(seconds),
            Some(time),
            "{seconds}"
        );
    }
    assert_eq!(
        DateTime::new(2100, 2, 29, 0, 0, 0).map(|_| ()),
        Err(out_of_range(RtcField::DayOfMonth, 29))
    );
    assert_eq!(
        DateTime::new(2023, 1, 1, 24, 0, 0).map(|_| ()),
        Err(out_of_range(RtcField::Hours, 24))
    );
    assert_eq!(
        DateTime::new(2023, 1, 1, 0, 0, 60).map(|_| ()),
        Err(out_of_range(RtcField::Seconds, 60))
    );
}

#[test]
fn every_day_from_1900_to_2200_round_trips() {
    let mut expected = -2_208_988_800; // 1900-01-01
    for year in 1900..2200 {
        for month in 1..=12 {
            for day in 1..=rtc_month_days(month, year) {
                let time = date(year, month, day, 23, 59, 59);
                assert_eq!(time.to_unix_seconds(), expected + 86_399, "{time}");
                assert_eq!(DateTime::from_unix_seconds(expected + 86_399), Some(time));
                let midnight = DateTime::from_unix_seconds(expected).unwrap();
                assert_eq!(midnight, date(year, month, day, 0, 0, 0));
                expected += 86_400;
            }
        }
    }
}

#[test]
fn seconds_round_trip_at_odd_offsets_and_the_extremes_are_refused() {
    let mut seconds = -62_167_219_200; // 0000-01-01
    while seconds < 253_402_300_800 {
        let time = DateTime::from_unix_seconds(seconds).unwrap();
        assert_eq!(time.to_unix_seconds(), seconds, "{time}");
        seconds += 7_777_777; // about 90 days and a prime number of seconds
    }
    assert_eq!(
        DateTime::from_unix_seconds(-62_167_219_200),
        Some(date(0, 1, 1, 0, 0, 0))
    );
    assert_eq!(DateTime::from_unix_seconds(-62_167_219_201), None);
    let last = date(u16::MAX, 12, 31, 23, 59, 59);
    assert_eq!(
        DateTime::from_unix_seconds(last.to_unix_seconds()),
        Some(last)
    );
    assert_eq!(
        DateTime::from_unix_seconds(last.to_unix_seconds() + 1),
        None
    );
    assert_eq!(DateTime::from_unix_seconds(i64::MAX), None);
    assert_eq!(DateTime::from_unix_seconds(i64::MIN), None);
    assert_eq!(format!("{}", date(7, 3, 4, 5, 6, 7)), "0007-03-04 05:06:07");
}
