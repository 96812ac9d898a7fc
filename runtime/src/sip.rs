//! SIP lines in the show: calls the station's PBX or trunk sends ring the
//! first free `kind = "sip"` line with the caller's number (masked on
//! screens, hashed for repeat callers, as every call); the call's audio is
//! an RTP line of the engine opened for the call in the codec both sides
//! chose, so the caller hears the line's mix-minus (talkback while screened,
//! hold or program while waiting, the program without themselves on air).
//! The screener answering sends `200 OK`; dropping sends `BYE`; the caller
//! hanging up or giving up ends the line with the reason in the journal.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use airbridge_configs::studio::{RtpCodec as ConfigCodec, SipSettings};
use airbridge_media::rtp::{Announcement, RtpCodec, RtpLineConfig, announce};
use airbridge_show::{LineNo, LineState};
use airbridge_sip::{CallId, Codec, IncomingCall, SipEvent, SipLines};

use crate::actions::{self, Ring};
use crate::{Runtime, SEAT, failed, ok};

/// Events waiting for the runtime (a full queue answers new calls busy).
const EVENT_QUEUE: usize = 1024;
/// Refusals are reported at most this often.
const REPORT_EVERY: Duration = Duration::from_secs(10);

fn codec(c: ConfigCodec) -> Codec {
    match c {
        ConfigCodec::Opus => Codec::Opus,
        ConfigCodec::Pcma => Codec::Pcma,
        ConfigCodec::Pcmu => Codec::Pcmu,
    }
}

fn media_codec(c: Codec) -> RtpCodec {
    match c {
        Codec::Opus => RtpCodec::Opus,
        Codec::Pcma => RtpCodec::Pcma,
        Codec::Pcmu => RtpCodec::Pcmu,
    }
}

/// The settings the SIP crate takes (the PBX password read from its
/// environment variable or private file).
pub(crate) fn settings(
    s: &SipSettings,
    base: &std::path::Path,
) -> Result<airbridge_sip::Settings, String> {
    let mut out = airbridge_sip::Settings::new(s.bind);
    out.public_address = s.public_address;
    out.codecs = s.codecs.iter().copied().map(codec).collect();
    out.allow.clone_from(&s.allow);
    out.invites_per_window = s.invites_per_10s;
    out.outbound.clone_from(&s.outbound);
    if let Some(r) = &s.register {
        let password = crate::secrets::resolve(&r.password, base)
            .map_err(|e| format!("[sip] password: {e}"))?;
        out.register = Some(airbridge_sip::Register {
            registrar: r.registrar.clone(),
            user: r.user.clone(),
            password,
            expires: r.expires,
        });
    }
    if let Some(a) = &s.auth {
        let password = crate::secrets::resolve(&a.password, base)
            .map_err(|e| format!("[sip] auth_password: {e}"))?;
        out.inbound_auth = Some(airbridge_sip::InboundAuth {
            realm: a.realm.clone(),
            user: a.user.clone(),
            password,
        });
    }
    Ok(out)
}

