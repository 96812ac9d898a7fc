//! SMS gateway input at `POST /sms`: a station's SMS platform pushes each
//! text message without a bridge. The shared secret comes in the
//! `X-Airbridge-Secret` header (or `?secret=`). The body is JSON or a form:
//!
//! ```text
//! {"id":"gw-1001","from":"13800001234","text":"社保卡怎么补办？","ts_ms":1735689600000}
//! id=gw-1001&from=13800001234&text=%E7%A4%BE%E4%BF%9D…&ts_ms=1735689600000
//! ```
//!
//! `id` (the gateway's message id, for dedupe) and `from` are required;
//! the number is masked for every screen and kept only as a keyed hash
//! (for blocking) and in the back office's raw store. Answer: `200
//! {"ok":true}` once durable, `401` for a wrong secret, `400` for a
//! malformed body.

use serde::Deserialize;

use crate::error::FeedsError;
use crate::model::{AudienceMessage, Hint};

/// Largest body parsed.
pub const MAX_BODY: usize = 16 * 1024;

/// `[feeds.sms]`.
#[derive(Debug, Clone, Default, serde::Serialize, Deserialize)]
#[serde(default)]
pub struct SmsConfig {
    /// The shared secret the gateway sends.
    pub secret: String,
}

#[derive(Debug, Deserialize)]
struct Push {
    id: String,
    from: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    ts_ms: Option<serde_json::Value>,
}

fn percent_decode(s: &str) -> Result<String, FeedsError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| FeedsError::malformed("sms form", "bad %-escape"))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FeedsError::malformed("sms form", "not UTF-8"))
}

/// Decodes a push body (JSON when it starts with `{`, else a form).
pub fn decode(body: &[u8]) -> Result<AudienceMessage, FeedsError> {
    if body.len() > MAX_BODY {
        return Err(FeedsError::Oversized {
            what: "sms body",
            len: body.len(),
        });
    }
    let text = std::str::from_utf8(body).map_err(|_| FeedsError::malformed("sms", "not UTF-8"))?;
    let push: Push = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| FeedsError::malformed("sms json", e))?
    } else {
        let mut fields = std::collections::HashMap::new();
        for pair in text.trim().split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            fields.insert(percent_decode(k)?, percent_decode(v)?);
        }
        let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
        Push {
            id: get("id"),
            from: get("from"),
            text: get("text"),
            ts_ms: fields
                .get("ts_ms")
                .map(|v| serde_json::Value::String(v.clone())),
        }
    };
    let id = push.id.trim();
    if id.is_empty() || id.len() > 128 {
        return Err(FeedsError::malformed(
            "sms",
            "id missing or longer than 128",
        ));
    }
    let digits: String = push.from.chars().filter(char::is_ascii_digit).collect();
    // +86 138… and 138… are the same sender
    let digits = match digits.strip_prefix("86") {
        Some(rest) if rest.len() == 11 && rest.starts_with('1') => rest.to_owned(),
        _ => digits,
    };
    if digits.len() < 5 || digits.len() > 20 {
        return Err(FeedsError::malformed("sms", "from is not a phone number"));
    }
    if push.text.chars().count() > 2000 {
        return Err(FeedsError::malformed(
            "sms",
            "text longer than 2000 characters",
        ));
    }
    let ts_ms = match push.ts_ms {
        Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(serde_json::Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    };
    let masked = if digits.len() == 11 {
        format!("{}****{}", &digits[..3], &digits[7..])
    } else {
        format!("****{}", &digits[digits.len() - 4..])
    };
    Ok(AudienceMessage {
        source: "sms".into(),
        id: id.to_owned(),
        author: masked,
        text: push.text,
        hint: Hint::Text,
        ts_ms,
        test: false,
        author_id: digits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_form_bodies_decode_alike() {
        let a = decode(
            r#"{"id":"gw-1","from":"+86 138-0000-1234","text":"社保卡怎么补办？","ts_ms":1735689600000}"#
                .as_bytes(),
        )
        .unwrap();
        let b = decode(
            "id=gw-1&from=13800001234&text=%E7%A4%BE%E4%BF%9D%E5%8D%A1%E6%80%8E%E4%B9%88%E8%A1%A5%E5%8A%9E%EF%BC%9F&ts_ms=1735689600000"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(a.text, "社保卡怎么补办？");
        assert_eq!(a.text, b.text);
        assert_eq!(
            (a.author.as_str(), b.author.as_str()),
            ("138****1234", "138****1234")
        );
        assert_eq!(
            a.author_id, "13800001234",
            "+86 and the bare number are one sender"
        );
        assert_eq!(b.author_id, "13800001234");
        assert_eq!(a.ts_ms, 1_735_689_600_000);
    }

    #[test]
    fn bad_bodies_are_refused_with_the_reason() {
        for (body, want) in [
            (r#"{"from":"13800001234"}"#, "sms json"),
            (r#"{"id":"","from":"13800001234"}"#, "id missing"),
            (r#"{"id":"x","from":"abc"}"#, "not a phone number"),
            ("id=x&from=138%ZZ", "bad %-escape"),
        ] {
            let e = decode(body.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(want), "{body}: {e}");
        }
    }
}
