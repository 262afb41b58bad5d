//! The job queue's engine (seeds 000/001: "Workers poll this table for work"). Workers claim due
//! jobs in batches across tenants (`atlas_claim_jobs`, FOR UPDATE SKIP LOCKED), hold a lease they
//! renew while the handler runs, and finish each job inside its own tenant. A job whose worker
//! died is claimed again when its lease ends; finishing requires still holding the lease, so a job
//! is never finished twice. Failures retry with exponential backoff and jitter until
//! `max_retries`, then the job fails with its last error; every attempt is kept in `job_results`.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use entity::jobs;
use entity::sea_orm_active_enums::{JobStatus, MemberRole};
use rand::Rng;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, Statement, Value};
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::scope::{Principal, Scope};

/// What a handler gets: the job, and a scope inside the job's tenant (as Atlas, not a user).
pub struct JobContext {
    pub job: jobs::Model,
    pub scope: Scope,
}

/// A handler's failure: retried while attempts remain, unless `permanent`.
#[derive(Debug, Clone)]
pub struct JobError {
    pub message: String,
    pub permanent: bool,
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        Self { message: message.into(), permanent: false }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), permanent: true }
    }
}

impl From<sea_orm::DbErr> for JobError {
    fn from(e: sea_orm::DbErr) -> Self {
        ServiceError::from(e).into()
    }
}

/// `jobs.error` is read by every member of the tenant: it gets the client's message (internal
/// errors say only "internal error"); the details go to the worker's log.
impl From<ServiceError> for JobError {
    fn from(e: ServiceError) -> Self {
        if let ServiceError::Internal(detail) = &e {
            tracing::error!(error = %detail, "a job failed with an internal error");
        }
        Self::retry(format!("{}: {}", e.code(), e.message()))
    }
}

/// One kind of job. The worker knows nothing of a handler's domain: it claims, calls, records.
pub trait JobHandler: Send + Sync + 'static {
    fn job_type(&self) -> &'static str;
    /// The longest one attempt may take before it counts as failed.
    fn timeout(&self) -> Duration {
        Duration::from_secs(300)
    }
    fn run(
        &self,
        ctx: &JobContext,
    ) -> impl std::future::Future<Output = std::result::Result<serde_json::Value, JobError>> + Send;
}

/// Object-safe form of `JobHandler`, for the registry.
pub trait DynHandler: Send + Sync {
    fn job_type(&self) -> &'static str;
    fn timeout(&self) -> Duration;
    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
    ) -> futures_util::future::BoxFuture<'a, std::result::Result<serde_json::Value, JobError>>;
}

impl<H: JobHandler> DynHandler for H {
    fn job_type(&self) -> &'static str {
        JobHandler::job_type(self)
    }
    fn timeout(&self) -> Duration {
        JobHandler::timeout(self)
    }
    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
    ) -> futures_util::future::BoxFuture<'a, std::result::Result<serde_json::Value, JobError>> {
        Box::pin(JobHandler::run(self, ctx))
    }
}

#[derive(Default, Clone)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<dyn DynHandler>>,
}

impl Registry {
    pub fn register(mut self, handler: impl JobHandler) -> Self {
        self.handlers.insert(JobHandler::job_type(&handler), Arc::new(handler));
        self
    }
    pub fn get(&self, job_type: &str) -> Option<Arc<dyn DynHandler>> {
        self.handlers.get(job_type).cloned()
    }
    pub fn types(&self) -> Vec<String> {
        let mut t: Vec<String> = self.handlers.keys().map(|k| k.to_string()).collect();
        t.sort();
        t
    }
}

