//! The statistics' formulas against a hand-computed fixture: seven tickets
//! received in March 2026 (Asia/Shanghai, business hours 08:30–12:00 and
//! 14:00–17:30), reported on 2026-03-20 10:00. Every expected figure below
//! was worked out by hand from the table, not read from the code.
//!
//! | id | channel | topic | dept | received | resolve due | state | resolved | call-back |
//! |----|---------|-------|------|----------|-------------|-------|----------|-----------|
//! | T1 | call    | 公积金 | rsj | 03-09 09:00 | 03-11 17:30 | called back | 03-10 11:00 (on time) | reached, 满意 |
//! | T2 | danmaku | 医保   | ybj | 03-09 10:00 | 03-11 17:30 | resolved    | 03-12 10:00 (late)    | — |
//! | T3 | wechat  | 公积金 | rsj | 03-10 09:00 | 03-12 17:30 | dispatched  | — (open, overdue)     | — |
//! | T4 | sms     | 低保   | mzj | 03-16 09:00 | 03-25 17:30 | dispatched  | — (open, not due)     | — |
//! | T5 | call    | 医保   | ybj | 03-11 14:00 | 03-13 17:30 | closed      | 03-12 14:00 (on time) | reached, 基本满意 |
//! | T6 | call    | 公积金 | rsj | 03-12 09:00 | 03-16 17:30 | called back | 03-13 09:00 (on time) | reached, 不满意 |
//! | T7 | call    | 低保   | —   | 03-13 09:00 | 03-17 17:30 | resolved    | 03-18 09:00 (late)    | no answer |
//!
//! Business minutes from receipt to resolution: T1 180+210+150 = 540 (9 h);
//! T2 120+210+420+420+90 = 1260 (21 h); T5 210+210 = 420 (7 h); T6
//! 180+210+30 = 420 (7 h); T7 180+210+420+420+30 = 1260 (21 h). Mean over
//! the five resolved: 65 / 5 = 13 h.
#![allow(clippy::unwrap_used)]

use airbridge_configs::{ConfigSet, TicketClass};
use airbridge_tickets::report::{self, GroupBy};
use airbridge_tickets::{
    CallbackAttempt, CallbackOutcome, Satisfaction, Source, Ticket, TicketState, WorkCalendar,
};
use chrono::{DateTime, NaiveDate, Utc};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("2026-{s}:00+08:00"))
        .unwrap()
        .with_timezone(&Utc)
}

#[allow(clippy::too_many_arguments)]
fn ticket(
    id: &str,
    source: Source,
    topic: &str,
    dept: &str,
    received: &str,
    due: &str,
    state: TicketState,
    resolved: Option<&str>,
    callback: Option<(CallbackOutcome, Option<Satisfaction>)>,
) -> Ticket {
    let received_at = at(received);
    Ticket {
        id: id.into(),
        version: 1,
        source,
        journal_refs: vec![],
        contact: None,
        citizen_name: None,
        question: format!("问题 {id}"),
        topic: topic.into(),
        class: TicketClass::General,
        departments: if dept.is_empty() {
            vec![]
        } else {
            vec![dept.into()]
        },
        policy: "general".into(),
        received_at,
        dispatch_due: received_at,
        resolve_due: at(due),
        state,
        assignee: None,
        notes: vec![],
        resolution: resolved.map(|_| "已答复".into()),
        dispatched_at: Some(received_at),
        resolved_at: resolved.map(at),
        closed_at: None,
        callbacks: callback
            .map(|(outcome, satisfaction)| CallbackAttempt {
                at: at("03-19T10:00"),
                by: "bo".into(),
                outcome,
                satisfaction,
                note: String::new(),
            })
            .into_iter()
            .collect(),
        satisfaction: callback.and_then(|c| c.1),
        escalation: 0,
        reopened: 0,
        created_by: "screener".into(),
        updated_at: received_at,
        station: String::new(),
        callback_number: None,
    }
}

