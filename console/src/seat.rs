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
use airbridge_tickets::report::{GroupBy, Report};

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

/// A page of a seat besides its own view: show preparation, or the
/// knowledge-base editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Page {
    /// The seat's own view (lines, audience, tickets …).
    #[default]
    Seat,
    /// 节目准备: rundown, scripts, guests, emergency phrases, running order.
    Plan,
    /// 知识库: search, edit, add, retire, the review queue.
    Kb,
    /// 办事攻略: guides compiled from the questions answered.
    Guides,
}

/// A knowledge-base entry open in the editor.
#[derive(Debug, Clone, Default)]
pub struct KbDraft {
    /// What is being typed (an empty id: a new entry).
    pub entry: airbridge_kb::Entry,
    /// The stored version the edit started from (`None`: a new entry).
    pub version: Option<u32>,
    /// Every stored version, newest first.
    pub history: Vec<airbridge_kb::Version>,
    /// Alternatives and tags as typed (one per line / comma-separated).
    pub alternatives: String,
    pub tags: String,
}

impl KbDraft {
    fn of(
        entry: airbridge_kb::Entry,
        version: Option<u32>,
        history: Vec<airbridge_kb::Version>,
    ) -> Self {
        KbDraft {
            alternatives: entry.alternatives.join("\n"),
            tags: entry.tags.join("，"),
            entry,
            version,
            history,
        }
    }

    /// The entry to save, with the typed lists split.
    pub fn to_entry(&self) -> airbridge_kb::Entry {
        let mut e = self.entry.clone();
        e.alternatives = self
            .alternatives
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        e.tags = self
            .tags
            .split([',', '，', '、'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        for d in [&mut e.effective, &mut e.expiry, &mut e.reviewed] {
            if d.as_deref().is_some_and(|s| s.trim().is_empty()) {
                *d = None;
            }
        }
        e
    }
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
    /// Which page the seat shows.
    pub(crate) page: Page,
    /// The knowledge-base entry open in the editor.
    pub(crate) kb_draft: Option<KbDraft>,
    /// The knowledge base's "needs review" queue, as last fetched.
    pub(crate) kb_review: Option<Vec<airbridge_kb::ReviewItem>>,
    /// The last speech flag already sounded (a new one beeps once).
    pub(crate) flag_heard: u64,
    /// The segment selected in the plan editor, and its fields as typed.
    pub(crate) plan_selected: Option<u32>,
    pub(crate) plan_form: PlanForm,
    /// The 办事攻略 being edited, and the period asked for.
    pub(crate) guide: Option<airbridge_runtime::guides::Guide>,
    pub(crate) guide_from: String,
    pub(crate) guide_to: String,
    /// The back office's statistics: the period (local dates, both
    /// included), the grouping, and the report as last computed.
    pub(crate) stats_from: String,
    pub(crate) stats_to: String,
    pub(crate) stats_by: GroupBy,
    pub(crate) stats: Option<Report>,
}

/// The periods the statistics offer at one click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsPeriod {
    ThisWeek,
    ThisMonth,
    LastMonth,
    Last30Days,
}

impl StatsPeriod {
    pub const ALL: [StatsPeriod; 4] = [
        StatsPeriod::ThisWeek,
        StatsPeriod::ThisMonth,
        StatsPeriod::LastMonth,
        StatsPeriod::Last30Days,
    ];

    pub fn label(self) -> &'static str {
        match self {
            StatsPeriod::ThisWeek => "本周",
            StatsPeriod::ThisMonth => "本月",
            StatsPeriod::LastMonth => "上月",
            StatsPeriod::Last30Days => "近30天",
        }
    }

    /// First and last day (both included) of the period as of `today`.
    pub fn days(self, today: chrono::NaiveDate) -> (chrono::NaiveDate, chrono::NaiveDate) {
        use airbridge_tickets::report::Period;
        let day = chrono::Duration::days(1);
        match self {
            StatsPeriod::ThisWeek => (Period::Week.bounds(today).0, today),
            StatsPeriod::ThisMonth => (Period::Month.bounds(today).0, today),
            StatsPeriod::LastMonth => {
                let (start, _) = Period::Month.bounds(today);
                let (prev, _) = Period::Month.bounds(start - day);
                (prev, start - day)
            }
            StatsPeriod::Last30Days => (today - chrono::Duration::days(29), today),
        }
    }
}

