//! HTTP: `/graphql` (POST and GET execute, GET from a browser shows GraphiQL, a WebSocket upgrade
//! runs subscriptions over `graphql-transport-ws` or legacy `graphql-ws`), health and metrics.
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use async_graphql::http::MultipartOptions;
use async_graphql::ServerError;
use futures_util::StreamExt;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use service::{Scope, ServiceError};
use tracing::Instrument;
use uuid::Uuid;

use crate::auth::{Keys, Verified};
use crate::config::Config;
use crate::events::EventHub;
use crate::graphiql;
use crate::graphql::{build_schema, Guarded, Runtime};
use crate::metrics::Metrics;

pub struct AppState {
    /// The schema behind the request limits that are checked before execution.
    pub schema: Guarded,
    pub storage: Arc<service::storage::Storage>,
    /// Shared with the in-process worker, so the model's weights are loaded once.
    pub embedder: Arc<dyn service::embedding::Embedder>,
    pub db: DatabaseConnection,
    pub keys: Keys,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// Open WebSockets per user on this process.
    pub sockets: crate::websocket::SocketCounts,
    pub events: EventHub,
    /// Turns true when the process begins to shut down: every WebSocket is then closed with 1001
    /// (going away), so that its client reconnects to another server.
    pub stopping: tokio::sync::watch::Sender<bool>,
}

/// The app role's pool, counting every statement for `/metrics` (and the N+1 tests).
pub async fn connect(config: &Config, metrics: Arc<Metrics>) -> Result<DatabaseConnection, String> {
    let mut db = service::pool::connect(&config.database_url, &config.pool(config.db_pool_size))
        .await
        .map_err(|e| format!("cannot connect to DATABASE_URL: {e}"))?;
    db.set_metric_callback(move |info| {
        metrics.db_statements.fetch_add(1, Relaxed);
        metrics.db_statement_micros.fetch_add(info.elapsed.as_micros() as u64, Relaxed);
        if info.failed {
            metrics.db_statement_failures.fetch_add(1, Relaxed);
        }
    });
    Ok(db)
}

pub async fn state(config: Config) -> Result<AppState, String> {
    service::secrets::configure(&config.secret_key);
    let metrics = Arc::new(Metrics::default());
    let db = connect(&config, metrics.clone()).await?;
    service::tenancy::check_app_role(&db).await.map_err(|e| format!("DATABASE_URL: {e}"))?;
    let sep = if config.listen_url.contains('?') { '&' } else { '?' };
    let listen_url = format!("{}{sep}application_name={}-events", config.listen_url, config.application_name);
    let events = EventHub::spawn(listen_url, metrics.clone()).await;
    let storage = Arc::new(service::storage::Storage::open(&config.storage_url)?);
    let embedder = config.embedding.build()?;
    Ok(AppState {
        schema: Guarded::new(
            build_schema(
                &config,
                Some(Runtime {
                    events: events.clone(),
                    storage: storage.clone(),
                    embedder: embedder.clone(),
                    metrics: metrics.clone(),
                }),
            ),
            config.max_aliases,
        ),
        storage,
        embedder,
        db,
        keys: Keys::with_rules(&config.jwt_secret, config.token_rules.clone()),
        config: Arc::new(config),
        metrics,
        sockets: Default::default(),
        events,
        stopping: tokio::sync::watch::Sender::new(false),
    })
}

/// The HTTP server. It handles no signals itself: `atlas serve` stops it (`ServerHandle::stop`)
/// after closing the WebSockets, and in-flight requests get `shutdown_grace` to finish.
pub fn run(state: AppState, listener: std::net::TcpListener) -> std::io::Result<actix_web::dev::Server> {
    let workers = state.config.workers.max(1);
    let grace = state.config.shutdown_grace.as_millis().div_ceil(1000).max(1) as u64;
    let state = web::Data::new(state);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/graphql", web::post().to(graphql_post))
            .route("/graphql", web::get().to(graphql_get))
            .route("/graphiql/{file}", web::get().to(graphiql::asset))
            .route("/health", web::get().to(health))
            .route("/health/db", web::get().to(health_db))
            .route("/health/storage", web::get().to(health_storage))
            .route("/health/ready", web::get().to(health_ready))
            .route("/files/{token}", web::get().to(download))
            .route("/metrics", web::get().to(metrics))
    })
    .workers(workers)
    .disable_signals()
    .shutdown_timeout(grace)
    .listen(listener)?
    .run())
}

/// What a 503 tells clients to wait before trying again.
const RETRY_AFTER_SECS: u64 = 1;

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn health_db(state: web::Data<AppState>) -> HttpResponse {
    match state.db.execute_unprepared("SELECT 1").await {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })),
        Err(e) => {
            tracing::error!(error = %e, "database health check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable" }))
        }
    }
}

