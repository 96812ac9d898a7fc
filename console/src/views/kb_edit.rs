//! 知识库 (the knowledge-base editor): search (pinyin and initials such as
//! `sbk` work), open a hit, edit it and save a new version, retire it, look
//! back at earlier versions, and work the "needs review" queue.
//!
//! Saving and retiring are runtime actions (it checks, stores the version
//! and journals it; a refusal comes back as a toast). The view checks the
//! obvious first (blank question or answer, a date that is not one) so the
//! producer hears it at once; it keeps only what is being typed and which
//! earlier version is shown.

use std::sync::Arc;

use airbridge_kb::{ReviewReason, Status};
use egui::{Color32, RichText, ScrollArea};

use super::weak;
use crate::app::ConsoleApp;
use crate::backend::Command;

const RETIRED: Color32 = Color32::from_rgb(255, 110, 90);

/// Which click the view turns into a seat action after drawing.
enum KbClick {
    Open(String),
    NewWith(String),
}

/// A review reason as the producer reads it.
fn reason_zh(reason: &ReviewReason) -> String {
    match reason {
        ReviewReason::Expired { expiry } => format!("已过期（{expiry}）"),
        ReviewReason::ReviewDue { reviewed: Some(d) } => format!("复核到期（上次 {d}）"),
        ReviewReason::ReviewDue { reviewed: None } => "复核到期（从未复核）".to_owned(),
        ReviewReason::Unanswered { asked, .. } => format!("节目中未答 · 问过 {asked} 次"),
    }
}

/// `2026-11-26T02:00:00Z` in the station's time zone, to the minute.
fn local_time(changed_at: &str, tz: chrono_tz::Tz) -> String {
    chrono::DateTime::parse_from_rfc3339(changed_at).map_or_else(
        |_| changed_at.to_owned(),
        |t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
    )
}

impl ConsoleApp {
    /// 知识库: search and the review queue on the left, the entry on the right.
    pub(crate) fn kb_edit_ui(&mut self, ui: &mut egui::Ui) {
        self.research_after_edit(ui);
        ui.columns(2, |cols| {
            ScrollArea::vertical()
                .id_salt("kb-left")
                .show(&mut cols[0], |ui| {
                    self.kb_search_list_ui(ui);
                    ui.separator();
                    self.kb_review_ui(ui);
                });
            ScrollArea::vertical()
                .id_salt("kb-right")
                .show(&mut cols[1], |ui| self.kb_entry_ui(ui));
        });
    }

    /// When an edit publishes a new knowledge base (here or at another
    /// seat), the hits on screen are searched again so they show it.
    fn research_after_edit(&mut self, ui: &egui::Ui) {
        let id = egui::Id::unique("kb-edit-generation");
        let now = self.kb.as_ref().map(|k| Arc::as_ptr(&k.entries) as usize);
        let before = ui.data_mut(|d| d.get_temp::<Option<usize>>(id));
        ui.data_mut(|d| d.insert_temp(id, now));
        if before.is_some_and(|b| b.is_some() && b != now) && !self.kb_query.trim().is_empty() {
            let query = self.kb_query.trim().to_owned();
            self.command(Command::KbSearch { query });
        }
    }

