use std::io::Read;

use anyhow::Context;
use clap::{Parser, Subcommand};
use server::config::Settings;
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
    Serve,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage service tokens for agents that report progress.
    #[command(subcommand)]
    Token(TokenCmd),
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
    },
}

/// See the workspace manifest for why (memory per idle socket, and after sign-ins).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let format = std::env::var("TASKWIRE_LOG_FORMAT").ok();
    server::telemetry::init(
        "info,sqlx=warn,tower_http=warn",
        server::telemetry::LogFormat::parse(format.as_deref()),
    );
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One readable line (with its causes) for the person at the terminal.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    match cli.command.unwrap_or(Cmd::Serve) {
        Cmd::Serve => {
            Application::build(settings)
                .await?
                .run_until_stopped()
                .await
        }
        Cmd::User(UserCmd::Add {
            username,
            display_name,
            org,
        }) => add_user(settings, username, display_name, org).await,
        Cmd::Token(cmd) => manage_tokens(settings, cmd).await,
    }
}

async fn add_user(
    settings: Settings,
    username: String,
    display_name: Option<String>,
    org: String,
) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    let password = password.lines().next().unwrap_or_default().to_owned();
    std::fs::create_dir_all(&settings.data_dir)?;
    let pool = server::db::connect(&settings.database_url).await?;
    let username = username.trim().to_lowercase();
    let display_name = display_name.unwrap_or_else(|| username.clone());
    server::auth::validate_signup(&username, &password, &display_name)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = server::auth::hash_password(password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let org_id = server::db::users::org_id(&pool, org.trim()).await?;
    match server::db::users::insert_in_org(
        &pool,
        &username,
        &display_name,
        &hash,
        org_id,
        server::db::now_millis(),
    )
    .await?
    {
        Some(user) => println!("added user {} (id {})", user.username, user.id),
        None => anyhow::bail!("the username {username} is taken"),
    }
    Ok(())
}

async fn manage_tokens(settings: Settings, cmd: TokenCmd) -> anyhow::Result<()> {
    use server::db::service_tokens;
    std::fs::create_dir_all(&settings.data_dir)?;
    let pool = server::db::connect(&settings.database_url).await?;
    let now = server::db::now_millis();
    match cmd {
        TokenCmd::Create { name } => match service_tokens::create(&pool, name.trim(), now).await? {
            Some(token) => println!("{token}"),
            None => anyhow::bail!("a token named {name} exists; revoke it or pick another name"),
        },
        TokenCmd::Revoke { name } => {
            if !service_tokens::revoke(&pool, &name, now).await? {
                anyhow::bail!("no live token is named {name}");
            }
            println!("revoked {name}");
        }
        TokenCmd::List => {
            for (name, _created) in service_tokens::list(&pool).await? {
                println!("{name}");
            }
        }
    }
    Ok(())
}
