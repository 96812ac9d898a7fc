#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! The live engine on real cpal streams. Needs the sound setup made by
//! `scripts/audio-test-setup.sh` (PulseAudio null sink behind ALSA's
//! default device); `scripts/test.sh` runs it and sets
//! `AIRBRIDGE_REQUIRE_AUDIO=1`, so there a missing device fails the test.
//! Elsewhere, without a device, these tests say so and pass.

use std::time::{Duration, Instant};

use airbridge_media::dsp::goertzel_power;
use airbridge_media::live::{Engine, EngineOptions};
use airbridge_media::{LineState, MediaError};
use airbridge_show::{Journal, ShowEvent};

fn start(opts: EngineOptions, journal: Option<Journal>) -> Option<Engine> {
    match Engine::start(opts, journal) {
        Ok(e) => Some(e),
        Err(e @ MediaError::Device(_)) => {
            assert!(
                std::env::var_os("AIRBRIDGE_REQUIRE_AUDIO").is_none(),
                "no sound device ({e}); run scripts/audio-test-setup.sh"
            );
            eprintln!("skipped: no sound device ({e}); run scripts/audio-test-setup.sh");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// Waits (up to a generous limit) until `cond` holds.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let limit = Instant::now() + Duration::from_secs(20);
    let (_tx, rx) = crossbeam_channel::bounded::<()>(1);
    while !cond() {
        assert!(Instant::now() < limit, "timed out waiting for {what}");
        let _ = rx.recv_timeout(Duration::from_millis(20));
    }
}

fn on_air(engine: &Engine, line: u8) {
    for s in [
        LineState::Ringing,
        LineState::Screening,
        LineState::Ready,
        LineState::OnAir,
    ] {
        engine.set_state(line, s).unwrap();
    }
}

fn drain(rx: &mut rtrb::Consumer<f32>, into: &mut Vec<f32>) {
    while let Ok(x) = rx.pop() {
        into.push(x);
    }
}

#[test]
fn cpal_streams_run_and_a_looped_tone_comes_back_through_the_device() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("show.db")).unwrap();
    let opts = EngineOptions {
        lines: 2,
        ..EngineOptions::default()
    };
    let Some(engine) = start(opts, Some(journal.clone())) else {
        return;
    };
    // line 1: a 500 Hz tone on air → program → default output (null sink)
    engine.play_tone(1, 500.0, 0.3).unwrap();
    on_air(&engine, 1);
    // line 2: the default input (the null sink's monitor) → speech tap
    let name = engine.add_input_line(2, None, 0).unwrap();
    eprintln!("input device: {name}");
    let mut speech = engine.stt_tap(2).unwrap();
    engine.set_state(2, LineState::Ringing).unwrap();

    wait_for("output callbacks", || engine.driver_stats().callbacks > 20);
    let mut heard = Vec::new();
    wait_for("the tone back at line 2", || {
        drain(&mut speech, &mut heard);
        heard.len() >= 16_000 && {
            let tail = &heard[heard.len() - 8000..];
            goertzel_power(tail, 16_000, 500.0) > 1e-3
        }
    });
    let stats = engine.driver_stats();
    assert!(stats.on_device);
    let m = engine.meters().snapshot();
    assert!(m.blocks > 0);
    assert!(m.program.peak > 0.2, "{m:?}");
    assert!(m.momentary_lufs.is_finite());
    drop(engine);

    let events: Vec<ShowEvent> = journal
        .replay(1)
        .unwrap()
        .map(|e| e.unwrap().event)
        .collect();
    assert!(events.iter().any(|e| matches!(e,
        ShowEvent::Health { component, ok: true, detail } if component == "audio/output" && detail.starts_with("playing on"))));
    let changes = events
        .iter()
        .filter(|e| matches!(e, ShowEvent::LineStateChanged { .. }))
        .count();
    assert_eq!(changes, 5);
}

#[test]
fn without_a_device_the_engine_runs_on_its_clock() {
    let engine = Engine::start(
        EngineOptions {
            lines: 1,
            no_device: true,
            ..EngineOptions::default()
        },
        None,
    )
    .unwrap();
    engine.play_tone(1, 440.0, 0.2).unwrap();
    on_air(&engine, 1);
    let mut rx = engine.stt_tap(1).unwrap();
    let mut got = Vec::new();
    wait_for("clock blocks", || {
        drain(&mut rx, &mut got);
        got.len() >= 3200
    });
    let stats = engine.driver_stats();
    assert!(!stats.on_device);
    assert!(stats.clock_blocks >= 20);
    assert!(engine.meters().snapshot().program.peak > 0.1);
}

#[test]
fn a_missing_output_device_is_a_clear_error() {
    let err = Engine::start(
        EngineOptions {
            lines: 1,
            output_device: Some("no-such-card-xyz".into()),
            ..EngineOptions::default()
        },
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no-such-card-xyz"), "{err}");
}
