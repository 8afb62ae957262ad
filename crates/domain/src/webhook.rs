//! Webhook subscriptions to the changes feed: the bodies of `POST` and
//! `PATCH /v1/webhooks` (CONTRACT.md, "Changes feed").

use serde_json::Value;

use super::{expect_object, parse_members, unknown_field};
use crate::changes::TypeSet;
use crate::error::FieldError;
use crate::import::http_url;

/// The longest description, in characters.
const MAX_DESCRIPTION_CHARS: usize = 500;

/// Where a subscription stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookStatus {
    /// Deliveries are made.
    Active,
    /// Stopped by a `PATCH`; the position stays.
    Paused,
    /// Stopped by contactsd after 24 hours of failures, until a `PATCH`
    /// sets it `active` again.
    Disabled,
}

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookStatus::Active => "active",
            WebhookStatus::Paused => "paused",
            WebhookStatus::Disabled => "disabled",
        }
    }

    /// The status stored as `text` (`disabled` for anything unknown).
    pub fn from_stored(text: &str) -> WebhookStatus {
        match text {
            "active" => WebhookStatus::Active,
            "paused" => WebhookStatus::Paused,
            _ => WebhookStatus::Disabled,
        }
    }
}

/// Whatever a subscription body set. `description: Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookFields {
    pub url: Option<String>,
    pub types: Option<TypeSet>,
    pub description: Option<Option<String>>,
    /// Only `PATCH` may set it (`active` or `paused`).
    pub status: Option<WebhookStatus>,
}

impl WebhookFields {
    /// A `PATCH` body: `url`, `types`, `description`, `status`.
    pub fn from_json(body: &Value) -> Result<Self, Vec<FieldError>> {
        Self::parse(body, true)
    }

    /// A `POST` body: `url` (required), `types`, `description`.
    pub fn from_json_for_create(body: &Value) -> Result<Self, Vec<FieldError>> {
        let mut fields = Self::parse(body, false);
        let missing = body.as_object().is_some_and(|o| !o.contains_key("url"));
        if missing {
            let required = FieldError::new("url", "url is required");
            match &mut fields {
                Ok(_) => return Err(vec![required]),
                Err(errors) => errors.push(required),
            }
        }
        fields
    }

    fn parse(body: &Value, with_status: bool) -> Result<Self, Vec<FieldError>> {
        let object = expect_object(body).map_err(|e| vec![e])?;
        let mut fields = WebhookFields::default();
        let errors = parse_members(object, |key, value| match key {
            "url" => match value {
                Value::String(text) => http_url("url", text).map(|url| fields.url = Some(url)),
                _ => Err(FieldError::new(
                    "url",
                    "url must be an absolute http or https URL, e.g. https://example.com/hooks",
                )),
            },
            "types" => parse_types(value).map(|types| fields.types = Some(types)),
            "description" => parse_description(value).map(|d| fields.description = Some(d)),
            "status" if with_status => match value.as_str() {
                Some("active") => {
                    fields.status = Some(WebhookStatus::Active);
                    Ok(())
                }
                Some("paused") => {
                    fields.status = Some(WebhookStatus::Paused);
                    Ok(())
                }
                _ => Err(FieldError::new("status", "status must be active or paused")),
            },
            _ => Err(unknown_field(key)),
        });
        if errors.is_empty() {
            Ok(fields)
        } else {
            Err(errors)
        }
    }
}

fn parse_types(value: &Value) -> Result<TypeSet, FieldError> {
    let words = value.as_array().and_then(|items| {
        items
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<&str>>>()
    });
    let Some(words) = words else {
        return Err(FieldError::new(
            "types",
            "types must be an array of contact, audience, membership, call",
        ));
    };
    TypeSet::parse("types", words).map_err(|rejection| {
        rejection
            .details
            .into_iter()
            .next()
            .unwrap_or_else(|| FieldError::new("types", rejection.message))
    })
}

fn parse_description(value: &Value) -> Result<Option<String>, FieldError> {
    super::optional_text("description", value, MAX_DESCRIPTION_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::ChangeType;
    use serde_json::json;

    #[test]
    fn create_needs_an_http_url_and_takes_known_types() {
        let fields = WebhookFields::from_json_for_create(
            &json!({"url": "https://example.com/in", "types": ["contact", "call"]}),
        )
        .unwrap();
        let types = fields.types.unwrap();
        assert!(types.has(ChangeType::Call) && !types.has(ChangeType::Audience));
        for (body, field) in [
            (json!({}), "url"),
            (json!({"url": "ftp://example.com"}), "url"),
            (json!({"url": "/relative"}), "url"),
            (
                json!({"url": "https://e.com", "types": ["person"]}),
                "types",
            ),
            (json!({"url": "https://e.com", "types": []}), "types"),
            (json!({"url": "https://e.com", "types": "contact"}), "types"),
            (
                json!({"url": "https://e.com", "status": "paused"}),
                "status",
            ),
            (json!({"url": "https://e.com", "secret": "x"}), "secret"),
        ] {
            let errors = WebhookFields::from_json_for_create(&body).unwrap_err();
            assert_eq!(errors[0].field, field, "{body}");
        }
    }

    #[test]
    fn patch_may_pause_or_activate_but_not_disable() {
        let fields =
            WebhookFields::from_json(&json!({"status": "paused", "description": null})).unwrap();
        assert_eq!(fields.status, Some(WebhookStatus::Paused));
        assert_eq!(fields.description, Some(None));
        assert!(WebhookFields::from_json(&json!({"status": "disabled"})).is_err());
    }
}
