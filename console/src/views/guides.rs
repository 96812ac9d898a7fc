//! 办事攻略: compile a guide from the questions the show answered (on air
//! and in writing) over a period, edit each question and answer, export it
//! as HTML for a WeChat article and as a Word document.

use egui::{RichText, ScrollArea};

use super::weak;
use crate::app::ConsoleApp;

impl ConsoleApp {
    pub(crate) fn guides_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("办事攻略");
            ui.label("从");
            ui.add(
                egui::TextEdit::singleline(&mut self.seat.guide_from)
                    .hint_text("YYYY-MM-DD")
                    .desired_width(110.0),
            );
            ui.label("至");
            ui.add(
                egui::TextEdit::singleline(&mut self.seat.guide_to)
                    .hint_text("YYYY-MM-DD")
                    .desired_width(110.0),
            );
            if ui.button("生成").on_hover_text("默认近 7 天").clicked() {
                self.build_guide();
            }
            let has = self.seat.guide.is_some();
            if ui
                .add_enabled(has, egui::Button::new("导出（公众号 HTML + Word）"))
                .clicked()
            {
                self.export_guide();
            }
        });
        let Some(guide) = &mut self.seat.guide else {
            weak(
                ui,
                "按时段汇总节目中（直播与书面）已解答的问题，按主题分组，附所需材料与办理窗口。",
            );
            return;
        };
        ui.label(RichText::new(&guide.title).strong().size(20.0));
        if guide.is_empty() {
            weak(ui, "这段时间没有已解答的问题。");
            return;
        }
        let show_id = guide.show_id.clone();
        ScrollArea::vertical().show(ui, |ui| {
            let mut remove: Option<(usize, usize)> = None;
            for (ti, topic) in guide.topics.iter_mut().enumerate() {
                ui.add_space(8.0);
                ui.label(
                    RichText::new(format!("【{}】", topic.topic))
                        .size(19.0)
                        .strong(),
                );
                for (ii, item) in topic.items.iter_mut().enumerate() {
                    ui.group(|ui| {
                        ui.horizontal(|ui| {
                            ui.label("问");
                            ui.add(
                                egui::TextEdit::singleline(&mut item.question)
                                    .desired_width(f32::INFINITY),
                            );
                        });
                        ui.horizontal(|ui| {
                            ui.label("答");
                            ui.add(
                                egui::TextEdit::multiline(&mut item.answer)
                                    .desired_rows(2)
                                    .desired_width(f32::INFINITY),
                            );
                        });
                        if !item.materials.is_empty() {
                            ui.label(format!("所需材料：{}", item.materials.join("、")));
                        }
                        for d in &item.departments {
                            ui.label(format!("办理部门：{} {} {}", d.name, d.contact, d.hours));
                        }
                        ui.horizontal(|ui| {
                            weak(ui, &item.provenance(&show_id));
                            if ui.small_button("移除").clicked() {
                                remove = Some((ti, ii));
                            }
                        });
                    });
                }
            }
            if let Some((t, i)) = remove {
                guide.topics[t].items.remove(i);
                guide.topics.retain(|t| !t.items.is_empty());
            }
        });
    }
}
