//! The JSON body guard.
//!
//! Bodies are read as JSON whatever their `Content-Type`, up to Rocket's
//! `limits.json`. Over the limit is 413; text that is not JSON is 400; an
//! object with the same key twice is 422 naming the key. Numbers keep their
//! text (serde_json's `arbitrary_precision`), so metadata comes back digit
//! for digit. Shape (object or not, field types) is the handler's to judge,
//! as 422.
//!
//! Bodies in flight share a memory budget ([`BodyBudget`]): a large body
//! waits for room instead of every large request at once holding its
//! parsed tree and its answer. Writes are serialized by SQLite anyway, so
//! waiting costs large concurrent requests little and bounds the process's
//! memory. A body's share is held until its request is done (answer sent).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use rocket::data::{ByteUnit, Data, FromData, Outcome, ToByteUnit};
use rocket::request::Request;
use rocket::tokio::sync::{OwnedSemaphorePermit, Semaphore};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use rocket::http::Method;

use crate::error::{self, ApiError};
use crate::idempotency::{body_digest, BodyDigest, IdempotentBody};

/// The default body limit when `limits.json` is not configured.
pub(crate) const DEFAULT_JSON_LIMIT_MIB: usize = 20;

/// A body's JSON.
pub(crate) struct JsonBody {
    value: Value,
}

/// A request's share of the body budget, kept in the request's local cache
/// so it is released when the request is dropped, after its answer.
#[derive(Default)]
struct HeldShare(std::sync::Mutex<Option<OwnedSemaphorePermit>>);

impl JsonBody {
    pub(crate) fn value(&self) -> &Value {
        &self.value
    }

    pub(crate) fn into_value(self) -> Value {
        self.value
    }
}

/// How many bytes of request bodies may be read, parsed and answered at
/// once, in KiB permits: the JSON limit, so one of the largest bodies at a
/// time, or any number of small ones.
pub(crate) struct BodyBudget {
    permits: Arc<Semaphore>,
    total_kib: u32,
}

impl BodyBudget {
    pub(crate) fn new(json_limit: ByteUnit) -> Self {
        let total_kib = u32::try_from(json_limit.as_u64() / 1024)
            .unwrap_or(u32::MAX >> 4)
            .clamp(1024, u32::MAX >> 4);
        BodyBudget {
            permits: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
        }
    }

    /// Waits for room for `bytes` (the whole budget at most).
    async fn reserve(&self, bytes: u64) -> Option<OwnedSemaphorePermit> {
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.total_kib);
        Arc::clone(&self.permits).acquire_many_owned(kib).await.ok()
    }
}

/// `PATCH` and `DELETE` bodies. A `POST` reads its body through
/// [`Idempotent`] instead, which claims its idempotency key; a `POST` route
/// that takes a bare `JsonBody` fails every request, so no test misses it.
#[rocket::async_trait]
impl<'r> FromData<'r> for JsonBody {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r, Self, ()> {
        let read = async {
            if req.method() == Method::Post {
                return Err(ApiError::internal()
                    .with_cause("a POST route reads its body without Idempotent<_>".into()));
            }
            read_json(req, data).await.map(|(body, _)| body)
        };
        match read.await {
            Ok(body) => Outcome::Success(body),
            Err(e) => Outcome::Error((error::stash(req, e), ())),
        }
    }
}

impl IdempotentBody for JsonBody {
    async fn read<'r>(
        req: &'r Request<'_>,
        data: Data<'r>,
    ) -> Result<(Self, BodyDigest), ApiError> {
        read_json(req, data).await
    }
}

/// Reads and parses a JSON body; the digest of its bytes comes back
/// beside it.
async fn read_json(req: &Request<'_>, data: Data<'_>) -> Result<(JsonBody, BodyDigest), ApiError> {
    let limit = req
        .limits()
        .get("json")
        .unwrap_or_else(|| DEFAULT_JSON_LIMIT_MIB.mebibytes());
    let budget = req.rocket().state::<BodyBudget>();
    let bytes = read_bytes(req, data, limit, budget).await?;
    let value = parse(&bytes)?;
    Ok((JsonBody { value }, body_digest(&bytes)))
}

/// Reads a whole body of at most `limit` bytes, holding a share of
/// `budget` for the request's life.
async fn read_bytes(
    req: &Request<'_>,
    data: Data<'_>,
    limit: ByteUnit,
    budget: Option<&BodyBudget>,
) -> Result<Vec<u8>, ApiError> {
    // The declared length when there is one (a body longer than it is not
    // read past it); otherwise room for the largest allowed body.
    let declared = req
        .headers()
        .get_one("content-length")
        .and_then(|n| n.trim().parse::<u64>().ok())
        .map_or(limit.as_u64(), |n| n.min(limit.as_u64()));
    if let Some(budget) = budget {
        let permit = budget.reserve(declared).await;
        if let Ok(mut held) = req.local_cache(HeldShare::default).0.lock() {
            *held = permit;
        }
    }
    let bytes = data
        .open(limit)
        .into_bytes()
        .await
        .map_err(|_| ApiError::bad_request("The request body could not be read"))?;
    if !bytes.is_complete() {
        return Err(ApiError::payload_too_large(format!(
            "The request body is larger than the {limit} limit"
        )));
    }
    Ok(bytes.into_inner())
}

