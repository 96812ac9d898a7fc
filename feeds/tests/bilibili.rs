#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! bilibili open-platform client against a local fake server (HTTP API +
//! WebSocket on 127.0.0.1): signed start/heartbeat calls, auth, heartbeats,
//! zlib and brotli multi-packet bodies, a server-side disconnect and the
//! reconnect with backoff — no message lost or duplicated. The same fake
//! also serves HTTPS + WSS (tokio-rustls, a test CA made with rcgen): with
//! the CA as `extra_ca_file` the client works end to end; without it, or
//! with a WebSocket certificate from another CA, it reports the TLS error.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
use rustls::pki_types::PrivateKeyDer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
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
    /// TLS handshakes that failed on the server side (client refused us).
    tls_refused: AtomicU32,
    /// The `wss_link` handed out by `start` (`ws://` or `wss://`).
    ws_url: Mutex<String>,
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
            let url = fake.ws_url.lock().unwrap().clone();
            format!(
                r#"{{"code":0,"data":{{"game_info":{{"game_id":"g-1"}},"websocket_info":{{"auth_body":"AUTH-BODY","wss_link":["{url}"]}},"anchor_info":{{"room_id":1}}}}}}"#
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

async fn ws_server(listener: tokio::net::TcpListener, fake: Arc<Fake>, tls: Option<TlsAcceptor>) {
    let mut conn = 0;
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        conn += 1;
        let fake = Arc::clone(&fake);
        let n = conn;
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => ws_conn(tcp, fake, n).await,
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => ws_conn(stream, fake, n).await,
                    Err(_) => {
                        fake.tls_refused.fetch_add(1, Ordering::SeqCst);
                    }
                },
            }
        });
    }
}

/// One WebSocket connection: the first one sends messages 1–7 and drops
/// after a heartbeat, later ones replay 5–7 and go on to 10.
async fn ws_conn<S: AsyncRead + AsyncWrite + Unpin>(stream: S, fake: Arc<Fake>, n: u32) {
    {
        {
            let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
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
        }
    }
}

/// A test CA and a server certificate for 127.0.0.1 / localhost signed by
/// it; `acceptor` serves that certificate (with the CA in the chain).
struct Pki {
    ca_pem: String,
    acceptor: TlsAcceptor,
}

impl Pki {
    fn new(ca_name: &str) -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, ca_name);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let mut leaf =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "fake bilibili");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.use_authority_key_identifier_extension = true;
        let cert = leaf.signed_by(&key, &issuer).unwrap();
        let server = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), ca_cert.der().clone()],
            PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
        Self {
            ca_pem: ca_cert.pem(),
            acceptor: TlsAcceptor::from(Arc::new(server)),
        }
    }

    fn write_ca(&self, dir: &Path) -> PathBuf {
        let p = dir.join("test-ca.pem");
        std::fs::write(&p, &self.ca_pem).unwrap();
        p
    }
}

