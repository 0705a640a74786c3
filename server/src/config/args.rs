//! Every setting as a command-line flag and its environment variable, declared once:
//! `server serve --help` lists each with its variable, default and meaning, and the
//! README's table is checked against that list by a test.

use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgMatches, Args, Command, FromArgMatches};
use ipnet::IpNet;

use super::ConfigError;

/// The raw settings, as given; [`super::Settings::from_args`] checks and types them.
/// Secrets are never shown in `--help`, even when set.
#[derive(Args, Clone)]
#[command(
    next_help_heading = "Settings (each flag or its environment variable; give secrets as variables, since flags show in the process list)"
)]
pub struct SettingsArgs {
    /// Address to listen on.
    #[arg(long, value_parser = trimmed::<SocketAddr>, env = "TASKWIRE_ADDR", value_name = "ADDR")]
    pub addr: Option<SocketAddr>,
    /// Address to listen on when TASKWIRE_ADDR is not set (cargo-leptos sets it).
    #[arg(long, value_parser = trimmed::<SocketAddr>, env = "LEPTOS_SITE_ADDR", value_name = "ADDR")]
    pub site_addr: Option<SocketAddr>,
    /// The built site (WASM, JS, CSS, public/).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,
    /// Base name of the built bundle.
    #[arg(long, env = "LEPTOS_OUTPUT_NAME", default_value = "taskwire")]
    pub output_name: String,
    /// `DEV` serves for development (cargo-leptos watch); anything else is production.
    #[arg(long, env = "LEPTOS_ENV", default_value = "PROD")]
    pub leptos_env: String,
    /// Whether the built files carry content hashes; found out from the build when unset.
    #[arg(long, value_parser = says_true, env = "LEPTOS_HASH_FILES", value_name = "BOOL")]
    pub hash_files: Option<bool>,
    /// Holds the SQLite database and the generated keys.
    #[arg(long, env = "TASKWIRE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// The database: a `sqlite:` file (one server) or a `postgres://` server (any number
    /// of servers); `sqlite://<data dir>/taskwire.db` when unset.
    #[arg(
        long,
        env = "TASKWIRE_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Session signing key (at least 32 characters); generated into <data dir>/jwt.key.
    #[arg(long, env = "TASKWIRE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// How long a session token lasts; browsers refresh it by themselves.
    #[arg(long, value_parser = trimmed::<u64>, env = "TASKWIRE_SESSION_TTL_SECS", default_value_t = 43_200)]
    pub session_ttl_secs: u64,
    /// Mark the session cookie `Secure` (serve over HTTPS).
    #[arg(long, value_parser = trimmed::<bool>, env = "TASKWIRE_SECURE_COOKIES", default_value_t = false, action = clap::ArgAction::Set)]
    pub secure_cookies: bool,
    /// How long the rules analyser takes, so people see the step.
    #[arg(long, value_parser = trimmed::<u64>, env = "TASKWIRE_ANALYSIS_DELAY_MS", default_value_t = 400)]
    pub analysis_delay_ms: u64,
    /// How often a server reads the event log for changes nobody announced (a lost
    /// Postgres notification, another process on the SQLite file).
    #[arg(long, value_parser = trimmed::<u64>, env = "TASKWIRE_LOG_POLL_SECS", default_value_t = 2)]
    pub log_poll_secs: u64,
    /// How long a server holds a pipeline step without renewing it before another
    /// server on the same Postgres may take the step over.
    #[arg(long, value_parser = trimmed::<u64>, env = "TASKWIRE_PIPELINE_LEASE_SECS", default_value_t = 15)]
    pub pipeline_lease_secs: u64,
    /// Each TCP connection's kernel send buffer, in bytes (`SO_SNDBUF`): what a client
    /// that stops reading can hold in the kernel before its frames back up and it is cut
    /// as too slow. `0` leaves the size to the kernel, which grows it to megabytes.
    #[arg(long, value_parser = trimmed::<usize>, env = "TASKWIRE_SEND_BUFFER_BYTES", default_value_t = 131_072)]
    pub send_buffer_bytes: usize,
    /// Frames a socket may have queued before it counts as too slow.
    #[arg(long, value_parser = trimmed::<usize>, env = "TASKWIRE_WS_QUEUE", default_value_t = 512)]
    pub ws_queue: usize,
    /// Largest frame a client may send; a larger one gets `error frame_too_large`.
    #[arg(long, value_parser = trimmed::<usize>, env = "TASKWIRE_WS_MAX_FRAME_BYTES", default_value_t = 16_384)]
    pub ws_max_frame_bytes: usize,
    /// The most the server reads of one message; a larger one closes the socket (1009).
    #[arg(long, value_parser = trimmed::<usize>, env = "TASKWIRE_WS_MAX_READ_BYTES", default_value_t = 1_048_576)]
    pub ws_max_read_bytes: usize,
    /// Sockets one account may have open (per server instance).
    #[arg(long, value_parser = trimmed::<usize>, env = "TASKWIRE_WS_MAX_SOCKETS_PER_USER", default_value_t = 50)]
    pub ws_max_sockets_per_user: usize,
    /// Frames per second a connection may send.
    #[arg(long, value_parser = trimmed::<u32>, env = "TASKWIRE_WS_FRAMES_PER_SECOND", default_value_t = 20)]
    pub ws_frames_per_second: u32,
    /// Frames a connection may send in a burst above that.
    #[arg(long, value_parser = trimmed::<u32>, env = "TASKWIRE_WS_FRAME_BURST", default_value_t = 40)]
    pub ws_frame_burst: u32,
    /// Server ping interval; a socket silent for three is dropped.
    #[arg(long, value_parser = trimmed::<u64>, env = "TASKWIRE_WS_HEARTBEAT_SECS", default_value_t = 15)]
    pub ws_heartbeat_secs: u64,
    /// Under load, how long a change to a task on the dashboard may wait to go out with
    /// the next new task, in one write to each socket; 0 sends every change at once.
    #[arg(long, value_parser = trimmed::<u64>, env = "TASKWIRE_DASHBOARD_HOLD_MS", default_value_t = 20)]
    pub dashboard_hold_ms: u64,
    /// Largest gap a rejoin is answered with a replay rather than a snapshot.
    #[arg(long, value_parser = trimmed::<u64>, env = "TASKWIRE_REPLAY_LIMIT", default_value_t = 5_000)]
    pub replay_limit: u64,
    /// HTTP actions per user or agent per minute.
    #[arg(long, value_parser = trimmed::<u32>, env = "TASKWIRE_ACTIONS_PER_MINUTE", default_value_t = 120)]
    pub actions_per_minute: u32,
    /// HTTP actions in a burst above that.
    #[arg(long, value_parser = trimmed::<u32>, env = "TASKWIRE_ACTION_BURST", default_value_t = 30)]
    pub action_burst: u32,
    /// Sign-in and sign-up attempts per client IP per minute.
    #[arg(long, value_parser = trimmed::<u32>, env = "TASKWIRE_SIGNIN_PER_MINUTE", default_value_t = 20)]
    pub signin_per_minute: u32,
    /// Sign-in and sign-up attempts in a burst above that.
    #[arg(long, value_parser = trimmed::<u32>, env = "TASKWIRE_SIGNIN_BURST", default_value_t = 10)]
    pub signin_burst: u32,
    /// Session refreshes per client IP per minute.
    #[arg(long, value_parser = trimmed::<u32>, env = "TASKWIRE_REFRESH_PER_MINUTE", default_value_t = 60)]
    pub refresh_per_minute: u32,
    /// Session refreshes in a burst above that.
    #[arg(long, value_parser = trimmed::<u32>, env = "TASKWIRE_REFRESH_BURST", default_value_t = 20)]
    pub refresh_burst: u32,
    /// Webhook deliveries per client IP per minute.
    #[arg(long, value_parser = trimmed::<u32>, env = "TASKWIRE_WEBHOOKS_PER_MINUTE", default_value_t = 600)]
    pub webhooks_per_minute: u32,
    /// Webhook deliveries in a burst above that.
    #[arg(long, value_parser = trimmed::<u32>, env = "TASKWIRE_WEBHOOK_BURST", default_value_t = 100)]
    pub webhook_burst: u32,
    /// Comma-separated addresses or CIDR blocks of reverse proxies whose
    /// X-Forwarded-For names the client; from anyone else the header is ignored.
    #[arg(long, env = "TASKWIRE_TRUSTED_PROXIES", value_name = "LIST")]
    pub trusted_proxies: Option<ProxyList>,
    /// How long an Idempotency-Key replays its first result.
    #[arg(long, value_parser = trimmed::<u64>, env = "TASKWIRE_IDEMPOTENCY_TTL_SECS", default_value_t = 86_400)]
    pub idempotency_ttl_secs: u64,
    /// How long a webhook delivery id is remembered, to recognise a redelivery.
    #[arg(
        long,
        value_parser = trimmed::<u64>,
        env = "TASKWIRE_WEBHOOK_DELIVERY_TTL_SECS",
        default_value_t = 604_800
    )]
    pub webhook_delivery_ttl_secs: u64,
    /// How often expired keys, delivery ids and idle rate-limiter entries are removed.
    #[arg(long, value_parser = trimmed::<u64>, env = "TASKWIRE_PRUNE_INTERVAL_SECS", default_value_t = 600)]
    pub prune_interval_secs: u64,
    /// Comma-separated origins, besides the server's own, whose pages may open the socket.
    #[arg(long, env = "TASKWIRE_ALLOWED_ORIGINS", value_name = "LIST")]
    pub allowed_origins: Option<String>,
    /// Demo mode: synthetic tasks move through the pipeline.
    #[arg(long, value_parser = trimmed::<bool>, env = "TASKWIRE_DEMO", default_value_t = false, action = clap::ArgAction::Set)]
    pub demo: bool,
    /// Base of the links back to taskwire in GitHub issues and of invite links shown
    /// without JavaScript. Unset: `http://<address>` for the former; for the latter, the
    /// address the browser asked for (a reverse proxy's `X-Forwarded-Host` and
    /// `X-Forwarded-Proto`, else `Host` over `http`).
    #[arg(long, env = "TASKWIRE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// `owner/name` to open issues in (needs the token too).
    #[arg(long, env = "TASKWIRE_GITHUB_REPO", value_name = "OWNER/NAME")]
    pub github_repo: Option<String>,
    /// A token that may create issues there.
    #[arg(long, env = "TASKWIRE_GITHUB_TOKEN", hide_env_values = true)]
    pub github_token: Option<String>,
    /// GitHub Enterprise API root, or a test server.
    #[arg(
        long,
        env = "TASKWIRE_GITHUB_API_URL",
        default_value = "https://api.github.com"
    )]
    pub github_api_url: String,
    /// Verifies webhook signatures; generated into <data dir>/webhook.secret.
    #[arg(long, env = "TASKWIRE_GITHUB_WEBHOOK_SECRET", hide_env_values = true)]
    pub github_webhook_secret: Option<String>,
    /// OpenAI-compatible API root (e.g. https://api.openai.com/v1); enables the LLM analyser.
    #[arg(
        long,
        env = "TASKWIRE_LLM_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub llm_url: Option<String>,
    /// Model name sent to it.
    #[arg(long, env = "TASKWIRE_LLM_MODEL", default_value = "gpt-4o-mini")]
    pub llm_model: String,
    /// Its key, if it needs one.
    #[arg(long, env = "TASKWIRE_LLM_API_KEY", hide_env_values = true)]
    pub llm_api_key: Option<String>,
    /// Per LLM request.
    #[arg(long, value_parser = trimmed::<u64>, env = "TASKWIRE_LLM_TIMEOUT_SECS", default_value_t = 20)]
    pub llm_timeout_secs: u64,
    /// Analyses per minute before the rules take over.
    #[arg(long, value_parser = trimmed::<u32>, env = "TASKWIRE_LLM_PER_MINUTE", default_value_t = 30)]
    pub llm_per_minute: u32,
    /// Bearer token for GET /metrics (at least 16 characters); without it /metrics is 404.
    #[arg(long, env = "TASKWIRE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// `json` writes one JSON object per log line; `text` otherwise.
    #[arg(long, env = "TASKWIRE_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

