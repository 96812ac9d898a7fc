//! Typed show events. Everything that happens in a show is one of these,
//! appended to the journal and stored as JSON (`type` names the variant).
//!
//! Compatibility rule: variants and fields may be added (new fields with
//! `#[serde(default)]`), never renamed or removed, so that old journals replay.

use serde::{Deserialize, Serialize};

use crate::line::LineState;
use crate::plan::{PlanEdit, ShowPlan};

/// A caller line number as shown on the board (1-based).
pub type LineNo = u8;

/// Who wrote an event: a seat such as `host`, `screener`, `backoffice`, or a
/// subsystem such as `media`, `feeds`, `stt`, `system`.
pub type Seat = String;

/// What the screener noted about a caller.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CallerNote {
    /// Name as the caller gave it; masked (e.g. 张**) before it reaches a host view.
    pub name: String,
    pub district: String,
    pub topic: String,
    /// 0 = normal … 3 = urgent.
    pub urgency: u8,
    /// Privacy-flagged questions never go on air.
    pub private: bool,
}

/// One knowledge-base answer suggested for something said or asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbHit {
    pub entry_id: String,
    pub question: String,
    pub score: f32,
}

/// What kind of audience message triage decided this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Question,
    Chatter,
    Gift,
    Like,
    System,
}

/// Whether an audience message may be shown (the 场控's moderation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Moderation {
    /// On screens at once (the source's mode is `auto`).
    #[default]
    Shown,
    /// Waiting for the 场控 (the source's mode is `hold`): on no host
    /// screen, the overlay or a host seat until `Approved`.
    Held,
    /// Refused by the source's mode (`reject`): kept for the record only.
    Rejected,
    /// From a blocked author: kept for the record only.
    Blocked,
}

impl Moderation {
    pub fn is_shown(&self) -> bool {
        *self == Moderation::Shown
    }
}

