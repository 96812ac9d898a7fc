//! SIP lines in a running show, called by `sipp` (Debian `sip-tester`) on
//! 127.0.0.1: the call rings the first free SIP line with the caller's
//! number masked on the board, the screener answers, the caller's audio
//! reaches the line and the line's mix-minus goes back as RTP, and the
//! caller's hang-up ends the line with the reason in the journal; a caller
//! who gives up while it rings is a missed call; with every SIP line busy
//! the next call gets 486; the studio dropping a call sends BYE.
#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_configs::studio::parse_studio;
use airbridge_runtime::{Action, KbSource, Role, Runtime, RuntimeOptions, StationPaths};
use airbridge_show::{LineState, ShowEvent};

fn have_sipp() -> bool {
    let found = Command::new("sipp").arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var("AIRBRIDGE_REQUIRE_SIPP").as_deref() != Ok("1"),
            "AIRBRIDGE_REQUIRE_SIPP=1 but sipp is not installed (scripts/install-deps.sh)"
        );
        eprintln!("sipp not installed: SIP tests skipped");
    }
    found
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One call from sipp with a scenario of `sip/tests/scenarios`.
fn sipp(scenario: &str, target: SocketAddr, extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/usr/share/sip-tester", dir.path().join("pcap")).unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sip/tests/scenarios")
        .join(scenario);
    let (port, media) = (free_port().to_string(), free_port().to_string());
    let target = target.to_string();
    let file = file.display().to_string();
    let mut args = vec![
        target.as_str(),
        "-sf",
        &file,
        "-m",
        "1",
        "-i",
        "127.0.0.1",
        "-p",
        &port,
        "-mi",
        "127.0.0.1",
        "-mp",
        &media,
        "-set",
        "from",
        "13700000001",
        "-timeout",
        "40s",
        "-nostdin",
    ];
    args.extend_from_slice(extra);
    let out = Command::new("sipp")
        .args(&args)
        .current_dir(dir.path())
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!("sipp {scenario}: {}", String::from_utf8_lossy(&out.stdout));
    }
    out
}

/// A show with SIP lines 1 and 2 (or only 1) listening on a free port.
fn show(dir: &Path, lines: &[u8]) -> (Runtime, SocketAddr) {
    let port = free_port();
    let mut studio = format!(
        "[audio]\noutput_device = \"none\"\n[sip]\nbind = \"127.0.0.1:{port}\"\ncodecs = [\"pcma\", \"pcmu\"]\n"
    );
    for n in lines {
        studio.push_str(&format!("[[line]]\nnumber = {n}\nkind = \"sip\"\n"));
    }
    let config = ConfigSet::embedded_demo().unwrap();
    let paths = StationPaths::under(dir, &config);
    let studio = parse_studio("studio.toml", &studio, dir, config.show.lines);
    assert!(studio.issues.is_empty(), "{:?}", studio.issues);
    let rt = Runtime::start(RuntimeOptions {
        kb: KbSource::None,
        speech: false,
        ..RuntimeOptions::new(config, paths, studio)
    })
    .unwrap();
    let sip = rt
        .parts()
        .into_iter()
        .find(|p| p.component == "sip")
        .unwrap();
    assert!(
        matches!(sip.status, airbridge_runtime::PartStatus::Ok(_)),
        "{sip:?}"
    );
    (rt, SocketAddr::from(([127, 0, 0, 1], port)))
}

