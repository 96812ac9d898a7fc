//! Seats on other PCs, over real sockets on 127.0.0.1: tokens, roles (the
//! runtime refuses and journals), the journal stream with no gap and no
//! repeat across reconnects and a runtime restart.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use airbridge_hub::protocol::{Answer, Ask};
use airbridge_hub::{ClientOptions, Hub, HubOptions, LinkState, SeatClient, Tokens};
use airbridge_runtime::{Action, Outcome, Role, Runtime};
use airbridge_show::{CallerNote, ItemRef, LineState, ShowBoard, ShowEvent};

mod common;
use common::*;

fn refusals(rt: &Runtime) -> Vec<(String, String, String)> {
    rt.journal()
        .replay(1)
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            match e.event {
                ShowEvent::CommandRefused { action, reason } => Some((e.seat, action, reason)),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn tokens_and_roles_are_checked_by_the_runtime_and_refusals_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let hub = hub(&rt, "127.0.0.1:0".parse().unwrap());
    let url = hub.url();

    // no token at all, and a wrong one: refused before the WebSocket opens
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let no_token = tokio.block_on(tokio_tungstenite::connect_async(format!("{url}/seat")));
    match no_token {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("{other:?}"),
    }
    let wrong = SeatClient::connect(
        ClientOptions {
            url: url.clone(),
            token: "not-a-token-of-this-station".into(),
            ca_file: None,
            from: 1,
            meters: false,
        },
        || {},
    );
    let why = wrong.wait_connected(Duration::from_secs(10)).unwrap_err();
    assert!(why.contains("401"), "{why}");
    assert!(matches!(wrong.state(), LinkState::Refused(_)));
    // journaled by the listener once the refusal is sent (just after the
    // seat has read it)
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let r = refusals(&rt);
        let has = |want: &str| {
            r.iter()
                .any(|(seat, _, why)| seat == "seats" && why == want)
        };
        if has("no token") && has("wrong token") {
            break;
        }
        assert!(Instant::now() < end, "{r:?}");
        std::thread::sleep(Duration::from_millis(20));
    }

    let screener = seat(&url, Role::Screener, 1);
    let w = screener.wait_connected(Duration::from_secs(10)).unwrap();
    assert_eq!((w.seat.as_str(), w.role), ("screen", Role::Screener));
    assert_eq!(w.config.show.lines, rt.config().show.lines);
    assert_eq!(
        w.config.station.tickets_store, None,
        "no local store names leave the runtime"
    );
    let host = seat(&url, Role::Host, 1);
    host.wait_connected(Duration::from_secs(10)).unwrap();
    let bo = seat(&url, Role::Backoffice, 1);
    bo.wait_connected(Duration::from_secs(10)).unwrap();
    let watcher = seat(&url, Role::Observer, 1);
    watcher.wait_connected(Duration::from_secs(10)).unwrap();
    let t = Duration::from_secs(10);

    // the screener rings line 1 and screens the caller
    let call = match screener
        .act_wait(
            Action::Ring {
                line: 1,
                caller: Some("13800001234".into()),
            },
            t,
        )
        .unwrap()
    {
        Outcome::Rang(seq) => seq,
        other => panic!("{other:?}"),
    };
    screener
        .act_wait(
            Action::Move {
                line: 1,
                to: LineState::Screening,
            },
            t,
        )
        .unwrap();
    // a host may not move a line: refused by the runtime, journaled, nothing changed
    let before = rt.board().line_state(1);
    let why = host
        .act_wait(
            Action::Move {
                line: 1,
                to: LineState::OnAir,
            },
            t,
        )
        .unwrap_err();
    assert!(why.contains("主持人"), "{why}");
    assert_eq!(rt.board().line_state(1), before);
    // an observer may do nothing
    assert!(
        watcher
            .act_wait(Action::Answered(ItemRef::Call(call)), t)
            .is_err()
    );
    // the host may mark the call answered
    host.act_wait(Action::Answered(ItemRef::Call(call)), t)
        .unwrap();
    // the screener notes the caller, and takes the call offline: a ticket
    screener
        .act_wait(
            Action::Note {
                line: 1,
                note: CallerNote {
                    name: "欧阳娜娜".into(),
                    topic: "社保".into(),
                    ..CallerNote::default()
                },
            },
            t,
        )
        .unwrap();
    let ticket = match screener
        .act_wait(
            Action::Offline {
                item: ItemRef::Call(call),
                ticket: None,
            },
            t,
        )
        .unwrap()
    {
        Outcome::Ticket(Some(id)) => id,
        other => panic!("{other:?}"),
    };
    // the host asks for the ticket (with the caller's number): refused, journaled
    let why = host
        .ask_wait(Ask::Ticket { id: ticket.clone() }, t)
        .unwrap_err();
    assert!(why.contains("联系方式"), "{why}");
    // a back-office command from a host token: refused
    assert!(host.ask_wait(Ask::Tickets, t).is_err());
    // the back office reads it
    match bo.ask_wait(Ask::Ticket { id: ticket.clone() }, t).unwrap() {
        Answer::Ticket(d) => assert_eq!(d.ticket.id, ticket),
        other => panic!("{other:?}"),
    }
    match bo.ask_wait(Ask::Tickets, t).unwrap() {
        Answer::Tickets(s) => assert!(
            s.queues
                .iter()
                .any(|(_, l)| l.iter().any(|x| x.id == ticket))
        ),
        other => panic!("{other:?}"),
    }
    // statistics for a typed period, grouped: the back office only
    let today = chrono::Utc::now()
        .with_timezone(&rt.config().station.time_zone)
        .date_naive()
        .to_string();
    let report = Ask::TicketReport {
        from: today.clone(),
        to: today,
        by: Some(airbridge_tickets::report::GroupBy::Channel),
    };
    assert!(host.ask_wait(report.clone(), t).is_err());
    match bo.ask_wait(report, t).unwrap() {
        Answer::TicketReport(r) => {
            assert_eq!(r.received, 1);
            assert_eq!(r.groups[0].key, "call");
        }
        other => panic!("{other:?}"),
    }
    let bad = Ask::TicketReport {
        from: "昨天".into(),
        to: "2026-13-01".into(),
        by: None,
    };
    assert!(bo.ask_wait(bad, t).unwrap_err().contains("不是日期"));
    let r = refusals(&rt);
    for (seat, what) in [
        ("host1", "line 1"),
        ("watch", "answered"),
        ("host1", "查看工单（含联系方式）"),
        ("host1", "查看工单"),
    ] {
        assert!(
            r.iter().any(|(s, a, _)| s == seat && a.contains(what)),
            "{seat} {what}: {r:?}"
        );
    }

    // notes: names in full for the screener, masked for the host
    let head = rt.journal().last_seq();
    let mut sb = ShowBoard::default();
    let mut hb = ShowBoard::default();
    catch_up(&screener, &mut sb, head);
    catch_up(&host, &mut hb, head);
    assert_eq!(sb.lines[&1].note.as_ref().unwrap().name, "欧阳娜娜");
    assert_eq!(hb.lines[&1].note.as_ref().unwrap().name, "欧阳**");
    assert_eq!(sb, board_for(&rt, Role::Screener, head));
    assert_eq!(hb, board_for(&rt, Role::Host, head));
    drop((screener, host, bo, watcher, wrong));
    hub.stop();
    rt.stop();
}

