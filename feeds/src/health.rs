//! Per-source health counters, reported to the journal as
//! `ShowEvent::Health { component: "feeds/<source>", .. }`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use crate::pii;

/// Why an input was refused (each counted separately).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    BadSignature,
    Stale,
    WrongAppId,
    Decrypt,
    Malformed,
    Oversized,
}

/// Counters for one source; shared by its receiver and the reporter.
#[derive(Debug, Default)]
pub struct SourceHealth {
    pub name: String,
    pub connected: AtomicBool,
    pub messages: AtomicU64,
    pub bad_signature: AtomicU64,
    pub stale: AtomicU64,
    pub wrong_appid: AtomicU64,
    pub decrypt_failed: AtomicU64,
    pub malformed: AtomicU64,
    pub oversized: AtomicU64,
    pub errors: AtomicU64,
    pub reconnects: AtomicU64,
    /// Pushes of a kind this receiver does not know (answered 2xx, so the
    /// platform does not count them as failures; counted here).
    pub unknown_types: AtomicU64,
    /// Platform test data received (journaled as test, never shown).
    pub test_messages: AtomicU64,
    /// Platform timestamp of the last message (ms), for lag.
    pub last_msg_ts_ms: AtomicI64,
    last_problem: Mutex<String>,
}

impl SourceHealth {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    /// Counts a refused input and remembers a masked, shortened sample.
    pub fn reject(&self, why: Reject, sample: &str) {
        let c = match why {
            Reject::BadSignature => &self.bad_signature,
            Reject::Stale => &self.stale,
            Reject::WrongAppId => &self.wrong_appid,
            Reject::Decrypt => &self.decrypt_failed,
            Reject::Malformed => &self.malformed,
            Reject::Oversized => &self.oversized,
        };
        c.fetch_add(1, Ordering::Relaxed);
        let short: String = sample.chars().take(80).collect();
        let masked = pii::mask_text(&short);
        tracing::warn!(source = %self.name, reason = ?why, sample = %masked, "feeds input refused");
        self.set_problem(format!("{why:?}: {masked}"));
    }

    /// Counts an error (connection lost, remote refused, …).
    pub fn error(&self, detail: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let masked = pii::mask_text(detail);
        tracing::warn!(source = %self.name, detail = %masked, "feeds error");
        self.set_problem(masked);
    }

    fn set_problem(&self, p: String) {
        if let Ok(mut g) = self.last_problem.lock() {
            *g = p;
        }
    }

    /// All refused inputs.
    pub fn rejected(&self) -> u64 {
        [
            &self.bad_signature,
            &self.stale,
            &self.wrong_appid,
            &self.decrypt_failed,
            &self.malformed,
            &self.oversized,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }

    /// One line for the Health event.
    pub fn detail(&self, rate_per_s: f64, now_ms: i64) -> String {
        let last = self.last_msg_ts_ms.load(Ordering::Relaxed);
        let lag = if last > 0 {
            format!("{:.1} s", (now_ms - last) as f64 / 1000.0)
        } else {
            "-".into()
        };
        let problem = self
            .last_problem
            .lock()
            .map(|g| g.clone())
            .unwrap_or_default();
        format!(
            "{} · {:.1} msg/s · lag {} · total {} · refused {} (signature {}, stale {}, appid {}, decrypt {}, malformed {}, oversized {}) · unknown types {} · test data {} · errors {} · reconnects {}{}",
            if self.connected.load(Ordering::Relaxed) {
                "connected"
            } else {
                "disconnected"
            },
            rate_per_s,
            lag,
            self.messages.load(Ordering::Relaxed),
            self.rejected(),
            self.bad_signature.load(Ordering::Relaxed),
            self.stale.load(Ordering::Relaxed),
            self.wrong_appid.load(Ordering::Relaxed),
            self.decrypt_failed.load(Ordering::Relaxed),
            self.malformed.load(Ordering::Relaxed),
            self.oversized.load(Ordering::Relaxed),
            self.unknown_types.load(Ordering::Relaxed),
            self.test_messages.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
            self.reconnects.load(Ordering::Relaxed),
            if problem.is_empty() {
                String::new()
            } else {
                format!(" · last: {problem}")
            },
        )
    }
}
