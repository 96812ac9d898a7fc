//! One whisper.cpp model and the settings to run it: the blocking
//! "samples in, text out" call everything else builds on.

use std::path::{Path, PathBuf};
use std::sync::Once;

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

use crate::SpeechError;
use crate::audio::SAMPLE_RATE;

/// How to transcribe.
#[derive(Debug, Clone)]
pub struct Options {
    /// Language code; `None` lets whisper detect it.
    pub language: Option<String>,
    /// Text the decoder is primed with (e.g. the knowledge base's vocabulary).
    pub initial_prompt: String,
    /// Convert traditional characters to simplified.
    pub simplified: bool,
    /// CPU threads for whisper.cpp.
    pub threads: usize,
    /// Encode only as much of the 30 s window as the audio needs (whisper.cpp
    /// `audio_ctx`), with this many seconds of margin; `None` = the full window.
    pub short_audio_ctx: Option<f32>,
    /// Never emit non-speech symbols (brackets, music notes, `(`, `「` …):
    /// whisper.cpp's `suppress_nst`. Without it whisper base can loop on
    /// `(` until the token cap on robotic speech.
    pub suppress_symbols: bool,
    /// End decoding when the text starts looping ([`ends_in_loop`]).
    pub stop_loops: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            language: Some("zh".into()),
            initial_prompt: String::new(),
            simplified: true,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get().min(8)),
            short_audio_ctx: Some(1.0),
            suppress_symbols: true,
            stop_loops: true,
        }
    }
}

/// What whisper heard in one piece of audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub text: String,
    /// whisper's probability that there was no speech at all (first segment).
    pub no_speech: f32,
    /// The decoder started looping and was stopped (see [`ends_in_loop`]).
    pub loop_stopped: bool,
}

/// A loaded model.
pub struct Recognizer {
    ctx: WhisperContext,
    path: PathBuf,
    n_audio_ctx: i32,
}

impl std::fmt::Debug for Recognizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recognizer")
            .field("path", &self.path)
            .finish()
    }
}

/// Sends whisper.cpp's and ggml's log into `tracing` (once per process).
pub fn route_whisper_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(whisper_rs::install_logging_hooks);
}

/// whisper.cpp's model size name from its width and depth.
fn size_name(state: i32, layers: i32) -> &'static str {
    match (state, layers) {
        (384, 4) => "tiny",
        (512, 6) => "base",
        (768, 12) => "small",
        (1024, 24) => "medium",
        (1280, 32) => "large",
        (1280, 4) => "large-v3-turbo",
        _ => "custom",
    }
}

impl Recognizer {
    /// Loads a ggml model. A missing or unusable file is one clear line
    /// naming the path and the fix, never a panic.
    pub fn load(path: &Path) -> Result<Recognizer, SpeechError> {
        route_whisper_logs();
        let status = airbridge_models::check(path);
        if !status.is_ready() {
            return Err(SpeechError::Model(status.describe()));
        }
        if let Err(e) = airbridge_models::fetch::verify_checksum(path) {
            return Err(SpeechError::Model(e.to_string()));
        }
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| {
                SpeechError::Model(format!(
                    "speech model {} could not be loaded ({e}): run `airbridge model fetch` or set AIRBRIDGE_MODEL to a whisper.cpp ggml file",
                    path.display()
                ))
            })?;
        let n_audio_ctx = ctx.model_n_audio_ctx();
        Ok(Recognizer {
            ctx,
            path: path.to_path_buf(),
            n_audio_ctx,
        })
    }

    /// One line: which model is loaded.
    pub fn describe(&self) -> String {
        let size = size_name(
            self.ctx.model_n_audio_state(),
            self.ctx.model_n_audio_layer(),
        );
        let lang = if self.ctx.is_multilingual() {
            "multilingual"
        } else {
            "English-only"
        };
        format!("whisper {size} ({lang}) from {}", self.path.display())
    }

    /// Creates a decoding state (one per worker thread).
    pub fn session(&self) -> Result<Session, SpeechError> {
        Ok(Session {
            state: self.ctx.create_state()?,
            n_audio_ctx: self.n_audio_ctx,
            eot: self.ctx.token_eot(),
            n_vocab: usize::try_from(self.ctx.n_vocab()).unwrap_or(0),
        })
    }
}

