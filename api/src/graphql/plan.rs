//! Whole-subtree answers for plain relation queries, as PostGraphile plans a query up front.
//!
//! When a list field's selection reads only columns, `__typename` and to-many relations (and
//! their connections' `nodes`, `edges`, `pageInfo`, `totalCount`), all the way down, the subtree
//! is planned before anything runs and then answered level by level: one statement per level for
//! all parents at once, values written straight into the response. The ordinary path spends most
//! of a large answer on one boxed future, one DataLoader round and one GraphQL object per field.
//! Anything else in the subtree (computed fields, to-one relations, aggregates, a response key
//! given twice, arguments the ordinary resolvers would refuse) leaves the whole subtree to the
//! ordinary resolvers, which give the same answer.
use std::borrow::Cow;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Mutex;

use async_graphql::connection::CursorType;
use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{Context, ContextSelectionSet, Name, OutputType, Positioned, SelectionField, ServerResult, Value};
use chrono::{DateTime, FixedOffset};
use entity::sea_orm_active_enums::*;
use futures_util::future::BoxFuture;
use sea_orm::prelude::Decimal;
use sea_orm::EntityTrait;
use service::query::{self, Skip};
use service::{Page, PageArgs, Scope};
use uuid::Uuid;

use super::connection::{connection as lazy_connection, Conn, Cursor};
use super::{reads, selected_in, CtxExt};

/// A field's answer: built here, or left to the ordinary resolvers. The schema sees `T` alone.
pub enum Planned<T> {
    Built(Mutex<Option<Value>>),
    Lazy(T),
}

impl<T: OutputType> OutputType for Planned<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        match self {
            // A field's value is resolved once; taking it avoids copying a large answer.
            Planned::Built(value) => Ok(value.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_default()),
            Planned::Lazy(inner) => inner.resolve(ctx, field).await,
        }
    }
}

/// A column field's value, as its GraphQL type would resolve it, without a future.
pub trait Plain {
    fn plain(&self) -> Value;
}

macro_rules! plain_scalars {
    ($($t:ty),*) => {$(
        impl Plain for $t {
            fn plain(&self) -> Value {
                async_graphql::ScalarType::to_value(self)
            }
        }
    )*};
}
plain_scalars!(Uuid, String, i32, i64, f64, bool, DateTime<FixedOffset>, Decimal);

macro_rules! plain_enums {
    ($($t:ty),*) => {$(
        impl Plain for $t {
            fn plain(&self) -> Value {
                async_graphql::resolver_utils::enum_value(*self)
            }
        }
    )*};
}
plain_enums!(
    AgentType,
    AnalyticsStatus,
    ApprovalDecision,
    AuditActorType,
    AuditLevel,
    BudgetPeriod,
    ChatStreamStatus,
    ExecutionStatus,
    FilePermission,
    FileVisibility,
    IngestStatus,
    IntentStatus,
    JobStatus,
    KbStatus,
    LedgerCategory,
    LedgerEntryType,
    MemberRole,
    MemoStatus,
    MessageRole,
    PublishStatus,
    RecordCategory,
    RecordType,
    ReviewStatus,
    SeatType,
    SpaceRole,
    SpaceVisibility,
    SuggestionStatus,
    TaskPriority,
    TaskStatus,
    TenantKind,
    TicketCategory,
    TicketSeverity,
    TicketStatus,
    WorkflowStatus
);

impl Plain for serde_json::Value {
    fn plain(&self) -> Value {
        // As async-graphql's own `JSON` output does.
        async_graphql::to_value(self).unwrap_or_default()
    }
}

impl<T: Plain> Plain for Option<T> {
    fn plain(&self) -> Value {
        self.as_ref().map_or(Value::Null, Plain::plain)
    }
}

impl<T: Plain> Plain for Vec<T> {
    fn plain(&self) -> Value {
        Value::List(self.iter().map(Plain::plain).collect())
    }
}

/// Reads one column field of an object.
pub type Getter<T> = fn(&T) -> Value;

