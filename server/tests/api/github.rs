//! Dispatch to GitHub (against a loopback stand-in) and GitHub webhooks (real payloads
//! from `server/tests/fixtures/github`, signed here).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{json, Value};
use server::config::{GithubSettings, Secret};
use server::pipeline::webhook::sign;
use shared_protocol::TaskId;

use crate::helpers::*;

const WEBHOOK_SECRET: &str = "test-webhook-secret";
const TOKEN: &str = "ghp_test_token_never_shown";

/// A scripted failure: an HTTP status and an optional `Retry-After`.
type Failure = (u16, Option<&'static str>);

/// What the stand-in answers, in order; after the script it creates issue 42.
#[derive(Clone, Default)]
struct StandIn {
    script: Arc<Mutex<VecDeque<Failure>>>,
    requests: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
}

async fn create_issue(
    State(s): State<StandIn>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> axum::response::Response {
    s.requests.lock().unwrap().push((headers, body.0));
    let next = s.script.lock().unwrap().pop_front();
    match next {
        Some((status, retry_after)) => {
            let mut res = (StatusCode::from_u16(status).unwrap(), "upstream exploded: internal detail").into_response();
            if let Some(ra) = retry_after {
                res.headers_mut().insert("retry-after", ra.parse().unwrap());
            }
            res
        }
        None => (
            StatusCode::CREATED,
            axum::Json(json!({ "number": 42, "html_url": "https://github.example/acme/app/issues/42", "id": 1 })),
        )
            .into_response(),
    }
}

async fn stand_in(script: Vec<Failure>) -> (StandIn, String) {
    let s = StandIn {
        script: Arc::new(Mutex::new(script.into())),
        ..Default::default()
    };
    let app = axum::Router::new()
        .route("/repos/{owner}/{name}/issues", post(create_issue))
        .with_state(s.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (s, url)
}

async fn app_with_github(api_url: &str) -> TestApp {
    let api_url = api_url.to_owned();
    spawn_app_with(move |s| {
        s.webhook_secret = Some(Secret::new(WEBHOOK_SECRET));
        s.github = Some(GithubSettings {
            api_url,
            repo: "Codertocat/Hello-World".into(),
            token: Secret::new(TOKEN),
            timeout: Duration::from_millis(500),
            max_retries: 2,
            retry_base: Duration::from_millis(10),
        });
    })
    .await
}

#[tokio::test]
async fn dispatching_opens_a_github_issue_and_links_it() {
    let (gh, url) = stand_in(vec![]).await;
    let app = app_with_github(&url).await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;

    let task = task_json(&app, &ada, id).await;
    assert_eq!(task["task"]["issueNumber"], 42);
    assert_eq!(
        task["task"]["issueUrl"],
        "https://github.example/acme/app/issues/42"
    );
    assert_eq!(task["task"]["githubBranch"], format!("task-{id}"));
    let requests = gh.requests.lock().unwrap();
    let (headers, body) = &requests[0];
    assert_eq!(headers["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(body["title"], "Retry webhooks");
    assert_eq!(body["labels"], json!(["taskwire"]));
    assert!(
        body["body"]
            .as_str()
            .unwrap()
            .contains(&format!("/tasks/{id}")),
        "links back to the task"
    );
}

#[tokio::test]
async fn dispatch_retries_5xx_and_429_then_succeeds() {
    let (gh, url) = stand_in(vec![(503, None), (429, Some("0"))]).await;
    let app = app_with_github(&url).await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    assert_eq!(gh.requests.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn dispatch_fails_with_a_plain_message_after_the_last_retry() {
    let (gh, url) = stand_in(vec![(502, None), (502, None), (502, None)]).await;
    let app = app_with_github(&url).await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "failed").await;
    assert_eq!(
        gh.requests.lock().unwrap().len(),
        3,
        "one try and two retries"
    );
    let task = task_json(&app, &ada, id).await;
    let message = task["task"]["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("GitHub did not answer after 3 attempts"),
        "{message}"
    );
    let everything = task.to_string();
    assert!(!everything.contains(TOKEN) && !everything.contains("internal detail"));
}

#[tokio::test]
async fn a_refused_dispatch_fails_at_once() {
    let (gh, url) = stand_in(vec![(401, None)]).await;
    let app = app_with_github(&url).await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "failed").await;
    assert_eq!(gh.requests.lock().unwrap().len(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn without_github_a_task_is_dispatched_with_no_issue() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let task = task_json(&app, &ada, id).await;
    assert!(task["task"].get("issueNumber").is_none());
    assert_eq!(task["task"]["githubBranch"], format!("task-{id}"));
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/github/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The real push payload, to the branch `branch`.
fn push(name: &str, branch: &str) -> Value {
    let mut payload = fixture(name);
    payload["ref"] = json!(format!("refs/heads/{branch}"));
    payload
}

async fn deliver(
    app: &TestApp,
    event: &str,
    delivery: &str,
    payload: &Value,
    secret: &str,
) -> reqwest::Response {
    let body = serde_json::to_vec(payload).unwrap();
    app.http
        .post(app.url("/api/webhooks/github"))
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", sign(secret.as_bytes(), &body))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn dispatched_task(app: &TestApp) -> (TestUser, TaskId) {
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    (ada, id)
}

fn pr(name: &str, branch: &str) -> Value {
    let mut payload = fixture(name);
    payload["pull_request"]["head"]["ref"] = json!(branch);
    payload
}

async fn webhook_app() -> TestApp {
    spawn_app_with(|s| s.webhook_secret = Some(Secret::new(WEBHOOK_SECRET))).await
}

#[tokio::test]
async fn a_pull_request_with_an_unruly_title_still_opens_and_its_title_is_one_line() {
    let app = webhook_app().await;
    let (ada, id) = dispatched_task(&app).await;
    let mut opened = pr("pull_request.opened.json", &format!("task-{id}"));
    let long = format!("Fix\tthe\nretry {}", "é".repeat(400));
    opened["pull_request"]["title"] = json!(long);
    let res = deliver(&app, "pull_request", "d-unruly", &opened, WEBHOOK_SECRET).await;
    assert_eq!(res.status(), 200);
    let task = task_json(&app, &ada, id).await;
    assert_eq!(task["task"]["status"], "pr_open", "{task}");
    let title = task["task"]["prTitle"].as_str().unwrap();
    assert!(title.starts_with("Fix the retry é"), "{title}");
    assert_eq!(title.chars().count(), 256);
    assert!(!title.chars().any(char::is_control));
}

#[tokio::test]
async fn a_pull_request_on_the_tasks_branch_opens_then_merges_it() {
    let app = webhook_app().await;
    let (ada, id) = dispatched_task(&app).await;

    let res = deliver(
        &app,
        "pull_request",
        "d-1",
        &pr("pull_request.opened.json", &format!("task-{id}")),
        WEBHOOK_SECRET,
    )
    .await;
    assert_eq!(res.status(), 200);
    let task = task_json(&app, &ada, id).await;
    assert_eq!(task["task"]["status"], "pr_open");
    assert_eq!(task["task"]["prNumber"], 2);
    assert_eq!(
        task["task"]["prUrl"],
        "https://github.com/Codertocat/Hello-World/pull/2"
    );
    assert_eq!(
        task["task"]["prTitle"],
        "Update the README with new information."
    );

    let mut merged = pr("pull_request.closed.json", &format!("task-{id}"));
    merged["pull_request"]["merged"] = json!(true);
    merged["pull_request"]["merged_at"] = json!("2019-05-15T15:20:33Z");
    let res = deliver(&app, "pull_request", "d-2", &merged, WEBHOOK_SECRET).await;
    assert_eq!(res.status(), 200);
    let task = task_json(&app, &ada, id).await;
    assert_eq!(task["task"]["status"], "merged");
    assert_eq!(
        task["task"]["mergeCommitSha"],
        "c4295bd74fb0f4fda03689c3df3f2803b658fd85"
    );
    let kinds: Vec<_> = task["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        &kinds[kinds.len() - 2..],
        ["task:pr_opened", "task:pr_merged"]
    );
}

#[tokio::test]
async fn a_pull_request_closed_unmerged_fails_the_task() {
    let app = webhook_app().await;
    let (ada, id) = dispatched_task(&app).await;
    deliver(
        &app,
        "pull_request",
        "d-1",
        &pr("pull_request.opened.json", &format!("task-{id}")),
        WEBHOOK_SECRET,
    )
    .await;
    let res = deliver(
        &app,
        "pull_request",
        "d-2",
        &pr("pull_request.closed.json", &format!("task-{id}")),
        WEBHOOK_SECRET,
    )
    .await;
    assert_eq!(res.status(), 200);
    let task = task_json(&app, &ada, id).await;
    assert_eq!(task["task"]["status"], "failed");
    assert_eq!(
        task["events"].as_array().unwrap().last().unwrap()["kind"],
        "task:pr_closed"
    );
}

#[tokio::test]
async fn a_pull_request_that_closes_the_tasks_issue_is_linked_by_its_body() {
    let (_gh, url) = stand_in(vec![]).await;
    let app = app_with_github(&url).await;
    let (ada, id) = dispatched_task(&app).await;
    let mut payload = pr("pull_request.opened.json", "some-other-branch");
    payload["pull_request"]["body"] = json!("This change fixes #42 for good.");
    let res = deliver(&app, "pull_request", "d-1", &payload, WEBHOOK_SECRET).await;
    assert_eq!(res.status(), 200);
    assert_eq!(task_json(&app, &ada, id).await["task"]["status"], "pr_open");
}

#[tokio::test]
async fn a_push_to_the_tasks_branch_starts_coding() {
    let app = webhook_app().await;
    let (ada, id) = dispatched_task(&app).await;
    let payload = push("push.json", &format!("task-{id}"));
    assert_eq!(
        deliver(&app, "push", "d-1", &payload, WEBHOOK_SECRET)
            .await
            .status(),
        200
    );
    assert_eq!(task_json(&app, &ada, id).await["task"]["status"], "coding");
    // A second push changes nothing and is still accepted.
    assert_eq!(
        deliver(&app, "push", "d-2", &payload, WEBHOOK_SECRET)
            .await
            .status(),
        202
    );
}

#[tokio::test]
async fn deleting_the_tasks_branch_changes_nothing() {
    let app = webhook_app().await;
    let (ada, id) = dispatched_task(&app).await;
    let before = task_json(&app, &ada, id).await;
    let res = deliver(
        &app,
        "push",
        "d-1",
        &push("push.deleted.json", &format!("task-{id}")),
        WEBHOOK_SECRET,
    )
    .await;
    assert_eq!(res.status(), 202);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ignored");
    assert_eq!(
        task_json(&app, &ada, id).await,
        before,
        "no event, no change"
    );
}

#[tokio::test]
async fn a_pull_request_from_a_fork_does_not_touch_the_task_its_branch_names() {
    let app = webhook_app().await;
    let (ada, id) = dispatched_task(&app).await;
    let before = task_json(&app, &ada, id).await;
    let mut fork = fixture("pull_request.opened.fork.json");
    fork["pull_request"]["head"]["ref"] = json!(format!("task-{id}"));
    let res = deliver(&app, "pull_request", "d-1", &fork, WEBHOOK_SECRET).await;
    assert_eq!(res.status(), 202);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ignored");
    assert_eq!(task_json(&app, &ada, id).await, before);
    // The same branch in the repository itself is the task's.
    let own = pr("pull_request.opened.json", &format!("task-{id}"));
    let res = deliver(&app, "pull_request", "d-2", &own, WEBHOOK_SECRET).await;
    assert_eq!(res.status(), 200);
    assert_eq!(task_json(&app, &ada, id).await["task"]["status"], "pr_open");
}

#[tokio::test]
async fn a_large_push_is_accepted_up_to_githubs_cap_and_a_larger_body_gets_json_413() {
    let app = webhook_app().await;
    let (ada, id) = dispatched_task(&app).await;
    // A push of many commits touching many files: about 6 MB, well over the 2 MB that
    // web frameworks accept by default.
    let mut payload = push("push.json", &format!("task-{id}"));
    let commit = payload["commits"][0].clone();
    let files: Vec<String> = (0..400)
        .map(|i| format!("src/module_{i}/generated_file.rs"))
        .collect();
    let commits: Vec<Value> = (0..400)
        .map(|i| {
            let mut c = commit.clone();
            c["id"] = json!(format!("{i:040x}"));
            c["modified"] = json!(files);
            c
        })
        .collect();
    payload["commits"] = json!(commits);
    let size = serde_json::to_vec(&payload).unwrap().len();
    assert!(size > 5_000_000, "{size}");
    let res = deliver(&app, "push", "big-1", &payload, WEBHOOK_SECRET).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(task_json(&app, &ada, id).await["task"]["status"], "coding");

    // Past 25 MB: refused with the project's error, not framework text.
    let too_big = vec![b' '; 25 * 1024 * 1024 + 1];
    let res = app
        .http
        .post(app.url("/api/webhooks/github"))
        .header("x-github-event", "push")
        .header("x-github-delivery", "big-2")
        .header(
            "x-hub-signature-256",
            sign(WEBHOOK_SECRET.as_bytes(), &too_big),
        )
        .header("content-type", "application/json")
        .body(too_big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn a_pull_request_link_that_is_not_a_web_address_is_refused() {
    let app = webhook_app().await;
    let (ada, id) = dispatched_task(&app).await;
    let mut payload = pr("pull_request.opened.json", &format!("task-{id}"));
    payload["pull_request"]["html_url"] = json!("javascript:alert(document.cookie)");
    let res = deliver(&app, "pull_request", "d-1", &payload, WEBHOOK_SECRET).await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_url");
    assert_eq!(
        task_json(&app, &ada, id).await["task"]["status"],
        "dispatched"
    );
}

#[tokio::test]
async fn a_bad_or_missing_signature_is_refused_and_changes_nothing() {
    let app = webhook_app().await;
    let (ada, id) = dispatched_task(&app).await;
    let payload = pr("pull_request.opened.json", &format!("task-{id}"));
    let res = deliver(&app, "pull_request", "d-1", &payload, "wrong-secret").await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "bad_signature"
    );
    let unsigned = app
        .http
        .post(app.url("/api/webhooks/github"))
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", "d-1")
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    assert_eq!(
        task_json(&app, &ada, id).await["task"]["status"],
        "dispatched"
    );
    // The refused delivery was not recorded: its genuine redelivery still applies.
    assert_eq!(
        deliver(&app, "pull_request", "d-1", &payload, WEBHOOK_SECRET)
            .await
            .status(),
        200
    );
    assert_eq!(task_json(&app, &ada, id).await["task"]["status"], "pr_open");
}

#[tokio::test]
async fn a_redelivery_changes_nothing_and_succeeds() {
    let app = webhook_app().await;
    let (ada, id) = dispatched_task(&app).await;
    let payload = pr("pull_request.opened.json", &format!("task-{id}"));
    assert_eq!(
        deliver(&app, "pull_request", "same", &payload, WEBHOOK_SECRET)
            .await
            .status(),
        200
    );
    let before = task_json(&app, &ada, id).await;
    let again = deliver(&app, "pull_request", "same", &payload, WEBHOOK_SECRET).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["status"], "duplicate");
    assert_eq!(task_json(&app, &ada, id).await, before);
}

#[tokio::test]
async fn ping_unknown_prs_and_other_events_are_accepted_and_ignored() {
    let app = webhook_app().await;
    let (ada, id) = dispatched_task(&app).await;
    let ping = deliver(&app, "ping", "p-1", &fixture("ping.json"), WEBHOOK_SECRET).await;
    assert_eq!(ping.status(), 200);
    assert_eq!(ping.json::<Value>().await.unwrap()["status"], "pong");
    let unknown = deliver(
        &app,
        "pull_request",
        "u-1",
        &pr("pull_request.opened.json", "changes"),
        WEBHOOK_SECRET,
    )
    .await;
    assert_eq!(unknown.status(), 202);
    let issues = deliver(
        &app,
        "issues",
        "i-1",
        &fixture("issues.opened.json"),
        WEBHOOK_SECRET,
    )
    .await;
    assert_eq!(issues.status(), 202);
    assert_eq!(
        task_json(&app, &ada, id).await["task"]["status"],
        "dispatched"
    );
}

#[tokio::test]
async fn a_nul_in_githubs_text_is_dropped_not_the_delivery() {
    let app = webhook_app().await;
    let (ada, id) = dispatched_task(&app).await;
    let mut opened = pr("pull_request.opened.json", &format!("task-{id}"));
    opened["pull_request"]["title"] = json!("Fix\u{0} the README");
    opened["pull_request"]["body"] = json!("A body with a \u{0} in it");
    let res = deliver(&app, "pull_request", "d-nul", &opened, WEBHOOK_SECRET).await;
    assert_eq!(res.status(), 200);
    let task = task_json(&app, &ada, id).await;
    assert_eq!(task["task"]["status"], "pr_open");
    assert_eq!(task["task"]["prTitle"], "Fix the README");
    // Processed once: the same delivery again is a duplicate.
    let again = deliver(&app, "pull_request", "d-nul", &opened, WEBHOOK_SECRET).await;
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["status"], "duplicate");
}

#[tokio::test]
async fn a_delivery_claimed_by_a_server_that_died_is_taken_over_by_a_redelivery() {
    let app = webhook_app().await;
    let (ada, id) = dispatched_task(&app).await;
    let opened = pr("pull_request.opened.json", &format!("task-{id}"));
    let pool = app.pool().await;
    let now = server::db::now_millis();
    // Claimed moments ago and not finished: still being processed somewhere.
    sqlx::query("INSERT INTO webhook_deliveries (id, event, received_at) VALUES ('d-busy', 'pull_request', $1)")
        .bind(now)
        .execute(&pool)
        .await
        .unwrap();
    let res = deliver(&app, "pull_request", "d-busy", &opened, WEBHOOK_SECRET).await;
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "duplicate");
    assert_eq!(
        task_json(&app, &ada, id).await["task"]["status"],
        "dispatched"
    );
    // Claimed two minutes ago and never finished: its server died; this one takes it.
    sqlx::query("INSERT INTO webhook_deliveries (id, event, received_at) VALUES ('d-dead', 'pull_request', $1)")
        .bind(now - 120_000)
        .execute(&pool)
        .await
        .unwrap();
    let res = deliver(&app, "pull_request", "d-dead", &opened, WEBHOOK_SECRET).await;
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "applied");
    assert_eq!(task_json(&app, &ada, id).await["task"]["status"], "pr_open");
}
