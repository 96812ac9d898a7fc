//! The three seats' views and the help overlay. Each view is an
//! `impl ConsoleApp` block: it draws the board and turns clicks and keys into
//! commands; no view waits on anything.

mod backoffice;
mod control;
mod guides;
mod help;
mod host;
mod kb_edit;
mod plan;
mod safety;
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

pub use airbridge_runtime::callers::mask_name;

/// Splits a policy answer into its body and the list of materials
/// (所需材料：A、B、C。), so the host can read the list at a glance.
pub fn answer_parts(answer: &str) -> (String, Vec<String>) {
    airbridge_kb::entry::answer_parts(answer)
}

/// A health component as the screener reads it: `audio/line2` → 线路 2.
pub fn component_zh(component: &str) -> String {
    let fixed = match component {
        "journal" => Some("节目日志"),
        "tickets" => Some("工单库"),
        "kb" => Some("知识库"),
        "studio" => Some("演播室配置"),
        "audio/engine" => Some("音频引擎"),
        "audio/output" => Some("播出声卡"),
        "audio/input" => Some("输入声卡"),
        "audio/host" => Some("话筒"),
        "audio/talkback" => Some("对讲"),
        "audio/hold" => Some("等待音"),
        "audio/cue" => Some("监听耳机"),
        "recording" => Some("录音"),
        "speech" => Some("语音转写"),
        "feeds" => Some("观众留言接入"),
        "feeds/douyin" => Some("抖音"),
        "feeds/wechat" => Some("微信公众号"),
        "feeds/bilibili" => Some("哔哩哔哩"),
        "feeds/relay" => Some("转发接入"),
        "feeds/sms" => Some("短信"),
        "feeds/replay" | "feeds/demo" => Some("留言回放"),
        "script" => Some("彩排脚本"),
        "runtime" => Some("运行时"),
        _ => None,
    };
    if let Some(f) = fixed {
        return f.to_owned();
    }
    let number = |rest: &str, prefix: &str| {
        rest.strip_prefix(prefix).and_then(|r| {
            let digits: String = r.chars().take_while(char::is_ascii_digit).collect();
            (!digits.is_empty()).then(|| (digits.clone(), r[digits.len()..].to_owned()))
        })
    };
    if let Some(rest) = component.strip_prefix("audio/") {
        if let Some((n, tail)) = number(rest, "line") {
            return match tail.as_str() {
                "-return" => format!("线路 {n} 回送"),
                "-send" => format!("线路 {n} 耦合器送出"),
                _ => format!("线路 {n}"),
            };
        }
        if let Some((n, _)) = number(rest, "mic") {
            return format!("话筒 {n}");
        }
        if let Some((n, _)) = number(rest, "output") {
            return format!("播出输出 {n}");
        }
    }
    component.to_owned()
}

/// Absolute paths in a detail shortened to their file names (the full
/// detail is on hover): `calls to /var/lib/…/recordings` → `calls to recordings`.
pub fn short_paths(detail: &str) -> String {
    detail
        .split(' ')
        .map(|w| {
            let (core, tail) = match w.find([')', ',', ';']) {
                Some(i) => w.split_at(i),
                None => (w, ""),
            };
            let (lead, path) = match core.find('/') {
                Some(i) if core[i..].len() > 1 && !core.contains("://") => core.split_at(i),
                _ => return w.to_owned(),
            };
            let name = std::path::Path::new(path)
                .file_name()
                .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned());
            format!("{lead}{name}{tail}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A health detail in Chinese where the words are the engine's own.
pub fn detail_zh(detail: &str) -> String {
    let known = [
        ("source ended", "信号已结束"),
        (
            "no audio from source; the program continues without it",
            "没有音频，节目照常进行",
        ),
        ("audio flows again", "音频已恢复"),
        ("stream ended", "流已结束"),
        ("speech-to-text has caught up", "语音转写已跟上"),
    ];
    for (en, zh) in known {
        if detail == en {
            return zh.to_owned();
        }
    }
    for (en, zh) in [
        ("starting: ", "启动中："),
        ("playing on ", "正在播出："),
        ("speech-to-text is behind by ", "语音转写落后（毫秒）"),
    ] {
        if let Some(rest) = detail.strip_prefix(en) {
            return format!("{zh}{rest}");
        }
    }
    detail.to_owned()
}

pub(crate) fn weak(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).weak());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_reads_in_chinese() {
        assert_eq!(component_zh("audio/line12"), "线路 12");
        assert_eq!(component_zh("audio/line2-return"), "线路 2 回送");
        assert_eq!(component_zh("audio/mic1"), "话筒 1");
        assert_eq!(component_zh("feeds/douyin"), "抖音");
        assert_eq!(component_zh("something/new"), "something/new");
        assert_eq!(detail_zh("source ended"), "信号已结束");
        assert_eq!(detail_zh("starting: model"), "启动中：model");
        assert_eq!(
            short_paths(
                "calls to /tmp/x/recordings, (file:/tmp/a b.wav) sqlite:/d/j.db http://127.0.0.1:8/x"
            ),
            "calls to recordings, (file:a b.wav) sqlite:j.db http://127.0.0.1:8/x"
        );
    }

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
