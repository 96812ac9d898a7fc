//! Calls on lines: what each configured line is, which call it carries,
//! its recording; and the watcher that rings an RTP line when packets start
//! after a silence and ends the call when they stop (the caller hung up).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use airbridge_configs::studio::LineKind;
use airbridge_media::core::TapId;
use airbridge_media::rtp::RtpActivity;
use airbridge_show::{LineNo, LineState};

use crate::Runtime;
use crate::actions::{self, Ring};

/// An RTP call has ended when no packet came for this long.
pub(crate) const HANGUP_SILENCE: Duration = Duration::from_secs(3);
/// How often the watcher looks.
const WATCH_EVERY: Duration = Duration::from_millis(100);

/// One configured line.
#[derive(Debug)]
pub(crate) struct LineSlot {
    pub kind: LineKind,
    pub rtp: Option<Arc<RtpActivity>>,
    /// RTP bursts already turned into calls.
    pub bursts_seen: u64,
    /// The SIP call the line carries (a `kind = "sip"` line).
    pub sip_call: Option<airbridge_sip::CallId>,
    /// That call's RTP (opened per call; not watched for packets: the
    /// signalling says when a SIP call starts and ends).
    pub sip_rtp: Option<Arc<RtpActivity>>,
    /// Where that RTP line listens, as the SDP answer names it.
    pub sip_answer_at: Option<std::net::SocketAddr>,
}

impl LineSlot {
    pub fn new(kind: LineKind) -> Self {
        Self {
            kind,
            rtp: None,
            bursts_seen: 0,
            sip_call: None,
            sip_rtp: None,
            sip_answer_at: None,
        }
    }
}

/// What a line is, for seats.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineInfo {
    pub number: LineNo,
    /// `hybrid`, `rtp` or `file`.
    pub kind: String,
    /// The hybrid's input, the RTP address, the file.
    pub detail: String,
}

/// Every line's call. The lock around it serialises every decision.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    /// Configured lines (a studio); others exist on the board only.
    slots: BTreeMap<LineNo, LineSlot>,
    /// The call each line carries: the sequence number of its `CallRang`.
    calls: BTreeMap<LineNo, u64>,
    /// Recording taps of calls in progress.
    recordings: BTreeMap<LineNo, TapId>,
    /// Callers' full numbers by call (its `CallRang` sequence number), kept
    /// in memory only: a ticket made from the call gets it sealed.
    numbers: BTreeMap<u64, String>,
    /// Call-backs in progress or recorded: call → ticket id (the
    /// recording is attached to the ticket when it is finished).
    callbacks: BTreeMap<u64, String>,
}

