//! Back-office view: the ticket queues (by state, deadline and department),
//! deadline alerts until acknowledged, one ticket with its journal context
//! (the call's recordings and transcript beside it), classification and
//! departments, dispatch with a note, 改派, resolution, the call-back with
//! satisfaction, 重新办理, 督办, notes and attachments, statistics with
//! plots, and export. Raw contact details are shown here and nowhere else.
//!
//! What is typed in the forms here, and which alerts were acknowledged,
//! lives in egui's memory for this view ([`BackOfficeForms`]); the ticket
//! itself only ever changes through the runtime's desk.

use std::collections::BTreeSet;

use airbridge_configs::TicketClass;
use airbridge_runtime::Action;
use airbridge_runtime::backoffice::TicketSnapshot;
use airbridge_show::ShowEvent;
use airbridge_tickets::report::GroupBy;
use airbridge_tickets::{
    CallbackOutcome, Change, Reminder, Satisfaction, Stage, Ticket, TicketState,
};
use egui::{Color32, RichText, ScrollArea};
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints};

use super::weak;
use crate::app::ConsoleApp;
use crate::backend::{Command, QueueKind};
use crate::seat::{StatsPeriod, group_label};

const ALERT_RED: Color32 = Color32::from_rgb(255, 90, 90);

/// An alert as acknowledged: ticket, stage, overdue, deadline (ms).
type AlertKey = (String, Stage, bool, i64);

fn alert_key(r: &Reminder) -> AlertKey {
    (
        r.ticket_id.clone(),
        r.stage,
        r.overdue,
        r.due.timestamp_millis(),
    )
}

/// A file being attached on a worker (the copy reads and writes the disk).
type Attaching = crossbeam_channel::Receiver<Result<Ticket, String>>;

/// The back office's forms and what this seat acknowledged, kept in egui's
/// memory between frames.
#[derive(Clone, Default)]
pub struct BackOfficeForms {
    /// The ticket (id, version) the fields were last loaded for.
    pub loaded: Option<(String, u64)>,
    /// Departments chosen in the picker (ids).
    pub departments: Vec<String>,
    pub reassign_reason: String,
    pub dispatch_note: String,
    pub reopen_reason: String,
    pub escalate_reason: String,
    pub note: String,
    pub attach_path: String,
    /// The department whose queue is shown instead of the five by state.
    pub department_queue: Option<String>,
    /// Deadline alerts this seat's user acknowledged (确认).
    pub alerted: BTreeSet<AlertKey>,
    /// A dispatch note waiting for its dispatch: (ticket, version after
    /// the dispatch, text).
    pub pending_note: Option<(String, u64, String)>,
    attaching: Option<Attaching>,
}

impl BackOfficeForms {
    fn id() -> egui::Id {
        egui::Id::unique("backoffice-forms")
    }

    /// Loads the fields for a ticket when another one (or a new version)
    /// is shown; what was typed for a refused change stays.
    fn follow(&mut self, t: &Ticket, default_department: Option<&str>) {
        let same_ticket = self.loaded.as_ref().is_some_and(|(id, _)| *id == t.id);
        if self.loaded.as_ref() == Some(&(t.id.clone(), t.version)) {
            return;
        }
        self.departments = if t.departments.is_empty() {
            default_department.map(str::to_owned).into_iter().collect()
        } else {
            t.departments.clone()
        };
        self.reassign_reason.clear();
        self.dispatch_note.clear();
        self.reopen_reason.clear();
        self.escalate_reason.clear();
        self.note.clear();
        self.attach_path.clear();
        if !same_ticket {
            self.pending_note = None;
        }
        self.loaded = Some((t.id.clone(), t.version));
    }
}

/// The unacknowledged alerts of a snapshot.
fn new_alerts<'a>(snap: &'a TicketSnapshot, forms: &BackOfficeForms) -> Vec<&'a Reminder> {
    snap.alerts
        .iter()
        .filter(|r| !forms.alerted.contains(&alert_key(r)))
        .collect()
}

