//! Projections: state derived from the journal by folding its events.
//! [`ShowBoard`] is what the console's views draw.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::event::{
    CallerNote, ItemRef, KbHit, LineNo, MessageKind, Moderation, ShowEvent, StoredEvent,
};
use crate::line::LineState;
use crate::plan::{RunningOrder, ShowPlan, running_order};

/// Anything built by applying journal events in order. Applying the same
/// events must always give the same state (projections are rebuilt by replay).
pub trait Projection {
    fn apply(&mut self, event: &StoredEvent);
}

/// Caps that keep a long show's projection in bounded memory.
pub const MAX_TRANSCRIPT_LINES: usize = 50;
pub const MAX_RECENT_MESSAGES: usize = 500;
pub const MAX_PRODUCER_MESSAGES: usize = 20;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShowBoard {
    /// The last event applied.
    pub last_seq: u64,
    pub show_id: Option<String>,
    pub show_name: Option<String>,
    /// When the show was opened (ms since epoch), while it is open.
    pub opened_at_ms: Option<i64>,
    pub lines: BTreeMap<LineNo, LineView>,
    pub audience: AudienceView,
    pub pinned: Vec<ItemRef>,
    pub answered: BTreeSet<ItemRef>,
    pub offline: Vec<OfflineItem>,
    pub producer_messages: VecDeque<(i64, String)>,
    pub suggestions: Option<Suggestions>,
    /// Component → (ok, detail).
    pub health: BTreeMap<String, (bool, String)>,
    /// Follow-up tickets created during the show, by id.
    pub tickets: BTreeMap<String, TicketView>,
    /// Waiting callers (on hold or ready) in the order they go on air.
    pub queue: Vec<LineNo>,
    /// Every caller heard on this journal, by caller key (a keyed hash of
    /// the number): a repeat caller is recognised by it.
    pub callers: BTreeMap<String, CallerHistory>,
    /// Call (its `CallRang` sequence number) → caller key.
    pub call_callers: BTreeMap<u64, String>,
    /// Events inconsistent with the state when applied (kept, counted, not fatal).
    pub inconsistencies: u64,
    /// Recordings on disk: call (its `CallRang` sequence) → file path.
    pub call_recordings: BTreeMap<u64, String>,
    /// Faders and mutes as last set: input (`line<N>`, `host`) → (fader, mute).
    pub mix: BTreeMap<String, (f32, bool)>,
    /// Written answers (场外应答), newest last: (item, answer).
    pub written: Vec<(ItemRef, String)>,
    /// The most recent refusals: (when, seat, what, why), newest last.
    pub refusals: VecDeque<(i64, String, String, String)>,
    /// The show plan as last edited.
    pub plan: Option<ShowPlan>,
    /// Segment starts in journal order: (segment id, journal time in ms),
    /// the most recent [`MAX_SEGMENT_STARTS`].
    pub segment_starts: Vec<(u32, u64)>,
    /// What the speech worker flagged, newest last (the last [`MAX_FLAGS`]).
    pub flags: std::collections::VecDeque<SpeechFlag>,
}

/// Most speech flags kept on a board.
pub const MAX_FLAGS: usize = 50;

/// A speech flag as screens show it (the transcript is already masked).
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechFlag {
    pub seq: u64,
    pub at_ms: i64,
    pub line: LineNo,
    pub kinds: Vec<String>,
    pub text: String,
    pub on_air: bool,
    /// Seconds until it went out, as flagged (while a delay runs).
    pub dump_within_secs: Option<f32>,
}

/// Most segment starts kept on a board.
pub const MAX_SEGMENT_STARTS: usize = 1000;

/// Most refusals kept on the board.
pub const MAX_REFUSALS: usize = 20;

/// What this journal knows about one caller.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallerHistory {
    /// (call sequence number, when, topic noted) for each call, oldest first.
    pub calls: Vec<(u64, i64, String)>,
    /// Tickets created from this caller's calls.
    pub tickets: Vec<String>,
}

