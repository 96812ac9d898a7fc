//! The one model every source is decoded into before triage.

use serde::{Deserialize, Serialize};

/// What the platform itself says a message is (before triage looks at text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Hint {
    /// Free text typed (or spoken, for WeChat voice with recognition) by a viewer.
    #[default]
    Text,
    /// A gift: name and count (value in fen where known).
    Gift {
        name: String,
        count: u64,
        #[serde(default)]
        value_fen: u64,
    },
    /// Likes, merged by the platform.
    Like { count: u64 },
    /// Platform events: follow, enter room, fans club, subscribe…
    Event { name: String },
    /// Media without text (image, voice without recognition, video).
    Media { kind: String },
}

/// One message from any audience source, as decoded, **unmasked**.
///
/// `text` is the raw text; it is masked by triage before it goes anywhere a
/// host can see, and kept raw only in the back-office store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudienceMessage {
    /// `wechat`, `douyin`, `bilibili`, `douyin_webcast`, `sms`, `relay`…
    pub source: String,
    /// The source's own id (Douyin `msg_id`, WeChat `MsgId`, …): with
    /// `source` it is the dedupe key.
    pub id: String,
    /// Display name or an opaque user id.
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub hint: Hint,
    /// When the platform says it was sent (ms since the epoch, 0 = unknown).
    #[serde(default)]
    pub ts_ms: i64,
    /// The platform's test data (Douyin `test: true`): journaled as test,
    /// never shown.
    #[serde(default)]
    pub test: bool,
    /// The author's id on the platform (WeChat OpenID, Douyin sec_openid,
    /// bilibili open_id), for blocking; never journaled (only a keyed hash).
    #[serde(default)]
    pub author_id: String,
}

impl AudienceMessage {
    /// A plain text message.
    pub fn text(source: &str, id: &str, author: &str, text: &str, ts_ms: i64) -> Self {
        Self {
            source: source.to_owned(),
            id: id.to_owned(),
            author: author.to_owned(),
            text: text.to_owned(),
            hint: Hint::Text,
            ts_ms,
            test: false,
            author_id: String::new(),
        }
    }

    /// The id used in the journal and in `ItemRef::Message`: `source:id`.
    pub fn journal_id(&self) -> String {
        format!("{}:{}", self.source, self.id)
    }
}
