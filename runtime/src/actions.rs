//! What seats ask the runtime to do, and the decisions: every line move,
//! ring, fader, note, pin and hand-off goes through [`Runtime::execute`],
//! which checks it (line transitions, the privacy gate, that a call is
//! there) whoever asks — the window, a rehearsal script, a remote seat. A
//! refusal is journaled (`CommandRefused`) and returned with its reason.

use std::sync::PoisonError;
use std::time::{Duration, Instant};

use airbridge_configs::studio::LineKind;
use airbridge_show::{
    CallerNote, DelayCommand, ItemRef, LineNo, LineState, PlanEdit, ShowEvent, ShowPlan,
};
use airbridge_tickets::{Change, NewTicket};

use crate::script::{ItemSpec, Script, ShowSwitch, Step};
use crate::{Runtime, SEAT, catch_up};

/// A mixer input with a fader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MixInput {
    Line(LineNo),
    /// The studio microphones (the host input).
    Host,
}

impl MixInput {
    /// The name in `MixSet` events: `line<N>` or `host`.
    pub fn name(self) -> String {
        match self {
            MixInput::Line(n) => format!("line{n}"),
            MixInput::Host => "host".into(),
        }
    }
}

/// Something a seat asks for. On the wire (seats on other PCs) as JSON
/// tagged by `action`; a remote seat's hand-off never carries its own
/// ticket (the runtime pre-fills it from its board).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Move a caller line (screen, hold, ready, on air, drop, clear).
    Move {
        line: LineNo,
        to: LineState,
    },
    /// A call arrives on a line: the screener's 来电 key for a hybrid (they
    /// see its lamp), a rehearsal step; `caller` is the number if known.
    Ring {
        line: LineNo,
        caller: Option<String>,
    },
    /// A fader, 0 to 1. `commit` journals it (on release of a drag).
    Fader {
        input: MixInput,
        fader: f32,
        commit: bool,
    },
    Mute {
        input: MixInput,
        mute: bool,
    },
    /// A line's input trim (linear).
    Gain {
        line: LineNo,
        gain: f32,
    },
    Note {
        line: LineNo,
        note: CallerNote,
    },
    Pin(ItemRef),
    Unpin(ItemRef),
    Answered(ItemRef),
    /// Not answered on air: a follow-up ticket (pre-filled from the board
    /// when `ticket` is `None`) and the hand-off in the journal.
    Offline {
        item: ItemRef,
        #[serde(skip)]
        ticket: Option<Box<NewTicket>>,
    },
    /// Call the citizen of a ticket back (回拨): through the PBX on the
    /// first free SIP line, to the number the ticket keeps sealed.
    CallBack {
        ticket: String,
    },
    /// A private message from producer to host.
    Message {
        text: String,
    },
    /// The order of waiting callers.
    QueueOrder {
        lines: Vec<LineNo>,
    },
    /// 开播 (`open: true`) / 结束 (`false`).
    Show {
        open: bool,
    },
    /// The 场控 lets a held message through (`all_from_author`: and
    /// everything else that author has waiting).
    Approve {
        item: ItemRef,
        #[serde(default)]
        all_from_author: bool,
    },
    /// The 场控 refuses a held message.
    Reject {
        item: ItemRef,
    },
    /// Blocks the author of an item (a message, a call) on every channel.
    Block {
        item: ItemRef,
    },
    /// Lifts a block (by the author's key, as journaled).
    Unblock {
        author_key: String,
    },
    /// Answers an audience question in writing (场外应答): to a WeChat
    /// follower through the account's customer-service messages (within
    /// 48 hours), kept for the summary for other channels.
    AnswerInWriting {
        item: ItemRef,
        text: String,
    },
    /// The broadcast delay: dump, exit before the end, enter again.
    Delay {
        command: DelayCommand,
    },
    /// An edit of the show plan (rundown, scripts, guests, phrases).
    Plan {
        edit: PlanEdit,
    },
    /// A segment of the plan goes on air now.
    StartSegment {
        segment: u32,
    },
    /// Saves a knowledge-base entry: a new one when its id is empty,
    /// else a new version of it, refused when the stored version is no
    /// longer `expected_version` (someone else saved first).
    KbSave {
        entry: Box<airbridge_kb::Entry>,
        expected_version: Option<u32>,
    },
    /// Takes an entry out of search (its versions are kept).
    KbRetire {
        id: String,
    },
}

