//! A real WebSocket client for the subscription tests, speaking either protocol.
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

use super::TestApp;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Clone, Copy, PartialEq)]
pub enum Protocol {
    TransportWs,
    LegacyGraphqlWs,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Self::TransportWs => "graphql-transport-ws",
            Self::LegacyGraphqlWs => "graphql-ws",
        }
    }
}

pub async fn connect(app: &TestApp, protocol: Protocol) -> Ws {
    let mut req = app.ws_url().into_client_request().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", protocol.name().parse().unwrap());
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.expect("websocket");
    assert_eq!(resp.headers()["sec-websocket-protocol"], protocol.name());
    ws
}

pub async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next JSON message, skipping keep-alives; None when nothing but keep-alives comes within
/// `wait` (the server's pings do not extend it), or the socket ends without a close frame.
pub async fn next(ws: &mut Ws, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "ka" || v["type"] == "ping" || v["type"] == "pong" {
                    continue;
                }
                return Some(v);
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Some(json!({ "type": "close", "code": frame.map(|f| u16::from(f.code)) }))
            }
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}
