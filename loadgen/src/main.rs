//! `taskwire-load`: dashboard sockets spread over many users, tasks created over HTTP at
//! a set rate, and a report of what every socket saw: delivered frames per second,
//! create → delivery latency, loss, duplicates and order, and the server's CPU and
//! memory (`--server-pid`).
//!
//! It speaks to taskwire, to the bare fan-out reference (`bare-fanout`, same protocol)
//! and to the Socket.IO peer in `bench/socketio-peer`, so one harness measures all
//! three. Every run is bounded: it connects, produces for `--seconds`, waits at most
//! `--settle` seconds for stragglers, reports and exits.

mod client;
mod proc_stats;
mod producer;
mod report;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, ValueEnum};

/// Which server, and so which protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// taskwire itself: accounts, sessions, `/ws`, `/api/tasks`.
    Taskwire,
    /// The bare fan-out server: taskwire's frames, no accounts, nothing stored.
    Bare,
    /// The Socket.IO 4 peer (Engine.IO v4 framing).
    Socketio,
}

/// Load for a taskwire-like server.
#[derive(Debug, Clone, Parser, serde::Serialize)]
#[command(name = "taskwire-load", version, about)]
pub struct Args {
    /// The server's base URL; several, separated by commas, for servers that share one
    /// database (sockets and creates are spread over them in turn).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub url: String,
    #[arg(long, value_enum, default_value = "taskwire")]
    pub target: Target,
    /// Dashboard sockets to hold open.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Sockets per account (taskwire caps an account at 50; a dropped socket's place is
    /// freed a moment after it closes, so keep some room for rejoins).
    #[arg(long, default_value_t = 40)]
    pub sockets_per_user: usize,
    /// Tasks created per second; 0 creates as fast as `--concurrency` allows.
    #[arg(long, default_value_t = 50.0)]
    pub rate: f64,
    /// How long to create tasks.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Creates in flight at once, so the producer is never the bottleneck.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Forced drops: each socket closes and rejoins (with `since`) every this many
    /// seconds, at a random phase.
    #[arg(long)]
    pub drop_every: Option<f64>,
    /// Longest wait after the last create for every socket to have seen every task.
    #[arg(long, default_value_t = 15.0)]
    pub settle: f64,
    /// The server's process id, for CPU and resident memory (repeat it for several
    /// servers: their figures are summed).
    #[arg(long)]
    pub server_pid: Vec<u32>,
    /// Also write the report here, as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// A name for this run in the report.
    #[arg(long, default_value = "")]
    pub label: String,
    /// Only connect the sockets, measure memory, and stop (no creates).
    #[arg(long)]
    pub idle: bool,
    /// Stop after this many creates (within `--seconds`), e.g. to seed a database.
    #[arg(long)]
    pub creates: Option<usize>,
}

impl Args {
    /// The `n`th server of `--url`, in turn.
    pub fn url_for(&self, n: usize) -> &str {
        let urls: Vec<&str> = self.url.split(',').map(str::trim).collect();
        urls[n % urls.len()]
    }
}

/// What the whole run shares.
pub struct Shared {
    pub args: Args,
    /// Titles are `lg-<run>-<n>`, so frames of earlier runs are told apart.
    pub run: String,
    /// When create `n` was sent, in microseconds since `start` (0: not yet).
    pub sent_at: Vec<AtomicU64>,
    /// Whether the server accepted create `n`.
    pub accepted: Vec<AtomicBool>,
    pub start: Instant,
    /// Latencies (µs) from every socket, merged in batches.
    pub latency: Mutex<hdrhistogram::Histogram<u64>>,
    pub frames: AtomicU64,
    pub snapshots: AtomicU64,
    pub reconnects: AtomicU64,
    pub connect_failures: AtomicU64,
}

impl Shared {
    pub fn micros(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let max_creates = if args.idle {
        0
    } else if let Some(n) = args.creates {
        n
    } else if args.rate > 0.0 {
        (args.rate * args.seconds).ceil() as usize
    } else {
        2_000_000
    };
    let run = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
            % 0xffff_ffff
    );
    let shared = Arc::new(Shared {
        args: args.clone(),
        run,
        sent_at: (0..max_creates).map(|_| AtomicU64::new(0)).collect(),
        accepted: (0..max_creates).map(|_| AtomicBool::new(false)).collect(),
        start: Instant::now(),
        latency: Mutex::new(hdrhistogram::Histogram::new_with_bounds(1, 600_000_000, 3)?),
        frames: AtomicU64::new(0),
        snapshots: AtomicU64::new(0),
        reconnects: AtomicU64::new(0),
        connect_failures: AtomicU64::new(0),
    });

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let accounts = producer::accounts(&http, &shared)
        .await
        .context("signing up")?;
    let before = proc_stats::sample(&args.server_pid);

    let connect_started = Instant::now();
    let clients = client::connect_all(&shared, &accounts.socket_tokens).await?;
    let connect_secs = connect_started.elapsed().as_secs_f64();
    let connected = proc_stats::sample(&args.server_pid);
    eprintln!("{} sockets connected in {connect_secs:.1} s", clients.len());

    let produce_started = Instant::now();
    let outcome = if args.idle {
        producer::Outcome::default()
    } else {
        producer::produce(&http, &shared, &accounts.producer_token).await
    };
    let produce_secs = produce_started.elapsed().as_secs_f64();
    let produced = proc_stats::sample(&args.server_pid);

    let created = outcome.created;
    let seen = client::finish(
        &shared,
        clients,
        created,
        Duration::from_secs_f64(args.settle),
    )
    .await;
    let delivery_secs = produce_started.elapsed().as_secs_f64();

    let report = report::Report::new(
        &shared,
        report::Measured {
            connect_secs,
            produce_secs,
            delivery_secs,
            outcome,
            seen,
            before,
            connected,
            produced,
        },
    );
    report.print();
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
