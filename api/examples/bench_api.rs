//! `make bench` (API part): Atlas against PostGraphile v5 on the same database, the same rows
//! (`atlas seed-bench`), the same row-level-security policies and the same app role; PostGraphile
//! verifies the same token and sets the same `app.tenant_id`/`app.user_id` settings
//! (`bench/peers/graphile.config.mjs`). Both run as separate processes; one load generator (this
//! program) drives each in turn, in the same run, with 1 and 10 keep-alive connections, and stops
//! if an answer holds `errors`, so an error answered fast is never timed.
//! Figures: requests/s, p50, p99 of the nested query (20 projects → tasks → executions: 20 / 400 /
//! 800 objects) and of a tiny query; SQL statements per nested request; peak memory.
//! Writes `bench/results/api.{json,md,svg}`.
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use api::config::Config;
use common::{atlas_bin, pct, peak_rss_mib, svg_pairs, Children, Pair, Res};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{json, Value};
use uuid::Uuid;

/// The benchmarked server's `ATLAS_METRICS_TOKEN`, for reading its statement count.
const BENCH_METRICS_TOKEN: &str = "bench-metrics-token";
const ATLAS_NESTED: &str = "{ projects(first: 20) { nodes { id name tasks(first: 20) { nodes { id title status \
    executions(first: 10) { nodes { id status durationMs startedAt } } } } } } }";
const PEER_NESTED: &str = "{ allProjects(first: 20, orderBy: PRIMARY_KEY_ASC) { nodes { rowId name \
    tasksByTenantIdAndProjectId(orderBy: PRIMARY_KEY_ASC) { nodes { rowId title status \
    executionsByTenantIdAndTaskId(orderBy: PRIMARY_KEY_ASC) { nodes { rowId status durationMs startedAt } } } } } } }";
const ATLAS_TINY: &str = "{ me { id } }";
const PEER_TINY: &str = "query($id: UUID!) { userByRowId(rowId: $id) { rowId } }";

struct Target {
    name: &'static str,
    url: String,
    token: String,
}

struct Run {
    rps: f64,
    p50: f64,
    p99: f64,
    requests: usize,
}

/// One request; an answer without `data` or with `errors` stops the bench.
async fn send(client: &reqwest::Client, t: &Target, body: &Value) -> Res<usize> {
    let res = client.post(&t.url).bearer_auth(&t.token).json(body).send().await?;
    let status = res.status();
    let bytes = res.bytes().await?;
    if !status.is_success() || !bytes.starts_with(b"{\"data\"") || has_errors(&bytes) {
        return Err(format!(
            "{} answered {status}: {}",
            t.name,
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        )
        .into());
    }
    Ok(bytes.len())
}

fn has_errors(bytes: &[u8]) -> bool {
    bytes.windows(9).any(|w| w == b"\"errors\":")
}

/// `conns` connections, each sending its next request when the last is answered, for `secs`
/// seconds after `warmup` seconds.
async fn load(t: &Target, body: &Value, conns: usize, warmup: f64, secs: f64) -> Res<Run> {
    let body = std::sync::Arc::new(body.clone());
    let start = Instant::now() + Duration::from_secs_f64(warmup);
    let end = start + Duration::from_secs_f64(secs);
    let mut tasks = vec![];
    for _ in 0..conns {
        let client = reqwest::Client::builder().pool_max_idle_per_host(1).http1_only().build()?;
        let (url, token, name) = (t.url.clone(), t.token.clone(), t.name);
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let t = Target { name, url, token };
            let mut lat = vec![];
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                send(&client, &t, &body).await?;
                if sent >= start {
                    lat.push(sent.elapsed().as_secs_f64() * 1000.0);
                }
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(lat)
        }));
    }
    let mut all = vec![];
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort_by(f64::total_cmp);
    Ok(Run { rps: all.len() as f64 / secs, p50: pct(&all, 0.5), p99: pct(&all, 0.99), requests: all.len() })
}

