//! The `search` parameter, compiled into FTS5 queries.
//!
//! Rules (CONTRACT.md): terms are whitespace-separated and all must match. A
//! term of three or more digits (ignoring `+ - ( ) .`) matches inside the
//! phone number; a name term of three or more characters matches any
//! substring of the name; one of one or two characters matches word starts
//! only, through the `initials` column (see [`initials`]); a term with no
//! letter or digit matches names containing it literally. A query made only
//! of digits, spaces, `+ - . ( )` is one phone term. User text never becomes
//! FTS5 syntax: every term is a quoted string with its `"` doubled.
//!
//! All of it runs on one FTS5 trigram index (case- and accent-insensitive),
//! which costs a quarter less to keep up on import than a second, word
//! index with prefix indexes did (measured: 16,100 against 21,500 contacts/s
//! without it).

use crate::error::Rejection;

/// The longest `search` accepted, in characters, and the most terms: FTS5
/// parses every term, so an unbounded query is unbounded work.
pub const MAX_SEARCH_CHARS: usize = 256;
pub(crate) const MAX_TERMS: usize = 16;

/// What a search compiles to; each part ANDs with the others.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchPlan {
    /// An FTS5 query for `contacts_trigram` (columns `name`, `phone`,
    /// `initials`; every term names its column, so none matches the
    /// fourth, `tags`, which only storage's planner queries).
    pub trigram: Option<String>,
    /// Texts the name must contain byte for byte.
    pub literals: Vec<String>,
}

/// What separates words in a name: white space, control characters and
/// punctuation (ASCII, general, CJK and full-width). Everything else,
/// letters, digits, combining marks (Devanagari and Tamil vowel signs) and
/// symbols, belongs to a word.
fn is_separator(c: char) -> bool {
    !c.is_alphanumeric() && is_separator_class(c)
}

fn is_separator_class(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || c.is_ascii_punctuation()
        || matches!(c, '\u{2000}'..='\u{206F}' | '\u{3000}'..='\u{303F}' | '\u{FF01}'..='\u{FF0F}')
        || matches!(c, '\u{FF1A}'..='\u{FF20}' | '\u{FF3B}'..='\u{FF40}' | '\u{FF5B}'..='\u{FF65}')
        || matches!(c, '\u{00A1}'..='\u{00BF}' | '\u{00D7}' | '\u{00F7}')
}

/// The words of a name.
fn words(name: &str) -> impl Iterator<Item = &str> {
    name.split(is_separator).filter(|w| !w.is_empty())
}

/// The marker before a word's initials. Never part of a word, so `^^p` and
/// `^pr` can only match at a word start.
const MARK: &str = "^^";

/// The `initials` column: each word's first one or two characters after
/// [`MARK`] (`^^pr ^^sh` for "Priya Sharma"). A one-character term `p`
/// then matches the trigram `^^p`, a two-character term `pr` the trigram
/// `^pr`, and both only at the start of a word.
pub fn initials(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in words(name) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(MARK);
        out.extend(word.chars().take(2));
    }
    out
}

/// The `sort=name` key: the name in lower case, by Unicode's rules.
pub fn sort_key(name: &str) -> String {
    name.to_lowercase()
}

/// Compiles `search`; `Ok(None)` when it is blank (no filter).
pub fn compile(search: &str) -> Result<Option<SearchPlan>, Rejection> {
    if search.chars().count() > MAX_SEARCH_CHARS {
        return Err(Rejection::invalid_field(
            "search",
            format!("search must be at most {MAX_SEARCH_CHARS} characters"),
        ));
    }
    // Control characters (NUL among them) are separators, never query text.
    let search: String = search
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let search = search.as_str();
    let terms: Vec<&str> = search.split_whitespace().collect();
    if terms.is_empty() {
        return Ok(None);
    }
    if terms.len() > MAX_TERMS {
        return Err(Rejection::invalid_field(
            "search",
            format!("search must have at most {MAX_TERMS} terms"),
        ));
    }

    let mut trigram = Vec::new();
    let mut literals = Vec::new();

    let is_phone_char = |c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | '(' | ')');
    let whole_digits = phone_digits(search);
    if search
        .chars()
        .all(|c| is_phone_char(c) || c.is_whitespace())
        && whole_digits.len() >= 3
    {
        trigram.push(format!("phone : {}", quote(&whole_digits)));
    } else {
        for term in terms {
            let digits = phone_digits(term);
            if term.chars().all(is_phone_char) && digits.len() >= 3 {
                trigram.push(format!("phone : {}", quote(&digits)));
            } else if !term.chars().any(char::is_alphanumeric) {
                literals.push(term.to_string());
            } else if term.chars().count() >= 3 {
                trigram.push(format!("name : {}", quote(term)));
            } else if words(term).next().is_none() {
                // Nothing of it can start a word: match it literally.
                literals.push(term.to_string());
            } else {
                for word in words(term) {
                    let prefix: String = word.chars().take(2).collect();
                    let pattern = if prefix.chars().count() == 1 {
                        format!("{MARK}{prefix}")
                    } else {
                        format!("^{prefix}")
                    };
                    trigram.push(format!("initials : {}", quote(&pattern)));
                }
            }
        }
    }

    let join = |parts: Vec<String>| (!parts.is_empty()).then(|| parts.join(" AND "));
    Ok(Some(SearchPlan {
        trigram: join(trigram),
        literals,
    }))
}

