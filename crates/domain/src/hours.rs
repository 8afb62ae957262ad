//! Calling hours: when, in the callee's own time, an organization's calls
//! may be placed (CONTRACT.md, "Do-not-call and calling hours").

use serde_json::Value;

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use super::{expect_object, unknown_fields};
use crate::clock;
use crate::error::{FieldError, Rejection};
use crate::query::RawQuery;
use crate::zones::ZoneSet;

/// How far ahead `nextCallableAt` looks.
const LOOK_AHEAD_DAYS: i64 = 7;

/// Local times from `start` up to, not including, `end` (minutes after
/// midnight; `end` may be 1440, midnight at the day's end), on `days`
/// (ISO weekdays, Monday = 1, as a bit set: bit `d` for day `d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallingHours {
    pub start: u16,
    pub end: u16,
    pub days: u8,
}

impl Default for CallingHours {
    /// 09:00 to 21:00, every day.
    fn default() -> Self {
        CallingHours {
            start: 9 * 60,
            end: 21 * 60,
            days: 0b1111_1110,
        }
    }
}

impl CallingHours {
    /// Reads `{"start":"09:00","end":"21:00","days":[1,2,3,4,5]}`; every
    /// field is required, and each broken rule is reported.
    pub fn from_json(body: &Value) -> Result<CallingHours, Vec<FieldError>> {
        let object = expect_object(body).map_err(|e| vec![e])?;
        let mut errors = unknown_fields(object, &["start", "end", "days"]);
        let time = |field: &str, errors: &mut Vec<FieldError>| -> Option<u16> {
            let parsed = object
                .get(field)
                .and_then(Value::as_str)
                .and_then(parse_time)
                .filter(|&minutes| field == "end" || minutes < 24 * 60);
            if parsed.is_none() {
                let upper = if field == "end" { "24:00" } else { "23:59" };
                errors.push(FieldError::new(
                    field,
                    format!("{field} must be a local time HH:MM from 00:00 to {upper}"),
                ));
            }
            parsed
        };
        let start = time("start", &mut errors);
        let end = time("end", &mut errors);
        if let (Some(start), Some(end)) = (start, end) {
            if start >= end {
                errors.push(FieldError::new("end", "end must be after start"));
            }
        }
        let days = parse_days(object.get("days"))
            .map_err(|e| errors.push(e))
            .ok();
        match (start, end, days, errors.is_empty()) {
            (Some(start), Some(end), Some(days), true) => Ok(CallingHours { start, end, days }),
            _ => Err(errors),
        }
    }

    /// `HH:MM` of `minutes` after midnight.
    pub fn format_time(minutes: u16) -> String {
        format!("{:02}:{:02}", minutes / 60, minutes % 60)
    }

    /// The days, in order.
    pub fn day_list(self) -> Vec<u8> {
        (1..=7).filter(|d| self.days & (1 << d) != 0).collect()
    }

    /// Whether `at` is inside the hours in `zone`: a local time from
    /// `start` up to, not including, `end`, on one of the days.
    pub fn inside_in(self, zone: &TimeZone, at: Timestamp) -> bool {
        let local = zone.to_datetime(at);
        let day = local.weekday().to_monday_one_offset();
        let second = i32::from(local.hour()) * 3600
            + i32::from(local.minute()) * 60
            + i32::from(local.second());
        self.days & (1 << day) != 0
            && second >= i32::from(self.start) * 60
            && second < i32::from(self.end) * 60
    }

    /// Whether `at` is inside the hours in every zone of `zones`.
    pub fn inside(self, zones: ZoneSet, at: Timestamp) -> bool {
        zones
            .time_zones()
            .iter()
            .all(|zone| self.inside_in(zone, at))
    }

