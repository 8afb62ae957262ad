use serde_json::Value;

use super::{expect_object, parse_members, unknown_field, Metadata};
use crate::clock;
use crate::error::FieldError;

/// Where a call stands, as the platform names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallStatus {
    Queued,
    Ringing,
    InProgress,
    Completed,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
}

impl CallStatus {
    pub(crate) const ALL: [CallStatus; 8] = [
        CallStatus::Queued,
        CallStatus::Ringing,
        CallStatus::InProgress,
        CallStatus::Completed,
        CallStatus::Busy,
        CallStatus::NoAnswer,
        CallStatus::Failed,
        CallStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Ringing => "ringing",
            CallStatus::InProgress => "in-progress",
            CallStatus::Completed => "completed",
            CallStatus::Busy => "busy",
            CallStatus::NoAnswer => "no-answer",
            CallStatus::Failed => "failed",
            CallStatus::Canceled => "canceled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Which way a call went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CallDirection {
    #[default]
    Outbound,
    Inbound,
}

impl CallDirection {
    pub(crate) const ALL: [CallDirection; 2] = [CallDirection::Outbound, CallDirection::Inbound];

    pub fn as_str(self) -> &'static str {
        match self {
            CallDirection::Outbound => "outbound",
            CallDirection::Inbound => "inbound",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

/// A call record to store, every field checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCall {
    pub contact_id: String,
    pub status: CallStatus,
    pub direction: CallDirection,
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
        let mut direction = CallDirection::default();
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
            "status" => one_of(
                key,
                value,
                CallStatus::parse,
                CallStatus::ALL.map(CallStatus::as_str),
            )
            .map(|s| status = Some(s)),
            "direction" => one_of(
                key,
                value,
                CallDirection::parse,
                CallDirection::ALL.map(CallDirection::as_str),
            )
            .map(|d| direction = d),
            "startedAt" | "durationSeconds" if value.is_null() => Ok(()),
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

/// The value of `field` read by `parse`, or a message listing `allowed`.
fn one_of<T, const N: usize>(
    field: &str,
    value: &Value,
    parse: fn(&str) -> Option<T>,
    allowed: [&str; N],
) -> Result<T, FieldError> {
    value.as_str().and_then(parse).ok_or_else(|| {
        FieldError::new(
            field,
            format!("{field} must be one of: {}", allowed.join(", ")),
        )
    })
}
