//! Query strings, read strictly: every parameter is known, typed and
//! bounded, and anything else is a 400 naming the parameter.

use crate::error::Rejection;

/// The decoded `name=value` pairs of the query string, taken one by one by
/// the handler; [`RawQuery::finish`] rejects whatever nobody took.
#[derive(Debug, Default)]
pub struct RawQuery(Vec<(String, String)>);

impl RawQuery {
    /// The `name=value` pairs of the query string `text` (without `?`),
    /// decoded as HTML forms encode them (`+` is a space, then percent
    /// escapes; invalid UTF-8 becomes U+FFFD, so no byte sequence fails
    /// here). Empty pairs are skipped; a name without `=` has the value "".
    pub fn parse(text: &str) -> RawQuery {
        let decode = |part: &str| {
            let spaced = part.replace('+', " ");
            percent_encoding::percent_decode_str(&spaced)
                .decode_utf8_lossy()
                .into_owned()
        };
        RawQuery(
            text.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| match pair.split_once('=') {
                    Some((name, value)) => (decode(name), decode(value)),
                    None => (decode(pair), String::new()),
                })
                .collect(),
        )
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
    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    /// Removes and returns every parameter whose name starts with `prefix`,
    /// as `(rest of the name, value)`, in query order.
    pub(crate) fn take_prefixed(&mut self, prefix: &str) -> Vec<(String, String)> {
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
    pub fn finish(self) -> Result<(), Rejection> {
        match self.0.into_iter().next() {
            None => Ok(()),
            Some((name, _)) => Err(Rejection::bad_parameter(
                &name,
                format!("Unknown query parameter: {name}"),
            )),
        }
    }
}

/// The largest page size; larger requests are served (and reported) at it.
pub(crate) const MAX_LIMIT: i64 = 100;
pub(crate) const DEFAULT_LIMIT: i64 = 20;

/// `page` and `limit`, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub page: i64,
    pub limit: i64,
}

impl PageRequest {
    pub fn from_query(query: &mut RawQuery) -> Result<Self, Rejection> {
        let page = match query.take("page") {
            None => 1,
            Some(text) => match parse_integer("page", &text)? {
                Integer::Small(n) if n >= 1 => n,
                Integer::Huge => i64::MAX,
                _ => return Err(Rejection::invalid_field("page", "page must be at least 1")),
            },
        };
        let limit = match query.take("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => match parse_integer("limit", &text)? {
                Integer::Small(n) if n >= 1 => n.min(MAX_LIMIT),
                Integer::Huge => MAX_LIMIT,
                _ => {
                    return Err(Rejection::invalid_field(
                        "limit",
                        "limit must be at least 1",
                    ))
                }
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

fn parse_integer(name: &str, text: &str) -> Result<Integer, Rejection> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::bad_parameter(
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
