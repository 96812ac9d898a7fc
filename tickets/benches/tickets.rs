//! Tickets at scale: a store holding N tickets (default 1,000,000) of six
//! stations sharing one database (1+5+N), then create latency (durable,
//! through a station's desk), the overdue queue of one station (its
//! back office) beside the same queue over every station (the baseline: a
//! single shared queue), and a monthly city report across the stations,
//! on SQLite and — when `AIRBRIDGE_TEST_PG` names a server — PostgreSQL,
//! side by side in one run.
//!
//! `cargo bench -p airbridge-tickets --bench tickets [-- --tickets N]`

#![allow(clippy::unwrap_used)] // a benchmark stops loudly on any error

use std::time::{Duration, Instant};

use airbridge_configs::{ConfigSet, TicketClass};
use airbridge_tickets::report;
use airbridge_tickets::{
    AuditEntry, Deadlines, NewTicket, PostgresStore, Query, Satisfaction, Source, SqliteStore,
    Ticket, TicketDesk, TicketState, TicketStore, WorkCalendar,
};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

fn clock() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).single().unwrap()
}

/// A deterministic ticket population spread over 22 months, mostly closed,
/// a few percent still open (some of them overdue at `clock()`).
fn synth(i: u64, calendar: &WorkCalendar, config: &ConfigSet) -> (Ticket, AuditEntry) {
    let tz = calendar.time_zone();
    let start = tz
        .with_ymd_and_hms(2025, 1, 2, 9, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc);
    let span_secs: i64 = 22 * 30 * 86_400;
    let received = start + chrono::Duration::seconds((i as i64 * 7919) % span_secs);
    let class = [
        TicketClass::Simple,
        TicketClass::General,
        TicketClass::Complex,
    ][(i % 3) as usize];
    let policy = &config.sla_policies[(i % 3) as usize];
    let d = Deadlines::compute(calendar, policy, class, received.with_timezone(&tz))
        .unwrap_or_else(|e| panic!("{e}"));
    let departments = vec![
        config.departments[(i % config.departments.len() as u64) as usize]
            .id
            .clone(),
    ];
    let recent = received > clock() - chrono::Duration::days(20);
    let state = if recent && i.is_multiple_of(4) {
        TicketState::Dispatched
    } else {
        TicketState::Closed
    };
    let resolved = (state == TicketState::Closed)
        .then(|| received + chrono::Duration::hours(20 + (i % 50) as i64));
    // (i / 4): every station gets its share of the open tickets (i % 4 == 0)
    let station = STATIONS[((i / 4) % STATIONS.len() as u64) as usize];
    let t = Ticket {
        id: format!("{station}-B{i:09}"),
        version: 1,
        source: Source::ALL[(i % 5) as usize],
        journal_refs: vec![i],
        contact: Some(format!("1380000{:04}", i % 10_000)),
        citizen_name: None,
        question: format!("合成工单 {i}：公积金提取、医保报销、不动产登记等问题的示例文字"),
        topic: ["社保", "医保", "公积金", "不动产", "户籍"][(i % 5) as usize].into(),
        class,
        departments,
        policy: policy.name.clone(),
        received_at: received,
        dispatch_due: d.dispatch.with_timezone(&Utc),
        resolve_due: d.resolve.with_timezone(&Utc),
        state,
        assignee: None,
        notes: vec![],
        resolution: resolved.map(|_| "已办结".into()),
        dispatched_at: Some(received + chrono::Duration::minutes(30)),
        resolved_at: resolved,
        closed_at: resolved,
        callbacks: vec![],
        satisfaction: resolved
            .map(|_| [Satisfaction::Satisfied, Satisfaction::BasicallySatisfied][(i % 2) as usize]),
        escalation: 0,
        reopened: 0,
        created_by: "bench".into(),
        updated_at: received,
        station: station.to_owned(),
        callback_number: None,
    };
    let audit = AuditEntry {
        ticket_id: t.id.clone(),
        version: 1,
        at: received,
        who: "bench".into(),
        action: "create".into(),
        detail: serde_json::json!({}),
    };
    (t, audit)
}

