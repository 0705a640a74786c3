//! `/ws`: the authenticated upgrade, and the per-connection loop in [`connection`];
//! `/api/live`: the same frames over long-polling ([`poll`]).

pub mod connection;
pub mod poll;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::auth::{self, AuthFailure};
use crate::error::ApiError;
use crate::state::AppState;

/// Per-socket buffer sizes (see `ws_handler`).
const READ_BUFFER: usize = 1024;
const WRITE_BUFFER: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ws", get(ws_handler))
        .route("/api/live", get(poll::poll))
}

#[derive(Deserialize)]
pub struct WsQuery {
    /// For clients that cannot send a cookie or header with the upgrade.
    token: Option<String>,
}

/// A browser's upgrade must come from a page of this server (the `Origin`'s host is the
/// `Host` the request was sent to) or from an origin on the configured allow list; this
/// stops other sites from opening sockets with a visitor's cookie. Clients that are not
/// browsers send no `Origin`.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if allowed.iter().any(|a| {
        a.trim_end_matches('/')
            .eq_ignore_ascii_case(origin.trim_end_matches('/'))
    }) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin);
    origin_host.trim_end_matches('/').eq_ignore_ascii_case(host)
}

#[tracing::instrument(skip_all)]
pub async fn ws_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<WsQuery>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(e) => {
            let mut refused = ApiError::invalid(
                "upgrade",
                format!("this path takes a WebSocket upgrade: {}", e.body_text()),
            )
            .into_response();
            // The version this server speaks, as RFC 6455 asks of a refusal for it.
            if matches!(
                e,
                WebSocketUpgradeRejection::InvalidWebSocketVersionHeader(_)
            ) {
                refused.headers_mut().insert(
                    header::SEC_WEBSOCKET_VERSION,
                    header::HeaderValue::from_static("13"),
                );
            }
            return refused;
        }
    };
    let query = match query {
        Ok(Query(query)) => query,
        Err(e) => return ApiError::invalid("query", e.body_text()).into_response(),
    };
    if !origin_allowed(&headers, &state.settings.allowed_origins) {
        return ApiError::OriginNotAllowed.into_response();
    }
    // Listening before the session is checked: a sign-out between the check and the
    // socket's start is heard, not missed.
    let revocations = state.revocations.subscribe();
    let token = query
        .token
        .filter(|t| !t.is_empty())
        .or_else(|| auth::token_from_headers(&headers));
    let user = match token {
        Some(token) => auth::authenticate(&state.db.read, &state.keys, &token).await,
        None => Err(AuthFailure::Missing),
    };
    let user = match user {
        Ok(user) => user,
        Err(failure) => return ApiError::from(failure).into_response(),
    };
    let limit = state.settings.ws.max_sockets_per_user;
    let Some(slot) = state.socket_slots.acquire(user.id, limit) else {
        tracing::info!(user_id = user.id, limit, "socket refused: too many open");
        return ApiError::TooManyConnections { limit }.into_response();
    };
    // Frames above our own limit are read and answered with a coded error; only larger
    // ones than the server reads at all are refused by the WebSocket layer, before their
    // payload is read, and the connection is closed with 1009.
    let ceiling = state.settings.ws.max_read_bytes;
    let tracker = state.tracker.clone();
    upgrade
        .max_message_size(ceiling)
        .max_frame_size(ceiling)
        // The library's defaults (128 KiB each way, allocated per socket) are what made
        // an idle connection cost ~140 KiB. Client frames are tiny (a join, a ping) and a
        // larger one grows the buffer as it is read; outgoing frames are flushed in
        // batches.
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| {
            tracker.track_future(connection::handle_socket(
                socket,
                state,
                user,
                revocations,
                slot,
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_the_servers_own_pages_may_upgrade() {
        let none: [String; 0] = [];
        assert!(origin_allowed(&headers(None, "127.0.0.1:3000"), &none));
        assert!(origin_allowed(
            &headers(Some("http://127.0.0.1:3000"), "127.0.0.1:3000"),
            &none
        ));
        assert!(!origin_allowed(
            &headers(Some("http://evil.example"), "127.0.0.1:3000"),
            &none
        ));
        assert!(!origin_allowed(
            &headers(Some("http://127.0.0.1:3001"), "127.0.0.1:3000"),
            &none
        ));
    }

    #[test]
    fn an_allow_listed_origin_may_upgrade() {
        let allowed = ["https://dash.example.com".to_owned()];
        assert!(origin_allowed(
            &headers(Some("https://dash.example.com"), "api.example.com"),
            &allowed
        ));
        assert!(!origin_allowed(
            &headers(Some("https://evil.example.com"), "api.example.com"),
            &allowed
        ));
    }
}
