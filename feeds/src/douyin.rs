//! Douyin open-platform live-data push (直播小玩法 数据开放): signature check
//! and payload decoding. The HTTP handler lives in [`crate::server`].
//!
//! `x-signature = base64(md5(sorted "k=v" of the four headers of the
//! platform's table — x-nonce-str, x-timestamp, x-roomid, x-msg-type —
//! joined by "&") + raw body + secret))`. Only those four: a reverse proxy
//! in front of the receiver adds its own `X-Forwarded-For`, `X-Real-IP`, …,
//! which Douyin did not sign (see docs/feeds.md, "Platform rules").

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest, Md5};
use serde::Deserialize;

use crate::error::FeedsError;
use crate::model::{AudienceMessage, Hint};
use crate::wechat::ct_eq;

/// The headers Douyin signs (its table; x-signature and content-type excluded).
pub const SIGNED_HEADERS: [&str; 4] = ["x-msg-type", "x-nonce-str", "x-roomid", "x-timestamp"];

/// The message types this receiver decodes.
pub const KNOWN_TYPES: [&str; 4] = ["live_comment", "live_gift", "live_like", "live_fansclub"];

/// How long Douyin waits for the answer to a push of `msg_type`: 3 s for
/// gifts, 2 s for everything else.
pub fn answer_limit(msg_type: &str) -> std::time::Duration {
    if msg_type == "live_gift" {
        std::time::Duration::from_secs(3)
    } else {
        std::time::Duration::from_secs(2)
    }
}

/// The expected `x-signature` for these headers (any case; only the four of
/// [`SIGNED_HEADERS`] are used), body and secret.
pub fn signature<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: &[u8],
    secret: &str,
) -> String {
    let mut xs: Vec<(String, &str)> = headers
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .filter(|(k, _)| SIGNED_HEADERS.contains(&k.as_str()))
        .collect();
    xs.sort();
    let joined = xs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut h = Md5::new();
    h.update(joined.as_bytes());
    h.update(body);
    h.update(secret.as_bytes());
    B64.encode(h.finalize())
}

/// Checks a push's signature.
pub fn verify<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: &[u8],
    secret: &str,
    given: &str,
) -> Result<(), FeedsError> {
    if !secret.is_empty() && ct_eq(&signature(headers, body, secret), given.trim()) {
        Ok(())
    } else {
        Err(FeedsError::BadSignature)
    }
}

/// One payload object (fields of all four message types; absent ones default).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Payload {
    pub msg_id: String,
    pub sec_openid: String,
    pub content: String,
    pub nickname: String,
    pub timestamp: i64,
    pub sec_gift_id: String,
    pub gift_num: u64,
    pub gift_value: u64,
    pub like_num: u64,
    pub fansclub_reason_type: u32,
    pub fansclub_level: u32,
    pub test: bool,
}

/// Most bytes of a push body we parse.
pub const MAX_BODY: usize = 256 * 1024;

/// Decodes a push body (an array of payloads, or one object) of `msg_type`.
pub fn decode(msg_type: &str, body: &[u8]) -> Result<Vec<AudienceMessage>, FeedsError> {
    if body.len() > MAX_BODY {
        return Err(FeedsError::Oversized {
            what: "douyin body",
            len: body.len(),
        });
    }
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| FeedsError::malformed("douyin json", e))?;
    let items: Vec<Payload> = match v {
        serde_json::Value::Array(a) => a
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<_, _>>()
            .map_err(|e| FeedsError::malformed("douyin payload", e))?,
        obj @ serde_json::Value::Object(_) => vec![
            serde_json::from_value(obj).map_err(|e| FeedsError::malformed("douyin payload", e))?,
        ],
        _ => {
            return Err(FeedsError::malformed(
                "douyin json",
                "not an array or object",
            ));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for p in items {
        if p.msg_id.is_empty() {
            return Err(FeedsError::malformed("douyin payload", "missing msg_id"));
        }
        let (text, hint) = match msg_type {
            "live_comment" => (p.content.clone(), Hint::Text),
            "live_gift" => (
                String::new(),
                Hint::Gift {
                    name: p.sec_gift_id.clone(),
                    count: p.gift_num.max(1),
                    value_fen: p.gift_value,
                },
            ),
            "live_like" => (
                String::new(),
                Hint::Like {
                    count: p.like_num.max(1),
                },
            ),
            "live_fansclub" => (
                String::new(),
                Hint::Event {
                    name: if p.fansclub_reason_type == 2 {
                        "加入粉丝团".into()
                    } else {
                        format!("粉丝团升级 {}", p.fansclub_level)
                    },
                },
            ),
            other => {
                return Err(FeedsError::malformed(
                    "douyin msg type",
                    other.chars().take(32).collect::<String>(),
                ));
            }
        };
        let author_id = p.sec_openid.clone();
        out.push(AudienceMessage {
            source: "douyin".into(),
            id: p.msg_id,
            author: if p.nickname.is_empty() {
                p.sec_openid
            } else {
                p.nickname
            },
            text,
            hint,
            ts_ms: p.timestamp,
            test: p.test,
            author_id,
        });
    }
    Ok(out)
}
