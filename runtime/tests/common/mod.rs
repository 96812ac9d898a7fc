//! Shared by the runtime tests: a rehearsal caller's WAV.
#![allow(dead_code, clippy::unwrap_used)]

/// One second of a 440 Hz tone, 48 kHz mono 16-bit: a rehearsal caller.
pub fn tone(path: &std::path::Path) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..48_000 {
        let x = 0.2 * (std::f32::consts::TAU * 440.0 * i as f32 / 48_000.0).sin();
        w.write_sample((x * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// The demo station running `studio` (a studio.toml's text, its files in
/// `dir`), without knowledge base or speech; `script` is played when given.
/// Returns the runtime and the station's paths.
pub fn station(
    dir: &std::path::Path,
    studio: &str,
    script: Option<std::path::PathBuf>,
) -> (airbridge_runtime::Runtime, airbridge_runtime::StationPaths) {
    let config = airbridge_configs::ConfigSet::embedded_demo().unwrap();
    let paths = airbridge_runtime::StationPaths::under(dir, &config);
    let studio =
        airbridge_configs::studio::parse_studio("studio.toml", studio, dir, config.show.lines);
    assert!(studio.issues.is_empty(), "{:?}", studio.issues);
    let rt = airbridge_runtime::Runtime::start(airbridge_runtime::RuntimeOptions {
        kb: airbridge_runtime::KbSource::None,
        speech: false,
        script,
        ..airbridge_runtime::RuntimeOptions::new(config, paths.clone(), studio)
    })
    .unwrap();
    (rt, paths)
}
