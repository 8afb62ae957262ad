//! Opaque public ids and API keys.
//!
//! Every id is a prefix and seven characters of its creation time in
//! milliseconds (enough until the year 2109), in a URL-safe alphabet listed
//! in ASCII order, so new ids land at the right edge of their unique index
//! and bulk imports stay fast. What follows depends on the kind:
//!
//! - Objects an organization lists by creation (contacts, audiences, calls)
//!   carry a counter of their own organization (6 characters, 36 bits),
//!   then 10 random characters (60 bits, from the thread's CSPRNG):
//!   within one millisecond, ids of one organization sort in creation
//!   order. The counter is derived from the organization's own newest id,
//!   so it tells a key holder nothing about any other organization.
//! - Organizations and API keys carry 16 random characters (96 bits).
//!
//! Clients never parse ids, so the layout can change.

/// 64 URL-safe characters in ASCII order, so text order is number order.
const ALPHABET: &[u8; 64] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
const TIME_DIGITS: u32 = 7;
const COUNTER_DIGITS: u32 = 6;
/// The largest counter an id can hold; counters wrap no sooner than after
/// 68 billion objects in one organization.
const MAX_COUNTER: u64 = (1 << (6 * COUNTER_DIGITS)) - 1;

/// What API keys start with.
pub const KEY_PREFIX: &str = "sk_live_";
/// How many random characters follow [`KEY_PREFIX`].
pub(crate) const KEY_RANDOM_LEN: usize = 32;

/// The kinds of object that carry a public id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Organization,
    ApiKey,
    Contact,
    Audience,
    Call,
    Import,
    Webhook,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Organization => "org_",
            Kind::ApiKey => "key_",
            Kind::Contact => "ct_",
            Kind::Audience => "aud_",
            Kind::Call => "call_",
            Kind::Import => "imp_",
            Kind::Webhook => "wh_",
        }
    }
}

fn random_bits(bytes: usize) -> u128 {
    random_bytes(bytes)
        .into_iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(b))
}

/// `size` bytes from the thread's CSPRNG (ChaCha, seeded and reseeded from
/// the OS). nanoid's default source seeds a new generator from the OS for
/// every id: a system call and a key schedule per id, per request id.
pub fn random_bytes(size: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; size];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    bytes
}

/// A random token of `len` characters of nanoid's URL-safe alphabet.
pub fn random_token(len: usize) -> String {
    nanoid::format(random_bytes, &nanoid::alphabet::SAFE, len)
}

/// A new id of a kind that is not listed by creation (organizations, API
/// keys): the time and 96 random bits.
pub fn new_id(kind: Kind, created_at_ms: i64) -> String {
    let mut id = String::with_capacity(32);
    id.push_str(kind.prefix());
    push_digits(&mut id, time_digits(created_at_ms), TIME_DIGITS);
    push_digits(&mut id, random_bits(12), 16);
    id
}

/// The id of an organization's object created at `created_at_ms` with the
/// organization's next `counter` (see [`next_counter`]).
pub fn ordered_id(kind: Kind, created_at_ms: i64, counter: u64) -> String {
    let mut id = String::with_capacity(32);
    id.push_str(kind.prefix());
    push_digits(&mut id, time_digits(created_at_ms), TIME_DIGITS);
    push_digits(&mut id, u128::from(counter & MAX_COUNTER), COUNTER_DIGITS);
    push_digits(&mut id, random_bits(8) >> 4, 10);
    id
}

/// The counter for the next object after `newest`, the organization's
/// newest id of that kind (`None` when it has none).
pub fn next_counter(kind: Kind, newest: Option<&str>) -> u64 {
    newest
        .and_then(|id| counter_of(kind, id))
        .map_or(0, |counter| (counter + 1).min(MAX_COUNTER))
}

/// The counter an id made by [`ordered_id`] carries.
fn counter_of(kind: Kind, id: &str) -> Option<u64> {
    let start = kind.prefix().len() + TIME_DIGITS as usize;
    let digits = id.get(start..start + COUNTER_DIGITS as usize)?;
    digits.bytes().try_fold(0u64, |acc, b| {
        let digit = ALPHABET.iter().position(|&a| a == b)?;
        Some((acc << 6) | digit as u64)
    })
}

fn time_digits(ms: i64) -> u128 {
    u128::from(u64::try_from(ms).unwrap_or(0))
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
    format!("{KEY_PREFIX}{}", random_token(KEY_RANDOM_LEN))
}

/// A new webhook signing secret: `whsec_` and 32 random URL-safe characters.
pub fn new_webhook_secret() -> String {
    format!("whsec_{}", random_token(32))
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
    fn random_ids_have_prefix_time_and_no_order_within_a_millisecond() {
        let a = new_id(Kind::Organization, 1_772_359_200_000);
        assert!(a.starts_with("org_"));
        assert_eq!(a.len(), 4 + 7 + 16);
        let b = new_id(Kind::Organization, 1_772_359_200_001);
        assert!(a < b, "the time leads");
    }

    #[test]
    fn ordered_ids_sort_by_time_then_counter() {
        let a = ordered_id(Kind::Contact, 1_772_359_200_000, 41);
        let b = ordered_id(Kind::Contact, 1_772_359_200_000, 42);
        let c = ordered_id(Kind::Contact, 1_772_359_200_001, 7);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(a.len(), 26);
        assert_eq!(ordered_id(Kind::Audience, 0, 0).len(), 27);
    }

    #[test]
    fn counters_continue_from_the_newest_id() {
        assert_eq!(next_counter(Kind::Contact, None), 0);
        let id = ordered_id(Kind::Contact, 1_772_359_200_000, 4_095);
        assert_eq!(next_counter(Kind::Contact, Some(&id)), 4_096);
        let call = ordered_id(Kind::Call, 1_772_359_200_000, 9);
        assert_eq!(next_counter(Kind::Call, Some(&call)), 10);
        assert_eq!(next_counter(Kind::Contact, Some("ct_short")), 0);
        let last = ordered_id(Kind::Contact, 1, MAX_COUNTER);
        assert_eq!(next_counter(Kind::Contact, Some(&last)), MAX_COUNTER);
    }

    #[test]
    fn keys_round_trip_their_shape() {
        let key = new_api_key();
        assert!(looks_like_api_key(&key));
        assert!(!looks_like_api_key("sk_live_short"));
        assert!(!looks_like_api_key(&key.replace("sk_live_", "sk_test_")));
    }
}