    fn kb_search_list_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("知识库");
            if ui
                .button("新建条目")
                .on_hover_text("写一条新的问答")
                .clicked()
            {
                self.new_kb_entry();
            }
        });
        let edit = ui
            .horizontal(|ui| {
                let l = ui.label("检索");
                ui.add(
                    egui::TextEdit::singleline(&mut self.seat.kb_query)
                        .hint_text("关键词或拼音首字母，如：sbk（社保卡）")
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(l.id)
            })
            .inner;
        if edit.changed() && !self.kb_query.trim().is_empty() {
            let query = self.kb_query.trim().to_owned();
            self.command(Command::KbSearch { query });
        }
        if self.kb.is_none() {
            weak(ui, "知识库加载中…（本场没有知识库时这里保持空白）");
            return;
        }
        let Some((query, hits)) = &self.kb_results else {
            weak(ui, "输入问题的关键词开始检索");
            return;
        };
        if hits.is_empty() {
            weak(ui, &format!("“{query}”没有找到条目"));
            return;
        }
        let open_id = self.kb_draft.as_ref().map(|d| d.entry.id.as_str());
        let mut click = None;
        egui::Grid::new("kb-hits")
            .striped(true)
            .num_columns(3)
            .show(ui, |ui| {
                for h in ["问题", "部门", "得分"] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for hit in hits {
                    let open = open_id == Some(hit.id.as_str());
                    if ui
                        .selectable_label(open, &hit.question)
                        .on_hover_text(&hit.snippet)
                        .clicked()
                    {
                        click = Some(hit.id.clone());
                    }
                    ui.label(&hit.department);
                    ui.label(RichText::new(format!("{:.1}", hit.score)).monospace());
                    ui.end_row();
                }
            });
        if let Some(id) = click {
            self.open_kb_entry(&id);
        }
    }

    /// Entries to look at before they are read on air again.
    fn kb_review_ui(&mut self, ui: &mut egui::Ui) {
        /// Rows drawn; the count says how many there are.
        const SHOWN: usize = 40;
        ui.horizontal(|ui| {
            ui.heading("待复核");
            if ui
                .button("刷新")
                .on_hover_text("过期、复核到期、节目中未答的问题")
                .clicked()
            {
                self.refresh_kb_review();
            }
            if let Some(items) = &self.kb_review {
                ui.label(format!("{} 条", items.len()));
            }
        });
        let Some(items) = &self.kb_review else {
            weak(ui, "按“刷新”读取待复核的条目");
            return;
        };
        if items.is_empty() {
            weak(ui, "没有需要复核的条目");
            return;
        }
        let mut click = None;
        for item in items.iter().take(SHOWN) {
            let reason = reason_zh(&item.reason);
            let color = match item.reason {
                ReviewReason::Expired { .. } => RETIRED,
                ReviewReason::Unanswered { .. } => Color32::from_rgb(255, 200, 80),
                ReviewReason::ReviewDue { .. } => ui.visuals().text_color(),
            };
            let text = RichText::new(format!("{reason} · {}", item.question)).color(color);
            if ui.selectable_label(false, text).clicked() {
                click = Some(if item.id.is_empty() {
                    KbClick::NewWith(item.question.clone())
                } else {
                    KbClick::Open(item.id.clone())
                });
            }
        }
        if items.len() > SHOWN {
            weak(ui, &format!("另有 {} 条未列出", items.len() - SHOWN));
        }
        match click {
            Some(KbClick::Open(id)) => self.open_kb_entry(&id),
            Some(KbClick::NewWith(question)) => {
                self.new_kb_entry();
                if let Some(d) = &mut self.seat.kb_draft {
                    d.entry.question = question;
                }
            }
            None => {}
        }
    }

    /// The open entry: its fields, save / retire / close, and its history.
    fn kb_entry_ui(&mut self, ui: &mut egui::Ui) {
        let tz = self.config.station.time_zone;
        let code = self.config.station.code.clone();
        let Some(d) = &mut self.seat.kb_draft else {
            ui.heading("条目");
            weak(ui, "在左侧检索结果或待复核中点选一条，或按“新建条目”");
            return;
        };
        ui.horizontal(|ui| {
            if d.entry.id.is_empty() {
                ui.heading("新条目（保存后分配编号）");
            } else {
                ui.heading(format!("条目 {}", d.entry.id));
            }
            if let Some(v) = d.version {
                ui.label(RichText::new(format!("版本 {v}")).strong());
            }
            match d.entry.status {
                Status::Active => ui.label("在用"),
                Status::Retired => ui.label(RichText::new("已下架").color(RETIRED)),
            };
        });
        egui::Grid::new("kb-entry").num_columns(2).show(ui, |ui| {
            let e = &mut d.entry;
            let l = ui.label("标准问题");
            ui.add(egui::TextEdit::singleline(&mut e.question).desired_width(f32::INFINITY))
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("相似问法");
            ui.add(
                egui::TextEdit::multiline(&mut d.alternatives)
                    .desired_rows(3)
                    .desired_width(f32::INFINITY)
                    .hint_text("每行一种问法"),
            )
            .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("答案");
            ui.add(
                egui::TextEdit::multiline(&mut e.answer)
                    .desired_rows(8)
                    .desired_width(f32::INFINITY)
                    .hint_text("办理材料写在答案里，如：所需材料：身份证、户口簿。"),
            )
            .labelled_by(l.id);
            ui.end_row();
            for (label, text) in [
                ("部门", &mut e.department),
                ("领域", &mut e.domain),
                ("事项", &mut e.category),
            ] {
                let l = ui.label(label);
                ui.add(egui::TextEdit::singleline(text).desired_width(f32::INFINITY))
                    .labelled_by(l.id);
                ui.end_row();
            }
            if let Some(code) = &code {
                // 1+5+N: an entry for every station, or this station's own
                ui.label("适用范围");
                let own = code.clone();
                let mut shared = e.station.is_empty();
                let foreign = !shared && e.station != own;
                ui.add_enabled_ui(!foreign, |ui| {
                    let text = if foreign {
                        format!("{} 台专用", e.station)
                    } else {
                        format!("全市共享（不勾选：仅本台 {own}）")
                    };
                    if ui.checkbox(&mut shared, text).changed() {
                        e.station = if shared { String::new() } else { own };
                    }
                });
                ui.end_row();
            }
            let l = ui.label("标签");
            ui.add(
                egui::TextEdit::singleline(&mut d.tags)
                    .desired_width(f32::INFINITY)
                    .hint_text("用逗号或顿号分隔"),
            )
            .labelled_by(l.id);
            ui.end_row();
            for (label, date) in [
                ("生效日期", &mut e.effective),
                ("失效日期", &mut e.expiry),
                ("复核日期", &mut e.reviewed),
            ] {
                let l = ui.label(label);
                let mut text = date.clone().unwrap_or_default();
                let r = ui
                    .add(
                        egui::TextEdit::singleline(&mut text)
                            .desired_width(130.0)
                            .hint_text("YYYY-MM-DD"),
                    )
                    .labelled_by(l.id);
                if r.changed() {
                    // blank is "no date" (the seat drops it on save)
                    *date = Some(text);
                }
                ui.end_row();
            }
        });
        let (mut save, mut retire, mut close) = (false, false, false);
        ui.horizontal(|ui| {
            save = ui.button("保存（新版本）").clicked();
            let active = !d.entry.id.is_empty() && d.entry.status == Status::Active;
            retire = ui
                .add_enabled(active, egui::Button::new("下架"))
                .on_hover_text("不再出现在检索中（历史版本保留）")
                .clicked();
            close = ui.button("关闭").clicked();
        });
        self.kb_history_ui(ui, tz);
        if save {
            match self
                .kb_draft
                .as_ref()
                .map(|d| d.to_entry())
                .map(check_entry)
            {
                Some(Err(why)) => self.toast(why),
                Some(Ok(())) => self.save_kb_entry(),
                None => {}
            }
        }
        if retire {
            self.retire_kb_entry();
        }
        if close {
            self.seat.kb_draft = None;
        }
    }

    /// Every stored version of the open entry; a click shows its answer.
    fn kb_history_ui(&mut self, ui: &mut egui::Ui, tz: chrono_tz::Tz) {
        let Some(d) = &self.kb_draft else { return };
        if d.history.is_empty() {
            return;
        }
        ui.separator();
        ui.label(RichText::new(format!("历史版本 {} 个", d.history.len())).strong());
        let shown_id = egui::Id::unique("kb-history-shown");
        let mut shown = ui
            .data(|m| m.get_temp::<(String, u32)>(shown_id))
            .filter(|(id, _)| *id == d.entry.id)
            .map(|(_, v)| v);
        for v in &d.history {
            let text = format!(
                "版本 {} · {} · {}",
                v.version,
                local_time(&v.changed_at, tz),
                v.by
            );
            if ui
                .selectable_label(shown == Some(v.version), text)
                .clicked()
            {
                shown = if shown == Some(v.version) {
                    None
                } else {
                    Some(v.version)
                };
            }
        }
        match shown {
            Some(n) => {
                ui.data_mut(|m| m.insert_temp(shown_id, (d.entry.id.clone(), n)));
                if let Some(v) = d.history.iter().find(|v| v.version == n) {
                    egui::Frame::group(ui.style()).show(ui, |ui| {
                        ui.label(RichText::new(format!("版本 {n} 的答案（只读）")).weak());
                        ui.label(&v.entry.answer);
                    });
                }
            }
            None => ui.data_mut(|m| m.remove::<(String, u32)>(shown_id)),
        }
    }
}