fn until(rt: &Runtime, what: &str, ok: impl Fn(&Runtime) -> bool) {
    let t = Instant::now();
    while !ok(rt) {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "{what}: not within 30 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn state(rt: &Runtime, line: u8) -> LineState {
    rt.board().line_state(line)
}

fn screener(rt: &Runtime, line: u8, to: LineState) {
    rt.execute_as("screener", Role::Screener, Action::Move { line, to })
        .unwrap();
}

fn events(rt: &Runtime) -> Vec<ShowEvent> {
    rt.journal()
        .replay(1)
        .unwrap()
        .map(|e| e.unwrap().event)
        .collect()
}

#[test]
fn a_sip_call_rings_is_answered_talks_both_ways_and_the_caller_hangs_up() {
    if !have_sipp() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (rt, at) = show(dir.path(), &[1, 2]);
    let caller = std::thread::spawn(move || sipp("call.xml", at, &["-d", "3000"]));
    until(&rt, "ringing", |rt| state(rt, 1) == LineState::Ringing);
    // the number, masked, on the board and in the journal; hashed as a key
    let rang = events(&rt).into_iter().find_map(|e| match e {
        ShowEvent::CallRang {
            line: 1,
            caller_masked,
            caller_key,
        } => Some((caller_masked, caller_key)),
        _ => None,
    });
    let (masked, key) = rang.unwrap();
    assert_eq!(masked, "137****0001");
    assert!(!key.contains("13700000001") && !key.starts_with("anon-"));
    assert_eq!(state(&rt, 2), LineState::Idle);
    // the screener answers: 200 OK, audio both ways
    screener(&rt, 1, LineState::Screening);
    until(&rt, "audio both ways", |rt| {
        rt.rtp_packets(1).is_some_and(|(i, o)| i > 50 && o > 50)
    });
    // the caller hangs up: the line ends, with the reason
    until(&rt, "ended", |rt| state(rt, 1) == LineState::Ended);
    assert!(caller.join().unwrap().status.success());
    assert!(events(&rt).iter().any(|e| matches!(e,
        ShowEvent::CallEnded { line: 1, reason, .. } if reason == "来电方挂断")));
    // cleared, the line takes the next call
    screener(&rt, 1, LineState::Idle);
    assert_eq!(rt.rtp_packets(1), None);
    rt.stop();
}

#[test]
fn a_caller_who_gives_up_while_it_rings_is_a_missed_call() {
    if !have_sipp() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (rt, at) = show(dir.path(), &[1]);
    assert!(sipp("cancel.xml", at, &[]).status.success());
    until(&rt, "ended", |rt| state(rt, 1) == LineState::Ended);
    assert!(events(&rt).iter().any(|e| matches!(e,
        ShowEvent::CallEnded { line: 1, reason, .. } if reason.contains("未接来电"))));
    rt.stop();
}

#[test]
fn with_every_sip_line_busy_the_next_call_hears_busy_and_the_studio_drops_the_first() {
    if !have_sipp() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (rt, at) = show(dir.path(), &[1]);
    let first = std::thread::spawn(move || sipp("call_hung_up_by_studio.xml", at, &[]));
    until(&rt, "ringing", |rt| state(rt, 1) == LineState::Ringing);
    screener(&rt, 1, LineState::Screening);
    // line 1 is the only SIP line: 486
    assert!(sipp("busy.xml", at, &[]).status.success(), "486");
    assert_eq!(
        state(&rt, 1),
        LineState::Screening,
        "the call in progress goes on"
    );
    // the screener drops it: BYE reaches the caller
    screener(&rt, 1, LineState::Ended);
    assert!(first.join().unwrap().status.success(), "BYE");
    rt.stop();
}

/// 回拨: a call handed to the back office leaves a ticket with the number
/// sealed (never in the store as digits); the back office calls back
/// through the PBX (sipp answers as the citizen), talks on the line's
/// talkback, hangs up, and the recording is attached to the ticket.
#[test]
fn the_back_office_calls_a_caller_back_from_the_ticket() {
    if !have_sipp() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (port, pbx) = (free_port(), free_port());
    let studio = format!(
        "[audio]\noutput_device = \"none\"\n[recording]\ndir = \"rec\"\nprogram = false\n\
         [sip]\nbind = \"127.0.0.1:{port}\"\ncodecs = [\"pcma\"]\noutbound = \"127.0.0.1:{pbx}\"\n\
         [[line]]\nnumber = 1\nkind = \"sip\"\n"
    );
    let config = ConfigSet::embedded_demo().unwrap();
    let paths = StationPaths::under(dir.path(), &config);
    let studio = parse_studio("studio.toml", &studio, dir.path(), config.show.lines);
    assert!(studio.issues.is_empty(), "{:?}", studio.issues);
    let rt = Runtime::start(RuntimeOptions {
        kb: KbSource::None,
        speech: false,
        ..RuntimeOptions::new(config, paths.clone(), studio)
    })
    .unwrap();
    let at = SocketAddr::from(([127, 0, 0, 1], port));

    // the call comes in and is handed to the back office
    let caller = std::thread::spawn(move || sipp("call_hung_up_by_studio.xml", at, &[]));
    until(&rt, "ringing", |rt| state(rt, 1) == LineState::Ringing);
    screener(&rt, 1, LineState::Screening);
    // answered (200 sent) once the call's RTP runs
    until(&rt, "answered", |rt| {
        rt.rtp_packets(1).is_some_and(|(_, o)| o > 10)
    });
    let call = rt.board().lines[&1].call_seq;
    let made = rt
        .execute_as(
            "screener",
            Role::Screener,
            Action::Offline {
                item: airbridge_show::ItemRef::Call(call),
                ticket: Some(Box::new({
                    let mut t = airbridge_tickets::NewTicket::new(
                        airbridge_tickets::Source::Call,
                        "小区路灯坏了一个月",
                        chrono::Utc::now(),
                    );
                    t.contact = Some("137****0001".into());
                    t
                })),
            },
        )
        .unwrap();
    let airbridge_runtime::Outcome::Ticket(Some(ticket)) = made else {
        panic!("no ticket: {made:?}")
    };
    screener(&rt, 1, LineState::Ended);
    assert!(caller.join().unwrap().status.success());
    screener(&rt, 1, LineState::Idle);
    let t = rt.with_desk(|d| d.get(&ticket)).unwrap().unwrap();
    assert_eq!(t.contact.as_deref(), Some("137****0001"));
    assert!(
        t.callback_number
            .as_deref()
            .unwrap()
            .starts_with("sealed1:")
    );
    let store = std::fs::read(paths.data_dir.join("tickets.db")).unwrap();
    assert!(
        !store.windows(11).any(|w| w == b"13700000001"),
        "the full number is never stored as digits"
    );

    // only the back office may call back
    let back = Action::CallBack {
        ticket: ticket.clone(),
    };
    assert!(rt.execute_as("host", Role::Host, back.clone()).is_err());
    // the citizen's phone (sipp as the PBX's far end) answers
    let citizen = std::thread::spawn(move || {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/usr/share/sip-tester", dir.path().join("pcap")).unwrap();
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sip/tests/scenarios/callee.xml");
        Command::new("sipp")
            .args([
                "-sf",
                &file.display().to_string(),
                "-m",
                "1",
                "-i",
                "127.0.0.1",
            ])
            .args([
                "-p",
                &pbx.to_string(),
                "-mi",
                "127.0.0.1",
                "-mp",
                &free_port().to_string(),
            ])
            .args(["-timeout", "40s", "-nostdin"])
            .current_dir(dir.path())
            .output()
            .unwrap()
    });
    std::thread::sleep(Duration::from_millis(500));
    rt.execute_as("backoffice", Role::Backoffice, back).unwrap();
    until(&rt, "dialling", |rt| state(rt, 1) != LineState::Idle);
    until(&rt, "answered", |rt| state(rt, 1) == LineState::Screening);
    until(&rt, "audio", |rt| {
        rt.rtp_packets(1).is_some_and(|(i, _)| i > 50)
    });
    screener(&rt, 1, LineState::Ended);
    let out = citizen.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // the recording goes with the ticket
    until(&rt, "recording attached", |rt| {
        rt.with_desk(|d| d.audit(&ticket))
            .and_then(Result::ok)
            .is_some_and(|a| a.iter().any(|e| e.action == "attach"))
    });
    let audit = rt.with_desk(|d| d.audit(&ticket)).unwrap().unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "note" && e.detail.to_string().contains("回拨 137****0001"))
    );
    rt.stop();
}
