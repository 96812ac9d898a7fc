//! 办事攻略 guides: what the show answered — on air and in writing — over a
//! period, grouped by topic, each question with its answer, the materials
//! to bring (from the knowledge base) and where to go (the departments'
//! windows and hours), and where it came from (the show, the journal entry,
//! the tickets it became). Built from the journal, so any past period can
//! be compiled again; exported as HTML for a WeChat article (inline styles
//! only: the article editor drops style sheets) and as DOCX.

use std::collections::BTreeMap;
use std::path::Path;

use airbridge_configs::Department;
use airbridge_kb::{Entry, SearchIndex};
use airbridge_show::{ItemRef, Projection, ShowBoard, ShowEvent, StoredEvent};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A guide: topics, each with its questions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Guide {
    pub title: String,
    pub show_id: String,
    pub show_name: String,
    pub from: String,
    /// Inclusive.
    pub to: String,
    pub topics: Vec<GuideTopic>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuideTopic {
    pub topic: String,
    pub items: Vec<GuideItem>,
}

/// One answered question.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuideItem {
    pub question: String,
    pub answer: String,
    /// 所需材料, from the knowledge-base answer.
    pub materials: Vec<String>,
    /// Departments with their windows and hours.
    pub departments: Vec<GuideDepartment>,
    /// `on_air` or `in_writing`.
    pub answered: String,
    /// Local date it was answered.
    pub date: String,
    /// The journal entry of the answer (the link back to the show).
    pub journal_seq: u64,
    /// The knowledge-base entry the answer came from, if any.
    pub kb_id: Option<String>,
    /// Tickets made for the same question.
    pub tickets: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuideDepartment {
    pub name: String,
    pub contact: String,
    pub hours: String,
}

/// What a guide is built from besides the journal.
#[derive(Debug)]
pub struct GuideSources<'a> {
    pub show_id: &'a str,
    pub show_name: &'a str,
    pub tz: chrono_tz::Tz,
    pub kb: Option<&'a SearchIndex>,
    pub departments: &'a [Department],
}

