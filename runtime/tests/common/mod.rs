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
