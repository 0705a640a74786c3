//! State shared by every handler.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::tokens::SessionKeys;
use crate::config::{Secret, Settings};
use crate::db::Db;
use crate::limits::sockets::SocketSlots;
use crate::limits::IpLimits;
use crate::pipeline::github::GithubClient;
use crate::pipeline::PipelineHandle;
use crate::rooms::Rooms;
use crate::tasks::TaskService;

/// Cheap to clone: every field is a handle.
/// What the sockets are told when sessions end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revoked {
    /// Every session of this user.
    User(i64),
    /// One session, by id.
    Session(String),
    /// Every session of this user but one (a password change goes on in the session
    /// that made it).
    AllBut { user_id: i64, sid: String },
    /// Some, unknown: news may have been missed (the cluster listener reconnected), so
    /// every socket checks its token against the database.
    Unknown,
}

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    /// Readers, and the one writer every write of this process goes through.
    pub db: Db,
    pub keys: SessionKeys,
    /// Verifies GitHub webhook signatures.
    pub webhook_secret: Secret,
    /// Set when a repository and token are configured.
    pub github: Option<GithubClient>,
    pub tasks: TaskService,
    pub pipeline: PipelineHandle,
    pub rooms: Rooms,
    /// Sessions just ended (logout, password change), on this server or (on Postgres)
    /// any other; every socket listens and closes if it is that user's. A bounded
    /// broadcast: a connection that lags re-checks its token against the database.
    pub revocations: tokio::sync::broadcast::Sender<Revoked>,
    /// Per-user limit on HTTP actions, keyed by `user:<id>` or `agent:<name>`.
    pub action_limits: Arc<governor::DefaultKeyedRateLimiter<String>>,
    /// Long-polls per user, at a socket's frame rate (a poll is a socket's join).
    pub poll_limits: Arc<governor::DefaultKeyedRateLimiter<i64>>,
    /// Password changes per user, at the sign-in rate: each one checks the current
    /// password with an argon2 hash, and a wrong one is a guess.
    pub password_limits: Arc<governor::DefaultKeyedRateLimiter<i64>>,
    /// Per-client-IP limits on sign-in, sign-up, refresh and webhooks.
    pub ip_limits: Arc<IpLimits>,
    /// Open sockets per user, for the per-user cap.
    pub socket_slots: SocketSlots,
    /// Open WebSocket connections.
    pub connections: Arc<AtomicUsize>,
    /// Cancelled on shutdown; sockets close with a close frame when it fires.
    pub shutdown: CancellationToken,
    /// Tracks socket tasks so shutdown can wait for their close frames.
    pub tracker: TaskTracker,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.settings.leptos.clone()
    }
}

impl FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

impl FromRef<AppState> for SessionKeys {
    fn from_ref(state: &AppState) -> Self {
        state.keys.clone()
    }
}

impl AppState {
    /// Counts one action against `key`'s limit; refused with the seconds to wait.
    pub fn check_action_limit(&self, key: String) -> Result<(), crate::error::ApiError> {
        self.action_limits
            .check_key(&key)
            .map_err(crate::limits::refused)
    }
}
