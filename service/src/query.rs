//! The one way service code reaches a tenant table: every select, update and delete built here
//! carries `tenant_id = scope.tenant`, so no call site writes (or forgets) that filter.
//! Row-level security enforces the same rule again inside PostgreSQL.
use std::str::FromStr;

use sea_orm::sea_query::{extension::postgres::PgFunc, ArrayType, Expr, ExprTrait};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, IdenStatic,
    IntoActiveModel, Iterable, Order, PaginatorTrait, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait,
    Select, Statement, Value,
};
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::pagination::{Page, PageArgs, Window};
use crate::scope::Scope;

/// A column of `E` by its database name; tenant tables all have `tenant_id` and `id`.
pub fn column<E: EntityTrait>(name: &str) -> Result<E::Column> {
    E::Column::from_str(name)
        .map_err(|_| ServiceError::internal(format!("table {} has no column {name}", E::default().table_name())))
}

/// `SELECT … FROM e WHERE tenant_id = scope.tenant`: the start of every tenant-table query.
pub fn scoped<E: EntityTrait>(scope: &Scope) -> Result<Select<E>> {
    scoped_to::<E>(scope.tenant_id()?)
}

/// The same for an explicit tenant: only for a user joining or creating that tenant.
pub(crate) fn scoped_to<E: EntityTrait>(tenant: Uuid) -> Result<Select<E>> {
    Ok(E::find().filter(column::<E>("tenant_id")?.eq(tenant)))
}

/// Raw SQL in the caller's tenant, for what the query builder cannot say (aggregates, recursive
/// walks, bulk writes). `$1` is the tenant, bound here from the scope, never from a row or an
/// argument; the statement's own values are `$2`, `$3`, …. A statement that never uses `$1` is
/// refused: it would reach across tenants but for row-level security.
pub fn raw(scope: &Scope, sql: impl Into<String>, values: impl IntoIterator<Item = Value>) -> Result<Statement> {
    let sql = sql.into();
    let uses_tenant = sql.match_indices("$1").any(|(i, _)| !sql[i + 2..].starts_with(|c: char| c.is_ascii_digit()));
    if !uses_tenant {
        return Err(ServiceError::internal(format!("a raw statement does not use the tenant ($1): {sql}")));
    }
    let values: Vec<Value> = std::iter::once(scope.tenant_id()?.into()).chain(values).collect();
    Ok(Statement::from_sql_and_values(DbBackend::Postgres, sql, values))
}

/// The first column of the one row a `raw` statement returns (a count, a yes or no), in the
/// request's transaction; the type's default when it returns no row.
pub async fn scalar<T: sea_orm::TryGetable + Default>(
    scope: &Scope,
    sql: impl Into<String>,
    values: impl IntoIterator<Item = Value>,
) -> Result<T> {
    use sea_orm::ConnectionTrait;
    let statement = raw(scope, sql, values)?;
    let tx = scope.tx().await?;
    let row = tx.query_one_raw(statement).await?;
    Ok(row.map(|r| r.try_get_by_index::<T>(0)).transpose()?.unwrap_or_default())
}

/// One row by id, in the caller's tenant; NOT_FOUND otherwise.
pub async fn get<E: EntityTrait>(scope: &Scope, entity: &'static str, id: Uuid) -> Result<E::Model> {
    let select = scoped::<E>(scope)?.filter(column::<E>("id")?.eq(id));
    let tx = scope.tx().await?;
    select.one(&*tx).await?.ok_or_else(|| ServiceError::not_found(entity, id))
}

/// Rows whose `key` column is one of `values` (ids for the by-id loader, foreign keys for the
/// by-key loader), in the caller's tenant: one statement for a whole batch.
/// Global tables (`users`, `tenants`) have no tenant column: row-level security alone decides
/// which of their rows the caller sees (themselves, fellow members, their own tenants).
pub async fn by_column<E: EntityTrait>(scope: &Scope, key: &str, values: &[Uuid], skip: Skip) -> Result<Vec<E::Model>> {
    let select = skipping(by_column_select::<E>(scope, key, values)?, skip);
    let tx = scope.tx().await?;
    Ok(select.all(&*tx).await?)
}

