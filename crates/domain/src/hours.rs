//! Calling hours: when, in the callee's own time, an organization's calls
//! may be placed (CONTRACT.md, "Do-not-call and calling hours").

use serde_json::Value;

use super::{expect_object, unknown_fields};
use crate::error::FieldError;

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
    use serde_json::json;

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
