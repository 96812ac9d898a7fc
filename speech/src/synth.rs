//! Synthetic speech for tests, the evaluation set and the demo show's
//! simulated callers: espeak-ng speaks, sox makes whisper's input format.

use std::path::Path;
use std::process::Command;

use crate::SpeechError;

fn run(cmd: &mut Command, tool: &str) -> Result<(), SpeechError> {
    let out = cmd.output().map_err(|e| SpeechError::Synth {
        tool: tool.into(),
        reason: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(SpeechError::Synth {
            tool: tool.into(),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// Speaks `text` with espeak-ng voice `voice` into `path` as a 16 kHz mono
/// 16-bit WAV. `speed` is espeak-ng's words per minute.
pub fn clip(text: &str, voice: &str, speed: u32, path: &Path) -> Result<(), SpeechError> {
    let mut raw = path.as_os_str().to_owned();
    raw.push(".espeak.wav");
    let raw = std::path::PathBuf::from(raw);
    run(
        Command::new("espeak-ng")
            .args(["-v", voice, "-s", &speed.to_string(), "-w"])
            .arg(&raw)
            .arg(text),
        "espeak-ng",
    )?;
    let converted = run(
        Command::new("sox")
            .arg(&raw)
            .args(["-r", "16000", "-c", "1", "-b", "16"])
            .arg(path),
        "sox",
    );
    let _ = std::fs::remove_file(&raw);
    converted
}

/// An English clip (voice `en-us`), used by `airbridge model verify`.
pub fn english_clip(text: &str, path: &Path) -> Result<(), SpeechError> {
    clip(text, "en-us", 150, path)
}

/// A Mandarin clip from Chinese characters. On Debian 12 the voice `cmn`
/// spells each character's pinyin in English letters; `cmn-latn-pinyin`
/// speaks Mandarin (robotic, but recognisable).
pub fn mandarin_clip(text: &str, path: &Path) -> Result<(), SpeechError> {
    clip(text, "cmn-latn-pinyin", 150, path)
}