/// The rows `by_column` finds, but only `columns` of them (by database name, in that order) and
/// undecoded: for a caller that reads a few columns of many rows by position (the query planner),
/// where decoding whole models would cost more than the query.
pub async fn rows_by_column<E: EntityTrait>(
    scope: &Scope,
    key: &str,
    values: &[Uuid],
    columns: &[&str],
) -> Result<Vec<QueryResult>> {
    let mut select = by_column_select::<E>(scope, key, values)?;
    QueryTrait::query(&mut select).clear_selects();
    for name in columns {
        // `column` applies SeaORM's select-side casts (enums as text), as whole models get them.
        select = select.column(column::<E>(name)?);
    }
    let tx = scope.tx().await?;
    Ok(tx.query_all_raw(select.build(DbBackend::Postgres)).await?)
}

fn by_column_select<E: EntityTrait>(scope: &Scope, key: &str, values: &[Uuid]) -> Result<Select<E>> {
    let base = if column::<E>("tenant_id").is_ok() { scoped::<E>(scope)? } else { E::find() };
    // `= ANY($1)` with one array parameter, not `IN ($1, …, $n)`: one prepared statement for
    // every batch size, and one bind instead of n.
    let array = Value::Array(ArrayType::Uuid, Some(Box::new(values.iter().map(|v| Value::from(*v)).collect())));
    let mut select = base.filter(Expr::col(column::<E>(key)?).eq(PgFunc::any(Expr::val(array))));
    for name in child_order::<E>() {
        select = select.order_by_asc(column::<E>(name)?);
    }
    Ok(select)
}

/// Children come back in a stable, natural order: by sequence number where rows have one, else
/// oldest first; ties broken by id.
fn child_order<E: EntityTrait>() -> Vec<&'static str> {
    let first = ["seq", "created_at"].into_iter().find(|name| column::<E>(name).is_ok());
    first.into_iter().chain(["id"]).collect()
}

/// Each parent's page of children, cut in SQL: the children of every parent in `values` are
/// numbered in their order (`row_number() OVER (PARTITION BY key …)`, 0-based, as `atlas_rn`)
/// and counted (`atlas_total`), and only the rows in `window` come back, plus each parent's
/// first row so that its total is known even when the page is empty. `projects(first: 100) {
/// tasks(first: 1) }` so reads 100 tasks, not all of them.
fn paged<E: EntityTrait>(select: Select<E>, key: &str, window: &Window) -> Result<Statement> {
    use sea_orm::sea_query::{Alias, Asterisk, PostgresQueryBuilder, Query};
    let key = column::<E>(key)?.as_str();
    let order = child_order::<E>().iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    let mut inner = select.into_query();
    inner.clear_order_by();
    // The parent under a name of its own: the selected columns may hold the key column twice.
    inner.expr_as(Expr::cust(format!("\"{key}\"")), "atlas_parent");
    inner.expr_as(Expr::cust(format!("row_number() OVER (PARTITION BY \"{key}\" ORDER BY {order}) - 1")), "atlas_rn");
    inner.expr_as(Expr::cust(format!("count(*) OVER (PARTITION BY \"{key}\")")), "atlas_total");
    // $1 start, $2 end (before), $3 first (or the default size), $4 last; PostgreSQL's LEAST and
    // GREATEST skip NULLs, which is how an absent bound drops out. Same rule as `Window::resolve`.
    let [start, end, first, last] = window.bounds();
    let bound = Expr::cust_with_values(
        "atlas_rn = 0 OR (atlas_rn >= GREATEST($1, COALESCE($2, atlas_total) - $4) \
         AND atlas_rn < LEAST(COALESCE($2, atlas_total), $1 + $3))",
        [start, end, first, last].map(Value::BigInt),
    );
    let outer = Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("atlas_page"))
        .and_where(bound)
        .order_by(Alias::new("atlas_parent"), Order::Asc)
        .order_by(Alias::new("atlas_rn"), Order::Asc)
        .to_owned();
    let (sql, values) = outer.build(PostgresQueryBuilder);
    Ok(Statement::from_sql_and_values(DbBackend::Postgres, sql, values))
}

