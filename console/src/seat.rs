//! The seat, without pixels: what one seat of the console knows (its
//! board, drafts, selections, answers from the runtime) and what it asks
//! (line moves, notes, pins, hand-offs, ticket work). The views only draw
//! it and call it; the same model serves the window on the runtime's PC and
//! a seat on another PC ([`Link`]). Unit-tested without rendering.
//!
//! It decides nothing the runtime decides: a move it refuses at once (an
//! impossible transition, the privacy gate) is only said sooner; the runtime
//! checks again, whoever asks.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_kb::Hit;
use airbridge_runtime::{Action, LineInfo, MixInput, Runtime};
use airbridge_show::{CallerNote, ItemRef, LineNo, LineState, Projection, ShowBoard, ShowEvent};

use crate::app::transition_zh;
use crate::backend::{Backend, Command, KbView, QueueKind, TicketDetail, TicketSnapshot, Update};

/// Who is sitting at this seat; each sees what the job needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Host,
    Screener,
    /// 场控: what the audience sends, held for approval, the block list.
    Control,
    BackOffice,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Host, Role::Screener, Role::BackOffice, Role::Control];

    pub fn label(self) -> &'static str {
        match self {
            Role::Host => "主持人",
            Role::Screener => "导播 / 接线",
            Role::Control => "场控",
            Role::BackOffice => "后台",
        }
    }

    pub fn seat(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::Screener => "screener",
            Role::Control => "control",
            Role::BackOffice => "backoffice",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "host" => Some(Role::Host),
            "screener" | "producer" => Some(Role::Screener),
            "control" => Some(Role::Control),
            "backoffice" | "back-office" => Some(Role::BackOffice),
            _ => None,
        }
    }
}

/// Where the views get "now" from: the wall clock, or a fixed instant for
/// reproducible snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(i64),
}

impl Clock {
    pub fn now_ms(self) -> i64 {
        match self {
            Clock::System => chrono::Utc::now().timestamp_millis(),
            Clock::Fixed(ms) => ms,
        }
    }
}

/// What the window is a seat of.
#[derive(Debug, Clone)]
pub enum Link {
    /// The show's runtime, in this process (one PC).
    Local(Runtime),
    /// A runtime on another PC, through the seats listener.
    Remote(Arc<crate::remote::Remote>),
}

impl From<Runtime> for Link {
    fn from(rt: Runtime) -> Self {
        Link::Local(rt)
    }
}

impl Link {
    pub fn has_audio(&self) -> bool {
        match self {
            Link::Local(rt) => rt.has_audio(),
            Link::Remote(r) => r.welcome.has_audio,
        }
    }

    /// Where the back office's exports go on this PC.
    pub fn exports_dir(&self) -> PathBuf {
        match self {
            Link::Local(rt) => rt.paths().data_dir.join("exports"),
            Link::Remote(_) => directories::UserDirs::new()
                .and_then(|u| u.download_dir().map(std::path::Path::to_path_buf))
                .unwrap_or_else(|| PathBuf::from(".")),
        }
    }

    /// The role a remote seat's token gives it (fixed); `None` on this PC.
    pub fn fixed_role(&self) -> Option<airbridge_runtime::Role> {
        match self {
            Link::Local(_) => None,
            Link::Remote(r) => Some(r.welcome.role),
        }
    }
}
/// The screener's note form for the selected line.
#[derive(Debug, Clone, Default)]
pub struct NoteDraft {
    pub line: LineNo,
    pub call_seq: u64,
    pub note: CallerNote,
    /// The board's note when the form was last loaded from it.
    pub synced: Option<CallerNote>,
}

