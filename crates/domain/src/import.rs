//! Imports: what a request (JSON rows, a CSV body, a file given to the CLI)
//! becomes before it is queued, and how a queued row becomes a bulk item.
//!
//! A request is checked for its shape only and stored whole, split into
//! chunks of at most 1,000 rows ([`Rows`]); rows are validated one by one
//! when the worker applies their chunk, so a bad row fails alone. JSON rows
//! are stored as JSON, CSV rows as the CSV text that was sent (with the
//! header's meaning kept once, as [`Column`]s), so nothing is re-encoded.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::bulk;
use crate::error::{FieldError, Rejection};
use crate::{expect_object, unknown_fields, BulkItem, READ_ONLY_FIELDS};

/// The most rows of one `POST /v1/imports/api/bulk`.
pub const MAX_JSON_ROWS: usize = 10_000;
/// The most rows of one CSV (or CLI) import.
pub const MAX_FILE_ROWS: usize = 1_000_000;
/// Rows applied per transaction.
pub(crate) const CHUNK_ROWS: usize = 1_000;
/// The longest `webhookUrl` taken.
const MAX_URL_BYTES: usize = 2048;

/// How a stored row reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowFormat {
    /// A JSON object: `name`, `phoneNumber`, `language`, `metadata`, and
    /// any other key as a metadata key.
    Json,
    /// A CSV record whose cells mean what the header's columns say.
    Csv(Vec<Column>),
}

/// The header of a CSV export (`GET /v1/contacts/export`,
/// `contactsd export`), which an import recognizes.
pub const EXPORT_HEADER: [&str; 7] = [
    "id",
    "name",
    "phoneNumber",
    "language",
    "metadata",
    "createdAt",
    "updatedAt",
];

/// The most columns a CSV header may have: the known columns and at most
/// 64 metadata keys fit with room to spare; a wider header could only
/// fail row by row.
pub const MAX_COLUMNS: usize = 100;

/// The first characters that make a spreadsheet read a cell as a formula
/// (OWASP "CSV Injection"), and `'`, the escape itself.
const FORMULA_STARTS: [char; 7] = ['=', '+', '-', '@', '\'', '\t', '\r'];

/// A text cell as an export writes it: one more `'` in front of a value a
/// spreadsheet would run as a formula (or that starts with `'` already),
/// so opening the file runs nothing. [`unescape_exported`] undoes it.
pub fn spreadsheet_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(FORMULA_STARTS) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// A text cell of an export read back: the `'` [`spreadsheet_safe`] put
/// in front is removed.
pub fn unescape_exported(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// A webhook URL as it is shown (statuses, webhook bodies): a password in
/// it is replaced by `***`. contactsd never sends it; the signature is how
/// a receiver knows a delivery is contactsd's.
pub fn shown_webhook_url(url: &str) -> std::borrow::Cow<'_, str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return std::borrow::Cow::Borrowed(url);
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            std::borrow::Cow::Owned(format!(
                "{scheme}://{user}:***@{host}{}",
                &rest[authority_end..]
            ))
        }
        _ => std::borrow::Cow::Borrowed(url),
    }
}

/// What a CSV column holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", content = "key", rename_all = "camelCase")]
pub enum Column {
    Name,
    /// An export's name column: escaped by [`spreadsheet_safe`].
    ExportedName,
    PhoneNumber,
    Language,
    /// A JSON object's text, as an export writes the metadata.
    Metadata,
    /// A metadata key, named exactly as in the header.
    Extra(String),
    /// Read-only columns of an export (`id`, `createdAt`, …), and columns
    /// without a name.
    Skip,
}

impl RowFormat {
    /// The `source` and `columns` values stored with an import.
    pub fn to_stored(&self) -> (&'static str, Option<String>) {
        match self {
            RowFormat::Json => ("json", None),
            RowFormat::Csv(columns) => ("csv", serde_json::to_string(columns).ok()),
        }
    }

    pub fn from_stored(source: &str, columns: Option<&str>) -> Option<RowFormat> {
        match source {
            "json" => Some(RowFormat::Json),
            "csv" => serde_json::from_str(columns?).ok().map(RowFormat::Csv),
            _ => None,
        }
    }
}

/// An import's rows, ready to store.
#[derive(Debug)]
pub struct Rows {
    pub format: RowFormat,
    pub total: usize,
    pub chunks: Vec<Chunk>,
}

