//! The changes feed's request: `since`, `limit` and `types`, read strictly
//! (CONTRACT.md, "Changes feed").

use crate::error::Rejection;
use crate::query::RawQuery;

/// The kinds of object the feed carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeType {
    Contact,
    Audience,
    Membership,
    Call,
}

impl ChangeType {
    /// Every kind, in the order the contract lists them.
    pub const ALL: [ChangeType; 4] = [
        ChangeType::Contact,
        ChangeType::Audience,
        ChangeType::Membership,
        ChangeType::Call,
    ];

    /// The word the feed and its `types` parameter use.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Contact => "contact",
            ChangeType::Audience => "audience",
            ChangeType::Membership => "membership",
            ChangeType::Call => "call",
        }
    }

    /// The kind named `word`, exactly.
    pub fn from_word(word: &str) -> Option<ChangeType> {
        ChangeType::ALL.into_iter().find(|t| t.as_str() == word)
    }
}

/// A set of kinds (the `types` filter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeSet(u8);

impl TypeSet {
    /// Every kind.
    pub const ALL: TypeSet = TypeSet(0b1111);

    fn bit(kind: ChangeType) -> u8 {
        match kind {
            ChangeType::Contact => 1,
            ChangeType::Audience => 2,
            ChangeType::Membership => 4,
            ChangeType::Call => 8,
        }
    }

    /// Whether `kind` is in the set.
    pub fn has(self, kind: ChangeType) -> bool {
        self.0 & Self::bit(kind) != 0
    }

    /// The kinds in the set, in the contract's order.
    pub fn kinds(self) -> impl Iterator<Item = ChangeType> {
        ChangeType::ALL.into_iter().filter(move |k| self.has(*k))
    }

    /// The set of the comma-separated words in `text`, for the parameter
    /// (or body field) `field`: an unknown word or none at all is refused.
    pub fn parse(
        field: &str,
        words: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<TypeSet, Rejection> {
        let mut set = 0;
        for word in words {
            let word = word.as_ref().trim();
            let kind = ChangeType::from_word(word).ok_or_else(|| {
                Rejection::invalid_field(
                    field,
                    format!(
                        "{field} must list contact, audience, membership or call; got {word:?}"
                    ),
                )
            })?;
            set |= Self::bit(kind);
        }
        if set == 0 {
            return Err(Rejection::invalid_field(
                field,
                format!("{field} must list at least one of contact, audience, membership, call"),
            ));
        }
        Ok(TypeSet(set))
    }

    /// The words of the set, for storing and showing it.
    pub fn words(self) -> Vec<&'static str> {
        self.kinds().map(ChangeType::as_str).collect()
    }
}

/// The largest page of changes.
pub const MAX_CHANGES_LIMIT: i64 = 1000;
/// The page size when none is asked for.
pub const DEFAULT_CHANGES_LIMIT: i64 = 100;

/// `GET /changes` (and the stream): where to start, how many, which kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChangesRequest {
    /// Changes after this number; `i64::MAX` stands for any larger number
    /// (beyond every organization's latest: `410`).
    pub since: i64,
    pub limit: i64,
    pub types: TypeSet,
}

impl ChangesRequest {
    /// Reads `since`, `limit` and `types`; any other parameter is refused.
    /// `since` that is not a whole number is 400; `limit` outside 1 to
    /// 1,000 and unknown `types` are 422, each naming the parameter.
    pub fn parse(mut query: RawQuery) -> Result<ChangesRequest, Rejection> {
        let request = ChangesRequest::take(&mut query, true)?;
        query.finish()?;
        Ok(request)
    }

    /// Reads the parameters the stream takes (no `limit`): `since`
    /// (`None` when absent, so `Last-Event-ID` may say it) and `types`.
    pub fn parse_stream(mut query: RawQuery) -> Result<(Option<i64>, TypeSet), Rejection> {
        let since = match query.take("since") {
            None => None,
            Some(text) => Some(whole_number("since", &text)?),
        };
        let types = take_types(&mut query)?;
        query.finish()?;
        Ok((since, types))
    }

    fn take(query: &mut RawQuery, with_limit: bool) -> Result<ChangesRequest, Rejection> {
        let since = match query.take("since") {
            None => 0,
            Some(text) => whole_number("since", &text)?,
        };
        let limit = match query.take("limit").filter(|_| with_limit) {
            None => DEFAULT_CHANGES_LIMIT,
            Some(text) => {
                let digits = text.strip_prefix(['-', '+']).unwrap_or(&text);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Rejection::bad_parameter(
                        "limit",
                        "limit must be an integer",
                    ));
                }
                match text.parse::<i64>() {
                    Ok(n) if (1..=MAX_CHANGES_LIMIT).contains(&n) => n,
                    _ => {
                        return Err(Rejection::invalid_field(
                            "limit",
                            format!("limit must be from 1 to {MAX_CHANGES_LIMIT}"),
                        ))
                    }
                }
            }
        };
        let types = take_types(query)?;
        Ok(ChangesRequest {
            since,
            limit,
            types,
        })
    }
}

fn take_types(query: &mut RawQuery) -> Result<TypeSet, Rejection> {
    match query.take("types") {
        None => Ok(TypeSet::ALL),
        Some(text) => TypeSet::parse("types", text.split(',')),
    }
}

/// A change number as a client sends it (`since`, `Last-Event-ID`): a
/// whole number from 0, digits only; beyond `i64` it stands for "later
/// than anything" (`i64::MAX`).
pub fn whole_number(name: &str, text: &str) -> Result<i64, Rejection> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::bad_parameter(
            name,
            format!("{name} must be a whole number from 0 (a change's seq)"),
        ));
    }
    Ok(text.parse::<i64>().unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RejectionKind;

    fn parse(query: &str) -> Result<ChangesRequest, Rejection> {
        ChangesRequest::parse(RawQuery::parse(query))
    }

    #[test]
    fn defaults_and_bounds() {
        let request = parse("").unwrap();
        assert_eq!(
            (request.since, request.limit, request.types),
            (0, 100, TypeSet::ALL)
        );
        let request = parse("since=42&limit=1000&types=contact,membership").unwrap();
        assert_eq!((request.since, request.limit), (42, 1000));
        assert!(request.types.has(ChangeType::Membership) && !request.types.has(ChangeType::Call));
        assert_eq!(
            parse("since=99999999999999999999999").unwrap().since,
            i64::MAX
        );
    }

    #[test]
    fn refusals_name_the_parameter_with_the_contract_status() {
        for (query, field, kind) in [
            ("since=-1", "since", RejectionKind::BadRequest),
            ("since=1.5", "since", RejectionKind::BadRequest),
            ("since=", "since", RejectionKind::BadRequest),
            ("limit=x", "limit", RejectionKind::BadRequest),
            ("limit=0", "limit", RejectionKind::Invalid),
            ("limit=1001", "limit", RejectionKind::Invalid),
            ("types=contact,person", "types", RejectionKind::Invalid),
            ("types=", "types", RejectionKind::Invalid),
            ("page=2", "page", RejectionKind::BadRequest),
        ] {
            let refused = parse(query).unwrap_err();
            assert_eq!(refused.kind, kind, "{query}");
            assert_eq!(refused.details[0].field, field, "{query}");
        }
    }
}
