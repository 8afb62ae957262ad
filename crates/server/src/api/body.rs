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

/// A request's share of the body budget (its key's and the process's),
/// kept in the request's local cache so it is released when the request
/// is dropped, after its answer.
#[derive(Default)]
struct HeldShare(std::sync::Mutex<Vec<OwnedSemaphorePermit>>);

impl JsonBody {
    pub(crate) fn value(&self) -> &Value {
        &self.value
    }

    pub(crate) fn into_value(self) -> Value {
        self.value
    }
}

/// How many bytes of request bodies may be read, parsed and answered at
/// once, in KiB permits. Each API key may hold at most the body limit (one
/// of the largest bodies, or any number of small ones); the process at
/// most twice that. So one key, however many requests it sends or however
/// slowly it sends them, holds at most half of the room: other keys'
/// bodies are read meanwhile. A body that stops arriving gives its share
/// back after `body_read_timeout` (see [`BodyTimeouts`]).
pub(crate) struct BodyBudget {
    process: Arc<Semaphore>,
    per_key: std::sync::Mutex<std::collections::HashMap<[u8; 32], Arc<Semaphore>>>,
    limit_kib: u32,
}

/// Keys whose share is tracked at once before idle ones are forgotten.
const TRACKED_KEYS: usize = 1024;

impl BodyBudget {
    pub(crate) fn new(limit: ByteUnit) -> Self {
        let limit_kib = u32::try_from(limit.as_u64() / 1024)
            .unwrap_or(u32::MAX >> 5)
            .clamp(1024, u32::MAX >> 5);
        BodyBudget {
            process: Arc::new(Semaphore::new(2 * limit_kib as usize)),
            per_key: std::sync::Mutex::new(std::collections::HashMap::new()),
            limit_kib,
        }
    }

    /// The semaphore of the key whose hash is `key`.
    fn key_share(&self, key: [u8; 32]) -> Arc<Semaphore> {
        let Ok(mut shares) = self.per_key.lock() else {
            return Arc::new(Semaphore::new(self.limit_kib as usize));
        };
        if shares.len() >= TRACKED_KEYS && !shares.contains_key(&key) {
            // Forget keys holding nothing: their share is whole again.
            let full = self.limit_kib as usize;
            shares.retain(|_, share| share.available_permits() < full);
        }
        Arc::clone(
            shares
                .entry(key)
                .or_insert_with(|| Arc::new(Semaphore::new(self.limit_kib as usize))),
        )
    }

    /// Waits for room for `bytes` (the body limit at most) in `key`'s share
    /// and then in the process's.
    async fn reserve(&self, key: [u8; 32], bytes: u64) -> Vec<OwnedSemaphorePermit> {
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.limit_kib);
        let mut permits = Vec::with_capacity(2);
        if let Ok(permit) = self.key_share(key).acquire_many_owned(kib).await {
            permits.push(permit);
        }
        if let Ok(permit) = Arc::clone(&self.process).acquire_many_owned(kib).await {
            permits.push(permit);
        }
        permits
    }
}

/// How long a body may go without a byte, and how long it may take in
/// all (twice that): `body_read_timeout` seconds, default 30.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyTimeouts {
    pub idle: std::time::Duration,
    pub total: std::time::Duration,
}

impl BodyTimeouts {
    pub(crate) fn new(seconds: u32) -> Self {
        let idle = std::time::Duration::from_secs(u64::from(seconds.max(1)));
        BodyTimeouts {
            idle,
            total: idle * 2,
        }
    }
}

impl Default for BodyTimeouts {
    fn default() -> Self {
        BodyTimeouts::new(30)
    }
}

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