async fn statements(client: &reqwest::Client, base: &str) -> Res<f64> {
    let text = client.get(format!("{base}/metrics")).bearer_auth(BENCH_METRICS_TOKEN).send().await?.text().await?;
    text.lines()
        .find_map(|l| l.strip_prefix("atlas_db_statements_total "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "no atlas_db_statements_total in /metrics".into())
}

async fn wait_up(url: &str) -> Res<()> {
    let client = reqwest::Client::new();
    for _ in 0..150 {
        if client.get(url).send().await.map(|r| r.status().is_success()).unwrap_or(false) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("{url} did not come up").into())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Res<()> {
    let config = Config::development_from_env()?;
    let secs: f64 = std::env::var("BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(10.0);
    let warmup: f64 = std::env::var("BENCH_WARMUP").ok().and_then(|v| v.parse().ok()).unwrap_or(3.0);
    let owner = Database::connect(config.direct_url.as_str()).await?;
    let row = owner
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT t.id AS tenant, u.id AS usr, (SELECT count(*) FROM projects p WHERE p.tenant_id = t.id) AS projects \
                 FROM tenants t JOIN tenant_members m ON m.tenant_id = t.id JOIN users u ON u.id = m.user_id \
                 WHERE t.slug = '{}1'",
                api::seed::PREFIX
            ),
        ))
        .await?
        .ok_or("no benchmark data: run `atlas seed-bench --projects 20` first (make bench does)")?;
    let tenant: Uuid = row.try_get("", "tenant")?;
    let user: Uuid = row.try_get("", "usr")?;
    let token = api::auth::Keys::new(&config.jwt_secret).mint(user, Some(tenant), None, 3600)?;

    let atlas_port = std::env::var("BENCH_ATLAS_PORT").unwrap_or_else(|_| "18088".into());
    let peer_port = std::env::var("PEER_PORT").unwrap_or_else(|_| "5005".into());
    let atlas_base = format!("http://127.0.0.1:{atlas_port}");
    // BENCH_ATLAS_BIN measures another build (a before/after comparison in one sitting).
    let bin = std::env::var("BENCH_ATLAS_BIN").map(std::path::PathBuf::from).or_else(|_| atlas_bin())?;
    let atlas = Command::new(bin)
        .arg("serve")
        .env("DATABASE_URL", &config.database_url)
        .env("ATLAS_BIND", format!("127.0.0.1:{atlas_port}"))
        .env("ATLAS_JWT_SECRET", &config.jwt_secret)
        .env("ATLAS_SERVE_WORKER", "false")
        .env("ATLAS_METRICS_TOKEN", BENCH_METRICS_TOKEN)
        .env("ATLAS_EMBEDDER", "hashing")
        .env("ATLAS_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    let atlas_pid = atlas.id();
    let _children = Children(vec![atlas]);
    let started = Command::new("bench/peers.sh")
        .arg("start-postgraphile")
        .env("DATABASE_URL", &config.database_url)
        .env("ATLAS_JWT_SECRET", &config.jwt_secret)
        .env("PEER_PORT", &peer_port)
        .status()?;
    if !started.success() {
        return Err(
            "PostGraphile did not start (bench/peers.sh install, then see .local/peers/postgraphile.log)".into()
        );
    }
    let result = async {
        wait_up(&format!("{atlas_base}/health")).await?;
        let peer_pid: u32 = std::fs::read_to_string(".local/peers/postgraphile.pid")?.trim().parse()?;
        let version: Value =
            serde_json::from_str(&std::fs::read_to_string(".local/peers/node_modules/postgraphile/package.json")?)?;
        let peer_version = version["version"].as_str().unwrap_or("5").to_string();
        let a = Target { name: "Atlas", url: format!("{atlas_base}/graphql"), token: token.clone() };
        let p =
            Target { name: "PostGraphile", url: format!("http://127.0.0.1:{peer_port}/graphql"), token: token.clone() };
        let bodies = [
            ("nested", json!({ "query": ATLAS_NESTED }), json!({ "query": PEER_NESTED })),
            ("tiny", json!({ "query": ATLAS_TINY }), json!({ "query": PEER_TINY, "variables": { "id": user } })),
        ];
        // Both answer the nested query with the same number of objects.
        let client = reqwest::Client::new();
        let count = |v: &Value, path: &[&str]| -> usize {
            let mut level = vec![v.clone()];
            for key in path {
                level = level.iter().flat_map(|x| x[*key]["nodes"].as_array().cloned().unwrap_or_default()).collect();
            }
            level.len()
        };
        let ra: Value = client.post(&a.url).bearer_auth(&token).json(&bodies[0].1).send().await?.json().await?;
        let rp: Value = client.post(&p.url).bearer_auth(&token).json(&bodies[0].2).send().await?.json().await?;
        let shape_a = [
            count(&ra["data"], &["projects"]),
            count(&ra["data"], &["projects", "tasks"]),
            count(&ra["data"], &["projects", "tasks", "executions"]),
        ];
        let shape_p = [
            count(&rp["data"], &["allProjects"]),
            count(&rp["data"], &["allProjects", "tasksByTenantIdAndProjectId"]),
            count(&rp["data"], &["allProjects", "tasksByTenantIdAndProjectId", "executionsByTenantIdAndTaskId"]),
        ];
        if shape_a != shape_p || shape_a[0] == 0 {
            return Err(format!(
                "the two servers answer different shapes: Atlas {shape_a:?}, PostGraphile {shape_p:?}"
            )
            .into());
        }
        println!("nested query: {shape_a:?} objects from each server");
        let before = statements(&client, &atlas_base).await?;
        send(&client, &a, &bodies[0].1).await?;
        let per_request = statements(&client, &atlas_base).await? - before;

        let mut runs = vec![];
        let mut pairs_rps = vec![];
        let mut pairs_p99 = vec![];
        for (i, (query, atlas_body, peer_body)) in bodies.iter().enumerate() {
            for conns in [1usize, 10] {
                // Alternate who goes first, so neither always gets the warmer machine.
                let order: [(&Target, &Value); 2] = if (i + conns) % 2 == 0 {
                    [(&a, atlas_body), (&p, peer_body)]
                } else {
                    [(&p, peer_body), (&a, atlas_body)]
                };
                let mut got = std::collections::HashMap::new();
                for (t, body) in order {
                    send(&client, t, body).await?;
                    let r = load(t, body, conns, warmup, secs).await?;
                    println!(
                        "{query:>6} {conns:>2} conn  {:<12} {:>8.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
                        t.name, r.rps, r.p50, r.p99
                    );
                    got.insert(t.name, r);
                }
                let (ra, rp) = (&got["Atlas"], &got["PostGraphile"]);
                runs.push(json!({
                    "query": query, "connections": conns,
                    "atlas": { "rps": ra.rps, "p50_ms": ra.p50, "p99_ms": ra.p99, "requests": ra.requests },
                    "postgraphile": { "rps": rp.rps, "p50_ms": rp.p50, "p99_ms": rp.p99, "requests": rp.requests },
                    "rps_ratio": ra.rps / rp.rps, "p99_ratio": ra.p99 / rp.p99,
                }));
                pairs_rps.push(Pair {
                    label: format!("{query}, {conns} conn: requests/s"),
                    atlas: ra.rps,
                    peer: rp.rps,
                });
                pairs_p99.push(Pair {
                    label: format!("{query}, {conns} conn: p99 ms (lower is better)"),
                    atlas: ra.p99,
                    peer: rp.p99,
                });
            }
        }
        let (atlas_mib, peer_mib) = (peak_rss_mib(atlas_pid), peak_rss_mib(peer_pid));
        pairs_rps.extend(pairs_p99);
        pairs_rps.push(Pair { label: "peak memory MiB (lower is better)".into(), atlas: atlas_mib, peer: peer_mib });
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((
            json!({
                "postgraphile_version": peer_version, "seconds": secs, "warmup_seconds": warmup,
                "nested_objects": shape_a, "statements_per_nested_request": per_request,
                "runs": runs, "peak_rss_mib": { "atlas": atlas_mib, "postgraphile": peer_mib },
                "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
                "at": chrono::Utc::now().to_rfc3339(),
            }),
            pairs_rps,
        ))
    }
    .await;
    let _ = Command::new("bench/peers.sh").arg("stop-postgraphile").status();
    let (result, pairs) = result?;
    std::fs::create_dir_all("bench/results")?;
    std::fs::write("bench/results/api.json", serde_json::to_string_pretty(&result)?)?;
    let version = result["postgraphile_version"].as_str().unwrap_or("5");
    std::fs::write(
        "bench/results/api.svg",
        svg_pairs(
            &format!("Atlas and PostGraphile {version}, same database and policies"),
            &format!("PostGraphile {version}"),
            &pairs,
        ),
    )?;
    let mut md = format!(
        "| query | connections | Atlas req/s | PostGraphile {version} req/s | ratio | Atlas p50 / p99 ms | PostGraphile p50 / p99 ms | p99 ratio |\n|---|---|---|---|---|---|---|---|\n"
    );
    for r in result["runs"].as_array().into_iter().flatten() {
        let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
        md.push_str(&format!(
            "| {} | {} | {:.0} | {:.0} | {:.1}× | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} |\n",
            r["query"].as_str().unwrap_or(""),
            r["connections"],
            f(&r["atlas"]["rps"]),
            f(&r["postgraphile"]["rps"]),
            f(&r["rps_ratio"]),
            f(&r["atlas"]["p50_ms"]),
            f(&r["atlas"]["p99_ms"]),
            f(&r["postgraphile"]["p50_ms"]),
            f(&r["postgraphile"]["p99_ms"]),
            f(&r["p99_ratio"]),
        ));
    }
    md.push_str(&format!(
        "\nSQL statements per nested request (Atlas): {} · peak memory: Atlas {:.0} MiB, PostGraphile {:.0} MiB\n",
        result["statements_per_nested_request"],
        result["peak_rss_mib"]["atlas"].as_f64().unwrap_or(f64::NAN),
        result["peak_rss_mib"]["postgraphile"].as_f64().unwrap_or(f64::NAN)
    ));
    std::fs::write("bench/results/api.md", &md)?;
    println!("\n{md}");
    Ok(())
}