/// Back-office form fields.
#[derive(Debug, Clone, Default)]
pub struct TicketForms {
    pub resolution: String,
    pub callback_note: String,
    pub assignee: String,
}
/// One seat's state and actions.
pub struct SeatModel {
    pub(crate) config: ConfigSet,
    pub(crate) link: Link,
    /// The studio's lines (kind per line), for the line controls.
    pub(crate) line_info: Vec<LineInfo>,
    /// When 结束 was pressed once (a second press within 4 s ends the show).
    pub(crate) confirm_close: Option<Instant>,
    /// Faders as shown while dragged: input → (fader, mute).
    pub(crate) faders: std::collections::BTreeMap<String, (f32, bool)>,
    pub(crate) journal_desc: String,
    pub(crate) backend: Backend,
    pub(crate) board: ShowBoard,
    pub(crate) role: Option<Role>,
    pub(crate) clock: Clock,
    pub(crate) selected_line: LineNo,
    pub(crate) producer_draft: String,
    pub(crate) note: NoteDraft,
    /// Index into the audience clusters (screener) or pinned items (host).
    pub(crate) selected_item: usize,
    /// Index into the held messages (场控).
    pub(crate) selected_held: usize,
    /// The audience question being answered in writing: (item id, question).
    pub(crate) answering: Option<(String, String)>,
    /// The written answer being typed.
    pub(crate) answer_draft: String,
    pub(crate) kb: Option<KbView>,
    pub(crate) kb_query: String,
    pub(crate) kb_results: Option<(String, Vec<Hit>)>,
    pub(crate) tickets: Option<TicketSnapshot>,
    pub(crate) detail: Option<TicketDetail>,
    pub(crate) bo_queue: QueueKind,
    pub(crate) forms: TicketForms,
    pub(crate) last_refresh: Option<Instant>,
    pub(crate) toasts: VecDeque<(Instant, String)>,
    pub(crate) model_status: String,
}

impl std::fmt::Debug for SeatModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeatModel")
            .field("role", &self.role)
            .field("last_seq", &self.board.last_seq)
            .finish_non_exhaustive()
    }
}

/// Events applied per frame at most, so a burst never freezes a frame.
const EVENTS_PER_FRAME: usize = 2000;

impl SeatModel {
    /// A seat on `link`, its backend threads started; `repaint` wakes the UI.
    pub fn start(
        link: Link,
        role: Option<Role>,
        clock: Clock,
        model_status: String,
        repaint: impl Fn() + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        let (backend, journal_desc, config, line_info) = match &link {
            Link::Local(rt) => (
                Backend::start(rt, clock, repaint)?,
                short_store_name(&rt.journal().describe()),
                rt.config().clone(),
                rt.lines(),
            ),
            Link::Remote(remote) => (
                Backend::remote(Arc::clone(remote), repaint)?,
                short_store_name(&remote.welcome.journal),
                (*remote.welcome.config).clone(),
                remote.welcome.lines.clone(),
            ),
        };
        let role = match link.fixed_role() {
            Some(r) => Some(crate::remote::view_of(r)),
            None => role,
        };
        Ok(Self {
            config,
            link,
            line_info,
            confirm_close: None,
            faders: std::collections::BTreeMap::new(),
            journal_desc,
            backend,
            board: ShowBoard::default(),
            role,
            clock,
            selected_line: 1,
            producer_draft: String::new(),
            note: NoteDraft::default(),
            selected_item: 0,
            selected_held: 0,
            answering: None,
            answer_draft: String::new(),
            kb: None,
            kb_query: String::new(),
            kb_results: None,
            tickets: None,
            detail: None,
            bo_queue: QueueKind::New,
            forms: TicketForms::default(),
            last_refresh: None,
            toasts: VecDeque::new(),
            model_status,
        })
    }

    /// The projection the views draw (for tests).
    pub fn board(&self) -> &ShowBoard {
        &self.board
    }

    /// The ticket opened in the back office (for tests).
    pub fn ticket_detail(&self) -> Option<&TicketDetail> {
        self.detail.as_ref()
    }

    /// The back-office snapshot (for tests).
    pub fn ticket_snapshot(&self) -> Option<&TicketSnapshot> {
        self.tickets.as_ref()
    }

    /// Whether the knowledge base has been opened by its thread.
    pub fn kb_ready(&self) -> bool {
        self.kb.is_some()
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn toast(&mut self, text: impl Into<String>) {
        self.toasts.push_back((Instant::now(), text.into()));
        while self.toasts.len() > 5 {
            self.toasts.pop_front();
        }
    }

    pub fn seat_name(&self) -> &'static str {
        self.role.map_or("console", Role::seat)
    }

    /// Whether this seat may switch views (on this PC; a remote seat's
    /// token decides its view).
    pub fn may_switch_role(&self) -> bool {
        self.link.fixed_role().is_none()
    }