/// Of the rows `paged` returned (ordered by parent, then position), those inside the window,
/// grouped by parent: each with its rows and the parent's total of children.
fn in_window<R>(rows: Vec<(Uuid, i64, i64, R)>, window: &Window) -> std::collections::HashMap<Uuid, (Vec<R>, u64)> {
    let mut out: std::collections::HashMap<Uuid, (Vec<R>, u64)> = std::collections::HashMap::new();
    for (parent, rn, total, row) in rows {
        let total = u64::try_from(total).unwrap_or(0);
        let (offset, limit) = window.resolve(Some(total));
        let entry = out.entry(parent).or_insert_with(|| (Vec::new(), total));
        let rn = u64::try_from(rn).unwrap_or(0);
        if rn >= offset && rn < offset + limit {
            entry.0.push(row);
        }
    }
    out
}

/// Runs `paged(select)` and splits each row into its parent, position and total, and the row.
async fn paged_rows<E: EntityTrait>(
    scope: &Scope,
    select: Select<E>,
    key: &str,
    window: &Window,
) -> Result<Vec<(Uuid, i64, i64, QueryResult)>> {
    let statement = paged(select, key, window)?;
    let tx = scope.tx().await?;
    let rows = tx.query_all_raw(statement).await?;
    drop(tx);
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let parent: Uuid = row.try_get("", "atlas_parent")?;
        let (rn, total): (i64, i64) = (row.try_get("", "atlas_rn")?, row.try_get("", "atlas_total")?);
        out.push((parent, rn, total, row));
    }
    Ok(out)
}

/// `by_column` for children, one page per parent (see `paged`): by parent, its rows of the
/// page and its total.
pub async fn page_by_column<E: EntityTrait>(
    scope: &Scope,
    key: &str,
    values: &[Uuid],
    skip: Skip,
    window: &Window,
) -> Result<std::collections::HashMap<Uuid, (Vec<E::Model>, u64)>> {
    let select = skipping(by_column_select::<E>(scope, key, values)?, skip);
    let mut out = vec![];
    for (parent, rn, total, row) in paged_rows(scope, select, key, window).await? {
        out.push((parent, rn, total, <E::Model as sea_orm::FromQueryResult>::from_query_result(&row, "")?));
    }
    Ok(in_window(out, window))
}

/// `rows_by_column` for children, one page per parent: each row undecoded, as `columns` then
/// `atlas_parent`, `atlas_rn` and `atlas_total`. By parent, its rows of the page and its total.
pub async fn rows_page_by_column<E: EntityTrait>(
    scope: &Scope,
    key: &str,
    values: &[Uuid],
    columns: &[&str],
    window: &Window,
) -> Result<std::collections::HashMap<Uuid, (Vec<QueryResult>, u64)>> {
    let mut select = by_column_select::<E>(scope, key, values)?;
    QueryTrait::query(&mut select).clear_selects();
    for name in columns {
        select = select.column(column::<E>(name)?);
    }
    Ok(in_window(paged_rows(scope, select, key, window).await?, window))
}

/// Columns of an entity a caller will not read, one bit per column in declaration order.
///
/// Only costly columns (text, JSON, decimals, bytes, vectors) are ever skipped: they are the ones
/// that weigh on PostgreSQL's output, on decoding and on every copy of the row. Ids, keys, numbers,
/// flags, enums and timestamps are always read, so code that follows a relation or computes a
/// field from them sees real values.
#[derive(Clone, Copy, Debug, Default, Hash, PartialEq, Eq)]
pub struct Skip(u64);

impl Skip {
    /// Nothing skipped: the whole row.
    pub const NONE: Skip = Skip(0);