/// Up to [`CHUNK_ROWS`] rows, stored as one text.
#[derive(Debug)]
pub struct Chunk {
    /// The position of the chunk's first row in the import, from 0.
    pub first_row: usize,
    pub rows: String,
}

/// An import as asked for, before its audience is looked up.
#[derive(Debug)]
pub struct ImportRequest {
    pub rows: Rows,
    pub audience_id: Option<String>,
    pub webhook_url: Option<String>,
    pub metadata_mode: MetadataMode,
}

/// What a row's metadata does to an existing contact's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MetadataMode {
    /// The row's metadata replaces the stored object whole.
    #[default]
    Replace,
    /// The row's top-level keys replace the same keys; the others stay.
    Merge,
}

impl MetadataMode {
    /// `replace` or `merge`, as the API and the CLI spell them.
    pub fn parse(text: &str) -> Option<MetadataMode> {
        match text {
            "replace" => Some(MetadataMode::Replace),
            "merge" => Some(MetadataMode::Merge),
            _ => None,
        }
    }

    /// The 422 detail for any other spelling.
    pub fn invalid() -> FieldError {
        FieldError::new("metadataMode", "metadataMode must be replace or merge")
    }
}

/// Reads the body of `POST /v1/imports/api/bulk`: `contacts` (1 to 10,000
/// rows, not checked one by one here), `audienceId`, `webhookUrl`.
pub fn json_request(mut body: Value) -> Result<ImportRequest, Rejection> {
    let object = expect_object(&body).map_err(|e| Rejection::validation(vec![e]))?;
    let mut errors = unknown_fields(
        object,
        &["contacts", "audienceId", "webhookUrl", "metadataMode"],
    );
    let mut too_many = None;
    match object.get("contacts") {
        Some(Value::Array(rows)) if rows.len() > MAX_JSON_ROWS => too_many = Some(rows.len()),
        Some(Value::Array(rows)) if rows.is_empty() => errors.push(FieldError::new(
            "contacts",
            "contacts must hold at least one row",
        )),
        Some(Value::Array(_)) => {}
        Some(_) => errors.push(FieldError::new("contacts", "contacts must be an array")),
        None => errors.push(FieldError::new("contacts", "contacts is required")),
    }
    let audience_id = optional_string(object, "audienceId", "an audience id", &mut errors);
    let metadata_mode = match object.get("metadataMode") {
        None | Some(Value::Null) => MetadataMode::Replace,
        Some(Value::String(text)) => MetadataMode::parse(text).unwrap_or_else(|| {
            errors.push(MetadataMode::invalid());
            MetadataMode::Replace
        }),
        Some(_) => {
            errors.push(MetadataMode::invalid());
            MetadataMode::Replace
        }
    };
    let webhook_url =
        optional_string(object, "webhookUrl", "a URL", &mut errors).and_then(
            |url| match webhook_url(&url) {
                Ok(url) => Some(url),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
        );
    if !errors.is_empty() {
        return Err(Rejection::validation(errors));
    }
    if let Some(count) = too_many {
        return Err(Rejection::payload_too_large(format!(
            "contacts holds {count} rows; at most {MAX_JSON_ROWS} are allowed in one import"
        )));
    }
    let Some(Value::Array(rows)) = body.get_mut("contacts").map(Value::take) else {
        return Err(Rejection::internal());
    };
    Ok(ImportRequest {
        rows: json_rows(&rows)?,
        audience_id,
        webhook_url,
        metadata_mode,
    })
}

/// `object[field]` when it is a non-empty string; an error when it is
/// anything else but absent or `null`.
fn optional_string(
    object: &Map<String, Value>,
    field: &str,
    what: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match object.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if !text.is_empty() => Some(text.clone()),
        Some(_) => {
            errors.push(FieldError::new(field, format!("{field} must be {what}")));
            None
        }
    }
}

/// Splits JSON rows into stored chunks.
pub fn json_rows(rows: &[Value]) -> Result<Rows, Rejection> {
    let chunks = rows
        .chunks(CHUNK_ROWS)
        .enumerate()
        .map(|(i, chunk)| {
            serde_json::to_string(chunk)
                .map(|rows| Chunk {
                    first_row: i * CHUNK_ROWS,
                    rows,
                })
                .map_err(|e| Rejection::internal().caused_by(&e))
        })
        .collect::<Result<_, _>>()?;
    Ok(Rows {
        format: RowFormat::Json,
        total: rows.len(),
        chunks,
    })
}

