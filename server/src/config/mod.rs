//! Typed settings, read once at start-up from flags and the environment and passed in.
//!
//! [`args::SettingsArgs`] declares every setting once (flag, variable, default, meaning);
//! [`Settings::from_args`] checks and types them. Nothing deeper in the code reads
//! environment variables; tests build a [`Settings`] with [`Settings::for_data_dir`] and
//! override whatever they need.

pub mod args;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use leptos::config::{Env, LeptosOptions};

pub use args::SettingsArgs;

/// A value that must never be printed.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// WebSocket connection limits and timings.
#[derive(Debug, Clone)]
pub struct WsSettings {
    /// Frames a connection may have waiting to be written before it counts as too slow.
    pub queue_capacity: usize,
    /// Largest client text frame accepted, in bytes; a larger one is answered with
    /// `error frame_too_large` and the connection stays open.
    pub max_frame_bytes: usize,
    /// The most the server reads of one message at all; a larger one closes the
    /// connection with 1009 (message too big) before it is read.
    pub max_read_bytes: usize,
    /// Sockets one account may have open at once (each tab holds one).
    pub max_sockets_per_user: usize,
    /// How often the server pings each socket.
    pub heartbeat: Duration,
    /// A socket that sends nothing (not even a pong) for this long is closed.
    pub idle_timeout: Duration,
    /// Consecutive bad frames after which a connection is closed.
    pub max_bad_frames: u32,
    /// Task rooms one connection may have joined at once.
    pub max_task_rooms: usize,
    /// Client frames per second one connection may send, and the burst above it.
    pub frames_per_second: u32,
    pub frame_burst: u32,
}

/// A rate: so many per minute, with bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

/// Limits per client IP on the routes anyone may call without a session.
#[derive(Debug, Clone, Copy)]
pub struct IpLimitSettings {
    /// Sign-in and sign-up attempts (each costs an argon2 hash).
    pub sign_in: Rate,
    pub refresh: Rate,
    /// Webhook deliveries (GitHub sends from a handful of addresses).
    pub webhook: Rate,
}

/// How long state that grows with traffic is kept, and how often it is pruned.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Results kept for `Idempotency-Key` retries.
    pub idempotency_keys: Duration,
    /// Webhook delivery ids kept to recognise redeliveries (GitHub redelivers for days).
    pub webhook_deliveries: Duration,
    /// How often expired rows and idle rate-limiter entries are removed.
    pub prune_every: Duration,
}

/// Where dispatched tasks become GitHub issues.
#[derive(Debug, Clone)]
pub struct GithubSettings {
    /// `https://api.github.com`, a GitHub Enterprise API root, or a test server.
    pub api_url: String,
    /// `owner/name`.
    pub repo: String,
    pub token: Secret,
    /// Per request.
    pub timeout: Duration,
    /// Retries after the first attempt, for 5xx, 429 and network failures.
    pub max_retries: u32,
    /// First backoff; doubled per retry unless GitHub says `Retry-After`.
    pub retry_base: Duration,
}

/// An OpenAI-compatible chat-completions endpoint that analyses tasks.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// The API root, e.g. `https://api.openai.com/v1`; `/chat/completions` is appended.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<Secret>,
    /// Per request.
    pub timeout: Duration,
    /// Retries after the first attempt, for 5xx, 429 and network failures.
    pub max_retries: u32,
    pub retry_base: Duration,
    /// Analyses per minute; beyond that the rules decide.
    pub per_minute: u32,
}

