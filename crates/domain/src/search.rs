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
//! All of it runs on one FTS5 index, `contacts_search` (migration 17),
//! whose tokens FTS5 folds (case and accents). A substring of a name is a
//! prefix of one of the name's suffixes, so the index holds, for each
//! whitespace-free run of a name (and of the phone's digits), the suffixes
//! of three characters or more, cut to [`WINDOW`] characters ([`windows`]),
//! and a term is one prefix query. Every token starts with its
//! organization's number: FTS5 answers a prefix query by merging the lists
//! of every token it names over the whole index, so without it a search of
//! a small organization would cost as much as the whole file's matches.
//! A compiled query stands for the organization with [`SCOPE_MARK`];
//! storage puts the number in ([`scoped`]).

use crate::error::Rejection;

/// The longest `search` accepted, in characters, and the most terms: FTS5
/// parses every term, so an unbounded query is unbounded work.
pub const MAX_SEARCH_CHARS: usize = 256;
pub(crate) const MAX_TERMS: usize = 16;

/// What a search compiles to; each part ANDs with the others.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchPlan {
    /// An FTS5 query for `contacts_search` (columns `name`, `phone`,
    /// `initials`; every term names its column, so none matches the
    /// fourth, `tags`, which only storage's planner queries).
    pub fts: Option<String>,
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
/// [`MARK`] (`^^pr ^^sh` for "Priya Sharma"), one token each. A
/// one-character term `p` is then the prefix query `^^p*`, a two-character
/// term `pr` the prefix query `^^pr*`, and both match only at the start of
/// a word.
pub fn initials(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in words(name) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(MARK);
        out.extend(word.chars().filter(|&c| !dropped_by_index(c)).take(2));
    }
    out
}

/// Whether the index's tokenizer drops `c`: the 25 combining accents
/// (U+0300 to U+0331) that SQLite's `sqlite3Fts5UnicodeIsdiacritic` lists,
/// which `remove_diacritics 2` folds to nothing. Characters are counted
/// as the index sees them, without these: a run's windows, a term's
/// windows and a term's length. Otherwise a name typed with combining
/// accents (`e` + U+0301, as some keyboards send) would have windows of
/// fewer than [`WINDOW`] characters that a long term's windows never
/// equal, and `a` + two accents would be a three-character term.
fn dropped_by_index(c: char) -> bool {
    const FIRST_32: u32 = 0x0802_9FDF; // U+0300..U+031F
    const NEXT_18: u32 = 0x0003_61F8; // U+0320..U+0331
    match u32::from(c) {
        c @ 0x300..=0x31F => FIRST_32 & (1 << (c - 0x300)) != 0,
        c @ 0x320..=0x331 => NEXT_18 & (1 << (c - 0x320)) != 0,
        _ => false,
    }
}

/// `text` without the characters the index drops ([`dropped_by_index`]).
fn as_indexed(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(dropped_by_index) {
        text.chars().filter(|&c| !dropped_by_index(c)).collect()
    } else {
        std::borrow::Cow::Borrowed(text)
    }
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

    let mut fts = Vec::new();
    let mut literals = Vec::new();

    let is_phone_char = |c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | '(' | ')');
    let whole_digits = phone_digits(search);
    if search
        .chars()
        .all(|c| is_phone_char(c) || c.is_whitespace())
        && whole_digits.len() >= 3
    {
        fts.push(term_query("phone", &whole_digits));
    } else {
        for term in terms {
            let digits = phone_digits(term);
            // Its length and words as the index counts them.
            let indexed = as_indexed(term);
            if term.chars().all(is_phone_char) && digits.len() >= 3 {
                fts.push(term_query("phone", &digits));
            } else if !term.chars().any(char::is_alphanumeric) {
                literals.push(term.to_string());
            } else if indexed.chars().count() >= 3 {
                fts.push(term_query("name", &indexed));
            } else if words(&indexed).next().is_none() {
                // Nothing of it can start a word: match it literally.
                literals.push(term.to_string());
            } else {
                for word in words(&indexed) {
                    let prefix: String = word.chars().take(2).collect();
                    fts.push(format!(
                        "initials : {}*",
                        scope_quote(&format!("{MARK}{prefix}"))
                    ));
                }
            }
        }
    }

    let join = |parts: Vec<String>| (!parts.is_empty()).then(|| parts.join(" AND "));
    Ok(Some(SearchPlan {
        fts: join(fts),
        literals,
    }))
}

