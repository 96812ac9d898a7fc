#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! bilibili open-platform client against a local fake server (HTTP API +
//! WebSocket on 127.0.0.1): signed start/heartbeat calls, auth, heartbeats,
//! zlib and brotli multi-packet bodies, a server-side disconnect and the
//! reconnect with backoff — no message lost or duplicated.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airbridge_feeds::bilibili::{self, BiliConfig, OP_AUTH, OP_HEARTBEAT, OP_MESSAGE};
use airbridge_feeds::{Feeds, FeedsConfig};
use airbridge_show::ShowEvent;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use common::{fixture, open_journal};
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use tokio_tungstenite::tungstenite::Message;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn fixture_packets_decode() {
    let f = fixture("bilibili_ws_packets.json");
    let auth = bilibili::decode(&unhex(f["auth_packet_hex"].as_str().unwrap())).unwrap();
    assert_eq!(auth.len(), 1);
    assert_eq!(auth[0].op, OP_AUTH);
    assert_eq!(
        bilibili::encode(OP_AUTH, 1, 1, &auth[0].body),
        unhex(f["auth_packet_hex"].as_str().unwrap())
    );
    let hb = bilibili::decode(&unhex(f["heartbeat_reply_hex"].as_str().unwrap())).unwrap();
    assert_eq!(
        bilibili::popularity(&hb[0]),
        Some(f["heartbeat_reply_popularity"].as_u64().unwrap() as u32)
    );
    let expected = f["decoded_messages"].as_array().unwrap().len();
    for key in ["normal_brotli_ver3_hex", "normal_zlib_ver2_hex"] {
        let ps = bilibili::decode(&unhex(f[key].as_str().unwrap())).unwrap();
        assert_eq!(ps.len(), expected, "{key}");
        assert!(ps.iter().all(|p| p.op == OP_MESSAGE));
        let first = bilibili::decode_command(&ps[0].body).unwrap();
        let bilibili::Decoded::Message(m) = first else {
            panic!("{first:?}")
        };
        assert_eq!(m.text, "请问异地就医备案在哪里办？");
        assert_eq!(m.id, "fixture0001");
    }
}

const KEY_ID: &str = "test-key-id";
const SECRET: &str = "test-key-secret";

#[derive(Default)]
struct Fake {
    starts: AtomicU32,
    heartbeats: AtomicU32,
    ends: AtomicU32,
    bad_signatures: AtomicU32,
    ws_auths: AtomicU32,
    ws_heartbeats: AtomicU32,
    ws_port: Mutex<u16>,
}

/// Checks the signature the way the platform documents it (independently
/// of the client's code).
fn signed_ok(headers: &HeaderMap, body: &[u8]) -> bool {
    let get = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    if get("x-bili-content-md5") != hex(&Md5::digest(body)) {
        return false;
    }
    let mut keys = [
        "x-bili-accesskeyid",
        "x-bili-content-md5",
        "x-bili-signature-method",
        "x-bili-signature-nonce",
        "x-bili-signature-version",
        "x-bili-timestamp",
    ];
    keys.sort();
    let s = keys
        .iter()
        .map(|k| format!("{k}:{}", get(k)))
        .collect::<Vec<_>>()
        .join("\n");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(s.as_bytes());
    get("x-bili-accesskeyid") == KEY_ID && get("authorization") == hex(&mac.finalize().into_bytes())
}

fn dm(i: u32) -> Vec<u8> {
    let body = format!(
        r#"{{"cmd":"LIVE_OPEN_PLATFORM_DM","data":{{"room_id":1,"open_id":"o{i}","uname":"市民{i}","timestamp":1735689600,"msg":"第{i}条：公积金怎么提取？","msg_id":"m-{i}","dm_type":0}}}}"#
    );
    bilibili::encode(OP_MESSAGE, 0, 0, body.as_bytes())
}

fn zlib(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    for p in packets {
        e.write_all(p).unwrap();
    }
    bilibili::encode(OP_MESSAGE, 2, 0, &e.finish().unwrap())
}

fn brotli(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        for p in packets {
            w.write_all(p).unwrap();
        }
    }
    bilibili::encode(OP_MESSAGE, 3, 0, &out)
}

async fn api(
    State(fake): State<Arc<Fake>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> String {
    if !signed_ok(&headers, &body) {
        fake.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return r#"{"code":-400,"message":"bad signature"}"#.into();
    }
    match uri.path() {
        "/v2/app/start" => {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["code"], "CODE-1");
            fake.starts.fetch_add(1, Ordering::SeqCst);
            let port = *fake.ws_port.lock().unwrap();
            format!(
                r#"{{"code":0,"data":{{"game_info":{{"game_id":"g-1"}},"websocket_info":{{"auth_body":"AUTH-BODY","wss_link":["ws://127.0.0.1:{port}/sub"]}},"anchor_info":{{"room_id":1}}}}}}"#
            )
        }
        "/v2/app/heartbeat" => {
            fake.heartbeats.fetch_add(1, Ordering::SeqCst);
            r#"{"code":0,"data":{}}"#.into()
        }
        "/v2/app/end" => {
            fake.ends.fetch_add(1, Ordering::SeqCst);
            r#"{"code":0,"data":{}}"#.into()
        }
        _ => r#"{"code":-404}"#.into(),
    }
}

