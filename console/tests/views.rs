//! The console's views driven as a person would: by the labels on the
//! buttons, against a real journal, ticket store and knowledge base on disk.
//! Image snapshots of each seat are compared with the committed ones in
//! `tests/snapshots/` (software rendering; thresholds set once, in
//! [`snapshot_options`]). `UPDATE_SNAPSHOTS=1` rewrites them.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use airbridge_console::app::{ConsoleApp, Role as Seat_};
use airbridge_show::{CallerNote, ItemRef, Journal, KbHit, LineState, MessageKind, ShowEvent};
use airbridge_tickets::{SqliteStore, TicketState};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};

mod common;
use common::{Spec, Station, click, step_until};

/// A seat over fresh stores (see `common::seat`).
fn seat(role: Seat_, with_kb: bool) -> (Harness<'static, ConsoleApp>, Station) {
    common::seat(Spec {
        with_kb,
        ..Spec::new(role)
    })
}

/// A seat over fresh stores and, with `studio`, a studio.toml's audio
/// engine (on its internal clock).
fn seat_with_studio(
    role: Seat_,
    with_kb: bool,
    studio: Option<&dyn Fn(&std::path::Path) -> String>,
) -> (Harness<'static, ConsoleApp>, Station) {
    common::seat(Spec {
        with_kb,
        studio,
        ..Spec::new(role)
    })
}

fn ring(journal: &Journal, line: u8, number_masked: &str, key: &str) -> u64 {
    journal
        .append(
            "phone",
            ShowEvent::CallRang {
                line,
                caller_masked: number_masked.into(),
                caller_key: key.into(),
            },
        )
        .unwrap()
}

fn said(journal: &Journal, line: u8, utterance: u64, text: &str) {
    journal
        .append(
            "speech",
            ShowEvent::TranscriptSegment {
                line,
                utterance,
                text: text.into(),
                start_ms: 0,
                end_ms: 4000,
                is_final: true,
            },
        )
        .unwrap();
}

fn states(journal: &Journal, line: u8) -> Vec<LineState> {
    journal
        .replay(1)
        .unwrap()
        .filter_map(|e| match e.unwrap().event {
            ShowEvent::LineStateChanged { line: l, to, .. } if l == line => Some(to),
            _ => None,
        })
        .collect()
}

#[test]
fn screen_a_caller_put_them_on_air_and_take_the_question_offline() {
    let (mut h, seat) = seat(Seat_::Screener, false);
    let call = ring(&seat.journal, 1, "139****0001", "caller-a");
    said(&seat.journal, 1, 1, "我想问一下退休以后公积金怎么提取");
    step_until(&mut h, "the call on line 1", |a| {
        a.board().line_state(1) == LineState::Ringing && !a.board().lines[&1].transcript.is_empty()
    });

    click(&mut h, "接听筛选 A");
    step_until(&mut h, "screening", |a| {
        a.board().line_state(1) == LineState::Screening
    });
    // The screener notes who is calling, then queues and airs the call.
    h.get_by_role_and_label(Role::TextInput, "姓名").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::TextInput, "姓名")
        .type_text("王小明");
    h.run_steps(2);
    click(&mut h, "保存记录");
    step_until(&mut h, "the note", |a| {
        a.board().lines[&1]
            .note
            .as_ref()
            .is_some_and(|n| n.name == "王小明")
    });
    click(&mut h, "待播 R");
    step_until(&mut h, "ready", |a| {
        a.board().line_state(1) == LineState::Ready
    });
    assert_eq!(h.state().board().queue, vec![1]);
    click(&mut h, "上直播 O");
    step_until(&mut h, "on air", |a| {
        a.board().line_state(1) == LineState::OnAir
    });
    assert_eq!(
        states(&seat.journal, 1),
        [LineState::Screening, LineState::Ready, LineState::OnAir]
    );

    // The host sees the call, its words, and hands it to the back office.
    click(&mut h, "主持人");
    assert!(h.query_by_label_contains("王** · 139****0001").is_some());
    assert!(
        h.query_by_label("我想问一下退休以后公积金怎么提取")
            .is_some()
    );
    click(&mut h, "转线下处理（建工单） X");
    step_until(&mut h, "the ticket", |a| {
        a.board().offline.iter().any(|o| o.ticket_id.is_some())
    });

    let id = h.state().board().offline[0].ticket_id.clone().unwrap();
    let mut store = SqliteStore::open(&seat.tickets).unwrap();
    let ticket = airbridge_tickets::TicketStore::get(&mut store, &id)
        .unwrap()
        .unwrap();
    assert_eq!(ticket.question, "我想问一下退休以后公积金怎么提取");
    assert_eq!(ticket.journal_refs, vec![call]);
    assert_eq!(ticket.citizen_name.as_deref(), Some("王小明"));
    // Yueyang "125": dispatched within one business hour (10:00 → 11:00),
    // resolved by close of business on the 2nd working day (Thu → Mon 17:30).
    let tz = chrono_tz::Asia::Shanghai;
    assert_eq!(
        ticket.dispatch_due.with_timezone(&tz).to_rfc3339(),
        "2026-11-26T11:00:00+08:00"
    );
    assert_eq!(
        ticket.resolve_due.with_timezone(&tz).to_rfc3339(),
        "2026-11-30T17:30:00+08:00"
    );
}

