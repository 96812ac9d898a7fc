//! The seat client: connects to a runtime's seats listener, follows its
//! journal with no gap and no repeat across reconnects (it resumes from the
//! last event it delivered), keeps the link's state for the status bar, and
//! sends commands — refused at once, with a message, while the link is
//! down, never dropped silently.
//!
//! A plain (blocking) API over its own thread (`seat-link`, a one-thread
//! tokio runtime), so the window's UI thread and the command line use it
//! alike: the UI only ever `try_recv`s.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use airbridge_feeds::tls::ClientTls;
use airbridge_runtime::{Action, Outcome};
use airbridge_show::StoredEvent;
use crossbeam_channel::{Receiver, Sender};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::protocol::{
    Answer, Ask, FromHub, METERS_PATH, MeterFrame, PROTOCOL, PROTOCOL_HEADER, SEAT_PATH, ToHub,
    Welcome,
};

/// How to reach the runtime.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `wss://HOST:PORT` or `ws://127.0.0.1:PORT`.
    pub url: String,
    pub token: String,
    /// A CA (or the runtime's own certificate) to trust besides the system's.
    pub ca_file: Option<PathBuf>,
    /// The first sequence number wanted (1: the whole journal; 0: only
    /// what happens from the first connect on).
    pub from: u64,
    /// Also open the meters stream.
    pub meters: bool,
}

/// The link as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Connected,
    /// Lost; trying again since `since`.
    Reconnecting {
        since: Instant,
        why: String,
    },
    /// The runtime refused this seat (token, protocol, certificate): no retry.
    Refused(String),
    Closed,
}

/// A command's or question's answer.
#[derive(Debug, Clone)]
pub enum Reply {
    Done {
        id: u64,
        result: Result<Outcome, String>,
    },
    Answer {
        id: u64,
        result: Result<Answer, String>,
    },
}

impl Reply {
    pub fn id(&self) -> u64 {
        match self {
            Reply::Done { id, .. } | Reply::Answer { id, .. } => *id,
        }
    }
}

#[derive(Debug)]
struct Status {
    state: LinkState,
    /// The next sequence number to deliver.
    next: u64,
    /// The runtime's last sequence number, as last heard.
    head: u64,
    welcome: Option<Welcome>,
    pending: BTreeSet<u64>,
    meters: Option<(Instant, MeterFrame)>,
}

type Wake = Arc<dyn Fn() + Send + Sync>;

struct Shared {
    status: Mutex<Status>,
    events: Sender<Arc<StoredEvent>>,
    replies: Sender<Reply>,
    wake: Wake,
}

