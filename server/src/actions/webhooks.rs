//! Ingesting a GitHub delivery whose signature the transport has checked: a delivery id
//! seen before changes nothing; otherwise the payload's meaning
//! ([`crate::pipeline::webhook`]) is applied to the task it names, if any, as GitHub.

use shared_protocol::TaskId;

use crate::db;
use crate::error::ApiError;
use crate::pipeline::webhook::{interpret, Intent, PrLink};
use crate::state::AppState;
use crate::tasks::{Actor, Command, ServiceError, MAX_PR_TITLE_CHARS};

/// What a delivery came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A `ping`.
    Pong,
    /// A task changed.
    Applied,
    /// Nothing to change: no task matches, the event means nothing here, or the task is
    /// past it.
    Ignored,
    /// This delivery id was processed before.
    Duplicate,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pong => "pong",
            Outcome::Applied => "applied",
            Outcome::Ignored => "ignored",
            Outcome::Duplicate => "duplicate",
        }
    }
}

/// A claimed delivery whose processing has not finished after this long belongs to a
/// server that died mid-way; a redelivery takes it over.
const CLAIM_STALE_AFTER_MS: i64 = 60_000;

/// `body` (JSON) with the NUL character taken out of every string.
fn without_nul(body: &[u8]) -> Result<Vec<u8>, ApiError> {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => s.retain(|c| c != '\0'),
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            serde_json::Value::Object(fields) => fields.values_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::invalid("body", "not a payload of this event"))?;
    strip(&mut value);
    serde_json::to_vec(&value).map_err(|e| ApiError::Internal(e.into()))
}

/// Ingests one delivery of `event` with id `delivery`.
pub async fn ingest(
    state: &AppState,
    event: &str,
    delivery: &str,
    body: &[u8],
) -> Result<Outcome, ApiError> {
    let remembered_since =
        db::now_millis() - state.settings.retention.webhook_deliveries.as_millis() as i64;
    let repo = state.github.as_ref().map(|g| g.repo().to_owned());
    let cleaned;
    let body = if crate::text::has_nul_escape(body) {
        // No store keeps the NUL character; GitHub's text loses it rather than the
        // delivery being refused.
        cleaned = without_nul(body)?;
        &cleaned[..]
    } else {
        body
    };
    let intent = interpret(event, body, repo.as_deref())
        .map_err(|_| ApiError::invalid("body", "not a payload of this event"))?;
    let now = db::now_millis();
    let stale_before = now - CLAIM_STALE_AFTER_MS;
    let claimed = db::webhooks::claim(
        &state.db.write,
        delivery,
        event,
        now,
        remembered_since,
        stale_before,
    )
    .await?;
    if !claimed {
        return Ok(Outcome::Duplicate);
    }
    match apply(state, intent).await {
        Ok(outcome) => {
            db::webhooks::finish(&state.db.write, delivery, db::now_millis()).await?;
            Ok(outcome)
        }
        Err(e) => {
            // Not processed: a redelivery of it must be.
            if let Err(unclaim) = db::webhooks::unclaim(&state.db.write, delivery).await {
                tracing::warn!(error = %unclaim, "forgetting a failed webhook delivery failed");
            }
            Err(e)
        }
    }
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

/// Applies an intent to the task it is about, if any.
async fn apply(state: &AppState, intent: Intent) -> Result<Outcome, ApiError> {
    let (task, command) = match intent {
        Intent::Pong => return Ok(Outcome::Pong),
        Intent::Ignore(why) => {
            tracing::info!(why, "webhook ignored");
            return Ok(Outcome::Ignored);
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
                // GitHub's title is taken as it is shown, on one line and no longer than
                // GitHub allows: refusing it would refuse the pull request itself.
                pr_title: title.map(|t| crate::tasks::one_line_title(&t, MAX_PR_TITLE_CHARS)),
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
        return Ok(Outcome::Ignored);
    };
    match state
        .tasks
        .apply(task, Actor::System("github"), command)
        .await
    {
        Ok(_) => Ok(Outcome::Applied),
        // A push to a task already coding, a second "opened": nothing to change.
        Err(ServiceError::InvalidTransition(e)) => {
            tracing::info!(%e, "webhook does not change the task");
            Ok(Outcome::Ignored)
        }
        Err(e) => Err(e.into()),
    }
}
