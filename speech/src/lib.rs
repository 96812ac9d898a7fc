//! # airbridge-speech
//!
//! Owns on-device speech-to-text of callers (whisper.cpp through whisper-rs)
//! and the speech → knowledge-base path: voice-activity detection, utterance
//! segmentation, partial and final transcripts per caller line, traditional →
//! simplified conversion, the knowledge-base-vocabulary prompt, the journal
//! events (`TranscriptSegment`, `KbSuggested`, `Health { component: "speech" }`)
//! and the synthetic Mandarin callers used by tests, the evaluation and the demo.
//!
//! It never blocks the audio thread (it only reads the audio engine's
//! `rtrb` rings), never drops a final transcript (it drops partials when
//! behind, and says so), never panics on a missing or corrupt model (one
//! [`SpeechError::Model`] line naming the path and `airbridge model fetch`),
//! and never reaches the network.
//!
//! # Using it
//! ```no_run
//! # fn demo(journal: airbridge_show::journal::Journal, kb: &airbridge_kb::Kb,
//! #         consumer: rtrb::Consumer<f32>) -> Result<(), airbridge_speech::SpeechError> {
//! use airbridge_speech::{SpeechWorker, WorkerConfig};
//! let mut config = WorkerConfig::new(airbridge_models::model_path(None, "/data".as_ref()));
//! config.options.initial_prompt = airbridge_speech::prompt::from_entries(kb.entries());
//! // Loads the model (seconds): call off the UI thread.
//! let (worker, results) = SpeechWorker::start(config, Some(journal), Some(kb.searcher()))?;
//! worker.add_line(1, consumer)?; // 16 kHz mono from the audio engine's STT tap
//! for ev in results.try_iter() { /* SpeechEvent::Segment / KbSuggested / Health */ }
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`audio`]: WAV files → 16 kHz mono `f32` (resampling, down-mixing).
//! - [`vad`]: energy VAD and utterance segmentation (partials, finals).
//! - [`engine`]: one loaded model; blocking samples → text ([`Session::transcribe`]).
//! - [`worker`]: the streaming worker: threads, queues, journal, KB search.
//! - [`prompt`]: the initial prompt from the knowledge base's vocabulary.
//! - [`synth`]: espeak-ng + sox clips (English and Mandarin).
//! - [`eval`]: the simulated callers (`demo/callers.tsv`), CER, top-K hits.
pub mod audio;
pub mod engine;
pub mod error;
pub mod eval;
pub mod prompt;
pub mod synth;
pub mod vad;
pub mod worker;

pub use engine::{Options, Recognizer, Session, Transcript};
pub use error::SpeechError;
pub use worker::{Flagger, SpeechEvent, SpeechWorker, WorkerConfig};

/// Loads the model and transcribes a generated English sentence; the words
/// must come back exactly (this proves the converted tensor mapping).
/// Returns the model description and what it heard.
pub fn verify_model(
    path: &std::path::Path,
    work_dir: &std::path::Path,
) -> Result<(String, String), SpeechError> {
    let rec = Recognizer::load(path)?;
    let wav = work_dir.join("airbridge-verify-en.wav");
    synth::english_clip(VERIFY_SENTENCE, &wav)?;
    let samples = audio::read_wav_16k_mono(&wav);
    let _ = std::fs::remove_file(&wav);
    let opts = Options {
        language: Some("en".into()),
        ..Options::default()
    };
    let heard = rec.session()?.transcribe(&samples?, &opts)?.text;
    if words(&heard) != words(VERIFY_SENTENCE) {
        return Err(SpeechError::Model(format!(
            "speech model {} heard {heard:?} instead of {VERIFY_SENTENCE:?}: the model is wrong; run `airbridge model fetch` again",
            path.display()
        )));
    }
    Ok((rec.describe(), heard))
}

/// Lower-case words without punctuation.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The sentence `verify_model` speaks (espeak-ng, voice en-us).
pub const VERIFY_SENTENCE: &str = "Please call the city service hotline tomorrow morning.";
