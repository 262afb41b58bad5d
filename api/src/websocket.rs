//! Subscriptions over WebSocket (`graphql-transport-ws`, or legacy `graphql-ws`): async-graphql
//! speaks the protocol, this drives the socket. The token may come in the upgrade request's
//! headers or, as browsers must send it, in `connection_init`: `{"Authorization": "Bearer …",
//! "X-Tenant-Id": "…"}` (or `{"token": "…", "tenantId": "…"}`, `{"authToken": "…"}`, or Apollo
//! Client's `{"headers": {"Authorization": "Bearer …", "X-Tenant-Id": "…"}}`).
//!
//! A socket lives no longer than its token: when the token expires the socket is closed with 4403
//! (graphql-transport-ws's "Forbidden"), and the client reconnects with a fresh one. A user holds
//! at most `ATLAS_WS_MAX_SOCKETS_PER_USER` sockets on one process, and a socket runs at most
//! `ATLAS_WS_MAX_SUBSCRIPTIONS` subscriptions at once.
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use async_graphql::Data;
use futures_util::StreamExt;
use service::Scope;
use uuid::Uuid;

use crate::auth::Verified;
use crate::graphql::{coded, loaders::Loaders, Session};
use crate::metrics::Metrics;
use crate::server::{header_str, principal, reject, service_error, AppState};

/// The server pings this often, and closes a socket that has not answered for `CLIENT_TIMEOUT`.
const HEARTBEAT: Duration = Duration::from_secs(5);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Open sockets per user on this process.
#[derive(Clone, Default)]
pub struct SocketCounts(Arc<Mutex<HashMap<Uuid, usize>>>);

/// One user's socket, counted until it is dropped with the socket's data.
struct SocketSlot {
    counts: SocketCounts,
    user: Uuid,
}

impl SocketCounts {
    fn take(&self, user: Uuid, max: usize) -> Option<SocketSlot> {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(user).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(SocketSlot { counts: self.clone(), user })
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.user);
            }
        }
    }
}

pub async fn websocket(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    Metrics::inc(&state.metrics.ws_connections);
    let from_headers = match principal(&state, &req).await {
        Ok(p) => p,
        Err(e) => return reject(&req, crate::server::refused_status(&e), vec![service_error(&e)]),
    };
    let protocol = header_str(&req, "sec-websocket-protocol")
        .and_then(|offered| offered.split(',').find_map(|p| WebSocketProtocols::from_str(p.trim()).ok()));
    let Some(protocol) = protocol else {
        let msg = "ask for a subprotocol: Sec-WebSocket-Protocol: graphql-transport-ws (or graphql-ws)";
        return reject(&req, StatusCode::BAD_REQUEST, vec![coded(msg, "BAD_USER_INPUT")]);
    };
    let (response, session, messages) =
        match actix_ws::handle_with_protocols(&req, payload, &[protocol.sec_websocket_protocol()]) {
            Ok(parts) => parts,
            Err(e) => {
                let msg = format!("could not start the WebSocket: {e}");
                return reject(&req, StatusCode::BAD_REQUEST, vec![coded(msg, "BAD_USER_INPUT")]);
            }
        };
    let limit = state.config.max_body_bytes;
    let messages = messages.max_frame_size(limit).aggregate_continuations().max_continuation_size(limit);
    let expires = Arc::new(AtomicI64::new(from_headers.expires_at.unwrap_or(i64::MAX)));
    let init = on_connection_init(&state, from_headers, expires.clone());
    let (frames, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(FRAMES_IN_FLIGHT);
    let graphql = WebSocket::new(state.schema.clone(), tokio_stream::wrappers::ReceiverStream::new(rx), protocol)
        .on_connection_init(init);
    actix_web::rt::spawn(drive(session, messages, frames, graphql, expires, state.stopping.subscribe()));
    response
}

/// Client frames read but not yet taken by the protocol; a client that sends faster is closed.
const FRAMES_IN_FLIGHT: usize = 256;

/// Who the socket acts for, from `connection_init` or else the upgrade's headers; the socket's
/// session data (each query or mutation on it gets its own scope from `Session`).
fn on_connection_init(
    state: &AppState,
    from_headers: Verified,
    expires: Arc<AtomicI64>,
) -> impl FnOnce(serde_json::Value) -> futures_util::future::BoxFuture<'static, async_graphql::Result<Data>> {
    let (keys, db, counts) = (state.keys.clone(), state.db.clone(), state.sockets.clone());
    let (max_sockets, max_subscriptions) = (state.config.ws_max_sockets_per_user, state.config.ws_max_subscriptions);
    move |params| {
        Box::pin(async move {
            // At the top level, or under `headers` as Apollo Client's `connectionParams` put them.
            let get = |names: &[&str]| {
                [&params, &params["headers"]]
                    .iter()
                    .find_map(|p| names.iter().find_map(|n| p.get(*n).and_then(|v| v.as_str()).map(str::to_string)))
            };
            let auth = get(&["Authorization", "authorization"])
                .or_else(|| get(&["token", "accessToken", "authToken"]).map(|t| format!("Bearer {t}")));
            let tenant = get(&["X-Tenant-Id", "x-tenant-id", "tenantId", "tenant_id"]);
            let verified = match auth {
                Some(auth) => {
                    let verified = keys.principal(Some(&auth), tenant.as_deref()).await?;
                    crate::server::resolve_tenant(&db, verified).await?
                }
                None => from_headers,
            };
            expires.store(verified.expires_at.unwrap_or(i64::MAX), Relaxed);
            let principal = verified.principal;
            let mut data = Data::default();
            if let Some(user) = principal.user_id {
                let slot = counts.take(user, max_sockets).ok_or_else(|| {
                    async_graphql::Error::new(format!(
                        "this user has {max_sockets} WebSockets open on this server already \
                         (ATLAS_WS_MAX_SOCKETS_PER_USER); close one first"
                    ))
                })?;
                data.insert(slot);
            }
            // Subscriptions read through this scope (each event ends its transaction).
            let scope = Arc::new(Scope::new(db.clone(), principal.clone()));
            data.insert(Loaders::new(scope.clone(), false));
            data.insert(scope);
            data.insert(Session::new(db, principal, max_subscriptions));
            Ok(data)
        })
    }
}

