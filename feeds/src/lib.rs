//! # airbridge-feeds: audience feeds → one triaged question stream
//!
//! Owns the audience inputs of a show — the WeChat official-account callback
//! server, the Douyin open-platform live-data push receiver, the bilibili
//! open-platform long connection, and a relay WebSocket (generic JSON for SMS
//! gateways and other bridges, raw Douyin webcast `PushFrame`s decoded only)
//! — and the triage that turns them into one masked, classified, clustered
//! stream in the show journal.
//!
//! It must never: put unmasked personal data (phone, ID, card numbers, names
//! after 我叫) into the journal or a log; scrape or sign Douyin web requests;
//! block a caller's thread (everything runs on its own tokio runtime and
//! pipeline thread, connected by bounded channels); let malformed input take
//! a receiver down (it is counted and logged with a masked sample).
//!
//! # Layout
//! - [`model`]: the one [`AudienceMessage`] every source decodes into.
//! - [`pii`]: masking of phone/ID/card numbers in any spelling and names.
//! - [`triage`]: classification scorer, spam/profanity lists, near-duplicate
//!   clustering ([`Triage`], synchronous).
//! - [`pipeline`]: dedupe → triage → back-office raw store → journal, on one
//!   thread behind a bounded channel.
//! - [`store`]: the raw (unmasked) back-office store.
//! - [`wechat`], [`douyin`], [`bilibili`], [`pushframe`], [`relay`]: the
//!   protocol decoders and receivers.
//! - [`tls`]: rustls client settings (system roots + an extra CA file) and
//!   the plain-or-TLS connect the bilibili client uses.
//! - [`server`]: [`Feeds::start`] — the HTTP/WebSocket server and clients on
//!   their own runtime; [`FeedsHandle`] stops them.
//! - [`replay`]: [`replay_trace`] pushes a JSON Lines trace through the real
//!   pipeline at a realistic rate.
//!
//! # Using it from the console
//! ```no_run
//! # fn demo(journal: airbridge_show::Journal) -> Result<(), airbridge_feeds::FeedsError> {
//! let config = airbridge_feeds::FeedsConfig::default();
//! let handle = airbridge_feeds::Feeds::start(config, journal)?;
//! // … AudienceMessage and Health events now arrive in the journal …
//! handle.shutdown();
//! # Ok(()) }
//! ```

pub mod bilibili;
pub mod config;
pub mod douyin;
pub mod error;
pub mod health;
pub mod model;
pub mod moderation;
pub mod pii;
pub mod pipeline;
pub mod pushframe;
pub mod relay;
pub mod replay;
pub mod server;
pub mod sms;
pub mod store;
pub mod tls;
pub mod triage;
pub mod wechat;
pub mod wechat_cs;

pub use config::FeedsConfig;
pub use error::FeedsError;
pub use model::{AudienceMessage, Hint};
pub use pipeline::{Inbound, Outcome, Pipeline, PipelineConfig, Stats};
pub use replay::replay_trace;
pub use server::{Feeds, FeedsHandle};
pub use triage::{ClusterSummary, Triage, TriageConfig, Verdict};
