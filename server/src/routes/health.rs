//! `/api/health`: is the server able to serve, and how busy is it.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/health", get(health))
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let database = crate::db::answers(&state.db.read).await;
    let body = json!({
        "status": if database { "ok" } else { "degraded" },
        "database": database,
        "connections": state.connections.load(Ordering::Relaxed),
        "rooms": {
            "dashboardMembers": state.rooms.dashboard().members().await,
            "taskRooms": state.rooms.task_rooms(),
        },
        "version": env!("CARGO_PKG_VERSION"),
    });
    let status = if database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body))
}