    /// The first moment at or after `at` inside the hours in every zone of
    /// `zones`, if one comes within seven days.
    ///
    /// Such a moment, when it is not `at`, begins a stretch inside: one of
    /// the zones has just reached `start` on one of the days, or has just
    /// jumped into the hours at a daylight-saving transition. Those
    /// instants are the only candidates, checked in order.
    pub fn next_inside(self, zones: ZoneSet, at: Timestamp) -> Option<Timestamp> {
        if self.inside(zones, at) {
            return Some(at);
        }
        // Past the last representable instant there is nothing to find.
        let limit = at.checked_add((LOOK_AHEAD_DAYS * 24).hours()).ok()?;
        let mut candidates: Vec<Timestamp> = Vec::new();
        let (start_hour, start_minute) = (self.start / 60, self.start % 60);
        for zone in zones.time_zones() {
            let today = zone.to_datetime(at).date();
            for offset in -1..=LOOK_AHEAD_DAYS + 1 {
                let Ok(day) = today.checked_add(offset.days()) else {
                    continue;
                };
                if self.days & (1 << day.weekday().to_monday_one_offset()) == 0 {
                    continue;
                }
                let local = day.at(
                    i8::try_from(start_hour).expect("hour"),
                    i8::try_from(start_minute).expect("minute"),
                    0,
                    0,
                );
                if let Ok(instant) = zone.to_ambiguous_timestamp(local).compatible() {
                    candidates.push(instant);
                }
            }
            candidates.extend(
                zone.following(at)
                    .map(|transition| transition.timestamp())
                    .take_while(|&instant| instant <= limit),
            );
        }
        candidates.retain(|&instant| instant > at && instant <= limit);
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .find(|&instant| self.inside(zones, instant))
    }
}

/// The moment a callability is asked for: `?at=T` (RFC 3339), default
/// now, in milliseconds; any other parameter is refused.
pub fn callability_at(mut query: RawQuery) -> Result<i64, Rejection> {
    let at = match query.take("at") {
        None => clock::now_ms(),
        Some(text) => clock::parse_rfc3339_ms(&text).ok_or_else(|| {
            Rejection::bad_parameter(
                "at",
                "at must be an RFC 3339 time, e.g. 2026-03-01T10:00:00Z",
            )
        })?,
    };
    query.finish()?;
    Ok(at)
}

/// `HH:MM` as minutes after midnight, up to 24:00.
fn parse_time(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes): (u16, u16) = (hours.parse().ok()?, minutes.parse().ok()?);
    (minutes < 60 && (hours < 24 || (hours == 24 && minutes == 0))).then_some(hours * 60 + minutes)
}

