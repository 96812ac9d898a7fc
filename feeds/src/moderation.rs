//! The 场控's rules for what reaches the screens: per source `auto` (shown
//! at once), `hold` (waits for approval) or `reject` (kept for the record
//! only), and the block list — authors (by a keyed hash of their platform
//! id, never the id) whose new messages are journaled as blocked and never
//! shown. The runtime owns the list (it journals blocks and keeps them
//! across restarts); the pipeline only asks.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use airbridge_show::Moderation as State;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::AudienceMessage;

/// A source's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Auto,
    Hold,
    Reject,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s.trim() {
            "auto" => Some(Mode::Auto),
            "hold" => Some(Mode::Hold),
            "reject" => Some(Mode::Reject),
            _ => None,
        }
    }
}

/// Modes by source and the blocked authors.
pub struct Moderation {
    modes: HashMap<String, Mode>,
    blocked: RwLock<HashSet<String>>,
    key: [u8; 32],
}

impl std::fmt::Debug for Moderation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Moderation")
            .field("modes", &self.modes)
            .finish_non_exhaustive()
    }
}

impl Default for Moderation {
    fn default() -> Self {
        Self::new(HashMap::new(), rand::random())
    }
}

impl Moderation {
    /// `key`: the station's secret for author keys (so the same author has
    /// the same key across runs, and keys cannot be reversed elsewhere).
    pub fn new(modes: HashMap<String, Mode>, key: [u8; 32]) -> Self {
        Self {
            modes,
            blocked: RwLock::new(HashSet::new()),
            key,
        }
    }

    pub fn mode(&self, source: &str) -> Mode {
        self.modes.get(source).copied().unwrap_or_default()
    }

    /// The author's key: a keyed hash of `source:author_id` (empty when the
    /// source gave no id).
    pub fn author_key(&self, source: &str, author_id: &str) -> String {
        if author_id.is_empty() {
            return String::new();
        }
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(source.as_bytes());
        h.update(b":");
        h.update(author_id.as_bytes());
        h.finalize()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn block(&self, author_key: &str) {
        if let Ok(mut b) = self.blocked.write() {
            b.insert(author_key.to_owned());
        }
    }

    pub fn unblock(&self, author_key: &str) {
        if let Ok(mut b) = self.blocked.write() {
            b.remove(author_key);
        }
    }

    pub fn is_blocked(&self, author_key: &str) -> bool {
        !author_key.is_empty() && self.blocked.read().is_ok_and(|b| b.contains(author_key))
    }

    /// What becomes of a message, and its author's key.
    pub fn decide(&self, msg: &AudienceMessage) -> (State, String) {
        let key = self.author_key(&msg.source, &msg.author_id);
        let state = if self.is_blocked(&key) {
            State::Blocked
        } else {
            match self.mode(&msg.source) {
                Mode::Auto => State::Shown,
                Mode::Hold => State::Held,
                Mode::Reject => State::Rejected,
            }
        };
        (state, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_keys_and_blocks() {
        let m = Moderation::new(
            HashMap::from([
                ("wechat".to_owned(), Mode::Hold),
                ("sms".to_owned(), Mode::Reject),
            ]),
            [7; 32],
        );
        let mut msg = AudienceMessage::text("wechat", "1", "a", "问", 0);
        msg.author_id = "oOpenId".into();
        let (state, key) = m.decide(&msg);
        assert_eq!(state, State::Held);
        assert_eq!(key.len(), 24);
        assert_ne!(key, m.author_key("douyin", "oOpenId"), "per source");
        msg.source = "douyin".into();
        assert_eq!(m.decide(&msg).0, State::Shown);
        msg.source = "sms".into();
        assert_eq!(m.decide(&msg).0, State::Rejected);
        msg.source = "wechat".into();
        m.block(&key);
        assert_eq!(m.decide(&msg).0, State::Blocked);
        m.unblock(&key);
        assert_eq!(m.decide(&msg).0, State::Held);
        assert_eq!(m.author_key("wechat", ""), "");
        assert_eq!(Mode::parse("hold"), Some(Mode::Hold));
        assert_eq!(Mode::parse("maybe"), None);
    }
}
