//! Four seats (host, screener, 场控, back office) on one runtime, each
//! sending random commands: every seat's board ends equal to the runtime's
//! (as its role sees it) — over a clean link (property test), and through
//! a local proxy that delays every chunk and cuts connections.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use airbridge_hub::SeatClient;
use airbridge_runtime::{Action, Role, Runtime};
use airbridge_show::{CallerNote, ItemRef, LineState, ShowBoard};
use proptest::prelude::*;

mod common;
use common::*;

const ROLES: [Role; 4] = [Role::Host, Role::Screener, Role::Control, Role::Backoffice];

fn action(kind: u8, line: u8, arg: u8) -> Action {
    let line = 1 + line % 3;
    let states = [
        LineState::Screening,
        LineState::Hold,
        LineState::Ready,
        LineState::OnAir,
        LineState::Ended,
        LineState::Idle,
    ];
    match kind % 8 {
        0 => Action::Ring {
            line,
            caller: Some(format!("1380000{:04}", arg)),
        },
        1 | 2 => Action::Move {
            line,
            to: states[usize::from(arg) % states.len()],
        },
        3 => Action::Note {
            line,
            note: CallerNote {
                name: "李四光".into(),
                topic: format!("话题{arg}"),
                private: arg.is_multiple_of(5),
                ..CallerNote::default()
            },
        },
        4 => Action::Pin(ItemRef::Message(format!("douyin:{arg}"))),
        5 => Action::Answered(ItemRef::Message(format!("douyin:{arg}"))),
        6 => Action::Message {
            text: format!("提示 {arg}"),
        },
        _ => Action::QueueOrder {
            lines: vec![line, 1 + (line % 3)],
        },
    }
}

/// Waits until every seat's board equals the runtime's for its role.
fn converge(rt: &Runtime, seats: &[(Role, SeatClient)], boards: &mut [ShowBoard]) {
    let head = rt.journal().last_seq();
    let end = Instant::now() + Duration::from_secs(60);
    for ((role, client), board) in seats.iter().zip(boards.iter_mut()) {
        while board.last_seq < head {
            assert!(
                Instant::now() < end,
                "{role:?} stuck at {} of {head} ({:?})",
                board.last_seq,
                client.state()
            );
            if let Ok(ev) = client.events.recv_timeout(Duration::from_millis(100)) {
                assert_eq!(ev.seq, board.last_seq + 1, "{role:?}: gap or repeat");
                airbridge_show::Projection::apply(board, &ev);
            }
        }
        assert_eq!(*board, board_for(rt, *role, head), "{role:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]
    #[test]
    fn every_seat_sees_the_runtimes_board(cmds in prop::collection::vec((0usize..4, any::<u8>(), any::<u8>(), any::<u8>()), 10..40)) {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime(dir.path());
        let hub = hub(&rt, "127.0.0.1:0".parse().unwrap());
        let seats: Vec<(Role, SeatClient)> =
            ROLES.iter().map(|r| (*r, seat(&hub.url(), *r, 1))).collect();
        for (_, s) in &seats {
            s.wait_connected(Duration::from_secs(10)).unwrap();
        }
        for (who, kind, line, arg) in cmds {
            // refusals are part of the show: every seat must see them too
            let _ = seats[who].1.act_wait(action(kind, line, arg), Duration::from_secs(10));
        }
        let mut boards = vec![ShowBoard::default(); seats.len()];
        converge(&rt, &seats, &mut boards);
        drop(seats);
        hub.stop();
        rt.stop();
    }
}

/// A TCP proxy that delays each chunk by 0–30 ms and cuts every connection
/// after a random 0.2–1.2 s; `cut` stops it from cutting.
fn lossy_proxy(
    target: SocketAddr,
    stop_cutting: Arc<AtomicBool>,
    cuts: Arc<AtomicU64>,
) -> SocketAddr {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        rt.block_on(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    return;
                };
                let stop_cutting = Arc::clone(&stop_cutting);
                let cuts = Arc::clone(&cuts);
                tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let (ri, wi) = inbound.into_split();
                    let (ro, wo) = outbound.into_split();
                    let life = Duration::from_millis(200 + rand::random::<u64>() % 1000);
                    let a = tokio::spawn(pipe(ri, wo));
                    let b = tokio::spawn(pipe(ro, wi));
                    tokio::time::sleep(life).await;
                    if !stop_cutting.load(Ordering::Relaxed) {
                        cuts.fetch_add(1, Ordering::Relaxed);
                        a.abort();
                        b.abort();
                    } else {
                        let _ = tokio::join!(a, b);
                    }
                });
            }
        });
    });
    addr
}

async fn pipe(mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 30)).await;
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[test]
fn seats_converge_through_a_slow_link_that_keeps_breaking() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let hub = hub(&rt, "127.0.0.1:0".parse().unwrap());
    let stop_cutting = Arc::new(AtomicBool::new(false));
    let cuts = Arc::new(AtomicU64::new(0));
    let proxy = lossy_proxy(
        hub.local_addr(),
        Arc::clone(&stop_cutting),
        Arc::clone(&cuts),
    );
    let url = format!("ws://{proxy}");
    let seats: Vec<(Role, SeatClient)> = ROLES.iter().map(|r| (*r, seat(&url, *r, 1))).collect();
    // commands from every seat for 4 s; those sent while a link is down are
    // refused at the seat with a message, never lost without a word
    let end = Instant::now() + Duration::from_secs(4);
    let (mut sent, mut refused_at_seat) = (0, 0);
    let mut i: u32 = 0;
    while Instant::now() < end {
        i += 1;
        let (_, s) = &seats[(i % 4) as usize];
        match s.act(action((i % 8) as u8, (i % 3) as u8, (i % 200) as u8)) {
            Ok(_) => sent += 1,
            Err(why) => {
                assert!(!why.is_empty());
                refused_at_seat += 1;
            }
        }
        // the runtime also writes on its own (as feeds and speech do)
        rt.execute(
            "screener",
            Action::Message {
                text: format!("m{i}"),
            },
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    stop_cutting.store(true, Ordering::Relaxed);
    assert!(cuts.load(Ordering::Relaxed) >= 4, "the proxy cut links");
    assert!(
        sent > 0,
        "some commands went through ({refused_at_seat} refused at the seat)"
    );
    let mut boards = vec![ShowBoard::default(); seats.len()];
    converge(&rt, &seats, &mut boards);
    drop(seats);
    hub.stop();
    rt.stop();
}
