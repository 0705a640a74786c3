//! The load generator against a real server, small: every socket sees every create
//! once and in order, also while each socket keeps dropping and rejoining with `since`.
//! Nothing here is about time; the figures come from `scripts/bench.sh`.

use std::time::Duration;

use serde_json::Value;
use server::config::{Rate, Settings};
use server::startup::Application;

async fn start_server(dir: &std::path::Path) -> u16 {
    let mut settings = Settings::for_data_dir(dir);
    settings.addr = ([127, 0, 0, 1], 0).into();
    settings.analysis_delay = Duration::ZERO;
    let many = Rate {
        per_minute: 100_000,
        burst: 10_000,
    };
    settings.ip_limits.sign_in = many;
    settings.actions_per_minute = 100_000;
    settings.action_burst = 10_000;
    let app = Application::build(settings).await.expect("server builds");
    let port = app.port();
    tokio::spawn(app.run_until(std::future::pending()));
    port
}

fn run_load(port: u16, json: &std::path::Path, extra: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_taskwire-load"))
        .args(["--url", &format!("http://127.0.0.1:{port}")])
        .args(["--clients", "30", "--sockets-per-user", "10"])
        .args(["--rate", "20", "--seconds", "2", "--settle", "20"])
        .arg("--json")
        .arg(json)
        .args(extra)
        .output()
        .expect("taskwire-load runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap()
}

fn assert_nothing_lost(report: &Value) {
    assert_eq!(report["sockets"], 30, "{report}");
    assert_eq!(report["connect_failures"], 0, "{report}");
    assert_eq!(report["creates_failed"], serde_json::json!([]), "{report}");
    assert_eq!(report["creates_accepted"], 40, "{report}");
    assert_eq!(report["expected_deliveries"], 30 * 40, "{report}");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["duplicates"], 0, "{report}");
    assert_eq!(report["out_of_order"], 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_socket_sees_every_create_once_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let port = start_server(dir.path()).await;
    let json = dir.path().join("report.json");
    let report = tokio::task::spawn_blocking(move || run_load(port, &json, &[]))
        .await
        .unwrap();
    assert_nothing_lost(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_that_keep_dropping_and_rejoining_miss_nothing_and_need_no_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let port = start_server(dir.path()).await;
    let json = dir.path().join("report.json");
    let report =
        tokio::task::spawn_blocking(move || run_load(port, &json, &["--drop-every", "0.5"]))
            .await
            .unwrap();
    assert_nothing_lost(&report);
    assert!(
        report["reconnects"].as_u64().unwrap() >= 30,
        "every socket dropped at least once: {report}"
    );
    assert_eq!(report["snapshots"], 0, "short gaps are replayed: {report}");
}
