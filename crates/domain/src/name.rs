use serde_json::Value;

use crate::error::FieldError;

/// The longest name, in characters (Unicode scalar values).
pub(crate) const MAX_NAME_CHARS: usize = 200;

/// A trimmed name of 1 to 200 characters, in any script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Parses the JSON value of the field called `field`.
    pub fn from_json(field: &str, value: &Value) -> Result<Self, FieldError> {
        let text = value
            .as_str()
            .ok_or_else(|| FieldError::new(field, format!("{field} must be a string")))?;
        if text.trim().chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                format!("{field} must not contain control characters"),
            ));
        }
        Self::parse(text).ok_or_else(|| {
            FieldError::new(
                field,
                format!("{field} must be 1 to {MAX_NAME_CHARS} characters long after trimming"),
            )
        })
    }

    /// Trims `text`; `None` when nothing or too much is left, or when it
    /// holds control characters.
    pub fn parse(text: &str) -> Option<Self> {
        let trimmed = text.trim();
        if trimmed.chars().any(char::is_control) {
            return None;
        }
        let chars = trimmed.chars().count();
        (1..=MAX_NAME_CHARS)
            .contains(&chars)
            .then(|| Name(trimmed.to_string()))
    }

    /// A value read back from storage, where only parsed values go.
    pub fn from_stored(text: String) -> Self {
        Name(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_counts_characters_not_bytes() {
        assert_eq!(
            Name::parse("  Priya Sharma ").unwrap().as_str(),
            "Priya Sharma"
        );
        assert!(Name::parse("   ").is_none());
        assert!(Name::parse(&"प".repeat(200)).is_some());
        assert!(Name::parse(&"प".repeat(201)).is_none());
        assert!(Name::parse("a\u{0}b").is_none());
    }
}