/// Who may put a job type on the queue.
#[derive(Clone, Copy)]
pub enum Enqueue {
    /// Only Atlas: the named verb or trigger creates these jobs, with input it built itself.
    Internal { by: &'static str },
    /// Clients too, through `enqueueJob`, from `role` up; `check` validates the input (and may
    /// normalise it) before anything is written.
    Client { role: MemberRole, check: fn(&serde_json::Value) -> Result<serde_json::Value> },
}

/// One kind of job, declared beside its handler: its name, what it does, and who may enqueue it.
pub struct JobType {
    pub name: &'static str,
    pub description: &'static str,
    pub enqueue: Enqueue,
    /// Exists only when Atlas runs in development mode (`ATLAS_ENV=development`).
    pub development_only: bool,
}

/// The priorities a job may have (higher runs first); Atlas's own jobs use 0 to 10.
pub const PRIORITIES: std::ops::RangeInclusive<i32> = -100..=100;

/// What to put on the queue: a known job type, its input, and when and how urgently to run it.
pub struct JobSpec {
    pub job_type: &'static JobType,
    pub input: serde_json::Value,
    pub priority: i32,
    pub max_retries: i32,
    pub scheduled_at: Option<sea_orm::prelude::DateTimeWithTimeZone>,
}

impl JobSpec {
    pub fn new(job_type: &'static JobType, input: serde_json::Value) -> Self {
        Self { job_type, input, priority: 0, max_retries: 3, scheduled_at: None }
    }
    pub fn retries(mut self, max_retries: i32) -> Self {
        self.max_retries = max_retries;
        self
    }
}

/// Checks shared by every enqueue: the priority range and a sane retry count.
pub fn check_priority(priority: i32) -> Result<()> {
    if !PRIORITIES.contains(&priority) {
        return Err(ServiceError::bad_input(
            "priority",
            format!("priority is {} to {} (higher runs first)", PRIORITIES.start(), PRIORITIES.end()),
        ));
    }
    Ok(())
}

pub fn check_retries(max_retries: i32) -> Result<()> {
    if !(0..=25).contains(&max_retries) {
        return Err(ServiceError::bad_input("maxRetries", "maxRetries is 0 to 25"));
    }
    Ok(())
}

/// The one way onto the queue: a job of a declared type in the caller's tenant, created in the
/// caller's transaction (so it exists exactly when the caller's work commits).
pub async fn enqueue(scope: &Scope, spec: JobSpec) -> Result<jobs::Model> {
    check_priority(spec.priority)?;
    check_retries(spec.max_retries)?;
    crate::work::jobs::create(
        scope,
        crate::work::jobs::CreateJobInput {
            job_type: spec.job_type.name.into(),
            priority: spec.priority,
            input: spec.input,
            max_retries: spec.max_retries,
            scheduled_at: spec.scheduled_at,
        },
    )
    .await
}

/// The job types this process offers: every declared one, less the development-only ones
/// outside development mode.
pub fn offered(catalogue: &'static [&'static JobType], development: bool) -> impl Iterator<Item = &'static JobType> {
    catalogue.iter().copied().filter(move |t| development || !t.development_only)
}

/// `enqueueJob`: a client's request, checked against the catalogue. An unknown type (or one that
/// exists only in development) is refused naming the known ones; an internal type is refused
/// naming the verb that starts it; the caller's role and the input are checked by the type.
pub async fn enqueue_client(
    scope: &Scope,
    catalogue: &'static [&'static JobType],
    development: bool,
    input: crate::work::jobs::CreateJobInput,
) -> Result<jobs::Model> {
    let Some(job_type) = offered(catalogue, development).find(|t| t.name == input.job_type) else {
        let known: Vec<&str> = offered(catalogue, development)
            .filter(|t| matches!(t.enqueue, Enqueue::Client { .. }))
            .map(|t| t.name)
            .collect();
        return Err(ServiceError::bad_input(
            "jobType",
            format!("there is no job type {:?}; clients may enqueue: {}", input.job_type, known.join(", ")),
        ));
    };
    let input_value = match job_type.enqueue {
        Enqueue::Internal { by } => {
            return Err(ServiceError::bad_input(
                "jobType",
                format!("{} jobs are started by {by}, not by enqueueJob", job_type.name),
            ))
        }
        Enqueue::Client { role, check } => {
            scope.require(role, &format!("enqueue {} jobs", job_type.name)).await?;
            check(&input.input)?
        }
    };
    enqueue(
        scope,
        JobSpec {
            job_type,
            input: input_value,
            priority: input.priority,
            max_retries: input.max_retries,
            scheduled_at: input.scheduled_at,
        },
    )
    .await
}

