//! SIP lines in a running show, called by `sipp` (Debian `sip-tester`) on
//! 127.0.0.1: the call rings the first free SIP line with the caller's
//! number masked on the board, the screener answers, the caller's audio
//! reaches the line and the line's mix-minus goes back as RTP, and the
//! caller's hang-up ends the line with the reason in the journal; a caller
//! who gives up while it rings is a missed call; with every SIP line busy
//! the next call gets 486; the studio dropping a call sends BYE.
#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::print_stderr,
    clippy::cast_precision_loss
)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
mod common;

use std::time::{Duration, Instant};

use airbridge_runtime::{Action, Role, Runtime};
use airbridge_show::{LineState, ShowEvent};
use airbridge_sip::testing::{Sipp, Softphone, free_port, installed, levels, tone};

/// One call from sipp with a scenario of `sip/tests/scenarios`.
fn sipp(scenario: &str, target: SocketAddr, extra: &[&str]) -> Output {
    Sipp::new(scenario).to(target).args(extra).run()
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
    let (rt, _) = common::station(dir, &studio, None);
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
    if !installed(&["sipp"]) {
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
    if !installed(&["sipp"]) {
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
    if !installed(&["sipp"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (rt, at) = show(dir.path(), &[1]);
    let first = std::thread::spawn(move || sipp("call_hung_up_by_studio.xml", at, &[]));
    until(&rt, "ringing", |rt| state(rt, 1) == LineState::Ringing);
    screener(&rt, 1, LineState::Screening);
    // line 1 is the only SIP line: 486
    assert!(sipp("busy.xml", at, &[]).status.success(), "486");
    // the producer sees who could not get through (masked)
    until(&rt, "busy journaled", |rt| {
        events(rt).iter().any(|e| {
            matches!(e,
            ShowEvent::Health { component, detail, .. }
                if component == "sip" && detail.contains("137****0001：线路全忙（486）"))
        })
    });
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
/// through the PBX and a softphone answers as the citizen (baresip,
/// answering calls to its number, speaking a 1000 Hz tone, recording what it
/// hears); the citizen hears the back office's talkback (700 Hz), never the
/// host on air (440 Hz); the call is recorded and the recording, with the
/// citizen's voice in it, is attached to the ticket.
#[test]
fn the_back_office_calls_a_caller_back_from_the_ticket() {
    if !installed(&["sipp", "baresip", "sox"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tone(&d.join("host.wav"), 440, 48000);
    tone(&d.join("talkback.wav"), 700, 48000);
    tone(&d.join("citizen.wav"), 1000, 8000);
    // the citizen's phone, reached through the PBX by its number
    let mut phone = Softphone::answering(d, "13700000001", &d.join("citizen.wav"));
    let (port, pbx) = (free_port(), phone.sip_port);
    let studio = format!(
        "[audio]\noutput_device = \"none\"\n[recording]\ndir = \"rec\"\nprogram = false\n\
         [[mic]]\nsource = \"file:host.wav\"\n[talkback]\nsource = \"file:talkback.wav\"\n\
         [sip]\nbind = \"127.0.0.1:{port}\"\ncodecs = [\"pcma\"]\noutbound = \"127.0.0.1:{pbx}\"\n\
         [[line]]\nnumber = 1\nkind = \"sip\"\n"
    );
    let (rt, paths) = common::station(dir.path(), &studio, None);
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
    rt.execute_as("backoffice", Role::Backoffice, back).unwrap();
    until(&rt, "dialling", |rt| state(rt, 1) != LineState::Idle);
    let callback = rt.board().lines[&1].call_seq;
    let t = Instant::now();
    while state(&rt, 1) != LineState::Screening {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the softphone never answered: {}",
            phone.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    until(&rt, "audio", |rt| {
        rt.rtp_packets(1).is_some_and(|(i, _)| i > 50)
    });
    std::thread::sleep(Duration::from_secs(3));
    screener(&rt, 1, LineState::Ended);
    phone.finish(Duration::from_secs(5));
    // what the citizen heard: the back office's talkback, not the show
    let (x, rate) = phone.heard().expect("the softphone recorded nothing");
    let end = x.len() as f32 / rate as f32;
    let [host, talkback] = levels(&x, rate, 0.5, end - 0.5, [440.0, 700.0]);
    eprintln!("the citizen heard 440 / 700 Hz: {host} / {talkback}");
    assert!(talkback > 0.05, "the back office's talkback");
    assert!(host < talkback / 10.0, "never the show on air");
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
    // the call-back's recording holds the citizen's voice (left: the line)
    let name = format!("call-{callback}-line1.wav");
    let file = find(d, &name).unwrap_or_else(|| panic!("no {name}"));
    let mut r = hound::WavReader::open(&file).unwrap();
    let (rate, channels) = (r.spec().sample_rate, usize::from(r.spec().channels));
    let left: Vec<f32> = r
        .samples::<i16>()
        .map(|v| f32::from(v.unwrap()) / 32768.0)
        .step_by(channels)
        .collect();
    let end = left.len() as f32 / rate as f32;
    let [citizen] = levels(&left, rate, 0.5, end - 0.5, [1000.0]);
    assert!(
        citizen > 0.05,
        "the citizen's voice in the recording: {citizen}"
    );
}

/// The first file called `name` under `dir`.
fn find(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

/// A trunk that must authenticate (`auth_user`, `auth_password_file`):
/// the call that answers the digest challenge rings the line and talks;
/// wrong credentials never ring and are counted in the `sip` health report.
#[test]
fn calls_without_valid_auth_are_refused_and_counted_in_health() {
    if !installed(&["sipp"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let secret = d.join("sip-auth");
    std::fs::write(&secret, "s3cret\n").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let port = free_port();
    let studio = format!(
        "[audio]\noutput_device = \"none\"\n[sip]\nbind = \"127.0.0.1:{port}\"\ncodecs = [\"pcma\"]\n\
         auth_user = \"trunk\"\nauth_realm = \"fs\"\nauth_password_file = \"sip-auth\"\n\
         [[line]]\nnumber = 1\nkind = \"sip\"\n"
    );
    let (rt, _) = common::station(d, &studio, None);
    let at = SocketAddr::from(([127, 0, 0, 1], port));
    // wrong credentials: 403, nothing rings
    let refused = Sipp::new("auth_refused.xml")
        .to(at)
        .args(&["-au", "trunk", "-ap", "guess"])
        .run();
    assert!(refused.status.success(), "403");
    assert_eq!(state(&rt, 1), LineState::Idle);
    until(&rt, "refusal in health", |rt| {
        events(rt).iter().any(|e| {
            matches!(e,
            ShowEvent::Health { component, detail, .. }
                if component == "sip" && detail.contains("认证失败"))
        })
    });
    // the right ones: the line rings and the call goes through
    let caller = std::thread::spawn(move || {
        Sipp::new("auth.xml")
            .to(at)
            .args(&["-au", "trunk", "-ap", "s3cret", "-d", "1500"])
            .run()
    });
    until(&rt, "ringing", |rt| state(rt, 1) == LineState::Ringing);
    screener(&rt, 1, LineState::Screening);
    until(&rt, "ended", |rt| state(rt, 1) == LineState::Ended);
    assert!(caller.join().unwrap().status.success());
    rt.stop();
}

/// A SIP call answered by a rehearsal script (彩排): sipp rings line 1,
/// the script screens it at 5 s and puts it on air at 6 s, the call's RTP
/// runs both ways, and the caller's hang-up ends the line.
#[test]
fn a_rehearsal_script_answers_a_sip_call_and_puts_it_on_air() {
    if !installed(&["sipp"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let script = d.join("script.toml");
    std::fs::write(
        &script,
        "[[at]]\nsecs = 5.0\nline = 1\nstate = \"screening\"\n\
         [[at]]\nsecs = 5.5\nline = 1\nstate = \"hold\"\n\
         [[at]]\nsecs = 6.0\nline = 1\nstate = \"on_air\"\n",
    )
    .unwrap();
    let port = free_port();
    let studio = format!(
        "[audio]\noutput_device = \"none\"\n[sip]\nbind = \"127.0.0.1:{port}\"\ncodecs = [\"pcma\"]\n\
         [[line]]\nnumber = 1\nkind = \"sip\"\n"
    );
    let at = SocketAddr::from(([127, 0, 0, 1], port));
    let (rt, _) = common::station(d, &studio, Some(script));
    let caller = std::thread::spawn(move || sipp("call.xml", at, &["-d", "6000"]));
    until(&rt, "ringing", |rt| state(rt, 1) == LineState::Ringing);
    until(&rt, "on air by the script", |rt| {
        state(rt, 1) == LineState::OnAir
    });
    until(&rt, "audio both ways", |rt| {
        rt.rtp_packets(1).is_some_and(|(i, o)| i > 50 && o > 50)
    });
    until(&rt, "ended", |rt| state(rt, 1) == LineState::Ended);
    assert!(caller.join().unwrap().status.success());
    // nobody else moves the line in this test: the script did, in order
    let moved: Vec<LineState> = events(&rt)
        .into_iter()
        .filter_map(|e| match e {
            ShowEvent::LineStateChanged { line: 1, to, .. } => Some(to),
            _ => None,
        })
        .collect();
    assert_eq!(
        moved,
        [
            LineState::Ringing,
            LineState::Screening,
            LineState::Hold,
            LineState::OnAir,
            LineState::Ended
        ]
    );
    assert!(events(&rt).iter().any(|e| matches!(e,
        ShowEvent::CallEnded { line: 1, reason, .. } if reason == "来电方挂断")));
    rt.stop();
}

/// A caller presses keys (RFC 4733 telephone events, as sipp's pcaps send
/// them): each key is journaled once for its line and shown on the board.
#[test]
fn keys_a_caller_presses_reach_the_journal_and_the_board() {
    if !installed(&["sipp"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (rt, at) = show(dir.path(), &[1]);
    let caller = std::thread::spawn(move || sipp("call_dtmf.xml", at, &["-d", "1500"]));
    until(&rt, "ringing", |rt| state(rt, 1) == LineState::Ringing);
    screener(&rt, 1, LineState::Screening);
    until(&rt, "keys on the board", |rt| {
        rt.board().lines[&1].keys == "1#"
    });
    let keyed: String = events(&rt)
        .into_iter()
        .filter_map(|e| match e {
            ShowEvent::CallerKeyed { line: 1, keys } => Some(keys),
            _ => None,
        })
        .collect();
    assert_eq!(keyed, "1#", "each key once");
    until(&rt, "ended", |rt| state(rt, 1) == LineState::Ended);
    assert!(caller.join().unwrap().status.success());
    rt.stop();
}
