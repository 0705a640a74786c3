//! Server-rendered pages carry real data, and the seq they reflect.

use crate::helpers::*;

#[tokio::test]
async fn the_dashboard_is_rendered_with_real_tasks() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Fix <b>the</b> retry & more").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let res = app
        .http
        .get(app.url("/"))
        .bearer_auth(&ada.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
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
    let html = app
        .http
        .get(app.url(&format!("/tasks/{id}")))
        .bearer_auth(&ada.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
