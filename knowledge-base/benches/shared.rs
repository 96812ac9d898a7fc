//! Shared knowledge-base benchmark (not a test): a knowledge base shared by
//! several stations on PostgreSQL keeps search in memory, so its search
//! latency should equal the local SQLite one; and an edit at one station
//! reaches another station's search after a notification and a refresh of
//! that entry. Side by side in one run:
//! - search p50/p99 over the dev queries: local SQLite KB vs the same
//!   entries in a station's view of the shared PostgreSQL KB;
//! - edit at station A → searchable at station B (write, NOTIFY, LISTEN
//!   wake-up, refresh of the changed entry), beside the baseline of B
//!   reloading the whole knowledge base from the database.
//!
//! `AIRBRIDGE_TEST_PG=… cargo bench -p airbridge-kb --bench shared`
//! (scripts/postgres-test-server.sh prints a connection string).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use airbridge_kb::{Kb, KbListener, eval};

const EDITS: usize = 30;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn search_times(kb: &Kb, queries: &[String], rounds: usize) -> Vec<Duration> {
    let mut out = Vec::new();
    for _ in 0..rounds {
        for q in queries {
            let t = Instant::now();
            std::hint::black_box(kb.search(q, 5));
            out.push(t.elapsed());
        }
    }
    out.sort();
    out
}

fn main() {
    let Some(url) = std::env::var("AIRBRIDGE_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        println!("skipped: set AIRBRIDGE_TEST_PG (scripts/postgres-test-server.sh)");
        return;
    };
    let schema = format!("kbbench_{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let local = Kb::open_or_seed_demo(&dir.path().join("kb.db")).unwrap();
    // the city seeds the shared KB; two county stations open their views
    drop(Kb::open_postgres(&url, Some(&schema), None, true).unwrap());
    let mut a = Kb::open_postgres(&url, Some(&schema), Some("yy"), false).unwrap();
    let mut b = Kb::open_postgres(&url, Some(&schema), Some("hx"), false).unwrap();
    assert_eq!(b.entries().len(), local.entries().len());

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/dev.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let queries: Vec<String> = eval::parse_queries(&path, &text)
        .unwrap()
        .into_iter()
        .map(|q| q.text)
        .collect();
    // warm both, then measure alternately
    search_times(&local, &queries, 1);
    search_times(&b, &queries, 1);
    let l = search_times(&local, &queries, 20);
    let s = search_times(&b, &queries, 20);
    println!(
        "== KB search, {} entries, {} queries × 20",
        b.entries().len(),
        queries.len()
    );
    println!("knowledge base | p50 ms | p99 ms | max ms");
    for (name, t) in [
        ("local SQLite file (baseline)", &l),
        ("shared PostgreSQL, station view", &s),
    ] {
        println!(
            "{name} | {:.3} | {:.3} | {:.3}",
            ms(pct(t, 0.5)),
            ms(pct(t, 0.99)),
            ms(*t.last().unwrap())
        );
    }

    let mut listener = KbListener::connect(&url, Some(&schema)).unwrap();
    let ids: Vec<String> = a.entries().iter().map(|e| e.id.clone()).collect();
    let (mut refresh, mut reload) = (Vec::new(), Vec::new());
    for i in 0..EDITS {
        let id = &ids[(i * 37) % ids.len()];
        let mut e = a.entries().iter().find(|x| &x.id == id).unwrap().clone();
        let marker = format!("市台订正第{i}号");
        e.answer = format!("{}（{marker}）", e.answer);
        let v = a.current_version(id).unwrap();
        let t = Instant::now();
        a.update(e.clone(), "bench", v).unwrap();
        assert!(listener.wait(Duration::from_secs(5)).unwrap());
        let changed = b.refresh().unwrap();
        let found = b.search(&e.question, 1);
        refresh.push(t.elapsed());
        assert_eq!(changed, vec![id.clone()]);
        assert!(found[0].answer.contains(&marker), "{i}");
        // baseline: station B reloads everything from the database
        let t = Instant::now();
        let fresh = Kb::open_postgres(&url, Some(&schema), Some("hx"), false).unwrap();
        let found = fresh.search(&e.question, 1);
        reload.push(t.elapsed());
        assert!(found[0].answer.contains(&marker));
    }
    refresh.sort();
    reload.sort();
    println!("== edit at station A → searchable at station B, {EDITS} edits");
    println!("path | p50 ms | p99 ms");
    println!(
        "write + NOTIFY + refresh the changed entry | {:.1} | {:.1}",
        ms(pct(&refresh, 0.5)),
        ms(pct(&refresh, 0.99))
    );
    println!(
        "reload the whole KB from PostgreSQL (baseline) | {:.1} | {:.1}",
        ms(pct(&reload, 0.5)),
        ms(pct(&reload, 0.99))
    );
    // the bench's rows go with it
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
}