/// What the runtime would refuse at once, said in Chinese before sending.
fn check_entry(e: airbridge_kb::Entry) -> Result<(), String> {
    if e.question.trim().is_empty() {
        return Err("标准问题为空".to_owned());
    }
    if e.answer.trim().is_empty() {
        return Err("答案为空".to_owned());
    }
    for (label, date) in [
        ("生效日期", &e.effective),
        ("失效日期", &e.expiry),
        ("复核日期", &e.reviewed),
    ] {
        if let Some(d) = date
            && airbridge_kb::edit::parse_date(d).is_none()
        {
            return Err(format!("{label}“{d}”不是日期（格式 YYYY-MM-DD）"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_reasons_read_in_chinese() {
        let r = ReviewReason::Expired {
            expiry: "2025-06-30".into(),
        };
        assert_eq!(reason_zh(&r), "已过期（2025-06-30）");
        let r = ReviewReason::ReviewDue { reviewed: None };
        assert_eq!(reason_zh(&r), "复核到期（从未复核）");
        let r = ReviewReason::Unanswered {
            asked: 3,
            best_score: 0.5,
        };
        assert_eq!(reason_zh(&r), "节目中未答 · 问过 3 次");
    }

    #[test]
    fn a_blank_answer_or_a_bad_date_is_said_before_sending() {
        let e = airbridge_kb::Entry {
            question: "社保卡丢了怎么办".into(),
            answer: "带身份证到网点补办。".into(),
            ..Default::default()
        };
        assert_eq!(check_entry(e.clone()), Ok(()));
        let blank = airbridge_kb::Entry {
            answer: "  ".into(),
            ..e.clone()
        };
        assert_eq!(check_entry(blank), Err("答案为空".to_owned()));
        let bad = airbridge_kb::Entry {
            expiry: Some("2026/1/1".into()),
            ..e
        };
        assert!(check_entry(bad).unwrap_err().contains("失效日期"));
    }

    #[test]
    fn a_version_time_reads_in_the_station_zone() {
        let tz = chrono_tz::Asia::Shanghai;
        assert_eq!(local_time("2026-11-26T02:00:00Z", tz), "2026-11-26 10:00");
        assert_eq!(local_time("yesterday", tz), "yesterday");
    }
}