/// The longest token of the `name` and `phone` columns, in characters. A
/// suffix is cut to it, so a long run costs the index a bounded amount
/// (a 200-character name without a space is 198 tokens of at most 16
/// characters); a longer term is matched as the phrase of its windows
/// ([`term_query`]). Most words are shorter, so most terms are one token.
pub const WINDOW: usize = 16;

/// The shortest suffix indexed: terms of one or two characters match word
/// starts only, through `initials`.
const SHORTEST: usize = 3;

/// Stands for the organization's number in a compiled query, at the start
/// of every quoted string: a control character, which [`compile`] never
/// leaves in user text.
pub const SCOPE_MARK: char = '\u{1A}';

/// `query` (compiled) for the organization numbered `scope`.
pub fn scoped(query: &str, scope: i64) -> String {
    query.replace(&format!("\"{SCOPE_MARK}"), &format!("\"{scope}:"))
}

/// The `name` and `phone` columns' text for the organization numbered
/// `scope`: for each whitespace-free run of `text`, the suffixes of
/// [`SHORTEST`] characters or more, each cut to [`WINDOW`] characters and
/// led by `scope:`, separated by spaces (the index's only separator).
/// Consecutive suffixes are consecutive token positions, which
/// [`term_query`] relies on for long terms.
pub fn windows(scope: i64, text: &str) -> String {
    let prefix = format!("{scope}:");
    let text = as_indexed(text);
    let mut out = String::with_capacity(text.len() * 8);
    for run in text.split_whitespace() {
        let starts: Vec<usize> = run.char_indices().map(|(i, _)| i).collect();
        for (n, &start) in starts.iter().enumerate() {
            if starts.len() - n < SHORTEST {
                break;
            }
            let end = starts.get(n + WINDOW).copied().unwrap_or(run.len());
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&prefix);
            out.push_str(&run[start..end]);
        }
    }
    out
}