fn fixture() -> Vec<Ticket> {
    use CallbackOutcome::{NoAnswer, Reached};
    use Satisfaction::{BasicallySatisfied, Dissatisfied, Satisfied};
    use TicketState::{CalledBack, Closed, Dispatched, Resolved};
    vec![
        ticket(
            "T1",
            Source::Call,
            "公积金",
            "rsj",
            "03-09T09:00",
            "03-11T17:30",
            CalledBack,
            Some("03-10T11:00"),
            Some((Reached, Some(Satisfied))),
        ),
        ticket(
            "T2",
            Source::Danmaku,
            "医保",
            "ybj",
            "03-09T10:00",
            "03-11T17:30",
            Resolved,
            Some("03-12T10:00"),
            None,
        ),
        ticket(
            "T3",
            Source::Wechat,
            "公积金",
            "rsj",
            "03-10T09:00",
            "03-12T17:30",
            Dispatched,
            None,
            None,
        ),
        ticket(
            "T4",
            Source::Sms,
            "低保",
            "mzj",
            "03-16T09:00",
            "03-25T17:30",
            Dispatched,
            None,
            None,
        ),
        ticket(
            "T5",
            Source::Call,
            "医保",
            "ybj",
            "03-11T14:00",
            "03-13T17:30",
            Closed,
            Some("03-12T14:00"),
            Some((Reached, Some(BasicallySatisfied))),
        ),
        ticket(
            "T6",
            Source::Call,
            "公积金",
            "rsj",
            "03-12T09:00",
            "03-16T17:30",
            CalledBack,
            Some("03-13T09:00"),
            Some((Reached, Some(Dissatisfied))),
        ),
        ticket(
            "T7",
            Source::Call,
            "低保",
            "",
            "03-13T09:00",
            "03-17T17:30",
            Resolved,
            Some("03-18T09:00"),
            Some((NoAnswer, None)),
        ),
    ]
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

fn build(by: Option<GroupBy>) -> report::Report {
    let config = ConfigSet::embedded_demo().unwrap();
    let calendar = WorkCalendar::from_config(&config);
    report::build_by(
        &fixture(),
        &calendar,
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        at("03-20T10:00"),
        by,
        "demo",
    )
    .unwrap()
}

#[test]
fn the_whole_range_matches_the_hand_computed_figures() {
    let r = build(None);
    assert_eq!(r.received, 7);
    assert_eq!(r.resolved, 5);
    assert_eq!(r.resolved_on_time, 3);
    assert_eq!((r.open_overdue, r.resolved_late), (1, 2));
    assert!(
        close(r.resolution_rate, 5.0 / 7.0),
        "{:?}",
        r.resolution_rate
    );
    assert!(close(r.on_time_rate, 3.0 / 5.0));
    assert!(close(r.overdue_rate, 3.0 / 7.0));
    assert!(close(r.satisfaction_rate, 2.0 / 3.0));
    assert_eq!(r.callbacks_unreached, 1);
    assert!(
        close(r.avg_handling_business_hours, 13.0),
        "{:?}",
        r.avg_handling_business_hours
    );
    assert!(r.groups.is_empty());
}

#[test]
fn per_department_and_per_channel_match_by_hand() {
    let r = build(Some(GroupBy::Department));
    let g = |k: &str| &r.groups.iter().find(|g| g.key == k).unwrap().figures;
    assert_eq!(r.groups.len(), 4);
    let rsj = g("rsj");
    assert_eq!((rsj.received, rsj.resolved), (3, 2));
    assert!(close(rsj.resolution_rate, 2.0 / 3.0));
    assert!(close(rsj.on_time_rate, 1.0));
    assert!(close(rsj.overdue_rate, 1.0 / 3.0));
    assert!(close(rsj.satisfaction_rate, 0.5));
    let ybj = g("ybj");
    assert!(close(ybj.resolution_rate, 1.0));
    assert!(close(ybj.on_time_rate, 0.5));
    assert!(close(ybj.overdue_rate, 0.5));
    assert!(close(ybj.satisfaction_rate, 1.0));
    // nothing resolved, nobody reached: no rate, not 0 %
    let mzj = g("mzj");
    assert!(close(mzj.resolution_rate, 0.0));
    assert_eq!(mzj.on_time_rate, None);
    assert_eq!(mzj.satisfaction_rate, None);
    assert!(close(mzj.overdue_rate, 0.0));
    let none = g("(未分派)");
    assert!(close(none.on_time_rate, 0.0));
    assert!(close(none.overdue_rate, 1.0));

    let r = build(Some(GroupBy::Channel));
    let call = &r.groups.iter().find(|g| g.key == "call").unwrap().figures;
    assert_eq!(
        (call.received, call.resolved, call.resolved_on_time),
        (4, 4, 3)
    );
    assert!(close(call.on_time_rate, 0.75));
    assert!(close(call.overdue_rate, 0.25));
    assert!(close(call.satisfaction_rate, 2.0 / 3.0));

    let r = build(Some(GroupBy::Station));
    assert_eq!(r.groups.len(), 1);
    assert_eq!(r.groups[0].key, "demo");
    assert_eq!(r.groups[0].figures.received, 7);
}

#[test]
fn the_json_has_the_documented_keys_with_rates_as_fractions() {
    let r = build(Some(GroupBy::Topic));
    let v = serde_json::to_value(&r).unwrap();
    for key in [
        "received",
        "resolved",
        "resolved_on_time",
        "resolution_rate",
        "on_time_rate",
        "satisfaction_rate",
        "overdue_rate",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
        assert!(v["groups"][0].get(key).is_some(), "group missing {key}");
    }
    assert!((v["overdue_rate"].as_f64().unwrap() - 3.0 / 7.0).abs() < 1e-9);
    assert_eq!(v["by"], "topic");
}