    /// Asks the runtime to do something as this seat (it decides, and
    /// journals; a refusal comes back as a toast).
    pub fn act(&mut self, action: Action) {
        let cmd = Command::Act {
            seat: self.seat_name().to_owned(),
            action,
        };
        self.command(cmd);
    }

    /// The journal events a seat asks for, as runtime actions.
    pub fn send(&mut self, event: ShowEvent) {
        let action = match event {
            ShowEvent::Pinned { item } => Action::Pin(item),
            ShowEvent::Unpinned { item } => Action::Unpin(item),
            ShowEvent::AnsweredOnAir { item } => Action::Answered(item),
            ShowEvent::ProducerMessage { text } => Action::Message { text },
            ShowEvent::CallerNoted { line, note } => Action::Note { line, note },
            ShowEvent::QueueOrdered { lines } => Action::QueueOrder { lines },
            ShowEvent::LineStateChanged { line, to, .. } => Action::Move { line, to },
            other => {
                self.toast(format!("座席不能直接写入 {}", other.kind()));
                return;
            }
        };
        self.act(action);
    }

    /// A fader or mute for a line or the host microphones: applied at once,
    /// journaled when `commit` (the end of a drag, a mute click).
    pub fn set_mix(&mut self, input: MixInput, fader: f32, mute: bool, commit: bool) {
        let name = input.name();
        let before = self.mix_of(input);
        self.faders.insert(name, (fader, mute));
        if before.1 != mute {
            self.act(Action::Mute { input, mute });
        }
        if before.0 != fader || commit {
            self.act(Action::Fader {
                input,
                fader,
                commit,
            });
        }
    }

    /// A fader and mute as shown: while dragged, else as journaled.
    pub fn mix_of(&self, input: MixInput) -> (f32, bool) {
        let name = input.name();
        self.faders
            .get(&name)
            .or_else(|| self.board.mix.get(&name))
            .copied()
            .unwrap_or((1.0, false))
    }

    pub fn command(&mut self, cmd: Command) {
        if let Err(msg) = self.backend.send(cmd) {
            self.toast(msg);
        }
    }

    /// Takes what arrived (events, answers, problems) without waiting;
    /// a burst is applied over several frames.
    pub fn pump(&mut self) {
        for _ in 0..EVENTS_PER_FRAME {
            match self.backend.events.try_recv() {
                Ok(ev) => {
                    if let ShowEvent::KbSuggested { .. } = ev.event {
                        // How long an answer takes from the journal to this
                        // frame (the utterance benchmark reads this line).
                        tracing::debug!(
                            target: "airbridge_console::timing",
                            seq = ev.seq,
                            at_ms = ev.at_ms,
                            shown_ms = chrono::Utc::now().timestamp_millis(),
                            "kb answer on screen"
                        );
                    }
                    self.board.apply(&ev);
                }
                Err(_) => break,
            }
        }
        while let Ok(problem) = self.backend.problems.try_recv() {
            self.toast(problem);
        }
        while let Ok(update) = self.backend.updates.try_recv() {
            match update {
                Update::Tickets(s) => self.tickets = Some(*s),
                Update::Detail(d) => {
                    if self.detail.as_ref().map(|x| &x.ticket.id) != Some(&d.ticket.id) {
                        self.forms = TicketForms::default();
                    }
                    self.detail = Some(*d);
                }
                Update::TicketSaved(t) => {
                    self.toast(format!("工单 {} 已保存（{}）", t.id, t.state.label_zh()))
                }
                Update::Exported { path, rows } => {
                    self.toast(format!("已导出 {rows} 张工单到 {}", path.display()));
                }
                Update::KbReady(view) => self.kb = Some(view),
                Update::KbResults { query, hits } => self.kb_results = Some((query, hits)),
            }
        }
        self.toasts
            .retain(|(t, _)| t.elapsed() < Duration::from_secs(8));
    }

    /// The knowledge base's answers to the last search (for tests).
    pub fn kb_hits(&self) -> &[Hit] {
        self.kb_results.as_ref().map_or(&[], |(_, h)| h.as_slice())
    }

    /// The written answer being typed (for tests).
    pub fn answer_draft(&self) -> &str {
        &self.answer_draft
    }

