//! Prunes state that grows with traffic, so a server that runs for months holds only
//! what is still useful: idempotency keys past their retention, webhook delivery ids
//! past theirs, sessions signed out whose tokens could no longer be used anyway, and
//! rate-limiter entries of clients whose buckets have refilled.
//!
//! Expired rows are also ignored where they are read, so a retention holds exactly even
//! between two sweeps; the sweep only reclaims the space.

use tokio_util::sync::CancellationToken;

use crate::db;
use crate::state::AppState;

/// What one sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub idempotency_keys: u64,
    pub webhook_deliveries: u64,
    pub ended_sessions: u64,
}

/// One sweep, now.
pub async fn sweep(state: &AppState) -> Result<Swept, sqlx::Error> {
    let retention = state.settings.retention;
    let now = db::now_millis();
    let idempotency_keys = db::idempotency::prune(
        &state.db.write,
        now - retention.idempotency_keys.as_millis() as i64,
    )
    .await?;
    let webhook_deliveries = db::webhooks::prune(
        &state.db.write,
        now - retention.webhook_deliveries.as_millis() as i64,
    )
    .await?;
    let ended_sessions = db::sessions::prune(&state.db.write, now).await?;
    state.action_limits.retain_recent();
    state.action_limits.shrink_to_fit();
    state.poll_limits.retain_recent();
    state.poll_limits.shrink_to_fit();
    state.password_limits.retain_recent();
    state.password_limits.shrink_to_fit();
    state.ip_limits.prune();
    Ok(Swept {
        idempotency_keys,
        webhook_deliveries,
        ended_sessions,
    })
}

/// Sweeps every `retention.prune_every` until shutdown.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(state.settings.retention.prune_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => match sweep(&state).await {
                Ok(swept) if swept != Swept::default() => tracing::info!(?swept, "pruned expired state"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning expired state failed; will retry"),
            },
            _ = shutdown.cancelled() => break,
        }
    }
}
