//! The JSON API: tasks, the pipeline's rules, errors.

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn a_clear_task_is_analysed_and_dispatched_without_github() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let body: Value = app
        .get(&ada, &format!("/api/tasks/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(body["task"].get("issueUrl").is_none());
    let kinds: Vec<_> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["task:created", "task:analyzing", "task:dispatched"]);
}

#[tokio::test]
async fn a_thin_task_asks_questions_and_answers_dispatch_it() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let res = app
        .post(
            &ada,
            "/api/tasks",
            json!({ "title": "Fix it", "description": "Broken" }),
        )
        .await;
    let id = shared_protocol::TaskId(
        res.json::<Value>().await.unwrap()["task"]["id"]
            .as_i64()
            .unwrap(),
    );
    app.wait_for_status(&ada, id, "needs_clarification").await;
    let body: Value = app
        .get(&ada, &format!("/api/tasks/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let questions = body["task"]["questions"].as_array().unwrap().len();
    assert!(questions >= 1);

    let wrong_count = app
        .post(
            &ada,
            &format!("/api/tasks/{id}/answers"),
            json!({ "answers": [] }),
        )
        .await;
    assert_eq!(wrong_count.status(), 422);

    let answers: Vec<String> = (0..questions)
        .map(|i| format!("Answer number {i}"))
        .collect();
    let res = app
        .post(
            &ada,
            &format!("/api/tasks/{id}/answers"),
            json!({ "answers": answers }),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["task"]["status"],
        "clarified"
    );
    app.wait_for_status(&ada, id, "dispatched").await;
}

#[tokio::test]
async fn an_invalid_transition_is_refused_with_409_and_changes_nothing() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let before: Value = app
        .get(&ada, &format!("/api/tasks/{id}"))
        .await
        .json()
        .await
        .unwrap();

    let res = app.report(&ada, id, json!({ "status": "merged" })).await;
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_transition");
    assert_eq!(
        body["error"]["message"],
        "a task that is dispatched cannot merge the pull request"
    );

    let after: Value = app
        .get(&ada, &format!("/api/tasks/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn bad_input_gets_a_stable_json_error() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let cases = [
        ("/api/tasks", "{not json", 422, "invalid_input"),
        ("/api/tasks", r#"{"title": 5}"#, 422, "invalid_input"),
        ("/api/tasks", r#"{"title": "   "}"#, 422, "invalid_input"),
        (
            "/api/tasks/999/status",
            r#"{"status":"coding"}"#,
            404,
            "not_found",
        ),
        (
            "/api/tasks/abc/status",
            r#"{"status":"coding"}"#,
            404,
            "not_found",
        ),
    ];
    for (path, body, status, code) in cases {
        let res = app
            .http
            .post(app.url(path))
            .bearer_auth(&ada.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{path} {body}");
        let json: Value = res.json().await.unwrap();
        assert_eq!(json["error"]["code"], code, "{path} {body}");
    }
    let long_title = "x".repeat(201);
    let res = app
        .post(&ada, "/api/tasks", json!({ "title": long_title }))
        .await;
    assert_eq!(res.status(), 422);
    let json: Value = res.json().await.unwrap();
    assert_eq!(json["error"]["field"], "title");
}

#[tokio::test]
async fn paths_methods_and_upgrades_the_api_does_not_take_get_the_json_error_too() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let ws_headers = [
        ("connection", "upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    /// Method, path, headers, and the status and code expected.
    type Case<'a> = (
        reqwest::Method,
        &'a str,
        &'a [(&'a str, &'a str)],
        u16,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            reqwest::Method::DELETE,
            "/api/tasks",
            &[],
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::GET,
            "/api/auth/login",
            &[],
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::PUT,
            "/api/tasks/1",
            &[],
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::POST,
            "/api/live",
            &[],
            405,
            "method_not_allowed",
        ),
        // A page's server function.
        (
            reqwest::Method::GET,
            "/api/account/password",
            &[],
            405,
            "method_not_allowed",
        ),
        (reqwest::Method::GET, "/api/nope", &[], 404, "not_found"),
        (reqwest::Method::GET, "/api", &[], 404, "not_found"),
        (reqwest::Method::GET, "/api/", &[], 404, "not_found"),
        (
            reqwest::Method::POST,
            "/api/tasks/1/nope",
            &[],
            404,
            "not_found",
        ),
        (reqwest::Method::GET, "/ws", &[], 422, "invalid_input"),
        (
            reqwest::Method::GET,
            "/ws?token=a&token=b",
            &ws_headers,
            422,
            "invalid_input",
        ),
    ];
    for (method, path, headers, status, code) in cases {
        let mut req = app
            .http
            .request(method.clone(), app.url(path))
            .bearer_auth(&ada.token);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{method} {path}");
        let json: Value = res.json().await.unwrap_or_default();
        assert_eq!(json["error"]["code"], code, "{method} {path}: {json}");
        assert!(json["error"]["requestId"].is_string(), "{json}");
    }
    // An upgrade in a version the server does not speak is told the one it does.
    let res = app
        .http
        .get(app.url("/ws"))
        .bearer_auth(&ada.token)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "8")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["sec-websocket-version"], "13");

    // Pages are still pages, and a missing one the app's own page.
    let res = app.http.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("not-found"));
}

#[tokio::test]
async fn reporting_a_pipeline_only_status_is_refused() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    let res = app.report(&ada, id, json!({ "status": "analyzing" })).await;
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn a_task_list_carries_the_seq_it_reflects() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let body: Value = app.get(&ada, "/api/tasks").await.json().await.unwrap();
    assert_eq!(body["seq"], 3);
    assert_eq!(body["tasks"][0]["status"], "dispatched");
    assert_eq!(body["counts"]["dispatched"], 1);
}

#[tokio::test]
async fn health_reports_the_database_and_connections() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let _ws = app.ws(&ada).await;
    let body: Value = app.health().await;
    assert_eq!(body["database"], true);
    assert_eq!(body["connections"], 1);
    assert!(body["version"].is_string());
}
