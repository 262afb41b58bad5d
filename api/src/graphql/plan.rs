//! Whole-subtree answers for plain relation queries, as PostGraphile plans a query up front.
//!
//! When a root field's selection reads only columns, `__typename`, and relations (`complex!`
//! `many` and `one` lines, with their connections' `nodes`, `edges`, `pageInfo`, `totalCount`),
//! all the way down, the subtree is planned before anything runs and then answered level by level:
//! one statement per level for all parents at once. Each level selects only the columns its
//! fields read (plus the keys its relations follow) and decodes them by position straight into
//! response values: no models, no GraphQL objects, no per-field futures or DataLoader rounds,
//! which is where the ordinary path spends a large answer. Anything else in the subtree (computed
//! fields, aggregates, a response key given twice, arguments the ordinary resolvers would refuse)
//! leaves the whole field to the ordinary resolvers, which give the same answer.
use std::borrow::Cow;
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
use sea_orm::{EntityTrait, QueryResult, TryGetError, TryGetable};
use service::pagination::Window;
use service::query;
use service::{Page, PageArgs, Scope};
// Keyed by our own ids, not by text a caller chooses: a fast hash over SipHash is safe here.
use rustc_hash::FxHashMap as HashMap;
use uuid::Uuid;

use super::connection::{connection as lazy_connection, Conn, Cursor};
use super::CtxExt;

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
    /// The same value from an owned one (a decoded cell): text is moved, not copied.
    fn into_plain(self) -> Value
    where
        Self: Sized,
    {
        self.plain()
    }
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
plain_scalars!(i32, i64, f64, bool, DateTime<FixedOffset>, Decimal);

impl Plain for String {
    fn plain(&self) -> Value {
        Value::String(self.clone())
    }
    fn into_plain(self) -> Value {
        Value::String(self)
    }
}

impl Plain for Uuid {
    fn plain(&self) -> Value {
        // The text async-graphql's `to_string` gives (hyphenated, lower case), without `fmt`.
        let mut buffer = Uuid::encode_buffer();
        Value::String(self.hyphenated().encode_lower(&mut buffer).to_owned())
    }
}

