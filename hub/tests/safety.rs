//! On-air safety from seats on other PCs: the dump button over the wire
//! (roles checked by the runtime), the delay's state on the meter stream,
//! the knowledge base's review queue and entry history as answers.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_hub::protocol::{Answer, Ask};
use airbridge_hub::{ClientOptions, LinkState, SeatClient};
use airbridge_runtime::{Action, KbSource, Role, Runtime, RuntimeOptions, StationPaths};
use airbridge_show::DelayCommand;
use common::{hub, token};

fn runtime(dir: &std::path::Path) -> Runtime {
    let config = ConfigSet::embedded_demo().unwrap();
    let paths = StationPaths::under(dir, &config);
    let studio = airbridge_configs::studio::parse_studio(
        "studio.toml",
        "[audio]\noutput_device = \"none\"\n[delay]\nsecs = 3\n",
        dir,
        config.show.lines,
    );
    Runtime::start(RuntimeOptions {
        kb: KbSource::FromPaths,
        speech: false,
        ..RuntimeOptions::new(config, paths, studio)
    })
    .unwrap()
}

fn seat_with_meters(url: &str, role: Role) -> SeatClient {
    SeatClient::connect(
        ClientOptions {
            url: url.to_owned(),
            token: token(role).to_owned(),
            ca_file: None,
            from: 0,
            meters: true,
        },
        || {},
    )
}

#[test]
fn a_remote_seat_dumps_and_sees_the_delay_on_the_meter_stream() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let hub = hub(&rt, "127.0.0.1:0".parse().unwrap());
    let url = format!("ws://{}", hub.local_addr());
    let host = seat_with_meters(&url, Role::Host);
    let watch = seat_with_meters(&url, Role::Observer);
    let dump = Action::Delay {
        command: DelayCommand::Dump { secs: None },
    };
    let t = Duration::from_secs(10);
    let end = Instant::now() + t;
    while !(matches!(host.state(), LinkState::Connected)
        && matches!(watch.state(), LinkState::Connected))
    {
        assert!(Instant::now() < end, "seats did not connect");
        std::thread::sleep(Duration::from_millis(20));
    }
    let refused = watch.act_wait(dump.clone(), t).unwrap_err();
    assert!(!refused.contains("正在连接"), "{refused}");
    host.act_wait(dump, t).unwrap();
    // the meter stream carries the delay: dumped once, rebuilding
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some((_, f)) = host.meters()
            && let Some(d) = f.delay
            && d.dumps == 1
        {
            assert_eq!(d.target_ms, 3_000);
            assert!(d.now_ms < 3_000, "{d:?}");
            break;
        }
        assert!(Instant::now() < end, "no delay on the meter stream");
        std::thread::sleep(Duration::from_millis(50));
    }
    // the review queue and an entry's history, as the KB editor asks
    let kb = rt.kb().wait(Duration::from_secs(60)).unwrap().unwrap();
    let id = kb.entries[0].id.clone();
    match host.ask_wait(Ask::KbEntry { id: id.clone() }, t).unwrap() {
        Answer::KbEntry {
            entry,
            version,
            history,
        } => {
            assert_eq!(entry.id, id);
            assert_eq!(history.len() as u32, version);
        }
        other => panic!("{other:?}"),
    }
    match host
        .ask_wait(
            Ask::KbReview {
                today: "2026-12-02".into(),
            },
            t,
        )
        .unwrap()
    {
        Answer::KbReview(_) => {}
        other => panic!("{other:?}"),
    }
    // the 办事攻略 of the day, compiled by the runtime for a remote seat
    match host
        .ask_wait(
            Ask::Guide {
                from: "2026-01-01".into(),
                to: "2026-12-31".into(),
            },
            t,
        )
        .unwrap()
    {
        Answer::Guide(g) => assert!(g.title.contains("办事攻略")),
        other => panic!("{other:?}"),
    }
    let refused = watch
        .ask_wait(
            Ask::Guide {
                from: "2026-01-01".into(),
                to: "bad".into(),
            },
            t,
        )
        .unwrap_err();
    assert!(!refused.is_empty());
    drop(hub);
    rt.stop();
}
