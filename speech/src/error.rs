//! The speech crate's errors.

use std::path::PathBuf;

/// What can go wrong loading the model, reading audio or transcribing.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    /// No usable model: one line naming the path and the fix.
    #[error("{0}")]
    Model(String),
    #[error("whisper: {0}")]
    Whisper(#[from] whisper_rs::WhisperError),
    #[error(
        "{path} is not a WAV file ({reason}): convert it with `sox IN -r 16000 -c 1 -b 16 OUT.wav`"
    )]
    NotWav { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot generate speech with {tool}: {reason} (install espeak-ng and sox: scripts/install-deps.sh)"
    )]
    Synth { tool: String, reason: String },
    #[error("the speech worker has stopped")]
    Stopped,
    /// The call was given up on request (see `Session::transcribe_unless`).
    #[error("transcription aborted")]
    Aborted,
}
