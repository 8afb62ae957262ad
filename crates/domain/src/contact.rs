use serde_json::Value;

use super::{expect_object, parse_members, unknown_field, Language, Metadata, Name, PhoneNumber};
use crate::error::FieldError;

/// Whatever a contact body set, each field parsed. `None` means absent;
/// `language: Some(None)` means an explicit `null` (clear it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactFields {
    pub name: Option<Name>,
    pub phone: Option<PhoneNumber>,
    pub language: Option<Option<Language>>,
    pub metadata: Option<Metadata>,
}

impl ContactFields {
    /// Parses a create, patch or bulk item body, collecting every error.
    pub fn from_json(body: &Value) -> Result<Self, Vec<FieldError>> {
        let object = expect_object(body).map_err(|e| vec![e])?;
        let mut fields = ContactFields::default();
        let errors = parse_members(object, |key, value| match key {
            "name" => Name::from_json(key, value).map(|n| fields.name = Some(n)),
            "phoneNumber" => PhoneNumber::from_json(key, value).map(|p| fields.phone = Some(p)),
            "language" if value.is_null() => {
                fields.language = Some(None);
                Ok(())
            }
            "language" => Language::from_json(key, value).map(|l| fields.language = Some(Some(l))),
            "metadata" => Metadata::from_json(key, value).map(|m| fields.metadata = Some(m)),
            _ => Err(unknown_field(key)),
        });
        if errors.is_empty() {
            Ok(fields)
        } else {
            Err(errors)
        }
    }
}

/// A contact to create: name and phone number present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewContact {
    pub name: Name,
    pub phone: PhoneNumber,
    pub language: Option<Language>,
    pub metadata: Metadata,
}

impl NewContact {
    /// Parses a create body; every broken rule is reported, a missing
    /// required field among them.
    pub fn from_json(body: &Value) -> Result<Self, Vec<FieldError>> {
        match ContactFields::from_json(body) {
            Ok(fields) => Self::from_fields(fields),
            Err(mut errors) => {
                if let Some(object) = body.as_object() {
                    for field in ["name", "phoneNumber"] {
                        if !object.contains_key(field) {
                            errors.push(FieldError::new(field, format!("{field} is required")));
                        }
                    }
                }
                Err(errors)
            }
        }
    }

    /// Checks the required fields are there.
    pub(crate) fn from_fields(fields: ContactFields) -> Result<Self, Vec<FieldError>> {
        match (fields.name, fields.phone) {
            (Some(name), Some(phone)) => Ok(NewContact {
                name,
                phone,
                language: fields.language.flatten(),
                metadata: fields.metadata.unwrap_or_else(Metadata::empty),
            }),
            (name, phone) => {
                let mut errors = Vec::new();
                if name.is_none() {
                    errors.push(FieldError::new("name", "name is required"));
                }
                if phone.is_none() {
                    errors.push(FieldError::new("phoneNumber", "phoneNumber is required"));
                }
                Err(errors)
            }
        }
    }
}

/// One item of a bulk upsert: validated like a create, but remembering
/// which optional fields it carried (absent ones keep their stored values
/// when the number is already known).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkItem {
    pub name: Name,
    pub phone: PhoneNumber,
    pub language: Option<Option<Language>>,
    pub metadata: Option<Metadata>,
}

impl BulkItem {
    pub fn from_json(item: &Value) -> Result<Self, Vec<FieldError>> {
        let fields = ContactFields::from_json(item).map_err(|errors| {
            // Reported like a create: a missing required field too.
            NewContact::from_json(item).err().unwrap_or(errors)
        })?;
        let language = fields.language.clone();
        let metadata = fields.metadata.clone();
        let new = NewContact::from_fields(fields)?;
        Ok(BulkItem {
            name: new.name,
            phone: new.phone,
            language,
            metadata,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_every_error_in_body_order() {
        let errors = ContactFields::from_json(&json!({
            "phone": "+919876543210", "name": "", "id": "x"
        }))
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["phone", "name", "id"]);
    }

    #[test]
    fn requires_name_and_phone_to_create() {
        let errors = NewContact::from_json(&json!({"language": "hi-IN"})).unwrap_err();
        assert_eq!(errors.len(), 2);
        let ok = NewContact::from_json(&json!({"name": "A", "phoneNumber": "+919876543210"}));
        assert_eq!(ok.unwrap().metadata.as_str(), "{}");
    }
}
