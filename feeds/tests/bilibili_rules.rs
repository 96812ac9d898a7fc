#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::disallowed_methods)]
//! The bilibili open platform as it behaves (blivedm and the official C#
//! demo do the same): the app heartbeat runs on its own timer, through a
//! socket outage; a refused auth or an outage past the platform's limit
//! starts a new game (the old `auth_body` is dead); a socket that stops
//! answering heartbeats is noticed; the game is ended on shutdown.
//!
//! The fake platform closes a game that had no app heartbeat for
//! `GAME_LIMIT` (the real one: 60 s) and refuses auth for a closed game.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airbridge_feeds::bilibili::{self, BiliConfig, OP_AUTH, OP_HEARTBEAT};
use airbridge_feeds::health::SourceHealth;
use airbridge_feeds::tls::ClientTls;
use axum::extract::State;
use axum::routing::post;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

const GAME_LIMIT: Duration = Duration::from_secs(2);

/// How the fake's WebSocket behaves.
const WS_NORMAL: u8 = 0;
const WS_REFUSE: u8 = 1;
const WS_SILENT: u8 = 2;

#[derive(Default)]
struct Fake {
    starts: AtomicU32,
    heartbeats: AtomicU32,
    ends: AtomicU32,
    /// Auth bodies the WebSocket accepted / refused.
    auths_ok: Mutex<Vec<String>>,
    auths_refused: AtomicU32,
    ws_mode: AtomicU8,
    api_down: AtomicBool,
    /// game id → last app heartbeat (or start)
    games: Mutex<HashMap<String, Instant>>,
    ws_url: Mutex<String>,
}

impl Fake {
    fn alive(&self, game: &str) -> bool {
        self.games
            .lock()
            .unwrap()
            .get(game)
            .is_some_and(|t| t.elapsed() < GAME_LIMIT)
    }
}

async fn api(
    State(fake): State<Arc<Fake>>,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, String) {
    if fake.api_down.load(Ordering::SeqCst) {
        return (axum::http::StatusCode::BAD_GATEWAY, "down".into());
    }
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let ok = |data: String| {
        (
            axum::http::StatusCode::OK,
            format!(r#"{{"code":0,"data":{data}}}"#),
        )
    };
    match uri.path() {
        "/v2/app/start" => {
            let n = fake.starts.fetch_add(1, Ordering::SeqCst) + 1;
            let game = format!("g-{n}");
            fake.games
                .lock()
                .unwrap()
                .insert(game.clone(), Instant::now());
            let url = fake.ws_url.lock().unwrap().clone();
            ok(format!(
                r#"{{"game_info":{{"game_id":"{game}"}},"websocket_info":{{"auth_body":"AUTH-{game}","wss_link":["{url}"]}},"anchor_info":{{"room_id":1}}}}"#
            ))
        }
        "/v2/app/heartbeat" => {
            fake.heartbeats.fetch_add(1, Ordering::SeqCst);
            let game = v["game_id"].as_str().unwrap_or("").to_owned();
            if fake.alive(&game) {
                fake.games.lock().unwrap().insert(game, Instant::now());
                ok("{}".into())
            } else {
                // the platform's answer for a closed game
                (
                    axum::http::StatusCode::OK,
                    r#"{"code":7003,"message":"game closed"}"#.into(),
                )
            }
        }
        "/v2/app/end" => {
            fake.ends.fetch_add(1, Ordering::SeqCst);
            ok("{}".into())
        }
        _ => (axum::http::StatusCode::OK, r#"{"code":-404}"#.into()),
    }
}

async fn ws_conn(tcp: tokio::net::TcpStream, fake: Arc<Fake>) {
    if fake.ws_mode.load(Ordering::SeqCst) == WS_REFUSE {
        return; // dropped: the connect fails
    }
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let Some(Ok(Message::Binary(b))) = ws.next().await else {
        return;
    };
    let p = bilibili::decode(&b).unwrap();
    assert_eq!(p[0].op, OP_AUTH);
    let auth = String::from_utf8_lossy(&p[0].body).into_owned();
    let game = auth.trim_start_matches("AUTH-").to_owned();
    if !fake.alive(&game) {
        fake.auths_refused.fetch_add(1, Ordering::SeqCst);
        let _ = ws
            .send(Message::binary(bilibili::encode(
                8,
                1,
                1,
                br#"{"code":-1}"#,
            )))
            .await;
        return;
    }
    fake.auths_ok.lock().unwrap().push(auth);
    ws.send(Message::binary(bilibili::encode(8, 1, 1, br#"{"code":0}"#)))
        .await
        .unwrap();
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Binary(b) = m
            && bilibili::decode(&b)
                .unwrap()
                .iter()
                .any(|p| p.op == OP_HEARTBEAT)
            && fake.ws_mode.load(Ordering::SeqCst) == WS_NORMAL
        {
            let mut reply = bilibili::encode(3, 1, 0, &[0, 0, 0, 1]);
            reply.extend_from_slice(b"[object Object]");
            if ws.send(Message::binary(reply)).await.is_err() {
                return;
            }
        }
        if fake.ws_mode.load(Ordering::SeqCst) == WS_REFUSE {
            return; // the outage drops live sockets too
        }
    }
}

struct Running {
    rt: tokio::runtime::Runtime,
    stop: watch::Sender<bool>,
    client: Option<tokio::task::JoinHandle<()>>,
    health: Arc<SourceHealth>,
}

fn start(fake: Arc<Fake>, tweak: impl FnOnce(&mut BiliConfig)) -> Running {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let api_base = rt.block_on(async {
        let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        *fake.ws_url.lock().unwrap() = format!("ws://{}/sub", ws.local_addr().unwrap());
        let f = Arc::clone(&fake);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = ws.accept().await {
                tokio::spawn(ws_conn(tcp, Arc::clone(&f)));
            }
        });
        let api_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = api_l.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/v2/app/{*rest}", post(api))
            .with_state(Arc::clone(&fake));
        tokio::spawn(async move { axum::serve(api_l, app).await.unwrap() });
        format!("http://{addr}")
    });
    let mut cfg = BiliConfig {
        api_base,
        access_key_id: "k".into(),
        access_key_secret: "s".into(),
        app_id: 42,
        code: "CODE".into(),
        app_heartbeat_secs: 1,
        ws_heartbeat_secs: 1,
        ws_reply_timeout_ms: 10_000,
        game_timeout_secs: 60,
        auth_timeout_ms: 2000,
        backoff_min_ms: 100,
        backoff_max_ms: 400,
        extra_ca_file: None,
    };
    tweak(&mut cfg);
    let (tx, mut rx) = mpsc::channel(1024);
    rt.spawn(async move { while rx.recv().await.is_some() {} });
    let (stop, stop_rx) = watch::channel(false);
    let health = Arc::new(SourceHealth::new("bilibili"));
    let client = rt.spawn(bilibili::run_client(
        cfg,
        ClientTls::new(None).unwrap(),
        tx,
        Arc::clone(&health),
        stop_rx,
    ));
    Running {
        rt,
        stop,
        client: Some(client),
        health,
    }
}

impl Running {
    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(c) = self.client.take() {
            self.rt.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(5), c).await;
            });
        }
    }
}

