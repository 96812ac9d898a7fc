//! The three seats' views and the help overlay. Each view is an
//! `impl ConsoleApp` block: it draws the board and turns clicks and keys into
//! commands; no view waits on anything.

mod backoffice;
mod help;
mod host;
mod screener;

use egui::{Color32, RichText, Stroke, Ui, vec2};

use crate::live::{FLOOR_DB, Level};

/// A horizontal level meter: RMS bar with the peak as a tick; green, amber
/// from -18 dBFS, red from -6 dBFS.
pub(crate) fn meter_ui(ui: &mut Ui, level: Level, width: f32) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(vec2(width, 12.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, Color32::from_gray(35));
    let frac = |db: f32| ((db - FLOOR_DB) / -FLOOR_DB).clamp(0.0, 1.0);
    let color = if level.peak_db > -6.0 {
        Color32::from_rgb(230, 60, 60)
    } else if level.peak_db > -18.0 {
        Color32::from_rgb(230, 190, 60)
    } else {
        Color32::from_rgb(70, 200, 110)
    };
    let mut bar = rect;
    bar.set_width(rect.width() * frac(level.rms_db));
    painter.rect_filled(bar, 2.0, color);
    let x = rect.left() + rect.width() * frac(level.peak_db);
    painter.line_segment(
        [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
        Stroke::new(2.0, Color32::WHITE),
    );
    response.on_hover_text(format!(
        "峰值 {:.1} dBFS · 均方根 {:.1} dBFS",
        level.peak_db, level.rms_db
    ))
}

/// Masks a name for on-air views: 张三 → 张*, 欧阳娜娜 → 欧阳**.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_owned(),
        2 => format!("{}*", chars[0]),
        3 => format!("{}**", chars[0]),
        n => format!(
            "{}{}",
            chars[..2].iter().collect::<String>(),
            "*".repeat(n - 2)
        ),
    }
}

/// Splits a policy answer into its body and the list of materials
/// (所需材料：A、B、C。), so the host can read the list at a glance.
pub fn answer_parts(answer: &str) -> (String, Vec<String>) {
    for marker in [
        "所需材料：",
        "所需材料:",
        "需要准备：",
        "需提供：",
        "需要材料：",
        "材料：",
    ] {
        if let Some(start) = answer.find(marker) {
            let rest = &answer[start + marker.len()..];
            let end = rest.find(['。', '\n']).unwrap_or(rest.len());
            let items: Vec<String> = rest[..end]
                .split(['、', '；', ';', '，', ','])
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            if !items.is_empty() {
                let mut body = answer[..start].trim_end().to_owned();
                let after = rest[end..].trim_start_matches(['。', '\n']).trim();
                if !after.is_empty() {
                    body.push_str(after);
                }
                return (body, items);
            }
        }
    }
    (answer.to_owned(), Vec::new())
}

pub(crate) fn weak(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).weak());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_for_air() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("李小明"), "李**");
        assert_eq!(mask_name("欧阳娜娜"), "欧阳**");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn materials_are_split_out_of_an_answer() {
        let (body, items) =
            answer_parts("可在窗口办理。所需材料：身份证、户口簿、申请表。办理时限5个工作日。");
        assert_eq!(items, ["身份证", "户口簿", "申请表"]);
        assert!(body.starts_with("可在窗口办理"));
        assert!(body.contains("办理时限5个工作日"));
        let (body, items) = answer_parts("没有材料清单的答案");
        assert!(items.is_empty());
        assert_eq!(body, "没有材料清单的答案");
    }
}
