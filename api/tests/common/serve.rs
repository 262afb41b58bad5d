//! `atlas serve` as a process of its own, configured as the in-process test servers are, for the
//! tests that need what only a process has: signals, exit, a pool and a listener of its own.
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use api::auth::Keys;
use api::config::Config;

use super::{TestApp, METRICS_TOKEN};

pub struct Served(Child);

impl Served {
    /// Starts `atlas serve` with `config`, `args` and `env` (over the test defaults), and waits
    /// until it answers `/health`.
    pub async fn start(mut config: Config, args: &[&str], env: &[(&str, &str)]) -> (TestApp, Served) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let base = format!("http://127.0.0.1:{port}");
        config.public_url = base.clone();
        config.application_name = format!("atlas-test-serve-{port}");
        let child = super::atlas(&config, "serve")
            .args(args)
            .env("ATLAS_LISTEN_URL", &config.listen_url)
            .env("ATLAS_DB_PREPARED_STATEMENTS", config.prepared_statements.to_string())
            .env("ATLAS_DB_POOL_SIZE", config.db_pool_size.to_string())
            .env("ATLAS_BIND", format!("127.0.0.1:{port}"))
            .env("ATLAS_PUBLIC_URL", &base)
            .env("ATLAS_APPLICATION_NAME", &config.application_name)
            .env("ATLAS_WORKERS", "2")
            .env("ATLAS_SERVE_WORKER", "false")
            .env("ATLAS_JWT_SECRET", &config.jwt_secret)
            .env("ATLAS_METRICS_TOKEN", METRICS_TOKEN)
            .envs(env.iter().copied())
            .spawn()
            .expect("start atlas serve");
        let served = Served(child);
        let client = reqwest::Client::new();
        let started = Instant::now();
        while client.get(format!("{base}/health")).send().await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "atlas serve did not answer within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let keys = Keys::with_rules(&config.jwt_secret, config.token_rules.clone());
        (TestApp { base, client, keys, config }, served)
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    pub fn signal(&self, name: &str) {
        let _ = Command::new("kill").args([&format!("-{name}"), &self.0.id().to_string()]).status();
    }

    /// Waits up to `limit` for the process to exit; None when it is still running.
    pub async fn exited_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status);
            }
            if started.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
