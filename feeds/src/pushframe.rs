//! Douyin webcast `PushFrame` decoding (frames relayed by an external bridge).
//!
//! Decode only: AirBridge never connects to, scrapes or signs Douyin web
//! requests. Field numbers follow the community schema described in
//! `../shared/docs/protocols.md` §3.4.

use std::io::Read;

use flate2::read::GzDecoder;
use prost::Message as _;

use crate::error::FeedsError;
use crate::model::{AudienceMessage, Hint};

#[derive(Clone, PartialEq, prost::Message)]
pub struct HeaderEntry {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PushFrame {
    #[prost(uint64, tag = "1")]
    pub seq_id: u64,
    #[prost(uint64, tag = "2")]
    pub log_id: u64,
    #[prost(uint64, tag = "3")]
    pub service: u64,
    #[prost(uint64, tag = "4")]
    pub method: u64,
    #[prost(message, repeated, tag = "5")]
    pub headers: Vec<HeaderEntry>,
    #[prost(string, tag = "6")]
    pub payload_encoding: String,
    #[prost(string, tag = "7")]
    pub payload_type: String,
    #[prost(bytes = "vec", tag = "8")]
    pub payload: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Response {
    #[prost(message, repeated, tag = "1")]
    pub messages: Vec<WebcastMessage>,
    #[prost(string, tag = "2")]
    pub cursor: String,
    #[prost(string, tag = "5")]
    pub internal_ext: String,
    #[prost(bool, tag = "9")]
    pub need_ack: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct WebcastMessage {
    #[prost(string, tag = "1")]
    pub method: String,
    #[prost(bytes = "vec", tag = "2")]
    pub payload: Vec<u8>,
    #[prost(int64, tag = "3")]
    pub msg_id: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Common {
    #[prost(string, tag = "1")]
    pub method: String,
    #[prost(uint64, tag = "2")]
    pub msg_id: u64,
    #[prost(uint64, tag = "3")]
    pub room_id: u64,
    #[prost(uint64, tag = "4")]
    pub create_time: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct User {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(string, tag = "3")]
    pub nick_name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChatMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(message, optional, tag = "2")]
    pub user: Option<User>,
    #[prost(string, tag = "3")]
    pub content: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GiftStruct {
    #[prost(uint64, tag = "5")]
    pub id: u64,
    #[prost(uint64, tag = "12")]
    pub diamond_count: u64,
    #[prost(string, tag = "16")]
    pub name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GiftMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(uint64, tag = "2")]
    pub gift_id: u64,
    #[prost(uint64, tag = "5")]
    pub repeat_count: u64,
    #[prost(uint64, tag = "6")]
    pub combo_count: u64,
    #[prost(message, optional, tag = "7")]
    pub user: Option<User>,
    #[prost(message, optional, tag = "15")]
    pub gift: Option<GiftStruct>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LikeMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(uint64, tag = "2")]
    pub count: u64,
    #[prost(uint64, tag = "3")]
    pub total: u64,
    #[prost(message, optional, tag = "5")]
    pub user: Option<User>,
}

/// Most bytes of one frame, and of its decompressed payload.
pub const MAX_FRAME: usize = 1024 * 1024;
pub const MAX_PAYLOAD: usize = 4 * 1024 * 1024;

/// A decoded frame: the messages we understood and what an ack needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub log_id: u64,
    pub need_ack: bool,
    pub internal_ext: String,
    pub messages: Vec<AudienceMessage>,
    /// Message methods we skipped (member enter, room stats, …).
    pub skipped: usize,
    pub heartbeat: bool,
}

fn gunzip_limited(data: &[u8]) -> Result<Vec<u8>, FeedsError> {
    let mut out = Vec::new();
    GzDecoder::new(data)
        .take(MAX_PAYLOAD as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| FeedsError::malformed("pushframe gzip", e))?;
    if out.len() > MAX_PAYLOAD {
        return Err(FeedsError::Oversized {
            what: "pushframe payload",
            len: out.len(),
        });
    }
    Ok(out)
}

fn user_name(u: Option<&User>) -> String {
    u.map(|u| {
        if u.nick_name.is_empty() {
            u.id.to_string()
        } else {
            u.nick_name.clone()
        }
    })
    .unwrap_or_default()
}

/// Decodes one binary WebSocket frame.
pub fn decode_frame(bytes: &[u8]) -> Result<Decoded, FeedsError> {
    if bytes.len() > MAX_FRAME {
        return Err(FeedsError::Oversized {
            what: "pushframe",
            len: bytes.len(),
        });
    }
    let frame = PushFrame::decode(bytes).map_err(|e| FeedsError::malformed("pushframe", e))?;
    let mut out = Decoded {
        log_id: frame.log_id,
        ..Decoded::default()
    };
    if frame.payload_type == "hb" {
        out.heartbeat = true;
        return Ok(out);
    }
    let gzip = frame.payload.starts_with(&[0x1f, 0x8b])
        || frame
            .headers
            .iter()
            .any(|h| h.key == "compress_type" && h.value == "gzip");
    let payload = if gzip {
        gunzip_limited(&frame.payload)?
    } else {
        frame.payload
    };
    let resp = Response::decode(payload.as_slice())
        .map_err(|e| FeedsError::malformed("pushframe response", e))?;
    out.need_ack = resp.need_ack;
    out.internal_ext = resp.internal_ext;
    for (index, m) in resp.messages.into_iter().enumerate() {
        let decoded = match m.method.as_str() {
            "WebcastChatMessage" => ChatMessage::decode(m.payload.as_slice()).ok().map(|c| {
                let id = c.common.as_ref().map(|x| x.msg_id).unwrap_or(0);
                let ts = c.common.as_ref().map(|x| x.create_time).unwrap_or(0);
                (id, ts, user_name(c.user.as_ref()), c.content, Hint::Text)
            }),
            "WebcastGiftMessage" => GiftMessage::decode(m.payload.as_slice()).ok().map(|g| {
                let id = g.common.as_ref().map(|x| x.msg_id).unwrap_or(0);
                let ts = g.common.as_ref().map(|x| x.create_time).unwrap_or(0);
                let name = g
                    .gift
                    .as_ref()
                    .map(|x| x.name.clone())
                    .unwrap_or_else(|| g.gift_id.to_string());
                let count = g.combo_count.max(g.repeat_count).max(1);
                let value = g.gift.as_ref().map(|x| x.diamond_count * 10).unwrap_or(0);
                (
                    id,
                    ts,
                    user_name(g.user.as_ref()),
                    String::new(),
                    Hint::Gift {
                        name,
                        count,
                        value_fen: value,
                    },
                )
            }),
            "WebcastLikeMessage" => LikeMessage::decode(m.payload.as_slice()).ok().map(|l| {
                let id = l.common.as_ref().map(|x| x.msg_id).unwrap_or(0);
                let ts = l.common.as_ref().map(|x| x.create_time).unwrap_or(0);
                (
                    id,
                    ts,
                    user_name(l.user.as_ref()),
                    String::new(),
                    Hint::Like {
                        count: l.count.max(1),
                    },
                )
            }),
            _ => None,
        };
        match decoded {
            Some((common_id, ts, author, text, hint)) => {
                // no id at all: the frame's log id and position still identify it
                let id = match (common_id, m.msg_id) {
                    (0, 0) => format!("{}-{index}", frame.log_id),
                    (0, id) => id.to_string(),
                    (id, _) => id.to_string(),
                };
                out.messages.push(AudienceMessage {
                    source: "douyin_webcast".into(),
                    id,
                    author,
                    text,
                    hint,
                    ts_ms: ts as i64,
                    test: false,
                    author_id: String::new(),
                });
            }
            None => out.skipped += 1,
        }
    }
    Ok(out)
}

/// The ack frame a bridge should send back when `need_ack` is set.
pub fn ack_frame(log_id: u64, internal_ext: &str) -> Vec<u8> {
    PushFrame {
        log_id,
        payload_type: "ack".into(),
        payload: internal_ext.as_bytes().to_vec(),
        ..PushFrame::default()
    }
    .encode_to_vec()
}
