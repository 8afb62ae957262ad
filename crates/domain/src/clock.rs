//! The one clock, and time as the API shows it: RFC 3339 UTC with
//! milliseconds and `Z`.
//!
//! Storage keeps integer milliseconds since the Unix epoch, which sort, index
//! and compare cheaply; formatting happens only at the edge. Every time the
//! server writes comes from [`now_ms`] (SQLite's own clock writes none).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// `0000-01-01T00:00:00.000Z`, the earliest time the API can print.
const MIN_MS: i64 = -62_167_219_200_000;
/// `9999-12-31T23:59:59.999Z`, the latest time the API can print.
const MAX_MS: i64 = 253_402_300_799_999;

/// The current time in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    // i64 milliseconds cover ±292 million years; the clock is far inside.
    i64::try_from(nanos.div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

/// Formats milliseconds since the epoch as `2026-03-01T10:00:00.000Z`.
pub fn format_ms(ms: i64) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| String::from("1970-01-01T00:00:00.000Z"))
}

/// Any RFC 3339 time (any offset) as nanoseconds since the epoch; `None`
/// when the text is not RFC 3339 or its UTC year is outside 0000-9999
/// (which the API could not print back).
fn parse_nanos(text: &str) -> Option<i128> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    // No conversion to UTC: near the ends of the range it would overflow
    // the calendar (`9999-12-31T23:59:59-01:00` is in the year 10000).
    let nanos = t.unix_timestamp_nanos();
    let ms = nanos.div_euclid(1_000_000);
    (i128::from(MIN_MS)..=i128::from(MAX_MS))
        .contains(&ms)
        .then_some(nanos)
}

/// Parses a time to store (`startedAt`), truncated to the millisecond.
pub(crate) fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    parse_nanos(text).and_then(|nanos| i64::try_from(nanos.div_euclid(1_000_000)).ok())
}

