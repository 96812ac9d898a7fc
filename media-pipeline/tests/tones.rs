#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! Tone tests in the manner of gst-plugins-rs' minus1mixer test: three
//! callers at distinct frequencies go through a scripted show; the rendered
//! program, cue and mix-minus files are checked by spectrum (Goertzel).

use std::path::Path;

use airbridge_media::dsp::goertzel_power;
use airbridge_media::render::{RenderOptions, Scenario, render};

mod common;
use common::write_scenario;

const RATE: u32 = 48_000;
const HOST: f32 = 200.0;
const TALKBACK: f32 = 300.0;
const C1: f32 = 500.0;
const C2: f32 = 700.0;
const C3: f32 = 1100.0;
const HOLD: f32 = common::HOLD;

fn read(path: &Path) -> Vec<f32> {
    hound::WavReader::open(path)
        .unwrap()
        .into_samples::<f32>()
        .map(Result::unwrap)
        .collect()
}

/// The window [from, to) seconds, skipping 100 ms after a change.
fn window(s: &[f32], from: f64, to: f64) -> &[f32] {
    let a = ((from + 0.1) * f64::from(RATE)) as usize;
    let b = (to * f64::from(RATE)) as usize;
    &s[a..b]
}

#[track_caller]
fn check(name: &str, s: &[f32], present: &[f32], absent: &[f32]) {
    for &f in present {
        let p = goertzel_power(s, RATE, f);
        assert!(p > 1e-3, "{name}: {f} Hz should be present (power {p:e})");
    }
    for &f in absent {
        let p = goertzel_power(s, RATE, f);
        assert!(p < 1e-6, "{name}: {f} Hz should be absent (power {p:e})");
    }
}

#[test]
fn program_cue_and_mix_minus_carry_the_right_callers() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(dir.path());
    let (sc, base) = Scenario::load(&path).unwrap();
    let out = dir.path().join("out");
    let report = render(&sc, &base, &out, &RenderOptions::default()).unwrap();
    assert_eq!(report.blocks, 600);
    assert_eq!(report.files.len(), 5);

    let program = read(&out.join("program.wav"));
    let cue = read(&out.join("cue.wav"));
    let mm: Vec<Vec<f32>> = (1..=3)
        .map(|i| read(&out.join(format!("mix-minus-line{i}.wav"))))
        .collect();
    assert_eq!(program.len(), 6 * RATE as usize);
    assert!(mm.iter().all(|m| m.len() == program.len()));

    // 0-2 s: 1 and 2 on air, 3 screening
    let (a, b) = (0.0, 2.0);
    check(
        "program",
        window(&program, a, b),
        &[HOST, C1, C2],
        &[C3, TALKBACK, HOLD],
    );
    check("cue", window(&cue, a, b), &[C3], &[C1, C2, HOST, HOLD]);
    check(
        "mix-minus 1",
        window(&mm[0], a, b),
        &[HOST, C2],
        &[C1, C3, HOLD],
    );
    check(
        "mix-minus 2",
        window(&mm[1], a, b),
        &[HOST, C1],
        &[C2, C3, HOLD],
    );
    check(
        "mix-minus 3 (screened)",
        window(&mm[2], a, b),
        &[TALKBACK],
        &[HOST, C1, C2, C3, HOLD],
    );

    // 2-4 s: 3 on hold with hold audio
    let (a, b) = (2.0, 4.0);
    check(
        "program",
        window(&program, a, b),
        &[HOST, C1, C2],
        &[C3, HOLD],
    );
    check("cue", window(&cue, a, b), &[], &[C1, C2, C3, HOLD]);
    check(
        "mix-minus 1",
        window(&mm[0], a, b),
        &[HOST, C2],
        &[C1, C3, HOLD],
    );
    check(
        "mix-minus 2",
        window(&mm[1], a, b),
        &[HOST, C1],
        &[C2, C3, HOLD],
    );
    check(
        "mix-minus 3 (hold)",
        window(&mm[2], a, b),
        &[HOLD],
        &[HOST, C1, C2, C3, TALKBACK],
    );

    // 4-6 s: 2 on hold hearing program
    let (a, b) = (4.0, 6.0);
    check(
        "program",
        window(&program, a, b),
        &[HOST, C1],
        &[C2, C3, HOLD],
    );
    check(
        "mix-minus 1",
        window(&mm[0], a, b),
        &[HOST],
        &[C1, C2, C3, HOLD],
    );
    check(
        "mix-minus 2 (hold: program)",
        window(&mm[1], a, b),
        &[HOST, C1],
        &[C2, C3, HOLD],
    );
    check(
        "mix-minus 3 (hold)",
        window(&mm[2], a, b),
        &[HOLD],
        &[HOST, C1, C2, C3],
    );

    // no clipping on air
    assert!(program.iter().all(|x| x.abs() <= 0.966 + 1e-6));
    // line changes are reported in order
    let changes = report
        .events
        .iter()
        .filter(|e| matches!(e, airbridge_media::MediaEvent::LineState { .. }))
        .count();
    assert_eq!(changes, 12);
}

#[test]
fn limiter_keeps_a_hot_program_under_the_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let sc = r#"
duration_secs = 1.0
lines = 2
[[line]]
line = 1
tone_hz = 440.0
amplitude = 0.9
[[line]]
line = 2
tone_hz = 660.0
amplitude = 0.9
[[at]]
secs = 0.0
line = 1
gain = 2.0
state = "ringing"
"#;
    let mut steps = String::from(sc);
    for line in 1..=2 {
        for st in ["screening", "ready", "on_air"] {
            if line == 2 && st == "screening" {
                steps.push_str("[[at]]\nsecs = 0.0\nline = 2\nstate = \"ringing\"\n");
            }
            steps.push_str(&format!(
                "[[at]]\nsecs = 0.0\nline = {line}\nstate = \"{st}\"\n"
            ));
        }
    }
    let path = dir.path().join("hot.toml");
    std::fs::write(&path, steps).unwrap();
    let (sc, base) = Scenario::load(&path).unwrap();
    render(
        &sc,
        &base,
        &dir.path().join("out"),
        &RenderOptions::default(),
    )
    .unwrap();
    let program = read(&dir.path().join("out/program.wav"));
    let peak = program.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(peak <= 0.966 + 1e-6, "peak {peak}");
    assert!(
        peak > 0.9,
        "the limiter should not pump the level down: {peak}"
    );
    let mm1 = read(&dir.path().join("out/mix-minus-line1.wav"));
    assert!(mm1.iter().all(|x| x.abs() <= 0.966 + 1e-6));
    check("mix-minus 1", &mm1[4800..], &[660.0], &[440.0]);
}
