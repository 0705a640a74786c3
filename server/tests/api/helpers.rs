//! `spawn_app` and typed helpers for the tests.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use server::config::Settings;
use server::startup::Application;
use shared_protocol::*;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A running server and what is needed to talk to it or restart it.
pub struct TestApp {
    pub port: u16,
    pub base: String,
    /// Keeps the temp dir alive across restarts.
    pub dir: Arc<TempDir>,
    pub http: reqwest::Client,
    /// The database the server runs on (see [`database_url`]).
    pub database_url: String,
    /// The running server's state, for what only the inside can tell (limiter sizes).
    pub state: server::state::AppState,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// A signed-up user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub token: String,
}

fn test_settings(dir: &std::path::Path) -> Settings {
    let mut settings = Settings::for_data_dir(dir);
    settings.addr = ([127, 0, 0, 1], 0).into();
    settings.analysis_delay = Duration::ZERO;
    // Tests act much faster than people; the limits have tests of their own.
    settings.actions_per_minute = 100_000;
    settings.action_burst = 10_000;
    let many = server::config::Rate {
        per_minute: 100_000,
        burst: 10_000,
    };
    settings.ip_limits.sign_in = many;
    settings.ip_limits.refresh = many;
    settings.ip_limits.webhook = many;
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    start(dir, 0, tweak).await
}

/// A server on an existing data directory (one the command line has written to).
pub async fn spawn_app_in(dir: Arc<TempDir>) -> TestApp {
    start(dir, 0, |_| {}).await
}

/// Every log line the servers in this test binary wrote.
static LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());
/// Every frame the test clients received.
static FRAMES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Logs at `info` (what a production server logs) into [`LOGS`], for the secret scan.
fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info,sqlx=warn"))
        .with_ansi(false)
        .with_writer(|| LogSink)
        .try_init();
}

/// All logs and frames so far, as text.
pub fn logs_and_frames() -> String {
    let logs =
        String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    let frames = FRAMES.lock().unwrap_or_else(|e| e.into_inner()).join("\n");
    format!("{logs}\n{frames}")
}

/// Signs up `name` on the server at `base` (the test password), signed in.
pub async fn signup_at(http: &reqwest::Client, base: &str, name: &str) -> TestUser {
    let res = http
        .post(format!("{base}/api/auth/signup"))
        .json(
            &json!({ "username": name, "password": "correct horse battery", "displayName": name }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "signup of {name}");
    let body: Value = res.json().await.unwrap();
    TestUser {
        token: body["token"].as_str().unwrap().to_owned(),
    }
}

/// Signs `name` in (the test password) on the server at `base`, as from another device:
/// a new session of the same account.
pub async fn login_at(http: &reqwest::Client, base: &str, name: &str) -> TestUser {
    let res = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "username": name, "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "login of {name}");
    let body: Value = res.json().await.unwrap();
    TestUser {
        token: body["token"].as_str().unwrap().to_owned(),
    }
}

/// Whether the suite runs on Postgres (`TASKWIRE_TEST_STORE=postgres`, with
/// `TASKWIRE_TEST_POSTGRES_URL` naming a server the tests may create databases on).
pub fn on_postgres() -> bool {
    std::env::var("TASKWIRE_TEST_STORE").as_deref() == Ok("postgres")
}

/// The database of data directory `dir`: its SQLite file, or, when the suite runs on
/// Postgres, a database of its own on the test server (created the first time).
pub async fn database_url(dir: &std::path::Path) -> String {
    if !on_postgres() {
        return format!("sqlite://{}", dir.join("taskwire.db").display());
    }
    postgres_database(dir)
        .await
        .expect("TASKWIRE_TEST_STORE=postgres needs TASKWIRE_TEST_POSTGRES_URL")
}

/// A database of its own for data directory `dir` on the test Postgres server
/// (`TASKWIRE_TEST_POSTGRES_URL`), created the first time; `None` without a server.
pub async fn postgres_database(dir: &std::path::Path) -> Option<String> {
    use sqlx::Connection;
    use std::hash::{Hash, Hasher};
    let base = std::env::var("TASKWIRE_TEST_POSTGRES_URL").ok()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut hasher);
    let name = format!("tw_{:016x}", hasher.finish());
    let mut admin = sqlx::postgres::PgConnection::connect(&base)
        .await
        .expect("the test Postgres answers");
    match sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
    {
        Ok(_) => {}
        // 42P04: it exists (a restart, or the command line made it).
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
        Err(e) => panic!("creating the test database {name}: {e}"),
    }
    let _ = admin.close().await;
    let (server, _) = base
        .split_once('?')
        .map_or((base.as_str(), ""), |(a, b)| (a, b));
    let (server, _) = server.rsplit_once('/').expect("a postgres:// URL");
    Some(format!("{server}/{name}"))
}