impl Action {
    /// A short description for the journal's refusals.
    pub fn describe(&self) -> String {
        match self {
            Action::Move { line, to } => format!("line {line} → {to:?}"),
            Action::Ring { line, .. } => format!("ring line {line}"),
            Action::Fader { input, fader, .. } => format!("{} fader {fader:.2}", input.name()),
            Action::Mute { input, mute } => format!("{} mute {mute}", input.name()),
            Action::Gain { line, gain } => format!("line {line} gain {gain:.2}"),
            Action::Note { line, .. } => format!("note on line {line}"),
            Action::Pin(i) => format!("pin {i:?}"),
            Action::Unpin(i) => format!("unpin {i:?}"),
            Action::Answered(i) => format!("answered {i:?}"),
            Action::Offline { item, .. } => format!("take offline {item:?}"),
            Action::CallBack { ticket } => format!("call back for ticket {ticket}"),
            Action::Message { .. } => "message to host".into(),
            Action::QueueOrder { .. } => "queue order".into(),
            Action::Show { open } => if *open { "open show" } else { "close show" }.into(),
            Action::Approve {
                item,
                all_from_author,
            } => {
                format!(
                    "approve {item:?}{}",
                    if *all_from_author {
                        " (all from author)"
                    } else {
                        ""
                    }
                )
            }
            Action::Reject { item } => format!("reject {item:?}"),
            Action::Block { item } => format!("block the author of {item:?}"),
            Action::Unblock { author_key } => format!("unblock {author_key}"),
            Action::AnswerInWriting { item, .. } => format!("answer {item:?} in writing"),
            Action::Delay { command } => match command {
                DelayCommand::Dump { .. } => "dump the delay".into(),
                DelayCommand::Exit => "exit the delay".into(),
                DelayCommand::Enter => "enter the delay".into(),
            },
            Action::Plan { .. } => "edit the show plan".into(),
            Action::StartSegment { segment } => format!("start segment {segment}"),
            Action::KbSave { entry, .. } if entry.id.is_empty() => {
                "add a knowledge-base entry".into()
            }
            Action::KbSave { entry, .. } => format!("edit knowledge-base entry {}", entry.id),
            Action::KbRetire { id } => format!("retire knowledge-base entry {id}"),
        }
    }
}

/// What an action did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", content = "value", rename_all = "snake_case")]
pub enum Outcome {
    Done,
    /// A hand-off: the ticket made, if the desk could make one.
    Ticket(Option<String>),
    /// A call rang: the sequence number of its `CallRang`.
    Rang(u64),
    /// A knowledge-base entry saved: its id and version now.
    Kb {
        id: String,
        version: u32,
    },
}

/// Why an action was refused (in the console's language).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// Faders and mutes as set, to journal both together.
#[derive(Debug, Default)]
pub(crate) struct MixState {
    set: std::collections::BTreeMap<String, (f32, bool)>,
}

impl MixState {
    fn get(&self, input: MixInput) -> (f32, bool) {
        self.set.get(&input.name()).copied().unwrap_or((1.0, false))
    }
}

/// A ring request.
#[derive(Debug, Clone)]
pub(crate) struct Ring {
    pub line: LineNo,
    pub caller: Option<String>,
    /// What to show when there is no number (an RTP line's address).
    pub shown_as: Option<String>,
}

fn transition_zh(e: &airbridge_show::TransitionError) -> String {
    format!(
        "不能从“{}”转为“{}”（{}）",
        e.from.label_zh(),
        e.to.label_zh(),
        e.reason
    )
}

/// A line's state: the engine's when one runs, else the journal's.
pub(crate) fn line_state(rt: &Runtime, line: LineNo) -> LineState {
    match &rt.inner.engine {
        Some(e) => e.state(line).unwrap_or(LineState::Idle),
        None => rt.board().line_state(line),
    }
}

fn check_line(rt: &Runtime, line: LineNo) -> Result<(), Refusal> {
    let n = rt.inner.config.show.lines;
    if line == 0 || line > n {
        return Err(Refusal(format!("没有线路 {line}（本节目有线路 1 到 {n}）")));
    }
    Ok(())
}

/// Moves a line's state (through the engine, which journals it, or straight
/// into the journal when there is no engine).
fn apply_state(rt: &Runtime, line: LineNo, from: LineState, to: LineState) -> Result<(), Refusal> {
    match &rt.inner.engine {
        Some(e) => {
            e.set_state(line, to)
                .map_err(|err| Refusal(format!("线路 {line}：{err}")))?;
            wait_journaled(rt, line, to);
            Ok(())
        }
        None => rt
            .inner
            .journal
            .append(SEAT, ShowEvent::LineStateChanged { line, from, to })
            .map(|_| ())
            .map_err(|e| Refusal(format!("日志写入失败：{e}"))),
    }
}