    /// The costly columns of `E` for which `wanted` says no.
    pub fn unwanted<E: EntityTrait>(wanted: impl Fn(&str) -> bool) -> Skip {
        let mut bits = 0u64;
        for (i, col) in E::Column::iter().enumerate().take(64) {
            if stand_in(&col).is_some() && !wanted(col.as_str()) {
                bits |= 1 << i;
            }
        }
        Skip(bits)
    }
}

/// The cheap value selected in place of a skipped column (typed, so the model still decodes): NULL
/// where the column may be null, else an empty value of its type. None for columns never skipped.
fn stand_in<C: ColumnTrait>(col: &C) -> Option<&'static str> {
    use sea_orm::sea_query::ColumnType as T;
    let def = col.def();
    let empty = match def.get_column_type() {
        T::Char(_) | T::String(_) | T::Text => "''::text",
        T::Json | T::JsonBinary => "'null'::jsonb",
        T::Decimal(_) | T::Money(_) => "0::numeric",
        T::Binary(_) | T::VarBinary(_) | T::Blob => "''::bytea",
        T::Vector(_) | T::Array(_) if def.is_null() => "NULL",
        _ => return None,
    };
    Some(if def.is_null() { "NULL" } else { empty })
}

/// `select` with the columns in `skip` replaced by their stand-ins (under the same names).
pub fn skipping<E: EntityTrait>(mut select: Select<E>, skip: Skip) -> Select<E> {
    if skip == Skip::NONE {
        return select;
    }
    QueryTrait::query(&mut select).clear_selects();
    for (i, col) in E::Column::iter().enumerate() {
        select = match stand_in(&col) {
            Some(value) if i < 64 && skip.0 & (1 << i) != 0 => select.column_as(Expr::cust(value), col.as_str()),
            _ => select.column(col),
        };
    }
    select
}

/// Insert a row into the caller's tenant with a fresh UUID v7 id.
pub async fn insert<A>(scope: &Scope, mut model: A) -> Result<<A::Entity as EntityTrait>::Model>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    model.set(column::<A::Entity>("tenant_id")?, scope.tenant_id()?.into());
    model.set(column::<A::Entity>("id")?, Uuid::now_v7().into());
    // Rows with a `created_by` user column record their creator, whatever the input said; Atlas
    // itself (a job handler) is no user and leaves it empty.
    if let Ok(col) = column::<A::Entity>("created_by") {
        if matches!(model.get(col), sea_orm::ActiveValue::NotSet) {
            let creator = if scope.principal().system { None } else { Some(scope.user_id()?) };
            let _ = model.try_set(col, creator.into());
        }
    }
    let tx = scope.tx().await?;
    Ok(model.insert(&*tx).await?)
}

/// Update the row `id` of the caller's tenant with the fields set in `model`; NOT_FOUND if absent.
pub async fn update<A>(
    scope: &Scope,
    entity: &'static str,
    id: Uuid,
    mut model: A,
) -> Result<<A::Entity as EntityTrait>::Model>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let tenant = scope.tenant_id()?;
    if !model.is_changed() {
        return get::<A::Entity>(scope, entity, id).await;
    }
    // The key is set as unchanged: it only addresses the row, and the tenant is always the caller's.
    model.not_set(column::<A::Entity>("tenant_id")?);
    model.not_set(column::<A::Entity>("id")?);
    let select = A::Entity::update_many()
        .set(model)
        .filter(column::<A::Entity>("tenant_id")?.eq(tenant))
        .filter(column::<A::Entity>("id")?.eq(id));
    let tx = scope.tx().await?;
    let mut rows = select.exec_with_returning(&*tx).await?;
    drop(tx);
    match rows.pop() {
        Some(row) => Ok(row),
        None => Err(refused::<A::Entity>(scope, entity, id).await),
    }
}

/// Why a write by id touched no row: the caller sees the row but row-level security does not let
/// them change it (FORBIDDEN), or there is no such row for them (NOT_FOUND, as for another
/// tenant's id).
async fn refused<E: EntityTrait>(scope: &Scope, entity: &'static str, id: Uuid) -> ServiceError {
    match get::<E>(scope, entity, id).await {
        Ok(_) => ServiceError::Forbidden(format!("you may see this {entity} but not change it")),
        Err(e) => e,
    }
}