/// A value as typed, spaces (or a file's `\r`) around it ignored.
fn trimmed<T: FromStr>(value: &str) -> Result<T, T::Err> {
    value.trim().parse()
}

/// `true` is true; anything else, empty included, is false (as cargo-leptos writes it).
fn says_true(value: &str) -> Result<bool, std::convert::Infallible> {
    Ok(value.trim() == "true")
}

/// Trusted proxies: comma-separated addresses or CIDR blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyList(pub Vec<IpNet>);

impl FromStr for ProxyList {
    type Err = String;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        list.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("'{p}' is not an IP address or CIDR block"))
            })
            .collect::<Result<_, _>>()
            .map(ProxyList)
    }
}

impl SettingsArgs {
    /// The settings' flags, on a bare command (what tests and [`Self::from_lookup`] use).
    pub fn command() -> Command {
        SettingsArgs::augment_args(Command::new("taskwire").no_binary_name(true))
    }

    /// Reads the settings' variables through `get` instead of the process environment:
    /// each set variable becomes its flag, exactly as clap's own lookup passes it on (an
    /// empty text setting is then taken as unset by [`super::Settings::from_args`]).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let command = Self::command();
        let mut argv = Vec::new();
        for arg in command.get_arguments() {
            let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) else {
                continue;
            };
            if let Some(value) = env.to_str().and_then(&get) {
                argv.push(format!("--{long}={value}"));
            }
        }
        let matches = command
            .clone()
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(argv)
            .map_err(|e| config_error(&command, &e))?;
        Self::from_matches(&command, &matches)
    }

    /// The settings of parsed matches; a bad value names its variable.
    pub fn from_matches(command: &Command, matches: &ArgMatches) -> Result<Self, ConfigError> {
        Self::from_arg_matches(matches).map_err(|e| config_error(command, &e))
    }
}

