use serde_json::Value;

use crate::error::FieldError;

pub const MAX_KEYS: usize = 64;
pub const MAX_KEY_CHARS: usize = 64;
pub const MAX_BYTES: usize = 16 * 1024;

/// A JSON object of at most 64 keys (each 1 to 64 characters) and at most
/// 16 KiB serialized, kept in its compact serialized form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata(String);

impl Metadata {
    /// `{}`: what an absent or `null` metadata means.
    pub fn empty() -> Self {
        Metadata(String::from("{}"))
    }

    pub fn from_json(field: &str, value: &Value) -> Result<Self, FieldError> {
        let object = match value {
            Value::Null => return Ok(Self::empty()),
            Value::Object(object) => object,
            _ => return Err(FieldError::new(field, format!("{field} must be an object"))),
        };
        if object.len() > MAX_KEYS {
            return Err(FieldError::new(
                field,
                format!("{field} must have at most {MAX_KEYS} keys"),
            ));
        }
        if let Some(key) = object
            .keys()
            .find(|k| !(1..=MAX_KEY_CHARS).contains(&k.chars().count()))
        {
            let shown: String = key.chars().take(20).collect();
            return Err(FieldError::new(
                field,
                format!("{field} keys must be 1 to {MAX_KEY_CHARS} characters (got \"{shown}\")"),
            ));
        }
        let text = serde_json::to_string(value).unwrap_or_default();
        if text.len() > MAX_BYTES {
            return Err(FieldError::new(
                field,
                format!("{field} must be at most {MAX_BYTES} bytes when serialized"),
            ));
        }
        Ok(Metadata(text))
    }

    /// Metadata read back from storage, where only parsed objects go.
    pub(crate) fn from_stored(text: String) -> Self {
        Metadata(text)
    }

    /// The compact JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}