/// Delete the row `id` of the caller's tenant and return it; NOT_FOUND if absent.
pub async fn delete<E: EntityTrait>(scope: &Scope, entity: &'static str, id: Uuid) -> Result<E::Model> {
    let stmt =
        E::delete_many().filter(column::<E>("tenant_id")?.eq(scope.tenant_id()?)).filter(column::<E>("id")?.eq(id));
    let tx = scope.tx().await?;
    let mut rows = stmt.exec_with_returning(&*tx).await?;
    drop(tx);
    match rows.pop() {
        Some(row) => Ok(row),
        None => Err(refused::<E>(scope, entity, id).await),
    }
}

/// One page of `select` (already scoped and filtered), ordered by `order` then id, plus the
/// total count when the client asked for it.
pub async fn page<E: EntityTrait>(
    scope: &Scope,
    select: Select<E>,
    order: &[(E::Column, Order)],
    args: &PageArgs,
) -> Result<Page<E::Model>>
where
    E::Model: Sync,
{
    let window = args.window()?;
    let mut ordered = select.clone();
    for (col, dir) in order {
        ordered = ordered.order_by(*col, dir.clone());
    }
    ordered = ordered.order_by(column::<E>("id")?, order.last().map(|(_, d)| d.clone()).unwrap_or(Order::Asc));
    let tx = scope.tx().await?;
    let total = if args.want_total || window.needs_total() { Some(select.count(&*tx).await?) } else { None };
    let (offset, limit) = window.resolve(total);
    // One row more than asked tells whether another page follows.
    let mut rows = ordered.offset(offset).limit(limit + 1).all(&*tx).await?;
    let has_more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok(Page::new(rows, offset, has_more, total))
}

/// Filters that turn into a condition on one column.
pub trait ColumnFilter {
    fn condition<C: ColumnTrait>(&self, col: C) -> Condition;
}

/// AND of the optional column filters of an input, skipping the absent ones.
pub fn all_of(parts: impl IntoIterator<Item = Option<Condition>>) -> Condition {
    parts.into_iter().flatten().fold(Condition::all(), |acc, c| acc.add(c))
}

#[cfg(test)]
mod raw_tests {
    use super::*;
    use crate::Principal;

    fn scope() -> Scope {
        let principal = Principal::system(Uuid::now_v7());
        Scope::new(sea_orm::DatabaseConnection::default(), principal)
    }

    #[test]
    fn raw_binds_the_scopes_tenant_first_and_refuses_statements_without_it() {
        let scope = scope();
        let statement = raw(&scope, "SELECT 1 FROM tasks WHERE tenant_id = $1 AND id = $2", [Uuid::nil().into()])
            .expect("a tenant statement");
        let values = statement.values.expect("values").0;
        assert_eq!(values[0], Value::from(scope.principal().tenant_id.expect("tenant")));
        assert_eq!(values[1], Value::from(Uuid::nil()));
        assert!(raw(&scope, "SELECT 1 FROM tasks WHERE id = $10", []).is_err(), "$10 is not $1");
        assert!(raw(&scope, "SELECT 1 FROM tasks", []).is_err());
    }

    /// The first lock (DESIGN.md): no statement outside this module writes a tenant filter by
    /// hand; raw SQL goes through `raw`, which binds the tenant itself.
    #[test]
    fn no_raw_statement_writes_its_own_tenant_filter() {
        let mut offenders = vec![];
        let mut dirs = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("src").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") || path.ends_with("query.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("source");
                for (at, _) in text.match_indices("from_sql_and_values(") {
                    let call: String = text[at..].chars().take(600).collect();
                    let call = call.split(";\n").next().unwrap_or_default();
                    if call.contains("tenant_id = $") || call.contains("tenant_id=$") {
                        offenders.push(format!("{}:{}", path.display(), text[..at].lines().count()));
                    }
                }
            }
        }
        assert!(offenders.is_empty(), "raw statements with a hand-written tenant filter: {offenders:?}");
    }
}