/// Keys a caller pressed on the phone (journaled by the SIP lines) show on
/// the screener's line.
#[test]
fn the_screener_sees_the_keys_a_caller_pressed() {
    let (mut h, seat) = seat(Seat_::Screener, false);
    ring(&seat.journal, 2, "137****0002", "caller-k");
    seat.journal
        .append(
            "sip",
            ShowEvent::CallerKeyed {
                line: 2,
                keys: "1#".into(),
            },
        )
        .unwrap();
    step_until(&mut h, "the keys", |a| a.board().lines[&2].keys == "1#");
    h.run_steps(2);
    assert!(h.query_by_label("按键 1#").is_some());
}

fn tone_wav(path: &std::path::Path) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..24_000 {
        let x = 0.2 * (std::f32::consts::TAU * 440.0 * i as f32 / 48_000.0).sin();
        w.write_sample((x * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn the_screener_opens_the_show_rings_a_hybrid_line_and_works_the_faders() {
    let studio = |dir: &std::path::Path| {
        tone_wav(&dir.join("caller.wav"));
        "[audio]\noutput_device = \"none\"\n[[line]]\nnumber = 1\nkind = \"file\"\npath = \"caller.wav\"\n"
            .to_owned()
    };
    let (mut h, seat) = seat_with_studio(Seat_::Screener, false, Some(&studio));
    h.run_steps(3);
    // 开播: the show's clock starts for every seat.
    click(&mut h, "开播 ▶");
    step_until(&mut h, "the show is open", |a| {
        a.board().opened_at_ms.is_some()
    });
    // The hybrid's lamp lights: 来电 rings the selected line.
    click(&mut h, "来电 I");
    step_until(&mut h, "the line rings", |a| {
        a.board().line_state(1) == LineState::Ringing
    });
    assert_eq!(h.state().board().lines[&1].caller_masked, "外线来电");
    // The mixer has the host microphones and the studio's line.
    assert!(h.query_by_label("线路 1（彩排）").is_some());
    let mutes = h.get_all_by_label("静音").count();
    assert_eq!(mutes, 2, "host and line 1");
    h.get_all_by_label("静音").nth(1).unwrap().click();
    step_until(&mut h, "line 1 muted", |a| {
        a.board().mix.get("line1").is_some_and(|m| m.1)
    });
    let muted = seat.journal.replay(1).unwrap().any(|e| {
        matches!(e.unwrap().event, ShowEvent::MixSet { input, mute: true, .. } if input == "line1")
    });
    assert!(muted);
    h.run_steps(3);
    h.snapshot("screener-studio");
}

#[test]
fn a_privacy_flagged_caller_cannot_go_on_air() {
    let (mut h, seat) = seat(Seat_::Screener, false);
    ring(&seat.journal, 2, "138****0002", "caller-b");
    step_until(&mut h, "the call", |a| {
        a.board().line_state(2) == LineState::Ringing
    });
    h.key_press(egui::Key::Num2);
    h.run_steps(2);
    h.key_press(egui::Key::A);
    step_until(&mut h, "screening", |a| {
        a.board().line_state(2) == LineState::Screening
    });
    h.key_press(egui::Key::P); // privacy flag
    step_until(&mut h, "the privacy flag", |a| {
        a.board().lines[&2].note.as_ref().is_some_and(|n| n.private)
    });
    h.key_press(egui::Key::R);
    step_until(&mut h, "ready", |a| {
        a.board().line_state(2) == LineState::Ready
    });
    h.key_press(egui::Key::O);
    h.run_steps(5);
    assert!(
        h.query_by_label("涉及个人隐私，不能上直播（转线下处理）")
            .is_some()
    );
    assert!(h.get_by_label("上直播 O").accesskit_node().is_disabled());
    assert_eq!(
        states(&seat.journal, 2),
        [LineState::Screening, LineState::Ready]
    );
}

fn audience(journal: &Journal, n: u64, cluster: u64, text: &str) {
    for i in 0..n {
        journal
            .append(
                "feeds",
                ShowEvent::AudienceMessage {
                    source: "douyin".into(),
                    id: format!("dy-{cluster}-{i}"),
                    kind: MessageKind::Question,
                    author: format!("观众{i}"),
                    text: text.into(),
                    cluster: Some(cluster),
                    test: false,
                    moderation: Default::default(),
                    author_key: String::new(),
                },
            )
            .unwrap();
    }
}

#[test]
fn pin_an_audience_question_and_answer_it_on_air() {
    let (mut h, seat) = seat(Seat_::Screener, false);
    audience(&seat.journal, 3, 7, "医保异地备案怎么办？");
    audience(&seat.journal, 1, 8, "营业执照网上能办吗");
    step_until(&mut h, "the clusters", |a| a.board().audience.total == 4);
    // The most-asked group is listed first: pin it.
    h.get_all_by_label("置顶").next().unwrap().click();
    step_until(&mut h, "pinned", |a| {
        a.board().pinned == [ItemRef::Cluster(7)]
    });

    click(&mut h, "主持人");
    assert!(h.query_by_label("医保异地备案怎么办？").is_some());
    assert!(h.query_by_label("×3").is_some());
    click(&mut h, "已在节目中回答 W");
    step_until(&mut h, "answered", |a| {
        a.board().answered.contains(&ItemRef::Cluster(7)) && a.board().pinned.is_empty()
    });
}

#[test]
fn back_office_dispatches_resolves_and_calls_back() {
    let (mut h, seat) = seat(Seat_::Screener, false);
    ring(&seat.journal, 3, "137****0003", "caller-c");
    said(&seat.journal, 3, 1, "小区门口的路灯坏了一个月没人修");
    step_until(&mut h, "the call", |a| {
        a.board().line_state(3) == LineState::Ringing
    });
    h.key_press(egui::Key::Num3);
    h.run_steps(2);
    click(&mut h, "来电转线下 T");
    step_until(&mut h, "the ticket", |a| {
        a.board().offline.iter().any(|o| o.ticket_id.is_some())
    });
    let id = h.state().board().offline[0].ticket_id.clone().unwrap();
    // The audio engine recorded the call under its journal reference.
    let call = h.state().board().offline[0].item.clone();
    let airbridge_show::ItemRef::Call(seq) = call else {
        panic!("not a call: {call:?}")
    };
    let rec_dir = seat.tickets.parent().unwrap().join("recordings");
    std::fs::create_dir_all(&rec_dir).unwrap();
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w =
        hound::WavWriter::create(rec_dir.join(format!("call-{seq}-line3.wav")), spec).unwrap();
    for i in 0..4800 {
        let v = ((i as f32 * 0.06).sin() * 8000.0) as i16;
        w.write_sample(v).unwrap();
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();

    click(&mut h, "后台");
    step_until(&mut h, "the queues", |a| a.ticket_snapshot().is_some());
    h.get_all_by_label(&id).next().unwrap().click();
    step_until(&mut h, "the detail", |a| a.ticket_detail().is_some());
    // The detail shows what the caller said, from the journal.
    assert!(
        h.query_by_label_contains("转写：小区门口的路灯坏了一个月没人修")
            .is_some()
    );

    click(&mut h, "一般");
    step_until(&mut h, "classified", |a| {
        a.ticket_detail()
            .is_some_and(|d| d.ticket.state == TicketState::Classified)
    });
    click(&mut h, "派发");
    step_until(&mut h, "dispatched", |a| {
        a.ticket_detail()
            .is_some_and(|d| d.ticket.state == TicketState::Dispatched)
    });
    h.get_by_role(Role::MultilineTextInput).click();
    h.run_steps(2);
    h.get_by_role(Role::MultilineTextInput)
        .type_text("已通知城管部门更换路灯");
    h.run_steps(2);
    click(&mut h, "办结");
    step_until(&mut h, "resolved", |a| {
        a.ticket_detail()
            .is_some_and(|d| d.ticket.state == TicketState::Resolved)
    });
    click(&mut h, "已回访：满意");
    step_until(&mut h, "called back", |a| {
        a.ticket_detail()
            .is_some_and(|d| d.ticket.state == TicketState::CalledBack)
    });
    let t = &h.state().ticket_detail().unwrap().ticket;
    assert_eq!(t.resolution.as_deref(), Some("已通知城管部门更换路灯"));
    assert_eq!(
        t.satisfaction,
        Some(airbridge_tickets::Satisfaction::Satisfied)
    );
}

/// A show in progress, the same every time: two calls, audience clusters,
/// a pinned question, a knowledge-base suggestion and a producer message.
fn stage_show(journal: &Journal) {
    let j = journal;
    j.append(
        "system",
        ShowEvent::ShowOpened {
            show_id: "demo".into(),
            show_name: "民生热线".into(),
        },
    )
    .unwrap();
    ring(j, 1, "139****0001", "caller-a");
    for (from, to) in [
        (LineState::Ringing, LineState::Screening),
        (LineState::Screening, LineState::Ready),
        (LineState::Ready, LineState::OnAir),
    ] {
        j.append(
            "screener",
            ShowEvent::LineStateChanged { line: 1, from, to },
        )
        .unwrap();
    }
    j.append(
        "screener",
        ShowEvent::CallerNoted {
            line: 1,
            note: CallerNote {
                name: "王小明".into(),
                district: "岳阳楼区".into(),
                topic: "退休提取公积金".into(),
                urgency: 1,
                private: false,
            },
        },
    )
    .unwrap();
    said(
        j,
        1,
        1,
        "我今年刚退休，想把住房公积金取出来，需要带什么材料？",
    );
    ring(j, 2, "138****0002", "caller-b");
    j.append(
        "screener",
        ShowEvent::LineStateChanged {
            line: 2,
            from: LineState::Ringing,
            to: LineState::Screening,
        },
    )
    .unwrap();
    audience(j, 5, 1, "医保异地备案怎么办？");
    audience(j, 3, 2, "新生儿落户需要什么材料");
    audience(j, 1, 3, "营业执照网上能办吗");
    j.append(
        "screener",
        ShowEvent::Pinned {
            item: ItemRef::Cluster(1),
        },
    )
    .unwrap();
    j.append(
        "screener",
        ShowEvent::ProducerMessage {
            text: "下一位：线路2，医保报销".into(),
        },
    )
    .unwrap();
    j.append(
        "speech",
        ShowEvent::KbSuggested {
            about: None,
            query: "我今年刚退休，想把住房公积金取出来，需要带什么材料？".into(),
            hits: vec![KbHit {
                entry_id: "none".into(),
                question: "退休了怎么提取住房公积金？".into(),
                score: 12.0,
            }],
        },
    )
    .unwrap();
}

#[test]
fn snapshots_of_each_seat() {
    let (mut h, seat) = seat(Seat_::Host, false);
    stage_show(&seat.journal);
    let last = seat.journal.last_seq();
    step_until(&mut h, "the staged show", |a| a.board().last_seq == last);
    h.run_steps(4);
    let mut results = egui_kittest::SnapshotResults::new();
    results.add(h.try_snapshot("host"));
    click(&mut h, "导播 / 接线");
    h.run_steps(4);
    results.add(h.try_snapshot("screener"));
    h.key_press(egui::Key::F1);
    h.run_steps(4);
    results.add(h.try_snapshot("help"));
    h.key_press(egui::Key::Escape);
    // The call on line 1 goes to the back office.
    click(&mut h, "导播 / 接线");
    h.key_press(egui::Key::Num1);
    h.run_steps(2);
    click(&mut h, "来电转线下 T");
    step_until(&mut h, "the ticket", |a| {
        a.board().offline.iter().any(|o| o.ticket_id.is_some())
    });
    click(&mut h, "后台");
    step_until(&mut h, "the queues", |a| {
        a.ticket_snapshot()
            .is_some_and(|s| s.queues.iter().any(|(_, l)| !l.is_empty()))
    });
    h.run_steps(4);
    results.add(h.try_snapshot("backoffice"));
    results.unwrap();
}

/// Chinese through the system input method (fcitx5 / IBus): egui gets IME
/// events from winit. The preedit (拼音 being composed) shows in the field
/// in place; the commit replaces it with the characters chosen, and the
/// note saved carries them.
#[test]
fn chinese_comes_in_through_the_input_method() {
    let (mut h, seat) = seat(Seat_::Screener, false);
    ring(&seat.journal, 1, "139****0009", "caller-ime");
    step_until(&mut h, "the call", |a| {
        a.board().line_state(1) == LineState::Ringing
    });
    click(&mut h, "接听筛选 A");
    step_until(&mut h, "screening", |a| {
        a.board().line_state(1) == LineState::Screening
    });
    h.get_by_role_and_label(Role::TextInput, "姓名").click();
    h.run_steps(2);
    #[allow(deprecated)] // winit still sends it; egui accepts it
    h.event(egui::Event::Ime(egui::ImeEvent::Enabled));
    h.event(egui::Event::Ime(egui::ImeEvent::Preedit {
        text: "zhang'san".into(),
        active_range_chars: None,
    }));
    h.run_steps(2);
    let shown = h
        .get_by_role_and_label(Role::TextInput, "姓名")
        .accesskit_node()
        .value()
        .unwrap_or_default();
    assert!(
        shown.contains("zhang"),
        "the preedit shows in place: {shown:?}"
    );
    h.event(egui::Event::Ime(egui::ImeEvent::Commit("张三".into())));
    h.run_steps(2);
    let field = h
        .get_by_role_and_label(Role::TextInput, "姓名")
        .accesskit_node()
        .value()
        .unwrap_or_default();
    assert_eq!(field, "张三");
    // and the topic too, composed in two commits
    h.get_by_role_and_label(Role::TextInput, "话题").click();
    h.run_steps(2);
    for part in ["社保", "卡补办"] {
        h.event(egui::Event::Ime(egui::ImeEvent::Preedit {
            text: "x".into(),
            active_range_chars: None,
        }));
        h.event(egui::Event::Ime(egui::ImeEvent::Commit(part.into())));
        h.run_steps(1);
    }
    click(&mut h, "保存记录");
    step_until(&mut h, "the note", |a| {
        a.board().lines[&1]
            .note
            .as_ref()
            .is_some_and(|n| n.name == "张三" && n.topic == "社保卡补办")
    });
}

fn held(journal: &Journal, id: &str, author_key: &str, text: &str) {
    journal
        .append(
            "feeds",
            ShowEvent::AudienceMessage {
                source: "wechat".into(),
                id: id.into(),
                kind: MessageKind::Question,
                author: "微信用户**".into(),
                text: text.into(),
                cluster: None,
                test: false,
                moderation: airbridge_show::Moderation::Held,
                author_key: author_key.into(),
            },
        )
        .unwrap();
}

/// The 场控 seat: held messages with their waiting time; one key each to
/// approve (Y), reject (N), approve all from the author (U) and block (B).
#[test]
fn the_control_seat_decides_held_messages_with_one_key_each() {
    let (mut h, seat) = seat(Seat_::Control, false);
    held(&seat.journal, "wechat:a1", "key-a", "社保卡怎么补办？");
    held(&seat.journal, "wechat:b1", "key-b", "公积金怎么提取？");
    held(
        &seat.journal,
        "wechat:b2",
        "key-b",
        "公积金提取要什么材料？",
    );
    held(&seat.journal, "wechat:c1", "key-c", "医保怎么报销？");
    held(&seat.journal, "wechat:d1", "key-d", "低保怎么申请？");
    step_until(&mut h, "five held", |a| a.board().audience.held.len() == 5);
    h.run_steps(4);
    let mut results = egui_kittest::SnapshotResults::new();
    results.add(h.try_snapshot("control"));
    let decided = |j: &Journal| -> Vec<String> {
        j.replay(1)
            .unwrap()
            .filter_map(|e| match e.unwrap().event {
                ShowEvent::Approved { id, .. } => Some(format!("approved {id}")),
                ShowEvent::Rejected { id } => Some(format!("rejected {id}")),
                ShowEvent::Blocked { author_key, .. } => Some(format!("blocked {author_key}")),
                _ => None,
            })
            .collect()
    };
    // Y on the first (a1)
    h.key_press(egui::Key::Y);
    step_until(&mut h, "a1 approved", |a| {
        a.board().audience.held.len() == 4
    });
    assert_eq!(h.state().board().audience.recent_questions.len(), 1);
    // U on b1: b1 and b2
    h.key_press(egui::Key::U);
    step_until(&mut h, "b approved", |a| a.board().audience.held.len() == 2);
    // N on c1
    h.key_press(egui::Key::N);
    step_until(&mut h, "c rejected", |a| a.board().audience.held.len() == 1);
    // B on d1
    h.key_press(egui::Key::B);
    step_until(&mut h, "d blocked", |a| {
        a.board().audience.held.is_empty() && a.board().audience.blocked.len() == 1
    });
    assert_eq!(
        decided(&seat.journal),
        [
            "approved wechat:a1",
            "approved wechat:b1",
            "approved wechat:b2",
            "rejected wechat:c1",
            "blocked key-d"
        ]
    );
    results.unwrap();
}

/// 场外应答 from the back office: pick a viewer's question, take the
/// knowledge base's best answer with one key, send it; the answer is
/// journaled and the question counts as answered.
#[test]
fn the_back_office_answers_a_question_in_writing_from_the_knowledge_base() {
    let (mut h, seat) = seat(Seat_::BackOffice, true);
    seat.journal
        .append(
            "feeds",
            ShowEvent::AudienceMessage {
                source: "douyin".into(),
                id: "douyin:q1".into(),
                kind: MessageKind::Question,
                author: "观众**".into(),
                text: "公积金怎么提取".into(),
                cluster: Some(1),
                test: false,
                moderation: Default::default(),
                author_key: String::new(),
            },
        )
        .unwrap();
    step_until(&mut h, "the question and the KB", |a| {
        a.kb_ready() && !a.board().audience.recent_questions.is_empty()
    });
    click(&mut h, "书面答复");
    step_until(&mut h, "KB answers", |a| !a.model().kb_hits().is_empty());
    h.key_press_modifiers(egui::Modifiers::ALT, egui::Key::Num1);
    h.run_steps(2);
    assert!(
        !h.state().model().answer_draft().is_empty(),
        "the KB's answer is in the draft"
    );
    click(&mut h, "发送答复 Ctrl+Enter");
    step_until(&mut h, "answered", |a| {
        a.board()
            .answered
            .contains(&ItemRef::Message("douyin:q1".into()))
    });
    let sent = seat
        .journal
        .replay(1)
        .unwrap()
        .filter_map(|e| match e.unwrap().event {
            ShowEvent::AnsweredInWriting { text, sent_via, .. } => Some((text, sent_via)),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].0.is_empty());
    assert_eq!(sent[0].1, None, "douyin: kept for the summary");
}
