//! The account page's actions, through the server functions the page posts to (as a
//! browser without JavaScript would, asking for JSON answers): who administers the
//! installation, service tokens made and revoked in the browser, and a password change
//! that ends every other session.

use serde_json::{json, Value};

use crate::helpers::*;

async fn account(app: &TestApp, user: &TestUser) -> Value {
    let res = app.server_fn(user, "account", &[]).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn the_first_account_administers_service_tokens_and_nobody_else_may() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    assert_eq!(
        account(&app, &ada).await["admin"],
        true,
        "the first account"
    );
    let bobs = account(&app, &bob).await;
    assert_eq!(bobs["admin"], false);
    assert_eq!(bobs["username"], "bob");

    let res = app
        .server_fn(&bob, "account/tokens/create", &[("name", "ci")])
        .await;
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");

    let res = app
        .server_fn(&ada, "account/tokens/create", &[("name", "ci-agent")])
        .await;
    assert_eq!(res.status(), 200);
    let token: String = res.json().await.unwrap();
    assert!(token.starts_with("tw_"), "the token, this once");
    let listed = account(&app, &ada).await;
    assert_eq!(listed["tokens"][0]["name"], "ci-agent");
    assert!(
        !listed.to_string().contains(&token),
        "the list never shows a token again"
    );
    assert_eq!(account(&app, &bob).await["tokens"], json!([]));
    let res = app
        .server_fn(&ada, "account/tokens/create", &[("name", "ci-agent")])
        .await;
    assert_eq!(res.status(), 422, "a live name is taken");

    // The token works for an agent until it is revoked, by an administrator only.
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let note = || json!({ "note": "Cloned the repository" });
    assert_eq!(app.agent_report(&token, id, note()).await, 200);
    let res = app
        .server_fn(&bob, "account/tokens/revoke", &[("name", "ci-agent")])
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.agent_report(&token, id, note()).await, 200);
    let res = app
        .server_fn(&ada, "account/tokens/revoke", &[("name", "ci-agent")])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.agent_report(&token, id, note()).await, 401);
    assert_eq!(account(&app, &ada).await["tokens"], json!([]));
    let res = app
        .server_fn(&ada, "account/tokens/revoke", &[("name", "ci-agent")])
        .await;
    assert_eq!(res.status(), 422, "nothing left to revoke");
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_every_other_session() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let wrong = [
        ("current_password", "not it at all"),
        ("new_password", "a new long password"),
    ];
    let res = app.server_fn(&ada, "account/password", &wrong).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "The current password is not right."
    );
    assert_eq!(
        app.me_status(&ada.token).await,
        200,
        "a wrong password ends nothing"
    );

    let short = [
        ("current_password", "correct horse battery"),
        ("new_password", "short"),
    ];
    assert_eq!(
        app.server_fn(&ada, "account/password", &short)
            .await
            .status(),
        422
    );

    let right = [
        ("current_password", "correct horse battery"),
        ("new_password", "a new long password"),
    ];
    let res = app.server_fn(&ada, "account/password", &right).await;
    assert_eq!(res.status(), 200);
    let fresh = session_set_by(&res);
    assert_eq!(
        app.me_status(&ada.token).await,
        401,
        "the old session has ended"
    );
    assert_eq!(app.me_status(&fresh.token).await, 200);
    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": "ada", "password": "a new long password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the new password signs in");
}

#[tokio::test]
async fn without_javascript_a_new_service_token_is_shown_once_on_the_account_page() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let res = app
        .post_form_without_js(&ada, "account/tokens/create", "/account", &[("name", "ci")])
        .await;
    assert_eq!(res.status(), 302);
    let kept = cookie_set_by(&res, app::api::SHOWN_ONCE_COOKIE).expect("the token is kept");
    let cookie = format!("{}={kept}", app::api::SHOWN_ONCE_COOKIE);

    let page = app.page_with_cookies(&ada, "/account", &cookie).await;
    assert_eq!(page.status(), 200);
    assert!(forgets_shown_once(&page), "shown, and forgotten");
    let html = page.text().await.unwrap();
    let token = text_of_test_id(&html, "new-token").expect("the page shows the token");
    assert!(token.starts_with("tw_"), "{token}");

    // It is the token made: an agent can report with it.
    let id = app.create_task(&ada, "Reported by the agent").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let res = app
        .report(
            &TestUser {
                token: token.to_owned(),
            },
            id,
            json!({ "status": "coding" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let again = app.page_with_cookies(&ada, "/account", "").await;
    assert_eq!(again.status(), 200);
    let html = again.text().await.unwrap();
    assert!(html.contains(r#"data-testid="account-username""#), "{html}");
    assert!(!html.contains(r#"data-testid="new-token""#));
    // A planted token that does not work is not shown as one just made.
    let planted = format!("{}=token.tw_0123abcd", app::api::SHOWN_ONCE_COOKIE);
    let page = app.page_with_cookies(&ada, "/account", &planted).await;
    assert_eq!(page.status(), 200);
    assert!(!page
        .text()
        .await
        .unwrap()
        .contains(r#"data-testid="new-token""#));
}