/// An input that must be a JSON object with at most these keys (a handler's own check builds on it).
pub fn object_with(input: &serde_json::Value, keys: &[&str]) -> Result<serde_json::Map<String, serde_json::Value>> {
    let Some(map) = input.as_object() else {
        return Err(ServiceError::bad_input("input", "the input is a JSON object"));
    };
    if let Some(k) = map.keys().find(|k| !keys.contains(&k.as_str())) {
        let allowed = if keys.is_empty() { "none".to_string() } else { keys.join(", ") };
        return Err(ServiceError::bad_input("input", format!("unknown input field {k:?}; allowed: {allowed}")));
    }
    Ok(map.clone())
}

/// How retries are spaced: `base * 2^(attempt-1)`, times a random factor in [0.5, 1.5), capped.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { base: Duration::from_secs(2), max: Duration::from_secs(3600) }
    }
}

impl Backoff {
    pub fn delay(&self, attempt: i32) -> Duration {
        let exp = self.base.saturating_mul(1u32 << (attempt.clamp(1, 20) - 1) as u32);
        let jitter = rand::rng().random_range(0.5..1.5);
        exp.mul_f64(jitter).min(self.max)
    }
}

/// Claim up to `limit` due jobs for `worker`, leased for `lease`.
pub async fn claim(
    db: &DatabaseConnection,
    worker: &str,
    limit: usize,
    lease: Duration,
    types: Option<&[String]>,
) -> Result<Vec<jobs::Model>> {
    let types: Value = match types {
        Some(t) => Value::Array(
            sea_orm::sea_query::ArrayType::String,
            Some(Box::new(t.iter().map(|s| s.clone().into()).collect())),
        ),
        None => Value::Array(sea_orm::sea_query::ArrayType::String, None),
    };
    let rows = crate::pool::all(
        db,
        Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT * FROM atlas_claim_jobs($1, $2, $3, $4)",
            [worker.into(), (limit as i32).into(), (lease.as_millis() as i32).into(), types],
        ),
    )
    .await?;
    Ok(rows.iter().map(|r| jobs::Model::from_query_result(r, "")).collect::<std::result::Result<_, _>>()?)
}

/// Whether this connection's role may claim jobs (holds `atlas_queue`): a worker started with the
/// server's role would otherwise only log permission errors forever.
pub async fn check_can_claim(db: &DatabaseConnection) -> std::result::Result<(), String> {
    let row = crate::pool::one(
        db,
        Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_user::text AS name, \
               has_function_privilege('atlas_claim_jobs(text, integer, integer, text[])', 'EXECUTE') AS ok",
        ),
    )
    .await
    .map_err(|e| format!("cannot check the role's privileges: {e}"))?
    .ok_or("cannot check the role's privileges")?;
    let ok: bool = row.try_get("", "ok").map_err(|e| e.to_string())?;
    if ok {
        return Ok(());
    }
    let name: String = row.try_get("", "name").map_err(|e| e.to_string())?;
    Err(format!(
        "the role {name:?} may not claim jobs: workers log in with a role that holds atlas_queue \
         (`atlas migrate` grants it to the user of ATLAS_WORKER_DATABASE_URL)"
    ))
}

/// A scope inside the job's tenant, acting as Atlas.
pub fn system_scope(db: &DatabaseConnection, tenant: Uuid) -> Scope {
    Scope::new(db.clone(), Principal::system(tenant))
}