/// Most calls remembered per caller.
pub const MAX_CALLS_PER_CALLER: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicketView {
    pub question: String,
    pub source: String,
    pub departments: Vec<String>,
    pub state: String,
    pub version: u64,
    pub resolve_due_ms: i64,
    /// Set by a reminder: the resolve or dispatch deadline has passed.
    pub overdue: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineView {
    pub state: LineState,
    pub since_ms: i64,
    /// Sequence number of the `CallRang` event: identifies the call.
    pub call_seq: u64,
    pub caller_masked: String,
    pub caller_key: String,
    pub note: Option<CallerNote>,
    pub transcript: VecDeque<TranscriptLine>,
    /// Why the call ended, once it has.
    pub end_reason: Option<String>,
    /// Telephone keys the caller pressed during the call (the last 32).
    pub keys: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptLine {
    pub utterance: u64,
    pub text: String,
    pub is_final: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AudienceView {
    pub total: u64,
    pub by_kind: BTreeMap<String, u64>,
    pub by_source: BTreeMap<String, u64>,
    /// Question clusters: id → count and latest example.
    pub clusters: BTreeMap<u64, ClusterView>,
    /// Most recent questions (masked), newest last.
    pub recent_questions: VecDeque<RecentMessage>,
    /// Messages held for the 场控, oldest first (empty on seats that may
    /// not see them: their text never reaches those seats).
    pub held: Vec<HeldMessage>,
    /// Messages kept only for the record (rejected, from blocked authors).
    pub hidden: u64,
    /// Blocked authors: key → label.
    pub blocked: BTreeMap<String, String>,
}

/// A message waiting for the 场控.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldMessage {
    pub seq: u64,
    /// When it was journaled (ms), for "waiting N s".
    pub at_ms: i64,
    pub source: String,
    pub id: String,
    pub kind: MessageKind,
    pub author: String,
    pub author_key: String,
    pub text: String,
    pub cluster: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterView {
    pub count: u64,
    pub example: String,
    pub sources: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentMessage {
    pub seq: u64,
    pub source: String,
    pub id: String,
    pub author: String,
    pub text: String,
    pub cluster: Option<u64>,
    /// The author's key (for blocking), when the source gave an id.
    pub author_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineItem {
    pub item: ItemRef,
    pub ticket_id: Option<String>,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestions {
    pub about: Option<ItemRef>,
    pub query: String,
    pub hits: Vec<KbHit>,
}

fn kind_label(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Question => "question",
        MessageKind::Chatter => "chatter",
        MessageKind::Gift => "gift",
        MessageKind::Like => "like",
        MessageKind::System => "system",
    }
}

/// Most written answers kept on a board.
pub const MAX_WRITTEN: usize = 500;

/// Most held messages kept on a board.
pub const MAX_HELD: usize = 2000;

impl ShowBoard {
    #[allow(clippy::too_many_arguments)]
    fn show_message(
        &mut self,
        seq: u64,
        source: &str,
        id: &str,
        kind: MessageKind,
        author: &str,
        text: &str,
        cluster: Option<u64>,
        author_key: &str,
    ) {
        let a = &mut self.audience;
        a.total += 1;
        *a.by_kind.entry(kind_label(kind).to_owned()).or_default() += 1;
        *a.by_source.entry(source.to_owned()).or_default() += 1;
        if kind == MessageKind::Question {
            if let Some(c) = cluster {
                let cv = a.clusters.entry(c).or_default();
                cv.count += 1;
                text.clone_into(&mut cv.example);
                cv.sources.insert(source.to_owned());
            }
            a.recent_questions.push_back(RecentMessage {
                seq,
                source: source.to_owned(),
                id: id.to_owned(),
                author: author.to_owned(),
                text: text.to_owned(),
                cluster,
                author_key: author_key.to_owned(),
            });
            if a.recent_questions.len() > MAX_RECENT_MESSAGES {
                a.recent_questions.pop_front();
            }
        }
    }

    /// Lines with a caller, in line order.
    pub fn active_lines(&self) -> impl Iterator<Item = (&LineNo, &LineView)> {
        self.lines
            .iter()
            .filter(|(_, l)| l.state != LineState::Idle)
    }

    pub fn on_air(&self) -> Option<(&LineNo, &LineView)> {
        self.lines.iter().find(|(_, l)| l.state == LineState::OnAir)
    }

    pub fn line_state(&self, line: LineNo) -> LineState {
        self.lines.get(&line).map_or(LineState::Idle, |l| l.state)
    }
}

impl Projection for ShowBoard {
    fn apply(&mut self, stored: &StoredEvent) {
        self.last_seq = stored.seq;
        let at = stored.at_ms;
        match &stored.event {
            ShowEvent::ShowOpened { show_id, show_name } => {
                self.show_id = Some(show_id.clone());
                self.show_name = Some(show_name.clone());
                self.opened_at_ms = Some(at);
            }
            ShowEvent::ShowClosed { .. } => self.opened_at_ms = None,
            ShowEvent::CallRang {
                line,
                caller_masked,
                caller_key,
            } => {
                let view = self.lines.entry(*line).or_default();
                if view.state != LineState::Idle {
                    self.inconsistencies += 1;
                }
                let history = self.callers.entry(caller_key.clone()).or_default();
                history.calls.push((stored.seq, at, String::new()));
                if history.calls.len() > MAX_CALLS_PER_CALLER {
                    history.calls.remove(0);
                }
                self.call_callers.insert(stored.seq, caller_key.clone());
                self.queue.retain(|l| l != line);
                *view = LineView {
                    state: LineState::Ringing,
                    since_ms: at,
                    call_seq: stored.seq,
                    caller_masked: caller_masked.clone(),
                    caller_key: caller_key.clone(),
                    note: None,
                    transcript: VecDeque::new(),
                    end_reason: None,
                    keys: String::new(),
                };
            }
            ShowEvent::LineStateChanged { line, from, to } => {
                let view = self.lines.entry(*line).or_default();
                // The audio engine confirming the ring of a call just noted.
                if *from == LineState::Idle
                    && *to == LineState::Ringing
                    && view.state == LineState::Ringing
                {
                    return;
                }
                if view.state != *from || from.check(*to).is_err() {
                    self.inconsistencies += 1;
                }
                view.state = *to;
                view.since_ms = at;
                if matches!(to, LineState::Hold | LineState::Ready) {
                    if !self.queue.contains(line) {
                        self.queue.push(*line);
                    }
                } else {
                    self.queue.retain(|l| l != line);
                }
                if *to == LineState::Idle {
                    *view = LineView {
                        since_ms: at,
                        ..LineView::default()
                    };
                }
            }
            ShowEvent::CallerKeyed { line, keys } => {
                let view = self.lines.entry(*line).or_default();
                view.keys.push_str(keys);
                let extra = view.keys.chars().count().saturating_sub(32);
                if extra > 0 {
                    view.keys = view.keys.chars().skip(extra).collect();
                }
            }
            ShowEvent::CallerNoted { line, note } => {
                let view = self.lines.entry(*line).or_default();
                view.note = Some(note.clone());
                if let Some(call) = self
                    .callers
                    .get_mut(&view.caller_key)
                    .and_then(|h| h.calls.iter_mut().rev().find(|c| c.0 == view.call_seq))
                {
                    call.2.clone_from(&note.topic);
                }
            }
            ShowEvent::TranscriptSegment {
                line,
                utterance,
                text,
                is_final,
                ..
            } => {
                let view = self.lines.entry(*line).or_default();
                // A newer segment of the same utterance replaces the partial.
                if let Some(last) = view.transcript.back_mut()
                    && last.utterance == *utterance
                    && !last.is_final
                {
                    last.text.clone_from(text);
                    last.is_final = *is_final;
                } else {
                    view.transcript.push_back(TranscriptLine {
                        utterance: *utterance,
                        text: text.clone(),
                        is_final: *is_final,
                    });
                    if view.transcript.len() > MAX_TRANSCRIPT_LINES {
                        view.transcript.pop_front();
                    }
                }
            }
            ShowEvent::KbSuggested { about, query, hits } => {
                self.suggestions = Some(Suggestions {
                    about: about.clone(),
                    query: query.clone(),
                    hits: hits.clone(),
                });
            }
            ShowEvent::AudienceMessage { test: true, .. } => {}
            ShowEvent::AudienceMessage {
                source,
                id,
                kind,
                author,
                text,
                cluster,
                moderation,
                author_key,
                ..
            } => match moderation {
                Moderation::Shown => {
                    self.show_message(
                        stored.seq, source, id, *kind, author, text, *cluster, author_key,
                    );
                }
                Moderation::Held => {
                    // a seat that may not read held text gets it blank: it
                    // waits for the approval, which carries the content
                    if !text.is_empty() {
                        self.audience.held.push(HeldMessage {
                            seq: stored.seq,
                            at_ms: at,
                            source: source.clone(),
                            id: id.clone(),
                            kind: *kind,
                            author: author.clone(),
                            author_key: author_key.clone(),
                            text: text.clone(),
                            cluster: *cluster,
                        });
                        if self.audience.held.len() > MAX_HELD {
                            self.audience.held.remove(0);
                        }
                    }
                }
                Moderation::Rejected | Moderation::Blocked => self.audience.hidden += 1,
            },
            ShowEvent::Approved {
                source,
                id,
                kind,
                author,
                text,
                cluster,
            } => {
                let key = self
                    .audience
                    .held
                    .iter()
                    .find(|h| &h.id == id)
                    .map(|h| h.author_key.clone())
                    .unwrap_or_default();
                self.audience.held.retain(|h| &h.id != id);
                self.show_message(stored.seq, source, id, *kind, author, text, *cluster, &key);
            }
            ShowEvent::AnsweredInWriting { item, text, .. } => {
                self.pinned.retain(|p| p != item);
                self.answered.insert(item.clone());
                self.written.push((item.clone(), text.clone()));
                if self.written.len() > MAX_WRITTEN {
                    self.written.remove(0);
                }
            }
            ShowEvent::Rejected { id } => {
                let before = self.audience.held.len();
                self.audience.held.retain(|h| &h.id != id);
                if self.audience.held.len() < before {
                    self.audience.hidden += 1;
                }
            }
            ShowEvent::Blocked { author_key, label } => {
                self.audience
                    .blocked
                    .insert(author_key.clone(), label.clone());
                let before = self.audience.held.len();
                self.audience.held.retain(|h| &h.author_key != author_key);
                self.audience.hidden += (before - self.audience.held.len()) as u64;
            }
            ShowEvent::Unblocked { author_key } => {
                self.audience.blocked.remove(author_key);
            }
            ShowEvent::Pinned { item } => {
                if !self.pinned.contains(item) {
                    self.pinned.push(item.clone());
                }
            }
            ShowEvent::Unpinned { item } => self.pinned.retain(|p| p != item),
            ShowEvent::AnsweredOnAir { item } => {
                self.pinned.retain(|p| p != item);
                self.answered.insert(item.clone());
            }
            ShowEvent::TakenOffline { item, ticket_id } => {
                self.pinned.retain(|p| p != item);
                if let (ItemRef::Call(seq), Some(id)) = (item, ticket_id) {
                    self.note_caller_ticket(*seq, id);
                }
                self.offline.push(OfflineItem {
                    item: item.clone(),
                    ticket_id: ticket_id.clone(),
                    at_ms: at,
                });
            }
            ShowEvent::ProducerMessage { text } => {
                self.producer_messages.push_back((at, text.clone()));
                if self.producer_messages.len() > MAX_PRODUCER_MESSAGES {
                    self.producer_messages.pop_front();
                }
            }
            ShowEvent::Health {
                component,
                ok,
                detail,
            } => {
                self.health.insert(component.clone(), (*ok, detail.clone()));
            }
            ShowEvent::TicketCreated {
                ticket_id,
                item,
                source,
                question,
                departments,
                resolve_due_ms,
                ..
            } => {
                if let Some(ItemRef::Call(seq)) = item {
                    self.note_caller_ticket(*seq, ticket_id);
                }
                if let Some(item) = item {
                    for o in self
                        .offline
                        .iter_mut()
                        .filter(|o| &o.item == item && o.ticket_id.is_none())
                    {
                        o.ticket_id = Some(ticket_id.clone());
                    }
                }
                self.tickets.insert(
                    ticket_id.clone(),
                    TicketView {
                        question: question.clone(),
                        source: source.clone(),
                        departments: departments.clone(),
                        state: "received".into(),
                        version: 1,
                        resolve_due_ms: *resolve_due_ms,
                        overdue: false,
                    },
                );
            }
            ShowEvent::TicketChanged {
                ticket_id,
                version,
                state,
                ..
            } => {
                if let Some(t) = self.tickets.get_mut(ticket_id) {
                    t.state.clone_from(state);
                    t.version = *version;
                }
            }
            ShowEvent::TicketReminder {
                ticket_id, overdue, ..
            } => {
                if let Some(t) = self.tickets.get_mut(ticket_id) {
                    t.overdue |= *overdue;
                }
            }
            ShowEvent::QueueOrdered { lines } => {
                // Keep only lines that are waiting; waiting lines the order
                // does not mention keep their place at the end.
                let waiting: Vec<LineNo> = self.queue.clone();
                let mut order: Vec<LineNo> = Vec::with_capacity(waiting.len());
                for l in lines {
                    if waiting.contains(l) && !order.contains(l) {
                        order.push(*l);
                    }
                }
                for l in waiting {
                    if !order.contains(&l) {
                        order.push(l);
                    }
                }
                self.queue = order;
            }
            ShowEvent::CallEnded { line, call, reason } => {
                if let Some(view) = self.lines.get_mut(line)
                    && view.call_seq == *call
                {
                    view.end_reason = Some(reason.clone());
                }
            }
            ShowEvent::Recorded {
                call: Some(call),
                path,
                ..
            } => {
                self.call_recordings.insert(*call, path.clone());
            }
            ShowEvent::Recorded { call: None, .. } => {}
            ShowEvent::MixSet { input, fader, mute } => {
                self.mix.insert(input.clone(), (*fader, *mute));
            }
            ShowEvent::CommandRefused { action, reason } => {
                self.refusals
                    .push_back((at, stored.seat.clone(), action.clone(), reason.clone()));
                if self.refusals.len() > MAX_REFUSALS {
                    self.refusals.pop_front();
                }
            }
            ShowEvent::PlanEdited { plan, .. } => self.plan = Some(plan.clone()),
            ShowEvent::SegmentStarted { segment, .. } => {
                // Journal times are after the epoch; a negative one is clamped.
                let at_ms = u64::try_from(at).unwrap_or(0);
                self.segment_starts.push((*segment, at_ms));
                if self.segment_starts.len() > MAX_SEGMENT_STARTS {
                    self.segment_starts.remove(0);
                }
            }
            ShowEvent::SpeechFlagged {
                line,
                kinds,
                text,
                on_air,
                dump_within_secs,
                ..
            } => {
                self.flags.push_back(SpeechFlag {
                    seq: stored.seq,
                    at_ms: at,
                    line: *line,
                    kinds: kinds.clone(),
                    text: text.clone(),
                    on_air: *on_air,
                    dump_within_secs: *dump_within_secs,
                });
                if self.flags.len() > MAX_FLAGS {
                    self.flags.pop_front();
                }
            }
            ShowEvent::DelayCommand { .. }
            | ShowEvent::KbEdited { .. }
            | ShowEvent::KbRefreshed { .. } => {}
        }
    }
}

impl ShowBoard {
    fn note_caller_ticket(&mut self, call_seq: u64, ticket_id: &str) {
        if let Some(h) = self
            .call_callers
            .get(&call_seq)
            .and_then(|k| self.callers.get_mut(k))
            && !h.tickets.iter().any(|t| t == ticket_id)
        {
            h.tickets.push(ticket_id.to_owned());
        }
    }

    /// The running order of the plan at `now_ms` (ms since the epoch), once
    /// a plan has been journaled.
    pub fn running_order(&self, now_ms: u64) -> Option<RunningOrder> {
        let plan = self.plan.as_ref()?;
        Some(running_order(plan, &self.segment_starts, now_ms))
    }

    /// The history of the caller on `line`, if they called before this call.
    pub fn repeat_caller(&self, line: LineNo) -> Option<&CallerHistory> {
        let view = self.lines.get(&line)?;
        let h = self.callers.get(&view.caller_key)?;
        (h.calls.len() > 1 || !h.tickets.is_empty()).then_some(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64, event: ShowEvent) -> StoredEvent {
        StoredEvent {
            seq,
            at_ms: seq as i64 * 1000,
            seat: "test".into(),
            event,
        }
    }

    #[test]
    fn keys_a_caller_presses_stay_with_the_call() {
        let mut b = ShowBoard::default();
        let rang = |seq| {
            ev(
                seq,
                ShowEvent::CallRang {
                    line: 1,
                    caller_masked: "137****0001".into(),
                    caller_key: "k".into(),
                },
            )
        };
        b.apply(&rang(1));
        for (seq, keys) in [(2, "1"), (3, "2#")] {
            b.apply(&ev(
                seq,
                ShowEvent::CallerKeyed {
                    line: 1,
                    keys: keys.into(),
                },
            ));
        }
        assert_eq!(b.lines[&1].keys, "12#");
        b.apply(&ev(
            4,
            ShowEvent::CallerKeyed {
                line: 1,
                keys: "0".repeat(40),
            },
        ));
        assert_eq!(b.lines[&1].keys, "0".repeat(32), "the last 32");
        // the next call starts with none
        b.apply(&ev(
            5,
            ShowEvent::LineStateChanged {
                line: 1,
                from: LineState::Ringing,
                to: LineState::Ended,
            },
        ));
        b.apply(&ev(
            6,
            ShowEvent::LineStateChanged {
                line: 1,
                from: LineState::Ended,
                to: LineState::Idle,
            },
        ));
        b.apply(&rang(7));
        assert_eq!(b.lines[&1].keys, "");
    }

    #[test]
    fn a_call_goes_through_its_states() {
        let mut b = ShowBoard::default();
        b.apply(&ev(
            1,
            ShowEvent::CallRang {
                line: 2,
                caller_masked: "138****0000".into(),
                caller_key: "k".into(),
            },
        ));
        b.apply(&ev(
            2,
            ShowEvent::LineStateChanged {
                line: 2,
                from: LineState::Ringing,
                to: LineState::Screening,
            },
        ));
        b.apply(&ev(
            3,
            ShowEvent::LineStateChanged {
                line: 2,
                from: LineState::Screening,
                to: LineState::Ready,
            },
        ));
        b.apply(&ev(
            4,
            ShowEvent::LineStateChanged {
                line: 2,
                from: LineState::Ready,
                to: LineState::OnAir,
            },
        ));
        assert_eq!(b.on_air().map(|(n, _)| *n), Some(2));
        assert_eq!(b.lines[&2].call_seq, 1);
        assert_eq!(b.inconsistencies, 0);
        // An event that does not fit the state is counted, not fatal.
        b.apply(&ev(
            5,
            ShowEvent::LineStateChanged {
                line: 2,
                from: LineState::Ringing,
                to: LineState::Screening,
            },
        ));
        assert_eq!(b.inconsistencies, 1);
    }

    #[test]
    fn partial_transcripts_are_replaced_by_the_final() {
        let mut b = ShowBoard::default();
        let seg = |text: &str, is_final| ShowEvent::TranscriptSegment {
            line: 1,
            utterance: 7,
            text: text.into(),
            start_ms: 0,
            end_ms: 1,
            is_final,
        };
        b.apply(&ev(1, seg("我想问", false)));
        b.apply(&ev(2, seg("我想问一下社保", false)));
        b.apply(&ev(3, seg("我想问一下社保怎么转移", true)));
        let t = &b.lines[&1].transcript;
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].text, "我想问一下社保怎么转移");
        assert!(t[0].is_final);
    }

    #[test]
    fn the_plan_and_segment_starts_fold_into_a_running_order() {
        use crate::plan::PlanEdit;
        let mut b = ShowBoard::default();
        assert_eq!(b.running_order(0), None);
        let mut plan = ShowPlan::default();
        for (seq, (title, minutes)) in [(1, ("开场", 5)), (2, ("热线", 40))] {
            let edit = PlanEdit::AddSegment {
                after: None,
                title: title.into(),
                minutes,
            };
            plan.apply(&edit).unwrap();
            b.apply(&ev(
                seq,
                ShowEvent::PlanEdited {
                    by: "producer".into(),
                    edit,
                    plan: plan.clone(),
                },
            ));
        }
        assert_eq!(b.plan.as_ref(), Some(&plan));
        // Starts take the journal's time (seq × 1000 ms here).
        b.apply(&ev(
            10,
            ShowEvent::SegmentStarted {
                by: "producer".into(),
                segment: 1,
            },
        ));
        b.apply(&ev(
            400,
            ShowEvent::SegmentStarted {
                by: "producer".into(),
                segment: 2,
            },
        ));
        assert_eq!(b.segment_starts, [(1, 10_000), (2, 400_000)]);
        let r = b.running_order(500_000).unwrap();
        assert_eq!(r.current, Some(2));
        // 开场 ran 390 s of its 300.
        assert_eq!(r.segments[0].over_secs, Some(90));
        assert_eq!(r.over_secs, 90);
        assert_eq!(r.show_start_ms, Some(10_000));

        // A later edit replaces the whole plan; the starts stay.
        let edit = PlanEdit::RemoveSegment { id: 1 };
        plan.apply(&edit).unwrap();
        b.apply(&ev(
            401,
            ShowEvent::PlanEdited {
                by: "producer".into(),
                edit,
                plan: plan.clone(),
            },
        ));
        assert_eq!(b.plan.as_ref().map(|p| p.segments.len()), Some(1));
        let r = b.running_order(500_000).unwrap();
        assert_eq!(r.unplanned_secs, 390);
    }
}
