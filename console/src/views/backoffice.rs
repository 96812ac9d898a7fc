//! Back-office view: the ticket queues, one ticket with its journal context
//! (what the caller said, the message), dispatch, resolution, the call-back
//! with satisfaction, statistics with plots, and export. Raw contact details
//! are shown here and nowhere else.

use airbridge_configs::TicketClass;
use airbridge_show::ShowEvent;
use airbridge_tickets::{CallbackOutcome, Change, Satisfaction, Ticket, TicketState};
use egui::{Color32, RichText, ScrollArea};
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints};

use super::weak;
use crate::app::ConsoleApp;
use crate::backend::{Command, QueueKind};

impl ConsoleApp {
    pub(crate) fn backoffice_keys(&mut self, ctx: &egui::Context) {
        use egui::{Key, Modifiers};
        let ctrl = |k: Key| ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, k));
        if ctrl(Key::R) {
            self.command(Command::RefreshTickets);
        }
        if ctrl(Key::E) {
            self.export_tickets();
        }
    }

    pub(crate) fn backoffice_ui(&mut self, ui: &mut egui::Ui) {
        ui.columns(2, |cols| {
            ScrollArea::vertical()
                .id_salt("bo-left")
                .show(&mut cols[0], |ui| {
                    self.queues_ui(ui);
                    ui.separator();
                    self.offline_ui(ui);
                    ui.separator();
                    self.audience_answers_ui(ui);
                });
            ScrollArea::vertical()
                .id_salt("bo-right")
                .show(&mut cols[1], |ui| {
                    if self.detail.is_some() {
                        self.detail_ui(ui);
                        ui.separator();
                    }
                    self.stats_ui(ui);
                });
        });
    }

    /// The audience's questions, to answer in writing (场外应答).
    fn audience_answers_ui(&mut self, ui: &mut egui::Ui) {
        let recent: Vec<_> = self
            .seat
            .board
            .audience
            .recent_questions
            .iter()
            .rev()
            .filter(|q| {
                !self
                    .seat
                    .board
                    .answered
                    .contains(&airbridge_show::ItemRef::Message(q.id.clone()))
            })
            .take(8)
            .cloned()
            .collect();
        ui.heading(format!("观众提问待答复 {} 条", recent.len()));
        for q in recent {
            ui.horizontal_wrapped(|ui| {
                ui.label(format!("{} · {}", q.source, q.text));
                if ui.small_button("书面答复").clicked() {
                    self.answer(&q.id, &q.text);
                }
            });
        }
        self.written_answer_ui(ui);
    }

    fn queues_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("工单");
            if ui.button("刷新 Ctrl+R").clicked() {
                self.command(Command::RefreshTickets);
            }
            if ui.button("导出 Excel Ctrl+E").clicked() {
                self.export_tickets();
            }
        });
        let Some(snap) = &self.seat.tickets else {
            weak(
                ui,
                "工单库读取中…（工单库不可用时这里保持空白，节目照常进行）",
            );
            return;
        };
        let mut chosen = None;
        ui.horizontal_wrapped(|ui| {
            for kind in QueueKind::ALL {
                let n = snap
                    .queues
                    .iter()
                    .find(|(k, _)| *k == kind)
                    .map_or(0, |(_, l)| l.len());
                let label = format!("{} {n}", kind.label_zh());
                let text = if kind == QueueKind::Overdue && n > 0 {
                    RichText::new(label).color(Color32::from_rgb(255, 90, 90))
                } else {
                    RichText::new(label)
                };
                if ui.selectable_label(self.bo_queue == kind, text).clicked() {
                    chosen = Some(kind);
                }
            }
        });
        if let Some(k) = chosen {
            self.seat.bo_queue = k;
        }
        let tz = self.config.station.time_zone;
        let now = chrono::DateTime::from_timestamp_millis(self.now_ms()).unwrap_or_default();
        let list: Vec<Ticket> = snap
            .queues
            .iter()
            .find(|(k, _)| *k == self.bo_queue)
            .map(|(_, l)| l.clone())
            .unwrap_or_default();
        if list.is_empty() {
            weak(ui, "此队列没有工单");
        }
        let mut open = None;
        egui::Grid::new("queue")
            .striped(true)
            .num_columns(4)
            .show(ui, |ui| {
                for h in ["单号", "问题", "承办", "办结时限"] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for t in list.iter().take(40) {
                    let selected = self.detail.as_ref().is_some_and(|d| d.ticket.id == t.id);
                    if ui.selectable_label(selected, &t.id).clicked() {
                        open = Some(t.id.clone());
                    }
                    let q: String = t.question.chars().take(24).collect();
                    ui.label(q);
                    ui.label(self.department_names(&t.departments));
                    let due = t
                        .resolve_due
                        .with_timezone(&tz)
                        .format("%m-%d %H:%M")
                        .to_string();
                    ui.label(if t.is_late(now) {
                        RichText::new(format!("{due} 超期")).color(Color32::from_rgb(255, 90, 90))
                    } else {
                        RichText::new(due)
                    });
                    ui.end_row();
                }
            });
        if let Some(id) = open {
            self.command(Command::OpenTicket { id });
        }
    }

    /// Items handed to the back office during this show.
    fn offline_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading(format!("本场转线下 {} 项", self.board.offline.len()));
        if self.board.offline.is_empty() {
            weak(ui, "暂无需要线下处理的问题");
        }
        let tz = self.config.station.time_zone;
        let mut open = None;
        for item in self.board.offline.iter().rev().take(20) {
            let (text, count) = self.item_text(&item.item);
            let at = chrono::DateTime::from_timestamp_millis(item.at_ms)
                .map(|t| t.with_timezone(&tz).format("%H:%M").to_string())
                .unwrap_or_default();
            ui.horizontal(|ui| {
                ui.label(at);
                match &item.ticket_id {
                    Some(id) => {
                        if ui.link(id).clicked() {
                            open = Some(id.clone());
                        }
                    }
                    None => {
                        ui.label(RichText::new("未建单").color(Color32::from_rgb(255, 180, 80)));
                    }
                }
                ui.label(format!("×{count} {text}"));
            });
        }
        if let Some(id) = open {
            self.command(Command::OpenTicket { id });
        }
    }

    fn detail_ui(&mut self, ui: &mut egui::Ui) {
        let Some(d) = self.detail.clone() else { return };
        let t = &d.ticket;
        let tz = self.config.station.time_zone;
        let fmt = |x: chrono::DateTime<chrono::Utc>| {
            x.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
        };
        ui.heading(format!("工单 {} · {}", t.id, t.state.label_zh()));
        egui::Grid::new("ticket").num_columns(2).show(ui, |ui| {
            ui.label("来源");
            ui.label(t.source.label_zh());
            ui.end_row();
            ui.label("问题");
            ui.label(&t.question);
            ui.end_row();
            ui.label("联系人");
            ui.label(format!(
                "{} {}",
                t.citizen_name.clone().unwrap_or_default(),
                t.contact.clone().unwrap_or_default()
            ));
            ui.end_row();
            ui.label("承办部门");
            ui.label(self.department_names(&t.departments));
            ui.end_row();
            ui.label("派发时限");
            ui.label(fmt(t.dispatch_due));
            ui.end_row();
            ui.label("办结时限");
            ui.label(format!("{}（{}）", fmt(t.resolve_due), t.policy));
            ui.end_row();
        });
        if !d.context.is_empty() {
            ui.label(RichText::new("节目记录").strong());
            for ev in &d.context {
                let line = match &ev.event {
                    ShowEvent::CallRang {
                        line,
                        caller_masked,
                        ..
                    } => {
                        format!("线路 {line} 来电 {caller_masked}")
                    }
                    ShowEvent::CallerNoted { note, .. } => {
                        format!("记录：{} {} 话题：{}", note.name, note.district, note.topic)
                    }
                    ShowEvent::TranscriptSegment { text, .. } => format!("转写：{text}"),
                    ShowEvent::AudienceMessage { source, text, .. } => {
                        format!("[{source}] {text}")
                    }
                    ShowEvent::LineStateChanged { to, .. } => format!("→ {}", to.label_zh()),
                    other => other.kind().to_owned(),
                };
                let when = chrono::DateTime::from_timestamp_millis(ev.at_ms)
                    .map(|x| x.with_timezone(&tz).format("%H:%M:%S").to_string())
                    .unwrap_or_default();
                ui.label(RichText::new(format!("{when}  {line}")).small());
            }
        }
        self.recordings_ui(ui, &t.journal_refs);
        let id = t.id.clone();
        let version = t.version;
        let mut change = None;
        match t.state {
            TicketState::Received => {
                ui.label(RichText::new("分类").strong());
                ui.horizontal(|ui| {
                    for (class, label) in [
                        (TicketClass::Simple, "简单"),
                        (TicketClass::General, "一般"),
                        (TicketClass::Complex, "复杂"),
                    ] {
                        if ui.button(label).clicked() {
                            let departments = if t.departments.is_empty() {
                                self.config
                                    .departments
                                    .first()
                                    .map(|d| d.id.clone())
                                    .into_iter()
                                    .collect()
                            } else {
                                t.departments.clone()
                            };
                            change = Some(Change::Classify { class, departments });
                        }
                    }
                });
            }
            TicketState::Classified => {
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut self.forms.assignee)
                            .hint_text("经办人（可空）")
                            .desired_width(160.0),
                    );
                    if ui.button("派发").clicked() {
                        let a = self.forms.assignee.trim();
                        change = Some(Change::Dispatch {
                            assignee: (!a.is_empty()).then(|| a.to_owned()),
                        });
                    }
                });
            }
            TicketState::Dispatched => {
                ui.add(
                    egui::TextEdit::multiline(&mut self.forms.resolution)
                        .hint_text("办理结果…")
                        .desired_rows(2)
                        .desired_width(f32::INFINITY),
                );
                if ui
                    .add_enabled(
                        !self.forms.resolution.trim().is_empty(),
                        egui::Button::new("办结"),
                    )
                    .clicked()
                {
                    change = Some(Change::Resolve {
                        resolution: self.forms.resolution.trim().to_owned(),
                    });
                }
            }
            TicketState::Resolved => {
                ui.label(RichText::new("回访话术").strong());
                ui.label(RichText::new(&d.script).small());
                ui.add(
                    egui::TextEdit::singleline(&mut self.forms.callback_note)
                        .hint_text("回访备注")
                        .desired_width(f32::INFINITY),
                );
                ui.horizontal_wrapped(|ui| {
                    for s in [
                        Satisfaction::Satisfied,
                        Satisfaction::BasicallySatisfied,
                        Satisfaction::Dissatisfied,
                    ] {
                        if ui.button(format!("已回访：{}", s.label_zh())).clicked() {
                            change = Some(Change::CallBack {
                                outcome: CallbackOutcome::Reached,
                                satisfaction: Some(s),
                                note: self.forms.callback_note.clone(),
                            });
                        }
                    }
                    if ui.button("无人接听").clicked() {
                        change = Some(Change::CallBack {
                            outcome: CallbackOutcome::NoAnswer,
                            satisfaction: None,
                            note: self.forms.callback_note.clone(),
                        });
                    }
                });
            }
            TicketState::CalledBack => {
                if ui.button("关闭工单").clicked() {
                    change = Some(Change::Close);
                }
            }
            TicketState::Closed => {}
        }
        if let Some(change) = change {
            let seat = self.seat_name().to_owned();
            self.command(Command::Ticket {
                seat,
                id,
                based_on: version,
                change,
            });
        }
        if !d.audit.is_empty() {
            ui.label(RichText::new("处理记录").strong());
            for a in d.audit.iter().rev().take(6) {
                ui.label(RichText::new(format!("{} {} {}", fmt(a.at), a.who, a.action)).small());
            }
        }
    }

    /// The call's recordings, with play and stop.
    fn recordings_ui(&mut self, ui: &mut egui::Ui, journal_refs: &[u64]) {
        let Some(dir) = &self.recordings else { return };
        let files = crate::playback::recordings_for(dir, journal_refs);
        if files.is_empty() {
            return;
        }
        ui.label(RichText::new("通话录音").strong());
        let playing = self.playback.playing().map(std::path::Path::to_path_buf);
        let mut action: Option<Option<std::path::PathBuf>> = None;
        for f in files {
            let name = f
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            ui.horizontal(|ui| {
                let this = playing.as_deref().is_some_and(|p| p.ends_with(&name));
                if this {
                    if ui.button(format!("■ 停止 {name}")).clicked() {
                        action = Some(None);
                    }
                } else if ui.button(format!("▶ 回放 {name}")).clicked() {
                    action = Some(Some(f.clone()));
                }
            });
        }
        match action {
            Some(Some(f)) => {
                if let Err(e) = self.playback.play(&f) {
                    self.toast(format!("无法回放录音：{e}"));
                }
            }
            Some(None) => self.playback.stop(),
            None => {}
        }
    }

    fn stats_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("统计（近 30 天）");
        let Some(snap) = &self.seat.tickets else {
            weak(ui, "统计读取中…");
            return;
        };
        if let Some(r) = &snap.report {
            ui.label(format!(
                "受理 {} · 办结率 {} · 按期办结率 {} · 超期 {}（{}） · 满意率 {}",
                r.received,
                airbridge_tickets::report::pct(r.resolution_rate),
                airbridge_tickets::report::pct(r.on_time_rate),
                r.overdue(),
                airbridge_tickets::report::pct(r.overdue_rate),
                airbridge_tickets::report::pct(r.satisfaction_rate)
            ));
            let names: Vec<String> = r
                .by_department
                .keys()
                .map(|d| {
                    if d.is_empty() {
                        "未分派".to_owned()
                    } else {
                        self.department_names(std::slice::from_ref(d))
                    }
                })
                .collect();
            let bars: Vec<Bar> = r
                .by_department
                .values()
                .enumerate()
                .map(|(i, n)| Bar::new(i as f64, *n as f64).name(&names[i]).width(0.6))
                .collect();
            let n = names.len().max(1) as f64;
            Plot::new("by-department")
                .height(150.0)
                .allow_drag(false)
                .allow_zoom(false)
                .allow_scroll(false)
                .include_x(-0.5)
                .include_x(n - 0.5)
                .include_y(0.0)
                .x_axis_formatter(move |mark, _| {
                    let i = mark.value.round();
                    if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                        names.get(i as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .show(ui, |plot| {
                    plot.bar_chart(BarChart::new("各部门工单", bars));
                });
        }
        let received: PlotPoints = snap
            .by_day
            .iter()
            .enumerate()
            .map(|(i, (_, r, _))| [i as f64, *r as f64])
            .collect();
        let resolved: PlotPoints = snap
            .by_day
            .iter()
            .enumerate()
            .map(|(i, (_, _, r))| [i as f64, *r as f64])
            .collect();
        let days: Vec<String> = snap
            .by_day
            .iter()
            .map(|(d, _, _)| d.format("%m-%d").to_string())
            .collect();
        Plot::new("by-day")
            .height(150.0)
            .include_y(0.0)
            .x_axis_formatter(move |mark, _| {
                let i = mark.value.round();
                if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                    days.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .legend(Legend::default())
            .show(ui, |plot| {
                plot.line(Line::new("每日受理", received));
                plot.line(Line::new("每日办结", resolved));
            });
    }
}