/// The most items an array among the body's members may hold on the
/// route `req` reached: 10,000 rows for a JSON import, else 1,000.
fn max_items(req: &Request<'_>) -> usize {
    match req.route().map(|r| r.uri.as_str()) {
        Some("/v1/imports/api/bulk") => contactsd_domain::import::MAX_JSON_ROWS,
        _ => contactsd_domain::MAX_IDS,
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
    let value = parse(&bytes, max_items(req))?;
    Ok((JsonBody { value }, body_digest(&bytes)))
}

/// Reads a whole body of at most `limit` bytes, holding a share of
/// `budget` for the request's life: 413 past the limit, 408 when the body
/// stops arriving for the idle timeout or is still incomplete at the total
/// one (its share is then given back with the request).
async fn read_bytes(
    req: &Request<'_>,
    data: Data<'_>,
    limit: ByteUnit,
    budget: Option<&BodyBudget>,
) -> Result<Vec<u8>, ApiError> {
    use rocket::tokio::io::AsyncReadExt;

    // The declared length when there is one (a body longer than it is not
    // read past it); otherwise room for the largest allowed body.
    let declared = req
        .headers()
        .get_one("content-length")
        .and_then(|n| n.trim().parse::<u64>().ok())
        .map_or(limit.as_u64(), |n| n.min(limit.as_u64()));
    if let Some(budget) = budget {
        let permits = budget.reserve(caller_of(req), declared).await;
        if let Ok(mut held) = req.local_cache(HeldShare::default).0.lock() {
            *held = permits;
        }
    }
    let timeouts = req
        .rocket()
        .state::<BodyTimeouts>()
        .copied()
        .unwrap_or_default();
    let started = rocket::tokio::time::Instant::now();
    // One byte past the limit tells a body over it from one exactly at it.
    let mut stream = data.open(limit + 1);
    let mut bytes = Vec::with_capacity(usize::try_from(declared.min(1 << 20)).unwrap_or(0));
    loop {
        let until =
            (rocket::tokio::time::Instant::now() + timeouts.idle).min(started + timeouts.total);
        match rocket::tokio::time::timeout_at(until, stream.read_buf(&mut bytes)).await {
            Err(_) => {
                if let Some(metrics) = req.rocket().state::<crate::metrics::Metrics>() {
                    metrics.stalled_body();
                }
                return Err(ApiError::request_timeout(timeouts.idle.as_secs()));
            }
            Ok(Err(_)) => return Err(ApiError::bad_request("The request body could not be read")),
            Ok(Ok(0)) => break,
            Ok(Ok(_)) if bytes.len() as u64 > limit.as_u64() => {
                return Err(ApiError::payload_too_large(format!(
                    "The request body is larger than the {limit} limit"
                )));
            }
            Ok(Ok(_)) => {
                if bytes.capacity() == bytes.len() {
                    bytes.reserve(64 * 1024);
                }
            }
        }
    }
    Ok(bytes)
}

/// Whose share of the budget a body takes: a hash of the key it presents
/// (a body guard runs after the key guard has accepted the key).
fn caller_of(req: &Request<'_>) -> [u8; 32] {
    let key = req
        .headers()
        .get_one("x-api-key")
        .or_else(|| req.headers().get_one("authorization"))
        .unwrap_or_default();
    body_digest(key.trim().as_bytes())
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

/// The most items an array nested below the body's own members may hold:
/// such arrays live in metadata, which holds 16 KiB at most, so no valid
/// body comes near it.
const MAX_NESTED_ITEMS: usize = 10_000;

/// Parses a JSON body whose top-level arrays hold at most `max_items`:
/// 413 as soon as an array passes its limit, 400 when the text is not JSON,
/// 422 naming a key that an object holds twice. A first pass walks the
/// text without building anything, so a 20 MiB array of zeros costs no
/// more than its bytes.
pub(crate) fn parse(bytes: &[u8], max_items: usize) -> Result<Value, ApiError> {
    let found = check(bytes, max_items);
    if let Some(Found::TooLong { path, max }) = found {
        return Err(ApiError::payload_too_large(format!(
            "{path} holds more than {max} items; at most {max} are allowed in one request"
        )));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))?;
    if let Some(Found::Duplicate(path)) = found {
        let message = format!("{path} appears more than once in the same object");
        return Err(ApiError::validation(vec![error::FieldError::new(
            path, message,
        )]));
    }
    Ok(value)
}

/// What the first pass over a body found.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// The path (`contacts.3.name`) of a key some object holds twice.
    /// serde_json keeps the last value of a repeated key silently.
    Duplicate(String),
    /// An array at `path` longer than `max`.
    TooLong { path: String, max: usize },
}

/// Walks the JSON text `bytes` without building it.
fn check(bytes: &[u8], max_items: usize) -> Option<Found> {
    let mut path = None;
    let mut too_long = None;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let _ = Check {
        path: &mut path,
        too_long: &mut too_long,
        depth: 0,
        max_items,
    }
    .deserialize(&mut deserializer);
    let path = path.map(|mut segments: Vec<String>| {
        segments.reverse();
        segments.join(".")
    })?;
    Some(match too_long {
        Some(max) => Found::TooLong { path, max },
        None => Found::Duplicate(path),
    })
}