fn wait_until(what: &str, secs: u64, ok: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_app_heartbeat_keeps_the_game_alive_while_the_socket_is_down() {
    let fake = Arc::new(Fake::default());
    fake.ws_mode.store(WS_REFUSE, Ordering::SeqCst);
    let mut r = start(Arc::clone(&fake), |_| {});
    wait_until("a game", 5, || fake.starts.load(Ordering::SeqCst) >= 1);
    // 4 s of socket outage (twice the fake's game limit)
    std::thread::sleep(Duration::from_secs(4));
    let beats = fake.heartbeats.load(Ordering::SeqCst);
    assert!(beats >= 3, "app heartbeats during the outage: {beats}");
    assert_eq!(
        fake.starts.load(Ordering::SeqCst),
        1,
        "the same game, kept alive"
    );
    // the socket comes back: the same game's auth is accepted
    fake.ws_mode.store(WS_NORMAL, Ordering::SeqCst);
    wait_until("auth", 10, || !fake.auths_ok.lock().unwrap().is_empty());
    assert_eq!(fake.auths_ok.lock().unwrap()[0], "AUTH-g-1");
    r.shutdown();
    assert_eq!(
        fake.ends.load(Ordering::SeqCst),
        1,
        "the game is ended on shutdown"
    );
}

#[test]
fn an_outage_past_the_platforms_limit_starts_a_new_game() {
    let fake = Arc::new(Fake::default());
    let mut r = start(Arc::clone(&fake), |c| c.game_timeout_secs = 2);
    wait_until("first auth", 10, || {
        !fake.auths_ok.lock().unwrap().is_empty()
    });
    // the whole network goes: API and socket, for longer than the limit
    fake.api_down.store(true, Ordering::SeqCst);
    fake.ws_mode.store(WS_REFUSE, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(4));
    fake.api_down.store(false, Ordering::SeqCst);
    fake.ws_mode.store(WS_NORMAL, Ordering::SeqCst);
    wait_until("a new game's auth", 15, || {
        fake.auths_ok
            .lock()
            .unwrap()
            .iter()
            .any(|a| a != "AUTH-g-1")
    });
    assert!(fake.starts.load(Ordering::SeqCst) >= 2);
    r.shutdown();
}

#[test]
fn a_refused_auth_starts_a_new_game() {
    let fake = Arc::new(Fake::default());
    // the app heartbeat is slow here, so only the refused auth can tell
    let mut r = start(Arc::clone(&fake), |c| c.app_heartbeat_secs = 60);
    wait_until("first auth", 10, || {
        !fake.auths_ok.lock().unwrap().is_empty()
    });
    // the platform closes game 1 behind the client's back; the socket drops
    fake.games.lock().unwrap().clear();
    fake.ws_mode.store(WS_REFUSE, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1500));
    fake.ws_mode.store(WS_NORMAL, Ordering::SeqCst);
    let end = Instant::now() + Duration::from_secs(15);
    while !fake
        .auths_ok
        .lock()
        .unwrap()
        .iter()
        .any(|a| a != "AUTH-g-1")
    {
        assert!(
            Instant::now() < end,
            "no new game: starts {}, auths ok {:?}, refused {}, heartbeats {}, health: {}",
            fake.starts.load(Ordering::SeqCst),
            fake.auths_ok.lock().unwrap(),
            fake.auths_refused.load(Ordering::SeqCst),
            fake.heartbeats.load(Ordering::SeqCst),
            r.health.detail(0.0, 0)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(fake.starts.load(Ordering::SeqCst) >= 2);
    r.shutdown();
}

#[test]
fn a_socket_that_stops_answering_heartbeats_is_replaced() {
    let fake = Arc::new(Fake::default());
    fake.ws_mode.store(WS_SILENT, Ordering::SeqCst);
    let mut r = start(Arc::clone(&fake), |c| c.ws_reply_timeout_ms = 800);
    wait_until("two connections", 10, || {
        fake.auths_ok.lock().unwrap().len() >= 2
    });
    let problems = r.health.errors.load(Ordering::Relaxed);
    assert!(problems >= 1);
    r.shutdown();
}
