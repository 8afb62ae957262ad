//! Opaque public ids and API keys.
//!
//! An id is a prefix, eight characters of the creation time in milliseconds
//! (base 62 in ASCII order), then sixteen random nanoid characters (96 bits).
//! The random part makes ids unguessable; the time part makes each new id
//! land at the right edge of its unique index, which keeps bulk imports fast.
//! Clients never parse ids, so the layout can change.

use crate::clock;

const TIME_ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

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

/// A new id of the given kind.
pub fn new_id(kind: Kind) -> String {
    let mut id = String::with_capacity(32);
    id.push_str(kind.prefix());
    let mut ms = u64::try_from(clock::now_ms()).unwrap_or(0);
    let mut time = [b'0'; 8];
    for slot in time.iter_mut().rev() {
        *slot = TIME_ALPHABET[(ms % 62) as usize];
        ms /= 62;
    }
    id.extend(time.iter().map(|&b| char::from(b)));
    id.push_str(&nanoid::nanoid!(16));
    id
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
        let a = new_id(Kind::Contact);
        assert!(a.starts_with("ct_"));
        assert_eq!(a.len(), 3 + 8 + 16);
        assert!(new_id(Kind::Organization).starts_with("org_"));
    }

    #[test]
    fn keys_round_trip_their_shape() {
        let key = new_api_key();
        assert!(looks_like_api_key(&key));
        assert!(!looks_like_api_key("sk_live_short"));
        assert!(!looks_like_api_key(&key.replace("sk_live_", "sk_test_")));
    }
}
