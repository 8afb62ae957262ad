use serde_json::Value;

use super::{expect_object, parse_members, unknown_field, Name};
use crate::error::FieldError;

/// The longest audience description, in characters.
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 2000;

/// Whatever an audience body set. `description: Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AudienceFields {
    pub name: Option<Name>,
    pub description: Option<Option<String>>,
}

impl AudienceFields {
    pub fn from_json(body: &Value) -> Result<Self, Vec<FieldError>> {
        let object = expect_object(body).map_err(|e| vec![e])?;
        let mut fields = AudienceFields::default();
        let errors = parse_members(object, |key, value| match key {
            "name" => Name::from_json(key, value).map(|n| fields.name = Some(n)),
            "description" => parse_description(value).map(|d| fields.description = Some(d)),
            _ => Err(unknown_field(key)),
        });
        if errors.is_empty() {
            Ok(fields)
        } else {
            Err(errors)
        }
    }

    /// Parses a create body: `name` is required, and reported missing
    /// alongside any other broken field.
    pub fn from_json_for_create(body: &Value) -> Result<(Name, Option<String>), Vec<FieldError>> {
        match Self::from_json(body) {
            Ok(fields) => fields.require_name(),
            Err(mut errors) => {
                if body.as_object().is_some_and(|o| !o.contains_key("name")) {
                    errors.push(FieldError::new("name", "name is required"));
                }
                Err(errors)
            }
        }
    }

    /// For a create: `name` is required.
    pub(crate) fn require_name(self) -> Result<(Name, Option<String>), Vec<FieldError>> {
        match self.name {
            Some(name) => Ok((name, self.description.flatten())),
            None => Err(vec![FieldError::new("name", "name is required")]),
        }
    }
}

fn parse_description(value: &Value) -> Result<Option<String>, FieldError> {
    super::optional_text("description", value, MAX_DESCRIPTION_CHARS)
}
