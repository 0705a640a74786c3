//! The operator's command line: accounts and service tokens, on the same database the
//! server serves, through the same use cases as the HTTP API.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::json;

use crate::helpers::*;

fn server_cli(data_dir: &std::path::Path, db: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TASKWIRE_DATA_DIR", data_dir)
        .env("TASKWIRE_DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn an_added_account_signs_in_and_a_bad_one_is_refused_with_the_reason() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let db = database_url(dir.path()).await;
    let added = server_cli(
        dir.path(),
        &db,
        &["user", "add", "Grace", "--org", "navy"],
        "a long password\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(
        stdout(&added).starts_with("added user grace"),
        "{}",
        stdout(&added)
    );

    let again = server_cli(
        dir.path(),
        &db,
        &["user", "add", "grace"],
        "a long password\n",
    );
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("username is taken"),
        "{}",
        stderr(&again)
    );
    let short = server_cli(dir.path(), &db, &["user", "add", "linus"], "short\n");
    assert!(!short.status.success());
    assert!(stderr(&short).contains("password"), "{}", stderr(&short));

    let app = spawn_app_in(dir.clone()).await;
    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": "grace", "password": "a long password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_service_token_is_printed_once_listed_by_name_and_revoked() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let db = database_url(dir.path()).await;
    let created = server_cli(dir.path(), &db, &["token", "create", "ci-agent"], "");
    assert!(created.status.success(), "{}", stderr(&created));
    let token = stdout(&created);
    assert!(token.starts_with("tw_"), "{token}");

    let taken = server_cli(dir.path(), &db, &["token", "create", "ci-agent"], "");
    assert!(!taken.status.success());
    assert!(
        stderr(&taken).contains("has that name"),
        "{}",
        stderr(&taken)
    );

    let listed = server_cli(dir.path(), &db, &["token", "list"], "");
    assert_eq!(stdout(&listed), "ci-agent");
    assert!(
        !stdout(&listed).contains(&token),
        "names only, never tokens"
    );

    let app = spawn_app_in(dir.clone()).await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Report on me").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let report = |token: String| {
        let app = &app;
        async move {
            app.agent_report(&token, id, json!({ "status": "coding" }))
                .await
        }
    };
    let revoked = server_cli(dir.path(), &db, &["token", "revoke", "ci-agent"], "");
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert_eq!(report(token).await, 401);
    let gone = server_cli(dir.path(), &db, &["token", "revoke", "ci-agent"], "");
    assert!(!gone.status.success());
    assert!(
        stderr(&gone).contains("no live token is named ci-agent"),
        "{}",
        stderr(&gone)
    );
    assert_eq!(
        stdout(&server_cli(dir.path(), &db, &["token", "list"], "")),
        ""
    );
}

#[tokio::test]
async fn an_existing_account_is_made_an_administrator_and_back() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let db = database_url(dir.path()).await;
    let app = spawn_app_in(dir.clone()).await;
    let _first = app.signup("ada").await;
    let bob = app.signup("bob").await;
    assert_eq!(is_admin(&app, &bob).await, false);
    let made = server_cli(dir.path(), &db, &["user", "admin", "Bob"], "");
    assert!(made.status.success(), "{}", stderr(&made));
    assert_eq!(stdout(&made), "bob is now an administrator");
    assert_eq!(is_admin(&app, &bob).await, true);
    let undone = server_cli(dir.path(), &db, &["user", "admin", "bob", "--remove"], "");
    assert!(undone.status.success(), "{}", stderr(&undone));
    assert_eq!(is_admin(&app, &bob).await, false);
    let nobody = server_cli(dir.path(), &db, &["user", "admin", "nobody"], "");
    assert!(!nobody.status.success());
    assert!(
        stderr(&nobody).contains("no account is named nobody"),
        "{}",
        stderr(&nobody)
    );
}

async fn is_admin(app: &TestApp, user: &TestUser) -> serde_json::Value {
    let res = app.server_fn(user, "account", &[]).await;
    res.json::<serde_json::Value>().await.unwrap()["admin"].clone()
}
