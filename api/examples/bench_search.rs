//! `make bench` (search part): 200,000 vectors of 384 dimensions across 100 tenants (clustered,
//! as embeddings are), then for one tenant: tenant-filtered top-10 latency and recall@10 of the
//! query Atlas runs (HNSW with iterative scans), beside the exact scan of the same tenant.
//! Writes `bench/results/search.json` and `.md`. Uses the database of `DIRECT_URL` (the dev
//! database by default) in tenants of its own, removed at the end.
use std::time::Instant;

use api::config::Config;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

mod common;
use common::{pct, Res};

async fn exec(db: &impl ConnectionTrait, sql: &str, values: Vec<sea_orm::Value>) -> Res<()> {
    db.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values)).await?;
    Ok(())
}

async fn ids(db: &impl ConnectionTrait, sql: &str, values: Vec<sea_orm::Value>) -> Res<Vec<Uuid>> {
    let rows = db.query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values)).await?;
    Ok(rows.iter().filter_map(|r| r.try_get::<Uuid>("", "id").ok()).collect())
}

#[tokio::main]
async fn main() -> Res<()> {
    let config = Config::development_from_env()?;
    let db: DatabaseConnection = Database::connect(config.direct_url.as_str()).await?;
    let tenants = std::env::var("BENCH_TENANTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100usize);
    let per_tenant = std::env::var("BENCH_PER_TENANT").ok().and_then(|v| v.parse().ok()).unwrap_or(2000usize);
    let run = Uuid::now_v7().simple().to_string();
    let mut ids_of_tenants = vec![];
    println!("search bench: {} vectors across {tenants} tenants", tenants * per_tenant);
    let started = Instant::now();
    // 64 topic centres; each row is a centre plus noise, generated inside the database.
    // A table of its own (not TEMP: the pool may hand out another connection), dropped at the end.
    let centres = format!("bench_centres_{run}");
    exec(&db, &format!("CREATE UNLOGGED TABLE {centres} AS SELECT c, (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, 384) WHERE c > 0) AS v FROM generate_series(1, 64) c"), vec![]).await?;
    for i in 0..tenants {
        let t = Uuid::now_v7();
        let p = Uuid::now_v7();
        exec(
            &db,
            "INSERT INTO tenants (id, slug, name) VALUES ($1, $2, 'Search bench')",
            vec![t.into(), format!("sb-{run}-{i}").into()],
        )
        .await?;
        exec(
            &db,
            "INSERT INTO projects (tenant_id, id, name) VALUES ($1, $2, 'Search bench')",
            vec![t.into(), p.into()],
        )
        .await?;
        exec(
            &db,
            &format!(
                "INSERT INTO data_records (tenant_id, id, project_id, record_type, content, embedding) \
                 SELECT $1, gen_random_uuid(), $2, 'task', 'row ' || g, \
                   (SELECT array_agg(x + 0.35 * (random()::real - 0.5)) FROM unnest((SELECT v FROM {centres} WHERE c = 1 + g % 64)) x)::vector \
                 FROM generate_series(1, $3) g"
            ),
            vec![t.into(), p.into(), (per_tenant as i32).into()],
        )
        .await?;
        ids_of_tenants.push(t);
    }
    // Fresh statistics, as autovacuum would give a table this size soon after: without them the
    // planner costs the tenant's rows from before the load.
    exec(&db, "ANALYZE data_records", vec![]).await?;
    let load_s = started.elapsed().as_secs_f64();
    println!("loaded in {load_s:.0} s");
    let mine = ids_of_tenants[tenants / 2];
    let queries = 50;
    let (mut approx_ms, mut exact_ms, mut recall) = (vec![], vec![], 0.0);
    let (mut hnsw_ms, mut hnsw_recall) = (vec![], 0.0);
    for q in 0..queries {
        let centre = 1 + (q * 13) % 64;
        let tx = db.begin().await?;
        let row = tx
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!("SELECT (SELECT array_agg(x + 0.35 * (random()::real - 0.5)) FROM unnest(v) x)::vector::text AS q FROM {centres} WHERE c = $1"),
                [centre.into()],
            ))
            .await?
            .ok_or("no centre")?;
        let qv: String = row.try_get("", "q")?;
        // Exactly what service::search runs for a tenant-filtered top 10.
        tx.execute_unprepared("SET LOCAL hnsw.iterative_scan = relaxed_order").await?;
        tx.execute_unprepared("SET LOCAL hnsw.ef_search = 40").await?;
        let t0 = Instant::now();
        let got = ids(
            &tx,
            "WITH hits AS MATERIALIZED (SELECT id, (embedding::vector(384) <=> $2::vector(384)) AS distance FROM data_records \
               WHERE tenant_id = $1 AND embedding IS NOT NULL AND vector_dims(embedding) = 384 \
               ORDER BY (embedding::vector(384) <=> $2::vector(384)) LIMIT 10) SELECT id FROM hits ORDER BY distance, id",
            vec![mine.into(), qv.clone().into()],
        )
        .await?;
        approx_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        let t0 = Instant::now();
        let exact = ids(
            &tx,
            "SELECT id FROM data_records WHERE tenant_id = $1 ORDER BY embedding <=> $2::vector LIMIT 10",
            vec![mine.into(), qv.clone().into()],
        )
        .await?;
        exact_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        // The HNSW path itself, as a large tenant would get it: a tenant condition no B-tree can
        // serve, and no sequential scan or sort allowed, leaves only the vector index, filtered by
        // the iterative scan.
        tx.execute_unprepared("SET LOCAL enable_seqscan = off").await?;
        tx.execute_unprepared("SET LOCAL enable_sort = off").await?;
        let t0 = Instant::now();
        let via_hnsw = ids(
            &tx,
            "WITH hits AS MATERIALIZED (SELECT id, (embedding::vector(384) <=> $2::vector(384)) AS distance FROM data_records \
               WHERE tenant_id::text = $1 AND embedding IS NOT NULL AND vector_dims(embedding) = 384 \
               ORDER BY (embedding::vector(384) <=> $2::vector(384)) LIMIT 10) SELECT id FROM hits ORDER BY distance, id",
            vec![mine.to_string().into(), qv.clone().into()],
        )
        .await?;
        hnsw_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        hnsw_recall += via_hnsw.iter().filter(|x| exact.contains(x)).count() as f64 / exact.len().max(1) as f64;
        tx.rollback().await?;
        recall += got.iter().filter(|x| exact.contains(x)).count() as f64 / exact.len().max(1) as f64;
    }
    recall /= queries as f64;
    hnsw_recall /= queries as f64;
    hnsw_ms.sort_by(f64::total_cmp);
    approx_ms.sort_by(f64::total_cmp);
    exact_ms.sort_by(f64::total_cmp);
    let plan: Vec<String> = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("EXPLAIN (COSTS OFF) SELECT id FROM data_records WHERE tenant_id = $1 AND embedding IS NOT NULL \
               AND vector_dims(embedding) = 384 ORDER BY (embedding::vector(384) <=> (SELECT v FROM {centres} WHERE c = 1)::vector(384)) LIMIT 10"),
            [mine.into()],
        ))
        .await?
        .iter()
        .filter_map(|r| r.try_get::<String>("", "QUERY PLAN").ok())
        .collect();
    let uses = if plan.iter().any(|l| l.contains("embedding_384_idx")) { "HNSW index" } else { "tenant index, exact" };
    for t in &ids_of_tenants {
        exec(&db, "DELETE FROM tenants WHERE id = $1", vec![(*t).into()]).await?;
    }
    exec(&db, &format!("DROP TABLE {centres}"), vec![]).await?;
    let model = model_figures(&config).await?;
    let result = json!({
        "vectors": tenants * per_tenant, "tenants": tenants, "dimensions": 384,
        "filtered_top10_ms": { "p50": pct(&approx_ms, 0.5), "p95": pct(&approx_ms, 0.95) },
        "exact_scan_ms": { "p50": pct(&exact_ms, 0.5), "p95": pct(&exact_ms, 0.95) },
        "recall_at_10": recall, "plan": uses, "load_s": load_s,
        "hnsw_filtered_top10_ms": { "p50": pct(&hnsw_ms, 0.5), "p95": pct(&hnsw_ms, 0.95) },
        "hnsw_recall_at_10": hnsw_recall,
        "model": model,
        "at": chrono::Utc::now().to_rfc3339(),
    });
    std::fs::create_dir_all("bench/results")?;
    std::fs::write("bench/results/search.json", serde_json::to_string_pretty(&result)?)?;
    let md = format!(
        "| search figure ({} vectors, {} tenants, 384 dims) | value |\n|---|---|\n\
         | tenant-filtered top-10 p50 / p95 | {:.2} / {:.2} ms ({uses}) |\n| exact scan of the tenant p50 / p95 | {:.2} / {:.2} ms |\n\
         | recall@10 | {:.3} |\n| HNSW with iterative scan, tenant filter (as for a large tenant) p50 / p95 | {:.2} / {:.2} ms |\n\
         | HNSW recall@10 | {:.3} |\n",
        tenants * per_tenant,
        tenants,
        pct(&approx_ms, 0.5),
        pct(&approx_ms, 0.95),
        pct(&exact_ms, 0.5),
        pct(&exact_ms, 0.95),
        recall,
        pct(&hnsw_ms, 0.5),
        pct(&hnsw_ms, 0.95),
        hnsw_recall
    );
    let md = match &model {
        Some(m) => format!(
            "{md}| {} query text embedding p50 / p95 | {:.1} / {:.1} ms |\n| {} chunks of about 200 tokens embedded per second (EMBED) | {:.1} |\n",
            m["model"].as_str().unwrap_or(""),
            m["query_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
            m["query_ms"]["p95"].as_f64().unwrap_or(f64::NAN),
            m["model"].as_str().unwrap_or(""),
            m["chunks_per_s"].as_f64().unwrap_or(f64::NAN),
        ),
        None => md,
    };
    std::fs::write("bench/results/search.md", &md)?;
    println!("\n{md}");
    Ok(())
}

