#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::disallowed_methods)]
//! The broadcast delay, rendered and live: what goes out is program N
//! seconds later, a dump keeps the dumped seconds off the output for good,
//! and the delay rebuilds within the stated time.

use std::path::Path;
use std::time::{Duration, Instant};

use airbridge_media::core::{Input, TapPoint};
use airbridge_media::dsp::goertzel_power;
use airbridge_media::live::{Engine, EngineOptions};
use airbridge_media::render::{RenderOptions, Scenario, render};
use airbridge_media::source::Tone;
use airbridge_media::{DelayMode, LineState};

const RATE: usize = 48_000;
const BLOCK: usize = 480;
const FLAG_HZ: f32 = 1_000.0;

fn read(path: &Path) -> Vec<f32> {
    hound::WavReader::open(path)
        .unwrap()
        .into_samples::<f32>()
        .map(Result::unwrap)
        .collect()
}

/// Blocks of `s` in which `hz` is clearly present.
fn blocks_with(s: &[f32], hz: f32) -> Vec<usize> {
    s.chunks(BLOCK)
        .enumerate()
        .filter(|(_, b)| goertzel_power(b, RATE as u32, hz) > 1e-3)
        .map(|(i, _)| i)
        .collect()
}

const SCENARIO: &str = r#"
duration_secs = 12.0
lines = 1
delay_secs = 3.0

[host]
tone_hz = 300.0
amplitude = 0.2

[[line]]
line = 1
tone_hz = 1000.0
amplitude = 0.3

# the caller says something that must not go out, from 2 s to 4 s
[[at]]
secs = 0.0
line = 1
state = "ringing"
[[at]]
secs = 0.5
line = 1
state = "screening"
[[at]]
secs = 1.0
line = 1
state = "ready"
[[at]]
secs = 2.0
line = 1
state = "on_air"
[[at]]
secs = 4.0
line = 1
state = "hold"
# the producer dumps at 4.5 s: the newest 2.5 s (program 2.0–4.5 s) go
[[at]]
secs = 4.5
dump_secs = 2.5
"#;

#[test]
fn a_rendered_show_goes_out_delayed_and_the_dump_keeps_the_caller_off_air() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, SCENARIO).unwrap();
    let (sc, base) = Scenario::load(&path).unwrap();
    let out = dir.path().join("out");
    let report = render(&sc, &base, &out, &RenderOptions::default()).unwrap();
    assert!(report.files.iter().any(|f| f.ends_with("air.wav")));
    let program = read(&out.join("program.wav"));
    let air = read(&out.join("air.wav"));
    assert_eq!(program.len(), air.len());

    // the studio heard the caller
    let heard = blocks_with(&program, FLAG_HZ);
    assert!(
        heard.len() > 150,
        "{} blocks of the caller on program",
        heard.len()
    );
    // what goes out: 3 s of silence, then program exactly 3 s later
    assert!(air[..3 * RATE].iter().all(|&x| x == 0.0));
    for n in 3 * RATE..(4 * RATE + RATE / 2) {
        assert_eq!(air[n], program[n - 3 * RATE], "air sample {n}");
    }
    // the dumped seconds never reach the output file (one block of slack
    // for the crossfade at the cut)
    let aired = blocks_with(&air, FLAG_HZ);
    assert!(aired.len() <= 1, "the caller went out in blocks {aired:?}");
    // the host goes on after the cut (3 % slow while the delay rebuilds)
    let after = &air[5 * RATE..6 * RATE];
    assert!(blocks_with(after, 300.0).len() > 95);
    // the journal-side events: one dump of 2.5 s (±1 block), then building
    let dumped: Vec<_> = report
        .events
        .iter()
        .filter_map(|e| match e {
            airbridge_media::MediaEvent::Audio(
                airbridge_media::core::AudioEvent::DelayDumped { ms },
            ) => Some(*ms),
            _ => None,
        })
        .collect();
    assert_eq!(dumped.len(), 1);
    assert!((2490..=2510).contains(&dumped[0]), "{dumped:?}");
}