#[test]
fn a_seat_resumes_from_its_last_event_and_reconnects_after_a_runtime_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let hub1 = hub(&rt, "127.0.0.1:0".parse().unwrap());
    let addr = hub1.local_addr();
    let url = hub1.url();
    for i in 0..50 {
        rt.execute(
            "screener",
            Action::Message {
                text: format!("m{i}"),
            },
        )
        .unwrap();
    }
    // a seat takes half, is killed, and resumes from its last sequence number
    let a = seat(&url, Role::Screener, 1);
    let mut got = Vec::new();
    while got.len() < 25 {
        got.push(a.events.recv_timeout(Duration::from_secs(10)).unwrap().seq);
    }
    drop(a);
    for i in 50..80 {
        rt.execute(
            "screener",
            Action::Message {
                text: format!("m{i}"),
            },
        )
        .unwrap();
    }
    let b = seat(&url, Role::Screener, got.last().unwrap() + 1);
    let head = rt.journal().last_seq();
    while *got.last().unwrap() < head {
        got.push(b.events.recv_timeout(Duration::from_secs(10)).unwrap().seq);
    }
    let want: Vec<u64> = (1..=head).collect();
    assert_eq!(got, want, "no gap, no repeat");

    // the runtime restarts (same journal, same port): the seat reconnects by itself
    hub1.stop();
    rt.stop();
    drop(rt);
    let end = Instant::now() + Duration::from_secs(10);
    while !matches!(b.state(), LinkState::Reconnecting { .. }) {
        assert!(Instant::now() < end, "{:?}", b.state());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        b.act(Action::Message { text: "x".into() })
            .unwrap_err()
            .contains("重连中")
    );
    let rt2 = runtime(dir.path());
    let _hub2 = {
        let mut h = None;
        for _ in 0..50 {
            if let Ok(x) = Hub::start(
                rt2.clone(),
                HubOptions {
                    listen: addr,
                    tls: None,
                    tokens: Tokens::parse("t", TOKENS).unwrap(),
                    overlay: Default::default(),
                },
            ) {
                h = Some(x);
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        h.expect("port free again")
    };
    b.wait_connected(Duration::from_secs(15)).unwrap();
    b.act_wait(
        Action::Message {
            text: "after restart".into(),
        },
        Duration::from_secs(10),
    )
    .unwrap();
    let head = rt2.journal().last_seq();
    while *got.last().unwrap() < head {
        got.push(b.events.recv_timeout(Duration::from_secs(10)).unwrap().seq);
    }
    let want: Vec<u64> = (1..=head).collect();
    assert_eq!(got, want, "no gap, no repeat across the restart");
}