/// Renew the lease; false when the job is no longer ours (reclaimed or cancelled).
pub async fn heartbeat(db: &DatabaseConnection, job: &jobs::Model, worker: &str, lease: Duration) -> Result<bool> {
    let scope = system_scope(db, job.tenant_id);
    let tx = scope.tx().await?;
    let res = tx
        .execute_raw(crate::query::raw(
            &scope,
            "UPDATE jobs SET locked_until = now() + make_interval(secs => $4 / 1000.0) \
             WHERE tenant_id = $1 AND id = $2 AND locked_by = $3 AND status = 'running'",
            [job.id.into(), worker.into(), (lease.as_millis() as f64).into()],
        )?)
        .await?;
    drop(tx);
    scope.finish(true).await?;
    Ok(res.rows_affected() == 1)
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded,
    /// Will run again at this time.
    Retrying(chrono::DateTime<chrono::Utc>),
    Failed,
    /// The lease was lost (the job was reclaimed or cancelled): nothing was recorded.
    Lost,
}

/// Record the end of an attempt: success, or failure with retry or final failure. Only the
/// worker still holding the lease can do so.
pub async fn finish(
    db: &DatabaseConnection,
    job: &jobs::Model,
    worker: &str,
    result: std::result::Result<serde_json::Value, JobError>,
    started: Instant,
    backoff: Backoff,
) -> Result<Outcome> {
    let attempt = job.retry_count + 1;
    let duration_ms = started.elapsed().as_millis() as i64;
    let (status, output, error, next_retry, outcome) = match result {
        Ok(output) => (JobStatus::Succeeded, Some(output), None, None, Outcome::Succeeded),
        Err(e) => {
            let error = serde_json::json!({ "message": e.message, "attempt": attempt });
            if !e.permanent && attempt <= job.max_retries {
                let at = chrono::Utc::now() + chrono::Duration::from_std(backoff.delay(attempt)).unwrap_or_default();
                (JobStatus::Queued, None, Some(error), Some(at), Outcome::Retrying(at))
            } else {
                (JobStatus::Failed, None, Some(error), None, Outcome::Failed)
            }
        }
    };
    let result_status = if matches!(outcome, Outcome::Succeeded) { JobStatus::Succeeded } else { JobStatus::Failed };
    // One call, its own transaction: the job's state and its result row, or nothing when the
    // lease is no longer ours (`atlas_finish_job`, in the job's tenant).
    let row = crate::pool::one(
        db,
        Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT atlas_finish_job($1, $2, $3, $4::job_status, $5, $6, $7, $8, $9, $10::job_status, $11) AS ok",
            [
                job.tenant_id.into(),
                job.id.into(),
                worker.into(),
                Value::String(Some(status_name(status).into())),
                output.into(),
                error.into(),
                next_retry.into(),
                Uuid::now_v7().into(),
                attempt.into(),
                Value::String(Some(status_name(result_status).into())),
                duration_ms.into(),
            ],
        ),
    )
    .await?;
    let recorded = match row {
        Some(row) => row.try_get::<bool>("", "ok")?,
        None => false,
    };
    Ok(if recorded { outcome } else { Outcome::Lost })
}

/// Give a job back without counting an attempt (a worker stopping gracefully).
pub async fn release(db: &DatabaseConnection, job: &jobs::Model, worker: &str) -> Result<bool> {
    let scope = system_scope(db, job.tenant_id);
    let tx = scope.tx().await?;
    let res = tx
        .execute_raw(crate::query::raw(
            &scope,
            "UPDATE jobs SET status = 'queued', locked_by = NULL, locked_until = NULL \
             WHERE tenant_id = $1 AND id = $2 AND locked_by = $3 AND status = 'running'",
            [job.id.into(), worker.into()],
        )?)
        .await?;
    drop(tx);
    scope.finish(true).await?;
    Ok(res.rows_affected() == 1)
}

