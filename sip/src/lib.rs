//! # airbridge-sip: phone lines over SIP
//!
//! Answers calls that the station's PBX or SIP trunk sends to AirBridge
//! (UDP and TCP on one address), as a trunk endpoint that accepts INVITEs
//! only from the configured networks. The signalling is `rsipstack`; the
//! SDP offer is read with `ezk-sdp-types`; the media is not here: the
//! runtime puts each call's audio on an RTP line of the engine
//! (GStreamer: jitter buffer, Opus / G.711, both ways) and tells this crate
//! the line's RTP address.
//!
//! A call, as a screener expects it:
//! 1. INVITE from an allowed address, within the rate limit, with an offer
//!    in one of the configured codecs → [`SipEvent::Incoming`]; the runtime
//!    rings a free SIP line ([`IncomingCall::ring`], `180 Ringing`) or says
//!    all lines are busy ([`IncomingCall::busy`], `486 Busy Here`).
//! 2. The screener answers → [`SipLines::answer`] with the address of the
//!    RTP line opened for the call: `200 OK` with the answer SDP.
//! 3. The screener drops → [`SipLines::hang_up`]: `BYE` (or `603 Decline`
//!    while ringing). The caller hangs up (BYE) or gives up (CANCEL) →
//!    [`SipEvent::Ended`].
//!
//! With no free line the runtime may instead answer with a recorded
//! message ([`IncomingCall::announce`]) and hang up when it has played.
//!
//! Refused before any line rings (counted in [`SipStats`], reported as
//! [`SipEvent::Refused`]): an address outside `allow` (`403`), wrong
//! credentials when calls must authenticate (`403`; none at all get a
//! `401` digest challenge first, [`auth`]), more
//! INVITEs from one address than the rate limit (`503`, calls in progress
//! are untouched), an offer without a usable codec (`488`), an unreadable
//! offer (`400`). The SIP thread never takes the program down: it has its
//! own runtime and thread, and a failure there ends its calls, not the show.

pub mod auth;
pub mod caller;
pub mod sdp;
#[cfg(feature = "testing")]
pub mod testing;

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rsipstack::EndpointBuilder;
use rsipstack::dialog::DialogId;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{DialogState, DialogStateSender, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::dialog::registration::{RefreshOutcome, Registration};
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Host, Method, StatusCode};
use rsipstack::transaction::Transaction;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipConnection, TcpListenerConnection, TransportLayer};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub use auth::InboundAuth;
pub use caller::Caller;
pub use ipnet::IpNet;
pub use sdp::{Codec, Offer, OfferError};

/// How the SIP side of the station is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Where to listen, UDP and TCP (port 0: any free port).
    pub bind: SocketAddr,
    /// The address callers reach us at from outside (SDP and Contact
    /// behind NAT); `None`: the bound address.
    pub public_address: Option<IpAddr>,
    /// Codecs in preference order.
    pub codecs: Vec<Codec>,
    /// Networks calls are accepted from; empty: any.
    pub allow: Vec<IpNet>,
    /// INVITEs one address may send per [`RATE_WINDOW`].
    pub invites_per_window: u32,
    /// Calls must prove these credentials (digest); `None`: not asked.
    pub inbound_auth: Option<InboundAuth>,
    /// Register to the station's PBX (its calls then come to our contact).
    pub register: Option<Register>,
    /// Where calls AirBridge places (call-backs) go: the PBX or trunk,
    /// `host[:port]`; `None`: the registrar.
    pub outbound: Option<String>,
}

/// Registering to a PBX: REGISTER with digest authentication, refreshed
/// before the binding expires (at 75 % of what the registrar granted).
#[derive(Clone, PartialEq, Eq)]
pub struct Register {
    /// `sip:pbx.example.invalid` or `pbx.example.invalid:5060` (`;transport=tcp` for TCP).
    pub registrar: String,
    /// The extension (user part of the address of record, digest user name).
    pub user: String,
    pub password: String,
    /// Seconds asked for (the registrar may grant less).
    pub expires: u32,
}