/// Builds the guide of the questions answered from `from` to `to`
/// (inclusive, local dates) in `events` (a journal in order).
pub fn build(
    events: impl IntoIterator<Item = StoredEvent>,
    src: &GuideSources<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> Guide {
    let mut board = ShowBoard::default();
    // item → the tickets it became
    let mut tickets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut answered: Vec<(String, GuideItem)> = Vec::new();
    for ev in events {
        let date = DateTime::<Utc>::from_timestamp_millis(ev.at_ms)
            .map(|t| t.with_timezone(&src.tz).date_naive());
        let in_range = date.is_some_and(|d| d >= from && d <= to);
        let at = DateTime::<Utc>::from_timestamp_millis(ev.at_ms).unwrap_or_default();
        match &ev.event {
            ShowEvent::TicketCreated {
                ticket_id,
                item: Some(item),
                ..
            } => tickets
                .entry(item_key(item))
                .or_default()
                .push(ticket_id.clone()),
            ShowEvent::AnsweredOnAir { item } if in_range => {
                if let Some(q) = question(&board, item, at) {
                    let mut g = from_kb(src, &q, None);
                    g.answered = "on_air".into();
                    g.date = date.map(|d| d.to_string()).unwrap_or_default();
                    g.journal_seq = ev.seq;
                    answered.push((item_key(item), g));
                }
            }
            ShowEvent::AnsweredInWriting { item, text, .. } if in_range => {
                if let Some(q) = question(&board, item, at) {
                    let mut g = from_kb(src, &q, Some(text));
                    g.answered = "in_writing".into();
                    g.date = date.map(|d| d.to_string()).unwrap_or_default();
                    g.journal_seq = ev.seq;
                    answered.push((item_key(item), g));
                }
            }
            _ => {}
        }
        board.apply(&ev);
    }
    // one entry per question (the first answer), topics in order of size
    let mut topics: BTreeMap<String, Vec<GuideItem>> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for (key, mut item) in answered {
        if !seen.insert(item.question.clone()) {
            continue;
        }
        item.tickets = tickets.get(&key).cloned().unwrap_or_default();
        let topic = topic_of(src, &item);
        topics.entry(topic).or_default().push(item);
    }
    let mut topics: Vec<GuideTopic> = topics
        .into_iter()
        .map(|(topic, items)| GuideTopic { topic, items })
        .collect();
    topics.sort_by(|a, b| {
        b.items
            .len()
            .cmp(&a.items.len())
            .then(a.topic.cmp(&b.topic))
    });
    Guide {
        title: format!("{}办事攻略（{} 至 {}）", src.show_name, from, to),
        show_id: src.show_id.to_owned(),
        show_name: src.show_name.to_owned(),
        from: from.to_string(),
        to: to.to_string(),
        topics,
    }
}

fn item_key(item: &ItemRef) -> String {
    match item {
        ItemRef::Message(id) => format!("message:{id}"),
        ItemRef::Cluster(id) => format!("cluster:{id}"),
        ItemRef::Call(seq) => format!("call:{seq}"),
    }
}

/// The question as the board knew it when it was answered.
fn question(board: &ShowBoard, item: &ItemRef, at: DateTime<Utc>) -> Option<String> {
    airbridge_tickets::prefill::from_item(board, item, at)
        .map(|t| t.question.trim().to_owned())
        .filter(|q| !q.is_empty())
}

/// The guide entry for a question: the knowledge base's best answer (its
/// materials and department), or the written answer given.
fn from_kb(src: &GuideSources<'_>, question: &str, written: Option<&String>) -> GuideItem {
    let hit = src
        .kb
        .and_then(|kb| kb.search(question, 1).into_iter().next());
    let entry: Option<&Entry> = hit.as_ref().and_then(|h| {
        src.kb
            .and_then(|kb| kb.entries().iter().find(|e| e.id == h.id))
    });
    let (body, materials) = match (written, entry) {
        (Some(w), Some(e)) => {
            // the written answer is what the citizen got; the knowledge base
            // adds the checklist
            let (_, m) = airbridge_kb::entry::answer_parts(&e.answer);
            let (w_body, w_m) = airbridge_kb::entry::answer_parts(w);
            (w_body, if w_m.is_empty() { m } else { w_m })
        }
        (Some(w), None) => airbridge_kb::entry::answer_parts(w),
        (None, Some(e)) => airbridge_kb::entry::answer_parts(&e.answer),
        (None, None) => (String::new(), Vec::new()),
    };
    let departments = entry
        .map(|e| department(src.departments, &e.department))
        .into_iter()
        .collect();
    GuideItem {
        question: question.to_owned(),
        answer: body,
        materials,
        departments,
        kb_id: entry.map(|e| e.id.clone()),
        ..GuideItem::default()
    }
}

fn department(all: &[Department], name: &str) -> GuideDepartment {
    match all
        .iter()
        .find(|d| d.name == name || d.short_name == name || d.id == name)
    {
        Some(d) => GuideDepartment {
            name: d.name.clone(),
            contact: d.contact.clone(),
            hours: d.hours.clone(),
        },
        None => GuideDepartment {
            name: name.to_owned(),
            ..GuideDepartment::default()
        },
    }
}

fn topic_of(src: &GuideSources<'_>, item: &GuideItem) -> String {
    let entry = item.kb_id.as_ref().and_then(|id| {
        src.kb
            .and_then(|kb| kb.entries().iter().find(|e| &e.id == id))
    });
    match entry {
        Some(e) if !e.domain_or_category().is_empty() => e.domain_or_category().to_owned(),
        _ => "其他".to_owned(),
    }
}

/// HTML escaping, as the show plan's printable page does it.
use airbridge_show::plan::html::escape as esc;

impl Guide {
    /// Questions in the guide.
    pub fn len(&self) -> usize {
        self.topics.iter().map(|t| t.items.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// HTML to paste into a WeChat article: inline styles only, no scripts,
    /// no classes, everything escaped.
    pub fn to_html(&self) -> String {
        let mut h = String::new();
        h.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">");
        h.push_str(&format!("<title>{}</title></head>\n", esc(&self.title)));
        h.push_str(
            "<body style=\"margin:0;padding:16px;font-size:16px;line-height:1.75;color:#222;\">\n",
        );
        h.push_str(&format!(
            "<h1 style=\"font-size:22px;margin:0 0 8px;\">{}</h1>\n",
            esc(&self.title)
        ));
        h.push_str(&format!(
            "<p style=\"color:#888;font-size:14px;margin:0 0 16px;\">整理自《{}》{} 至 {} 节目中的解答，共 {} 问。</p>\n",
            esc(&self.show_name),
            esc(&self.from),
            esc(&self.to),
            self.len()
        ));
        for t in &self.topics {
            h.push_str(&format!(
                "<h2 style=\"font-size:19px;border-left:4px solid #c0392b;padding-left:8px;margin:24px 0 8px;\">{}</h2>\n",
                esc(&t.topic)
            ));
            for (i, it) in t.items.iter().enumerate() {
                h.push_str(&format!(
                    "<p style=\"font-weight:bold;margin:16px 0 4px;\">问{}：{}</p>\n",
                    i + 1,
                    esc(&it.question)
                ));
                if !it.answer.is_empty() {
                    h.push_str(&format!(
                        "<p style=\"margin:0 0 4px;\">答：{}</p>\n",
                        esc(&it.answer)
                    ));
                }
                if !it.materials.is_empty() {
                    h.push_str("<p style=\"margin:4px 0 0;\">所需材料：</p>\n<ul style=\"margin:0 0 4px;padding-left:24px;\">\n");
                    for m in &it.materials {
                        h.push_str(&format!("<li>{}</li>\n", esc(m)));
                    }
                    h.push_str("</ul>\n");
                }
                for d in &it.departments {
                    let mut line = format!("办理部门：{}", esc(&d.name));
                    if !d.contact.is_empty() {
                        line.push_str(&format!("；{}", esc(&d.contact)));
                    }
                    if !d.hours.is_empty() {
                        line.push_str(&format!("；{}", esc(&d.hours)));
                    }
                    h.push_str(&format!("<p style=\"margin:0 0 4px;\">{line}</p>\n"));
                }
                h.push_str(&format!(
                    "<p style=\"color:#999;font-size:13px;margin:0;\">{}</p>\n",
                    esc(&it.provenance(&self.show_id))
                ));
            }
        }
        h.push_str("</body></html>\n");
        h
    }

    /// Writes the guide as a Word document.
    pub fn write_docx(&self, path: &Path) -> Result<(), String> {
        let bytes = self.to_docx()?;
        std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The guide as a Word document, in memory.
    pub fn to_docx(&self) -> Result<Vec<u8>, String> {
        use docx_rs::{Docx, Paragraph, Run};
        let para = |text: &str, size: usize, bold: bool| {
            let mut run = Run::new().add_text(text).size(size);
            if bold {
                run = run.bold();
            }
            Paragraph::new().add_run(run)
        };
        let mut doc = Docx::new()
            .add_paragraph(para(&self.title, 36, true))
            .add_paragraph(para(
                &format!(
                    "整理自《{}》{} 至 {} 节目中的解答，共 {} 问。",
                    self.show_name,
                    self.from,
                    self.to,
                    self.len()
                ),
                20,
                false,
            ));
        for t in &self.topics {
            doc = doc.add_paragraph(para(&t.topic, 30, true));
            for (i, it) in t.items.iter().enumerate() {
                doc = doc.add_paragraph(para(&format!("问{}：{}", i + 1, it.question), 24, true));
                if !it.answer.is_empty() {
                    doc = doc.add_paragraph(para(&format!("答：{}", it.answer), 24, false));
                }
                if !it.materials.is_empty() {
                    doc = doc.add_paragraph(para("所需材料：", 24, false));
                    for m in &it.materials {
                        doc = doc.add_paragraph(para(&format!("· {m}"), 24, false));
                    }
                }
                for d in &it.departments {
                    let mut line = format!("办理部门：{}", d.name);
                    for extra in [&d.contact, &d.hours] {
                        if !extra.is_empty() {
                            line.push_str(&format!("；{extra}"));
                        }
                    }
                    doc = doc.add_paragraph(para(&line, 24, false));
                }
                doc = doc.add_paragraph(para(&it.provenance(&self.show_id), 18, false));
            }
        }
        let mut out = std::io::Cursor::new(Vec::new());
        doc.build()
            .pack(&mut out)
            .map_err(|e| format!("Word document: {e}"))?;
        Ok(out.into_inner())
    }
}

impl GuideItem {
    /// Where the answer came from: the show and journal entry, the tickets.
    pub fn provenance(&self, show_id: &str) -> String {
        let how = if self.answered == "in_writing" {
            "书面答复"
        } else {
            "节目中解答"
        };
        let mut s = format!(
            "来源：{show_id} 节目 {} {how}（日志 #{}）",
            self.date, self.journal_seq
        );
        if let Some(kb) = &self.kb_id {
            s.push_str(&format!("；知识库 {kb}"));
        }
        if !self.tickets.is_empty() {
            s.push_str(&format!("；工单 {}", self.tickets.join("、")));
        }
        s
    }
}

/// A date as a seat types it (`YYYY-MM-DD`), or a message saying it is not one.
pub(crate) fn typed_day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("“{s}”不是日期（YYYY-MM-DD）"))
}

impl crate::Runtime {
    /// [`Runtime::guide`](crate::Runtime::guide) for dates as a seat types
    /// them (`YYYY-MM-DD`), refused with a message when they are not dates.
    pub fn guide_between(&self, from: &str, to: &str) -> Result<Guide, String> {
        self.guide(typed_day(from)?, typed_day(to)?)
    }

    /// The guide of this show's journal from `from` to `to` (inclusive).
    pub fn guide(&self, from: NaiveDate, to: NaiveDate) -> Result<Guide, String> {
        let kb = match self.kb().try_get() {
            Some(Ok(kb)) => Some(kb),
            _ => None,
        };
        let config = self.config();
        let src = GuideSources {
            show_id: &config.show.id,
            show_name: &config.show.name,
            tz: config.station.time_zone,
            kb: kb.as_ref().map(|k| k.searcher.as_ref()),
            departments: &config.departments,
        };
        let events = self
            .journal()
            .replay(1)
            .map_err(|e| format!("日志读取失败：{e}"))?
            .filter_map(Result::ok);
        Ok(build(events, &src, from, to))
    }
}
