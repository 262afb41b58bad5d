//! The database goes away and comes back, as in a restart or a failover: requests meanwhile get a
//! retryable SERVICE_UNAVAILABLE (HTTP 503 with Retry-After), never INTERNAL; `/health/ready` says
//! which part is down; afterwards the pool and the LISTEN session recover by themselves.
mod common;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::link::{through, Link};
use common::{data, TestApp};
use serde_json::{json, Value};

async fn post(app: &TestApp, token: &str, tenant: uuid::Uuid, query: &str) -> (u16, Option<String>, Value) {
    let resp = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(token)
        .header("x-tenant-id", tenant.to_string())
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
    (status, retry, resp.json().await.expect("json body"))
}

async fn ready(app: &TestApp) -> (u16, Value) {
    let resp = app.client.get(format!("{}/health/ready", app.base)).send().await.expect("ready");
    (resp.status().as_u16(), resp.json().await.expect("json"))
}

// Multi-threaded: the link's tasks must run while `TestApp::start_with` blocks its thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_retryable_and_the_server_recovers() {
    let mut config = common::test_config();
    let link = Link::to(common::link::upstream(&config.database_url)).await;
    config.database_url = through(&config.database_url, link.port);
    config.listen_url = config.database_url.clone();
    config.prepared_statements = true;
    let app = TestApp::start_with(config).await;
    let user = app.user().await;
    let t = app.tenant(&user).await;
    let query = "{ projects { totalCount } }";
    let (status, _, body) = post(&app, &user.token, t, query).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = ready(&app).await;
    assert_eq!((status, &body["status"]), (200, &json!("ok")), "{body}");

    link.cut();
    let (status, retry, body) = post(&app, &user.token, t, query).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry.as_deref(), Some("1"));
    assert_eq!(body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    assert!(!body.to_string().contains("INTERNAL"), "{body}");
    let (status, body) = ready(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], "unavailable", "{body}");
    assert_eq!(body["storage"], "ok", "{body}");

    // Back: within seconds, with nothing restarted, requests succeed and the listener is up.
    link.restore();
    let started = Instant::now();
    loop {
        let (status, _, body) = post(&app, &user.token, t, query).await;
        let (ready_status, ready_body) = ready(&app).await;
        if status == 200 && ready_status == 200 {
            data(&body, "projects.totalCount");
            assert_eq!(ready_body["listener"], "ok");
            break;
        }
        assert_ne!(body["errors"][0]["extensions"]["code"], "INTERNAL", "{body}");
        assert!(started.elapsed() < Duration::from_secs(30), "not recovered after 30 s: {body} {ready_body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One timed request: when it was sent and answered (since the load began), status and body.
type Answer = (Duration, Duration, u16, Value);

/// `pg_ctl restart` of a cluster of this test's own (scripts/test.sh starts it) while clients
/// query, subscribers watch and a worker process runs jobs: errors only while the database is
/// down, and only the retryable 503; every subscription re-reads its state once the listener is
/// back; every job ends SUCCEEDED with exactly one successful attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_under_load() {
    use common::jobs::{enqueue, Worker};
    use common::serve::Served;
    use common::ws::{connect, next, send, Protocol};
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    let (Ok(app_url), Ok(direct_url), Ok(worker_url), Ok(port)) = (
        std::env::var("TEST_RESTART_DATABASE_URL"),
        std::env::var("TEST_RESTART_DIRECT_URL"),
        std::env::var("TEST_RESTART_WORKER_DATABASE_URL"),
        std::env::var("ATLAS_PG_RESTART_PORT"),
    ) else {
        assert!(
            std::env::var_os("ATLAS_TEST_RESTART_REQUIRED").is_none(),
            "scripts/test.sh started no cluster for the restart test"
        );
        eprintln!("no cluster of its own to restart (scripts/test.sh starts one next to the local cluster)");
        return;
    };
    let mut config = common::test_config();
    config.database_url = app_url.clone();
    config.listen_url = app_url;
    config.direct_url = direct_url;
    config.worker_database_url = Some(worker_url);
    config.prepared_statements = true;
    let migrated = common::atlas(&config, "migrate").status().expect("atlas migrate");
    assert!(migrated.success(), "atlas migrate on the restart cluster");
    let (app, _server) = Served::start(config, &[], &[]).await;
    let user = app.user().await;
    let t = app.tenant(&user).await;

    // Subscribers, on both protocols, to a job that will not change: only a resync speaks.
    let idle = enqueue(&app, &user, t, 1, "NOOP", 0, "scheduledAt: \"2100-01-01T00:00:00Z\"").await[0];
    let mut sockets = vec![];
    for protocol in [Protocol::TransportWs, Protocol::LegacyGraphqlWs, Protocol::TransportWs] {
        let mut ws = connect(&app, protocol).await;
        let auth = json!({ "Authorization": format!("Bearer {}", user.token), "X-Tenant-Id": t });
        send(&mut ws, json!({ "type": "connection_init", "payload": auth })).await;
        assert_eq!(next(&mut ws, Duration::from_secs(10)).await.expect("ack")["type"], "connection_ack");
        let start = if protocol == Protocol::TransportWs { "subscribe" } else { "start" };
        send(&mut ws, json!({ "id": "1", "type": start, "payload": {
            "query": "subscription($id: UUID!) { jobUpdated(id: $id) { job { id status } } }", "variables": { "id": idle } } }))
        .await;
        sockets.push(ws);
    }
    let jobs = enqueue(&app, &user, t, 40, "SLEEP", 0, "input: { ms: 250 }").await;
    let _worker = Worker::start_with_env(
        &app,
        &["--types", "SLEEP", "--concurrency", "4", "--poll-ms", "100", "--lease-ms", "5000", "--backoff-ms", "200"],
        &[],
    );

    // Clients querying without pause, each request timed.
    let t_zero = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let log: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let mut clients = vec![];
    for _ in 0..6 {
        let (app, token, stop, log) = (app.clone(), user.token.clone(), stop.clone(), log.clone());
        clients.push(tokio::spawn(async move {
            while !stop.load(SeqCst) {
                let started = t_zero.elapsed();
                let (status, _, body) = post(&app, &token, t, "{ projects { totalCount } jobs { totalCount } }").await;
                log.lock().expect("log").push((started, t_zero.elapsed(), status, body));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let down = t_zero.elapsed();
    let restarted = std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/db.sh"))
        .arg("restart")
        .env("ATLAS_PG_CLUSTER", "restart")
        .env("ATLAS_PG_PORT", &port)
        .status()
        .expect("scripts/db.sh restart");
    assert!(restarted.success(), "pg_ctl restart");
    let up = t_zero.elapsed();

    // Every subscriber hears of the job again once the listener is back (a resync), unasked.
    for (i, ws) in sockets.iter_mut().enumerate() {
        let msg = next(ws, Duration::from_secs(15)).await.unwrap_or_else(|| panic!("subscriber {i}: no resync"));
        assert_eq!(msg["payload"]["data"]["jobUpdated"]["job"]["status"], "QUEUED", "subscriber {i}: {msg}");
    }
    // Every job ends, once.
    let owner = app.owner_db().await;
    let started = Instant::now();
    let count = |sql: &'static str| {
        let owner = &owner;
        async move {
            let row = owner
                .query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [t.into()]))
                .await
                .expect("count")
                .expect("a row");
            row.try_get::<i64>("", "n").expect("n")
        }
    };
    while count("SELECT count(*) AS n FROM jobs WHERE tenant_id = $1 AND job_type = 'SLEEP' AND status = 'succeeded'")
        .await
        < jobs.len() as i64
    {
        assert!(started.elapsed() < Duration::from_secs(60), "not every job ended within 60 s of the restart");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, SeqCst);
    for c in clients {
        c.await.expect("client");
    }
    let doubled = count(
        "SELECT count(*) AS n FROM (SELECT job_id FROM job_results WHERE tenant_id = $1 AND status = 'succeeded' \
         GROUP BY job_id HAVING count(*) > 1) d",
    )
    .await;
    assert_eq!(doubled, 0, "a job succeeded twice");
    let recorded =
        count("SELECT count(DISTINCT job_id) AS n FROM job_results WHERE tenant_id = $1 AND status = 'succeeded'");
    assert_eq!(recorded.await, jobs.len() as i64);

    // Errors only inside the outage (the restart, and the moment the pool needs to notice that
    // its connections died with it), and only the retryable kind.
    let log = log.lock().expect("log");
    let window = down..up + Duration::from_secs(2);
    let failed: Vec<_> = log.iter().filter(|(_, _, status, _)| *status != 200).collect();
    for (began, ended, status, body) in &failed {
        assert_eq!(*status, 503, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
        assert!(
            *ended >= window.start && *began <= window.end,
            "an error outside the outage {window:?}: {began:?}..{ended:?}"
        );
    }
    assert!(log.iter().any(|(b, _, s, _)| *s == 200 && *b > up), "requests succeed after the restart");
    eprintln!(
        "restart: {} requests, {} answered 503 while the database was down ({:?})",
        log.len(),
        failed.len(),
        up - down
    );
}