    /// Starts a written answer to an audience question: the knowledge base
    /// is searched for it, so its best answers are one key away.
    pub fn answer(&mut self, id: &str, question: &str) {
        self.answering = Some((id.to_owned(), question.to_owned()));
        self.answer_draft.clear();
        self.kb_query = question.to_owned();
        self.command(Command::KbSearch {
            query: question.to_owned(),
        });
    }

    /// Sends the written answer (to the WeChat follower, or for the record).
    pub fn send_answer(&mut self) {
        let Some((id, _)) = self.answering.clone() else {
            self.toast("先选择要答复的留言");
            return;
        };
        if self.answer_draft.trim().is_empty() {
            self.toast("答复为空");
            return;
        }
        let text = std::mem::take(&mut self.answer_draft);
        self.act(Action::AnswerInWriting {
            item: ItemRef::Message(id),
            text,
        });
        self.answering = None;
    }

    /// The knowledge base's `n`-th answer (0-based) for the question being
    /// answered, into the draft.
    pub fn use_kb_answer(&mut self, n: usize) {
        let hit = self
            .kb_results
            .as_ref()
            .and_then(|(_, hits)| hits.get(n))
            .map(|h| h.answer.clone());
        match hit {
            Some(a) => self.answer_draft = a,
            None => self.toast(format!("知识库没有第 {} 条答案", n + 1)),
        }
    }

    /// The held message the 场控 has selected.
    pub fn selected_held(&self) -> Option<&airbridge_show::HeldMessage> {
        let held = &self.board.audience.held;
        held.get(self.selected_held.min(held.len().saturating_sub(1)))
    }

    /// Approves the selected held message (`all_from_author`: and
    /// everything else its author has waiting).
    pub fn approve_selected(&mut self, all_from_author: bool) {
        let Some(h) = self.selected_held() else {
            self.toast("没有待审的留言");
            return;
        };
        let item = ItemRef::Message(h.id.clone());
        self.act(Action::Approve {
            item,
            all_from_author,
        });
    }

    pub fn reject_selected(&mut self) {
        let Some(h) = self.selected_held() else {
            self.toast("没有待审的留言");
            return;
        };
        let item = ItemRef::Message(h.id.clone());
        self.act(Action::Reject { item });
    }

    /// Blocks the author of the selected held message on every channel.
    pub fn block_selected(&mut self) {
        let Some(h) = self.selected_held() else {
            self.toast("没有待审的留言");
            return;
        };
        let item = ItemRef::Message(h.id.clone());
        self.act(Action::Block { item });
    }

    /// Hands an item to the back office: one action; the runtime makes the
    /// ticket, pre-filled from its own board (a seat's board may be masked).
    pub fn take_offline(&mut self, item: ItemRef) {
        self.act(Action::Offline { item, ticket: None });
    }

    /// Asks the runtime to move a line. The view checks first so the key
    /// gives its reason at once; the runtime decides either way.
    pub fn move_line(&mut self, line: LineNo, to: LineState) {
        let from = self.board.line_state(line);
        if to == LineState::OnAir
            && let Some(reason) = self.on_air_refusal(line)
        {
            self.toast(format!("线路 {line}：{reason}"));
            return;
        }
        if let Err(e) = from.check(to) {
            self.toast(format!("线路 {line}：{}", transition_zh(&e)));
            return;
        }
        self.act(Action::Move { line, to });
    }

    /// The 来电 key: a call arrives on a hybrid line (the screener sees
    /// the hybrid's lamp; the number is not known).
    pub fn ring_line(&mut self, line: LineNo) {
        if self.board.line_state(line) != LineState::Idle {
            self.toast(format!("线路 {line} 正忙，先清线"));
            return;
        }
        self.act(Action::Ring { line, caller: None });
    }

    /// What the studio says line `line` is (`hybrid`, `rtp`, `file`).
    pub fn line_kind(&self, line: LineNo) -> Option<&str> {
        self.line_info
            .iter()
            .find(|l| l.number == line)
            .map(|l| l.kind.as_str())
    }

