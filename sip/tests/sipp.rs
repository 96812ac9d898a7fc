//! The SIP lines against a real SIP caller, `sipp` (Debian `sip-tester`),
//! on 127.0.0.1: a call rings with its number, is answered with an SDP
//! answer in the caller's codec, and ends when the caller hangs up, over UDP
//! and TCP; the studio hangs up (BYE); CANCEL while ringing; 486 when no
//! line is free; 488 for a codec we do not speak; 403 from outside `allow`;
//! a flood from one address is rate-limited (503) while a call in progress
//! goes on; a trunk that must authenticate is challenged (401) and refused
//! with wrong credentials (403); a busy call answered with a message is
//! hung up after it. The runtime's side (lines, RTP, journal) is tested in
//! `runtime/tests/sip.rs`.
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::disallowed_methods)]

use std::net::{SocketAddr, UdpSocket};
use std::process::Output;
use std::sync::atomic::Ordering;
use std::time::Duration;

use airbridge_sip::testing::{Sipp, installed};
use airbridge_sip::{Codec, Ended, InboundAuth, Refusal, Settings, SipEvent, SipLines};
use crossbeam_channel::{Receiver, unbounded};

/// One call from sipp with `scenario` to `target` over `transport` (`u1`, `t1`).
fn sipp(scenario: &str, target: SocketAddr, transport: &str, extra: &[&str]) -> Output {
    Sipp::new(scenario)
        .to(target)
        .args(&["-t", transport])
        .args(extra)
        .run()
}

/// SIP lines on a free port of 127.0.0.1.
fn lines(settings: impl FnOnce(&mut Settings)) -> (SipLines, Receiver<SipEvent>) {
    let mut s = Settings::new("127.0.0.1:0".parse().unwrap());
    settings(&mut s);
    let (tx, rx) = unbounded();
    (SipLines::start(s, tx).unwrap(), rx)
}

fn next(rx: &Receiver<SipEvent>) -> SipEvent {
    rx.recv_timeout(Duration::from_secs(20)).unwrap()
}

/// What the desk saw of a call it rang.
struct Rang {
    id: airbridge_sip::CallId,
    caller: airbridge_sip::Caller,
    codec: Codec,
    source: std::net::IpAddr,
    remote_rtp: SocketAddr,
}

/// Rings the next call (its RTP on a socket of its own) and answers it
/// after `answer_after` (never with `None`).
fn answering_desk(
    sip: &SipLines,
    rx: &Receiver<SipEvent>,
    answer_after: Option<Duration>,
) -> (Rang, UdpSocket) {
    let SipEvent::Incoming(call) = next(rx) else {
        panic!("expected a call")
    };
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rang = Rang {
        id: call.id,
        caller: call.caller.clone(),
        codec: call.codec,
        source: call.source,
        remote_rtp: call.remote_rtp,
    };
    call.ring();
    if let Some(after) = answer_after {
        std::thread::sleep(after);
        sip.answer(rang.id, rtp.local_addr().unwrap());
    }
    (rang, rtp)
}

#[test]
fn a_call_rings_with_its_number_is_answered_and_the_caller_hangs_up() {
    if !installed(&["sipp"]) {
        return;
    }
    for transport in ["u1", "t1"] {
        let (sip, rx) = lines(|_| {});
        let target = sip.local_addr();
        let caller =
            std::thread::spawn(move || sipp("call.xml", target, transport, &["-d", "1500"]));
        let (call, rtp) = answering_desk(&sip, &rx, Some(Duration::from_millis(300)));
        assert_eq!(call.caller.number.as_deref(), Some("13700000001"));
        assert_eq!(call.codec, Codec::Pcma);
        assert_eq!(
            call.source,
            "127.0.0.1".parse::<std::net::IpAddr>().unwrap()
        );
        // the caller's audio reaches the port the answer named
        rtp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 2048];
        let (n, from) = rtp.recv_from(&mut buf).unwrap();
        assert!(n > 12, "an RTP packet");
        assert_eq!(buf[1] & 0x7f, 8, "PCMA");
        assert_eq!(from.ip(), call.remote_rtp.ip());
        match next(&rx) {
            SipEvent::Ended { id, why } => {
                assert_eq!(id, call.id);
                assert_eq!(why, Ended::HungUp);
            }
            other => panic!("{other:?}"),
        }
        let out = caller.join().unwrap();
        assert!(out.status.success(), "sipp over {transport} failed");
        assert_eq!(sip.stats().calls.load(Ordering::Relaxed), 1);
    }
}