async fn ws_server(listener: tokio::net::TcpListener, fake: Arc<Fake>) {
    let mut conn = 0;
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        conn += 1;
        let fake = Arc::clone(&fake);
        let n = conn;
        tokio::spawn(async move {
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            // auth first
            let Some(Ok(Message::Binary(b))) = ws.next().await else {
                return;
            };
            let p = bilibili::decode(&b).unwrap();
            assert_eq!(p[0].op, OP_AUTH);
            assert_eq!(p[0].body, b"AUTH-BODY");
            fake.ws_auths.fetch_add(1, Ordering::SeqCst);
            ws.send(Message::binary(bilibili::encode(8, 1, 1, br#"{"code":0}"#)))
                .await
                .unwrap();
            if n == 1 {
                // zlib body with 3 packets, brotli body with 3, one raw packet
                ws.send(Message::binary(zlib(&[dm(1), dm(2), dm(3)])))
                    .await
                    .unwrap();
                ws.send(Message::binary(brotli(&[dm(4), dm(5), dm(6)])))
                    .await
                    .unwrap();
                ws.send(Message::binary(dm(7))).await.unwrap();
                // wait for the client's heartbeat, answer it, then drop the connection
                while let Some(Ok(m)) = ws.next().await {
                    if let Message::Binary(b) = m
                        && bilibili::decode(&b)
                            .unwrap()
                            .iter()
                            .any(|p| p.op == OP_HEARTBEAT)
                    {
                        fake.ws_heartbeats.fetch_add(1, Ordering::SeqCst);
                        let mut reply = bilibili::encode(3, 1, 0, &[0, 0, 9, 162]);
                        reply.extend_from_slice(b"[object Object]");
                        ws.send(Message::binary(reply)).await.unwrap();
                        break;
                    }
                }
                // abrupt server-side disconnect (no close frame)
                drop(ws);
            } else {
                // after reconnecting the server replays a little (5..7) and goes on
                ws.send(Message::binary(zlib(&[dm(5), dm(6), dm(7), dm(8)])))
                    .await
                    .unwrap();
                ws.send(Message::binary(brotli(&[dm(9), dm(10)])))
                    .await
                    .unwrap();
                while let Some(Ok(m)) = ws.next().await {
                    if let Message::Binary(b) = m
                        && bilibili::decode(&b)
                            .unwrap()
                            .iter()
                            .any(|p| p.op == OP_HEARTBEAT)
                    {
                        fake.ws_heartbeats.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        });
    }
}

#[test]
fn client_survives_disconnect_without_loss_or_duplicates() {
    let fake = Arc::new(Fake::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api_addr = rt.block_on(async {
        let ws_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        *fake.ws_port.lock().unwrap() = ws_listener.local_addr().unwrap().port();
        tokio::spawn(ws_server(ws_listener, Arc::clone(&fake)));
        let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = api_listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/v2/app/{*rest}", post(api))
            .with_state(Arc::clone(&fake));
        tokio::spawn(async move { axum::serve(api_listener, app).await.unwrap() });
        addr
    });

    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let mut sub = journal.subscribe(1).unwrap();
    let feeds = Feeds::start(
        FeedsConfig {
            bilibili: Some(BiliConfig {
                api_base: format!("http://{api_addr}"),
                access_key_id: KEY_ID.into(),
                access_key_secret: SECRET.into(),
                app_id: 42,
                code: "CODE-1".into(),
                app_heartbeat_secs: 1,
                ws_heartbeat_secs: 1,
                auth_timeout_ms: 5000,
                backoff_min_ms: 50,
                backoff_max_ms: 500,
            }),
            health_interval_secs: 1,
            ..FeedsConfig::default()
        },
        journal.clone(),
    )
    .unwrap();

    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut healthy = false;
    while seen.len() < 10 || !healthy {
        let ev = sub
            .next_timeout(Duration::from_secs(20))
            .unwrap()
            .expect("timed out waiting for bilibili messages");
        match &ev.event {
            ShowEvent::AudienceMessage { id, .. } => *seen.entry(id.clone()).or_default() += 1,
            ShowEvent::Health { component, ok, .. } if component == "feeds/bilibili" => {
                healthy |= *ok;
            }
            _ => {}
        }
    }
    let reconnects = feeds
        .health("bilibili")
        .unwrap()
        .reconnects
        .load(Ordering::SeqCst);
    feeds.shutdown();
    // everything after the wait is in the journal now; count again from the store
    let mut all: HashMap<String, u32> = HashMap::new();
    for ev in journal.replay(1).unwrap() {
        if let ShowEvent::AudienceMessage { id, source, .. } = ev.unwrap().event {
            assert_eq!(source, "bilibili");
            *all.entry(id).or_default() += 1;
        }
    }
    let expected: Vec<String> = (1..=10).map(|i| format!("bilibili:m-{i}")).collect();
    let mut ids: Vec<&String> = all.keys().collect();
    ids.sort_by_key(|s| s[11..].parse::<u32>().unwrap_or(0));
    assert_eq!(ids, expected.iter().collect::<Vec<_>>());
    assert!(all.values().all(|&n| n == 1), "duplicates: {all:?}");
    assert!(fake.ws_auths.load(Ordering::SeqCst) >= 2);
    assert!(fake.ws_heartbeats.load(Ordering::SeqCst) >= 1);
    assert!(fake.starts.load(Ordering::SeqCst) >= 1);
    assert_eq!(fake.bad_signatures.load(Ordering::SeqCst), 0);
    assert!(reconnects >= 1);
    eprintln!(
        "fake bilibili: {} starts, {} app heartbeats, {} ends, {} ws auths, {} ws heartbeats, client reconnects {reconnects}",
        fake.starts.load(Ordering::SeqCst),
        fake.heartbeats.load(Ordering::SeqCst),
        fake.ends.load(Ordering::SeqCst),
        fake.ws_auths.load(Ordering::SeqCst),
        fake.ws_heartbeats.load(Ordering::SeqCst),
    );
}