/// The `initials` column's text for the organization numbered `scope`:
/// each whitespace-free run of `initials` ([`initials`]) led by `scope:`.
pub fn initial_tokens(scope: i64, initials: &str) -> String {
    initials
        .split_whitespace()
        .map(|run| format!("{scope}:{run}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The query matching contacts whose `column` ([`windows`]) holds `term`
/// (no white space, [`SHORTEST`] characters or more) as a substring: a
/// prefix query when it fits one window, else the phrase of its windows,
/// each but the last whole (a window of a run is one token), so that they
/// must lie one after another in one run.
fn term_query(column: &str, term: &str) -> String {
    let starts: Vec<usize> = term.char_indices().map(|(i, _)| i).collect();
    if starts.len() <= WINDOW {
        return format!("{column} : {}*", scope_quote(term));
    }
    let last = starts.len() - WINDOW;
    let parts: Vec<String> = (0..=last)
        .map(|n| {
            let end = starts.get(n + WINDOW).copied().unwrap_or(term.len());
            scope_quote(&term[starts[n]..end])
        })
        .collect();
    format!("{column} : {}*", parts.join(" + "))
}

fn phone_digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// An FTS5 string literal: the text in double quotes, inner quotes doubled.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// [`quote`] of `text` led by the organization ([`SCOPE_MARK`]).
fn scope_quote(text: &str) -> String {
    quote(&format!("{SCOPE_MARK}{text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(s: &str) -> SearchPlan {
        compile(s).unwrap().unwrap()
    }

    /// The compiled query of `s` for organization 7.
    fn fts(s: &str) -> Option<String> {
        plan(s).fts.map(|q| scoped(&q, 7))
    }

    #[test]
    fn initials_mark_each_word_start() {
        assert_eq!(initials("Priya Sharma-Kohli"), "^^Pr ^^Sh ^^Ko");
        assert_eq!(initials("O'Brien & Sons"), "^^O ^^Br ^^So");
        assert_eq!(initials("प्रिया वर्मा"), "^^प् ^^वर");
        assert_eq!(initials("  "), "");
    }

    #[test]
    fn windows_are_each_runs_suffixes_cut_to_a_window() {
        assert_eq!(
            windows(7, "Priya  Sharma"),
            "7:Priya 7:riya 7:iya 7:Sharma 7:harma 7:arma 7:rma"
        );
        assert_eq!(windows(7, "Al O'B x"), "7:O'B");
        assert_eq!(windows(12, "राम"), "12:राम");
        assert_eq!(windows(7, " \t"), "");
        assert_eq!(initial_tokens(7, "^^Pr ^^Sh"), "7:^^Pr 7:^^Sh");
        let long = "abcdefghijklmnopqrst";
        let w = windows(1, long).replace("1:", "");
        let tokens: Vec<&str> = w.split(' ').collect();
        assert_eq!(tokens.len(), 18);
        assert_eq!(tokens[0], "abcdefghijklmnop");
        assert_eq!(tokens[4], "efghijklmnopqrst");
        assert_eq!(tokens[17], "rst");
    }

    #[test]
    fn combining_accents_the_index_drops_are_not_counted() {
        let decomposed = "Ame\u{301}lie-Beaumont-Roy";
        assert_eq!(
            windows(7, decomposed).split(' ').next(),
            Some("7:Amelie-Beaumont-")
        );
        assert_eq!(
            fts("ame\u{301}lie-beaumont-r").as_deref(),
            Some("name : \"7:amelie-beaumont-\" + \"7:melie-beaumont-r\"*")
        );
        // One letter and two accents is a one-letter term: word starts.
        assert_eq!(
            fts("a\u{301}\u{301}").as_deref(),
            Some("initials : \"7:^^a\"*")
        );
        assert_eq!(initials("\u{301}Xy z"), "^^Xy ^^z");
        // Devanagari signs are not accents: they count.
        assert_eq!(fts("रमा").as_deref(), Some("name : \"7:रमा\"*"));
    }

    #[test]
    fn a_term_longer_than_a_window_is_the_phrase_of_its_windows() {
        assert_eq!(
            fts("abcdefghijklmnopqr").as_deref(),
            Some(
                "name : \"7:abcdefghijklmnop\" + \"7:bcdefghijklmnopq\" + \"7:cdefghijklmnopqr\"*"
            )
        );
        assert_eq!(
            fts("abcdefghijklmnop").as_deref(),
            Some("name : \"7:abcdefghijklmnop\"*")
        );
    }

    #[test]
    fn blank_is_no_filter() {
        assert_eq!(compile("   ").unwrap(), None);
    }

    #[test]
    fn phone_queries_become_one_digit_term() {
        assert_eq!(
            fts("+91 98765 43210").as_deref(),
            Some("phone : \"7:919876543210\"*")
        );
        assert_eq!(fts("(987) 65").as_deref(), Some("phone : \"7:98765\"*"));
    }

    #[test]
    fn name_terms_by_length_and_punctuation() {
        let p = plan("pri sh % o\"neil \"x");
        assert_eq!(
            fts("pri sh % o\"neil \"x").as_deref(),
            Some(
                "name : \"7:pri\"* AND initials : \"7:^^sh\"* AND name : \"7:o\"\"neil\"* \
                 AND initials : \"7:^^x\"*"
            )
        );
        assert_eq!(p.literals, vec!["%".to_string()]);
    }

    #[test]
    fn every_term_adds_a_condition() {
        for term in ["µ", "²", "ª"] {
            let p = plan(term);
            assert!(p.fts.is_some() || !p.literals.is_empty(), "{term}");
        }
    }

    #[test]
    fn control_characters_separate_terms() {
        assert_eq!(fts("\0abc").as_deref(), Some("name : \"7:abc\"*"));
        assert_eq!(fts("\u{1A}abc").as_deref(), Some("name : \"7:abc\"*"));
        assert_eq!(compile("\0\u{7}").unwrap(), None);
    }

    #[test]
    fn fts_operators_are_plain_text() {
        let p = plan("a AND NEAR(b) *");
        assert_eq!(
            fts("a AND NEAR(b) *").as_deref(),
            Some("initials : \"7:^^a\"* AND name : \"7:AND\"* AND name : \"7:NEAR(b)\"*")
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
                    proptest::prop_assert!(plan.fts.is_some() || !plan.literals.is_empty());
                    if let Some(query) = plan.fts {
                        // Every user text is inside a quoted string: quotes pair up.
                        proptest::prop_assert_eq!(query.matches('"').count() % 2, 0);
                        // The organization's mark leads quoted strings only.
                        proptest::prop_assert_eq!(
                            query.matches(SCOPE_MARK).count(),
                            query.matches(&format!("\"{SCOPE_MARK}")).count()
                        );
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