#[test]
fn scenario_checks_refuse_a_dump_without_a_delay_and_a_delay_too_long() {
    let dir = tempfile::tempdir().unwrap();
    for (text, want) in [
        (
            "duration_secs = 1.0\nlines = 1\n[[at]]\nsecs = 0.5\ndump = true\n",
            "needs delay_secs",
        ),
        (
            "duration_secs = 1.0\nlines = 1\ndelay_secs = 41.0\n",
            "delay_secs 41 must be 0 to 40",
        ),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let err = Scenario::load(&path).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
}

fn drain(rx: &mut rtrb::Consumer<f32>, into: &mut Vec<f32>) {
    while let Ok(x) = rx.pop() {
        into.push(x);
    }
}

/// What the program and air taps delivered so far.
struct Taps {
    prog_rx: rtrb::Consumer<f32>,
    air_rx: rtrb::Consumer<f32>,
    prog: Vec<f32>,
    air: Vec<f32>,
}

impl Taps {
    /// Keeps both taps drained for `ms` milliseconds.
    fn pump(&mut self, ms: u64) {
        let until = Instant::now() + Duration::from_millis(ms);
        while Instant::now() < until {
            drain(&mut self.prog_rx, &mut self.prog);
            drain(&mut self.air_rx, &mut self.air);
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn first_block_with(s: &[f32], hz: f32) -> Option<usize> {
    blocks_with(s, hz).first().copied()
}

#[test]
fn the_live_engine_delays_air_by_n_seconds_and_a_dump_clears_it() {
    let engine = Engine::start(
        EngineOptions {
            lines: 1,
            no_device: true,
            delay_ms: 1_000,
            ..EngineOptions::default()
        },
        None,
    )
    .unwrap();
    assert_eq!(engine.delay().mode, DelayMode::Full);
    assert_eq!(engine.delay().target_ms, 1_000);
    let mut taps = Taps {
        prog_rx: engine.add_tap(TapPoint::Program, 10.0).unwrap().1,
        air_rx: engine.add_tap(TapPoint::Air, 10.0).unwrap().1,
        prog: Vec::new(),
        air: Vec::new(),
    };
    taps.pump(300);

    // 1) a 500 Hz word from the host: on air 1 s later (±1 block)
    engine
        .set_source(Input::Host, Box::new(Tone::new(48_000, 500.0, 0.3)))
        .unwrap();
    taps.pump(300);
    engine
        .with_controller(|c| c.clear_source(Input::Host))
        .unwrap();
    taps.pump(1_500);
    let p = first_block_with(&taps.prog, 500.0).unwrap();
    let a = first_block_with(&taps.air, 500.0).unwrap();
    let offset = a as i64 - p as i64;
    // the two taps may have opened one block apart
    assert!(
        (99..=101).contains(&offset),
        "air is {offset} blocks behind program"
    );

    // 2) a 1000 Hz word, dumped before it goes out
    engine
        .set_source(Input::Host, Box::new(Tone::new(48_000, FLAG_HZ, 0.3)))
        .unwrap();
    taps.pump(300);
    engine
        .with_controller(|c| c.clear_source(Input::Host))
        .unwrap();
    taps.pump(100);
    engine.delay_dump(None).unwrap();
    taps.pump(1_500);
    assert!(
        !blocks_with(&taps.prog, FLAG_HZ).is_empty(),
        "the studio heard it"
    );
    let aired = blocks_with(&taps.air, FLAG_HZ);
    assert!(
        aired.len() <= 1,
        "dumped audio went out in blocks {aired:?}"
    );
    let d = engine.delay();
    assert_eq!(d.dumps, 1);
    assert_eq!(d.mode, DelayMode::Building);
    assert!(d.now_ms < 1_000);

    // 3) exit runs it down (silence is read at 1.5×), enter builds it back
    engine.delay_exit(true).unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while engine.delay().mode != DelayMode::Off && Instant::now() < until {
        taps.pump(20);
    }
    assert_eq!(engine.delay().mode, DelayMode::Off);
    assert_eq!(engine.delay().now_ms, 0);
    // a caller state change is unaffected by all this
    engine.set_state(1, LineState::Ringing).unwrap();
}

#[test]
fn an_engine_without_a_delay_refuses_a_dump_with_the_reason() {
    let engine = Engine::start(
        EngineOptions {
            lines: 1,
            no_device: true,
            ..EngineOptions::default()
        },
        None,
    )
    .unwrap();
    let err = engine.delay_dump(None).unwrap_err().to_string();
    assert!(err.contains("no broadcast delay is configured"), "{err}");
    assert!(!engine.delay().configured());
}