/// Waits (at most 1 s) until the engine's event thread has journaled the
/// line's move: what the runtime journals next about this line (a
/// `CallRang`, a `CallEnded`) then comes after it in the journal, and every
/// projection sees the call on the line it rang on. (The engine journals
/// state changes from its own thread; without this wait a new call could be
/// journaled before the previous call's clear.)
#[allow(clippy::disallowed_methods)] // a bounded wait on a decision thread, never the UI
fn wait_journaled(rt: &Runtime, line: LineNo, to: LineState) {
    let end = Instant::now() + Duration::from_secs(1);
    while rt.board().line_state(line) != to && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The call on a line (its `CallRang` sequence number).
fn call_of(rt: &Runtime, lines: &crate::lines::Lines, line: LineNo) -> Option<u64> {
    lines.call(line).or_else(|| {
        rt.board()
            .lines
            .get(&line)
            .map(|v| v.call_seq)
            .filter(|s| *s > 0)
    })
}

/// Side effects of a move: recordings, rehearsal files.
fn after_move(
    rt: &Runtime,
    lines: &mut crate::lines::Lines,
    line: LineNo,
    from: LineState,
    to: LineState,
) {
    let Some(engine) = &rt.inner.engine else {
        if to == LineState::Idle {
            lines.clear_call(line);
        }
        return;
    };
    let file = match lines.slot(line).map(|s| &s.kind) {
        Some(LineKind::File { path, looping }) => Some((path.clone(), *looping)),
        _ => None,
    };
    let answered = from == LineState::Ringing && to == LineState::Screening;
    if answered {
        let call = call_of(rt, lines, line).unwrap_or(0);
        let started = rt
            .inner
            .recorder
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
            .filter(|r| r.calls)
            .map(|r| r.record_call(engine, line, call));
        match started {
            Some(Ok(tap)) => lines.set_recording(line, tap),
            Some(Err(e)) => rt.report(crate::failed("recording", "recording", &e)),
            None => {}
        }
    }
    if let Some((path, looping)) = &file {
        // A rehearsal caller speaks when put through: to the screener, then
        // again on air after a breath (as a caller does; the speech worker
        // then hears two questions, not one cut in the middle).
        if answered || to == LineState::OnAir {
            let pause = if answered {
                Duration::ZERO
            } else {
                Duration::from_millis(800)
            };
            if let Err(e) = engine.play_file(line, path, *looping, pause) {
                rt.report(crate::failed(
                    &format!("line {line}"),
                    &format!("audio/line{line}"),
                    &e.to_string(),
                ));
            }
        } else if to == LineState::Ended {
            let _ = engine.clear_line_source(line);
        }
    }
    if to == LineState::Ended
        && let Some(tap) = lines.take_recording(line)
    {
        let _ = engine.remove_tap(tap); // the recorder finishes the file
    }
    if let Some(slot) = lines.slot_mut(line)
        && let Some(id) = slot.sip_call
    {
        let ended = to == LineState::Ended || to == LineState::Idle;
        let answer_at = slot.sip_answer_at;
        if ended {
            slot.sip_call = None;
            slot.sip_rtp = None;
            slot.sip_answer_at = None;
        }
        crate::sip::after_move(rt, id, line, answered.then_some(answer_at), ended);
    }
    if to == LineState::Idle {
        lines.clear_call(line);
    }
}

pub(crate) fn move_line(
    rt: &Runtime,
    seat: &str,
    line: LineNo,
    to: LineState,
) -> Result<(), Refusal> {
    check_line(rt, line)?;
    let mut lines = rt
        .inner
        .lines
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let from = line_state(rt, line);
    if to == LineState::OnAir {
        let board = rt.board();
        if board
            .lines
            .get(&line)
            .and_then(|v| v.note.as_ref())
            .is_some_and(|n| n.private)
        {
            return Err(Refusal(format!(
                "线路 {line}：涉及个人隐私，不能上直播（转线下处理）"
            )));
        }
    }
    if to == LineState::Ringing {
        return Err(Refusal(format!("线路 {line}：来电请用“来电”键（振铃）")));
    }
    from.check(to)
        .map_err(|e| Refusal(format!("线路 {line}：{}", transition_zh(&e))))?;
    if to == LineState::Ended
        && let Some(call) = call_of(rt, &lines, line)
    {
        let _ = rt.inner.journal.append(
            seat,
            ShowEvent::CallEnded {
                line,
                call,
                reason: format!("{} 挂断", seat_zh(seat)),
            },
        );
    }
    apply_state(rt, line, from, to)?;
    after_move(rt, &mut lines, line, from, to);
    Ok(())
}

fn seat_zh(seat: &str) -> &str {
    match seat {
        "screener" => "导播",
        "host" => "主持人",
        "backoffice" => "后台",
        "rehearsal" => "彩排脚本",
        "runtime" => "系统",
        other => other,
    }
}

/// Rings a line: the call is journaled (number masked and hashed), the
/// line goes to ringing.
pub(crate) fn ring(rt: &Runtime, _seat: &str, r: &Ring) -> Result<u64, Refusal> {
    check_line(rt, r.line)?;
    let mut lines = rt
        .inner
        .lines
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let from = line_state(rt, r.line);
    if from != LineState::Idle {
        return Err(Refusal(format!(
            "线路 {} 正忙（{}），先清线",
            r.line,
            from.label_zh()
        )));
    }
    let (caller_masked, caller_key) = match r.caller.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(number) => {
            let key = rt.inner.caller_key.hash(number);
            let masked = crate::callers::mask(number);
            // a blocked caller still rings (the screener decides), marked
            if rt.inner.moderation.is_blocked(&key) {
                (format!("已拉黑 · {masked}"), key)
            } else {
                (masked, key)
            }
        }
        None => (
            r.shown_as.clone().unwrap_or_else(|| "外线来电".to_owned()),
            format!("anon-{:016x}", rand::random::<u64>()),
        ),
    };
    let call = rt
        .inner
        .journal
        .append(
            SEAT,
            ShowEvent::CallRang {
                line: r.line,
                caller_masked,
                caller_key,
            },
        )
        .map_err(|e| Refusal(format!("日志写入失败：{e}")))?;
    lines.set_call(r.line, call);
    if let Some(number) = r.caller.as_deref().filter(|c| !c.trim().is_empty()) {
        lines.set_number(call, number);
    }
    apply_state(rt, r.line, from, LineState::Ringing)?;
    Ok(call)
}

