//! Screener / producer view: every line with its state, caller, waiting
//! time and level; screening notes; the on-air queue; repeat callers; the
//! triaged audience stream; a knowledge-base search box; feed and device
//! health; emergency phrases.

use airbridge_runtime::MixInput;
use airbridge_show::{ItemRef, LineState, ShowEvent};
use egui::{Color32, RichText, ScrollArea};

use super::{meter_ui, weak};
use crate::app::{ConsoleApp, fmt_secs, state_color};
use crate::backend::Command;

/// Line-state keys: (key, target, label).
pub(crate) const LINE_KEYS: [(egui::Key, LineState, &str); 6] = [
    (egui::Key::A, LineState::Screening, "接听筛选 A"),
    (egui::Key::H, LineState::Hold, "等待 H"),
    (egui::Key::R, LineState::Ready, "待播 R"),
    (egui::Key::O, LineState::OnAir, "上直播 O"),
    (egui::Key::D, LineState::Ended, "挂断 D"),
    (egui::Key::C, LineState::Idle, "清线 C"),
];

const URGENCY: [&str; 4] = ["一般", "较急", "紧急", "特急"];

impl ConsoleApp {
    pub(crate) fn screener_keys(&mut self, ctx: &egui::Context) {
        use egui::{Key, Modifiers};
        let ctrl = |k: Key| ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, k));
        if ctrl(Key::K) {
            self.focus_search = true;
        }
        if ctrl(Key::ArrowUp) {
            self.move_in_queue(-1);
        }
        if ctrl(Key::ArrowDown) {
            self.move_in_queue(1);
        }
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let pressed = |k: Key| ctx.input_mut(|i| i.consume_key(Modifiers::NONE, k));
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
        for (k, to, _) in LINE_KEYS {
            if pressed(k) {
                self.move_line(line, to);
            }
        }
        if pressed(Key::I) {
            self.ring_line(line);
        }
        if pressed(Key::N) {
            self.focus_note = true;
        }
        if pressed(Key::M) {
            self.focus_message = true;
        }
        if pressed(Key::Slash) {
            self.focus_search = true;
        }
        if pressed(Key::P) {
            self.sync_note_draft();
            self.note.note.private = !self.note.note.private;
            self.save_note();
        }
        if pressed(Key::U) {
            self.sync_note_draft();
            self.note.note.urgency = (self.note.note.urgency + 1) % 4;
            self.save_note();
        }
        if pressed(Key::T)
            && let Some(view) = self.board.lines.get(&line)
            && view.state != LineState::Idle
        {
            let item = ItemRef::Call(view.call_seq);
            self.take_offline(item);
        }
        let clusters = self.sorted_clusters();
        if pressed(Key::J) && !clusters.is_empty() {
            self.selected_item = (self.selected_item + 1).min(clusters.len() - 1);
        }
        if pressed(Key::K) {
            self.selected_item = self.selected_item.saturating_sub(1);
        }
        if let Some(&(id, _)) = clusters.get(self.selected_item) {
            let item = ItemRef::Cluster(id);
            if pressed(Key::F) {
                self.send(ShowEvent::Pinned { item });
            } else if pressed(Key::W) {
                self.send(ShowEvent::AnsweredOnAir { item });
            } else if pressed(Key::X) {
                self.take_offline(item);
            }
        }
    }

    pub(crate) fn screener_ui(&mut self, ui: &mut egui::Ui) {
        self.sync_note_draft();
        ui.columns(2, |cols| {
            ScrollArea::vertical()
                .id_salt("screener-left")
                .show(&mut cols[0], |ui| {
                    self.lines_ui(ui);
                    ui.separator();
                    self.mixer_ui(ui);
                    ui.separator();
                    self.note_ui(ui);
                    ui.separator();
                    self.producer_ui(ui);
                });
            ScrollArea::vertical()
                .id_salt("screener-right")
                .show(&mut cols[1], |ui| {
                    self.listening_ui(ui);
                    ui.separator();
                    self.audience_ui(ui);
                    ui.separator();
                    self.kb_search_ui(ui);
                    ui.separator();
                    self.health_ui(ui);
                });
        });
    }

    fn lines_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("线路");
        let now = self.now_ms();
        let meters = self.live.as_ref().filter(|l| l.has_meters()).map(|l| {
            (1..=self.config.show.lines)
                .map(|n| l.line(n))
                .collect::<Vec<_>>()
        });
        egui::Grid::new("lines")
            .striped(true)
            .num_columns(7)
            .show(ui, |ui| {
                for h in ["线路", "状态", "来电", "等候", "话题", "电平", "队列"] {
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
                    let idle = view.state == LineState::Idle;
                    ui.horizontal(|ui| {
                        ui.label(if idle {
                            "—".to_owned()
                        } else {
                            view.caller_masked.clone()
                        });
                        if !idle && self.board.repeat_caller(line).is_some() {
                            ui.label(
                                RichText::new("回头客")
                                    .small()
                                    .color(Color32::from_rgb(255, 200, 90)),
                            );
                        }
                        // telephone keys the caller pressed (DTMF)
                        if !idle && !view.keys.is_empty() {
                            ui.label(RichText::new(format!("按键 {}", view.keys)).small())
                                .on_hover_text("来电方在电话上按的键（RFC 4733）");
                        }
                    });
                    ui.label(if idle {
                        String::new()
                    } else {
                        fmt_secs((now - view.since_ms) / 1000)
                    });
                    let note = view.note.clone().unwrap_or_default();
                    let topic = RichText::new(&note.topic);
                    ui.label(if note.private {
                        topic.color(Color32::from_rgb(255, 120, 120))
                    } else {
                        topic
                    });
                    match &meters {
                        Some(m) => {
                            meter_ui(ui, m[usize::from(line) - 1], 90.0);
                        }
                        None => {
                            ui.label(RichText::new("—").weak());
                        }
                    }
                    let place = self.board.queue.iter().position(|l| *l == line);
                    ui.label(place.map(|p| format!("第{}位", p + 1)).unwrap_or_default());
                    ui.end_row();
                }
            });
        ui.add_space(6.0);
        let line = self.selected_line;
        let state = self.board.line_state(line);
        ui.label(format!("线路 {line}：{}", state.label_zh()));
        let refusal = self.on_air_refusal(line);
        ui.horizontal_wrapped(|ui| {
            let kind = self.line_kind(line);
            if ui
                .add_enabled(state == LineState::Idle, egui::Button::new("来电 I"))
                .on_hover_text(match kind {
                    Some("hybrid") => "耦合器来电灯亮时按下：线路振铃",
                    Some("rtp") => "网络线路在收到来电音频时自动振铃",
                    _ => "线路振铃（来电号码未知）",
                })
                .clicked()
            {
                self.ring_line(line);
            }
            for (_, to, label) in LINE_KEYS {
                let allowed =
                    state.check(to).is_ok() && !(to == LineState::OnAir && refusal.is_some());
                if ui.add_enabled(allowed, egui::Button::new(label)).clicked() {
                    self.move_line(line, to);
                }
            }
            let call = self
                .board
                .lines
                .get(&line)
                .filter(|v| v.state != LineState::Idle);
            if ui
                .add_enabled(call.is_some(), egui::Button::new("来电转线下 T"))
                .clicked()
                && let Some(v) = call
            {
                let item = ItemRef::Call(v.call_seq);
                self.take_offline(item);
            }
            if ui.button("队列上移 Ctrl+↑").clicked() {
                self.move_in_queue(-1);
            }
            if ui.button("队列下移 Ctrl+↓").clicked() {
                self.move_in_queue(1);
            }
        });
        if let Some(reason) = refusal {
            ui.label(RichText::new(reason).color(Color32::from_rgb(255, 120, 120)));
        }
        if let Some(history) = self.board.repeat_caller(line).cloned() {
            ui.label(
                RichText::new(format!("回头客：此号码共来电 {} 次", history.calls.len()))
                    .color(Color32::from_rgb(255, 200, 90)),
            );
            let tz = self.config.station.time_zone;
            for (seq, at, topic) in history.calls.iter().rev().skip(1).take(3) {
                let when = chrono::DateTime::from_timestamp_millis(*at)
                    .map(|t| t.with_timezone(&tz).format("%m-%d %H:%M").to_string())
                    .unwrap_or_default();
                ui.label(RichText::new(format!("  {when} 来电 #{seq} {topic}")).small());
            }
            for id in &history.tickets {
                let state = self
                    .board
                    .tickets
                    .get(id)
                    .map_or("（状态见后台）".to_owned(), |t| t.state.clone());
                ui.label(RichText::new(format!("  工单 {id} · {state}")).small());
            }
        }
    }

    /// Faders and mutes of the studio's lines and the host microphones.
    fn mixer_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("调音台");
        if !self.link.has_audio() {
            weak(
                ui,
                "本台未配置音频（studio.toml）：没有推子。用 airbridge studio init 生成配置。",
            );
            return;
        }
        let mut inputs: Vec<(MixInput, String)> = vec![(MixInput::Host, "话筒".to_owned())];
        for info in &self.line_info {
            let kind = match info.kind.as_str() {
                "hybrid" => "耦合器",
                "rtp" => "网络",
                "file" => "彩排",
                other => other,
            };
            inputs.push((
                MixInput::Line(info.number),
                format!("线路 {}（{kind}）", info.number),
            ));
        }
        egui::Grid::new("mixer").num_columns(4).show(ui, |ui| {
            for (input, label) in inputs {
                let (mut fader, mut mute) = self.mix_of(input);
                let name = ui.label(label);
                ui.horizontal(|ui| {
                    let slider = ui
                        .add(egui::Slider::new(&mut fader, 0.0..=1.0).show_value(false))
                        .labelled_by(name.id);
                    if slider.changed() || slider.drag_stopped() {
                        let commit = slider.drag_stopped() || !slider.dragged();
                        self.set_mix(input, fader, mute, commit);
                    }
                    let db = if fader <= 0.0005 {
                        "-∞ dB".to_owned()
                    } else {
                        format!("{:.1} dB", 20.0 * fader.log10())
                    };
                    ui.label(RichText::new(db).monospace().small());
                });
                if ui.checkbox(&mut mute, "静音").changed() {
                    self.set_mix(input, fader, mute, true);
                }
                match (input, self.live.as_ref().filter(|l| l.has_meters())) {
                    (MixInput::Line(n), Some(live)) => {
                        meter_ui(ui, live.line(n), 90.0);
                    }
                    (MixInput::Host, Some(live)) => {
                        meter_ui(ui, live.program(), 90.0).on_hover_text("播出电平");
                    }
                    _ => {
                        ui.label("");
                    }
                }
                ui.end_row();
            }
        });
    }

    fn note_ui(&mut self, ui: &mut egui::Ui) {
        let line = self.selected_line;
        ui.heading(format!("来电记录 · 线路 {line}（N 填写，Enter 保存）"));
        let idle = self.board.line_state(line) == LineState::Idle;
        let mut save = false;
        ui.add_enabled_ui(!idle, |ui| {
            egui::Grid::new("note").num_columns(2).show(ui, |ui| {
                let label = ui.label("姓名");
                let name = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.note.note.name)
                            .hint_text("上直播时自动打码")
                            .desired_width(220.0),
                    )
                    .labelled_by(label.id);
                if self.focus_note {
                    name.request_focus();
                    self.focus_note = false;
                }
                save |= name.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.end_row();
                let label = ui.label("区县");
                let r = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.note.note.district)
                            .desired_width(220.0),
                    )
                    .labelled_by(label.id);
                save |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.end_row();
                let label = ui.label("话题");
                let r = ui
                    .add(egui::TextEdit::singleline(&mut self.note.note.topic).desired_width(320.0))
                    .labelled_by(label.id);
                save |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.end_row();
                ui.label("紧急程度 U");
                ui.horizontal(|ui| {
                    for (i, label) in URGENCY.iter().enumerate() {
                        ui.radio_value(&mut self.note.note.urgency, i as u8, *label);
                    }
                });
                ui.end_row();
                ui.label("隐私 P");
                ui.checkbox(&mut self.note.note.private, "涉及个人隐私（不上直播）");
                ui.end_row();
            });
            if ui.button("保存记录").clicked() {
                save = true;
            }
        });
        if save {
            self.save_note();
        }
    }

    fn producer_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("发给主持人 M");
        ui.horizontal(|ui| {
            let edit = ui.add(
                egui::TextEdit::singleline(&mut self.producer_draft)
                    .hint_text("私信内容…")
                    .desired_width(360.0),
            );
            if self.focus_message {
                edit.request_focus();
                self.focus_message = false;
            }
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("发送").clicked() || enter) && !self.producer_draft.trim().is_empty() {
                let text = std::mem::take(&mut self.producer_draft);
                self.send(ShowEvent::ProducerMessage { text });
            }
        });
        ui.heading("应急话术");
        for (key, phrase) in &self.config.show.emergency_phrases {
            ui.label(format!("{key}  {phrase}"));
        }
    }

    fn audience_ui(&mut self, ui: &mut egui::Ui) {
        let a = &self.board.audience;
        let sources: Vec<String> = a
            .by_source
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        ui.heading(format!("观众提问（共 {} 条消息）", a.total));
        if !sources.is_empty() {
            ui.label(RichText::new(sources.join(" · ")).small().weak());
        }
        let clusters = self.sorted_clusters();
        if clusters.is_empty() {
            weak(ui, "暂无观众提问");
        }
        self.selected_item = self.selected_item.min(clusters.len().saturating_sub(1));
        let mut action: Option<(ItemRef, u8)> = None;
        ScrollArea::vertical()
            .id_salt("clusters")
            .max_height(250.0)
            .show(ui, |ui| {
                for (i, (id, _)) in clusters.iter().take(60).enumerate() {
                    let Some(c) = self.board.audience.clusters.get(id) else {
                        continue;
                    };
                    let item = ItemRef::Cluster(*id);
                    let done = self.board.answered.contains(&item);
                    let pinned = self.board.pinned.contains(&item);
                    let selected = i == self.selected_item;
                    ui.horizontal(|ui| {
                        let count = RichText::new(format!("×{}", c.count)).strong();
                        ui.label(if selected {
                            count.color(Color32::from_rgb(120, 190, 255))
                        } else {
                            count
                        });
                        let text = RichText::new(&c.example);
                        ui.label(if done {
                            text.strikethrough().weak()
                        } else if pinned {
                            text.color(Color32::from_rgb(255, 210, 120))
                        } else {
                            text
                        });
                        let srcs: Vec<&str> = c.sources.iter().map(String::as_str).collect();
                        ui.label(RichText::new(srcs.join("/")).small().weak());
                    });
                    ui.horizontal(|ui| {
                        if ui
                            .add_enabled(!pinned && !done, egui::Button::new("置顶").small())
                            .clicked()
                        {
                            action = Some((item.clone(), 0));
                        }
                        if ui
                            .add_enabled(!done, egui::Button::new("已回答").small())
                            .clicked()
                        {
                            action = Some((item.clone(), 1));
                        }
                        if ui.add(egui::Button::new("转线下").small()).clicked() {
                            action = Some((item.clone(), 2));
                        }
                    });
                }
            });
        match action {
            Some((item, 0)) => self.send(ShowEvent::Pinned { item }),
            Some((item, 1)) => self.send(ShowEvent::AnsweredOnAir { item }),
            Some((item, _)) => self.take_offline(item),
            None => {}
        }
        ui.label(RichText::new("最新提问").strong());
        for m in self.board.audience.recent_questions.iter().rev().take(5) {
            ui.label(RichText::new(format!("[{}] {}：{}", m.source, m.author, m.text)).small());
        }
    }

    /// What the selected caller (else the one on air) is saying, and the
    /// knowledge base's latest suggestion.
    fn listening_ui(&mut self, ui: &mut egui::Ui) {
        let selected = self
            .board
            .lines
            .get(&self.selected_line)
            .filter(|v| !v.transcript.is_empty())
            .map(|v| (self.selected_line, v));
        let Some((line, view)) = selected.or_else(|| {
            self.board
                .on_air()
                .filter(|(_, v)| !v.transcript.is_empty())
                .map(|(l, v)| (*l, v))
        }) else {
            ui.heading("通话转写");
            weak(ui, "暂无转写（来电说话时这里实时显示）");
            return;
        };
        ui.heading(format!("通话转写 · 线路 {line}"));
        for t in view.transcript.iter().rev().take(3).rev() {
            let text = RichText::new(&t.text);
            ui.label(if t.is_final {
                text
            } else {
                text.italics().color(Color32::from_gray(160))
            });
        }
        if let Some(s) = self
            .board
            .suggestions
            .as_ref()
            .filter(|s| !s.hits.is_empty())
        {
            ui.label(RichText::new("知识库建议").strong());
            for (i, hit) in s.hits.iter().take(3).enumerate() {
                ui.label(
                    RichText::new(format!("{}. {}", i + 1, hit.question))
                        .color(Color32::from_rgb(140, 200, 255)),
                );
            }
        }
    }

    fn kb_search_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("知识库检索 Ctrl+K");
        let edit = ui.add(
            egui::TextEdit::singleline(&mut self.kb_query)
                .hint_text("输入关键词，如：公积金 提取")
                .desired_width(f32::INFINITY),
        );
        if self.focus_search {
            edit.request_focus();
            self.focus_search = false;
        }
        if edit.changed() && !self.kb_query.trim().is_empty() {
            let query = self.kb_query.trim().to_owned();
            self.command(Command::KbSearch { query });
        }
        if self.kb.is_none() {
            weak(ui, "知识库加载中…");
            return;
        }
        let Some((query, hits)) = &self.kb_results else {
            return;
        };
        if hits.is_empty() {
            weak(ui, &format!("“{query}”没有找到答案"));
        }
        for hit in hits.iter().take(5) {
            ui.label(RichText::new(&hit.question).strong());
            let snippet: String = hit.snippet.chars().take(80).collect();
            ui.label(RichText::new(format!("{snippet} —— {}", hit.department)).small());
        }
    }

    fn health_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("信号源与设备");
        if let Some(live) = self.live.as_ref().filter(|l| l.has_meters()) {
            ui.horizontal(|ui| {
                ui.label("播出");
                meter_ui(ui, live.program(), 160.0);
                ui.label("监听");
                meter_ui(ui, live.cue(), 160.0);
            });
            let l = live.loudness();
            ui.label(
                RichText::new(format!(
                    "响度 M {:.1} LUFS · S {:.1} LUFS",
                    l.momentary, l.short_term
                ))
                .small(),
            );
        }
        if self.board.health.is_empty() {
            weak(ui, "暂无信号源状态");
        }
        for (component, (ok, detail)) in &self.board.health {
            let (color, state) = if *ok {
                (Color32::from_rgb(80, 200, 120), "正常")
            } else {
                (Color32::RED, "故障")
            };
            ui.label(
                RichText::new(format!(
                    "● {} {state}  {}",
                    super::component_zh(component),
                    super::short_paths(&super::detail_zh(detail))
                ))
                .small()
                .color(color),
            )
            .on_hover_text(format!("{component}: {detail}"));
        }
    }
}
