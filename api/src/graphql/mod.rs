//! The GraphQL schema: one domain module per service domain, merged here, with the limits that
//! keep one request from costing the server too much.
#[macro_use]
mod macros;
pub mod chat;
pub mod code;
pub mod connection;
pub mod files;
pub mod governance;
pub mod knowledge;
pub mod loaders;
pub mod ops;
pub mod plan;
pub mod review;
pub mod search;
pub mod stats;
pub mod tenancy;
pub mod work;

use std::sync::Arc;

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{
    Context, MergedObject, MergedSubscription, Object, Schema, ServerError, ServerResult, SimpleObject,
};
use service::query::Skip;
use service::Scope;

use crate::config::Config;
use crate::events::EventHub;
use futures_util::{Stream, StreamExt};
use loaders::Loaders;
use tokio_stream::wrappers::BroadcastStream;

#[derive(MergedObject, Default)]
pub struct Query(
    HealthQuery,
    search::SearchQuery,
    tenancy::TenancyQuery,
    governance::GovernanceQuery,
    work::ProjectQuery,
    work::TaskQuery,
    work::AgentQuery,
    work::ExecutionQuery,
    work::TaskOutputQuery,
    work::JobQuery,
    work::JobTypeQuery,
    work::JobResultQuery,
    work::WorkflowQuery,
    review::DataRecordQuery,
    review::LikertScoreQuery,
    review::IngestJobQuery,
    review::AnalyticsJobQuery,
    review::BonusWindowQuery,
    code::CommitQuery,
    code::ReviewQuery,
    code::CodeChunkQuery,
    tenancy::SpaceQuery,
    tenancy::SpaceMemberQuery,
    knowledge::KbDocumentQuery,
    knowledge::KbChunkQuery,
    knowledge::KbTagQuery,
    knowledge::KbDocumentTagQuery,
    knowledge::NoteQuery,
    files::FolderQuery,
    files::FileQuery,
    files::FileVersionQuery,
    files::FileGrantQuery,
    files::FileChunkQuery,
    chat::ChatQuery,
    chat::MessageQuery,
    chat::ChatStreamQuery,
    governance::IntentQuery,
    governance::DecisionMemoQuery,
    governance::ApprovalQuery,
    ops::IntegrationQuery,
    ops::CrmCompanyQuery,
    ops::CrmContactQuery,
    ops::CrmSegmentQuery,
    ops::CrmSegmentMemberQuery,
    ops::LedgerEntryQuery,
    ops::BudgetQuery,
    ops::AssetQuery,
    ops::TicketQuery,
    ops::TicketCommentQuery,
    ops::PublishEventQuery,
    ops::SuggestionQuery,
    ops::SettingsQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    tenancy::TenancyMutation,
    work::ProjectMutation,
    work::TaskMutation,
    work::AgentMutation,
    work::ExecutionMutation,
    work::TaskOutputMutation,
    work::JobMutation,
    work::JobVerbs,
    work::JobResultMutation,
    work::WorkflowMutation,
    review::DataRecordMutation,
    review::LikertScoreMutation,
    review::IngestJobMutation,
    review::AnalyticsJobMutation,
    review::BonusWindowMutation,
    code::CommitMutation,
    code::ReviewMutation,
    code::CodeChunkMutation,
    code::CodeVerbs,
    tenancy::SpaceMutation,
    tenancy::SpaceMemberMutation,
    knowledge::KbDocumentMutation,
    knowledge::KbChunkMutation,
    knowledge::KbTagMutation,
    knowledge::KbDocumentTagMutation,
    knowledge::NoteMutation,
    files::FolderMutation,
    files::FileMutation,
    files::FileVersionMutation,
    files::FileGrantMutation,
    files::FileChunkMutation,
    files::FileVerbs,
    review::ReviewVerbs,
    chat::ChatMutation,
    chat::MessageMutation,
    chat::ChatStreamMutation,
    governance::IntentMutation,
    governance::DecisionMemoMutation,
    governance::ApprovalMutation,
    governance::DecisionVerbs,
    ops::IntegrationMutation,
    ops::IntegrationVerbs,
    ops::CrmCompanyMutation,
    ops::CrmContactMutation,
    ops::CrmSegmentMutation,
    ops::CrmSegmentMemberMutation,
    ops::LedgerEntryMutation,
    ops::BudgetMutation,
    ops::AssetMutation,
    ops::TicketMutation,
    ops::TicketCommentMutation,
    ops::PublishEventMutation,
    ops::SuggestionMutation,
    ops::SettingsMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(work::WorkSubscription, review::ReviewSubscription, chat::ChatSubscription);

pub type AtlasSchema = Schema<Query, Mutation, Subscription>;

/// What resolvers need at run time beyond the request: absent when only printing the schema.
pub struct Runtime {
    pub events: EventHub,
    pub storage: std::sync::Arc<service::storage::Storage>,
    pub embedder: std::sync::Arc<dyn service::embedding::Embedder>,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
}

/// Whether this server runs in development mode (diagnostic job types exist only there).
#[derive(Clone, Copy)]
pub struct Mode {
    pub development: bool,
}

/// What file resolvers need: the upload limit, and what signs download links.
#[derive(Clone)]
pub struct FileSettings {
    pub max_upload_bytes: u64,
    pub signing_secret: String,
    pub public_url: String,
}

pub fn build_schema(config: &Config, runtime: Option<Runtime>) -> AtlasSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .limit_depth(config.max_depth)
        .limit_complexity(config.max_complexity)
        .limit_recursive_depth(64)
        .limit_directives(20);
    builder = builder.data(Mode { development: config.development });
    if let Some(rt) = runtime {
        builder = builder.data(rt.events).data(rt.storage).data(rt.embedder).data(rt.metrics).data(FileSettings {
            max_upload_bytes: config.max_upload_bytes,
            signing_secret: config.secret_key.clone(),
            public_url: config.public_url.clone(),
        });
    }
    if !config.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// What a connection field costs: its children times the page size asked for (20 by default).
pub fn page_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let n = first.or(last).unwrap_or(service::pagination::DEFAULT_PAGE_SIZE as i32).clamp(1, 100) as usize;
    n.saturating_mul(child_complexity).saturating_add(1)
}

