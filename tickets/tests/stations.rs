//! Many stations on one system (1+5+N): each station numbers, sees and
//! reports its own tickets in a shared database; a city-level desk sees
//! them all; two stations writing the same PostgreSQL database at once
//! never lose work; a station's own SQLite data moves into the shared
//! database in one step and comes back out identical (round trip).
//! PostgreSQL tests need `AIRBRIDGE_TEST_PG` (scripts/test.sh starts a
//! server); SQLite covers the rules everywhere.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use airbridge_configs::{ConfigSet, TicketClass};
use airbridge_tickets::report::{self, GroupBy};
use airbridge_tickets::{
    CallbackOutcome, Change, NewTicket, PostgresStore, Satisfaction, Source, SqliteStore,
    TicketDesk, TicketError, TicketStore, WorkQueue,
};
use chrono::{DateTime, NaiveDate, Utc};

mod common;
use common::pg_url;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn now() -> DateTime<Utc> {
    at("2026-03-20T10:00:00+08:00")
}

fn config(code: Option<&str>) -> ConfigSet {
    let mut c = ConfigSet::embedded_demo().unwrap();
    c.station.code = code.map(str::to_owned);
    c
}

fn desk(store: Box<dyn TicketStore>, code: Option<&str>) -> TicketDesk {
    TicketDesk::new(store, &config(code), None).with_clock(now)
}

fn make(desk: &mut TicketDesk, q: &str, day: u32) -> String {
    let mut n = NewTicket::new(
        Source::Call,
        q,
        at(&format!("2026-03-{day:02}T09:00:00+08:00")),
    );
    n.topic = "测试".into();
    desk.create(n, "screener").unwrap().id
}

/// Each station sees and numbers its own; the city sees everything.
fn scoping(open: &dyn Fn() -> Box<dyn TicketStore>) {
    let mut a = desk(open(), Some("aa"));
    let mut b = desk(open(), Some("bb"));
    let a1 = make(&mut a, "甲站问题一", 9);
    let a2 = make(&mut a, "甲站问题二", 9);
    let b1 = make(&mut b, "乙站问题一", 9);
    assert_eq!(a1, "aa-T20260309-0001");
    assert_eq!(a2, "aa-T20260309-0002");
    assert_eq!(b1, "bb-T20260309-0001", "numbers are per station");
    let from = at("2026-03-01T00:00:00+08:00");
    let to = at("2026-04-01T00:00:00+08:00");
    let mine = a.tickets_received_between(from, to).unwrap();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|t| t.station == "aa"));
    let overdue_b = b.queue(&WorkQueue::Overdue, now()).unwrap();
    assert!(overdue_b.iter().all(|t| t.station == "bb"));
    // the city: both stations, and a report per station
    let mut city = desk(open(), Some("aa")).all_stations().unwrap();
    let all = city.tickets_received_between(from, to).unwrap();
    assert_eq!(all.len(), 3);
    let r = report::build_by(
        &all,
        city.calendar(),
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        now(),
        Some(GroupBy::Station),
        "",
    )
    .unwrap();
    let keys: Vec<_> = r
        .groups
        .iter()
        .map(|g| (g.key.as_str(), g.figures.received))
        .collect();
    assert_eq!(keys, [("aa", 2), ("bb", 1)]);
}

#[test]
fn stations_share_a_sqlite_file_without_seeing_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    scoping(&|| Box::new(SqliteStore::open(&path).unwrap()));
}

fn schema(tag: &str) -> String {
    format!(
        "st_{tag}_{}_{}",
        std::process::id(),
        Utc::now().timestamp_micros()
    )
}

#[test]
fn stations_share_a_postgres_database_without_seeing_each_other() {
    let Some(url) = pg_url() else { return };
    let s = schema("scope");
    scoping(&|| Box::new(PostgresStore::connect(&url, Some(&s)).unwrap()));
}

