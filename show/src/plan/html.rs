//! The printable page of a plan (节目串联单): one self-contained HTML file
//! (no scripts, no external files) that prints on A4. Every piece of text
//! from the plan is escaped.

use std::fmt::Write as _;

use super::ShowPlan;
use super::running::RunningOrder;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `mm:ss`, or `h:mm:ss` from an hour on.
fn clock(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// `+mm:ss` over, `−mm:ss` under.
fn signed_clock(secs: i64) -> String {
    let sign = if secs > 0 {
        "+"
    } else if secs < 0 {
        "−"
    } else {
        "±"
    };
    format!("{sign}{}", clock(secs.unsigned_abs()))
}

const STYLE: &str = "\
body{font-family:\"Noto Sans CJK SC\",\"Microsoft YaHei\",\"PingFang SC\",sans-serif;margin:2em;color:#000}
h1{font-size:1.6em;margin:0}
.meta{color:#444;margin:.3em 0 1em}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #888;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eee}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.script td{border-top:none;white-space:pre-wrap;font-size:.95em;color:#222}
.over{color:#b00000;font-weight:bold}
.under{color:#006000}
h2{font-size:1.2em;margin-top:1.5em}
dl.phrases dt{font-weight:bold;float:left;width:3em}
dl.phrases dd{margin-left:3.5em;white-space:pre-wrap}
@media print{
@page{size:A4;margin:15mm}
body{margin:0}
th{background:none}
thead{display:table-header-group}
tr.segment{break-after:avoid;page-break-after:avoid}
tr{break-inside:avoid;page-break-inside:avoid}
}
";

/// The plan as a printable HTML page: the segments with their planned start
/// offsets and minutes, each script under its segment, the guests and the
/// emergency phrases; with the actual times when a running order is given.
pub fn to_html(
    plan: &ShowPlan,
    show_title: &str,
    date: &str,
    running: Option<&RunningOrder>,
) -> String {
    let title = escape(show_title);
    let date = escape(date);
    let mut h = String::with_capacity(4096);
    // `write!` to a String cannot fail.
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title} {date} 节目串联单</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <h1>{title} 节目串联单</h1>\n<p class=\"meta\">{date} · 计划 {} 分钟 · {} 个环节",
        plan.total_minutes(),
        plan.segments.len()
    );
    if let Some(r) = running {
        if let Some(start) = r.show_start_ms {
            let current = r
                .current
                .and_then(|id| plan.segment(id))
                .map_or_else(|| "—".to_owned(), |s| escape(&s.title));
            let _ = write!(
                h,
                " · 当前：{current} · 累计{} · 计划结束 +{} · 预计结束 +{}",
                over_span(r.over_secs),
                clock(r.planned_total_secs),
                clock(r.projected_end_ms.saturating_sub(start) / 1000),
            );
        } else {
            h.push_str(" · 尚未开始");
        }
    }
    h.push_str("</p>\n");

    let cols = if running.is_some() { 7 } else { 4 };
    h.push_str("<table>\n<thead><tr><th>#</th><th>计划开始</th><th>分钟</th><th>环节</th>");
    if running.is_some() {
        h.push_str("<th>实际开始</th><th>实际时长</th><th>超/欠时</th>");
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let mut offset_secs = 0u64;
    for (i, s) in plan.segments.iter().enumerate() {
        let _ = write!(
            h,
            "<tr class=\"segment\"><td class=\"num\">{}</td><td class=\"num\">+{}</td>\
             <td class=\"num\">{}</td><td>{}</td>",
            i + 1,
            clock(offset_secs),
            s.minutes,
            escape(&s.title)
        );
        offset_secs += u64::from(s.minutes) * 60;
        if let Some(r) = running {
            let row = r.segments.iter().find(|x| x.id == s.id);
            let start = row
                .and_then(|x| x.actual_start_ms.zip(r.show_start_ms))
                .map_or_else(String::new, |(at, t0)| {
                    format!("+{}", clock(at.saturating_sub(t0) / 1000))
                });
            let ran = row
                .and_then(|x| x.actual_secs)
                .map_or_else(String::new, clock);
            let over = row
                .and_then(|x| x.over_secs)
                .map_or_else(String::new, over_span);
            let _ = write!(
                h,
                "<td class=\"num\">{start}</td><td class=\"num\">{ran}</td><td class=\"num\">{over}</td>"
            );
        }
        h.push_str("</tr>\n");
        if !s.script.trim().is_empty() {
            let _ = writeln!(
                h,
                "<tr class=\"script\"><td></td><td colspan=\"{}\">{}</td></tr>",
                cols - 1,
                escape(&s.script)
            );
        }
    }
    h.push_str("</tbody>\n</table>\n");

    if !plan.guests.is_empty() {
        h.push_str(
            "<h2>嘉宾</h2>\n<table>\n<thead><tr><th>姓名</th><th>职务</th><th>单位</th></tr></thead>\n<tbody>\n",
        );
        for g in &plan.guests {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&g.name),
                escape(&g.title),
                escape(&g.department)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }

    if !plan.phrases.is_empty() {
        h.push_str("<h2>应急话术</h2>\n<dl class=\"phrases\">\n");
        // F2 … F12 in key order, not string order (F10 after F9).
        let mut phrases: Vec<_> = plan.phrases.iter().collect();
        phrases.sort_by_key(|(k, _)| (k.len(), k.as_str()));
        for (key, text) in phrases {
            let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", escape(key), escape(text));
        }
        h.push_str("</dl>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn over_span(secs: i64) -> String {
    let class = if secs > 0 { "over" } else { "under" };
    format!("<span class=\"{class}\">{}</span>", signed_clock(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Guest, PlanEdit, running_order};

    fn plan() -> ShowPlan {
        let mut p = ShowPlan::default();
        for (title, minutes) in [("开场", 5), ("访谈", 30), ("热线", 40)] {
            p.apply(&PlanEdit::AddSegment {
                after: None,
                title: title.into(),
                minutes,
            })
            .unwrap();
        }
        p.apply(&PlanEdit::EditSegment {
            id: 2,
            title: "访谈".into(),
            minutes: 30,
            script: "第一问：\n社保怎么转移？".into(),
        })
        .unwrap();
        p.apply(&PlanEdit::SetGuests(vec![Guest {
            name: "李明".into(),
            title: "副局长".into(),
            department: "市人社局".into(),
        }]))
        .unwrap();
        for (k, t) in [("F10", "十号"), ("F2", "稍等片刻")] {
            p.apply(&PlanEdit::SetPhrase {
                key: k.into(),
                text: Some(t.into()),
            })
            .unwrap();
        }
        p
    }

    #[test]
    fn the_page_lists_segments_offsets_scripts_guests_and_phrases() {
        let html = to_html(&plan(), "政风行风热线", "2025-03-14", None);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("@media print"));
        assert!(html.contains("政风行风热线 节目串联单"));
        assert!(html.contains("2025-03-14 · 计划 75 分钟 · 3 个环节"));
        // Planned offsets: 0, 5 and 35 minutes.
        for offset in ["+00:00", "+05:00", "+35:00"] {
            assert!(html.contains(&format!(">{offset}<")), "{offset}");
        }
        // The script comes right after its segment's row.
        let seg = html.find("<td>访谈</td>").unwrap();
        let script = html.find("第一问：\n社保怎么转移？").unwrap();
        let next = html.find("<td>热线</td>").unwrap();
        assert!(seg < script && script < next);
        assert!(html.contains("<td>李明</td><td>副局长</td><td>市人社局</td>"));
        assert!(html.find("<dt>F2</dt>").unwrap() < html.find("<dt>F10</dt>").unwrap());
        assert!(
            !html.contains("实际开始"),
            "no running columns without a running order"
        );
    }

    #[test]
    fn every_text_is_escaped() {
        let mut p = ShowPlan::default();
        let evil = "<script>alert('x')</script>&\"";
        p.apply(&PlanEdit::AddSegment {
            after: None,
            title: evil.into(),
            minutes: 1,
        })
        .unwrap();
        p.apply(&PlanEdit::EditSegment {
            id: 1,
            title: evil.into(),
            minutes: 1,
            script: evil.into(),
        })
        .unwrap();
        p.apply(&PlanEdit::SetGuests(vec![Guest {
            name: evil.into(),
            title: evil.into(),
            department: evil.into(),
        }]))
        .unwrap();
        p.apply(&PlanEdit::SetPhrase {
            key: "F3".into(),
            text: Some(evil.into()),
        })
        .unwrap();
        let html = to_html(&p, evil, evil, None);
        assert!(!html.contains("<script"), "{html}");
        let escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;";
        // show title twice (title, h1), date twice, segment title, script,
        // guest name, title, department, phrase.
        assert_eq!(html.matches(escaped).count(), 10, "{html}");
    }

    #[test]
    fn with_a_running_order_the_actual_times_are_shown() {
        let p = plan();
        let t0 = 1_700_000_000_000;
        // 开场 ran 6 minutes; 访谈 has run 10.
        let r = running_order(&p, &[(1, t0), (2, t0 + 360_000)], t0 + 960_000);
        let html = to_html(&p, "热线", "2025-03-14", Some(&r));
        assert!(html.contains("<th>实际开始</th>"));
        assert!(html.contains("当前：访谈"));
        assert!(html.contains("<td class=\"num\">+06:00</td><td class=\"num\">10:00</td>"));
        assert!(html.contains("<span class=\"over\">+01:00</span>"));
        assert!(html.contains("<span class=\"under\">−20:00</span>"));
        // Planned end 75 minutes after the start, projected one minute later.
        assert!(html.contains("计划结束 +1:15:00 · 预计结束 +1:16:00"));
        // A script row spans the running columns too.
        assert!(html.contains("<td colspan=\"6\">第一问"));

        let not_yet = running_order(&p, &[], t0);
        assert!(to_html(&p, "热线", "", Some(&not_yet)).contains("尚未开始"));
    }

    #[test]
    fn clocks_read_as_minutes_or_hours() {
        assert_eq!(clock(0), "00:00");
        assert_eq!(clock(3599), "59:59");
        assert_eq!(clock(3600 * 10 + 61), "10:01:01");
        assert_eq!(signed_clock(-100), "−01:40");
        assert_eq!(signed_clock(0), "±00:00");
    }
}