/// A reference to an item the producer can pin, answer or take offline.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ItemRef {
    /// An audience message by its source-assigned id (e.g. `douyin:abc123`).
    Message(String),
    /// A cluster of near-duplicate audience questions.
    Cluster(u64),
    /// A caller on a line, by the sequence number of the call's ringing event.
    Call(u64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ShowEvent {
    /// The show went live (or a session of it was opened).
    ShowOpened {
        show_id: String,
        show_name: String,
    },
    ShowClosed {
        show_id: String,
    },
    /// A call arrives on a line. `caller_masked` is safe for every view
    /// (e.g. `138****0000`); `caller_key` is a keyed hash for recognising repeat callers.
    CallRang {
        line: LineNo,
        caller_masked: String,
        caller_key: String,
    },
    /// A line changed state; the transition was valid when written.
    LineStateChanged {
        line: LineNo,
        from: LineState,
        to: LineState,
    },
    CallerNoted {
        line: LineNo,
        note: CallerNote,
    },
    /// The caller pressed telephone keys (RFC 4733 DTMF on a SIP line):
    /// `keys` in the order pressed (`0`–`9`, `*`, `#`, `A`–`D`).
    CallerKeyed {
        line: LineNo,
        keys: String,
    },
    /// Speech-to-text of a caller; partials may be superseded by the final.
    TranscriptSegment {
        line: LineNo,
        utterance: u64,
        text: String,
        start_ms: u64,
        end_ms: u64,
        is_final: bool,
    },
    /// Knowledge-base answers suggested for a transcript or a question.
    KbSuggested {
        about: Option<ItemRef>,
        query: String,
        hits: Vec<KbHit>,
    },
    /// An audience message after triage; `text` is already masked for views.
    AudienceMessage {
        source: String,
        id: String,
        kind: MessageKind,
        author: String,
        text: String,
        cluster: Option<u64>,
        /// Platform test data (Douyin `test: true`): kept for the record,
        /// never on a screen or in a count.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        test: bool,
        /// Shown at once, held for the 场控, or kept only for the record.
        #[serde(default, skip_serializing_if = "Moderation::is_shown")]
        moderation: Moderation,
        /// A keyed hash of the author's platform id (never the id), to
        /// block an author across messages and channels.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        author_key: String,
    },
    /// The 场控 let a held message through (the seat that wrote it decided):
    /// its content again, so seats that never saw it held can show it.
    Approved {
        source: String,
        id: String,
        kind: MessageKind,
        author: String,
        text: String,
        cluster: Option<u64>,
    },
    /// Answered in writing (场外应答) by the seat that wrote it; `sent_via`:
    /// the channel it reached the citizen through (`wechat`), or `None`
    /// when it is kept for the show's summary only.
    AnsweredInWriting {
        item: ItemRef,
        text: String,
        #[serde(default)]
        sent_via: Option<String>,
    },
    /// The 场控 refused a held message.
    Rejected {
        id: String,
    },
    /// An author is blocked on every channel (`author_key`: a message
    /// author's key or a caller's key); `label` says who, masked.
    Blocked {
        author_key: String,
        label: String,
    },
    Unblocked {
        author_key: String,
    },
    Pinned {
        item: ItemRef,
    },
    Unpinned {
        item: ItemRef,
    },
    AnsweredOnAir {
        item: ItemRef,
    },
    /// Not answered on air: handed to the back office as a follow-up ticket.
    TakenOffline {
        item: ItemRef,
        ticket_id: Option<String>,
    },
    /// A private message from producer to host.
    ProducerMessage {
        text: String,
    },
    /// Health of an input such as a feed or an audio device.
    Health {
        component: String,
        ok: bool,
        detail: String,
    },
    /// A follow-up ticket was created (the ticket store holds the full record).
    TicketCreated {
        ticket_id: String,
        item: Option<ItemRef>,
        source: String,
        question: String,
        departments: Vec<String>,
        dispatch_due_ms: i64,
        resolve_due_ms: i64,
    },
    /// A ticket changed: the action taken and the state it is now in.
    TicketChanged {
        ticket_id: String,
        version: u64,
        action: String,
        state: String,
    },
    /// A ticket deadline approaches (`overdue = false`) or has passed.
    TicketReminder {
        ticket_id: String,
        stage: String,
        overdue: bool,
        due_ms: i64,
    },
    /// The screener's order of waiting callers (first = next on air).
    QueueOrdered {
        lines: Vec<LineNo>,
    },
    /// Why a call ended: the caller hung up, a seat dropped it, its audio
    /// stopped. Written with (just before) the line's move to `ended`.
    CallEnded {
        line: LineNo,
        /// The call, by the sequence number of its `CallRang`.
        call: u64,
        reason: String,
    },
    /// A recording was finished and is on disk.
    Recorded {
        /// `call` or `program`.
        what: String,
        /// The call it belongs to (`CallRang` sequence number), for calls.
        #[serde(default)]
        call: Option<u64>,
        #[serde(default)]
        line: Option<LineNo>,
        path: String,
        secs: f64,
    },
    /// A fader or mute changed (`input`: `line<N>` or `host`).
    MixSet {
        input: String,
        fader: f32,
        mute: bool,
    },
    /// The runtime refused what a seat asked for, and why.
    CommandRefused {
        action: String,
        reason: String,
    },
    /// A seat edited the show plan: the edit, and the whole plan after it,
    /// so that any board or remote seat rebuilds the plan from this event alone.
    PlanEdited {
        by: Seat,
        edit: PlanEdit,
        plan: ShowPlan,
    },
    /// A segment of the plan (by id) went on air; its start is the event's
    /// journal time.
    SegmentStarted {
        by: Seat,
        segment: u32,
    },
    /// The broadcast delay: a seat dumped (`dump_secs`: how much was asked
    /// for, `None` = all of it), or asked it to exit / enter.
    DelayCommand {
        by: Seat,
        command: DelayCommand,
    },
    /// A seat edited the knowledge base: entry `id` is at `version` now
    /// (`retired`: taken out of search). The store keeps every version.
    KbEdited {
        by: Seat,
        id: String,
        version: u32,
        question: String,
        #[serde(default)]
        retired: bool,
    },
    /// Another station (or process) changed these entries of the shared
    /// knowledge base; this station's search has them now.
    KbRefreshed {
        ids: Vec<String>,
    },
    /// The speech worker heard something that should not go out: a phone,
    /// ID or bank-card number, or a word from the station's list. `text` is
    /// the masked transcript; `dump_within_secs`: how long until it goes
    /// out, while a broadcast delay runs and the line was on air.
    SpeechFlagged {
        line: LineNo,
        utterance: u64,
        kinds: Vec<String>,
        text: String,
        on_air: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dump_within_secs: Option<f32>,
    },
}

/// What a seat asked of the broadcast delay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DelayCommand {
    Dump { secs: Option<f32> },
    Exit,
    Enter,
}