    /// Why a line may not go on air now (privacy), if it may not.
    pub fn on_air_refusal(&self, line: LineNo) -> Option<&'static str> {
        let view = self.board.lines.get(&line)?;
        view.note
            .as_ref()
            .filter(|n| n.private)
            .map(|_| "涉及个人隐私，不能上直播（转线下处理）")
    }

    /// Clusters, most asked first.
    pub fn sorted_clusters(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = self
            .board
            .audience
            .clusters
            .iter()
            .map(|(id, c)| (*id, c.count))
            .collect();
        v.sort_by_key(|&(id, n)| (std::cmp::Reverse(n), id));
        v
    }

    pub fn move_in_queue(&mut self, by: isize) {
        let mut queue = self.board.queue.clone();
        let Some(pos) = queue.iter().position(|l| *l == self.selected_line) else {
            self.toast("所选线路不在待播队列中（先设为等待或待播）");
            return;
        };
        let to = pos
            .saturating_add_signed(by)
            .min(queue.len().saturating_sub(1));
        if to != pos {
            let l = queue.remove(pos);
            queue.insert(to, l);
            self.send(ShowEvent::QueueOrdered { lines: queue });
        }
    }

    /// Loads the form from the board when another call is selected.
    pub fn sync_note_draft(&mut self) {
        let line = self.selected_line;
        let view = self.board.lines.get(&line);
        let call_seq = view.map_or(0, |v| v.call_seq);
        let on_board = view.and_then(|v| v.note.clone());
        // Another call selected, or the note changed on the board (another
        // seat saved it): the form shows the board's note.
        if self.note.line != line || self.note.call_seq != call_seq || self.note.synced != on_board
        {
            self.note = NoteDraft {
                line,
                call_seq,
                note: on_board.clone().unwrap_or_default(),
                synced: on_board,
            };
        }
    }

    pub fn save_note(&mut self) {
        let line = self.note.line;
        if self.board.line_state(line) == LineState::Idle {
            self.toast(format!("线路 {line} 空闲，没有可记录的来电"));
            return;
        }
        let note: CallerNote = self.note.note.clone();
        self.send(ShowEvent::CallerNoted { line, note });
    }

    /// The text and count shown for a pinned or listed item.
    pub fn item_text(&self, item: &ItemRef) -> (String, u64) {
        match item {
            ItemRef::Cluster(id) => self.board.audience.clusters.get(id).map_or_else(
                || (format!("问题组 {id}"), 0),
                |c| (c.example.clone(), c.count),
            ),
            ItemRef::Message(id) => self
                .board
                .audience
                .recent_questions
                .iter()
                .find(|m| &m.id == id)
                .map_or_else(|| (format!("留言 {id}"), 1), |m| (m.text.clone(), 1)),
            ItemRef::Call(seq) => {
                let topic = self
                    .board
                    .lines
                    .values()
                    .find(|l| l.call_seq == *seq)
                    .and_then(|l| l.note.as_ref().map(|n| n.topic.clone()))
                    .unwrap_or_default();
                (format!("来电 #{seq} {topic}"), 1)
            }
        }
    }

    pub fn export_tickets(&mut self) {
        let dir = self.link.exports_dir();
        let name = chrono::DateTime::from_timestamp_millis(self.now_ms())
            .unwrap_or_default()
            .with_timezone(&self.config.station.time_zone)
            .format("工单导出-%Y%m%d-%H%M%S.xlsx")
            .to_string();
        if let Err(e) = std::fs::create_dir_all(&dir) {
            self.toast(format!("无法创建导出目录 {}: {e}", dir.display()));
            return;
        }
        self.command(Command::ExportTickets {
            path: dir.join(name),
        });
    }

    pub fn department_names(&self, ids: &[String]) -> String {
        ids.iter()
            .map(|id| {
                self.config
                    .departments
                    .iter()
                    .find(|d| &d.id == id || &d.name == id)
                    .map_or(id.as_str(), |d| d.short_name.as_str())
            })
            .collect::<Vec<_>>()
            .join("、")
    }
}