fn status_name(s: JobStatus) -> &'static str {
    match s {
        JobStatus::Queued => "queued",
        JobStatus::Running => "running",
        JobStatus::Succeeded => "succeeded",
        JobStatus::Failed => "failed",
        JobStatus::Cancelled => "cancelled",
    }
}

/// Cancel a queued or running job (members and above). A running handler notices on its next
/// heartbeat; its result is then discarded.
pub async fn cancel(scope: &Scope, id: Uuid) -> Result<jobs::Model> {
    scope.require(entity::sea_orm_active_enums::MemberRole::Member, "cancel jobs").await?;
    change_state(
        scope,
        id,
        "UPDATE jobs SET status = 'cancelled', completed_at = now(), locked_by = NULL, locked_until = NULL \
        WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running') RETURNING *",
        "only a queued or running job can be cancelled",
        "job.cancel",
    )
    .await
}

/// Run a failed or cancelled job again from scratch (members and above).
pub async fn retry(scope: &Scope, id: Uuid) -> Result<jobs::Model> {
    scope.require(entity::sea_orm_active_enums::MemberRole::Member, "retry jobs").await?;
    change_state(
        scope,
        id,
        "UPDATE jobs SET status = 'queued', retry_count = 0, next_retry_at = NULL, error = NULL, \
        completed_at = NULL, scheduled_at = now(), progress = 0 \
        WHERE tenant_id = $1 AND id = $2 AND status IN ('failed', 'cancelled') RETURNING *",
        "only a failed or cancelled job can be retried",
        "job.retry",
    )
    .await
}

async fn change_state(scope: &Scope, id: Uuid, sql: &str, refused: &str, action: &str) -> Result<jobs::Model> {
    // NOT_FOUND for another tenant's job (or none), before the state check.
    crate::query::get::<jobs::Entity>(scope, "job", id).await?;
    let tx = scope.tx().await?;
    let row = tx.query_one_raw(crate::query::raw(scope, sql, [id.into()])?).await?;
    drop(tx);
    let Some(row) = row else {
        return Err(ServiceError::Conflict { field: Some("id".into()), message: refused.into() });
    };
    let job = jobs::Model::from_query_result(&row, "")?;
    crate::governance::record(scope, action, "jobs", id, serde_json::json!({})).await?;
    Ok(job)
}

/// Diagnostic handlers, in development and test only: `NOOP` (benchmarks), `SLEEP`
/// (`{"ms": n}`), `FAIL` (always fails).
pub mod diagnostics {
    use super::*;

    fn no_input(input: &serde_json::Value) -> Result<serde_json::Value> {
        object_with(input, &[]).map(serde_json::Value::Object)
    }

    fn sleep_input(input: &serde_json::Value) -> Result<serde_json::Value> {
        let map = object_with(input, &["ms"])?;
        if let Some(ms) = map.get("ms") {
            if ms.as_u64().is_none_or(|ms| ms > 600_000) {
                return Err(ServiceError::bad_input("input.ms", "ms is a whole number from 0 to 600000"));
            }
        }
        Ok(serde_json::Value::Object(map))
    }

    pub static NOOP: JobType = JobType {
        name: "NOOP",
        description: "Does nothing (benchmarks). Development only.",
        enqueue: Enqueue::Client { role: MemberRole::Member, check: no_input },
        development_only: true,
    };
    pub static SLEEP: JobType = JobType {
        name: "SLEEP",
        description: "Sleeps `input.ms` milliseconds (at most 600000). Development only.",
        enqueue: Enqueue::Client { role: MemberRole::Member, check: sleep_input },
        development_only: true,
    };
    pub static FAIL: JobType = JobType {
        name: "FAIL",
        description: "Always fails, so retries and backoff can be watched. Development only.",
        enqueue: Enqueue::Client { role: MemberRole::Member, check: no_input },
        development_only: true,
    };

