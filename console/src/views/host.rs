//! Host view: large type, what the host needs while talking — who is on
//! air, what they just said, the best policy answers, pinned audience
//! questions, the clock and rundown, private messages from the producer.

use airbridge_show::{ItemRef, LineState, ShowEvent};
use egui::{Color32, RichText, ScrollArea};

use super::{answer_parts, mask_name, weak};
use crate::app::{ConsoleApp, fmt_secs, state_color};

const BIG: f32 = 30.0;
const TEXT: f32 = 22.0;

impl ConsoleApp {
    pub(crate) fn host_keys(&mut self, ctx: &egui::Context) {
        use egui::{Key, Modifiers};
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let pressed = |k: Key| ctx.input_mut(|i| i.consume_key(Modifiers::NONE, k));
        let shift = |k: Key| ctx.input_mut(|i| i.consume_key(Modifiers::SHIFT, k));
        let pinned = self.board.pinned.len();
        if pressed(Key::J) && pinned > 0 {
            self.selected_item = (self.selected_item + 1).min(pinned - 1);
        }
        if pressed(Key::K) {
            self.selected_item = self.selected_item.saturating_sub(1);
        }
        if shift(Key::X) {
            if let Some(item) = self.board.pinned.get(self.selected_item).cloned() {
                self.take_offline(item);
            }
        } else if pressed(Key::X)
            && let Some((_, view)) = self.board.on_air()
        {
            let item = ItemRef::Call(view.call_seq);
            self.take_offline(item);
        }
        if pressed(Key::W)
            && let Some(item) = self.board.pinned.get(self.selected_item).cloned()
        {
            self.send(ShowEvent::AnsweredOnAir { item });
        }
    }

    pub(crate) fn host_ui(&mut self, ui: &mut egui::Ui) {
        ui.columns(2, |cols| {
            self.host_left_ui(&mut cols[0]);
            self.host_right_ui(&mut cols[1]);
        });
    }