/// Access to the request's scope and loaders from resolvers.
pub trait CtxExt {
    fn scope(&self) -> async_graphql::Result<&Arc<Scope>>;
    fn loaders(&self) -> async_graphql::Result<&Loaders>;
}

impl CtxExt for Context<'_> {
    fn scope(&self) -> async_graphql::Result<&Arc<Scope>> {
        self.data::<Arc<Scope>>()
    }
    fn loaders(&self) -> async_graphql::Result<&Loaders> {
        self.data::<Loaders>()
    }
}

/// A to-one relation: the row `id` of `E` as the GraphQL type `T`, through the request's loader.
/// Only from the relation field's own resolver: that field's selection says which columns are read.
pub async fn one<E, T>(ctx: &Context<'_>, id: Option<uuid::Uuid>) -> async_graphql::Result<Option<T>>
where
    E: sea_orm::EntityTrait + Send + Sync,
    E::Model: Send + Sync,
    T: From<E::Model>,
{
    let Some(id) = id else { return Ok(None) };
    Ok(ctx.loaders()?.one::<E>(id, unread::<E>(ctx, false)).await?.map(T::from))
}

/// The costly columns of `E` the current field's selection does not ask for: they are not fetched.
fn unread<E: sea_orm::EntityTrait>(ctx: &Context<'_>, connection: bool) -> Skip {
    let names = selected(ctx, connection);
    Skip::unwanted::<E>(|column| reads(&names, column))
}

/// The names of the fields selected on the current field's objects (for a connection, under
/// `nodes` and `edges { node }`), fragments included.
pub fn selected<'a>(ctx: &'a Context<'_>, connection: bool) -> Vec<&'a str> {
    selected_in(ctx.field(), connection)
}

/// The same for any field of the request.
pub fn selected_in<'a>(field: async_graphql::SelectionField<'a>, connection: bool) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    if connection {
        for f in field.selection_set() {
            match f.name() {
                "nodes" => names.extend(f.selection_set().map(|g| g.name())),
                "edges" => {
                    for e in f.selection_set().filter(|e| e.name() == "node") {
                        names.extend(e.selection_set().map(|g| g.name()));
                    }
                }
                _ => {}
            }
        }
    } else {
        names.extend(field.selection_set().map(|g| g.name()));
    }
    names
}