/// The configured local model's cost, which every text search and EMBED job pays: one short query
/// text at a time, and throughput on chunk-sized texts in the EMBED job's batches of 64.
async fn model_figures(config: &Config) -> Res<Option<serde_json::Value>> {
    if config.embedding.resolved() != service::embedding::Provider::Local {
        return Ok(None);
    }
    let embedder = config.embedding.build()?;
    let mut query_ms = vec![];
    for i in 0..50 {
        let started = Instant::now();
        embedder.embed(&[format!("how do I rotate the signing keys of service {i}?")]).await?;
        query_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    query_ms.sort_by(f64::total_cmp);
    let sentence = "The gateway restarts after the signing keys rotate, and the on-call engineer checks the logs. ";
    let chunks: Vec<String> = (0..256).map(|i| format!("Section {i}. {}", sentence.repeat(9))).collect();
    let started = Instant::now();
    for batch in chunks.chunks(64) {
        embedder.embed(batch).await?;
    }
    let chunks_per_s = chunks.len() as f64 / started.elapsed().as_secs_f64();
    println!("model: query p50 {:.1} ms, {chunks_per_s:.1} chunks/s", pct(&query_ms, 0.5));
    Ok(Some(json!({
        "model": embedder.model(),
        "query_ms": { "p50": pct(&query_ms, 0.5), "p95": pct(&query_ms, 0.95) },
        "chunks_per_s": chunks_per_s,
    })))
}
