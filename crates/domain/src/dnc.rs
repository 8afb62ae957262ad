//! The do-not-call list: the body of `POST /v1/do-not-call` (CONTRACT.md,
//! "Do-not-call and calling hours").

use serde_json::Value;

use super::{expect_object, optional_text, unknown_fields, PhoneNumber};
use crate::error::{FieldError, Rejection};

/// The most numbers one request may add.
pub const MAX_NUMBERS: usize = 1000;
const MAX_REASON_CHARS: usize = 200;
const MAX_SOURCE_CHARS: usize = 100;

/// What `POST /v1/do-not-call` asks: each number parsed (or why not, by
/// its index), and the reason and source every entry gets.
#[derive(Clone, Debug, PartialEq)]
pub struct DncRequest {
    pub numbers: Vec<Result<PhoneNumber, FieldError>>,
    pub reason: Option<String>,
    pub source: Option<String>,
}

impl DncRequest {
    /// Reads the body: `phoneNumbers` (1 to 1,000), `reason`, `source`.
    /// Over 1,000 numbers is 413; a body that breaks a rule of its own is
    /// 422; a number that is not one goes into its item's error.
    pub fn from_json(body: &Value) -> Result<DncRequest, Rejection> {
        let object = expect_object(body).map_err(|e| Rejection::validation(vec![e]))?;
        let mut errors = unknown_fields(object, &["phoneNumbers", "reason", "source"]);
        let mut take_text = |field: &str, max: usize| match object.get(field) {
            None => None,
            Some(value) => optional_text(field, value, max)
                .map_err(|e| errors.push(e))
                .ok()
                .flatten(),
        };
        let reason = take_text("reason", MAX_REASON_CHARS);
        let source = take_text("source", MAX_SOURCE_CHARS);
        let numbers = match object.get("phoneNumbers") {
            Some(Value::Array(items)) if items.len() > MAX_NUMBERS => {
                return Err(Rejection::payload_too_large(format!(
                    "phoneNumbers holds {} numbers; at most {MAX_NUMBERS} a request",
                    items.len()
                )));
            }
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|item| PhoneNumber::from_json("phoneNumber", item))
                .collect(),
            Some(Value::Array(_)) => {
                errors.push(FieldError::new(
                    "phoneNumbers",
                    "phoneNumbers must hold at least one number",
                ));
                Vec::new()
            }
            Some(_) => {
                errors.push(FieldError::new(
                    "phoneNumbers",
                    "phoneNumbers must be an array of phone numbers",
                ));
                Vec::new()
            }
            None => {
                errors.push(FieldError::new("phoneNumbers", "phoneNumbers is required"));
                Vec::new()
            }
        };
        if errors.is_empty() {
            Ok(DncRequest {
                numbers,
                reason,
                source,
            })
        } else {
            Err(Rejection::validation(errors))
        }
    }
}

/// The numbers a do-not-call file holds, as written: a CSV whose header
/// names a phone column (`phone`, `mobile`, `phone_number`,
/// `phoneNumber`... as CSV imports read it; the header is no number), or
/// else one number a line. Blank lines are skipped.
pub fn numbers_in_file(bytes: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|e| format!("the file is not UTF-8 text: {e}"))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| e.to_string())?.clone();
    let column = header.iter().position(|name| {
        matches!(
            crate::import::normalized(name).as_str(),
            "phonenumber" | "phone" | "mobile"
        )
    });
    let Some(column) = column else {
        return Ok(text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_string)
            .collect());
    };
    let mut numbers = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        if let Some(cell) = record.get(column).map(str::trim).filter(|c| !c.is_empty()) {
            numbers.push(cell.to_string());
        }
    }
    Ok(numbers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_a_number_a_line_or_a_csv_with_a_phone_column() {
        assert_eq!(
            numbers_in_file(b"+14155550101\n\n +919876543210 \n").unwrap(),
            ["+14155550101", "+919876543210"]
        );
        assert_eq!(
            numbers_in_file(b"Name,Phone Number\nAsha,+14155550101\n\"Rao, R\",+919876543210\n")
                .unwrap(),
            ["+14155550101", "+919876543210"]
        );
    }
}
