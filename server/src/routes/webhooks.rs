//! `POST /api/webhooks/github`: GitHub tells taskwire about pushes and pull requests.
//!
//! The signature is checked over the raw body before anything is parsed; a delivery id
//! already processed changes nothing. Deliveries that match no task are accepted and
//! ignored.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use serde_json::json;

use crate::actions::webhooks::{self, Outcome};
use crate::error::ApiError;
use crate::pipeline::webhook::signature_is_valid;
use crate::state::AppState;

/// Where GitHub delivers.
pub const PATH: &str = "/api/webhooks/github";

/// GitHub caps a delivery at 25 MB; a push of many commits comes close.
pub const BODY_LIMIT: usize = 25 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PATH, post(github_webhook))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Counts each delivery by its event and what became of it.
fn delivered(event: &str, outcome: String) {
    // Only GitHub's event names become labels; anything else is one series.
    let event = match event {
        "ping" | "push" | "pull_request" | "issues" => event.to_owned(),
        _ => "other".to_owned(),
    };
    metrics::counter!("taskwire_webhook_deliveries_total", "event" => event, "outcome" => outcome)
        .increment(1);
}

#[tracing::instrument(skip_all, fields(event, delivery))]
async fn github_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
            limit_bytes: BODY_LIMIT,
        },
        _ => ApiError::invalid("body", "the body could not be read"),
    })?;
    let secret = state.webhook_secret.expose().as_bytes();
    if !signature_is_valid(secret, &body, header(&headers, "x-hub-signature-256")) {
        tracing::warn!("webhook with a missing or wrong signature refused");
        delivered("unsigned", ApiError::BadSignature.code().to_string());
        return Err(ApiError::BadSignature);
    }
    let event = header(&headers, "x-github-event")
        .ok_or_else(|| ApiError::invalid("X-GitHub-Event", "missing"))?;
    let delivery = header(&headers, "x-github-delivery")
        .ok_or_else(|| ApiError::invalid("X-GitHub-Delivery", "missing"))?;
    tracing::Span::current()
        .record("event", event)
        .record("delivery", delivery);
    if delivery.len() > 200 {
        return Err(ApiError::invalid("X-GitHub-Delivery", "too long"));
    }
    let outcome = webhooks::ingest(&state, event, delivery, &body)
        .await
        .inspect_err(|e| delivered(event, e.code().to_string()))?;
    delivered(event, outcome.as_str().to_owned());
    let status = match outcome {
        Outcome::Pong | Outcome::Applied | Outcome::Duplicate => StatusCode::OK,
        Outcome::Ignored => StatusCode::ACCEPTED,
    };
    Ok((status, axum::Json(json!({ "status": outcome.as_str() }))))
}