/// `sqlite:/long/path/demo.db` → `demo.db` for the status bar.
pub(crate) fn short_store_name(desc: &str) -> String {
    let path = desc.split_once(':').map_or(desc, |(_, p)| p);
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| desc.to_owned(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::disallowed_methods)]
    use super::*;
    use airbridge_runtime::{DeskSource, KbSource, RuntimeOptions, StationPaths};

    fn model(dir: &std::path::Path) -> (SeatModel, Runtime) {
        let config = ConfigSet::embedded_demo().unwrap();
        let paths = StationPaths::under(dir, &config);
        let rt = Runtime::start(RuntimeOptions {
            kb: KbSource::None,
            speech: false,
            desk: DeskSource::FromPaths,
            ..RuntimeOptions::new(config, paths, Default::default())
        })
        .unwrap();
        let m = SeatModel::start(
            Link::Local(rt.clone()),
            Some(Role::Screener),
            Clock::System,
            String::new(),
            || {},
        )
        .unwrap();
        (m, rt)
    }

    /// Pumps until `done` (the backend delivers on its own threads).
    fn until(m: &mut SeatModel, what: &str, done: impl Fn(&SeatModel) -> bool) {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            m.pump();
            if done(m) {
                return;
            }
            assert!(Instant::now() < end, "timed out: {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn last_toast(m: &SeatModel) -> String {
        m.toasts.back().map(|(_, t)| t.clone()).unwrap_or_default()
    }

    #[test]
    fn a_move_the_runtime_would_refuse_is_said_at_once_and_not_sent() {
        let dir = tempfile::tempdir().unwrap();
        let (mut m, rt) = model(dir.path());
        m.ring_line(1);
        until(&mut m, "ringing", |m| {
            m.board.line_state(1) == LineState::Ringing
        });
        let before = rt.journal().last_seq();
        m.move_line(1, LineState::OnAir);
        assert!(last_toast(&m).contains("线路 1"), "{}", last_toast(&m));
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(rt.journal().last_seq(), before, "nothing was sent");
        m.move_line(1, LineState::Screening);
        until(&mut m, "screening", |m| {
            m.board.line_state(1) == LineState::Screening
        });
        // a private note: the privacy gate, before the runtime's
        m.note = NoteDraft {
            line: 1,
            call_seq: m.board.lines[&1].call_seq,
            note: CallerNote {
                name: "赵六".into(),
                topic: "家事".into(),
                private: true,
                ..CallerNote::default()
            },
            synced: None,
        };
        m.save_note();
        until(&mut m, "the note", |m| {
            m.board.lines[&1].note.as_ref().is_some_and(|n| n.private)
        });
        m.move_line(1, LineState::Ready);
        until(&mut m, "ready", |m| {
            m.board.line_state(1) == LineState::Ready
        });
        m.move_line(1, LineState::OnAir);
        assert!(last_toast(&m).contains("隐私"), "{}", last_toast(&m));
        assert_eq!(m.board.line_state(1), LineState::Ready);
    }

    #[test]
    fn the_queue_reorders_and_a_hand_off_makes_a_ticket_in_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let (mut m, _rt) = model(dir.path());
        for line in [1, 2] {
            m.ring_line(line);
            until(&mut m, "ringing", |m| {
                m.board.line_state(line) == LineState::Ringing
            });
            m.move_line(line, LineState::Screening);
            until(&mut m, "screening", |m| {
                m.board.line_state(line) == LineState::Screening
            });
            m.note.line = line;
            m.note.call_seq = m.board.lines[&line].call_seq;
            m.note.note.topic = format!("话题{line}");
            m.save_note();
            until(&mut m, "noted", |m| m.board.lines[&line].note.is_some());
            m.move_line(line, LineState::Ready);
            until(&mut m, "ready", |m| {
                m.board.line_state(line) == LineState::Ready
            });
        }
        assert_eq!(m.board.queue, vec![1, 2]);
        m.selected_line = 2;
        m.move_in_queue(-1);
        until(&mut m, "reordered", |m| m.board.queue == vec![2, 1]);
        // the hand-off: one action; the runtime pre-fills the ticket from
        // its own board
        let call = m.board.lines[&1].call_seq;
        m.take_offline(ItemRef::Call(call));
        until(&mut m, "the ticket", |m| {
            m.board.offline.iter().any(|o| o.ticket_id.is_some())
        });
        // a fader commit is journaled
        m.set_mix(MixInput::Line(2), 0.5, false, true);
        until(&mut m, "the fader", |m| {
            m.board
                .mix
                .get("line2")
                .is_some_and(|(f, _)| (*f - 0.5).abs() < 1e-6)
        });
    }
}
