//! The one way service code reaches a tenant table: every select, update and delete built here
//! carries `tenant_id = scope.tenant`, so no call site writes (or forgets) that filter.
//! Row-level security enforces the same rule again inside PostgreSQL.
use std::str::FromStr;

use sea_orm::sea_query::{extension::postgres::PgFunc, ArrayType, Expr, ExprTrait};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, IdenStatic,
    IntoActiveModel, Iterable, Order, PaginatorTrait, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait,
    Select, Value,
};
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::pagination::{Page, PageArgs};
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
    // Children come back in a stable, natural order: by sequence number where rows have one,
    // else oldest first; ties broken by id.
    if let Ok(seq) = column::<E>("seq") {
        select = select.order_by_asc(seq);
    } else if let Ok(created) = column::<E>("created_at") {
        select = select.order_by_asc(created);
    }
    Ok(select.order_by_asc(column::<E>("id")?))
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
    rows.pop().ok_or_else(|| ServiceError::not_found(entity, id))
}

/// Delete the row `id` of the caller's tenant and return it; NOT_FOUND if absent.
pub async fn delete<E: EntityTrait>(scope: &Scope, entity: &'static str, id: Uuid) -> Result<E::Model> {
    let stmt =
        E::delete_many().filter(column::<E>("tenant_id")?.eq(scope.tenant_id()?)).filter(column::<E>("id")?.eq(id));
    let tx = scope.tx().await?;
    let mut rows = stmt.exec_with_returning(&*tx).await?;
    rows.pop().ok_or_else(|| ServiceError::not_found(entity, id))
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
