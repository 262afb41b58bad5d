//! Connection pools, direct or behind a transaction-mode pooler (PgBouncer, Supabase's pooler).
//!
//! Behind a transaction-mode pooler, each transaction may run on another server session, and a
//! statement outside a transaction may even change sessions between its parse and its execution.
//! So, when `pooled`:
//! - sqlx's statement cache is off (capacity 0) and `extra_float_digits` is not sent at startup
//!   (PgBouncer refuses unknown startup parameters);
//! - every statement runs inside a transaction (the request's `Scope`, or `one`/`all` here), so
//!   parse and execution share a session;
//! - each transaction begins with `DEALLOCATE ALL`: sqlx 0.9.0 still names the statements it
//!   does not cache (`sqlx_s_N`, numbered per client connection), and another client's statement
//!   of the same name may be left on the session this transaction got.
//!
//! Nothing else relies on session state: settings are `set_config(…, true)` (transaction-local),
//! and LISTEN runs on a direct connection of its own (`ATLAS_LISTEN_URL`).
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, QueryResult, Statement, TransactionTrait,
};

/// Whether any pool of this process goes through a transaction-mode pooler. Process-wide, since
/// `Scope` begins transactions on whichever pool it was given; `DEALLOCATE ALL` on a direct
/// connection is merely redundant.
static POOLED: AtomicBool = AtomicBool::new(false);

pub fn pooled() -> bool {
    POOLED.load(Relaxed)
}

/// `url` without a `pgbouncer=true` parameter (Prisma's spelling, which sqlx does not know), and
/// whether it had one.
pub fn strip_pgbouncer(url: &str) -> (String, bool) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_string(), false) };
    let mut found = false;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| {
            let pooler = p.eq_ignore_ascii_case("pgbouncer=true") || p.eq_ignore_ascii_case("pgbouncer=1");
            found |= pooler;
            !pooler && !p.is_empty()
        })
        .collect();
    let url = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    (url, found)
}

#[derive(Clone, Debug)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub min_connections: u32,
    /// Through a transaction-mode pooler (see the module's text).
    pub pooled: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self { max_connections: 10, min_connections: 0, pooled: false }
    }
}

/// A pool on `url` (a `pgbouncer=true` parameter also makes it pooled).
pub async fn connect(url: &str, opts: &PoolOptions) -> Result<DatabaseConnection, DbErr> {
    let (url, flagged) = strip_pgbouncer(url);
    let pooled = opts.pooled || flagged;
    let mut opt = ConnectOptions::new(url);
    opt.max_connections(opts.max_connections.max(1))
        .min_connections(opts.min_connections)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if pooled {
        POOLED.store(true, Relaxed);
        opt.map_sqlx_postgres_opts(|o| o.statement_cache_capacity(0).extra_float_digits(None));
    }
    Database::connect(opt).await
}

/// What a transaction does first behind a pooler (nothing on a direct connection).
pub async fn prepare_transaction(tx: &impl ConnectionTrait) -> Result<(), DbErr> {
    if pooled() {
        tx.execute_unprepared("DEALLOCATE ALL").await?;
    }
    Ok(())
}

/// One statement outside any request: in a transaction of its own behind a pooler, as is.
pub async fn one(db: &DatabaseConnection, statement: Statement) -> Result<Option<QueryResult>, DbErr> {
    if !pooled() {
        return db.query_one_raw(statement).await;
    }
    let tx = db.begin().await?;
    prepare_transaction(&tx).await?;
    let row = tx.query_one_raw(statement).await?;
    tx.commit().await?;
    Ok(row)
}

/// `one` for a statement that returns no rows.
pub async fn execute(db: &DatabaseConnection, statement: Statement) -> Result<sea_orm::ExecResult, DbErr> {
    if !pooled() {
        return db.execute_raw(statement).await;
    }
    let tx = db.begin().await?;
    prepare_transaction(&tx).await?;
    let done = tx.execute_raw(statement).await?;
    tx.commit().await?;
    Ok(done)
}

/// `one` for many rows.
pub async fn all(db: &DatabaseConnection, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
    if !pooled() {
        return db.query_all_raw(statement).await;
    }
    let tx = db.begin().await?;
    prepare_transaction(&tx).await?;
    let rows = tx.query_all_raw(statement).await?;
    tx.commit().await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::strip_pgbouncer;

    #[test]
    fn the_pgbouncer_flag_is_read_and_removed() {
        assert_eq!(strip_pgbouncer("postgres://a@h/db"), ("postgres://a@h/db".into(), false));
        assert_eq!(strip_pgbouncer("postgres://a@h/db?pgbouncer=true"), ("postgres://a@h/db".into(), true));
        assert_eq!(
            strip_pgbouncer("postgres://a@h/db?sslmode=require&pgbouncer=true&application_name=x"),
            ("postgres://a@h/db?sslmode=require&application_name=x".into(), true)
        );
    }
}