#[test]
fn the_studio_hangs_up() {
    if !installed(&["sipp"]) {
        return;
    }
    let (sip, rx) = lines(|_| {});
    let target = sip.local_addr();
    let caller = std::thread::spawn(move || sipp("call_hung_up_by_studio.xml", target, "u1", &[]));
    let (call, _rtp) = answering_desk(&sip, &rx, Some(Duration::from_millis(200)));
    std::thread::sleep(Duration::from_millis(800));
    sip.hang_up(call.id);
    match next(&rx) {
        SipEvent::Ended { why, .. } => assert_eq!(why, Ended::ByUs),
        other => panic!("{other:?}"),
    }
    assert!(caller.join().unwrap().status.success());
}

#[test]
fn a_caller_who_gives_up_while_it_rings_is_a_missed_call() {
    if !installed(&["sipp"]) {
        return;
    }
    let (sip, rx) = lines(|_| {});
    let target = sip.local_addr();
    let caller = std::thread::spawn(move || sipp("cancel.xml", target, "u1", &[]));
    let (call, _rtp) = answering_desk(&sip, &rx, None);
    match next(&rx) {
        SipEvent::Ended { id, why } => {
            assert_eq!(id, call.id);
            assert_eq!(why, Ended::Cancelled);
        }
        other => panic!("{other:?}"),
    }
    assert!(caller.join().unwrap().status.success());
}

#[test]
fn busy_unknown_codec_and_foreign_addresses_are_refused() {
    if !installed(&["sipp"]) {
        return;
    }
    // no free line: 486
    let (sip, rx) = lines(|_| {});
    let target = sip.local_addr();
    let caller = std::thread::spawn(move || sipp("busy.xml", target, "u1", &[]));
    let SipEvent::Incoming(call) = next(&rx) else {
        panic!()
    };
    call.busy();
    assert!(caller.join().unwrap().status.success(), "486");
    assert_eq!(sip.stats().busy.load(Ordering::Relaxed), 1);

    // G.729 only: 488, no line rings
    assert!(sipp("g729.xml", target, "u1", &[]).status.success(), "488");
    match next(&rx) {
        SipEvent::Refused { why, .. } => assert_eq!(why, Refusal::NoCodec(vec![18])),
        other => panic!("{other:?}"),
    }

    // a trunk that takes calls from 10.0.0.0/8 only: 403
    let (sip, rx) = lines(|s| s.allow = vec!["10.0.0.0/8".parse().unwrap()]);
    assert!(
        sipp("forbidden.xml", sip.local_addr(), "u1", &[])
            .status
            .success(),
        "403"
    );
    match next(&rx) {
        SipEvent::Refused { why, .. } => assert_eq!(why, Refusal::NotAllowed),
        other => panic!("{other:?}"),
    }
    assert_eq!(sip.stats().refused_address.load(Ordering::Relaxed), 1);
}