/// Ends the call on a line for `reason` (a hang-up the runtime saw).
pub(crate) fn end_call(
    rt: &Runtime,
    seat: &str,
    line: LineNo,
    reason: &str,
) -> Result<(), Refusal> {
    let mut lines = rt
        .inner
        .lines
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let from = line_state(rt, line);
    if !(from == LineState::Ringing || from.is_connected()) {
        return Ok(());
    }
    if let Some(call) = call_of(rt, &lines, line) {
        let _ = rt.inner.journal.append(
            seat,
            ShowEvent::CallEnded {
                line,
                call,
                reason: reason.to_owned(),
            },
        );
    }
    apply_state(rt, line, from, LineState::Ended)?;
    after_move(rt, &mut lines, line, from, LineState::Ended);
    Ok(())
}

fn mix(
    rt: &Runtime,
    input: MixInput,
    fader: Option<f32>,
    mute: Option<bool>,
    commit: bool,
) -> Result<(), Refusal> {
    if let MixInput::Line(l) = input {
        check_line(rt, l)?;
    }
    let mut state = rt.inner.mix.lock().unwrap_or_else(PoisonError::into_inner);
    let (mut f, mut m) = state.get(input);
    if let Some(x) = fader {
        if !(0.0..=2.0).contains(&x) || !x.is_finite() {
            return Err(Refusal(format!("推子 {x} 超出范围（0 到 1）")));
        }
        f = x;
    }
    if let Some(x) = mute {
        m = x;
    }
    if let Some(e) = &rt.inner.engine {
        let r = match input {
            MixInput::Line(l) => e.set_fader(l, f).and_then(|()| e.set_mute(l, m)),
            MixInput::Host => e.set_host_gain(if m { 0.0 } else { f }),
        };
        r.map_err(|err| Refusal(err.to_string()))?;
    }
    state.set.insert(input.name(), (f, m));
    drop(state);
    if commit {
        rt.inner
            .journal
            .append(
                SEAT,
                ShowEvent::MixSet {
                    input: input.name(),
                    fader: f,
                    mute: m,
                },
            )
            .map_err(|e| Refusal(format!("日志写入失败：{e}")))?;
    }
    Ok(())
}

impl Runtime {
    /// Does what a seat asks, if it may be done. A refusal is journaled
    /// (`CommandRefused`, as `seat`) and returned with its reason.
    pub fn execute(&self, seat: &str, action: Action) -> Result<Outcome, Refusal> {
        let what = action.describe();
        let r = self.decide(seat, action);
        if let Err(refusal) = &r {
            let _ = self.inner.journal.append(
                seat,
                ShowEvent::CommandRefused {
                    action: what,
                    reason: refusal.0.clone(),
                },
            );
        }
        r
    }

    /// Does what a seat with `role` asks, if the role allows it and it may
    /// be done. A refusal either way is journaled as `seat`.
    pub fn execute_as(
        &self,
        seat: &str,
        role: crate::Role,
        action: Action,
    ) -> Result<Outcome, Refusal> {
        if !role.permits(&action) {
            let what = action.describe();
            return Err(self.refuse(seat, &what, role.refusal(&what)));
        }
        self.execute(seat, action)
    }

    /// Journals that `seat` was refused `what` (a command, a connection, a
    /// request for data its role may not read) and returns the refusal.
    pub fn refuse(&self, seat: &str, what: &str, reason: impl Into<String>) -> Refusal {
        let reason = reason.into();
        let _ = self.inner.journal.append(
            seat,
            ShowEvent::CommandRefused {
                action: what.to_owned(),
                reason: reason.clone(),
            },
        );
        Refusal(reason)
    }

    fn append(&self, seat: &str, event: ShowEvent) -> Result<Outcome, Refusal> {
        self.inner
            .journal
            .append(seat, event)
            .map(|_| Outcome::Done)
            .map_err(|e| Refusal(format!("日志写入失败：{e}")))
    }

