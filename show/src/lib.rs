//! # airbridge-show
//!
//! Owns the **show journal**, the spine of AirBridge: an append-only, durable
//! log of everything that happens in a show (calls, line states, transcripts,
//! audience messages, pins, tickets handed off …). Every view is a projection
//! of it; crash recovery is "open and replay".
//!
//! This crate never touches audio, the network or the UI. Appends block the
//! caller until durable, so the audio thread must never call it directly:
//! real-time code hands events to a worker that does.
//!
//! # Layout
//! - [`event`]: the typed events ([`ShowEvent`]) and their stored envelope ([`StoredEvent`]).
//! - [`line`](mod@line): caller line states and which transitions are allowed.
//! - [`journal`]: [`Journal`] (group-committing writer, [`Subscription`], [`Replay`]),
//!   one writer per file across processes (a lock file), and [`JournalReader`]
//!   for read-only tools that [`Follow`] another process's writes.
//! - [`store`]: the storage traits and the SQLite backend (PostgreSQL can be added behind them).
//! - [`plan`]: show preparation: the [`ShowPlan`] (rundown segments with scripts,
//!   guests, emergency phrases), its [`PlanEdit`]s and file, the [`RunningOrder`]
//!   and the printable page.
//! - [`board`]: the [`Projection`] trait and [`ShowBoard`], the state the console draws.

pub mod board;
mod error;
pub mod event;
pub mod journal;
pub mod line;
pub mod plan;
pub mod store;

pub use board::{
    CallerHistory, HeldMessage, Projection, RecentMessage, ShowBoard, SpeechFlag, TicketView,
};
pub use error::JournalError;
pub use event::{
    CallerNote, DelayCommand, ItemRef, KbHit, LineNo, MessageKind, Moderation, ShowEvent,
    StoredEvent,
};
pub use journal::{
    Ack, Follow, Journal, JournalOptions, JournalReader, Replay, Subscription, Waker,
};
pub use line::{LineState, TransitionError};
pub use plan::{
    Guest, PlanEdit, PlanError, PlanFileError, RunningOrder, RunningSegment, Segment, ShowPlan,
};
