//! # airbridge-hub: seats on other PCs
//!
//! The host, the screener, the 场控 and the back office each on their own
//! PC, on one show. The runtime's process runs a [`Hub`]: a WebSocket
//! listener (TLS; plain `ws://` only on loopback) that admits a seat by its
//! token (`tokens_file`, [`tokens`]), streams it the journal from any
//! sequence number with no gap and no repeat (events redacted for its
//! role), meters on their own stream at ~20 Hz, and hands its commands to
//! the runtime, which decides — the role checked there
//! ([`airbridge_runtime::Role`]). [`SeatClient`] is the other end: the
//! window's remote seat and `airbridge seat watch|do` use it.
//!
//! ## Never
//! Never decides a line move, pin or ticket itself; never sends a seat a
//! field its role may not read (contact details go only to the back
//! office, and only on request); never journals a token.

pub mod client;
pub mod overlay;
pub mod protocol;
pub mod server;
pub mod tokens;

pub use client::{ClientOptions, LinkState, Reply, SeatClient};
pub use server::{Hub, HubOptions, HubStats};
pub use tokens::{SeatId, Tokens};

/// Why the seats listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("seats tokens: {0}")]
    Tokens(String),
    #[error("seats TLS: {0}")]
    Tls(String),
    #[error("seats listener: {0}")]
    Bind(String),
    #[error("seats: {0}")]
    Config(String),
    #[error("seats: {0}")]
    Io(String),
}
