//! The console window: a thin egui layer over the [`ShowBoard`] projection.
//! It draws the board and turns clicks and keys into journal commands; the
//! views themselves live in [`crate::views`].

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_kb::Hit;
use airbridge_runtime::{Action, LineInfo, MixInput, Runtime};
use airbridge_show::{CallerNote, ItemRef, LineNo, LineState, Projection, ShowBoard, ShowEvent};
use egui::{Color32, RichText};

use crate::backend::{Backend, Command, KbView, QueueKind, TicketDetail, TicketSnapshot, Update};
use crate::fonts::CjkFont;
use crate::live::Live;

/// Who is sitting at this seat; each sees what the job needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Host,
    Screener,
    BackOffice,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Host, Role::Screener, Role::BackOffice];

    pub fn label(self) -> &'static str {
        match self {
            Role::Host => "主持人",
            Role::Screener => "导播 / 接线",
            Role::BackOffice => "后台",
        }
    }

    pub fn seat(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::Screener => "screener",
            Role::BackOffice => "backoffice",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "host" => Some(Role::Host),
            "screener" | "producer" => Some(Role::Screener),
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

/// A pending `--screenshot-after` request and its outcome.
#[derive(Debug)]
pub struct ScreenshotPlan {
    pub after: Duration,
    pub path: PathBuf,
    pub requested: bool,
    /// Set by the screenshot callback: `Ok(())` or the error text.
    pub outcome: Arc<Mutex<Option<Result<(), String>>>>,
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

/// Everything the app needs to start; built by the CLI (or a test).
#[derive(Debug)]
pub struct Startup {
    /// The show: the runtime in this process (journal, ticket desk,
    /// knowledge base, engine; the one place that decides), or a runtime on
    /// another PC.
    pub link: Link,
    pub role: Option<Role>,
    pub model_status: String,
    pub screenshot: Option<ScreenshotPlan>,
    pub clock: Clock,
    /// Live audio meters, when the show has an audio engine.
    pub live: Option<Live>,
    /// Where call recordings are (`call-<seq>-line<N>.wav`), for playback
    /// in the back office.
    pub recordings: Option<PathBuf>,
    /// A notice shown above every seat (the built-in demo station says how
    /// to make the station's own).
    pub notice: Option<String>,
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

pub struct ConsoleApp {
    pub(crate) config: ConfigSet,
    pub(crate) link: Link,
    /// The studio's lines (kind per line), for the line controls.
    pub(crate) line_info: Vec<LineInfo>,
    pub(crate) notice: Option<String>,
    /// Frames drawn since the instant (for the frame-rate log line).
    pub(crate) frames: (u64, Instant),
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
    pub(crate) focus_note: bool,
    pub(crate) focus_search: bool,
    pub(crate) focus_message: bool,
    /// Index into the audience clusters (screener) or pinned items (host).
    pub(crate) selected_item: usize,
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
    pub(crate) font: CjkFont,
    pub(crate) glyphs_ok: Option<bool>,
    pub(crate) show_help: bool,
    pub(crate) screenshot: Option<ScreenshotPlan>,
    pub(crate) started: Instant,
    pub(crate) live: Option<Live>,
    pub(crate) recordings: Option<PathBuf>,
    pub(crate) playback: crate::playback::Playback,
}

impl std::fmt::Debug for ConsoleApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleApp")
            .field("role", &self.role)
            .field("last_seq", &self.board.last_seq)
            .finish()
    }
}

/// Events applied per frame at most, so a burst never freezes a frame.
const EVENTS_PER_FRAME: usize = 2000;

impl ConsoleApp {
    /// Sets up fonts and style on `ctx` and starts the backend threads.
    pub fn new(ctx: &egui::Context, startup: Startup) -> anyhow::Result<Self> {
        let font = crate::fonts::install(ctx);
        style(ctx);
        let repaint_ctx = ctx.clone();
        Self::with_font(startup, font, move || repaint_ctx.request_repaint())
    }

    /// Starts the backend threads for a context whose fonts and style are
    /// already set up (`fonts::install`, [`style`]); `repaint` wakes the UI.
    pub fn with_font(
        startup: Startup,
        font: CjkFont,
        repaint: impl Fn() + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        let (backend, journal_desc, config, line_info) = match &startup.link {
            Link::Local(rt) => (
                Backend::start(rt, startup.clock, repaint)?,
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
        let role = match startup.link.fixed_role() {
            Some(r) => Some(crate::remote::view_of(r)),
            None => startup.role,
        };
        Ok(Self {
            journal_desc,
            config,
            line_info,
            link: startup.link,
            notice: startup.notice,
            confirm_close: None,
            frames: (0, Instant::now()),
            faders: std::collections::BTreeMap::new(),
            backend,
            board: ShowBoard::default(),
            role,
            clock: startup.clock,
            selected_line: 1,
            producer_draft: String::new(),
            note: NoteDraft::default(),
            focus_note: false,
            focus_search: false,
            focus_message: false,
            selected_item: 0,
            kb: None,
            kb_query: String::new(),
            kb_results: None,
            tickets: None,
            detail: None,
            bo_queue: QueueKind::New,
            forms: TicketForms::default(),
            last_refresh: None,
            toasts: VecDeque::new(),
            model_status: startup.model_status,
            font,
            glyphs_ok: None,
            show_help: false,
            screenshot: startup.screenshot,
            started: Instant::now(),
            live: startup.live,
            recordings: startup.recordings,
            playback: crate::playback::Playback::default(),
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

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub(crate) fn toast(&mut self, text: impl Into<String>) {
        self.toasts.push_back((Instant::now(), text.into()));
        while self.toasts.len() > 5 {
            self.toasts.pop_front();
        }
    }

    pub(crate) fn seat(&self) -> &'static str {
        self.role.map_or("console", Role::seat)
    }

    /// Whether this seat may switch views (on this PC; a remote seat's
    /// token decides its view).
    pub(crate) fn may_switch_role(&self) -> bool {
        self.link.fixed_role().is_none()
    }

    /// Asks the runtime to do something as this seat (it decides, and
    /// journals; a refusal comes back as a toast).
    pub(crate) fn act(&mut self, action: Action) {
        let cmd = Command::Act {
            seat: self.seat().to_owned(),
            action,
        };
        self.command(cmd);
    }

    /// The journal events a seat asks for, as runtime actions.
    pub(crate) fn send(&mut self, event: ShowEvent) {
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
    pub(crate) fn set_mix(&mut self, input: MixInput, fader: f32, mute: bool, commit: bool) {
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
    pub(crate) fn mix_of(&self, input: MixInput) -> (f32, bool) {
        let name = input.name();
        self.faders
            .get(&name)
            .or_else(|| self.board.mix.get(&name))
            .copied()
            .unwrap_or((1.0, false))
    }

    pub(crate) fn command(&mut self, cmd: Command) {
        if let Err(msg) = self.backend.send(cmd) {
            self.toast(msg);
        }
    }

    fn pump(&mut self) {
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

    /// Hands an item to the back office: one action creates the ticket,
    /// pre-filled from the item's context on the board.
    pub(crate) fn take_offline(&mut self, item: ItemRef) {
        let ticket = airbridge_tickets::prefill::from_item(
            &self.board,
            &item,
            chrono::DateTime::from_timestamp_millis(self.now_ms()).unwrap_or_else(chrono::Utc::now),
        )
        .map(Box::new);
        self.act(Action::Offline { item, ticket });
    }

    /// Asks the runtime to move a line. The view checks first so the key
    /// gives its reason at once; the runtime decides either way.
    pub(crate) fn move_line(&mut self, line: LineNo, to: LineState) {
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
    pub(crate) fn ring_line(&mut self, line: LineNo) {
        if self.board.line_state(line) != LineState::Idle {
            self.toast(format!("线路 {line} 正忙，先清线"));
            return;
        }
        self.act(Action::Ring { line, caller: None });
    }

    /// What the studio says line `line` is (`hybrid`, `rtp`, `file`).
    pub(crate) fn line_kind(&self, line: LineNo) -> Option<&str> {
        self.line_info
            .iter()
            .find(|l| l.number == line)
            .map(|l| l.kind.as_str())
    }

    /// Why a line may not go on air now (privacy), if it may not.
    pub(crate) fn on_air_refusal(&self, line: LineNo) -> Option<&'static str> {
        let view = self.board.lines.get(&line)?;
        view.note
            .as_ref()
            .filter(|n| n.private)
            .map(|_| "涉及个人隐私，不能上直播（转线下处理）")
    }

    fn keys(&mut self, ctx: &egui::Context) {
        use egui::{Key, Modifiers};
        let pressed = |k: Key| ctx.input_mut(|i| i.consume_key(Modifiers::NONE, k));
        let ctrl = |k: Key| ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, k));
        if pressed(Key::F1) {
            self.show_help = !self.show_help;
        }
        if pressed(Key::Escape) {
            self.show_help = false;
        }
        for (k, role) in [
            (Key::Num1, Role::Host),
            (Key::Num2, Role::Screener),
            (Key::Num3, Role::BackOffice),
        ] {
            if ctrl(k) && self.may_switch_role() {
                self.role = Some(role);
            }
        }
        // Emergency phrases: one key away in every view.
        let phrases: Vec<(String, String)> = self
            .config
            .show
            .emergency_phrases
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (key, phrase) in phrases {
            if let Some(k) = Key::from_name(&key)
                && pressed(k)
            {
                self.send(ShowEvent::ProducerMessage {
                    text: format!("【应急话术】{phrase}"),
                });
            }
        }
        match self.role {
            Some(Role::Screener) => self.screener_keys(ctx),
            Some(Role::Host) => self.host_keys(ctx),
            Some(Role::BackOffice) => self.backoffice_keys(ctx),
            None => {}
        }
    }

    fn screenshot_step(&mut self, ctx: &egui::Context) {
        let Some(plan) = &mut self.screenshot else {
            return;
        };
        if self.glyphs_ok.is_none() {
            let ok = ctx
                .fonts_mut(|f| f.has_glyphs(&egui::FontId::proportional(16.0), "空中桥梁导播后台"));
            self.glyphs_ok = Some(ok);
        }
        if !plan.requested && self.started.elapsed() >= plan.after {
            plan.requested = true;
            // what this frame draws, for the smoke run to compare seats
            let lines: Vec<String> = self
                .board
                .lines
                .iter()
                .map(|(n, v)| {
                    format!(
                        "{n}={}",
                        serde_json::to_value(v.state)
                            .map(|s| s.as_str().unwrap_or_default().to_owned())
                            .unwrap_or_default()
                    )
                })
                .collect();
            tracing::info!(
                "screenshot of board #{}: lines {}",
                self.board.last_seq,
                lines.join(" ")
            );
            let path = plan.path.clone();
            let outcome = Arc::clone(&plan.outcome);
            let glyphs_ok = self.glyphs_ok == Some(true);
            let repaint = ctx.clone();
            ctx.request_screenshot(move |image| {
                let result = if glyphs_ok {
                    save_png(&path, &image)
                } else {
                    Err(
                        "the loaded fonts have no Chinese glyphs (install fonts-noto-cjk)"
                            .to_owned(),
                    )
                };
                if let Ok(mut slot) = outcome.lock() {
                    *slot = Some(result);
                }
                repaint.request_repaint();
            });
        }
        let done = plan.outcome.lock().map(|o| o.is_some()).unwrap_or(true);
        if done {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        } else if plan.requested {
            // the screenshot comes with a coming frame
            ctx.request_repaint_after(Duration::from_millis(100));
        } else {
            // wake for it when it is due, not every 100 ms before (frames
            // cost CPU that the show needs)
            ctx.request_repaint_after(plan.after.saturating_sub(self.started.elapsed()));
        }
    }

    /// One frame of the whole window (also what the tests drive).
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.frames.0 += 1;
        if self.frames.1.elapsed() >= Duration::from_secs(5) {
            tracing::debug!(
                target: "airbridge_console::timing",
                fps = self.frames.0 as f64 / self.frames.1.elapsed().as_secs_f64(),
                "frames drawn"
            );
            self.frames = (0, Instant::now());
        }
        self.pump();
        if let Some(live) = &mut self.live {
            live.poll();
        }
        self.keys(&ctx);
        if self.role == Some(Role::BackOffice) {
            let stale = self
                .last_refresh
                .is_none_or(|t| t.elapsed() > Duration::from_secs(5));
            if stale {
                self.last_refresh = Some(Instant::now());
                self.command(Command::RefreshTickets);
            }
        }
        self.top_bar_ui(ui);
        self.status_bar_ui(ui);
        egui::CentralPanel::default().show(ui, |ui| match self.role {
            None => self.role_picker_ui(ui),
            Some(Role::Host) => self.host_ui(ui),
            Some(Role::Screener) => self.screener_ui(ui),
            Some(Role::BackOffice) => self.backoffice_ui(ui),
        });
        if self.show_help {
            self.help_ui(&ctx);
        }
        self.screenshot_step(&ctx);
        // Clocks, timers and meters tick even without events.
        // Meters at 10 frames a second where they are drawn (the screener
        // seat): smooth enough to read. Elsewhere the clocks tick once a
        // second and events repaint at once — on a software-rendered display
        // every frame is CPU that speech-to-text needs.
        let tick = if self.live.is_some() && self.role == Some(Role::Screener) {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(1)
        };
        ctx.request_repaint_after(tick);
    }
}

/// `sqlite:/long/path/demo.db` → `demo.db` for the status bar.
fn short_store_name(desc: &str) -> String {
    let path = desc.split_once(':').map_or(desc, |(_, p)| p);
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| desc.to_owned(), |n| n.to_string_lossy().into_owned())
}

fn save_png(path: &std::path::Path, image: &egui::ColorImage) -> Result<(), String> {
    let [w, h] = image.size;
    let mut rgba = Vec::with_capacity(w * h * 4);
    for px in &image.pixels {
        rgba.extend_from_slice(&px.to_array());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    image::save_buffer(
        path,
        &rgba,
        w as u32,
        h as u32,
        image::ExtendedColorType::Rgba8,
    )
    .map_err(|e| format!("{}: {e}", path.display()))
}

/// The console's look: dark, large type, readable from two metres.
pub fn style(ctx: &egui::Context) {
    ctx.set_visuals(egui::Visuals::dark());
    ctx.all_styles_mut(|s| {
        use egui::{FontId, TextStyle};
        s.text_styles
            .insert(TextStyle::Body, FontId::proportional(17.0));
        s.text_styles
            .insert(TextStyle::Button, FontId::proportional(17.0));
        s.text_styles
            .insert(TextStyle::Heading, FontId::proportional(24.0));
        s.text_styles
            .insert(TextStyle::Small, FontId::proportional(13.0));
        s.text_styles
            .insert(TextStyle::Monospace, FontId::monospace(16.0));
        s.spacing.item_spacing = egui::vec2(10.0, 6.0);
    });
}

pub(crate) fn transition_zh(e: &airbridge_show::TransitionError) -> String {
    format!(
        "不能从“{}”转为“{}”（{}）",
        e.from.label_zh(),
        e.to.label_zh(),
        e.reason
    )
}

pub(crate) fn state_color(s: LineState) -> Color32 {
    match s {
        LineState::Idle => Color32::from_gray(120),
        LineState::Ringing => Color32::from_rgb(240, 200, 60),
        LineState::Screening => Color32::from_rgb(90, 170, 255),
        LineState::Hold => Color32::from_rgb(180, 140, 255),
        LineState::Ready => Color32::from_rgb(80, 220, 120),
        LineState::OnAir => Color32::from_rgb(255, 70, 70),
        LineState::Ended => Color32::from_gray(90),
    }
}

pub(crate) fn fmt_secs(secs: i64) -> String {
    let secs = secs.max(0);
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

impl eframe::App for ConsoleApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
    }
}

impl ConsoleApp {
    fn top_bar_ui(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("top").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new("AirBridge 空中桥梁").strong().size(20.0));
                ui.separator();
                let show = &self.config.show;
                let freq = show.frequency.as_deref().unwrap_or("");
                ui.label(RichText::new(format!("{} {freq}", show.name)).size(18.0));
                ui.separator();
                if let Link::Remote(r) = &self.link {
                    ui.label(
                        RichText::new(format!(
                            "{} · {}",
                            r.welcome.seat,
                            r.welcome.role.label_zh()
                        ))
                        .size(18.0),
                    );
                } else {
                    for role in Role::ALL {
                        if ui
                            .selectable_label(self.role == Some(role), role.label())
                            .clicked()
                        {
                            self.role = Some(role);
                        }
                    }
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let tz = self.config.station.time_zone;
                    let now_ms = self.now_ms();
                    let now = chrono::DateTime::from_timestamp_millis(now_ms)
                        .unwrap_or_default()
                        .with_timezone(&tz);
                    ui.label(
                        RichText::new(now.format("%H:%M:%S").to_string())
                            .monospace()
                            .size(20.0),
                    );
                    if let Some(opened) = self.board.opened_at_ms {
                        let confirming = self
                            .confirm_close
                            .is_some_and(|t| t.elapsed() < Duration::from_secs(4));
                        let label = if confirming {
                            "再按一次确认结束"
                        } else {
                            "结束 ■"
                        };
                        if ui
                            .button(label)
                            .on_hover_text("结束节目（按两次）")
                            .clicked()
                        {
                            if confirming {
                                self.confirm_close = None;
                                self.act(Action::Show { open: false });
                            } else {
                                self.confirm_close = Some(Instant::now());
                            }
                        }
                        ui.label(
                            RichText::new(format!("开播 {}", fmt_secs((now_ms - opened) / 1000)))
                                .color(Color32::from_rgb(255, 90, 90)),
                        );
                    } else {
                        if ui
                            .button(RichText::new("开播 ▶").color(Color32::from_rgb(255, 120, 120)))
                            .on_hover_text("节目开始：开播时间起算")
                            .clicked()
                        {
                            self.act(Action::Show { open: true });
                        }
                        ui.label(RichText::new("未开播").weak());
                    }
                    ui.label(RichText::new("F1 帮助").weak());
                });
            });
            if let Some(notice) = &self.notice {
                ui.label(RichText::new(notice).color(Color32::from_rgb(255, 210, 120)));
            }
        });
    }

    fn status_bar_ui(&mut self, ui: &mut egui::Ui) {
        egui::Panel::bottom("status").show(ui, |ui| {
            for (_, t) in &self.toasts {
                ui.label(RichText::new(t).color(Color32::from_rgb(255, 180, 80)));
            }
            if let Link::Remote(r) = &self.link {
                let (text, ok) = r.status_zh();
                let color = if ok {
                    Color32::from_rgb(120, 220, 140)
                } else {
                    Color32::from_rgb(255, 120, 80)
                };
                ui.label(RichText::new(format!("● {text}")).color(color));
            }
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(format!("日志 #{}", self.board.last_seq)).small());
                ui.label(RichText::new(&self.journal_desc).small().weak());
                ui.separator();
                ui.label(
                    RichText::new(format!("配置：{}", self.config.origin))
                        .small()
                        .weak(),
                );
                if !self.model_status.is_empty() {
                    ui.separator();
                    ui.label(RichText::new(&self.model_status).small().weak());
                }
                if let Some(kb) = &self.kb {
                    ui.separator();
                    ui.label(RichText::new(&kb.describe).small().weak());
                }
                if let CjkFont::Missing { .. } = self.font {
                    ui.label(
                        RichText::new(self.font.describe())
                            .small()
                            .color(Color32::RED),
                    );
                }
            });
        });
    }

    fn role_picker_ui(&mut self, ui: &mut egui::Ui) {
        ui.vertical_centered(|ui| {
            ui.add_space(60.0);
            ui.heading(format!("欢迎使用 AirBridge · {}", self.config.station.name));
            ui.add_space(12.0);
            ui.label("请选择本机座席（之后可在顶部切换，快捷键 Ctrl+1/2/3）");
            ui.add_space(24.0);
            for (i, role) in Role::ALL.into_iter().enumerate() {
                let text = RichText::new(format!("{}  (Ctrl+{})", role.label(), i + 1)).size(26.0);
                if ui
                    .add_sized([320.0, 56.0], egui::Button::new(text))
                    .clicked()
                {
                    self.role = Some(role);
                }
                ui.add_space(8.0);
            }
        });
    }
}
