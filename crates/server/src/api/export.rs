//! `GET /v1/contacts/export`: every contact a listing would match (all its
//! filters, `search` and `sort`, no paging), as CSV or NDJSON, from one
//! read snapshot, streamed: rows are rendered in 64 KiB chunks on the
//! blocking pool and handed over a small bounded channel, so memory stays
//! constant whatever the count.

use rocket::http::{ContentType, Header};
use rocket::request::Request;
use rocket::response::stream::ByteStream;
use rocket::response::{self, Responder};
use rocket::tokio::sync::mpsc;
use rocket::Route;

use super::contacts::ContactView;
use super::openapi::ListingErrors;
use super::{for_verified, Query};
use crate::auth::Org;
use crate::db::contacts::Contact;
use crate::db::RowSink;
use crate::error::ApiError;
use crate::listing::{ExportFormat, Listing};

pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![get_contacts_export]
}

/// Chunks are sent once they reach this size.
const CHUNK: usize = 64 * 1024;

/// Renders rows into chunks and sends them to the answer's stream.
struct ChunkSink {
    format: ExportFormat,
    buffer: Vec<u8>,
    sender: mpsc::Sender<Vec<u8>>,
}

impl ChunkSink {
    fn new(format: ExportFormat, sender: mpsc::Sender<Vec<u8>>) -> Self {
        let mut buffer = Vec::with_capacity(CHUNK * 2);
        if format == ExportFormat::Csv {
            buffer.extend_from_slice(CSV_HEADER);
        }
        ChunkSink {
            format,
            buffer,
            sender,
        }
    }

    fn send(&mut self) -> bool {
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK * 2));
        self.sender.blocking_send(chunk).is_ok()
    }
}

impl RowSink for ChunkSink {
    fn row(&mut self, contact: &Contact, org_id: &str) -> bool {
        render_row(self.format, contact, org_id, &mut self.buffer)
            && (self.buffer.len() < CHUNK || self.send())
    }

    fn finish(&mut self) {
        if !self.buffer.is_empty() {
            self.send();
        }
    }
}

/// The first line of a CSV export.
pub const CSV_HEADER: &[u8] = b"id,name,phoneNumber,language,metadata,createdAt,updatedAt\n";

/// Appends one contact to `buffer` as an NDJSON line (the API's object) or
/// a CSV record (metadata as its JSON text, an empty cell for no
/// language, a name that a spreadsheet would run as a formula escaped
/// with a leading `'`); `false` if it could not be written.
pub fn render_row(
    format: ExportFormat,
    contact: &Contact,
    org_id: &str,
    buffer: &mut Vec<u8>,
) -> bool {
    match format {
        ExportFormat::Ndjson => {
            if serde_json::to_writer(&mut *buffer, &ContactView::new(contact, org_id)).is_err() {
                return false;
            }
            buffer.push(b'\n');
            true
        }
        ExportFormat::Csv => {
            let mut writer = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(buffer);
            let name = contactsd_domain::import::spreadsheet_safe(contact.name.as_str());
            let record = [
                contact.id.as_str(),
                &name,
                contact.phone.as_str(),
                contact.language.as_ref().map_or("", |l| l.as_str()),
                contact.metadata.as_str(),
                &crate::clock::format_ms(contact.created_at),
                &crate::clock::format_ms(contact.updated_at),
            ];
            writer
                .write_record(record)
                .and_then(|()| writer.flush().map_err(Into::into))
                .is_ok()
        }
    }
}

/// The streamed answer, with its type and file name.
struct Export<S> {
    format: ExportFormat,
    stream: ByteStream<S>,
}

impl<'r, S> Responder<'r, 'r> for Export<S>
where
    S: rocket::futures::Stream<Item = Vec<u8>> + Send + 'r,
{
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'r> {
        let mut response = self.stream.respond_to(req)?;
        response.set_header(
            ContentType::parse_flexible(self.format.content_type()).unwrap_or(ContentType::Plain),
        );
        response.set_header(Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", self.format.file_name()),
        ));
        Ok(response)
    }
}

#[utoipa::path(
    get,
    path = "/v1/contacts/export",
    tag = "contacts",
    summary = "Export every matching contact as CSV or NDJSON",
    description = crate::domain::schema::metadata_filters(),
    params(ExportFormat, ("audienceId" = Option<String>, Query, description = "Only the members of this audience (unknown: 404)")),
    responses(
        (status = 200, description = "Every matching contact, streamed as one snapshot: CSV \
            (header `id,name,phoneNumber,language,metadata,createdAt,updatedAt`) or NDJSON (one \
            `Contact` a line)", content(
            (String = "text/csv"),
            (String = "application/x-ndjson")
        ), headers(("Content-Disposition" = String, description = "attachment; filename=\"contacts.csv\" (or .ndjson)"))),
        ListingErrors
    ),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/contacts/export")]
async fn get_contacts_export(
    org: Org,
    query: Query,
) -> Result<Export<impl rocket::futures::Stream<Item = Vec<u8>>>, ApiError> {
    let (listing, format) = for_verified(&org, Listing::parse_export(query.0)).await?;
    // Whatever can be refused is refused before the answer starts: the key,
    // and an unknown audience (an empty read of the same listing).
    org.verify().await?;
    if let Some(audience) = listing.audience_id() {
        org.audience(audience.to_string()).await?;
    }
    let (sender, mut receiver) = mpsc::channel::<Vec<u8>>(4);
    rocket::tokio::spawn(async move {
        if let Err(e) = org
            .export_contacts(listing, ChunkSink::new(format, sender))
            .await
        {
            tracing::warn!(target: "contactsd::export", "export stopped: {e}");
        }
    });
    Ok(Export {
        format,
        stream: ByteStream! {
            while let Some(chunk) = receiver.recv().await {
                yield chunk;
            }
        },
    })
}