/// A decoding state (it keeps the model alive); reused across calls.
pub struct Session {
    state: whisper_rs::WhisperState,
    n_audio_ctx: i32,
    eot: i32,
    n_vocab: usize,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}

/// The encoder frames needed for `samples` plus `margin_s` seconds (whisper
/// encodes 50 frames a second; 1500 = the full 30 s window).
pub fn audio_ctx_for(samples: usize, margin_s: f32, n_audio_ctx: i32) -> i32 {
    let secs = samples as f32 / SAMPLE_RATE as f32 + margin_s;
    let frames = (secs * 50.0).ceil() as i32;
    // Round up to a multiple of 64 (fewer distinct graph sizes), keep ≥ 128.
    let frames = ((frames + 63) / 64) * 64;
    frames.clamp(128, n_audio_ctx)
}

/// Drops a run of one repeated word beyond three, and of a repeated 1–16
/// character unit beyond two (whisper's looping failure: "声 声 声 声 …",
/// "镬鲸的镬鲸的镬鲸的…").
pub fn collapse_repeats(text: &str) -> String {
    collapse_char_loops(&collapse_word_repeats(text))
}

fn collapse_char_loops(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(c.len());
    let mut i = 0;
    'outer: while i < c.len() {
        for n in 1..=16 {
            let unit = &c[i..(i + n).min(c.len())];
            if unit.len() < n || unit.iter().all(|ch| ch.is_whitespace()) {
                continue;
            }
            let mut reps = 1;
            while c.get(i + reps * n..i + (reps + 1) * n) == Some(unit) {
                reps += 1;
            }
            if reps > 2 {
                out.extend_from_slice(unit);
                out.extend_from_slice(unit);
                i += reps * n;
                continue 'outer;
            }
        }
        out.push(c[i]);
        i += 1;
    }
    out.into_iter().collect()
}

fn collapse_word_repeats(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut run = 0;
    for w in text.split_inclusive(char::is_whitespace) {
        if out
            .last()
            .is_some_and(|l| l.trim() == w.trim() && !w.trim().is_empty())
        {
            run += 1;
            if run >= 3 {
                continue;
            }
        } else {
            run = 0;
        }
        out.push(w);
    }
    out.concat().trim().to_string()
}

/// whisper.cpp's abort hook, asked after the encoder and each decoder step.
/// `user_data` points at a `&dyn Fn() -> bool` on [`Session::run`]'s stack,
/// which outlives the call (whisper.cpp asks only inside `whisper_full`).
#[allow(unsafe_code)]
unsafe extern "C" fn ask_abort(user_data: *mut std::ffi::c_void) -> bool {
    // SAFETY: see above; the pointer is never null when this hook is set.
    let ask = unsafe { &*(user_data as *const &dyn Fn() -> bool) };
    ask()
}

/// Whether a token sequence ends in a loop: one unit of 2–24 tokens three
/// times in a row, or one token five times. whisper's greedy decoder, once
/// there, repeats the unit until the token cap ("市民政局、市民政局、…"),
/// which costs as much time as the rest of the call and adds nothing.
/// Natural speech repeats less ("对对对" is three tokens at most, "谢谢" two).
pub fn ends_in_loop(ids: &[i32]) -> bool {
    (1..=24usize).any(|unit| {
        let times = if unit == 1 { 5 } else { 3 };
        let n = ids.len();
        n >= unit * times && {
            let tail = &ids[n - unit..];
            (1..times).all(|k| &ids[n - (k + 1) * unit..n - k * unit] == tail)
        }
    })
}

/// What the logits filter needs, on [`Session::run`]'s stack.
struct LoopGuard {
    eot: i32,
    n_vocab: usize,
    stopped: std::cell::Cell<bool>,
    ids: std::cell::RefCell<Vec<i32>>,
}