/// The column fields of an `object!` type.
pub trait Columns {
    fn column(name: &str) -> Option<Getter<Self>>;
}

/// The to-many relations of an `object!` type (its `complex!` `many` lines), planned for a
/// selection; None when the name is no such relation or its selection cannot be planned.
pub trait Relations: Sized {
    fn relation(name: &str, field: SelectionField<'_>) -> Option<Box<dyn Level<Self>>>;
}

/// An object type the planner can answer.
pub trait Node: Columns + Relations + OutputType + Send + Sync + 'static {}
impl<T: Columns + Relations + OutputType + Send + Sync + 'static> Node for T {}

/// A planned to-many relation: for every parent, its connection's value.
pub trait Level<P>: Send + Sync {
    fn run<'a>(&'a self, scope: &'a Scope, parents: &'a [P]) -> BoxFuture<'a, async_graphql::Result<Vec<Value>>>;
}

enum ObjectField<T> {
    Typename,
    Column(Getter<T>),
    Relation(Box<dyn Level<T>>),
}

/// The fields selected on an object type, in the order the answer lists them.
struct Object<T> {
    fields: Vec<(Name, ObjectField<T>)>,
}

/// A response key, once per selection set: two selections of one key would have to be merged.
fn key_of<'a>(field: &SelectionField<'a>, seen: &mut Vec<&'a str>) -> Option<Name> {
    let key = field.alias().unwrap_or(field.name());
    if seen.contains(&key) {
        return None;
    }
    seen.push(key);
    Some(Name::new(key))
}

/// Each field selected under `field`, by response key, as `plan` makes it; None as soon as one
/// cannot be planned.
fn each<F>(field: SelectionField<'_>, mut plan: impl FnMut(SelectionField<'_>) -> Option<F>) -> Option<Vec<(Name, F)>> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for f in field.selection_set() {
        let key = key_of(&f, &mut seen)?;
        out.push((key, plan(f)?));
    }
    Some(out)
}

impl<T: Node> Object<T> {
    fn plan(field: SelectionField<'_>) -> Option<Self> {
        let fields = each(field, |f| {
            Some(match f.name() {
                "__typename" => ObjectField::Typename,
                name => match T::column(name) {
                    Some(get) => ObjectField::Column(get),
                    None => ObjectField::Relation(T::relation(name, f)?),
                },
            })
        })?;
        Some(Self { fields })
    }

    /// The value of every item, each relation loaded once for all of them.
    async fn run(&self, scope: &Scope, items: &[T]) -> async_graphql::Result<Vec<Value>> {
        let mut maps: Vec<IndexMap<Name, Value>> =
            (0..items.len()).map(|_| IndexMap::with_capacity(self.fields.len())).collect();
        for (key, field) in &self.fields {
            match field {
                ObjectField::Typename => {
                    let name = T::type_name();
                    for map in &mut maps {
                        map.insert(key.clone(), Value::String(name.to_string()));
                    }
                }
                ObjectField::Column(get) => {
                    for (map, item) in maps.iter_mut().zip(items) {
                        map.insert(key.clone(), get(item));
                    }
                }
                ObjectField::Relation(level) => {
                    for (map, value) in maps.iter_mut().zip(level.run(scope, items).await?) {
                        map.insert(key.clone(), value);
                    }
                }
            }
        }
        Ok(maps.into_iter().map(Value::Object).collect())
    }
}

enum PageInfoField {
    Typename,
    HasNextPage,
    HasPreviousPage,
    StartCursor,
    EndCursor,
}

enum EdgeField {
    Typename,
    Cursor,
    /// The node, answered by the connection's object plan with this index.
    Node(usize),
}

enum ConnectionField {
    Typename,
    TotalCount,
    PageInfo(Vec<(Name, PageInfoField)>),
    Nodes(usize),
    Edges(Vec<(Name, EdgeField)>),
}

/// The fields selected on a connection, and the object plans of its nodes (one per `nodes` or
/// `edges { node }` selection).
struct Connection<T> {
    fields: Vec<(Name, ConnectionField)>,
    objects: Vec<Object<T>>,
}

