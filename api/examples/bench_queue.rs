//! `make bench` (queue part): no-op jobs per second with 1 and 4 worker processes, enqueue-to-start
//! latency, and NOTIFY-to-subscriber latency for 1, 100 and 1,000 WebSocket subscribers of one
//! in-process server. Writes `bench/results/queue.json` and prints a Markdown table.
//!
//! Uses the database of `DATABASE_URL`/`DIRECT_URL` (the dev database by default), in a tenant of
//! its own that it removes at the end. Worker processes are the `atlas` binary beside this one.
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use api::config::Config;
use futures_util::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde_json::json;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
use uuid::Uuid;

mod common;
use common::{atlas_bin, pct, svg_pairs, Children, Pair, Res};

async fn exec(db: &DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) -> Res<()> {
    db.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values)).await?;
    Ok(())
}

async fn count(db: &DatabaseConnection, sql: &str, tenant: Uuid) -> Res<i64> {
    let row = db.query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [tenant.into()])).await?;
    Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0))
}

/// `n` Atlas worker processes for NOOP jobs (concurrency 16 each), killed when dropped.
fn start_workers(n: usize, config: &Config) -> Res<Children> {
    let mut children = vec![];
    for _ in 0..n {
        children.push(
            Command::new(atlas_bin()?)
                .args(["worker", "--types", "NOOP", "--concurrency", "16", "--poll-ms", "1000"])
                .env("DATABASE_URL", &config.database_url)
                .env("DIRECT_URL", &config.direct_url)
                .env("ATLAS_LOG", "warn")
                .env("ATLAS_EMBEDDER", "hashing")
                .stdout(Stdio::null())
                .spawn()?,
        );
    }
    Ok(Children(children))
}