/// whisper.cpp's logits filter, called before each token is chosen: once
/// the text so far ends in a loop, only end-of-text may follow, so the
/// decoder stops there (the repeats are then trimmed by
/// [`collapse_repeats`]).
#[allow(unsafe_code)]
unsafe extern "C" fn stop_loops(
    _ctx: *mut whisper_rs::WhisperSysContext,
    _state: *mut whisper_rs::WhisperSysState,
    tokens: *const whisper_rs::WhisperTokenData,
    n_tokens: std::ffi::c_int,
    logits: *mut f32,
    user_data: *mut std::ffi::c_void,
) {
    let Ok(n) = usize::try_from(n_tokens) else {
        return;
    };
    if n == 0 || tokens.is_null() || logits.is_null() || user_data.is_null() {
        return;
    }
    // SAFETY: `user_data` points at a `LoopGuard` on `Session::run`'s stack,
    // alive for the whole `whisper_full` call. whisper.cpp runs one decoder
    // here (greedy, `best_of` 1, no temperature fallback), so the filter is
    // never called from two threads at once and the `RefCell` is not shared.
    let guard = unsafe { &*(user_data as *const LoopGuard) };
    // SAFETY: whisper.cpp passes the decoder's `n` tokens so far and its
    // `n_vocab` logits (asserted equal to the model's vocabulary, which is
    // where `guard.n_vocab` comes from).
    let (tokens, logits) = unsafe {
        (
            std::slice::from_raw_parts(tokens, n),
            std::slice::from_raw_parts_mut(logits, guard.n_vocab),
        )
    };
    let mut ids = guard.ids.borrow_mut();
    ids.clear();
    ids.extend(tokens.iter().map(|t| t.id));
    let Ok(eot) = usize::try_from(guard.eot) else {
        return;
    };
    if eot < logits.len() && ends_in_loop(&ids) {
        for (id, l) in logits.iter_mut().enumerate() {
            if id != eot {
                *l = f32::NEG_INFINITY;
            }
        }
        guard.stopped.set(true);
    }
}

impl Session {
    /// Transcribes 16 kHz mono samples (blocking; seconds of CPU).
    pub fn transcribe(
        &mut self,
        samples: &[f32],
        opts: &Options,
    ) -> Result<Transcript, SpeechError> {
        self.run(samples, opts, None)
    }

    /// As [`Session::transcribe`], but gives up when `abort` says so:
    /// [`SpeechError::Aborted`]. whisper.cpp asks after the encoder and after
    /// each decoded token (the encoder itself is not interruptible). The
    /// worker cuts a partial short this way when a final is waiting.
    pub fn transcribe_unless(
        &mut self,
        samples: &[f32],
        opts: &Options,
        abort: &dyn Fn() -> bool,
    ) -> Result<Transcript, SpeechError> {
        self.run(samples, opts, Some(abort))
    }