macro_rules! plain_enums {
    ($($t:ty),*) => {$(
        impl Plain for $t {
            fn plain(&self) -> Value {
                // Each variant's name built once and shared: an answer repeats the same few.
                static NAMES: std::sync::OnceLock<Vec<($t, Name)>> = std::sync::OnceLock::new();
                let names = NAMES.get_or_init(|| {
                    <$t as async_graphql::EnumType>::items().iter().map(|item| (item.value, Name::new(item.name))).collect()
                });
                match names.iter().find(|(value, _)| value == self) {
                    Some((_, name)) => Value::Enum(name.clone()),
                    None => async_graphql::resolver_utils::enum_value(*self),
                }
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
    fn into_plain(self) -> Value {
        self.map_or(Value::Null, Plain::into_plain)
    }
}

impl<T: Plain> Plain for Vec<T> {
    fn plain(&self) -> Value {
        Value::List(self.iter().map(Plain::plain).collect())
    }
    fn into_plain(self) -> Value {
        Value::List(self.into_iter().map(Plain::into_plain).collect())
    }
}

/// A column field of an `object!` type: its database column (the model field it is copied from),
/// read from a built object (a root field's rows) or decoded by position from a selected row.
pub struct Column<T> {
    pub name: &'static str,
    pub get: fn(&T) -> Value,
    pub decode: fn(&QueryResult, usize) -> Result<Value, TryGetError>,
}

/// The column fields of an `object!` type.
pub trait Columns: Sized {
    fn column(name: &str) -> Option<Column<Self>>;
}

/// Reads the key a relation follows from a built object (a root field's rows).
pub type KeyOf<T> = fn(&T) -> Option<Uuid>;

/// A relation of an `object!` type planned for a selection: the parent column holding its key
/// (read like a column) and the level that answers it.
pub struct Relation<T> {
    pub key: &'static str,
    pub get: KeyOf<T>,
    pub level: Box<dyn Level>,
}

/// The relations of an `object!` type (its `complex!` `many` and `one` lines), planned for a
/// selection; None when the name is no such relation or its selection cannot be planned.
pub trait Relations: Sized {
    fn relation(name: &str, field: SelectionField<'_>) -> Option<Relation<Self>>;
}

/// An object type the planner can answer.
pub trait Node: Columns + Relations + OutputType + Send + Sync + 'static {}
impl<T: Columns + Relations + OutputType + Send + Sync + 'static> Node for T {}

/// A planned relation: for every parent key, its value (a connection, an object or null).
pub trait Level: Send + Sync {
    fn run<'a>(&'a self, scope: &'a Scope, keys: Vec<Option<Uuid>>)
        -> BoxFuture<'a, async_graphql::Result<Vec<Value>>>;
}

/// What each row of one level holds: the keys its relations follow, then the columns its objects
/// read, each once however many fields read it. Nested levels select exactly these columns.
struct Shape<T> {
    keys: Vec<(&'static str, KeyOf<T>)>,
    cells: Vec<Column<T>>,
    /// How many fields read each cell: a cell read once is moved into the answer, not copied.
    reads: Vec<u32>,
}

/// One row of a level: its keys and its cells, as `Shape` lists them.
struct Row {
    keys: Vec<Option<Uuid>>,
    cells: Vec<Value>,
}

impl<T> Shape<T> {
    fn new() -> Self {
        Self { keys: Vec::new(), cells: Vec::new(), reads: Vec::new() }
    }

    fn key(&mut self, name: &'static str, get: KeyOf<T>) -> usize {
        self.keys.iter().position(|(n, _)| *n == name).unwrap_or_else(|| {
            self.keys.push((name, get));
            self.keys.len() - 1
        })
    }

    fn cell(&mut self, column: Column<T>) -> usize {
        let i = self.cells.iter().position(|c| c.name == column.name).unwrap_or_else(|| {
            self.cells.push(column);
            self.reads.push(0);
            self.cells.len() - 1
        });
        self.reads[i] += 1;
        i
    }

    /// The database columns a nested level selects after its join column: keys, then cells.
    fn columns<'a>(&self, join: &'a str) -> Vec<&'a str> {
        let mut names = Vec::with_capacity(1 + self.keys.len() + self.cells.len());
        names.push(join);
        names.extend(self.keys.iter().map(|(n, _)| *n));
        names.extend(self.cells.iter().map(|c| c.name));
        names
    }

    /// A root field's object as a row.
    fn row_of(&self, item: &T) -> Row {
        Row {
            keys: self.keys.iter().map(|(_, get)| get(item)).collect(),
            cells: self.cells.iter().map(|c| (c.get)(item)).collect(),
        }
    }

    /// A selected row (as `columns` ordered it) as the join column's value and a row.
    fn decode(&self, row: &QueryResult) -> Result<(Option<Uuid>, Row), TryGetError> {
        let join = <Option<Uuid> as TryGetable>::try_get_by_index(row, 0)?;
        let mut keys = Vec::with_capacity(self.keys.len());
        for i in 0..self.keys.len() {
            keys.push(<Option<Uuid> as TryGetable>::try_get_by_index(row, 1 + i)?);
        }
        let base = 1 + self.keys.len();
        let mut cells = Vec::with_capacity(self.cells.len());
        for (i, column) in self.cells.iter().enumerate() {
            cells.push((column.decode)(row, base + i)?);
        }
        Ok((join, Row { keys, cells }))
    }

    /// Each parent's page of the rows of `E` whose `join` column holds one of `keys`, cut in SQL,
    /// with the parent's total of children.
    async fn load_pages<E: EntityTrait>(
        &self,
        scope: &Scope,
        join: &str,
        keys: &[Uuid],
        window: &Window,
    ) -> async_graphql::Result<std::collections::HashMap<Uuid, (Vec<Row>, u64)>> {
        if keys.is_empty() {
            return Ok(Default::default());
        }
        let pages = query::rows_page_by_column::<E>(scope, join, keys, &self.columns(join), window).await?;
        let mut out = std::collections::HashMap::with_capacity(pages.len());
        for (parent, (rows, total)) in pages {
            let rows = rows
                .iter()
                .map(|row| {
                    self.decode(row)
                        .map(|(_, row)| row)
                        .map_err(|e| service::ServiceError::from(sea_orm::DbErr::from(e)).into())
                })
                .collect::<async_graphql::Result<Vec<Row>>>()?;
            out.insert(parent, (rows, total));
        }
        Ok(out)
    }

    /// The rows of `E` whose `join` column holds one of `keys`, each as its join value and a row.
    async fn load<E: EntityTrait>(
        &self,
        scope: &Scope,
        join: &str,
        keys: &[Uuid],
    ) -> async_graphql::Result<Vec<(Option<Uuid>, Row)>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows = query::rows_by_column::<E>(scope, join, keys, &self.columns(join)).await?;
        rows.iter()
            .map(|row| self.decode(row).map_err(|e| service::ServiceError::from(sea_orm::DbErr::from(e)).into()))
            .collect()
    }
}

enum ObjectField {
    Typename,
    Column(usize),
    Relation(usize, Box<dyn Level>),
}

/// The fields selected on an object type, in the order the answer lists them.
struct Object<T> {
    fields: Vec<(Name, ObjectField)>,
    node: PhantomData<fn() -> T>,
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
    fn plan(field: SelectionField<'_>, shape: &mut Shape<T>) -> Option<Self> {
        let fields = each(field, |f| {
            Some(match f.name() {
                "__typename" => ObjectField::Typename,
                name => match T::column(name) {
                    Some(column) => ObjectField::Column(shape.cell(column)),
                    None => {
                        let relation = T::relation(name, f)?;
                        ObjectField::Relation(shape.key(relation.key, relation.get), relation.level)
                    }
                },
            })
        })?;
        Some(Self { fields, node: PhantomData })
    }

    /// The value of every row, each relation loaded once for all of them.
    async fn run(&self, scope: &Scope, shape: &Shape<T>, rows: &mut [Row]) -> async_graphql::Result<Vec<Value>> {
        let mut maps: Vec<IndexMap<Name, Value>> =
            (0..rows.len()).map(|_| IndexMap::with_capacity(self.fields.len())).collect();
        for (key, field) in &self.fields {
            match field {
                ObjectField::Typename => {
                    let name = T::type_name();
                    for map in &mut maps {
                        map.insert(key.clone(), Value::String(name.to_string()));
                    }
                }
                ObjectField::Column(i) => {
                    let once = shape.reads[*i] == 1;
                    for (map, row) in maps.iter_mut().zip(rows.iter_mut()) {
                        let value = if once { std::mem::take(&mut row.cells[*i]) } else { row.cells[*i].clone() };
                        map.insert(key.clone(), value);
                    }
                }
                ObjectField::Relation(k, level) => {
                    let keys = rows.iter().map(|row| row.keys[*k]).collect();
                    for (map, value) in maps.iter_mut().zip(level.run(scope, keys).await?) {
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

/// The fields selected on a connection, the object plans of its nodes (one per `nodes` or
/// `edges { node }` selection) and the shape of their rows.
struct Connection<T> {
    fields: Vec<(Name, ConnectionField)>,
    objects: Vec<Object<T>>,
    shape: Shape<T>,
}

impl<T: Node> Connection<T> {
    fn plan(field: SelectionField<'_>) -> Option<Self> {
        let mut objects = Vec::new();
        let mut shape = Shape::new();
        let fields = each(field, |f| {
            Some(match f.name() {
                "__typename" => ConnectionField::Typename,
                "totalCount" => ConnectionField::TotalCount,
                "nodes" => {
                    objects.push(Object::plan(f, &mut shape)?);
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
                            objects.push(Object::plan(g, &mut shape)?);
                            EdgeField::Node(objects.len() - 1)
                        }
                        _ => return None,
                    })
                })?),
                _ => return None,
            })
        })?;
        Some(Self { fields, objects, shape })
    }

    /// The value of each page; the nodes of all pages are answered together, level by level.
    async fn run(&self, scope: &Scope, pages: Vec<Page<Row>>) -> async_graphql::Result<Vec<Value>> {
        let mut nodes = Vec::new();
        let mut metas = Vec::with_capacity(pages.len());
        for page in pages {
            let offsets: Vec<u64> = page.items.iter().map(|(offset, _)| *offset).collect();
            nodes.extend(page.items.into_iter().map(|(_, node)| node));
            metas.push((offsets, page.has_next_page, page.has_previous_page, page.total));
        }
        let mut answered = Vec::with_capacity(self.objects.len());
        for object in &self.objects {
            answered.push(object.run(scope, &self.shape, &mut nodes).await?.into_iter());
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
            let rows = page.map(|item| plan.shape.row_of(&item));
            let mut values = plan.run(ctx.scope()?, vec![rows]).await?;
            Ok(Planned::Built(Mutex::new(values.pop())))
        }
        None => Ok(Planned::Lazy(lazy_connection(page, |node| node))),
    }
}

/// A root field's object: planned when its selection allows, else left to the ordinary resolvers.
pub async fn object<T: Node>(ctx: &Context<'_>, item: T) -> async_graphql::Result<Planned<T>> {
    let mut shape = Shape::new();
    match Object::<T>::plan(ctx.field(), &mut shape) {
        Some(plan) => {
            counted(ctx);
            let mut rows = [shape.row_of(&item)];
            let mut values = plan.run(ctx.scope()?, &shape, &mut rows).await?;
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

/// Each distinct key in first-seen order, and for each key its place in that list.
fn distinct(keys: &[Option<Uuid>]) -> (Vec<Uuid>, HashMap<Uuid, usize>) {
    let mut index = HashMap::with_capacity_and_hasher(keys.len(), Default::default());
    let mut unique = Vec::with_capacity(keys.len());
    for key in keys.iter().flatten() {
        index.entry(*key).or_insert_with(|| {
            unique.push(*key);
            unique.len() - 1
        });
    }
    (unique, index)
}

/// The row of `E` each parent points at by id (its key), or null.
struct One<E, C> {
    shape: Shape<C>,
    object: Object<C>,
    entity: PhantomData<fn() -> E>,
}

/// Plan a `one` relation of `complex!`: `key` is the parent's column holding the id.
pub fn one<P, E, C>(key: &'static str, get: KeyOf<P>, field: SelectionField<'_>) -> Option<Relation<P>>
where
    E: EntityTrait + Send + Sync,
    C: Node,
{
    if !field.arguments().ok()?.is_empty() {
        return None;
    }
    let mut shape = Shape::new();
    let object = Object::plan(field, &mut shape)?;
    known::<E, C>(&shape)?;
    Some(Relation { key, get, level: Box::new(One::<E, C> { shape, object, entity: PhantomData }) })
}

impl<E, C> Level for One<E, C>
where
    E: EntityTrait + Send + Sync,
    C: Node,
{
    fn run<'a>(
        &'a self,
        scope: &'a Scope,
        keys: Vec<Option<Uuid>>,
    ) -> BoxFuture<'a, async_graphql::Result<Vec<Value>>> {
        Box::pin(async move {
            let (unique, _) = distinct(&keys);
            let rows = self.shape.load::<E>(scope, "id", &unique).await?;
            let mut index = HashMap::with_capacity_and_hasher(rows.len(), Default::default());
            let mut found = Vec::with_capacity(rows.len());
            for (id, row) in rows {
                if let Some(id) = id {
                    index.insert(id, found.len());
                    found.push(row);
                }
            }
            let values = self.object.run(scope, &self.shape, &mut found).await?;
            Ok(hand_out(keys.iter().map(|k| k.and_then(|k| index.get(&k).copied())).collect(), values))
        })
    }
}

/// The children of each parent: rows of `E` whose `column` holds the parent's key.
struct Many<E, C> {
    column: &'static str,
    args: PageArgs,
    conn: Connection<C>,
    entity: PhantomData<fn() -> E>,
}

/// Plan a `many` relation of `complex!`: children of `E` whose `column` holds the parent's `key`.
pub fn many<P, E, C>(
    column: &'static str,
    key: &'static str,
    get: KeyOf<P>,
    field: SelectionField<'_>,
) -> Option<Relation<P>>
where
    E: EntityTrait + Send + Sync,
    C: Node,
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
    let conn = Connection::plan(field)?;
    known::<E, C>(&conn.shape)?;
    query::column::<E>(column).ok()?;
    Some(Relation { key, get, level: Box::new(Many::<E, C> { column, args, conn, entity: PhantomData }) })
}

/// Whether every column a shape reads is a column of `E`: an object field that is no column of
/// its table (by name) leaves the field to the ordinary resolvers rather than fail a statement.
fn known<E: EntityTrait, C>(shape: &Shape<C>) -> Option<()> {
    let names = shape.keys.iter().map(|(n, _)| *n).chain(shape.cells.iter().map(|c| c.name));
    for name in names {
        query::column::<E>(name).ok()?;
    }
    Some(())
}

impl<E, C> Level for Many<E, C>
where
    E: EntityTrait + Send + Sync,
    C: Node,
{
    fn run<'a>(
        &'a self,
        scope: &'a Scope,
        keys: Vec<Option<Uuid>>,
    ) -> BoxFuture<'a, async_graphql::Result<Vec<Value>>> {
        Box::pin(async move {
            let (unique, index) = distinct(&keys);
            let window = self.args.window()?;
            let mut loaded = self.conn.shape.load_pages::<E>(scope, self.column, &unique, &window).await?;
            let mut pages = Vec::with_capacity(unique.len());
            for parent in &unique {
                let (rows, total) = loaded.remove(parent).unwrap_or_default();
                let (offset, _) = window.resolve(Some(total));
                pages.push(Page::new(rows, offset, false, Some(total)));
            }
            let values = self.conn.run(scope, pages).await?;
            Ok(hand_out(keys.iter().map(|key| key.and_then(|key| index.get(&key).copied())).collect(), values))
        })
    }
}