/// A webhook target: an absolute `http` or `https` URL with a host.
pub fn webhook_url(text: &str) -> Result<String, FieldError> {
    http_url("webhookUrl", text)
}

/// The body field `field`: an absolute `http` or `https` URL with a host,
/// at most 2,048 bytes.
pub fn http_url(field: &str, text: &str) -> Result<String, FieldError> {
    let refuse = || {
        FieldError::new(
            field,
            format!(
                "{field} must be an absolute http or https URL, e.g. https://example.com/hooks"
            ),
        )
    };
    if text.len() > MAX_URL_BYTES {
        return Err(FieldError::new(
            field,
            format!("{field} must be at most {MAX_URL_BYTES} bytes"),
        ));
    }
    let url: http::Uri = text.parse().map_err(|_| refuse())?;
    let scheme_ok = url.scheme_str().is_some_and(|scheme| {
        ["http", "https"]
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s))
    });
    let host_ok = url.host().is_some_and(|host| !host.is_empty());
    if scheme_ok && host_ok {
        Ok(text.to_string())
    } else {
        Err(refuse())
    }
}

/// What a CSV body's rows become; `Err` is the answer for a body that is
/// not CSV, lacks a required column, or holds more than `max_rows` rows.
pub fn csv_rows(body: &[u8], max_rows: usize) -> Result<Rows, Rejection> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    // The whole text is checked at once: a character split across two
    // cells (`A\xC3,\xA9`) reads as UTF-8 when the cells are joined.
    if let Err(e) = std::str::from_utf8(body) {
        // Counted once, on a body being refused; not worth the bytecount crate.
        #[allow(clippy::naive_bytecount)]
        let line = 1 + body[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        return Err(csv_refused(
            Some(line),
            &format!("line {line} is not UTF-8 text"),
        ));
    }
    check_header_width(body)?;
    // Flexible: blank lines before the header (`,,`) may have any width;
    // every record after the header is checked against it below.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut record = csv::ByteRecord::new();
    let header = loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Err(csv_refused(None, "The CSV body is empty: its first line must be a header naming the columns, e.g. name,phoneNumber")),
            Ok(true) if record.iter().all(|cell| cell.trim_ascii().is_empty()) => {}
            Ok(true) => break header_of(&record)?,
            Err(e) => return Err(csv_error(&e)),
        }
    };
    let width = record.len();
    let mut chunks = Vec::new();
    let mut total = 0usize;
    let mut chunk_start = None;
    loop {
        let start = reader.position().byte() as usize;
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(&e)),
        }
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != width {
            return Err(csv_refused(
                Some(line),
                &format!(
                    "line {line} has {} fields where the header has {width}",
                    record.len()
                ),
            ));
        }
        if total == max_rows {
            return Err(Rejection::payload_too_large(format!(
                "The CSV holds more than {max_rows} rows; split it into several imports"
            )));
        }
        if total.is_multiple_of(CHUNK_ROWS) {
            if let Some(from) = chunk_start.replace(start) {
                chunks.push(csv_chunk(body, from, start, total - CHUNK_ROWS)?);
            }
        }
        total += 1;
    }
    let Some(from) = chunk_start else {
        return Err(csv_refused(None, "The CSV has a header but no rows"));
    };
    let last_first = (total - 1) / CHUNK_ROWS * CHUNK_ROWS;
    chunks.push(csv_chunk(body, from, body.len(), last_first)?);
    Ok(Rows {
        format: RowFormat::Csv(header),
        total,
        chunks,
    })
}

fn csv_chunk(body: &[u8], from: usize, to: usize, first_row: usize) -> Result<Chunk, Rejection> {
    let rows = std::str::from_utf8(&body[from..to])
        .map_err(|e| Rejection::internal().caused_by(&e))?
        .to_string();
    Ok(Chunk { first_row, rows })
}

