//! Opaque public ids and API keys.
//!
//! An id is a prefix, seven characters of the creation time in milliseconds
//! (enough until the year 2109), then sixteen characters (96 bits) from
//! nanoid's random source, in a URL-safe alphabet listed in ASCII order.
//! The random part makes ids unguessable; the time part makes each new id
//! land at the right edge of its unique index, which keeps bulk imports
//! fast. Within one millisecond the random part grows by a random 64-bit
//! step instead of being drawn afresh, so neighbours stay unguessable and
//! ids made by one process sort in creation order (`createdAt desc, id
//! desc` lists newest first even inside a millisecond). Clients never parse
//! ids, so the layout can change.

use std::sync::Mutex;

use crate::clock;

/// 64 URL-safe characters in ASCII order, so text order is number order.
const ALPHABET: &[u8; 64] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
const RANDOM_BITS: u32 = 96;

/// The last id's time and random part.
static LAST: Mutex<(i64, u128)> = Mutex::new((i64::MIN, 0));

/// What API keys start with.
pub const KEY_PREFIX: &str = "sk_live_";
/// How many random characters follow [`KEY_PREFIX`].
pub const KEY_RANDOM_LEN: usize = 32;

/// The kinds of object that carry a public id.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Organization,
    ApiKey,
    Contact,
    Audience,
    Call,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Organization => "org_",
            Kind::ApiKey => "key_",
            Kind::Contact => "ct_",
            Kind::Audience => "aud_",
            Kind::Call => "call_",
        }
    }
}

fn random_bits(bytes: usize) -> u128 {
    nanoid::rngs::default(bytes)
        .into_iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(b))
}

/// A new id of the given kind.
pub fn new_id(kind: Kind) -> String {
    let now = clock::now_ms();
    let (ms, random) = {
        let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
        let step = random_bits(8) + 1;
        let random = match last.0.cmp(&now) {
            // Same millisecond (or a clock that went back): keep the order.
            std::cmp::Ordering::Equal | std::cmp::Ordering::Greater
                if last.1 + step < (1 << RANDOM_BITS) =>
            {
                (last.0, last.1 + step)
            }
            _ => (now, random_bits(12)),
        };
        *last = random;
        random
    };
    let mut id = String::with_capacity(32);
    id.push_str(kind.prefix());
    push_digits(&mut id, u128::from(u64::try_from(ms).unwrap_or(0)), 7);
    push_digits(&mut id, random, 16);
    id
}

/// A contact's id: `ct_`, its `created_at` (7 characters), its row number
/// (6 characters, 36 bits) and 10 random characters (60 bits).
///
/// Contacts are numbered in creation order and an organization's
/// `created_at` never decreases with the number (see `db::contacts`), so
/// `(createdAt, id)` order is row-number order: a search can page newest
/// first straight from the search index, which is keyed by row number.
pub fn contact_id(created_at_ms: i64, seq: i64) -> String {
    let mut id = String::with_capacity(26);
    id.push_str(Kind::Contact.prefix());
    push_digits(
        &mut id,
        u128::from(u64::try_from(created_at_ms).unwrap_or(0)),
        7,
    );
    push_digits(&mut id, u128::from(u64::try_from(seq).unwrap_or(0)), 6);
    push_digits(&mut id, random_bits(8) >> 4, 10);
    id
}

/// Appends `value` as `width` base-64 digits of [`ALPHABET`], most
/// significant first.
fn push_digits(out: &mut String, value: u128, width: u32) {
    for i in (0..width).rev() {
        let digit = (value >> (6 * i)) & 63;
        out.push(char::from(ALPHABET[digit as usize]));
    }
}

/// A new secret API key: `sk_live_` and 32 random URL-safe characters.
pub fn new_api_key() -> String {
    format!("{KEY_PREFIX}{}", nanoid::nanoid!(KEY_RANDOM_LEN))
}

/// Whether `text` has the shape of an API key (checked before any lookup).
pub fn looks_like_api_key(text: &str) -> bool {
    text.strip_prefix(KEY_PREFIX).is_some_and(|rest| {
        rest.len() == KEY_RANDOM_LEN
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_sort_by_time() {
        let a = new_id(Kind::Audience);
        assert!(a.starts_with("aud_"));
        assert_eq!(a.len(), 4 + 7 + 16);
        assert!(new_id(Kind::Organization).starts_with("org_"));
        let ids: Vec<String> = (0..2000).map(|_| new_id(Kind::Call)).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids sort in creation order"
        );
    }

    #[test]
    fn contact_ids_sort_by_time_then_row_number() {
        let a = contact_id(1_772_359_200_000, 41);
        let b = contact_id(1_772_359_200_000, 42);
        let c = contact_id(1_772_359_200_001, 7);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(a.len(), 26);
    }

    #[test]
    fn keys_round_trip_their_shape() {
        let key = new_api_key();
        assert!(looks_like_api_key(&key));
        assert!(!looks_like_api_key("sk_live_short"));
        assert!(!looks_like_api_key(&key.replace("sk_live_", "sk_test_")));
    }
}