impl Shared {
    fn status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connected (or reconnecting) seat.
pub struct SeatClient {
    pub events: Receiver<Arc<StoredEvent>>,
    pub replies: Receiver<Reply>,
    shared: Arc<Shared>,
    commands: mpsc::Sender<ToHub>,
    ids: AtomicU64,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SeatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeatClient")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// Events buffered for the seat before the link stops reading the socket.
const EVENT_BUFFER: usize = 200_000;
/// Answers not yet read by the seat.
const REPLY_BUFFER: usize = 1024;
/// Commands queued for the socket.
const COMMAND_BUFFER: usize = 256;
/// The runtime says something (events or its head) every 5 s: silence for
/// this long is a dead link.
const SILENCE: Duration = Duration::from_secs(15);

impl SeatClient {
    /// Starts connecting (in the background); `wake` is called whenever
    /// something arrives (the window's repaint).
    pub fn connect(options: ClientOptions, wake: impl Fn() + Send + Sync + 'static) -> Self {
        let (ev_tx, ev_rx) = crossbeam_channel::bounded(EVENT_BUFFER);
        let (rep_tx, rep_rx) = crossbeam_channel::bounded(REPLY_BUFFER);
        let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_BUFFER);
        let (stop_tx, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            status: Mutex::new(Status {
                state: LinkState::Connecting,
                next: options.from,
                head: 0,
                welcome: None,
                pending: BTreeSet::new(),
                meters: None,
            }),
            events: ev_tx,
            replies: rep_tx,
            wake: Arc::new(wake),
        });
        let link_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("seat-link".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        link_shared.status().state =
                            LinkState::Refused(format!("cannot start: {e}"));
                        return;
                    }
                };
                rt.block_on(run(options, Arc::clone(&link_shared), cmd_rx, stop_rx));
                let mut s = link_shared.status();
                if !matches!(s.state, LinkState::Refused(_)) {
                    s.state = LinkState::Closed;
                }
                drop(s);
                (link_shared.wake)();
            })
            .ok();
        Self {
            events: ev_rx,
            replies: rep_rx,
            shared,
            commands: cmd_tx,
            ids: AtomicU64::new(1),
            stop: stop_tx,
            thread,
        }
    }

    pub fn state(&self) -> LinkState {
        self.shared.status().state.clone()
    }

    /// The runtime's welcome (who this seat is, the show), once connected.
    pub fn welcome(&self) -> Option<Welcome> {
        self.shared.status().welcome.clone()
    }

    /// The next sequence number to be delivered.
    pub fn next_seq(&self) -> u64 {
        self.shared.status().next
    }

    /// How many events the runtime has that this seat has not yet received.
    pub fn behind(&self) -> u64 {
        let s = self.shared.status();
        s.head.saturating_sub(s.next.saturating_sub(1))
    }

    /// The latest meter frame and when it came.
    pub fn meters(&self) -> Option<(Instant, MeterFrame)> {
        self.shared.status().meters.clone()
    }

    fn send(&self, make: impl FnOnce(u64) -> ToHub) -> Result<u64, String> {
        let mut s = self.shared.status();
        match &s.state {
            LinkState::Connected => {}
            LinkState::Reconnecting { since, .. } => {
                return Err(format!(
                    "与运行时的连接中断（重连中 {} 秒）：命令未发送，请稍后再试",
                    since.elapsed().as_secs()
                ));
            }
            LinkState::Connecting => return Err("正在连接运行时：命令未发送".into()),
            LinkState::Refused(why) => return Err(format!("运行时拒绝了本席位：{why}")),
            LinkState::Closed => return Err("连接已关闭：命令未发送".into()),
        }
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        s.pending.insert(id);
        drop(s);
        match self.commands.try_send(make(id)) {
            Ok(()) => Ok(id),
            Err(e) => {
                self.shared.status().pending.remove(&id);
                Err(match e {
                    mpsc::error::TrySendError::Full(_) => {
                        "命令太多，稍后再试：命令未发送".to_owned()
                    }
                    mpsc::error::TrySendError::Closed(_) => "连接已关闭：命令未发送".to_owned(),
                })
            }
        }
    }

    /// Asks the runtime to do something; the answer comes as a [`Reply`].
    pub fn act(&self, action: Action) -> Result<u64, String> {
        self.send(|id| ToHub::Act { id, action })
    }

    pub fn ask(&self, ask: Ask) -> Result<u64, String> {
        self.send(|id| ToHub::Ask { id, ask })
    }

    /// Waits (up to `timeout`) for the link to be connected.
    #[allow(clippy::disallowed_methods)] // command-line and test helper, never the UI thread
    pub fn wait_connected(&self, timeout: Duration) -> Result<Welcome, String> {
        let end = Instant::now() + timeout;
        loop {
            {
                let s = self.shared.status();
                match (&s.state, &s.welcome) {
                    (LinkState::Connected, Some(w)) => return Ok(w.clone()),
                    (LinkState::Refused(why), _) => return Err(why.clone()),
                    _ => {}
                }
                if Instant::now() >= end {
                    return Err(match &s.state {
                        LinkState::Reconnecting { why, .. } => why.clone(),
                        other => format!("not connected after {timeout:?} ({other:?})"),
                    });
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends an action and waits for its answer (command line, tests).
    pub fn act_wait(&self, action: Action, timeout: Duration) -> Result<Outcome, String> {
        let id = self.act(action)?;
        match self.wait_reply(id, timeout)? {
            Reply::Done { result, .. } => result,
            Reply::Answer { .. } => Err("unexpected answer".into()),
        }
    }

    /// Asks and waits for the answer (command line, tests).
    pub fn ask_wait(&self, ask: Ask, timeout: Duration) -> Result<Answer, String> {
        let id = self.ask(ask)?;
        match self.wait_reply(id, timeout)? {
            Reply::Answer { result, .. } => result,
            Reply::Done { .. } => Err("unexpected reply".into()),
        }
    }

    fn wait_reply(&self, id: u64, timeout: Duration) -> Result<Reply, String> {
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(r) if r.id() == id => return Ok(r),
                Ok(_) => {}
                Err(_) => return Err(format!("no answer within {timeout:?}")),
            }
        }
    }

    /// Closes the link.
    pub fn close(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SeatClient {
    fn drop(&mut self) {
        self.shutdown();
    }
}

enum Failure {
    /// Try again.
    Retry(String),
    /// The runtime refused this seat: no retry.
    Fatal(String),
    Stopped,
}

async fn run(
    options: ClientOptions,
    shared: Arc<Shared>,
    mut commands: mpsc::Receiver<ToHub>,
    mut stop: watch::Receiver<bool>,
) {
    let tls = match ClientTls::new(options.ca_file.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            shared.status().state = LinkState::Refused(e.to_string());
            (shared.wake)();
            return;
        }
    };
    let target = match Target::parse(&options.url) {
        Ok(t) => t,
        Err(e) => {
            shared.status().state = LinkState::Refused(e);
            (shared.wake)();
            return;
        }
    };
    let meters = if options.meters {
        let (t, tok, sh, st) = (
            target.clone(),
            options.token.clone(),
            Arc::clone(&shared),
            stop.clone(),
        );
        let tls = tls.clone();
        Some(tokio::spawn(async move {
            meters_loop(t, tls, tok, sh, st).await
        }))
    } else {
        None
    };
    let mut attempt: u32 = 0;
    loop {
        let r = session(
            &target,
            &tls,
            &options.token,
            &shared,
            &mut commands,
            &mut stop,
        )
        .await;
        // whatever was in flight has no answer now
        let pending: Vec<u64> = std::mem::take(&mut shared.status().pending)
            .into_iter()
            .collect();
        for id in pending {
            let _ = shared.replies.send(Reply::Done {
                id,
                result: Err("连接中断：不能确认命令是否已执行，请查看日志".into()),
            });
        }
        match r {
            Failure::Stopped => break,
            Failure::Fatal(why) => {
                tracing::warn!("seat refused: {why}");
                shared.status().state = LinkState::Refused(why);
                (shared.wake)();
                break;
            }
            Failure::Retry(why) => {
                {
                    let mut s = shared.status();
                    let since = match &s.state {
                        LinkState::Reconnecting { since, .. } => *since,
                        _ => Instant::now(),
                    };
                    if let LinkState::Connected = s.state {
                        attempt = 0;
                    }
                    tracing::info!("seat link lost: {why}");
                    s.state = LinkState::Reconnecting { since, why };
                }
                (shared.wake)();
                let wait = Duration::from_millis(200 * 2u64.pow(attempt.min(4)))
                    .min(Duration::from_secs(3));
                attempt += 1;
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => break,
                }
            }
        }
    }
    if let Some(m) = meters {
        m.abort();
    }
}

#[derive(Debug, Clone)]
struct Target {
    tls: bool,
    host: String,
    port: u16,
}

impl Target {
    fn parse(url: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("wss://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("ws://") {
            (false, r)
        } else {
            return Err(format!(
                "{url:?}: use wss://HOST:PORT (or ws://127.0.0.1:PORT)"
            ));
        };
        let authority = rest.split('/').next().unwrap_or("");
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(':') => (
                h.to_owned(),
                p.parse::<u16>()
                    .map_err(|_| format!("{url:?}: bad port {p:?}"))?,
            ),
            _ => return Err(format!("{url:?}: give the port (HOST:PORT)")),
        };
        if host.is_empty() {
            return Err(format!("{url:?}: no host"));
        }
        Ok(Self { tls, host, port })
    }

    fn url(&self, path: &str) -> String {
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!(
            "{}://{host}:{}{path}",
            if self.tls { "wss" } else { "ws" },
            self.port
        )
    }
}