impl std::fmt::Debug for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Register")
            .field("registrar", &self.registrar)
            .field("user", &self.user)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// Ids of calls AirBridge places start here (calls it answers count from 1).
const OUTBOUND_IDS: u64 = 1 << 40;

/// Commands (answer, hang up) waiting for the SIP thread.
const COMMAND_QUEUE: usize = 256;

/// The window of the INVITE rate limit.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);

impl Settings {
    pub fn new(bind: SocketAddr) -> Settings {
        Settings {
            bind,
            public_address: None,
            codecs: vec![Codec::Opus, Codec::Pcma, Codec::Pcmu],
            allow: Vec::new(),
            invites_per_window: 20,
            inbound_auth: None,
            register: None,
            outbound: None,
        }
    }

    /// Whether calls from `ip` are accepted.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow.is_empty() || self.allow.iter().any(|n| n.contains(&ip))
    }
}

/// Why the SIP lines could not start.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("SIP cannot listen on {addr}: {detail}")]
    Bind { addr: SocketAddr, detail: String },
    #[error("SIP cannot start: {0}")]
    Start(String),
}

/// One call, as long as it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

impl std::fmt::Display for CallId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sip-{}", self.0)
    }
}

/// What the runtime tells a new call.
#[derive(Debug)]
enum Decision {
    Ring,
    Busy,
    /// Answer, the message's RTP going from this address.
    Announce(SocketAddr),
}

/// A call waiting for a line: ring it or say busy (dropping it says busy).
#[derive(Debug)]
pub struct IncomingCall {
    pub id: CallId,
    pub caller: Caller,
    /// Where the INVITE came from.
    pub source: IpAddr,
    /// The codec both sides speak.
    pub codec: Codec,
    /// Its payload type in the caller's offer (what Opus is sent with).
    pub payload_type: u8,
    /// Where the caller's RTP comes from and goes to.
    pub remote_rtp: SocketAddr,
    /// The payload type of RFC 4733 telephone events (DTMF), when offered
    /// (the answer accepts it).
    pub telephone_event: Option<u8>,
    reply: Option<oneshot::Sender<Decision>>,
}

impl IncomingCall {
    /// A line rings for it: `180 Ringing` (the line's RTP address is
    /// given when it is answered, [`SipLines::answer`]).
    pub fn ring(mut self) {
        if let Some(r) = self.reply.take() {
            let _ = r.send(Decision::Ring);
        }
    }

    /// No line is free: `486 Busy Here`.
    pub fn busy(mut self) {
        if let Some(r) = self.reply.take() {
            let _ = r.send(Decision::Busy);
        }
    }

    /// No line is free, and a message says so: `200 OK` with an answer
    /// naming `local_rtp`, where the message is sent from. The runtime
    /// hangs up ([`SipLines::hang_up`]) when it has played; the caller
    /// hanging up first comes as [`SipEvent::Ended`].
    pub fn announce(mut self, local_rtp: SocketAddr) {
        if let Some(r) = self.reply.take() {
            let _ = r.send(Decision::Announce(local_rtp));
        }
    }
}

impl Drop for IncomingCall {
    fn drop(&mut self) {
        if let Some(r) = self.reply.take() {
            let _ = r.send(Decision::Busy);
        }
    }
}

/// How a call ended on the caller's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// CANCEL before anyone answered.
    Cancelled,
    /// BYE from the caller.
    HungUp,
    /// We hung up (BYE or decline).
    ByUs,
    /// The caller never acknowledged our answer.
    NoAck,
    /// A call we placed was not answered (the PBX's or callee's final
    /// response, or why it could not be placed).
    NotReached(String),
    /// Anything else the dialog ended with.
    Other(String),
}

impl Ended {
    /// For the journal.
    pub fn zh(&self) -> String {
        match self {
            Ended::Cancelled => "来电方在接听前挂断（未接来电）".into(),
            Ended::HungUp => "来电方挂断".into(),
            Ended::ByUs => "本台挂断".into(),
            Ended::NoAck => "来电方未确认接听（网络问题）".into(),
            Ended::NotReached(why) => format!("回拨未接通：{why}"),
            Ended::Other(s) => format!("通话结束：{s}"),
        }
    }
}