fn parse_days(value: Option<&Value>) -> Result<u8, FieldError> {
    let refuse = || {
        FieldError::new(
            "days",
            "days must list 1 to 7 distinct ISO weekdays (Monday = 1)",
        )
    };
    let items = value.and_then(Value::as_array).ok_or_else(refuse)?;
    if items.is_empty() || items.len() > 7 {
        return Err(refuse());
    }
    let mut days = 0u8;
    for item in items {
        let day = item
            .as_u64()
            .filter(|d| (1..=7).contains(d))
            .ok_or_else(refuse)?;
        let bit = 1u8 << day;
        if days & bit != 0 {
            return Err(refuse());
        }
        days |= bit;
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PhoneNumber;
    use serde_json::json;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn zones(number: &str) -> ZoneSet {
        PhoneNumber::parse(number).unwrap().zones()
    }

    #[test]
    fn inside_means_start_up_to_not_including_end_on_a_listed_day() {
        let hours = CallingHours::default();
        let india = zones("+919876543210");
        // 09:00 and 20:59:59 in Kolkata (UTC+5:30) are inside; 21:00 is not.
        assert!(hours.inside(india, at("2026-12-07T03:30:00Z")));
        assert!(hours.inside(india, at("2026-12-07T15:29:59Z")));
        assert!(!hours.inside(india, at("2026-12-07T15:30:00Z")));
        assert!(!hours.inside(india, at("2026-12-07T03:29:59Z")));
        // Weekdays only: Sunday 7 December 2026 is outside.
        let weekdays = CallingHours {
            days: 0b0011_1110,
            ..hours
        };
        assert!(!weekdays.inside(india, at("2026-12-06T06:00:00Z")));
        assert!(weekdays.inside(india, at("2026-12-07T06:00:00Z")));
    }

    #[test]
    fn every_zone_of_a_number_must_be_inside() {
        let hours = CallingHours::default();
        // All four UK zones share London's time: 08:59 is outside in all.
        let uk = zones("+447911123456");
        assert_eq!(uk.time_zones().len(), 4);
        assert!(!hours.inside(uk, at("2026-12-07T08:59:00Z")));
        assert!(hours.inside(uk, at("2026-12-07T09:00:00Z")));
        // +1 800 is toll free, in every zone of the North American plan,
        // from Guam (UTC+10) to St John's (UTC-3:30): 09:00 to 21:00 holds
        // in all of them only from 09:00 in Guam to 21:00 in St John's.
        let toll_free = zones("+18005550199");
        assert!(toll_free.names().contains(&"Pacific/Guam"));
        assert_eq!(
            hours.next_inside(toll_free, at("2026-12-07T12:00:00Z")),
            Some(at("2026-12-07T23:00:00Z"))
        );
        assert!(hours.inside(toll_free, at("2026-12-08T00:29:59Z")));
        assert!(!hours.inside(toll_free, at("2026-12-08T00:30:00Z")));
        // With 10:00 to 20:00 it never holds everywhere at once.
        let shorter = CallingHours {
            start: 600,
            end: 1200,
            ..hours
        };
        assert_eq!(
            shorter.next_inside(toll_free, at("2026-12-07T12:00:00Z")),
            None
        );
    }

    #[test]
    fn the_next_moment_is_looked_for_over_the_whole_next_week() {
        // Mondays 09:00 to 09:01, judged in UTC: a minute after this
        // Monday's window, the next is 167 h 59 min away.
        let once_a_week = CallingHours {
            start: 540,
            end: 541,
            days: 0b0000_0010,
        };
        assert_eq!(
            once_a_week.next_inside(ZoneSet::UNKNOWN, at("2026-12-07T09:01:00Z")),
            Some(at("2026-12-14T09:00:00Z"))
        );
        assert_eq!(
            once_a_week.next_inside(ZoneSet::UNKNOWN, at("2026-12-07T09:00:30Z")),
            Some(at("2026-12-07T09:00:30Z"))
        );
    }

    #[test]
    fn the_next_moment_inside_respects_days_and_daylight_saving() {
        let hours = CallingHours::default();
        let new_york = zones("+12125550123");
        // 06:00 in New York on a Monday: next is 09:00 local, 14:00 UTC.
        assert_eq!(
            hours.next_inside(new_york, at("2026-12-07T11:00:00Z")),
            Some(at("2026-12-07T14:00:00Z"))
        );
        // Inside already: `at` itself.
        let now = at("2026-12-07T15:00:00.250Z");
        assert_eq!(hours.next_inside(new_york, now), Some(now));
        // Saturday night with weekdays only: Monday 09:00 local.
        let weekdays = CallingHours {
            days: 0b0011_1110,
            ..hours
        };
        assert_eq!(
            weekdays.next_inside(new_york, at("2026-12-05T23:00:00Z")),
            Some(at("2026-12-07T14:00:00Z"))
        );
        // Clocks go forward on 8 March 2026 at 02:00: 09:00 EDT is 13:00 UTC.
        assert_eq!(
            hours.next_inside(new_york, at("2026-03-08T05:00:00Z")),
            Some(at("2026-03-08T13:00:00Z"))
        );
        // Hours from 02:30 on the spring-forward day: the first inside
        // moment is 03:00 EDT, the transition itself (02:30 never happens).
        let early = CallingHours {
            start: 150,
            end: 300,
            days: 0b1111_1110,
        };
        assert_eq!(
            early.next_inside(new_york, at("2026-03-08T06:00:00Z")),
            Some(at("2026-03-08T07:00:00Z"))
        );
    }

    #[test]
    fn hours_are_read_strictly() {
        let hours =
            CallingHours::from_json(&json!({"start": "08:30", "end": "24:00", "days": [1, 5, 7]}))
                .unwrap();
        assert_eq!((hours.start, hours.end), (510, 1440));
        assert_eq!(hours.day_list(), [1, 5, 7]);
        assert_eq!(CallingHours::format_time(hours.end), "24:00");
        assert_eq!(CallingHours::default().day_list(), [1, 2, 3, 4, 5, 6, 7]);
        for (body, field) in [
            (
                json!({"start": "9:00", "end": "21:00", "days": [1]}),
                "start",
            ),
            (
                json!({"start": "24:00", "end": "24:00", "days": [1]}),
                "start",
            ),
            (
                json!({"start": "09:00", "end": "24:30", "days": [1]}),
                "end",
            ),
            (
                json!({"start": "21:00", "end": "09:00", "days": [1]}),
                "end",
            ),
            (
                json!({"start": "09:00", "end": "21:00", "days": []}),
                "days",
            ),
            (
                json!({"start": "09:00", "end": "21:00", "days": [1, 1]}),
                "days",
            ),
            (
                json!({"start": "09:00", "end": "21:00", "days": [0]}),
                "days",
            ),
            (json!({"start": "09:00", "end": "21:00"}), "days"),
            (
                json!({"start": "09:00", "end": "21:00", "days": [1], "tz": "UTC"}),
                "tz",
            ),
        ] {
            let errors = CallingHours::from_json(&body).unwrap_err();
            assert!(
                errors.iter().any(|e| e.field == field),
                "{body}: {errors:?}"
            );
        }
    }
}
