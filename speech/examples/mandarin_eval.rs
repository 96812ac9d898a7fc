//! Mandarin evaluation: speaks every simulated caller (speech/demo/callers.tsv)
//! with espeak-ng, transcribes it with and without the knowledge-base prompt,
//! and prints the character error rate and the KB top-3 hit rate.
//!
//! `cargo run --release -p airbridge-speech --example mandarin_eval -- MODEL.bin`
#![allow(clippy::print_stderr)]

use std::io::Write;
use std::time::Instant;

use airbridge_kb::{Analyzer, Mode, SearchIndex};
use airbridge_speech::eval::{callers, char_errors, top_k_hit};
use airbridge_speech::{Options, Recognizer, audio, prompt, synth};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("AIRBRIDGE_MODEL").ok())
        .ok_or("usage: mandarin_eval MODEL.bin (or set AIRBRIDGE_MODEL)")?;
    let entries = airbridge_kb::demo::entries()?;
    let kb_prompt = prompt::from_entries(&entries);
    // Variant: matters only (departments are the words whisper echoes most).
    let matters_prompt = prompt::from_entries(
        &entries
            .iter()
            .map(|e| airbridge_kb::Entry {
                department: String::new(),
                ..e.clone()
            })
            .collect::<Vec<_>>(),
    );
    let index = SearchIndex::build(Analyzer::embedded()?, entries, Mode::Full);
    let rec = Recognizer::load(std::path::Path::new(&model))?;
    let mut session = rec.session()?;
    let dir = std::env::temp_dir().join(format!("airbridge-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut configs: Vec<(&str, Options)> = vec![
        (
            "no prompt, audio_ctx",
            Options {
                initial_prompt: String::new(),
                ..Options::default()
            },
        ),
        (
            "KB prompt, audio_ctx",
            Options {
                initial_prompt: kb_prompt.clone(),
                ..Options::default()
            },
        ),
        (
            "KB prompt, matters only",
            Options {
                initial_prompt: matters_prompt.clone(),
                ..Options::default()
            },
        ),
        (
            "KB prompt, symbols allowed",
            Options {
                initial_prompt: kb_prompt.clone(),
                suppress_symbols: false,
                ..Options::default()
            },
        ),
        (
            "KB prompt, loops not stopped",
            Options {
                initial_prompt: kb_prompt.clone(),
                stop_loops: false,
                ..Options::default()
            },
        ),
        (
            "no prompt, loops not stopped",
            Options {
                stop_loops: false,
                ..Options::default()
            },
        ),
    ];
    // The full 30 s window costs several times more: only when asked.
    if std::env::var_os("EVAL_FULL_WINDOW").is_some() {
        configs.push((
            "KB prompt, full 30 s window",
            Options {
                initial_prompt: kb_prompt.clone(),
                short_audio_ctx: None,
                ..Options::default()
            },
        ));
    }
    let qs = callers();
    let mut out = std::io::stdout().lock();
    writeln!(out, "model: {}", rec.describe())?;
    writeln!(out, "KB prompt: {kb_prompt}")?;
    writeln!(out, "matters-only prompt: {matters_prompt}")?;
    let clean_hits = qs
        .iter()
        .filter(|q| top_k_hit(&index, q, &q.text, 3))
        .count();
    let mut clips = Vec::new();
    for (i, q) in qs.iter().enumerate() {
        let wav = dir.join(format!("caller-{i:02}.wav"));
        synth::mandarin_clip(&q.text, &wav)?;
        clips.push(audio::read_wav_16k_mono(&wav)?);
    }
    let mut rows = Vec::new();
    for (name, opts) in &configs {
        let (mut errs, mut chars, mut hits, mut secs, mut audio_s, mut loops) =
            (0, 0, 0, 0.0, 0.0, 0);
        for (q, clip) in qs.iter().zip(&clips) {
            let t0 = Instant::now();
            let t = session.transcribe(clip, opts)?;
            secs += t0.elapsed().as_secs_f64();
            audio_s += clip.len() as f64 / 16_000.0;
            loops += usize::from(t.loop_stopped);
            let (e, n) = char_errors(&q.text, &t.text);
            errs += e;
            chars += n;
            let hit = top_k_hit(&index, q, &t.text, 3);
            hits += usize::from(hit);
            writeln!(
                out,
                "[{name}] {} | {} | CER {:.2} | top3 {}",
                q.text,
                t.text,
                e as f64 / n.max(1) as f64,
                if hit { "hit" } else { "miss" }
            )?;
        }
        rows.push((
            name,
            errs as f64 / chars.max(1) as f64,
            hits,
            secs / audio_s,
            loops,
        ));
    }
    writeln!(
        out,
        "\n{} callers; typed-text top-3 hit rate (upper bound): {clean_hits}/{}",
        qs.len(),
        qs.len()
    )?;
    writeln!(
        out,
        "{:<30} {:>6} {:>10} {:>6} {:>14}",
        "configuration", "CER", "top-3 hit", "RTF", "loops stopped"
    )?;
    for (name, cer, hits, rtf, loops) in rows {
        writeln!(
            out,
            "{name:<30} {cer:>6.3} {:>10} {rtf:>6.3} {loops:>14}",
            format!("{hits}/{}", qs.len())
        )?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
