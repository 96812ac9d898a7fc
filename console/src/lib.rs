//! # airbridge-console
//!
//! The AirBridge desktop console (egui/eframe) and the `airbridge` command.
//!
//! The window is a thin layer over the station runtime
//! ([`airbridge_runtime`]): it draws the [`airbridge_show::ShowBoard`]
//! projection of the show journal and turns clicks and keys into runtime
//! actions, which the runtime decides and journals. It never waits on disk, network or models on the UI thread:
//! a feed thread follows the journal, a desk thread writes to it and owns
//! the ticket desk, a knowledge-base thread answers searches ([`backend`]).
//!
//! # Layout
//! - [`cli`]: argument parsing, subcommands, one-line errors.
//! - [`app`]: the window shell: seat, keys, top and status bars, screenshots.
//! - [`views`]: the host, screener/producer and back-office views, F1 help.
//! - [`backend`]: threads between the UI and the journal, the ticket desk and
//!   the knowledge base.
//! - [`station`]: the composition root — which station, studio, script and
//!   paths run, for the window, `serve` and the demo alike.
//! - [`demo`]: the demo station and its rehearsal script (`--demo`).
//! - [`live`]: the engine's audio meters, smoothed for display.
//! - [`serve_cmd`]: `airbridge serve`, the show without a window.
//! - [`studio_cmd`]: `airbridge studio init` and `airbridge config check`.
//! - [`fonts`]: finding a font with Chinese glyphs.
//! - [`playback`]: call recordings played back in the back office.
//! - [`kb_cmd`]: `airbridge kb …`, the knowledge base from the command line.
//! - [`feeds_cmd`], [`media_cmd`], [`model_cmd`], [`stt_cmd`]: `airbridge
//!   feeds …`, `media …`, `model …`, `stt …` and `ask`.
//! - [`paths`]: where data lives.
//! - [`tickets_cmd`]: `sla` and `tickets` subcommands.

pub mod app;
pub mod backend;
pub mod cli;
pub mod demo;
pub mod feeds_cmd;
pub mod fonts;
pub mod kb_cmd;
pub mod live;
pub mod media_cmd;
pub mod model_cmd;
pub mod paths;
pub mod playback;
pub mod serve_cmd;
pub mod station;
pub mod stt_cmd;
pub mod studio_cmd;
pub mod tickets_cmd;
pub mod views;
