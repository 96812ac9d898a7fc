//! The 场控 decides what reaches the screens: WeChat set to `hold` in
//! studio.toml, real pushes over a socket, seats over the hub. Held
//! messages never reach a host seat (the journal projection and the seat
//! model agree); an approval shows them; approve-all-from-author; a blocked
//! author's new messages are journaled as blocked, never shown, across a
//! restart; a blocked caller rings marked; a host may not moderate.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_configs::studio::parse_studio;
use airbridge_feeds::wechat;

use airbridge_runtime::{
    Action, DeskSource, KbSource, Outcome, Role, Runtime, RuntimeOptions, StationPaths,
};
use airbridge_show::{ItemRef, Moderation, ShowBoard, ShowEvent};

mod common;
use common::*;

fn private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn moderated_runtime(dir: &Path) -> (Runtime, SocketAddr) {
    private(&dir.join("wechat.token"), "tok");
    let studio = "[audio]\noutput_device = \"none\"\n\
                  [feeds]\nlisten = \"127.0.0.1:0\"\n\
                  [feeds.wechat]\ntoken_file = \"wechat.token\"\nmode = \"plain\"\n\
                  [moderation]\nwechat = \"hold\"\n";
    let config = ConfigSet::embedded_demo().unwrap();
    let load = parse_studio("studio.toml", studio, dir, config.show.lines);
    assert!(load.issues.is_empty(), "{:?}", load.issues);
    let paths = StationPaths::under(dir, &config);
    let mut last = None;
    for _ in 0..60 {
        match Runtime::start(RuntimeOptions {
            kb: KbSource::None,
            speech: false,
            desk: DeskSource::None,
            ..RuntimeOptions::new(config.clone(), paths.clone(), load.clone())
        }) {
            Ok(rt) => {
                let feeds = rt.parts().into_iter().find(|p| p.name == "feeds").unwrap();
                let text = feeds.to_string();
                let addr = text
                    .split("http://")
                    .nth(1)
                    .and_then(|r| r.split(' ').next())
                    .unwrap_or_else(|| panic!("{text}"))
                    .parse()
                    .unwrap();
                return (rt, addr);
            }
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{last:?}");
}

fn push(addr: SocketAddr, from: &str, msg_id: u64, text: &str) {
    let path = format!(
        "/wechat?timestamp=1735689600&nonce=n&signature={}",
        wechat::signature(&["tok", "1735689600", "n"])
    );
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_0]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName><CreateTime>1735689600</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    );
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
}

