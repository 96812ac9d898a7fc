//! Helpers shared by the seat tests: a runtime without audio on a temp
//! station, a plain listener, seats by role, the board a role should see.
#![allow(dead_code, clippy::unwrap_used, clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_hub::{ClientOptions, Hub, HubOptions, SeatClient, Tokens};
use airbridge_runtime::{DeskSource, KbSource, Role, Runtime, RuntimeOptions, StationPaths};
use airbridge_show::{Projection, ShowBoard};

pub const TOKENS: &str = "\
# name role token
host1 host hhhhhhhhhhhhhhhhhhhh
screen screener ssssssssssssssssssss
ctl control cccccccccccccccccccc
bo backoffice bbbbbbbbbbbbbbbbbbbb
watch observer oooooooooooooooooooo
";

pub fn token(role: Role) -> &'static str {
    match role {
        Role::Host | Role::Assistant => "hhhhhhhhhhhhhhhhhhhh",
        Role::Screener => "ssssssssssssssssssss",
        Role::Control => "cccccccccccccccccccc",
        Role::Backoffice => "bbbbbbbbbbbbbbbbbbbb",
        Role::Observer => "oooooooooooooooooooo",
    }
}

pub fn runtime(dir: &Path) -> Runtime {
    let config = ConfigSet::embedded_demo().unwrap();
    let paths = StationPaths::under(dir, &config);
    let mut last = None;
    // a runtime restarted in the same test waits for the old one's journal
    for _ in 0..60 {
        match Runtime::start(RuntimeOptions {
            kb: KbSource::None,
            speech: false,
            desk: DeskSource::FromPaths,
            ..RuntimeOptions::new(config.clone(), paths.clone(), Default::default())
        }) {
            Ok(rt) => return rt,
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("runtime: {last:?}");
}

pub fn hub(rt: &Runtime, listen: SocketAddr) -> Hub {
    Hub::start(
        rt.clone(),
        HubOptions {
            listen,
            tls: None,
            tokens: Tokens::parse("seats.tokens", TOKENS).unwrap(),
            overlay: Default::default(),
        },
    )
    .unwrap()
}

pub fn seat(url: &str, role: Role, from: u64) -> SeatClient {
    SeatClient::connect(
        ClientOptions {
            url: url.to_owned(),
            token: token(role).to_owned(),
            ca_file: None,
            from,
            meters: false,
        },
        || {},
    )
}

/// The board a seat of `role` should have: the runtime's journal with the
/// role's redaction, up to `upto`.
pub fn board_for(rt: &Runtime, role: Role, upto: u64) -> ShowBoard {
    let mut b = ShowBoard::default();
    for ev in rt.journal().replay(1).unwrap() {
        let ev = ev.unwrap();
        if ev.seq > upto {
            break;
        }
        b.apply(&role.redact(&ev).unwrap_or(ev));
    }
    b
}

/// Applies what the seat received until it has `upto`.
pub fn catch_up(client: &SeatClient, board: &mut ShowBoard, upto: u64) {
    let end = Instant::now() + Duration::from_secs(20);
    while board.last_seq < upto {
        assert!(
            Instant::now() < end,
            "seat stuck at {} of {upto}",
            board.last_seq
        );
        if let Ok(ev) = client.events.recv_timeout(Duration::from_millis(200)) {
            assert_eq!(ev.seq, board.last_seq + 1, "gap or repeat");
            board.apply(&ev);
        }
    }
}