/// Moves frames between the socket and the protocol until either side ends, the client stops
/// answering pings, the token expires, or the server shuts down.
async fn drive<S>(
    mut session: actix_ws::Session,
    mut messages: actix_ws::AggregatedMessageStream,
    frames: tokio::sync::mpsc::Sender<Vec<u8>>,
    graphql: S,
    expires: Arc<AtomicI64>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) where
    S: futures_util::Stream<Item = WsMessage>,
{
    let mut graphql = std::pin::pin!(graphql);
    let mut last_heard = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut ticks = 0u64;
    let close = |code: u16, text: &str| {
        Some(CloseReason { code: CloseCode::Other(code), description: Some(text.chars().take(120).collect()) })
    };
    // Never awaits the protocol while holding a frame: a full queue closes the socket instead.
    let forward = |frame: Vec<u8>| match frames.try_send(frame) {
        Ok(()) => None,
        Err(_) => close(1008, "messages arrive faster than the server reads them"),
    };
    let reason = loop {
        tokio::select! {
            incoming = messages.next() => {
                last_heard = Instant::now();
                match incoming {
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        if let Some(reason) = forward(text.as_bytes().to_vec()) {
                            break Some(reason);
                        }
                    }
                    Some(Ok(AggregatedMessage::Binary(bytes))) => {
                        if let Some(reason) = forward(bytes.to_vec()) {
                            break Some(reason);
                        }
                    }
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if session.pong(&bytes).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => {}
                    Some(Ok(AggregatedMessage::Close(_))) | None => break None,
                    Some(Err(e)) => break close(1002, &format!("protocol error: {e}")),
                }
            }
            outgoing = graphql.next() => match outgoing {
                Some(WsMessage::Text(text)) => {
                    if session.text(text).await.is_err() {
                        return;
                    }
                }
                Some(WsMessage::Close(code, text)) => break close(code, &text),
                None => break None,
            },
            // 1001 (going away) is not fatal to graphql-ws clients: they reconnect, to another server.
            Ok(_) = stopping.wait_for(|s| *s) => break close(1001, "the server is shutting down; connect again"),
            _ = tick.tick() => {
                ticks += 1;
                if chrono::Utc::now().timestamp() >= expires.load(Relaxed) {
                    break close(4403, "the token has expired; connect again with a fresh one");
                }
                if last_heard.elapsed() > CLIENT_TIMEOUT {
                    break None;
                }
                if ticks.is_multiple_of(HEARTBEAT.as_secs()) && session.ping(b"").await.is_err() {
                    return;
                }
            }
        }
    };
    let _ = session.close(reason).await;
}