/// The default `limits.file`: the largest CSV an import takes.
pub(crate) const DEFAULT_FILE_LIMIT_MIB: usize = 100;

/// A file upload's bytes (a CSV import), up to Rocket's `limits.file`,
/// whatever its `Content-Type`. Uploads have their own budget
/// ([`FileBudget`]): one of the largest at a time, so they never hold up
/// JSON requests.
pub(crate) struct FileBody(Vec<u8>);

impl FileBody {
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// The budget file uploads share, the size of `limits.file`.
pub(crate) struct FileBudget(pub BodyBudget);

impl IdempotentBody for FileBody {
    async fn read<'r>(
        req: &'r Request<'_>,
        data: Data<'r>,
    ) -> Result<(Self, BodyDigest), ApiError> {
        let limit = req
            .limits()
            .get("file")
            .unwrap_or_else(|| DEFAULT_FILE_LIMIT_MIB.mebibytes());
        let budget = req.rocket().state::<FileBudget>().map(|b| &b.0);
        let bytes = read_bytes(req, data, limit, budget).await?;
        let digest = body_digest(&bytes);
        Ok((FileBody(bytes), digest))
    }
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))?;
    if let Some(path) = duplicate_key(bytes) {
        let message = format!("{path} appears more than once in the same object");
        return Err(ApiError::validation(vec![error::FieldError::new(
            path, message,
        )]));
    }
    Ok(value)
}

/// The path (`contacts.3.name`) of the first key that some object of the
/// JSON text `bytes` holds twice. serde_json keeps the last value of a
/// repeated key silently, so this is a second, allocation-light pass.
fn duplicate_key(bytes: &[u8]) -> Option<String> {
    let mut path = None;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let _ = DuplicateCheck { path: &mut path }.deserialize(&mut deserializer);
    path.map(|mut segments: Vec<String>| {
        segments.reverse();
        segments.join(".")
    })
}

/// Walks a JSON value; on a repeated key, records its path (innermost
/// first, each enclosing level adds its own segment while the error
/// unwinds) and stops.
struct DuplicateCheck<'a> {
    path: &'a mut Option<Vec<String>>,
}

impl<'de> DeserializeSeed<'de> for DuplicateCheck<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Visitor<'de> for DuplicateCheck<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            match seq.next_element_seed(DuplicateCheck {
                path: &mut *self.path,
            }) {
                Ok(Some(())) => index += 1,
                Ok(None) => return Ok(()),
                Err(e) => {
                    if let Some(path) = self.path.as_mut() {
                        path.push(index.to_string());
                    }
                    return Err(e);
                }
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: HashSet<Cow<'de, str>> = HashSet::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if seen.contains(&key) {
                *self.path = Some(vec![key.into_owned()]);
                return Err(de::Error::custom("duplicate key"));
            }
            if let Err(e) = map.next_value_seed(DuplicateCheck {
                path: &mut *self.path,
            }) {
                if let Some(path) = self.path.as_mut() {
                    path.push(key.into_owned());
                }
                return Err(e);
            }
            seen.insert(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_path_of_a_repeated_key() {
        assert_eq!(
            duplicate_key(br#"{"name":"A","name":"B"}"#).as_deref(),
            Some("name")
        );
        assert_eq!(
            duplicate_key(br#"{"contacts":[{"a":1},{"name":"A","x":{"k":1,"k":2}}]}"#).as_deref(),
            Some("contacts.1.x.k")
        );
        assert_eq!(duplicate_key(br#"{"a":{"k":1},"b":{"k":1}}"#), None);
        assert_eq!(
            duplicate_key(br#"{"a\u0062":1,"ab":2}"#).as_deref(),
            Some("ab")
        );
        assert_eq!(duplicate_key(br#"[1, 2.5e400, "x", null, true]"#), None);
    }

    #[test]
    fn keeps_every_number_to_the_last_digit() {
        for (sent, kept) in [
            ("0.21549671757760558", "0.21549671757760558"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("-0", "-0"),
            ("1.50", "1.50"),
            // serde_json writes an exponent's sign: the same number.
            ("1e400", "1e+400"),
            ("2.5E-7", "2.5e-7"),
        ] {
            let value = parse(format!("{{\"n\":{sent}}}").as_bytes()).unwrap();
            assert_eq!(value.to_string(), format!("{{\"n\":{kept}}}"));
        }
    }

    #[rocket::async_test]
    async fn a_large_body_takes_the_whole_budget_and_small_ones_a_sliver() {
        let budget = BodyBudget::new(4.mebibytes());
        let large = budget.reserve(64 * 1024 * 1024).await.unwrap();
        assert_eq!(budget.permits.available_permits(), 0);
        drop(large);
        let small = budget.reserve(300).await.unwrap();
        assert_eq!(budget.permits.available_permits(), 4 * 1024 - 1);
        drop(small);
        assert_eq!(budget.permits.available_permits(), 4 * 1024);
    }

    #[test]
    fn refuses_text_that_is_not_json() {
        assert_eq!(parse(b"{").unwrap_err().code(), "bad_request");
        assert_eq!(
            parse(br#"{"a":1,"a":1}"#).unwrap_err().code(),
            "validation_failed"
        );
    }
}
