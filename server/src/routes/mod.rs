//! HTTP routes: one module per resource, each with its own `router()`.

pub mod auth;
pub mod client_limits;
pub mod health;
pub mod idempotency;
pub mod tasks;
pub mod webhooks;

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use http_body::{Frame, SizeHint};
use http_body_util::{LengthLimitError, Limited};

use crate::error::ApiError;
use crate::state::AppState;

/// The largest body any route but the webhook accepts: a task's longest fields, as
/// JSON or as a form, fit many times over.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The JSON API. Under `/api/`, a path it does not have is a JSON `404`, like every
/// other refusal (a method a path does not take is a JSON `405`: see `startup`).
pub fn router() -> Router<AppState> {
    let not_found = || async { ApiError::NotFound };
    Router::new()
        .merge(auth::router())
        .merge(tasks::router())
        .merge(health::router())
        .merge(webhooks::router())
        .route("/api", any(not_found))
        .route("/api/", any(not_found))
        .route("/api/{*rest}", any(not_found))
}

/// The body limit of a path, for the error that names it.
fn body_limit_of(path: &str) -> usize {
    if path == webhooks::PATH {
        webhooks::BODY_LIMIT
    } else {
        BODY_LIMIT
    }
}

/// Holds every request body to its path's limit, and makes every refusal for size the
/// JSON error `payload_too_large` (413): a `Content-Length` over the limit is refused
/// before anything is read; a body without one is cut off where it passes the limit,
/// and whatever the handler then answered is replaced. Server functions read their
/// bodies themselves, so the extractors' limits alone would not cover them.
pub async fn limit_bodies(request: Request, next: Next) -> Response {
    let limit_bytes = body_limit_of(request.uri().path());
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit_bytes as u64) {
        return ApiError::PayloadTooLarge { limit_bytes }.into_response();
    }
    let tripped = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| {
        Body::new(CappedBody {
            inner: Limited::new(body, limit_bytes),
            tripped: tripped.clone(),
        })
    });
    let response = next.run(request).await;
    if tripped.load(Ordering::Relaxed) || response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge { limit_bytes }.into_response();
    }
    response
}

/// A body limited to so many bytes that remembers whether the limit was hit.
struct CappedBody {
    inner: Limited<Body>,
    tripped: Arc<AtomicBool>,
}

impl HttpBody for CappedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(e))) = &polled {
            if e.is::<LengthLimitError>() {
                self.tripped.store(true, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// `Json` whose rejections are our JSON errors rather than plain text, and which
/// refuses text with the NUL character (no store keeps it as text: Postgres refuses it,
/// so it is refused on every store, before anything is done).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let bytes = match Bytes::from_request(Request::from_parts(parts.clone(), body), state).await
        {
            Ok(bytes) => bytes,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::PayloadTooLarge {
                    limit_bytes: BODY_LIMIT,
                })
            }
            Err(_) => return Err(ApiError::invalid("body", "the body could not be read")),
        };
        if crate::text::has_nul_escape(&bytes) {
            return Err(nul_refused());
        }
        let req = Request::from_parts(parts, Body::from(bytes));
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// The refusal of text with the NUL character.
pub fn nul_refused() -> ApiError {
    ApiError::invalid("body", "text must not contain the NUL character (\\u0000)")
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            // JSON bodies are only taken by routes under the general limit.
            return ApiError::PayloadTooLarge {
                limit_bytes: BODY_LIMIT,
            };
        }
        let message = match rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "send a JSON body with Content-Type: application/json".to_owned()
            }
            JsonRejection::JsonSyntaxError(_) => "the body is not valid JSON".to_owned(),
            JsonRejection::JsonDataError(e) => format!(
                "the body does not have the expected fields: {}",
                e.body_text()
            ),
            other => other.body_text(),
        };
        ApiError::Invalid {
            field: "body",
            message,
        }
    }
}

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