/// All settings of a server instance.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Holds the SQLite database and generated keys.
    pub data_dir: PathBuf,
    /// `sqlite://…`; defaults to `<data_dir>/taskwire.db`.
    pub database_url: String,
    /// Signs session tokens; generated into `<data_dir>/jwt.key` when absent.
    pub jwt_secret: Option<Secret>,
    /// How long a session token is valid.
    pub session_ttl: Duration,
    /// Adds `Secure` to the session cookie (serve over HTTPS).
    pub secure_cookies: bool,
    /// Largest gap a join with `since` is answered with a replay rather than a snapshot.
    pub replay_limit: u64,
    /// Under load, how long a change to a listed task may wait for the next new task.
    pub dashboard_hold: Duration,
    /// How long the rules analyser "thinks", so people can see the step.
    pub analysis_delay: Duration,
    /// How long a pipeline step's lease lasts unrenewed (Postgres: several servers).
    pub pipeline_lease: Duration,
    /// How often the sequencer reads the log unprompted.
    pub log_poll: Duration,
    /// Each accepted connection's kernel send buffer (`SO_SNDBUF`); `None` leaves it to
    /// the kernel.
    pub send_buffer_bytes: Option<usize>,
    pub ws: WsSettings,
    /// HTTP actions (create, answer, report) per user per minute, and the burst above it.
    pub actions_per_minute: u32,
    pub action_burst: u32,
    pub ip_limits: IpLimitSettings,
    /// Proxies whose `X-Forwarded-For` names the client (addresses or CIDR blocks); from
    /// anyone else the header is ignored.
    pub trusted_proxies: Vec<IpNet>,
    pub retention: Retention,
    /// Demo mode: synthetic tasks, one step per this interval; `None` is off.
    pub demo: Option<Duration>,
    /// The LLM analyser; `None` keeps the built-in rules.
    pub llm: Option<LlmSettings>,
    /// GitHub issues for dispatched tasks; `None` dispatches without an issue.
    pub github: Option<GithubSettings>,
    /// Verifies GitHub webhooks; generated into `<data_dir>/webhook.secret` when absent.
    pub webhook_secret: Option<Secret>,
    /// The address people reach taskwire at, for links in GitHub issues.
    pub public_url: String,
    /// Whether the operator set `public_url`. If not, it is `http://<address>`, and a
    /// page builds its links from the address its request was sent to instead.
    pub public_url_given: bool,
    /// Origins besides the server's own whose pages may open a WebSocket.
    pub allowed_origins: Vec<String>,
    /// Bearer token for `/metrics`; without one, `/metrics` is not served.
    pub metrics_token: Option<Secret>,
    /// How long after sign-in a session can still be refreshed.
    pub session_max_age: Duration,
    /// Where the compiled site (WASM, JS, CSS, public files) is.
    pub leptos: LeptosOptions,
}

/// A setting had a value that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{name} has an invalid value: {reason}")]
pub struct ConfigError {
    /// The setting's environment variable.
    pub name: String,
    pub reason: String,
}

impl ConfigError {
    fn new(name: &str, reason: impl Into<String>) -> Self {
        ConfigError {
            name: name.to_owned(),
            reason: reason.into(),
        }
    }
}