/// The normalized form of a header name: lower case, without spaces, `_`
/// and `-` (`Phone Number`, `phone_number` and `PHONENUMBER` are one).
pub(crate) fn normalized(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The columns a header names. The first column of each known name wins;
/// later ones are metadata keys like any other column.
fn header_of(record: &csv::ByteRecord) -> Result<Vec<Column>, Rejection> {
    let names: Vec<String> = record
        .iter()
        .map(|cell| {
            std::str::from_utf8(cell)
                .map(|s| s.trim().to_string())
                .map_err(|_| csv_refused(Some(1), "The header is not UTF-8 text"))
        })
        .collect::<Result<_, _>>()?;
    let has_metadata = names.iter().any(|n| normalized(n) == "metadata");
    let is_export = names.iter().map(String::as_str).eq(EXPORT_HEADER);
    let mut seen = Vec::new();
    let mut columns = Vec::with_capacity(names.len());
    for name in &names {
        let role = match normalized(name).as_str() {
            "name" if is_export => Column::ExportedName,
            "name" => Column::Name,
            "phonenumber" | "phone" | "mobile" => Column::PhoneNumber,
            "language" => Column::Language,
            "metadata" => Column::Metadata,
            // An export's read-only columns, beside its metadata column.
            "id" | "organizationid" | "createdat" | "updatedat" if has_metadata => Column::Skip,
            "" => Column::Skip,
            _ => Column::Extra(name.clone()),
        };
        let role = match role {
            Column::Skip | Column::Extra(_) => role,
            known if seen.contains(&known) => Column::Extra(name.clone()),
            known => {
                seen.push(known.clone());
                known
            }
        };
        columns.push(role);
    }
    let mut missing = Vec::new();
    if !seen.contains(&Column::Name) && !seen.contains(&Column::ExportedName) {
        missing.push(FieldError::new("name", "The header has no name column"));
    }
    if !seen.contains(&Column::PhoneNumber) {
        missing.push(FieldError::new(
            "phoneNumber",
            "The header has no phoneNumber column (phoneNumber, phone_number, phone or mobile)",
        ));
    }
    if missing.is_empty() {
        Ok(columns)
    } else {
        Err(Rejection::validation(missing))
    }
}

/// Refuses a header (or a blank line before it) of more than
/// [`MAX_COLUMNS`] fields before any record is parsed: counting fields
/// with `csv_core` allocates nothing, where a parsed record of 26 million
/// fields holds hundreds of megabytes.
fn check_header_width(body: &[u8]) -> Result<(), Rejection> {
    let mut reader = csv_core::Reader::new();
    let mut out = [0u8; 256];
    let mut input = body;
    let (mut fields, mut blank, mut line) = (0usize, true, 1u64);
    loop {
        let (result, read, written) = reader.read_field(input, &mut out);
        input = &input[read..];
        blank &= out[..written].iter().all(u8::is_ascii_whitespace);
        match result {
            // A field longer than `out`, or the input ended: read on (an
            // empty input tells the reader the text ended).
            csv_core::ReadFieldResult::InputEmpty | csv_core::ReadFieldResult::OutputFull => {}
            csv_core::ReadFieldResult::Field { record_end } => {
                fields += 1;
                if fields > MAX_COLUMNS {
                    return Err(csv_refused(
                        Some(line),
                        &format!("line {line} has more than {MAX_COLUMNS} columns: a header names at most {MAX_COLUMNS}"),
                    ));
                }
                if record_end {
                    if !blank {
                        return Ok(());
                    }
                    (fields, blank, line) = (0, true, line + 1);
                }
            }
            csv_core::ReadFieldResult::End => return Ok(()),
        }
    }
}

/// 422 for a body that is not usable CSV, naming the line when known.
fn csv_refused(line: Option<u64>, message: &str) -> Rejection {
    let error = Rejection::validation(vec![FieldError::new("body", message)]);
    match line {
        Some(line) => error.with("line", Value::from(line)),
        None => error,
    }
}

fn csv_error(error: &csv::Error) -> Rejection {
    let line = error.position().map(csv::Position::line);
    let text = match line {
        Some(line) => format!("line {line} is not valid CSV: {error}"),
        None => format!("The body is not valid CSV: {error}"),
    };
    csv_refused(line, &text)
}

/// The lines of an NDJSON file (`.ndjson`, `.jsonl`) as import rows: each
/// non-blank line one JSON object. The read-only fields of an exported
/// contact (`id`, `organizationId`, `createdAt`, `updatedAt`) are dropped,
/// so an export imports as the contacts it holds.
pub fn ndjson_rows(text: &str, max_rows: usize) -> Result<Vec<Value>, String> {
    let mut rows = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if rows.len() == max_rows {
            return Err(format!("the file holds more than {max_rows} rows"));
        }
        let mut row: Value = serde_json::from_str(line)
            .map_err(|e| format!("line {} is not JSON: {e}", number + 1))?;
        if let Value::Object(object) = &mut row {
            for field in READ_ONLY_FIELDS {
                object.shift_remove(*field);
            }
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(String::from("the file holds no rows"));
    }
    Ok(rows)
}

/// The rows of a stored chunk as bulk items (or the first rule each broke),
/// in order.
pub fn decode_chunk(format: &RowFormat, rows: &str) -> Vec<Result<BulkItem, FieldError>> {
    match format {
        RowFormat::Json => match serde_json::from_str::<Vec<Value>>(rows) {
            Ok(rows) => rows.iter().map(json_row).collect(),
            Err(e) => vec![Err(FieldError::new("row", format!("unreadable: {e}")))],
        },
        RowFormat::Csv(columns) => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(rows.as_bytes());
            reader
                .records()
                .map(|record| match record {
                    Ok(record) => csv_row(columns, &record),
                    Err(e) => Err(FieldError::new("row", format!("unreadable: {e}"))),
                })
                .collect()
        }
    }
}