/// The fake API over TLS for axum: handshakes that fail are counted and
/// skipped.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
    fake: Arc<Fake>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            match self.acceptor.accept(tcp).await {
                Ok(tls) => return (tls, addr),
                Err(_) => {
                    self.fake.tls_refused.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Starts the fake API and WebSocket servers on `rt`, each plain or TLS;
/// returns (API base URL, WebSocket address).
fn start_fake(
    rt: &tokio::runtime::Runtime,
    fake: &Arc<Fake>,
    api_tls: Option<TlsAcceptor>,
    ws_tls: Option<TlsAcceptor>,
) -> (String, SocketAddr) {
    rt.block_on(async {
        let ws_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws_addr = ws_listener.local_addr().unwrap();
        let scheme = if ws_tls.is_some() { "wss" } else { "ws" };
        *fake.ws_url.lock().unwrap() = format!("{scheme}://{ws_addr}/sub");
        tokio::spawn(ws_server(ws_listener, Arc::clone(fake), ws_tls));
        let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = api_listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/v2/app/{*rest}", post(api))
            .with_state(Arc::clone(fake));
        let base = match api_tls {
            None => {
                tokio::spawn(async move { axum::serve(api_listener, app).await.unwrap() });
                format!("http://{addr}")
            }
            Some(acceptor) => {
                let listener = TlsListener {
                    tcp: api_listener,
                    acceptor,
                    fake: Arc::clone(fake),
                };
                tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
                format!("https://{addr}")
            }
        };
        (base, ws_addr)
    })
}

fn bili_config(api_base: &str, extra_ca_file: Option<PathBuf>) -> BiliConfig {
    BiliConfig {
        api_base: api_base.to_owned(),
        access_key_id: KEY_ID.into(),
        access_key_secret: SECRET.into(),
        app_id: 42,
        code: "CODE-1".into(),
        app_heartbeat_secs: 1,
        ws_heartbeat_secs: 1,
        ws_reply_timeout_ms: 10_000,
        game_timeout_secs: 60,
        auth_timeout_ms: 5000,
        backoff_min_ms: 50,
        backoff_max_ms: 500,
        extra_ca_file,
    }
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        #[allow(clippy::disallowed_methods)] // polling a counter in a test thread
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn client_survives_disconnect_without_loss_or_duplicates() {
    let fake = Arc::new(Fake::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (api_base, _) = start_fake(&rt, &fake, None, None);
    disconnect_scenario(&fake, bili_config(&api_base, None));
}

/// The same scenario over HTTPS + WSS with the test CA as extra root: start,
/// auth, WebSocket and app heartbeats, messages, the reconnect and `end`
/// all go through TLS.
#[test]
fn client_over_tls_with_extra_ca() {
    let pki = Pki::new("AirBridge test CA");
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (api_base, _) = start_fake(
        &rt,
        &fake,
        Some(pki.acceptor.clone()),
        Some(pki.acceptor.clone()),
    );
    assert!(api_base.starts_with("https://127.0.0.1:"));
    assert!(fake.ws_url.lock().unwrap().starts_with("wss://127.0.0.1:"));
    disconnect_scenario(
        &fake,
        bili_config(&api_base, Some(pki.write_ca(dir.path()))),
    );
    assert_eq!(fake.tls_refused.load(Ordering::SeqCst), 0);
}

/// Runs the client against `fake` until messages 1–10 are journaled and it
/// reported healthy, then checks each is there exactly once.
fn disconnect_scenario(fake: &Arc<Fake>, config: BiliConfig) {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let mut sub = journal.subscribe(1).unwrap();
    let feeds = Feeds::start(
        FeedsConfig {
            bilibili: Some(config),
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
    // the signed app heartbeat (every second) went through too
    wait_until("an app heartbeat", || {
        fake.heartbeats.load(Ordering::SeqCst) >= 1
    });
    let reconnects = feeds
        .health("bilibili")
        .unwrap()
        .reconnects
        .load(Ordering::SeqCst);
    // shutdown lets the client call `end`
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
    assert_eq!(fake.ends.load(Ordering::SeqCst), 1);
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

/// Waits for a `feeds/bilibili` health event whose detail contains `needle`.
fn wait_for_problem(sub: &mut airbridge_show::Subscription, needle: &str) -> String {
    loop {
        let ev = sub
            .next_timeout(Duration::from_secs(20))
            .unwrap()
            .unwrap_or_else(|| panic!("timed out waiting for a health event with {needle:?}"));
        if let ShowEvent::Health {
            component,
            ok,
            detail,
        } = &ev.event
            && component == "feeds/bilibili"
            && detail.contains(needle)
        {
            assert!(!ok, "{detail}");
            return detail.clone();
        }
    }
}

/// HTTPS with a certificate from a CA the client was not given: `start`
/// fails with a TLS error naming the host, nothing reaches the API, and the
/// client keeps retrying with backoff (no panic).
#[test]
fn untrusted_api_certificate_is_a_tls_error() {
    let pki = Pki::new("AirBridge test CA");
    let fake = Arc::new(Fake::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (api_base, _) = start_fake(
        &rt,
        &fake,
        Some(pki.acceptor.clone()),
        Some(pki.acceptor.clone()),
    );
    let api_addr = api_base.trim_start_matches("https://").to_owned();
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let mut sub = journal.subscribe(1).unwrap();
    let feeds = Feeds::start(
        FeedsConfig {
            bilibili: Some(bili_config(&api_base, None)),
            health_interval_secs: 1,
            ..FeedsConfig::default()
        },
        journal.clone(),
    )
    .unwrap();
    let needle = format!("TLS handshake with {api_addr} failed");
    let detail = wait_for_problem(&mut sub, &needle);
    eprintln!("health: {detail}");
    assert!(detail.contains("UnknownIssuer"), "{detail}");
    assert!(detail.contains("extra_ca_file"), "{detail}");
    let health = feeds.health("bilibili").unwrap();
    // backoff and retry keep going
    wait_until("three retries", || {
        health.reconnects.load(Ordering::SeqCst) >= 3
    });
    assert!(health.errors.load(Ordering::SeqCst) >= 3);
    assert!(!health.connected.load(Ordering::SeqCst));
    feeds.shutdown();
    assert_eq!(fake.starts.load(Ordering::SeqCst), 0);
    assert_eq!(fake.ends.load(Ordering::SeqCst), 0);
    assert!(fake.tls_refused.load(Ordering::SeqCst) >= 1);
}

/// The API is trusted but the WebSocket host presents a certificate from
/// another CA: the session reports the TLS error for that host and never
/// authenticates; the game is kept and the connect retried.
#[test]
fn untrusted_websocket_certificate_is_a_tls_error() {
    let trusted = Pki::new("AirBridge test CA");
    let other = Pki::new("Some other CA");
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (api_base, ws_addr) = start_fake(
        &rt,
        &fake,
        Some(trusted.acceptor.clone()),
        Some(other.acceptor.clone()),
    );
    let journal = open_journal(dir.path());
    let mut sub = journal.subscribe(1).unwrap();
    let feeds = Feeds::start(
        FeedsConfig {
            bilibili: Some(bili_config(&api_base, Some(trusted.write_ca(dir.path())))),
            health_interval_secs: 1,
            ..FeedsConfig::default()
        },
        journal.clone(),
    )
    .unwrap();
    let needle = format!("websocket connect: TLS handshake with {ws_addr} failed");
    let detail = wait_for_problem(&mut sub, &needle);
    eprintln!("health: {detail}");
    assert!(detail.contains("UnknownIssuer"), "{detail}");
    let health = feeds.health("bilibili").unwrap();
    wait_until("three retries", || {
        health.reconnects.load(Ordering::SeqCst) >= 3
    });
    feeds.shutdown();
    // one game, started once over trusted HTTPS, ended on shutdown
    assert_eq!(fake.starts.load(Ordering::SeqCst), 1);
    assert_eq!(fake.ends.load(Ordering::SeqCst), 1);
    assert_eq!(fake.ws_auths.load(Ordering::SeqCst), 0);
    // the server saw the client abort (the last one may still be in flight)
    assert!(fake.tls_refused.load(Ordering::SeqCst) >= 2);
}

/// A bad `extra_ca_file` fails `Feeds::start` with a config error naming
/// the file, instead of a client that can never connect.
#[test]
fn bad_extra_ca_file_fails_start() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let missing = dir.path().join("no-such-ca.pem");
    let err = Feeds::start(
        FeedsConfig {
            bilibili: Some(bili_config("https://127.0.0.1:9", Some(missing.clone()))),
            ..FeedsConfig::default()
        },
        journal,
    )
    .expect_err("start must fail");
    assert!(
        matches!(err, airbridge_feeds::FeedsError::Config(_)),
        "{err}"
    );
    assert!(err.to_string().contains("no-such-ca.pem"), "{err}");
}
