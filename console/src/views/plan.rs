//! 节目准备 (show preparation): the running order of the plan's segments
//! against when they started, the selected segment's form, the guests, the
//! emergency phrases on F2–F12, and the printable rundown.
//!
//! Every edit is a runtime action (it checks, saves and journals the plan;
//! a refusal comes back as a toast); nothing is kept here but what is being
//! typed, and the first press of 删除本段.

use airbridge_show::{Guest, PlanEdit, RunningOrder, ShowPlan};
use egui::{Color32, RichText, ScrollArea};

use super::weak;
use crate::app::{ConsoleApp, fmt_secs};

const OVER: Color32 = Color32::from_rgb(255, 90, 90);
const UNDER: Color32 = Color32::from_rgb(110, 210, 130);
const CURRENT: Color32 = Color32::from_rgb(255, 200, 80);

/// How long the first press of 删除本段 waits for the second, in seconds.
const CONFIRM_SECS: f64 = 4.0;

/// Characters of a phrase shown in the list (the whole one on hover).
const PHRASE_SHOWN_CHARS: usize = 26;

/// The function keys that may hold an emergency phrase.
const PHRASE_KEYS: [&str; 11] = [
    "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12",
];

/// `+m:ss` over, `−m:ss` under, `±0:00` on time.
fn signed_mss(secs: i64) -> String {
    let sign = match secs.signum() {
        1 => "+",
        -1 => "−",
        _ => "±",
    };
    let a = secs.unsigned_abs();
    format!("{sign}{}:{:02}", a / 60, a % 60)
}

pub(super) fn over_text(secs: i64) -> RichText {
    let text = RichText::new(signed_mss(secs)).monospace();
    match secs.signum() {
        1 => text.color(OVER),
        -1 => text.color(UNDER),
        _ => text,
    }
}

impl ConsoleApp {
    /// 节目准备: the running order on the left, the forms on the right.
    pub(crate) fn plan_ui(&mut self, ui: &mut egui::Ui) {
        let plan = self.plan();
        let now_ms = u64::try_from(self.now_ms()).unwrap_or(0);
        let running =
            airbridge_show::plan::running_order(&plan, &self.board.segment_starts, now_ms);
        // The selected segment may have been removed (here or at another seat).
        if let Some(id) = self.plan_selected
            && plan.segment(id).is_none()
        {
            self.plan_selected = None;
            self.plan_form.segment = None;
        }
        ui.columns(2, |cols| {
            ScrollArea::vertical()
                .id_salt("plan-left")
                .show(&mut cols[0], |ui| {
                    self.running_order_ui(ui, &running);
                    ui.separator();
                    self.segment_actions_ui(ui, &plan);
                });
            ScrollArea::vertical()
                .id_salt("plan-right")
                .show(&mut cols[1], |ui| {
                    self.segment_form_ui(ui);
                    ui.separator();
                    self.add_segment_ui(ui);
                    ui.separator();
                    self.guests_ui(ui, &plan);
                    ui.separator();
                    self.phrases_ui(ui, &plan);
                });
        });
    }

