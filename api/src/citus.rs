//! Scaling out with Citus (issue 18): what Citus refuses in a schema distributed by `tenant_id`,
//! and the statements that distribute Atlas's schema (`atlas citus-ddl`). Both read the live
//! catalogue after `atlas migrate`, so a new table is covered without a list to keep up: a table
//! with `tenant_id` is distributed by it, a table without one is a reference table (copied to
//! every node), and `seaql_migrations` stays on the coordinator.
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

/// Stays a local table of the coordinator (only `atlas migrate` reads it).
const LOCAL_TABLES: &[&str] = &["seaql_migrations"];

async fn strings(db: &impl ConnectionTrait, sql: &str) -> Result<Vec<String>, DbErr> {
    let rows = db.query_all_raw(Statement::from_string(DbBackend::Postgres, sql.to_string())).await?;
    rows.iter().map(|r| r.try_get_by_index::<String>(0)).collect()
}

/// The public tables: (name, whether it has `tenant_id`), in name order.
async fn tables(db: &impl ConnectionTrait) -> Result<Vec<(String, bool)>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.relname::text, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid \
               AND a.attname = 'tenant_id' AND NOT a.attisdropped) \
             FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') \
             ORDER BY 1"
                .to_string(),
        ))
        .await?;
    let mut out = vec![];
    for r in rows {
        let name: String = r.try_get_by_index(0)?;
        if !LOCAL_TABLES.contains(&name.as_str()) {
            out.push((name, r.try_get_by_index(1)?));
        }
    }
    Ok(out)
}

/// Every construct of the schema that Citus would refuse, in words; empty when it distributes.
pub async fn violations(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    let mut found = vec![];
    let checks: [(&str, &str); 6] = [
        (
            "a subquery in a policy (Citus: subqueries are not supported in policies on distributed tables)",
            "SELECT tablename || '.' || policyname FROM pg_policies WHERE schemaname = 'public' \
             AND (coalesce(qual, '') || ' ' || coalesce(with_check, '')) ~* '\\m(select|exists)\\M'",
        ),
        (
            "a nullable tenant_id (a distribution value cannot be null)",
            "SELECT table_name::text FROM information_schema.columns WHERE table_schema = 'public' \
             AND column_name = 'tenant_id' AND is_nullable = 'YES'",
        ),
        (
            "a key or unique constraint of a tenant table without tenant_id",
            "SELECT c.conrelid::regclass::text || '.' || c.conname FROM pg_constraint c \
             JOIN pg_attribute t ON t.attrelid = c.conrelid AND t.attname = 'tenant_id' \
             WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('p', 'u', 'x') \
             AND NOT t.attnum = ANY (c.conkey)",
        ),
        (
            "a unique index of a tenant table without tenant_id",
            "SELECT i.indexrelid::regclass::text FROM pg_index i \
             JOIN pg_attribute t ON t.attrelid = i.indrelid AND t.attname = 'tenant_id' \
             JOIN pg_class c ON c.oid = i.indrelid AND c.relnamespace = 'public'::regnamespace \
             WHERE i.indisunique AND NOT t.attnum = ANY (i.indkey::smallint[])",
        ),
        (
            "SET NULL or SET DEFAULT over tenant_id (name the column: ON DELETE SET NULL (col))",
            "SELECT c.conrelid::regclass::text || '.' || c.conname FROM pg_constraint c \
             JOIN pg_attribute t ON t.attrelid = c.conrelid AND t.attname = 'tenant_id' \
             WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace AND t.attnum = ANY (c.conkey) \
             AND ((c.confdeltype IN ('n', 'd') AND (c.confdelsetcols IS NULL OR t.attnum = ANY (c.confdelsetcols))) \
                  OR c.confupdtype IN ('n', 'd'))",
        ),
        (
            "a foreign key between tenant tables without tenant_id on both sides, or from a table \
             without tenant_id to one with it",
            "SELECT c.conrelid::regclass::text || '.' || c.conname FROM pg_constraint c \
             LEFT JOIN pg_attribute s ON s.attrelid = c.conrelid AND s.attname = 'tenant_id' \
             JOIN pg_attribute r ON r.attrelid = c.confrelid AND r.attname = 'tenant_id' \
             WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace \
             AND (s.attnum IS NULL OR NOT s.attnum = ANY (c.conkey) OR NOT r.attnum = ANY (c.confkey))",
        ),
    ];
    for (what, sql) in checks {
        for name in strings(db, sql).await? {
            found.push(format!("{name}: {what}"));
        }
    }
    Ok(found)
}

/// The statements that distribute the schema on a Citus coordinator, in an order that works:
/// foreign keys are dropped first (Citus turns a table referencing a reference table into a
/// local table, which can then no longer be distributed), reference and distributed tables are
/// made, the keys come back, and functions whose types name a table are made again (distributing
/// a table can drop them by cascade), with their grants.
pub async fn ddl(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    let tables = tables(db).await?;
    let database = strings(db, "SELECT current_database()::text").await?.concat();
    let mut out = vec![
        "-- Run on the Citus coordinator as the schema owner (DIRECT_URL), after `atlas migrate`.".to_string(),
        // Atlas's triggers only touch their own row, or tables of the same tenant.
        "SET citus.enable_unsafe_triggers TO on;".to_string(),
        format!("ALTER DATABASE {} SET citus.enable_unsafe_triggers TO on;", quote(&database)),
    ];
    let fkeys = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid) FROM pg_constraint c \
             WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace ORDER BY 1, 2"
                .to_string(),
        ))
        .await?;
    let mut readd = vec![];
    for r in &fkeys {
        let (table, name, def): (String, String, String) =
            (r.try_get_by_index(0)?, r.try_get_by_index(1)?, r.try_get_by_index(2)?);
        out.push(format!("ALTER TABLE {table} DROP CONSTRAINT {};", quote(&name)));
        readd.push(format!("ALTER TABLE {table} ADD CONSTRAINT {} {def};", quote(&name)));
    }
    for (name, _) in tables.iter().filter(|(_, tenant)| !tenant) {
        out.push(format!("SELECT create_reference_table('{name}');"));
    }
    let mut first: Option<&str> = None;
    for (name, _) in tables.iter().filter(|(_, tenant)| *tenant) {
        let colocate = first.unwrap_or("none");
        out.push(format!("SELECT create_distributed_table('{name}', 'tenant_id', colocate_with => '{colocate}');"));
        first.get_or_insert(name);
    }
    out.extend(readd);
    let functions = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_get_functiondef(p.oid), p.oid::regprocedure::text, \
               coalesce((SELECT string_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(a.grantee::regrole::text) END, ', ') \
                 FROM aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner), '') \
             FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND EXISTS (SELECT 1 FROM pg_class c \
               WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') \
               AND (p.prorettype = c.reltype OR c.reltype = ANY (p.proargtypes::oid[]))) \
             ORDER BY 2"
                .to_string(),
        ))
        .await?;
    for r in &functions {
        let (def, signature, grantees): (String, String, String) =
            (r.try_get_by_index(0)?, r.try_get_by_index(1)?, r.try_get_by_index(2)?);
        out.push(format!("{};", def.trim_end()));
        out.push(format!("REVOKE ALL ON FUNCTION {signature} FROM PUBLIC;"));
        if !grantees.is_empty() {
            out.push(format!("GRANT EXECUTE ON FUNCTION {signature} TO {grantees};"));
        }
    }
    Ok(out)
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