impl<T: Node> Connection<T> {
    fn plan(field: SelectionField<'_>) -> Option<Self> {
        let mut objects = Vec::new();
        let fields = each(field, |f| {
            Some(match f.name() {
                "__typename" => ConnectionField::Typename,
                "totalCount" => ConnectionField::TotalCount,
                "nodes" => {
                    objects.push(Object::plan(f)?);
                    ConnectionField::Nodes(objects.len() - 1)
                }
                "pageInfo" => ConnectionField::PageInfo(each(f, |g| {
                    Some(match g.name() {
                        "__typename" => PageInfoField::Typename,
                        "hasNextPage" => PageInfoField::HasNextPage,
                        "hasPreviousPage" => PageInfoField::HasPreviousPage,
                        "startCursor" => PageInfoField::StartCursor,
                        "endCursor" => PageInfoField::EndCursor,
                        _ => return None,
                    })
                })?),
                "edges" => ConnectionField::Edges(each(f, |g| {
                    Some(match g.name() {
                        "__typename" => EdgeField::Typename,
                        "cursor" => EdgeField::Cursor,
                        "node" => {
                            objects.push(Object::plan(g)?);
                            EdgeField::Node(objects.len() - 1)
                        }
                        _ => return None,
                    })
                })?),
                _ => return None,
            })
        })?;
        Some(Self { fields, objects })
    }

    /// The value of each page; the nodes of all pages are answered together, level by level.
    async fn run(&self, scope: &Scope, pages: Vec<Page<T>>) -> async_graphql::Result<Vec<Value>> {
        let mut nodes = Vec::new();
        let mut metas = Vec::with_capacity(pages.len());
        for page in pages {
            let offsets: Vec<u64> = page.items.iter().map(|(offset, _)| *offset).collect();
            nodes.extend(page.items.into_iter().map(|(_, node)| node));
            metas.push((offsets, page.has_next_page, page.has_previous_page, page.total));
        }
        let mut answered = Vec::with_capacity(self.objects.len());
        for object in &self.objects {
            answered.push(object.run(scope, &nodes).await?.into_iter());
        }
        let conn_type = Conn::<T>::type_name();
        let edge_type =
            async_graphql::connection::Edge::<Cursor, T, async_graphql::connection::EmptyFields>::type_name();
        let cursor = |offset: u64| Value::String(Cursor(offset).encode_cursor());

        let mut out = Vec::with_capacity(metas.len());
        for (offsets, has_next, has_previous, total) in metas {
            let mut map = IndexMap::with_capacity(self.fields.len());
            for (key, field) in &self.fields {
                let value = match field {
                    ConnectionField::Typename => Value::String(conn_type.to_string()),
                    ConnectionField::TotalCount => Value::Number((total.unwrap_or(0) as i64).into()),
                    ConnectionField::Nodes(i) => Value::List(answered[*i].by_ref().take(offsets.len()).collect()),
                    ConnectionField::PageInfo(info) => {
                        let mut page_info = IndexMap::with_capacity(info.len());
                        for (key, field) in info {
                            let value = match field {
                                PageInfoField::Typename => Value::String("PageInfo".into()),
                                PageInfoField::HasNextPage => Value::Boolean(has_next),
                                PageInfoField::HasPreviousPage => Value::Boolean(has_previous),
                                PageInfoField::StartCursor => offsets.first().map_or(Value::Null, |o| cursor(*o)),
                                PageInfoField::EndCursor => offsets.last().map_or(Value::Null, |o| cursor(*o)),
                            };
                            page_info.insert(key.clone(), value);
                        }
                        Value::Object(page_info)
                    }
                    ConnectionField::Edges(edge) => {
                        let mut edges = Vec::with_capacity(offsets.len());
                        for offset in &offsets {
                            let mut map = IndexMap::with_capacity(edge.len());
                            for (key, field) in edge {
                                let value = match field {
                                    EdgeField::Typename => Value::String(edge_type.to_string()),
                                    EdgeField::Cursor => cursor(*offset),
                                    EdgeField::Node(i) => answered[*i].next().unwrap_or_default(),
                                };
                                map.insert(key.clone(), value);
                            }
                            edges.push(Value::Object(map));
                        }
                        Value::List(edges)
                    }
                };
                map.insert(key.clone(), value);
            }
            out.push(Value::Object(map));
        }
        Ok(out)
    }
}