/// Why an INVITE was refused before any line rang.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Outside `allow`: 403.
    NotAllowed,
    /// Over the rate limit: 503.
    RateLimited,
    /// No codec in common: 488 (the payload types offered).
    NoCodec(Vec<u8>),
    /// The offer could not be read: 400 / 488.
    BadOffer(String),
    /// Credentials that are wrong (why): 403.
    BadAuth(String),
}

/// What the SIP lines tell the runtime.
#[derive(Debug)]
pub enum SipEvent {
    Incoming(IncomingCall),
    Ended {
        id: CallId,
        why: Ended,
    },
    Refused {
        source: IpAddr,
        why: Refusal,
    },
    /// A call we placed ([`SipLines::dial`]) was answered.
    Answered {
        id: CallId,
    },
    /// A REGISTER was answered (or failed): `ok` with the registrar's
    /// words, e.g. `200 OK`, `403 Forbidden`, or why it could not be sent.
    Registration {
        ok: bool,
        detail: String,
    },
}

/// Counters for the health report.
#[derive(Debug, Default)]
pub struct SipStats {
    pub calls: AtomicU64,
    pub refused_address: AtomicU64,
    pub rate_limited: AtomicU64,
    pub refused_codec: AtomicU64,
    pub bad_requests: AtomicU64,
    pub busy: AtomicU64,
    /// Of the busy ones, answered with the busy message.
    pub busy_messages: AtomicU64,
    /// INVITEs answered with a digest challenge (`401`).
    pub challenged: AtomicU64,
    /// INVITEs with wrong credentials (`403`).
    pub refused_auth: AtomicU64,
    /// REGISTERs the registrar accepted (the first and every refresh).
    pub registered: AtomicU64,
    pub registration_failures: AtomicU64,
}

enum Command {
    Answer(CallId, SocketAddr),
    HangUp(CallId),
    Dial {
        id: CallId,
        number: String,
        local_rtp: SocketAddr,
        codec: Codec,
    },
}

/// A call the SIP thread keeps.
struct Call {
    dialog: InviteDialog,
    dialog_id: DialogId,
    offer: Offer,
    pt: u8,
    codec: Codec,
    answered: bool,
    /// A call we placed (a call-back).
    outbound: bool,
}

#[derive(Default)]
struct Calls {
    by_id: HashMap<CallId, Call>,
    next: u64,
}

impl Calls {
    /// The call of a dialog, by its Call-ID (a placed call's dialog id
    /// gains the remote tag when it is answered).
    fn id_of(&self, dialog: &DialogId) -> Option<CallId> {
        self.by_id
            .iter()
            .find(|(_, c)| c.dialog_id.call_id == dialog.call_id)
            .map(|(id, _)| *id)
    }
}

/// The SIP lines: a thread of their own with a small async runtime.
/// Dropping this stops them (calls in progress are left to time out).
pub struct SipLines {
    commands: mpsc::Sender<Command>,
    dialled: AtomicU64,
    token: CancellationToken,
    thread: Option<JoinHandle<()>>,
    local: SocketAddr,
    stats: Arc<SipStats>,
}