#[test]
fn two_stations_writing_one_postgres_database_at_once_lose_nothing() {
    let Some(url) = pg_url() else { return };
    let s = schema("conc");
    // one ticket both stations' city desks will work on at the same time
    let mut seed = desk(
        Box::new(PostgresStore::connect(&url, Some(&s)).unwrap()),
        Some("aa"),
    );
    let shared = make(&mut seed, "跨站协办的问题", 10);
    let workers: Vec<_> = ["aa", "bb"]
        .into_iter()
        .map(|code| {
            let (url, s, shared) = (url.clone(), s.clone(), shared.clone());
            std::thread::spawn(move || {
                let mut d = desk(
                    Box::new(PostgresStore::connect(&url, Some(&s)).unwrap()),
                    Some(code),
                );
                let mut made = Vec::new();
                for i in 0..20 {
                    made.push(make(&mut d, &format!("{code} 问题 {i}"), 10 + (i % 5)));
                }
                // both add a note to the shared ticket, retrying on conflict
                let mut city = d.all_stations().unwrap();
                let mut conflicts = 0;
                for n in 0..5 {
                    loop {
                        let v = city.get(&shared).unwrap().version;
                        let change = Change::Note {
                            text: format!("{code} 协办意见 {n}"),
                        };
                        match city.apply(&shared, v, &change, code) {
                            Ok(_) => break,
                            Err(TicketError::Conflict { .. }) => conflicts += 1,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
                (made, conflicts)
            })
        })
        .collect();
    let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let mut city = desk(
        Box::new(PostgresStore::connect(&url, Some(&s)).unwrap()),
        None,
    )
    .all_stations()
    .unwrap();
    // every ticket each station made is there, numbered without a clash
    let mut ids: Vec<String> = results.iter().flat_map(|(m, _)| m.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40);
    for id in &ids {
        assert!(city.get(id).is_ok(), "{id} lost");
    }
    // all ten notes on the shared ticket, none overwritten
    let t = city.get(&shared).unwrap();
    assert_eq!(t.notes.len(), 10, "{:?}", t.notes);
    assert_eq!(t.version, 11);
    eprintln!(
        "conflicts retried: {}",
        results.iter().map(|(_, c)| c).sum::<u32>()
    );
}

/// A station's own SQLite tickets, worked through their lifecycle.
fn station_on_its_own(path: &std::path::Path) -> TicketDesk {
    let mut d = desk(Box::new(SqliteStore::open(path).unwrap()), None);
    for (i, q) in ["公积金提取", "低保申请", "路灯报修"]
        .into_iter()
        .enumerate()
    {
        let id = make(&mut d, q, 9 + i as u32);
        let t = d
            .apply(
                &id,
                1,
                &Change::Classify {
                    class: TicketClass::General,
                    departments: vec!["rsj".into()],
                },
                "bo",
            )
            .unwrap();
        if i < 2 {
            let t = d
                .apply(&id, t.version, &Change::Dispatch { assignee: None }, "bo")
                .unwrap();
            let t = d
                .apply(
                    &id,
                    t.version,
                    &Change::Resolve {
                        resolution: "已办结".into(),
                    },
                    "dept",
                )
                .unwrap();
            d.apply(
                &id,
                t.version,
                &Change::CallBack {
                    outcome: CallbackOutcome::Reached,
                    satisfaction: Some(Satisfaction::Satisfied),
                    note: String::new(),
                },
                "bo",
            )
            .unwrap();
        }
    }
    d
}

fn round_trip(target: Box<dyn TicketStore>, back: Box<dyn TicketStore>) {
    let dir = tempfile::tempdir().unwrap();
    let mut own = station_on_its_own(&dir.path().join("own.db"));
    let before = own.export_all().unwrap();
    assert_eq!(before.len(), 3);
    // into the shared database as station "cc": ids get the prefix
    let mut shared = desk(target, Some("cc"));
    assert_eq!(shared.import_station("cc", before.clone()).unwrap(), 3);
    let moved = shared.export_all().unwrap();
    assert_eq!(moved.len(), 3);
    for ((t0, a0), (t1, a1)) in before.iter().zip(&moved) {
        assert_eq!(t1.id, format!("cc-{}", t0.id));
        assert_eq!(t1.station, "cc");
        let mut same = t1.clone();
        same.id = t0.id.clone();
        same.station = String::new();
        assert_eq!(&same, t0, "the ticket comes across unchanged");
        assert_eq!(a1.len(), a0.len(), "its whole audit trail");
        assert!(
            a1.iter()
                .zip(a0)
                .all(|(x, y)| x.action == y.action && x.who == y.who && x.at == y.at)
        );
    }
    // moving it twice is refused, nothing half-done
    let err = shared.import_station("cc", before).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(shared.export_all().unwrap().len(), 3);
    // and back out into a file of its own: identical
    let mut again = desk(back, Some("cc"));
    again.import_station("cc", moved.clone()).unwrap();
    assert_eq!(again.export_all().unwrap(), moved);
}

#[test]
fn a_stations_sqlite_data_moves_into_a_shared_sqlite_and_back() {
    let dir = tempfile::tempdir().unwrap();
    round_trip(
        Box::new(SqliteStore::open(&dir.path().join("shared.db")).unwrap()),
        Box::new(SqliteStore::open(&dir.path().join("back.db")).unwrap()),
    );
}

#[test]
fn a_stations_sqlite_data_moves_into_postgres_and_back() {
    let Some(url) = pg_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    round_trip(
        Box::new(PostgresStore::connect(&url, Some(&schema("mig"))).unwrap()),
        Box::new(SqliteStore::open(&dir.path().join("back.db")).unwrap()),
    );
}

#[test]
fn a_file_from_before_stations_opens_and_keeps_its_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE tickets (id TEXT PRIMARY KEY, version INTEGER NOT NULL, state TEXT NOT NULL,
                departments TEXT NOT NULL, received_ms INTEGER NOT NULL, dispatch_due_ms INTEGER NOT NULL,
                resolve_due_ms INTEGER NOT NULL, updated_by TEXT NOT NULL, updated_ms INTEGER NOT NULL,
                data TEXT NOT NULL);
             CREATE TABLE audit (ticket_id TEXT NOT NULL, version INTEGER NOT NULL, at_ms INTEGER NOT NULL,
                who TEXT NOT NULL, action TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (ticket_id, version));
             PRAGMA application_id = 1094865492;",
        )
        .unwrap();
    }
    let mut d = desk(Box::new(SqliteStore::open(&path).unwrap()), None);
    let id = make(&mut d, "旧文件里的新问题", 9);
    assert!(d.get(&id).is_ok());
}
