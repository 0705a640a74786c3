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
use shared_protocol::TaskId;

use crate::db;
use crate::error::ApiError;
use crate::pipeline::webhook::{interpret, signature_is_valid, Intent, PrLink};
use crate::state::AppState;
use crate::tasks::{Actor, Command, ServiceError};

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
fn delivered(event: &str, outcome: &'static str) {
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
        delivered("unsigned", "bad_signature");
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
    let remembered_since =
        db::now_millis() - state.settings.retention.webhook_deliveries.as_millis() as i64;
    if db::webhooks::seen(&state.db.read, delivery, remembered_since).await? {
        delivered(event, "duplicate");
        return Ok((StatusCode::OK, axum::Json(json!({ "status": "duplicate" }))));
    }
    let repo = state.github.as_ref().map(|g| g.repo().to_owned());
    let intent = interpret(event, &body, repo.as_deref())
        .map_err(|_| ApiError::invalid("body", "not a payload of this event"))?;
    let outcome = apply(&state, intent)
        .await
        .inspect_err(|e| delivered(event, e.code()))?;
    delivered(event, outcome);
    db::webhooks::record(&state.db.write, delivery, event, db::now_millis()).await?;
    let status = match outcome {
        "pong" | "applied" => StatusCode::OK,
        _ => StatusCode::ACCEPTED,
    };
    Ok((status, axum::Json(json!({ "status": outcome }))))
}

async fn find(state: &AppState, link: &PrLink) -> Result<Option<TaskId>, sqlx::Error> {
    if let Some(branch) = &link.branch {
        if let Some(id) = db::tasks::id_by_branch(&state.db.read, branch).await? {
            return Ok(Some(id));
        }
    }
    for number in &link.closes {
        if let Some(id) = db::tasks::id_by_issue(&state.db.read, *number).await? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Applies an intent; returns `pong`, `applied` or `ignored`.
async fn apply(state: &AppState, intent: Intent) -> Result<&'static str, ApiError> {
    let (task, command) = match intent {
        Intent::Pong => return Ok("pong"),
        Intent::Ignore(why) => {
            tracing::info!(why, "webhook ignored");
            return Ok("ignored");
        }
        Intent::Push { branch } => {
            let task = db::tasks::id_by_branch(&state.db.read, &branch).await?;
            (
                task,
                Command::StartCoding {
                    note: Some(format!("Commits pushed to {branch}")),
                },
            )
        }
        Intent::PrOpened {
            link,
            number,
            url,
            title,
        } => (
            find(state, &link).await?,
            Command::OpenPr {
                pr_number: number,
                pr_url: url,
                pr_title: title,
            },
        ),
        Intent::PrMerged {
            link,
            sha,
            merged_at,
        } => (
            find(state, &link).await?,
            Command::MergePr {
                merge_commit_sha: sha,
                merged_at,
            },
        ),
        Intent::PrClosed { link, number } => (
            find(state, &link).await?,
            Command::ClosePr { pr_number: number },
        ),
    };
    let Some(task) = task else {
        tracing::info!("webhook matches no task");
        return Ok("ignored");
    };
    match state
        .tasks
        .apply(task, Actor::System("github"), command)
        .await
    {
        Ok(_) => Ok("applied"),
        // A push to a task already coding, a second "opened": nothing to change.
        Err(ServiceError::InvalidTransition(e)) => {
            tracing::info!(%e, "webhook does not change the task");
            Ok("ignored")
        }
        Err(e) => Err(e.into()),
    }
}