async fn open(
    target: &Target,
    tls: &ClientTls,
    token: &str,
    path: &str,
) -> Result<tokio_tungstenite::WebSocketStream<airbridge_feeds::tls::Stream>, Failure> {
    let stream = tls
        .connect(&target.host, target.port, target.tls)
        .await
        .map_err(|e| match e {
            airbridge_feeds::FeedsError::Tls { detail, .. } if detail.contains("certificate") => {
                Failure::Fatal(format!("TLS certificate refused: {detail}"))
            }
            other => Failure::Retry(other.to_string()),
        })?;
    let mut req = target
        .url(path)
        .into_client_request()
        .map_err(|e| Failure::Fatal(e.to_string()))?;
    let auth = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
        .map_err(|_| Failure::Fatal("the token has characters a header cannot carry".into()))?;
    req.headers_mut().insert("authorization", auth);
    req.headers_mut()
        .insert(PROTOCOL_HEADER, HeaderValue::from(PROTOCOL));
    match tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::client_async(req, stream),
    )
    .await
    {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(WsError::Http(resp))) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            let why = match resp.status().as_u16() {
                401 => format!("令牌无效或缺失（401 {body}）"),
                400 => format!("协议版本不符（400 {body}）"),
                s => format!("HTTP {s} {body}"),
            };
            Err(Failure::Fatal(why))
        }
        Ok(Err(e)) => Err(Failure::Retry(e.to_string())),
        Err(_) => Err(Failure::Retry("WebSocket handshake timed out".into())),
    }
}

