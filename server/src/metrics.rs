//! What operators can see: Prometheus metrics at `/metrics` (behind a bearer token, and
//! answering 404 when none is configured, so it is never public by accident), and the
//! HTTP request metrics.
//!
//! The `metrics` facade records from anywhere in the server; the Prometheus recorder is
//! installed once per process (tests start many servers in one process, and they share
//! it). Metric names:
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `taskwire_sockets_open` | gauge | |
//! | `taskwire_room_members` | gauge | `room` (`dashboard`, `task`) |
//! | `taskwire_frames_sent_total` | counter | |
//! | `taskwire_frames_dropped_total` | counter | (queued for a socket that was cut) |
//! | `taskwire_slow_consumers_total` | counter | |
//! | `taskwire_joins_total` | counter | `answer` (`replay`, `snapshot`, `current`) |
//! | `taskwire_dashboard_held_events_total` | counter | (changes held for the next new task, see `rooms::dashboard`) |
//! | `taskwire_log_commit_seconds` | histogram | (one group commit of the writer) |
//! | `taskwire_log_writes_per_commit` | histogram | |
//! | `taskwire_commit_to_broadcast_seconds` | histogram | (an event's time to its rooms) |
//! | `taskwire_wal_checkpoint_seconds` | histogram | (SQLite: one checkpoint of the WAL, off the writer's path) |
//! | `taskwire_wal_pages` | gauge | (SQLite: the WAL's length at the last checkpoint) |
//! | `taskwire_wal_pages_not_copied` | gauge | (SQLite: of those, pages the checkpoint could not copy yet) |
//! | `taskwire_wal_checkpoint_failures_total` | counter | |
//! | `taskwire_log_events_handed_over_total` | counter | (published as the writer handed them over, not read back from the log) |
//! | `taskwire_log_reads_total` | counter | (reads of the log by the sequencer, each up to one batch of events) |
//! | `taskwire_http_requests_total` | counter | `route`, `method`, `status` |
//! | `taskwire_http_request_seconds` | histogram | `route`, `method` |
//! | `taskwire_pipeline_jobs_total` | counter | `job`, `outcome` |
//! | `taskwire_webhook_deliveries_total` | counter | `event`, `outcome` |

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder (once per process); `None` if another one is installed.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let seconds = &[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), seconds)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("taskwire_log_writes_per_commit".into()),
                        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0],
                    )
                })
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// `GET /metrics`: the Prometheus text, for a request with the configured token.
pub async fn serve_metrics(State(state): State<AppState>, headers: http::HeaderMap) -> Response {
    let Some(expected) = &state.settings.metrics_token else {
        return crate::error::ApiError::NotFound.into_response();
    };
    let given = crate::auth::token_from_headers(&headers).unwrap_or_default();
    if !constant_time_eq(given.as_bytes(), expected.expose().as_bytes()) {
        return crate::error::ApiError::Unauthorized.into_response();
    }
    let Some(handle) = handle() else {
        let missing = anyhow::anyhow!("the metrics recorder is not installed");
        return crate::error::ApiError::Internal(missing).into_response();
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use hmac::Mac;
    // Comparing MACs of both under a fixed key takes the same time whatever they hold.
    let mac = |v: &[u8]| {
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"taskwire-metrics-compare")
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        m.update(v);
        m.finalize().into_bytes()
    };
    mac(a) == mac(b)
}

/// Counts every HTTP request by route (the matched pattern, never the raw path, so ids
/// do not make new series), method and status, with its latency.
pub async fn record_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "other".to_owned());
    // Any token is a valid method to hyper; only the standard ones become labels.
    let method = match request.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("taskwire_http_request_seconds", "route" => route.clone(), "method" => method.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("taskwire_http_requests_total", "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}

/// Histograms keep their raw samples until they are drained into buckets; this drains
/// them every few seconds, so memory stays flat whether or not anyone scrapes.
pub async fn run_upkeep(shutdown: tokio_util::sync::CancellationToken) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = every.tick() => {
                if let Some(handle) = handle() {
                    handle.run_upkeep();
                }
            }
            _ = shutdown.cancelled() => break,
        }
    }
}