#[test]
fn a_flood_from_one_address_is_rate_limited_while_a_call_goes_on() {
    if !installed(&["sipp"]) {
        return;
    }
    let (sip, rx) = lines(|s| s.invites_per_window = 3);
    let target = sip.local_addr();
    // a call in progress
    let caller = std::thread::spawn(move || sipp("call.xml", target, "u1", &["-d", "4000"]));
    let (call, _rtp) = answering_desk(&sip, &rx, Some(Duration::from_millis(100)));
    // a flood: 30 INVITEs at 50 a second; the desk says busy to each it sees
    let flood = std::thread::spawn(move || {
        Sipp::new("busy.xml")
            .to(target)
            .calls(30)
            .args(&["-r", "50", "-l", "30"])
            .run()
    });
    let mut busy = 0;
    let mut limited = 0;
    let mut ended = None;
    while ended.is_none() {
        match next(&rx) {
            SipEvent::Incoming(c) => {
                busy += 1;
                c.busy();
            }
            SipEvent::Refused {
                why: Refusal::RateLimited,
                ..
            } => limited += 1,
            SipEvent::Ended { id, why } if id == call.id => ended = Some(why),
            other => panic!("{other:?}"),
        }
    }
    let _ = flood.join().unwrap(); // some of its calls got 503: sipp counts them failed
    // the call in progress went on to its end
    assert_eq!(ended, Some(Ended::HungUp));
    assert!(caller.join().unwrap().status.success());
    assert!(limited >= 20, "rate-limited {limited}, rang {busy}");
    assert!(busy <= 2, "{busy}");
    assert_eq!(
        sip.stats().rate_limited.load(Ordering::Relaxed),
        u64::try_from(limited).unwrap()
    );
}

/// A trunk that must authenticate: the INVITE without credentials gets a
/// digest challenge (401) and rings nothing; the same call with the right
/// credentials rings and talks; wrong credentials are refused (403) and
/// counted.
#[test]
fn calls_must_authenticate_when_the_station_asks() {
    if !installed(&["sipp"]) {
        return;
    }
    let (sip, rx) = lines(|s| {
        s.inbound_auth = Some(InboundAuth {
            realm: "fs".into(),
            user: "pbx".into(),
            password: "s3cret".into(),
        });
    });
    let target = sip.local_addr();
    let caller = std::thread::spawn(move || {
        Sipp::new("auth.xml")
            .to(target)
            .args(&["-au", "pbx", "-ap", "s3cret", "-d", "500"])
            .run()
    });
    let (call, _rtp) = answering_desk(&sip, &rx, Some(Duration::from_millis(200)));
    assert_eq!(call.caller.number.as_deref(), Some("13700000001"));
    match next(&rx) {
        SipEvent::Ended { id, why } => {
            assert_eq!(id, call.id);
            assert_eq!(why, Ended::HungUp);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        caller.join().unwrap().status.success(),
        "challenged, then answered"
    );
    assert_eq!(sip.stats().challenged.load(Ordering::Relaxed), 1);
    assert_eq!(sip.stats().calls.load(Ordering::Relaxed), 1);

    // the wrong password: 403 after the challenge, no line rings
    let out = Sipp::new("auth_refused.xml")
        .to(target)
        .args(&["-au", "pbx", "-ap", "guess"])
        .run();
    assert!(out.status.success(), "403");
    match next(&rx) {
        SipEvent::Refused {
            why: Refusal::BadAuth(why),
            ..
        } => assert!(why.contains("pbx"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sip.stats().refused_auth.load(Ordering::Relaxed), 1);
    assert_eq!(sip.stats().calls.load(Ordering::Relaxed), 1, "never rang");
}

/// No free line, and the station has a busy message: the call is answered
/// (200 naming the message's RTP port), and hung up (BYE) when the runtime
/// says the message has played.
#[test]
fn a_busy_call_can_be_answered_with_a_message_then_hung_up() {
    if !installed(&["sipp"]) {
        return;
    }
    let (sip, rx) = lines(|_| {});
    let target = sip.local_addr();
    let caller = std::thread::spawn(move || sipp("call_hung_up_by_studio.xml", target, "u1", &[]));
    let SipEvent::Incoming(call) = next(&rx) else {
        panic!("expected a call")
    };
    let id = call.id;
    let message = UdpSocket::bind("127.0.0.1:0").unwrap();
    call.announce(message.local_addr().unwrap());
    std::thread::sleep(Duration::from_millis(700));
    sip.hang_up(id);
    match next(&rx) {
        SipEvent::Ended { id: ended, why } => {
            assert_eq!(ended, id);
            assert_eq!(why, Ended::ByUs);
        }
        other => panic!("{other:?}"),
    }
    assert!(caller.join().unwrap().status.success(), "200, then BYE");
    assert_eq!(sip.stats().busy.load(Ordering::Relaxed), 1);
    assert_eq!(sip.stats().busy_messages.load(Ordering::Relaxed), 1);
}