    pub struct Noop;
    impl JobHandler for Noop {
        fn job_type(&self) -> &'static str {
            NOOP.name
        }
        async fn run(&self, _ctx: &JobContext) -> std::result::Result<serde_json::Value, JobError> {
            Ok(serde_json::json!({}))
        }
    }

    pub struct Sleep;
    impl JobHandler for Sleep {
        fn job_type(&self) -> &'static str {
            SLEEP.name
        }
        async fn run(&self, ctx: &JobContext) -> std::result::Result<serde_json::Value, JobError> {
            let ms = ctx.job.input.get("ms").and_then(|v| v.as_u64()).unwrap_or(100).min(600_000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(serde_json::json!({ "slept_ms": ms }))
        }
    }

    pub struct Fail;
    impl JobHandler for Fail {
        fn job_type(&self) -> &'static str {
            FAIL.name
        }
        async fn run(&self, ctx: &JobContext) -> std::result::Result<serde_json::Value, JobError> {
            Err(JobError::retry(format!("FAIL job {} failed on purpose", ctx.job.id)))
        }
    }

    pub fn registry() -> Registry {
        Registry::default().register(Noop).register(Sleep).register(Fail)
    }
}

#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Identifies this worker in `locked_by` and `job_results.worker`.
    pub id: String,
    pub concurrency: usize,
    pub lease: Duration,
    /// Fallback poll interval (NOTIFY wakes the worker sooner).
    pub poll: Duration,
    pub backoff: Backoff,
    /// How long a stopping worker lets running jobs finish before releasing them.
    pub grace: Duration,
    /// Job types to claim; all registered types when None.
    pub types: Option<Vec<String>>,
}

