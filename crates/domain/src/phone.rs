use serde_json::Value;

use crate::error::FieldError;
use crate::zones::ZoneSet;

/// What a phone number error says, wherever it comes from.
pub(crate) const PHONE_MESSAGE: &str =
    "phoneNumber must be a valid E.164 phone number, e.g. +919876543210";

/// A valid phone number in E.164 form (`+919876543210`), and the time
/// zones it may be in.
#[derive(Clone, Debug)]
pub struct PhoneNumber {
    e164: String,
    /// Known when parsed here; a number read back from storage finds its
    /// zones only when asked ([`PhoneNumber::zones`]).
    zones: Option<ZoneSet>,
}

/// Numbers are equal when their E.164 forms are: the zones follow from it.
impl PartialEq for PhoneNumber {
    fn eq(&self, other: &Self) -> bool {
        self.e164 == other.e164
    }
}

impl Eq for PhoneNumber {}

impl PhoneNumber {
    pub fn from_json(field: &str, value: &Value) -> Result<Self, FieldError> {
        value
            .as_str()
            .and_then(Self::parse)
            .ok_or_else(|| FieldError::new(field, PHONE_MESSAGE))
    }

    /// Accepts an international number (leading `+`) written with digits,
    /// spaces, dashes, dots and parentheses anywhere; the `phonenumber`
    /// crate decides whether it is a valid number and formats it as E.164.
    ///
    /// The separators are dropped before the crate sees the number: its
    /// own reading of them depends on where they stand (`+1415-555-2671`
    /// was refused, `+1 415-555-2671` accepted), and the contract accepts
    /// them anywhere.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let rest = text.strip_prefix('+')?;
        let allowed = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')');
        if text.len() > 40 || !rest.chars().all(allowed) {
            return None;
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        let international = format!("+{digits}");
        // The parser is third-party code fed client input; a panic in it must
        // become a validation error, not a failed request.
        let parsed = std::panic::catch_unwind(|| phonenumber::parse(None, &international)).ok()?;
        let number = parsed.ok()?;
        // The number's type is what `phonenumber::is_valid` computes (valid
        // unless Unknown), kept: it also tells how the number's time zones
        // are looked up. (vendor/phonenumber: the crate's `number_type`
        // reads leading zeros as `is_valid` does.)
        let kind = number.number_type(&phonenumber::metadata::DATABASE);
        if kind == phonenumber::Type::Unknown {
            return None;
        }
        // E.164 is `+`, the country code and the national number (with any
        // Italian leading zeros), which is what the crate's E164 mode
        // writes; asking for it directly skips the formatter's pattern
        // matching, a quarter of a bulk request's validation time.
        let code = number.country().code();
        let e164 = format!("+{code}{}", number.national());
        let zones = ZoneSet::of(kind, code, &e164[1..]);
        Some(PhoneNumber {
            e164,
            zones: Some(zones),
        })
    }

    /// Loads the crate's metadata (about 70 ms, once per process) so the
    /// first request does not pay for it.
    pub fn warm_up() {
        let _ = Self::parse("+14155552671");
    }

    /// A number read back from storage, where only parsed numbers go.
    pub fn from_stored(e164: String) -> Self {
        PhoneNumber { e164, zones: None }
    }

    /// The time zones the number may be in (parsed again when the number
    /// was read back from storage).
    pub fn zones(&self) -> ZoneSet {
        self.zones.unwrap_or_else(|| {
            PhoneNumber::parse(&self.e164).map_or(ZoneSet::UNKNOWN, |p| p.zones())
        })
    }

    pub fn as_str(&self) -> &str {
        &self.e164
    }

    pub fn into_string(self) -> String {
        self.e164
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::{Just, Strategy};

    #[test]
    fn normalizes_to_e164() {
        let p = PhoneNumber::parse("+91 98765-43210").unwrap();
        assert_eq!(p.as_str(), "+919876543210");
        let p = PhoneNumber::parse("+1 (415) 555.2671").unwrap();
        assert_eq!(p.as_str(), "+14155552671");
    }

    #[test]
    fn accepts_separators_anywhere() {
        for (text, e164) in [
            ("+1415-555-2671", "+14155552671"),
            ("+9198765-43210", "+919876543210"),
            ("+4420.7946.0958", "+442079460958"),
            ("+(91)98765 43210", "+919876543210"),
            ("+1-4-1-5-5-5-5-2-6-7-1", "+14155552671"),
        ] {
            assert_eq!(
                PhoneNumber::parse(text).map(|p| p.e164),
                Some(e164.into()),
                "{text}"
            );
        }
    }

    #[test]
    fn agrees_with_the_crates_e164_formatter() {
        for text in [
            "+39 06 1234 5678",
            "+44 20 7946 0958",
            "+91 98765 43210",
            "+1 415 555 2671",
        ] {
            let number = phonenumber::parse(None, text).unwrap();
            let expected = number.format().mode(phonenumber::Mode::E164).to_string();
            assert_eq!(PhoneNumber::parse(text).unwrap().as_str(), expected);
        }
    }

    #[test]
    fn rejects_national_invalid_and_vanity_numbers() {
        assert!(PhoneNumber::parse("9876543210").is_none());
        assert!(PhoneNumber::parse("+91 12345").is_none());
        assert!(PhoneNumber::parse("+1 800 FLOWERS").is_none());
        assert!(PhoneNumber::parse("+").is_none());
        assert!(PhoneNumber::parse("tel:+919876543210").is_none());
    }

    /// A country code and the start of a national number after which any
    /// `free` digits make a valid number (checked for every completion of
    /// the US, Indian and British ones, and for 100,000 of each other, with
    /// phonenumber 0.3.10+9.0.33).
    const VALID_TEMPLATES: &[(&str, usize)] = &[
        ("1415555", 4),  // US, San Francisco
        ("9198765", 5),  // India, mobile
        ("44207946", 4), // UK, London
        ("3906", 8),     // Italy, Rome (its leading zero kept)
        ("3361", 7),     // France, mobile
        ("49151", 8),    // Germany, mobile
        ("55119", 8),    // Brazil, São Paulo mobile
        ("8180", 8),     // Japan, mobile
    ];

    /// What may stand between two digits: nothing or a separator.
    fn separator() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(vec!["", "", "", " ", "-", ".", "(", ")"])
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_is_refused_and_e164_is_a_fixed_point(text in "\\PC{0,40}|\\+[0-9 ().-]{0,30}") {
            if let Some(phone) = PhoneNumber::parse(&text) {
                let e164 = phone.as_str().to_string();
                proptest::prop_assert!(e164.starts_with('+'));
                proptest::prop_assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()));
                proptest::prop_assert_eq!(PhoneNumber::parse(&e164).map(|p| p.e164), Some(e164));
            }
        }

        /// Valid numbers are accepted, whatever separators they are
        /// written with, as their digits in E.164; E.164 is a fixed point.
        #[test]
        fn valid_numbers_are_accepted_with_any_separators(
            (prefix, digits) in proptest::sample::select(VALID_TEMPLATES).prop_flat_map(
                |(prefix, free)| (Just(prefix), proptest::collection::vec(0u8..10, free)),
            ),
            separators in proptest::collection::vec(separator(), 20),
            padding in ("[ ]{0,2}", "[ ]{0,2}"),
        ) {
            let e164: String = std::iter::once('+')
                .chain(prefix.chars())
                .chain(digits.iter().map(|d| char::from(b'0' + d)))
                .collect();
            let mut text = format!("{}+", padding.0);
            for (digit, separator) in e164[1..].chars().zip(&separators) {
                text.push(digit);
                text.push_str(separator);
            }
            text.push_str(&padding.1);
            let phone = PhoneNumber::parse(&text);
            proptest::prop_assert_eq!(phone.as_ref().map(PhoneNumber::as_str), Some(e164.as_str()), "{}", text);
            proptest::prop_assert_eq!(PhoneNumber::parse(&e164), phone);
        }
    }
}
