use std::io::Read;

use anyhow::Context;
use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use server::actions::accounts;
use server::config::args::config_error;
use server::config::{Settings, SettingsArgs};
use server::error::ApiError;
use server::startup::Application;

/// taskwire: a live dashboard for a team's task pipeline.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the product (the default).
    Serve {
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCmd,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Manage service tokens for agents that report progress.
    Token {
        #[command(subcommand)]
        command: TokenCmd,
        #[command(flatten)]
        settings: SettingsArgs,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create a token; it is printed once and cannot be shown again.
    Create { name: String },
    /// Revoke a token by name; requests with it are refused from then on.
    Revoke { name: String },
    /// List live tokens by name.
    List,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add an account. The password is read from standard input (one line).
    Add {
        username: String,
        /// The name others see; defaults to the username.
        #[arg(long)]
        display_name: Option<String>,
        /// The org (team) the account belongs to, created if new; `default` otherwise.
        #[arg(long, default_value = "default")]
        org: String,
        /// Make the account an administrator (it manages service tokens in the browser).
        /// Without it, the account is one only if the installation has none yet.
        #[arg(long)]
        admin: bool,
    },
    /// Make an existing account an administrator, or (with --remove) no longer one.
    Admin {
        username: String,
        #[arg(long)]
        remove: bool,
    },
}

/// See the workspace manifest for why (memory per idle socket, and after sign-ins).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A bad value names its variable, like any other setting error.
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::ValueValidation | ErrorKind::InvalidValue
            ) =>
        {
            eprintln!("error: {}", config_error(&SettingsArgs::command(), &e));
            return std::process::ExitCode::FAILURE;
        }
        Err(e) => e.exit(),
    };
    let (settings, command) = match cli.command {
        None => match SettingsArgs::from_lookup(|k| std::env::var(k).ok()) {
            Ok(settings) => (settings, None),
            Err(e) => {
                eprintln!("error: {e}");
                return std::process::ExitCode::FAILURE;
            }
        },
        Some(Cmd::Serve { settings }) => (settings, None),
        Some(Cmd::User { command, settings }) => (settings, Some(Work::User(command))),
        Some(Cmd::Token { command, settings }) => (settings, Some(Work::Token(command))),
    };
    server::telemetry::init(
        "info,sqlx=warn,tower_http=warn",
        server::telemetry::LogFormat::parse(Some(settings.log_format.as_str())),
    );
    match run(settings, command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One readable line (with its causes) for the person at the terminal.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// What a command other than `serve` does.
enum Work {
    User(UserCmd),
    Token(TokenCmd),
}

async fn run(args: SettingsArgs, work: Option<Work>) -> anyhow::Result<()> {
    let settings = Settings::from_args(args)?;
    match work {
        None => {
            Application::build(settings)
                .await?
                .run_until_stopped()
                .await
        }
        Some(Work::User(UserCmd::Add {
            username,
            display_name,
            org,
            admin,
        })) => add_user(settings, username, display_name, org, admin).await,
        Some(Work::User(UserCmd::Admin { username, remove })) => {
            let pool = open_database(&settings).await?;
            let username = username.trim().to_lowercase();
            if !server::db::users::set_admin(&pool, &username, !remove).await? {
                anyhow::bail!("no account is named {username}");
            }
            let now = if remove { "no longer" } else { "now" };
            println!("{username} is {now} an administrator");
            Ok(())
        }
        Some(Work::Token(cmd)) => manage_tokens(settings, cmd).await,
    }
}

async fn add_user(
    settings: Settings,
    username: String,
    display_name: Option<String>,
    org: String,
    admin: bool,
) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    let password = password.lines().next().unwrap_or_default().to_owned();
    let pool = open_database(&settings).await?;
    let account = accounts::NewAccount {
        username,
        password,
        display_name,
        org,
        admin: admin.then_some(true),
    };
    let user = accounts::add_account(&pool, account)
        .await
        .map_err(cli_error)?;
    let role = if user.is_admin() {
        ", an administrator"
    } else {
        ""
    };
    println!("added user {} (id {}){role}", user.username, user.id);
    Ok(())
}

async fn manage_tokens(settings: Settings, cmd: TokenCmd) -> anyhow::Result<()> {
    let pool = open_database(&settings).await?;
    match cmd {
        TokenCmd::Create { name } => {
            let token = accounts::issue_service_token(&pool, &name)
                .await
                .map_err(cli_error)?;
            println!("{token}");
        }
        TokenCmd::Revoke { name } => {
            accounts::revoke_service_token(&pool, &name)
                .await
                .map_err(|e| match e {
                    ApiError::NotFound => anyhow::anyhow!("no live token is named {name}"),
                    e => cli_error(e),
                })?;
            println!("revoked {name}");
        }
        TokenCmd::List => {
            for name in accounts::service_token_names(&pool)
                .await
                .map_err(cli_error)?
            {
                println!("{name}");
            }
        }
    }
    Ok(())
}

/// What the person at the terminal reads: the sentence, or an internal error's causes
/// (which the HTTP API keeps to its log).
fn cli_error(e: ApiError) -> anyhow::Error {
    match e {
        ApiError::Internal(e) => e,
        e => anyhow::anyhow!("{e}"),
    }
}

async fn open_database(settings: &Settings) -> anyhow::Result<server::db::Pool> {
    std::fs::create_dir_all(&settings.data_dir)?;
    server::db::connect(&settings.database_url).await
}
