//! [`Feeds::start`]: the receivers on their own tokio runtime.
//!
//! One HTTP listener serves `/wechat` (official-account callback), `/douyin`
//! (live-data push) and `/relay` (WebSocket ingest); the bilibili client runs
//! as a task. All of them hand messages to the [`Pipeline`] through a bounded
//! channel and answer the platform only once the message is durable in the
//! journal (or was a duplicate), well inside the platforms' deadlines
//! (WeChat 5 s, Douyin 2 s).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use airbridge_show::{Journal, ShowEvent};
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::{DouyinConfig, FeedsConfig, WechatConfig, WechatMode};
use crate::error::FeedsError;
use crate::health::{Reject, SourceHealth};
use crate::model::AudienceMessage;
use crate::pipeline::{Inbound, Outcome, Pipeline, PipelineConfig, Stats};
use crate::wechat::{self, WechatCrypto};
use crate::{bilibili, douyin, relay};

/// Entry point (see the crate docs).
#[derive(Debug)]
pub struct Feeds;

/// Health counters of every source, by name.
pub type HealthMap = HashMap<&'static str, Arc<SourceHealth>>;

/// Resolves once `stop` turns true (or its sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The running feeds; [`FeedsHandle::shutdown`] (or drop) stops everything
/// after the pipeline has journaled what it had.
#[derive(Debug)]
pub struct FeedsHandle {
    rt: Option<tokio::runtime::Runtime>,
    shutdown: watch::Sender<bool>,
    local_addr: Option<SocketAddr>,
    pipeline: Option<Pipeline>,
    stats: Arc<Stats>,
    health: Arc<HealthMap>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl FeedsHandle {
    /// The address the server is bound to (resolves port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// Pipeline counters (accepted, duplicates, spam, latency).
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    /// A source's health counters (`wechat`, `douyin`, `bilibili`, `relay`).
    pub fn health(&self, source: &str) -> Option<Arc<SourceHealth>> {
        self.health.get(source).cloned()
    }

    /// A sender into the pipeline, e.g. for a console-side SMS bridge.
    pub fn sender(&self) -> Option<mpsc::Sender<Inbound>> {
        self.pipeline.as_ref().map(Pipeline::sender)
    }

    /// Stops receivers and clients, then drains the pipeline.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(rt) = self.rt.take() {
            // let clients say goodbye (bilibili `end`) and the server drain
            let tasks = std::mem::take(&mut self.tasks);
            rt.block_on(async {
                for t in tasks {
                    let _ = tokio::time::timeout(Duration::from_secs(3), t).await;
                }
            });
            rt.shutdown_timeout(Duration::from_secs(1));
        }
        if let Some(p) = self.pipeline.take() {
            p.shutdown();
        }
    }
}

impl Drop for FeedsHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

#[derive(Debug)]
struct WechatState {
    config: WechatConfig,
    crypto: Option<WechatCrypto>,
}

#[derive(Clone, Debug)]
pub(crate) struct AppState {
    tx: mpsc::Sender<Inbound>,
    wechat: Option<Arc<WechatState>>,
    douyin: Option<Arc<DouyinConfig>>,
    relay_token: Option<String>,
    relay_enabled: bool,
    sms: Option<Arc<crate::sms::SmsConfig>>,
    health: Arc<HealthMap>,
    max_body: usize,
}

impl AppState {
    fn health(&self, name: &str) -> Arc<SourceHealth> {
        self.health
            .get(name)
            .cloned()
            .unwrap_or_else(|| Arc::new(SourceHealth::new(name)))
    }
}

impl Feeds {
    /// Starts the configured receivers and clients on a new runtime, and the
    /// pipeline thread that journals into `journal`.
    pub fn start(config: FeedsConfig, journal: Journal) -> Result<FeedsHandle, FeedsError> {
        Self::start_moderated(config, journal, Arc::default())
    }