/// A root list field's connection over `page`: planned when its selection allows, else left to
/// the ordinary resolvers.
pub async fn connection<T: Node>(ctx: &Context<'_>, page: Page<T>) -> async_graphql::Result<Planned<Conn<T>>> {
    match Connection::<T>::plan(ctx.field()) {
        Some(plan) => {
            counted(ctx);
            let mut values = plan.run(ctx.scope()?, vec![page]).await?;
            Ok(Planned::Built(Mutex::new(values.pop())))
        }
        None => Ok(Planned::Lazy(lazy_connection(page, |node| node))),
    }
}

/// A root field's object: planned when its selection allows, else left to the ordinary resolvers.
pub async fn object<T: Node>(ctx: &Context<'_>, item: T) -> async_graphql::Result<Planned<T>> {
    match Object::<T>::plan(ctx.field()) {
        Some(plan) => {
            counted(ctx);
            let mut values = plan.run(ctx.scope()?, std::slice::from_ref(&item)).await?;
            Ok(Planned::Built(Mutex::new(values.pop())))
        }
        None => Ok(Planned::Lazy(item)),
    }
}

fn counted(ctx: &Context<'_>) {
    if let Ok(metrics) = ctx.data::<std::sync::Arc<crate::metrics::Metrics>>() {
        crate::metrics::Metrics::inc(&metrics.graphql_planned_fields);
    }
}

/// For each parent, the index of its value among `values` (None: no value), moved out at the
/// last parent that uses it and copied for any before.
fn hand_out(uses: Vec<Option<usize>>, values: Vec<Value>) -> Vec<Value> {
    let mut last = vec![usize::MAX; values.len()];
    for (parent, used) in uses.iter().enumerate() {
        if let Some(i) = used {
            last[*i] = parent;
        }
    }
    let mut values: Vec<Option<Value>> = values.into_iter().map(Some).collect();
    uses.into_iter()
        .enumerate()
        .map(|(parent, used)| match used {
            Some(i) if last[i] == parent => values[i].take().unwrap_or_default(),
            Some(i) => values[i].clone().unwrap_or_default(),
            None => Value::Null,
        })
        .collect()
}

/// The row of `E` each parent `P` points at by id (its `key`), or null.
struct One<P, E, C> {
    key: fn(&P) -> Option<Uuid>,
    skip: Skip,
    object: Object<C>,
    entity: PhantomData<fn() -> E>,
}

/// Plan a `one` relation of `complex!` for its selection `field`.
pub fn one<P, E, C>(key: fn(&P) -> Option<Uuid>, field: SelectionField<'_>) -> Option<Box<dyn Level<P>>>
where
    P: Send + Sync + 'static,
    E: EntityTrait + Send + Sync,
    E::Model: Send + Sync,
    C: Node + From<E::Model>,
{
    if !field.arguments().ok()?.is_empty() {
        return None;
    }
    let names = selected_in(field, false);
    let skip = Skip::unwanted::<E>(|column| reads(&names, column));
    let object = Object::plan(field)?;
    Some(Box::new(One::<P, E, C> { key, skip, object, entity: PhantomData }))
}

impl<P, E, C> Level<P> for One<P, E, C>
where
    P: Send + Sync,
    E: EntityTrait + Send + Sync,
    E::Model: Send + Sync,
    C: Node + From<E::Model>,
{
    fn run<'a>(&'a self, scope: &'a Scope, parents: &'a [P]) -> BoxFuture<'a, async_graphql::Result<Vec<Value>>> {
        Box::pin(async move {
            let keys: Vec<Option<Uuid>> = parents.iter().map(self.key).collect();
            let mut unique: Vec<Uuid> = keys.iter().flatten().copied().collect();
            unique.sort_unstable();
            unique.dedup();
            let rows = if unique.is_empty() {
                Vec::new()
            } else {
                query::by_column::<E>(scope, "id", &unique, self.skip).await?
            };
            let id = query::column::<E>("id")?;
            let mut index = HashMap::with_capacity(rows.len());
            let mut found = Vec::with_capacity(rows.len());
            for row in rows {
                if let Some(key) = super::loaders::uuid_in::<E>(&row, id) {
                    index.insert(key, found.len());
                    found.push(C::from(row));
                }
            }
            let values = self.object.run(scope, &found).await?;
            Ok(hand_out(keys.iter().map(|k| k.and_then(|k| index.get(&k).copied())).collect(), values))
        })
    }
}