impl std::fmt::Debug for SipLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipLines")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl SipLines {
    /// Listens on `settings.bind` (UDP and TCP) and sends what happens to `events`.
    pub fn start(
        settings: Settings,
        events: crossbeam_channel::Sender<SipEvent>,
    ) -> Result<SipLines, SipError> {
        let token = CancellationToken::new();
        let stats = Arc::new(SipStats::default());
        let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let t = token.clone();
        let s = Arc::clone(&stats);
        let thread = std::thread::Builder::new()
            .name("sip".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("sip-io")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(SipError::Start(e.to_string())));
                        return;
                    }
                };
                rt.block_on(run(settings, events, command_rx, t, ready_tx, s));
            })
            .map_err(|e| SipError::Start(e.to_string()))?;
        let local = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| SipError::Start("the SIP thread did not start".into()))??;
        Ok(SipLines {
            commands,
            dialled: AtomicU64::new(1),
            token,
            thread: Some(thread),
            local,
            stats,
        })
    }

    /// Where the lines listen (the port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn stats(&self) -> &SipStats {
        &self.stats
    }

    /// The screener answered: `200 OK` with the answer SDP naming
    /// `local_rtp`, where the call's RTP line listens.
    pub fn answer(&self, id: CallId, local_rtp: SocketAddr) {
        self.send(Command::Answer(id, local_rtp));
    }

    /// Places a call (a call-back) to `number` through the PBX
    /// (`outbound`, else the registrar), offering `codec` with our RTP at
    /// `local_rtp`. What happens comes as [`SipEvent::Answered`] or
    /// [`SipEvent::Ended`] with this id.
    pub fn dial(&self, number: &str, local_rtp: SocketAddr, codec: Codec) -> CallId {
        let id = CallId(OUTBOUND_IDS + self.dialled.fetch_add(1, Ordering::Relaxed));
        self.send(Command::Dial {
            id,
            number: number.to_owned(),
            local_rtp,
            codec,
        });
        id
    }

    /// The screener dropped the call: `BYE`, or `603 Decline` while ringing.
    pub fn hang_up(&self, id: CallId) {
        self.send(Command::HangUp(id));
    }

    fn send(&self, cmd: Command) {
        if self.commands.try_send(cmd).is_err() {
            tracing::warn!("SIP: command queue full or SIP stopped; a command was dropped");
        }
    }
}

