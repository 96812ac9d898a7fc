#![allow(clippy::unwrap_used, dead_code)]
//! Shared by the media tests: the three-caller scenario of the tone and
//! recording tests, and putting a line on air through the state machine.

use std::path::Path;

/// Frequency of the hold-music tone.
pub const HOLD: f32 = 1500.0;

pub const SCENARIO: &str = r#"
duration_secs = 6.0
lines = 3

[host]
tone_hz = 200.0
amplitude = 0.1
[talkback]
tone_hz = 300.0
amplitude = 0.1
[hold]
file = "hold.wav"

[[line]]
line = 1
tone_hz = 500.0
amplitude = 0.2
call_ref = 41
[[line]]
line = 2
tone_hz = 700.0
amplitude = 0.2
call_ref = 42
[[line]]
line = 3
tone_hz = 1100.0
amplitude = 0.2
call_ref = 43

# 0-2 s: callers 1 and 2 on air, caller 3 being screened
[[at]]
secs = 0.0
line = 1
state = "ringing"
[[at]]
secs = 0.0
line = 1
state = "screening"
[[at]]
secs = 0.0
line = 1
state = "ready"
[[at]]
secs = 0.0
line = 1
state = "on_air"
[[at]]
secs = 0.0
line = 2
state = "ringing"
[[at]]
secs = 0.0
line = 2
state = "screening"
[[at]]
secs = 0.0
line = 2
state = "ready"
[[at]]
secs = 0.0
line = 2
state = "on_air"
[[at]]
secs = 0.0
line = 3
state = "ringing"
[[at]]
secs = 0.0
line = 3
state = "screening"

# 2-4 s: caller 3 on hold (hold audio)
[[at]]
secs = 2.0
line = 3
state = "hold"

# 4-6 s: caller 2 off air to hold, hearing program
[[at]]
secs = 4.0
line = 2
hold_feed = "program"
state = "hold"
"#;

/// Writes the scenario and a hold-music WAV (a 1500 Hz tone) into `dir`.
pub fn write_scenario(dir: &Path) -> std::path::PathBuf {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100, // differs from the engine: resampled on load
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(dir.join("hold.wav"), spec).unwrap();
    for i in 0..44_100 / 2 {
        let v = (0.2 * (2.0 * std::f32::consts::PI * HOLD * i as f32 / 44_100.0).sin() * 32767.0)
            as i16;
        w.write_sample(v).unwrap();
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    let path = dir.join("scenario.toml");
    std::fs::write(&path, SCENARIO).unwrap();
    path
}

/// Ringing → screening → ready → on air, as a producer would.
pub fn on_air(ctl: &mut airbridge_media::Controller, line: u8) {
    use airbridge_media::LineState;
    for s in [
        LineState::Ringing,
        LineState::Screening,
        LineState::Ready,
        LineState::OnAir,
    ] {
        ctl.set_state(line, s).unwrap();
    }
}