/// A JSON row: `name`, `phoneNumber` and `language` as on create; the keys
/// of a `metadata` object, then every other key, as metadata. A row with no
/// metadata keys at all leaves a known contact's metadata as it was.
pub(crate) fn json_row(row: &Value) -> Result<BulkItem, FieldError> {
    let object = row
        .as_object()
        .ok_or_else(|| FieldError::new("row", "a row must be a JSON object"))?;
    let mut item = Map::new();
    let mut metadata = match object.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(given)) => given.clone(),
        Some(_) => return Err(FieldError::new("metadata", "metadata must be an object")),
    };
    for (key, value) in object {
        match key.as_str() {
            "name" | "phoneNumber" | "language" => {
                item.insert(key.clone(), value.clone());
            }
            "metadata" => {}
            _ => {
                metadata.insert(key.clone(), value.clone());
            }
        }
    }
    if !metadata.is_empty() {
        item.insert(String::from("metadata"), Value::Object(metadata));
    }
    bulk::validate_item(&Value::Object(item))
}

/// A CSV row: the cells of the known columns, then the `metadata` column's
/// object and every other non-empty cell as a metadata key (text).
fn csv_row(columns: &[Column], record: &csv::StringRecord) -> Result<BulkItem, FieldError> {
    let mut item = Map::new();
    let mut metadata = Map::new();
    let mut extra = Vec::new();
    for (column, cell) in columns.iter().zip(record.iter()) {
        match column {
            Column::Name => {
                item.insert(String::from("name"), Value::from(cell));
            }
            Column::ExportedName => {
                item.insert(String::from("name"), Value::from(unescape_exported(cell)));
            }
            Column::PhoneNumber => {
                item.insert(String::from("phoneNumber"), Value::from(cell));
            }
            Column::Language if !cell.trim().is_empty() => {
                item.insert(String::from("language"), Value::from(cell));
            }
            Column::Metadata if !cell.trim().is_empty() => {
                match serde_json::from_str::<Value>(cell) {
                    Ok(Value::Object(object)) => metadata.extend(object),
                    _ => {
                        return Err(FieldError::new(
                            "metadata",
                            "the metadata cell must hold a JSON object",
                        ))
                    }
                }
            }
            Column::Extra(key) if !cell.is_empty() => extra.push((key, cell)),
            _ => {}
        }
    }
    for (key, cell) in extra {
        metadata.insert(key.clone(), Value::from(cell));
    }
    if !metadata.is_empty() {
        item.insert(String::from("metadata"), Value::Object(metadata));
    }
    bulk::validate_item(&Value::Object(item))
}

impl utoipa::PartialSchema for ImportRequest {
    /// The JSON body of `POST /v1/imports/api/bulk` (a CSV import is its
    /// file and query parameters).
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use crate::schema::{nullable, or_null, reference};
        use crate::{Language, Metadata, Name, PhoneNumber};
        use utoipa::openapi::schema::{
            AdditionalProperties, ArrayBuilder, ObjectBuilder, SchemaFormat, Type,
        };

