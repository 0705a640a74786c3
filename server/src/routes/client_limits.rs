//! Which routes the per-client-IP limits apply to, and the middleware that applies them.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::server_fn::ServerFn;

use super::webhooks;
use crate::limits::{client_ip, RouteClass};
use crate::state::AppState;

/// The limit class of an unauthenticated route; `None` for every other route.
pub fn class_of(path: &str) -> Option<RouteClass> {
    match path {
        "/api/auth/login" | "/api/auth/signup" => Some(RouteClass::SignIn),
        p if p == app::api::Login::PATH || p == app::api::Signup::PATH => Some(RouteClass::SignIn),
        "/api/auth/refresh" => Some(RouteClass::Refresh),
        webhooks::PATH => Some(RouteClass::Webhook),
        _ => None,
    }
}

/// Refuses a request to an unauthenticated route once its client is over the limit,
/// with `429`, `Retry-After` and the JSON error; other routes pass untouched.
pub async fn limit_per_client_ip(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(class) = class_of(request.uri().path()) {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        if let Some(peer) = peer {
            let ip = client_ip(peer, request.headers(), &state.settings.trusted_proxies);
            if let Err(refused) = state.ip_limits.check(class, ip) {
                tracing::warn!(?class, %ip, "client over its rate limit");
                return refused.into_response();
            }
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unauthenticated_routes_are_classed() {
        assert_eq!(class_of("/api/auth/login"), Some(RouteClass::SignIn));
        assert_eq!(class_of(app::api::Login::PATH), Some(RouteClass::SignIn));
        assert_eq!(class_of("/api/auth/refresh"), Some(RouteClass::Refresh));
        assert_eq!(class_of(webhooks::PATH), Some(RouteClass::Webhook));
        assert_eq!(class_of("/api/tasks"), None);
    }
}
