//! Speech-flag benchmark (not a test): how soon after a caller says a
//! phone number the producer is warned, measured from the end of the
//! caller's audio, with the final transcript's latency beside it (the
//! baseline: without flags the producer learns it from the final at best).
//! The caller is espeak-ng saying an 11-digit number in English; the audio
//! is fed in real time (20 ms chunks), as from a line.
//!
//! `AIRBRIDGE_MODEL=… cargo bench -p airbridge-speech --bench flags`
#![allow(clippy::print_stderr, clippy::unwrap_used)]

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airbridge_speech::{Flagger, SpeechEvent, SpeechWorker, WorkerConfig, audio, synth};

const RUNS: usize = 3;

/// The runtime flags with the feeds' privacy scanner; here a plain count of
/// digits does (7 or more in one transcript), which is what matters for
/// timing.
fn digits(text: &str) -> Vec<String> {
    let n = text.chars().filter(char::is_ascii_digit).count();
    if n >= 7 {
        vec!["number".into()]
    } else {
        Vec::new()
    }
}

fn main() {
    let Some(model) = std::env::var_os("AIRBRIDGE_MODEL") else {
        eprintln!("set AIRBRIDGE_MODEL to a ggml model (scripts/test.sh shows how)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("caller.wav");
    synth::english_clip(
        "My phone number is: one five zero, one two three four, five six seven eight.",
        &wav,
    )
    .unwrap();
    let mut clip = audio::read_wav_16k_mono(&wav).unwrap();
    let speech_s = clip.len() as f64 / 16_000.0;
    clip.extend(std::iter::repeat_n(0.0, 16_000 * 2)); // the caller pauses
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "== speech flag: {speech_s:.2} s of speech, {RUNS} runs, times from the end of the caller's audio (negative: warned while still speaking)"
    )
    .unwrap();
    writeln!(out, "run | first flag | from | final text").unwrap();
    let (mut flags, mut finals) = (Vec::new(), Vec::new());
    for run in 1..=RUNS {
        let mut cfg = WorkerConfig::new(model.clone().into());
        cfg.flag = Some(Flagger(Arc::new(digits)));
        let (worker, results) = SpeechWorker::start(cfg, None, None).unwrap();
        let start = Instant::now();
        worker.feed_samples(1, clip.clone(), true).unwrap();
        let speech_end = start + Duration::from_secs_f64(speech_s);
        let (mut flag, mut fin) = (None, None);
        while fin.is_none() && start.elapsed() < Duration::from_secs(60) {
            let Ok(ev) = results.recv_timeout(Duration::from_millis(100)) else {
                continue;
            };
            let since_end = Instant::now().duration_since(speech_end).as_secs_f64()
                - speech_end.duration_since(Instant::now()).as_secs_f64();
            match ev {
                SpeechEvent::Flagged { is_final, .. } if flag.is_none() => {
                    flag = Some((since_end, if is_final { "final" } else { "partial" }));
                }
                SpeechEvent::Segment { is_final: true, .. } => fin = Some(since_end),
                _ => {}
            }
        }
        worker.shutdown();
        let (f, from) = flag.unwrap_or((f64::NAN, "none"));
        let fi = fin.unwrap_or(f64::NAN);
        writeln!(out, "{run} | {f:+.2} s | {from} | {fi:+.2} s").unwrap();
        flags.push(f);
        finals.push(fi);
    }
    flags.sort_by(f64::total_cmp);
    finals.sort_by(f64::total_cmp);
    writeln!(
        out,
        "median: first flag {:+.2} s, final text {:+.2} s after the end of speech",
        flags[RUNS / 2],
        finals[RUNS / 2]
    )
    .unwrap();
}
