//! Knowledge-base edit benchmark (not a test): a producer saves a corrected
//! answer; how long until a search finds it (the SQLite version write plus
//! the index refreshed for that one entry), side by side with the baseline
//! of rebuilding the whole index after the write.
//!
//! `cargo bench -p airbridge-kb --bench edit`
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use airbridge_kb::{Analyzer, Kb, Mode, SearchIndex};

const EDITS: usize = 30;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut kb = Kb::open_or_seed_demo(&dir.path().join("kb.db")).unwrap();
    let ids: Vec<String> = kb.entries().iter().map(|e| e.id.clone()).collect();
    let (mut edit, mut rebuild) = (Vec::new(), Vec::new());
    for i in 0..EDITS {
        let id = &ids[i % ids.len()];
        let mut e = kb.entries().iter().find(|x| &x.id == id).unwrap().clone();
        let marker = format!("订正批注第{i}号");
        e.answer = format!("{}（{marker}）", e.answer);
        let v = kb.current_version(id).unwrap();
        let t = Instant::now();
        kb.update(e.clone(), "bench", v).unwrap();
        let found = kb.search(&e.question, 1);
        edit.push(t.elapsed());
        assert!(found[0].answer.contains(&marker));
        // baseline: the same write, then the whole index rebuilt
        let t = Instant::now();
        let entries = kb.entries().to_vec();
        let full = SearchIndex::build(Analyzer::embedded().unwrap(), entries, Mode::Full);
        let found = full.search(&e.question, 1);
        rebuild.push(t.elapsed() + *edit.last().unwrap());
        assert!(found[0].answer.contains(&marker));
    }
    edit.sort();
    rebuild.sort();
    println!(
        "== KB edit → searchable, {} entries, {EDITS} edits",
        kb.entries().len()
    );
    println!("path | p50 ms | p99 ms");
    println!(
        "write version + refresh one entry | {:.2} | {:.2}",
        ms(edit[EDITS / 2]),
        ms(edit[EDITS - 1])
    );
    println!(
        "write version + rebuild whole index (baseline) | {:.2} | {:.2}",
        ms(rebuild[EDITS / 2]),
        ms(rebuild[EDITS - 1])
    );
}