/// Whether a selection of `names` reads `column`. An object's fields are its columns in camelCase
/// (`object!`); its other fields read only cheap columns (ids, keys, numbers), always fetched.
pub fn reads(names: &[&str], column: &str) -> bool {
    names.iter().any(|name| is_camel_of(name, column))
}

/// Whether `name` is `column` in camelCase (`duration_ms` → `durationMs`), as async-graphql names
/// an object's fields.
pub(crate) fn is_camel_of(name: &str, column: &str) -> bool {
    let mut expected = column.split('_').enumerate().flat_map(|(i, part)| {
        let mut chars = part.chars();
        let first = chars.next().map(|c| if i == 0 { c } else { c.to_ascii_uppercase() });
        first.into_iter().chain(chars)
    });
    let mut given = name.chars();
    loop {
        match (expected.next(), given.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// A to-many relation: rows of `E` whose `column` is `id`, as a connection, through the loader.
pub async fn many<E, T>(
    ctx: &Context<'_>,
    column: &'static str,
    id: uuid::Uuid,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> async_graphql::Result<connection::Conn<T>>
where
    E: sea_orm::EntityTrait + Send + Sync,
    E::Model: Send + Sync,
    T: From<E::Model> + async_graphql::OutputType,
{
    let window = connection::page_args(ctx, first, after, last, before).window()?;
    let children = ctx.loaders()?.many::<E>(column, id, unread::<E>(ctx, true), window).await?;
    let (offset, _) = window.resolve(Some(children.total));
    Ok(connection::connection(service::Page::new(children.rows, offset, false, Some(children.total)), T::from))
}

/// Change events of one entity table, for the caller's tenant only, each turned into a payload
/// by `load` (in a transaction of its own, ended before the next event). When events may have
/// been missed (the LISTEN connection came back, or this subscriber fell behind), `load` gets a
/// resync event for `resync_id` instead, so the subscriber receives the current state.
///
/// Each event first checks that the caller may still read the tenant (the membership check of
/// every transaction): a removed member or a suspended one gets one FORBIDDEN error, and the
/// subscription ends there instead of going on in silence.
pub fn changes<T, F, Fut>(
    ctx: &Context<'_>,
    entity: &'static str,
    keep: impl Fn(&service::events::Event) -> bool + Send + Sync + 'static,
    resync_id: Option<uuid::Uuid>,
    load: F,
) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<T>>>
where
    T: Send + 'static,
    F: Fn(std::sync::Arc<service::Scope>, std::sync::Arc<service::events::Event>) -> Fut
        + Send
        + Sync
        + Clone
        + 'static,
    Fut: std::future::Future<Output = Option<T>> + Send,
{
    let scope = ctx.scope()?.clone();
    let tenant = scope.tenant_id()?;
    let rx = ctx.data::<EventHub>()?.subscribe();
    let resync = move || {
        resync_id.map(|id| {
            std::sync::Arc::new(service::events::Event {
                tenant_id: tenant,
                entity: entity.to_string(),
                id,
                op: service::events::ChangeOp::Updated,
                parent_id: None,
                space_id: None,
                resync: true,
            })
        })
    };
    let events = BroadcastStream::new(rx).filter_map(move |event| {
        let (scope, load) = (scope.clone(), load.clone());
        let event = match event {
            Ok(e) if e.resync => resync(),
            Ok(e) => Some(e).filter(|e| e.tenant_id == tenant && e.entity == entity && keep(e)),
            // A lagging receiver missed events: re-read rather than fail the subscription.
            Err(_) => resync(),
        };
        async move {
            let event = event?;
            if let Err(e) = scope.tx().await.map(drop) {
                let _ = scope.finish(false).await;
                return match e.code() {
                    "FORBIDDEN" | "UNAUTHENTICATED" => Some(Err(e.into())),
                    // The database is away: this event is lost, and a resync follows its return.
                    _ => None,
                };
            }
            let out = load(scope.clone(), event).await;
            let _ = scope.finish(false).await;
            out.map(Ok)
        }
    });
    // Nothing after a refusal: the stream ends at once, and the client gets `complete`.
    Ok(futures_util::stream::unfold((Box::pin(events), false), |(mut events, ended)| async move {
        if ended {
            return None;
        }
        let item = events.next().await?;
        let ended = item.is_err();
        Some((item, (events, ended)))
    }))
}

/// Refuse a subscription to one row at subscribe time when the caller may not read that row
/// (another tenant's, or in a space that does not admit them): NOT_FOUND, not a subscription that
/// stays silent.
pub async fn readable<E: sea_orm::EntityTrait>(
    ctx: &Context<'_>,
    entity: &'static str,
    id: uuid::Uuid,
) -> async_graphql::Result<()> {
    let scope = ctx.scope()?;
    service::query::get::<E>(scope, entity, id).await?;
    scope.finish(false).await?;
    Ok(())
}

/// Refuse a subscription at subscribe time when the caller may not read the tenant.
pub async fn authorise(ctx: &Context<'_>) -> async_graphql::Result<()> {
    let scope = ctx.scope()?;
    scope.tenant_id()?;
    drop(scope.tx().await?);
    scope.finish(false).await?;
    Ok(())
}

#[derive(SimpleObject)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

#[derive(Default)]
pub struct HealthQuery;

#[Object]
impl HealthQuery {
    /// Answers without a token: whether the server is up, and its version.
    async fn health(&self) -> Health {
        Health { status: "ok", version: env!("CARGO_PKG_VERSION") }
    }
}

/// The schema behind the alias limit: documents with more aliased fields than the limit are
/// refused (aliases multiply the work of one field without adding depth or much complexity).
/// The check runs on the parsed document before execution (async-graphql then reuses that parse),
/// not as an async-graphql extension: with any extension installed, every field of every object
/// goes through the extension chain (a registry lookup and another boxed future per field), which
/// took about a third of the time of a 1,200-object query.
#[derive(Clone)]
pub struct Guarded {
    pub schema: AtlasSchema,
    max_aliases: usize,
}

impl Guarded {
    pub fn new(schema: AtlasSchema, max_aliases: usize) -> Self {
        Self { schema, max_aliases }
    }

    /// The limits checked on the parsed document (which async-graphql then reuses), and the type
    /// of the operation it runs.
    fn check(&self, request: &mut async_graphql::Request) -> ServerResult<Option<OperationType>> {
        let name = request.operation_name.clone();
        let doc: &ExecutableDocument = request.parsed_query()?;
        let ty = doc
            .operations
            .iter()
            .find(|(n, _)| name.is_none() || n.map(|n| n.as_str()) == name.as_deref())
            .map(|(_, op)| op.node.ty);
        let count = aliases(doc, self.max_aliases);
        if count > self.max_aliases {
            return Err(ServerError::new(
                format!("the query has more than {} aliases (counting each use of a fragment)", self.max_aliases),
                None,
            ));
        }
        Ok(ty)
    }

    /// One query or mutation in a transaction of its own, over HTTP or on a WebSocket: it commits
    /// when the operation has no errors and rolls back otherwise. A mutation that rolled back
    /// answers no data (its fields' results never existed): each field that had answered gets an
    /// error saying it was rolled back, and why. Errors without a code get one; internal errors
    /// are logged with `request_id` and say only that id.
    pub async fn run(
        &self,
        mut request: async_graphql::Request,
        scope: Arc<Scope>,
        request_id: uuid::Uuid,
    ) -> async_graphql::Response {
        match self.check(&mut request) {
            Ok(ty) => self.run_checked(request, ty == Some(OperationType::Mutation), scope, request_id).await,
            Err(e) => coded_errors(async_graphql::Response::from_errors(vec![e])),
        }
    }

    /// `run` for a request whose limits were checked already (a WebSocket operation).
    async fn run_checked(
        &self,
        request: async_graphql::Request,
        mutation: bool,
        scope: Arc<Scope>,
        request_id: uuid::Uuid,
    ) -> async_graphql::Response {
        let loaders = Loaders::new(scope.clone(), true);
        let operation = request.operation_name.clone();
        let mut response = self.schema.execute(request.data(scope.clone()).data(loaders)).await;
        let ok = response.errors.is_empty();
        if let Err(e) = scope.finish(ok).await {
            tracing::error!(%request_id, error = ?e, "could not end the operation's transaction");
            if ok {
                // A commit that did not happen (the database went away): the client must retry.
                response = async_graphql::Response::from_errors(vec![coded(e.message(), e.code())]);
            }
        }
        if !ok {
            audit_refusals(&scope, &response, operation.as_deref(), request_id).await;
        }
        for error in &mut response.errors {
            if has_code(error, "INTERNAL") {
                tracing::error!(%request_id, error = %error.message, "internal error");
                error.message = format!("internal error (request id {request_id})");
            }
        }
        if mutation && !response.errors.is_empty() {
            rolled_back(&mut response);
        }
        coded_errors(response)
    }
}

/// FORBIDDEN answers to a signed-in caller who named a tenant, recorded in that tenant's audit log
/// after the transaction ended (the rollback would have taken the row along). A failure to
/// record is logged, never the caller's problem.
async fn audit_refusals(
    scope: &Scope,
    response: &async_graphql::Response,
    operation: Option<&str>,
    request_id: uuid::Uuid,
) {
    let principal = scope.principal();
    let (Some(user), Some(tenant)) = (principal.user_id, principal.tenant_id) else { return };
    let refused: Vec<&ServerError> = response.errors.iter().filter(|e| has_code(e, "FORBIDDEN")).collect();
    let Some(first) = refused.first() else { return };
    let paths: Vec<serde_json::Value> =
        refused.iter().map(|e| serde_json::to_value(&e.path).unwrap_or_default()).collect();
    let meta = serde_json::json!({
        "code": "FORBIDDEN",
        "operation": operation,
        "paths": paths,
        "requestId": request_id.to_string(),
    });
    if let Err(e) = service::governance::record_refusal(scope.connection(), tenant, user, &first.message, meta).await {
        tracing::warn!(%request_id, error = ?e, "could not audit a refusal");
    }
}

/// Every error gets a code: parse, validation and limit errors come from async-graphql without one.
fn coded_errors(mut response: async_graphql::Response) -> async_graphql::Response {
    for error in &mut response.errors {
        let ext = error.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", "BAD_USER_INPUT");
        }
    }
    response
}

/// Whether `error` carries `extensions.code` = `code`.
pub fn has_code(error: &ServerError, code: &str) -> bool {
    matches!(error.extensions.as_ref().and_then(|x| x.get("code")), Some(async_graphql::Value::String(c)) if c == code)
}

/// An error with an `extensions.code`.
pub fn coded(message: impl Into<String>, code: &str) -> ServerError {
    let mut e = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code);
    e.extensions = Some(ext);
    e
}

/// A rolled-back mutation's answer: no data, and for every field that had answered, an error
/// `ROLLED_BACK` naming the error that undid it.
fn rolled_back(response: &mut async_graphql::Response) {
    let why = response.errors.first().map(|e| e.message.clone()).unwrap_or_default();
    let data = std::mem::replace(&mut response.data, async_graphql::Value::Null);
    if let async_graphql::Value::Object(fields) = data {
        for (name, value) in fields {
            if value != async_graphql::Value::Null {
                let mut e = coded(format!("{name} was rolled back, so nothing it did was kept: {why}"), "ROLLED_BACK");
                e.path = vec![async_graphql::PathSegment::Field(name.to_string())];
                response.errors.push(e);
            }
        }
    }
}

/// Who opened a WebSocket, kept in its session data: each query or mutation on the socket gets a
/// scope (and so a transaction) of its own from it, as an HTTP request does.
pub struct Session {
    pub db: sea_orm::DatabaseConnection,
    pub principal: service::Principal,
    /// Subscriptions running on the socket, at most `max_subscriptions`.
    subscriptions: Arc<std::sync::atomic::AtomicUsize>,
    max_subscriptions: usize,
}

impl Session {
    pub fn new(db: sea_orm::DatabaseConnection, principal: service::Principal, max_subscriptions: usize) -> Self {
        Self { db, principal, subscriptions: Default::default(), max_subscriptions }
    }

    /// A place for one more subscription, held until its stream is dropped; None when full.
    fn subscription_slot(&self) -> Option<SubscriptionSlot> {
        use std::sync::atomic::Ordering::SeqCst;
        let taken = self.subscriptions.fetch_update(SeqCst, SeqCst, |n| (n < self.max_subscriptions).then_some(n + 1));
        taken.is_ok().then(|| SubscriptionSlot(self.subscriptions.clone()))
    }
}

struct SubscriptionSlot(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for SubscriptionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl async_graphql::Executor for Guarded {
    async fn execute(&self, mut request: async_graphql::Request) -> async_graphql::Response {
        match self.check(&mut request) {
            Ok(_) => self.schema.execute(request).await,
            Err(e) => async_graphql::Response::from_errors(vec![e]),
        }
    }

    fn execute_stream(
        &self,
        mut request: async_graphql::Request,
        session_data: Option<Arc<async_graphql::Data>>,
    ) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
        use futures_util::StreamExt;
        let ty = match self.check(&mut request) {
            Ok(ty) => ty,
            Err(e) => {
                let response = coded_errors(async_graphql::Response::from_errors(vec![e]));
                return futures_util::stream::once(async move { response }).boxed();
            }
        };
        let session = session_data.unwrap_or_default();
        let one_shot = !matches!(ty, Some(OperationType::Subscription) | None);
        let socket = session.get(&std::any::TypeId::of::<Session>()).and_then(|s| s.downcast_ref::<Session>());
        match socket {
            // A query or mutation on a socket: its own transaction, committed when it succeeds.
            Some(socket) if one_shot => {
                let scope = Arc::new(Scope::new(socket.db.clone(), socket.principal.clone()));
                let this = self.clone();
                let mutation = ty == Some(OperationType::Mutation);
                futures_util::stream::once(async move {
                    this.run_checked(request, mutation, scope, uuid::Uuid::now_v7()).await
                })
                .boxed()
            }
            Some(socket) => match socket.subscription_slot() {
                // The slot lives as long as the stream: a completed or stopped one frees it.
                Some(slot) => self
                    .schema
                    .execute_stream_with_session_data(request, session.clone())
                    .map(move |response| {
                        let _held = &slot;
                        response
                    })
                    .boxed(),
                None => {
                    let msg = format!(
                        "this WebSocket runs {} subscriptions already (ATLAS_WS_MAX_SUBSCRIPTIONS); stop one first",
                        socket.max_subscriptions
                    );
                    let response = async_graphql::Response::from_errors(vec![coded(msg, "LIMIT_EXCEEDED")]);
                    futures_util::stream::once(async move { response }).boxed()
                }
            },
            None => self.schema.execute_stream_with_session_data(request, session),
        }
    }
}

/// Aliased fields in the operations, each fragment counted once per use (a fragment of 90
/// aliases spread four times is 360). A loop over an explicit stack, not recursion, since this
/// runs before async-graphql's depth checks; it stops once the count passes `max`, so fragments
/// spread inside fragments cannot make it run long (nor can a cycle, which validation refuses).
fn aliases(doc: &ExecutableDocument, max: usize) -> usize {
    let mut count = 0;
    let mut pending: Vec<&SelectionSet> = doc.operations.iter().map(|(_, op)| &op.node.selection_set.node).collect();
    // Every visited selection costs a step, so a spread that adds no alias still ends the walk.
    let mut steps = 0usize;
    while let Some(set) = pending.pop() {
        for item in &set.items {
            steps += 1;
            match &item.node {
                Selection::Field(f) => {
                    count += usize::from(f.node.alias.is_some());
                    pending.push(&f.node.selection_set.node);
                }
                Selection::InlineFragment(f) => pending.push(&f.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = doc.fragments.get(&spread.node.fragment_name.node) {
                        pending.push(&fragment.node.selection_set.node);
                    }
                }
            }
            if count > max || steps > 100_000 {
                return count.max(max + 1);
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::is_camel_of;

    #[test]
    fn camel_case_names_match_their_columns() {
        assert!(is_camel_of("durationMs", "duration_ms"));
        assert!(is_camel_of("id", "id"));
        assert!(is_camel_of("targetTaskCountTier2", "target_task_count_tier2"));
        assert!(!is_camel_of("duration", "duration_ms"));
        assert!(!is_camel_of("durationMsX", "duration_ms"));
        assert!(!is_camel_of("duration_ms", "duration_ms"));
    }
}