/// For a load balancer: whether this process can serve, part by part (the database through its
/// pool, the object store, the LISTEN session that carries subscriptions' events); 503 when any
/// is not.
async fn health_ready(state: web::Data<AppState>) -> HttpResponse {
    let database =
        match tokio::time::timeout(std::time::Duration::from_secs(2), state.db.execute_unprepared("SELECT 1")).await {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: the database does not answer");
                false
            }
            Err(_) => false,
        };
    let storage =
        matches!(tokio::time::timeout(std::time::Duration::from_secs(2), state.storage.check()).await, Ok(Ok(())));
    let listener = state.events.listening();
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = serde_json::json!({
        "status": word(database && storage && listener),
        "database": word(database),
        "storage": word(storage),
        "listener": word(listener),
    });
    if database && storage && listener {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())).json(body)
    }
}

async fn health_storage(state: web::Data<AppState>) -> HttpResponse {
    match state.storage.check().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })),
        Err(e) => {
            tracing::error!(error = ?e, "storage health check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable" }))
        }
    }
}

/// A file download through a link signed by `File.downloadUrl` (local store): the token names a
/// file version of one tenant and its expiry; the version's row (so a deleted file revokes its
/// links) names the object. No other credentials are needed, as with a presigned URL. Serves one
/// byte range (`Range: bytes=a-b`) when asked.
async fn download(req: HttpRequest, token: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    Metrics::inc(&state.metrics.http_requests);
    let plain = |status: StatusCode, msg: &str, code: &str| {
        HttpResponse::build(status)
            .insert_header(("x-content-type-options", "nosniff"))
            .json(serde_json::json!({ "errors": [{ "message": msg, "extensions": { "code": code } }] }))
    };
    let now = chrono::Utc::now().timestamp();
    let claims = match service::files::verify_download(&state.config.secret_key, &token, now) {
        Ok(c) => c,
        Err(e) => return plain(StatusCode::FORBIDDEN, &e.message(), e.code()),
    };
    let gone = || plain(StatusCode::NOT_FOUND, "the file no longer exists", "NOT_FOUND");
    let found = match service::files::resolve_download(&state.db, &claims).await {
        Ok(found) => found,
        Err(e) if e.code() == "NOT_FOUND" => return gone(),
        Err(e) => return plain(StatusCode::SERVICE_UNAVAILABLE, "the file cannot be served right now", e.code()),
    };
    let size = match state.storage.size(claims.t, &found.key).await {
        Ok(size) => size,
        Err(e) if e.code() == "NOT_FOUND" => return gone(),
        Err(e) => return plain(StatusCode::SERVICE_UNAVAILABLE, "the file cannot be served right now", e.code()),
    };
    let range = match header_str(&req, "range").map(|r| parse_range(r, size)) {
        None => None,
        Some(Some(r)) => Some(r),
        Some(None) => {
            return HttpResponse::RangeNotSatisfiable()
                .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
                .finish()
        }
    };
    let body = match state.storage.stream_range(claims.t, &found.key, range.clone()).await {
        Ok(b) => b,
        Err(e) => return plain(StatusCode::SERVICE_UNAVAILABLE, "the file cannot be served right now", e.code()),
    };
    let ascii: String =
        found.name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' }).collect();
    let encoded: String = found
        .name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut res = match &range {
        Some(r) => {
            let mut res = HttpResponse::PartialContent();
            res.insert_header((header::CONTENT_RANGE, format!("bytes {}-{}/{size}", r.start, r.end - 1)));
            res
        }
        None => HttpResponse::Ok(),
    };
    let len = range.as_ref().map(|r| r.end - r.start).unwrap_or(size);
    res.insert_header((header::CONTENT_TYPE, found.content_type.clone()))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
        ))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .no_chunking(len)
        .streaming(body)
}

/// One range of `bytes=a-b`, `bytes=a-` or `bytes=-n`, within `size`; None when unsatisfiable.
fn parse_range(value: &str, size: u64) -> Option<std::ops::Range<u64>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None; // one range only
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (size.saturating_sub(n), size)
        }
        (a, "") => (a.parse().ok()?, size),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.saturating_add(1).min(size)),
    };
    (start < end && start < size).then_some(start..end)
}

/// Prometheus metrics, for whoever holds `ATLAS_METRICS_TOKEN` (they tell request rates, error
/// counts and pool use, which is no client's business); without the token it is off.
async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(token) = state.config.metrics_token.as_deref() else {
        let msg = "metrics are off: set ATLAS_METRICS_TOKEN and scrape with Authorization: Bearer <it>";
        return reject(&req, StatusCode::NOT_FOUND, vec![coded(msg, "NOT_FOUND")]);
    };
    let given = header_str(&req, "authorization").and_then(|a| a.strip_prefix("Bearer ")).unwrap_or("");
    if !same_secret(given.as_bytes(), token.as_bytes()) {
        let msg = "send Authorization: Bearer <ATLAS_METRICS_TOKEN>";
        return reject(&req, StatusCode::UNAUTHORIZED, vec![coded(msg, "UNAUTHENTICATED")]);
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render())
}

