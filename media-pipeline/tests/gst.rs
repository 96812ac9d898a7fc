#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! GStreamer sources and sinks with real pipelines: RTP over 127.0.0.1
//! (an `audiotestsrc → encoder → rtp…pay → udpsink` sender into the
//! engine's `udpsrc` line), a file source, a file that is not audio, a
//! stream that stops, and the program written to a file through `appsrc`.

mod common;

use std::time::{Duration, Instant};

use airbridge_media::core::{AudioEvent, EventFeed, Input, TapPoint};
use airbridge_media::dsp::goertzel_power;
use airbridge_media::gst::{
    NetSink, NetSource, free_udp_port, open_sink, open_source, rtp_tone_sender,
};
use airbridge_media::source::Tone;
use airbridge_media::{Core, MediaEvent, MixerConfig, build};
use common::on_air;

/// Runs the core in real time (one block per 10 ms) until `done` says so
/// or a generous limit passes; returns the program and the events seen.
fn run_until(
    core: &mut Core,
    feed: &mut EventFeed,
    what: &str,
    mut done: impl FnMut(&[f32], &[MediaEvent]) -> bool,
) -> (Vec<f32>, Vec<MediaEvent>) {
    let (_tx, rx) = crossbeam_channel::bounded::<()>(1);
    let limit = Instant::now() + Duration::from_secs(20);
    let mut program = Vec::new();
    let mut events = Vec::new();
    let mut next = Instant::now();
    loop {
        next += Duration::from_millis(10);
        let _ = rx.recv_timeout(next.saturating_duration_since(Instant::now()));
        core.process_block();
        program.extend_from_slice(core.mixer().program());
        feed.drain(|e| events.push(e));
        if done(&program, &events) {
            return (program, events);
        }
        assert!(
            Instant::now() < limit,
            "timed out waiting for {what}; events: {events:?}"
        );
    }
}

fn tone_in_last(program: &[f32], secs: f32, freq: f32) -> f32 {
    let n = (48_000.0 * secs) as usize;
    if program.len() < n {
        return 0.0;
    }
    goertzel_power(&program[program.len() - n..], 48_000, freq)
}

fn rtp_tone_arrives(codec: &str, source: impl Fn(u16) -> NetSource, freq: f32) {
    let p = build(MixerConfig::new(2)).unwrap();
    let (mut ctl, mut core, mut feed) = (p.controller, p.core, p.events);
    let port = free_udp_port().unwrap();
    let (pipe, src) =
        open_source(&source(port), 48_000, "line1", Some(ctl.notice_sender())).unwrap();
    ctl.set_line_source(1, Box::new(src)).unwrap();
    ctl.set_line_source(2, Box::new(Tone::new(48_000, 300.0, 0.1)))
        .unwrap();
    on_air(&mut ctl, 1);
    on_air(&mut ctl, 2);
    let sender = rtp_tone_sender(port, freq, codec).unwrap();
    run_until(
        &mut core,
        &mut feed,
        &format!("the {codec} tone"),
        |prog, _| tone_in_last(prog, 0.5, freq) > 2e-3,
    );
    // the caller's stream stops: reported, and the program goes on
    drop(sender);
    let stalled = MediaEvent::Audio(AudioEvent::SourceStalled(Input::Line(0)));
    let (program, events) = run_until(&mut core, &mut feed, "the stall report", |_, ev| {
        ev.contains(&stalled)
    });
    assert!(events.contains(&stalled));
    assert!(
        tone_in_last(&program, 0.3, 300.0) > 1e-3,
        "the other caller is still on air"
    );
    assert!(tone_in_last(&program, 0.3, freq) < 1e-5);
    drop(pipe);
}

#[test]
fn rtp_opus_caller_reaches_program() {
    rtp_tone_arrives("opus", |port| NetSource::RtpOpus { port }, 600.0);
}

#[test]
fn rtp_g711_caller_reaches_program() {
    rtp_tone_arrives("pcmu", |port| NetSource::RtpPcmu { port }, 440.0);
    rtp_tone_arrives("pcma", |port| NetSource::RtpPcma { port }, 550.0);
}

