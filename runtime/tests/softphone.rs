//! What a caller hears, from a real softphone: `baresip` (Debian
//! `baresip-core`) calls the show's SIP lines, sends a tone as its voice and
//! records what it hears to a WAV (its `sndfile` module). Tone analysis of
//! that recording proves the mix-minus: while screened the caller hears the
//! screener's talkback only; on air it hears the host and the other caller
//! on air, never itself.
//!
//! Tones: host microphone 440 Hz, talkback 700 Hz, caller A 1000 Hz,
//! caller B 1500 Hz (all from WAV files made with `sox`).
#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::print_stderr,
    clippy::cast_precision_loss
)]

mod common;

use std::time::{Duration, Instant};

use airbridge_runtime::{Action, Role, Runtime};
use airbridge_show::LineState;
use airbridge_sip::testing::{Softphone, free_port, installed, levels, tone};

/// Waits for `line` to ring; the softphone's own words when it does not.
fn rings(rt: &Runtime, line: u8, phone: &Softphone) {
    let t = Instant::now();
    while rt.board().line_state(line) != LineState::Ringing {
        if t.elapsed() > Duration::from_secs(20) {
            panic!("line {line} never rang; baresip said: {}", phone.log());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn screener(rt: &Runtime, line: u8, to: LineState) {
    rt.execute_as("screener", Role::Screener, Action::Move { line, to })
        .unwrap();
}

#[test]
fn a_softphone_hears_talkback_while_screened_and_its_mix_minus_on_air() {
    if !installed(&["baresip", "sox"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, hz) in [("host", 440), ("talkback", 700), ("a", 1000), ("b", 1500)] {
        tone(
            &d.join(format!("{name}.wav")),
            hz,
            if name.len() == 1 { 8000 } else { 48000 },
        );
    }
    let port = free_port();
    let studio = format!(
        "[audio]\noutput_device = \"none\"\n[[mic]]\nsource = \"file:host.wav\"\n\
         [talkback]\nsource = \"file:talkback.wav\"\n\
         [sip]\nbind = \"127.0.0.1:{port}\"\ncodecs = [\"pcma\"]\n\
         [[line]]\nnumber = 1\nkind = \"sip\"\n[[line]]\nnumber = 2\nkind = \"sip\"\n"
    );
    let (rt, _) = common::station(d, &studio, None);
    let target = format!("sip:hotline@127.0.0.1:{port}");

    // caller A rings line 1 and is screened for 3 s
    let mut a = Softphone::dialling(d, "a", &d.join("a.wav"), &target);
    rings(&rt, 1, &a);
    screener(&rt, 1, LineState::Screening);
    std::thread::sleep(Duration::from_secs(3));
    // then on air, joined by caller B on line 2
    screener(&rt, 1, LineState::Hold);
    screener(&rt, 1, LineState::OnAir);
    let mut b = Softphone::dialling(d, "b", &d.join("b.wav"), &target);
    rings(&rt, 2, &b);
    screener(&rt, 2, LineState::Screening);
    screener(&rt, 2, LineState::Hold);
    screener(&rt, 2, LineState::OnAir);
    std::thread::sleep(Duration::from_secs(4));
    // the screener ends both calls: BYE, and the softphones close their files
    screener(&rt, 1, LineState::Ended);
    screener(&rt, 2, LineState::Ended);
    a.finish(Duration::from_secs(5));
    b.finish(Duration::from_secs(5));
    rt.stop();

    let (x, rate) = a.heard().expect("A recorded nothing");
    let secs = |s: f32| (s * rate as f32) as usize;
    assert!(
        x.len() > secs(6.0),
        "A's recording is {} s",
        x.len() as f32 / rate as f32
    );
    let hz = [440.0, 700.0, 1000.0, 1500.0];
    // screened: 0.5–2.5 s after the answer: talkback, nothing else
    let screened = levels(&x, rate, 0.5, 2.5, hz);
    // on air with B: the last 2.5 s before the end
    let end = x.len() as f32 / rate as f32;
    let on_air = levels(&x, rate, end - 3.0, end - 0.5, hz);
    eprintln!("screened 440/700/1000/1500 Hz: {screened:?}");
    eprintln!("on air   440/700/1000/1500 Hz: {on_air:?}");
    assert!(screened[1] > 0.05, "talkback heard while screened");
    assert!(screened[0] < screened[1] / 10.0, "no host while screened");
    assert!(screened[2] < screened[1] / 10.0, "not itself");
    assert!(on_air[0] > 0.1, "the host heard on air");
    assert!(on_air[3] > 0.1, "the other caller heard on air");
    assert!(on_air[2] < on_air[0] / 10.0, "never itself (mix-minus)");
    assert!(on_air[1] < on_air[0] / 10.0, "no talkback on air");
}

/// Every SIP line taken, and the station has a recorded busy message: a
/// softphone calling in is answered with the message (a 1200 Hz tone of
/// 2 s here, made with sox), hears it, and is hung up after it; the call in
/// progress goes on.
#[test]
fn with_every_line_taken_a_caller_hears_the_busy_message_and_is_hung_up() {
    if !installed(&["baresip", "sox", "sipp"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tone(&d.join("caller.wav"), 1000, 8000);
    let st = std::process::Command::new("sox")
        .args(["-n", "-r", "16000", "-c", "1", "-b", "16"])
        .arg(d.join("busy.wav"))
        .args(["synth", "2", "sine", "1200", "vol", "0.4"])
        .status()
        .unwrap();
    assert!(st.success());
    let port = free_port();
    let studio = format!(
        "[audio]\noutput_device = \"none\"\n\
         [sip]\nbind = \"127.0.0.1:{port}\"\ncodecs = [\"pcma\"]\nbusy_message = \"busy.wav\"\n\
         [[line]]\nnumber = 1\nkind = \"sip\"\n"
    );
    let (rt, _) = common::station(d, &studio, None);
    let at = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    // line 1 (the only SIP line) takes a call
    let first = std::thread::spawn(move || {
        airbridge_sip::testing::Sipp::new("call_hung_up_by_studio.xml")
            .to(at)
            .run()
    });
    let t = Instant::now();
    while rt.board().line_state(1) != LineState::Ringing {
        assert!(t.elapsed() < Duration::from_secs(20), "line 1 never rang");
        std::thread::sleep(Duration::from_millis(20));
    }
    screener(&rt, 1, LineState::Screening);
    // the next caller hears the message, then is hung up
    let mut phone = Softphone::dialling(
        d,
        "late",
        &d.join("caller.wav"),
        &format!("sip:hotline@{at}"),
    );
    // baresip says "terminated" when the call ends (BYE)
    let t = Instant::now();
    while !phone.log().contains("terminated") && t.elapsed() < Duration::from_secs(12) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = t.elapsed();
    phone.finish(Duration::from_secs(1));
    assert_eq!(
        rt.board().line_state(1),
        LineState::Screening,
        "the call in progress goes on"
    );
    let (x, rate) = phone
        .heard()
        .unwrap_or_else(|| panic!("the caller was not answered: {}", phone.log()));
    let secs = x.len() as f32 / rate as f32;
    assert!(
        took < Duration::from_secs(8),
        "hung up after the message ({took:?}): {}",
        phone.log()
    );
    assert!((1.5..4.0).contains(&secs), "heard {secs} s");
    let [message] = levels(&x, rate, 0.2, 1.8, [1200.0]);
    assert!(message > 0.1, "the busy message heard: {message}");
    // the producer sees that a caller found the lines busy
    let journaled = rt.journal().replay(1).unwrap().any(|e| {
        matches!(e.unwrap().event,
            airbridge_show::ShowEvent::Health { component, detail, .. }
                if component == "sip" && detail.contains("播放占线提示"))
    });
    assert!(journaled, "the busy caller is in the journal");
    screener(&rt, 1, LineState::Ended);
    assert!(first.join().unwrap().status.success());
    rt.stop();
}
