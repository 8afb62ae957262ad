//! Query strings, read strictly: every parameter is known, typed and
//! bounded, and anything else is a 400 naming the parameter.

use std::convert::Infallible;

use rocket::request::{FromRequest, Outcome, Request};

use crate::error::ApiError;

/// The decoded `name=value` pairs of the query string, taken one by one by
/// the handler; [`RawQuery::finish`] rejects whatever nobody took.
#[derive(Debug, Default)]
pub struct RawQuery(Vec<(String, String)>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RawQuery {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        Outcome::Success(RawQuery::from_query(req.uri().query()))
    }
}

impl RawQuery {
    /// The pairs of a query string, percent-decoded (invalid UTF-8 becomes
    /// U+FFFD, so no byte sequence fails here).
    fn from_query(query: Option<rocket::http::uri::Query<'_>>) -> RawQuery {
        RawQuery(
            query
                .map(|q| {
                    q.segments()
                        .map(|(name, value)| (name.to_string(), value.to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    /// Parses the query string `text` (without `?`) as a request's would be.
    pub fn parse(text: &str) -> RawQuery {
        let origin = rocket::http::uri::Origin::parse_owned(format!("/?{text}")).ok();
        Self::from_query(origin.as_ref().and_then(|o| o.query()))
    }

    /// Removes and returns the parameter `name` (the last one if repeated).
    pub fn take(&mut self, name: &str) -> Option<String> {
        let mut found = None;
        self.0.retain(|(n, v)| {
            if n == name {
                found = Some(v.clone());
                false
            } else {
                true
            }
        });
        found
    }

    /// Whether the parameter `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    /// Removes and returns every parameter whose name starts with `prefix`,
    /// as `(rest of the name, value)`, in query order.
    pub fn take_prefixed(&mut self, prefix: &str) -> Vec<(String, String)> {
        let mut taken = Vec::new();
        self.0.retain(|(n, v)| match n.strip_prefix(prefix) {
            Some(rest) => {
                taken.push((rest.to_string(), v.clone()));
                false
            }
            None => true,
        });
        taken
    }

    /// Fails on the first parameter nobody took.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.0.into_iter().next() {
            None => Ok(()),
            Some((name, _)) => Err(ApiError::bad_parameter(
                &name,
                format!("Unknown query parameter: {name}"),
            )),
        }
    }
}

/// The largest page size; larger requests are served (and reported) at it.
pub const MAX_LIMIT: i64 = 100;
pub const DEFAULT_LIMIT: i64 = 20;

/// `page` and `limit`, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub page: i64,
    pub limit: i64,
}

impl PageRequest {
    pub fn from_query(query: &mut RawQuery) -> Result<Self, ApiError> {
        let page = match query.take("page") {
            None => 1,
            Some(text) => match parse_integer("page", &text)? {
                Integer::Small(n) if n >= 1 => n,
                Integer::Huge => i64::MAX,
                _ => return Err(ApiError::invalid_field("page", "page must be at least 1")),
            },
        };
        let limit = match query.take("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => match parse_integer("limit", &text)? {
                Integer::Small(n) if n >= 1 => n.min(MAX_LIMIT),
                Integer::Huge => MAX_LIMIT,
                _ => return Err(ApiError::invalid_field("limit", "limit must be at least 1")),
            },
        };
        Ok(PageRequest { page, limit })
    }

    /// Rows to skip; saturates instead of overflowing for absurd pages.
    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.limit)
    }
}

enum Integer {
    Small(i64),
    /// Positive and beyond `i64`.
    Huge,
    /// Negative and beyond `i64`.
    NegativeHuge,
}

fn parse_integer(name: &str, text: &str) -> Result<Integer, ApiError> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_parameter(
            name,
            format!("{name} must be an integer"),
        ));
    }
    Ok(match text.parse::<i64>() {
        Ok(n) => Integer::Small(n),
        Err(_) if text.starts_with('-') => Integer::NegativeHuge,
        Err(_) => Integer::Huge,
    })
}