#[test]
fn file_source_plays_and_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("call.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for i in 0..22_050 {
        let v = 0.3 * (2.0 * std::f32::consts::PI * 800.0 * i as f32 / 22_050.0).sin();
        w.write_sample((v * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();

    let p = build(MixerConfig::new(1)).unwrap();
    let (mut ctl, mut core, mut feed) = (p.controller, p.core, p.events);
    let (pipe, src) = open_source(
        &NetSource::File(path),
        48_000,
        "line1",
        Some(ctl.notice_sender()),
    )
    .unwrap();
    ctl.set_line_source(1, Box::new(src)).unwrap();
    on_air(&mut ctl, 1);
    let ended = |ev: &[MediaEvent]| {
        ev.iter().any(|e| matches!(e, MediaEvent::Health { component, ok: true, detail } if component == "audio/line1" && detail == "stream ended"))
    };
    // The file decodes faster than real time: at end of stream up to 1 s
    // of it still waits in the line's ring. Play that out, then listen.
    let mut ended_at = None;
    let (program, _) = run_until(&mut core, &mut feed, "end of file", |prog, ev| {
        if ended_at.is_none() && ended(ev) {
            ended_at = Some(prog.len());
        }
        ended_at.is_some_and(|at| prog.len() >= at + 60_000)
    });
    // The 1 s file is heard in (almost) every 0.1 s window of its second.
    let heard = program
        .chunks_exact(4800)
        .filter(|w| goertzel_power(w, 48_000, 800.0) > 1e-3)
        .count();
    assert!((8..=12).contains(&heard), "{heard} windows with the tone");
    drop(pipe);
}

#[test]
fn a_file_that_is_not_audio_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.wav");
    std::fs::write(&path, "这不是音频 — not audio at all ".repeat(200)).unwrap();
    let p = build(MixerConfig::new(1)).unwrap();
    let (mut ctl, mut core, mut feed) = (p.controller, p.core, p.events);
    let (pipe, src) = open_source(
        &NetSource::File(path),
        48_000,
        "line1",
        Some(ctl.notice_sender()),
    )
    .unwrap();
    ctl.set_line_source(1, Box::new(src)).unwrap();
    let (_, events) = run_until(&mut core, &mut feed, "the error report", |_, ev| {
        ev.iter()
            .any(|e| matches!(e, MediaEvent::Health { ok: false, .. }))
    });
    let detail = events
        .iter()
        .find_map(|e| match e {
            MediaEvent::Health {
                component,
                ok: false,
                detail,
            } => Some((component.clone(), detail.clone())),
            _ => None,
        })
        .unwrap();
    eprintln!("reported: {detail:?}");
    assert_eq!(detail.0, "audio/line1");
    assert!(!detail.1.is_empty());
    drop(pipe);
}

#[test]
fn program_goes_to_a_file_sink() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("program.wav");
    let p = build(MixerConfig::new(1)).unwrap();
    let (mut ctl, mut core) = (p.controller, p.core);
    ctl.set_line_source(1, Box::new(Tone::new(48_000, 1000.0, 0.25)))
        .unwrap();
    on_air(&mut ctl, 1);
    let (_, tap) = ctl.add_tap(TapPoint::Program, 2.0).unwrap();
    let sink = open_sink(
        &NetSink::File(out.clone()),
        tap,
        48_000,
        "program-file",
        None,
    )
    .unwrap();
    for _ in 0..100 {
        // 1 s; the ring holds 2 s, so no pacing is needed
        core.process_block();
    }
    drop(core); // the tap is abandoned: the sink gets end-of-stream
    drop(ctl);
    sink.finish();
    let r = hound::WavReader::open(&out).unwrap();
    let spec = r.spec();
    assert_eq!((spec.channels, spec.sample_rate), (1, 48_000));
    let s: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.into_samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => r
            .into_samples::<i32>()
            .map(|x| x.unwrap() as f32 / (1u32 << (spec.bits_per_sample - 1)) as f32)
            .collect(),
    };
    assert_eq!(s.len(), 48_000);
    assert!(goertzel_power(&s, 48_000, 1000.0) > 0.01);
}

/// Without the plugins: which packages to install. With them (CI), an RTMP
/// server that is not there: a health report naming the sink, no panic.
/// (tests/net_sinks.rs pushes to a real local RTMP server.)
#[test]
fn rtmp_to_a_server_that_is_not_there_is_reported() {
    // One second of program is waiting to go out.
    let (mut program, tap) = rtrb::RingBuffer::<f32>::new(48_000);
    while program.push(0.1).is_ok() {}
    let port = free_udp_port().unwrap(); // nothing listens on it over TCP
    let (tx, notices) = crossbeam_channel::bounded(16);
    match open_sink(
        &NetSink::Rtmp {
            url: format!("rtmp://127.0.0.1:{port}/live/test"),
        },
        tap,
        48_000,
        "rtmp",
        Some(tx),
    ) {
        Err(e) => {
            let msg = e.to_string();
            eprintln!("{msg}");
            assert!(msg.contains("gstreamer1.0-"), "{msg}");
        }
        Ok(sink) => {
            let report = notices
                .recv_timeout(Duration::from_secs(30))
                .expect("a health report");
            eprintln!("reported: {report:?}");
            assert!(
                matches!(&report, MediaEvent::Health { component, ok: false, detail }
                    if component == "audio/rtmp" && !detail.is_empty()),
                "{report:?}"
            );
            drop(sink);
        }
    }
    drop(program);
}
