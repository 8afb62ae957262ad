use serde_json::Value;

use super::{expect_object, parse_members, unknown_field, Metadata};
use crate::clock;
use crate::error::FieldError;

pub const CALL_STATUSES: &[&str] = &[
    "queued",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "no-answer",
    "failed",
    "canceled",
];
pub const CALL_DIRECTIONS: &[&str] = &["outbound", "inbound"];

/// A call record to store, every field checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCall {
    pub contact_id: String,
    pub status: &'static str,
    pub direction: &'static str,
    /// Milliseconds since the epoch; `None` means now.
    pub started_at: Option<i64>,
    pub duration_seconds: Option<i64>,
    pub metadata: Metadata,
}

impl NewCall {
    pub fn from_json(body: &Value) -> Result<Self, Vec<FieldError>> {
        let object = expect_object(body).map_err(|e| vec![e])?;
        let mut contact_id = None;
        let mut status = None;
        let mut direction = "outbound";
        let mut started_at = None;
        let mut duration_seconds = None;
        let mut metadata = Metadata::empty();
        let mut errors = parse_members(object, |key, value| match key {
            "contactId" => match value.as_str() {
                Some(id) if !id.is_empty() => {
                    contact_id = Some(id.to_string());
                    Ok(())
                }
                _ => Err(FieldError::new(key, "contactId must be a contact id")),
            },
            "status" => one_of(key, value, CALL_STATUSES).map(|s| status = Some(s)),
            "direction" => one_of(key, value, CALL_DIRECTIONS).map(|d| direction = d),
            "startedAt" if value.is_null() => Ok(()),
            "startedAt" => value
                .as_str()
                .and_then(clock::parse_rfc3339_ms)
                .map(|ms| started_at = Some(ms))
                .ok_or_else(|| {
                    FieldError::new(
                        key,
                        "startedAt must be an RFC 3339 time, e.g. 2026-03-01T10:00:00Z",
                    )
                }),
            "durationSeconds" if value.is_null() => Ok(()),
            "durationSeconds" => value
                .as_u64()
                .and_then(|n| i64::try_from(n).ok())
                .map(|n| duration_seconds = Some(n))
                .ok_or_else(|| {
                    FieldError::new(key, "durationSeconds must be a whole number from 0")
                }),
            "metadata" => Metadata::from_json(key, value).map(|m| metadata = m),
            _ => Err(unknown_field(key)),
        });
        if contact_id.is_none() && !object.contains_key("contactId") {
            errors.push(FieldError::new("contactId", "contactId is required"));
        }
        if status.is_none() && !object.contains_key("status") {
            errors.push(FieldError::new("status", "status is required"));
        }
        match (contact_id, status) {
            (Some(contact_id), Some(status)) if errors.is_empty() => Ok(NewCall {
                contact_id,
                status,
                direction,
                started_at,
                duration_seconds,
                metadata,
            }),
            _ => Err(errors),
        }
    }
}

fn one_of(
    field: &str,
    value: &Value,
    allowed: &[&'static str],
) -> Result<&'static str, FieldError> {
    value
        .as_str()
        .and_then(|text| allowed.iter().copied().find(|a| *a == text))
        .ok_or_else(|| {
            FieldError::new(
                field,
                format!("{field} must be one of: {}", allowed.join(", ")),
            )
        })
}
