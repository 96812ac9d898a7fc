//! The seats listener, inside the runtime's process: WebSocket (TLS unless
//! on loopback), a token per seat, and for each seat its journal stream,
//! its meters and its commands — which the runtime decides
//! ([`Runtime::execute_as`]: the role is checked there, not here alone).
//!
//! Threads: its own 2-thread tokio runtime (`hub-io`) for sockets; one
//! follower thread per seat reads the journal (which may read the disk)
//! and hands batches to the seat's writer; commands and questions run on
//! tokio's blocking pool (the runtime's decisions take locks and write the
//! journal).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use airbridge_runtime::{PartReport, Role, Runtime};
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

use crate::HubError;
use crate::protocol::{
    Answer, Ask, FromHub, METER_HZ, METERS_PATH, MeterFrame, PROTOCOL, PROTOCOL_HEADER, SEAT_PATH,
    ToHub, Welcome,
};
use crate::tokens::{SeatId, Tokens};

/// Events per batch sent to a seat.
const BATCH: usize = 1024;
/// Frames queued for a seat's socket before its follower waits.
const SEAT_QUEUE: usize = 64;
/// Time allowed for the TLS and WebSocket handshakes.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Connections held at once (seats are a handful; this bounds abuse).
const MAX_CONNECTIONS: usize = 256;
/// Refused connections journaled per minute at most (the rest counted).
const REFUSALS_PER_MINUTE: u64 = 30;

/// Counters, for health and tests.
#[derive(Debug, Default)]
pub struct HubStats {
    pub connected: AtomicUsize,
    pub refused: AtomicU64,
    pub events_sent: AtomicU64,
    pub commands: AtomicU64,
}

struct Ctx {
    runtime: Runtime,
    overlay: crate::overlay::OverlayStyle,
    tokens: Tokens,
    stats: Arc<HubStats>,
    name: String,
    refusals: std::sync::Mutex<(Instant, u64)>,
    shutdown: watch::Receiver<bool>,
}

impl Ctx {
    /// Journals a refused connection (at most [`REFUSALS_PER_MINUTE`]).
    fn refused(&self, peer: SocketAddr, reason: &str) {
        self.stats.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%peer, "seat refused: {reason}");
        let mut r = self
            .refusals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if r.0.elapsed() > Duration::from_secs(60) {
            *r = (Instant::now(), 0);
        }
        r.1 += 1;
        if r.1 <= REFUSALS_PER_MINUTE {
            let _ = self
                .runtime
                .refuse("seats", &format!("seat connection from {peer}"), reason);
        }
    }
}

/// The running listener; [`Hub::stop`] (or dropping it) closes it and
/// every seat's connection.
pub struct Hub {
    addr: SocketAddr,
    tls: bool,
    stats: Arc<HubStats>,
    shutdown: watch::Sender<bool>,
    io: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// The listener's settings.
#[derive(Debug, Clone)]
pub struct HubOptions {
    pub listen: SocketAddr,
    /// PEM certificate chain and key; `None`: plain ws:// (loopback only).
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    pub tokens: Tokens,
    /// How `/overlay` looks.
    pub overlay: crate::overlay::OverlayStyle,
}

impl HubOptions {
    /// From studio.toml's `[seats]`: reads the tokens file (private).
    pub fn from_settings(s: &airbridge_configs::studio::SeatsSettings) -> Result<Self, HubError> {
        Ok(Self {
            listen: s.listen,
            tls: s.tls.clone(),
            tokens: Tokens::load(&s.tokens_file)?,
            overlay: crate::overlay::OverlayStyle::default(),
        })
    }
}

fn load_tls(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, HubError> {
    let bad = |p: &Path, why: String| HubError::Tls(format!("{}: {why}", p.display()));
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad(cert, "no CERTIFICATE block".into()));
    }
    airbridge_runtime::secrets::check_private(key).map_err(|e| HubError::Tls(e.to_string()))?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, e.to_string()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| HubError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key_der)
    .map_err(|e| bad(cert, format!("certificate and key do not go together: {e}")))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

