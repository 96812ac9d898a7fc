//! On-air safety, above every on-air seat: the broadcast delay (how much,
//! building / full / dumped, the dump button) and the speech worker's flags
//! with the seconds left to dump. A new flag sounds once.

use egui::{Color32, RichText};

use crate::app::{ConsoleApp, Role};

/// How long a flag stays in the strip.
const FLAG_SHOWN_MS: i64 = 120_000;

impl ConsoleApp {
    pub(crate) fn safety_ui(&mut self, ui: &mut egui::Ui) {
        let on_air_seat = matches!(self.role, Some(Role::Host | Role::Screener | Role::Control));
        if !on_air_seat {
            return;
        }
        if self.seat.new_flag().is_some()
            && let Err(e) = self.playback.alert()
        {
            // no sound device: the strip shows the flag all the same
            tracing::debug!("alert sound: {e}");
        }
        let delay = self.live.as_ref().and_then(crate::live::Live::delay);
        let now = self.now_ms();
        let flag = self
            .board
            .flags
            .back()
            .filter(|f| now - f.at_ms < FLAG_SHOWN_MS)
            .cloned();
        if delay.is_none() && flag.is_none() {
            return;
        }
        let producer = matches!(self.role, Some(Role::Screener | Role::Control));
        egui::Panel::top("safety").show(ui, |ui| {
            ui.horizontal(|ui| {
                if let Some(d) = delay {
                    let color = match d.mode {
                        airbridge_media::DelayMode::Full => Color32::from_rgb(120, 220, 140),
                        airbridge_media::DelayMode::Building => Color32::from_rgb(255, 200, 80),
                        airbridge_media::DelayMode::Exiting => Color32::from_rgb(160, 180, 255),
                        airbridge_media::DelayMode::Off => Color32::GRAY,
                    };
                    ui.label(
                        RichText::new(format!(
                            "延时 {:.1} / {:.0} 秒 · {}",
                            f64::from(d.now_ms) / 1000.0,
                            f64::from(d.target_ms) / 1000.0,
                            d.mode.zh()
                        ))
                        .size(18.0)
                        .color(color),
                    );
                    let dump = egui::Button::new(
                        RichText::new("删除 DUMP")
                            .size(18.0)
                            .strong()
                            .color(Color32::WHITE),
                    )
                    .fill(Color32::from_rgb(170, 30, 30));
                    if ui
                        .add_enabled(d.now_ms > 0, dump)
                        .on_hover_text("Ctrl+D：刚说的内容不播出")
                        .clicked()
                    {
                        self.dump();
                    }
                    if d.dumps > 0 {
                        ui.label(RichText::new(format!("已删除 {} 次", d.dumps)).weak());
                    }
                    if producer {
                        let exiting = matches!(
                            d.mode,
                            airbridge_media::DelayMode::Exiting | airbridge_media::DelayMode::Off
                        );
                        let (label, exit) = if exiting {
                            ("恢复延时", false)
                        } else {
                            ("退出延时", true)
                        };
                        if ui
                            .button(label)
                            .on_hover_text("节目结束前把延时缩到零（或重新建立）")
                            .clicked()
                        {
                            self.delay_exit(exit);
                        }
                    }
                    ui.separator();
                }
                if let Some(f) = &flag {
                    let kinds: Vec<&str> = f
                        .kinds
                        .iter()
                        .map(|k| airbridge_runtime::flags::kind_zh(k))
                        .collect();
                    let when = match f.dump_within_secs {
                        Some(s) if f.on_air => {
                            let left = f64::from(s) - (now - f.at_ms) as f64 / 1000.0;
                            if left > 0.0 {
                                format!("{left:.0} 秒内可删除")
                            } else {
                                "已播出".to_owned()
                            }
                        }
                        _ if f.on_air => "直播中（无延时）".to_owned(),
                        _ => "接听中，未上直播".to_owned(),
                    };
                    ui.label(
                        RichText::new(format!("⚠ 线路 {}：{} — {when}", f.line, kinds.join("、")))
                            .size(18.0)
                            .strong()
                            .color(Color32::from_rgb(255, 90, 90)),
                    );
                    ui.label(RichText::new(&f.text).weak());
                }
            });
        });
    }
}