async fn start(dir: Arc<TempDir>, port: u16, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    init_logs();
    let mut settings = test_settings(dir.path());
    settings.database_url = database_url(dir.path()).await;
    settings.addr.set_port(port);
    tweak(&mut settings);
    let database_url = settings.database_url.clone();
    let app = Application::build(settings).await.expect("server builds");
    let port = app.port();
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        port,
        base: format!("http://127.0.0.1:{port}"),
        dir,
        database_url,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A server that stops answering fails the test with a message, not a hang.
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        state,
        stop: Some(stop),
        server: Some(server),
    }
}

impl TestApp {
    /// Stops the server gracefully and waits for it to finish.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    /// Stops this server and starts a new process-equivalent on the same database file.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let dir = self.dir.clone();
        start(dir, 0, |_| {}).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn signup(&self, name: &str) -> TestUser {
        signup_at(&self.http, &self.base, name).await
    }

    /// A second connection to the server's database, for set-up the API does not
    /// offer (other orgs, service tokens).
    pub async fn pool(&self) -> server::db::Pool {
        server::db::connect(&self.database_url).await.unwrap()
    }

    /// A key the server generated (`jwt.key`, `webhook.secret`): in its data directory
    /// on SQLite, in the database on Postgres.
    pub async fn generated_secret(&self, name: &str) -> String {
        if on_postgres() {
            let pool = self.pool().await;
            sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(&pool)
                .await
                .unwrap()
        } else {
            std::fs::read_to_string(self.dir.path().join(name)).unwrap()
        }
    }

    /// An account in another org (made as an admin would, from the shell), signed in.
    pub async fn signup_in_org(&self, name: &str, org: &str) -> TestUser {
        let pool = self.pool().await;
        let org_id = server::db::users::org_id(&pool, org).await.unwrap();
        let hash = server::auth::hash_password("correct horse battery".into())
            .await
            .unwrap();
        server::db::users::insert_in_org(&pool, name, name, &hash, org_id, None, 0)
            .await
            .unwrap()
            .unwrap();
        login_at(&self.http, &self.url(""), name).await
    }