impl Lines {
    pub fn insert(&mut self, line: LineNo, slot: LineSlot) {
        self.slots.insert(line, slot);
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn slot(&self, line: LineNo) -> Option<&LineSlot> {
        self.slots.get(&line)
    }

    pub fn slot_mut(&mut self, line: LineNo) -> Option<&mut LineSlot> {
        self.slots.get_mut(&line)
    }

    pub fn numbers(&self) -> Vec<LineNo> {
        self.slots.keys().copied().collect()
    }

    /// The lines of `kind = "sip"`, in order.
    pub fn sip_lines(&self) -> Vec<LineNo> {
        self.slots
            .iter()
            .filter(|(_, s)| matches!(s.kind, LineKind::Sip { .. }))
            .map(|(n, _)| *n)
            .collect()
    }

    /// SIP lines carrying no SIP call, in order, with their jitter buffer (ms).
    pub fn sip_lines_without_call(&self) -> Vec<(LineNo, u32)> {
        self.slots
            .iter()
            .filter(|(_, s)| s.sip_call.is_none())
            .filter_map(|(n, s)| match s.kind {
                LineKind::Sip { jitter_ms } => Some((*n, jitter_ms)),
                _ => None,
            })
            .collect()
    }

    /// The line carrying SIP call `id`.
    pub fn line_of_sip_call(&self, id: airbridge_sip::CallId) -> Option<LineNo> {
        self.slots
            .iter()
            .find(|(_, s)| s.sip_call == Some(id))
            .map(|(n, _)| *n)
    }

    pub fn call(&self, line: LineNo) -> Option<u64> {
        self.calls.get(&line).copied()
    }

    pub fn set_call(&mut self, line: LineNo, call: u64) {
        self.calls.insert(line, call);
    }

    pub fn clear_call(&mut self, line: LineNo) {
        self.calls.remove(&line);
    }

    pub fn set_number(&mut self, call: u64, number: &str) {
        self.numbers.insert(call, number.to_owned());
    }

    pub fn number(&self, call: u64) -> Option<&str> {
        self.numbers.get(&call).map(String::as_str)
    }

    pub fn set_callback(&mut self, call: u64, ticket: &str) {
        self.callbacks.insert(call, ticket.to_owned());
    }

    pub fn take_callback(&mut self, call: u64) -> Option<String> {
        self.callbacks.remove(&call)
    }

    pub fn set_recording(&mut self, line: LineNo, tap: TapId) {
        self.recordings.insert(line, tap);
    }

    pub fn take_recording(&mut self, line: LineNo) -> Option<TapId> {
        self.recordings.remove(&line)
    }

    pub fn take_recordings(&mut self) -> Vec<TapId> {
        std::mem::take(&mut self.recordings).into_values().collect()
    }

    pub fn infos(&self) -> Vec<LineInfo> {
        self.slots
            .iter()
            .map(|(n, s)| LineInfo {
                number: *n,
                kind: s.kind.label().to_owned(),
                detail: match &s.kind {
                    LineKind::Hybrid { input, output } => format!("{input} → {output}"),
                    LineKind::Rtp { codec, .. } => {
                        let at = s
                            .rtp
                            .as_ref()
                            .map_or_else(String::new, |a| a.local_addr().to_string());
                        format!("{} {at}", codec.name())
                    }
                    LineKind::File { path, .. } => path.display().to_string(),
                    LineKind::Sip { .. } => match &s.sip_call {
                        Some(id) => format!("SIP {id}"),
                        None => "SIP".to_owned(),
                    },
                },
            })
            .collect()
    }

    /// RTP lines whose packets started again since last looked: (line, peer).
    fn new_bursts(&mut self) -> Vec<(LineNo, Option<std::net::SocketAddr>)> {
        let mut out = Vec::new();
        for (n, slot) in &mut self.slots {
            if let Some(a) = &slot.rtp {
                let b = a.bursts();
                if b > slot.bursts_seen {
                    slot.bursts_seen = b;
                    out.push((*n, a.peer()));
                }
            }
        }
        out
    }

    /// RTP lines silent for longer than `after`.
    fn silent(&self, after: Duration) -> Vec<LineNo> {
        self.slots
            .iter()
            .filter(|(_, s)| {
                s.rtp
                    .as_ref()
                    .and_then(|a| a.since_last_packet())
                    .is_some_and(|d| d > after)
            })
            .map(|(n, _)| *n)
            .collect()
    }
}

/// The watcher (thread `runtime-lines`): RTP lines ring when packets start
/// after a silence and end when they stop; finished recordings are
/// journaled.
#[allow(clippy::disallowed_methods)] // a watcher's pace, off every real-time thread
pub(crate) fn watch(rt: &Runtime) {
    while !rt.inner.stop.load(Ordering::Relaxed) {
        std::thread::sleep(WATCH_EVERY);
        if let Some(e) = &rt.inner.engine {
            // removed taps end here, so recorders finish their files
            e.collect_garbage();
        }
        let finished = rt
            .inner
            .recorder
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
            .map(|rec| rec.journal_finished(&rt.inner.journal))
            .unwrap_or_default();
        for (call, path) in finished {
            attach_callback_recording(rt, call, &path);
        }
        let bursts = rt
            .inner
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .new_bursts();
        for (line, peer) in bursts {
            if actions::line_state(rt, line) == LineState::Idle {
                let ring = Ring {
                    line,
                    caller: None,
                    shown_as: Some(match peer {
                        Some(a) => format!("网络来电 {}", a.ip()),
                        None => "网络来电".to_owned(),
                    }),
                };
                if let Err(r) = actions::ring(rt, crate::SEAT, &ring) {
                    tracing::info!("line {line}: packets arrived but it cannot ring: {r}");
                }
            }
        }
        let silent = rt
            .inner
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .silent(HANGUP_SILENCE);
        for line in silent {
            let state = actions::line_state(rt, line);
            if state == LineState::Ringing || state.is_connected() {
                let _ = actions::end_call(rt, crate::SEAT, line, "来电方挂断（网关 3 秒没有音频）");
            }
        }
    }
}

/// A call-back's recording goes with its ticket, by the back office.
fn attach_callback_recording(rt: &Runtime, call: Option<u64>, path: &std::path::Path) {
    let Some(ticket) = call.and_then(|c| {
        rt.inner
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take_callback(c)
    }) else {
        return;
    };
    let version = rt.with_desk(|d| d.get(&ticket).map(|t| t.version));
    let attached = match version {
        Some(Ok(v)) => rt.attach_file(&ticket, v, path, "backoffice").map(|_| ()),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("工单库不可用".into()),
    };
    if let Err(e) = attached {
        rt.report(crate::failed(
            "call-back recording",
            "tickets",
            &format!("{}: not attached to {ticket}: {e}", path.display()),
        ));
    }
}
