#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! Sources and taps through the engine core: the 16 kHz speech tap, a file
//! caller that plays once, a network-like source that stops, and bad input
//! (not audio, unsupported formats) with clear messages while the program
//! keeps going.

mod common;

use airbridge_media::core::{AudioEvent, Input, TapPoint};
use airbridge_media::dsp::goertzel_power;
use airbridge_media::render::{RenderOptions, Scenario, render};
use airbridge_media::source::{Clip, RingSource, Tone};
use airbridge_media::{LineState, MediaError, MediaEvent, MixerConfig, build};
use common::on_air;

#[test]
fn speech_tap_delivers_16k_mono_of_the_raw_line() {
    let p = build(MixerConfig::new(2)).unwrap();
    let (mut ctl, mut core) = (p.controller, p.core);
    ctl.set_line_source(2, Box::new(Tone::new(48_000, 1000.0, 0.3)))
        .unwrap();
    let (_id, mut rx) = ctl.stt_tap(2).unwrap();
    // muted and not on air: the speech worker still hears the caller
    ctl.set_mute(2, true).unwrap();
    ctl.set_state(2, LineState::Ringing).unwrap();
    for _ in 0..100 {
        core.process_block();
    }
    assert_eq!(rx.slots(), 100 * 160, "1 s at 16 kHz");
    let mut got = Vec::new();
    while let Ok(x) = rx.pop() {
        got.push(x);
    }
    assert!(goertzel_power(&got[800..], 16_000, 1000.0) > 0.01);
    assert!(goertzel_power(&got[800..], 16_000, 3000.0) < 1e-5);
    // nothing of it reaches program (muted, and not on air)
    assert!(core.mixer().program().iter().all(|&x| x == 0.0));
}

#[test]
fn speech_tap_needs_a_multiple_of_16k() {
    let mut cfg = MixerConfig::new(1);
    cfg.sample_rate = 44_100;
    cfg.block_frames = 441;
    let mut ctl = build(cfg).unwrap().controller;
    let err = ctl.stt_tap(1).unwrap_err();
    assert!(err.to_string().contains("multiple of 16000"), "{err}");
}

#[test]
fn unsupported_engine_shapes_are_refused() {
    for (rate, block, lines, want) in [
        (4_000, 40, 2, "sample rate"),
        (48_000, 0, 2, "block"),
        (48_000, 480, 0, "caller lines"),
    ] {
        let cfg = MixerConfig {
            sample_rate: rate,
            block_frames: block,
            lines,
            limiter_ceiling: 0.9,
            delay_ms: 0,
        };
        let err = build(cfg).unwrap_err();
        assert!(err.to_string().contains(want), "{err}");
    }
}