    fn decide(&self, seat: &str, action: Action) -> Result<Outcome, Refusal> {
        match action {
            Action::Move { line, to } => move_line(self, seat, line, to).map(|()| Outcome::Done),
            Action::Ring { line, caller } => ring(
                self,
                seat,
                &Ring {
                    line,
                    caller,
                    shown_as: None,
                },
            )
            .map(Outcome::Rang),
            Action::Fader {
                input,
                fader,
                commit,
            } => mix(self, input, Some(fader), None, commit).map(|()| Outcome::Done),
            Action::Mute { input, mute } => {
                mix(self, input, None, Some(mute), true).map(|()| Outcome::Done)
            }
            Action::Gain { line, gain } => {
                check_line(self, line)?;
                if let Some(e) = &self.inner.engine {
                    e.set_gain(line, gain)
                        .map_err(|err| Refusal(err.to_string()))?;
                }
                Ok(Outcome::Done)
            }
            Action::Note { line, note } => {
                check_line(self, line)?;
                if self.board().line_state(line) == LineState::Idle {
                    return Err(Refusal(format!("线路 {line} 空闲，没有可记录的来电")));
                }
                self.append(seat, ShowEvent::CallerNoted { line, note })
            }
            Action::Pin(item) => self.append(seat, ShowEvent::Pinned { item }),
            Action::Unpin(item) => self.append(seat, ShowEvent::Unpinned { item }),
            Action::Answered(item) => self.append(seat, ShowEvent::AnsweredOnAir { item }),
            Action::Offline { item, ticket } => self.take_offline(seat, item, ticket),
            Action::CallBack { ticket } => self.call_back(seat, &ticket),
            Action::Message { text } => {
                if text.trim().is_empty() {
                    return Err(Refusal("消息为空".into()));
                }
                self.append(seat, ShowEvent::ProducerMessage { text })
            }
            Action::QueueOrder { lines } => self.append(seat, ShowEvent::QueueOrdered { lines }),
            Action::Approve {
                item,
                all_from_author,
            } => self.approve(seat, &item, all_from_author),
            Action::Reject { item } => self.reject(seat, &item),
            Action::Block { item } => self.block(seat, &item),
            Action::Unblock { author_key } => self.unblock(seat, &author_key),
            Action::AnswerInWriting { item, text } => self.answer_in_writing(seat, item, text),
            Action::Delay { command } => self.delay_command(seat, command),
            Action::Plan { edit } => self.edit_plan(seat, edit),
            Action::KbSave {
                entry,
                expected_version,
            } => self.kb_save(seat, *entry, expected_version),
            Action::KbRetire { id } => self.kb_retire(seat, &id),
            Action::StartSegment { segment } => {
                let plan = self.plan();
                if plan.segment(segment).is_none() {
                    return Err(Refusal(format!("节目串联单中没有第 {segment} 段")));
                }
                self.append(
                    seat,
                    ShowEvent::SegmentStarted {
                        by: seat.to_owned(),
                        segment,
                    },
                )
            }
            Action::Show { open } => {
                let board = self.board();
                let is_open = board.opened_at_ms.is_some();
                let show = &self.inner.config.show;
                match (open, is_open) {
                    (true, true) => Err(Refusal("节目已经开播".into())),
                    (false, false) => Err(Refusal("节目尚未开播".into())),
                    (true, false) => self.append(
                        seat,
                        ShowEvent::ShowOpened {
                            show_id: show.id.clone(),
                            show_name: show.name.clone(),
                        },
                    ),
                    (false, true) => self.append(
                        seat,
                        ShowEvent::ShowClosed {
                            show_id: show.id.clone(),
                        },
                    ),
                }
            }
        }
    }

    pub(crate) fn loaded_kb(&self) -> Result<crate::LoadedKb, Refusal> {
        match self.inner.kb.try_get() {
            Some(Ok(kb)) => Ok(kb),
            Some(Err(e)) => Err(Refusal(format!("知识库不可用：{e}"))),
            None => Err(Refusal("知识库仍在加载，请稍候".into())),
        }
    }

