//! HTTP routes: one module per resource, each with its own `router()`.

pub mod auth;
pub mod health;
pub mod idempotency;
pub mod tasks;
pub mod webhooks;

use axum::extract::rejection::JsonRejection;
use axum::extract::FromRequest;
use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(tasks::router())
        .merge(health::router())
        .merge(webhooks::router())
}

/// `Json` whose rejections are our JSON errors rather than plain text.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
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

impl<T: serde::Serialize> axum::response::IntoResponse for ApiJson<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}
