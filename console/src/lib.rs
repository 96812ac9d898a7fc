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
//! - [`seat`]: one seat without pixels — its board, drafts, selections and
//!   the actions it asks of the runtime; unit-tested without rendering.
//! - [`app`]: the window shell over a [`seat::SeatModel`]: keys, top and
//!   status bars, screenshots.
//! - [`views`]: the host, screener/producer and back-office views, F1 help.
//! - [`backend`]: threads between the UI and the journal, the ticket desk and
//!   the knowledge base.
//! - [`station`]: the composition root — which station, studio, script and
//!   paths run, for the window, `serve` and the demo alike.
//! - [`demo`]: the demo station and its rehearsal script (`--demo`).
//! - [`live`]: the engine's audio meters, smoothed for display.
//! - [`fonts`]: finding a font with Chinese glyphs.
//! - [`playback`]: call recordings played back in the back office.
//! - [`paths`]: where data lives.
//! - [`commands`]: the subcommands, one module each: `serve` (the show
//!   without a window), `studio` (`studio init`, `config check`), `seat`
//!   (a seat on the command line), `kb`, `feeds`, `media`, `model`, `stt`
//!   and `ask`, `tickets` and `sla`.
//! - [`remote`]: the window as a seat of a runtime on another PC.

pub mod app;
pub mod backend;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod fonts;
pub mod live;
pub mod paths;
pub mod playback;
pub mod remote;
pub mod seat;
pub mod station;
pub mod views;