    /// Publishes a knowledge base after an edit: seats and the speech
    /// worker search the new snapshot from now on.
    pub(crate) fn publish_kb(&self, kb: crate::LoadedKb) {
        if let Some(part) = self
            .inner
            .speech
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            part.set_kb(std::sync::Arc::clone(&kb.searcher));
        }
        self.inner.kb.set(Ok(kb));
    }

    fn kb_save(
        &self,
        seat: &str,
        entry: airbridge_kb::Entry,
        expected: Option<u32>,
    ) -> Result<Outcome, Refusal> {
        let kb = self.loaded_kb()?;
        let is_new = entry.id.trim().is_empty();
        let question = entry.question.clone();
        let (next, (id, version)) = kb
            .edit(|k| {
                if is_new {
                    let id = k.add(entry, seat)?;
                    let v = k.current_version(&id)?.unwrap_or(1);
                    Ok((id, v))
                } else {
                    let id = entry.id.clone();
                    let v = k.update(entry, seat, expected)?;
                    Ok((id, v))
                }
            })
            .map_err(|e| Refusal(format!("知识库：{e}")))?;
        self.publish_kb(next);
        self.append(
            seat,
            ShowEvent::KbEdited {
                by: seat.to_owned(),
                id: id.clone(),
                version,
                question,
                retired: false,
            },
        )?;
        Ok(Outcome::Kb { id, version })
    }

    fn kb_retire(&self, seat: &str, id: &str) -> Result<Outcome, Refusal> {
        let kb = self.loaded_kb()?;
        let question = kb
            .entries
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.question.clone())
            .unwrap_or_default();
        let (next, version) = kb
            .edit(|k| k.retire(id, seat))
            .map_err(|e| Refusal(format!("知识库：{e}")))?;
        self.publish_kb(next);
        self.append(
            seat,
            ShowEvent::KbEdited {
                by: seat.to_owned(),
                id: id.to_owned(),
                version,
                question,
                retired: true,
            },
        )?;
        Ok(Outcome::Kb {
            id: id.to_owned(),
            version,
        })
    }

    /// One entry, its stored version and every version (newest first).
    pub fn kb_entry(
        &self,
        id: &str,
    ) -> Result<(airbridge_kb::Entry, u32, Vec<airbridge_kb::Version>), String> {
        let kb = self.loaded_kb().map_err(|r| r.0)?;
        let history = kb.history(id).map_err(|e| format!("知识库：{e}"))?;
        let first = history
            .first()
            .ok_or_else(|| format!("知识库中没有条目 {id}"))?;
        Ok((first.entry.clone(), first.version, history))
    }

    /// The knowledge base's "needs review" queue: entries past their
    /// expiry or not reviewed for `max_age_days`, and questions of this
    /// show that found no answer: a transcript or message with no
    /// knowledge-base hit at all, or an item handed to the back office
    /// (not answered on air). The same question asked twice counts twice;
    /// the show's questions come first, most asked first.
    pub fn kb_review(&self, today: &str, max_age_days: u32) -> Vec<airbridge_kb::ReviewItem> {
        use airbridge_kb::{ReviewItem, ReviewReason};
        let mut out = match self.inner.kb.try_get() {
            Some(Ok(kb)) => kb.needs_review(today, max_age_days),
            _ => Vec::new(),
        };
        let board = self.board();
        let searcher = match self.inner.kb.try_get() {
            Some(Ok(kb)) => Some(kb.searcher),
            _ => None,
        };
        let mut asked: Vec<(String, u32, f32)> = Vec::new();
        let mut note = |q: String, score: f32| {
            let q = q.trim().to_owned();
            if q.is_empty() {
                return;
            }
            match asked.iter_mut().find(|(text, ..)| *text == q) {
                Some(a) => {
                    a.1 += 1;
                    a.2 = a.2.max(score);
                }
                None => asked.push((q, 1, score)),
            }
        };
        let Ok(events) = self.inner.journal.replay(1) else {
            return out;
        };
        let now = chrono::Utc::now();
        for stored in events.flatten() {
            match stored.event {
                ShowEvent::KbSuggested { query, hits, .. } if hits.is_empty() => note(query, 0.0),
                ShowEvent::TakenOffline { item, .. } => {
                    if let Some(t) = airbridge_tickets::prefill::from_item(&board, &item, now) {
                        let best = searcher
                            .as_ref()
                            .and_then(|s| s.search(&t.question, 1).first().map(|h| h.score))
                            .unwrap_or(0.0);
                        note(t.question, best);
                    }
                }
                _ => {}
            }
        }
        // the show's unanswered questions first (most asked first): they
        // are what the next show will be asked again
        asked.sort_by_key(|a| std::cmp::Reverse(a.1));
        let mut queue: Vec<ReviewItem> = asked
            .into_iter()
            .map(|(question, n, best)| ReviewItem {
                id: String::new(),
                question,
                reason: ReviewReason::Unanswered {
                    asked: n,
                    best_score: best,
                },
            })
            .collect();
        queue.append(&mut out);
        queue
    }

    fn delay_command(&self, seat: &str, command: DelayCommand) -> Result<Outcome, Refusal> {
        let Some(engine) = &self.inner.engine else {
            return Err(Refusal("没有音频引擎，无法操作延时".into()));
        };
        let done = match command {
            DelayCommand::Dump { secs } => engine.delay_dump(secs.or(self.inner.safety.dump_secs)),
            DelayCommand::Exit => engine.delay_exit(true),
            DelayCommand::Enter => engine.delay_exit(false),
        };
        done.map_err(|e| Refusal(format!("延时：{e}")))?;
        self.append(
            seat,
            ShowEvent::DelayCommand {
                by: seat.to_owned(),
                command,
            },
        )
    }

    /// The show plan now: the journal's latest, else the saved file, else
    /// the rundown and phrases of the show's configuration.
    pub fn plan(&self) -> ShowPlan {
        if let Some(p) = self.board().plan {
            return p;
        }
        match ShowPlan::load(&self.plan_file()) {
            Ok(Some(p)) => p,
            _ => {
                let show = &self.inner.config.show;
                // a config the plan's rules refuse gives an empty plan to edit
                ShowPlan::from_rundown(
                    show.rundown.iter().map(|r| (r.title.clone(), r.minutes)),
                    &show.emergency_phrases,
                )
                .unwrap_or_default()
            }
        }
    }

    /// Where the show plan is saved (beside the show's journal).
    pub fn plan_file(&self) -> std::path::PathBuf {
        self.inner
            .paths
            .data_dir
            .join("shows")
            .join(&self.inner.config.show.id)
            .join("plan.json")
    }

    fn edit_plan(&self, seat: &str, edit: PlanEdit) -> Result<Outcome, Refusal> {
        let mut plan = self.plan();
        plan.apply(&edit)
            .map_err(|e| Refusal(format!("串联单：{}", e.zh())))?;
        let file = self.plan_file();
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Refusal(format!("串联单无法保存（{}）：{e}", dir.display())))?;
        }
        plan.save(&file)
            .map_err(|e| Refusal(format!("串联单无法保存：{e}")))?;
        self.append(
            seat,
            ShowEvent::PlanEdited {
                by: seat.to_owned(),
                edit,
                plan,
            },
        )
    }

    /// 回拨: opens the ticket's sealed number and calls it on a SIP line.
    fn call_back(&self, seat: &str, ticket: &str) -> Result<Outcome, Refusal> {
        let t = self
            .with_desk(|d| d.get(ticket))
            .ok_or_else(|| Refusal("工单库不可用".into()))?
            .map_err(|e| Refusal(format!("工单 {ticket}：{e}")))?;
        let sealed = t.callback_number.clone().ok_or_else(|| {
            Refusal(format!(
                "工单 {ticket} 没有可回拨的号码（不是来电转来的工单）"
            ))
        })?;
        let number = self
            .inner
            .seal
            .open(&sealed)
            .map_err(|e| Refusal(format!("工单 {ticket}：{e}")))?;
        let line = crate::sip::call_back(self, &number, ticket).map_err(Refusal)?;
        let note = Change::Note {
            text: format!("回拨 {}（线路 {line}）", crate::callers::mask(&number)),
        };
        if let Some(Err(e)) = self.with_desk(|d| d.apply(ticket, t.version, &note, seat)) {
            tracing::info!("call-back note on {ticket} not saved: {e}");
        }
        Ok(Outcome::Done)
    }

    fn take_offline(
        &self,
        seat: &str,
        item: ItemRef,
        ticket: Option<Box<NewTicket>>,
    ) -> Result<Outcome, Refusal> {
        let ticket = ticket.map(|t| *t).or_else(|| {
            // received now, by the desk's clock (a show replayed or tested
            // on a fixed clock gets its own deadlines)
            let now = self.with_desk(|d| d.now()).unwrap_or_else(chrono::Utc::now);
            let mut board = self
                .inner
                .board
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            catch_up(&self.inner.journal, &mut board);
            airbridge_tickets::prefill::from_item(&board, &item, now)
        });
        // a call's full number goes with its ticket, sealed, for a call-back
        let ticket = ticket.map(|mut t| {
            if let ItemRef::Call(call) = &item
                && t.callback_number.is_none()
                && let Some(number) = self
                    .inner
                    .lines
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .number(*call)
            {
                t.callback_number = Some(self.inner.seal.seal(number));
            }
            t
        });
        let mut problem = None;
        let ticket_id = {
            let mut desk = self
                .inner
                .desk
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match (desk.as_mut(), ticket) {
                (Some(desk), Some(new)) => match desk.create(new, seat) {
                    Ok(t) => Some(t.id),
                    Err(e) => {
                        problem = Some(format!("建工单失败：{e}"));
                        None
                    }
                },
                (None, _) => {
                    problem = Some("工单库不可用：已记录转线下，请后台手工建单".to_owned());
                    None
                }
                (Some(_), None) => None,
            }
        };
        self.append(
            seat,
            ShowEvent::TakenOffline {
                item,
                ticket_id: ticket_id.clone(),
            },
        )?;
        if let Some(p) = problem {
            let _ = self.inner.journal.append(
                SEAT,
                ShowEvent::Health {
                    component: "tickets".into(),
                    ok: false,
                    detail: p,
                },
            );
        }
        Ok(Outcome::Ticket(ticket_id))
    }

    /// The most-asked audience question not yet pinned or answered.
    pub fn top_question(&self) -> Option<ItemRef> {
        let board = self.board();
        board
            .audience
            .clusters
            .iter()
            .filter(|(id, _)| {
                let item = ItemRef::Cluster(**id);
                !board.pinned.contains(&item) && !board.answered.contains(&item)
            })
            .max_by_key(|(id, c)| (c.count, std::cmp::Reverse(**id)))
            .map(|(id, _)| ItemRef::Cluster(*id))
    }
}