impl Drop for SipLines {
    fn drop(&mut self) {
        self.token.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The source of a request: Via `received`/`rport` (set by the transport
/// from the packet's real address) or the Via host.
fn source_of(tx: &Transaction) -> Option<IpAddr> {
    let via = tx.original.via_header().ok()?;
    let (_, host) = SipConnection::parse_target_from_via(via).ok()?;
    match host.host {
        Host::IpAddr(ip) => Some(ip),
        Host::Domain(_) => None,
    }
}

struct Shared {
    settings: Settings,
    events: crossbeam_channel::Sender<SipEvent>,
    calls: Mutex<Calls>,
    stats: Arc<SipStats>,
    dialogs: Arc<DialogLayer>,
    state_tx: DialogStateSender,
    contact: rsipstack::sip::Uri,
    rate: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
    nonces: Mutex<auth::Nonces>,
}

impl Shared {
    fn calls(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn refuse(&self, source: IpAddr, why: Refusal) {
        let counter = match &why {
            Refusal::NotAllowed => &self.stats.refused_address,
            Refusal::RateLimited => &self.stats.rate_limited,
            Refusal::NoCodec(_) => &self.stats.refused_codec,
            Refusal::BadOffer(_) => &self.stats.bad_requests,
            Refusal::BadAuth(_) => &self.stats.refused_auth,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let _ = self.events.try_send(SipEvent::Refused { source, why });
    }

    /// Whether one more INVITE from `ip` fits the rate limit.
    fn within_rate(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut rate = self.rate.lock().unwrap_or_else(PoisonError::into_inner);
        if rate.len() > 10_000 {
            rate.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < RATE_WINDOW)
            });
        }
        let q = rate.entry(ip).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= RATE_WINDOW)
        {
            q.pop_front();
        }
        if q.len() >= self.settings.invites_per_window as usize {
            return false;
        }
        q.push_back(now);
        true
    }
}

async fn run(
    settings: Settings,
    events: crossbeam_channel::Sender<SipEvent>,
    mut commands: mpsc::Receiver<Command>,
    token: CancellationToken,
    ready: std::sync::mpsc::SyncSender<Result<SocketAddr, SipError>>,
    stats: Arc<SipStats>,
) {
    let bind_err = |detail: String| SipError::Bind {
        addr: settings.bind,
        detail,
    };
    let transport = TransportLayer::new(token.child_token());
    let external = settings
        .public_address
        .map(|ip| SocketAddr::new(ip, settings.bind.port()));
    let udp =
        match UdpConnection::create_connection(settings.bind, external, Some(token.child_token()))
            .await
        {
            Ok(u) => u,
            Err(e) => {
                let _ = ready.send(Err(bind_err(e.to_string())));
                return;
            }
        };
    // the port actually bound (the configured one, or a free one for 0)
    let port = udp
        .get_addr()
        .get_socketaddr()
        .map(|a| a.port())
        .unwrap_or(settings.bind.port());
    let local = SocketAddr::new(settings.bind.ip(), port);
    transport.add_transport(udp.into());
    match TcpListenerConnection::new(local, external.map(|e| SocketAddr::new(e.ip(), port))).await {
        Ok(tcp) => transport.add_transport(tcp.into()),
        Err(e) => {
            let _ = ready.send(Err(bind_err(format!("TCP: {e}"))));
            return;
        }
    }
    let endpoint = EndpointBuilder::new()
        .with_user_agent("AirBridge")
        .with_transport_layer(transport)
        .with_cancel_token(token.clone())
        .build();
    let mut incoming = match endpoint.incoming_transactions() {
        Ok(i) => i,
        Err(e) => {
            let _ = ready.send(Err(SipError::Start(e.to_string())));
            return;
        }
    };
    let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
    let (state_tx, mut state_rx) = dialogs.new_dialog_state_channel();
    let contact = match dialogs.build_local_contact(Some("airbridge".into()), None) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(SipError::Start(e.to_string())));
            return;
        }
    };
    let shared = Arc::new(Shared {
        settings,
        events,
        calls: Mutex::new(Calls::default()),
        stats,
        dialogs,
        state_tx,
        contact,
        rate: Mutex::new(HashMap::new()),
        nonces: Mutex::new(auth::Nonces::default()),
    });
    if let Some(reg) = shared.settings.register.clone() {
        let target = if reg.registrar.to_ascii_lowercase().starts_with("sip") {
            reg.registrar.clone()
        } else {
            format!("sip:{}", reg.registrar)
        };
        match rsipstack::sip::Uri::try_from(target.as_str()) {
            Ok(uri) => {
                let credential = Credential {
                    username: reg.user.clone(),
                    password: reg.password.clone(),
                    realm: None,
                    auth_username: None,
                };
                let mut registration = Registration::new(endpoint.inner.clone(), Some(credential));
                let shared = Arc::clone(&shared);
                let token = token.child_token();
                tokio::spawn(async move {
                    let stats = Arc::clone(&shared.stats);
                    let events = shared.events.clone();
                    registration
                        .keep_alive(uri.clone(), reg.expires, token, |outcome| {
                            let (ok, detail) = match outcome {
                                RefreshOutcome::Registered(r) => {
                                    stats.registered.fetch_add(1, Ordering::Relaxed);
                                    (true, r.status_code.to_string())
                                }
                                RefreshOutcome::Rejected(r) => {
                                    stats.registration_failures.fetch_add(1, Ordering::Relaxed);
                                    (false, r.status_code.to_string())
                                }
                                RefreshOutcome::Failed(e) => {
                                    stats.registration_failures.fetch_add(1, Ordering::Relaxed);
                                    (false, e.to_string())
                                }
                            };
                            let _ = events.try_send(SipEvent::Registration { ok, detail });
                        })
                        .await;
                    // leaving: remove the binding (best effort)
                    let _ = tokio::time::timeout(
                        Duration::from_secs(2),
                        registration.register(uri, Some(0)),
                    )
                    .await;
                });
            }
            Err(e) => {
                let _ = ready.send(Err(SipError::Start(format!(
                    "registrar {target:?} is not a SIP address: {e}"
                ))));
                return;
            }
        }
    }
    let _ = ready.send(Ok(local));
    let serve = endpoint.serve();
    tokio::pin!(serve);
    loop {
        tokio::select! {
            () = token.cancelled() => break,
            () = &mut serve => break,
            tx = incoming.recv() => match tx {
                Some(tx) => on_request(&shared, tx).await,
                None => break,
            },
            state = state_rx.recv() => match state {
                Some(state) => on_state(&shared, state),
                None => break,
            },
            cmd = commands.recv() => match cmd {
                Some(cmd) => on_command(&shared, cmd),
                None => break,
            },
        }
    }
    endpoint.shutdown();
}