    /// [`Feeds::start`] with the 场控's source modes and block list (shared
    /// with whoever blocks authors: the runtime).
    pub fn start_moderated(
        config: FeedsConfig,
        journal: Journal,
        moderation: Arc<crate::moderation::Moderation>,
    ) -> Result<FeedsHandle, FeedsError> {
        let crypto = match &config.wechat {
            Some(w) if w.mode != WechatMode::Plain => {
                let key = w.encoding_aes_key.as_deref().ok_or_else(|| {
                    FeedsError::Config("WeChat compatible/safe mode needs an EncodingAESKey".into())
                })?;
                Some(WechatCrypto::new(
                    key,
                    w.previous_aes_key.as_deref(),
                    &w.appid,
                )?)
            }
            _ => None,
        };
        // a bad extra CA file fails the start, not every reconnect
        let bili_tls = config
            .bilibili
            .as_ref()
            .map(|b| crate::tls::ClientTls::new(b.extra_ca_file.as_deref()))
            .transpose()?;
        let first_cluster_id = (now_ms().max(0) as u64 / 1000) * 1000;
        let pipeline = Pipeline::start(
            PipelineConfig {
                triage: config.triage.clone(),
                raw_store: config.raw_store.clone(),
                first_cluster_id,
                moderation,
                ..PipelineConfig::default()
            },
            journal.clone(),
        )?;
        let mut health: HealthMap = HashMap::new();
        for name in ["wechat", "douyin", "bilibili", "relay", "sms"] {
            health.insert(name, Arc::new(SourceHealth::new(name)));
        }
        let health = Arc::new(health);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("feeds-io")
            .enable_all()
            .build()?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let state = AppState {
            tx: pipeline.sender(),
            wechat: config
                .wechat
                .clone()
                .map(|c| Arc::new(WechatState { config: c, crypto })),
            douyin: config.douyin.clone().map(Arc::new),
            relay_token: config.relay.token.clone(),
            relay_enabled: config.relay.enabled,
            sms: config.sms.clone().map(Arc::new),
            health: Arc::clone(&health),
            max_body: config.max_body_bytes.max(1024),
        };
        let mut local_addr = None;
        let mut tasks = Vec::new();
        if let Some(addr) = config.listen {
            let listener = rt.block_on(tokio::net::TcpListener::bind(addr))?;
            local_addr = Some(listener.local_addr()?);
            for (name, on) in [
                ("wechat", state.wechat.is_some()),
                ("douyin", state.douyin.is_some()),
                ("relay", state.relay_enabled),
                ("sms", state.sms.is_some()),
            ] {
                if on && let Some(h) = health.get(name) {
                    h.connected.store(true, Ordering::Relaxed);
                }
            }
            let app = router(state.clone());
            let stop = shutdown_rx.clone();
            tasks.push(rt.spawn(serve_bounded(listener, app, stop)));
        }
        if let (Some(b), Some(tls)) = (config.bilibili.clone(), bili_tls) {
            let tx = pipeline.sender();
            let h = health
                .get("bilibili")
                .cloned()
                .unwrap_or_else(|| Arc::new(SourceHealth::new("bilibili")));
            tasks.push(rt.spawn(bilibili::run_client(b, tls, tx, h, shutdown_rx.clone())));
        }
        tasks.push(rt.spawn(report_health(
            journal,
            Arc::clone(&health),
            pipeline.stats(),
            Duration::from_secs(config.health_interval_secs.max(1)),
            shutdown_rx,
        )));
        Ok(FeedsHandle {
            rt: Some(rt),
            shutdown,
            local_addr,
            stats: pipeline.stats(),
            pipeline: Some(pipeline),
            health,
            tasks,
        })
    }
}

/// Time a client has to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client has to send a request's body once its headers are in.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections held at once; more are closed at accept.
pub const MAX_CONNECTIONS: usize = 4096;

/// Serves `app` with every connection bounded: its headers within
/// [`HEADER_TIMEOUT`] (hyper closes it otherwise), its body within
/// [`BODY_TIMEOUT`] (see [`read_limited`]), at most [`MAX_CONNECTIONS`] at
/// once. (`axum::serve` has no such bounds: idle half-sent requests stayed
/// open for ever, each holding a socket.)
async fn serve_bounded(
    listener: tokio::net::TcpListener,
    app: Router,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, _peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // out of file descriptors and the like: wait, go on
                    tracing::warn!(error = %e, "feeds listener");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => return,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!("feeds: {MAX_CONNECTIONS} connections open; one more refused");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(true);
            let conn = builder
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stopped(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
                }
            }
            drop(slot);
        });
    }
}