fn wait_board(rt: &Runtime, what: &str, ok: impl Fn(&ShowBoard) -> bool) {
    let end = Instant::now() + Duration::from_secs(15);
    while !ok(&rt.board()) {
        assert!(Instant::now() < end, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_control_seat_decides_what_reaches_the_screens() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, feeds) = moderated_runtime(dir.path());
    let hub = hub(&rt, "127.0.0.1:0".parse().unwrap());
    let host = seat(&hub.url(), Role::Host, 1);
    let control = seat(&hub.url(), Role::Control, 1);
    host.wait_connected(Duration::from_secs(10)).unwrap();
    control.wait_connected(Duration::from_secs(10)).unwrap();
    let t = Duration::from_secs(10);

    push(feeds, "oUserA", 9001, "社保卡怎么补办？");
    wait_board(&rt, "held", |b| b.audience.held.len() == 1);
    let board = rt.board();
    assert!(
        board.audience.recent_questions.is_empty(),
        "nothing shown yet"
    );
    let held_id = board.audience.held[0].id.clone();
    assert_eq!(board.audience.held[0].text, "社保卡怎么补办？");

    // a host may not moderate
    assert!(
        host.act_wait(
            Action::Approve {
                item: ItemRef::Message(held_id.clone()),
                all_from_author: false
            },
            t
        )
        .is_err()
    );

    // what each seat has now: the host nothing of the held text
    let head = rt.journal().last_seq();
    let (mut hb, mut cb) = (ShowBoard::default(), ShowBoard::default());
    catch_up(&host, &mut hb, head);
    catch_up(&control, &mut cb, head);
    assert!(hb.audience.held.is_empty() && hb.audience.recent_questions.is_empty());
    assert_eq!(cb.audience.held.len(), 1, "the 场控 sees it waiting");
    assert_eq!(hb, board_for(&rt, Role::Host, head));
    for e in rt.journal().replay(1).unwrap() {
        let e = e.unwrap();
        if let Some(r) = Role::Host.redact(&e)
            && let ShowEvent::AudienceMessage { text, .. } = r.event
        {
            assert!(text.is_empty(), "held text never sent to a host seat");
        }
    }

    // approved: on every screen
    control
        .act_wait(
            Action::Approve {
                item: ItemRef::Message(held_id.clone()),
                all_from_author: false,
            },
            t,
        )
        .unwrap();
    let head = rt.journal().last_seq();
    catch_up(&host, &mut hb, head);
    assert_eq!(hb.audience.recent_questions.len(), 1);
    assert_eq!(hb.audience.recent_questions[0].text, "社保卡怎么补办？");

    // approve everything one author has waiting, with one action
    push(feeds, "oUserB", 9002, "公积金怎么提取？");
    push(feeds, "oUserB", 9003, "公积金提取要什么材料？");
    push(feeds, "oUserD", 9004, "医保怎么报销？");
    wait_board(&rt, "three held", |b| b.audience.held.len() == 3);
    let b_first = rt.board().audience.held[0].id.clone();
    control
        .act_wait(
            Action::Approve {
                item: ItemRef::Message(b_first),
                all_from_author: true,
            },
            t,
        )
        .unwrap();
    wait_board(&rt, "B approved", |b| b.audience.held.len() == 1);
    let d = rt.board().audience.held[0].id.clone();
    control
        .act_wait(
            Action::Reject {
                item: ItemRef::Message(d),
            },
            t,
        )
        .unwrap();
    wait_board(&rt, "D rejected", |b| b.audience.held.is_empty());

    // block an author: their next message is journaled as blocked, never shown
    push(feeds, "oUserC", 9005, "低保怎么申请？");
    wait_board(&rt, "C held", |b| b.audience.held.len() == 1);
    let c = rt.board().audience.held[0].id.clone();
    control
        .act_wait(
            Action::Block {
                item: ItemRef::Message(c),
            },
            t,
        )
        .unwrap();
    wait_board(&rt, "C blocked", |b| {
        b.audience.held.is_empty() && b.audience.blocked.len() == 1
    });
    push(feeds, "oUserC", 9006, "低保申请要多久？");
    let blocked_events = |rt: &Runtime| {
        rt.journal()
            .replay(1)
            .unwrap()
            .filter(|e| {
                matches!(
                    e.as_ref().unwrap().event,
                    ShowEvent::AudienceMessage {
                        moderation: Moderation::Blocked,
                        ..
                    }
                )
            })
            .count()
    };
    let end = Instant::now() + Duration::from_secs(10);
    while blocked_events(&rt) < 1 {
        assert!(Instant::now() < end);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(rt.board().audience.held.is_empty());

    // a blocked caller rings marked
    let call = match rt
        .execute(
            "screener",
            Action::Ring {
                line: 1,
                caller: Some("13900000001".into()),
            },
        )
        .unwrap()
    {
        Outcome::Rang(s) => s,
        o => panic!("{o:?}"),
    };
    control
        .act_wait(
            Action::Block {
                item: ItemRef::Call(call),
            },
            t,
        )
        .unwrap();
    rt.execute(
        "screener",
        Action::Move {
            line: 1,
            to: airbridge_show::LineState::Ended,
        },
    )
    .unwrap();
    rt.execute(
        "screener",
        Action::Move {
            line: 1,
            to: airbridge_show::LineState::Idle,
        },
    )
    .unwrap();
    rt.execute(
        "screener",
        Action::Ring {
            line: 1,
            caller: Some("13900000001".into()),
        },
    )
    .unwrap();
    wait_board(&rt, "marked", |b| {
        b.lines
            .get(&1)
            .is_some_and(|l| l.caller_masked.starts_with("已拉黑"))
    });
    assert_eq!(rt.blocklist().len(), 2);

    // the block list survives a restart
    drop((host, control));
    hub.stop();
    rt.stop();
    drop(rt);
    let (rt, feeds) = moderated_runtime(dir.path());
    assert_eq!(rt.blocklist().len(), 2);
    let before = blocked_events(&rt);
    push(feeds, "oUserC", 9007, "重启后再问");
    let end = Instant::now() + Duration::from_secs(10);
    while blocked_events(&rt) <= before {
        assert!(Instant::now() < end, "blocked across the restart");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(rt.board().audience.held.is_empty());
    rt.stop();
}
