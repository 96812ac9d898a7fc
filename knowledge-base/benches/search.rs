//! Search benchmark: index build time, per-query latency (p50/p99/max) and
//! memory, for this search and the plain baseline side by side, on the demo
//! knowledge base and on a synthetic 100k-entry one.
//!
//! `cargo bench -p airbridge-kb --bench search` (prints a Markdown table).
//! Measured, not asserted: nothing here fails on a slow machine.

use std::path::Path;
use std::time::{Duration, Instant};

use airbridge_kb::{Analyzer, Entry, Mode, SearchIndex, eval};

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// A synthetic KB of `n` entries: the demo entries repeated for many
/// districts, each copy with its own district name, id and a varied answer,
/// so postings are as long as in a big multi-district knowledge base.
fn synthetic(demo: &[Entry], n: usize) -> Vec<Entry> {
    const PARTS: [&str; 12] = [
        "东", "西", "南", "北", "中", "新", "老", "高", "长", "青", "安", "平",
    ];
    const SUFFIX: [&str; 6] = ["城区", "湖区", "山区", "江区", "河区", "港区"];
    (0..n)
        .map(|i| {
            let base = &demo[i % demo.len()];
            let copy = i / demo.len();
            let district = format!(
                "{}{}{}",
                PARTS[copy % PARTS.len()],
                PARTS[(copy / PARTS.len()) % PARTS.len()],
                SUFFIX[(copy / 144) % SUFFIX.len()]
            );
            let mut e = base.clone();
            e.id = format!("{}-{copy}", base.id);
            e.question = format!("{district}{}", base.question);
            e.region = district.clone();
            e.answer = format!("（{district}）{}", base.answer);
            e
        })
        .collect()
}

struct Row {
    kb: String,
    method: &'static str,
    entries: usize,
    build: Duration,
    rss_delta_kib: Option<i64>,
    heap_mib: f64,
    terms: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn measure(
    kb: &str,
    method: &'static str,
    analyzer: &'static Analyzer,
    entries: Vec<Entry>,
    mode: Mode,
    queries: &[String],
    rounds: usize,
) -> Row {
    let before = rss_kib();
    let t = Instant::now();
    let index = SearchIndex::build(analyzer, entries, mode);
    let build = t.elapsed();
    let after = rss_kib();
    // Warm up once, then time every query individually.
    let mut found = 0usize;
    for q in queries {
        found += index.search(q, 5).len();
    }
    assert!(found > 0, "the benchmark queries find nothing");
    let mut times = Vec::with_capacity(queries.len() * rounds);
    for _ in 0..rounds {
        for q in queries {
            let t = Instant::now();
            let hits = index.search(q, 5);
            times.push(t.elapsed());
            std::hint::black_box(hits);
        }
    }
    times.sort_unstable();
    Row {
        kb: kb.to_string(),
        method,
        entries: index.len(),
        build,
        rss_delta_kib: match (before, after) {
            (Some(b), Some(a)) => Some(a as i64 - b as i64),
            _ => None,
        },
        heap_mib: index.index_heap_bytes() as f64 / (1024.0 * 1024.0),
        terms: index.term_count(),
        p50: percentile(&times, 0.50),
        p99: percentile(&times, 0.99),
        max: times.last().copied().unwrap_or_default(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let analyzer = Analyzer::embedded()?;
    let analyzer_load = t.elapsed();
    let demo = airbridge_kb::demo::entries()?;
    let dev_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/dev.tsv");
    let dev = eval::parse_queries(&dev_path, &std::fs::read_to_string(&dev_path)?)?;
    let queries: Vec<String> = dev.iter().map(|q| q.text.clone()).collect();
    let big = synthetic(&demo, 100_000);

    // Each index is measured alone and dropped before the next. The plain
    // baseline goes first: RSS growth is only meaningful while the allocator
    // has no memory freed by an earlier index to reuse, so read the
    // estimated index heap for the comparison.
    let runs = [
        ("demo", "plain BM25", &demo, Mode::Plain, 20),
        ("demo", "airbridge", &demo, Mode::Full, 20),
        ("synthetic 100k", "plain BM25", &big, Mode::Plain, 3),
        ("synthetic 100k", "airbridge", &big, Mode::Full, 3),
    ];
    let rows: Vec<Row> = runs
        .into_iter()
        .map(|(kb, method, entries, mode, rounds)| {
            measure(
                kb,
                method,
                analyzer,
                entries.clone(),
                mode,
                &queries,
                rounds,
            )
        })
        .collect();
    println!(
        "analyzer (jieba dictionary + vocabulary) load: {:.0} ms; {} queries from eval/dev.tsv, k=5; \
         RSS now {} MiB, peak {} MiB (the process also holds the 100k synthetic entries)",
        analyzer_load.as_secs_f64() * 1e3,
        queries.len(),
        rss_kib().map_or("?".into(), |k| (k / 1024).to_string()),
        peak_kib().map_or("?".into(), |k| (k / 1024).to_string())
    );
    println!();
    println!(
        "| KB | method | entries | terms | index build | index heap (est.) | RSS growth | p50 | p99 | max |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {:.0} ms | {:.1} MiB | {} | {} | {} | {} |",
            r.kb,
            r.method,
            r.entries,
            r.terms,
            r.build.as_secs_f64() * 1e3,
            r.heap_mib,
            r.rss_delta_kib
                .map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
            us(r.p50),
            us(r.p99),
            us(r.max)
        );
    }
    Ok(())
}
