//! The job queue with real worker processes: 4 workers and 10,000 jobs each finished once, a
//! worker killed with SIGKILL mid-batch losing nothing, priorities, and retries with backoff.
//! Each test uses its own job type, so workers of parallel tests never take each other's jobs.
mod common;

use std::time::{Duration, Instant};

use common::jobs::{enqueue, Worker};
use common::{data, exec, TestApp};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::json;
use uuid::Uuid;

async fn count(db: &DatabaseConnection, sql: &str, tenant: Uuid) -> i64 {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [tenant.into()]))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn wait_for(db: &DatabaseConnection, tenant: Uuid, status: &str, want: i64, timeout: Duration) {
    let started = Instant::now();
    let sql = format!("SELECT count(*) AS n FROM jobs WHERE tenant_id = $1 AND status = '{status}'");
    loop {
        let n = count(db, &sql, tenant).await;
        if n >= want {
            return;
        }
        assert!(started.elapsed() < timeout, "only {n} of {want} jobs {status} after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn four_workers_finish_ten_thousand_jobs_once_each() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let db = app.owner_db().await;
    let ids = enqueue(&app, &owner, t, 10_000, "NOOP", 0, "input: {}").await;
    assert_eq!(ids.len(), 10_000);
    let workers: Vec<Worker> =
        (0..4).map(|_| Worker::start(&app, &["--types", "NOOP", "--concurrency", "8", "--poll-ms", "100"])).collect();
    wait_for(&db, t, "succeeded", 10_000, Duration::from_secs(240)).await;
    drop(workers);
    // Each job exactly once: one result per job, all first attempts, all succeeded.
    let results = "SELECT count(*) AS n FROM job_results WHERE tenant_id = $1";
    assert_eq!(count(&db, results, t).await, 10_000);
    assert_eq!(count(&db, "SELECT count(DISTINCT job_id) AS n FROM job_results WHERE tenant_id = $1 AND status = 'succeeded' AND attempt = 1", t).await, 10_000);
    // The work was shared.
    assert!(count(&db, "SELECT count(DISTINCT worker) AS n FROM job_results WHERE tenant_id = $1", t).await >= 2);
    // Through GraphQL, each job shows its one attempt.
    let res = app.gql(&owner, Some(t), "query($id: UUID!) { job(id: $id) { status progress results { totalCount edges { node { attempt status } } } } }", json!({ "id": ids[0] })).await;
    assert_eq!(data(&res, "job.status"), "SUCCEEDED");
    assert_eq!(data(&res, "job.results.totalCount"), 1);
}

#[tokio::test]
async fn priorities_then_a_killed_worker_loses_nothing() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let db = app.owner_db().await;

    // Priorities: with one slot, every high-priority job starts before any low one.
    let low = enqueue(&app, &owner, t, 5, "SLEEP", 0, "input: { ms: 1 }").await;
    let high = enqueue(&app, &owner, t, 5, "SLEEP", 10, "input: { ms: 1 }").await;
    let mut one = Worker::start(&app, &["--types", "SLEEP", "--concurrency", "1", "--poll-ms", "50"]);
    wait_for(&db, t, "succeeded", 10, Duration::from_secs(60)).await;
    assert!(one.terminate(), "a worker stops cleanly on SIGTERM");
    let last_high = count(&db, &format!("SELECT (extract(epoch from max(started_at)) * 1e6)::bigint AS n FROM job_results WHERE tenant_id = $1 AND job_id IN ({})", quoted(&high)), t).await;
    let first_low = count(&db, &format!("SELECT (extract(epoch from min(started_at)) * 1e6)::bigint AS n FROM job_results WHERE tenant_id = $1 AND job_id IN ({})", quoted(&low)), t).await;
    assert!(last_high <= first_low, "a low-priority job started before a high one");

    // SIGKILL in the middle of a batch: the held jobs come back when their lease ends.
    exec(&db, "DELETE FROM job_results WHERE tenant_id = $1", vec![t.into()]).await.unwrap();
    let ids = enqueue(&app, &owner, t, 40, "SLEEP", 0, "input: { ms: 300 }").await;
    let mut doomed =
        Worker::start(&app, &["--types", "SLEEP", "--concurrency", "4", "--lease-ms", "1500", "--poll-ms", "50"]);
    let started = Instant::now();
    loop {
        let done = count(&db, "SELECT count(*) AS n FROM job_results WHERE tenant_id = $1", t).await;
        if done >= 8 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the first worker made no progress");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    doomed.kill9();
    let running = count(&db, "SELECT count(*) AS n FROM jobs WHERE tenant_id = $1 AND status = 'running'", t).await;
    assert!(running > 0, "the kill should have caught jobs in flight");
    let _rescuer =
        Worker::start(&app, &["--types", "SLEEP", "--concurrency", "4", "--lease-ms", "1500", "--poll-ms", "50"]);
    wait_for(&db, t, "succeeded", 50, Duration::from_secs(90)).await;
    let succeeded = count(
        &db,
        &format!(
            "SELECT count(*) AS n FROM job_results WHERE tenant_id = $1 AND status = 'succeeded' AND job_id IN ({})",
            quoted(&ids)
        ),
        t,
    )
    .await;
    assert_eq!(succeeded, 40, "every job finished exactly once");
    let distinct = count(
        &db,
        &format!(
            "SELECT count(DISTINCT job_id) AS n FROM job_results WHERE tenant_id = $1 AND job_id IN ({})",
            quoted(&ids)
        ),
        t,
    )
    .await;
    assert_eq!(distinct, 40);
}

#[tokio::test]
async fn failures_retry_with_backoff_then_fail_and_can_be_retried_or_cancelled() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let db = app.owner_db().await;
    let ids = enqueue(&app, &owner, t, 1, "FAIL", 0, "maxRetries: 2").await;
    let _worker =
        Worker::start(&app, &["--types", "FAIL", "--concurrency", "2", "--poll-ms", "20", "--backoff-ms", "200"]);
    wait_for(&db, t, "failed", 1, Duration::from_secs(60)).await;
    let res = app
        .gql(&owner, Some(t), "query($id: UUID!) { job(id: $id) { status retryCount error completedAt results { edges { node { attempt status error startedAt finishedAt } } } } }", json!({ "id": ids[0] }))
        .await;
    assert_eq!(data(&res, "job.retryCount"), 2);
    let attempts = data(&res, "job.results.edges").as_array().unwrap().clone();
    assert_eq!(attempts.len(), 3, "1 try + 2 retries: {res}");
    assert!(attempts.iter().all(|a| a["node"]["status"] == "FAILED"));
    assert!(data(&res, "job.error.message").as_str().unwrap().contains("on purpose"));
    // Gaps follow the schedule: ~200 ms then ~400 ms (x0.5 to x1.5 jitter, plus polling slack).
    let at =
        |i: usize, f: &str| chrono::DateTime::parse_from_rfc3339(attempts[i]["node"][f].as_str().unwrap()).unwrap();
    let gap1 = (at(1, "startedAt") - at(0, "finishedAt")).num_milliseconds();
    let gap2 = (at(2, "startedAt") - at(1, "finishedAt")).num_milliseconds();
    assert!((90..=800).contains(&gap1), "first retry after {gap1} ms");
    assert!((190..=1400).contains(&gap2), "second retry after {gap2} ms");

    // retryJob starts it over; cancelJob stops a queued job; neither applies twice.
    let res = app
        .gql(
            &owner,
            Some(t),
            "mutation($id: UUID!) { retryJob(id: $id) { status retryCount } }",
            json!({ "id": ids[0] }),
        )
        .await;
    assert_eq!(data(&res, "retryJob.retryCount"), 0);
    let later = enqueue(&app, &owner, t, 1, "NOOP", 0, "scheduledAt: \"2999-01-01T00:00:00Z\"").await;
    let res = app
        .gql(&owner, Some(t), "mutation($id: UUID!) { cancelJob(id: $id) { status } }", json!({ "id": later[0] }))
        .await;
    assert_eq!(data(&res, "cancelJob.status"), "CANCELLED");
    let res = app
        .gql(&owner, Some(t), "mutation($id: UUID!) { cancelJob(id: $id) { status } }", json!({ "id": later[0] }))
        .await;
    assert_eq!(common::code(&res), "CONFLICT");
}

fn quoted(ids: &[Uuid]) -> String {
    ids.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(",")
}