        let row = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A row: `name`, `phoneNumber` and `language` as on create; every other key \
                 becomes a metadata key with its value as is (after the keys of a `metadata` \
                 object, which they override). It upserts on the phone number like a bulk \
                 item, and is checked only while processing: a bad row fails alone.",
            ))
            .property("name", reference::<Name>())
            .property("phoneNumber", reference::<PhoneNumber>())
            .property("language", nullable::<Language>("`null`: none."))
            .property(
                "metadata",
                nullable::<Metadata>("Metadata keys of the row."),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .required("name")
            .required("phoneNumber");
        let optional_string = |description: String| {
            ObjectBuilder::new()
                .schema_type(or_null(Type::String))
                .min_length(Some(1))
                .description(Some(description))
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(format!(
                "1 to {MAX_JSON_ROWS} rows to import in the background (more: 413)."
            )))
            .property(
                "contacts",
                ArrayBuilder::new()
                    .items(row)
                    .min_items(Some(1))
                    .max_items(Some(MAX_JSON_ROWS)),
            )
            .property(
                "audienceId",
                optional_string(String::from(
                    "Every created or updated contact joins this audience (unknown: 404).",
                )),
            )
            .property(
                "webhookUrl",
                optional_string(format!(
                    "An absolute `http` or `https` URL of at most {MAX_URL_BYTES} bytes, \
                     POSTed `{{\"event\":\"import.completed\",\"data\":…}}` when the import \
                     ends, e.g. `https://example.com/hooks/contactsd`."
                ))
                .format(Some(SchemaFormat::Custom(String::from("uri"))))
                .max_length(Some(MAX_URL_BYTES)),
            )
            .property(
                "metadataMode",
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::SchemaType::new(
                        utoipa::openapi::schema::Type::String,
                    ))
                    .enum_values(Some(["replace", "merge"]))
                    .description(Some(
                        "`replace` (the default): a row's metadata replaces a known \
                         contact's whole. `merge`: its top-level keys replace the same keys \
                         and the others stay.",
                    )),
            )
            .required("contacts")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .examples([serde_json::json!({
                "contacts": [
                    {"name": "Priya Sharma", "phoneNumber": "+919876543210", "language": "hi-IN", "city": "Mumbai"},
                    {"name": "Arjun Mehta", "phoneNumber": "+14155552671", "metadata": {"tier": "premium"}}
                ],
                "audienceId": "aud_P7MTRIT------QbW2xZ9kLm"
            })])
            .into()
    }
}