/// `cluster:N`, `call:N`, `SOURCE:ID` (an audience message as journaled).
pub fn parse_item(text: &str) -> Result<ItemRef, String> {
    let (kind, id) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?}: write an item as SOURCE:ID, cluster:N or call:N"))?;
    let number = |id: &str| {
        id.parse::<u64>()
            .map_err(|_| format!("{text:?}: {id:?} is not a number"))
    };
    match kind {
        "cluster" => number(id).map(ItemRef::Cluster),
        "call" => number(id).map(ItemRef::Call),
        _ if id.is_empty() => Err(format!("{text:?}: the message id is missing")),
        _ => Ok(ItemRef::Message(text.to_owned())),
    }
}

/// The actions of one script step, in order.
fn step_actions(rt: &Runtime, step: &Step) -> Vec<Result<Action, String>> {
    let mut out = Vec::new();
    let call_item = |line: Option<LineNo>| -> Result<ItemRef, String> {
        let line = line.ok_or("this step needs `line`")?;
        rt.board()
            .lines
            .get(&line)
            .map(|v| v.call_seq)
            .filter(|s| *s > 0)
            .map(ItemRef::Call)
            .ok_or_else(|| format!("no call on line {line}"))
    };
    let item = |spec: &ItemSpec| -> Result<ItemRef, String> {
        match spec {
            ItemSpec::ThisCall(true) => call_item(step.line),
            ItemSpec::ThisCall(false) => Err("`false` does nothing".into()),
            ItemSpec::Item(s) if s == "top" => rt
                .top_question()
                .ok_or_else(|| "no open audience question yet".to_owned()),
            ItemSpec::Item(s) => parse_item(s),
        }
    };
    if let Some(show) = step.show {
        out.push(Ok(Action::Show {
            open: show == ShowSwitch::Open,
        }));
    }
    if let (Some(line), Some(state)) = (step.line, step.state) {
        out.push(Ok(if state == LineState::Ringing {
            Action::Ring {
                line,
                caller: step.caller.clone(),
            }
        } else {
            Action::Move { line, to: state }
        }));
    }
    if let (Some(line), Some(note)) = (step.line, &step.note) {
        out.push(Ok(Action::Note {
            line,
            note: note.clone(),
        }));
    }
    if let (Some(line), Some(gain)) = (step.line, step.gain) {
        out.push(Ok(Action::Gain { line, gain }));
    }
    if let (Some(line), Some(fader)) = (step.line, step.fader) {
        out.push(Ok(Action::Fader {
            input: MixInput::Line(line),
            fader,
            commit: true,
        }));
    }
    if let (Some(line), Some(mute)) = (step.line, step.mute) {
        out.push(Ok(Action::Mute {
            input: MixInput::Line(line),
            mute,
        }));
    }
    if let Some(fader) = step.host_fader {
        out.push(Ok(Action::Fader {
            input: MixInput::Host,
            fader,
            commit: true,
        }));
    }
    if let Some(p) = &step.pin {
        out.push(item(&ItemSpec::Item(p.clone())).map(Action::Pin));
    }
    if let Some(a) = &step.answered {
        out.push(item(a).map(Action::Answered));
    }
    if let Some(o) = &step.offline {
        out.push(item(o).map(|item| Action::Offline { item, ticket: None }));
    }
    if let Some(m) = &step.message {
        out.push(Ok(Action::Message { text: m.clone() }));
    }
    out
}