    fn run(
        &mut self,
        samples: &[f32],
        opts: &Options,
        abort: Option<&dyn Fn() -> bool>,
    ) -> Result<Transcript, SpeechError> {
        let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        p.set_language(opts.language.as_deref());
        p.set_n_threads(i32::try_from(opts.threads.max(1)).unwrap_or(2));
        p.set_print_special(false);
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_timestamps(false);
        p.set_no_context(true);
        p.set_single_segment(true);
        p.set_no_timestamps(true);
        p.set_suppress_blank(true);
        p.set_suppress_nst(opts.suppress_symbols);
        // Temperature fallback re-decodes up to five times: too slow live.
        p.set_temperature_inc(0.0);
        if !opts.initial_prompt.is_empty() {
            p.set_initial_prompt(&opts.initial_prompt);
        }
        // whisper needs ≥ 1 s of audio; pad short pieces with silence.
        let min_len = SAMPLE_RATE as usize + 1600;
        let padded: Vec<f32>;
        let input = if samples.len() < min_len {
            padded = samples
                .iter()
                .copied()
                .chain(std::iter::repeat_n(0.0, min_len - samples.len()))
                .collect();
            &padded[..]
        } else {
            samples
        };
        if let Some(margin) = opts.short_audio_ctx
            && input.len() < 30 * SAMPLE_RATE as usize
        {
            p.set_audio_ctx(audio_ctx_for(input.len(), margin, self.n_audio_ctx));
        }
        // Speech is at most ~8 characters a second: a cap stops the decoder
        // looping on one token (a known whisper failure on odd audio).
        let max_tokens = 16 + (input.len() / SAMPLE_RATE as usize) * 10;
        p.set_max_tokens(i32::try_from(max_tokens).unwrap_or(i32::MAX));
        let guard = LoopGuard {
            eot: self.eot,
            n_vocab: self.n_vocab,
            stopped: std::cell::Cell::new(false),
            ids: std::cell::RefCell::new(Vec::with_capacity(max_tokens + 16)),
        };
        if opts.stop_loops && self.n_vocab > 0 {
            #[allow(unsafe_code)]
            // SAFETY: `guard` lives on this stack frame until `full` returns,
            // and `stop_loops` only uses it (and the buffers whisper.cpp
            // hands it) during that call; see `stop_loops`.
            unsafe {
                p.set_filter_logits_callback(Some(stop_loops));
                p.set_filter_logits_callback_user_data(
                    &guard as *const LoopGuard as *mut std::ffi::c_void,
                );
            }
        }
        if let Some(abort) = &abort {
            let hook: *const &dyn Fn() -> bool = abort;
            #[allow(unsafe_code)]
            // SAFETY: `abort` lives on this stack frame until `full` returns,
            // and `ask_abort` only reads it; see `ask_abort`.
            unsafe {
                p.set_abort_callback(Some(ask_abort));
                p.set_abort_callback_user_data(hook as *mut std::ffi::c_void);
            }
        }
        if let Err(e) = self.state.full(p, input) {
            return Err(if abort.is_some_and(|a| a()) {
                SpeechError::Aborted
            } else {
                e.into()
            });
        }
        let mut text = String::new();
        let mut no_speech = 0.0;
        for (i, seg) in self.state.as_iter().enumerate() {
            if i == 0 {
                no_speech = seg.no_speech_probability();
            }
            text.push_str(&seg.to_str_lossy()?);
        }
        // A token cap can cut a character's UTF-8 bytes short: drop the
        // replacement characters that leaves.
        text.retain(|c| c != char::REPLACEMENT_CHARACTER);
        let mut text = collapse_repeats(text.trim());
        if opts.simplified {
            text = fast2s::convert(&text);
        }
        Ok(Transcript {
            text,
            no_speech,
            loop_stopped: guard.stopped.get(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looping_output_is_collapsed_and_audio_ctx_is_bounded() {
        assert_eq!(collapse_repeats("( 声 声 声 声 声 声 声"), "( 声 声");
        assert_eq!(collapse_repeats("好 好 学习"), "好 好 学习");
        assert_eq!(
            collapse_repeats("我想用镬鲸的镬鲸的镬鲸的镬鲸的"),
            "我想用镬鲸的镬鲸的"
        );
        assert_eq!(collapse_repeats("谢谢谢谢谢"), "谢谢");
        assert_eq!(collapse_repeats("我们们去"), "我们们去");
        assert_eq!(
            collapse_repeats("户籍、市民政局、市民政局、市民政局"),
            "户籍、市民政局、市民政局"
        );
        assert!(ends_in_loop(&[1, 2, 3, 9, 8, 9, 8, 9, 8]));
        assert!(!ends_in_loop(&[1, 2, 3, 9, 8, 9, 8]));
        assert!(ends_in_loop(&[5, 5, 5, 5, 5]));
        assert!(!ends_in_loop(&[7, 5, 5, 5, 5]));
        assert!(!ends_in_loop(&[]));
        let unit: Vec<i32> = (100..124).collect();
        assert!(ends_in_loop(&unit.repeat(3)));
        assert_eq!(audio_ctx_for(16_000 * 5, 1.0, 1500), 320);
        assert_eq!(audio_ctx_for(100, 0.0, 1500), 128);
        assert_eq!(audio_ctx_for(16_000 * 40, 1.0, 1500), 1500);
    }
}