impl Settings {
    /// Defaults for a server keeping its files in `data_dir`, listening on 127.0.0.1:3000:
    /// the settings' declared defaults (`args.rs`), with unhashed file names.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Settings {
        let mut args = SettingsArgs::from_lookup(|_| None).expect("the defaults parse");
        args.data_dir = data_dir.into();
        args.hash_files = Some(false);
        Settings::from_args(args).expect("the defaults are valid")
    }

    /// Reads `TASKWIRE_*` and the `LEPTOS_*` variables cargo-leptos sets.
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_lookup(|key| std::env::var(key).ok())
    }

    /// Like [`Settings::from_env`], with the variables given by `get`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        Settings::from_args(SettingsArgs::from_lookup(get)?)
    }

    /// Checks the settings as given and types them; the first bad one is named.
    pub fn from_args(mut a: SettingsArgs) -> Result<Settings, ConfigError> {
        a.forget_empty();
        let addr = a
            .addr
            .or(a.site_addr)
            .unwrap_or(([127, 0, 0, 1], 3000).into());
        let database_url = match a.database_url.take() {
            Some(url) if crate::db::Store::of_url(&url).is_none() => {
                return Err(ConfigError::new(
                    "TASKWIRE_DATABASE_URL",
                    "must be a sqlite: or postgres:// URL",
                ))
            }
            Some(url) => url,
            None => format!("sqlite://{}", a.data_dir.join("taskwire.db").display()),
        };
        let env = match a.leptos_env.as_str() {
            "DEV" | "dev" => Env::DEV,
            _ => Env::PROD,
        };
        let hashed = a.hash_files.unwrap_or_else(site_is_hashed);
        Ok(Settings {
            addr,
            database_url,
            jwt_secret: secret("TASKWIRE_JWT_SECRET", a.jwt_secret.take(), 32)?,
            metrics_token: secret("TASKWIRE_METRICS_TOKEN", a.metrics_token.take(), 16)?,
            webhook_secret: a.github_webhook_secret.take().map(Secret::new),
            session_ttl: Duration::from_secs(a.session_ttl_secs),
            session_max_age: Duration::from_secs(30 * 24 * 3600),
            secure_cookies: a.secure_cookies,
            analysis_delay: Duration::from_millis(a.analysis_delay_ms),
            send_buffer_bytes: (a.send_buffer_bytes > 0).then_some(a.send_buffer_bytes),
            log_poll: match a.log_poll_secs {
                0 => {
                    return Err(ConfigError::new(
                        "TASKWIRE_LOG_POLL_SECS",
                        "must be at least 1",
                    ))
                }
                secs => Duration::from_secs(secs),
            },
            pipeline_lease: match a.pipeline_lease_secs {
                0 => {
                    return Err(ConfigError::new(
                        "TASKWIRE_PIPELINE_LEASE_SECS",
                        "must be at least 1",
                    ))
                }
                secs => Duration::from_secs(secs),
            },
            ws: ws(&a)?,
            replay_limit: a.replay_limit,
            dashboard_hold: match a.dashboard_hold_ms {
                ms @ 0..=1_000 => Duration::from_millis(ms),
                _ => {
                    return Err(ConfigError::new(
                        "TASKWIRE_DASHBOARD_HOLD_MS",
                        "must be at most 1000 (one second)",
                    ))
                }
            },
            actions_per_minute: a.actions_per_minute,
            action_burst: a.action_burst,
            ip_limits: ip_limits(&a),
            trusted_proxies: a.trusted_proxies.take().unwrap_or_default().0,
            retention: retention(&a)?,
            allowed_origins: list(a.allowed_origins.as_deref()),
            public_url_given: a.public_url.is_some(),
            public_url: a
                .public_url
                .take()
                .unwrap_or_else(|| format!("http://{addr}")),
            demo: a.demo.then(|| Duration::from_millis(1_500)),
            github: github(&mut a)?,
            llm: llm(&mut a),
            leptos: leptos_options(&a.output_name, &a.site_root, addr, env, hashed),
            data_dir: a.data_dir,
        })
    }
}

impl SettingsArgs {
    /// A variable set to nothing is not set.
    fn forget_empty(&mut self) {
        for text in [
            &mut self.database_url,
            &mut self.jwt_secret,
            &mut self.allowed_origins,
            &mut self.public_url,
            &mut self.github_repo,
            &mut self.github_token,
            &mut self.github_webhook_secret,
            &mut self.llm_url,
            &mut self.llm_api_key,
            &mut self.metrics_token,
        ] {
            if text.as_deref().is_some_and(|t| t.trim().is_empty()) {
                *text = None;
            }
        }
    }
}

/// A secret setting of at least `min_len` characters (never echoed in the error).
fn secret(
    name: &str,
    value: Option<String>,
    min_len: usize,
) -> Result<Option<Secret>, ConfigError> {
    match value {
        Some(v) if v.len() < min_len => Err(ConfigError::new(
            name,
            format!("must be at least {min_len} characters"),
        )),
        v => Ok(v.map(Secret::new)),
    }
}

/// A comma-separated list, without blanks.
fn list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty())
        .collect()
}

