//! Worker processes and job batches for the queue tests.
use std::process::{Child, Command};

use serde_json::json;
use uuid::Uuid;

use super::{data, id, TestApp, TestUser};

pub struct Worker(Child);

impl Worker {
    pub fn start(app: &TestApp, args: &[&str]) -> Self {
        Self::start_with_env(app, args, &[])
    }

    pub fn start_with_env(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Self {
        let child =
            super::atlas(&app.config, "worker").args(args).envs(env.iter().copied()).spawn().expect("start a worker");
        Worker(child)
    }

    /// The most memory the process has held at once (VmHWM), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .expect("VmHWM of the worker")
    }

    /// Hold the worker where it is (SIGSTOP) until `resume`: a test that must be watching before
    /// a job starts holds the worker meanwhile, since an idle worker claims a new job at once.
    pub fn pause(&self) {
        let _ = Command::new("kill").args(["-STOP", &self.0.id().to_string()]).status();
    }

    pub fn resume(&self) {
        let _ = Command::new("kill").args(["-CONT", &self.0.id().to_string()]).status();
    }

    pub fn kill9(&mut self) {
        let _ = Command::new("kill").args(["-9", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }

    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        self.0.wait().map(|s| s.success()).unwrap_or(false)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Enqueue `n` jobs through GraphQL, 100 per request; `more` adds input fields (`input: …`, …).
pub async fn enqueue(
    app: &TestApp,
    user: &TestUser,
    tenant: Uuid,
    n: usize,
    job_type: &str,
    priority: i32,
    more: &str,
) -> Vec<Uuid> {
    let mut ids = vec![];
    let mut left = n;
    while left > 0 {
        let batch = left.min(100);
        let fields: Vec<String> = (0..batch)
            .map(|i| {
                format!("j{i}: enqueueJob(input: {{ jobType: \"{job_type}\", priority: {priority}, {more} }}) {{ id }}")
            })
            .collect();
        let res = app.gql(user, Some(tenant), &format!("mutation {{ {} }}", fields.join(" ")), json!({})).await;
        for i in 0..batch {
            ids.push(id(data(&res, &format!("j{i}.id"))));
        }
        left -= batch;
    }
    ids
}

/// A job's status as the database holds it, and whether a worker's lease on it is still running
/// (read as the owner, past row-level security).
pub async fn lease_of(owner: &sea_orm::DatabaseConnection, job: Uuid) -> (String, bool) {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let sql = "SELECT status::text AS status, coalesce(locked_until > now(), false) AS leased FROM jobs WHERE id = $1";
    let row = owner
        .query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [job.into()]))
        .await
        .expect("job row")
        .expect("the job exists");
    (row.try_get("", "status").expect("status"), row.try_get("", "leased").expect("leased"))
}
