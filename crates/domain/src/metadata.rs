use serde_json::Value;

use crate::error::FieldError;

pub(crate) const MAX_KEYS: usize = 64;
pub const MAX_KEY_CHARS: usize = 64;
pub(crate) const MAX_BYTES: usize = 16 * 1024;

/// Whether a quoted JSON path (`$."key"`) names `key` exactly: no `"`,
/// `\` or control character. Filters on other keys walk the object;
/// indexes can be declared only on such keys.
pub fn is_plain_key(key: &str) -> bool {
    !key.chars().any(|c| c.is_control() || c == '"' || c == '\\')
}

/// A JSON object of at most 64 keys (each 1 to 64 characters) and at most
/// 16 KiB serialized, kept in its compact serialized form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata(String);

impl Metadata {
    /// `{}`: what an absent or `null` metadata means.
    pub(crate) fn empty() -> Self {
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
    pub fn from_stored(text: String) -> Self {
        Metadata(text)
    }

    /// The compact JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Texts of which stored metadata whose top-level `key` matches
    /// `value` (the string `value`, or a number or boolean whose JSON
    /// text is `value`) holds at least one verbatim: the member as this
    /// type writes it, `"key":"value"` or `"key":value`. A cheap
    /// substring test on the stored text can then rule rows out before
    /// any JSON is parsed; a row that holds one may still not match (the
    /// text can sit in a nested object, or be the start of a longer
    /// number), so the exact test stays.
    pub fn member_texts(key: &str, value: &str) -> Vec<String> {
        let key = serde_json::to_string(key).unwrap_or_default();
        let mut texts = vec![format!(
            "{key}:{}",
            serde_json::to_string(value).unwrap_or_default()
        )];
        if matches!(
            serde_json::from_str::<Value>(value),
            Ok(Value::Number(_) | Value::Bool(_))
        ) {
            texts.push(format!("{key}:{value}"));
        }
        texts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "-?[1-9][0-9]{0,40}(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?"
                .prop_map(|n| serde_json::from_str::<Value>(&n).unwrap()),
            "\\PC{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("\\PC{1,8}", inner), 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn accepted_metadata_reads_back_as_the_same_json(members in prop::collection::vec(("\\PC{0,70}", json_value()), 0..70)) {
            let value = Value::Object(members.into_iter().collect());
            // The rule, restated: at most 64 keys of 1 to 64 characters,
            // at most 16 KiB serialized. Anything within it is accepted.
            let object = value.as_object().unwrap();
            let within = object.len() <= MAX_KEYS
                && object.keys().all(|k| (1..=MAX_KEY_CHARS).contains(&k.chars().count()))
                && value.to_string().len() <= MAX_BYTES;
            let result = Metadata::from_json("metadata", &value);
            prop_assert_eq!(result.is_ok(), within, "{}", value);
            match result {
                Ok(metadata) => {
                    let back: Value = serde_json::from_str(metadata.as_str()).unwrap();
                    prop_assert_eq!(&back, &value);
                    prop_assert!(metadata.as_str().len() <= MAX_BYTES);
                    prop_assert!(back.as_object().unwrap().len() <= MAX_KEYS);
                }
                Err(error) => prop_assert_eq!(error.field, "metadata"),
            }
        }

        #[test]
        fn a_matching_member_is_always_found_in_the_stored_text(
            members in prop::collection::vec(("[\\PC\"\\\\\u{1}\n]{1,8}", json_value()), 1..6),
            strings in prop::collection::vec("[\\PC\"\\\\\u{1}\u{1f}\t/]{0,8}", 1..4),
        ) {
            let mut object: serde_json::Map<String, Value> = members.into_iter().collect();
            for (i, text) in strings.into_iter().enumerate() {
                object.insert(format!("s{i}\"\\"), Value::from(text));
            }
            let metadata = Metadata::from_json("metadata", &Value::Object(object.clone())).unwrap();
            for (key, value) in &object {
                // The filter's VALUE that matches this member, if any.
                let value = match value {
                    Value::String(text) => text.clone(),
                    Value::Number(_) | Value::Bool(_) => value.to_string(),
                    _ => continue,
                };
                let texts = Metadata::member_texts(key, &value);
                prop_assert!(
                    texts.iter().any(|t| metadata.as_str().contains(t.as_str())),
                    "{:?} not in {}", texts, metadata.as_str()
                );
            }
        }
    }
}
