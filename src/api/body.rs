//! The JSON body guard.
//!
//! Bodies are read as JSON whatever their `Content-Type`, up to Rocket's
//! `limits.json`. Over the limit is 413; text that is not JSON is 400. Shape
//! (object or not, field types) is the handler's to judge, as 422.

use rocket::data::{Data, FromData, Outcome, ToByteUnit};
use rocket::request::Request;
use serde_json::Value;

use crate::error::{self, ApiError};

/// The default body limit when `limits.json` is not configured.
pub const DEFAULT_JSON_LIMIT_MIB: usize = 20;

pub struct JsonBody(pub Value);

#[rocket::async_trait]
impl<'r> FromData<'r> for JsonBody {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r, Self, ()> {
        match read(req, data).await {
            Ok(value) => Outcome::Success(JsonBody(value)),
            Err(e) => Outcome::Error((error::stash(req, e), ())),
        }
    }
}

async fn read(req: &Request<'_>, data: Data<'_>) -> Result<Value, ApiError> {
    let limit = req
        .limits()
        .get("json")
        .unwrap_or_else(|| DEFAULT_JSON_LIMIT_MIB.mebibytes());
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
    serde_json::from_slice(&bytes.into_inner())
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))
}
