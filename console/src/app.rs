//! The console window: a thin egui layer over the [`ShowBoard`] projection.
//! It draws the board and turns clicks and keys into journal commands.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_show::{ItemRef, Journal, LineNo, LineState, Projection, ShowBoard, ShowEvent};
use egui::{Color32, RichText};

use crate::backend::{Backend, Command};
use crate::fonts::CjkFont;

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

/// A pending `--screenshot-after` request and its outcome.
#[derive(Debug)]
pub struct ScreenshotPlan {
    pub after: Duration,
    pub path: PathBuf,
    pub requested: bool,
    /// Set by the screenshot callback: `Ok(())` or the error text.
    pub outcome: Arc<Mutex<Option<Result<(), String>>>>,
}

/// Everything the app needs to start; built by the CLI.
#[derive(Debug)]
pub struct Startup {
    pub config: ConfigSet,
    pub journal: Journal,
    /// `None` when the ticket store could not be opened (the show goes on).
    pub desk: Option<airbridge_tickets::TicketDesk>,
    pub role: Option<Role>,
    pub model_status: String,
    pub screenshot: Option<ScreenshotPlan>,
}

pub struct ConsoleApp {
    config: ConfigSet,
    journal_desc: String,
    backend: Backend,
    board: ShowBoard,
    role: Option<Role>,
    selected_line: LineNo,
    producer_draft: String,
    toasts: VecDeque<(Instant, String)>,
    model_status: String,
    font: CjkFont,
    glyphs_ok: Option<bool>,
    show_help: bool,
    screenshot: Option<ScreenshotPlan>,
    started: Instant,
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
    pub fn new(ctx: &egui::Context, startup: Startup) -> anyhow::Result<Self> {
        let font = crate::fonts::install(ctx);
        style(ctx);
        let repaint_ctx = ctx.clone();
        let backend = Backend::start(&startup.journal, startup.desk, move || {
            repaint_ctx.request_repaint()
        })?;
        Ok(Self {
            journal_desc: startup.journal.describe(),
            config: startup.config,
            backend,
            board: ShowBoard::default(),
            role: startup.role,
            selected_line: 1,
            producer_draft: String::new(),
            toasts: VecDeque::new(),
            model_status: startup.model_status,
            font,
            glyphs_ok: None,
            show_help: false,
            screenshot: startup.screenshot,
            started: Instant::now(),
        })
    }

    fn toast(&mut self, text: impl Into<String>) {
        self.toasts.push_back((Instant::now(), text.into()));
        while self.toasts.len() > 5 {
            self.toasts.pop_front();
        }
    }

