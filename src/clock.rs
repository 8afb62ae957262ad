//! Time as the API shows it: RFC 3339 UTC with milliseconds and `Z`.
//!
//! Storage keeps integer milliseconds since the Unix epoch, which sort, index
//! and compare cheaply; formatting happens only at the edge.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// The current time in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    to_ms(OffsetDateTime::now_utc())
}

fn to_ms(t: OffsetDateTime) -> i64 {
    // i64 milliseconds cover ±292 million years; the cast cannot truncate for
    // any time `time` can represent.
    t.unix_timestamp_nanos().div_euclid(1_000_000) as i64
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

/// Parses any RFC 3339 time (any offset) into milliseconds since the epoch,
/// truncating below the millisecond. `None` when the text is not RFC 3339 or
/// the year is outside 0000-9999 (which the API could not print back).
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let utc = t.to_offset(time::UtcOffset::UTC);
    (0..=9999).contains(&utc.year()).then(|| to_ms(utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_millis_and_z() {
        assert_eq!(format_ms(1_772_359_200_000), "2026-03-01T10:00:00.000Z");
        assert_eq!(format_ms(1_772_359_200_123), "2026-03-01T10:00:00.123Z");
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
}
