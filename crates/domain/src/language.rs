use oxilangtag::LanguageTag;
use serde_json::Value;

use crate::error::FieldError;

/// A well-formed BCP 47 (RFC 5646) tag in canonical case: `hi-IN`,
/// `zh-Hant-TW`. Parsing and case rules are `oxilangtag`'s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Language(String);

impl Language {
    pub fn from_json(field: &str, value: &Value) -> Result<Self, FieldError> {
        value.as_str().and_then(Self::parse).ok_or_else(|| {
            FieldError::new(
                field,
                format!("{field} must be a BCP 47 language tag, e.g. hi-IN"),
            )
        })
    }

    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || text.len() > 64 {
            return None;
        }
        LanguageTag::parse_and_normalize(text)
            .ok()
            .map(|tag| Language(tag.into_inner()))
    }

    /// A value read back from storage, where only parsed values go.
    pub fn from_stored(text: String) -> Self {
        Language(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalizes_case() {
        assert_eq!(Language::parse("HI-in").unwrap().as_str(), "hi-IN");
        assert_eq!(
            Language::parse("zh-hant-tw").unwrap().as_str(),
            "zh-Hant-TW"
        );
        assert_eq!(Language::parse("en").unwrap().as_str(), "en");
        assert!(Language::parse("not a tag").is_none());
        assert!(Language::parse("").is_none());
    }

    proptest::proptest! {
        #[test]
        fn canonical_tags_are_a_fixed_point(text in "\\PC{0,20}|[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,3}") {
            if let Some(tag) = Language::parse(&text) {
                proptest::prop_assert!(tag.as_str().eq_ignore_ascii_case(&text));
                proptest::prop_assert_eq!(Language::parse(tag.as_str()), Some(tag.clone()));
            }
        }

        /// A well-formed tag (RFC 5646 2.1: language, script, region,
        /// variants, an extension, private use) in any case is accepted, up
        /// to 64 characters, in canonical case: the script title case, the
        /// region upper case, the rest lower case. The canonical form is a
        /// fixed point.
        #[test]
        fn well_formed_tags_are_accepted_in_canonical_case(
            language in "[a-zA-Z]{2,3}|[a-zA-Z]{5,8}",
            script in proptest::option::of("[a-zA-Z]{4}"),
            region in proptest::option::of("[a-zA-Z]{2}|[0-9]{3}"),
            variants in proptest::collection::vec("[a-zA-Z][a-zA-Z0-9]{4,7}|[0-9][a-zA-Z0-9]{3}", 0..3),
            extension in proptest::option::of("[a-wyzA-WYZ0-9](-[a-zA-Z0-9]{2,8}){1,2}"),
            private in proptest::option::of("[xX](-[a-zA-Z0-9]{1,8}){1,2}"),
        ) {
            let title = |s: &str| s[..1].to_ascii_uppercase() + &s[1..].to_ascii_lowercase();
            let mut text = language.clone();
            let mut canonical = language.to_ascii_lowercase();
            let mut push = |written: &str, expected: String| {
                text.push('-');
                text.push_str(written);
                canonical.push('-');
                canonical.push_str(&expected);
            };
            if let Some(script) = &script {
                push(script, title(script));
            }
            if let Some(region) = &region {
                push(region, region.to_ascii_uppercase());
            }
            for subtag in variants.iter().chain(&extension).chain(&private) {
                push(subtag, subtag.to_ascii_lowercase());
            }
            let parsed = Language::parse(&text);
            if text.len() <= 64 {
                proptest::prop_assert_eq!(parsed.as_ref().map(Language::as_str), Some(canonical.as_str()), "{}", text);
                proptest::prop_assert_eq!(Language::parse(&canonical), parsed);
            } else {
                proptest::prop_assert_eq!(parsed, None, "{}", text);
            }
        }
    }
}
