#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! Bad input: not WAV, silence, long noise, a broken model. (Other sample
//! rates and channel counts are converted by `airbridge-audio-files` and
//! tested there.)

mod common;

use airbridge_speech::{
    Recognizer, SpeechError, SpeechEvent, SpeechWorker, WorkerConfig, audio, synth,
};

#[test]
fn a_file_that_is_not_wav_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("song.mp3");
    std::fs::write(&p, b"ID3\x03\x00 not audio we read").unwrap();
    let e = audio::read_wav_16k_mono(&p).unwrap_err();
    assert!(matches!(e, SpeechError::NotWav { .. }), "{e:?}");
    assert!(
        e.to_string().contains("song.mp3") && e.to_string().contains("sox"),
        "{e}"
    );
    let e = audio::read_wav_16k_mono(&dir.path().join("missing.wav")).unwrap_err();
    assert!(matches!(e, SpeechError::Io { .. }), "{e:?}");
}

#[test]
fn a_missing_or_broken_model_is_one_line_naming_the_path_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ggml-base.bin");
    let e = Recognizer::load(&p).unwrap_err().to_string();
    assert!(
        e.contains("ggml-base.bin") && e.contains("airbridge model fetch") && !e.contains('\n'),
        "{e}"
    );
    std::fs::write(&p, b"<html>proxy error</html>").unwrap();
    let e = Recognizer::load(&p).unwrap_err().to_string();
    assert!(
        e.contains("ggml-base.bin") && e.contains("airbridge model fetch"),
        "{e}"
    );
    // A truncated real model (an interrupted copy).
    if let Some(model) = common::model() {
        let bytes = std::fs::read(&model).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 3]).unwrap();
        let e = Recognizer::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("ggml-base.bin") && e.contains("airbridge model fetch"),
            "{e}"
        );
    }
}

#[test]
fn silence_and_ten_minutes_of_noise_give_no_transcript() {
    let Some(model) = common::model() else { return };
    let (worker, rx) = SpeechWorker::start(WorkerConfig::new(model), None, None).unwrap();
    worker
        .feed_samples(1, vec![0.0; 16_000 * 30], false)
        .unwrap();
    let mut x = 12345u32;
    let noise: Vec<f32> = (0..16_000 * 600)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            0.1 * ((x as f32 / u32::MAX as f32) * 2.0 - 1.0)
        })
        .collect();
    worker.feed_samples(2, noise, false).unwrap();
    let mut ended = 0;
    let mut segments = Vec::new();
    while ended < 2 {
        match rx
            .recv_timeout(std::time::Duration::from_secs(600))
            .unwrap()
        {
            SpeechEvent::LineEnded { .. } => ended += 1,
            SpeechEvent::Segment { text, .. } => segments.push(text),
            _ => {}
        }
    }
    assert!(segments.is_empty(), "{segments:?}");
    worker.shutdown();
}

#[test]
fn every_utterance_gets_its_final_even_when_partials_pile_up() {
    let Some(model) = common::model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("en.wav");
    synth::english_clip(
        "Please call the city service hotline tomorrow morning.",
        &wav,
    )
    .unwrap();
    let clip = audio::read_wav_16k_mono(&wav).unwrap();
    let mut samples = vec![0.0f32; 8000];
    for _ in 0..3 {
        samples.extend(&clip);
        samples.extend(vec![0.0f32; 16_000]);
    }
    let mut config = WorkerConfig::new(model);
    config.options.language = Some("en".into());
    config.vad.partial_every_s = Some(0.3); // far more partials than whisper can do
    let (worker, rx) = SpeechWorker::start(config, None, None).unwrap();
    worker.feed_samples(1, samples, false).unwrap();
    let events = common::collect_until_end(&rx);
    let finals: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            SpeechEvent::Segment {
                text,
                is_final: true,
                ..
            } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(finals.len(), 3, "{events:#?}");
    for f in finals {
        let f = f.to_lowercase();
        assert!(
            f.contains("call the city service") && f.contains("morning"),
            "{f}"
        );
    }
    eprintln!(
        "partials done {}, dropped {}",
        worker
            .stats()
            .partials
            .load(std::sync::atomic::Ordering::Relaxed),
        worker
            .stats()
            .partials_dropped
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    worker.shutdown();
}

/// Leaving a show: `abort` must return while the engine still holds the
/// line's producer and a backlog of speech is queued (`shutdown` would wait
/// for the line to end and transcribe every queued utterance first).
#[test]
fn abort_returns_with_the_line_still_open_and_a_backlog_queued() {
    let Some(model) = common::model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("en.wav");
    synth::english_clip("Please call the city service hotline tomorrow.", &wav).unwrap();
    let clip = audio::read_wav_16k_mono(&wav).unwrap();
    let mut samples = Vec::new();
    for _ in 0..6 {
        samples.extend(&clip);
        samples.extend(vec![0.0f32; 12_000]);
    }
    let (worker, rx) = SpeechWorker::start(WorkerConfig::new(model), None, None).unwrap();
    // The line stays open: the producer is kept, as a running engine would.
    let (mut producer, consumer) = rtrb::RingBuffer::<f32>::new(samples.len() + 1);
    for s in &samples {
        producer.push(*s).unwrap();
    }
    worker.add_line(1, consumer).unwrap();
    // Wait until whisper has produced something from the backlog.
    loop {
        let ev = rx
            .recv_timeout(std::time::Duration::from_secs(300))
            .expect("a first segment");
        if matches!(ev, SpeechEvent::Segment { .. }) {
            break;
        }
    }
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        worker.abort();
        let _ = done_tx.send(());
    });
    // A hang guard, not a timing target: `shutdown` here would never return.
    done_rx
        .recv_timeout(std::time::Duration::from_secs(300))
        .expect("abort returned");
    // No line-ended event: the line was abandoned, not finished.
    let events: Vec<_> = rx.try_iter().collect();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, SpeechEvent::LineEnded { .. })),
        "{events:?}"
    );
    drop(producer);
}