async fn throughput(db: &DatabaseConnection, config: &Config, tenant: Uuid, workers: usize, jobs: i64) -> Res<f64> {
    exec(db, "DELETE FROM jobs WHERE tenant_id = $1", vec![tenant.into()]).await?;
    let _w = start_workers(workers, config)?;
    tokio::time::sleep(Duration::from_secs(2)).await; // let them connect and go idle
    let started = Instant::now();
    exec(
        db,
        "INSERT INTO jobs (tenant_id, id, job_type) SELECT $1, gen_random_uuid(), 'NOOP' FROM generate_series(1, $2)",
        vec![tenant.into(), jobs.into()],
    )
    .await?;
    // Polled as graphile-worker's side is: the jobs left, a set that shrinks (counting the
    // finished ones instead would scan a growing set every 20 ms, on Atlas's side only).
    loop {
        let left = count(
            db,
            "SELECT count(*) AS n FROM jobs WHERE tenant_id = $1 AND status IN ('queued', 'running')",
            tenant,
        )
        .await?;
        if left == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(format!("{left} of {jobs} jobs still left after 10 minutes").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let done =
        count(db, "SELECT count(*) AS n FROM jobs WHERE tenant_id = $1 AND status = 'succeeded'", tenant).await?;
    if done != jobs {
        return Err(format!("only {done} of {jobs} no-op jobs succeeded").into());
    }
    Ok(jobs as f64 / elapsed)
}

/// graphile-worker's side: `workers` processes (Node 22, concurrency 16 each, as Atlas's) running
/// a task that does nothing, over its own schema in the same database; jobs added in one statement
/// once the workers are idle, timed until none is left (graphile-worker deletes finished jobs).
async fn graphile_throughput(db: &DatabaseConnection, config: &Config, workers: usize, jobs: i64) -> Res<f64> {
    let node = ".local/peers/node_modules/.bin/node";
    let cli = std::fs::canonicalize(".local/peers/node_modules/graphile-worker/dist/cli.js")
        .map_err(|_| "graphile-worker is not installed: bench/peers.sh install")?;
    let node = std::fs::canonicalize(node)?;
    let schema = Command::new(&node)
        .arg(&cli)
        .args(["--schema-only", "-c", &config.direct_url])
        .stdout(Stdio::null())
        .status()?;
    if !schema.success() {
        return Err("graphile-worker could not install its schema".into());
    }
    exec(db, "DELETE FROM graphile_worker._private_jobs", vec![]).await?;
    let mut children = vec![];
    for _ in 0..workers {
        children.push(
            Command::new(&node)
                .arg(&cli)
                .args(["-c", &config.direct_url, "--jobs", "16"])
                .current_dir("bench/peers/worker")
                .stdout(Stdio::null())
                .spawn()?,
        );
    }
    let _children = Children(children);
    tokio::time::sleep(Duration::from_secs(3)).await; // Node starts slower than Atlas
    let started = Instant::now();
    exec(
        db,
        "SELECT count(graphile_worker.add_job('noop', '{}'::json)) FROM generate_series(1, $1)",
        vec![jobs.into()],
    )
    .await?;
    loop {
        let left = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT count(*) AS n FROM graphile_worker._private_jobs",
            ))
            .await?
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        if left == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(format!("graphile-worker still had {left} jobs after 10 minutes").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(jobs as f64 / started.elapsed().as_secs_f64())
}

async fn enqueue_to_start(db: &DatabaseConnection, config: &Config, tenant: Uuid, n: usize) -> Res<(f64, f64)> {
    exec(db, "DELETE FROM jobs WHERE tenant_id = $1", vec![tenant.into()]).await?;
    let _w = start_workers(1, config)?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for _ in 0..n {
        exec(
            db,
            "INSERT INTO jobs (tenant_id, id, job_type) VALUES ($1, gen_random_uuid(), 'NOOP')",
            vec![tenant.into()],
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT (extract(epoch FROM started_at - created_at) * 1000)::float8 AS ms FROM jobs \
             WHERE tenant_id = $1 AND started_at IS NOT NULL",
            [tenant.into()],
        ))
        .await?;
    let mut ms: Vec<f64> = rows.iter().filter_map(|r| r.try_get::<f64>("", "ms").ok()).collect();
    ms.sort_by(f64::total_cmp);
    Ok((pct(&ms, 0.5), pct(&ms, 0.99)))
}

async fn notify_latency(
    db: &DatabaseConnection,
    base: &str,
    token: &str,
    tenant: Uuid,
    job: Uuid,
    subscribers: usize,
    rounds: usize,
) -> Res<(f64, f64)> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let mut tasks = vec![];
    for _ in 0..subscribers {
        let mut req = format!("{}/graphql", base.replace("http://", "ws://")).into_client_request()?;
        req.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
        let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}"), "X-Tenant-Id": tenant } });
        ws.send(Message::Text(init.to_string().into())).await?;
        let sub = json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription($id: UUID!) { jobUpdated(id: $id) { job { progress } } }", "variables": { "id": job } } });
        ws.send(Message::Text(sub.to_string().into())).await?;
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Text(t) = msg {
                    let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
                    if let Some(p) = v["payload"]["data"]["jobUpdated"]["job"]["progress"].as_f64() {
                        let _ = tx.send(((p * 1000.0).round() as usize, Instant::now()));
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500 + subscribers as u64)).await;
    let mut lat = vec![];
    for round in 1..=rounds {
        let progress = round as f64 / 1000.0;
        exec(
            db,
            "UPDATE jobs SET progress = $2 WHERE tenant_id = $1 AND id = $3",
            vec![tenant.into(), progress.into(), job.into()],
        )
        .await?;
        let committed = Instant::now();
        let mut got = 0;
        let deadline = committed + Duration::from_secs(30);
        while got < subscribers {
            match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
                Ok(Some((r, at))) if r == round => {
                    lat.push(at.saturating_duration_since(committed).as_secs_f64() * 1000.0);
                    got += 1;
                }
                Ok(Some(_)) => {}
                _ => return Err(format!("{got} of {subscribers} subscribers heard round {round}").into()),
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for t in tasks {
        t.abort();
    }
    lat.sort_by(f64::total_cmp);
    Ok((pct(&lat, 0.5), pct(&lat, 0.99)))
}

#[tokio::main]
async fn main() -> Res<()> {
    let config = Config::development_from_env()?;
    let owner = Database::connect(config.direct_url.as_str()).await?;
    let tenant = Uuid::now_v7();
    let user = Uuid::now_v7();
    exec(
        &owner,
        "INSERT INTO users (id, email) VALUES ($1, $2)",
        vec![user.into(), format!("bench-{}@atlas.local", user.simple()).into()],
    )
    .await?;
    exec(
        &owner,
        "INSERT INTO tenants (id, slug, name) VALUES ($1, $2, 'Bench')",
        vec![tenant.into(), format!("bench-{}", tenant.simple()).into()],
    )
    .await?;
    exec(
        &owner,
        "INSERT INTO tenant_members (tenant_id, id, user_id, role) VALUES ($1, $2, $3, 'owner')",
        vec![tenant.into(), Uuid::now_v7().into(), user.into()],
    )
    .await?;

    let jobs = std::env::var("BENCH_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000i64);
    let result = async {
        let one = throughput(&owner, &config, tenant, 1, jobs).await?;
        println!("no-op jobs/s, 1 worker: {one:.0}");
        let four = throughput(&owner, &config, tenant, 4, jobs).await?;
        println!("no-op jobs/s, 4 workers: {four:.0}");
        let peer_one = graphile_throughput(&owner, &config, 1, jobs).await?;
        println!("graphile-worker no-op jobs/s, 1 worker: {peer_one:.0}");
        let peer_four = graphile_throughput(&owner, &config, 4, jobs).await?;
        println!("graphile-worker no-op jobs/s, 4 workers: {peer_four:.0}");
        let (e50, e99) = enqueue_to_start(&owner, &config, tenant, 200).await?;
        println!("enqueue-to-start ms: p50 {e50:.1}, p99 {e99:.1}");

        // One server in this process, its subscribers on loopback.
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server_config = config.clone();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                if let Ok(state) = api::server::state(server_config).await {
                    if let Ok(srv) = api::server::run(state, listener) {
                        let _ = srv.await;
                    }
                }
            })
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        let keys = api::auth::Keys::new(&config.jwt_secret);
        let token = keys.mint(user, Some(tenant), None, 3600)?;
        let job = Uuid::now_v7();
        exec(&owner, "INSERT INTO jobs (tenant_id, id, job_type, scheduled_at) VALUES ($1, $2, 'NOOP', now() + interval '1 day')", vec![tenant.into(), job.into()]).await?;
        let base = format!("http://{addr}");
        let mut notify = vec![];
        for subs in [1usize, 100, 1000] {
            let (p50, p99) = notify_latency(&owner, &base, &token, tenant, job, subs, 20).await?;
            println!("NOTIFY-to-subscriber ms, {subs} subscribers: p50 {p50:.1}, p99 {p99:.1}");
            notify.push(json!({ "subscribers": subs, "p50_ms": p50, "p99_ms": p99 }));
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(json!({
            "jobs": jobs,
            "noop_jobs_per_s": { "workers_1": one, "workers_4": four },
            "graphile_worker_noop_jobs_per_s": { "workers_1": peer_one, "workers_4": peer_four },
            "enqueue_to_start_ms": { "p50": e50, "p99": e99 },
            "notify_to_subscriber_ms": notify,
        }))
    }
    .await;
    exec(&owner, "DELETE FROM tenants WHERE id = $1", vec![tenant.into()]).await?;
    exec(&owner, "DELETE FROM users WHERE id = $1", vec![user.into()]).await?;
    let mut result = result?;
    result["machine"] = json!({ "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) });
    result["at"] = json!(chrono::Utc::now().to_rfc3339());
    std::fs::create_dir_all("bench/results")?;
    std::fs::write("bench/results/queue.json", serde_json::to_string_pretty(&result)?)?;
    let n = &result["notify_to_subscriber_ms"];
    let md = format!(
        "| queue figure | value |\n|---|---|\n| no-op jobs/s, 1 worker (graphile-worker beside it) | {:.0} ({:.0}) |\n| no-op jobs/s, 4 workers (graphile-worker) | {:.0} ({:.0}) |\n\
         | enqueue-to-start p50 / p99 | {:.1} / {:.1} ms |\n| NOTIFY→subscriber p50 / p99, 1 | {:.1} / {:.1} ms |\n\
         | NOTIFY→subscriber p50 / p99, 100 | {:.1} / {:.1} ms |\n| NOTIFY→subscriber p50 / p99, 1,000 | {:.1} / {:.1} ms |\n",
        result["noop_jobs_per_s"]["workers_1"].as_f64().unwrap_or(0.0),
        result["graphile_worker_noop_jobs_per_s"]["workers_1"].as_f64().unwrap_or(0.0),
        result["noop_jobs_per_s"]["workers_4"].as_f64().unwrap_or(0.0),
        result["graphile_worker_noop_jobs_per_s"]["workers_4"].as_f64().unwrap_or(0.0),
        result["enqueue_to_start_ms"]["p50"].as_f64().unwrap_or(0.0),
        result["enqueue_to_start_ms"]["p99"].as_f64().unwrap_or(0.0),
        n[0]["p50_ms"].as_f64().unwrap_or(0.0),
        n[0]["p99_ms"].as_f64().unwrap_or(0.0),
        n[1]["p50_ms"].as_f64().unwrap_or(0.0),
        n[1]["p99_ms"].as_f64().unwrap_or(0.0),
        n[2]["p50_ms"].as_f64().unwrap_or(0.0),
        n[2]["p99_ms"].as_f64().unwrap_or(0.0),
    );
    std::fs::write("bench/results/queue.md", &md)?;
    let f = |a: &str, b: &str| result[a][b].as_f64().unwrap_or(0.0);
    let pairs = [
        Pair {
            label: "no-op jobs/s, 1 worker process".into(),
            atlas: f("noop_jobs_per_s", "workers_1"),
            peer: f("graphile_worker_noop_jobs_per_s", "workers_1"),
        },
        Pair {
            label: "no-op jobs/s, 4 worker processes".into(),
            atlas: f("noop_jobs_per_s", "workers_4"),
            peer: f("graphile_worker_noop_jobs_per_s", "workers_4"),
        },
    ];
    std::fs::write(
        "bench/results/queue.svg",
        svg_pairs("Job queue: Atlas and graphile-worker, same PostgreSQL", "graphile-worker", &pairs),
    )?;
    println!("\n{md}");
    Ok(())
}
