#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! Device loss on the live engine: the PulseAudio null sink behind ALSA's
//! default device (set up by `scripts/audio-test-setup.sh`) is suspended
//! under the running engine. The engine must report `audio/output` lost in
//! the journal, keep the show going on its internal clock (the speech tap
//! keeps flowing), and come back to the device when it returns.
//! Its own test binary: it disturbs the shared null sink.

use std::process::Command;
use std::time::{Duration, Instant};

use airbridge_media::live::{Engine, EngineOptions};
use airbridge_media::{LineState, MediaError};
use airbridge_show::{Journal, ShowEvent};

fn pactl(args: &[&str]) -> bool {
    Command::new("pactl")
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let limit = Instant::now() + Duration::from_secs(30);
    let (_tx, rx) = crossbeam_channel::bounded::<()>(1);
    while !cond() {
        assert!(Instant::now() < limit, "timed out waiting for {what}");
        let _ = rx.recv_timeout(Duration::from_millis(50));
    }
}

fn health(journal: &Journal) -> Vec<(bool, String)> {
    journal
        .replay(1)
        .unwrap()
        .filter_map(|e| match e.unwrap().event {
            ShowEvent::Health {
                component,
                ok,
                detail,
            } if component == "audio/output" => Some((ok, detail)),
            _ => None,
        })
        .collect()
}

#[test]
fn output_device_loss_is_reported_and_survived() {
    let require = std::env::var_os("AIRBRIDGE_REQUIRE_AUDIO").is_some();
    if !pactl(&["info"]) {
        assert!(
            !require,
            "PulseAudio is not running; run scripts/audio-test-setup.sh"
        );
        eprintln!("skipped: PulseAudio is not running");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("show.db")).unwrap();
    let engine = match Engine::start(
        EngineOptions {
            lines: 1,
            ..EngineOptions::default()
        },
        Some(journal.clone()),
    ) {
        Ok(e) => e,
        Err(e @ MediaError::Device(_)) => {
            assert!(!require, "no sound device: {e}");
            eprintln!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    engine.play_tone(1, 440.0, 0.2).unwrap();
    engine.set_state(1, LineState::Ringing).unwrap();
    let mut speech = engine.stt_tap(1).unwrap();
    wait_for("callbacks", || engine.driver_stats().callbacks > 10);

    assert!(pactl(&["suspend-sink", "airbridge_null", "1"]));
    wait_for("the engine to leave the device", || {
        !engine.driver_stats().on_device
    });
    // the show goes on: speech keeps flowing on the internal clock
    while speech.pop().is_ok() {}
    wait_for("audio on the internal clock", || speech.slots() > 16_000);
    assert!(engine.driver_stats().clock_blocks > 0);

    assert!(pactl(&["suspend-sink", "airbridge_null", "0"]));
    wait_for("the device to come back", || {
        engine.driver_stats().on_device
    });
    drop(engine);

    let h = health(&journal);
    eprintln!("{h:?}");
    assert!(
        h.iter().any(|(ok, d)| !ok && d.contains("internal clock")),
        "{h:?}"
    );
    assert!(h.last().unwrap().0, "ends healthy: {h:?}");
}
