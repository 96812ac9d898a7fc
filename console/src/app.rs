//! The console window: a thin egui layer over one seat's model
//! ([`SeatModel`]). It draws the model's board and turns clicks and keys
//! into the model's actions; the views themselves live in [`crate::views`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airbridge_runtime::Action;
use airbridge_show::{LineState, ShowEvent};
use egui::{Color32, RichText};

use crate::fonts::CjkFont;
use crate::live::Live;
pub use crate::seat::{
    Clock, KbDraft, Link, NoteDraft, Page, PlanForm, Role, SeatModel, TicketForms,
};

/// A pending `--screenshot-after` request and its outcome.
#[derive(Debug)]
pub struct ScreenshotPlan {
    pub after: Duration,
    pub path: PathBuf,
    pub requested: bool,
    /// Set by the screenshot callback: `Ok(())` or the error text.
    pub outcome: Arc<Mutex<Option<Result<(), String>>>>,
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

/// The window: one seat's model ([`SeatModel`]) and what only pixels need.
pub struct ConsoleApp {
    pub(crate) seat: SeatModel,
    pub(crate) notice: Option<String>,
    /// Frames drawn since the instant (for the frame-rate log line).
    pub(crate) frames: (u64, Instant),
    pub(crate) focus_note: bool,
    pub(crate) focus_search: bool,
    pub(crate) focus_message: bool,
    pub(crate) font: CjkFont,
    pub(crate) glyphs_ok: Option<bool>,
    pub(crate) show_help: bool,
    pub(crate) screenshot: Option<ScreenshotPlan>,
    pub(crate) started: Instant,
    pub(crate) live: Option<Live>,
    pub(crate) recordings: Option<PathBuf>,
    pub(crate) playback: crate::playback::Playback,
}

impl std::ops::Deref for ConsoleApp {
    type Target = SeatModel;
    fn deref(&self) -> &SeatModel {
        &self.seat
    }
}

impl std::ops::DerefMut for ConsoleApp {
    fn deref_mut(&mut self) -> &mut SeatModel {
        &mut self.seat
    }
}

impl std::fmt::Debug for ConsoleApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleApp")
            .field("role", &self.role)
            .field("last_seq", &self.board.last_seq)
            .finish()
    }
}

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
        let seat = SeatModel::start(
            startup.link,
            startup.role,
            startup.clock,
            startup.model_status,
            repaint,
        )?;
        Ok(Self {
            seat,
            notice: startup.notice,
            frames: (0, Instant::now()),
            focus_note: false,
            focus_search: false,
            focus_message: false,
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

    /// The seat's model (for tests).
    pub fn model(&self) -> &SeatModel {
        &self.seat
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
            (Key::Num4, Role::Control),
        ] {
            if ctrl(k) && self.may_switch_role() {
                self.role = Some(role);
            }
        }
        // The dump button: one key away on every on-air seat.
        if ctrl(Key::D) && matches!(self.role, Some(Role::Host | Role::Screener | Role::Control)) {
            self.dump();
        }
        if ctrl(Key::P) {
            self.set_page(Page::Plan);
        }
        if ctrl(Key::B) {
            self.set_page(Page::Kb);
        }
        if ctrl(Key::G) {
            self.set_page(Page::Guides);
        }
        if ctrl(Key::Num0) {
            self.set_page(Page::Seat);
        }
        // Emergency phrases (the show plan's): one key away in every view.
        let phrases: Vec<(String, String)> = self
            .plan()
            .phrases
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
        // a seat's own keys act on its own view only
        if self.seat.page != Page::Seat {
            return;
        }
        match self.role {
            Some(Role::Screener) => self.screener_keys(ctx),
            Some(Role::Control) => self.control_keys(ctx),
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
                .seat
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
                self.seat.board.last_seq,
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
                self.refresh_tickets();
            }
        }
        self.top_bar_ui(ui);
        self.safety_ui(ui);
        self.status_bar_ui(ui);
        egui::CentralPanel::default().show(ui, |ui| match (self.role, self.seat.page) {
            (None, _) => self.role_picker_ui(ui),
            (Some(_), Page::Plan) => self.plan_ui(ui),
            (Some(_), Page::Kb) => self.kb_edit_ui(ui),
            (Some(_), Page::Guides) => self.guides_ui(ui),
            (Some(Role::Host), Page::Seat) => self.host_ui(ui),
            (Some(Role::Screener), Page::Seat) => self.screener_ui(ui),
            (Some(Role::Control), Page::Seat) => self.control_ui(ui),
            (Some(Role::BackOffice), Page::Seat) => self.backoffice_ui(ui),
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
                            .selectable_label(
                                self.role == Some(role) && self.seat.page == Page::Seat,
                                role.label(),
                            )
                            .clicked()
                        {
                            self.role = Some(role);
                            self.set_page(Page::Seat);
                        }
                    }
                }
                if self.role.is_some() {
                    ui.separator();
                    if let Link::Remote(_) = &self.link
                        && ui
                            .selectable_label(self.seat.page == Page::Seat, "座席")
                            .clicked()
                    {
                        self.set_page(Page::Seat);
                    }
                    for (page, label, key) in [
                        (Page::Plan, "节目准备", "Ctrl+P"),
                        (Page::Kb, "知识库", "Ctrl+B"),
                        (Page::Guides, "办事攻略", "Ctrl+G"),
                    ] {
                        if ui
                            .selectable_label(self.seat.page == page, label)
                            .on_hover_text(format!("{key}；Ctrl+0 回到座席"))
                            .clicked()
                        {
                            self.set_page(page);
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
                // the key hint lives here: the top bar is full of seats and pages
                ui.label(RichText::new("F1 帮助").small());
                ui.separator();
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
