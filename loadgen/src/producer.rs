//! Accounts for the sockets, and the creates: `--rate` a second for `--seconds`, with up
//! to `--concurrency` in flight.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::{Shared, Target};

/// Long enough for taskwire's rules analyser to dispatch without questions.
const DESCRIPTION: &str = "Load test task: when a payment webhook fails, retry it three times with exponential backoff and log each attempt.";

pub struct Accounts {
    /// One token per socket (accounts repeat, `--sockets-per-user` times each).
    pub socket_tokens: Vec<String>,
    pub producer_token: String,
}

async fn sign_up(http: &reqwest::Client, shared: &Shared, name: &str) -> anyhow::Result<String> {
    let res = http
        .post(format!("{}/api/auth/signup", shared.args.url_for(0)))
        .json(&json!({ "username": name, "password": "load test password", "displayName": name }))
        .send()
        .await?;
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    anyhow::ensure!(
        status.is_success(),
        "sign-up of {name} answered {status}: {body}"
    );
    body["token"]
        .as_str()
        .map(str::to_owned)
        .context("no token in the sign-up answer")
}

/// Signs up the accounts the sockets use (taskwire only; the others check nobody).
pub async fn accounts(http: &reqwest::Client, shared: &Shared) -> anyhow::Result<Accounts> {
    let args = &shared.args;
    if args.target != Target::Taskwire {
        return Ok(Accounts {
            socket_tokens: vec![String::new(); args.clients],
            producer_token: String::new(),
        });
    }
    let per_user = args.sockets_per_user.max(1);
    let users = args.clients.div_ceil(per_user);
    let mut tokens = Vec::with_capacity(users);
    for i in 0..users {
        tokens.push(sign_up(http, shared, &format!("lg{}u{i}", shared.run)).await?);
    }
    let producer_token = sign_up(http, shared, &format!("lg{}p", shared.run)).await?;
    let socket_tokens = (0..args.clients)
        .map(|i| tokens[i / per_user].clone())
        .collect();
    Ok(Accounts {
        socket_tokens,
        producer_token,
    })
}

/// What the producer did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Outcome {
    /// Creates the server accepted; their titles run from 0 to `created - 1`.
    pub created: usize,
    /// Creates answered with anything but success, by status (0: no answer).
    pub failed: Vec<(u16, u64)>,
}

pub async fn produce(http: &reqwest::Client, shared: &Arc<Shared>, token: &str) -> Outcome {
    let args = &shared.args;
    let total = shared.sent_at.len();
    let slots = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let interval = (args.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / args.rate));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(total);
    for n in 0..total {
        if let Some(interval) = interval {
            // On schedule, not "one interval after the last": a slow create does not
            // slow the rate down.
            let due = started + interval * n as u32;
            tokio::time::sleep_until(due.into()).await;
        }
        if Instant::now() >= deadline {
            break;
        }
        let permit = match slots.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => break,
        };
        let http = http.clone();
        let shared = shared.clone();
        let token = token.to_owned();
        handles.push(tokio::spawn(async move {
            let _permit = permit;
            let title = format!("lg-{}-{n}", shared.run);
            shared.sent_at[n].store(shared.micros().max(1), Ordering::Relaxed);
            let mut request = http
                .post(format!("{}/api/tasks", shared.args.url_for(n)))
                .json(&json!({ "title": title, "description": DESCRIPTION }));
            if !token.is_empty() {
                request = request.bearer_auth(token);
            }
            match request.send().await {
                Ok(res) if res.status().is_success() => {
                    shared.accepted[n].store(true, Ordering::Relaxed);
                    0
                }
                Ok(res) => res.status().as_u16(),
                Err(_) => 1,
            }
        }));
    }
    let mut outcome = Outcome {
        created: handles.len(),
        failed: Vec::new(),
    };
    for handle in handles {
        let status = handle.await.unwrap_or(1);
        if status != 0 {
            match outcome.failed.iter_mut().find(|(s, _)| *s == status) {
                Some((_, count)) => *count += 1,
                None => outcome.failed.push((status, 1)),
            }
        }
    }
    outcome
}
