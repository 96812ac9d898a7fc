//! The ticket desk over real databases: SQLite files, and PostgreSQL when
//! `AIRBRIDGE_TEST_PG` names a server (CI starts one; with
//! `AIRBRIDGE_REQUIRE_PG=1` a missing server fails the test instead of skipping).

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests fail loudly and say what they skip

use airbridge_configs::{ConfigSet, TicketClass};
use airbridge_show::{Journal, ShowEvent};
use airbridge_tickets::{
    CallbackOutcome, Change, NewTicket, PostgresStore, Satisfaction, Source, SqliteStore,
    TicketDesk, TicketError, TicketState, TicketStore, WorkQueue,
};
use chrono::{DateTime, Duration, Utc};

mod common;
use common::pg_url;

fn config() -> ConfigSet {
    ConfigSet::embedded_demo().unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn new_ticket(received: &str) -> NewTicket {
    let mut t = NewTicket::new(
        Source::Call,
        "异地就医备案后，住院报销比例是多少？",
        at(received),
    );
    t.topic = "医保".into();
    t.contact = Some("13800001234".into());
    t.journal_refs = vec![12, 13];
    t
}

/// Every store must behave the same: this suite runs on each.
fn conformance(make: &dyn Fn() -> Box<dyn TicketStore>) {
    let cfg = config();
    let clock = || at("2026-03-11T10:00:00+08:00");
    let mut desk = TicketDesk::new(make(), &cfg, None).with_clock(clock);

    // Creation: numbering by day of receipt, deadlines from the show's policy (yueyang-125).
    let t = desk
        .create(new_ticket("2026-03-10T09:15:00+08:00"), "screener")
        .unwrap();
    assert_eq!(t.id, "T20260310-0001");
    assert_eq!(t.version, 1);
    assert_eq!(t.state, TicketState::Received);
    assert_eq!(t.dispatch_due, at("2026-03-10T10:15:00+08:00"));
    assert_eq!(t.resolve_due, at("2026-03-12T17:30:00+08:00"));
    assert_eq!(t.contact_masked(), "138****1234");
    let t2 = desk
        .create(new_ticket("2026-03-10T11:00:00+08:00"), "screener")
        .unwrap();
    assert_eq!(t2.id, "T20260310-0002");

    // The whole lifecycle, each step audited.
    let t = desk
        .apply(
            &t.id,
            1,
            &Change::Classify {
                class: TicketClass::Complex,
                departments: vec!["ybj".into()],
            },
            "stat",
        )
        .unwrap();
    assert_eq!(
        t.resolve_due,
        at("2026-03-17T17:30:00+08:00"),
        "complex: 5 working days"
    );
    let t = desk
        .apply(
            &t.id,
            2,
            &Change::Dispatch {
                assignee: Some("医保局 王**".into()),
            },
            "stat",
        )
        .unwrap();
    let t = desk
        .apply(
            &t.id,
            3,
            &Change::Resolve {
                resolution: "已电话告知报销比例".into(),
            },
            "ybj",
        )
        .unwrap();
    let t = desk
        .apply(
            &t.id,
            4,
            &Change::CallBack {
                outcome: CallbackOutcome::NoAnswer,
                satisfaction: None,
                note: String::new(),
            },
            "callback",
        )
        .unwrap();
    assert_eq!(t.state, TicketState::Resolved);
    let t = desk
        .apply(
            &t.id,
            5,
            &Change::CallBack {
                outcome: CallbackOutcome::Reached,
                satisfaction: Some(Satisfaction::Dissatisfied),
                note: "认为比例太低".into(),
            },
            "callback",
        )
        .unwrap();
    assert_eq!(t.state, TicketState::CalledBack);
    // Dissatisfied: cannot close, must reopen.
    let err = desk
        .apply(&t.id, 6, &Change::Close, "callback")
        .unwrap_err();
    assert!(err.to_string().contains("reopen"), "{err}");
    let t = desk
        .apply(
            &t.id,
            6,
            &Change::Reopen {
                reason: "市民不满意".into(),
            },
            "stat",
        )
        .unwrap();
    assert_eq!((t.state, t.reopened), (TicketState::Dispatched, 1));
    let audit = desk.audit(&t.id).unwrap();
    let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "create",
            "classify",
            "dispatch",
            "resolve",
            "call_back",
            "call_back",
            "reopen"
        ]
    );
    assert_eq!(
        audit.iter().map(|a| a.version).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
    assert!(audit.iter().all(|a| !a.who.is_empty()));

    // Invalid steps are refused with the reason, and change nothing.
    let err = desk
        .apply(&t2.id, 1, &Change::Dispatch { assignee: None }, "stat")
        .unwrap_err();
    assert!(
        matches!(err, TicketError::InvalidTransition { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("classify the ticket"), "{err}");
    assert_eq!(desk.get(&t2.id).unwrap().version, 1);
    let err = desk
        .apply(
            &t2.id,
            1,
            &Change::Classify {
                class: TicketClass::General,
                departments: vec!["nope".into()],
            },
            "x",
        )
        .unwrap_err();
    assert!(
        matches!(err, TicketError::UnknownDepartment { .. }),
        "{err:?}"
    );

    // Queues.
    let now = at("2026-03-10T10:30:00+08:00");
    assert!(desk.queue(&WorkQueue::Overdue, now).unwrap().is_empty());
    let new = desk.queue(&WorkQueue::New, now).unwrap();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].id, t2.id);
    // t2 (received 11:00, dispatch due 12:00) is overdue for dispatch at 12:30.
    let overdue = desk
        .queue(&WorkQueue::Overdue, at("2026-03-10T12:30:00+08:00"))
        .unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].id, t2.id);
    let soon = desk
        .queue(
            &WorkQueue::DueSoon(Duration::days(3)),
            at("2026-03-10T12:30:00+08:00"),
        )
        .unwrap();
    assert!(soon.iter().any(|t| t.id == t2.id));
    let ybj = desk
        .queue(&WorkQueue::Department("ybj".into()), now)
        .unwrap();
    assert_eq!(ybj.len(), 1);

    // Two seats on the same ticket: the second one's stale change is a conflict.
    let mut seat_a = TicketDesk::new(make(), &cfg, None).with_clock(clock);
    let mut seat_b = TicketDesk::new(make(), &cfg, None).with_clock(clock);
    let seen_a = seat_a.get(&t2.id).unwrap();
    let seen_b = seat_b.get(&t2.id).unwrap();
    seat_a
        .apply(
            &t2.id,
            seen_a.version,
            &Change::Classify {
                class: TicketClass::Simple,
                departments: vec!["gjj".into()],
            },
            "seat-a",
        )
        .unwrap();
    let err = seat_b
        .apply(
            &t2.id,
            seen_b.version,
            &Change::Note {
                text: "市民补充了材料".into(),
            },
            "seat-b",
        )
        .unwrap_err();
    match &err {
        TicketError::Conflict {
            expected,
            actual,
            by,
            ..
        } => {
            assert_eq!((*expected, *actual, by.as_str()), (1, 2, "seat-a"));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(err.to_string().contains("reload it"), "{err}");
    let after = seat_b.get(&t2.id).unwrap();
    assert_eq!(after.class, TicketClass::Simple, "seat A's change is kept");
    assert!(
        after.notes.is_empty(),
        "seat B's stale change is not applied"
    );
}

#[test]
fn sqlite_desk_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tickets.db");
    conformance(&|| Box::new(SqliteStore::open(&path).unwrap()));
}

