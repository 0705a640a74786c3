//! The team page's actions, through the server functions the page posts to: members,
//! invite links (one person each, into the inviter's team: a new account, or one that
//! moves in from another team), leaving a team (both end every session, so no socket
//! goes on showing the old team's tasks; a task's creator still sees it), and sign-up
//! that an administrator closes.

use serde_json::{json, Value};
use shared_protocol::ErrorCode;

use crate::auth::until_closed;
use crate::helpers::*;

async fn team(app: &TestApp, user: &TestUser) -> Value {
    let res = app.server_fn(user, "team", &[]).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn usernames(team: &Value) -> Vec<String> {
    team["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap().to_owned())
        .collect()
}

async fn invite(app: &TestApp, user: &TestUser) -> String {
    let res = app.server_fn(user, "team/invites/create", &[]).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Signs up over the JSON API, with an invite's secret or none.
async fn sign_up(app: &TestApp, name: &str, invite: Option<&str>) -> reqwest::Response {
    app.http
        .post(app.url("/api/auth/signup"))
        .json(&json!({ "username": name, "password": "correct horse battery", "invite": invite }))
        .send()
        .await
        .unwrap()
}

async fn token_of(res: reqwest::Response) -> TestUser {
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    TestUser {
        token: body["token"].as_str().unwrap().to_owned(),
    }
}

async fn task_ids(app: &TestApp, user: &TestUser) -> Vec<i64> {
    let res = app.get(user, "/api/tasks").await;
    assert_eq!(res.status(), 200);
    ids(&res.json().await.unwrap())
}

/// Checks that `res` is the coded refusal of a form's input, saying `says`.
async fn refused(res: reqwest::Response, says: &str) {
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_input", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(says), "{body}");
}

/// Checks that `res` moved `user` to another team, ending every session (`socket`, open
/// before, closes); returns the session the answer starts.
async fn moved(
    app: &TestApp,
    user: &TestUser,
    socket: &mut WsClient,
    res: reqwest::Response,
) -> TestUser {
    assert_eq!(res.status(), 200);
    let fresh = session_set_by(&res);
    let (errors, code) = until_closed(socket).await;
    assert_eq!((errors, code), (vec![ErrorCode::AuthExpired], Some(4001)));
    assert_eq!(
        app.me_status(&user.token).await,
        401,
        "the old session ended"
    );
    fresh
}

async fn signup_info(app: &TestApp, invite: &str) -> Value {
    let res = app
        .http
        .post(app.url("/api/signup/info"))
        .header("Accept", "application/json")
        .form(&[("invite", invite)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn an_invite_link_makes_one_account_in_the_inviters_team() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let carol = app.signup_in_org("carol", "platform").await;
    let adas = app.create_task(&ada, "Default team's task").await;
    let carols = app.create_task(&carol, "Platform's task").await;

    let secret = invite(&app, &carol).await;
    assert!(secret.starts_with("twi_"));
    let info = signup_info(&app, &secret).await;
    assert_eq!(info["invited_to"], "platform", "{info}");
    let listed = team(&app, &carol).await;
    assert_eq!(listed["name"], "platform");
    assert_eq!(listed["invites"].as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains(&secret),
        "the list never shows a link again"
    );

    let dave = token_of(sign_up(&app, "dave", Some(&secret)).await).await;
    assert_eq!(usernames(&team(&app, &dave).await), ["carol", "dave"]);
    let seen = task_ids(&app, &dave).await;
    assert!(
        seen.contains(&carols.0) && !seen.contains(&adas.0),
        "{seen:?}"
    );
    assert_eq!(usernames(&team(&app, &ada).await), ["ada"]);

    // Used: it makes no second account, and the team's list no longer offers it.
    let again = sign_up(&app, "erin", Some(&secret)).await;
    assert_eq!(again.status(), 422);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"]["field"], "invite");
    assert_eq!(team(&app, &carol).await["invites"], json!([]));
    assert_eq!(signup_info(&app, &secret).await["invite_closed"], true);
    assert_eq!(
        app.http
            .post(app.url("/api/auth/login"))
            .json(&json!({ "username": "erin", "password": "correct horse battery" }))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "no account was made"
    );
    assert!(
        !logs_and_frames().contains(&secret),
        "an invite's secret is never logged"
    );
}

#[tokio::test]
async fn an_invite_is_not_spent_by_a_sign_up_that_fails() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let secret = invite(&app, &ada).await;
    let taken = sign_up(&app, "ada", Some(&secret)).await;
    assert_eq!(taken.status(), 409);
    let res = app
        .http
        .post(app.url("/api/auth/signup"))
        .json(&json!({ "username": "bob", "password": "short", "invite": secret }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    token_of(sign_up(&app, "bob", Some(&secret)).await).await;
    assert_eq!(usernames(&team(&app, &ada).await), ["ada", "bob"]);
}

#[tokio::test]
async fn a_revoked_invite_makes_no_account_and_only_its_team_may_revoke_it() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let carol = app.signup_in_org("carol", "platform").await;
    let _secret = invite(&app, &ada).await;
    let listed = team(&app, &ada).await;
    let id = listed["invites"][0]["id"].as_i64().unwrap().to_string();
    let res = app
        .server_fn(&carol, "team/invites/revoke", &[("id", &id)])
        .await;
    assert_eq!(res.status(), 422, "not carol's team's invite");
    assert_eq!(
        team(&app, &ada).await["invites"].as_array().unwrap().len(),
        1
    );
    let res = app
        .server_fn(&ada, "team/invites/revoke", &[("id", &id)])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(team(&app, &ada).await["invites"], json!([]));
    let res = sign_up(&app, "bob", Some(&_secret)).await;
    assert_eq!(res.status(), 422);
    let res = sign_up(&app, "bob", Some("twi_not-a-real-invite")).await;
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn an_administrator_closes_open_sign_up_and_invites_still_work() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    assert_eq!(team(&app, &ada).await["signup_open"], true);
    let res = app.server_fn(&bob, "team/signup", &[]).await;
    assert_eq!(res.status(), 403, "only an administrator");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(sign_up(&app, "carol", None).await.status(), 201);

    let res = app.server_fn(&ada, "team/signup", &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(team(&app, &bob).await["signup_open"], false);
    let closed = sign_up(&app, "dave", None).await;
    assert_eq!(closed.status(), 403);
    let body: Value = closed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "signup_closed");
    assert_eq!(signup_info(&app, "").await["open"], false);

    let secret = invite(&app, &bob).await;
    token_of(sign_up(&app, "dave", Some(&secret)).await).await;

    let res = app.server_fn(&ada, "team/signup", &[("open", "on")]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(sign_up(&app, "erin", None).await.status(), 201);
}

#[tokio::test]
async fn leaving_a_team_ends_every_session_and_its_tasks_go_out_of_sight() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let adas = app.create_task(&ada, "Ada's task").await;
    let bobs = app.create_task(&bob, "Bob's task").await;
    let mut socket = app.ws(&bob).await;
    assert_eq!(task_ids(&app, &bob).await.len(), 2);

    let res = app.server_fn(&bob, "team/leave", &[]).await;
    let bob = moved(&app, &bob, &mut socket, res).await;
    assert_eq!(
        task_ids(&app, &bob).await,
        [bobs.0],
        "only what bob made, as its creator"
    );
    let own = team(&app, &bob).await;
    assert_eq!(
        (own["name"].as_str(), usernames(&own)),
        (Some("bob"), vec!["bob".to_owned()])
    );
    assert_eq!(usernames(&team(&app, &ada).await), ["ada"]);
    let seen = task_ids(&app, &ada).await;
    assert!(
        seen.contains(&adas.0) && seen.contains(&bobs.0),
        "what bob made stays with the team: {seen:?}"
    );

    let res = app.server_fn(&bob, "team/leave", &[]).await;
    assert_eq!(res.status(), 422, "nobody to leave");
}

#[tokio::test]
async fn team_actions_need_a_session() {
    let app = spawn_app().await;
    for endpoint in ["team", "team/invites/create", "team/leave", "team/signup"] {
        let res = app
            .http
            .post(app.url(&format!("/api/{endpoint}")))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{endpoint}");
    }
}

#[tokio::test]
async fn a_team_has_only_so_many_open_invites() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    for _ in 0..server::actions::teams::MAX_OPEN_INVITES {
        invite(&app, &ada).await;
    }
    let res = app.server_fn(&ada, "team/invites/create", &[]).await;
    assert_eq!(res.status(), 422);
    let id = team(&app, &ada).await["invites"][0]["id"].to_string();
    let res = app
        .server_fn(&ada, "team/invites/revoke", &[("id", &id)])
        .await;
    assert_eq!(res.status(), 200);
    invite(&app, &ada).await;
}

#[tokio::test]
async fn a_malformed_team_form_gets_a_coded_error_and_changes_nothing() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    invite(&app, &ada).await;
    for form in [
        &[("id", "abc")][..],
        &[][..],
        &[("id", "99999999999999999999")][..],
    ] {
        let res = app.server_fn(&ada, "team/invites/revoke", form).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert!(status.is_client_error(), "{form:?}: {status} {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    assert_eq!(
        team(&app, &ada).await["invites"].as_array().unwrap().len(),
        1
    );
}

/// Joins `secret`'s team through the page's server function.
async fn join(app: &TestApp, user: &TestUser, secret: &str) -> reqwest::Response {
    app.server_fn(user, "team/join", &[("invite", secret)])
        .await
}

#[tokio::test]
async fn an_existing_account_joins_another_team_by_its_invite_and_leaves_the_old_one() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    // Carol's team is one of her own, with a task of her team's that bob did not make.
    let carol = token_of(sign_up(&app, "carol", None).await).await;
    let res = app.server_fn(&carol, "team/leave", &[]).await;
    assert_eq!(res.status(), 200);
    let carol = session_set_by(&res);
    let dan = token_of(sign_up(&app, "dan", Some(&invite(&app, &carol).await)).await).await;
    let dans = app.create_task(&dan, "Dan's task").await;
    let adas = app.create_task(&ada, "Ada's task").await;
    let bobs = app.create_task(&bob, "Bob's task").await;
    let mut socket = app.ws(&bob).await;

    let secret = invite(&app, &carol).await;
    let info = app
        .http
        .post(app.url("/api/signup/info"))
        .bearer_auth(&bob.token)
        .header("Accept", "application/json")
        .form(&[("invite", secret.as_str())])
        .send()
        .await
        .unwrap();
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["invited_to"], "carol", "{info}");
    assert_eq!(info["signed_in"]["team"], "default", "{info}");
    assert_eq!(info["signed_in"]["in_invited_team"], false, "{info}");
    assert_eq!(signup_info(&app, &secret).await["signed_in"], Value::Null);

    let res = join(&app, &bob, &secret).await;
    let bob = moved(&app, &bob, &mut socket, res).await;
    let mut seen = task_ids(&app, &bob).await;
    seen.sort();
    assert_eq!(seen, [dans.0, bobs.0], "the new team's, and what bob made");
    assert!(!task_ids(&app, &ada).await.contains(&dans.0));
    assert_eq!(
        usernames(&team(&app, &carol).await),
        ["bob", "carol", "dan"]
    );
    assert_eq!(usernames(&team(&app, &ada).await), ["ada"]);
    assert!(task_ids(&app, &ada).await.contains(&adas.0));

    // The invite is spent: nobody joins or signs up with it again.
    assert_eq!(signup_info(&app, &secret).await["invite_closed"], true);
    refused(join(&app, &ada, &secret).await, "invite link").await;
    assert_eq!(sign_up(&app, "erin", Some(&secret)).await.status(), 422);
}

#[tokio::test]
async fn a_join_that_cannot_be_made_changes_nothing_and_spends_no_invite() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let secret = invite(&app, &ada).await;

    // Into one's own team: refused, and the invite stays open for someone else.
    refused(join(&app, &bob, &secret).await, "already").await;
    assert_eq!(app.me_status(&bob.token).await, 200, "bob's session holds");
    assert_eq!(signup_info(&app, &secret).await["invite_closed"], false);

    // Unknown, empty or oversized invites: the same coded refusal.
    for bad in ["twi_not-a-real-invite", "", &"x".repeat(5_000)] {
        refused(join(&app, &bob, bad).await, "invite link").await;
    }
    // Without a session.
    let res = app
        .http
        .post(app.url("/api/team/join"))
        .header("Accept", "application/json")
        .form(&[("invite", secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(app.me_status(&bob.token).await, 200);
    assert_eq!(signup_info(&app, &secret).await["invite_closed"], false);
}

/// Whether the team page, loaded by `user` with `cookies`, renders without an invite
/// link; the page that carried a kept secret is kept out of caches.
async fn shows_no_invite_link(app: &TestApp, user: &TestUser, cookies: &str) -> bool {
    let page = app.page_with_cookies(user, "/team", cookies).await;
    assert_eq!(page.status(), 200);
    if !cookies.is_empty() {
        assert_eq!(page.headers()["cache-control"], "no-store");
    }
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"data-testid="team-name""#), "{html}");
    !html.contains(r#"data-testid="invite-link""#)
}

#[tokio::test]
async fn without_javascript_a_new_invite_link_is_shown_once_on_the_page_the_form_returns_to() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let res = app
        .post_form_without_js(&ada, "team/invites/create", "/team", &[])
        .await;
    assert_eq!(res.status(), 302);
    let back = res.headers()["location"].to_str().unwrap();
    assert!(back.starts_with(&app.url("/team")), "{back}");
    let kept = cookie_set_by(&res, app::api::SHOWN_ONCE_COOKIE).expect("the link is kept");
    let cookie = format!("{}={kept}", app::api::SHOWN_ONCE_COOKIE);

    let page = app.page_with_cookies(&ada, "/team", &cookie).await;
    assert_eq!(page.status(), 200);
    assert!(forgets_shown_once(&page), "shown, and forgotten");
    let html = page.text().await.unwrap();
    let link = text_of_test_id(&html, "invite-link").expect("the page shows the link");
    let secret = link
        .split_once("/signup?invite=")
        .map(|(_, s)| s)
        .expect("an invite link");
    assert!(link.starts_with("http"), "a whole address to send: {link}");

    // The link is a real one, and the page does not show it again.
    assert_eq!(signup_info(&app, secret).await["invited_to"], "default");
    assert!(shows_no_invite_link(&app, &ada, "").await);
    // A planted cookie shows nothing: markup, another page's kind, or a real invite
    // link of another team (which would bring the people sent it into that team).
    let bob = app.signup("bob").await;
    let res = app.server_fn(&bob, "team/leave", &[]).await;
    let bob = session_set_by(&res);
    let bobs = invite(&app, &bob).await;
    for planted in [
        "invite.<b>x</b>".to_owned(),
        format!("token.{secret}"),
        format!("invite.{bobs}"),
    ] {
        let cookie = format!("{}={planted}", app::api::SHOWN_ONCE_COOKIE);
        assert!(shows_no_invite_link(&app, &ada, &cookie).await, "{planted}");
    }

    // With JavaScript the answer carries the link, and nothing is kept.
    let res = app.server_fn(&ada, "team/invites/create", &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(cookie_set_by(&res, app::api::SHOWN_ONCE_COOKIE), None);
}

#[tokio::test]
async fn without_javascript_the_invite_page_offers_to_join_and_the_form_moves_the_account() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let res = app.server_fn(&ada, "team/leave", &[]).await;
    let ada = session_set_by(&res);
    let secret = invite(&app, &ada).await;

    let page = app
        .http
        .get(app.url(&format!("/signup?invite={secret}")))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"data-testid="join-team""#), "{html}");
    assert!(html.contains("Join ada"), "{html}");
    assert!(!html.contains(r#"data-testid="signup-submit""#));

    let page = format!("/signup?invite={secret}");
    let res = app
        .post_form_without_js(&bob, "team/join", &page, &[("invite", &secret)])
        .await;
    assert_eq!(res.status(), 302, "{:?}", res.headers());
    assert_eq!(res.headers()["location"], "/", "{:?}", res.headers());
    let bob = session_set_by(&res);
    assert_eq!(usernames(&team(&app, &bob).await), ["ada", "bob"]);
}

async fn used_by(pool: &server::db::Pool, org_id: i64) -> Vec<Option<i64>> {
    sqlx::query_scalar("SELECT used_by FROM invites WHERE org_id = $1 ORDER BY id")
        .bind(org_id)
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_invite_is_spent_only_together_with_the_account_it_makes_or_moves() {
    use server::db::teams::{create_invite, find_invite};
    use server::db::users::{self, Invited, SessionsEnd};
    let dir = tempfile::tempdir().unwrap();
    let pool = server::db::connect(&database_url(dir.path()).await)
        .await
        .unwrap();
    let ada = account_in(&pool, "ada", "acme").await;
    let grace = account_in(&pool, "grace", "globex").await;
    let now = server::db::now_millis();
    let hour = 3_600_000;
    let invite = create_invite(&pool, ada.org_id, ada.id, now, now + hour)
        .await
        .unwrap();

    // A sign-up that cannot be made (its username is taken) spends nothing.
    let taken = users::insert_by_invite(&pool, &invite, "grace", "Grace", "h", now)
        .await
        .unwrap();
    assert!(matches!(taken, Invited::UsernameTaken), "{taken:?}");
    assert!(find_invite(&pool, &invite, now).await.unwrap().is_some());
    assert_eq!(used_by(&pool, ada.org_id).await, [None]);

    // One that can is made in the invite's team, and the invite is spent on it.
    let Invited::Made(bob) = users::insert_by_invite(&pool, &invite, "bob", "Bob", "h", now)
        .await
        .unwrap()
    else {
        panic!("bob's sign-up is made");
    };
    assert_eq!(bob.org_id, ada.org_id);
    assert!(find_invite(&pool, &invite, now).await.unwrap().is_none());
    assert_eq!(used_by(&pool, ada.org_id).await, [Some(bob.id)]);

    // Spent, it neither makes an account nor moves one.
    let again = users::insert_by_invite(&pool, &invite, "carol", "Carol", "h", now)
        .await
        .unwrap();
    assert!(matches!(again, Invited::NotOpen), "{again:?}");
    assert!(users::find_by_username(&pool, "carol")
        .await
        .unwrap()
        .is_none());
    let moved = users::end_sessions(&pool, grace.id, SessionsEnd::Invite(&invite), None)
        .await
        .unwrap();
    assert!(!moved, "a spent invite moves nobody");
    let still = users::find_by_id(&pool, grace.id).await.unwrap().unwrap();
    assert_eq!(
        (still.org_id, still.token_version),
        (grace.org_id, grace.token_version)
    );

    // A new one moves grace, ends her sessions and is spent on her.
    let second = create_invite(&pool, ada.org_id, ada.id, now, now + hour)
        .await
        .unwrap();
    let moved = users::end_sessions(&pool, grace.id, SessionsEnd::Invite(&second), None)
        .await
        .unwrap();
    assert!(moved);
    let joined = users::find_by_id(&pool, grace.id).await.unwrap().unwrap();
    assert_eq!(joined.org_id, ada.org_id);
    assert_eq!(joined.token_version, grace.token_version + 1);
    assert_eq!(
        used_by(&pool, ada.org_id).await,
        [Some(bob.id), Some(grace.id)]
    );
}

/// The invite link the team page shows after a plain form post made invite `secret`,
/// for a request sent to `host`.
async fn invite_link_shown_at(app: &TestApp, user: &TestUser, secret: &str, host: &str) -> String {
    invite_link_shown_with(app, user, secret, &[("host", host)]).await
}

/// Request headers, as names and values.
type Headers<'a> = &'a [(&'a str, &'a str)];

async fn invite_link_shown_with(
    app: &TestApp,
    user: &TestUser,
    secret: &str,
    headers: Headers<'_>,
) -> String {
    let cookie = format!("{}=invite.{secret}", app::api::SHOWN_ONCE_COOKIE);
    let mut headers = headers.to_vec();
    headers.push(("cookie", cookie.as_str()));
    let page = app.page_with_headers(user, "/team", &headers).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    text_of_test_id(&html, "invite-link")
        .expect("the page shows the link")
        .to_owned()
}

#[tokio::test]
async fn without_javascript_an_invite_link_names_the_address_people_reach_taskwire_at() {
    // Unconfigured, the address is the one the browser asked for: a server listening on
    // 0.0.0.0 has none of its own to give.
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let secret = invite(&app, &ada).await;
    let link = invite_link_shown_at(&app, &ada, &secret, "tasks.example:8080").await;
    assert_eq!(
        link,
        format!("http://tasks.example:8080/signup?invite={secret}")
    );
    // A `Host` that is no address is not copied into the link.
    let link = invite_link_shown_at(&app, &ada, &secret, "a\"b").await;
    assert!(
        !link.contains("a\"b") && link.ends_with(&format!("/signup?invite={secret}")),
        "{link}"
    );
    let cases: [(&str, Headers, &str); 4] = [
        (
            "behind a reverse proxy: the address and scheme it says the browser used",
            &[
                ("host", "127.0.0.1:3000"),
                ("x-forwarded-host", "tasks.example"),
                ("x-forwarded-proto", "https"),
            ],
            "https://tasks.example",
        ),
        (
            "through two proxies, each appending what it was sent: the first is the browser's",
            &[
                ("host", "127.0.0.1:3000"),
                ("x-forwarded-host", "tasks.example, 10.0.0.2:8080"),
                ("x-forwarded-proto", "https, http"),
            ],
            "https://tasks.example",
        ),
        (
            "a proxy that keeps `Host` and says only the scheme",
            &[("host", "tasks.example"), ("x-forwarded-proto", "HTTPS")],
            "https://tasks.example",
        ),
        (
            "what is no address or scheme is not copied into the link",
            &[
                ("host", "tasks.example"),
                ("x-forwarded-host", "a\"b"),
                ("x-forwarded-proto", "javascript"),
            ],
            "http://tasks.example",
        ),
    ];
    for (case, headers, base) in cases {
        let link = invite_link_shown_with(&app, &ada, &secret, headers).await;
        assert_eq!(link, format!("{base}/signup?invite={secret}"), "{case}");
    }

    // Configured, it is the one the operator gave, whatever the request says.
    let app = spawn_app_with(|s| {
        s.public_url = "https://tasks.example.org/".into();
        s.public_url_given = true;
    })
    .await;
    let ada = app.signup("ada").await;
    let secret = invite(&app, &ada).await;
    let link = invite_link_shown_at(&app, &ada, &secret, "tasks.example:8080").await;
    assert_eq!(
        link,
        format!("https://tasks.example.org/signup?invite={secret}")
    );
}
