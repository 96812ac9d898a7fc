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
    vad::{Segment, Segmenter, VadConfig},
};

/// The worker's segmentation without partials.
fn cfg_vad_finals_only() -> VadConfig {
    VadConfig {
        partial_every_s: None,
        ..VadConfig::default()
    }
}

const RUNS: usize = 3;
/// Side-by-side pairs for the overhead.
const PAIRS: usize = 8;

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
        "\n== {name}: clip {clip_s:.2} s, {threads} CPU threads, median of {RUNS} runs ({PAIRS} pairs side by side)"
    )
    .unwrap();

    let rec = Recognizer::load(model).unwrap();
    writeln!(out, "model: {}", rec.describe()).unwrap();
    let mut session = rec.session().unwrap();
    let full = Options {
        initial_prompt: kb_prompt.to_owned(),
        short_audio_ctx: None,
        ..Options::default()
    };
    let short = Options {
        initial_prompt: kb_prompt.to_owned(),
        ..Options::default()
    };
    let mut one_call = |samples: &[f32], opts: &Options| {
        let t0 = Instant::now();
        let _ = session.transcribe(samples, opts).unwrap();
        t0.elapsed().as_secs_f64()
    };
    let _ = one_call(clip, &full); // warm-up
    let t_full = median((0..RUNS).map(|_| one_call(clip, &full)).collect());

    // The streaming worker (VAD, segmentation, queues, whisper thread, KB
    // search), fed as fast as it takes audio, finals only: wall time from
    // the first sample to the line's end.
    let mut cfg = WorkerConfig::new(model.to_path_buf());
    cfg.options = short.clone();
    cfg.vad = cfg_vad_finals_only();
    let (worker, rx) = SpeechWorker::start(cfg, None, Some(index.clone())).unwrap();
    let mut padded = clip.to_vec();
    padded.extend(vec![0.0; 16_000]);
    // The audio the VAD hands whisper: the speech with 300 ms before and
    // 200 ms after, without the clip's other silence.
    let mut segmenter = Segmenter::new(cfg_vad_finals_only());
    let mut cut = Vec::new();
    segmenter.push(&padded, &mut cut);
    segmenter.flush(&mut cut);
    let utterances: Vec<Vec<f32>> = cut
        .into_iter()
        .filter_map(|s| match s {
            Segment::Final { samples, .. } => Some(samples),
            Segment::Partial { .. } => None,
        })
        .collect();
    let utterance_s = utterances.iter().map(Vec::len).sum::<usize>() as f64 / 16_000.0;
    let streamed = || {
        let t0 = Instant::now();
        worker.feed_samples(1, padded.clone(), false).unwrap();
        let (mut text_ms, mut kb_ms) = (0.0, 0.0);
        loop {
            match rx.recv_timeout(Duration::from_secs(300)).unwrap() {
                SpeechEvent::Segment {
                    is_final: true,
                    latency_ms,
                    ..
                } => text_ms = latency_ms as f64,
                SpeechEvent::KbSuggested { latency_ms, .. } => kb_ms = latency_ms as f64,
                SpeechEvent::LineEnded { .. } => break,
                _ => {}
            }
        }
        (t0.elapsed().as_secs_f64(), text_ms, kb_ms)
    };
    // Side by side: one call on the whole clip and the streaming path, in
    // pairs, alternating which goes first, so that a change in the machine's
    // speed during the run (a shared VM's CPU varies by tens of per cent over
    // minutes) hits both sides alike. The overhead is the median of the
    // pairs' ratios.
    let _ = one_call(clip, &short);
    let _ = streamed();
    let (mut t_short, mut t_utt, mut wall, mut ratio, mut ratio_utt, mut text_fast, mut kb_fast) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for pair in 0..PAIRS {
        let calls = |one_call: &mut dyn FnMut(&[f32], &Options) -> f64| {
            let one = one_call(clip, &short);
            let utt: f64 = utterances.iter().map(|u| one_call(u, &short)).sum();
            (one, utt)
        };
        let ((one, utt), (w, text_ms, kb_ms)) = if pair % 2 == 0 {
            let c = calls(&mut one_call);
            (c, streamed())
        } else {
            let s = streamed();
            (calls(&mut one_call), s)
        };
        t_short.push(one);
        t_utt.push(utt);
        wall.push(w);
        ratio.push(w / one);
        ratio_utt.push(w / utt);
        text_fast.push(text_ms);
        kb_fast.push(kb_ms);
    }
    worker.shutdown();
    // What each side wrote: whisper's output length on the same speech can
    // differ with a few hundred ms more or less silence around it, and the
    // decoder's time follows the output's length.
    let clip_text = session.transcribe(clip, &short).unwrap().text;
    let utterance_text: Vec<String> = utterances
        .iter()
        .map(|u| session.transcribe(u, &short).unwrap().text)
        .collect();
    drop(rec);
    let (ratio_min, ratio_max) = ratio
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    let (t_short, t_utt, wall_fast, overhead, overhead_utt, text_fast, kb_fast) = (
        median(t_short),
        median(t_utt),
        median(wall),
        median(ratio),
        median(ratio_utt),
        median(text_fast),
        median(kb_fast),
    );

    // Live: paced like a caller, partials every second.
    let stream = |partials: Option<f32>, realtime: bool| {
        let mut cfg = WorkerConfig::new(model.to_path_buf());
        cfg.options = short.clone();
        cfg.vad.partial_every_s = partials;
        let (worker, rx) = SpeechWorker::start(cfg, None, Some(index.clone())).unwrap();
        // Warm-up utterance.
        worker.feed_samples(1, padded.clone(), false).unwrap();
        while !matches!(
            rx.recv_timeout(Duration::from_secs(300)).unwrap(),
            SpeechEvent::LineEnded { .. }
        ) {}
        let mut text_ms = Vec::new();
        let mut kb_ms = Vec::new();
        for _ in 0..RUNS {
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
        }
        let cut = worker
            .stats()
            .partials_cut
            .load(std::sync::atomic::Ordering::Relaxed);
        worker.shutdown();
        (median(text_ms), median(kb_ms), cut)
    };
    let (text_live, kb_live, cut) = stream(Some(1.0), true);

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
        "streaming overhead vs one call (median of pairs)", overhead, "<= 1.10"
    )
    .unwrap();
    writeln!(
        out,
        "{:<52} {:>10} {:>8}",
        "  pairs' ratios, lowest .. highest",
        format!("{ratio_min:.2}..{ratio_max:.2}"),
        ""
    )
    .unwrap();
    writeln!(
        out,
        "{:<52} {:>9.2}s {:>8}",
        format!(
            "one call per utterance the VAD cut ({}, {utterance_s:.2} s)",
            utterances.len()
        ),
        t_utt,
        ""
    )
    .unwrap();
    writeln!(
        out,
        "{:<52} {:>9.2}x {:>8}",
        "streaming overhead vs whisper on those utterances", overhead_utt, ""
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
    writeln!(out, "text, one call on the clip:      {clip_text}").unwrap();
    writeln!(
        out,
        "text, one call per utterance:    {}",
        utterance_text.join(" | ")
    )
    .unwrap();
}
