//! 办事攻略 from a fixture journal: two questions answered (one on air from
//! a caller, one in writing to a WeChat follower who also got a ticket), one
//! handed to the back office without an answer (not in the guide), one
//! answered outside the period (not in the guide). The HTML is compared with
//! the stored expected guide (`tests/fixtures/guide.html`;
//! `UPDATE_GUIDE=1` rewrites it after a deliberate change, to be reviewed).
#![allow(clippy::unwrap_used)]

use airbridge_configs::ConfigSet;
use airbridge_kb::{Analyzer, Mode, SearchIndex};
use airbridge_runtime::guides::{GuideSources, build};
use airbridge_show::{
    CallerNote, ItemRef, LineState, MessageKind, Moderation, ShowEvent, StoredEvent,
};
use chrono::NaiveDate;

/// Thursday 2026-11-26 10:00 in Beijing.
const T0: i64 = 1_795_658_400_000;

fn journal() -> Vec<StoredEvent> {
    let mut seq = 0;
    let mut ev = |at_min: i64, event: ShowEvent| {
        seq += 1;
        StoredEvent {
            seq,
            at_ms: T0 + at_min * 60_000,
            seat: "t".into(),
            event,
        }
    };
    let msg = |id: &str, text: &str| ShowEvent::AudienceMessage {
        source: "wechat".into(),
        id: id.into(),
        kind: MessageKind::Question,
        author: "听众".into(),
        text: text.into(),
        cluster: None,
        test: false,
        moderation: Moderation::default(),
        author_key: String::new(),
    };
    let mv = |line, from, to| ShowEvent::LineStateChanged { line, from, to };
    vec![
        ev(
            0,
            ShowEvent::ShowOpened {
                show_id: "demo".into(),
                show_name: "空中政务桥".into(),
            },
        ),
        // a caller asks about a lost social-security card, answered on air
        ev(
            1,
            ShowEvent::CallRang {
                line: 1,
                caller_masked: "138****0000".into(),
                caller_key: "k1".into(),
            },
        ),
        ev(1, mv(1, LineState::Idle, LineState::Ringing)),
        ev(2, mv(1, LineState::Ringing, LineState::Screening)),
        ev(
            2,
            ShowEvent::CallerNoted {
                line: 1,
                note: CallerNote {
                    topic: "社保卡".into(),
                    ..CallerNote::default()
                },
            },
        ),
        ev(
            3,
            ShowEvent::TranscriptSegment {
                line: 1,
                utterance: 1,
                text: "我的社保卡丢了，怎么补办".into(),
                start_ms: 0,
                end_ms: 3000,
                is_final: true,
            },
        ),
        ev(4, mv(1, LineState::Screening, LineState::Ready)),
        ev(4, mv(1, LineState::Ready, LineState::OnAir)),
        ev(
            8,
            ShowEvent::AnsweredOnAir {
                item: ItemRef::Call(2),
            },
        ),
        ev(9, mv(1, LineState::OnAir, LineState::Ended)),
        ev(9, mv(1, LineState::Ended, LineState::Idle)),
        // a WeChat follower asks about housing-fund withdrawal on retirement:
        // a ticket, and a written answer
        ev(10, msg("wx:1", "退休了住房公积金怎么提取")),
        ev(
            11,
            ShowEvent::TicketCreated {
                ticket_id: "T-20261126-0001".into(),
                item: Some(ItemRef::Message("wx:1".into())),
                source: "wechat".into(),
                question: "退休了住房公积金怎么提取".into(),
                departments: vec!["gjj".into()],
                dispatch_due_ms: T0,
                resolve_due_ms: T0,
            },
        ),
        ev(
            12,
            ShowEvent::AnsweredInWriting {
                item: ItemRef::Message("wx:1".into()),
                text: "退休后可申请一次性提取住房公积金。所需材料：身份证、退休证明、本人银行卡。"
                    .into(),
                sent_via: Some("wechat".into()),
            },
        ),
        // handed to the back office, never answered: not in the guide
        ev(13, msg("wx:2", "小区门口的路灯坏了找谁")),
        ev(
            14,
            ShowEvent::TakenOffline {
                item: ItemRef::Message("wx:2".into()),
                ticket_id: Some("T-20261126-0002".into()),
            },
        ),
        // answered the next day: outside the period
        ev(24 * 60, msg("wx:3", "医保异地就医怎么备案")),
        ev(
            24 * 60 + 1,
            ShowEvent::AnsweredInWriting {
                item: ItemRef::Message("wx:3".into()),
                text: "在国家医保服务平台小程序上备案。".into(),
                sent_via: None,
            },
        ),
    ]
}

#[test]
fn the_guide_of_a_fixture_journal_is_the_expected_one() {
    let config = ConfigSet::embedded_demo().unwrap();
    let kb = SearchIndex::build(
        Analyzer::embedded().unwrap(),
        airbridge_kb::demo::entries().unwrap(),
        Mode::Full,
    );
    let src = GuideSources {
        show_id: "demo",
        show_name: "空中政务桥",
        tz: config.station.time_zone,
        kb: Some(&kb),
        departments: &config.departments,
    };
    let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let guide = build(journal(), &src, day, day);
    assert_eq!(guide.len(), 2, "{guide:#?}");
    let items: Vec<_> = guide.topics.iter().flat_map(|t| &t.items).collect();
    let written = items.iter().find(|i| i.answered == "in_writing").unwrap();
    assert_eq!(written.materials, ["身份证", "退休证明", "本人银行卡"]);
    assert_eq!(written.tickets, ["T-20261126-0001"]);
    let on_air = items.iter().find(|i| i.answered == "on_air").unwrap();
    assert_eq!(on_air.question, "我的社保卡丢了，怎么补办");
    assert!(on_air.kb_id.is_some(), "answered from the knowledge base");
    assert!(!on_air.departments.is_empty() && !on_air.departments[0].contact.is_empty());

    let html = guide.to_html();
    assert!(!html.contains("<script") && !html.contains("class="));
    let expected =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/guide.html");
    if std::env::var_os("UPDATE_GUIDE").is_some() {
        std::fs::write(&expected, &html).unwrap();
    }
    assert_eq!(html, std::fs::read_to_string(&expected).unwrap());

    // and as a Word document: a zip with the text in word/document.xml
    let dir = tempfile::tempdir().unwrap();
    let docx = dir.path().join("guide.docx");
    guide.write_docx(&docx).unwrap();
    let bytes = std::fs::read(&docx).unwrap();
    assert_eq!(&bytes[..2], b"PK");
}