/// The path of a repeated key, if any (see [`check`]).
#[cfg(test)]
fn duplicate_key(bytes: &[u8]) -> Option<String> {
    match check(bytes, usize::MAX) {
        Some(Found::Duplicate(path)) => Some(path),
        _ => None,
    }
}

/// Walks a JSON value; on a repeated key or an array over its limit,
/// records its path (innermost first, each enclosing level adds its own
/// segment while the error unwinds) and stops.
struct Check<'a> {
    path: &'a mut Option<Vec<String>>,
    /// Set with the limit when the stop is an array over it.
    too_long: &'a mut Option<usize>,
    /// 0 for the body itself, 1 for its members' values, ...
    depth: usize,
    /// The limit of the body's own members' arrays.
    max_items: usize,
}

impl Check<'_> {
    fn inner(&mut self) -> Check<'_> {
        Check {
            path: &mut *self.path,
            too_long: &mut *self.too_long,
            depth: self.depth + 1,
            max_items: self.max_items,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Check<'_> {
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

impl<'de> Visitor<'de> for Check<'_> {
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

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let max = if self.depth == 1 {
            self.max_items
        } else {
            MAX_NESTED_ITEMS
        };
        let mut index = 0usize;
        loop {
            if index == max {
                // One more item (or the end) decides whether it is over.
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    *self.path = Some(Vec::new());
                    *self.too_long = Some(max);
                    return Err(de::Error::custom("array too long"));
                }
                return Ok(());
            }
            match seq.next_element_seed(self.inner()) {
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

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut seen: HashSet<Cow<'de, str>> = HashSet::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if seen.contains(&key) {
                *self.path = Some(vec![key.into_owned()]);
                return Err(de::Error::custom("duplicate key"));
            }
            if let Err(e) = map.next_value_seed(self.inner()) {
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
    fn an_array_over_its_limit_is_413_without_building_it() {
        let zeros = format!("{{\"contacts\":[{}0]}}", "0,".repeat(2_000_000));
        let error = parse(zeros.as_bytes(), 1000).unwrap_err();
        assert_eq!(error.code(), "payload_too_large");
        assert!(serde_json::to_value(error.to_body()).unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("contacts holds more than 1000"));
        let exactly = format!("{{\"contacts\":[{}0]}}", "0,".repeat(999));
        assert!(parse(exactly.as_bytes(), 1000).is_ok());
        let nested = format!(
            "{{\"contacts\":[{{\"metadata\":{{\"k\":[{}0]}}}}]}}",
            "0,".repeat(10_000)
        );
        let error = parse(nested.as_bytes(), 1000).unwrap_err();
        assert_eq!(error.code(), "payload_too_large");
        assert!(serde_json::to_value(error.to_body()).unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("contacts.0.metadata.k"));
        // Not JSON after an array over its limit: still 413, nothing built.
        let broken = format!("{{\"contacts\":[{}0 oops", "0,".repeat(1001));
        assert_eq!(
            parse(broken.as_bytes(), 1000).unwrap_err().code(),
            "payload_too_large"
        );
    }

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
            let value = parse(format!("{{\"n\":{sent}}}").as_bytes(), 1000).unwrap();
            assert_eq!(value.to_string(), format!("{{\"n\":{kept}}}"));
        }
    }

    #[rocket::async_test]
    async fn one_key_holds_at_most_half_the_budget_and_others_go_on() {
        let budget = BodyBudget::new(4.mebibytes());
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let large = budget.reserve(a, 64 * 1024 * 1024).await;
        assert_eq!(large.len(), 2);
        assert_eq!(budget.process.available_permits(), 4 * 1024);
        // Key a's share is spent: its next body waits, key b's does not.
        let waiting = rocket::tokio::time::timeout(
            std::time::Duration::from_millis(50),
            budget.reserve(a, 300),
        )
        .await;
        assert!(
            waiting.is_err(),
            "a second body of key a waits for its share"
        );
        let other = budget.reserve(b, 4 * 1024 * 1024).await;
        assert_eq!(budget.process.available_permits(), 0);
        drop(large);
        let small = budget.reserve(a, 300).await;
        assert_eq!(budget.process.available_permits(), 4 * 1024 - 1);
        drop((small, other));
        assert_eq!(budget.process.available_permits(), 8 * 1024);
    }

    #[test]
    fn refuses_text_that_is_not_json() {
        assert_eq!(parse(b"{", 1000).unwrap_err().code(), "bad_request");
        assert_eq!(
            parse(br#"{"a":1,"a":1}"#, 1000).unwrap_err().code(),
            "validation_failed"
        );
    }
}