/// The HTTP routes (public for tests that want their own server).
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/wechat", get(wechat_verify).post(wechat_push))
        .route("/douyin", post(douyin_push))
        .route("/relay", get(relay::upgrade))
        .route("/sms", post(sms_push))
        .with_state(state)
}

async fn report_health(
    journal: Journal,
    health: Arc<HealthMap>,
    _stats: Arc<Stats>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut last: HashMap<&'static str, (u64, Instant, bool, u64)> = HashMap::new();
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped(&mut stop) => return,
        }
        let mut events = Vec::new();
        let now = Instant::now();
        for (name, h) in health.iter() {
            let msgs = h.messages.load(Ordering::Relaxed);
            let connected = h.connected.load(Ordering::Relaxed);
            let problems = h.rejected() + h.errors.load(Ordering::Relaxed);
            let (rate, changed) = match last.get(name) {
                Some((m, t, c, p)) => {
                    let secs = now.duration_since(*t).as_secs_f64().max(0.001);
                    (
                        (msgs - m) as f64 / secs,
                        *c != connected || *p != problems || msgs != *m,
                    )
                }
                None => (0.0, connected),
            };
            last.insert(name, (msgs, now, connected, problems));
            if changed {
                events.push(ShowEvent::Health {
                    component: format!("feeds/{name}"),
                    ok: connected,
                    detail: h.detail(rate, now_ms()),
                });
            }
        }
        if !events.is_empty() {
            // health is best effort: never block ingest on it
            let journal = journal.clone();
            let _ = tokio::task::spawn_blocking(move || journal.append_all("feeds", events)).await;
        }
    }
}

/// Sends messages to the pipeline and waits until each is durable, for at
/// most `deadline` from now for the whole batch.
pub(crate) async fn deliver(
    tx: &mpsc::Sender<Inbound>,
    msgs: Vec<AudienceMessage>,
    received: Instant,
    health: &SourceHealth,
    deadline: Duration,
) -> Vec<Outcome> {
    deliver_by(tx, msgs, received, health, Instant::now() + deadline).await
}

/// Sends messages to the pipeline and waits until each is durable, until
/// `answer_by` at the latest for the whole batch (what is not durable by
/// then is `Failed`): a platform's deadline is for the push, not for each
/// message in it.
pub(crate) async fn deliver_by(
    tx: &mpsc::Sender<Inbound>,
    msgs: Vec<AudienceMessage>,
    received: Instant,
    health: &SourceHealth,
    answer_by: Instant,
) -> Vec<Outcome> {
    let answer_by = tokio::time::Instant::from_std(answer_by);
    let mut waits = Vec::with_capacity(msgs.len());
    for msg in msgs {
        health.last_msg_ts_ms.store(msg.ts_ms, Ordering::Relaxed);
        let (done, rx) = oneshot::channel();
        let sent = tokio::time::timeout_at(
            answer_by,
            tx.send(Inbound {
                msg,
                received,
                done: Some(done),
            }),
        )
        .await;
        if matches!(sent, Ok(Ok(()))) {
            waits.push(Some(rx));
        } else {
            waits.push(None);
        }
    }
    let mut out = Vec::with_capacity(waits.len());
    for w in waits {
        let o = match w {
            Some(rx) => match tokio::time::timeout_at(answer_by, rx).await {
                Ok(Ok(o)) => o,
                _ => Outcome::Failed,
            },
            None => Outcome::Failed,
        };
        if o == Outcome::Accepted {
            health.messages.fetch_add(1, Ordering::Relaxed);
        }
        out.push(o);
    }
    out
}

/// Reads a body up to `limit` bytes within [`BODY_TIMEOUT`]; `None` if
/// larger, broken or too slow.
pub(crate) async fn read_limited(body: Body, limit: usize) -> Option<Vec<u8>> {
    let limited = http_body_util::Limited::new(body, limit);
    tokio::time::timeout(BODY_TIMEOUT, limited.collect())
        .await
        .ok()?
        .ok()
        .map(|c| c.to_bytes().to_vec())
}