impl ShowEvent {
    /// The stored `type` tag, also kept in its own column for queries.
    pub fn kind(&self) -> &'static str {
        match self {
            ShowEvent::ShowOpened { .. } => "show_opened",
            ShowEvent::ShowClosed { .. } => "show_closed",
            ShowEvent::CallRang { .. } => "call_rang",
            ShowEvent::LineStateChanged { .. } => "line_state_changed",
            ShowEvent::CallerNoted { .. } => "caller_noted",
            ShowEvent::CallerKeyed { .. } => "caller_keyed",
            ShowEvent::TranscriptSegment { .. } => "transcript_segment",
            ShowEvent::KbSuggested { .. } => "kb_suggested",
            ShowEvent::AudienceMessage { .. } => "audience_message",
            ShowEvent::Pinned { .. } => "pinned",
            ShowEvent::Unpinned { .. } => "unpinned",
            ShowEvent::AnsweredOnAir { .. } => "answered_on_air",
            ShowEvent::TakenOffline { .. } => "taken_offline",
            ShowEvent::ProducerMessage { .. } => "producer_message",
            ShowEvent::Health { .. } => "health",
            ShowEvent::TicketCreated { .. } => "ticket_created",
            ShowEvent::TicketChanged { .. } => "ticket_changed",
            ShowEvent::TicketReminder { .. } => "ticket_reminder",
            ShowEvent::QueueOrdered { .. } => "queue_ordered",
            ShowEvent::CallEnded { .. } => "call_ended",
            ShowEvent::Recorded { .. } => "recorded",
            ShowEvent::MixSet { .. } => "mix_set",
            ShowEvent::CommandRefused { .. } => "command_refused",
            ShowEvent::Approved { .. } => "approved",
            ShowEvent::AnsweredInWriting { .. } => "answered_in_writing",
            ShowEvent::Rejected { .. } => "rejected",
            ShowEvent::Blocked { .. } => "blocked",
            ShowEvent::Unblocked { .. } => "unblocked",
            ShowEvent::PlanEdited { .. } => "plan_edited",
            ShowEvent::SegmentStarted { .. } => "segment_started",
            ShowEvent::DelayCommand { .. } => "delay_command",
            ShowEvent::SpeechFlagged { .. } => "speech_flagged",
            ShowEvent::KbEdited { .. } => "kb_edited",
            ShowEvent::KbRefreshed { .. } => "kb_refreshed",
        }
    }
}

/// An event as stored: its sequence number (1, 2, 3 … without gaps), the
/// time the journal made it durable, and who wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub seq: u64,
    /// Milliseconds since the Unix epoch, UTC.
    pub at_ms: i64,
    pub seat: Seat,
    pub event: ShowEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_matches_serde_tag() {
        let samples = [
            ShowEvent::ShowOpened {
                show_id: "s".into(),
                show_name: "n".into(),
            },
            ShowEvent::LineStateChanged {
                line: 1,
                from: LineState::Ringing,
                to: LineState::Screening,
            },
            ShowEvent::Pinned {
                item: ItemRef::Cluster(3),
            },
            ShowEvent::Health {
                component: "feeds/douyin".into(),
                ok: true,
                detail: String::new(),
            },
            ShowEvent::PlanEdited {
                by: "producer".into(),
                edit: PlanEdit::SetPhrase {
                    key: "F2".into(),
                    text: Some("稍等".into()),
                },
                plan: ShowPlan {
                    phrases: [("F2".to_owned(), "稍等".to_owned())].into(),
                    ..Default::default()
                },
            },
            ShowEvent::SegmentStarted {
                by: "producer".into(),
                segment: 3,
            },
            ShowEvent::DelayCommand {
                by: "screener".into(),
                command: DelayCommand::Dump { secs: None },
            },
            ShowEvent::KbEdited {
                by: "producer".into(),
                id: "kb-3".into(),
                version: 2,
                question: "社保卡怎么补办".into(),
                retired: false,
            },
            ShowEvent::KbRefreshed {
                ids: vec!["yy-kb-1".into()],
            },
            ShowEvent::SpeechFlagged {
                line: 2,
                utterance: 7,
                kinds: vec!["mobile".into()],
                text: "我的电话是138****1234".into(),
                on_air: true,
                dump_within_secs: Some(6.5),
            },
        ];
        for ev in samples {
            let json = serde_json::to_value(&ev).unwrap();
            assert_eq!(json["type"], ev.kind());
            let back: ShowEvent = serde_json::from_value(json).unwrap();
            assert_eq!(back, ev);
        }
    }
}
