//! # airbridge-media
//!
//! Owns the studio audio engine: caller lines (from sound-card inputs,
//! network streams, files and test tones), the program and cue buses, a
//! mix-minus return for every connected caller, the program limiter,
//! meters (peak/RMS per line and bus, EBU R128 momentary and short-term on
//! program), taps (recording, the 16 kHz speech feed) and the headless
//! renderer behind `airbridge media render`.
//!
//! Line states and their allowed transitions live in
//! [`airbridge_show::line`], so the journal and the engine share one
//! definition; this crate re-exports them and enforces them in
//! [`Controller::set_state`].
//!
//! ## Shape
//! - [`mixer::Mixer`]: the pure mixing core; `process()` mixes one block
//!   without allocating or locking.
//! - [`core::Core`] (audio thread) and [`core::Controller`] (control side),
//!   made together by [`core::build`]: commands go over a lock-free SPSC ring,
//!   sources and tap rings come back over another ring to be freed off the
//!   audio thread, problems go out as small `Copy` events.
//! - [`core::EventFeed`] / [`core::spawn_journal_bridge`]: an event thread
//!   that turns line changes into `ShowEvent::LineStateChanged` and source
//!   or device trouble into `ShowEvent::Health { component: "audio/<x>" }`.
//! - [`render`]: scripted scenarios (TOML) rendered faster than real time
//!   to WAV files — program, cue and every mix-minus.
//! - [`record::Recorder`]: writes taps to WAV files on its own thread.
//! - [`live::Engine`]: the live engine on cpal devices; it survives losing
//!   the output device (internal clock, retried every 2 s, reported as
//!   `audio/output` health) and owns GStreamer pipelines started through it.
//! - [`gst`]: GStreamer sources (RTP/UDP Opus and G.711, file/URI → appsink)
//!   and sinks (appsrc → WAV/Ogg file, Icecast, RTMP FLV/AAC).
//! - [`rtp`]: RTP caller lines both ways — the caller decoded into the line,
//!   the line's mix-minus encoded and sent back from the same socket; the
//!   activity counters tell when a call starts and ends.
//!
//! ## For the console and the speech worker
//! ```no_run
//! # fn main() -> Result<(), airbridge_media::MediaError> {
//! use airbridge_media::{LineState, live::{Engine, EngineOptions}};
//! let engine = Engine::start(EngineOptions::default(), None)?;
//! engine.play_wav(1, std::path::Path::new("caller1.wav"), false)?;
//! let speech = engine.stt_tap(1)?; // rtrb::Consumer<f32>, 16 kHz mono
//! engine.add_network_line(2, &airbridge_media::gst::NetSource::RtpOpus { port: 5004 })?;
//! engine.set_state(1, LineState::Ringing)?;
//! let m = engine.meters().snapshot(); // lock-free, every UI frame
//! # let _ = (speech, m); Ok(()) }
//! ```
//!
//! ## Never
//! The audio callback never locks, allocates, logs, formats strings or does
//! I/O; this crate never writes to the journal from the audio thread and
//! never decides show policy (who goes on air) — it only refuses
//! transitions the state machine forbids.

pub mod core;
pub mod delay;
pub mod dsp;
pub mod gst;
pub mod live;
pub mod meters;
pub mod mixer;
pub mod record;
pub mod render;
pub mod rtp;
pub mod source;

use std::path::PathBuf;

pub use airbridge_show::line::{LineState, TransitionError};
pub use core::{
    AudioEvent, Controller, Core, EventFeed, Input, MediaEvent, TapId, TapPoint, build,
};
pub use delay::{DelayMode, DelayReading};
pub use meters::{MeterSnapshot, Meters};
pub use mixer::{HoldFeed, Mixer, MixerConfig};

/// Everything that can go wrong in the audio engine.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MediaError {
    #[error("line {line} does not exist (this engine has lines 1 to {lines})")]
    NoSuchLine {
        line: airbridge_show::event::LineNo,
        lines: usize,
    },
    #[error("line {line}: {source}")]
    Transition {
        line: airbridge_show::event::LineNo,
        #[source]
        source: TransitionError,
    },
    #[error("the audio thread is not taking commands (queue full)")]
    QueueFull,
    #[error("all {0} taps are in use")]
    TooManyTaps(usize),
    #[error("configuration: {0}")]
    Config(String),
    #[error("{}: {reason}", path.display())]
    BadAudio { path: PathBuf, reason: String },
    #[error("scenario {}: {reason}", path.display())]
    Scenario { path: PathBuf, reason: String },
    #[error("{op} {}: {detail}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        detail: String,
    },
    #[error("audio device: {0}")]
    Device(String),
    #[error("GStreamer: {0}")]
    Gst(String),
}
