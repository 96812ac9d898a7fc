#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! Recording through taps and the writer thread: render a scenario while
//! recording, read the files back and compare them with the render.

mod common;

use std::path::Path;

use airbridge_media::render::{RenderOptions, Scenario, render};

fn read_f32(path: &Path) -> Vec<f32> {
    hound::WavReader::open(path)
        .unwrap()
        .into_samples::<f32>()
        .map(Result::unwrap)
        .collect()
}

fn read_i16(path: &Path) -> (hound::WavSpec, Vec<f32>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let s = r
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32767.0)
        .collect();
    (spec, s)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn recordings_match_the_render() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_scenario(dir.path());
    let (sc, base) = Scenario::load(&path).unwrap();
    let out = dir.path().join("out");
    let rec = dir.path().join("rec");
    let report = render(
        &sc,
        &base,
        &out,
        &RenderOptions {
            record_dir: Some(rec.clone()),
        },
    )
    .unwrap();
    assert_eq!(report.recorded.len(), 4, "{:?}", report.recorded);
    let tol = 1.0 / 32767.0;

    let program = read_f32(&out.join("program.wav"));
    let (spec, recorded) = read_i16(&rec.join("program-render.wav"));
    assert_eq!((spec.channels, spec.sample_rate), (1, 48_000));
    assert_eq!(recorded.len(), program.len());
    let d = max_diff(&program, &recorded);
    assert!(d <= tol, "program recording differs by {d}");

    // calls: file names carry the journal reference; right channel = what the caller heard
    for (line, call_ref) in [(1, 41), (2, 42), (3, 43)] {
        let file = rec.join(format!("call-{call_ref}-line{line}.wav"));
        let (spec, st) = read_i16(&file);
        assert_eq!(spec.channels, 2);
        let heard: Vec<f32> = st.chunks(2).map(|f| f[1]).collect();
        let caller: Vec<f32> = st.chunks(2).map(|f| f[0]).collect();
        let mm = read_f32(&out.join(format!("mix-minus-line{line}.wav")));
        let d = max_diff(&mm, &heard);
        assert!(d <= tol, "line {line}: return differs by {d}");
        // the caller's own voice (a 0.2 tone) is on the left, never silent
        let peak = caller.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!((peak - 0.2).abs() < 0.01, "line {line}: caller peak {peak}");
        let frames = report
            .recorded
            .iter()
            .find(|r| r.path == file)
            .unwrap()
            .frames;
        assert_eq!(frames as usize, program.len());
    }
}