/// Starts the SIP lines when the studio has any (`[sip]`, else its defaults).
pub(crate) fn start(rt: &Runtime, configured: Option<&SipSettings>, base: &std::path::Path) {
    let numbers = sip_lines(rt);
    if numbers.is_empty() {
        return;
    }
    if rt.inner.engine.is_none() {
        rt.report(failed(
            "SIP lines",
            "sip",
            "SIP lines need the audio engine, which did not start",
        ));
        return;
    }
    let cfg = configured.cloned().unwrap_or_default();
    let settings = match settings(&cfg, base) {
        Ok(s) => s,
        Err(e) => {
            rt.report(failed("SIP lines", "sip", &e));
            return;
        }
    };
    let (tx, rx) = crossbeam_channel::bounded(EVENT_QUEUE);
    let kept = settings.clone();
    match SipLines::start(settings, tx) {
        Ok(lines) => {
            let at = lines.local_addr();
            let allow = if cfg.allow.is_empty() {
                "any address".to_owned()
            } else {
                cfg.allow
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let list = numbers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            rt.report(
                ok(
                    "SIP lines",
                    "sip",
                    &format!("lines {list} take calls at {at} (UDP, TCP) from {allow}"),
                )
                .zh(format!(
                    "SIP 线路 {list}：在 {at}（UDP、TCP）接听来电，来源 {allow}"
                )),
            );
            let (media_tx, media_rx) = crossbeam_channel::bounded(EVENT_QUEUE);
            *rt.inner.sip.lock().unwrap_or_else(PoisonError::into_inner) = Some(SipPart {
                lines,
                media: media_tx,
                settings: kept,
            });
            rt.spawn("runtime-sip-media", move |rt| media_worker(rt, &media_rx));
            rt.spawn("runtime-sip", move |rt| follow(rt, &rx, &cfg));
        }
        Err(e) => rt.report(failed("SIP lines", "sip", &e.to_string())),
    }
}

/// The lines of `kind = "sip"`.
fn sip_lines(rt: &Runtime) -> Vec<LineNo> {
    rt.inner
        .lines
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .sip_lines()
}

/// SIP lines free for a call: no SIP call on them and idle on the board,
/// in order, with their jitter buffer (ms).
fn free_lines(rt: &Runtime) -> Vec<(LineNo, u32)> {
    let candidates = rt
        .inner
        .lines
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .sip_lines_without_call();
    candidates
        .into_iter()
        .filter(|(l, _)| actions::line_state(rt, *l) == LineState::Idle)
        .collect()
}

/// The line carrying SIP call `id`.
fn line_of(rt: &Runtime, id: CallId) -> Option<LineNo> {
    rt.inner
        .lines
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .line_of_sip_call(id)
}

/// The thread `runtime-sip`: what the SIP lines report, until the runtime stops.
fn follow(rt: &Runtime, events: &crossbeam_channel::Receiver<SipEvent>, cfg: &SipSettings) {
    let mut refused = Refused::default();
    let mut registration = RegistrationState::default();
    while !rt.stopping() {
        journal_keys(rt);
        match events.recv_timeout(Duration::from_millis(100)) {
            Ok(SipEvent::Incoming(call)) => {
                let who = call
                    .caller
                    .number
                    .as_deref()
                    .map_or_else(|| "未显示号码".to_owned(), crate::callers::mask);
                if let Some(busy) = incoming(rt, call, cfg) {
                    refused.busy(rt, &who, busy);
                }
            }
            Ok(SipEvent::Ended { id, why }) => ended(rt, id, &why.zh()),
            Ok(SipEvent::Answered { id }) => callee_answered(rt, id),
            Ok(SipEvent::Refused { source, why }) => refused.add(rt, source, &why),
            Ok(SipEvent::Registration { ok: good, detail }) => {
                registration.note(rt, good, &detail, cfg);
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => refused.flush(rt),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
    }
}

/// Telephone keys callers pressed on SIP lines since last looked:
/// journaled per line (the screener sees them on the line).
fn journal_keys(rt: &Runtime) {
    let pressed: Vec<(LineNo, String)> = {
        let lines = rt
            .inner
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        lines
            .sip_lines()
            .into_iter()
            .filter_map(|n| {
                let keys = lines.slot(n)?.sip_rtp.as_ref()?.take_keys();
                (!keys.is_empty()).then_some((n, keys))
            })
            .collect()
    };
    for (line, keys) in pressed {
        let _ = rt
            .journal()
            .append(SEAT, airbridge_show::ShowEvent::CallerKeyed { line, keys });
    }
}

/// The local address that reaches `peer` (what the SDP answer names when
/// the SIP side listens on every address).
fn local_ip_towards(bind: IpAddr, peer: IpAddr) -> IpAddr {
    if !bind.is_unspecified() {
        return bind;
    }
    let any: IpAddr = if peer.is_ipv4() {
        [0, 0, 0, 0].into()
    } else {
        std::net::Ipv6Addr::UNSPECIFIED.into()
    };
    UdpSocket::bind((any, 0))
        .and_then(|s| s.connect((peer, 9)).map(|()| s))
        .and_then(|s| s.local_addr())
        .map_or(bind, |a| a.ip())
}

/// A call: the first free SIP line rings with it (`180` as soon as the
/// ring is journaled), then its RTP line opens in the call's codec, ready
/// for the answer; no free line: busy (`Some`: how it was told).
fn incoming(rt: &Runtime, call: IncomingCall, cfg: &SipSettings) -> Option<Busy> {
    if rt.inner.engine.is_none() {
        call.busy();
        return Some(Busy::Refused);
    }
    for (line, jitter_ms) in free_lines(rt) {
        let shown_as = call.caller.display.clone().map_or_else(
            || "SIP 来电（未显示号码）".to_owned(),
            |d| format!("SIP 来电 {d}"),
        );
        let ring = Ring {
            line,
            caller: call.caller.number.clone(),
            shown_as: Some(shown_as),
        };
        if let Err(r) = actions::ring(rt, SEAT, &ring) {
            tracing::info!("SIP call on line {line} cannot ring: {}", r.0);
            continue;
        }
        let (id, source, remote, pt, chosen, dtmf) = (
            call.id,
            call.source,
            call.remote_rtp,
            call.payload_type,
            call.codec,
            call.telephone_event,
        );
        if let Some(slot) = rt
            .inner
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .slot_mut(line)
        {
            slot.sip_call = Some(id);
        }
        call.ring();
        // the audio opens on the media worker, while it rings
        let local_ip = local_ip_towards(cfg.bind.ip(), source);
        let mut rtp = RtpLineConfig::new(SocketAddr::new(local_ip, 0), media_codec(chosen));
        rtp.reply_to = Some(remote);
        rtp.jitter_ms = jitter_ms;
        rtp.prefill_ms = jitter_ms;
        rtp.opus_pt = pt;
        rtp.dtmf_pt = dtmf;
        media(rt, MediaJob::Open { line, id, rtp });
        return None;
    }
    match &cfg.busy_message {
        // the message opens on the media worker (a GStreamer pipeline)
        Some(file) => {
            let local_ip = local_ip_towards(cfg.bind.ip(), call.source);
            media(
                rt,
                MediaJob::Announce {
                    call,
                    file: file.clone(),
                    local_ip,
                },
            );
            Some(Busy::Message)
        }
        None => {
            call.busy();
            Some(Busy::Refused)
        }
    }
}

/// How a caller who found every line busy was told.
#[derive(Debug, Clone, Copy)]
enum Busy {
    /// `486 Busy Here`.
    Refused,
    /// The busy message (or `486` when it could not play).
    Message,
}

/// A call-back was answered: the line is put through to the back office's
/// talkback (screening), and recorded as every answered call.
fn callee_answered(rt: &Runtime, id: CallId) {
    if let Some(line) = line_of(rt, id)
        && let Err(r) = actions::move_line(rt, SEAT, line, LineState::Screening)
    {
        tracing::info!(
            "call-back on line {line} answered but not put through: {}",
            r.0
        );
    }
}

/// Places a call-back to `number` on the first free SIP line: the line
/// rings out (回拨 and the masked number on the board), its RTP opens at
/// once (the offer names it). Returns the line.
pub(crate) fn call_back(rt: &Runtime, number: &str, ticket: &str) -> Result<LineNo, String> {
    let guard = rt.inner.sip.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(part) = guard.as_ref() else {
        return Err("本节目没有 SIP 线路，无法回拨".into());
    };
    let cfg = part.settings.clone();
    drop(guard);
    let engine = rt
        .inner
        .engine
        .clone()
        .ok_or_else(|| "音频引擎未启动，无法回拨".to_owned())?;
    let codec = cfg
        .codecs
        .iter()
        .copied()
        .find(|c| *c != Codec::Opus)
        .or(cfg.codecs.first().copied())
        .unwrap_or(Codec::Pcma);
    let pbx_ip = cfg
        .outbound
        .as_deref()
        .or(cfg.register.as_ref().map(|r| r.registrar.as_str()))
        .and_then(|h| {
            let h = h.trim_start_matches("sip:").split(';').next().unwrap_or("");
            h.parse::<SocketAddr>()
                .map(|a| a.ip())
                .or_else(|_| h.parse::<IpAddr>())
                .ok()
        });
    let local_ip = match (cfg.public_address, pbx_ip) {
        (Some(ip), _) => ip,
        (None, Some(peer)) => local_ip_towards(cfg.bind.ip(), peer),
        (None, None) => cfg.bind.ip(),
    };
    let (line, _) = free_lines(rt)
        .into_iter()
        .next()
        .ok_or_else(|| "SIP 线路都在使用中，稍后再回拨".to_owned())?;
    let mut rtp = RtpLineConfig::new(SocketAddr::new(local_ip, 0), media_codec(codec));
    rtp.jitter_ms = 20;
    rtp.prefill_ms = 20;
    // the offer names telephone-event 101
    rtp.dtmf_pt = Some(101);
    let activity = engine
        .add_rtp_line(line, &rtp)
        .map_err(|e| format!("线路 {line} 音频无法打开：{e}"))?;
    let at = SocketAddr::new(local_ip, activity.local_addr().port());
    let ring = Ring {
        line,
        caller: Some(number.to_owned()),
        shown_as: None,
    };
    let call = actions::ring(rt, SEAT, &ring).map_err(|r| {
        engine.remove_part(&format!("line{line}"));
        r.0
    })?;
    let guard = rt.inner.sip.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(part) = guard.as_ref() else {
        return Err("SIP 线路已停止".into());
    };
    let id = part.lines.dial(number, at, codec);
    drop(guard);
    let mut lines = rt
        .inner
        .lines
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    lines.set_callback(call, ticket);
    if let Some(slot) = lines.slot_mut(line) {
        slot.sip_call = Some(id);
        slot.sip_rtp = Some(activity);
        slot.sip_answer_at = Some(at);
    }
    Ok(line)
}

/// The caller's side ended a call: its line ends with the reason (a call
/// that had no line was hearing the busy message: it stops).
fn ended(rt: &Runtime, id: CallId, reason: &str) {
    let line = {
        let mut lines = rt
            .inner
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let line = lines.line_of_sip_call(id);
        if let Some(slot) = line.and_then(|n| lines.slot_mut(n)) {
            slot.sip_call = None;
            slot.sip_rtp = None;
            slot.sip_answer_at = None;
        }
        line
    };
    let Some(line) = line else {
        media(rt, MediaJob::Silence { id });
        return;
    };
    let _ = actions::end_call(rt, SEAT, line, reason);
    media(rt, MediaJob::Close { line });
}

/// What the station's side did to a call on a SIP line: answered it
/// (`200 OK` naming the line's RTP address), or ended it (`BYE` / `603`;
/// its RTP closes).
pub(crate) fn after_move(
    rt: &Runtime,
    id: CallId,
    line: LineNo,
    answered: Option<Option<SocketAddr>>,
    ended: bool,
) {
    let sip = rt.inner.sip.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(sip) = sip.as_ref() else { return };
    // answered before its audio was open: the media worker answers when it is
    if let Some(Some(at)) = answered {
        sip.lines.answer(id, at);
    }
    if ended {
        sip.lines.hang_up(id);
        let _ = sip.media.try_send(MediaJob::Close { line });
    }
}

/// The SIP lines and the worker that opens and closes their calls' RTP.
#[derive(Debug)]
pub(crate) struct SipPart {
    pub(crate) lines: SipLines,
    media: crossbeam_channel::Sender<MediaJob>,
    /// As started (call-backs need the PBX and the codecs).
    settings: airbridge_sip::Settings,
}

/// Opening a call's RTP line (GStreamer pipelines) or closing it (its
/// threads joined) takes tens of milliseconds: done in order on a worker of
/// their own, never on the thread that rings lines.
#[derive(Debug)]
enum MediaJob {
    Open {
        line: LineNo,
        id: CallId,
        rtp: RtpLineConfig,
    },
    Close {
        line: LineNo,
    },
    /// No line is free: answer with the busy message, hang up after it.
    Announce {
        call: IncomingCall,
        file: std::path::PathBuf,
        local_ip: IpAddr,
    },
    /// The caller hung up during the busy message.
    Silence {
        id: CallId,
    },
}

/// Busy messages playing at once at most (more callers hear `486`).
const MAX_ANNOUNCEMENTS: usize = 4;

fn media(rt: &Runtime, job: MediaJob) {
    if let Some(part) = rt
        .inner
        .sip
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        && part.media.try_send(job).is_err()
    {
        tracing::warn!("SIP media worker behind or gone: a job was dropped");
    }
}

/// The thread `runtime-sip-media`.
fn media_worker(rt: &Runtime, jobs: &crossbeam_channel::Receiver<MediaJob>) {
    let Some(engine) = rt.inner.engine.clone() else {
        return;
    };
    let mut playing: Vec<(CallId, Announcement)> = Vec::new();
    while !rt.stopping() {
        let job = jobs.recv_timeout(Duration::from_millis(100));
        // messages that have played: hang up
        playing.retain(|(id, a)| {
            if a.finished() {
                hang_up(rt, *id);
                false
            } else {
                true
            }
        });
        let job = match job {
            Ok(j) => j,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        };
        match job {
            MediaJob::Close { line } => engine.remove_part(&format!("line{line}")),
            MediaJob::Silence { id } => playing.retain(|(i, _)| *i != id),
            MediaJob::Announce {
                call,
                file,
                local_ip,
            } => {
                if playing.len() >= MAX_ANNOUNCEMENTS {
                    call.busy();
                    continue;
                }
                let codec = media_codec(call.codec);
                let name = format!("busy-message-{}", call.id);
                match announce(
                    &file,
                    codec,
                    call.payload_type,
                    SocketAddr::new(local_ip, 0),
                    call.remote_rtp,
                    &name,
                ) {
                    Ok(a) => {
                        let id = call.id;
                        call.announce(a.local_addr());
                        playing.push((id, a));
                    }
                    Err(e) => {
                        rt.report(failed(
                            "SIP busy message",
                            "sip/busy_message",
                            &format!("{e}; callers hear busy (486) instead"),
                        ));
                        call.busy();
                    }
                }
            }
            MediaJob::Open { line, id, rtp } => {
                let local_ip = rtp.listen.ip();
                match engine.add_rtp_line(line, &rtp) {
                    Ok(activity) => {
                        let at = SocketAddr::new(local_ip, activity.local_addr().port());
                        let mut lines = rt
                            .inner
                            .lines
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner);
                        if let Some(slot) = lines.slot_mut(line).filter(|s| s.sip_call == Some(id))
                        {
                            slot.sip_rtp = Some(activity);
                            slot.sip_answer_at = Some(at);
                            drop(lines);
                            // answered before the audio was ready: answer now
                            if actions::line_state(rt, line).is_connected()
                                && let Some(sip) = rt
                                    .inner
                                    .sip
                                    .lock()
                                    .unwrap_or_else(PoisonError::into_inner)
                                    .as_ref()
                            {
                                sip.lines.answer(id, at);
                            }
                        } else {
                            // the caller gave up meanwhile
                            drop(lines);
                            engine.remove_part(&format!("line{line}"));
                        }
                    }
                    Err(e) => {
                        rt.report(failed(
                            &format!("line {line}"),
                            &format!("audio/line{line}"),
                            &e.to_string(),
                        ));
                        let _ = actions::end_call(rt, SEAT, line, "线路音频无法打开，来电未接通");
                    }
                }
            }
        }
    }
}

/// Hangs up a call (`BYE`).
fn hang_up(rt: &Runtime, id: CallId) {
    if let Some(part) = rt
        .inner
        .sip
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
    {
        part.lines.hang_up(id);
    }
}

/// Calls that reached no line (refused, or every line busy), reported at
/// most every [`REPORT_EVERY`] (a flood must not flood the journal).
#[derive(Default)]
struct Refused {
    pending: Vec<String>,
    last: Option<Instant>,
}

impl Refused {
    /// A caller who found every line busy: journaled with the masked number
    /// (the producer sees who could not get through).
    fn busy(&mut self, rt: &Runtime, who: &str, how: Busy) {
        let what = match how {
            Busy::Refused => format!("{who}：线路全忙（486）"),
            Busy::Message => format!("{who}：线路全忙，播放占线提示"),
        };
        if self.pending.len() < 20 {
            self.pending.push(what);
        }
        self.flush(rt);
    }

    fn add(&mut self, rt: &Runtime, source: IpAddr, why: &airbridge_sip::Refusal) {
        use airbridge_sip::Refusal;
        let what = match why {
            Refusal::NotAllowed => format!("{source}：不在允许的地址内（403）"),
            Refusal::RateLimited => format!("{source}：呼叫过于频繁（503）"),
            Refusal::NoCodec(pts) => format!("{source}：没有共同的编码（488，对方 {pts:?}）"),
            Refusal::BadOffer(e) => format!("{source}：{e}"),
            Refusal::BadAuth(e) => format!("{source}：认证失败（403，{e}）"),
        };
        if self.pending.len() < 20 {
            self.pending.push(what);
        }
        self.flush(rt);
    }

    fn flush(&mut self, rt: &Runtime) {
        if self.pending.is_empty() || self.last.is_some_and(|t| t.elapsed() < REPORT_EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        let stats = rt.inner.sip.lock().unwrap_or_else(PoisonError::into_inner);
        let counts = stats.as_ref().map_or_else(String::new, |s| {
            let s = s.lines.stats();
            format!(
                "（累计：占线 {}（播放提示 {}），地址不允许 {}，认证失败 {}，限流 {}，编码不符 {}，报文错误 {}）",
                s.busy.load(Ordering::Relaxed),
                s.busy_messages.load(Ordering::Relaxed),
                s.refused_address.load(Ordering::Relaxed),
                s.refused_auth.load(Ordering::Relaxed),
                s.rate_limited.load(Ordering::Relaxed),
                s.refused_codec.load(Ordering::Relaxed),
                s.bad_requests.load(Ordering::Relaxed)
            )
        });
        drop(stats);
        let detail = format!("未接通的来电：{}{counts}", self.pending.join("；"));
        self.pending.clear();
        let _ = rt.journal().append(
            SEAT,
            airbridge_show::ShowEvent::Health {
                component: "sip".into(),
                ok: true,
                detail,
            },
        );
    }
}

/// The registration's state as reported: a change (registered, or not any
/// more) is reported and journaled; refreshes that change nothing are not.
#[derive(Default)]
struct RegistrationState {
    registered: Option<bool>,
}

impl RegistrationState {
    fn note(&mut self, rt: &Runtime, good: bool, detail: &str, cfg: &SipSettings) {
        if self.registered == Some(good) {
            return;
        }
        self.registered = Some(good);
        let Some(r) = &cfg.register else { return };
        let report = if good {
            ok(
                "SIP registration",
                "sip/register",
                &format!("registered as {} at {} ({detail})", r.user, r.registrar),
            )
            .zh(format!(
                "已注册到交换机 {}（分机 {}，{detail}）",
                r.registrar, r.user
            ))
        } else {
            failed(
                "SIP registration",
                "sip/register",
                &format!("{} at {}: {detail}; retrying", r.user, r.registrar),
            )
        };
        rt.report(report);
    }
}