fn action_zh(action: &str) -> &str {
    match action {
        "create" => "受理",
        "classify" => "分类",
        "dispatch" => "派发",
        "resolve" => "办结",
        "call_back" => "回访",
        "close" => "关闭",
        "reopen" => "重新办理",
        "escalate" => "督办",
        "note" => "备注",
        "reassign" => "改派",
        "attach" => "附件",
        other => other,
    }
}

fn size_zh(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
    }
}

impl ConsoleApp {
    pub(crate) fn backoffice_keys(&mut self, ctx: &egui::Context) {
        use egui::{Key, Modifiers};
        let ctrl = |k: Key| ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, k));
        if ctrl(Key::R) {
            self.refresh_tickets();
        }
        if ctrl(Key::E) {
            self.export_tickets();
        }
    }

    pub(crate) fn backoffice_ui(&mut self, ui: &mut egui::Ui) {
        let mut forms: BackOfficeForms = ui
            .data_mut(|d| d.get_temp(BackOfficeForms::id()))
            .unwrap_or_default();
        self.attach_done(&mut forms);
        self.pending_note_step(&mut forms);
        self.alerts_ui(ui, &mut forms);
        ui.columns(2, |cols| {
            ScrollArea::vertical()
                .id_salt("bo-left")
                .show(&mut cols[0], |ui| {
                    self.queues_ui(ui, &mut forms);
                    ui.separator();
                    self.offline_ui(ui);
                    ui.separator();
                    self.audience_answers_ui(ui);
                });
            ScrollArea::vertical()
                .id_salt("bo-right")
                .show(&mut cols[1], |ui| {
                    if self.detail.is_some() {
                        self.detail_ui(ui, &mut forms);
                        ui.separator();
                    }
                    self.stats_ui(ui);
                });
        });
        if forms.attaching.is_some() || forms.pending_note.is_some() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
        ui.data_mut(|d| d.insert_temp(BackOfficeForms::id(), forms));
    }

    /// Deadlines passed or near (4 working hours), in red until 确认.
    fn alerts_ui(&mut self, ui: &mut egui::Ui, forms: &mut BackOfficeForms) {
        let Some(snap) = &self.seat.tickets else {
            return;
        };
        let alerts: Vec<Reminder> = new_alerts(snap, forms).into_iter().cloned().collect();
        if alerts.is_empty() {
            return;
        }
        let tz = self.config.station.time_zone;
        let mut open = None;
        egui::Frame::new()
            .fill(Color32::from_rgb(110, 20, 20))
            .inner_margin(6.0)
            .corner_radius(4.0)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                for r in alerts.iter().take(5) {
                    let due = r.due.with_timezone(&tz).format("%m-%d %H:%M");
                    let text = if r.overdue {
                        format!(
                            "超期提醒：工单 {} 已超期（{}时限 {due}）",
                            r.ticket_id,
                            r.stage.label_zh()
                        )
                    } else {
                        format!(
                            "到期提醒：工单 {} 即将到期（{}时限 {due}）",
                            r.ticket_id,
                            r.stage.label_zh()
                        )
                    };
                    let shown = RichText::new(text).color(Color32::WHITE).strong();
                    if ui.link(shown).clicked() {
                        open = Some(r.ticket_id.clone());
                    }
                }
                ui.horizontal(|ui| {
                    if alerts.len() > 5 {
                        ui.label(
                            RichText::new(format!("另有 {} 条提醒", alerts.len() - 5))
                                .color(Color32::WHITE),
                        );
                    }
                    if ui.button("确认").clicked() {
                        forms.alerted.extend(alerts.iter().map(alert_key));
                    }
                });
            });
        if let Some(id) = open {
            self.command(Command::OpenTicket { id });
        }
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

    fn queues_ui(&mut self, ui: &mut egui::Ui, forms: &mut BackOfficeForms) {
        ui.horizontal(|ui| {
            ui.heading("工单");
            if ui.button("刷新 Ctrl+R").clicked() {
                self.refresh_tickets();
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
        let fresh = new_alerts(snap, forms);
        let mut chosen = None;
        ui.horizontal_wrapped(|ui| {
            for kind in QueueKind::ALL {
                let n = snap
                    .queues
                    .iter()
                    .find(|(k, _)| *k == kind)
                    .map_or(0, |(_, l)| l.len());
                let alerted = match kind {
                    QueueKind::Overdue => fresh.iter().filter(|r| r.overdue).count(),
                    QueueKind::DueSoon => fresh.iter().filter(|r| !r.overdue).count(),
                    _ => 0,
                };
                let mut label = format!("{} {n}", kind.label_zh());
                if alerted > 0 {
                    label.push_str(&format!("（{alerted} 条新提醒）"));
                }
                let text = if kind == QueueKind::Overdue && n > 0 {
                    RichText::new(label).color(ALERT_RED)
                } else {
                    RichText::new(label)
                };
                let selected = forms.department_queue.is_none() && self.bo_queue == kind;
                if ui.selectable_label(selected, text).clicked() {
                    chosen = Some(kind);
                }
            }
        });
        // a department's open tickets, instead of a queue by state
        let mut department = forms.department_queue.clone();
        let name_of = |id: &str| {
            self.config
                .departments
                .iter()
                .find(|d| d.id == id)
                .map_or_else(|| id.to_owned(), |d| d.short_name.clone())
        };
        let shown = department
            .as_deref()
            .map_or_else(|| "（选择部门）".to_owned(), name_of);
        egui::ComboBox::from_label("按部门")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                for (id, list) in &snap.by_department {
                    let label = format!("{} {}", name_of(id), list.len());
                    ui.selectable_value(&mut department, Some(id.clone()), label);
                }
            });
        if let Some(k) = chosen {
            department = None;
            self.seat.bo_queue = k;
        }
        forms.department_queue.clone_from(&department);
        let tz = self.config.station.time_zone;
        let now = chrono::DateTime::from_timestamp_millis(self.now_ms()).unwrap_or_default();
        let list: Vec<Ticket> = match &department {
            Some(d) => snap.department(d).to_vec(),
            None => snap
                .queues
                .iter()
                .find(|(k, _)| *k == self.bo_queue)
                .map(|(_, l)| l.clone())
                .unwrap_or_default(),
        };
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
                        RichText::new(format!("{due} 超期")).color(ALERT_RED)
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

    fn detail_ui(&mut self, ui: &mut egui::Ui, forms: &mut BackOfficeForms) {
        let Some(d) = self.detail.clone() else { return };
        let t = &d.ticket;
        let first_department = self.config.departments.first().map(|x| x.id.clone());
        forms.follow(t, first_department.as_deref());
        let tz = self.config.station.time_zone;
        let fmt = |x: chrono::DateTime<chrono::Utc>| {
            x.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
        };
        ui.heading(format!("工单 {} · {}", t.id, t.state.label_zh()));
        ui.columns(2, |cols| {
            let width = cols[0].available_width();
            egui::Grid::new("ticket")
                .num_columns(2)
                .max_col_width((width - 70.0).max(120.0))
                .show(&mut cols[0], |ui| {
                    ui.label("来源");
                    ui.label(t.source.label_zh());
                    ui.end_row();
                    ui.label("问题");
                    ui.add(egui::Label::new(&t.question).wrap());
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
                    if t.escalation > 0 || t.reopened > 0 {
                        ui.label("督办 / 重办");
                        ui.label(format!(
                            "督办 {} 次 · 重新办理 {} 次",
                            t.escalation, t.reopened
                        ));
                        ui.end_row();
                    }
                });
            // the call beside the ticket: its recordings and what was said
            let ui = &mut cols[1];
            ui.label(RichText::new("通话录音与转写").strong());
            self.recordings_ui(ui, &t.journal_refs);
            let transcript = d.transcript();
            if transcript.is_empty() {
                weak(ui, "没有通话转写");
            }
            for (at_ms, text) in transcript {
                let when = chrono::DateTime::from_timestamp_millis(at_ms)
                    .map(|x| x.with_timezone(&tz).format("%H:%M:%S").to_string())
                    .unwrap_or_default();
                ui.label(RichText::new(format!("{when}  转写：{text}")).small());
            }
        });
        let others: Vec<_> = d
            .context
            .iter()
            .filter(|ev| !matches!(ev.event, ShowEvent::TranscriptSegment { .. }))
            .collect();
        if !others.is_empty() {
            ui.label(RichText::new("节目记录").strong());
            for ev in others {
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
        ui.separator();
        let mut change = None;
        let mut call_back = None;
        match t.state {
            TicketState::Received | TicketState::Classified => {
                self.department_picker_ui(ui, forms);
                ui.horizontal(|ui| {
                    ui.label(RichText::new("分类").strong());
                    for (class, label) in [
                        (TicketClass::Simple, "简单"),
                        (TicketClass::General, "一般"),
                        (TicketClass::Complex, "复杂"),
                    ] {
                        if ui.button(label).clicked() {
                            if forms.departments.is_empty() {
                                self.toast("请选择承办部门");
                            } else {
                                change = Some(Change::Classify {
                                    class,
                                    departments: forms.departments.clone(),
                                });
                            }
                        }
                    }
                });
                if t.state == TicketState::Classified {
                    ui.horizontal(|ui| {
                        ui.add(
                            egui::TextEdit::singleline(&mut self.seat.forms.assignee)
                                .hint_text("经办人（可空）")
                                .desired_width(120.0),
                        );
                        ui.add(
                            egui::TextEdit::singleline(&mut forms.dispatch_note)
                                .hint_text("派发说明（可空）")
                                .desired_width(220.0),
                        );
                        if ui.button("派发").clicked() {
                            let a = self.seat.forms.assignee.trim();
                            change = Some(Change::Dispatch {
                                assignee: (!a.is_empty()).then(|| a.to_owned()),
                            });
                            let note = forms.dispatch_note.trim();
                            // the note follows once the dispatch is saved
                            forms.pending_note = (!note.is_empty())
                                .then(|| (t.id.clone(), t.version + 1, note.to_owned()));
                        }
                    });
                }
            }
            TicketState::Dispatched => {
                self.department_picker_ui(ui, forms);
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut forms.reassign_reason)
                            .hint_text("改派原因")
                            .desired_width(220.0),
                    );
                    if ui.button("改派").clicked() {
                        if forms.departments.is_empty() {
                            self.toast("请选择承办部门");
                        } else if forms.departments == t.departments {
                            self.toast("承办部门没有变化：先在“选择承办部门”里改选");
                        } else if forms.reassign_reason.trim().is_empty() {
                            self.toast("请填写改派原因");
                        } else {
                            change = Some(Change::Reassign {
                                departments: forms.departments.clone(),
                                reason: forms.reassign_reason.trim().to_owned(),
                            });
                        }
                    }
                });
                ui.add(
                    egui::TextEdit::multiline(&mut self.seat.forms.resolution)
                        .hint_text("办理结果…")
                        .desired_rows(2)
                        .desired_width(f32::INFINITY),
                );
                if ui.button("办结").clicked() {
                    if self.seat.forms.resolution.trim().is_empty() {
                        self.toast("请填写办理结果");
                    } else {
                        change = Some(Change::Resolve {
                            resolution: self.seat.forms.resolution.trim().to_owned(),
                        });
                    }
                }
            }
            TicketState::Resolved => {
                ui.horizontal(|ui| {
                    ui.label(RichText::new("回访话术").strong());
                    // 一按灵: the number stays sealed; the runtime dials it
                    if t.callback_number.is_some()
                        && ui
                            .button("回拨")
                            .on_hover_text("经交换机拨打来电号码（SIP 线路，录音附在工单上）")
                            .clicked()
                    {
                        call_back = Some(t.id.clone());
                    }
                });
                ui.label(RichText::new(&d.script).small());
                ui.add(
                    egui::TextEdit::singleline(&mut self.seat.forms.callback_note)
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
                                note: self.seat.forms.callback_note.clone(),
                            });
                        }
                    }
                    if ui.button("无人接听").clicked() {
                        change = Some(Change::CallBack {
                            outcome: CallbackOutcome::NoAnswer,
                            satisfaction: None,
                            note: self.seat.forms.callback_note.clone(),
                        });
                    }
                    let failed = t
                        .callbacks
                        .iter()
                        .filter(|c| c.outcome != CallbackOutcome::Reached)
                        .count();
                    if failed >= airbridge_tickets::model::MAX_FAILED_CALLBACKS
                        && ui.button("关闭工单").clicked()
                    {
                        change = Some(Change::Close);
                    }
                });
            }
            TicketState::CalledBack | TicketState::Closed
                if t.satisfaction == Some(Satisfaction::Dissatisfied) =>
            {
                ui.label(RichText::new("市民不满意：重新办理").color(ALERT_RED));
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut forms.reopen_reason)
                            .hint_text("重新办理原因")
                            .desired_width(260.0),
                    );
                    if ui.button("重新办理").clicked() {
                        if forms.reopen_reason.trim().is_empty() {
                            self.toast("请填写重新办理的原因");
                        } else {
                            change = Some(Change::Reopen {
                                reason: forms.reopen_reason.trim().to_owned(),
                            });
                        }
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
        // in any state but closed: 督办, notes, attachments
        if t.state != TicketState::Closed {
            ui.horizontal(|ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut forms.escalate_reason)
                        .hint_text("督办原因")
                        .desired_width(260.0),
                );
                if ui.button("督办").clicked() {
                    if forms.escalate_reason.trim().is_empty() {
                        self.toast("请填写督办原因");
                    } else {
                        change = Some(Change::Escalate {
                            reason: forms.escalate_reason.trim().to_owned(),
                        });
                    }
                }
            });
        }
        ui.horizontal(|ui| {
            ui.add(
                egui::TextEdit::singleline(&mut forms.note)
                    .hint_text("备注内容")
                    .desired_width(260.0),
            );
            if ui.button("添加备注").clicked() {
                if forms.note.trim().is_empty() {
                    self.toast("备注为空");
                } else {
                    change = Some(Change::Note {
                        text: forms.note.trim().to_owned(),
                    });
                }
            }
        });
        if t.state != TicketState::Closed {
            ui.horizontal(|ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut forms.attach_path)
                        .hint_text("附件文件路径（本机，最大 20 MiB）")
                        .desired_width(260.0),
                );
                let busy = forms.attaching.is_some();
                if ui.add_enabled(!busy, egui::Button::new("附件")).clicked() {
                    self.start_attach(forms, &t.id, t.version);
                }
                if busy {
                    ui.spinner();
                }
            });
        }
        if let Some(ticket) = call_back {
            self.act(Action::CallBack { ticket });
        }
        if let Some(change) = change {
            let seat = self.seat_name().to_owned();
            self.command(Command::Ticket {
                seat,
                id: t.id.clone(),
                based_on: t.version,
                change,
            });
        }
        if !d.attachments.is_empty() {
            ui.label(RichText::new("已附文件").strong());
            for a in &d.attachments {
                let f = &a.attachment;
                let missing = if a.stored { "" } else { "（文件缺失）" };
                ui.label(
                    RichText::new(format!(
                        "文件 {} · {} · {} {}{missing}",
                        f.name,
                        size_zh(f.bytes),
                        fmt(f.at),
                        f.by
                    ))
                    .small(),
                );
            }
        }
        if !t.notes.is_empty() {
            ui.label(RichText::new("备注").strong());
            for n in &t.notes {
                ui.label(RichText::new(format!("{} {}：{}", fmt(n.at), n.by, n.text)).small());
            }
        }
        if !d.audit.is_empty() {
            ui.label(RichText::new("处理记录").strong());
            for a in d.audit.iter().rev() {
                let change = &a.detail["change"];
                let why = ["reason", "text", "name", "resolution"]
                    .iter()
                    .find_map(|k| change.get(*k).and_then(|v| v.as_str()))
                    .map(|s| format!("：{s}"))
                    .unwrap_or_default();
                let to = change
                    .get("departments")
                    .and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok())
                    .filter(|_| matches!(a.action.as_str(), "classify" | "reassign"))
                    .map(|ds| format!(" → {}", self.department_names(&ds)))
                    .unwrap_or_default();
                ui.label(
                    RichText::new(format!(
                        "{} {} {}{to}{why}",
                        fmt(a.at),
                        a.who,
                        action_zh(&a.action)
                    ))
                    .small(),
                );
            }
        }
    }

    /// The departments from the directory, chosen by name (saved with 分类
    /// or 改派).
    fn department_picker_ui(&mut self, ui: &mut egui::Ui, forms: &mut BackOfficeForms) {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("承办部门").strong());
            let chosen = if forms.departments.is_empty() {
                "（未选）".to_owned()
            } else {
                self.department_names(&forms.departments)
            };
            ui.label(format!("已选：{chosen}"));
        });
        egui::CollapsingHeader::new("选择承办部门")
            .id_salt("bo-department-picker")
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    for dep in &self.config.departments {
                        let mut on = forms.departments.contains(&dep.id);
                        if ui.checkbox(&mut on, &dep.name).changed() {
                            if on {
                                forms.departments.push(dep.id.clone());
                            } else {
                                forms.departments.retain(|x| *x != dep.id);
                            }
                        }
                    }
                });
            });
    }

    /// Copies a file to the ticket's attachments on a worker (the runtime
    /// on this PC reads and writes the disk; never the UI thread).
    fn start_attach(&mut self, forms: &mut BackOfficeForms, id: &str, version: u64) {
        let path = forms.attach_path.trim().trim_matches('"').to_owned();
        if path.is_empty() {
            self.toast("请填写附件文件路径");
            return;
        }
        let crate::seat::Link::Local(rt) = &self.seat.link else {
            self.toast("远程座席暂不能添加附件：请在运行节目的电脑上添加");
            return;
        };
        let rt = rt.clone();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let (id, seat) = (id.to_owned(), self.seat_name().to_owned());
        let spawned = std::thread::Builder::new()
            .name("console-attach".into())
            .spawn(move || {
                let result = rt.attach_file(&id, version, std::path::Path::new(&path), &seat);
                let _ = tx.send(result);
            });
        match spawned {
            Ok(_) => forms.attaching = Some(rx),
            Err(e) => self.toast(format!("附件无法开始复制：{e}")),
        }
    }

    /// The attachment's outcome, when it has come.
    fn attach_done(&mut self, forms: &mut BackOfficeForms) {
        let Some(rx) = &forms.attaching else { return };
        let result = match rx.try_recv() {
            Ok(r) => r,
            Err(crossbeam_channel::TryRecvError::Empty) => return,
            Err(crossbeam_channel::TryRecvError::Disconnected) => Err("附件复制中断".to_owned()),
        };
        forms.attaching = None;
        match result {
            Ok(t) => {
                forms.attach_path.clear();
                self.toast(format!("工单 {} 已添加附件", t.id));
                self.command(Command::OpenTicket { id: t.id });
                self.refresh_tickets();
            }
            Err(e) => self.toast(e),
        }
    }

    /// Sends a dispatch's note once the dispatch is saved (the note is made
    /// on the version the dispatch produced).
    fn pending_note_step(&mut self, forms: &mut BackOfficeForms) {
        let Some((id, version, text)) = forms.pending_note.clone() else {
            return;
        };
        let Some(t) = self.detail.as_ref().map(|d| &d.ticket) else {
            return;
        };
        if t.id != id || t.version > version {
            forms.pending_note = None;
            self.toast(format!("派发说明未保存（工单 {id} 已有别的变更）：{text}"));
        } else if t.version == version {
            forms.pending_note = None;
            let seat = self.seat_name().to_owned();
            self.command(Command::Ticket {
                seat,
                id,
                based_on: version,
                change: Change::Note {
                    text: format!("派发说明：{text}"),
                },
            });
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

    /// Period (one click, or typed dates) and grouping of the statistics.
    fn stats_controls_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            for p in StatsPeriod::ALL {
                if ui.button(p.label()).clicked() {
                    self.stats_period(p);
                }
            }
            let l = ui.label("从");
            ui.add(egui::TextEdit::singleline(&mut self.seat.stats_from).desired_width(100.0))
                .labelled_by(l.id);
            let l = ui.label("至");
            ui.add(egui::TextEdit::singleline(&mut self.seat.stats_to).desired_width(100.0))
                .labelled_by(l.id);
            if ui.button("查询").clicked() {
                self.request_stats();
            }
        });
        ui.horizontal(|ui| {
            ui.label("分组：");
            for by in [
                GroupBy::Department,
                GroupBy::Topic,
                GroupBy::Channel,
                GroupBy::Station,
            ] {
                if ui
                    .selectable_label(self.seat.stats_by == by, format!("按{}", group_label(by)))
                    .clicked()
                {
                    self.stats_group(by);
                }
            }
        });
    }

    /// One row of figures per group (the rates), and received and resolved
    /// per group as bars.
    fn stats_groups_ui(&mut self, ui: &mut egui::Ui, r: airbridge_tickets::report::Report) {
        if r.groups.is_empty() {
            weak(ui, "这段时间没有受理工单");
            return;
        }
        let by = r.by.unwrap_or(GroupBy::Department);
        let names: Vec<String> = r
            .groups
            .iter()
            .map(|g| match by {
                GroupBy::Department if !g.key.starts_with('(') => {
                    self.department_names(std::slice::from_ref(&g.key))
                }
                GroupBy::Channel => g
                    .key
                    .parse::<airbridge_tickets::Source>()
                    .map_or_else(|_| g.key.clone(), |s| s.label_zh().to_owned()),
                _ => g.key.clone(),
            })
            .collect();
        egui::Grid::new("stats-groups")
            .striped(true)
            .num_columns(8)
            .show(ui, |ui| {
                for h in [
                    group_label(by),
                    "受理数",
                    "办结数",
                    "办结率",
                    "按期办结率",
                    "满意率",
                    "超期率",
                    "平均办理（工作时）",
                ] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for (g, name) in r.groups.iter().zip(&names) {
                    let f = &g.figures;
                    ui.label(name);
                    ui.label(f.received.to_string());
                    ui.label(f.resolved.to_string());
                    ui.label(airbridge_tickets::report::pct(f.resolution_rate));
                    ui.label(airbridge_tickets::report::pct(f.on_time_rate));
                    ui.label(airbridge_tickets::report::pct(f.satisfaction_rate));
                    ui.label(airbridge_tickets::report::pct(f.overdue_rate));
                    ui.label(hours(f.avg_handling_business_hours));
                    ui.end_row();
                }
            });
        let n = names.len().max(1) as f64;
        let received: Vec<Bar> = r
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                Bar::new(i as f64 - 0.18, g.figures.received as f64)
                    .name(&names[i])
                    .width(0.34)
            })
            .collect();
        let resolved: Vec<Bar> = r
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                Bar::new(i as f64 + 0.18, g.figures.resolved as f64)
                    .name(&names[i])
                    .width(0.34)
            })
            .collect();
        let axis = names.clone();
        Plot::new("by-group")
            .height(160.0)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .include_x(-0.5)
            .include_x(n - 0.5)
            .include_y(0.0)
            .legend(Legend::default())
            .x_axis_formatter(move |mark, _| {
                let i = mark.value.round();
                if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                    axis.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .show(ui, |plot| {
                plot.bar_chart(BarChart::new("受理（件）", received));
                plot.bar_chart(BarChart::new("办结（件）", resolved));
            });
    }

    fn stats_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("统计");
        self.stats_controls_ui(ui);
        if let Some(r) = &self.seat.stats {
            ui.label(format!(
                "{} 至 {}：受理 {} · 办结 {} · 办结率 {} · 按期办结率 {} · 超期 {}（{}） · 满意率 {} · 平均办理 {}",
                r.from,
                r.to - chrono::Duration::days(1),
                r.received,
                r.resolved,
                airbridge_tickets::report::pct(r.resolution_rate),
                airbridge_tickets::report::pct(r.on_time_rate),
                r.overdue(),
                airbridge_tickets::report::pct(r.overdue_rate),
                airbridge_tickets::report::pct(r.satisfaction_rate),
                hours(r.avg_handling_business_hours),
            ));
            self.stats_groups_ui(ui, r.clone());
        } else {
            weak(ui, "统计读取中…");
        }
        let Some(snap) = &self.seat.tickets else {
            return;
        };
        ui.label("近 14 天");
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

/// Mean handling time in business hours, or — when nothing was resolved.
fn hours(h: Option<f64>) -> String {
    h.map_or_else(|| "—".to_owned(), |h| format!("{h:.1} 小时"))
}
