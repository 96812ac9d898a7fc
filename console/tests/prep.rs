//! Show preparation and the knowledge-base editor, driven as a producer
//! would: by the labels on the buttons, against a real journal, ticket store
//! and knowledge base on disk, with the runtime deciding every edit. Image
//! snapshots (`plan.png`, `kb.png`) are compared with the committed ones in
//! `tests/snapshots/`; `UPDATE_SNAPSHOTS=1` rewrites them.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use airbridge_console::app::{ConsoleApp, Role as Seat_};
use airbridge_kb::Status;
use airbridge_show::ShowPlan;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

mod common;
use common::{NOW_MS, Spec, Station, click, step_until};

/// A seat over fresh stores (see `common::seat`).
fn seat(role: Seat_, with_kb: bool) -> (Harness<'static, ConsoleApp>, Station) {
    common::seat(Spec {
        with_kb,
        model_status: "",
        ..Spec::new(role)
    })
}

/// Replaces the text of the field labelled `label` (click, select all, type).
fn retype(h: &mut Harness<'_, ConsoleApp>, role: Role, label: &str, text: &str) {
    h.get_by_role_and_label(role, label).click();
    h.run_steps(2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_role_and_label(role, label).type_text(text);
    h.run_steps(2);
}

fn plan_of(a: &ConsoleApp) -> ShowPlan {
    a.model().plan()
}

#[test]
fn a_producer_edits_the_rundown_adds_a_segment_and_starts_it() {
    let (mut h, seat) = seat(Seat_::Screener, false);
    h.run_steps(3);
    click(&mut h, "节目准备");
    // The configured rundown, before anything is journaled.
    let first = plan_of(h.state()).segments[0].clone();
    assert_eq!(first.title, "开场 · 本期嘉宾介绍");
    click(&mut h, &first.title);

    retype(&mut h, Role::TextInput, "时长（分钟）", "5");
    retype(
        &mut h,
        Role::MultilineTextInput,
        "台本",
        "各位听众上午好，欢迎收听",
    );
    click(&mut h, "保存本段");
    step_until(&mut h, "the edited segment on the board", |a| {
        a.board()
            .plan
            .as_ref()
            .and_then(|p| p.segment(first.id))
            .is_some_and(|s| s.minutes == 5 && s.script == "各位听众上午好，欢迎收听")
    });

    // A new segment goes after the selected one.
    retype(&mut h, Role::TextInput, "新段标题", "连线记者");
    retype(&mut h, Role::TextInput, "新段时长（分钟）", "6");
    click(&mut h, "添加一段");
    step_until(&mut h, "the new segment", |a| {
        a.board()
            .plan
            .as_ref()
            .is_some_and(|p| p.segments.get(1).is_some_and(|s| s.title == "连线记者"))
    });
    let added = plan_of(h.state()).segments[1].clone();
    assert_eq!(added.minutes, 6);

    click(&mut h, "连线记者");
    click(&mut h, "开始本段");
    step_until(&mut h, "the segment on air", |a| {
        a.board()
            .running_order(NOW_MS as u64)
            .is_some_and(|r| r.current == Some(added.id))
    });
    assert!(h.query_by_label("▶ 2").is_some(), "row 2 marked on air");
    assert!(
        h.query_by_label_contains("正在播出：连线记者").is_some(),
        "the status line names it"
    );

    // The runtime saved the plan beside the journal.
    let file = seat.runtime.plan_file();
    let saved = ShowPlan::load(&file).unwrap().unwrap();
    assert_eq!(saved.segments[0].minutes, 5);
    assert_eq!(saved.segments[0].script, "各位听众上午好，欢迎收听");
    assert_eq!(saved.segments[1].title, "连线记者");
    let json = std::fs::read_to_string(&file).unwrap();
    assert!(json.contains("各位听众上午好，欢迎收听"), "{json}");

    h.run_steps(3);
    h.snapshot("plan");

    // 删除本段 asks for a second press.
    click(&mut h, "删除本段");
    assert!(h.query_by_label("再按一次确认删除").is_some());
    assert_eq!(plan_of(h.state()).segments.len(), 6, "not yet removed");
    click(&mut h, "再按一次确认删除");
    step_until(&mut h, "the segment removed", |a| {
        a.board()
            .plan
            .as_ref()
            .is_some_and(|p| p.segment(added.id).is_none())
    });

    // 打印预览 writes the printable rundown where exports go.
    click(&mut h, "打印预览");
    let exports = seat.runtime.paths().data_dir.join("exports");
    step_until(&mut h, "the page written", |_| {
        std::fs::read_dir(&exports).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "html"))
        })
    });
    let page = std::fs::read_dir(&exports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "html"))
        .expect("the printed plan");
    let html = std::fs::read_to_string(page).unwrap();
    assert!(html.contains("开场 · 本期嘉宾介绍"));

    // the host reads the edited rundown (5 minutes now, not the config's 3)
    click(&mut h, "主持人");
    assert!(
        h.query_by_label_contains("5′ 开场 · 本期嘉宾介绍")
            .is_some(),
        "the host's rundown is the plan"
    );
}

