//! What a request got wrong, said without HTTP.
//!
//! Parsing at the edge fails with a [`Rejection`]: its [`RejectionKind`] says
//! whether the request could not be read (the server answers 400), broke a
//! rule (422) or was too large (413); the server crate alone turns it into
//! the contract's error answer.

use serde::Serialize;
use serde_json::Value;

/// The most entries `details` lists; the message says how many more broke.
pub const MAX_DETAILS: usize = 100;

/// One rule broken by one field of the body or one query parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The body field (`phoneNumber`, `contacts.3.name`), query parameter
    /// or header.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Which way a request is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectionKind {
    /// Cannot be read: not JSON, a query parameter of the wrong type.
    BadRequest,
    /// Well-formed, but breaks the rules in `details`.
    Invalid,
    /// Over a size or count limit.
    TooLarge,
    /// A bug: a state parsing should never reach.
    Internal,
}

/// A request refused at the edge, with what to tell the client.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    pub kind: RejectionKind,
    pub message: String,
    pub details: Vec<FieldError>,
    /// Named top-level fields of the answer, such as a CSV `line`.
    pub extra: Vec<(String, Value)>,
    /// What went wrong inside, for the log only (never the answer).
    pub cause: Option<String>,
}

impl Rejection {
    fn new(kind: RejectionKind, message: impl Into<String>) -> Self {
        Rejection {
            kind,
            message: message.into(),
            details: Vec::new(),
            extra: Vec::new(),
            cause: None,
        }
    }

    /// The body is not JSON, or cannot be read as what it claims to be.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(RejectionKind::BadRequest, message)
    }

    /// A query parameter that cannot be read, named in `details`.
    pub(crate) fn bad_parameter(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut rejection = Self::bad_request(message.clone());
        rejection.details = vec![FieldError::new(field, message)];
        rejection
    }

    /// Every broken rule; the message is the first one's.
    pub(crate) fn validation(mut details: Vec<FieldError>) -> Self {
        let message = match details.as_slice() {
            [] => String::from("Validation failed"),
            [only] => only.message.clone(),
            [first, rest @ ..] => format!("{} (and {} more)", first.message, rest.len()),
        };
        details.truncate(MAX_DETAILS);
        let mut rejection = Self::new(RejectionKind::Invalid, message);
        rejection.details = details;
        rejection
    }

    /// One broken rule.
    pub(crate) fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    pub(crate) fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(RejectionKind::TooLarge, message)
    }

    pub(crate) fn internal() -> Self {
        Self::new(RejectionKind::Internal, "Internal server error")
    }

    /// Adds a named top-level field to the answer.
    #[must_use]
    pub(crate) fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.push((key.to_string(), value));
        self
    }

    /// Keeps `error` for the log.
    #[must_use]
    pub(crate) fn caused_by(mut self, error: &dyn std::error::Error) -> Self {
        self.cause = Some(error.to_string());
        self
    }

    /// The answer's `extra` fields as a JSON object.
    #[cfg(test)]
    pub(crate) fn extra_object(&self) -> serde_json::Map<String, Value> {
        self.extra.iter().cloned().collect()
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rejection {}

impl Rejection {
    /// The contract's machine-readable `code` for this rejection.
    #[cfg(test)]
    pub(crate) fn code(&self) -> &'static str {
        match self.kind {
            RejectionKind::BadRequest => "bad_request",
            RejectionKind::Invalid => "validation_failed",
            RejectionKind::TooLarge => "payload_too_large",
            RejectionKind::Internal => "internal",
        }
    }
}