/// A clap error as a [`ConfigError`] naming the setting's variable: clap names the flag
/// (`--ws-queue <WS_QUEUE>`), people set the variable.
pub fn config_error(command: &Command, error: &clap::Error) -> ConfigError {
    let flag = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(flag)) => flag.clone(),
        _ => String::new(),
    };
    let long = flag
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_start_matches("--")
        .split('=')
        .next()
        .unwrap_or_default()
        .to_owned();
    let name = command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long.as_str()))
        .and_then(|arg| arg.get_env())
        .and_then(|env| env.to_str())
        .unwrap_or("settings")
        .to_owned();
    let reason = match (error.kind(), error.get(ContextKind::InvalidValue)) {
        (ErrorKind::ValueValidation | ErrorKind::InvalidValue, Some(ContextValue::String(v))) => {
            let why = match (error.source(), error.get(ContextKind::ValidValue)) {
                (Some(source), _) => source.to_string(),
                (None, Some(ContextValue::Strings(valid))) => {
                    format!("use one of {}", valid.join(", "))
                }
                _ => "not accepted".into(),
            };
            // Only settings that are not secrets are typed, so only they can fail here.
            format!("'{v}': {why}")
        }
        _ => error.kind().to_string(),
    };
    ConfigError { name, reason }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    const README: &str = include_str!("../../../README.md");

    /// The README's settings table: each variable named in a row's first cell, with
    /// that row's default cell.
    fn readme_table() -> BTreeMap<String, String> {
        let section = README
            .split("## Configuration")
            .nth(1)
            .expect("README has a Configuration section");
        let mut rows = BTreeMap::new();
        for line in section.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line.split(" | ").collect();
            let default = cells.get(1).copied().unwrap_or_default().to_owned();
            for name in cells[0].split('`').filter(|w| is_variable(w)) {
                rows.insert(name.to_owned(), default.clone());
            }
        }
        rows
    }

    fn is_variable(word: &str) -> bool {
        (word.starts_with("TASKWIRE_") || word.starts_with("LEPTOS_"))
            && word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
    }

    /// The variables `--help` names, from the rendered help itself.
    fn help_variables() -> BTreeSet<String> {
        let help = SettingsArgs::command().render_long_help().to_string();
        help.split("[env: ")
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_readme_table_lists_exactly_the_settings_of_help_with_their_defaults() {
        let table = readme_table();
        let documented: BTreeSet<String> = table.keys().cloned().collect();
        let help = help_variables();
        assert!(help.len() > 40, "help lists the settings: {help:?}");
        assert_eq!(
            documented.difference(&help).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "in the README but not a setting"
        );
        assert_eq!(
            help.difference(&documented).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "a setting the README does not list"
        );
        for arg in SettingsArgs::command().get_arguments() {
            let Some(env) = arg.get_env().and_then(|e| e.to_str()) else {
                continue;
            };
            for default in arg.get_default_values() {
                let default = default.to_string_lossy();
                assert!(
                    table[env].contains(&*default),
                    "README gives {env} the default {:?}, --help {default:?}",
                    table[env]
                );
            }
        }
    }

    #[test]
    fn secrets_are_never_shown_in_help() {
        for arg in SettingsArgs::command().get_arguments() {
            let env = arg.get_env().and_then(|e| e.to_str()).unwrap_or_default();
            // Secrets, and URLs that may carry a password.
            let secret = ["SECRET", "TOKEN", "KEY", "DATABASE_URL"]
                .iter()
                .any(|s| env.contains(s));
            assert!(
                !secret || arg.is_hide_env_values_set(),
                "{env} shows its value"
            );
        }
    }

    #[test]
    fn a_value_given_as_a_flag_or_a_variable_is_the_same_setting() {
        let from_env =
            SettingsArgs::from_lookup(|k| (k == "TASKWIRE_WS_QUEUE").then(|| "7".into())).unwrap();
        let command = SettingsArgs::command();
        let matches = command
            .clone()
            .mut_args(|a| a.env(None))
            .try_get_matches_from(["--ws-queue", "7"])
            .unwrap();
        let from_flag = SettingsArgs::from_matches(&command, &matches).unwrap();
        assert_eq!((from_env.ws_queue, from_flag.ws_queue), (7, 7));
    }

    #[test]
    fn values_are_read_as_people_and_files_write_them() {
        let s = super::super::Settings::from_lookup(|k| match k {
            "TASKWIRE_WS_QUEUE" => Some(" 7\r".into()),
            "TASKWIRE_ADDR" => Some("127.0.0.1:4000 ".into()),
            "TASKWIRE_JWT_SECRET" => Some(String::new()),
            "LEPTOS_HASH_FILES" => Some("yes".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.ws.queue_capacity, 7);
        assert_eq!(s.addr.port(), 4000);
        assert!(s.jwt_secret.is_none(), "an empty secret is no secret");
        assert!(!s.leptos.hash_files, "only `true` turns hashed names on");
        let zero = super::super::Settings::from_lookup(|k| {
            (k == "TASKWIRE_WS_HEARTBEAT_SECS").then(|| "0".into())
        });
        assert_eq!(zero.unwrap_err().name, "TASKWIRE_WS_HEARTBEAT_SECS");
        let empty_number =
            super::super::Settings::from_lookup(|k| (k == "TASKWIRE_WS_QUEUE").then(String::new));
        assert_eq!(empty_number.unwrap_err().name, "TASKWIRE_WS_QUEUE");
    }
}