async fn session(
    target: &Target,
    tls: &ClientTls,
    token: &str,
    shared: &Arc<Shared>,
    commands: &mut mpsc::Receiver<ToHub>,
    stop: &mut watch::Receiver<bool>,
) -> Failure {
    let ws = tokio::select! {
        r = open(target, tls, token, SEAT_PATH) => match r {
            Ok(ws) => ws,
            Err(f) => return f,
        },
        _ = stop.changed() => return Failure::Stopped,
    };
    let (mut sink, mut source) = ws.split();
    // the welcome first
    let welcome = match tokio::time::timeout(Duration::from_secs(10), source.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str::<FromHub>(t.as_str()) {
            Ok(FromHub::Welcome(w)) => *w,
            Ok(_) => return Failure::Retry("no welcome from the runtime".into()),
            Err(e) => return Failure::Fatal(format!("the runtime speaks another protocol: {e}")),
        },
        _ => return Failure::Retry("no welcome from the runtime".into()),
    };
    let from = {
        let mut s = shared.status();
        s.head = welcome.head;
        if s.next == 0 {
            s.next = welcome.head + 1;
        }
        s.welcome = Some(welcome);
        s.state = LinkState::Connected;
        s.next
    };
    (shared.wake)();
    let Ok(follow) = serde_json::to_string(&ToHub::Follow { from }) else {
        return Failure::Fatal("cannot encode".into());
    };
    if let Err(e) = sink.send(Message::text(follow)).await {
        return Failure::Retry(e.to_string());
    }
    loop {
        tokio::select! {
            msg = tokio::time::timeout(SILENCE, source.next()) => {
                let msg = match msg {
                    Err(_) => return Failure::Retry(format!("no word from the runtime for {} s", SILENCE.as_secs())),
                    Ok(None) => return Failure::Retry("the runtime closed the connection".into()),
                    Ok(Some(Err(e))) => return Failure::Retry(e.to_string()),
                    Ok(Some(Ok(m))) => m,
                };
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Close(_) => return Failure::Retry("the runtime closed the connection".into()),
                    _ => continue,
                };
                let parsed = match serde_json::from_str::<FromHub>(text.as_str()) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!("unreadable frame from the runtime: {e}");
                        continue;
                    }
                };
                if let Err(f) = deliver(shared, parsed) {
                    return f;
                }
            }
            cmd = commands.recv() => {
                let Some(cmd) = cmd else { return Failure::Stopped };
                let Ok(t) = serde_json::to_string(&cmd) else { continue };
                if let Err(e) = sink.send(Message::text(t)).await {
                    return Failure::Retry(e.to_string());
                }
            }
            _ = stop.changed() => {
                let _ = sink.send(Message::Close(None)).await;
                return Failure::Stopped;
            }
        }
    }
}

fn deliver(shared: &Arc<Shared>, msg: FromHub) -> Result<(), Failure> {
    match msg {
        FromHub::Events { head, events } => {
            for ev in events {
                let next = shared.status().next;
                if ev.seq < next {
                    continue; // already delivered before a reconnect
                }
                if ev.seq > next {
                    return Err(Failure::Retry(format!(
                        "gap in the journal stream: expected {next}, got {}",
                        ev.seq
                    )));
                }
                if shared.events.send(Arc::new(ev)).is_err() {
                    return Err(Failure::Stopped);
                }
                let mut s = shared.status();
                s.next = next + 1;
                s.head = s.head.max(head).max(next);
            }
        }
        FromHub::Head { head } => shared.status().head = head,
        FromHub::Done { id, result } => {
            shared.status().pending.remove(&id);
            let _ = shared.replies.send(Reply::Done { id, result });
        }
        FromHub::Answer { id, result } => {
            shared.status().pending.remove(&id);
            let _ = shared.replies.send(Reply::Answer { id, result });
        }
        FromHub::Welcome(_) => {}
    }
    (shared.wake)();
    Ok(())
}

async fn meters_loop(
    target: Target,
    tls: ClientTls,
    token: String,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if let Ok(ws) = open(&target, &tls, &token, METERS_PATH).await {
            let (_sink, mut source) = ws.split();
            loop {
                tokio::select! {
                    m = tokio::time::timeout(Duration::from_secs(5), source.next()) => match m {
                        Ok(Some(Ok(Message::Text(t)))) => {
                            if let Ok(frame) = serde_json::from_str::<MeterFrame>(t.as_str()) {
                                shared.status().meters = Some((Instant::now(), frame));
                                (shared.wake)();
                            }
                        }
                        Ok(Some(Ok(_))) => {}
                        // a runtime without audio sends nothing: keep the link
                        Err(_) => {}
                        _ => break,
                    },
                    _ = stop.changed() => return,
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let t = Target::parse("wss://studio.example:8750").unwrap();
        assert!(t.tls);
        assert_eq!((t.host.as_str(), t.port), ("studio.example", 8750));
        assert_eq!(t.url("/seat"), "wss://studio.example:8750/seat");
        let t = Target::parse("ws://127.0.0.1:9/").unwrap();
        assert!(!t.tls);
        assert!(Target::parse("http://x:1").is_err());
        assert!(Target::parse("wss://x").is_err());
        assert!(Target::parse("wss://x:port").is_err());
    }
}
