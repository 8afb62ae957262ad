//! Metrics for operators: Prometheus' text format at `GET /metrics`.
//!
//! Off unless the operator asks: `metrics = true` serves `/metrics` on the
//! API's own address, `metrics_address = "127.0.0.1:9464"` on a listener
//! of its own (and not on the API's), so a port open to the world never
//! shows them by accident. Either way it needs no key: Prometheus scrapes
//! without one, and nothing in it is an organization's data.
//!
//! Built on the `prometheus` crate rather than the `metrics` facade: a
//! registry is a value, not a process-wide recorder, so each server (and
//! each test's server) counts its own requests; and with its default
//! features off it adds one crate to the tree.
//!
//! Labels carry route templates (`/v1/contacts/<id>`), methods, statuses
//! and fixed words only: never a key, a search term, a path value or an
//! organization.

use std::sync::Arc;
use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::db::Db;

/// Latency buckets, in seconds: most answers take well under a
/// millisecond, imports and exports up to seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];

/// The server's series; cheap to clone (one registry behind an `Arc`).
#[derive(Clone)]
pub struct Metrics(Arc<Series>);

struct Series {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    connections_open: IntGauge,
    slow_heads: IntCounter,
    stalled_bodies: IntCounter,
    rate_limited: IntCounterVec,
    webhook_attempts: IntCounterVec,
    subscription_deliveries: IntCounterVec,
    database_bytes: IntGauge,
    wal_bytes: IntGauge,
    imports_unfinished: IntGauge,
    import_rows_queued: IntGauge,
}

/// Where `/metrics` is served, when it is: on an address of its own
/// (`apart`), else on the API's.
#[derive(Clone, Copy, Debug)]
pub struct Served {
    /// The `metrics_address` listener's address, as bound.
    pub apart: Option<std::net::SocketAddr>,
}

/// Which budget refused a request.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Limit {
    /// The per-key budget of all requests.
    General,
    /// The per-key budget of bulk requests.
    Bulk,
}

/// How a delivery to a webhook subscription ended.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Subscription {
    /// The receiver answered 2xx.
    Delivered,
    /// It did not; the batch is retried.
    Failed,
}

/// How a webhook delivery attempt ended.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Attempt {
    /// The receiver answered 2xx.
    Delivered,
    /// It did not; another attempt follows.
    Failed,
    /// It did not, and it was the last attempt.
    GaveUp,
}

