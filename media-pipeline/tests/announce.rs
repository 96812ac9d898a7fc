//! A recorded message played to a caller over RTP (the "lines are busy"
//! message): real GStreamer, a real UDP socket on 127.0.0.1 as the caller.
#![allow(
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::disallowed_methods
)]

use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

use airbridge_media::MediaError;
use airbridge_media::rtp::{RtpCodec, announce};

fn tone_wav(path: &Path, secs: f32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..(16_000.0 * secs) as usize {
        let t = i as f32 / 16_000.0;
        let v = (2.0 * std::f32::consts::PI * 1000.0 * t).sin() * 0.4;
        w.write_sample((v * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn the_message_goes_to_the_caller_in_real_time_then_ends() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("busy.wav");
    tone_wav(&file, 1.0);
    let caller = UdpSocket::bind("127.0.0.1:0").unwrap();
    caller
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let a = announce(
        &file,
        RtpCodec::Pcma,
        96,
        "127.0.0.1:0".parse().unwrap(),
        caller.local_addr().unwrap(),
        "announce-test",
    )
    .unwrap();
    let mut buf = [0u8; 2048];
    let mut packets = 0;
    let mut first = None;
    let mut last = Instant::now();
    let mut loud = 0;
    while let Ok((n, from)) = caller.recv_from(&mut buf) {
        assert_eq!(
            from.port(),
            a.local_addr().port(),
            "sent from the SDP's port"
        );
        assert!(n == 12 + 160, "20 ms of G.711: {n} bytes");
        assert_eq!(buf[0] >> 6, 2, "RTP version 2");
        assert_eq!(buf[1] & 0x7f, 8, "PCMA");
        // A-law silence is 0xD5 / 0x55; the tone is not
        if buf[12..n]
            .iter()
            .any(|b| !matches!(b, 0xD5 | 0x55 | 0xD4 | 0x54))
        {
            loud += 1;
        }
        packets += 1;
        first.get_or_insert_with(Instant::now);
        last = Instant::now();
    }
    let span = last - first.unwrap();
    assert!((48..=52).contains(&packets), "{packets} packets for 1 s");
    assert!(loud >= packets - 2, "{loud} of {packets} carry the tone");
    assert!(
        span >= Duration::from_millis(800),
        "paced in real time: 1 s of audio arrived over {span:?}"
    );
    let t = Instant::now();
    while !a.finished() {
        assert!(t.elapsed() < Duration::from_secs(3), "never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(a.packets_out(), packets as u64);
}

#[test]
fn a_missing_or_broken_file_is_an_error_or_ends_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let to = "127.0.0.1:9".parse().unwrap();
    let missing = announce(
        &dir.path().join("nope.wav"),
        RtpCodec::Pcmu,
        96,
        "127.0.0.1:0".parse().unwrap(),
        to,
        "announce-missing",
    );
    match missing {
        Err(MediaError::BadAudio { path, .. }) => assert!(path.ends_with("nope.wav")),
        other => panic!("{other:?}"),
    }
    let broken = dir.path().join("broken.wav");
    std::fs::write(&broken, b"RIFF not really a wave file at all").unwrap();
    let a = announce(
        &broken,
        RtpCodec::Pcmu,
        96,
        "127.0.0.1:0".parse().unwrap(),
        to,
        "announce-broken",
    )
    .unwrap();
    let t = Instant::now();
    while !a.finished() {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "a broken file must end"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(a.packets_out(), 0);
}