/// How long a stopping worker tries to give back the jobs it could not finish.
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// Run a worker until `shutdown` turns true; then let running jobs finish (up to `grace`) and
/// release the rest, so a stop loses nothing.
pub async fn run_worker(
    db: DatabaseConnection,
    listen_url: String,
    registry: Registry,
    opts: WorkerOptions,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    use std::sync::Mutex;
    use tokio::task::JoinSet;

    let types = opts.types.clone().unwrap_or_else(|| registry.types());
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect(&listen_url).await?;
    listener.listen("atlas_jobs").await?;
    let held: Arc<Mutex<HashMap<Uuid, jobs::Model>>> = Arc::default();
    let mut running: JoinSet<()> = JoinSet::new();
    tracing::info!(worker = %opts.id, concurrency = opts.concurrency, ?types, "worker started");
    while !*shutdown.borrow() {
        // Count every attempt that has already ended, not only the one that woke us: short jobs
        // end in bursts, and one claim for the whole burst is one statement instead of many.
        while running.try_join_next().is_some() {}
        let free = opts.concurrency.saturating_sub(running.len());
        let mut claimed = 0;
        if free > 0 {
            // A claim waits on the pool while the database is away: a stop must not wait with it.
            let claimed_now = tokio::select! {
                r = claim(&db, &opts.id, free, opts.lease, Some(&types)) => r,
                _ = shutdown.changed() => break,
            };
            match claimed_now {
                Ok(jobs) => {
                    claimed = jobs.len();
                    for job in jobs {
                        held.lock().unwrap_or_else(|p| p.into_inner()).insert(job.id, job.clone());
                        let (db, registry, opts, held) = (db.clone(), registry.clone(), opts.clone(), held.clone());
                        running.spawn(async move {
                            let id = job.id;
                            run_one(&db, &registry, &opts, job).await;
                            held.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "claiming jobs failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(opts.poll) => {}
                        _ = shutdown.changed() => break,
                    }
                }
            }
        }
        if claimed > 0 && claimed == free {
            continue; // more may be due right now
        }
        tokio::select! {
            note = listener.recv() => {
                if let Err(e) = note {
                    tracing::warn!(error = %e, "job notifications lost; polling until they return");
                    tokio::time::sleep(opts.poll).await;
                }
            }
            _ = tokio::time::sleep(opts.poll) => {}
            _ = shutdown.changed() => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    tracing::info!(worker = %opts.id, running = running.len(), "worker stopping");
    let drained = tokio::time::timeout(opts.grace, async { while running.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        running.abort_all();
        let left: Vec<jobs::Model> = held.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        // With the database away, releasing would wait on the pool: give up after a moment,
        // since an unreleased job's lease expires by itself.
        let releasing = async {
            for job in &left {
                if let Err(e) = release(&db, job, &opts.id).await {
                    tracing::warn!(job = %job.id, error = ?e, "could not release a job; its lease will expire");
                }
            }
        };
        if tokio::time::timeout(RELEASE_WAIT, releasing).await.is_err() {
            tracing::warn!(jobs = left.len(), "could not release the running jobs in time; their leases will expire");
        }
    }
    Ok(())
}

/// One attempt: the handler under a timeout, its lease renewed meanwhile; then the result.
async fn run_one(db: &DatabaseConnection, registry: &Registry, opts: &WorkerOptions, job: jobs::Model) {
    let started = Instant::now();
    let result = match registry.get(&job.job_type) {
        None => Err(JobError::permanent(format!("no handler for job type {}", job.job_type))),
        Some(handler) => {
            let ctx = JobContext { job: job.clone(), scope: system_scope(db, job.tenant_id) };
            let work = tokio::time::timeout(handler.timeout(), handler.run(&ctx));
            let renew = async {
                loop {
                    tokio::time::sleep(opts.lease / 3).await;
                    match heartbeat(db, &job, &opts.id, opts.lease).await {
                        Ok(true) => {}
                        Ok(false) => return,
                        Err(e) => tracing::warn!(job = %job.id, error = ?e, "heartbeat failed"),
                    }
                }
            };
            let outcome = tokio::select! {
                r = work => Some(r),
                _ = renew => None,
            };
            match outcome {
                // The lease is gone (cancelled, or reclaimed after a stall): drop the attempt.
                None => {
                    let _ = ctx.scope.finish(false).await;
                    tracing::info!(job = %job.id, "lease lost; attempt abandoned");
                    return;
                }
                Some(Err(_)) => {
                    let _ = ctx.scope.finish(false).await;
                    Err(JobError::retry(format!("timed out after {:?}", handler.timeout())))
                }
                Some(Ok(r)) => {
                    // The handler's own writes commit with its success and roll back with its failure.
                    match ctx.scope.finish(r.is_ok()).await {
                        Ok(()) => r,
                        Err(e) => Err(JobError::from(e)),
                    }
                }
            }
        }
    };
    // The database may be away just when the attempt ends (a restart): keep trying while the lease
    // still holds, or the job would run again once the lease expires. Recording twice is harmless:
    // `atlas_finish_job` records only while the lease is this worker's.
    let deadline = Instant::now() + opts.lease;
    let mut wait = Duration::from_millis(100);
    loop {
        match finish(db, &job, &opts.id, result.clone(), started, opts.backoff).await {
            Ok(outcome) => {
                tracing::debug!(job = %job.id, ?outcome, "job attempt ended");
                return;
            }
            Err(e) if e.code() == "SERVICE_UNAVAILABLE" && Instant::now() + wait < deadline => {
                tracing::info!(job = %job.id, "the database is away; recording the result when it returns");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            Err(e) => {
                tracing::warn!(job = %job.id, error = ?e, "could not record a job's result; its lease will expire");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::JobError;
    use crate::ServiceError;

    /// `jobs.error` is read by every member: an internal error's details (paths, SQL, keys)
    /// stay in the worker's log.
    #[test]
    fn job_errors_carry_the_clients_message_only() {
        let internal =
            JobError::from(ServiceError::internal("could not open /var/lib/atlas/objects/tenants/x: EACCES"));
        assert_eq!(internal.message, "INTERNAL: internal error");
        let not_found = JobError::from(ServiceError::not_found("file", "f1"));
        assert_eq!(not_found.message, "NOT_FOUND: file f1 was not found");
    }
}
