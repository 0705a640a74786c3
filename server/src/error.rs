//! HTTP errors: a stable machine code ([`ApiErrorCode`], shared with the browser) and a
//! sentence for people, as JSON.
//!
//! The client never sees an internal error's text; it is logged where it happens.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared_protocol::{ApiErrorCode, ApiErrorEnvelope};

use crate::tasks::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: no valid session.
    #[error("sign in to continue")]
    Unauthorized,
    /// 401 with `session_expired`: the client should refresh its session.
    #[error("the session has expired; sign in again")]
    SessionExpired,
    /// 401 with `bad_credentials`.
    #[error("the username or password is not right")]
    BadCredentials,
    /// 401 with `bad_signature`: a webhook whose signature does not verify.
    #[error("the signature does not match the payload")]
    BadSignature,
    /// 403 with `origin_not_allowed`: a socket opened by a page of another site.
    #[error("this origin may not open a socket")]
    OriginNotAllowed,
    /// 403 with `forbidden`: an administrator's action asked by someone else.
    #[error("only an administrator may do this")]
    Forbidden,
    /// 403 with `signup_closed`: open sign-up is off and no invite was given.
    #[error("sign-up is closed; ask a member of a team for an invite link")]
    SignupClosed,
    /// 404: no such thing, or one the user may not see.
    #[error("not found")]
    NotFound,
    /// 405 with `method_not_allowed`: the path does not take that method.
    #[error("this path does not take that method")]
    MethodNotAllowed,
    /// 409 with `username_taken`.
    #[error("that username is taken")]
    UsernameTaken,
    /// 409 with `token_name_taken`: a live service token has that name.
    #[error("a live service token has that name; revoke it or pick another")]
    TokenNameTaken,
    /// 409 with `invalid_transition`.
    #[error("{0}")]
    Conflict(String),
    /// 422 with `invalid_input`: a field is wrong.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// 429 with `rate_limited` and `Retry-After`.
    #[error("too many actions; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// 422 with `idempotency_key_reused`.
    #[error("this Idempotency-Key was used for a different request")]
    KeyReused,
    /// 409 with `request_in_progress`: the same request is still running.
    #[error("the same request is still being processed; retry shortly")]
    InProgress,
    /// 400 with `invalid_url`: a link that is not `http(s)`, which taskwire will not
    /// store or show.
    #[error("{field}: use an http:// or https:// address")]
    BadUrl { field: &'static str },
    /// 413 with `payload_too_large`: the body is over the route's limit.
    #[error("the request body is larger than this endpoint accepts ({limit_bytes} bytes)")]
    PayloadTooLarge { limit_bytes: usize },
    /// 429 with `too_many_connections`: the user has as many sockets open as allowed.
    #[error("an account may have at most {limit} sockets open; close a tab and retry")]
    TooManyConnections { limit: usize },
    /// 500: logged, never shown.
    #[error("internal error")]
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            field,
            message: message.into(),
        }
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(e.into())
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn code(&self) -> ApiErrorCode {
        match self {
            ApiError::Unauthorized => ApiErrorCode::Unauthorized,
            ApiError::SessionExpired => ApiErrorCode::SessionExpired,
            ApiError::BadCredentials => ApiErrorCode::BadCredentials,
            ApiError::Forbidden => ApiErrorCode::Forbidden,
            ApiError::SignupClosed => ApiErrorCode::SignupClosed,
            ApiError::BadSignature => ApiErrorCode::BadSignature,
            ApiError::OriginNotAllowed => ApiErrorCode::OriginNotAllowed,
            ApiError::NotFound => ApiErrorCode::NotFound,
            ApiError::MethodNotAllowed => ApiErrorCode::MethodNotAllowed,
            ApiError::UsernameTaken => ApiErrorCode::UsernameTaken,
            ApiError::TokenNameTaken => ApiErrorCode::TokenNameTaken,
            ApiError::Conflict(_) => ApiErrorCode::InvalidTransition,
            ApiError::Invalid { .. } => ApiErrorCode::InvalidInput,
            ApiError::RateLimited { .. } => ApiErrorCode::RateLimited,
            ApiError::KeyReused => ApiErrorCode::IdempotencyKeyReused,
            ApiError::InProgress => ApiErrorCode::RequestInProgress,
            ApiError::BadUrl { .. } => ApiErrorCode::InvalidUrl,
            ApiError::PayloadTooLarge { .. } => ApiErrorCode::PayloadTooLarge,
            ApiError::TooManyConnections { .. } => ApiErrorCode::TooManyConnections,
            ApiError::Internal(_) => ApiErrorCode::Internal,
        }
    }

    /// The JSON body this error is answered with.
    pub fn envelope(&self) -> ApiErrorEnvelope {
        let mut envelope = ApiErrorEnvelope::new(self.code(), self.to_string());
        if let ApiError::Invalid { field, .. } | ApiError::BadUrl { field } = self {
            envelope.error.field = Some((*field).to_owned());
        }
        envelope
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound => ApiError::NotFound,
            ServiceError::InvalidTransition(t) => ApiError::Conflict(t.to_string()),
            ServiceError::Invalid { field, message } => ApiError::Invalid { field, message },
            ServiceError::BadUrl { field } => ApiError::BadUrl { field },
            ServiceError::Db(e) => ApiError::Internal(e.into()),
            e @ (ServiceError::NotCommitted | ServiceError::Stopped) => {
                ApiError::Internal(anyhow::anyhow!(e))
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = ?e, "request failed");
        }
        let mut response = (self.status(), Json(self.envelope())).into_response();
        if let ApiError::RateLimited { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
        }
        response
    }
}

/// Adds the request's id (`X-Request-Id`, set for every request) to every JSON error
/// body, whichever layer answered: `{"error":{"code":…,"message":…,"requestId":…}}`.
/// An operator finds the request's log lines by it.
pub async fn with_request_id(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let is_json_error = response.status().as_u16() >= 400
        && response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
    let Some(id) = id.filter(|_| is_json_error) else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    // Error bodies are a few hundred bytes; anything larger is passed on untouched.
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (parts.status, "").into_response();
    };
    let mut envelope: ApiErrorEnvelope = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Response::from_parts(parts, axum::body::Body::from(bytes)),
    };
    envelope.error.request_id = Some(id);
    let body = serde_json::to_vec(&envelope).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}