/// One request from the network (never panics on what it contains).
async fn on_request(shared: &Arc<Shared>, mut tx: Transaction) {
    // in-dialog (BYE, ACK of a re-INVITE, INFO …): the dialog handles it
    let in_dialog = tx
        .original
        .to_header()
        .ok()
        .and_then(|t| t.tag().ok().flatten())
        .is_some();
    if in_dialog {
        match shared.dialogs.match_dialog(&tx) {
            Some(mut d) => {
                tokio::spawn(async move {
                    let _ = d.handle(&mut tx).await;
                });
            }
            None => {
                let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
            }
        }
        return;
    }
    match tx.original.method {
        Method::Invite => on_invite(shared, tx).await,
        Method::Options => {
            let _ = tx.reply(StatusCode::OK).await;
        }
        Method::Ack => {}
        _ => {
            let _ = tx.reply(StatusCode::MethodNotAllowed).await;
        }
    }
}

async fn on_invite(shared: &Arc<Shared>, mut tx: Transaction) {
    let Some(source) = source_of(&tx) else {
        shared.stats.bad_requests.fetch_add(1, Ordering::Relaxed);
        let _ = tx.reply(StatusCode::BadRequest).await;
        return;
    };
    if !shared.settings.allows(source) {
        shared.refuse(source, Refusal::NotAllowed);
        let _ = tx.reply(StatusCode::Forbidden).await;
        return;
    }
    if !shared.within_rate(source) {
        shared.refuse(source, Refusal::RateLimited);
        let _ = tx.reply(StatusCode::ServiceUnavailable).await;
        return;
    }
    if let Some(auth) = &shared.settings.inbound_auth {
        let check = shared
            .nonces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .check(&tx.original, auth);
        match check {
            auth::Check::Valid => {}
            auth::Check::Challenge { stale } => {
                shared.stats.challenged.fetch_add(1, Ordering::Relaxed);
                let nonce = shared
                    .nonces
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .issue();
                let header = auth::challenge(auth, &nonce, stale);
                let _ = tx
                    .reply_with(StatusCode::Unauthorized, vec![header], None)
                    .await;
                return;
            }
            auth::Check::Wrong(why) => {
                shared.refuse(source, Refusal::BadAuth(why));
                let _ = tx.reply(StatusCode::Forbidden).await;
                return;
            }
        }
    }
    let offer = match Offer::parse(&tx.original.body) {
        Ok(o) => o,
        Err(e) => {
            let code = match e {
                OfferError::Empty | OfferError::NoAudio => StatusCode::NotAcceptableHere,
                _ => StatusCode::BadRequest,
            };
            shared.refuse(source, Refusal::BadOffer(e.to_string()));
            let _ = tx.reply(code).await;
            return;
        }
    };
    let Some((pt, codec)) = offer.choose(&shared.settings.codecs) else {
        shared.refuse(source, Refusal::NoCodec(offer.offered.clone()));
        let _ = tx.reply(StatusCode::NotAcceptableHere).await;
        return;
    };
    let caller = Caller::identify(
        tx.original
            .p_asserted_identity_header()
            .map(|h| h.value().to_owned())
            .as_deref(),
        tx.original
            .from_header()
            .ok()
            .map(|h| h.value().to_owned())
            .as_deref(),
    );
    let dialog = match shared.dialogs.get_or_create_server_invite(
        &tx,
        shared.state_tx.clone(),
        None,
        Some(shared.contact.clone()),
    ) {
        Ok(d) => d,
        Err(e) => {
            tracing::info!("SIP: INVITE from {source} refused: {e}");
            shared.stats.bad_requests.fetch_add(1, Ordering::Relaxed);
            let _ = tx.reply(StatusCode::BadRequest).await;
            return;
        }
    };
    shared.stats.calls.fetch_add(1, Ordering::Relaxed);
    let id = {
        let mut calls = shared.calls();
        calls.next += 1;
        let id = CallId(calls.next);
        calls.by_id.insert(
            id,
            Call {
                dialog_id: dialog.id(),
                dialog: dialog.clone(),
                offer: offer.clone(),
                pt,
                codec,
                answered: false,
                outbound: false,
            },
        );
        id
    };
    // the transaction: 100 Trying, retransmissions, CANCEL, ACK
    let mut handler = dialog.clone();
    tokio::spawn(async move {
        let _ = handler.handle(&mut tx).await;
    });
    let (reply, decision) = oneshot::channel();
    let call = IncomingCall {
        id,
        caller,
        source,
        codec,
        payload_type: pt,
        remote_rtp: offer.rtp,
        telephone_event: offer.telephone_event,
        reply: Some(reply),
    };
    if shared.events.try_send(SipEvent::Incoming(call)).is_err() {
        // nobody listens (the runtime stopped): busy
        shared.stats.busy.fetch_add(1, Ordering::Relaxed);
        let _ = dialog.reject(Some(StatusCode::BusyHere), None);
        return;
    }
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let decided = tokio::time::timeout(Duration::from_secs(5), decision).await;
        match decided {
            Ok(Ok(Decision::Ring)) => {
                let _ = dialog.ringing(None, None);
            }
            Ok(Ok(Decision::Announce(at))) => {
                shared.stats.busy.fetch_add(1, Ordering::Relaxed);
                shared.stats.busy_messages.fetch_add(1, Ordering::Relaxed);
                answer(&shared, id, at);
            }
            _ => {
                shared.stats.busy.fetch_add(1, Ordering::Relaxed);
                shared.calls().by_id.remove(&id);
                let _ = dialog.reject(Some(StatusCode::BusyHere), None);
            }
        }
    });
}