/// Equality whose time does not depend on where the bytes first differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

pub(crate) async fn principal(state: &AppState, req: &HttpRequest) -> Result<Verified, ServiceError> {
    let verified = state.keys.principal(header_str(req, "authorization"), header_str(req, "x-tenant-id")).await?;
    resolve_tenant(&state.db, verified).await
}

/// A tenant named by its slug becomes its id, looked up as the user, so that a tenant they do not
/// belong to stays hidden (FORBIDDEN, as for its id). One more round trip, for slugs only.
pub(crate) async fn resolve_tenant(db: &DatabaseConnection, mut verified: Verified) -> Result<Verified, ServiceError> {
    if let Some(slug) = verified.tenant_slug.take() {
        let scope = Scope::new(db.clone(), verified.principal.clone());
        let found = service::tenancy::tenant_by_slug(&scope, &slug).await;
        scope.finish(false).await?;
        verified.principal.tenant_id = Some(found?);
    }
    Ok(verified)
}

/// The HTTP status of a request refused before it runs, by its error's code.
pub(crate) fn refused_status(err: &ServiceError) -> StatusCode {
    match err.code() {
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "FORBIDDEN" => StatusCode::FORBIDDEN,
        "SERVICE_UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Clients that accept `application/graphql-response+json` get it (with 4xx for request errors);
/// others get `application/json` with 200, as the GraphQL-over-HTTP spec asks.
fn wants_graphql_response(req: &HttpRequest) -> bool {
    header_str(req, "accept").is_some_and(|a| a.contains("application/graphql-response+json"))
}

fn error_body(errors: Vec<ServerError>) -> serde_json::Value {
    serde_json::json!({ "errors": errors })
}

use crate::graphql::coded;

pub(crate) fn service_error(err: &ServiceError) -> ServerError {
    coded(err.message(), err.code())
}

/// A response for a request that never reached execution.
pub(crate) fn reject(req: &HttpRequest, status: StatusCode, errors: Vec<ServerError>) -> HttpResponse {
    let content_type =
        if wants_graphql_response(req) { "application/graphql-response+json" } else { "application/json" };
    HttpResponse::build(status).content_type(content_type).json(error_body(errors))
}

async fn graphql_post(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    Metrics::inc(&state.metrics.http_requests);
    let content_type = header_str(&req, "content-type").map(str::to_string);
    let media = content_type.as_deref().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media == "multipart/form-data" {
        return graphql_multipart(req, payload, state, content_type).await;
    }
    if !matches!(media.as_str(), "application/json" | "application/graphql-response+json") {
        let msg = "send Content-Type: application/json (or multipart/form-data for uploads)";
        return reject(&req, StatusCode::UNSUPPORTED_MEDIA_TYPE, vec![coded(msg, "BAD_USER_INPUT")]);
    }
    let limit = state.config.max_body_bytes;
    let mut body = web::BytesMut::new();
    let mut payload = payload;
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(bytes) if body.len() + bytes.len() <= limit => body.extend_from_slice(&bytes),
            Ok(_) => {
                let msg = format!("the request body is larger than {limit} bytes (ATLAS_MAX_BODY_BYTES)");
                return reject(&req, StatusCode::PAYLOAD_TOO_LARGE, vec![coded(msg, "BAD_USER_INPUT")]);
            }
            Err(e) => {
                return reject(
                    &req,
                    StatusCode::BAD_REQUEST,
                    vec![coded(format!("could not read the body: {e}"), "BAD_USER_INPUT")],
                )
            }
        }
    }
    match async_graphql::http::receive_body(content_type, body.as_ref(), MultipartOptions::default()).await {
        Ok(request) => execute(&req, &state, request).await,
        Err(e) => reject(
            &req,
            StatusCode::BAD_REQUEST,
            vec![coded(format!("the request is not valid GraphQL over HTTP: {e}"), "BAD_USER_INPUT")],
        ),
    }
}

