//! Demo mode: demo users and synthetic tasks driven through the whole pipeline at a
//! human pace, so a first run shows a live dashboard within seconds.
//!
//! Everything goes through the same actions as real work (people create and answer, an
//! agent with a name reports progress) and through the pipeline; demo data is labelled
//! (`[demo]` titles, `(demo)` names) and only exists when asked for.

use std::time::Duration;

use crate::db::Pool;
use rand::{Rng, SeedableRng};
use shared_protocol::{TaskId, TaskStatus};

use crate::actions::tasks::{NewTask, StatusReport};
use crate::actions::{self, accounts};
use crate::auth::{CurrentUser, Reporter};
use crate::db::tasks::Task;
use crate::state::AppState;

/// The name the demo's agent reports progress under.
const AGENT: &str = "demo-agent";

/// The org demo accounts belong to: everyone's, like accounts that sign up.
const DEFAULT_ORG: &str = "default";

/// Most demo tasks one run creates, so a demo left running does not grow forever.
const MAX_TASKS: usize = 40;

const USERS: [(&str, &str); 3] = [
    ("demo-ada", "Ada (demo)"),
    ("demo-grace", "Grace (demo)"),
    ("demo-linus", "Linus (demo)"),
];

const CLEAR: [(&str, &str); 6] = [
    ("Retry failed payment webhooks", "When a payment webhook delivery fails, retry it three times with exponential backoff and log every attempt."),
    ("Paginate the audit log API", "The audit log endpoint returns every row at once; add cursor pagination with a default page size of one hundred."),
    ("Upgrade the TLS library", "Move the HTTP client to the current TLS library release and make sure the integration tests still pass afterwards."),
    ("Cache the pricing table", "Pricing is read from the database on every request; cache it in memory for one minute and invalidate it on writes."),
    ("Add a health check for the queue", "Expose the job queue depth and the age of the oldest job on the health endpoint so alerts can fire on backlogs."),
    ("Fix timezone in weekly report", "The weekly report groups events by UTC day; group them by the team's configured timezone instead, with a test."),
];

const THIN: [(&str, &str); 4] = [
    ("Dark mode", "Make it dark"),
    ("Speed up search", "Search is slow"),
    ("Fix the export", "Export is broken"),
    ("Better onboarding", "New users get lost"),
];

/// Drives demo tasks until the server stops; `step` is the pause between two steps of a
/// task.
pub async fn run(state: AppState, step: Duration) {
    let shutdown = state.shutdown.clone();
    let people = match ensure_users(&state.db.write).await {
        Ok(people) => people,
        Err(e) => {
            tracing::error!(error = %e, "demo users could not be created; demo mode is off");
            return;
        }
    };
    tracing::info!("demo mode: synthetic [demo] tasks will be created");
    let mut rng = rand::rngs::StdRng::from_entropy();
    for n in 0..MAX_TASKS {
        let person = people[n % people.len()].clone();
        let (title, description) = if rng.gen_bool(0.35) {
            THIN[rng.gen_range(0..THIN.len())]
        } else {
            CLEAR[rng.gen_range(0..CLEAR.len())]
        };
        let new = NewTask {
            title: format!("[demo] {title}"),
            description: description.to_owned(),
            private: false,
        };
        match actions::tasks::create(&state, &person, new).await {
            Ok(applied) => {
                let merge = rng.gen_bool(0.7);
                tokio::spawn(drive(state.clone(), person, applied.task.id(), step, merge));
            }
            Err(e) => tracing::warn!(error = %e, "demo task not created"),
        }
        let pause = step * rng.gen_range(3..7);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Demo accounts get a random password nobody knows: they cannot be signed in to.
async fn ensure_users(pool: &Pool) -> anyhow::Result<Vec<CurrentUser>> {
    let mut people = Vec::new();
    for (username, display) in USERS {
        let mut secret = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
        let account = accounts::NewAccount {
            username: username.to_owned(),
            password: hex::encode(secret),
            display_name: Some(display.to_owned()),
            org: DEFAULT_ORG.to_owned(),
            // A demo bot never administers the installation.
            admin: Some(false),
        };
        let user = accounts::ensure_account(pool, account)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        people.push(CurrentUser {
            id: user.id,
            name: user.display_name,
            org_id: user.org_id,
            // The driver acts for them while the server runs; no token is involved.
            expires_at: u64::MAX,
            token_version: user.token_version,
            session_id: String::new(),
        });
    }
    Ok(people)
}

/// Polls until the task has one of the `wanted` statuses.
async fn wait_for(
    state: &AppState,
    viewer: &CurrentUser,
    id: TaskId,
    wanted: &[TaskStatus],
) -> Option<Task> {
    for _ in 0..600 {
        if let Ok(task) = actions::tasks::visible(state, viewer.viewer(), id).await {
            if wanted.contains(&task.status()) {
                return Some(task);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = state.shutdown.cancelled() => return None,
        }
    }
    None
}

/// One task's life after creation: answers, an agent coding, a pull request, its end.
async fn drive(state: AppState, creator: CurrentUser, id: TaskId, step: Duration, merge: bool) {
    let shutdown = state.shutdown.clone();
    let pause = || async {
        tokio::select! {
            _ = tokio::time::sleep(step * 2) => true,
            _ = shutdown.cancelled() => false,
        }
    };
    let after_analysis = [TaskStatus::NeedsClarification, TaskStatus::Dispatched];
    let Some(task) = wait_for(&state, &creator, id, &after_analysis).await else {
        return;
    };
    if task.status() == TaskStatus::NeedsClarification {
        if !pause().await {
            return;
        }
        let answers = task
            .detail
            .questions
            .iter()
            .map(|_| "It should work for every customer, and the end-to-end test for this page checks it.".to_owned())
            .collect();
        if actions::tasks::answer(&state, &creator, id, answers)
            .await
            .is_err()
        {
            return;
        }
        if wait_for(&state, &creator, id, &[TaskStatus::Dispatched])
            .await
            .is_none()
        {
            return;
        }
    }
    let report = |status: Option<&str>| StatusReport {
        status: status.map(str::to_owned),
        ..StatusReport::default()
    };
    let pr = 100 + id.0;
    let steps = [
        StatusReport {
            note: Some("Branch created".into()),
            ..report(Some("coding"))
        },
        StatusReport {
            note: Some("Tests written; implementation under way".into()),
            ..report(None)
        },
        StatusReport {
            pr_number: Some(pr),
            pr_url: Some(format!("https://github.com/example/demo/pull/{pr}")),
            pr_title: Some("[demo] Implement the task".into()),
            ..report(Some("pr_open"))
        },
        if merge {
            StatusReport {
                merge_commit_sha: Some(format!("{:040x}", id.0)),
                ..report(Some("merged"))
            }
        } else {
            StatusReport {
                reason: Some(format!("Pull request #{pr} was closed without merging.")),
                ..report(Some("failed"))
            }
        },
    ];
    for step in steps {
        if !pause().await {
            return;
        }
        let agent = Reporter::Agent {
            name: AGENT.to_owned(),
        };
        if let Err(e) = actions::tasks::report(&state, agent, id, step).await {
            tracing::info!(error = %e, task_id = %id, "demo task stopped");
            return;
        }
    }
}