/// A grouping of the statistics as the back office reads it.
pub fn group_label(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Department => "部门",
        GroupBy::Topic => "话题",
        GroupBy::Channel => "渠道",
        GroupBy::Station => "电台",
    }
}

/// The plan editor's fields for the selected segment and the new phrase.
#[derive(Debug, Clone, Default)]
pub struct PlanForm {
    pub segment: Option<u32>,
    pub title: String,
    pub minutes: String,
    pub script: String,
    pub new_title: String,
    pub new_minutes: String,
    pub phrase_key: String,
    pub phrase_text: String,
    pub guest_name: String,
    pub guest_title: String,
    pub guest_department: String,
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
            page: Page::Seat,
            kb_draft: None,
            kb_review: None,
            flag_heard: 0,
            plan_selected: None,
            plan_form: PlanForm::default(),
            guide: None,
            guide_from: String::new(),
            guide_to: String::new(),
            stats_from: String::new(),
            stats_to: String::new(),
            stats_by: GroupBy::Department,
            stats: None,
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

    /// The statistics as last computed (for tests).
    pub fn stats_report(&self) -> Option<&Report> {
        self.stats.as_ref()
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
                    if let ShowEvent::KbEdited { .. } | ShowEvent::KbRefreshed { .. } = ev.event {
                        // seats search and show the edited knowledge base
                        let _ = self.backend.send(Command::ReloadKb);
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
                Update::KbEntry {
                    entry,
                    version,
                    history,
                } => self.kb_draft = Some(KbDraft::of(*entry, Some(version), history)),
                Update::KbReview(items) => self.kb_review = Some(items),
                Update::Written { what, paths } => {
                    if let Some(first) = paths.first() {
                        self.toast(format!("{what}已写入：{}", first.display()));
                    }
                }
                Update::Guide(g) => {
                    self.toast(format!("办事攻略已生成：{} 问", g.len()));
                    self.guide = Some(*g);
                }
                Update::TicketReport(r) => self.stats = Some(*r),
            }
        }
        self.toasts
            .retain(|(t, _)| t.elapsed() < Duration::from_secs(8));
    }

    /// The show plan: the journal's latest, else the show's configured
    /// rundown and phrases.
    pub fn plan(&self) -> airbridge_show::ShowPlan {
        self.board.plan.clone().unwrap_or_else(|| {
            airbridge_show::ShowPlan::from_rundown(
                self.config
                    .show
                    .rundown
                    .iter()
                    .map(|r| (r.title.clone(), r.minutes)),
                &self.config.show.emergency_phrases,
            )
            .unwrap_or_default()
        })
    }

    /// Shows a page of the seat (its own view, show preparation, the
    /// knowledge-base editor).
    pub fn set_page(&mut self, page: Page) {
        self.page = page;
        if page == Page::Kb && self.kb_review.is_none() {
            self.refresh_kb_review();
        }
    }

    /// The page shown.
    pub fn page(&self) -> Page {
        self.page
    }

    /// Edits the plan (the runtime checks, saves and journals it).
    pub fn edit_plan(&mut self, edit: airbridge_show::PlanEdit) {
        self.act(Action::Plan { edit });
    }

    /// Marks a segment as on air now.
    pub fn start_segment(&mut self, segment: u32) {
        self.act(Action::StartSegment { segment });
    }

    /// Loads the selected segment into the form.
    pub fn select_segment(&mut self, id: u32) {
        let plan = self.plan();
        if let Some(seg) = plan.segment(id) {
            self.plan_selected = Some(id);
            self.plan_form.segment = Some(id);
            self.plan_form.title = seg.title.clone();
            self.plan_form.minutes = seg.minutes.to_string();
            self.plan_form.script = seg.script.clone();
        }
    }

    /// Saves the form's segment (title, minutes, script).
    pub fn save_segment(&mut self) {
        let Some(id) = self.plan_form.segment else {
            self.toast("先选一段");
            return;
        };
        let Ok(minutes) = self.plan_form.minutes.trim().parse::<u32>() else {
            self.toast(format!("时长“{}”不是分钟数", self.plan_form.minutes));
            return;
        };
        self.edit_plan(airbridge_show::PlanEdit::EditSegment {
            id,
            title: self.plan_form.title.trim().to_owned(),
            minutes,
            script: self.plan_form.script.clone(),
        });
    }

    /// Adds the segment typed in the "new" fields after the selected one.
    pub fn add_segment(&mut self) {
        let Ok(minutes) = self.plan_form.new_minutes.trim().parse::<u32>() else {
            self.toast(format!("时长“{}”不是分钟数", self.plan_form.new_minutes));
            return;
        };
        let title = self.plan_form.new_title.trim().to_owned();
        self.edit_plan(airbridge_show::PlanEdit::AddSegment {
            after: self.plan_selected,
            title,
            minutes,
        });
        self.plan_form.new_title.clear();
        self.plan_form.new_minutes.clear();
    }

    /// Writes the show plan as a printable page (on the backend's thread);
    /// returns where it will be.
    pub fn print_plan(&mut self) -> Option<PathBuf> {
        let plan = self.plan();
        let running = self
            .board
            .running_order(u64::try_from(self.now_ms()).unwrap_or(0));
        let date = chrono::DateTime::from_timestamp_millis(self.now_ms())
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let html =
            airbridge_show::plan::to_html(&plan, &self.config.show.name, &date, running.as_ref());
        let path = self
            .link
            .exports_dir()
            .join(format!("{}-plan-{date}.html", self.config.show.id));
        self.command(Command::WriteFiles {
            what: "节目单".into(),
            files: vec![(path.clone(), html.into_bytes())],
        });
        Some(path)
    }

    /// Opens an entry for editing (its stored version and history come back).
    pub fn open_kb_entry(&mut self, id: &str) {
        self.command(Command::OpenKbEntry { id: id.to_owned() });
    }

    /// Starts a new entry.
    pub fn new_kb_entry(&mut self) {
        let mut d = KbDraft::default();
        // at a station of a shared knowledge base a new entry is the
        // station's own until the producer shares it
        if let Some(code) = &self.config.station.code {
            d.entry.station.clone_from(code);
        }
        self.kb_draft = Some(d);
    }

    /// Saves the open entry as a new version (or a new entry).
    pub fn save_kb_entry(&mut self) {
        let Some(d) = &self.kb_draft else { return };
        let action = Action::KbSave {
            entry: Box::new(d.to_entry()),
            expected_version: d.version,
        };
        // the saved version and history come back with the entry; a
        // refusal leaves the draft as typed
        self.act(action);
    }

    /// Takes the open entry out of search.
    pub fn retire_kb_entry(&mut self) {
        let Some(d) = &self.kb_draft else { return };
        if d.entry.id.is_empty() {
            self.kb_draft = None;
            return;
        }
        let id = d.entry.id.clone();
        self.act(Action::KbRetire { id });
    }

    /// Fetches the "needs review" queue.
    pub fn refresh_kb_review(&mut self) {
        let today = chrono::DateTime::from_timestamp_millis(self.now_ms())
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        self.command(Command::KbReview { today });
    }

    /// The open entry (for tests).
    pub fn kb_draft(&self) -> Option<&KbDraft> {
        self.kb_draft.as_ref()
    }

    /// Reloads the back office's queues, and its statistics for the period
    /// and grouping chosen.
    pub fn refresh_tickets(&mut self) {
        self.command(Command::RefreshTickets);
        self.request_stats();
    }

    /// Computes the statistics for the period typed (default: this month)
    /// and the grouping chosen.
    pub fn request_stats(&mut self) {
        if self.stats_from.trim().is_empty() || self.stats_to.trim().is_empty() {
            let (from, to) = StatsPeriod::ThisMonth.days(self.today());
            self.stats_from = from.to_string();
            self.stats_to = to.to_string();
        }
        self.command(Command::TicketReport {
            from: self.stats_from.trim().to_owned(),
            to: self.stats_to.trim().to_owned(),
            by: Some(self.stats_by),
        });
    }

    /// Statistics for one of the usual periods.
    pub fn stats_period(&mut self, period: StatsPeriod) {
        let (from, to) = period.days(self.today());
        self.stats_from = from.to_string();
        self.stats_to = to.to_string();
        self.request_stats();
    }

    /// Statistics grouped another way.
    pub fn stats_group(&mut self, by: GroupBy) {
        self.stats_by = by;
        self.request_stats();
    }

    /// Today at the station.
    fn today(&self) -> chrono::NaiveDate {
        chrono::DateTime::from_timestamp_millis(self.now_ms())
            .map(|d| d.with_timezone(&self.config.station.time_zone).date_naive())
            .unwrap_or_default()
    }

    /// Compiles the guide for the period typed (default: the last 7 days).
    pub fn build_guide(&mut self) {
        let today = chrono::DateTime::from_timestamp_millis(self.now_ms())
            .map(|d| d.with_timezone(&self.config.station.time_zone).date_naive())
            .unwrap_or_default();
        if self.guide_to.trim().is_empty() {
            self.guide_to = today.to_string();
        }
        if self.guide_from.trim().is_empty() {
            self.guide_from = (today - chrono::Duration::days(6)).to_string();
        }
        self.command(Command::BuildGuide {
            from: self.guide_from.trim().to_owned(),
            to: self.guide_to.trim().to_owned(),
        });
    }

    /// Writes the guide (as edited) as HTML, Word and JSON beside the
    /// exports (on the backend's thread); returns where they will be.
    pub fn export_guide(&mut self) -> Vec<PathBuf> {
        let Some(g) = &self.guide else {
            self.toast("先生成办事攻略");
            return Vec::new();
        };
        let dir = self.link.exports_dir();
        let stem = format!("{}-guide-{}-{}", g.show_id, g.from, g.to);
        let made = g.to_docx().and_then(|docx| {
            serde_json::to_vec_pretty(g)
                .map(|json| (docx, json))
                .map_err(|e| e.to_string())
        });
        let files = match made {
            Ok((docx, json)) => vec![
                (dir.join(format!("{stem}.html")), g.to_html().into_bytes()),
                (dir.join(format!("{stem}.docx")), docx),
                (dir.join(format!("{stem}.json")), json),
            ],
            Err(e) => {
                self.toast(format!("办事攻略导出失败：{e}"));
                return Vec::new();
            }
        };
        let paths = files.iter().map(|(p, _)| p.clone()).collect();
        self.command(Command::WriteFiles {
            what: "办事攻略".into(),
            files,
        });
        paths
    }

    /// Dumps the broadcast delay (the newest seconds never go out).
    pub fn dump(&mut self) {
        self.act(Action::Delay {
            command: airbridge_show::DelayCommand::Dump { secs: None },
        });
    }

    /// Runs the delay down before the end of the show (`true`), or up again.
    pub fn delay_exit(&mut self, exit: bool) {
        let command = if exit {
            airbridge_show::DelayCommand::Exit
        } else {
            airbridge_show::DelayCommand::Enter
        };
        self.act(Action::Delay { command });
    }

    /// A speech flag not yet sounded, marking it heard.
    pub fn new_flag(&mut self) -> Option<airbridge_show::SpeechFlag> {
        let f = self.board.flags.back()?;
        if f.seq <= self.flag_heard {
            return None;
        }
        self.flag_heard = f.seq;
        Some(f.clone())
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
        // nothing was sent (other parts may journal their health meanwhile)
        let sent: Vec<_> = rt
            .journal()
            .replay(before + 1)
            .unwrap()
            .map(|e| e.unwrap().event)
            .filter(|e| {
                matches!(
                    e,
                    ShowEvent::LineStateChanged { .. } | ShowEvent::CommandRefused { .. }
                )
            })
            .collect();
        assert!(sent.is_empty(), "nothing was sent: {sent:?}");
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

    #[test]
    fn the_plan_is_edited_through_the_seat_and_the_board_follows() {
        let dir = tempfile::tempdir().unwrap();
        let (mut m, rt) = model(dir.path());
        let before = m.plan();
        assert!(
            !before.segments.is_empty(),
            "the demo rundown seeds the plan"
        );
        let first = before.segments[0].id;
        m.select_segment(first);
        m.plan_form.minutes = "7".into();
        m.plan_form.script = "开场白：欢迎收听".into();
        m.save_segment();
        until(&mut m, "the edit", |m| {
            m.board.plan.as_ref().is_some_and(|p| {
                p.segment(first)
                    .is_some_and(|s| s.minutes == 7 && s.script.contains("欢迎"))
            })
        });
        // a typo is said at once and nothing is sent
        m.plan_form.minutes = "七".into();
        m.save_segment();
        assert!(last_toast(&m).contains("不是分钟数"), "{}", last_toast(&m));
        m.plan_form.new_title = "热线答疑".into();
        m.plan_form.new_minutes = "20".into();
        m.add_segment();
        until(&mut m, "the new segment", |m| {
            m.plan().segments.iter().any(|s| s.title == "热线答疑")
        });
        m.start_segment(first);
        until(&mut m, "the start", |m| {
            m.board.segment_starts.last().map(|s| s.0) == Some(first)
        });
        let running = m
            .board
            .running_order(u64::try_from(m.now_ms()).unwrap())
            .unwrap();
        assert_eq!(running.current, Some(first));
        // a refused edit comes back as a toast
        m.edit_plan(airbridge_show::PlanEdit::RemoveSegment { id: 999 });
        until(&mut m, "the refusal", |m| last_toast(m).contains("串联单"));
        // saved with the show, and printable
        assert_eq!(
            airbridge_show::ShowPlan::load(&rt.plan_file())
                .unwrap()
                .as_ref(),
            m.board.plan.as_ref()
        );
        let page = m.print_plan().unwrap();
        until(&mut m, "the printable page", |_| page.is_file());
        let html = std::fs::read_to_string(page).unwrap();
        assert!(html.contains("热线答疑") && html.contains("开场白"));
    }

    #[test]
    fn a_kb_entry_is_opened_edited_and_its_history_kept_through_the_seat() {
        let dir = tempfile::tempdir().unwrap();
        let config = ConfigSet::embedded_demo().unwrap();
        let paths = StationPaths::under(dir.path(), &config);
        let rt = Runtime::start(RuntimeOptions {
            speech: false,
            ..RuntimeOptions::new(config, paths, Default::default())
        })
        .unwrap();
        let mut m = SeatModel::start(
            Link::Local(rt.clone()),
            Some(Role::Screener),
            Clock::System,
            String::new(),
            || {},
        )
        .unwrap();
        until(&mut m, "the KB", SeatModel::kb_ready);
        // typed pinyin initials, no input method
        m.command(Command::KbSearch {
            query: "sbk".into(),
        });
        until(&mut m, "hits", |m| !m.kb_hits().is_empty());
        let id = m.kb_hits()[0].id.clone();
        m.open_kb_entry(&id);
        until(&mut m, "the entry", |m| {
            m.kb_draft().is_some_and(|d| d.entry.id == id)
        });
        let v = m.kb_draft().unwrap().version.unwrap();
        if let Some(d) = &mut m.kb_draft {
            d.entry.answer = "订正后的答案：带身份证到社保网点补办".into();
        }
        m.save_kb_entry();
        until(&mut m, "the new version", |m| {
            m.kb_draft()
                .is_some_and(|d| d.version == Some(v + 1) && d.history.len() as u32 == v + 1)
        });
        // every seat searches the edit at once
        m.command(Command::KbSearch {
            query: "订正后的答案".into(),
        });
        until(&mut m, "the edit in search", |m| {
            m.kb_hits().first().is_some_and(|h| h.id == id)
        });
        // the review queue comes back
        m.refresh_kb_review();
        until(&mut m, "the review queue", |m| m.kb_review.is_some());
        rt.stop();
    }

    #[test]
    fn a_guide_is_compiled_edited_and_exported_through_the_seat() {
        let dir = tempfile::tempdir().unwrap();
        let (mut m, rt) = model(dir.path());
        let msg = ShowEvent::AudienceMessage {
            source: "wechat".into(),
            id: "wx:9".into(),
            kind: airbridge_show::MessageKind::Question,
            author: "听众".into(),
            text: "退休了公积金怎么提取".into(),
            cluster: None,
            test: false,
            moderation: airbridge_show::Moderation::default(),
            author_key: String::new(),
        };
        rt.journal().append("feeds", msg).unwrap();
        rt.execute(
            "backoffice",
            Action::AnswerInWriting {
                item: ItemRef::Message("wx:9".into()),
                text: "可一次性提取。所需材料：身份证、退休证明。".into(),
            },
        )
        .unwrap();
        m.build_guide();
        until(&mut m, "the guide", |m| {
            m.guide.as_ref().is_some_and(|g| g.len() == 1)
        });
        // the producer edits the wording before it is published
        if let Some(g) = &mut m.guide {
            g.topics[0].items[0].question = "退休后住房公积金如何提取？".into();
        }
        let files = m.export_guide();
        assert_eq!(files.len(), 3, "{}", last_toast(&m));
        until(&mut m, "the guide's files", |m| {
            last_toast(m).contains("办事攻略已写入")
        });
        let html = std::fs::read_to_string(&files[0]).unwrap();
        assert!(html.contains("退休后住房公积金如何提取？"));
        assert!(html.contains("<li>退休证明</li>"));
        assert!(std::fs::read(&files[1]).unwrap().starts_with(b"PK"));
    }
}