    fn seat(&self) -> &'static str {
        self.role.map_or("console", Role::seat)
    }

    fn send(&mut self, event: ShowEvent) {
        let cmd = Command::Append {
            seat: self.seat().to_owned(),
            event,
        };
        if let Err(msg) = self.backend.send(cmd) {
            self.toast(msg);
        }
    }

    fn pump(&mut self) {
        for _ in 0..EVENTS_PER_FRAME {
            match self.backend.events.try_recv() {
                Ok(ev) => self.board.apply(&ev),
                Err(_) => break,
            }
        }
        while let Ok(problem) = self.backend.problems.try_recv() {
            self.toast(problem);
        }
        self.toasts
            .retain(|(t, _)| t.elapsed() < Duration::from_secs(8));
    }

    /// Hands an item to the back office: one action creates the ticket,
    /// pre-filled from the item's context on the board.
    fn take_offline(&mut self, item: ItemRef) {
        let ticket = airbridge_tickets::prefill::from_item(&self.board, &item, chrono::Utc::now())
            .map(Box::new);
        let cmd = Command::TakeOffline {
            seat: self.seat().to_owned(),
            item,
            ticket,
        };
        if let Err(msg) = self.backend.send(cmd) {
            self.toast(msg);
        }
    }

    fn move_line(&mut self, line: LineNo, to: LineState) {
        let from = self.board.line_state(line);
        match from.check(to) {
            Ok(()) => self.send(ShowEvent::LineStateChanged { line, from, to }),
            Err(e) => self.toast(format!("线路 {line}：{}", transition_zh(&e))),
        }
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
            if ctrl(k) {
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
        if self.role == Some(Role::Screener) && !ctx.egui_wants_keyboard_input() {
            let lines = self.config.show.lines;
            for (n, k) in [
                Key::Num1,
                Key::Num2,
                Key::Num3,
                Key::Num4,
                Key::Num5,
                Key::Num6,
                Key::Num7,
                Key::Num8,
            ]
            .into_iter()
            .enumerate()
            {
                if (n as u8) < lines && pressed(k) {
                    self.selected_line = n as u8 + 1;
                }
            }
            let line = self.selected_line;
            for (k, to) in [
                (Key::A, LineState::Screening),
                (Key::H, LineState::Hold),
                (Key::R, LineState::Ready),
                (Key::O, LineState::OnAir),
                (Key::D, LineState::Ended),
                (Key::C, LineState::Idle),
            ] {
                if pressed(k) {
                    self.move_line(line, to);
                }
            }
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
        } else {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }
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

fn style(ctx: &egui::Context) {
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

fn transition_zh(e: &airbridge_show::TransitionError) -> String {
    format!(
        "不能从“{}”转为“{}”（{}）",
        e.from.label_zh(),
        e.to.label_zh(),
        e.reason
    )
}

fn state_color(s: LineState) -> Color32 {
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

fn fmt_secs(secs: i64) -> String {
    let secs = secs.max(0);
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl eframe::App for ConsoleApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.pump();
        self.keys(&ctx);
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
        // Clocks and timers tick once a second even without events.
        ctx.request_repaint_after(Duration::from_secs(1));
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
                for role in Role::ALL {
                    if ui
                        .selectable_label(self.role == Some(role), role.label())
                        .clicked()
                    {
                        self.role = Some(role);
                    }
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let tz = self.config.station.time_zone;
                    let now = chrono::Utc::now().with_timezone(&tz);
                    ui.label(
                        RichText::new(now.format("%H:%M:%S").to_string())
                            .monospace()
                            .size(20.0),
                    );
                    if let Some(opened) = self.board.opened_at_ms {
                        ui.label(
                            RichText::new(format!("开播 {}", fmt_secs((now_ms() - opened) / 1000)))
                                .color(Color32::from_rgb(255, 90, 90)),
                        );
                    } else {
                        ui.label(RichText::new("未开播").weak());
                    }
                    ui.label(RichText::new("F1 帮助").weak());
                });
            });
        });
    }

    fn status_bar_ui(&mut self, ui: &mut egui::Ui) {
        egui::Panel::bottom("status").show(ui, |ui| {
            for (_, t) in &self.toasts {
                ui.label(RichText::new(t).color(Color32::from_rgb(255, 180, 80)));
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
                ui.separator();
                ui.label(RichText::new(&self.model_status).small().weak());
                if let CjkFont::Missing { .. } = self.font {
                    ui.label(
                        RichText::new(self.font.describe())
                            .small()
                            .color(Color32::RED),
                    );
                }
                for (component, (ok, detail)) in &self.board.health {
                    let color = if *ok {
                        Color32::from_rgb(80, 200, 120)
                    } else {
                        Color32::RED
                    };
                    ui.label(
                        RichText::new(format!("● {component} {detail}"))
                            .small()
                            .color(color),
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

    fn host_ui(&mut self, ui: &mut egui::Ui) {
        let big = 30.0;
        ui.columns(2, |cols| {
            let ui = &mut cols[0];
            ui.heading("直播来电");
            let mut offline = None;
            match self.board.on_air() {
                Some((line, view)) => {
                    let note = view.note.clone().unwrap_or_default();
                    ui.label(
                        RichText::new(format!(
                            "线路 {line} · {} · {}",
                            view.caller_masked, note.district
                        ))
                        .size(big)
                        .color(state_color(LineState::OnAir)),
                    );
                    ui.label(RichText::new(format!("话题：{}", note.topic)).size(24.0));
                    ui.label(
                        RichText::new(format!(
                            "通话 {}",
                            fmt_secs((now_ms() - view.since_ms) / 1000)
                        ))
                        .size(22.0),
                    );
                    if ui
                        .button(RichText::new("转线下处理（建工单）").size(20.0))
                        .clicked()
                    {
                        offline = Some(ItemRef::Call(view.call_seq));
                    }
                    ui.separator();
                    ui.heading("实时转写");
                    for t in view.transcript.iter().rev().take(6).rev() {
                        let text = RichText::new(&t.text).size(22.0);
                        ui.label(if t.is_final {
                            text
                        } else {
                            text.italics().weak()
                        });
                    }
                }
                None => {
                    ui.label(RichText::new("当前没有来电在直播").size(big).weak());
                }
            }
            if let Some(item) = offline {
                self.take_offline(item);
            }
            ui.separator();
            ui.heading("知识库参考答案");
            match &self.board.suggestions {
                Some(s) if !s.hits.is_empty() => {
                    for (i, hit) in s.hits.iter().take(3).enumerate() {
                        ui.label(RichText::new(format!("{}. {}", i + 1, hit.question)).size(22.0));
                    }
                }
                _ => {
                    ui.label(RichText::new("暂无建议").weak());
                }
            }

            let ui = &mut cols[1];
            ui.heading("置顶观众提问");
            if self.board.pinned.is_empty() {
                ui.label(RichText::new("暂无置顶问题").weak());
            }
            for item in self.board.pinned.clone() {
                let (text, count) = self.item_text(&item);
                ui.horizontal(|ui| {
                    ui.label(RichText::new(format!("×{count}")).size(20.0).strong());
                    ui.label(RichText::new(text).size(22.0));
                });
                ui.horizontal(|ui| {
                    if ui.button("已在节目中回答").clicked() {
                        self.send(ShowEvent::AnsweredOnAir { item: item.clone() });
                    }
                    if ui.button("转线下处理").clicked() {
                        self.take_offline(item.clone());
                    }
                });
            }
            ui.separator();
            ui.heading("导播消息");
            if self.board.producer_messages.is_empty() {
                ui.label(RichText::new("暂无消息").weak());
            }
            for (_, text) in self.board.producer_messages.iter().rev().take(4) {
                ui.label(
                    RichText::new(text)
                        .size(20.0)
                        .color(Color32::from_rgb(255, 210, 120)),
                );
            }
            ui.separator();
            self.rundown_ui(ui);
        });
    }

    fn rundown_ui(&self, ui: &mut egui::Ui) {
        ui.heading("节目串联单");
        let elapsed_min = self.board.opened_at_ms.map(|t| (now_ms() - t) / 60_000);
        let mut start = 0i64;
        for item in &self.config.show.rundown {
            let end = start + i64::from(item.minutes);
            let current = elapsed_min.is_some_and(|m| m >= start && m < end);
            let text = RichText::new(format!("{:>3}′ {}", item.minutes, item.title));
            ui.label(if current {
                text.strong().color(Color32::from_rgb(255, 90, 90))
            } else {
                text
            });
            start = end;
        }
    }

    fn item_text(&self, item: &ItemRef) -> (String, u64) {
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
            ItemRef::Call(seq) => (format!("来电 #{seq}"), 1),
        }
    }

    fn screener_ui(&mut self, ui: &mut egui::Ui) {
        ui.columns(2, |cols| {
            let ui = &mut cols[0];
            ui.heading("线路");
            let now = now_ms();
            egui::Grid::new("lines")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    for h in ["线路", "状态", "来电", "等候", "话题"] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                    for line in 1..=self.config.show.lines {
                        let view = self.board.lines.get(&line).cloned().unwrap_or_default();
                        let selected = self.selected_line == line;
                        if ui.selectable_label(selected, format!("{line}")).clicked() {
                            self.selected_line = line;
                        }
                        ui.label(
                            RichText::new(view.state.label_zh())
                                .color(state_color(view.state))
                                .strong(),
                        );
                        ui.label(if view.state == LineState::Idle {
                            "—".to_owned()
                        } else {
                            view.caller_masked.clone()
                        });
                        ui.label(if view.state == LineState::Idle {
                            String::new()
                        } else {
                            fmt_secs((now - view.since_ms) / 1000)
                        });
                        ui.label(
                            view.note
                                .as_ref()
                                .map(|n| n.topic.clone())
                                .unwrap_or_default(),
                        );
                        ui.end_row();
                    }
                });
            ui.add_space(6.0);
            let line = self.selected_line;
            let state = self.board.line_state(line);
            ui.label(format!("线路 {line}：{}", state.label_zh()));
            ui.horizontal_wrapped(|ui| {
                for (label, to) in [
                    ("接听筛选 (A)", LineState::Screening),
                    ("等待 (H)", LineState::Hold),
                    ("待播 (R)", LineState::Ready),
                    ("上直播 (O)", LineState::OnAir),
                    ("挂断 (D)", LineState::Ended),
                    ("清线 (C)", LineState::Idle),
                ] {
                    if ui
                        .add_enabled(state.check(to).is_ok(), egui::Button::new(label))
                        .clicked()
                    {
                        self.move_line(line, to);
                    }
                }
            });
            ui.separator();
            ui.heading("发给主持人");
            ui.horizontal(|ui| {
                let edit = ui.add(
                    egui::TextEdit::singleline(&mut self.producer_draft).hint_text("私信内容…"),
                );
                let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if (ui.button("发送").clicked() || enter) && !self.producer_draft.trim().is_empty()
                {
                    let text = std::mem::take(&mut self.producer_draft);
                    self.send(ShowEvent::ProducerMessage { text });
                }
            });
            ui.heading("应急话术");
            for (key, phrase) in &self.config.show.emergency_phrases {
                ui.label(format!("{key}  {phrase}"));
            }

            let ui = &mut cols[1];
            ui.heading(format!(
                "观众提问（共 {} 条消息）",
                self.board.audience.total
            ));
            let mut clusters: Vec<_> = self
                .board
                .audience
                .clusters
                .iter()
                .map(|(id, c)| (*id, c.clone()))
                .collect();
            clusters.sort_by_key(|c| std::cmp::Reverse(c.1.count));
            if clusters.is_empty() {
                ui.label(RichText::new("暂无观众提问").weak());
            }
            egui::ScrollArea::vertical()
                .id_salt("clusters")
                .show(ui, |ui| {
                    for (id, c) in clusters.into_iter().take(50) {
                        let item = ItemRef::Cluster(id);
                        let done = self.board.answered.contains(&item);
                        ui.horizontal(|ui| {
                            ui.label(RichText::new(format!("×{}", c.count)).strong());
                            let text = RichText::new(&c.example);
                            ui.label(if done {
                                text.strikethrough().weak()
                            } else {
                                text
                            });
                        });
                        ui.horizontal(|ui| {
                            let pinned = self.board.pinned.contains(&item);
                            if ui
                                .add_enabled(!pinned && !done, egui::Button::new("置顶"))
                                .clicked()
                            {
                                self.send(ShowEvent::Pinned { item: item.clone() });
                            }
                            if ui.add_enabled(!done, egui::Button::new("已回答")).clicked() {
                                self.send(ShowEvent::AnsweredOnAir { item: item.clone() });
                            }
                            if ui.button("转线下").clicked() {
                                self.take_offline(item.clone());
                            }
                        });
                    }
                });
        });
    }

    fn backoffice_ui(&mut self, ui: &mut egui::Ui) {
        ui.columns(2, |cols| {
            let ui = &mut cols[0];
            ui.heading(format!(
                "待转工单（节目中转线下 {} 项）",
                self.board.offline.len()
            ));
            if self.board.offline.is_empty() {
                ui.label(RichText::new("暂无需要线下处理的问题").weak());
            }
            let tz = self.config.station.time_zone;
            for item in self.board.offline.iter().rev().take(30) {
                let (text, count) = self.item_text(&item.item);
                let at = chrono::DateTime::from_timestamp_millis(item.at_ms)
                    .map(|t| t.with_timezone(&tz).format("%H:%M").to_string())
                    .unwrap_or_default();
                let ticket = item
                    .ticket_id
                    .clone()
                    .unwrap_or_else(|| "未建单".to_owned());
                ui.label(format!("{at}  [{ticket}]  ×{count}  {text}"));
            }
            let ui = &mut cols[1];
            ui.heading("本场统计");
            egui::Grid::new("stats")
                .num_columns(2)
                .striped(true)
                .show(ui, |ui| {
                    ui.label("观众消息");
                    ui.label(self.board.audience.total.to_string());
                    ui.end_row();
                    for (source, n) in &self.board.audience.by_source {
                        ui.label(format!("  来自 {source}"));
                        ui.label(n.to_string());
                        ui.end_row();
                    }
                    ui.label("问题组");
                    ui.label(self.board.audience.clusters.len().to_string());
                    ui.end_row();
                    ui.label("节目中已回答");
                    ui.label(self.board.answered.len().to_string());
                    ui.end_row();
                    ui.label("转线下");
                    ui.label(self.board.offline.len().to_string());
                    ui.end_row();
                    let calls = self.board.lines.values().filter(|l| l.call_seq > 0).count();
                    ui.label("线路上的来电");
                    ui.label(calls.to_string());
                    ui.end_row();
                });
            ui.separator();
            ui.heading("职能部门");
            for d in self.config.departments.iter().take(12) {
                ui.label(format!("{} — {}", d.short_name, d.topics.join("、")));
            }
        });
    }

    fn help_ui(&mut self, ctx: &egui::Context) {
        egui::Window::new("快捷键 (F1)")
            .collapsible(false)
            .show(ctx, |ui| {
                egui::Grid::new("help")
                    .num_columns(2)
                    .striped(true)
                    .show(ui, |ui| {
                        let rows: Vec<(String, String)> = [
                            ("F1 / Esc", "显示 / 关闭帮助"),
                            ("Ctrl+1 / 2 / 3", "切换座席：主持人 / 导播 / 后台"),
                            ("1 … 8", "导播：选择线路"),
                            ("A", "导播：接听筛选（私听）"),
                            ("H", "导播：等待"),
                            ("R", "导播：待播"),
                            ("O", "导播：上直播"),
                            ("D", "导播：挂断"),
                            ("C", "导播：清线"),
                        ]
                        .into_iter()
                        .map(|(a, b)| (a.to_owned(), b.to_owned()))
                        .chain(
                            self.config
                                .show
                                .emergency_phrases
                                .keys()
                                .map(|k| (k.clone(), "发送应急话术给主持人".to_owned())),
                        )
                        .collect();
                        for (k, what) in rows {
                            ui.label(RichText::new(k).monospace());
                            ui.label(what);
                            ui.end_row();
                        }
                    });
            });
    }
}