    pub async fn post(&self, user: &TestUser, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(&user.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, user: &TestUser, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
    }

    /// A page's server function, posted as a form by `user` (as a browser without
    /// JavaScript would), asking for a JSON answer.
    pub async fn server_fn(
        &self,
        user: &TestUser,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let headers = [("accept", "application/json")];
        self.post_form(user, endpoint, form, &headers).await
    }

    /// Posts a page's form to server function `endpoint` as a browser without
    /// JavaScript does: it asks for HTML, and the answer sends it back to `page`.
    pub async fn post_form_without_js(
        &self,
        user: &TestUser,
        endpoint: &str,
        page: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let back = self.url(page);
        let headers = [("accept", "text/html"), ("referer", back.as_str())];
        self.post_form(user, endpoint, form, &headers).await
    }

    /// Posts `form` as `user` to server function `endpoint`, with `headers` besides.
    async fn post_form(
        &self,
        user: &TestUser,
        endpoint: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.url(&format!("/api/{endpoint}")))
            .bearer_auth(&user.token)
            .form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// Loads page `path` as `user` with the cookies `cookies` (`name=value; …`).
    pub async fn page_with_cookies(
        &self,
        user: &TestUser,
        path: &str,
        cookies: &str,
    ) -> reqwest::Response {
        self.page_with_headers(user, path, &[("cookie", cookies)])
            .await
    }

    /// Loads page `path` as `user`, with `headers` besides.
    pub async fn page_with_headers(
        &self,
        user: &TestUser,
        path: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.http.get(self.url(path)).bearer_auth(&user.token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// The HTML of page `path` as `user` sees it (which must load).
    pub async fn page_html(&self, user: &TestUser, path: &str) -> String {
        let res = self.page_with_headers(user, path, &[]).await;
        assert_eq!(res.status(), 200, "{path}");
        res.text().await.unwrap()
    }

    /// Creates a task; a description this long is dispatched by the rules analyser.
    pub async fn create_task(&self, user: &TestUser, title: &str) -> TaskId {
        self.create_task_with(user, title, false).await
    }

    pub async fn create_task_with(&self, user: &TestUser, title: &str, private: bool) -> TaskId {
        self.create_described(user, title, ACTIONABLE, private)
            .await
    }

    /// Creates a task with its own description.
    pub async fn create_described(
        &self,
        user: &TestUser,
        title: &str,
        description: &str,
        private: bool,
    ) -> TaskId {
        let res = self
            .post(
                user,
                "/api/tasks",
                json!({ "title": title, "description": description, "private": private }),
            )
            .await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        TaskId(body["task"]["id"].as_i64().unwrap())
    }

    /// What `GET /api/auth/me` answers a bearer of `token`: whether the session lives.
    pub async fn me_status(&self, token: &str) -> reqwest::StatusCode {
        self.http
            .get(self.url("/api/auth/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
    }

    /// What an agent with service token `token` is answered when it reports `body`.
    pub async fn agent_report(&self, token: &str, id: TaskId, body: Value) -> reqwest::StatusCode {
        self.http
            .post(self.url(&format!("/api/tasks/{id}/status")))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
    }

    /// `GET /api/health`'s body.
    pub async fn health(&self) -> Value {
        self.http
            .get(self.url("/api/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The task's timeline entries, as `GET /api/tasks/{id}` answers them.
    pub async fn timeline(&self, user: &TestUser, id: TaskId) -> Vec<Value> {
        let task: Value = self
            .get(user, &format!("/api/tasks/{id}"))
            .await
            .json()
            .await
            .unwrap();
        task["events"].as_array().unwrap().clone()
    }

    pub async fn status_of(&self, user: &TestUser, id: TaskId) -> String {
        let body: Value = self
            .get(user, &format!("/api/tasks/{id}"))
            .await
            .json()
            .await
            .unwrap();
        body["task"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Polls until the task has `status` (the pipeline runs in the background).
    pub async fn wait_for_status(&self, user: &TestUser, id: TaskId, status: &str) {
        for _ in 0..200 {
            if self.status_of(user, id).await == status {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("task {id} never reached {status}");
    }

    pub async fn report(&self, user: &TestUser, id: TaskId, body: Value) -> reqwest::Response {
        self.post(user, &format!("/api/tasks/{id}/status"), body)
            .await
    }

    /// Opens an authenticated socket and reads its `hello`.
    pub async fn ws(&self, user: &TestUser) -> WsClient {
        WsClient::connect(self.port, user).await
    }
}

impl WsClient {
    /// Opens an authenticated socket to the server on `port` and reads its `hello`.
    pub async fn connect(port: u16, user: &TestUser) -> WsClient {
        let (stream, _) = tokio_tungstenite::connect_async(ws_request(port, user))
            .await
            .expect("upgrade");
        let mut client = WsClient { stream };
        let hello = client.next().await;
        assert!(
            matches!(hello.msg, ServerMsg::Hello(_)),
            "first frame is hello: {hello:?}"
        );
        client
    }
}

/// The upgrade request for `/ws` on `port`, signed in as `user`.
pub fn ws_request(
    port: u16,
    user: &TestUser,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = format!("ws://127.0.0.1:{port}/ws")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", user.token).parse().unwrap(),
    );
    request
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An error body without its request id (which differs on every request), for
/// comparing two answers.
/// The task ids of a list's page (`GET /api/tasks`), in its order.
pub fn ids(body: &Value) -> Vec<i64> {
    body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

pub fn without_request_id(mut body: Value) -> Value {
    if let Some(error) = body.get_mut("error").and_then(|e| e.as_object_mut()) {
        assert!(
            error.remove("requestId").is_some(),
            "errors carry a request id"
        );
    }
    body
}

/// `GET /api/tasks/{id}` as `user` sees it.
pub async fn task_json(app: &TestApp, user: &TestUser, id: TaskId) -> Value {
    app.get(user, &format!("/api/tasks/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

/// Long enough for the rules analyser to dispatch without questions.
pub const ACTIONABLE: &str =
    "When a payment webhook fails, retry it three times with exponential backoff and log each attempt.";

pub struct WsClient {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    pub async fn send(&mut self, msg: ClientMsg) {
        self.send_raw(&ClientFrame::new(msg).to_json()).await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.stream.send(Message::text(text)).await.expect("send");
    }

    /// The next protocol frame, within 5 s.
    pub async fn next(&mut self) -> ServerFrame {
        self.try_next(Duration::from_secs(5))
            .await
            .expect("a frame within 5 s")
    }

    /// The next protocol frame, or `None` if none comes within `wait`.
    pub async fn try_next(&mut self, wait: Duration) -> Option<ServerFrame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            // A reset after the server's close is the end of the stream too.
            let Ok(msg) = msg else { return None };
            match msg {
                Message::Text(text) => {
                    FRAMES
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(text.to_string());
                    return Some(ServerFrame::decode(&text).expect("server frames decode"));
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Frames until `pred` matches one (which is returned); viewers frames are skipped.
    pub async fn until(&mut self, mut pred: impl FnMut(&ServerFrame) -> bool) -> ServerFrame {
        loop {
            let frame = self.next().await;
            if pred(&frame) {
                return frame;
            }
        }
    }

    /// Reads frames until none arrives for `quiet`; presence frames are left out.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<ServerFrame> {
        let mut frames = Vec::new();
        while let Some(frame) = self.try_next(quiet).await {
            if !matches!(frame.msg, ServerMsg::TaskViewers(_)) {
                frames.push(frame);
            }
        }
        frames
    }

    pub async fn join_dashboard(&mut self, since: Option<Seq>) {
        self.send(ClientMsg::DashboardJoin(DashboardJoin { since }))
            .await;
    }

    pub async fn join_task(&mut self, task_id: TaskId, since: Option<Seq>) {
        self.send(ClientMsg::TaskJoin(TaskJoin { task_id, since }))
            .await;
    }
}

/// The text of the first element of `html` with test id `id` (up to its first child).
pub fn text_of_test_id<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let after = html.split(&format!(r#"data-testid="{id}""#)).nth(1)?;
    let text = after.split_once('>')?.1;
    text.split('<').next()
}

/// The value a response's `Set-Cookie` gives cookie `name` (empty when it removes it).
pub fn cookie_set_by(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(name)?.strip_prefix('='))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

/// Whether a response removes the cookie that kept a secret for its page.
pub fn forgets_shown_once(res: &reqwest::Response) -> bool {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| {
            c.starts_with(&format!("{}=;", app::api::SHOWN_ONCE_COOKIE)) && c.contains("Max-Age=0")
        })
}

/// The session a response's `Set-Cookie` continues with, as a user to act as.
pub fn session_set_by(res: &reqwest::Response) -> TestUser {
    let token =
        cookie_set_by(res, "taskwire_session").expect("the session goes on with a new cookie");
    TestUser { token }
}

/// An account by the operator's command, in `org` (made if new).
pub async fn account_in(
    pool: &server::db::Pool,
    username: &str,
    org: &str,
) -> server::db::users::UserRow {
    server::actions::accounts::add_account(
        pool,
        server::actions::accounts::NewAccount {
            username: username.into(),
            password: "correct horse battery".into(),
            display_name: None,
            org: org.into(),
            admin: None,
        },
    )
    .await
    .unwrap()
}
