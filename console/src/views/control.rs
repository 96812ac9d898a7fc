//! 场控 (live-room control) view: what the audience sends, held for
//! approval, one key per decision — Y approve, N reject, U approve
//! everything that author has waiting, B block the author on every
//! channel — with how long each has waited; the questions already on the
//! screens (P pins the selected one for the host and the overlay) and the
//! block list (unblock).

use airbridge_runtime::Action;
use airbridge_show::ItemRef;
use egui::{Color32, RichText, ScrollArea};

use super::weak;
use crate::app::{ConsoleApp, fmt_secs};

impl ConsoleApp {
    pub(crate) fn control_keys(&mut self, ctx: &egui::Context) {
        use egui::{Key, Modifiers};
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let pressed = |k: Key| ctx.input_mut(|i| i.consume_key(Modifiers::NONE, k));
        let held = self.board.audience.held.len();
        if (pressed(Key::J) || pressed(Key::ArrowDown)) && held > 0 {
            self.selected_held = (self.selected_held + 1).min(held - 1);
        }
        if pressed(Key::K) || pressed(Key::ArrowUp) {
            self.selected_held = self.selected_held.saturating_sub(1);
        }
        if pressed(Key::Y) {
            self.approve_selected(false);
        }
        if pressed(Key::U) {
            self.approve_selected(true);
        }
        if pressed(Key::N) {
            self.reject_selected();
        }
        if pressed(Key::B) {
            self.block_selected();
        }
        if pressed(Key::P)
            && let Some(q) = self.board.audience.recent_questions.back()
        {
            let item = q
                .cluster
                .map_or_else(|| ItemRef::Message(q.id.clone()), ItemRef::Cluster);
            self.act(Action::Pin(item));
        }
    }

    pub(crate) fn control_ui(&mut self, ui: &mut egui::Ui) {
        let now = self.now_ms();
        ui.columns(2, |cols| {
            let ui = &mut cols[0];
            let held = self.seat.board.audience.held.clone();
            ui.heading(format!("待审留言 {} 条", held.len()));
            weak(
                ui,
                "Y 通过 · N 不通过 · U 通过此人全部 · B 拉黑此人 · J/K 选择",
            );
            if held.is_empty() {
                weak(
                    ui,
                    "没有待审的留言（studio.toml 的 [moderation] 设为 hold 的来源在此等候审核）",
                );
            }
            let selected = self.seat.selected_held.min(held.len().saturating_sub(1));
            ScrollArea::vertical().id_salt("held").show(ui, |ui| {
                for (i, h) in held.iter().enumerate() {
                    let waited = (now - h.at_ms) / 1000;
                    let colour = if waited > 60 {
                        Color32::from_rgb(255, 140, 90)
                    } else {
                        Color32::from_gray(200)
                    };
                    let text = format!(
                        "等待 {} · {} · {}：{}",
                        fmt_secs(waited),
                        h.source,
                        h.author,
                        h.text
                    );
                    let r = ui.selectable_label(i == selected, RichText::new(text).color(colour));
                    if r.clicked() {
                        self.seat.selected_held = i;
                    }
                }
            });
            ui.horizontal(|ui| {
                if ui.button("通过 Y").clicked() {
                    self.approve_selected(false);
                }
                if ui.button("不通过 N").clicked() {
                    self.reject_selected();
                }
                if ui.button("通过此人全部 U").clicked() {
                    self.approve_selected(true);
                }
                if ui.button("拉黑此人 B").clicked() {
                    self.block_selected();
                }
            });
            weak(
                ui,
                &format!(
                    "只留档（不通过、已拉黑）：{} 条",
                    self.seat.board.audience.hidden
                ),
            );

            let ui = &mut cols[1];
            ui.heading("已上屏的提问");
            weak(ui, "P 置顶最新一条（主持人与直播画面）");
            let recent: Vec<_> = self
                .seat
                .board
                .audience
                .recent_questions
                .iter()
                .rev()
                .take(12)
                .cloned()
                .collect();
            for q in recent {
                ui.horizontal_wrapped(|ui| {
                    ui.label(format!("{} · {}：{}", q.source, q.author, q.text));
                    if ui.small_button("置顶").clicked() {
                        let item = q
                            .cluster
                            .map_or_else(|| ItemRef::Message(q.id.clone()), ItemRef::Cluster);
                        self.act(Action::Pin(item));
                    }
                    if ui.small_button("书面答复").clicked() {
                        self.answer(&q.id, &q.text);
                    }
                    if !q.author_key.is_empty() && ui.small_button("拉黑").clicked() {
                        self.act(Action::Block {
                            item: ItemRef::Message(q.id.clone()),
                        });
                    }
                });
            }
            ui.separator();
            self.written_answer_ui(ui);
            ui.separator();
            let blocked: Vec<(String, String)> = self
                .seat
                .board
                .audience
                .blocked
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            ui.heading(format!("拉黑名单 {} 人", blocked.len()));
            for (key, label) in blocked {
                ui.horizontal(|ui| {
                    ui.label(label);
                    if ui.small_button("解除").clicked() {
                        self.act(Action::Unblock { author_key: key });
                    }
                });
            }
        });
    }
}

impl ConsoleApp {
    /// 场外应答: the question, the knowledge base's best answers (Alt+1–3
    /// puts one in the draft), the draft, and Ctrl+Enter to send — to the
    /// WeChat follower through the account, or kept for the summary.
    pub(crate) fn written_answer_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("书面答复（场外应答）");
        let Some((id, question)) = self.seat.answering.clone() else {
            weak(
                ui,
                "在提问旁点“书面答复”开始；微信留言经公众号客服消息发给提问人（48 小时内）",
            );
            return;
        };
        ui.label(RichText::new(format!("{id}：{question}")).strong());
        let hits: Vec<(String, String)> = self
            .seat
            .kb_results
            .as_ref()
            .map(|(_, h)| {
                h.iter()
                    .take(3)
                    .map(|x| (x.question.clone(), x.answer.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for (i, (q, _)) in hits.iter().enumerate() {
            if ui
                .small_button(format!("Alt+{} 用知识库答案：{q}", i + 1))
                .clicked()
            {
                self.use_kb_answer(i);
            }
        }
        let (alt, send) = ui.input_mut(|inp| {
            let mut alt = None;
            for (i, k) in [egui::Key::Num1, egui::Key::Num2, egui::Key::Num3]
                .into_iter()
                .enumerate()
            {
                if inp.consume_key(egui::Modifiers::ALT, k) {
                    alt = Some(i);
                }
            }
            (
                alt,
                inp.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter),
            )
        });
        if let Some(i) = alt {
            self.use_kb_answer(i);
        }
        ui.add(
            egui::TextEdit::multiline(&mut self.seat.answer_draft)
                .desired_rows(3)
                .hint_text("答复内容…")
                .desired_width(f32::INFINITY),
        );
        ui.horizontal(|ui| {
            if ui.button("发送答复 Ctrl+Enter").clicked() || send {
                self.send_answer();
            }
            if ui.button("取消").clicked() {
                self.seat.answering = None;
            }
        });
    }
}