fn refused(status: StatusCode, why: &'static str) -> Response {
    (status, why).into_response()
}

fn within_window(ts_secs: Option<i64>, window: Option<u64>) -> Result<(), FeedsError> {
    let Some(window) = window else { return Ok(()) };
    let Some(ts) = ts_secs else {
        return Err(FeedsError::Stale { age_secs: i64::MAX });
    };
    let age = now_ms() / 1000 - ts;
    if age.unsigned_abs() > window {
        return Err(FeedsError::Stale { age_secs: age });
    }
    Ok(())
}

// ------------------------------------------------------------------ WeChat

async fn wechat_verify(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let health = state.health("wechat");
    let Some(w) = &state.wechat else {
        return refused(StatusCode::NOT_FOUND, "wechat not configured");
    };
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let expected = wechat::signature(&[&w.config.token, get("timestamp"), get("nonce")]);
    if w.config.token.is_empty() || !wechat::ct_eq(&expected, get("signature")) {
        health.reject(Reject::BadSignature, "url verification");
        return refused(StatusCode::FORBIDDEN, "bad signature");
    }
    get("echostr").to_owned().into_response()
}

async fn wechat_push(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> Response {
    let received = Instant::now();
    let health = state.health("wechat");
    let Some(w) = state.wechat.clone() else {
        return refused(StatusCode::NOT_FOUND, "wechat not configured");
    };
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let Some(bytes) = read_limited(body, state.max_body.min(wechat::MAX_BODY)).await else {
        health.reject(Reject::Oversized, "body");
        return refused(StatusCode::PAYLOAD_TOO_LARGE, "too large");
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        health.reject(Reject::Malformed, "body not UTF-8");
        return refused(StatusCode::BAD_REQUEST, "malformed");
    };
    if let Err(e) = within_window(get("timestamp").parse().ok(), w.config.replay_window_secs) {
        health.reject(Reject::Stale, &e.to_string());
        return refused(StatusCode::FORBIDDEN, "stale");
    }
    let envelope = match wechat::parse_body(text) {
        Ok(m) => m,
        Err(e) => {
            health.reject(Reject::Malformed, &format!("{e}"));
            return refused(StatusCode::BAD_REQUEST, "malformed");
        }
    };
    let encrypted = get("encrypt_type") == "aes" || !envelope.encrypt.is_empty();
    let format = wechat::Format::of(text);
    // the key that decrypted the push encrypts the reply (during a key
    // rotation the follower's client may still use the previous one)
    let mut key = 0;
    let message = if encrypted {
        if w.config.mode == WechatMode::Plain {
            health.reject(Reject::Malformed, "encrypted push in plain mode");
            return refused(StatusCode::BAD_REQUEST, "plain mode");
        }
        let Some(crypto) = &w.crypto else {
            health.reject(Reject::Decrypt, "no key");
            return refused(StatusCode::FORBIDDEN, "no key");
        };
        let expected = wechat::signature(&[
            &w.config.token,
            get("timestamp"),
            get("nonce"),
            &envelope.encrypt,
        ]);
        if !wechat::ct_eq(&expected, get("msg_signature")) {
            health.reject(Reject::BadSignature, "msg_signature");
            return refused(StatusCode::FORBIDDEN, "bad signature");
        }
        let xml = match crypto.decrypt_keyed(&envelope.encrypt) {
            Ok((x, k)) => {
                key = k;
                x
            }
            Err(FeedsError::WrongAppId) => {
                health.reject(Reject::WrongAppId, "appid");
                return refused(StatusCode::FORBIDDEN, "wrong appid");
            }
            Err(e) => {
                health.reject(Reject::Decrypt, &e.to_string());
                return refused(StatusCode::FORBIDDEN, "decrypt failed");
            }
        };
        match wechat::parse_body(&xml) {
            Ok(m) => m,
            Err(e) => {
                health.reject(Reject::Malformed, &e.to_string());
                return refused(StatusCode::BAD_REQUEST, "malformed");
            }
        }
    } else {
        if w.config.mode == WechatMode::Safe {
            health.reject(Reject::Malformed, "plaintext push in safe mode");
            return refused(StatusCode::BAD_REQUEST, "safe mode");
        }
        let expected = wechat::signature(&[&w.config.token, get("timestamp"), get("nonce")]);
        if w.config.token.is_empty() || !wechat::ct_eq(&expected, get("signature")) {
            health.reject(Reject::BadSignature, "signature");
            return refused(StatusCode::FORBIDDEN, "bad signature");
        }
        envelope
    };
    if !message.is_plain_message() {
        health.reject(Reject::Malformed, "no MsgType");
        return refused(StatusCode::BAD_REQUEST, "malformed");
    }
    let audience = message.to_audience();
    let is_viewer_text = matches!(audience.hint, crate::model::Hint::Text);
    let outcome = deliver(
        &state.tx,
        vec![audience],
        received,
        &health,
        Duration::from_millis(4000),
    )
    .await;
    match outcome.first() {
        Some(Outcome::Failed) | None => {
            // Not stored: say nothing until WeChat has given up on this
            // attempt (5 s), so it retries; dedupe makes the retry safe. An
            // error status would be a "response failure" — the follower sees
            // 该公众号暂时无法提供服务 and WeChat does not retry.
            health.error("not stored in time: left unanswered so WeChat retries");
            tokio::time::sleep_until(tokio::time::Instant::from_std(
                received + wechat::SILENT_AFTER_FAILURE,
            ))
            .await;
            return StatusCode::OK.into_response();
        }
        Some(Outcome::Accepted) if is_viewer_text => {
            if let Some(reply) = &w.config.passive_reply {
                let now = now_ms() / 1000;
                let plain = wechat::passive_text_reply_in(
                    format,
                    &message.from_user,
                    &message.to_user,
                    reply,
                    now,
                );
                let body = match (&w.crypto, encrypted) {
                    (Some(c), true) => {
                        let enc = c.encrypt_keyed(&plain, rand::random(), key);
                        wechat::encrypted_reply_in(
                            format,
                            &enc,
                            &w.config.token,
                            &now.to_string(),
                            get("nonce"),
                        )
                    }
                    _ => plain,
                };
                return ([(header::CONTENT_TYPE, format.content_type())], body).into_response();
            }
        }
        _ => {}
    }
    "success".into_response()
}

// ------------------------------------------------------------------ Douyin

async fn douyin_push(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let received = Instant::now();
    let health = state.health("douyin");
    let Some(cfg) = state.douyin.clone() else {
        return refused(StatusCode::NOT_FOUND, "douyin not configured");
    };
    let hv = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    // the whole push is answered within its limit (2 s, gifts 3 s), with
    // half a second to spare for the network
    let msg_type = hv("x-msg-type").to_owned();
    let answer_by =
        received + douyin::answer_limit(&msg_type).saturating_sub(Duration::from_millis(500));
    let Some(bytes) = read_limited(body, state.max_body.min(douyin::MAX_BODY)).await else {
        health.reject(Reject::Oversized, "body");
        return refused(StatusCode::PAYLOAD_TOO_LARGE, "too large");
    };
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
        .collect();
    if douyin::verify(
        pairs.iter().copied(),
        &bytes,
        &cfg.secret,
        hv("x-signature"),
    )
    .is_err()
    {
        health.reject(Reject::BadSignature, "x-signature");
        return refused(StatusCode::FORBIDDEN, "bad signature");
    }
    let ts_secs = hv("x-timestamp").parse::<i64>().ok().map(|ms| ms / 1000);
    if let Err(e) = within_window(ts_secs, cfg.replay_window_secs) {
        health.reject(Reject::Stale, &e.to_string());
        return refused(StatusCode::FORBIDDEN, "stale");
    }
    if !douyin::KNOWN_TYPES.contains(&msg_type.as_str()) {
        // a genuine push of a kind we do not use: 2xx, so Douyin does not
        // count it as a failure (10 in a row stop the pushes); counted here
        health.unknown_types.fetch_add(1, Ordering::Relaxed);
        let short: String = msg_type.chars().take(32).collect();
        health.error(&format!(
            "unknown x-msg-type {short:?} (answered 200, not journaled)"
        ));
        return (StatusCode::OK, r#"{"err_no":0,"err_msg":"success"}"#).into_response();
    }
    let msgs = match douyin::decode(&msg_type, &bytes) {
        Ok(m) => m,
        Err(e) => {
            health.reject(Reject::Malformed, &e.to_string());
            return refused(StatusCode::BAD_REQUEST, "malformed");
        }
    };
    let tests = msgs.iter().filter(|m| m.test).count() as u64;
    health.test_messages.fetch_add(tests, Ordering::Relaxed);
    let outcomes = deliver_by(&state.tx, msgs, received, &health, answer_by).await;
    if outcomes.contains(&Outcome::Failed) {
        return refused(StatusCode::SERVICE_UNAVAILABLE, "retry");
    }
    (StatusCode::OK, r#"{"err_no":0,"err_msg":"success"}"#).into_response()
}

// ------------------------------------------------------------------ SMS

async fn sms_push(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let received = Instant::now();
    let health = state.health("sms");
    let Some(cfg) = state.sms.clone() else {
        return refused(StatusCode::NOT_FOUND, "sms not configured");
    };
    let given = headers
        .get("x-airbridge-secret")
        .and_then(|v| v.to_str().ok())
        .or_else(|| q.get("secret").map(String::as_str))
        .unwrap_or("");
    if cfg.secret.is_empty() || !wechat::ct_eq(given, &cfg.secret) {
        health.reject(Reject::BadSignature, "sms secret");
        return refused(StatusCode::UNAUTHORIZED, "wrong secret");
    }
    let Some(bytes) = read_limited(body, crate::sms::MAX_BODY).await else {
        health.reject(Reject::Oversized, "body");
        return refused(StatusCode::PAYLOAD_TOO_LARGE, "too large");
    };
    let msg = match crate::sms::decode(&bytes) {
        Ok(m) => m,
        Err(e) => {
            health.reject(Reject::Malformed, &e.to_string());
            return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
        }
    };
    let outcome = deliver(
        &state.tx,
        vec![msg],
        received,
        &health,
        Duration::from_secs(5),
    )
    .await;
    if outcome.contains(&Outcome::Failed) {
        return refused(StatusCode::SERVICE_UNAVAILABLE, "retry");
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"ok":true}"#,
    )
        .into_response()
}

// ------------------------------------------------------------------ relay

pub(crate) fn relay_allowed(state: &AppState, req: &Request) -> bool {
    if !state.relay_enabled {
        return false;
    }
    let Some(token) = &state.relay_token else {
        return true;
    };
    let q = req.uri().query().unwrap_or("");
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .any(|(k, v)| k == "token" && wechat::ct_eq(v, token))
}

pub(crate) fn relay_parts(state: &AppState) -> (mpsc::Sender<Inbound>, Arc<SourceHealth>) {
    (state.tx.clone(), state.health("relay"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A pipeline that never answers: a batch still gets its answer by the
    /// one deadline (before: each message waited its own 1.5 s in turn, so
    /// 4 messages took 6 s against Douyin's 2 s).
    #[tokio::test]
    async fn a_batch_is_answered_by_one_deadline() {
        let (tx, mut rx) = mpsc::channel::<Inbound>(64);
        let held = tokio::spawn(async move {
            let mut keep = Vec::new();
            while let Some(i) = rx.recv().await {
                keep.push(i); // holds the `done` senders: no answer
            }
        });
        let health = SourceHealth::new("douyin");
        let msgs: Vec<AudienceMessage> = (0..4)
            .map(|i| AudienceMessage::text("douyin", &format!("m{i}"), "a", "问", 0))
            .collect();
        let start = Instant::now();
        let out = deliver_by(
            &tx,
            msgs,
            start,
            &health,
            start + Duration::from_millis(1500),
        )
        .await;
        let took = start.elapsed();
        assert_eq!(out, vec![Outcome::Failed; 4]);
        assert!(took < Duration::from_millis(1800), "took {took:?}");
        drop(tx);
        held.abort();
    }
}
