//! `atlas seed-bench`: a reproducible benchmark dataset. Every id is derived from the seed
//! (`md5(seed:kind:n)` as a uuid), so two runs with one seed make the same rows, and PostGraphile
//! and Atlas are measured on identical data. Rows are made in the database (`generate_series`),
//! one transaction per tenant, as the owner; re-running replaces the previous bench tenants.
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, TransactionTrait};

use crate::config::Config;

pub struct BenchShape {
    pub seed: i64,
    pub tenants: i64,
    pub projects: i64,
    pub tasks: i64,
    pub executions: i64,
    pub records: i64,
    pub chunks: i64,
    pub jobs: i64,
}

/// Slug prefix of the bench tenants, and the bench users' email domain.
pub const PREFIX: &str = "benchdata-";

pub async fn seed_bench(config: &Config, shape: BenchShape) -> Result<(), String> {
    let db = Database::connect(config.direct_url.as_str())
        .await
        .map_err(|e| format!("cannot connect to DIRECT_URL: {e}"))?;
    let err = |e: sea_orm::DbErr| e.to_string();
    let started = std::time::Instant::now();
    db.execute_unprepared(&format!(
        "DELETE FROM tenants WHERE slug LIKE '{PREFIX}%'; DELETE FROM users WHERE email LIKE '{PREFIX}%@atlas.test'"
    ))
    .await
    .map_err(err)?;
    // Ids: md5 of "seed:kind:numbers" read as a uuid; $1 is the seed, $2 the tenant's number.
    let id = |kind: &str, rest: &str| format!("md5($1::text || ':{kind}:' || $2::text{rest})::uuid");
    let tenant = id("tenant", "");
    let user = id("user", "");
    let project = id("project", " || ':' || p");
    let task = id("task", " || ':' || p || ':' || k");
    let statements = [
        format!("INSERT INTO users (id, email, name) VALUES ({user}, '{PREFIX}' || $2 || '@atlas.test', 'Bench ' || $2)"),
        format!(
            "INSERT INTO tenants (id, slug, name, kind) VALUES ({tenant}, '{PREFIX}' || $2, 'Bench tenant ' || $2, 'organization')"
        ),
        format!("INSERT INTO tenant_members (tenant_id, id, user_id, role) VALUES ({tenant}, {}, {user}, 'owner')", id("member", "")),
        format!(
            "INSERT INTO projects (tenant_id, id, name, description, created_at) \
             SELECT {tenant}, {project}, 'Project ' || p, 'Benchmark project ' || p, now() - make_interval(days => p::int) \
             FROM generate_series(1, $3::int) p"
        ),
        format!(
            "INSERT INTO tasks (tenant_id, id, project_id, title, status, priority, created_by) \
             SELECT {tenant}, {task}, {project}, 'Task ' || p || '.' || k, \
                    (enum_range(NULL::task_status))[1 + (k % 6)], (enum_range(NULL::task_priority))[1 + (k % 3)], {user} \
             FROM generate_series(1, $3::int) p, generate_series(1, $4::int) k"
        ),
        format!(
            "INSERT INTO executions (tenant_id, id, task_id, user_id, status, tokens_used, cost_usd, duration_ms, started_at, completed_at) \
             SELECT {tenant}, {}, {task}, {user}, 'completed', 100 * e + k, 0.001 * e, 1000 + 37 * k + e, \
                    now() - interval '1 hour', now() - interval '1 hour' + make_interval(secs => e) \
             FROM generate_series(1, $3::int) p, generate_series(1, $4::int) k, generate_series(1, $5::int) e",
            id("execution", " || ':' || p || ':' || k || ':' || e")
        ),
        // Data records and KB chunks carry vectors: unit-length, from a generator seeded by their id.
        format!(
            "INSERT INTO data_records (tenant_id, id, project_id, record_type, category, content, embedding, embedding_model) \
             SELECT {tenant}, {}, {}, 'task', (enum_range(NULL::record_category))[1 + (r % cardinality(enum_range(NULL::record_category)))], 'Benchmark record ' || r || ' about topic ' || (r % 13), \
                    bench_vector(($1::bigint * 1000003 + $2::bigint * 10007 + r)::bigint), 'bench-random-384' \
             FROM generate_series(1, $6::int) r",
            id("record", " || ':' || r"),
            id("project", " || ':1'")
        ),
        format!(
            "INSERT INTO kb_documents (tenant_id, id, title, slug, created_by) VALUES ({tenant}, {}, 'Benchmark handbook', 'handbook', {user})",
            id("document", "")
        ),
        format!(
            "INSERT INTO kb_chunks (tenant_id, id, document_id, chunk_index, content, embedding, embedding_model) \
             SELECT {tenant}, {}, {}, c - 1, 'Handbook section ' || c || ' on topic ' || (c % 11), \
                    bench_vector(($1::bigint * 2000003 + $2::bigint * 10007 + c)::bigint), 'bench-random-384' \
             FROM generate_series(1, $7::int) c",
            id("chunk", " || ':' || c"),
            id("document", "")
        ),
        format!(
            "INSERT INTO jobs (tenant_id, id, job_type, status, input, completed_at) \
             SELECT {tenant}, {}, 'NOOP', 'succeeded', jsonb_build_object('n', j), now() - make_interval(mins => j::int) \
             FROM generate_series(1, $8::int) j",
            id("job", " || ':' || j")
        ),
    ];
    // A deterministic vector: setseed() makes random() repeat for the same argument.
    db.execute_unprepared(
        "CREATE OR REPLACE FUNCTION bench_vector(s bigint) RETURNS vector LANGUAGE plpgsql VOLATILE AS $$ \
         DECLARE v real[]; n real; BEGIN \
           PERFORM setseed(((s % 2000000) - 1000000)::double precision / 1000000.0); \
           v := ARRAY(SELECT (random() - 0.5)::real FROM generate_series(1, 384)); \
           n := sqrt((SELECT sum(x * x) FROM unnest(v) x)); \
           RETURN (SELECT array_agg(x / n) FROM unnest(v) x)::vector; END $$",
    )
    .await
    .map_err(err)?;
    for t in 1..=shape.tenants {
        let tx = db.begin().await.map_err(err)?;
        for sql in &statements {
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql.as_str(),
                [
                    shape.seed.into(),
                    t.into(),
                    shape.projects.into(),
                    shape.tasks.into(),
                    shape.executions.into(),
                    shape.records.into(),
                    shape.chunks.into(),
                    shape.jobs.into(),
                ],
            ))
            .await
            .map_err(|e| format!("{e} in: {sql}"))?;
        }
        tx.commit().await.map_err(err)?;
    }
    db.execute_unprepared("DROP FUNCTION bench_vector(bigint); ANALYZE users, tenants, tenant_members, projects, tasks, executions, data_records, kb_documents, kb_chunks, jobs").await.map_err(err)?;
    println!(
        "seed-bench: {} tenants × {} projects × {} tasks × {} executions, {} records and {} KB chunks with vectors, {} jobs each, in {:.1} s (seed {})",
        shape.tenants,
        shape.projects,
        shape.tasks,
        shape.executions,
        shape.records,
        shape.chunks,
        shape.jobs,
        started.elapsed().as_secs_f64(),
        shape.seed
    );
    Ok(())
}