/// The seat scripts act as.
pub const REHEARSAL_SEAT: &str = "rehearsal";

/// Plays a script (thread `runtime-script`) until it ends or the show stops.
#[allow(clippy::disallowed_methods)] // paces a rehearsal, off every real-time thread
pub(crate) fn play_script(rt: &Runtime, script: &Script) {
    let mut t0 = Instant::now();
    loop {
        for step in &script.steps {
            let at = t0 + Duration::from_secs_f64(step.secs);
            while Instant::now() < at {
                if rt.stopping() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20).min(at - Instant::now()));
            }
            if rt.stopping() {
                return;
            }
            for action in step_actions(rt, step) {
                match action {
                    Ok(a) => {
                        if let Err(r) = rt.execute(REHEARSAL_SEAT, a) {
                            tracing::info!(secs = step.secs, "script step refused: {r}");
                        }
                    }
                    Err(why) => {
                        tracing::info!(secs = step.secs, "script step skipped: {why}");
                        let _ = rt.inner.journal.append(
                            REHEARSAL_SEAT,
                            ShowEvent::CommandRefused {
                                action: format!("script step at {} s", step.secs),
                                reason: why,
                            },
                        );
                    }
                }
            }
        }
        match script.loop_secs {
            Some(l) => t0 += Duration::from_secs_f64(l),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_written_as_the_journal_names_them() {
        assert_eq!(parse_item("cluster:12"), Ok(ItemRef::Cluster(12)));
        assert_eq!(parse_item("call:7"), Ok(ItemRef::Call(7)));
        assert_eq!(
            parse_item("douyin:7301"),
            Ok(ItemRef::Message("douyin:7301".into()))
        );
        assert!(parse_item("cluster:x").is_err());
        assert!(parse_item("nothing").is_err());
    }
}
