//! # airbridge-console
//!
//! The AirBridge desktop console (egui/eframe) and the `airbridge` command.
//!
//! The window is a thin layer: it draws the [`airbridge_show::ShowBoard`]
//! projection of the show journal and turns clicks and keys into journal
//! commands. It never waits on disk, network or models on the UI thread:
//! a feed thread follows the journal and a command thread writes to it
//! ([`backend`]).
//!
//! # Layout
//! - [`cli`]: argument parsing, subcommands, one-line errors.
//! - [`app`]: the window and its host / screener / back-office views.
//! - [`backend`]: threads between the UI and the journal.
//! - [`fonts`]: finding a font with Chinese glyphs.
//! - [`kb_cmd`]: `airbridge kb …`, the knowledge base from the command line.
//! - [`paths`]: where data lives.
//! - [`tickets_cmd`]: `sla` and `tickets` subcommands.

pub mod app;
pub mod backend;
pub mod cli;
pub mod fonts;
pub mod kb_cmd;
pub mod media_cmd;
pub mod paths;
pub mod tickets_cmd;