fn on_state(shared: &Arc<Shared>, state: DialogState) {
    let DialogState::Terminated(dialog_id, reason) = state else {
        return;
    };
    shared.dialogs.remove_dialog(&dialog_id);
    let call = {
        let mut calls = shared.calls();
        let id = calls.id_of(&dialog_id);
        id.and_then(|id| calls.by_id.remove(&id).map(|c| (id, c)))
    };
    let Some((id, call)) = call else { return };
    // UAC is whoever sent the INVITE: the caller, or us for a call-back
    let why = match (reason, call.outbound) {
        (TerminatedReason::UacCancel, false) => Ended::Cancelled,
        (TerminatedReason::UacBye, false) | (TerminatedReason::UasBye, true) => Ended::HungUp,
        (TerminatedReason::UacBye | TerminatedReason::UacCancel, true)
        | (
            TerminatedReason::UasBye | TerminatedReason::UasDecline | TerminatedReason::UasBusy,
            false,
        ) => Ended::ByUs,
        (TerminatedReason::Timeout, false) => Ended::NoAck,
        (other, true) if !call.answered => Ended::NotReached(format!("{other:?}")),
        (other, _) => Ended::Other(format!("{other:?}")),
    };
    let _ = shared.events.try_send(SipEvent::Ended { id, why });
}

fn on_command(shared: &Arc<Shared>, cmd: Command) {
    match cmd {
        Command::Answer(id, local) => answer(shared, id, local),
        Command::HangUp(id) => {
            let call = shared
                .calls()
                .by_id
                .get(&id)
                .map(|c| (c.dialog.clone(), c.answered, c.outbound));
            let Some((dialog, answered, outbound)) = call else {
                return;
            };
            match (answered, outbound) {
                (true, _) => {
                    tokio::spawn(async move {
                        let _ = dialog.bye().await;
                    });
                }
                (false, true) => {
                    tokio::spawn(async move {
                        let _ = dialog.cancel().await;
                    });
                }
                (false, false) => {
                    let _ = dialog.reject(Some(StatusCode::Decline), None);
                }
            }
        }
        Command::Dial {
            id,
            number,
            local_rtp,
            codec,
        } => dial(shared, id, &number, local_rtp, codec),
    }
}