/// One city station and five county stations.
const STATIONS: [&str; 6] = ["city", "c1", "c2", "c3", "c4", "c5"];

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn run(name: &str, mut store: Box<dyn TicketStore>, n: u64, config: &ConfigSet) {
    let calendar = WorkCalendar::from_config(config);
    let t = Instant::now();
    let mut i = 0;
    while i < n {
        let batch: Vec<_> = (i..(i + 10_000).min(n))
            .map(|k| synth(k, &calendar, config))
            .collect();
        store.insert_many(&batch).unwrap_or_else(|e| panic!("{e}"));
        i += batch.len() as u64;
    }
    let load = t.elapsed();
    assert_eq!(store.count().unwrap_or_else(|e| panic!("{e}")), n);

    // Overdue queue, as one station's back office opens it, beside the
    // same queue over every station's tickets.
    let overdue = |store: &mut Box<dyn TicketStore>| {
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..20 {
            let t = Instant::now();
            rows = store
                .query(&Query::Overdue {
                    now: clock(),
                    limit: 500,
                })
                .unwrap_or_else(|e| panic!("{e}"))
                .len();
            times.push(t.elapsed());
        }
        (times, rows)
    };
    store
        .set_scope(Some("c3".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    let (mut station_times, station_n) = overdue(&mut store);
    store.set_scope(None).unwrap_or_else(|e| panic!("{e}"));
    let (mut overdue_times, overdue_n) = overdue(&mut store);

    // Monthly city report: fetch October 2026 of every station and compute
    // the figures, per station.
    let tz = calendar.time_zone();
    let from = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default();
    let to = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default();
    let t = Instant::now();
    let month = store
        .query(&Query::ReceivedBetween {
            from: tz
                .from_local_datetime(&from.and_hms_opt(0, 0, 0).unwrap_or_default())
                .unwrap()
                .with_timezone(&Utc),
            to: tz
                .from_local_datetime(&to.and_hms_opt(0, 0, 0).unwrap_or_default())
                .unwrap()
                .with_timezone(&Utc),
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let r = report::build_by(
        &month,
        &calendar,
        from,
        to,
        clock(),
        Some(report::GroupBy::Station),
        "",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let report_time = t.elapsed();
    assert_eq!(r.received as usize, month.len());
    assert_eq!(r.groups.len(), STATIONS.len());

    // Durable creates through one station's desk, on top of the full store.
    let mut station_config = config.clone();
    station_config.station.code = Some("c3".into());
    let mut desk = TicketDesk::new(store, &station_config, None).with_clock(clock);
    let mut create_times = Vec::new();
    for k in 0..300 {
        let mut new = NewTicket::new(Source::Call, format!("基准新建工单 {k}"), clock());
        new.topic = "医保".into();
        let t = Instant::now();
        desk.create(new, "bench").unwrap_or_else(|e| panic!("{e}"));
        create_times.push(t.elapsed());
    }

    println!(
        "{name}: {n} tickets loaded in {:.1} s ({:.0}/s, batches of 10,000)",
        load.as_secs_f64(),
        n as f64 / load.as_secs_f64()
    );
    println!(
        "  create (durable, via desk): p50 {:.2} ms  p99 {:.2} ms",
        ms(pct(&mut create_times.clone(), 0.5)),
        ms(pct(&mut create_times, 0.99))
    );
    println!(
        "  overdue queue of one station (first 500): p50 {:.2} ms  p99 {:.2} ms  ({station_n} rows)",
        ms(pct(&mut station_times.clone(), 0.5)),
        ms(pct(&mut station_times, 0.99))
    );
    println!(
        "  overdue queue over all six stations (baseline, first 500): p50 {:.2} ms  p99 {:.2} ms  ({overdue_n} rows)",
        ms(pct(&mut overdue_times.clone(), 0.5)),
        ms(pct(&mut overdue_times, 0.99))
    );
    println!(
        "  monthly city report (Oct 2026, 6 stations, {} tickets, fetch + figures per station): {:.0} ms  办结率 {:.1}%  满意率 {:.1}%",
        r.received,
        ms(report_time),
        r.resolution_rate.unwrap_or(0.0) * 100.0,
        r.satisfaction_rate.unwrap_or(0.0) * 100.0
    );
}

fn main() {
    let mut n: u64 = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--tickets"
            && let Some(v) = args.next().and_then(|v| v.parse().ok())
        {
            n = v;
        }
    }
    let config = ConfigSet::embedded_demo().unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sqlite = SqliteStore::open(&dir.path().join("bench.db")).unwrap_or_else(|e| panic!("{e}"));
    run("SQLite", Box::new(sqlite), n, &config);
    match std::env::var("AIRBRIDGE_TEST_PG") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("bench_{}", std::process::id());
            let pg = PostgresStore::connect(&url, Some(&schema)).unwrap_or_else(|e| panic!("{e}"));
            run("PostgreSQL", Box::new(pg), n, &config);
            if let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
            }
        }
        _ => println!(
            "PostgreSQL: skipped (set AIRBRIDGE_TEST_PG, e.g. from scripts/postgres-test-server.sh)"
        ),
    }
}