    fn host_left_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("直播来电");
        let now = self.now_ms();
        let mut offline = None;
        match self.board.on_air() {
            Some((line, view)) => {
                let note = view.note.clone().unwrap_or_default();
                let who = if note.name.is_empty() {
                    view.caller_masked.clone()
                } else {
                    format!("{} · {}", mask_name(&note.name), view.caller_masked)
                };
                ui.label(
                    RichText::new(format!("线路 {line} · {who} · {}", note.district))
                        .size(BIG)
                        .color(state_color(LineState::OnAir)),
                );
                ui.horizontal(|ui| {
                    ui.label(RichText::new(format!("话题：{}", note.topic)).size(24.0));
                    ui.label(
                        RichText::new(format!("通话 {}", fmt_secs((now - view.since_ms) / 1000)))
                            .size(24.0)
                            .monospace(),
                    );
                });
                if ui
                    .button(RichText::new("转线下处理（建工单） X").size(20.0))
                    .clicked()
                {
                    offline = Some(ItemRef::Call(view.call_seq));
                }
                ui.separator();
                ui.heading("实时转写");
                for t in view.transcript.iter().rev().take(5).rev() {
                    let text = RichText::new(&t.text).size(TEXT);
                    ui.label(if t.is_final {
                        text
                    } else {
                        text.italics().color(Color32::from_gray(160))
                    });
                }
                if view.transcript.is_empty() {
                    weak(ui, "（等待来电说话…）");
                }
            }
            None => {
                ui.label(RichText::new("当前没有来电在直播").size(BIG).weak());
            }
        }
        if let Some(item) = offline {
            self.take_offline(item);
        }
        ui.separator();
        self.host_answers_ui(ui);
    }

    fn host_answers_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("知识库参考答案");
        let Some(s) = self
            .board
            .suggestions
            .clone()
            .filter(|s| !s.hits.is_empty())
        else {
            weak(ui, "暂无建议：来电说完一句话后这里显示最相关的政策答案");
            return;
        };
        ui.label(RichText::new(format!("针对：“{}”", s.query)).weak());
        ScrollArea::vertical()
            .id_salt("host-answers")
            .max_height(ui.available_height() - 8.0)
            .show(ui, |ui| {
                for (i, hit) in s.hits.iter().take(3).enumerate() {
                    let entry = self
                        .kb
                        .as_ref()
                        .and_then(|kb| kb.entries.get(&hit.entry_id));
                    ui.label(
                        RichText::new(format!("{}. {}", i + 1, hit.question))
                            .size(TEXT)
                            .strong()
                            .color(Color32::from_rgb(140, 200, 255)),
                    );
                    if let Some(entry) = entry {
                        let (body, materials) = answer_parts(&entry.answer);
                        if i == 0 {
                            ui.label(RichText::new(body).size(20.0));
                        } else {
                            let short: String = body.chars().take(60).collect();
                            ui.label(RichText::new(format!("{short}…")).size(17.0));
                        }
                        if !materials.is_empty() {
                            ui.label(RichText::new("所需材料：").size(18.0).strong());
                            for m in materials {
                                ui.label(RichText::new(format!("  • {m}")).size(18.0));
                            }
                        }
                        ui.label(
                            RichText::new(format!(
                                "承办：{} · {}",
                                entry.department, entry.category
                            ))
                            .small()
                            .weak(),
                        );
                    }
                    ui.add_space(6.0);
                }
            });
    }

    fn host_right_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("置顶观众提问");
        if self.board.pinned.is_empty() {
            weak(ui, "暂无置顶问题");
        }
        let mut action = None;
        for (i, item) in self.board.pinned.clone().into_iter().enumerate() {
            let (text, count) = self.item_text(&item);
            let selected = i == self.selected_item;
            ui.horizontal(|ui| {
                ui.label(RichText::new(format!("×{count}")).size(20.0).strong());
                let t = RichText::new(text).size(TEXT);
                ui.label(if selected { t.underline() } else { t });
            });
            ui.horizontal(|ui| {
                if ui.button("已在节目中回答 W").clicked() {
                    action = Some((item.clone(), true));
                }
                if ui.button("转线下处理 Shift+X").clicked() {
                    action = Some((item.clone(), false));
                }
            });
        }
        match action {
            Some((item, true)) => self.send(ShowEvent::AnsweredOnAir { item }),
            Some((item, false)) => self.take_offline(item),
            None => {}
        }
        ui.separator();
        ui.heading("导播消息");
        if self.board.producer_messages.is_empty() {
            weak(ui, "暂无消息");
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
    }

    /// The show plan's rundown (as edited in 节目准备): the segment on air
    /// is the one started last, else the one the clock since 开播 is in.
    pub(crate) fn rundown_ui(&self, ui: &mut egui::Ui) {
        ui.heading("节目串联单");
        let plan = self.plan();
        let running = self
            .board
            .running_order(u64::try_from(self.now_ms()).unwrap_or(0));
        let started = running.as_ref().and_then(|r| r.current);
        let elapsed_min = self
            .board
            .opened_at_ms
            .map(|t| (self.now_ms() - t) / 60_000);
        let mut start = 0i64;
        for seg in &plan.segments {
            let end = start + i64::from(seg.minutes);
            let current = match started {
                Some(id) => id == seg.id,
                None => elapsed_min.is_some_and(|m| m >= start && m < end),
            };
            let text = RichText::new(format!("{:>3}′ {}", seg.minutes, seg.title));
            ui.label(if current {
                text.strong().color(Color32::from_rgb(255, 90, 90))
            } else {
                text
            });
            start = end;
        }
        if let Some(r) = running.filter(|r| r.current.is_some()) {
            ui.horizontal(|ui| {
                ui.label(RichText::new("累计超/欠时").weak());
                ui.label(super::plan::over_text(r.over_secs));
            });
        }
    }
}
