//! The LLM analyser against a loopback stand-in for an OpenAI-compatible endpoint.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{json, Value};
use server::config::{LlmSettings, Secret};

use crate::helpers::*;

const KEY: &str = "sk-test-key-never-shown";

#[derive(Clone)]
enum Reply {
    /// A completion whose message content is this text.
    Content(&'static str),
    Status(u16),
    /// Answers too late.
    Slow,
}

#[derive(Clone, Default)]
struct Endpoint {
    script: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
}

async fn complete(
    State(e): State<Endpoint>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> axum::response::Response {
    e.requests.lock().unwrap().push((headers, body.0));
    let reply = e
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::Status(500));
    match reply {
        Reply::Content(text) => axum::Json(json!({
            "id": "cmpl-1", "object": "chat.completion", "model": "test-model",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
        }))
        .into_response(),
        Reply::Status(code) => (StatusCode::from_u16(code).unwrap(), "overloaded: internal detail").into_response(),
        Reply::Slow => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            (StatusCode::OK, "too late").into_response()
        }
    }
}

async fn app_with_llm(script: Vec<Reply>) -> (TestApp, Endpoint) {
    app_with_llm_tuned(script, |_| {}).await
}

/// A server whose analyser talks to a scripted stand-in; `tune` adjusts its settings.
async fn app_with_llm_tuned(
    script: Vec<Reply>,
    tune: impl FnOnce(&mut LlmSettings) + Send + 'static,
) -> (TestApp, Endpoint) {
    let e = Endpoint {
        script: Arc::new(Mutex::new(script.into())),
        ..Default::default()
    };
    let router = axum::Router::new()
        .route("/v1/chat/completions", post(complete))
        .with_state(e.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let mut llm = LlmSettings {
        base_url,
        model: "test-model".into(),
        api_key: Some(Secret::new(KEY)),
        timeout: Duration::from_millis(300),
        max_retries: 1,
        retry_base: Duration::from_millis(10),
        per_minute: 100,
    };
    tune(&mut llm);
    let app = spawn_app_with(move |s| s.llm = Some(llm)).await;
    (app, e)
}

#[tokio::test]
async fn an_actionable_verdict_dispatches_and_the_timeline_names_the_model() {
    let (app, endpoint) = app_with_llm(vec![Reply::Content(
        r#"{"taskType":"bug","summary":"Webhook retries stop after one attempt","actionable":true,"questions":[]}"#,
    )])
    .await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let events = app.timeline(&ada, id).await;
    let texts: Vec<_> = events
        .iter()
        .map(|e| e["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        texts.contains(&"Analysis started (test-model)".to_owned()),
        "{texts:?}"
    );
    assert!(
        texts.contains(
            &"test-model judged this a bug: Webhook retries stop after one attempt".to_owned()
        ),
        "{texts:?}"
    );
    let requests = endpoint.requests.lock().unwrap();
    assert_eq!(requests[0].0["authorization"], format!("Bearer {KEY}"));
    assert_eq!(requests[0].1["model"], "test-model");
    assert_eq!(requests[0].1["response_format"]["type"], "json_object");
}

#[tokio::test]
async fn questions_from_the_model_become_clarification_questions() {
    let (app, _) = app_with_llm(vec![Reply::Content(
        r#"{"taskType":"feature","summary":"Unclear scope","actionable":false,"questions":["Which endpoints?","What is the retry budget?"]}"#,
    )])
    .await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "needs_clarification").await;
    let task: Value = app
        .get(&ada, &format!("/api/tasks/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        task["task"]["questions"],
        json!(["Which endpoints?", "What is the retry budget?"])
    );
}

#[tokio::test]
async fn a_busy_endpoint_is_retried() {
    let (app, endpoint) = app_with_llm(vec![
        Reply::Status(429),
        Reply::Content(r#"{"taskType":"bug","summary":"ok","actionable":true,"questions":[]}"#),
    ])
    .await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    assert_eq!(endpoint.requests.lock().unwrap().len(), 2);
    let texts: Vec<_> = app
        .timeline(&ada, id)
        .await
        .iter()
        .map(|e| e["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !texts.iter().any(|t| t.contains("built-in rules")),
        "no fallback: {texts:?}"
    );
}

async fn assert_falls_back(script: Vec<Reply>, reason: &str) {
    let (app, _) = app_with_llm(script).await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    // The rules dispatch this description.
    app.wait_for_status(&ada, id, "dispatched").await;
    let events = app.timeline(&ada, id).await;
    let note = events
        .iter()
        .find(|e| e["kind"] == "task:event_added")
        .expect("a fallback note");
    let text = note["text"].as_str().unwrap();
    assert_eq!(text, format!("The test-model analyser could not be used: {reason}. The built-in rules decided instead."));
    let all = Value::Array(events).to_string();
    assert!(
        !all.contains(KEY) && !all.contains("internal detail"),
        "no key or raw error in the timeline"
    );
}

#[tokio::test]
async fn a_malformed_answer_falls_back_to_the_rules() {
    assert_falls_back(
        vec![Reply::Content("Sure! The task looks fine.")],
        "its answer could not be understood",
    )
    .await;
}

#[tokio::test]
async fn an_endpoint_that_keeps_failing_falls_back_to_the_rules() {
    assert_falls_back(
        vec![Reply::Status(503), Reply::Status(503)],
        "it was unavailable after 2 attempts",
    )
    .await;
}

#[tokio::test]
async fn a_timeout_falls_back_to_the_rules() {
    assert_falls_back(vec![Reply::Slow, Reply::Slow], "it did not answer in time").await;
}

#[tokio::test]
async fn beyond_the_rate_limit_the_rules_decide() {
    let verdict =
        Reply::Content(r#"{"taskType":"bug","summary":"ok","actionable":true,"questions":[]}"#);
    let (app, endpoint) = app_with_llm_tuned(vec![verdict], |llm| {
        llm.per_minute = 1;
        llm.max_retries = 0;
    })
    .await;
    let ada = app.signup("ada").await;
    let first = app.create_task(&ada, "First").await;
    app.wait_for_status(&ada, first, "dispatched").await;
    let second = app.create_task(&ada, "Second").await;
    app.wait_for_status(&ada, second, "dispatched").await;
    assert_eq!(
        endpoint.requests.lock().unwrap().len(),
        1,
        "the second analysis did not call the endpoint"
    );
    let texts: Vec<_> = app
        .timeline(&ada, second)
        .await
        .iter()
        .map(|e| e["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        texts.contains(&"The test-model analyser could not be used: too many tasks were analysed in the last minute. The built-in rules decided instead.".to_owned()),
        "{texts:?}"
    );
}
