//! Soak of the live engine on the default output device (in tests and CI:
//! the paced PulseAudio null sink set up by `scripts/audio-test-setup.sh`):
//! 8 callers on air with tones, a speech tap per line drained by a reader
//! thread, program recorded to a WAV file. Prints callbacks, device xruns,
//! late callbacks (a callback more than two of its own periods after the
//! previous one) and blocks, every minute and at the end.
//!
//! Run: `cargo bench -p airbridge-media --bench soak -- 600 [BUFFER_FRAMES]`
//! (seconds; device buffer in frames, default 1920 = 40 ms, 0 = device default)

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use airbridge_media::LineState;
use airbridge_media::live::{Engine, EngineOptions};
use airbridge_media::record::Recorder;

fn main() {
    let nums: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let secs = u64::from(nums.first().copied().unwrap_or(600));
    // second number: device buffer in frames (0 = the device's default)
    let buffer_frames = match nums.get(1) {
        None => EngineOptions::default().buffer_frames,
        Some(0) => None,
        Some(&n) => Some(n),
    };
    let lines = 8u8;
    let engine = Engine::start(
        EngineOptions {
            lines: usize::from(lines),
            buffer_frames,
            ..EngineOptions::default()
        },
        None,
    )
    .unwrap();
    let mut taps = Vec::new();
    for line in 1..=lines {
        engine
            .play_tone(line, 200.0 + 100.0 * f32::from(line), 0.05)
            .unwrap();
        for s in [
            LineState::Ringing,
            LineState::Screening,
            LineState::Ready,
            LineState::OnAir,
        ] {
            engine.set_state(line, s).unwrap();
        }
        taps.push(engine.stt_tap(line).unwrap());
    }
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::start().unwrap();
    engine
        .with_controller(|c| recorder.record_program(c, dir.path(), "soak"))
        .unwrap();
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(1);
    let reader = std::thread::spawn(move || {
        let mut n = 0u64;
        loop {
            for t in &mut taps {
                let k = t.slots();
                t.read_chunk(k).unwrap().commit_all();
                n += k as u64;
            }
            match stop_rx.recv_timeout(Duration::from_millis(20)) {
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                _ => return n,
            }
        }
    });

    println!(
        "soak: {secs} s, {lines} lines on air, speech taps + program recording, device buffer {buffer_frames:?} frames"
    );
    let start = Instant::now();
    let (_tick_tx, tick) = crossbeam_channel::bounded::<()>(1);
    let mut next_report = 60;
    while start.elapsed() < Duration::from_secs(secs) {
        let _ = tick.recv_timeout(Duration::from_millis(500));
        let t = start.elapsed().as_secs();
        if t >= next_report {
            next_report += 60;
            let s = engine.driver_stats();
            println!(
                "  {t:>4} s: callbacks {} xruns {} late {} blocks {} on device {}",
                s.callbacks,
                s.xruns,
                s.late_callbacks,
                engine.meters().snapshot().blocks,
                s.on_device
            );
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let s = engine.driver_stats();
    let m = engine.meters().snapshot();
    drop(stop_tx);
    let speech_samples = reader.join().unwrap();
    drop(engine);
    let rec = recorder.finish().unwrap();
    println!(
        "done: {wall:.0} s wall, {} blocks ({:.1} s of audio), {} callbacks, {} xruns, {} late callbacks, \
         clock blocks {}, on device {}",
        m.blocks,
        m.blocks as f64 / 100.0,
        s.callbacks,
        s.xruns,
        s.late_callbacks,
        s.clock_blocks,
        s.on_device
    );
    println!(
        "speech taps read {speech_samples} samples ({:.1} s per line); program recorded {} frames",
        speech_samples as f64 / 16_000.0 / f64::from(lines),
        rec.first().map(|r| r.frames).unwrap_or(0)
    );
}
