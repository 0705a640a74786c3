//! The real `server` binary as a child process: for what only a separate process shows
//! (a `kill -9`, several servers on one database).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One `server serve` process.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
    log: std::path::PathBuf,
    database_url: String,
    data_dir: std::path::PathBuf,
    env: Vec<(String, String)>,
}

impl ServerProcess {
    /// Starts a server on `database_url` with its own data directory and `env` on top,
    /// and waits until it answers.
    pub async fn start(
        database_url: &str,
        data_dir: &std::path::Path,
        env: &[(&str, &str)],
    ) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::start_on(port, database_url, data_dir, env).await
    }

    /// The same server again (same port, database, data directory and settings), as
    /// after a crash. The old one must be gone.
    pub async fn restart(&self) -> ServerProcess {
        Self::start_on(
            self.port,
            &self.database_url,
            &self.data_dir,
            self.env.clone(),
        )
        .await
    }

    async fn start_on(
        port: u16,
        database_url: &str,
        data_dir: &std::path::Path,
        env: Vec<(String, String)>,
    ) -> ServerProcess {
        std::fs::create_dir_all(data_dir).unwrap();
        let log = data_dir.join("server.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("TASKWIRE_DATA_DIR", data_dir)
            .env("TASKWIRE_DATABASE_URL", database_url)
            .env("TASKWIRE_ANALYSIS_DELAY_MS", "0")
            .env("TASKWIRE_ACTIONS_PER_MINUTE", "100000")
            .env("TASKWIRE_ACTION_BURST", "10000")
            .env("TASKWIRE_SIGNIN_PER_MINUTE", "100000")
            .env("TASKWIRE_SIGNIN_BURST", "10000")
            .env("RUST_LOG", "warn");
        for (k, v) in &env {
            command.env(k, v);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the server binary starts");
        let server = ServerProcess {
            child,
            port,
            log,
            database_url: database_url.to_owned(),
            data_dir: data_dir.to_owned(),
            env,
        };
        let http = reqwest::Client::new();
        for _ in 0..300 {
            let health = http
                .get(format!("http://127.0.0.1:{port}/api/health"))
                .send()
                .await;
            if matches!(health, Ok(ref r) if r.status() == 200) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server on {port} did not start:\n{}", server.log_text());
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
