#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! A caller's words, from the network to text. An RTP call of a spoken
//! sentence (Opus as from a VoIP client, G.711 µ-law as from a phone
//! gateway; real GStreamer pipelines on 127.0.0.1) reaches a line of the
//! audio engine while the hotline operator screens it; the engine's 16 kHz
//! speech tap feeds the speech worker, which must write the sentence down.
//!
//! Needs the speech model (`AIRBRIDGE_MODEL`; `AIRBRIDGE_REQUIRE_MODEL=1`
//! makes a missing one a failure, as in CI).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use airbridge_media::gst::{NetSource, free_udp_port, open_source, rtp_file_sender};
use airbridge_media::{LineState, MixerConfig, build};
use airbridge_speech::{SpeechEvent, SpeechWorker, WorkerConfig, synth};

fn model() -> Option<PathBuf> {
    let required = std::env::var("AIRBRIDGE_REQUIRE_MODEL").is_ok_and(|v| v == "1");
    let path = std::env::var_os("AIRBRIDGE_MODEL").map(PathBuf::from);
    if let Some(p) = path.filter(|p| airbridge_models::check(p).is_ready()) {
        return Some(p);
    }
    assert!(
        !required,
        "speech model required (AIRBRIDGE_REQUIRE_MODEL=1): set AIRBRIDGE_MODEL (scripts/test.sh does)"
    );
    eprintln!("SKIPPED: no speech model; set AIRBRIDGE_MODEL (see scripts/test.sh)");
    None
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[test]
fn a_screened_voip_caller_is_transcribed_from_the_engines_speech_tap() {
    caller_is_transcribed("opus", |port| NetSource::RtpOpus { port });
}

/// A phone call through a G.711 gateway: 8 kHz narrowband audio, as the
/// hotline's lines really sound.
#[test]
fn a_screened_phone_caller_is_transcribed_from_the_engines_speech_tap() {
    caller_is_transcribed("pcmu", |port| NetSource::RtpPcmu { port });
}

fn caller_is_transcribed(codec: &str, source: impl Fn(u16) -> NetSource) {
    let Some(model) = model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sentence = "I would like to renew my social security card.";
    let wav = dir.path().join("caller.wav");
    synth::english_clip(sentence, &wav).unwrap();

    // The engine: one caller line fed by an RTP/Opus stream, in screening
    // (not on air: the speech tap takes the raw line, whatever its state).
    let parts = build(MixerConfig::new(2)).unwrap();
    let (mut ctl, mut core) = (parts.controller, parts.core);
    let port = free_udp_port().unwrap();
    let (pipe, src) =
        open_source(&source(port), 48_000, "line1", Some(ctl.notice_sender())).unwrap();
    ctl.set_line_source(1, Box::new(src)).unwrap();
    ctl.set_state(1, LineState::Ringing).unwrap();
    ctl.set_state(1, LineState::Screening).unwrap();

    let mut config = WorkerConfig::new(model);
    config.options.language = Some("en".into());
    let (worker, results) = SpeechWorker::start(config, None, None).unwrap();
    let (tap, consumer) = ctl.stt_tap(1).unwrap();
    worker.add_line(1, consumer).unwrap();

    // The caller speaks; the engine runs in real time (one 10 ms block at a
    // time) until the worker has a final text, for at most 60 s.
    let sender = rtp_file_sender(port, &wav, codec).unwrap();
    let (_never, wait) = crossbeam_channel::bounded::<()>(1);
    let start = Instant::now();
    let mut next = start;
    let mut finals = Vec::new();
    // Partials are best effort (dropped when whisper is behind): counted,
    // not required.
    let mut partials = 0;
    while finals.is_empty() && start.elapsed() < Duration::from_secs(60) {
        next += Duration::from_millis(10);
        let _ = wait.recv_timeout(next.saturating_duration_since(Instant::now()));
        core.process_block();
        for ev in results.try_iter() {
            match ev {
                SpeechEvent::Segment {
                    line,
                    text,
                    is_final,
                    start_ms,
                    end_ms,
                    ..
                } => {
                    assert_eq!(line, 1);
                    if is_final {
                        finals.push((text, start_ms, end_ms));
                    } else {
                        partials += 1;
                    }
                }
                SpeechEvent::Health {
                    ok: false, detail, ..
                } => eprintln!("speech: {detail}"),
                _ => {}
            }
        }
    }
    drop(sender);
    // The call ends: the tap closes and the worker finishes the line.
    ctl.remove_tap(tap).unwrap();
    core.process_block();
    ctl.collect_garbage(); // the tap's writer is dropped here, off the audio thread
    let ended = std::iter::from_fn(|| results.recv_timeout(Duration::from_secs(30)).ok())
        .any(|ev| matches!(ev, SpeechEvent::LineEnded { line: 1 }));
    eprintln!("{codec}: finals {finals:?}, {partials} partials");
    worker.shutdown();
    drop(pipe);

    assert!(ended, "the worker ends the line when the call's tap closes");
    assert_eq!(finals.len(), 1, "one sentence, one final: {finals:?}");
    let (text, start_ms, end_ms) = &finals[0];
    assert_eq!(words(text), words(sentence), "heard {text:?}");
    // Timestamps are on the line's own clock: the sentence lasts ~3 s.
    assert!(
        end_ms > start_ms && end_ms - start_ms >= 2000,
        "{start_ms}..{end_ms}"
    );
}
