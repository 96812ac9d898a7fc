//! # airbridge-media
//!
//! Will own the audio engine (caller lines from cpal and GStreamer, program
//! and cue buses, mix-minus, meters, recording) and the speech worker.
//! Line states and their allowed transitions already live in
//! [`airbridge_show::line`], so that the journal and the engine share one
//! definition; this crate re-exports them.
//!
//! Rules it will keep: the audio callback never locks, allocates, logs or does I/O.

pub use airbridge_show::line::{LineState, TransitionError};
