//! Listing cursors: opaque to clients, signed, and bound to the query that
//! made them.
//!
//! A cursor is the last row's sort key and id plus a fingerprint of the
//! query (organization, route, filters, search, sort), as base64url JSON,
//! then `.` and a truncated HMAC-SHA256 of that text under the database's
//! `cursor_secret`. A cursor that does not verify, or whose fingerprint is
//! not the current query's, is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the HMAC a cursor carries (128 bits).
const TAG_BYTES: usize = 16;

/// A row's sort key as a cursor records it: a time in milliseconds or a
/// name's sort key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortKey {
    Integer(i64),
    Text(String),
}

/// Where the next page starts: after this sort key and id.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Position {
    pub key: SortKey,
    pub id: String,
}

/// The cursor's JSON. The sort key is a JSON integer or string, read by
/// hand: serde's untagged enums do not see numbers under serde_json's
/// `arbitrary_precision`.
#[derive(Serialize, Deserialize)]
struct Payload {
    q: String,
    k: serde_json::Value,
    i: String,
}

/// Why a cursor was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CursorError {
    /// Not a cursor this server made, or altered since.
    Invalid,
    /// Made for another query (sort, filters or search).
    OtherQuery,
}

/// A short fingerprint of a query's canonical description.
pub(crate) fn fingerprint(canonical: &str) -> String {
    let digest = Sha256::digest(canonical.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..12])
}

fn tag(secret: &[u8], text: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(text.as_bytes());
    mac
}

/// The cursor for the rows after `position` in the query `fingerprint`.
pub(crate) fn encode(secret: &[u8], fingerprint: &str, position: &Position) -> String {
    let key = match &position.key {
        SortKey::Integer(n) => serde_json::Value::from(*n),
        SortKey::Text(s) => serde_json::Value::from(s.as_str()),
    };
    let payload = Payload {
        q: fingerprint.to_string(),
        k: key,
        i: position.id.clone(),
    };
    let json = serde_json::to_vec(&payload).unwrap_or_default();
    let body = URL_SAFE_NO_PAD.encode(json);
    let mac = tag(secret, &body).finalize().into_bytes();
    format!("{body}.{}", URL_SAFE_NO_PAD.encode(&mac[..TAG_BYTES]))
}

/// The position `cursor` points after, if it is genuine and was made for
/// the query `fingerprint`.
pub(crate) fn decode(
    secret: &[u8],
    fingerprint: &str,
    cursor: &str,
) -> Result<Position, CursorError> {
    let (body, signature) = cursor.split_once('.').ok_or(CursorError::Invalid)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| CursorError::Invalid)?;
    if signature.len() != TAG_BYTES {
        return Err(CursorError::Invalid);
    }
    tag(secret, body)
        .verify_truncated_left(&signature)
        .map_err(|_| CursorError::Invalid)?;
    let json = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| CursorError::Invalid)?;
    let payload: Payload = serde_json::from_slice(&json).map_err(|_| CursorError::Invalid)?;
    if payload.q != fingerprint {
        return Err(CursorError::OtherQuery);
    }
    let key = match payload.k {
        serde_json::Value::String(s) => SortKey::Text(s),
        other => SortKey::Integer(other.as_i64().ok_or(CursorError::Invalid)?),
    };
    Ok(Position { key, id: payload.i })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_tampering() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let position = Position {
            key: SortKey::Integer(1_772_359_200_000),
            id: "ct_x".into(),
        };
        let cursor = encode(secret, "q1", &position);
        assert_eq!(decode(secret, "q1", &cursor), Ok(position));
        assert_eq!(decode(secret, "q2", &cursor), Err(CursorError::OtherQuery));
        assert_eq!(
            decode(b"another secret", "q1", &cursor),
            Err(CursorError::Invalid)
        );
        let mut tampered = cursor.clone().into_bytes();
        tampered[3] ^= 1;
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(decode(secret, "q1", &tampered), Err(CursorError::Invalid));
        for junk in ["", ".", "abc", "abc.def", "é.é"] {
            assert_eq!(decode(secret, "q1", junk), Err(CursorError::Invalid));
        }
        let short = &cursor[..cursor.len() - 4];
        assert_eq!(decode(secret, "q1", short), Err(CursorError::Invalid));
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_refused_and_any_position_round_trips(
            junk in "\\PC{0,80}",
            n in proptest::num::i64::ANY,
            text in "\\PC{0,40}",
            id in "[A-Za-z0-9_-]{0,30}",
        ) {
            let secret = b"0123456789abcdef0123456789abcdef";
            proptest::prop_assert!(decode(secret, "q", &junk).is_err());
            for key in [SortKey::Integer(n), SortKey::Text(text.clone())] {
                let position = Position { key, id: id.clone() };
                let cursor = encode(secret, "q", &position);
                proptest::prop_assert_eq!(decode(secret, "q", &cursor), Ok(position));
            }
        }
    }
}