/// The children of each parent `P`: rows of `E` whose `column` holds the parent's `key`.
struct Many<P, E, C> {
    column: &'static str,
    key: fn(&P) -> Uuid,
    skip: Skip,
    args: PageArgs,
    conn: Connection<C>,
    entity: PhantomData<fn() -> E>,
}

/// Plan a `many` relation of `complex!` for its selection `field`.
pub fn many<P, E, C>(column: &'static str, key: fn(&P) -> Uuid, field: SelectionField<'_>) -> Option<Box<dyn Level<P>>>
where
    P: Send + Sync + 'static,
    E: EntityTrait + Send + Sync,
    E::Model: Send + Sync,
    C: Node + From<E::Model>,
{
    let mut args = PageArgs::default();
    for (name, value) in field.arguments().ok()? {
        match (name.as_str(), value) {
            (_, Value::Null) => {}
            ("first", Value::Number(n)) => args.first = Some(i32::try_from(n.as_i64()?).ok()?),
            ("last", Value::Number(n)) => args.last = Some(i32::try_from(n.as_i64()?).ok()?),
            ("after", Value::String(s)) => args.after = Some(s),
            ("before", Value::String(s)) => args.before = Some(s),
            _ => return None,
        }
    }
    // Arguments the ordinary resolver would refuse: let it, with its error and path.
    args.window().ok()?;
    let names = selected_in(field, true);
    let skip = Skip::unwanted::<E>(|column| reads(&names, column));
    let conn = Connection::plan(field)?;
    Some(Box::new(Many::<P, E, C> { column, key, skip, args, conn, entity: PhantomData }))
}

impl<P, E, C> Level<P> for Many<P, E, C>
where
    P: Send + Sync,
    E: EntityTrait + Send + Sync,
    E::Model: Send + Sync,
    C: Node + From<E::Model>,
{
    fn run<'a>(&'a self, scope: &'a Scope, parents: &'a [P]) -> BoxFuture<'a, async_graphql::Result<Vec<Value>>> {
        Box::pin(async move {
            let keys: Vec<Uuid> = parents.iter().map(self.key).collect();
            let mut index: HashMap<Uuid, usize> = HashMap::with_capacity(keys.len());
            for key in &keys {
                let next = index.len();
                index.entry(*key).or_insert(next);
            }
            let mut unique = vec![Uuid::nil(); index.len()];
            for (key, i) in &index {
                unique[*i] = *key;
            }
            let rows = if unique.is_empty() {
                Vec::new()
            } else {
                query::by_column::<E>(scope, self.column, &unique, self.skip).await?
            };
            let column = query::column::<E>(self.column)?;
            let mut children: Vec<Vec<E::Model>> = (0..unique.len()).map(|_| Vec::new()).collect();
            for row in rows {
                if let Some(i) = super::loaders::uuid_in::<E>(&row, column).and_then(|key| index.get(&key)) {
                    children[*i].push(row);
                }
            }
            let mut pages = Vec::with_capacity(children.len());
            for rows in children {
                pages.push(Page::from_loaded(rows, &self.args)?.map(C::from));
            }
            let values = self.conn.run(scope, pages).await?;
            Ok(hand_out(keys.iter().map(|key| index.get(key).copied()).collect(), values))
        })
    }
}