#[test]
fn a_producer_corrects_an_answer_found_by_initials_then_retires_it() {
    let (mut h, _seat) = seat(Seat_::Screener, true);
    step_until(&mut h, "the knowledge base", |a| a.model().kb_ready());
    click(&mut h, "知识库");
    retype(&mut h, Role::TextInput, "检索", "sbk");
    step_until(&mut h, "hits for sbk", |a| {
        a.model()
            .kb_hits()
            .iter()
            .any(|h| h.question.contains("社会保障卡"))
    });
    let hit = {
        let hits = h.state().model().kb_hits();
        hits.iter()
            .find(|h| h.question.contains("挂失补办"))
            .or_else(|| hits.iter().find(|h| h.question.contains("社会保障卡")))
            .unwrap()
            .clone()
    };
    click(&mut h, &hit.question);
    step_until(&mut h, "the entry open", |a| {
        a.model().kb_draft().is_some_and(|d| d.entry.id == hit.id)
    });
    let before = h.state().model().kb_draft().unwrap().version.unwrap();
    assert!(h.query_by_label(&format!("版本 {before}")).is_some());

    const NEW: &str = "社保卡丢了请带身份证到市民之家即时补办，工本费二十元。";
    retype(&mut h, Role::MultilineTextInput, "答案", NEW);
    click(&mut h, "保存（新版本）");
    step_until(&mut h, "the new version", |a| {
        a.model()
            .kb_draft()
            .is_some_and(|d| d.history.len() == 2 && d.version == Some(before + 1))
    });
    assert!(h.query_by_label(&format!("版本 {}", before + 1)).is_some());
    assert_eq!(h.state().model().kb_draft().unwrap().entry.answer, NEW);

    // A new search finds the new text.
    retype(&mut h, Role::TextInput, "检索", "sbk");
    step_until(&mut h, "the new answer in search", |a| {
        a.model()
            .kb_hits()
            .iter()
            .any(|h| h.id == hit.id && h.answer == NEW)
    });

    // An earlier version's answer is shown read-only on a click.
    let first = h
        .query_all_by_label_contains(&format!("版本 {before} ·"))
        .next()
        .unwrap()
        .rect();
    let second = h
        .query_all_by_label_contains(&format!("版本 {} ·", before + 1))
        .next()
        .unwrap()
        .rect();
    h.get_all_by_label_contains(&format!("版本 {before} ·"))
        .next()
        .unwrap()
        .click();
    h.run_steps(2);
    assert!(
        h.query_by_label(&format!("版本 {before} 的答案（只读）"))
            .is_some()
    );
    // when each version was stored is the wall clock's: masked
    h.run_steps(2);
    h.mask(first);
    h.mask(second);
    h.snapshot("kb");

    click(&mut h, "下架");
    step_until(&mut h, "retired", |a| {
        a.model()
            .kb_draft()
            .is_some_and(|d| d.entry.status == Status::Retired && d.history.len() == 3)
    });
    assert!(h.query_by_label("已下架").is_some());
    retype(&mut h, Role::TextInput, "检索", "sbk");
    step_until(&mut h, "the entry out of search", |a| {
        a.model().kb_hits().iter().all(|h| h.id != hit.id)
    });
}