impl Hub {
    /// Opens the listener. A bad certificate, a busy port or a plain
    /// listener off loopback is an error; the show goes on without seats.
    pub fn start(runtime: Runtime, options: HubOptions) -> Result<Self, HubError> {
        if options.tls.is_none() && !options.listen.ip().is_loopback() {
            return Err(HubError::Config(format!(
                "{}: seats on other PCs need TLS; plain ws:// only on 127.0.0.1",
                options.listen
            )));
        }
        let acceptor = match &options.tls {
            Some((cert, key)) => Some(load_tls(cert, key)?),
            None => None,
        };
        let io = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hub-io")
            .enable_all()
            .build()
            .map_err(|e| HubError::Io(format!("cannot start: {e}")))?;
        let listener = io
            .block_on(TcpListener::bind(options.listen))
            .map_err(|e| HubError::Bind(format!("{}: {e}", options.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| HubError::Bind(e.to_string()))?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let stats = Arc::new(HubStats::default());
        let ctx = Arc::new(Ctx {
            runtime,
            overlay: options.overlay,
            tokens: options.tokens,
            stats: Arc::clone(&stats),
            name: addr.to_string(),
            refusals: std::sync::Mutex::new((Instant::now(), 0)),
            shutdown: shutdown_rx,
        });
        io.spawn(accept_loop(listener, acceptor, ctx));
        Ok(Self {
            addr,
            tls: options.tls.is_some(),
            stats,
            shutdown,
            io: Some(io),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `wss://ADDR` or `ws://ADDR`.
    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "wss" } else { "ws" }, self.addr)
    }

    pub fn stats(&self) -> &HubStats {
        &self.stats
    }

    /// How the listener started, for the runtime's parts.
    pub fn report(&self, seats: usize) -> PartReport {
        PartReport {
            name: "seats".into(),
            component: "seats".into(),
            status: airbridge_runtime::PartStatus::Ok(format!("{} ({seats} seats)", self.url())),
            zh: Some(format!("席位服务 {}（{seats} 个席位）", self.url())),
        }
    }

    /// Closes the listener and every seat's connection.
    pub fn stop(mut self) {
        self.close();
    }

    fn close(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(io) = self.io.take() {
            io.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.close();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    ctx: Arc<Ctx>,
) {
    let mut shutdown = ctx.shutdown.clone();
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("seats listener: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        if open.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let ctx = Arc::clone(&ctx);
        let acceptor = acceptor.clone();
        let open = Arc::clone(&open);
        open.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            Box::pin(connection(stream, peer, acceptor, ctx)).await;
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    ctx: Arc<Ctx>,
) {
    match acceptor {
        Some(acc) => match tokio::time::timeout(HANDSHAKE, acc.accept(stream)).await {
            Ok(Ok(tls)) => route(tls, peer, ctx).await,
            Ok(Err(e)) => tracing::info!(%peer, "seat TLS handshake failed: {e}"),
            Err(_) => tracing::info!(%peer, "seat TLS handshake timed out"),
        },
        None => route(stream, peer, ctx).await,
    }
}

/// Largest request head read before routing.
const MAX_HEAD: usize = 16 * 1024;

/// Reads the request head; `/overlay` (plain HTTP, no token) is answered
/// here, everything else goes on to the WebSocket handshake with the head
/// replayed.
async fn route<S>(mut stream: S, peer: SocketAddr, ctx: Arc<Ctx>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = Vec::with_capacity(1024);
    let read = tokio::time::timeout(HANDSHAKE, async {
        let mut buf = [0u8; 2048];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    if !matches!(read, Ok(Ok(()))) || head.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(&head);
    let mut first = text.lines().next().unwrap_or("").split_whitespace();
    let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let upgrade = text.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("upgrade:")
            && l.to_ascii_lowercase().contains("websocket")
    });
    if !upgrade && (path == "/overlay" || path == "/overlay/state") {
        let (ctype, body) = if path == "/overlay" {
            (
                "text/html; charset=utf-8",
                crate::overlay::page(&ctx.overlay),
            )
        } else {
            let rt = ctx.runtime.clone();
            let state = tokio::task::spawn_blocking(move || crate::overlay::state(&rt.board()))
                .await
                .ok();
            (
                "application/json; charset=utf-8",
                state
                    .and_then(|s| serde_json::to_string(&s).ok())
                    .unwrap_or_else(|| "{}".into()),
            )
        };
        let status = if method == "GET" {
            "200 OK"
        } else {
            "405 Method Not Allowed"
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        return;
    }
    upgrade_ws(Rewind::new(head, stream), peer, ctx).await;
}

/// A stream that first gives back bytes already read from it.
struct Rewind<S> {
    prefix: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S> Rewind<S> {
    fn new(prefix: Vec<u8>, inner: S) -> Self {
        Self {
            prefix,
            at: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.at < self.prefix.len() {
            let n = (self.prefix.len() - self.at).min(buf.remaining());
            let at = self.at;
            buf.put_slice(&self.prefix[at..at + n]);
            self.at += n;
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Seat,
    Meters,
}

fn refuse_response(status: StatusCode, why: &str) -> ErrorResponse {
    let mut r = ErrorResponse::new(Some(why.to_owned()));
    *r.status_mut() = status;
    r
}

// tungstenite's handshake callback returns its own (large) error response
#[allow(clippy::result_large_err)]
async fn upgrade_ws<S>(stream: S, peer: SocketAddr, ctx: Arc<Ctx>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut decided: Result<(SeatId, Route), String> = Err("no request".into());
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let route = match req.uri().path() {
            SEAT_PATH => Route::Seat,
            METERS_PATH => Route::Meters,
            other => {
                decided = Err(format!("unknown path {other}"));
                return Err(refuse_response(StatusCode::NOT_FOUND, "no such path"));
            }
        };
        let protocol = req
            .headers()
            .get(PROTOCOL_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u32>().ok());
        if protocol.is_some_and(|p| p != PROTOCOL) {
            decided = Err(format!(
                "protocol {} (this runtime speaks {PROTOCOL}): update the seat",
                protocol.unwrap_or_default()
            ));
            return Err(refuse_response(
                StatusCode::BAD_REQUEST,
                "protocol version not spoken here",
            ));
        }
        let token = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match token.map(|t| ctx.tokens.seat(t)) {
            None => {
                decided = Err("no token".into());
                Err(refuse_response(
                    StatusCode::UNAUTHORIZED,
                    "a seat token is needed",
                ))
            }
            Some(None) => {
                decided = Err("wrong token".into());
                Err(refuse_response(
                    StatusCode::UNAUTHORIZED,
                    "token not known here",
                ))
            }
            Some(Some(seat)) => {
                decided = Ok((seat.clone(), route));
                Ok(resp)
            }
        }
    };
    let ws = tokio::time::timeout(
        HANDSHAKE,
        tokio_tungstenite::accept_hdr_async(stream, callback),
    )
    .await;
    let ws = match ws {
        Ok(Ok(ws)) => ws,
        Ok(Err(_)) | Err(_) => {
            if let Err(why) = &decided
                && why != "no request"
            {
                ctx.refused(peer, why);
            }
            return;
        }
    };
    let Ok((seat, route)) = decided else {
        return;
    };
    match route {
        Route::Seat => {
            ctx.stats.connected.fetch_add(1, Ordering::Relaxed);
            tracing::info!(%peer, seat = %seat.name, role = seat.role.name(), "seat connected");
            seat_session(ws, &seat, &ctx).await;
            ctx.stats.connected.fetch_sub(1, Ordering::Relaxed);
            tracing::info!(%peer, seat = %seat.name, "seat disconnected");
        }
        Route::Meters => meters_session(ws, &ctx).await,
    }
}

fn text(msg: &FromHub) -> Option<Message> {
    serde_json::to_string(msg).ok().map(Message::text)
}

/// The configuration a seat gets: nothing local to the runtime's PC (data
/// directory, ticket store — possibly a connection string —, model path).
fn config_for_seat(rt: &Runtime, at: &str) -> airbridge_configs::ConfigSet {
    let mut c = rt.config().clone();
    c.station.data_dir = None;
    c.station.tickets_store = None;
    c.station.speech_model = None;
    c.origin = airbridge_configs::ConfigOrigin::Runtime(at.to_owned());
    c
}

async fn seat_session<S>(ws: WebSocketStream<S>, seat: &SeatId, ctx: &Arc<Ctx>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut sink, mut source) = ws.split();
    let rt = ctx.runtime.clone();
    let welcome = FromHub::Welcome(Box::new(Welcome {
        protocol: PROTOCOL,
        seat: seat.name.clone(),
        role: seat.role,
        config: Box::new(config_for_seat(&rt, &ctx.name)),
        lines: rt.lines(),
        has_audio: rt.has_audio(),
        head: rt.journal().last_seq(),
        journal: rt.journal().describe(),
        runtime: ctx.name.clone(),
    }));
    let Some(w) = text(&welcome) else { return };
    if sink.send(w).await.is_err() {
        return;
    }
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(SEAT_QUEUE);
    let mut following = false;
    let mut shutdown = ctx.shutdown.clone();
    let mut head_tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            msg = source.next() => {
                let Some(Ok(msg)) = msg else { break };
                let body = match msg {
                    Message::Text(t) => t,
                    Message::Close(_) => break,
                    _ => continue,
                };
                let parsed: Result<ToHub, _> = serde_json::from_str(body.as_str());
                match parsed {
                    Ok(ToHub::Follow { from }) if !following => {
                        following = true;
                        start_follower(&rt, seat.role, from, out_tx.clone(), Arc::clone(&ctx.stats));
                    }
                    Ok(ToHub::Follow { .. }) => {}
                    Ok(ToHub::Act { id, action }) => {
                        ctx.stats.commands.fetch_add(1, Ordering::Relaxed);
                        let (rt, seat, tx) = (rt.clone(), seat.clone(), out_tx.clone());
                        tokio::spawn(async move {
                            let result = tokio::task::spawn_blocking(move || {
                                rt.execute_as(&seat.name, seat.role, action).map_err(|r| r.0)
                            })
                            .await
                            .unwrap_or_else(|e| Err(format!("内部错误：{e}")));
                            if let Some(m) = text(&FromHub::Done { id, result }) {
                                let _ = tx.send(m).await;
                            }
                        });
                    }
                    Ok(ToHub::Ask { id, ask }) => {
                        let (rt, seat, tx) = (rt.clone(), seat.clone(), out_tx.clone());
                        tokio::spawn(async move {
                            let result = tokio::task::spawn_blocking(move || answer(&rt, &seat, ask))
                                .await
                                .unwrap_or_else(|e| Err(format!("内部错误：{e}")));
                            if let Some(m) = text(&FromHub::Answer { id, result }) {
                                let _ = tx.send(m).await;
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!(seat = %seat.name, "unreadable seat message: {e}");
                        let _ = rt.refuse(&seat.name, "unreadable message", format!("无法解析的消息：{e}"));
                    }
                }
            }
            out = out_rx.recv() => {
                let Some(m) = out else { break };
                if sink.send(m).await.is_err() {
                    break;
                }
            }
            _ = head_tick.tick() => {
                if let Some(m) = text(&FromHub::Head { head: rt.journal().last_seq() })
                    && sink.send(m).await.is_err()
                {
                    break;
                }
            }
            _ = shutdown.changed() => {
                let _ = sink.send(Message::Close(None)).await;
                break;
            }
        }
    }
    // dropping out_rx stops the follower at its next batch or timeout
}

/// Reads the journal for one seat on its own thread and hands batches to
/// the seat's socket (waiting while the seat's queue is full: the journal
/// subscription then falls back to reading the disk, and nothing is lost).
fn start_follower(
    rt: &Runtime,
    role: Role,
    from: u64,
    out: mpsc::Sender<Message>,
    stats: Arc<HubStats>,
) {
    let journal = rt.journal().clone();
    let spawned = std::thread::Builder::new()
        .name("hub-follow".into())
        .spawn(move || {
            let mut sub = match journal.subscribe(from.max(1)) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!("seat follower: {e}");
                    return;
                }
            };
            loop {
                let first = match sub.next_timeout(Duration::from_millis(500)) {
                    Ok(Some(ev)) => ev,
                    Ok(None) => {
                        if out.is_closed() {
                            return;
                        }
                        continue;
                    }
                    Err(_) => return,
                };
                let seen = |ev: &airbridge_show::StoredEvent| {
                    role.redact(ev).unwrap_or_else(|| ev.clone())
                };
                let mut events = Vec::with_capacity(16);
                events.push(seen(&first));
                while events.len() < BATCH {
                    match sub.try_next() {
                        Ok(Some(ev)) => events.push(seen(&ev)),
                        _ => break,
                    }
                }
                let n = events.len() as u64;
                let head = journal.last_seq();
                let Some(msg) = text(&FromHub::Events { head, events }) else {
                    return;
                };
                if out.blocking_send(msg).is_err() {
                    return;
                }
                stats.events_sent.fetch_add(n, Ordering::Relaxed);
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start a seat follower: {e}");
    }
}

/// Loudness sent for a silent program (JSON cannot carry −∞).
const LUFS_FLOOR: f32 = -120.0;

/// Entries not reviewed for this long are due for review.
const KB_REVIEW_DAYS: u32 = 365;

fn answer(rt: &Runtime, seat: &SeatId, ask: Ask) -> Result<Answer, String> {
    let deny = |what: &str| Err(rt.refuse(&seat.name, what, seat.role.refusal(what)).0);
    match ask {
        Ask::Kb | Ask::KbSearch { .. } | Ask::KbEntry { .. } | Ask::KbReview { .. }
            if !seat.role.may_search_kb() =>
        {
            deny("查询知识库")
        }
        Ask::KbEntry { id } => rt
            .kb_entry(&id)
            .map(|(entry, version, history)| Answer::KbEntry {
                entry: Box::new(entry),
                version,
                history,
            }),
        Ask::KbReview { today } => Ok(Answer::KbReview(rt.kb_review(&today, KB_REVIEW_DAYS))),
        Ask::Guide { .. } if seat.role == airbridge_runtime::Role::Observer => deny("生成办事攻略"),
        Ask::Guide { from, to } => rt
            .guide_between(&from, &to)
            .map(|g| Answer::Guide(Box::new(g))),
        Ask::Kb => match rt.kb().try_get() {
            Some(Ok(kb)) => Ok(Answer::Kb {
                describe: format!("知识库 {} 条 · {}", kb.entries.len(), kb.name),
                entries: kb.entries.as_ref().clone(),
            }),
            Some(Err(e)) => Err(format!("知识库不可用：{e}")),
            None => Err("知识库正在加载".into()),
        },
        Ask::KbSearch { query } => match rt.kb().try_get() {
            Some(Ok(kb)) => Ok(Answer::KbHits {
                hits: kb.searcher.search(&query, 8),
                query,
            }),
            Some(Err(e)) => Err(format!("知识库不可用：{e}")),
            None => Err("知识库正在加载".into()),
        },
        Ask::Tickets
        | Ask::Ticket { .. }
        | Ask::TicketChange { .. }
        | Ask::ExportTickets
        | Ask::TicketReport { .. }
            if !seat.role.may_work_tickets() =>
        {
            deny(match ask {
                Ask::TicketReport { .. } => "查看工单统计",
                Ask::Ticket { .. } => "查看工单（含联系方式）",
                Ask::TicketChange { .. } => "处理工单",
                Ask::ExportTickets => "导出工单",
                _ => "查看工单",
            })
        }
        Ask::TicketReport { from, to, by } => rt
            .ticket_report(&from, &to, by, chrono::Utc::now())
            .map(|r| Answer::TicketReport(Box::new(r))),
        Ask::Tickets => rt
            .ticket_snapshot(chrono::Utc::now())
            .map(|(s, _)| Answer::Tickets(Box::new(s)))
            .ok_or_else(|| "本节目没有工单库".to_owned()),
        Ask::Ticket { id } => match rt.ticket_detail(&id) {
            Some(r) => r.map(|d| Answer::Ticket(Box::new(d))),
            None => Err("本节目没有工单库".into()),
        },
        // an attachment is recorded with its file, on the runtime's PC only
        Ask::TicketChange {
            change: airbridge_tickets::Change::Attach { .. },
            ..
        } => deny("远程添加附件（请在运行节目的电脑上添加）"),
        Ask::TicketChange {
            id,
            based_on,
            change,
        } => match rt.with_desk(|d| d.apply(&id, based_on, &change, &seat.name)) {
            Some(Ok(t)) => Ok(Answer::TicketSaved(Box::new(t))),
            Some(Err(e)) => Err(format!("工单 {id} 未保存：{e}")),
            None => Err("本节目没有工单库".into()),
        },
        Ask::ExportTickets => {
            let dir = tempdir_in_data(rt)?;
            let path = dir.join(format!("export-{}.xlsx", rand::random::<u32>()));
            let rows = rt.export_tickets(chrono::Utc::now(), &path)?;
            let bytes = std::fs::read(&path).map_err(|e| e.to_string());
            let _ = std::fs::remove_file(&path);
            Ok(Answer::Exported {
                rows,
                xlsx: base64::engine::general_purpose::STANDARD.encode(bytes?),
            })
        }
    }
}

fn tempdir_in_data(rt: &Runtime) -> Result<std::path::PathBuf, String> {
    let dir = rt.paths().data_dir.join("exports");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

async fn meters_session<S>(ws: WebSocketStream<S>, ctx: &Arc<Ctx>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut sink, mut source) = ws.split();
    let meters = ctx.runtime.meters();
    let mut tick = tokio::time::interval(Duration::from_millis(u64::from(1000 / METER_HZ)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut shutdown = ctx.shutdown.clone();
    loop {
        tokio::select! {
            msg = source.next() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            },
            _ = tick.tick() => {
                let Some(m) = &meters else { continue };
                let s = m.snapshot();
                let frame = MeterFrame {
                    lines: s.lines.iter().map(|l| [l.peak, l.rms]).collect(),
                    program: [s.program.peak, s.program.rms],
                    cue: [s.cue.peak, s.cue.rms],
                    // JSON has no -inf (a silent program): floor it
                    momentary_lufs: s.momentary_lufs.max(LUFS_FLOOR),
                    short_term_lufs: s.short_term_lufs.max(LUFS_FLOOR),
                    delay: s.delay.configured().then_some(s.delay),
                };
                let Ok(t) = serde_json::to_string(&frame) else { continue };
                if sink.send(Message::text(t)).await.is_err() {
                    return;
                }
            }
            _ = shutdown.changed() => {
                let _ = sink.send(Message::Close(None)).await;
                return;
            }
        }
    }
}