    /// The rundown with the actual times: click a row to select it.
    fn running_order_ui(&mut self, ui: &mut egui::Ui, running: &RunningOrder) {
        let tz = self.config.station.time_zone;
        let clock = |ms: u64| {
            i64::try_from(ms)
                .ok()
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.with_timezone(&tz).format("%H:%M:%S").to_string())
                .unwrap_or_default()
        };
        ui.horizontal(|ui| {
            ui.heading("节目串联单");
            if ui
                .button("打印预览")
                .on_hover_text("生成可打印的节目单（HTML），路径见提示")
                .clicked()
            {
                self.print_plan();
            }
        });
        if running.segments.is_empty() {
            weak(ui, "串联单还没有内容：在右侧添加一段");
            return;
        }
        let mut select = None;
        egui::Grid::new("running-order")
            .striped(true)
            .num_columns(6)
            .show(ui, |ui| {
                for h in ["#", "标题", "时长", "计划开始", "实际开始", "超/欠时"] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for (i, s) in running.segments.iter().enumerate() {
                    let current = running.current == Some(s.id);
                    let number = if current {
                        RichText::new(format!("▶ {}", i + 1))
                            .color(CURRENT)
                            .strong()
                    } else {
                        RichText::new((i + 1).to_string())
                    };
                    ui.label(number);
                    let title = if current {
                        RichText::new(&s.title).color(CURRENT).strong()
                    } else {
                        RichText::new(&s.title)
                    };
                    if ui
                        .selectable_label(self.plan_selected == Some(s.id), title)
                        .clicked()
                    {
                        select = Some(s.id);
                    }
                    ui.label(format!("{} 分", s.planned_minutes));
                    ui.label(
                        RichText::new(fmt_secs(
                            i64::try_from(s.planned_start_offset_secs).unwrap_or(i64::MAX),
                        ))
                        .monospace(),
                    );
                    match s.actual_start_ms {
                        Some(at) => ui.label(RichText::new(clock(at)).monospace()),
                        None => ui.label(RichText::new("—").weak()),
                    };
                    match s.over_secs {
                        Some(over) => ui.label(over_text(over)),
                        None => ui.label(RichText::new("—").weak()),
                    };
                    ui.end_row();
                }
            });
        if let Some(id) = select {
            self.select_segment(id);
        }
        ui.add_space(6.0);
        if let Some(s) = running
            .current
            .and_then(|id| running.segments.iter().find(|s| s.id == id))
        {
            let ran = i64::try_from(s.actual_secs.unwrap_or(0)).unwrap_or(i64::MAX);
            let left = i64::from(s.planned_minutes) * 60 - ran;
            let status = if left >= 0 {
                format!(
                    "正在播出：{}（已播 {}，剩 {}）",
                    s.title,
                    fmt_secs(ran),
                    fmt_secs(left)
                )
            } else {
                format!(
                    "正在播出：{}（已播 {}，超时 {}）",
                    s.title,
                    fmt_secs(ran),
                    fmt_secs(-left)
                )
            };
            ui.label(RichText::new(status).color(CURRENT).size(20.0));
        } else if running.show_start_ms.is_none() {
            weak(ui, "尚未开始：选中一段后按“开始本段”计时");
        }
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("计划共 {} 分", running.planned_total_secs / 60));
            ui.separator();
            ui.label("累计超/欠时");
            ui.label(over_text(running.over_secs));
            if running.unplanned_secs > 0 {
                ui.label(
                    RichText::new(format!(
                        "（含已删除段落 {}）",
                        fmt_secs(i64::try_from(running.unplanned_secs).unwrap_or(i64::MAX))
                    ))
                    .small(),
                );
            }
            ui.separator();
            if let Some(end) = running.planned_end_ms {
                ui.label(format!("计划结束 {}", clock(end)));
            }
            ui.label(
                RichText::new(format!("预计结束 {}", clock(running.projected_end_ms))).strong(),
            );
        });
    }

    /// Start, move or remove the selected segment.
    fn segment_actions_ui(&mut self, ui: &mut egui::Ui, plan: &ShowPlan) {
        let Some((index, seg)) = self
            .plan_selected
            .and_then(|id| plan.segments.iter().enumerate().find(|(_, s)| s.id == id))
        else {
            weak(ui, "点选一段：开始、上移、下移或删除");
            return;
        };
        let id = seg.id;
        ui.label(RichText::new(format!("第 {} 段：{}", index + 1, seg.title)).strong());
        let confirm_id = egui::Id::unique("plan-remove-confirm");
        let now = ui.input(|i| i.time);
        let confirming = ui
            .data(|d| d.get_temp::<(u32, f64)>(confirm_id))
            .is_some_and(|(s, at)| s == id && now - at < CONFIRM_SECS);
        ui.horizontal(|ui| {
            if ui
                .button(RichText::new("开始本段").color(CURRENT))
                .on_hover_text("本段现在开播（计时从此刻起）")
                .clicked()
            {
                self.start_segment(id);
            }
            if ui
                .add_enabled(index > 0, egui::Button::new("上移"))
                .clicked()
            {
                self.edit_plan(PlanEdit::MoveSegment {
                    id,
                    to_index: index - 1,
                });
            }
            let last = plan.segments.len().saturating_sub(1);
            if ui
                .add_enabled(index < last, egui::Button::new("下移"))
                .clicked()
            {
                self.edit_plan(PlanEdit::MoveSegment {
                    id,
                    to_index: index + 1,
                });
            }
            let label = if confirming {
                RichText::new("再按一次确认删除").color(OVER)
            } else {
                RichText::new("删除本段")
            };
            if ui
                .button(label)
                .on_hover_text("删除本段（按两次）")
                .clicked()
            {
                if confirming {
                    ui.data_mut(|d| d.remove::<(u32, f64)>(confirm_id));
                    self.edit_plan(PlanEdit::RemoveSegment { id });
                } else {
                    ui.data_mut(|d| d.insert_temp(confirm_id, (id, now)));
                }
            }
        });
    }

    /// The selected segment's title, minutes and script.
    fn segment_form_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("本段内容");
        if self.plan_form.segment.is_none() {
            weak(ui, "在左侧串联单中点选一段");
            return;
        }
        let form = &mut self.seat.plan_form;
        egui::Grid::new("segment-form")
            .num_columns(2)
            .show(ui, |ui| {
                let l = ui.label("标题");
                ui.add(egui::TextEdit::singleline(&mut form.title).desired_width(f32::INFINITY))
                    .labelled_by(l.id);
                ui.end_row();
                let l = ui.label("时长（分钟）");
                ui.add(egui::TextEdit::singleline(&mut form.minutes).desired_width(80.0))
                    .labelled_by(l.id);
                ui.end_row();
                let l = ui.label("台本");
                ui.add(
                    egui::TextEdit::multiline(&mut form.script)
                        .desired_rows(8)
                        .desired_width(f32::INFINITY)
                        .hint_text("主持人照读或参照的内容"),
                )
                .labelled_by(l.id);
                ui.end_row();
            });
        if ui.button("保存本段").clicked() {
            self.save_segment();
        }
    }

    /// A new segment, after the selected one (or at the end).
    fn add_segment_ui(&mut self, ui: &mut egui::Ui) {
        let form = &mut self.seat.plan_form;
        let mut add = false;
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("新段标题");
            ui.add(egui::TextEdit::singleline(&mut form.new_title).desired_width(220.0))
                .labelled_by(l.id);
            let l = ui.label("新段时长（分钟）");
            ui.add(egui::TextEdit::singleline(&mut form.new_minutes).desired_width(60.0))
                .labelled_by(l.id);
            add = ui
                .button("添加一段")
                .on_hover_text("加在所选段之后；未选时加在最后")
                .clicked();
        });
        if add {
            self.add_segment();
        }
    }

    /// The guests: remove one, or add one; each change sends the whole list.
    fn guests_ui(&mut self, ui: &mut egui::Ui, plan: &ShowPlan) {
        ui.heading(format!("嘉宾 {} 位", plan.guests.len()));
        let mut remove = None;
        let mut add = false;
        let form = &mut self.seat.plan_form;
        egui::Grid::new("guests")
            .striped(true)
            .num_columns(4)
            .show(ui, |ui| {
                let name = ui.label(RichText::new("姓名").strong());
                let title = ui.label(RichText::new("职务").strong());
                let department = ui.label(RichText::new("单位").strong());
                ui.label("");
                ui.end_row();
                for (i, g) in plan.guests.iter().enumerate() {
                    ui.label(&g.name);
                    ui.label(&g.title);
                    ui.label(&g.department);
                    if ui.small_button("删除").clicked() {
                        remove = Some(i);
                    }
                    ui.end_row();
                }
                ui.add_sized(
                    [110.0, 24.0],
                    egui::TextEdit::singleline(&mut form.guest_name),
                )
                .labelled_by(name.id);
                ui.add_sized(
                    [120.0, 24.0],
                    egui::TextEdit::singleline(&mut form.guest_title),
                )
                .labelled_by(title.id);
                ui.add_sized(
                    [200.0, 24.0],
                    egui::TextEdit::singleline(&mut form.guest_department),
                )
                .labelled_by(department.id);
                add = ui.button("添加嘉宾").clicked();
                ui.end_row();
            });
        if let Some(i) = remove {
            let mut guests = plan.guests.clone();
            guests.remove(i);
            self.edit_plan(PlanEdit::SetGuests(guests));
        }
        if add {
            if self.plan_form.guest_name.trim().is_empty() {
                self.toast("嘉宾姓名为空");
                return;
            }
            let form = &mut self.seat.plan_form;
            let guest = Guest {
                name: std::mem::take(&mut form.guest_name).trim().to_owned(),
                title: std::mem::take(&mut form.guest_title).trim().to_owned(),
                department: std::mem::take(&mut form.guest_department).trim().to_owned(),
            };
            let mut guests = plan.guests.clone();
            guests.push(guest);
            self.edit_plan(PlanEdit::SetGuests(guests));
        }
    }

    /// The emergency phrases on F2–F12: edit one, or clear its key.
    fn phrases_ui(&mut self, ui: &mut egui::Ui, plan: &ShowPlan) {
        ui.heading("应急话术");
        weak(ui, "各座席按功能键即向主持人发出");
        let mut edit = None;
        let mut clear = None;
        egui::Grid::new("phrases")
            .striped(true)
            .num_columns(3)
            .show(ui, |ui| {
                for key in PHRASE_KEYS {
                    ui.label(RichText::new(key).monospace().strong());
                    let text = plan.phrases.get(key);
                    ui.horizontal(|ui| {
                        if ui.small_button("编辑").clicked() {
                            edit = Some((key, text.cloned().unwrap_or_default()));
                        }
                        if text.is_some() && ui.small_button("清除").clicked() {
                            clear = Some(key);
                        }
                    });
                    match text {
                        Some(text) => {
                            let short: String = text.chars().take(PHRASE_SHOWN_CHARS).collect();
                            if short.len() < text.len() {
                                ui.label(format!("{short}…")).on_hover_text(text);
                            } else {
                                ui.label(short);
                            }
                        }
                        None => weak(ui, "（空）"),
                    }
                    ui.end_row();
                }
            });
        if let Some((key, text)) = edit {
            self.plan_form.phrase_key = key.to_owned();
            self.plan_form.phrase_text = text;
        }
        if let Some(key) = clear {
            self.edit_plan(PlanEdit::SetPhrase {
                key: key.to_owned(),
                text: None,
            });
        }
        let form = &mut self.seat.plan_form;
        if form.phrase_key.is_empty() {
            form.phrase_key = PHRASE_KEYS[0].to_owned();
        }
        let mut save = false;
        ui.horizontal(|ui| {
            let l = ui.label("功能键");
            egui::ComboBox::from_id_salt("phrase-key")
                .selected_text(form.phrase_key.as_str())
                .width(70.0)
                .show_ui(ui, |ui| {
                    for key in PHRASE_KEYS {
                        ui.selectable_value(&mut form.phrase_key, key.to_owned(), key);
                    }
                })
                .response
                .labelled_by(l.id);
            let l = ui.label("话术");
            ui.add(
                egui::TextEdit::singleline(&mut form.phrase_text)
                    .desired_width(ui.available_width() - 120.0)
                    .hint_text("按下功能键时发给主持人的一句话"),
            )
            .labelled_by(l.id);
            save = ui.button("保存话术").clicked();
        });
        if save {
            let key = self.plan_form.phrase_key.clone();
            let text = self.plan_form.phrase_text.trim().to_owned();
            if text.is_empty() {
                self.toast(format!("{key} 的话术为空（要清空请按“清除”）"));
                return;
            }
            self.edit_plan(PlanEdit::SetPhrase {
                key,
                text: Some(text),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_and_under_read_with_their_sign() {
        assert_eq!(signed_mss(260), "+4:20");
        assert_eq!(signed_mss(-40), "−0:40");
        assert_eq!(signed_mss(0), "±0:00");
        assert_eq!(signed_mss(-3600), "−60:00");
    }
}