fn ws(a: &SettingsArgs) -> Result<WsSettings, ConfigError> {
    if a.ws_heartbeat_secs == 0 {
        return Err(ConfigError::new(
            "TASKWIRE_WS_HEARTBEAT_SECS",
            "must be at least 1",
        ));
    }
    if a.ws_max_read_bytes < a.ws_max_frame_bytes {
        return Err(ConfigError::new(
            "TASKWIRE_WS_MAX_READ_BYTES",
            "must be at least TASKWIRE_WS_MAX_FRAME_BYTES",
        ));
    }
    Ok(WsSettings {
        queue_capacity: a.ws_queue,
        max_frame_bytes: a.ws_max_frame_bytes,
        max_read_bytes: a.ws_max_read_bytes,
        max_sockets_per_user: a.ws_max_sockets_per_user,
        heartbeat: Duration::from_secs(a.ws_heartbeat_secs),
        idle_timeout: Duration::from_secs(a.ws_heartbeat_secs) * 3,
        max_bad_frames: 20,
        max_task_rooms: 32,
        frames_per_second: a.ws_frames_per_second,
        frame_burst: a.ws_frame_burst,
    })
}

fn ip_limits(a: &SettingsArgs) -> IpLimitSettings {
    let rate = |per_minute, burst| Rate { per_minute, burst };
    IpLimitSettings {
        sign_in: rate(a.signin_per_minute, a.signin_burst),
        refresh: rate(a.refresh_per_minute, a.refresh_burst),
        webhook: rate(a.webhooks_per_minute, a.webhook_burst),
    }
}

fn retention(a: &SettingsArgs) -> Result<Retention, ConfigError> {
    if a.prune_interval_secs == 0 {
        return Err(ConfigError::new(
            "TASKWIRE_PRUNE_INTERVAL_SECS",
            "must be at least 1",
        ));
    }
    Ok(Retention {
        idempotency_keys: Duration::from_secs(a.idempotency_ttl_secs),
        webhook_deliveries: Duration::from_secs(a.webhook_delivery_ttl_secs),
        prune_every: Duration::from_secs(a.prune_interval_secs),
    })
}

/// GitHub issues need both a repository and a token; one alone is a mistake.
fn github(a: &mut SettingsArgs) -> Result<Option<GithubSettings>, ConfigError> {
    match (a.github_repo.take(), a.github_token.take()) {
        (Some(repo), Some(token)) => {
            if repo.split('/').count() != 2 {
                return Err(ConfigError::new("TASKWIRE_GITHUB_REPO", "use owner/name"));
            }
            Ok(Some(GithubSettings {
                api_url: a.github_api_url.clone(),
                repo,
                token: Secret::new(token),
                timeout: Duration::from_secs(10),
                max_retries: 3,
                retry_base: Duration::from_millis(500),
            }))
        }
        (None, None) => Ok(None),
        _ => Err(ConfigError::new(
            "TASKWIRE_GITHUB_REPO",
            "set both TASKWIRE_GITHUB_REPO and TASKWIRE_GITHUB_TOKEN, or neither",
        )),
    }
}

fn llm(a: &mut SettingsArgs) -> Option<LlmSettings> {
    let base_url = a.llm_url.take()?;
    Some(LlmSettings {
        base_url,
        model: a.llm_model.clone(),
        api_key: a.llm_api_key.take().map(Secret::new),
        timeout: Duration::from_secs(a.llm_timeout_secs),
        max_retries: 2,
        retry_base: Duration::from_millis(500),
        per_minute: a.llm_per_minute,
    })
}

fn leptos_options(
    output_name: &str,
    site_root: &str,
    addr: SocketAddr,
    env: Env,
    hash_files: bool,
) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(output_name)
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(env)
        .hash_files(hash_files)
        .build()
}

