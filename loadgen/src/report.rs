//! The run's figures, as a table for people and as JSON for scripts.

use std::sync::atomic::Ordering;

use crate::client::Seen;
use crate::proc_stats::Sample;
use crate::producer::Outcome;
use crate::{Args, Shared};

/// What was measured around the run.
pub struct Measured {
    pub connect_secs: f64,
    pub produce_secs: f64,
    pub delivery_secs: f64,
    pub outcome: Outcome,
    pub seen: Vec<Seen>,
    pub before: Option<Sample>,
    pub connected: Option<Sample>,
    pub produced: Option<Sample>,
}

#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub args: Args,
    pub sockets: usize,
    pub connect_secs: f64,
    pub connect_failures: u64,
    pub creates_accepted: usize,
    pub creates_failed: Vec<(u16, u64)>,
    /// Every socket should see every accepted create once.
    pub expected_deliveries: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub frames: u64,
    pub frames_per_sec: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
    pub reconnects: u64,
    pub snapshots: u64,
    pub server_cpu_percent: Option<f64>,
    pub server_rss_kib: Option<u64>,
    pub rss_per_socket_kib: Option<f64>,
}

impl Report {
    pub fn new(shared: &Shared, m: Measured) -> Report {
        let accepted = shared
            .accepted
            .iter()
            .filter(|a| a.load(Ordering::Relaxed))
            .count();
        let sockets = m.seen.len();
        let expected = (accepted * sockets) as u64;
        let delivered: u64 = m.seen.iter().map(|s| s.creates.min(accepted) as u64).sum();
        let frames = shared.frames.load(Ordering::Relaxed);
        let latency = shared.latency.lock().unwrap_or_else(|e| e.into_inner());
        let ms = |q: f64| {
            if latency.is_empty() {
                0.0
            } else {
                latency.value_at_quantile(q) as f64 / 1000.0
            }
        };
        let cpu = match (m.connected, m.produced) {
            (Some(a), Some(b)) if m.produce_secs > 0.0 => {
                Some((b.cpu_secs - a.cpu_secs) / m.produce_secs * 100.0)
            }
            _ => None,
        };
        let per_socket = match (m.before, m.connected) {
            (Some(a), Some(b)) if sockets > 0 => {
                Some(b.rss_kib.saturating_sub(a.rss_kib) as f64 / sockets as f64)
            }
            _ => None,
        };
        Report {
            args: shared.args.clone(),
            sockets,
            connect_secs: m.connect_secs,
            connect_failures: shared.connect_failures.load(Ordering::Relaxed),
            creates_accepted: accepted,
            creates_failed: m.outcome.failed.clone(),
            expected_deliveries: expected,
            delivered,
            lost: expected.saturating_sub(delivered),
            duplicates: m.seen.iter().map(|s| s.duplicates).sum(),
            out_of_order: m.seen.iter().map(|s| s.out_of_order).sum(),
            frames,
            frames_per_sec: frames as f64 / m.delivery_secs.max(0.001),
            latency_ms_p50: ms(0.50),
            latency_ms_p99: ms(0.99),
            latency_ms_max: if latency.is_empty() {
                0.0
            } else {
                latency.max() as f64 / 1000.0
            },
            reconnects: shared.reconnects.load(Ordering::Relaxed),
            snapshots: shared.snapshots.load(Ordering::Relaxed),
            server_cpu_percent: cpu,
            server_rss_kib: m.produced.or(m.connected).map(|s| s.rss_kib),
            rss_per_socket_kib: per_socket,
        }
    }

    pub fn print(&self) {
        let a = &self.args;
        let opt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
        println!("| run | {} {:?} |", a.label, a.target);
        println!("|---|---|");
        println!(
            "| sockets (connect time) | {} ({:.1} s, {} failed) |",
            self.sockets, self.connect_secs, self.connect_failures
        );
        println!(
            "| creates accepted / failed | {} / {:?} |",
            self.creates_accepted, self.creates_failed
        );
        println!(
            "| delivered / expected | {} / {} (lost {}, duplicates {}, out of order {}) |",
            self.delivered, self.expected_deliveries, self.lost, self.duplicates, self.out_of_order
        );
        println!(
            "| frames received | {} ({:.0}/s) |",
            self.frames, self.frames_per_sec
        );
        println!(
            "| create → delivery p50 / p99 / max | {:.1} / {:.1} / {:.1} ms |",
            self.latency_ms_p50, self.latency_ms_p99, self.latency_ms_max
        );
        println!(
            "| reconnects / snapshots after a rejoin | {} / {} |",
            self.reconnects, self.snapshots
        );
        println!(
            "| server CPU while creating | {} % |",
            opt(self.server_cpu_percent)
        );
        println!(
            "| server RSS / per socket | {} KiB / {} KiB |",
            self.server_rss_kib.map_or("-".into(), |v| v.to_string()),
            opt(self.rss_per_socket_kib)
        );
    }
}