/// A GraphQL multipart request (uploads): streamed, never held in memory. async-graphql spools
/// each file to a temporary file as it arrives; resolvers then stream it on to the object store.
async fn graphql_multipart(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
    content_type: Option<String>,
) -> HttpResponse {
    let limit = state.config.max_upload_bytes;
    // The payload is not Send; a small channel carries its chunks to the parser.
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<web::Bytes>>(16);
    actix_web::rt::spawn(async move {
        while let Some(chunk) = payload.next().await {
            let item = chunk.map_err(|e| std::io::Error::other(e.to_string()));
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    let body = futures_util::TryStreamExt::into_async_read(tokio_stream::wrappers::ReceiverStream::new(rx));
    let opts = MultipartOptions::default().max_file_size(limit as usize).max_num_files(16);
    match async_graphql::http::receive_body(content_type, body, opts).await {
        Ok(request) => execute(&req, &state, request).await,
        Err(async_graphql::ParseRequestError::PayloadTooLarge) => {
            let msg = format!("a file is larger than {limit} bytes (ATLAS_MAX_UPLOAD_BYTES)");
            reject(&req, StatusCode::PAYLOAD_TOO_LARGE, vec![coded(msg, "BAD_USER_INPUT")])
        }
        Err(e) => reject(
            &req,
            StatusCode::BAD_REQUEST,
            vec![coded(format!("the request is not a valid GraphQL multipart request: {e}"), "BAD_USER_INPUT")],
        ),
    }
}

async fn graphql_get(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let upgrade = req.headers().get(header::UPGRADE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if upgrade {
        return crate::websocket::websocket(req, payload, state).await;
    }
    Metrics::inc(&state.metrics.http_requests);
    let browser = header_str(&req, "accept").is_some_and(|a| a.contains("text/html"));
    if browser && !req.query_string().contains("query=") {
        return if state.config.graphiql {
            graphiql::page()
        } else {
            reject(&req, StatusCode::NOT_FOUND, vec![coded("GraphiQL is switched off (ATLAS_GRAPHIQL)", "NOT_FOUND")])
        };
    }
    let request = match async_graphql::http::parse_query_string(req.query_string()) {
        Ok(r) => r,
        Err(e) => {
            return reject(
                &req,
                StatusCode::BAD_REQUEST,
                vec![coded(format!("the query string is not a GraphQL request: {e}"), "BAD_USER_INPUT")],
            )
        }
    };
    // GET may only read: a mutation over GET could be triggered by a link.
    if let Ok(doc) = async_graphql::parser::parse_query(&request.query) {
        let mutation = doc.operations.iter().any(|(name, op)| {
            op.node.ty == async_graphql::parser::types::OperationType::Mutation
                && (request.operation_name.is_none() || name.map(|n| n.as_str()) == request.operation_name.as_deref())
        });
        if mutation {
            return HttpResponse::MethodNotAllowed()
                .insert_header((header::ALLOW, "POST"))
                .json(error_body(vec![coded("mutations must be sent with POST", "BAD_USER_INPUT")]));
        }
    }
    execute(&req, &state, request).await
}

async fn execute(req: &HttpRequest, state: &AppState, request: async_graphql::Request) -> HttpResponse {
    Metrics::inc(&state.metrics.graphql_requests);
    if request.query.trim().is_empty() {
        return reject(req, StatusCode::BAD_REQUEST, vec![coded("the request has no query", "BAD_USER_INPUT")]);
    }
    let principal = match principal(state, req).await {
        Ok(v) => v.principal,
        Err(e) => return reject(req, refused_status(&e), vec![service_error(&e)]),
    };
    let request_id = Uuid::now_v7();
    let scope = Arc::new(Scope::new(state.db.clone(), principal));
    let span = tracing::info_span!("graphql", %request_id);
    let response = state.schema.run(request, scope, request_id).instrument(span).await;
    if !response.errors.is_empty() {
        Metrics::inc(&state.metrics.graphql_errors);
    }
    let graphql_response = wants_graphql_response(req);
    // The database or the store was away: a retryable 503, whatever the media type, so that load
    // balancers and clients back off and try again.
    let away = response.errors.iter().any(|e| crate::graphql::has_code(e, "SERVICE_UNAVAILABLE"));
    let status = if away {
        StatusCode::SERVICE_UNAVAILABLE
    } else if graphql_response && response.data == async_graphql::Value::Null && !response.errors.is_empty() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let content_type = if graphql_response { "application/graphql-response+json" } else { "application/json" };
    // Serialised straight to bytes (no intermediate JSON tree: that doubled the cost of large
    // answers). A request that failed before execution has no `data` at all (GraphQL over HTTP).
    let body = if status == StatusCode::BAD_REQUEST {
        serde_json::to_value(&response).and_then(|mut body| {
            if let Some(obj) = body.as_object_mut() {
                obj.remove("data");
            }
            serde_json::to_vec(&body)
        })
    } else {
        serde_json::to_vec(&response)
    };
    match body {
        Ok(body) if away => HttpResponse::build(status)
            .content_type(content_type)
            .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()))
            .body(body),
        Ok(body) => HttpResponse::build(status).content_type(content_type).body(body),
        Err(e) => {
            tracing::error!(%request_id, error = %e, "could not serialise a response");
            reject(
                req,
                StatusCode::INTERNAL_SERVER_ERROR,
                vec![coded(format!("internal error (request id {request_id})"), "INTERNAL")],
            )
        }
    }
}