/// Whether the site's files carry content hashes: `cargo leptos build` leaves their list
/// (`hash.txt`) beside the server binary. `LEPTOS_HASH_FILES` overrides.
fn site_is_hashed() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")))
        .is_some_and(|file| file.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_keep_everything_under_the_data_dir() {
        let s = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("data"));
        assert_eq!(s.database_url, "sqlite://data/taskwire.db");
        assert_eq!(s.addr.to_string(), "127.0.0.1:3000");
        assert!(s.jwt_secret.is_none());
    }

    #[test]
    fn a_short_jwt_secret_is_refused_and_never_echoed() {
        let err = Settings::from_lookup(|k| (k == "TASKWIRE_JWT_SECRET").then(|| "hunter2".into()))
            .unwrap_err();
        assert_eq!(err.name, "TASKWIRE_JWT_SECRET");
        assert!(!err.to_string().contains("hunter2"));
        assert!(!format!("{:?}", Secret::new("hunter2")).contains("hunter2"));
    }

    #[test]
    fn a_bad_number_names_its_variable() {
        let err = Settings::from_lookup(|k| (k == "TASKWIRE_WS_QUEUE").then(|| "lots".into()))
            .unwrap_err();
        assert_eq!(err.name, "TASKWIRE_WS_QUEUE");
    }

    #[test]
    fn limits_and_trusted_proxies_are_settings() {
        let s = Settings::from_lookup(|k| match k {
            "TASKWIRE_SIGNIN_PER_MINUTE" => Some("5".into()),
            "TASKWIRE_WS_MAX_SOCKETS_PER_USER" => Some("3".into()),
            "TASKWIRE_TRUSTED_PROXIES" => Some("127.0.0.1, 10.0.0.0/8".into()),
            "TASKWIRE_IDEMPOTENCY_TTL_SECS" => Some("60".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.ip_limits.sign_in.per_minute, 5);
        assert_eq!(
            s.ip_limits.sign_in.burst, 10,
            "unset parts keep their default"
        );
        assert_eq!(s.ws.max_sockets_per_user, 3);
        assert_eq!(s.trusted_proxies.len(), 2);
        assert!(s.trusted_proxies[0].contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()));
        assert_eq!(s.retention.idempotency_keys, Duration::from_secs(60));
        let bad = Settings::from_lookup(|k| {
            (k == "TASKWIRE_TRUSTED_PROXIES").then(|| "proxy.local".into())
        });
        assert_eq!(bad.unwrap_err().name, "TASKWIRE_TRUSTED_PROXIES");
        let small =
            Settings::from_lookup(|k| (k == "TASKWIRE_WS_MAX_READ_BYTES").then(|| "1024".into()));
        assert_eq!(small.unwrap_err().name, "TASKWIRE_WS_MAX_READ_BYTES");
    }

    #[test]
    fn github_needs_both_repo_and_token() {
        let only_repo =
            Settings::from_lookup(|k| (k == "TASKWIRE_GITHUB_REPO").then(|| "acme/app".into()));
        assert_eq!(only_repo.unwrap_err().name, "TASKWIRE_GITHUB_REPO");
        let both = Settings::from_lookup(|k| match k {
            "TASKWIRE_GITHUB_REPO" => Some("acme/app".into()),
            "TASKWIRE_GITHUB_TOKEN" => Some("t0ken".into()),
            _ => None,
        })
        .unwrap();
        let github = both.github.unwrap();
        assert_eq!(
            (github.repo.as_str(), github.api_url.as_str()),
            ("acme/app", "https://api.github.com")
        );
        assert!(
            !format!("{github:?}").contains("t0ken"),
            "the token is never printed"
        );
    }

    #[test]
    fn demo_and_llm_are_off_unless_configured() {
        let s = Settings::from_lookup(|_| None).unwrap();
        assert!(s.demo.is_none() && s.llm.is_none() && s.github.is_none());
        let s = Settings::from_lookup(|k| match k {
            "TASKWIRE_DEMO" => Some("true".into()),
            "TASKWIRE_LLM_URL" => Some("http://127.0.0.1:9/v1".into()),
            _ => None,
        })
        .unwrap();
        assert!(s.demo.is_some());
        assert_eq!(s.llm.unwrap().model, "gpt-4o-mini");
        assert!(
            Settings::from_lookup(|k| (k == "TASKWIRE_DEMO").then(|| "sometimes".into())).is_err()
        );
    }
}