#[test]
fn a_stream_that_stops_is_reported_and_the_program_continues() {
    let p = build(MixerConfig::new(2)).unwrap();
    let (mut ctl, mut core, mut feed) = (p.controller, p.core, p.events);
    let (mut tx, rx) = rtrb::RingBuffer::new(48_000);
    ctl.set_line_source(1, Box::new(RingSource::new(rx)))
        .unwrap();
    ctl.set_line_source(2, Box::new(Tone::new(48_000, 700.0, 0.2)))
        .unwrap();
    on_air(&mut ctl, 1);
    on_air(&mut ctl, 2);
    // the network caller sends 0.2 s of audio, then goes quiet (socket still open)
    for i in 0..9600 {
        tx.push(0.2 * (i as f32 * 0.05).sin()).unwrap();
    }
    let mut events = Vec::new();
    let mut program = Vec::new();
    for _ in 0..100 {
        core.process_block();
        program.extend_from_slice(core.mixer().program());
        feed.drain(|e| events.push(e));
    }
    let stalled = MediaEvent::Audio(AudioEvent::SourceStalled(Input::Line(0)));
    assert!(events.contains(&stalled), "{events:?}");
    let show = stalled.to_show_event().unwrap();
    match show {
        airbridge_show::ShowEvent::Health {
            component,
            ok,
            detail,
        } => {
            assert_eq!(component, "audio/line1");
            assert!(!ok);
            assert!(detail.contains("continues"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // the other caller is still on program after the stall
    assert!(goertzel_power(&program[36_000..], 48_000, 700.0) > 0.005);
    // audio flows again
    for _ in 0..4800 {
        tx.push(0.1).unwrap();
    }
    core.process_block();
    feed.drain(|e| events.push(e));
    assert!(
        events.contains(&MediaEvent::Audio(AudioEvent::SourceRecovered(
            Input::Line(0)
        )))
    );
    // the sender hangs up: ended once
    drop(tx);
    for _ in 0..20 {
        core.process_block();
    }
    feed.drain(|e| events.push(e));
    let ended = MediaEvent::Audio(AudioEvent::SourceEnded(Input::Line(0)));
    assert_eq!(events.iter().filter(|e| **e == ended).count(), 1);
}

#[test]
fn a_wav_caller_plays_once_then_reports_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("caller.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for i in 0..8_000 {
        let v = 0.3 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 16_000.0).sin();
        w.write_sample((v * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
    let clip = Clip::from_wav(&path, 48_000, false).unwrap();
    assert_eq!(clip.len(), 24_000, "0.5 s resampled to 48 kHz");

    let p = build(MixerConfig::new(1)).unwrap();
    let (mut ctl, mut core, mut feed) = (p.controller, p.core, p.events);
    ctl.set_line_source(1, Box::new(clip)).unwrap();
    let (_, mut speech) = ctl.stt_tap(1).unwrap();
    on_air(&mut ctl, 1);
    let mut events = Vec::new();
    let mut program = Vec::new();
    for _ in 0..80 {
        core.process_block();
        program.extend_from_slice(core.mixer().program());
        feed.drain(|e| events.push(e));
    }
    assert!(goertzel_power(&program[4800..24_000], 48_000, 440.0) > 0.01);
    assert!(program[25_000..].iter().all(|&x| x == 0.0));
    assert!(events.contains(&MediaEvent::Audio(AudioEvent::SourceEnded(Input::Line(0)))));
    assert_eq!(speech.slots(), 80 * 160);
    let mut s = Vec::new();
    while let Ok(x) = speech.pop() {
        s.push(x);
    }
    assert!(goertzel_power(&s[100..7_900], 16_000, 440.0) > 0.01);
}

#[test]
fn bad_files_give_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.wav");
    std::fs::write(&text, "这不是音频 / this is not audio").unwrap();
    let err = Clip::from_wav(&text, 48_000, false).unwrap_err();
    assert!(matches!(err, MediaError::BadAudio { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("notes.wav") && msg.contains("not a WAV file"),
        "{msg}"
    );

    let missing = Clip::from_wav(&dir.path().join("nope.wav"), 48_000, false).unwrap_err();
    assert!(missing.to_string().contains("nope.wav"));

    for (channels, rate, want) in [
        (12, 48_000, "channel count 12"),
        (1, 4_000, "sample rate 4000"),
    ] {
        let p = dir.path().join(format!("odd-{channels}-{rate}.wav"));
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&p, spec).unwrap();
        for _ in 0..u32::from(channels) * 100 {
            w.write_sample(0i16).unwrap();
        }
        w.finalize().unwrap();
        let err = Clip::from_wav(&p, 48_000, false).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn bad_scenarios_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("lines = 2\n", "duration_secs"),
        (
            "duration_secs = 1.0\nlines = 2\n[[line]]\nline = 3\ntone_hz = 100.0\n",
            "lines are 1 to 2",
        ),
        (
            "duration_secs = 1.0\nlines = 1\n[[at]]\nsecs = 0.0\nline = 1\nstate = \"on_air\"\n",
            "no call on this line",
        ),
        (
            "duration_secs = 1.0\nlines = 1\n[[line]]\nline = 1\nfile = \"missing.wav\"\n",
            "missing.wav",
        ),
        (
            "duration_secs = 1.0\nlines = 1\nvolume = 3\n",
            "unknown field",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let err = Scenario::load(&path).and_then(|(sc, base)| {
            render(
                &sc,
                &base,
                &dir.path().join("out"),
                &RenderOptions::default(),
            )
        });
        let msg = err.unwrap_err().to_string();
        assert!(msg.contains(want), "case {i}: {msg}");
    }
}

#[test]
fn taps_on_every_point_deliver_blocks() {
    let p = build(MixerConfig::new(2)).unwrap();
    let (mut ctl, mut core) = (p.controller, p.core);
    ctl.set_line_source(1, Box::new(Tone::new(48_000, 500.0, 0.2)))
        .unwrap();
    on_air(&mut ctl, 1);
    let mut rings = Vec::new();
    for point in [
        TapPoint::Program,
        TapPoint::Cue,
        TapPoint::MixMinus(0),
        TapPoint::Call(1),
    ] {
        rings.push((point, ctl.add_tap(point, 1.0).unwrap()));
    }
    assert!(ctl.add_tap(TapPoint::MixMinus(2), 1.0).is_err());
    for _ in 0..10 {
        core.process_block();
    }
    for (point, (id, rx)) in &rings {
        let per_block = if matches!(point, TapPoint::Call(_)) {
            960
        } else {
            480
        };
        assert_eq!(rx.slots(), 10 * per_block, "{point:?}");
        ctl.remove_tap(*id).unwrap();
    }
    core.process_block();
    ctl.collect_garbage();
    assert!(rings.iter().all(|(_, (_, rx))| rx.is_abandoned()));
}