impl Metrics {
    /// A registry with every series at zero.
    ///
    /// # Panics
    /// Only if a series is described twice, which the code never does.
    #[must_use]
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("contactsd".into()), None)
            .expect("the prefix is a valid metric name");
        let register = |c: Box<dyn prometheus::core::Collector>| {
            registry
                .register(c)
                .expect("each series is registered once");
        };
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "Requests answered, by method, route template and status.",
            ),
            &["method", "route", "status"],
        )
        .expect("valid series");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from a request's head to its answer, by method and route template.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )
        .expect("valid series");
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid series");
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("valid series");
        let connections_open = gauge("http_connections_open", "Connections to the API open now.");
        let slow_heads = counter(
            "http_slow_heads_total",
            "Connections closed because a request head took longer than header_read_timeout.",
        );
        let stalled_bodies = counter(
            "http_stalled_bodies_total",
            "Requests answered 408 because their body stopped arriving (body_read_timeout).",
        );
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "rate_limited_total",
                "Requests answered 429, by the budget that refused them (general or bulk).",
            ),
            &["limit"],
        )
        .expect("valid series");
        let webhook_attempts = IntCounterVec::new(
            Opts::new(
                "webhook_attempts_total",
                "Import webhook delivery attempts, by outcome (delivered, failed, gave_up).",
            ),
            &["outcome"],
        )
        .expect("valid series");
        let subscription_deliveries = IntCounterVec::new(
            Opts::new(
                "subscription_deliveries_total",
                "Deliveries of the changes feed to webhook subscriptions, by outcome (delivered, failed).",
            ),
            &["outcome"],
        )
        .expect("valid series");
        let database_bytes = gauge("database_bytes", "Size of the SQLite database file.");
        let wal_bytes = gauge("wal_bytes", "Size of the database's write-ahead log.");
        let imports_unfinished = gauge(
            "imports_unfinished",
            "Imports accepted and not finished (pending or processing).",
        );
        let import_rows_queued = gauge(
            "import_rows_queued",
            "Rows of unfinished imports still to be applied.",
        );
        let build_info = IntGauge::with_opts(
            Opts::new("build_info", "Always 1; the version is a label.")
                .const_label("version", env!("CARGO_PKG_VERSION")),
        )
        .expect("valid series");
        build_info.set(1);
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(connections_open.clone()),
            Box::new(slow_heads.clone()),
            Box::new(stalled_bodies.clone()),
            Box::new(rate_limited.clone()),
            Box::new(webhook_attempts.clone()),
            Box::new(subscription_deliveries.clone()),
            Box::new(database_bytes.clone()),
            Box::new(wal_bytes.clone()),
            Box::new(imports_unfinished.clone()),
            Box::new(import_rows_queued.clone()),
            Box::new(build_info),
        ] {
            register(collector);
        }
        // Every known label value starts at zero, so a rate over it is
        // defined before the first event.
        for limit in ["general", "bulk"] {
            rate_limited.with_label_values(&[limit]);
        }
        for outcome in ["delivered", "failed", "gave_up"] {
            webhook_attempts.with_label_values(&[outcome]);
        }
        for outcome in ["delivered", "failed"] {
            subscription_deliveries.with_label_values(&[outcome]);
        }
        Metrics(Arc::new(Series {
            registry,
            requests,
            latency,
            connections_open,
            slow_heads,
            stalled_bodies,
            rate_limited,
            webhook_attempts,
            subscription_deliveries,
            database_bytes,
            wal_bytes,
            imports_unfinished,
            import_rows_queued,
        }))
    }

    /// One answered request.
    pub(crate) fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.0
            .requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.0
            .latency
            .with_label_values(&[method, route])
            .observe(took.as_secs_f64());
    }

    /// A request whose body stopped arriving.
    pub(crate) fn stalled_body(&self) {
        self.0.stalled_bodies.inc();
    }

    /// A request refused by a rate limit.
    pub(crate) fn rate_limited(&self, limit: Limit) {
        let label = match limit {
            Limit::General => "general",
            Limit::Bulk => "bulk",
        };
        self.0.rate_limited.with_label_values(&[label]).inc();
    }

    /// A webhook delivery attempt.
    pub(crate) fn webhook_attempt(&self, attempt: Attempt) {
        let label = match attempt {
            Attempt::Delivered => "delivered",
            Attempt::Failed => "failed",
            Attempt::GaveUp => "gave_up",
        };
        self.0.webhook_attempts.with_label_values(&[label]).inc();
    }

    /// A delivery to a webhook subscription.
    pub(crate) fn subscription_delivery(&self, outcome: Subscription) {
        let label = match outcome {
            Subscription::Delivered => "delivered",
            Subscription::Failed => "failed",
        };
        self.0
            .subscription_deliveries
            .with_label_values(&[label])
            .inc();
    }

    /// The text Prometheus scrapes: values read now (the database's files,
    /// the import queue, the connections) and the counters so far.
    pub(crate) async fn render(&self, db: &Db) -> String {
        let series = &self.0;
        if let Ok(gauges) = db.gauges().await {
            let set =
                |gauge: &IntGauge, value: u64| gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
            set(&series.database_bytes, gauges.database_bytes);
            set(&series.wal_bytes, gauges.wal_bytes);
            set(&series.imports_unfinished, gauges.imports_unfinished);
            set(&series.import_rows_queued, gauges.import_rows_queued);
        }
        series
            .connections_open
            .set(i64::try_from(rocket::open_connections()).unwrap_or(i64::MAX));
        // hyper counts slow heads for the whole process; the counter
        // catches up with it here.
        let slow = hyper::server::conn::http1::slow_heads_refused();
        series
            .slow_heads
            .inc_by(slow.saturating_sub(series.slow_heads.get()));
        let mut text = Vec::with_capacity(16 * 1024);
        if TextEncoder::new()
            .encode(&series.registry.gather(), &mut text)
            .is_err()
        {
            text.clear();
        }
        String::from_utf8(text).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The type Prometheus' text format is served as.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// [`TEXT_FORMAT`], for Rocket.
pub(crate) fn content_type() -> rocket::http::ContentType {
    rocket::http::ContentType::parse_flexible(TEXT_FORMAT)
        .unwrap_or(rocket::http::ContentType::Plain)
}

/// Serves `GET /metrics` on `listener` (the `metrics_address`) until the
/// server shuts down: HTTP/1.1 with a 10-second head timeout; anything
/// else asked of it is a 404 in the contract's error shape.
pub(crate) fn serve_apart(listener: std::net::TcpListener, rocket: &rocket::Rocket<rocket::Orbit>) {
    use rocket::tokio;
    let (Some(metrics), Some(db)) = (
        rocket.state::<Metrics>().cloned(),
        rocket.state::<Db>().cloned(),
    ) else {
        return;
    };
    let mut shutdown = rocket.shutdown();
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(target: "contactsd::metrics", "metrics listener not started: {e}");
            return;
        }
    };
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else {
                // Out of file descriptors, most likely: let some close.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let (metrics, db) = (metrics.clone(), db.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let (metrics, db) = (metrics.clone(), db.clone());
                    async move { Ok::<_, std::convert::Infallible>(answer(&req, &metrics, &db).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

/// The metrics listener's answer to `req`.
async fn answer<B>(
    req: &hyper::Request<B>,
    metrics: &Metrics,
    db: &Db,
) -> hyper::Response<http_body_util::Full<hyper::body::Bytes>> {
    use hyper::{header, Method, StatusCode};
    let error = |status: StatusCode, code: &str, message: &str| {
        let body = serde_json::json!({
            "statusCode": status.as_u16(),
            "error": status.canonical_reason().unwrap_or_default(),
            "code": code,
            "message": message,
        });
        (status, "application/json", body.to_string())
    };
    let (status, content_type, body) = if req.uri().path() != "/metrics"
        || !(req.method() == Method::GET || req.method() == Method::HEAD)
    {
        // An unknown route or method is 404, as on the API's address.
        error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Only GET /metrics is served on this address",
        )
    } else {
        (StatusCode::OK, TEXT_FORMAT, metrics.render(db).await)
    };
    let mut response = hyper::Response::new(http_body_util::Full::new(hyper::body::Bytes::from(
        if req.method() == Method::HEAD {
            String::new()
        } else {
            body
        },
    )));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}
