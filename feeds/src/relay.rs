//! Relay ingest: a WebSocket endpoint (`/relay`) for bridges.
//!
//! - **Text frames**: the generic JSON format, one message object or an
//!   array of them (see [`RelayMessage`]; documented in `docs/feeds.md`).
//!   The server answers each frame with `{"ok":true,"accepted":N,"duplicates":M}`
//!   once the messages are durable, or `{"ok":false,"error":"…"}`.
//! - **Binary frames**: raw Douyin webcast `PushFrame`s as relayed by an
//!   external bridge (decoded only, see [`crate::pushframe`]); when the frame
//!   asks for an ack, the ack frame is sent back for the bridge to forward.
//!
//! Malformed or oversized frames are counted and answered with an error; the
//! connection stays up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::error::FeedsError;
use crate::health::{Reject, SourceHealth};
use crate::model::{AudienceMessage, Hint};
use crate::pipeline::{Inbound, Outcome};
use crate::pushframe;
use crate::server::{AppState, deliver, relay_allowed, relay_parts};

/// Largest frame a bridge may send.
pub const MAX_FRAME: usize = 1024 * 1024;

/// The generic JSON message a bridge sends.
///
/// `{"source":"sms","id":"gw-1","author":"138****0000","text":"社保卡怎么补办",
///   "kind":"text","ts_ms":1735689600000}`; `kind` is `text` (default),
/// `gift` (`gift_name`, `count`), `like` (`count`) or `event` (`event`).
#[derive(Debug, Clone, Deserialize)]
pub struct RelayMessage {
    pub source: String,
    pub id: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub gift_name: Option<String>,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub ts_ms: i64,
}

fn valid_source(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl RelayMessage {
    pub fn into_audience(self) -> Result<AudienceMessage, FeedsError> {
        if !valid_source(&self.source) {
            return Err(FeedsError::malformed("relay message", "bad source"));
        }
        if self.id.is_empty() || self.id.len() > 128 {
            return Err(FeedsError::malformed("relay message", "bad id"));
        }
        let hint = match self.kind.as_deref().unwrap_or("text") {
            "text" => Hint::Text,
            "gift" => Hint::Gift {
                name: self.gift_name.unwrap_or_default(),
                count: self.count.unwrap_or(1),
                value_fen: 0,
            },
            "like" => Hint::Like {
                count: self.count.unwrap_or(1),
            },
            "event" => Hint::Event {
                name: self.event.unwrap_or_else(|| "event".into()),
            },
            _ => return Err(FeedsError::malformed("relay message", "unknown kind")),
        };
        Ok(AudienceMessage {
            source: self.source,
            id: self.id,
            author: self.author,
            text: self.text,
            hint,
            ts_ms: self.ts_ms,
            test: false,
            author_id: String::new(),
        })
    }
}

/// Parses one text frame (an object or an array of objects).
pub fn parse_text_frame(text: &str) -> Result<Vec<AudienceMessage>, FeedsError> {
    if text.len() > MAX_FRAME {
        return Err(FeedsError::Oversized {
            what: "relay frame",
            len: text.len(),
        });
    }
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| FeedsError::malformed("relay json", e))?;
    let items = match v {
        serde_json::Value::Array(a) => a,
        o @ serde_json::Value::Object(_) => vec![o],
        _ => {
            return Err(FeedsError::malformed(
                "relay json",
                "not an object or array",
            ));
        }
    };
    items
        .into_iter()
        .map(|i| {
            serde_json::from_value::<RelayMessage>(i)
                .map_err(|e| FeedsError::malformed("relay message", e))
                .and_then(RelayMessage::into_audience)
        })
        .collect()
}

/// `GET /relay`: the WebSocket upgrade (RFC 6455 handshake over hyper).
pub(crate) async fn upgrade(State(state): State<AppState>, mut req: Request) -> Response {
    if !relay_allowed(&state, &req) {
        return (StatusCode::FORBIDDEN, "relay not allowed").into_response();
    }
    let key = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_ws = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let (Some(key), true) = (key, is_ws) else {
        return (StatusCode::BAD_REQUEST, "websocket upgrade expected").into_response();
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (tx, health) = relay_parts(&state);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let config = WebSocketConfig::default()
                    .max_message_size(Some(MAX_FRAME))
                    .max_frame_size(Some(MAX_FRAME));
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                serve_socket(ws, tx, health).await;
            }
            Err(e) => tracing::warn!(error = %e, "relay upgrade failed"),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(
            header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        )
        .body(axum::body::Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn ack_json(outcomes: &[Outcome]) -> String {
    let accepted = outcomes.iter().filter(|o| **o == Outcome::Accepted).count();
    let dup = outcomes
        .iter()
        .filter(|o| **o == Outcome::Duplicate)
        .count();
    let spam = outcomes.iter().filter(|o| **o == Outcome::Spam).count();
    let failed = outcomes.iter().filter(|o| **o == Outcome::Failed).count();
    format!(
        r#"{{"ok":{},"accepted":{accepted},"duplicates":{dup},"spam":{spam},"failed":{failed}}}"#,
        failed == 0
    )
}

async fn serve_socket<S>(
    mut ws: WebSocketStream<S>,
    tx: mpsc::Sender<Inbound>,
    health: Arc<SourceHealth>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(frame) = ws.next().await {
        let received = Instant::now();
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                let why = if matches!(e, tokio_tungstenite::tungstenite::Error::Capacity(_)) {
                    Reject::Oversized
                } else {
                    Reject::Malformed
                };
                health.reject(why, &e.to_string());
                break;
            }
        };
        let reply = match frame {
            Message::Text(t) => match parse_text_frame(t.as_str()) {
                Ok(msgs) => {
                    let o = deliver(&tx, msgs, received, &health, Duration::from_secs(5)).await;
                    Some(Message::text(ack_json(&o)))
                }
                Err(e) => {
                    let why = if matches!(e, FeedsError::Oversized { .. }) {
                        Reject::Oversized
                    } else {
                        Reject::Malformed
                    };
                    health.reject(why, t.as_str());
                    Some(Message::text(r#"{"ok":false,"error":"malformed"}"#))
                }
            },
            Message::Binary(b) => match pushframe::decode_frame(&b) {
                Ok(d) if d.heartbeat => None,
                Ok(d) => {
                    let ack = d
                        .need_ack
                        .then(|| pushframe::ack_frame(d.log_id, &d.internal_ext));
                    let o =
                        deliver(&tx, d.messages, received, &health, Duration::from_secs(5)).await;
                    if o.contains(&Outcome::Failed) {
                        Some(Message::text(ack_json(&o)))
                    } else {
                        ack.map(Message::binary)
                    }
                }
                Err(e) => {
                    health.reject(Reject::Malformed, &e.to_string());
                    Some(Message::text(
                        r#"{"ok":false,"error":"malformed pushframe"}"#,
                    ))
                }
            },
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => None,
            Message::Close(_) => break,
        };
        if let Some(r) = reply
            && ws.send(r).await.is_err()
        {
            break;
        }
    }
}
