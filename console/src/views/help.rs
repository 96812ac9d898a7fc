//! The F1 overlay: every shortcut of every seat, generated from the same
//! tables the key handlers use where possible.

use egui::RichText;

use super::screener::LINE_KEYS;
use crate::app::ConsoleApp;

impl ConsoleApp {
    /// All shortcuts as (keys, what they do).
    pub fn shortcuts(&self) -> Vec<(String, String)> {
        let mut rows: Vec<(String, String)> = [
            ("F1 / Esc", "显示 / 关闭帮助"),
            ("Ctrl+1 / 2 / 3", "切换座席：主持人 / 导播 / 后台"),
            ("主持人 X", "当前来电转线下处理（建工单）"),
            ("主持人 J / K", "选择下一个 / 上一个置顶问题"),
            ("主持人 W", "所选置顶问题已在节目中回答"),
            ("主持人 Shift+X", "所选置顶问题转线下处理"),
            ("导播 1 … 8", "选择线路"),
            ("导播 I", "所选线路来电（耦合器来电灯亮时）：振铃"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        for (key, to, _) in LINE_KEYS {
            rows.push((
                format!("导播 {}", key.name()),
                format!("所选线路：{}", to.label_zh()),
            ));
        }
        rows.extend(
            [
                ("导播 T", "所选线路的来电转线下处理（建工单）"),
                ("导播 N", "填写来电记录（Enter 保存）"),
                ("导播 P", "切换隐私标记（隐私问题不上直播）"),
                ("导播 U", "切换紧急程度"),
                ("导播 Ctrl+↑ / Ctrl+↓", "所选线路在待播队列中上移 / 下移"),
                ("导播 M", "给主持人发私信"),
                ("导播 Ctrl+K 或 /", "知识库检索"),
                ("导播 J / K", "选择下一个 / 上一个观众问题组"),
                ("导播 F", "置顶所选问题组到主持人屏幕"),
                ("导播 W", "所选问题组已在节目中回答"),
                ("导播 X", "所选问题组转线下处理（建工单）"),
                ("后台 Ctrl+R", "刷新工单队列"),
                ("后台 Ctrl+E", "导出近 30 天工单（Excel）"),
                (
                    "主持 / 导播 / 场控 Ctrl+D",
                    "删除 DUMP：延时中刚说的内容不播出",
                ),
                ("任何座席 Ctrl+P", "节目准备：串联单、台本、嘉宾、应急话术"),
                (
                    "任何座席 Ctrl+B",
                    "知识库：检索（可打拼音首字母）、编辑、下架、待复核",
                ),
                (
                    "任何座席 Ctrl+G",
                    "办事攻略：按时段汇总已解答问题，导出公众号 HTML 与 Word",
                ),
                ("任何座席 Ctrl+0", "回到本座席"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned())),
        );
        rows.extend(
            self.plan()
                .phrases
                .into_keys()
                .map(|k| (k, "发送应急话术给主持人（任何座席）".to_owned())),
        );
        rows
    }

    pub(crate) fn help_ui(&mut self, ctx: &egui::Context) {
        let rows = self.shortcuts();
        egui::Window::new("快捷键 (F1)")
            .collapsible(false)
            .default_width(560.0)
            .show(ctx, |ui| {
                egui::ScrollArea::vertical()
                    .max_height(640.0)
                    .show(ui, |ui| {
                        egui::Grid::new("help")
                            .num_columns(2)
                            .striped(true)
                            .show(ui, |ui| {
                                for (k, what) in rows {
                                    ui.label(RichText::new(k).monospace());
                                    ui.label(what);
                                    ui.end_row();
                                }
                            });
                    });
            });
    }
}
