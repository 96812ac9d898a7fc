//! # airbridge-speech
//!
//! placeholder docs
pub mod audio;
pub mod engine;
pub mod error;
pub mod synth;

pub use engine::{Options, Recognizer, Session, Transcript};
pub use error::SpeechError;

/// Loads the model and transcribes a generated English sentence; the text
/// must come back right (this proves the converted tensor mapping).
pub fn verify_model(
    path: &std::path::Path,
    work_dir: &std::path::Path,
) -> Result<(String, String), SpeechError> {
    let rec = Recognizer::load(path)?;
    let wav = work_dir.join("verify-en.wav");
    synth::english_clip(VERIFY_SENTENCE, &wav)?;
    let samples = audio::read_wav_16k_mono(&wav)?;
    let opts = Options {
        language: Some("en".into()),
        short_audio_ctx: None,
        ..Options::default()
    };
    let t = rec.session()?.transcribe(&samples, &opts)?;
    Ok((rec.describe(), t.text))
}

/// The sentence `verify_model` speaks.
pub const VERIFY_SENTENCE: &str = "Please call the city service hotline tomorrow morning.";
