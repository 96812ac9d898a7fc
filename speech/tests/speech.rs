#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! The real model on generated speech: English exactly right, a Mandarin
//! caller through the streaming worker into the journal and the KB.

mod common;

use std::sync::Arc;

use airbridge_show::event::ShowEvent;
use airbridge_show::journal::Journal;
use airbridge_speech::{
    Options, Recognizer, SpeechEvent, SpeechWorker, WorkerConfig, audio, synth,
};

#[test]
fn the_converted_model_transcribes_english_exactly() {
    let Some(model) = common::model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (desc, heard) = airbridge_speech::verify_model(&model, dir.path()).unwrap();
    assert!(desc.contains("base") || desc.contains("whisper"), "{desc}");
    eprintln!("{desc}: {heard}");
}

#[test]
fn a_caller_line_goes_to_the_journal_with_kb_suggestions() {
    let Some(model) = common::model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("caller.wav");
    synth::mandarin_clip("我的社保卡丢了，怎么补办", &wav).unwrap();
    let mut samples = vec![0.0f32; 8000];
    samples.extend(audio::read_wav_16k_mono(&wav).unwrap());
    samples.extend(vec![0.0f32; 16000]);

    let journal = Journal::open(&dir.path().join("show.db")).unwrap();
    let kb = airbridge_kb::Kb::open_or_seed_demo(&dir.path().join("kb.db")).unwrap();
    let mut config = WorkerConfig::new(model);
    config.options.initial_prompt = airbridge_speech::prompt::from_entries(kb.entries());
    let (worker, rx) =
        SpeechWorker::start(config, Some(journal.clone()), Some(kb.searcher())).unwrap();
    assert!(worker.model().contains("base"), "{}", worker.model());

    // The audio engine's side: a ring buffer per line, written in 20 ms blocks.
    let (mut producer, consumer) = rtrb::RingBuffer::<f32>::new(16_000 * 30);
    worker.add_line(3, consumer).unwrap();
    for block in samples.chunks(320) {
        for s in block {
            producer.push(*s).unwrap();
        }
    }
    drop(producer);
    let events = common::collect_until_end(&rx);
    let finals: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            SpeechEvent::Segment {
                line,
                text,
                is_final: true,
                start_ms,
                end_ms,
                ..
            } => Some((*line, text.clone(), *start_ms, *end_ms)),
            _ => None,
        })
        .collect();
    eprintln!("{events:#?}");
    assert_eq!(finals.len(), 1, "{finals:?}");
    let (line, text, start_ms, end_ms) = &finals[0];
    assert_eq!(*line, 3);
    assert!(!text.is_empty());
    assert!(
        *start_ms <= 500 && *end_ms > *start_ms + 1000,
        "{start_ms}..{end_ms}"
    );
    // Simplified output: converting again changes nothing.
    assert_eq!(fast2s::convert(text), *text);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SpeechEvent::KbSuggested { .. }))
    );
    worker.shutdown();

    let kinds: Vec<ShowEvent> = journal
        .replay(1)
        .unwrap()
        .map(|e| e.unwrap().event)
        .collect();
    assert!(
        kinds.iter().any(|e| matches!(
            e,
            ShowEvent::TranscriptSegment {
                is_final: true,
                line: 3,
                ..
            }
        )),
        "{kinds:?}"
    );
    let hits = kinds.iter().find_map(|e| match e {
        ShowEvent::KbSuggested { hits, .. } => Some(hits.clone()),
        _ => None,
    });
    assert!(!hits.unwrap().is_empty());
}

#[test]
fn short_audio_ctx_gives_the_same_english_text() {
    let Some(model) = common::model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("en.wav");
    synth::english_clip(
        "Hello, my name is John and I would like to ask about my pension.",
        &wav,
    )
    .unwrap();
    let samples = audio::read_wav_16k_mono(&wav).unwrap();
    let rec = Recognizer::load(&model).unwrap();
    let mut s = rec.session().unwrap();
    let full = Options {
        language: Some("en".into()),
        short_audio_ctx: None,
        ..Options::default()
    };
    let short = Options {
        short_audio_ctx: Some(1.0),
        ..full.clone()
    };
    let a = s.transcribe(&samples, &full).unwrap().text;
    let b = s.transcribe(&samples, &short).unwrap().text;
    assert_eq!(a, b);
    assert!(a.to_lowercase().contains("pension"), "{a}");
    let _ = Arc::new(());
}

/// A call given up through the abort hook says so, and the session is
/// whole afterwards: the next call transcribes the same clip correctly.
#[test]
fn an_aborted_call_leaves_the_session_usable() {
    let Some(model) = common::model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("en.wav");
    synth::english_clip("Please call the city service hotline tomorrow.", &wav).unwrap();
    let clip = audio::read_wav_16k_mono(&wav).unwrap();
    let rec = Recognizer::load(&model).unwrap();
    let mut session = rec.session().unwrap();
    let opts = Options {
        language: Some("en".into()),
        ..Options::default()
    };
    let asked = std::cell::Cell::new(0u32);
    let always = || {
        asked.set(asked.get() + 1);
        true
    };
    match session.transcribe_unless(&clip, &opts, &always) {
        Err(airbridge_speech::SpeechError::Aborted) => {}
        other => panic!("expected Aborted, got {other:?}"),
    }
    assert!(asked.get() >= 1);
    let never = || false;
    let text = session
        .transcribe_unless(&clip, &opts, &never)
        .unwrap()
        .text
        .to_lowercase();
    assert!(text.contains("city service hotline"), "{text}");
}