impl utoipa::ToSchema for ImportRequest {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("ImportRequest")
    }

    fn schemas(schemas: &mut crate::schema::Schemas) {
        use crate::schema::register;
        register::<crate::Name>(schemas);
        register::<crate::PhoneNumber>(schemas);
        register::<crate::Language>(schemas);
        register::<crate::Metadata>(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fmt::Write as _;

    fn csv(text: &str) -> Result<Rows, Rejection> {
        csv_rows(text.as_bytes(), MAX_FILE_ROWS)
    }

    fn items(rows: &Rows) -> Vec<Result<BulkItem, FieldError>> {
        rows.chunks
            .iter()
            .flat_map(|c| decode_chunk(&rows.format, &c.rows))
            .collect()
    }

    #[test]
    fn header_names_match_ignoring_case_spaces_and_separators() {
        let rows = csv(
            "\u{feff}Name,Phone Number,LANGUAGE,City,phone\r\nAsha,+919876543210,hi-in,Pune,x\r\n",
        )
        .unwrap();
        assert_eq!(
            rows.format,
            RowFormat::Csv(vec![
                Column::Name,
                Column::PhoneNumber,
                Column::Language,
                Column::Extra("City".into()),
                Column::Extra("phone".into()),
            ])
        );
        let item = items(&rows).remove(0).unwrap();
        assert_eq!(item.phone.as_str(), "+919876543210");
        assert_eq!(
            item.metadata.unwrap().as_str(),
            r#"{"City":"Pune","phone":"x"}"#
        );
        for alias in ["phone", "MOBILE", "phone_number", "Phone-Number"] {
            let rows = csv(&format!("name,{alias}\nA,+14155552671\n")).unwrap();
            assert!(items(&rows)[0].is_ok(), "{alias}");
        }
    }

    #[test]
    fn a_header_without_required_columns_names_them() {
        let error = csv("name,email\nA,a@example.com\n").unwrap_err();
        assert_eq!(error.code(), "validation_failed");
        assert_eq!(error.details[0].field, "phoneNumber");
        let error = csv("").unwrap_err();
        assert_eq!(error.code(), "validation_failed");
    }

    #[test]
    fn ragged_lines_and_bad_text_name_their_line() {
        let error = csv("name,phone\nA,+14155552671\nB\n").unwrap_err();
        assert_eq!(error.extra_object()["line"], 3);
        let error = csv_rows(b"name,phone\nA,\xff\xfe\n", 10).unwrap_err();
        assert_eq!(error.extra_object()["line"], 2);
        // A character split across two cells is not UTF-8 either.
        let error = csv_rows(b"name,phone\nB,+14155550001\nA\xC3,\xA9\n", 10).unwrap_err();
        assert_eq!(error.code(), "validation_failed");
        assert_eq!(error.extra_object()["line"], 3);
    }

    #[test]
    fn quoting_empty_cells_and_the_metadata_column() {
        let rows = csv(concat!(
            "id,name,phoneNumber,language,metadata,createdAt,updatedAt,note\n",
            "ct_1,\"Sharma, \"\"Priya\"\"\",+919876543210,,\"{\"\"n\"\":0.21549671757760558,\"\"note\"\":\"\"old\"\"}\",x,y,\n",
            "ct_2,B,+14155552671,en,,x,y,new\n",
        ))
        .unwrap();
        let items = items(&rows);
        let first = items[0].as_ref().unwrap();
        assert_eq!(first.name.as_str(), "Sharma, \"Priya\"");
        assert_eq!(first.language, None);
        assert_eq!(
            first.metadata.as_ref().unwrap().as_str(),
            r#"{"n":0.21549671757760558,"note":"old"}"#
        );
        let second = items[1].as_ref().unwrap();
        assert_eq!(
            second.metadata.as_ref().unwrap().as_str(),
            r#"{"note":"new"}"#
        );
    }

    #[test]
    fn rows_split_into_chunks_of_a_thousand_and_over_the_cap_is_413() {
        let mut text = String::from("name,phone\n");
        for i in 0..2_500 {
            let _ = writeln!(text, "N{i},+1415555{:04}", i % 10_000);
        }
        let rows = csv(&text).unwrap();
        assert_eq!(rows.total, 2_500);
        let firsts: Vec<_> = rows.chunks.iter().map(|c| c.first_row).collect();
        assert_eq!(firsts, [0, 1_000, 2_000]);
        assert_eq!(items(&rows).len(), 2_500);
        let error = csv_rows(text.as_bytes(), 2_499).unwrap_err();
        assert_eq!(error.code(), "payload_too_large");
    }

    #[test]
    fn json_rows_take_extra_keys_as_metadata_over_the_metadata_object() {
        let item = json_row(&json!({
            "name": "A", "phoneNumber": "+14155552671",
            "metadata": {"city": "Pune", "tier": 1}, "tier": 2
        }))
        .unwrap();
        assert_eq!(
            item.metadata.unwrap().as_str(),
            r#"{"city":"Pune","tier":2}"#
        );
        let item = json_row(&json!({"name": "A", "phoneNumber": "+14155552671"})).unwrap();
        assert_eq!(item.metadata, None);
        assert_eq!(json_row(&json!([1])).unwrap_err().field, "row");
        assert_eq!(
            json_row(&json!({"name": "A", "phoneNumber": "1"}))
                .unwrap_err()
                .field,
            "phoneNumber"
        );
    }

    #[test]
    fn json_requests_check_their_shape_only() {
        let ok = json_request(json!({"contacts": [{}, 1], "webhookUrl": "https://h.example/x"}))
            .unwrap();
        assert_eq!(ok.rows.total, 2);
        for body in [
            json!({"contacts": []}),
            json!({"contacts": {}}),
            json!({"contacts": [{}], "webhookUrl": "ftp://h.example/x"}),
            json!({"contacts": [{}], "webhookUrl": "/relative"}),
            json!({"contacts": [{}], "audienceId": 7}),
            json!({"contacts": [{}], "extra": 1}),
        ] {
            assert_eq!(
                json_request(body.clone()).unwrap_err().code(),
                "validation_failed",
                "{body}"
            );
        }
        let many = vec![json!({}); MAX_JSON_ROWS + 1];
        assert_eq!(
            json_request(json!({ "contacts": many }))
                .unwrap_err()
                .code(),
            "payload_too_large"
        );
    }
}