fn phone_digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// An FTS5 string literal: the text in double quotes, inner quotes doubled.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(s: &str) -> SearchPlan {
        compile(s).unwrap().unwrap()
    }

    #[test]
    fn initials_mark_each_word_start() {
        assert_eq!(initials("Priya Sharma-Kohli"), "^^Pr ^^Sh ^^Ko");
        assert_eq!(initials("O'Brien & Sons"), "^^O ^^Br ^^So");
        assert_eq!(initials("प्रिया वर्मा"), "^^प् ^^वर");
        assert_eq!(initials("  "), "");
    }

    #[test]
    fn blank_is_no_filter() {
        assert_eq!(compile("   ").unwrap(), None);
    }

    #[test]
    fn phone_queries_become_one_digit_term() {
        assert_eq!(
            plan("+91 98765 43210").trigram.as_deref(),
            Some("phone : \"919876543210\"")
        );
        assert_eq!(
            plan("(987) 65").trigram.as_deref(),
            Some("phone : \"98765\"")
        );
    }

    #[test]
    fn name_terms_by_length_and_punctuation() {
        let p = plan("pri sh % o\"neil \"x");
        assert_eq!(
            p.trigram.as_deref(),
            Some(
                "name : \"pri\" AND initials : \"^sh\" AND name : \"o\"\"neil\" \
                 AND initials : \"^^x\""
            )
        );
        assert_eq!(p.literals, vec!["%".to_string()]);
    }

    #[test]
    fn every_term_adds_a_condition() {
        for term in ["µ", "²", "ª"] {
            let p = plan(term);
            assert!(p.trigram.is_some() || !p.literals.is_empty(), "{term}");
        }
    }

    #[test]
    fn control_characters_separate_terms() {
        assert_eq!(plan("\0abc").trigram.as_deref(), Some("name : \"abc\""));
        assert_eq!(compile("\0\u{7}").unwrap(), None);
    }

    #[test]
    fn fts_operators_are_plain_text() {
        let p = plan("a AND NEAR(b) *");
        assert_eq!(
            p.trigram.as_deref(),
            Some("initials : \"^^a\" AND name : \"AND\" AND name : \"NEAR(b)\"")
        );
        assert_eq!(p.literals, vec!["*".to_string()]);
    }

    proptest::proptest! {
        #[test]
        fn any_search_compiles_to_quoted_terms_or_is_refused(text in "\\PC{0,300}|(\\PC{1,3}[ \t\n]){0,20}") {
            // Refused exactly when over the limits; blank is no filter.
            let terms = text
                .split(|c: char| c.is_whitespace() || c.is_control())
                .filter(|t| !t.is_empty())
                .count();
            let too_long = text.chars().count() > MAX_SEARCH_CHARS;
            let compiled = compile(&text);
            proptest::prop_assert_eq!(
                compiled.is_err(),
                too_long || terms > MAX_TERMS,
                "{:?} ({} terms)", text, terms
            );
            proptest::prop_assert_eq!(matches!(compiled, Ok(None)), !too_long && terms == 0);
            match compiled {
                Ok(Some(plan)) => {
                    // Every term adds a condition.
                    proptest::prop_assert!(plan.trigram.is_some() || !plan.literals.is_empty());
                    if let Some(query) = plan.trigram {
                        // Every user text is inside a quoted string: quotes pair up.
                        proptest::prop_assert_eq!(query.matches('"').count() % 2, 0);
                        for part in query.split(" AND ") {
                            proptest::prop_assert!(
                                ["name : \"", "phone : \"", "initials : \""].iter().any(|p| part.starts_with(p)),
                                "{}", part
                            );
                        }
                    }
                }
                Ok(None) => proptest::prop_assert!(text.chars().all(|c| c.is_whitespace() || c.is_control())),
                Err(error) => proptest::prop_assert_eq!(error.code(), "validation_failed"),
            }
        }
    }
}
