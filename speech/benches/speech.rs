//! Speech benchmark (not a test): real-time factor, end-of-utterance →
//! final text and → KB results latency, and the streaming path's overhead
//! against one whisper call on the whole clip, side by side.
//!
//! `AIRBRIDGE_MODEL=… cargo bench -p airbridge-speech`
#![allow(clippy::print_stderr, clippy::unwrap_used)]

use std::io::Write;
use std::time::{Duration, Instant};

use airbridge_kb::{Analyzer, Mode, SearchIndex};
use airbridge_speech::{
    Options, Recognizer, SpeechEvent, SpeechWorker, WorkerConfig, audio, prompt, synth,
};

const RUNS: usize = 3;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let Some(model) = std::env::var_os("AIRBRIDGE_MODEL") else {
        eprintln!("set AIRBRIDGE_MODEL to a ggml model (scripts/test.sh shows how)");
        return;
    };
    let model = std::path::PathBuf::from(model);
    let entries = airbridge_kb::demo::entries().unwrap();
    let kb_prompt = prompt::from_entries(&entries);
    let index = std::sync::Arc::new(SearchIndex::build(
        Analyzer::embedded().unwrap(),
        entries,
        Mode::Full,
    ));
    let dir = tempfile::tempdir().unwrap();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    // The goal's case: one ~5 s caller question. Then two questions back to
    // back (~7 s), which the VAD splits into two utterances.
    for (name, text) in [
        ("one question", "我退休了，公积金怎么取出来"),
        (
            "two questions",
            "你好，我退休了，公积金怎么取出来，需要带什么材料",
        ),
    ] {
        let wav = dir.path().join("u.wav");
        synth::mandarin_clip(text, &wav).unwrap();
        let clip = audio::read_wav_16k_mono(&wav).unwrap();
        measure(name, &clip, threads, &model, &kb_prompt, &index);
    }
}

fn measure(
    name: &str,
    clip: &[f32],
    threads: usize,
    model: &std::path::Path,
    kb_prompt: &str,
    index: &std::sync::Arc<SearchIndex>,
) {
    let clip_s = clip.len() as f64 / 16_000.0;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\n== {name}: clip {clip_s:.2} s, {threads} CPU threads, {RUNS} runs each, median"
    )
    .unwrap();

    let rec = Recognizer::load(model).unwrap();
    writeln!(out, "model: {}", rec.describe()).unwrap();
    let mut session = rec.session().unwrap();
    let mut time = |opts: &Options| {
        let _ = session.transcribe(clip, opts).unwrap(); // warm-up
        median(
            (0..RUNS)
                .map(|_| {
                    let t0 = Instant::now();
                    let _ = session.transcribe(clip, opts).unwrap();
                    t0.elapsed().as_secs_f64()
                })
                .collect(),
        )
    };
    let full = Options {
        initial_prompt: kb_prompt.to_owned(),
        short_audio_ctx: None,
        ..Options::default()
    };
    let short = Options {
        initial_prompt: kb_prompt.to_owned(),
        ..Options::default()
    };
    let t_full = time(&full);
    let t_short = time(&short);
    drop(rec);

    // Streaming: the worker, fed as fast as it takes audio, finals only.
    let stream = |partials: Option<f32>, realtime: bool| {
        let mut cfg = WorkerConfig::new(model.to_path_buf());
        cfg.options = short.clone();
        cfg.vad.partial_every_s = partials;
        let (worker, rx) = SpeechWorker::start(cfg, None, Some(index.clone())).unwrap();
        let mut padded = clip.to_vec();
        padded.extend(vec![0.0; 16_000]);
        // Warm-up utterance.
        worker.feed_samples(1, padded.clone(), false).unwrap();
        while !matches!(
            rx.recv_timeout(Duration::from_secs(300)).unwrap(),
            SpeechEvent::LineEnded { .. }
        ) {}
        let mut wall = Vec::new();
        let mut text_ms = Vec::new();
        let mut kb_ms = Vec::new();
        for _ in 0..RUNS {
            let t0 = Instant::now();
            worker.feed_samples(1, padded.clone(), realtime).unwrap();
            loop {
                match rx.recv_timeout(Duration::from_secs(300)).unwrap() {
                    SpeechEvent::Segment {
                        is_final: true,
                        latency_ms,
                        ..
                    } => text_ms.push(latency_ms as f64),
                    SpeechEvent::KbSuggested { latency_ms, .. } => kb_ms.push(latency_ms as f64),
                    SpeechEvent::LineEnded { .. } => break,
                    _ => {}
                }
            }
            wall.push(t0.elapsed().as_secs_f64());
        }
        let cut = worker
            .stats()
            .partials_cut
            .load(std::sync::atomic::Ordering::Relaxed);
        worker.shutdown();
        (median(wall), median(text_ms), median(kb_ms), cut)
    };
    let (wall_fast, text_fast, kb_fast, _) = stream(None, false);
    let (_, text_live, kb_live, cut) = stream(Some(1.0), true);

    writeln!(out, "\n{:<52} {:>10} {:>8}", "measure", "value", "goal").unwrap();
    writeln!(
        out,
        "{:<52} {:>9.2}s {:>8}",
        "one whisper call, full 30 s window", t_full, ""
    )
    .unwrap();
    writeln!(
        out,
        "{:<52} {:>9.2}s {:>8}",
        "one whisper call, audio_ctx = clip + 1 s", t_short, ""
    )
    .unwrap();
    writeln!(
        out,
        "{:<52} {:>10.3} {:>8}",
        "RTF, full window",
        t_full / clip_s,
        ""
    )
    .unwrap();
    writeln!(
        out,
        "{:<52} {:>10.3} {:>8}",
        "RTF, audio_ctx",
        t_short / clip_s,
        "<= 0.35"
    )
    .unwrap();
    writeln!(
        out,
        "{:<52} {:>9.2}s {:>8}",
        "streaming worker, whole file fed at once (wall)", wall_fast, ""
    )
    .unwrap();
    writeln!(
        out,
        "{:<52} {:>9.2}x {:>8}",
        "streaming overhead vs one call (audio_ctx)",
        wall_fast / t_short,
        "<= 1.10"
    )
    .unwrap();
    writeln!(
        out,
        "{:<52} {:>8.0}ms {:>8}",
        "end of utterance -> final text (fed at once)", text_fast, ""
    )
    .unwrap();
    writeln!(
        out,
        "{:<52} {:>8.0}ms {:>8}",
        "end of utterance -> KB results (fed at once)", kb_fast, ""
    )
    .unwrap();
    writeln!(
        out,
        "{:<52} {:>8.0}ms {:>8}",
        "end of utterance -> final text (live, partials 1 s)", text_live, "<= 1500"
    )
    .unwrap();
    writeln!(
        out,
        "{:<52} {:>8.0}ms {:>8}",
        "end of utterance -> KB results (live, partials 1 s)", kb_live, "<= 1500"
    )
    .unwrap();
    writeln!(
        out,
        "{:<52} {:>10} {:>8}",
        "partials cut short for a waiting final (live)", cut, ""
    )
    .unwrap();
}
