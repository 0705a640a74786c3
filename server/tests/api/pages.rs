//! Server-rendered pages carry real data, and the seq they reflect.

use crate::helpers::*;

#[tokio::test]
async fn the_dashboard_is_rendered_with_real_tasks() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Fix <b>the</b> retry & more").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let html = app.page_html(&ada, "/").await;
    assert!(html.contains(r#"data-testid="task-row""#), "{html}");
    assert!(
        html.contains("Fix &lt;b&gt;the&lt;/b&gt; retry &amp; more"),
        "titles are text, not markup"
    );
    assert!(html.contains(r#"data-status="dispatched""#));
    assert!(
        html.contains(r#"data-seq="3""#),
        "the page says which seq it reflects"
    );
}

#[tokio::test]
async fn a_task_page_is_rendered_with_its_timeline() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let html = app.page_html(&ada, &format!("/tasks/{id}")).await;
    assert_eq!(html.matches(r#"data-testid="timeline-entry""#).count(), 3);
    assert!(html.contains("Dispatched (no GitHub issue)"));
}

#[tokio::test]
async fn a_visitor_without_a_session_is_sent_to_login() {
    let app = spawn_app().await;
    // A browser asks for HTML; only then is a redirect a real 302.
    let res = app
        .http
        .get(app.url("/"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/login");
    let login = app.http.get(app.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
}

/// `GET path` as a browser navigating with `cookie` (or no session at all).
async fn navigate(app: &TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = app.http.get(app.url(path)).header("accept", "text/html");
    if let Some(token) = cookie {
        request = request.header("cookie", format!("theme=dark; taskwire_session={token}"));
    }
    request.send().await.unwrap()
}

/// The page without its per-response script nonce.
fn without_nonce(html: &str) -> String {
    let nonce = html
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default();
    assert!(!nonce.is_empty(), "pages carry a nonce");
    html.replace(nonce, "NONCE")
}

#[tokio::test]
async fn a_missing_task_a_hidden_task_and_an_unknown_path_answer_404_with_one_page() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let hidden = app.create_task_with(&ada, "Ada's private plan", true).await;
    app.wait_for_status(&ada, hidden, "dispatched").await;
    let missing = 987_654;

    let hidden_page = navigate(&app, &format!("/tasks/{hidden}"), Some(&bob.token)).await;
    assert_eq!(hidden_page.status(), 404);
    let hidden_html = hidden_page.text().await.unwrap();
    let missing_page = navigate(&app, &format!("/tasks/{missing}"), Some(&bob.token)).await;
    assert_eq!(missing_page.status(), 404);
    let missing_html = missing_page.text().await.unwrap();
    assert!(
        hidden_html.contains(r#"data-testid="not-found""#),
        "{hidden_html}"
    );
    assert!(!hidden_html.contains("private plan"));
    assert_eq!(
        without_nonce(&hidden_html),
        without_nonce(&missing_html),
        "a hidden task looks exactly like a missing one"
    );
    // Its owner still sees it.
    let own = navigate(&app, &format!("/tasks/{hidden}"), Some(&ada.token)).await;
    assert_eq!(own.status(), 200);

    // Signed out, an unknown path is the same 404 page, header and all.
    let res = navigate(&app, "/no/such/page", None).await;
    assert_eq!(res.status(), 404);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains(r#"data-testid="not-found""#));
    for path in ["/no/such/page", "/tasks/not-a-number", "/tasks"] {
        let res = navigate(&app, path, Some(&ada.token)).await;
        assert_eq!(res.status(), 404, "{path}");
        assert!(res
            .text()
            .await
            .unwrap()
            .contains(r#"data-testid="not-found""#));
    }
}

#[tokio::test]
async fn an_expired_session_with_a_live_refresh_window_is_renewed_by_the_first_page_load() {
    let app = spawn_app_with(|s| s.session_ttl = std::time::Duration::from_secs(1)).await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Renew me").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        app.get(&ada, "/api/auth/me").await.status(),
        401,
        "the token inside the cookie has expired"
    );

    let res = navigate(&app, "/", Some(&ada.token)).await;
    assert_eq!(res.status(), 200, "not sent to sign in");
    let fresh = session_set_by(&res);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Renew me"),
        "the dashboard is rendered: {html}"
    );
    assert_eq!(app.get(&fresh, "/api/auth/me").await.status(), 200);
    assert_eq!(
        navigate(&app, &format!("/tasks/{id}"), Some(&fresh.token))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_revoked_session_is_not_renewed_by_a_page() {
    let app = spawn_app_with(|s| s.session_ttl = std::time::Duration::from_secs(1)).await;
    let ada = app.signup("ada").await;
    let revoked = ada.token.clone();
    let res = app
        .post(&ada, "/api/auth/logout", serde_json::json!({}))
        .await;
    assert_eq!(res.status(), 204);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let res = navigate(&app, "/", Some(&revoked)).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/login");
    assert!(res.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn a_signed_out_visitor_is_sent_to_sign_in_and_back() {
    use leptos::server_fn::ServerFn;
    let app = spawn_app().await;
    app.signup("ada").await;
    let res = navigate(&app, "/tasks/new", None).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/login?next=/tasks/new");

    // The sign-in form carries `next` and comes back to it.
    let login_page = navigate(&app, "/login?next=/tasks/new", None).await;
    let html = login_page.text().await.unwrap();
    assert!(
        html.contains(r#"name="next""#) && html.contains(r#"value="/tasks/new""#),
        "{html}"
    );
    let sign_in = |next: &'static str| {
        app.http
            .post(app.url(app::api::Login::PATH))
            .header("accept", "text/html")
            .form(&[
                ("username", "ada"),
                ("password", "correct horse battery"),
                ("next", next),
            ])
            .send()
    };
    let res = sign_in("/tasks/new").await.unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/tasks/new");
    assert!(res.headers().get("set-cookie").is_some());
    // Never to another site.
    for elsewhere in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
    ] {
        let res = sign_in(elsewhere).await.unwrap();
        assert_eq!(res.headers()["location"], "/", "{elsewhere}");
    }
}

#[tokio::test]
async fn a_server_function_called_without_a_session_answers_401_with_the_json_error() {
    use leptos::server_fn::ServerFn;
    let app = spawn_app().await;
    let res = app
        .http
        .post(app.url(app::api::CreateTask::PATH))
        .form(&[("title", "No session"), ("description", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert!(body["error"]["message"].is_string());

    // A plain form post (no JavaScript) is sent to sign in instead, and back after.
    let res = app
        .http
        .post(app.url(app::api::CreateTask::PATH))
        .header("accept", "text/html")
        .header("referer", app.url("/tasks/new"))
        .form(&[("title", "No session"), ("description", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/login?next=/tasks/new");

    // A request whose fields cannot be read is the caller's mistake, not a 500.
    let res = app
        .http
        .post(app.url(app::api::Login::PATH))
        .form(&[("username", "ada")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_input");
}

#[tokio::test]
async fn a_form_posted_without_javascript_goes_back_to_its_page_with_the_error() {
    use leptos::server_fn::ServerFn;
    let app = spawn_app().await;
    app.signup("ada").await;
    let res = app
        .http
        .post(app.url(app::api::Login::PATH))
        .header("accept", "text/html")
        .header("referer", app.url("/login"))
        .form(&[
            ("username", "ada"),
            ("password", "not the password"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "back to the form, not a page of JSON");
    let location = res.headers()["location"].to_str().unwrap();
    assert!(location.contains("/login"), "{location}");
}

#[tokio::test]
async fn links_that_are_not_web_addresses_are_refused_and_never_rendered() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Links").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    for url in [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        " JavaScript:x",
    ] {
        let res = app
            .report(
                &ada,
                id,
                serde_json::json!({ "status": "pr_open", "prUrl": url, "prNumber": 3 }),
            )
            .await;
        assert_eq!(res.status(), 400, "{url}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_url");
        assert_eq!(body["error"]["field"], "prUrl");
    }
    assert_eq!(
        app.status_of(&ada, id).await,
        "dispatched",
        "nothing applied"
    );

    // A link stored before this check existed is shown as text, not as a link.
    let pool = app.pool().await;
    sqlx::query("UPDATE tasks SET pr_url = 'javascript:alert(1)', pr_title = 'Old PR', issue_url = 'data:text/html,x', issue_number = 4 WHERE id = $1")
        .bind(id.0)
        .execute(&pool)
        .await
        .unwrap();
    let html = navigate(&app, &format!("/tasks/{id}"), Some(&ada.token))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Old PR"), "{html}");
    assert!(
        !html.contains(r#"href="javascript:"#) && !html.contains(r#"href="data:"#),
        "{html}"
    );
}

#[tokio::test]
async fn signing_in_as_someone_else_is_not_undone_by_renewing_the_old_session() {
    use leptos::server_fn::ServerFn;
    let app = spawn_app_with(|s| s.session_ttl = std::time::Duration::from_secs(1)).await;
    let ada = app.signup("ada").await;
    app.signup("bob").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    // Ada's expired (but renewable) cookie is still in the browser when Bob signs in.
    let res = app
        .http
        .post(app.url(app::api::Login::PATH))
        .header("cookie", format!("taskwire_session={}", ada.token))
        .form(&[
            ("username", "bob"),
            ("password", "correct horse battery"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let sessions: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.strip_prefix("taskwire_session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(sessions.len(), 1, "one session cookie: {sessions:?}");
    let me: serde_json::Value = app
        .get(
            &TestUser {
                token: sessions[0].clone(),
            },
            "/api/auth/me",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["name"], "bob");
}

/// Several servers share a process here, as in any embedding of the server; one
/// starting up must not stall a page another is rendering.
#[tokio::test]
async fn pages_render_while_other_servers_in_the_process_start() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Rendered under churn").await;
    app.wait_for_status(&ada, id, "dispatched").await;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let starter = std::thread::spawn({
        let stop = stop.clone();
        move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            let mut started = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || started < 3 {
                drop(rt.block_on(spawn_app()));
                started += 1;
            }
            started
        }
    });
    for _ in 0..40 {
        let res = app.get(&ada, "/").await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(
            html.contains(&format!(r#"data-task-id="{id}""#)),
            "the page holds its data"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(starter.join().unwrap() >= 3);
}

/// A user with one task that waits for their answers (a thin task asks questions).
async fn asker(app: &TestApp) -> TestUser {
    let ada = app.signup("ada").await;
    let id = app.create_described(&ada, "Fix it", "Broken", false).await;
    app.wait_for_status(&ada, id, "needs_clarification").await;
    ada
}

/// The text of a page's `<title>`.
fn title_of(html: &str) -> &str {
    let start = html.find("<title>").expect("a title") + "<title>".len();
    &html[start..][..html[start..].find("</title>").expect("a whole title")]
}

#[tokio::test]
async fn the_first_load_names_in_the_tab_title_how_many_tasks_wait_for_the_viewer() {
    let app = spawn_app().await;
    let ada = asker(&app).await;
    for (path, page) in [("/", "Dashboard"), ("/tasks/new", "New task")] {
        let html = app.page_html(&ada, path).await;
        assert_eq!(title_of(&html), format!("(1) {page} · taskwire"), "{path}");
    }
    // Someone else's question does not wait for them.
    let bob = app.signup("bob").await;
    let html = app.page_html(&bob, "/").await;
    assert_eq!(title_of(&html), "Dashboard · taskwire");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_rendered_side_by_side_each_carry_their_own_waiting_count() {
    let app = spawn_app().await;
    let ada = asker(&app).await;
    let bob = app.signup("bob").await;
    // Many pages at once, for two viewers: each title is made after its own page, and
    // counts what waits for its own viewer only.
    let mut pages = tokio::task::JoinSet::new();
    for round in 0..30 {
        for (user, count) in [(&ada, "(1) "), (&bob, "")] {
            let path = ["/", "/team", "/account", "/tasks/new"][round % 4];
            let (http, url, token) = (app.http.clone(), app.url(path), user.token.clone());
            pages.spawn(async move {
                let res = http.get(url).bearer_auth(token).send().await;
                let html = res.expect("an answer").text().await.expect("a page");
                let title = title_of(&html);
                let counted = title
                    .strip_prefix(count)
                    .filter(|rest| !rest.starts_with('('));
                assert!(counted.is_some(), "{path}: {title}");
            });
        }
    }
    while let Some(done) = pages.join_next().await {
        done.unwrap();
    }
}

#[tokio::test]
async fn a_task_title_that_closes_the_title_element_stays_text_in_the_head() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let title = "Fix login </title><script>alert(1)</script> & more";
    let id = app.create_task(&ada, title).await;
    let html = app.page_html(&ada, &format!("/tasks/{id}")).await;
    assert_eq!(
        title_of(&html),
        "Fix login &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; more · taskwire"
    );
    assert!(!html.contains("<script>alert(1)</script>"), "{html}");
}
