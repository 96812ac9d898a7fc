//! The crate's error type.

/// Everything that can go wrong in the feeds crate.
#[derive(Debug, thiserror::Error)]
pub enum FeedsError {
    /// A signature did not verify (forged, wrong token/secret).
    #[error("bad signature")]
    BadSignature,
    /// The timestamp is outside the accepted window (replay).
    #[error("timestamp outside the accepted window ({age_secs} s old)")]
    Stale { age_secs: i64 },
    /// Decrypted payload names another app id.
    #[error("wrong app id")]
    WrongAppId,
    /// Ciphertext could not be decrypted (tampered, wrong key, bad padding).
    #[error("decrypt failed: {0}")]
    Decrypt(&'static str),
    /// Input that does not parse (the detail never contains personal data).
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },
    /// Input larger than the configured limit.
    #[error("oversized {what}: {len} bytes")]
    Oversized { what: &'static str, len: usize },
    /// A configuration value is invalid.
    #[error("config: {0}")]
    Config(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("store: {0}")]
    Store(#[from] rusqlite::Error),
    #[error("journal: {0}")]
    Journal(#[from] airbridge_show::JournalError),
    /// A remote endpoint (bilibili open platform) answered with an error.
    #[error("remote {endpoint}: {detail}")]
    Remote { endpoint: String, detail: String },
    /// The TLS handshake with a remote host failed: its certificate is not
    /// trusted (unknown CA, expired, wrong name) or no protocol was agreed.
    #[error("TLS handshake with {host}:{port} failed: {detail}")]
    Tls {
        host: String,
        port: u16,
        detail: String,
    },
    #[error("websocket: {0}")]
    WebSocket(String),
    /// The pipeline has shut down.
    #[error("feeds pipeline closed")]
    Closed,
}

impl FeedsError {
    pub(crate) fn malformed(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Malformed {
            what,
            detail: detail.to_string(),
        }
    }
}
