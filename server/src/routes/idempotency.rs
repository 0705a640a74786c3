//! `Idempotency-Key` on actions: a retried action returns the first result and changes
//! nothing.
//!
//! A key is claimed in the database before the action runs, so two copies of the same
//! request racing each other cannot both apply; the second is told the first is still
//! running. A failed action releases its key so it can be retried.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 200;

/// The request's `Idempotency-Key`, if it sent one.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        let key = value
            .to_str()
            .map_err(|_| ApiError::invalid("Idempotency-Key", "use visible ASCII"))?
            .trim();
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(ApiError::invalid(
                "Idempotency-Key",
                format!("use 1 to {MAX_KEY_LEN} characters"),
            ));
        }
        Ok(IdempotencyKey(Some(key.to_owned())))
    }
}

/// How long a claim holds while its action has not finished: long past any real action,
/// so only a claim whose server died mid-action (a `kill -9`) is ever taken over.
pub const CLAIM_LEASE: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs `action` once per `(scope, key)`; replays its first result afterwards.
/// `request` identifies what was asked (method, path, body), so a key reused for a
/// different request is refused rather than answered with an unrelated result.
///
/// The claim, the action and the stored result run on a task of their own: a client
/// that goes away mid-request (a reload, a closed laptop) does not cut the action off
/// between its commit and its recorded result, which would leave the key claimed.
pub async fn once<F, Fut, T>(
    state: &AppState,
    scope: String,
    key: IdempotencyKey,
    request: String,
    action: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(AppState) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(StatusCode, T), ApiError>> + Send + 'static,
    T: Serialize + Send + 'static,
{
    let state = state.clone();
    tokio::spawn(async move { run_once(state, scope, key, request, action).await })
        .await
        .map_err(ApiError::internal)?
}

async fn run_once<F, Fut, T>(
    state: AppState,
    scope: String,
    key: IdempotencyKey,
    request: String,
    action: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(AppState) -> Fut,
    Fut: std::future::Future<Output = Result<(StatusCode, T), ApiError>>,
    T: Serialize,
{
    let scope = scope.as_str();
    let Some(key) = key.0 else {
        let (status, body) = action(state).await?;
        return Ok((status, axum::Json(body)).into_response());
    };
    let fingerprint = hex::encode(Sha256::digest(request.as_bytes()));
    let now = db::now_millis();
    let expired_before = now - state.settings.retention.idempotency_keys.as_millis() as i64;
    let stale_before = now - CLAIM_LEASE.as_millis() as i64;
    let pool = &state.db.write;
    if !db::idempotency::claim(
        pool,
        scope,
        &key,
        &fingerprint,
        now,
        expired_before,
        stale_before,
    )
    .await?
    {
        // Gone in between (released by a failed first try): that try changed nothing.
        let Some(stored) = db::idempotency::find(pool, scope, &key).await? else {
            return Err(ApiError::InProgress);
        };
        if stored.fingerprint != fingerprint {
            return Err(ApiError::KeyReused);
        }
        if stored.status == 0 {
            return Err(ApiError::InProgress);
        }
        let status = StatusCode::from_u16(stored.status as u16).unwrap_or(StatusCode::OK);
        let body = [(header::CONTENT_TYPE, "application/json")];
        let mut response = (status, body, stored.body).into_response();
        response.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
        return Ok(response);
    }
    match action(state.clone()).await {
        Ok((status, body)) => {
            let text = serde_json::to_string(&body).map_err(ApiError::internal)?;
            db::idempotency::complete(pool, scope, &key, status.as_u16(), &text).await?;
            let json = [(header::CONTENT_TYPE, "application/json")];
            Ok((status, json, text).into_response())
        }
        Err(e) => {
            db::idempotency::release(pool, scope, &key).await?;
            Err(e)
        }
    }
}