/// Answers a call we took: `200 OK` with the answer SDP naming `local`.
fn answer(shared: &Shared, id: CallId, local: SocketAddr) {
    let mut calls = shared.calls();
    let Some(c) = calls.by_id.get_mut(&id) else {
        return;
    };
    if c.answered || c.outbound {
        return;
    }
    let local = match shared.settings.public_address {
        Some(ip) => SocketAddr::new(ip, local.port()),
        None => local,
    };
    let body = sdp::answer(&c.offer, c.pt, c.codec, local, id.0);
    let headers = vec![Header::ContentType("application/sdp".into())];
    match c.dialog.accept(Some(headers), Some(body.into_bytes())) {
        Ok(()) => c.answered = true,
        Err(e) => tracing::info!("SIP {id}: cannot answer: {e}"),
    }
}

/// Places a call through the PBX; its outcome comes back as events.
fn dial(shared: &Arc<Shared>, id: CallId, number: &str, local_rtp: SocketAddr, codec: Codec) {
    let fail = |why: String| {
        let _ = shared.events.try_send(SipEvent::Ended {
            id,
            why: Ended::NotReached(why),
        });
    };
    let register = shared.settings.register.as_ref();
    let Some(pbx) = shared
        .settings
        .outbound
        .clone()
        .or_else(|| register.map(|r| r.registrar.clone()))
    else {
        fail("no PBX to call through ([sip] outbound or registrar)".into());
        return;
    };
    let host = pbx
        .trim()
        .trim_start_matches("sips:")
        .trim_start_matches("sip:")
        .split(';')
        .next()
        .unwrap_or("")
        .to_owned();
    let digits = number.chars().all(|c| c.is_ascii_digit() || c == '+');
    if !digits || number.is_empty() {
        fail("not a dialable number".into());
        return;
    }
    let user = register.map_or("airbridge", |r| r.user.as_str());
    let (Ok(callee), Ok(caller)) = (
        rsipstack::sip::Uri::try_from(format!("sip:{number}@{host}").as_str()),
        rsipstack::sip::Uri::try_from(format!("sip:{user}@{host}").as_str()),
    ) else {
        fail(format!("{host:?} is not a SIP host"));
        return;
    };
    let local = match shared.settings.public_address {
        Some(ip) => SocketAddr::new(ip, local_rtp.port()),
        None => local_rtp,
    };
    let offer = sdp::offer(codec, local, id.0);
    let option = InviteOption {
        caller,
        callee,
        contact: shared.contact.clone(),
        content_type: Some("application/sdp".into()),
        offer: Some(offer.clone().into_bytes()),
        credential: register.map(|r| Credential {
            username: r.user.clone(),
            password: r.password.clone(),
            realm: None,
            auth_username: None,
        }),
        ..Default::default()
    };
    let (dialog, join) = match shared
        .dialogs
        .do_invite_async(option, shared.state_tx.clone())
    {
        Ok(d) => d,
        Err(e) => {
            fail(e.to_string());
            return;
        }
    };
    let pt = match codec {
        Codec::Opus => 96,
        Codec::Pcma => 8,
        Codec::Pcmu => 0,
    };
    shared.calls().by_id.insert(
        id,
        Call {
            dialog_id: dialog.id(),
            dialog,
            offer: Offer {
                rtp: local,
                codecs: vec![(pt, codec)],
                offered: vec![pt],
                telephone_event: Some(101),
            },
            pt,
            codec,
            answered: false,
            outbound: true,
        },
    );
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let outcome = join.await;
        let answered = matches!(&outcome, Ok(Ok((_, Some(r)))) if r.status_code.kind() == rsipstack::sip::StatusCodeKind::Successful);
        if answered {
            if let Some(c) = shared.calls().by_id.get_mut(&id) {
                c.answered = true;
            }
            let _ = shared.events.try_send(SipEvent::Answered { id });
            return;
        }
        let why = match outcome {
            Ok(Ok((_, Some(r)))) => r.status_code.to_string(),
            Ok(Ok((_, None))) => "no answer".into(),
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        if shared.calls().by_id.remove(&id).is_some() {
            let _ = shared.events.try_send(SipEvent::Ended {
                id,
                why: Ended::NotReached(why),
            });
        }
    });
}