/// Parses a time bound (`createdAfter=T`, `createdBefore=T`) as the first
/// whole millisecond at or after `T`. Stored times are whole milliseconds,
/// so "at or after T" is "at or after this", and "strictly before T" is
/// "strictly before this", for any `T` with any number of digits.
pub(crate) fn parse_rfc3339_bound(text: &str) -> Option<i64> {
    parse_nanos(text).and_then(|nanos| {
        let ceiling = nanos.div_euclid(1_000_000) + i128::from(nanos.rem_euclid(1_000_000) != 0);
        i64::try_from(ceiling).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn formats_with_millis_and_z() {
        assert_eq!(format_ms(1_772_359_200_000), "2026-03-01T10:00:00.000Z");
        assert_eq!(format_ms(1_772_359_200_123), "2026-03-01T10:00:00.123Z");
        assert_eq!(format_ms(MAX_MS), "9999-12-31T23:59:59.999Z");
        assert_eq!(format_ms(MIN_MS), "0000-01-01T00:00:00.000Z");
    }

    #[test]
    fn parses_offsets_into_utc() {
        let ms = parse_rfc3339_ms("2026-03-01T15:30:00.5+05:30").unwrap();
        assert_eq!(format_ms(ms), "2026-03-01T10:00:00.500Z");
        assert_eq!(parse_rfc3339_ms("2026-03-01"), None);
        let before_epoch = parse_rfc3339_ms("1969-12-31T23:59:59.9995Z").unwrap();
        assert_eq!(format_ms(before_epoch), "1969-12-31T23:59:59.999Z");
        assert_eq!(parse_rfc3339_ms("yesterday"), None);
    }

    #[test]
    fn refuses_times_whose_utc_year_leaves_the_printable_range() {
        assert_eq!(parse_rfc3339_ms("9999-12-31T23:59:59-01:00"), None);
        assert_eq!(parse_rfc3339_bound("9999-12-31T23:59:59-01:00"), None);
        assert_eq!(parse_rfc3339_ms("0000-01-01T00:00:00+01:00"), None);
        assert_eq!(
            parse_rfc3339_ms("9999-12-31T23:59:59.999+00:00"),
            Some(MAX_MS)
        );
        assert_eq!(
            parse_rfc3339_bound("9999-12-31T23:59:59.9991Z"),
            Some(MAX_MS + 1)
        );
    }

    #[test]
    fn bounds_round_up_to_the_next_whole_millisecond() {
        let exact = parse_rfc3339_bound("2026-03-01T10:00:12.640Z").unwrap();
        assert_eq!(format_ms(exact), "2026-03-01T10:00:12.640Z");
        let between = parse_rfc3339_bound("2026-03-01T10:00:12.640500Z").unwrap();
        assert_eq!(format_ms(between), "2026-03-01T10:00:12.641Z");
        // Half a millisecond before the epoch rounds up to the epoch: checked
        // as a number, since "1970-01-01T00:00:00.000Z" is also what
        // `format_ms` prints for a value it cannot format.
        assert_eq!(parse_rfc3339_bound("1969-12-31T23:59:59.9995Z"), Some(0));
        let negative = parse_rfc3339_bound("1969-12-31T23:59:59.9985Z").unwrap();
        assert_eq!(negative, -1);
        assert_eq!(format_ms(negative), "1969-12-31T23:59:59.999Z");
        assert_eq!(parse_rfc3339_ms("1969-12-31T23:59:59.9985Z"), Some(-2));
    }

    #[test]
    fn formats_the_edges_of_days_months_and_the_epoch() {
        assert_eq!(format_ms(1), "1970-01-01T00:00:00.001Z");
        assert_eq!(format_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_ms(-86_400_000), "1969-12-31T00:00:00.000Z");
        assert_eq!(format_ms(1_709_251_199_999), "2024-02-29T23:59:59.999Z");
        assert_eq!(format_ms(951_868_800_000), "2000-03-01T00:00:00.000Z");
        assert_eq!(format_ms(-2_203_891_200_000), "1900-03-01T00:00:00.000Z");
        assert_eq!(format_ms(MIN_MS + 1), "0000-01-01T00:00:00.001Z");
        assert_eq!(format_ms(MAX_MS - 999), "9999-12-31T23:59:59.000Z");
    }

    /// The days from 1970-01-01 to `year-month-day` (Howard Hinnant's
    /// `days_from_civil`), computed without the `time` crate that the code
    /// under test uses.
    fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
        let year = if month <= 2 { year - 1 } else { year };
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    fn days_in_month(year: i64, month: i64) -> i64 {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    #[test]
    fn civil_days_agree_with_the_constants() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(0, 1, 1) * 86_400_000, MIN_MS);
        assert_eq!(days_from_civil(10_000, 1, 1) * 86_400_000 - 1, MAX_MS);
    }

    proptest::proptest! {
        #[test]
        fn printed_times_parse_back_and_any_text_never_panics(
            ms in MIN_MS..=MAX_MS,
            text in "\\PC{0,40}|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})",
        ) {
            let printed = format_ms(ms);
            proptest::prop_assert_eq!(parse_rfc3339_ms(&printed), Some(ms));
            proptest::prop_assert_eq!(parse_rfc3339_bound(&printed), Some(ms));
            let (at, bound) = (parse_rfc3339_ms(&text), parse_rfc3339_bound(&text));
            proptest::prop_assert_eq!(at.is_some(), bound.is_some(), "{}", text);
            if let (Some(at), Some(bound)) = (at, bound) {
                // The bound is the first whole millisecond at or after the time.
                proptest::prop_assert!(bound == at || bound == at + 1);
            }
        }

        /// Any well-formed RFC 3339 time, any offset, zero to nine
        /// fraction digits: accepted exactly when its UTC instant is in
        /// 0000-9999, as the millisecond computed here by hand.
        #[test]
        fn well_formed_times_parse_to_their_instant(
            (year, month, day) in (0i64..=9999, 1i64..=12, 1i64..=31),
            (hour, minute, second) in (0i64..24, 0i64..60, 0i64..60),
            fraction in "[0-9]{0,9}",
            offset in proptest::option::of((proptest::bool::ANY, 0i64..24, 0i64..60)),
        ) {
            let day = day.min(days_in_month(year, month));
            let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
            if !fraction.is_empty() {
                text.push('.');
                text.push_str(&fraction);
            }
            let offset_seconds = match offset {
                None => {
                    text.push('Z');
                    0
                }
                Some((east, h, m)) => {
                    let _ = write!(text, "{}{h:02}:{m:02}", if east { '+' } else { '-' });
                    (h * 3600 + m * 60) * if east { 1 } else { -1 }
                }
            };
            let fraction_nanos: i64 = format!("{fraction:0<9}").parse().unwrap();
            let seconds = days_from_civil(year, month, day) * 86_400
                + hour * 3600 + minute * 60 + second - offset_seconds;
            let nanos = i128::from(seconds) * 1_000_000_000 + i128::from(fraction_nanos);
            let floor = i64::try_from(nanos.div_euclid(1_000_000)).unwrap();
            let ceiling = floor + i64::from(nanos.rem_euclid(1_000_000) != 0);
            if (MIN_MS..=MAX_MS).contains(&floor) {
                proptest::prop_assert_eq!(parse_rfc3339_ms(&text), Some(floor), "{}", text);
                proptest::prop_assert_eq!(parse_rfc3339_bound(&text), Some(ceiling), "{}", text);
                let printed = format_ms(floor);
                proptest::prop_assert_eq!(parse_rfc3339_ms(&printed), Some(floor));
            } else {
                proptest::prop_assert_eq!(parse_rfc3339_ms(&text), None, "{}", text);
                proptest::prop_assert_eq!(parse_rfc3339_bound(&text), None, "{}", text);
            }
        }
    }
}