#[test]
fn postgres_desk_conformance() {
    let Some(url) = pg_url() else { return };
    let schema = format!("t_{}_{}", std::process::id(), Utc::now().timestamp_micros());
    conformance(&|| Box::new(PostgresStore::connect(&url, Some(&schema)).unwrap()));
}

#[test]
fn a_year_without_a_calendar_cannot_take_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let mut desk = TicketDesk::new(
        Box::new(SqliteStore::open(&dir.path().join("t.db")).unwrap()),
        &config(),
        None,
    );
    let err = desk
        .create(new_ticket("2027-02-01T10:00:00+08:00"), "x")
        .unwrap_err();
    assert!(err.to_string().contains("2027"), "{err}");
    assert_eq!(desk.store_mut().count().unwrap(), 0);
}

#[test]
fn every_change_reaches_the_journal_and_reminders_fire_once() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("show.db")).unwrap();
    let store = SqliteStore::open(&dir.path().join("tickets.db")).unwrap();
    let mut desk = TicketDesk::new(Box::new(store), &config(), Some(journal.clone()))
        .with_clock(|| at("2026-03-10T09:20:00+08:00"));
    let t = desk
        .create(new_ticket("2026-03-10T09:15:00+08:00"), "screener")
        .unwrap();
    desk.apply(
        &t.id,
        1,
        &Change::Classify {
            class: TicketClass::General,
            departments: vec!["ybj".into()],
        },
        "s",
    )
    .unwrap();
    let r1 = desk
        .reminders(at("2026-03-10T10:20:00+08:00"), Duration::hours(4))
        .unwrap();
    assert_eq!(r1.len(), 1, "{r1:?}");
    assert!(r1[0].overdue);
    assert!(
        desk.reminders(at("2026-03-10T10:25:00+08:00"), Duration::hours(4))
            .unwrap()
            .is_empty(),
        "once only"
    );
    let kinds: Vec<&str> = journal
        .replay(1)
        .unwrap()
        .map(|e| e.unwrap().event.kind())
        .collect();
    assert_eq!(
        kinds,
        ["ticket_created", "ticket_changed", "ticket_reminder"]
    );
    let first = journal.replay(1).unwrap().next().unwrap().unwrap();
    assert!(
        matches!(first.event, ShowEvent::TicketCreated { ref ticket_id, .. } if ticket_id == &t.id)
    );
}
